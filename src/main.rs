//! The `ecr-login` binary: parse the command line, run, exit with the code the error asks for.
//! Everything else lives in the library.

fn main() {
    let cli = ecr_login::cli::parse();
    std::process::exit(ecr_login::run(cli));
}
