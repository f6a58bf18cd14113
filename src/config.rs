//! The command line and the environment, checked and resolved once into a [`Config`]. Every
//! input error is found here, before any network call or file write, and reported with what
//! was expected.

use std::path::PathBuf;

use crate::aws::regions;
use crate::aws::registry::{self, Registry};
use crate::cli::{
    Access, Cli, Command, LoginArgs, LogoutArgs, OutputFormat, PolicyArgs, PolicyDocument,
};
use crate::env::Env;
use crate::error::{AuthFileError, Error, UsageError};

/// Everything a run needs, checked.
#[derive(Debug)]
pub struct Config {
    pub env: Env,
    pub task: Task,
    pub output: OutputFormat,
    pub quiet: bool,
    /// The tracing filter: from `-q`/`-v`, or `ECR_LOGIN_LOG`.
    pub log_filter: String,
}

/// What to do.
#[derive(Debug)]
pub enum Task {
    Login(LoginConfig),
    Logout(LogoutConfig),
    Policy(PolicyConfig),
}

/// `logout`'s settings.
#[derive(Debug)]
pub struct LogoutConfig {
    /// Empty: every ECR registry in the auth file.
    pub registries: Vec<Registry>,
    pub docker_config: PathBuf,
}

/// `policy`'s settings.
#[derive(Debug)]
pub struct PolicyConfig {
    pub platform: Option<String>,
    pub trust: crate::platform::TrustRequest,
    pub account: String,
    /// The ARN partition (`aws`, `aws-cn`, ...).
    pub partition: &'static str,
    pub region: Option<String>,
    /// Empty: every repository in the account.
    pub repositories: Vec<String>,
    pub access: Access,
    pub public: bool,
    pub only: Option<PolicyDocument>,
}

/// `login`'s settings.
#[derive(Debug)]
pub struct LoginConfig {
    /// `--platform`, if given (else detected).
    pub platform: Option<String>,
    pub role_arn: Option<String>,
    /// `--audience`; `None`: the platform's default.
    pub audience: Option<String>,
    pub platform_options: crate::platform::Options,
    /// `--role-session-name`, checked; else the platform's default.
    pub session_name: Option<String>,
    pub duration_seconds: i32,
    /// The region for account ids and the default registry.
    pub region: Option<String>,
    /// Empty: the caller's own registry in `region`.
    pub registries: Vec<Registry>,
    /// The directory holding Docker's `config.json`.
    pub docker_config: PathBuf,
    pub output_credentials: bool,
}

impl Config {
    pub async fn from_cli(cli: Cli, env: Env) -> Result<Config, Error> {
        let login_args = match cli.command {
            Some(Command::Login(args)) => args,
            Some(Command::Policy(args)) => {
                return Ok(Config::new(
                    env,
                    Task::Policy(policy_config(args)?),
                    &cli.output,
                ));
            }
            Some(Command::Logout(args)) => {
                let task = Task::Logout(logout_config(args, &env)?);
                return Ok(Config::new(env, task, &cli.output));
            }
            None => cli.login,
        };
        let task = Task::Login(login_config(login_args, &env).await?);
        Ok(Config::new(env, task, &cli.output))
    }

    fn new(env: Env, task: Task, output: &crate::cli::OutputArgs) -> Config {
        let log_filter = match env.get("ECR_LOGIN_LOG") {
            Some(f) => f.to_string(),
            None => match (output.quiet, output.verbose) {
                (true, _) => "error".into(),
                (false, 0) => "warn".into(),
                (false, 1) => "ecr_login=debug,info".into(),
                (false, 2) => "debug".into(),
                _ => "trace".into(),
            },
        };
        Config {
            env,
            task,
            output: output.output,
            quiet: output.quiet,
            log_filter,
        }
    }
}

async fn login_config(args: LoginArgs, env: &Env) -> Result<LoginConfig, Error> {
    let role_arn = match args.role_arn {
        Some(arn) => {
            check_role_arn(&arn)?;
            Some(arn.trim().to_string())
        }
        None if env.is_present("AWS_ROLE_ARN") => {
            // Set but empty: a CI variable that did not resolve. Say so rather than silently
            // falling back to other credentials.
            return Err(UsageError::RoleArn { arn: String::new() }.into());
        }
        None => None,
    };

    let allow_unknown = args.registries.allow_unknown_region;
    let mut region = args
        .registries
        .region
        .filter(|r| !r.trim().is_empty())
        .or_else(|| env.get("AWS_DEFAULT_REGION").map(str::to_string))
        .map(|r| r.trim().to_string());
    if let Some(r) = &region {
        regions::check(r, allow_unknown)?;
    }

    let inputs: Vec<&str> = args
        .registries
        .registries
        .as_deref()
        .map(|l| registry::split_list(l).collect())
        .unwrap_or_default();
    // Account ids and the default registry need a region: fall back to the profile's.
    let needs_region = inputs.is_empty()
        || inputs
            .iter()
            .any(|i| i.len() == 12 && i.bytes().all(|b| b.is_ascii_digit()));
    if region.is_none() && needs_region {
        region = crate::aws::profile_region().await;
        if let Some(r) = &region {
            regions::check(r, allow_unknown)?;
        }
    }
    let registries = inputs
        .iter()
        .map(|i| registry::parse(i, region.as_deref(), allow_unknown))
        .collect::<Result<Vec<_>, _>>()?;
    if registries.is_empty() && region.is_none() {
        return Err(UsageError::NoRegion.into());
    }

    let session_name = match args.role_session_name.filter(|n| !n.trim().is_empty()) {
        Some(n) => {
            let ok = (2..=64).contains(&n.len())
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
            if !ok {
                return Err(UsageError::SessionName { name: n }.into());
            }
            Some(n)
        }
        None => None,
    };
    if !(900..=43200).contains(&args.role_duration_seconds) {
        return Err(UsageError::Duration(args.role_duration_seconds).into());
    }

    let docker_config = docker_dir(args.auth_file.docker_config, env)?;

    let platform_options = crate::platform::Options {
        id_token_env: args.id_token_env.filter(|v| !v.trim().is_empty()),
        token_file: args
            .web_identity_token_file
            .filter(|p| !p.as_os_str().is_empty()),
        env_file: args
            .auth_file
            .env_file
            .filter(|p| !p.as_os_str().is_empty()),
    };
    if let Some(p) = args.platform.as_deref().filter(|p| !p.trim().is_empty()) {
        // Checked here so that a typo fails before anything else happens.
        crate::platform::by_name(env, p, &platform_options)?;
    }

    Ok(LoginConfig {
        platform: args.platform.filter(|p| !p.trim().is_empty()),
        role_arn,
        audience: args.audience.filter(|a| !a.trim().is_empty()),
        platform_options,
        session_name,
        duration_seconds: args.role_duration_seconds,
        region,
        registries,
        docker_config,
        output_credentials: args.auth_file.output_credentials,
    })
}

/// `--docker-config` / `DOCKER_CONFIG`, else `~/.docker`.
fn docker_dir(flag: Option<PathBuf>, env: &Env) -> Result<PathBuf, Error> {
    match flag {
        Some(d) if !d.as_os_str().is_empty() => Ok(d),
        _ => Ok(env
            .get("HOME")
            .map(|h| PathBuf::from(h).join(".docker"))
            .ok_or(AuthFileError::NoHome)?),
    }
}

fn logout_config(args: LogoutArgs, env: &Env) -> Result<LogoutConfig, Error> {
    let allow_unknown = args.registries.allow_unknown_region;
    let region = args
        .registries
        .region
        .filter(|r| !r.trim().is_empty())
        .or_else(|| env.get("AWS_DEFAULT_REGION").map(str::to_string));
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
    Ok(LogoutConfig {
        registries,
        docker_config: docker_dir(args.docker_config, env)?,
    })
}

fn policy_config(args: PolicyArgs) -> Result<PolicyConfig, Error> {
    let nonempty = |o: Option<String>| o.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let role_arn = nonempty(args.role_arn);
    if let Some(arn) = &role_arn {
        check_role_arn(arn)?;
    }
    let account = nonempty(args.account)
        .or_else(|| {
            role_arn
                .as_deref()
                .and_then(|a| a.split(':').nth(4))
                .map(str::to_string)
        })
        .ok_or_else(|| {
            UsageError::Other(
                "which account? pass --account 123456789012 (or --role-arn / AWS_ROLE_ARN)".into(),
            )
        })?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UsageError::Other(format!(
            "--account {account:?} is not a 12-digit account id"
        ))
        .into());
    }
    let region = nonempty(args.region);
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
    let repositories: Vec<String> = args
        .repositories
        .as_deref()
        .map(|l| registry::split_list(l).map(str::to_string).collect())
        .unwrap_or_default();
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
        platform: nonempty(args.platform),
        trust: crate::platform::TrustRequest {
            issuer: nonempty(args.issuer).map(|i| i.trim_end_matches('/').to_string()),
            audience: nonempty(args.audience),
            repo: nonempty(args.repo),
            git_ref: nonempty(args.git_ref),
            any_ref: args.any_ref,
            subject: nonempty(args.subject),
        },
        account,
        partition,
        region,
        repositories,
        access: args.access,
        public: args.public,
        only: args.only,
    })
}

/// `arn:<partition>:iam::<12 digits>:role/<optional path/><name>`.
fn check_role_arn(arn: &str) -> Result<(), UsageError> {
    let bad = || UsageError::RoleArn {
        arn: arn.to_string(),
    };
    let parts: Vec<&str> = arn.trim().splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return Err(bad());
    };
    let name = resource.strip_prefix("role/").ok_or_else(bad)?;
    let ok = prefix == "arn"
        && regions::PARTITIONS.iter().any(|p| p.arn == partition)
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && !name.ends_with('/')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-/".contains(c));
    ok.then_some(()).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
