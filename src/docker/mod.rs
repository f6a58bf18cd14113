//! Docker-side (and Podman's): auth files and credential helpers. Takes registry credentials,
//! knows no AWS client.

pub mod auth_files;
pub mod config;
pub mod helper;
pub mod helper_client;

/// One registry login to record: host, username, password.
#[derive(Debug, Clone, Copy)]
pub struct Login<'a> {
    pub host: &'a str,
    pub username: &'a str,
    pub password: &'a crate::secret::Secret,
}
