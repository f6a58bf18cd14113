//! The `ecr-login` binary: snapshot the environment, parse the command line, run, exit with
//! the code the error asks for. Everything else lives in the library.

fn main() {
    let env = ecr_login::env::Env::capture();
    let argv = ecr_login::cli::helper_argv(std::env::args_os().collect());
    let cli = ecr_login::cli::parse(&env, argv);
    std::process::exit(ecr_login::run(cli, env));
}
