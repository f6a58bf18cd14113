//! `ecr-login logout`: removes registry logins from every auth file `login` writes (Docker's
//! config.json, Podman's files, `--auth-file`'s) and from their credential stores: the
//! registries named, or every ECR registry in them (never another registry's login). The
//! GitHub action's post step runs it so that self-hosted runners keep no credentials.

use crate::docker::auth_files::Locations;
use serde::Serialize;

use crate::aws::registry::{self, Registry};
use crate::docker::auth_files;
use crate::docker::helper::host_of;
use crate::error::Error;
use crate::output::{Printer, Report};

/// `logout`'s settings.
#[derive(Debug)]
pub(crate) struct LogoutConfig {
    /// Empty: every ECR registry in the auth files.
    pub registries: Vec<Registry>,
    /// The files `login` writes: Docker's, Podman's, `--auth-file`'s.
    pub auth_files: Locations,
}

/// What a logout removed.
#[derive(Debug, Serialize)]
pub(crate) struct LogoutReport {
    pub removed: Vec<String>,
}

impl Report for LogoutReport {
    fn human(&self) -> Vec<String> {
        if self.removed.is_empty() {
            return vec!["No ECR logins to remove".into()];
        }
        self.removed
            .iter()
            .map(|h| format!("Logged out of {h}"))
            .collect()
    }
}

pub(crate) fn run(cfg: &LogoutConfig, printer: &Printer) -> Result<(), Error> {
    let named: Vec<&str> = cfg.registries.iter().map(Registry::host).collect();
    let selected = |key: &str| {
        let host = host_of(key);
        if named.is_empty() {
            registry::parse(&host, None, true).is_ok()
        } else {
            named.contains(&host.as_str())
        }
    };
    let mut removed: Vec<String> = Vec::new();
    for key in auth_files::remove_logins(&cfg.auth_files.to_write(), &selected)? {
        let host = host_of(&key);
        if !removed.contains(&host) {
            removed.push(host);
        }
    }
    printer.report(&LogoutReport { removed });
    Ok(())
}
