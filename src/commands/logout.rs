//! `ecr-login logout`: removes registry logins from the auth file and its credential stores —
//! the registries named, or every ECR registry in it (never another registry's login). The
//! GitHub action's post step runs it so that self-hosted runners keep no credentials.

use crate::aws::registry::{self, Registry};
use crate::config::LogoutConfig;
use crate::docker;
use crate::error::Error;
use crate::output::Printer;

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
    if removed.is_empty() {
        printer.line("No ECR logins to remove");
    }
    for host in &removed {
        printer.line(&format!("Logged out of {host}"));
    }
    printer.json(&serde_json::json!({ "removed": removed }));
    Ok(())
}
