//! The `ecr-login` binary: snapshot the environment, parse the command line, run, exit with
//! the code the error asks for. Everything else lives in the library.

/// musl's own allocator costs the short-lived credential helper most of its time.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let env = ecr_login::Env::capture();
    let argv = ecr_login::helper_argv(std::env::args_os().collect());
    let cli = ecr_login::parse(&env, argv);
    std::process::exit(ecr_login::run(cli, env));
}
