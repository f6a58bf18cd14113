//! The command line and the environment, checked and resolved once into a [`Config`]. Every
//! input error is found here, before any network call or file write, and reported with what
//! was expected. No I/O happens here: the platform is chosen from the environment snapshot,
//! the identity is planned (not fetched), and what needs a file (the AWS profile's region) is
//! left for the command to resolve.

use std::path::PathBuf;

use crate::aws::registry::{self, RegistryRequest};
use crate::aws::{self, regions, sts};
use crate::cache;
use crate::cli::{
    CacheArgs, Cli, Command, Deferred, DoctorArgs, HelperAction, HelperArgs, IdentityArgs,
    KubeletArgs, LoginArgs, LoginMode, LogoutArgs, OutputFormat, PolicyArgs, StatusArgs,
    TelemetryArgs,
};
use crate::commands::doctor::DoctorConfig;
use crate::commands::helper::HelperConfig;
use crate::commands::kubelet::KubeletConfig;
use crate::commands::login::{HelperMode, LoginConfig};
use crate::commands::logout::LogoutConfig;
use crate::commands::policy::PolicyConfig;
use crate::commands::status::StatusConfig;
use crate::docker::auth_files::Locations;
use crate::env::Env;
use crate::env_vars::EnvVars;
use crate::error::{AuthFileError, Error, UsageError};
use crate::identity;
use crate::output::{Mode, Printer};
use crate::platform::{self, CacheHome, Platform};
use crate::secret::Secret;
use crate::telemetry;

/// Everything a run needs, checked.
#[derive(Debug)]
pub(crate) struct Config {
    pub task: Task,
    pub printer: Printer,
    /// The tracing filter: from `-q`/`-v`, or `ECR_LOGIN_LOG`.
    pub log_filter: String,
}

/// What to do.
#[derive(Debug)]
pub(crate) enum Task {
    Login(LoginConfig),
    Logout(LogoutConfig),
    Policy(PolicyConfig),
    Helper(HelperConfig),
    Kubelet(KubeletConfig),
    Doctor(Box<DoctorConfig>),
    Status(StatusConfig),
}

/// Registers the password of each proxy variable's URL (`http://user:password@proxy:3128`), as
/// written and percent-decoded, as a secret: the HTTP clients read these variables themselves,
/// and an error or a log line of theirs that quotes the proxy's URL is then redacted (and
/// masked in the CI log) like every other secret.
fn register_proxy_passwords(env: &Env) {
    for name in [
        EnvVars::HTTPS_PROXY,
        EnvVars::HTTP_PROXY,
        EnvVars::ALL_PROXY,
    ] {
        for name in [name.to_string(), name.to_ascii_lowercase()] {
            let Some(password) = env.get(&name).and_then(proxy_password) else {
                continue;
            };
            let _ = Secret::new(password);
            if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
                let _ = Secret::new(decoded.into_owned());
            }
        }
    }
}

/// A proxy URL (which may lack a scheme) split around its `user:password@`: the scheme, the
/// userinfo and what follows the `@`; `None` without userinfo.
fn split_userinfo(url: &str) -> Option<(Option<&str>, &str, &str)> {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    Some((scheme, &rest[..at], &rest[at + 1..]))
}

/// The password in a proxy URL's `user:password@`, if it has one.
fn proxy_password(url: &str) -> Option<&str> {
    let (_, userinfo, _) = split_userinfo(url)?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// A proxy URL as it may be shown: `user:password@` (a corporate proxy's credentials) becomes
/// `***@`. Doctor only names the proxy; the HTTP clients read the variable themselves.
fn without_userinfo(url: &str) -> String {
    match split_userinfo(url) {
        Some((Some(scheme), _, host)) => format!("{scheme}://***@{host}"),
        Some((None, _, host)) => format!("***@{host}"),
        None => url.to_string(),
    }
}

impl Config {
    /// Checks `cli` against `env`: no network, no file read. Registers the proxy variables'
    /// passwords as secrets.
    pub(crate) fn from_cli(cli: Cli, env: &Env) -> Result<Config, Error> {
        register_proxy_passwords(env);
        let dockerconfigjson = cli.output.output == OutputFormat::Dockerconfigjson;
        let task = match cli.command {
            Some(Command::Login(Deferred(args))) => {
                Task::Login(login_config(args, env, dockerconfigjson)?)
            }
            Some(Command::Policy(_) | Command::Logout(_)) if dockerconfigjson => {
                return Err(UsageError::Other(
                    "--output dockerconfigjson is an output of `login` only".into(),
                )
                .into())
            }
            Some(Command::Policy(Deferred(args))) => Task::Policy(policy_config(args, env)?),
            Some(Command::Logout(Deferred(args))) => Task::Logout(logout_config(args, env)?),
            Some(Command::CredentialHelper(Deferred(args))) => {
                Task::Helper(helper_config(args, env)?)
            }
            Some(Command::Kubelet(Deferred(args))) => Task::Kubelet(kubelet_config(args, env)?),
            Some(Command::Doctor(Deferred(args))) => {
                Task::Doctor(Box::new(doctor_config(args, env)?))
            }
            Some(Command::Status(Deferred(args))) => Task::Status(status_config(args, env)?),
            None => Task::Login(login_config(cli.login, env, dockerconfigjson)?),
        };
        let mut printer = match task {
            // The kubelet reads stdout as its protocol, whatever --output says.
            Task::Kubelet(_) => Printer::new(Mode::Protocol, cli.output.quiet),
            _ => printer(&cli.output),
        };
        if matches!(task, Task::Helper(_)) {
            // Docker reads the helper's stdout: nothing but the protocol goes there.
            printer.mode = Mode::Protocol;
        }
        Ok(Config {
            task,
            printer,
            log_filter: log_filter(&cli.output, env),
        })
    }
}

/// The printer `--output`/`-q` ask for (also for errors found before a `Config` exists).
pub(crate) fn printer(output: &crate::cli::OutputArgs) -> Printer {
    let mode = match output.output {
        OutputFormat::Human => Mode::Human,
        OutputFormat::Json => Mode::Json,
        OutputFormat::Dockerconfigjson => Mode::Protocol,
    };
    Printer::new(mode, output.quiet)
}

fn log_filter(output: &crate::cli::OutputArgs, env: &Env) -> String {
    match env.get(EnvVars::ECR_LOGIN_LOG) {
        Some(f) => f.to_string(),
        None => match (output.quiet, output.verbose) {
            (true, _) => "error".into(),
            (false, 0) => "warn".into(),
            (false, 1) => "ecr_login=debug,info".into(),
            (false, 2) => "debug".into(),
            _ => "trace".into(),
        },
    }
}

/// The platform-related options of `args`.
fn platform_options(args: &IdentityArgs) -> platform::Options {
    platform::Options {
        id_token_env: args.id_token_env.clone(),
        token_file: args.web_identity_token_file.clone(),
    }
}

/// The platform `--platform` names, or the detected one.
fn select_platform(args: &IdentityArgs, env: &Env) -> Result<Box<dyn Platform>, UsageError> {
    platform::select(env, args.platform.as_deref(), &platform_options(args))
}

/// `IdentityArgs`, checked, into the identity settings.
fn identity_settings(args: &IdentityArgs, env: &Env) -> Result<identity::Settings, Error> {
    if args.role_arn.is_empty() && env.is_present(EnvVars::AWS_ROLE_ARN) {
        // Set but empty: a CI variable that did not resolve. Say so rather than silently
        // falling back to other credentials.
        return Err(UsageError::RoleArn { arn: String::new() }.into());
    }
    let mut roles = Vec::new();
    for arn in args.role_arn.iter().chain(&args.chain_role_arn) {
        let arn = arn.trim();
        if arn.is_empty() {
            continue;
        }
        check_role_arn(arn)?;
        roles.push(arn.to_string());
    }
    if roles.is_empty() && !args.chain_role_arn.is_empty() {
        return Err(UsageError::Other(
            "--chain-role-arn needs a first role to chain from: pass --role-arn".into(),
        )
        .into());
    }
    let session_name = match &args.role_session_name {
        Some(n) if !sts::is_session_name(n.trim()) => {
            return Err(UsageError::SessionName { name: n.clone() }.into())
        }
        n => n.as_ref().map(|n| n.trim().to_string()),
    };
    if !(900..=43200).contains(&args.role_duration_seconds) {
        return Err(UsageError::Duration(args.role_duration_seconds).into());
    }
    let managed_policies = list(args.managed_session_policies.as_deref());
    for arn in &managed_policies {
        check_policy_arn(arn)?;
    }
    if managed_policies.len() > 10 {
        return Err(UsageError::Other(format!(
            "--managed-session-policies names {} policies; STS takes at most 10",
            managed_policies.len()
        ))
        .into());
    }
    let allowed_accounts = list(args.allowed_account_ids.as_deref());
    for a in &allowed_accounts {
        check_account(a, "--allowed-account-ids")?;
    }
    Ok(identity::Settings {
        roles,
        role_chaining: args.role_chaining,
        external_id: args.role_external_id.clone(),
        audience: args.audience.clone(),
        token_file: args.web_identity_token_file.clone(),
        session_name,
        session: identity::Session {
            duration_seconds: args.role_duration_seconds,
            inline_policy: args
                .inline_session_policy
                .as_deref()
                .map(check_session_policy)
                .transpose()?,
            managed_policies,
            allowed_accounts,
        },
        profile: None,
    })
}

/// A comma-, space- or newline-separated list (the form every list flag takes).
fn list(value: Option<&str>) -> Vec<String> {
    value
        .map(|l| registry::split_list(l).map(str::to_string).collect())
        .unwrap_or_default()
}

/// STS's limit on an inline session policy, counted without insignificant whitespace.
const MAX_INLINE_POLICY: usize = 2048;

/// An inline session policy: a JSON object, minified, within STS's size limit.
fn check_session_policy(text: &str) -> Result<String, UsageError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| UsageError::SessionPolicy {
            reason: format!("it is not JSON ({e})"),
        })?;
    if !value.is_object() {
        return Err(UsageError::SessionPolicy {
            reason: "it is not a JSON object (a policy document)".into(),
        });
    }
    let minified = value.to_string();
    if minified.len() > MAX_INLINE_POLICY {
        return Err(UsageError::SessionPolicy {
            reason: format!(
                "it is {} characters long without whitespace; STS accepts at most {MAX_INLINE_POLICY}",
                minified.len()
            ),
        });
    }
    Ok(minified)
}

/// `arn:<partition>:iam::<account or aws>:policy/<path/><name>`.
fn check_policy_arn(arn: &str) -> Result<(), UsageError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = matches!(parts[..], ["arn", partition, "iam", "", account, resource]
        if regions::PARTITIONS.iter().any(|p| p.arn == partition)
            && (account == "aws" || aws::is_account_id(account))
            && resource.strip_prefix("policy/").is_some_and(|n| !n.is_empty()));
    ok.then_some(()).ok_or_else(|| {
        UsageError::Other(format!(
            "{arn:?} is not a managed policy ARN (arn:aws:iam::aws:policy/<name> or arn:aws:iam::<account-id>:policy/<name>)"
        ))
    })
}

fn check_account(account: &str, flag: &str) -> Result<(), UsageError> {
    if aws::is_account_id(account) {
        Ok(())
    } else {
        Err(UsageError::Other(format!(
            "{flag} {account:?} is not a 12-digit account id"
        )))
    }
}

fn login_config(args: LoginArgs, env: &Env, dockerconfigjson: bool) -> Result<LoginConfig, Error> {
    let settings = identity_settings(&args.identity, env)?;
    let platform = select_platform(&args.identity, env)?;
    let identity = identity::plan(&settings, platform.as_ref(), env, None)?;

    let allow_unknown = args.registries.allow_unknown_region;
    let region = args
        .registries
        .region
        .or_else(|| env.get(EnvVars::AWS_DEFAULT_REGION).map(str::to_string))
        .map(|r| r.trim().to_string());
    if let Some(r) = &region {
        regions::check(r, allow_unknown)?;
    }
    let registries = args
        .registries
        .registries
        .as_deref()
        .map(|l| {
            registry::split_list(l)
                .map(|i| match region.as_deref() {
                    // An account id without a region waits for the profile's.
                    None if aws::is_account_id(i) => Ok(RegistryRequest::Account(i.into())),
                    r => registry::parse(i, r, allow_unknown).map(RegistryRequest::Registry),
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();

    let cache = cache_settings(&args.cache, platform.as_ref(), env)?;
    let helper_mode = (args.mode == LoginMode::Helper).then(|| HelperMode {
        path: env
            .get(EnvVars::PATH)
            .map(|p| std::env::split_paths(p).collect())
            .unwrap_or_default(),
    });
    let docker_config = docker_dir(args.auth_file.docker_config, env)?;
    let watch = args
        .watch
        .then(|| cache::parse_duration(&args.cache.cache_margin).unwrap_or(cache::DEFAULT_MARGIN));
    Ok(LoginConfig {
        helper_mode,
        cache,
        platform,
        identity,
        region,
        allow_unknown_region: allow_unknown,
        registries,
        dual_stack: args.registries.dual_stack || env.is_true(EnvVars::AWS_USE_DUALSTACK_ENDPOINT),
        auth_files: Box::new(Locations::new(
            &docker_config,
            args.auth_file.auth_file,
            env,
        )),
        docker_config,
        env_file: args.auth_file.env_file,
        output_credentials: args.auth_file.output_credentials,
        dockerconfigjson,
        watch,
    })
}

fn status_config(args: StatusArgs, env: &Env) -> Result<StatusConfig, Error> {
    let within = cache::parse_duration(&args.within).ok_or_else(|| {
        UsageError::Other(format!(
            "--within {:?} is not a duration (3600, 90s, 30m, 1h, 1h30m)",
            args.within
        ))
    })?;
    // The cache is where `login` would put it: the platform decides (a CI job's own temp dir).
    let platform = platform::select(env, None, &platform::Options::default())?;
    let cache = cache_settings(&args.cache, platform.as_ref(), env)?;
    let docker_config = docker_dir(args.docker_config, env)?;
    Ok(StatusConfig {
        auth_files: Locations::new(&docker_config, args.auth_file, env),
        cache_dir: cache.and_then(|c| c.dir),
        within,
    })
}

fn doctor_config(args: DoctorArgs, env: &Env) -> Result<DoctorConfig, Error> {
    let settings = identity_settings(&args.identity, env)?;
    let platform = select_platform(&args.identity, env)?;
    let identity = identity::plan(&settings, platform.as_ref(), env, None);
    let region = args
        .registries
        .region
        .or_else(|| env.get(EnvVars::AWS_DEFAULT_REGION).map(str::to_string));
    if let Some(r) = &region {
        regions::check(r, args.registries.allow_unknown_region)?;
    }
    let registries = list(args.registries.registries.as_deref())
        .iter()
        .map(|i| match region.as_deref() {
            None if aws::is_account_id(i) => Ok(RegistryRequest::Account(i.clone())),
            r => registry::parse(i, r, true).map(RegistryRequest::Registry),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let var = |upper: &str| {
        env.get(upper)
            .or_else(|| env.get(&upper.to_ascii_lowercase()))
            .map(str::to_string)
    };
    Ok(DoctorConfig {
        explain: args.explain,
        platform_why: platform::why(env, args.identity.platform.as_deref()),
        platform,
        identity,
        region,
        registries,
        docker_config: docker_dir(args.docker_config, env)?,
        endpoint_url: env
            .get(EnvVars::AWS_ENDPOINT_URL_ECR)
            .or_else(|| env.get(EnvVars::AWS_ENDPOINT_URL))
            .map(str::to_string),
        https_proxy: var(EnvVars::HTTPS_PROXY).map(|p| without_userinfo(&p)),
        no_proxy: var(EnvVars::NO_PROXY)
            .map(|n| n.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        podman_auth_files: crate::commands::doctor::podman_auth_files(
            env.get(EnvVars::REGISTRY_AUTH_FILE),
            env.get(EnvVars::XDG_RUNTIME_DIR),
        ),
    })
}

fn helper_config(mut args: HelperArgs, env: &Env) -> Result<HelperConfig, Error> {
    let settings = identity_settings(&args.identity, env)?;
    let platform = select_platform(&args.identity, env)?;
    // amazon-ecr-credential-helper's own settings, for a drop-in: no cache, or its directory
    // (with the checks of a directory named by --cache-dir). Ours win when both are set.
    if env.is_true(EnvVars::AWS_ECR_DISABLE_CACHE) {
        args.cache.no_cache = true;
    }
    if args.cache.cache_dir.is_none() {
        args.cache.cache_dir = env.get_path(EnvVars::AWS_ECR_CACHE_DIR);
    }
    let cache = cache_settings(&args.cache, platform.as_ref(), env)?;
    let docker_dir = docker_dir(args.docker_config, env)?;
    let mut config_files = vec![docker_dir.join(crate::config_file::DOCKER_DIR_FILE)];
    config_files.extend(crate::config_file::user_path(
        args.config.as_deref(),
        env.get(EnvVars::XDG_CONFIG_HOME),
        env.get(EnvVars::HOME),
    ));
    use crate::docker::helper::Action;
    Ok(HelperConfig {
        action: match args.action {
            HelperAction::Get => Action::Get,
            HelperAction::Store => Action::Store,
            HelperAction::Erase => Action::Erase,
            HelperAction::List => Action::List,
            HelperAction::Version => Action::Version,
        },
        planner: identity::Planner::new(settings, platform, env.clone()),
        cache,
        config_files,
        ignore_creds_storage: env.is_true(EnvVars::AWS_ECR_IGNORE_CREDS_STORAGE),
    })
}

/// The token cache's directory, margin and fleet cache, or `None` for no cache (see
/// [`CacheHome`]).
pub(crate) fn cache_settings(
    args: &CacheArgs,
    platform: &dyn Platform,
    env: &Env,
) -> Result<Option<cache::Settings>, UsageError> {
    let margin = cache::parse_duration(&args.cache_margin).ok_or_else(|| {
        UsageError::Other(format!(
            "--cache-margin {:?} is not a duration (3600, 90s, 30m, 1h, 1h30m)",
            args.cache_margin
        ))
    })?;
    if margin >= std::time::Duration::from_secs(12 * 3600) {
        return Err(UsageError::Other(format!(
            "--cache-margin {:?} is as long as an ECR token's whole life (12 h): nothing could be served from the cache",
            args.cache_margin
        )));
    }
    if args.no_cache {
        return Ok(None);
    }
    let dir = match &args.cache_dir {
        Some(d) => Some(d.clone()),
        None => match platform.cache_home() {
            CacheHome::User => env
                .get_path(EnvVars::XDG_CACHE_HOME)
                .or_else(|| env.get_path(EnvVars::HOME).map(|h| h.join(".cache")))
                .map(|d| d.join("ecr-login")),
            CacheHome::Job(d) => Some(d),
            CacheHome::None => None,
        },
    };
    let fleet = args
        .cache_url
        .as_deref()
        .map(|url| fleet_settings(url, args, env))
        .transpose()?;
    Ok(
        (dir.is_some() || fleet.is_some()).then_some(cache::Settings {
            dir,
            dir_named: args.cache_dir.is_some(),
            margin,
            fleet,
        }),
    )
}

/// `--cache redis://…` and the key that seals its values. The URL's password is registered as
/// a secret; the key must be set: one in the environment is checked here, one in a file when
/// the cache opens (no I/O here).
fn fleet_settings(url: &str, args: &CacheArgs, env: &Env) -> Result<cache::Fleet, UsageError> {
    let url = url.trim();
    let password = cache::redis::check_url(url)
        .map_err(|why| UsageError::Other(format!("--cache {}: {why}", cache::redis::shown(url))))?;
    if let Some(p) = password {
        let _ = Secret::new(p);
    }
    let value = env.get(EnvVars::ECR_LOGIN_CACHE_KEY).map(Secret::new);
    let key = match (value, &args.cache_key_file) {
        (Some(_), Some(_)) => {
            return Err(UsageError::Other(
                "both ECR_LOGIN_CACHE_KEY and --cache-key-file (ECR_LOGIN_CACHE_KEY_FILE) are set: set one".into(),
            ))
        }
        (Some(value), None) => {
            cache::seal::check(&value).map_err(|why| {
                UsageError::Other(format!(
                    "ECR_LOGIN_CACHE_KEY is not a key for the fleet cache (32 random bytes in base64): {why}"
                ))
            })?;
            cache::FleetKey::Value(value)
        }
        (None, Some(path)) => cache::FleetKey::File(path.clone()),
        (None, None) => {
            return Err(UsageError::Other(format!(
                "--cache {} needs the key that seals the fleet's tokens: set ECR_LOGIN_CACHE_KEY (or ECR_LOGIN_CACHE_KEY_FILE) to 32 random bytes in base64, the same on every runner ({})",
                cache::redis::shown(url),
                cache::seal::MAKE_A_KEY
            )))
        }
    };
    Ok(cache::Fleet {
        url: url.to_string(),
        key,
        // clap read it from the command line unless the environment holds this very value.
        url_on_command_line: env.get(EnvVars::ECR_LOGIN_CACHE).map(str::trim) != Some(url),
    })
}

/// `--docker-config` / `DOCKER_CONFIG`, else `~/.docker`.
fn docker_dir(flag: Option<PathBuf>, env: &Env) -> Result<PathBuf, Error> {
    match flag {
        Some(d) => Ok(d),
        None => Ok(env
            .get_path(EnvVars::HOME)
            .map(|h| h.join(".docker"))
            .ok_or(AuthFileError::NoHome)?),
    }
}

fn logout_config(args: LogoutArgs, env: &Env) -> Result<LogoutConfig, Error> {
    let allow_unknown = args.registries.allow_unknown_region;
    let region = args
        .registries
        .region
        .or_else(|| env.get(EnvVars::AWS_DEFAULT_REGION).map(str::to_string));
    let registries = args
        .registries
        .registries
        .as_deref()
        .map(|l| {
            registry::split_list(l)
                .map(|i| registry::parse(i, region.as_deref(), allow_unknown))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let docker_config = docker_dir(args.docker_config, env)?;
    Ok(LogoutConfig {
        registries,
        auth_files: Locations::new(&docker_config, args.auth_file, env),
    })
}

fn policy_config(args: PolicyArgs, env: &Env) -> Result<PolicyConfig, Error> {
    let trimmed = |o: Option<String>| o.map(|s| s.trim().to_string());
    let role_arn = args
        .identity
        .role_arn
        .last()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty());
    if let Some(arn) = &role_arn {
        check_role_arn(arn)?;
    }
    if args.monitoring && role_arn.is_none() {
        return Err(UsageError::Other(
            "--monitoring watches one role's logins: pass --role-arn (or set AWS_ROLE_ARN)".into(),
        )
        .into());
    }
    let account = trimmed(args.account)
        .or_else(|| {
            role_arn
                .as_deref()
                .and_then(aws::arn_account)
                .map(str::to_string)
        })
        .ok_or_else(|| {
            UsageError::Other(
                "which account? pass --account 123456789012 (or --role-arn / AWS_ROLE_ARN)".into(),
            )
        })?;
    check_account(&account, "--account")?;
    let region = trimmed(args.region);
    if let Some(r) = &region {
        regions::check(r, true)?;
    }
    let partition = role_arn
        .as_deref()
        .and_then(|a| a.split(':').nth(1))
        .and_then(|p| regions::PARTITIONS.iter().find(|x| x.arn == p))
        .map(|p| p.arn)
        .or_else(|| region.as_deref().map(|r| regions::partition_of(r).arn))
        .unwrap_or("aws");
    let repositories = list(args.repositories.as_deref());
    for r in &repositories {
        let ok = r
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/*".contains(c));
        if !ok {
            return Err(UsageError::Other(format!(
                "{r:?} is not a repository name (lower-case letters, digits, . _ - /)"
            ))
            .into());
        }
    }
    Ok(PolicyConfig {
        platform: select_platform(&args.identity, env)?,
        trust: platform::TrustRequest {
            issuer: trimmed(args.issuer).map(|i| i.trim_end_matches('/').to_string()),
            audience: trimmed(args.identity.audience),
            repo: trimmed(args.repo),
            git_ref: trimmed(args.git_ref),
            any_ref: args.any_ref,
            subject: trimmed(args.subject),
        },
        account,
        partition,
        region,
        repositories,
        access: args.access,
        public: args.public,
        only: args.only,
        role_arn,
        monitoring: args.monitoring,
    })
}

/// A role ARN as [`aws::is_role_arn`] takes it, else the usage error that shows the form.
fn check_role_arn(arn: &str) -> Result<(), UsageError> {
    aws::is_role_arn(arn.trim())
        .then_some(())
        .ok_or_else(|| UsageError::RoleArn {
            arn: arn.to_string(),
        })
}

/// The kubelet kills a plugin after one minute: the budget stays inside it.
const MAX_KUBELET_DEADLINE: std::time::Duration = std::time::Duration::from_secs(55);

fn kubelet_config(args: KubeletArgs, env: &Env) -> Result<KubeletConfig, Error> {
    let settings = identity_settings(&args.identity, env)?;
    let platform = select_platform(&args.identity, env)?;
    let identity = identity::plan(&settings, platform.as_ref(), env, None)?;
    let service_account_role = args
        .service_account_role_arn
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| check_role_arn(a).map(|()| a.to_string()))
        .transpose()?;
    let deadline = cache::parse_duration(&args.deadline)
        .filter(|d| !d.is_zero() && *d <= MAX_KUBELET_DEADLINE)
        .ok_or_else(|| {
            UsageError::Other(format!(
                "--deadline {:?} is not a duration between 1s and {}s (the kubelet kills a plugin after one minute)",
                args.deadline,
                MAX_KUBELET_DEADLINE.as_secs()
            ))
        })?;
    let cache = cache_settings(&args.cache, platform.as_ref(), env)?;
    let margin = cache::parse_duration(&args.cache.cache_margin).unwrap_or(cache::DEFAULT_MARGIN);
    Ok(KubeletConfig {
        identity,
        platform,
        settings,
        service_account_role,
        token_platform: platform::by_name(env, "local", &platform::Options::default())?,
        env: env.clone(),
        cache,
        margin,
        deadline,
    })
}

/// The audit and metrics recording of a command that hands out credentials (`login`,
/// `credential-helper get`, `kubelet-credential-provider`), checked; `None` for the other
/// commands and when nothing is asked for. Read before the rest of the configuration, so that
/// a login that fails on its settings is recorded (and notified) too.
pub(crate) fn telemetry(cli: &Cli, env: &Env) -> Result<Option<telemetry::Run>, UsageError> {
    use telemetry::Command as Recorded;
    let (command, args, identity) = match &cli.command {
        None => (Recorded::Login, &cli.login.telemetry, &cli.login.identity),
        Some(Command::Login(a)) => (Recorded::Login, &a.telemetry, &a.identity),
        Some(Command::CredentialHelper(a)) if a.action == HelperAction::Get => {
            (Recorded::CredentialHelper, &a.telemetry, &a.identity)
        }
        Some(Command::Kubelet(a)) => (Recorded::Kubelet, &a.telemetry, &a.identity),
        Some(_) => return Ok(None),
    };
    let mut settings = telemetry_settings(args)?;
    if settings.is_empty() {
        return Ok(None);
    }
    let selected = select_platform(identity, env).ok();
    settings.job_url = selected.as_deref().and_then(|p| platform::job_url(p, env));
    let platform = selected.as_ref().map(|p| p.name()).unwrap_or("unknown");
    let role = identity
        .role_arn
        .iter()
        .chain(&identity.chain_role_arn)
        .map(|a| a.trim())
        .rfind(|a| !a.is_empty())
        .map(str::to_string);
    Ok(Some(telemetry::Run::new(
        settings,
        telemetry::Subject {
            command,
            platform,
            role,
        },
    )))
}

fn telemetry_settings(args: &TelemetryArgs) -> Result<telemetry::Settings, UsageError> {
    let audit_log = match &args.audit_log {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(telemetry::AuditTarget::Stderr),
        Some(p) if p.as_os_str().is_empty() => {
            return Err(UsageError::Other(
                "--audit-log needs a file (or - for stderr)".into(),
            ))
        }
        Some(p) => Some(telemetry::AuditTarget::File(p.clone())),
    };
    if let Some(p) = &args.metrics_file {
        if p.extension().is_none_or(|e| e != "prom") || p.file_stem().is_none() {
            return Err(UsageError::Other(format!(
                "--metrics-file {} must end in .prom: node_exporter's textfile collector reads only *.prom files",
                p.display()
            )));
        }
    }
    let webhook = args
        .notify_webhook
        .as_deref()
        .map(|u| check_webhook(u.trim()))
        .transpose()?;
    Ok(telemetry::Settings {
        audit_log,
        metrics_file: args.metrics_file.clone(),
        webhook,
        job_url: None,
    })
}

/// The webhook URL, registered as a secret (a Slack webhook's path is its token): https, or
/// http to this machine only, so that the token never crosses a network in the clear.
fn check_webhook(url: &str) -> Result<crate::secret::Secret, UsageError> {
    let secret = crate::secret::Secret::new(url);
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| UsageError::Other(format!("--notify-webhook is not a URL ({e})")))?;
    let path = parsed.path().trim_matches('/');
    if path.len() >= 8 {
        crate::secret::registry().add(path);
    }
    if let Some(q) = parsed.query().filter(|q| q.len() >= 8) {
        crate::secret::registry().add(q);
    }
    let loopback = parsed.host_str().is_some_and(|h| {
        h == "localhost"
            || h.trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match parsed.scheme() {
        "https" => Ok(secret),
        "http" if loopback => Ok(secret),
        _ => Err(UsageError::Other(
            "--notify-webhook must be an https:// URL (http:// only to localhost): the URL holds the webhook's own secret".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_password_is_never_kept_for_display() {
        assert_eq!(
            without_userinfo("http://corp%5Cuser:s3cret@proxy.corp:3128/"),
            "http://***@proxy.corp:3128/"
        );
        assert_eq!(without_userinfo("user:pw@proxy:8080"), "***@proxy:8080");
        assert_eq!(
            without_userinfo("http://proxy.corp:3128"),
            "http://proxy.corp:3128"
        );
        // An @ in the path is not userinfo.
        assert_eq!(
            without_userinfo("http://proxy:3128/a@b"),
            "http://proxy:3128/a@b"
        );
    }

    #[test]
    fn proxy_passwords_are_registered_as_secrets() {
        assert_eq!(
            proxy_password("http://corp%5Cuser:pa%40ss-word1@proxy:3128/"),
            Some("pa%40ss-word1")
        );
        assert_eq!(proxy_password("user:pw@proxy:8080"), Some("pw"));
        assert_eq!(proxy_password("http://user@proxy:3128"), None);
        assert_eq!(proxy_password("http://proxy:3128/a:b@c"), None);
        let env: Env = [
            ("https_proxy", "http://u:pr0xy%2Fpass-lower@proxy:3128"),
            ("ALL_PROXY", "socks5://u:pr0xy-pass-all@proxy:1080"),
        ]
        .into_iter()
        .collect();
        register_proxy_passwords(&env);
        let redacted = crate::secret::registry()
            .redact("via pr0xy%2Fpass-lower, pr0xy/pass-lower and pr0xy-pass-all");
        assert_eq!(redacted, "via ***, *** and ***");
    }

    #[test]
    fn role_arns() {
        for ok in [
            "arn:aws:iam::123456789012:role/ci",
            "arn:aws:iam::123456789012:role/path/to/ci-role_1",
            "arn:aws-cn:iam::123456789012:role/ci",
            "arn:aws-us-gov:iam::123456789012:role/ci",
        ] {
            assert!(check_role_arn(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ci",
            "arn:aws:iam::12345678901:role/ci",
            "arn:aws:iam::123456789012:user/ci",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:sts::123456789012:role/ci",
            "arn:aws:iam:us-east-1:123456789012:role/ci",
            "arn:azure:iam::123456789012:role/ci",
            "arn:aws:iam::123456789012:role/ci role",
        ] {
            assert!(check_role_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn session_policies_are_minified_and_bounded() {
        assert_eq!(
            check_session_policy("{ \"Version\" : \"2012-10-17\" }").unwrap(),
            r#"{"Version":"2012-10-17"}"#
        );
        assert!(check_session_policy("not json").is_err());
        assert!(check_session_policy("[1]").is_err());
        let big = format!(r#"{{"Sid":"{}"}}"#, "x".repeat(2100));
        let e = check_session_policy(&big).unwrap_err().to_string();
        assert!(e.contains("at most 2048"), "{e}");
    }

    fn login(vars: &[(&str, &str)], args: &[&str]) -> LoginConfig {
        use clap::Parser;
        let env: Env = vars.iter().copied().collect();
        let cli =
            Cli::try_parse_from(std::iter::once("ecr-login").chain(args.iter().copied())).unwrap();
        match Config::from_cli(cli, &env).unwrap().task {
            Task::Login(l) => l,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_sdks_dual_stack_setting_turns_dual_stack_on() {
        let base = [("HOME", "/home/u"), ("AWS_REGION", "us-east-1")];
        assert!(!login(&base, &["--region", "us-east-1"]).dual_stack);
        assert!(login(&base, &["--region", "us-east-1", "--dual-stack"]).dual_stack);
        let with_sdk = [("HOME", "/home/u"), ("AWS_USE_DUALSTACK_ENDPOINT", "true")];
        assert!(login(&with_sdk, &["--region", "us-east-1"]).dual_stack);
    }

    #[test]
    fn account_ids_without_a_region_wait_for_the_profiles() {
        let l = login(
            &[("HOME", "/home/u")],
            &["--registries", "123456789012,public.ecr.aws"],
        );
        assert_eq!(
            l.registries[0],
            RegistryRequest::Account("123456789012".into())
        );
        assert!(l.region.is_none());
    }

    #[test]
    fn managed_policy_arns() {
        assert!(
            check_policy_arn("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly").is_ok()
        );
        assert!(check_policy_arn("arn:aws:iam::123456789012:policy/team/pull").is_ok());
        assert!(check_policy_arn("arn:aws:iam::123456789012:role/x").is_err());
        assert!(check_policy_arn("AmazonEC2ContainerRegistryReadOnly").is_err());
    }

    fn telemetry_of(
        vars: &[(&str, &str)],
        args: &[&str],
    ) -> Result<Option<telemetry::Run>, UsageError> {
        use clap::Parser;
        let env: Env = vars.iter().copied().collect();
        let cli =
            Cli::try_parse_from(std::iter::once("ecr-login").chain(args.iter().copied())).unwrap();
        telemetry(&cli, &env)
    }

    #[test]
    fn telemetry_is_for_the_commands_that_hand_out_credentials() {
        let gh = [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_RUN_ID", "42"),
        ];
        let run = telemetry_of(
            &gh,
            &[
                "--audit-log",
                "-",
                "--role-arn",
                "arn:aws:iam::123456789012:role/ci",
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(run.subject.command, telemetry::Command::Login);
        assert_eq!(run.subject.platform, "github-actions");
        assert_eq!(
            run.subject.role.as_deref(),
            Some("arn:aws:iam::123456789012:role/ci")
        );
        assert_eq!(
            run.settings.job_url.as_deref(),
            Some("https://github.com/o/r/actions/runs/42")
        );
        assert_eq!(run.settings.audit_log, Some(telemetry::AuditTarget::Stderr));
        let helper = telemetry_of(
            &[],
            &["credential-helper", "get", "--metrics-file", "/m/x.prom"],
        )
        .unwrap()
        .unwrap();
        assert_eq!(helper.subject.command, telemetry::Command::CredentialHelper);
        assert_eq!(helper.subject.platform, "local");
        assert!(
            telemetry_of(&[], &["credential-helper", "list", "--audit-log", "a"])
                .unwrap()
                .is_none()
        );
        assert!(telemetry_of(&[], &["login"]).unwrap().is_none());
        let kubelet = telemetry_of(&[], &["kubelet-credential-provider", "--audit-log", "-"])
            .unwrap()
            .unwrap();
        assert_eq!(kubelet.subject.command, telemetry::Command::Kubelet);
    }

    #[test]
    fn telemetry_settings_are_checked() {
        let e = telemetry_of(&[], &["--metrics-file", "/m/ecr-login.txt"]).unwrap_err();
        assert!(e.to_string().contains("must end in .prom"), "{e}");
        for bad in [
            "http://hooks.example.com/services/abc",
            "ftp://x/y",
            "not a url",
        ] {
            assert!(
                telemetry_of(&[], &["--notify-webhook", bad]).is_err(),
                "{bad}"
            );
        }
        for ok in [
            "https://hooks.example.com/services/T1/B2/config-unit-secret",
            "http://127.0.0.1:9/hook",
            "http://localhost:9/hook",
        ] {
            assert!(
                telemetry_of(&[], &["--notify-webhook", ok])
                    .unwrap()
                    .is_some(),
                "{ok}"
            );
        }
        assert_eq!(
            crate::secret::registry().redact("at services/T1/B2/config-unit-secret"),
            "at ***"
        );
    }
}
