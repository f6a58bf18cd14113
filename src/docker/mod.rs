//! Docker-side (and Podman's): auth files and credential helpers. Takes registry credentials,
//! knows no AWS client.

pub(crate) mod auth_files;
pub(crate) mod config;
pub(crate) mod helper;
pub(crate) mod helper_client;

/// One registry login to record: host, username, password.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Login<'a> {
    pub host: &'a str,
    pub username: &'a str,
    pub password: &'a crate::secret::Secret,
}
