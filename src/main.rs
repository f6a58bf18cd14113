//! The `ecr-login` binary: snapshot the environment, parse the command line, run, exit with
//! the code the error asks for. Everything else lives in the library.

fn main() {
    let env = ecr_login::env::Env::capture();
    let cli = ecr_login::cli::parse(&env, std::env::args_os());
    std::process::exit(ecr_login::run(cli, env));
}
