//! The `ecr-login` binary: parse the command line, run, exit with the code the error asks for.
//! Everything else lives in the library.

use clap::Parser;

fn main() {
    let cli = ecr_login::cli::Cli::parse();
    std::process::exit(ecr_login::run(cli));
}
