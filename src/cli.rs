//! The command line as the user typed it (clap derive). Every flag can also come from an
//! environment variable, named next to it in `--help`. Nothing here is checked beyond its
//! type: [`crate::config`] turns a [`Cli`] into a checked `Config`, once.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

/// Parses the command line. A variable that is set but empty counts as unset (CI systems
/// export empty strings for unset inputs and secrets), so it neither overrides a default nor
/// fails a flag's parsing.
pub fn parse() -> Cli {
    let command = Cli::command();
    let mut names: Vec<String> = Vec::new();
    let mut stack = vec![&command];
    while let Some(cmd) = stack.pop() {
        names.extend(
            cmd.get_arguments()
                .filter_map(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned()),
        );
        stack.extend(cmd.get_subcommands());
    }
    // Except AWS_ROLE_ARN: set but empty almost always means a secret or variable that did not
    // resolve, and silently using other credentials would hide that (config.rs says so).
    for name in names.iter().filter(|n| *n != "AWS_ROLE_ARN") {
        if std::env::var_os(name).is_some_and(|v| v.is_empty()) {
            // Start-up, before any other thread exists.
            std::env::remove_var(name);
        }
    }
    Cli::parse()
}

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
    /// Remove registry logins from the auth file (and credential stores): the registries
    /// named, else every ECR registry in it.
    Logout(LogoutArgs),
    /// Print the IAM OIDC provider, the role trust policy and a least-privilege ECR policy
    /// that fit this CI job (detected, or described by flags).
    Policy(PolicyArgs),
}

#[derive(Debug, Clone, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub registries: RegistryArgs,

    /// Directory of Docker's config.json (default: ~/.docker).
    #[arg(long, env = "DOCKER_CONFIG", value_name = "DIR")]
    pub docker_config: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// The CI platform (detected when not given).
    #[arg(long, env = "ECR_LOGIN_PLATFORM", value_name = "NAME")]
    pub platform: Option<String>,

    /// The account that owns the role and the repositories. Default: the account of
    /// --role-arn / AWS_ROLE_ARN.
    #[arg(long, env = "ECR_LOGIN_ACCOUNT", value_name = "ID")]
    pub account: Option<String>,

    /// A role ARN, to take the account (and partition) from.
    #[arg(long, env = "AWS_ROLE_ARN", value_name = "ARN")]
    pub role_arn: Option<String>,

    /// The token's audience (default: the platform's).
    #[arg(long, env = "ECR_LOGIN_AUDIENCE", value_name = "AUD")]
    pub audience: Option<String>,

    /// The OIDC issuer URL (self-managed GitLab, Jenkins, an EKS cluster).
    #[arg(long, env = "ECR_LOGIN_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,

    /// The project: `owner/repo` (GitHub), `group/project` (GitLab), `org/pipeline`
    /// (Buildkite). Default: this job's.
    #[arg(long, value_name = "PATH")]
    pub repo: Option<String>,

    /// The branch (or `refs/tags/v1`) to trust. Default: this job's.
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,

    /// Trust every branch and tag of the project (still pinned to the project).
    #[arg(long, conflicts_with = "git_ref")]
    pub any_ref: bool,

    /// The `sub` pattern to trust, verbatim (StringLike: `*` and `?`).
    #[arg(long, value_name = "PATTERN")]
    pub subject: Option<String>,

    /// `pull`, or `push` (which includes pull).
    #[arg(long, value_enum, default_value_t = Access::Pull)]
    pub access: Access,

    /// Repositories the permission policy allows (comma-separated). Default: all in the account.
    #[arg(long, value_name = "LIST")]
    pub repositories: Option<String>,

    /// Region of the repositories in the permission policy. Default: any.
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,

    /// Also allow ECR Public logins (ecr-public:GetAuthorizationToken, sts:GetServiceBearerToken).
    #[arg(long)]
    pub public: bool,

    /// Print just one document, as JSON that the AWS CLI takes
    /// (e.g. `aws iam create-role --assume-role-policy-document file://trust.json`).
    #[arg(long, value_enum, value_name = "DOCUMENT")]
    pub only: Option<PolicyDocument>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Access {
    Pull,
    Push,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyDocument {
    /// `aws iam create-open-id-connect-provider --cli-input-json`
    Provider,
    /// `aws iam create-role --assume-role-policy-document`
    Trust,
    /// `aws iam put-role-policy --policy-document`
    Permissions,
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

    /// Audience (`aud`) to request for the CI identity token. Default: the platform's
    /// (GitHub: sts.amazonaws.com; CircleCI: the org id; Buildkite: https://buildkite.com/<org>).
    #[arg(long, env = "ECR_LOGIN_AUDIENCE", value_name = "AUD")]
    pub audience: Option<String>,

    /// The variable holding the OIDC token (GitLab `id_tokens:` name, Jenkins credential
    /// binding). GitLab default: the first set of GITLAB_OIDC_TOKEN, ECR_LOGIN_ID_TOKEN,
    /// ID_TOKEN, <AUD>_ID_TOKEN.
    #[arg(long, env = "ECR_LOGIN_ID_TOKEN_ENV", value_name = "NAME")]
    pub id_token_env: Option<String>,

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

    /// Also write `ECR_LOGIN_REGISTRY`/`ECR_LOGIN_REGISTRY_HOSTS` (no secrets) as `KEY=value` lines
    /// to this file for later steps (a GitLab dotenv report, Jenkins readProperties...).
    #[arg(long, env = "ECR_LOGIN_ENV_FILE", value_name = "PATH")]
    pub env_file: Option<PathBuf>,

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
