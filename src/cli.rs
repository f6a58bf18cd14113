//! The command line as the user typed it (clap derive). Every flag can also come from an
//! environment variable, named next to it in `--help`. Nothing here is checked beyond its
//! type: [`crate::config`] turns a [`Cli`] into a checked `Config`, once. No module below the
//! commands sees these types.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::{BoolishValueParser, NonEmptyStringValueParser};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::commands::policy::{Access, Document as PolicyDocument};
use crate::env::Env;
use crate::env_vars::EnvVars;

/// Parses `args` with the environment `env`. A variable that is set but empty counts as unset
/// (CI systems export empty strings for unset inputs and secrets): its argument's `env` link is
/// dropped before parsing, so it neither overrides a default nor fails a flag's parsing. On the
/// command line, an empty value is an error. Exits (as clap does) on `--help`, `--version` and
/// usage errors.
pub fn parse(env: &Env, args: impl IntoIterator<Item = OsString>) -> Cli {
    match try_parse(env, args) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    }
}

/// [`parse`], returning clap's error instead of exiting.
fn try_parse(env: &Env, args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
    let args: Vec<OsString> = args.into_iter().collect();
    let words = args
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .map(str::to_owned)
        .collect();
    while_parsing(env, words, |blank| {
        without_blank_env(Cli::command(), blank)
            .try_get_matches_from(args)
            .and_then(|m| Cli::from_arg_matches(&m))
    })
}

/// What the [`Deferred`] subcommands, built inside clap, need to know of the parse.
#[derive(Default)]
struct Parsing {
    /// The variables that are set but blank in the environment being parsed.
    blank: Vec<String>,
    /// The command line's words: the subcommand they name is built at once.
    words: Vec<String>,
}

thread_local! {
    static PARSING: std::cell::RefCell<Parsing> = std::cell::RefCell::default();
}

/// Runs `f` (on this thread) with the names of `env`'s blank variables, and tells the
/// [`Deferred`] subcommands built inside it about them and about the command line's `words`.
fn while_parsing<R>(env: &Env, words: Vec<String>, f: impl FnOnce(&[String]) -> R) -> R {
    let blank: Vec<String> = env.blank_names().map(str::to_owned).collect();
    PARSING.set(Parsing {
        blank: blank.clone(),
        words,
    });
    let out = f(&blank);
    PARSING.take();
    out
}

/// `cmd` with the `env` link removed from every argument whose variable is in `blank`. Its
/// subcommands are [`Deferred`]: they do the same when they are built.
fn without_blank_env(cmd: clap::Command, blank: &[String]) -> clap::Command {
    // Rebuilding every argument costs a tenth of a millisecond: only when some link is to drop.
    if blank.is_empty() || !cmd.get_arguments().any(|a| reads_blank(a, blank)) {
        return cmd;
    }
    cmd.mut_args(|arg| {
        if reads_blank(&arg, blank) {
            arg.env(None::<&str>)
        } else {
            arg
        }
    })
}

/// Whether `arg` reads one of the `blank` variables.
fn reads_blank(arg: &clap::Arg, blank: &[String]) -> bool {
    arg.get_env()
        .and_then(|name| name.to_str())
        .is_some_and(|name| blank.iter().any(|b| b == name))
}

/// A subcommand's arguments, built only if the command line names that subcommand. Building
/// an argument with an `env` link reads that variable, and the seven subcommands hold about
/// 160 of them: building them all was a seventh of a login's instructions, and more on a CI
/// runner's environment of a hundred variables and more. A credential helper `get` builds only
/// its own.
///
/// The named subcommand is built at once, as clap derive builds it, so that its help lists
/// its own options before the top level's global ones. The others are deferred
/// ([`clap::Command::defer`]): built only if clap needs them after all.
#[derive(Debug, Clone)]
pub struct Deferred<T>(pub T);

impl<T> std::ops::Deref for Deferred<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Whether the command line being parsed names the subcommand `cmd`.
fn is_named(cmd: &clap::Command) -> bool {
    PARSING.with_borrow(|p| p.words.iter().any(|w| w == cmd.get_name()))
}

/// `T`'s arguments on `cmd` (see [`with_args`]).
fn build_deferred<T: Args>(cmd: clap::Command) -> clap::Command {
    with_args(cmd, T::augment_args)
}

/// The same, for clap's update path.
fn build_deferred_for_update<T: Args>(cmd: clap::Command) -> clap::Command {
    with_args(cmd, T::augment_args_for_update)
}

/// `cmd` with the arguments `augment` adds, blank variables unlinked. The subcommand keeps
/// the about texts it has (its variant's doc comment), which the arguments struct's own doc
/// comment would replace.
fn with_args(cmd: clap::Command, augment: fn(clap::Command) -> clap::Command) -> clap::Command {
    let (about, long_about) = (cmd.get_about().cloned(), cmd.get_long_about().cloned());
    let cmd = augment(cmd);
    let cmd = match about {
        Some(a) => cmd.about(a),
        None => cmd.about(None::<&str>),
    };
    let cmd = match long_about {
        Some(a) => cmd.long_about(a),
        None => cmd.long_about(None::<&str>),
    };
    PARSING.with_borrow(|p| without_blank_env(cmd, &p.blank))
}

impl<T: Args> Args for Deferred<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        if is_named(&cmd) {
            build_deferred::<T>(cmd)
        } else {
            cmd.defer(build_deferred::<T>)
        }
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        if is_named(&cmd) {
            build_deferred_for_update::<T>(cmd)
        } else {
            cmd.defer(build_deferred_for_update::<T>)
        }
    }
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

impl<T: FromArgMatches> FromArgMatches for Deferred<T> {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Deferred)
    }
    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
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
    Login(Deferred<LoginArgs>),
    /// Remove registry logins from the auth file (and credential stores): the registries
    /// named, else every ECR registry in it.
    Logout(Deferred<LogoutArgs>),
    /// Print the IAM OIDC provider, the role trust policy and a least-privilege ECR policy
    /// that fit this CI job (detected, or described by flags).
    Policy(Deferred<PolicyArgs>),
    /// The Docker credential helper protocol (get, store, erase, list, version): what Docker
    /// runs for hosts that config.json's credHelpers sends to "ecr-login". Also what the binary
    /// does when it runs as `docker-credential-ecr-login`.
    CredentialHelper(Deferred<HelperArgs>),
    /// Answer the kubelet's image credential provider requests
    /// (credentialprovider.kubelet.k8s.io/v1): the request on stdin, the registry's
    /// credentials on stdout. With a service account token in the request, the token is
    /// exchanged for the service account's role (annotation eks.amazonaws.com/ecr-role-arn, or
    /// AWS_ECR_ROLE_ARN); without one, the usual identity rules apply (the node's role).
    #[command(name = "kubelet-credential-provider")]
    Kubelet(Deferred<KubeletArgs>),
    /// Check everything a login needs, in order (platform, identity token, role, clock, each
    /// registry's DNS/TCP/TLS/proxy and GetAuthorizationToken, the auth files) and say what to
    /// fix; or, with --explain, what a pasted error message means. Exit 0 when all is well.
    Doctor(Deferred<DoctorArgs>),
    /// List every ECR login in the auth files Docker and Podman read and in the token cache:
    /// identity, expiry, whether it still holds, and entries that shadow others. Exit 1 when
    /// one in an auth file has expired or expires within --within.
    Status(Deferred<StatusArgs>),
}

/// `doctor`'s arguments: what `login` would be given.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Explain a pasted error message (from docker, the AWS CLI, a CI log): no network.
    #[arg(long, value_name = "TEXT")]
    pub explain: Option<String>,

    #[command(flatten)]
    pub identity: IdentityArgs,

    #[command(flatten)]
    pub registries: RegistryArgs,

    /// Directory of Docker's config.json (default: ~/.docker).
    #[arg(long, env = EnvVars::DOCKER_CONFIG, value_name = "DIR")]
    pub docker_config: Option<PathBuf>,
}

/// The credential helper's arguments: the action, and the identity and cache settings from the
/// environment (Docker runs helpers with no flags).
#[derive(Debug, Clone, Args)]
pub struct HelperArgs {
    #[arg(value_enum)]
    pub action: HelperAction,

    #[command(flatten)]
    pub identity: IdentityArgs,

    #[command(flatten)]
    pub cache: CacheArgs,

    /// The per-registry identity file. Default: $XDG_CONFIG_HOME/ecr-login/config.toml (and
    /// ecr-login.toml beside Docker's config.json, written by `login --mode helper`).
    #[arg(long, env = EnvVars::ECR_LOGIN_CONFIG, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Directory of Docker's config.json (default: ~/.docker).
    #[arg(long, env = EnvVars::DOCKER_CONFIG, value_name = "DIR")]
    pub docker_config: Option<PathBuf>,

    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// A credential helper action, as Docker names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HelperAction {
    Get,
    Store,
    Erase,
    List,
    Version,
}

/// `argv`, rewritten for the names the tools ecr-login replaces are installed under: as
/// `docker-credential-<anything>`, `<action>` becomes `ecr-login credential-helper <action>`; as
/// `ecr-credential-provider` (cloud-provider-aws's kubelet plugin, the name a kubelet's
/// `CredentialProviderConfig` names, run with no arguments), it becomes
/// `ecr-login kubelet-credential-provider`.
pub fn helper_argv(argv: Vec<OsString>) -> Vec<OsString> {
    let name = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_stem())
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let command = if name.starts_with("docker-credential-") {
        "credential-helper"
    } else if name == "ecr-credential-provider" {
        "kubelet-credential-provider"
    } else {
        return argv;
    };
    let mut out: Vec<OsString> = vec!["ecr-login".into(), command.into()];
    let rest: Vec<OsString> = argv.into_iter().skip(1).collect();
    // amazon-ecr-credential-helper prints its version for `-v` (Docker's helpers, `version`).
    if command == "credential-helper"
        && rest.len() == 1
        && (rest[0] == "-v" || rest[0] == "--version")
    {
        out.push("version".into());
        return out;
    }
    out.extend(rest);
    out
}

/// Which identity to log in as: the CI platform and its token, the role(s) to assume, and how
/// to narrow them. Shared by every command that needs an identity.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Identity")]
pub struct IdentityArgs {
    /// The CI platform; detected from the environment when not given. One of: github-actions,
    /// gitlab-ci, circleci, jenkins, buildkite, bitbucket, web-identity (EKS IRSA, any token
    /// file), local (no CI: the AWS credential chain).
    #[arg(long, env = EnvVars::ECR_LOGIN_PLATFORM, value_name = "NAME", value_parser = NonEmptyStringValueParser::new())]
    pub platform: Option<String>,

    /// IAM role to assume. With a CI identity token: STS AssumeRoleWithWebIdentity; without one
    /// (or with --role-chaining), sts:AssumeRole with the AWS credential chain. Given twice, the
    /// second is a --chain-role-arn.
    #[arg(long, env = EnvVars::AWS_ROLE_ARN, value_name = "ARN", action = clap::ArgAction::Append)]
    pub role_arn: Vec<String>,

    /// Roles assumed in turn after --role-arn, each with the previous one's credentials
    /// (sts:AssumeRole): a hub role trusted by the CI, then a role in another account.
    /// Comma-separated or repeated.
    #[arg(long, env = EnvVars::ECR_LOGIN_CHAIN_ROLE_ARN, value_name = "ARN", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub chain_role_arn: Vec<String>,

    /// Assume --role-arn with the AWS credentials already in the environment (or the credential
    /// chain), not with the CI platform's token (configure-aws-credentials' `role-chaining`).
    #[arg(long, value_parser = BoolishValueParser::new(), env = EnvVars::ECR_LOGIN_ROLE_CHAINING)]
    pub role_chaining: bool,

    /// The external id the chained roles (--chain-role-arn, --role-chaining) require.
    #[arg(long, env = EnvVars::ECR_LOGIN_ROLE_EXTERNAL_ID, value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub role_external_id: Option<String>,

    /// Audience (`aud`) to request for the CI identity token. Default: the platform's
    /// (GitHub, Buildkite: sts.amazonaws.com; CircleCI: the org id).
    #[arg(long, env = EnvVars::ECR_LOGIN_AUDIENCE, value_name = "AUD", value_parser = NonEmptyStringValueParser::new())]
    pub audience: Option<String>,

    /// The variable holding the OIDC token (GitLab `id_tokens:` name, Jenkins credential
    /// binding). GitLab default: the first set of GITLAB_OIDC_TOKEN, ECR_LOGIN_ID_TOKEN,
    /// ID_TOKEN, <AUD>_ID_TOKEN.
    #[arg(long, env = EnvVars::ECR_LOGIN_ID_TOKEN_ENV, value_name = "NAME", value_parser = NonEmptyStringValueParser::new())]
    pub id_token_env: Option<String>,

    /// A file holding the OIDC token to exchange (EKS IRSA, Jenkins, any platform).
    #[arg(long, env = EnvVars::AWS_WEB_IDENTITY_TOKEN_FILE, value_name = "PATH")]
    pub web_identity_token_file: Option<PathBuf>,

    /// Role session name; default: one that traces back to the CI run (repo, run id, attempt).
    #[arg(long, env = EnvVars::AWS_ROLE_SESSION_NAME, value_name = "NAME", value_parser = NonEmptyStringValueParser::new())]
    pub role_session_name: Option<String>,

    /// Lifetime of the assumed-role credentials, 900-43200. They are only used for the login
    /// itself, so the short default is the safe one.
    #[arg(
        long,
        env = EnvVars::ECR_LOGIN_ROLE_DURATION_SECONDS,
        value_name = "SECONDS",
        default_value_t = 900
    )]
    pub role_duration_seconds: i32,

    /// An IAM policy (JSON) that narrows the assumed role's permissions for this session, e.g.
    /// pull from two repositories only. Sent with the (last) assume call.
    #[arg(long, env = EnvVars::ECR_LOGIN_INLINE_SESSION_POLICY, value_name = "JSON", value_parser = NonEmptyStringValueParser::new())]
    pub inline_session_policy: Option<String>,

    /// ARNs of managed policies that narrow the session (comma- or newline-separated, at most 10).
    #[arg(long, env = EnvVars::ECR_LOGIN_MANAGED_SESSION_POLICIES, value_name = "ARN,...", value_parser = NonEmptyStringValueParser::new())]
    pub managed_session_policies: Option<String>,

    /// Refuse to log in (and write nothing) unless the identity is in one of these accounts
    /// (comma-separated): a guard against a mistyped role ARN.
    #[arg(long, env = EnvVars::ECR_LOGIN_ALLOWED_ACCOUNT_IDS, value_name = "ID,...", value_parser = NonEmptyStringValueParser::new())]
    pub allowed_account_ids: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub identity: IdentityArgs,

    #[command(flatten)]
    pub registries: RegistryArgs,

    #[command(flatten)]
    pub auth_file: AuthFileArgs,

    #[command(flatten)]
    pub cache: CacheArgs,

    /// `tokens`: write each registry's token into the auth file (Docker's usual login).
    /// `helper`: point the registries at the `ecr-login` credential helper instead (credHelpers
    /// in config.json), so every pull and push gets a fresh token: the answer for jobs and hosts
    /// that outlive a token's 12 hours.
    #[arg(long, env = EnvVars::ECR_LOGIN_MODE, value_enum, default_value_t = LoginMode::Tokens)]
    pub mode: LoginMode,

    /// Stay running and log in again before the tokens expire (--cache-margin before expiry, or
    /// half-way through a shorter life), until SIGTERM or SIGINT, which end it with exit 0. For
    /// tools that cannot use a credential helper (a systemd unit, a sidecar).
    #[arg(long, env = EnvVars::ECR_LOGIN_WATCH, help_heading = "Long jobs")]
    pub watch: bool,

    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// What `login` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoginMode {
    Tokens,
    Helper,
}

/// The token cache: where, how long before expiry a cached token is refreshed, and the fleet's.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Token cache")]
pub struct CacheArgs {
    /// Neither read nor write the token cache.
    #[arg(long, value_parser = BoolishValueParser::new(), env = EnvVars::ECR_LOGIN_NO_CACHE)]
    pub no_cache: bool,

    /// The cache directory. Default: $XDG_CACHE_HOME/ecr-login outside CI; inside a CI job the
    /// job's own temporary directory (RUNNER_TEMP, WORKSPACE_TMP), or no cache where the
    /// platform has none, so that jobs sharing a runner never share tokens.
    #[arg(long, env = EnvVars::ECR_LOGIN_CACHE_DIR, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Refresh a cached token when less than this of its life is left (`1h`, `30m`, seconds).
    #[arg(long, env = EnvVars::ECR_LOGIN_CACHE_MARGIN, value_name = "DURATION", default_value = "1h")]
    pub cache_margin: String,

    /// A fleet cache behind the file cache: `redis://[user:password@]host[:port][/db]`, or
    /// `rediss://…` for TLS (Redis, Valkey, ElastiCache). Its values are sealed with the key in
    /// ECR_LOGIN_CACHE_KEY (32 random bytes in base64: `openssl rand -base64 32`), the same on
    /// every runner. Down or slow, it is skipped with a warning.
    #[arg(long = "cache", env = EnvVars::ECR_LOGIN_CACHE, value_name = "URL", hide_env_values = true)]
    pub cache_url: Option<String>,

    /// A file holding the fleet cache's key, instead of ECR_LOGIN_CACHE_KEY.
    #[arg(long, env = EnvVars::ECR_LOGIN_CACHE_KEY_FILE, value_name = "PATH")]
    pub cache_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub registries: RegistryArgs,

    /// Directory of Docker's config.json (default: ~/.docker).
    #[arg(long, env = EnvVars::DOCKER_CONFIG, value_name = "DIR")]
    pub docker_config: Option<PathBuf>,

    /// Another auth file to remove the logins from (as `login --auth-file`), besides Docker's
    /// config.json, $REGISTRY_AUTH_FILE and the Podman auth files. Repeated or comma-separated.
    #[arg(long, env = EnvVars::ECR_LOGIN_AUTH_FILE, value_name = "PATH", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub auth_file: Vec<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    #[command(flatten)]
    pub identity: IdentityArgs,

    /// The account that owns the role and the repositories. Default: the account of
    /// --role-arn / AWS_ROLE_ARN.
    #[arg(long, env = EnvVars::ECR_LOGIN_ACCOUNT, value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub account: Option<String>,

    /// The OIDC issuer URL (self-managed GitLab, Jenkins, an EKS cluster).
    #[arg(long, env = EnvVars::ECR_LOGIN_ISSUER, value_name = "URL", value_parser = NonEmptyStringValueParser::new())]
    pub issuer: Option<String>,

    /// The project: `owner/repo` (GitHub), `group/project` (GitLab), `org/pipeline`
    /// (Buildkite). Default: this job's.
    #[arg(long, value_name = "PATH", value_parser = NonEmptyStringValueParser::new())]
    pub repo: Option<String>,

    /// The branch (or `refs/tags/v1`) to trust. Default: this job's.
    #[arg(long = "ref", value_name = "REF", value_parser = NonEmptyStringValueParser::new())]
    pub git_ref: Option<String>,

    /// Trust every branch and tag of the project (still pinned to the project).
    #[arg(long, conflicts_with = "git_ref")]
    pub any_ref: bool,

    /// The `sub` pattern to trust, verbatim (StringLike: `*` and `?`).
    #[arg(long, value_name = "PATTERN", value_parser = NonEmptyStringValueParser::new())]
    pub subject: Option<String>,

    /// `pull`, or `push` (which includes pull).
    #[arg(long, value_enum, default_value_t = Access::Pull)]
    pub access: Access,

    /// Repositories the permission policy allows (comma-separated). Default: all in the account.
    #[arg(long, value_name = "LIST", value_parser = NonEmptyStringValueParser::new())]
    pub repositories: Option<String>,

    /// Region of the repositories in the permission policy. Default: any.
    #[arg(long, env = EnvVars::AWS_REGION, value_name = "REGION", value_parser = NonEmptyStringValueParser::new())]
    pub region: Option<String>,

    /// Also allow ECR Public logins (ecr-public:GetAuthorizationToken, sts:GetServiceBearerToken).
    #[arg(long)]
    pub public: bool,

    /// Print just one document, as JSON that the AWS CLI takes
    /// (e.g. `aws iam create-role --assume-role-policy-document file://trust.json`).
    #[arg(long, value_enum, value_name = "DOCUMENT")]
    pub only: Option<PolicyDocument>,

    /// Print the AWS side of monitoring instead: an EventBridge rule on CloudTrail's records of
    /// failed AssumeRoleWithWebIdentity and GetAuthorizationToken calls for --role-arn, with
    /// the `aws events put-rule` / `put-targets` commands that create it.
    #[arg(long, conflicts_with = "only")]
    pub monitoring: bool,
}

/// `kubelet-credential-provider`'s options: an identity (the node's, by default), the role for
/// service account tokens, the token cache and the time budget.
#[derive(Debug, Clone, Args)]
pub struct KubeletArgs {
    #[command(flatten)]
    pub identity: IdentityArgs,

    /// The role to exchange a service account token for when the service account has no
    /// `eks.amazonaws.com/ecr-role-arn` annotation.
    #[arg(long, env = EnvVars::AWS_ECR_ROLE_ARN, value_name = "ARN", value_parser = NonEmptyStringValueParser::new())]
    pub service_account_role_arn: Option<String>,

    /// Give up after this long (`45s`, `1m`; at most 55 s), with an error, so that the kubelet
    /// (which kills a plugin after one minute) pulls without credentials rather than waits.
    #[arg(long, value_name = "DURATION", default_value = "45s")]
    pub deadline: String,

    #[command(flatten)]
    pub cache: CacheArgs,

    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// Audit and metrics for the commands that hand out credentials (login, credential-helper,
/// kubelet-credential-provider). Each failure to write them is a warning only.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Audit and metrics")]
pub struct TelemetryArgs {
    /// Append one JSON line per login to this file (`-`: stderr): time, command, platform,
    /// identity, token sub, role, registries, expiry, cache hit, result, error class, duration.
    /// Never a secret.
    #[arg(long, env = EnvVars::ECR_LOGIN_AUDIT_LOG, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,

    /// Keep Prometheus metrics in this file, for node_exporter's textfile collector (it must
    /// end in .prom): logins and failures, AWS calls, cache hits, time to token expiry. Each run
    /// adds its counts to the file's.
    #[arg(long, env = EnvVars::ECR_LOGIN_METRICS_FILE, value_name = "FILE.prom")]
    pub metrics_file: Option<PathBuf>,

    /// On a failed login, POST a Slack-compatible JSON message (the platform, the job, the
    /// error and its fix; no secret) to this URL (https; http only to localhost), with a 5 s
    /// timeout. Its own failure is only a warning.
    #[arg(long, env = EnvVars::ECR_LOGIN_NOTIFY_WEBHOOK, value_name = "URL", hide_env_values = true, value_parser = NonEmptyStringValueParser::new())]
    pub notify_webhook: Option<String>,
}

// `policy`'s own types, as clap takes them: the command owns them, only this file knows clap.
impl ValueEnum for Access {
    fn value_variants<'a>() -> &'a [Self] {
        &[Access::Pull, Access::Push]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            Access::Pull => "pull",
            Access::Push => "push",
        }))
    }
}

impl ValueEnum for PolicyDocument {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            PolicyDocument::Provider,
            PolicyDocument::Trust,
            PolicyDocument::Permissions,
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        use clap::builder::PossibleValue;
        Some(match self {
            PolicyDocument::Provider => PossibleValue::new("provider")
                .help("`aws iam create-open-id-connect-provider --cli-input-json`"),
            PolicyDocument::Trust => PossibleValue::new("trust")
                .help("`aws iam create-role --assume-role-policy-document`"),
            PolicyDocument::Permissions => PossibleValue::new("permissions")
                .help("`aws iam put-role-policy --policy-document`"),
        })
    }
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Registries")]
pub struct RegistryArgs {
    /// AWS region of the registries named by account id, and of the default registry.
    /// AWS_DEFAULT_REGION is read too.
    #[arg(long, env = EnvVars::AWS_REGION, value_name = "REGION", value_parser = NonEmptyStringValueParser::new())]
    pub region: Option<String>,

    /// Registries, comma- or newline-separated: 12-digit account ids (in --region), full
    /// registry hosts, or public.ecr.aws. Default: the caller's own registry in --region.
    #[arg(long, env = EnvVars::ECR_LOGIN_REGISTRIES, value_name = "LIST", value_parser = NonEmptyStringValueParser::new())]
    pub registries: Option<String>,

    /// Accept a region this release does not know (a region newer than it).
    #[arg(long, value_parser = BoolishValueParser::new(), env = EnvVars::ECR_LOGIN_ALLOW_UNKNOWN_REGION)]
    pub allow_unknown_region: bool,

    /// Also log in to the IPv6 (dual-stack) host of each registry
    /// (<account>.dkr-ecr.<region>.on.aws, ecr-public.aws.com), with the same token.
    /// Default: on when AWS_USE_DUALSTACK_ENDPOINT=true.
    #[arg(long, value_parser = BoolishValueParser::new(), env = EnvVars::ECR_LOGIN_DUAL_STACK)]
    pub dual_stack: bool,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Auth files")]
pub struct AuthFileArgs {
    /// Directory of Docker's config.json (default: ~/.docker).
    #[arg(long, env = EnvVars::DOCKER_CONFIG, value_name = "DIR")]
    pub docker_config: Option<PathBuf>,

    /// Also write `ECR_LOGIN_REGISTRY`/`ECR_LOGIN_REGISTRY_HOSTS` (no secrets) as `KEY=value` lines
    /// to this file for later steps (a GitLab dotenv report, Jenkins readProperties...), on every
    /// platform.
    #[arg(long, env = EnvVars::ECR_LOGIN_ENV_FILE, value_name = "PATH")]
    pub env_file: Option<PathBuf>,

    /// On GitHub Actions, also write each registry's username and password as step outputs
    /// (docker_username_<host> / docker_password_<host>, masked).
    #[arg(long, value_parser = BoolishValueParser::new(), env = EnvVars::ECR_LOGIN_OUTPUT_CREDENTIALS)]
    pub output_credentials: bool,

    /// Another auth file to keep in step (created if missing), besides Docker's config.json,
    /// $REGISTRY_AUTH_FILE and the Podman auth files that exist. Repeated or comma-separated.
    #[arg(long, env = EnvVars::ECR_LOGIN_AUTH_FILE, value_name = "PATH", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub auth_file: Vec<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Also count a login as failing when it expires within this time (`1h`, `30m`, seconds).
    #[arg(long, env = EnvVars::ECR_LOGIN_STATUS_WITHIN, value_name = "DURATION", default_value = "0")]
    pub within: String,

    /// Directory of Docker's config.json (default: ~/.docker).
    #[arg(long, env = EnvVars::DOCKER_CONFIG, value_name = "DIR")]
    pub docker_config: Option<PathBuf>,

    /// Another auth file to look at (as `login --auth-file`). Repeated or comma-separated.
    #[arg(long, env = EnvVars::ECR_LOGIN_AUTH_FILE, value_name = "PATH", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub auth_file: Vec<PathBuf>,

    #[command(flatten)]
    pub cache: CacheArgs,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format of the result on stdout.
    #[arg(
        long,
        env = EnvVars::ECR_LOGIN_OUTPUT,
        value_enum,
        default_value_t = OutputFormat::Human,
        global = true
    )]
    pub output: OutputFormat,

    /// Print only errors.
    #[arg(
        short,
        long,
        env = EnvVars::ECR_LOGIN_QUIET,
        value_parser = BoolishValueParser::new(),
        global = true,
        conflicts_with = "verbose"
    )]
    pub quiet: bool,

    /// More log detail on stderr (-v info, -vv debug, -vvv trace). Secrets are always redacted.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// What the user may ask for with `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
    /// `login` only: stdout holds just the `.dockerconfigjson` document of an
    /// `imagePullSecret` (`{"auths": {...}}`), and no auth file is written.
    Dockerconfigjson,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(vars: &[(&str, &str)], args: &[&str]) -> Result<Cli, clap::Error> {
        let env: Env = vars.iter().copied().collect();
        let args = std::iter::once("ecr-login").chain(args.iter().copied());
        try_parse(&env, args.map(OsString::from))
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// The `env` link of the argument `id` in `cmd` (after clap has built it).
    fn env_of(cmd: &clap::Command, id: &str) -> Option<String> {
        cmd.get_arguments()
            .find(|a| a.get_id() == id)
            .and_then(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
    }

    #[test]
    fn an_empty_variable_is_unlinked_everywhere_and_a_set_one_is_kept() {
        let env: Env = [("ECR_LOGIN_REGISTRIES", ""), ("ECR_LOGIN_AUDIENCE", "  ")]
            .into_iter()
            .collect();
        // Built as a parse builds it: the top level now, each subcommand when it is reached.
        let cmd = while_parsing(&env, Vec::new(), |blank| {
            let mut cmd = without_blank_env(Cli::command(), blank);
            cmd.build();
            cmd
        });
        assert_eq!(env_of(&cmd, "registries"), None);
        assert_eq!(env_of(&cmd, "audience"), None);
        assert_eq!(env_of(&cmd, "region").as_deref(), Some("AWS_REGION"));
        for sub in ["login", "policy", "doctor", "credential-helper"] {
            let sub = cmd.find_subcommand(sub).unwrap();
            assert_eq!(env_of(sub, "audience"), None, "{}", sub.get_name());
            let role = env_of(sub, "role_arn");
            assert_eq!(role.as_deref(), Some("AWS_ROLE_ARN"), "{}", sub.get_name());
        }
        let login = cmd.find_subcommand("login").unwrap();
        assert_eq!(env_of(login, "registries"), None);
        // The blank list lives only as long as the parse.
        assert!(PARSING.with_borrow(|p| p.blank.is_empty() && p.words.is_empty()));
    }

    #[test]
    fn only_the_subcommand_that_runs_is_built() {
        let cmd = Cli::command();
        let args = |name: &str| cmd.find_subcommand(name).unwrap().get_arguments().count();
        // Not built yet: none of their arguments exist, so none of their variables were read.
        for sub in [
            "login",
            "logout",
            "policy",
            "credential-helper",
            "doctor",
            "status",
        ] {
            assert_eq!(args(sub), 0, "{sub}");
        }
        assert!(cmd.get_arguments().any(|a| a.get_id() == "region"));
        // Parsing one builds it, and its flags and help work as before.
        let cli = parse_with(&[], &["doctor", "--region", "eu-west-1"]).unwrap();
        let Some(Command::Doctor(doctor)) = cli.command else {
            panic!("not doctor: {:?}", cli.command)
        };
        assert_eq!(doctor.registries.region.as_deref(), Some("eu-west-1"));
        let help = parse_with(&[], &["logout", "--help"])
            .unwrap_err()
            .to_string();
        assert!(help.contains("--auth-file"), "{help}");
    }

    #[test]
    fn a_subcommand_s_help_is_as_clap_derive_makes_it() {
        for (sub, about) in [
            ("login", "Log in to the registries"),
            ("logout", "Remove registry logins"),
            ("doctor", "Check everything a login needs"),
            ("credential-helper", "The Docker credential helper protocol"),
        ] {
            let help = parse_with(&[], &[sub, "--help"]).unwrap_err().to_string();
            // The variant's doc comment, not its arguments struct's.
            assert!(help.starts_with(about), "{sub}:\n{help}");
            // Its own options first, the top level's global ones (--output...) last.
            let own = help.find("Options:").unwrap();
            let output = help.find("Output:").unwrap();
            assert!(own < output, "{sub}:\n{help}");
            let via_help = parse_with(&[], &["help", sub]).unwrap_err().to_string();
            assert_eq!(via_help, help, "{sub}");
        }
        // A subcommand clap builds later (not named on the command line) keeps its about too.
        let mut cmd = Cli::command();
        cmd.build();
        let doctor = cmd.find_subcommand("doctor").unwrap();
        let about = doctor.get_about().unwrap().to_string();
        assert!(about.starts_with("Check everything"), "{about}");
    }

    #[test]
    fn an_empty_value_on_the_command_line_is_an_error() {
        assert!(parse_with(&[], &["--region", ""]).is_err());
        assert!(parse_with(&[], &["--region", "eu-west-1"]).is_ok());
    }

    /// `--help` of the binary and of every command, as a user reads it: reviewed as a whole
    /// when it changes (`cargo insta review`). The values of variables set in the test's own
    /// environment are taken out (`[env: NAME=value]` becomes `[env: NAME]`).
    #[test]
    fn every_commands_help_as_the_user_reads_it() {
        fn without_env_values(text: &str) -> String {
            let mut out = String::new();
            let mut rest = text;
            while let Some(at) = rest.find("[env: ") {
                let (before, after) = rest.split_at(at);
                out.push_str(before);
                let end = after.find(']').unwrap_or(after.len());
                let inner = &after[..end];
                out.push_str(inner.split('=').next().unwrap_or(inner));
                rest = &after[end..];
            }
            out.push_str(rest);
            out
        }
        let mut text = String::new();
        for command in [
            &[][..],
            &["login"],
            &["logout"],
            &["policy"],
            &["credential-helper"],
            &["kubelet-credential-provider"],
            &["doctor"],
            &["status"],
        ] {
            let mut args = command.to_vec();
            args.push("--help");
            // At a fixed width: the terminal's (COLUMNS) would change the wrapping.
            let words = args.iter().map(|a| a.to_string()).collect();
            let argv = std::iter::once("ecr-login").chain(args.iter().copied());
            let parsed = while_parsing(&Env::default(), words, |_| {
                Cli::command().term_width(100).try_get_matches_from(argv)
            });
            let help = match parsed {
                Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.to_string(),
                other => panic!("{args:?} did not print help: {:?}", other.err()),
            };
            text.push_str(&format!(
                "===== ecr-login {} --help\n{}\n",
                command.join(" "),
                without_env_values(&help)
            ));
        }
        insta::assert_snapshot!(text);
    }
}
