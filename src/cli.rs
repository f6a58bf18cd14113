//! The command line as the user typed it (clap derive). Every flag can also come from an
//! environment variable, named next to it in `--help`. Nothing here is checked beyond its
//! type: [`crate::config`] turns a [`Cli`] into a checked `Config`, once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Log Docker (and friends) in to Amazon ECR from a CI job, a build host or a laptop: CI OIDC
/// token -> STS -> ECR -> auth file, in one step.
#[derive(Debug, Parser)]
#[command(name = "ecr-login", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// `login`'s options, so that `ecr-login --region x` means `ecr-login login --region x`.
    #[command(flatten)]
    pub login: LoginArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in to the registries (the default command).
    Login(LoginArgs),
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Identity")]
pub struct LoginArgs {
    /// IAM role to assume. With a CI identity token: STS AssumeRoleWithWebIdentity; without one,
    /// sts:AssumeRole with the default credential chain.
    #[arg(long, env = "AWS_ROLE_ARN", value_name = "ARN")]
    pub role_arn: Option<String>,

    /// The CI platform; detected from the environment when not given.
    /// One of: github-actions, web-identity, local.
    #[arg(long, env = "ECR_LOGIN_PLATFORM", value_name = "NAME")]
    pub platform: Option<String>,

    /// Audience (`aud`) to request for the CI identity token.
    #[arg(
        long,
        env = "ECR_LOGIN_AUDIENCE",
        value_name = "AUD",
        default_value = "sts.amazonaws.com"
    )]
    pub audience: String,

    /// A file holding the OIDC token to exchange (EKS IRSA, Jenkins, any platform).
    #[arg(long, env = "AWS_WEB_IDENTITY_TOKEN_FILE", value_name = "PATH")]
    pub web_identity_token_file: Option<PathBuf>,

    /// Role session name; default: one that traces back to the CI run (repo, run id, attempt).
    #[arg(long, env = "AWS_ROLE_SESSION_NAME", value_name = "NAME")]
    pub role_session_name: Option<String>,

    /// Lifetime of the assumed-role credentials, 900-43200. They are only used for the login
    /// itself, so the short default is the safe one.
    #[arg(
        long,
        env = "ECR_LOGIN_ROLE_DURATION_SECONDS",
        value_name = "SECONDS",
        default_value_t = 900
    )]
    pub role_duration_seconds: i32,

    #[command(flatten)]
    pub registries: RegistryArgs,

    #[command(flatten)]
    pub auth_file: AuthFileArgs,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Registries")]
pub struct RegistryArgs {
    /// AWS region of the registries named by account id, and of the default registry.
    /// AWS_DEFAULT_REGION is read too.
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,

    /// Registries, comma- or newline-separated: 12-digit account ids (in --region), full
    /// registry hosts, or public.ecr.aws. Default: the caller's own registry in --region.
    #[arg(long, env = "ECR_LOGIN_REGISTRIES", value_name = "LIST")]
    pub registries: Option<String>,

    /// Accept a region this release does not know (a region newer than it).
    #[arg(long, env = "ECR_LOGIN_ALLOW_UNKNOWN_REGION")]
    pub allow_unknown_region: bool,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Auth files")]
pub struct AuthFileArgs {
    /// Directory of Docker's config.json (default: ~/.docker).
    #[arg(long, env = "DOCKER_CONFIG", value_name = "DIR")]
    pub docker_config: Option<PathBuf>,

    /// On GitHub Actions, also write each registry's username and password as step outputs
    /// (docker_username_<host> / docker_password_<host>, masked).
    #[arg(long, env = "ECR_LOGIN_OUTPUT_CREDENTIALS")]
    pub output_credentials: bool,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format of the result on stdout.
    #[arg(
        long,
        env = "ECR_LOGIN_OUTPUT",
        value_enum,
        default_value_t = OutputFormat::Human,
        global = true
    )]
    pub output: OutputFormat,

    /// Print only errors.
    #[arg(
        short,
        long,
        env = "ECR_LOGIN_QUIET",
        global = true,
        conflicts_with = "verbose"
    )]
    pub quiet: bool,

    /// More log detail on stderr (-v info, -vv debug, -vvv trace). Secrets are always redacted.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}
