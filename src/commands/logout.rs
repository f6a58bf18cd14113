//! `ecr-login logout`: removes registry logins from the auth file and its credential stores —
//! the registries named, or every ECR registry in it (never another registry's login). The
//! GitHub action's post step runs it so that self-hosted runners keep no credentials.

use serde::Serialize;

use crate::aws::registry::{self, Registry};
use crate::config::LogoutConfig;
use crate::docker;
use crate::error::Error;
use crate::output::{Printer, Report};

/// What a logout removed.
#[derive(Debug, Serialize)]
pub struct LogoutReport {
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

pub fn run(cfg: &LogoutConfig, printer: &Printer) -> Result<(), Error> {
    let named: Vec<&str> = cfg.registries.iter().map(Registry::host).collect();
    let selected = |host: &str| {
        if named.is_empty() {
            registry::parse(host, None, true).is_ok()
        } else {
            named.contains(&host)
        }
    };
    let removed = docker::config::remove_logins(&cfg.docker_config, &selected)?;
    printer.report(&LogoutReport { removed });
    Ok(())
}
