//! ecr-login: log Docker (and friends) in to Amazon ECR from CI, a build host or a laptop.
//!
//! Layers, bottom up (each imports only from its own layer or those below, with no circle
//! between modules; `tests/layout.rs` holds the code to it):
//! - `secret`, `claims`, `error`, `env`, `env_vars`, `retry`, `output`, `logging`, `id_token`,
//!   `runtime`, `tls`, `tempfiles`, `fs`, `telemetry` (what a run did, recorded by hooks in the layers
//!   above, written at its end): the ground floor, depending on nothing above;
//! - `platform` (CI identity tokens, masking, hand-off), `aws` (STS, ECR, registry hosts),
//!   `docker` (auth files, credential helpers), `config_file` (per-registry identity rules):
//!   they know nothing of each other's clients;
//! - `identity`: which AWS identity to act as (a plan with its cache keys), and its credentials;
//! - `cache`: the token cache, this machine's files and the fleet's Redis;
//! - `commands`: one module per command, wiring the layers below for its use case; each owns
//!   its settings type, and receives resolved objects (platform, identity plan, printer),
//!   never clap types;
//! - `cli` (clap) and `config` (which builds each command's settings) at the top: the only
//!   modules that see what the user typed.

// Unit tests set up their files with plain `std::fs`; the code under test writes through `fs`.
#![cfg_attr(test, allow(clippy::disallowed_methods))]
mod aws;
mod cache;
mod claims;
mod cli;
mod commands;
mod config;
mod config_file;
mod docker;
mod env;
mod env_vars;
mod error;
mod fs;
mod id_token;
mod identity;
mod logging;
mod output;
mod platform;
mod retry;
mod runtime;
mod secret;
mod telemetry;
mod tempfiles;
mod tls;

pub use crate::cli::{helper_argv, parse, Cli};
use crate::config::{Config, Task};
pub use crate::env::Env;
use crate::error::{exit, Error};
use crate::runtime::block_on;

/// Runs the parsed command line against the environment it was parsed with; returns the
/// process exit code.
pub fn run(cli: Cli, env: Env) -> i32 {
    tls::init(&env);
    let fallback = config::printer(&cli.output);
    // Audit and metrics, read first so that a login failing on its settings is recorded too.
    let recording = match config::telemetry(&cli, &env) {
        Ok(r) => r,
        Err(e) => {
            logging::init("warn");
            let e = Error::from(e);
            fallback.error(&e);
            return e.exit_code();
        }
    };
    let config = match Config::from_cli(cli, &env) {
        Ok(c) => c,
        Err(e) => {
            logging::init("warn");
            fallback.error(&e);
            if let Some(r) = &recording {
                r.finish(Err(&e), &fallback);
            }
            return e.exit_code();
        }
    };
    logging::init(&config.log_filter);
    tracing::debug!("config: {config:?}");
    let printer = config.printer;
    let result = match &config.task {
        Task::Login(login) => block_on(commands::login::run(login, &printer)).and_then(|r| r),
        Task::Logout(logout) => commands::logout::run(logout, &printer),
        Task::Policy(policy) => commands::policy::run(policy, &printer),
        Task::Status(status) => commands::status::run(status, &printer),
        Task::Kubelet(kubelet) => {
            block_on(commands::kubelet::run(kubelet, &printer)).and_then(|r| r)
        }
        Task::Doctor(doctor) => {
            let healthy = match &doctor.explain {
                Some(text) => Ok(commands::doctor::explain(text, &printer)),
                None => block_on(commands::doctor::run(doctor, &printer)).and_then(|r| r),
            };
            return match healthy {
                Ok(true) => exit::OK,
                Ok(false) => 1,
                Err(e) => {
                    printer.error(&e);
                    e.exit_code()
                }
            };
        }
        Task::Helper(helper) => {
            let outcome = commands::helper::run(helper, &printer, &mut std::io::stdin().lock());
            let (ended, code) = match &outcome {
                Ok(commands::helper::Outcome::Done) => (Ok(telemetry::Ended::Success), exit::OK),
                Ok(commands::helper::Outcome::NotFound) => (Ok(telemetry::Ended::NotFound), 1),
                Err(e) => {
                    // Docker shows the helper's stdout line, one line; the whole error, the
                    // cause and the fix go to stderr.
                    let text = e.to_string();
                    let mut lines = text.lines();
                    let first = lines.next().unwrap_or_default();
                    let line = match lines.next() {
                        Some(_) => format!("{} (the rest on stderr)", first.trim_end_matches(':')),
                        None => first.to_string(),
                    };
                    printer.protocol_text(&line);
                    printer.error(e);
                    (Err(e), 1)
                }
            };
            if let Some(r) = &recording {
                r.finish(ended, &printer);
            }
            return code;
        }
    };
    // The error is printed before anything is recorded: a slow webhook must not hold it back.
    let code = match &result {
        Ok(()) => exit::OK,
        Err(e) => {
            printer.error(e);
            e.exit_code()
        }
    };
    if let Some(r) = &recording {
        r.finish(
            result.as_ref().map(|()| telemetry::Ended::Success),
            &printer,
        );
    }
    code
}
