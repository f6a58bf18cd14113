//! ecr-login: log Docker (and friends) in to Amazon ECR from CI, a build host or a laptop.
//!
//! Layers, bottom up: `secret`, `error`, `env` (depend on nothing above); `platform/` (CI
//! identity tokens, masking, hand-off), `aws/` (STS, ECR), `docker/` (auth files); the use
//! cases (`login`) wire them together; `cli` and `config` turn what the user typed into a
//! checked `Config`.

pub mod aws;
pub mod cli;
pub mod commands;
pub mod config;
pub mod docker;
pub mod env;
pub mod error;
pub mod id_token;
pub mod logging;
pub mod output;
pub mod platform;
pub mod retry;
pub mod secret;

use crate::cli::Cli;
use crate::config::{Config, Task};
use crate::error::{exit, Error};
use crate::output::Printer;

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let printer = Printer {
        format: cli.output.output,
        quiet: cli.output.quiet,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(&Error::Internal(format!(
                "cannot start the async runtime: {e}"
            )));
            return exit::INTERNAL;
        }
    };
    let result = runtime.block_on(async {
        let config = Config::from_cli(cli, env::Env::capture()).await;
        let config = match config {
            Ok(c) => c,
            Err(e) => {
                logging::init("warn");
                return Err(e);
            }
        };
        logging::init(&config.log_filter);
        tracing::debug!("config: {config:?}");
        match &config.task {
            Task::Login(login) => commands::login::run(login, &config.env, &printer).await,
            Task::Logout(logout) => commands::logout::run(logout, &printer),
            Task::Policy(policy) => commands::policy::run(policy, &config.env, &printer),
        }
    });
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            printer.error(&e);
            e.exit_code()
        }
    }
}
