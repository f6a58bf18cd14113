//! `ecr-login login`: CI identity -> role -> ECR tokens -> auth file, in one process.
//! Wires `identity`, `aws/`, `docker/` and the platform's hand-off together; holds no logic of
//! its own beyond the order of steps.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use crate::aws::{self, ecr::RegistryToken, regions, registry::Registry};
use crate::cache::{Entry, FileCache, Lookup, TokenKey};
use crate::config::{LoginConfig, RegistryRequest};
use crate::config_file::Rule;
use crate::docker::{self, helper};
use crate::error::AuthFileError;
use crate::error::{Error, HandoffError, UsageError};
use crate::id_token::TokenSource;
use crate::identity;
use crate::identity::{Base, Plan};
use crate::output::{Printer, Report};
use crate::platform::{self, Handoff};

/// What a login did: the typed result behind the human lines and `--output json`.
#[derive(Debug, Serialize)]
pub struct LoginReport {
    pub platform: &'static str,
    /// The assumed role's ARN; `null` with the credential chain's own credentials.
    pub identity: Option<String>,
    pub auth_file: PathBuf,
    pub registries: Vec<RegistryLogin>,
}

/// One registry logged in to.
#[derive(Debug, Serialize)]
pub struct RegistryLogin {
    pub registry: String,
    /// `null` for ECR Public.
    pub region: Option<String>,
    pub username: String,
    /// RFC 3339.
    pub expires_at: Option<String>,
}

impl Report for LoginReport {
    fn human(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .registries
            .iter()
            .map(|r| {
                let expiry = r
                    .expires_at
                    .as_ref()
                    .map(|e| format!(" (token expires {e})"))
                    .unwrap_or_default();
                format!("Logged in to {}{expiry}", r.registry)
            })
            .collect();
        if let Some(id) = &self.identity {
            lines.push(format!("  as {id}"));
        }
        lines.push(format!("  auth file: {}", self.auth_file.display()));
        lines
    }
}

/// Runs the login and prints its result.
pub async fn run(cfg: &LoginConfig, printer: &Printer) -> Result<(), Error> {
    let platform = cfg.platform.as_ref();
    // Before any secret is fetched, so that every one of them is masked as soon as it is seen.
    platform.install_masking(*printer);
    tracing::info!("platform: {}", platform.name());

    let (region, registries) = resolve_registries(cfg).await?;
    let cache = cfg
        .cache
        .as_ref()
        .and_then(|c| FileCache::open(&c.dir, c.margin));
    let keys = match (&cache, cfg.identity.cache_key()) {
        (Some(_), Some(identity)) if registries.is_empty() => region
            .as_deref()
            .map(|r| vec![TokenKey::own_registry(&identity, r)])
            .unwrap_or_default(),
        (Some(_), Some(identity)) => registries
            .iter()
            .map(|r| TokenKey::new(&identity, r))
            .collect(),
        _ => Vec::new(),
    };
    let cached: Vec<Lookup> = match &cache {
        Some(c) => keys.iter().map(|k| c.get(k)).collect(),
        None => Vec::new(),
    };
    let all_fresh = !cached.is_empty() && cached.iter().all(|l| matches!(l, Lookup::Fresh(_)));
    let all_valid = !cached.is_empty() && cached.iter().all(|l| !matches!(l, Lookup::Miss));

    let (mut tokens, identity) = if all_fresh {
        tracing::info!("every token came from the cache: no AWS call");
        from_cache(&cached, &registries, region.as_deref())
    } else {
        match fetch(cfg, &region, &registries).await {
            Ok((tokens, arn)) => {
                if let Some(c) = &cache {
                    for (i, key) in keys.iter().enumerate() {
                        // The token of this key's registry (the only one for the own registry).
                        let token = match registries.get(i) {
                            Some(r) => tokens.iter().find(|t| t.host == r.host()),
                            None => tokens.first(),
                        };
                        if let Some((t, expires_at)) =
                            token.and_then(|t| t.expires_at.map(|e| (t, e)))
                        {
                            c.put(
                                key,
                                &Entry {
                                    registry: t.host.clone(),
                                    username: t.username.clone(),
                                    password: t.password.clone(),
                                    expires_at,
                                    identity: arn.clone(),
                                },
                            );
                        }
                    }
                }
                (tokens, arn)
            }
            Err(e) if all_valid => {
                printer.warn(&format!(
                    "refreshing the cached tokens failed ({e}); the cached ones are still valid and are used"
                ));
                from_cache(&cached, &registries, region.as_deref())
            }
            Err(e) => return Err(e),
        }
    };
    if cfg.dual_stack {
        tokens = with_dual_stack(tokens);
    }

    let logins: Vec<docker::Login<'_>> = tokens
        .iter()
        .map(|t| docker::Login {
            host: &t.host,
            username: &t.username,
            password: &t.password,
        })
        .collect();
    let hosts: Vec<&str> = tokens.iter().map(|t| t.host.as_str()).collect();
    match &cfg.helper_mode {
        None => docker::config::store_logins(&cfg.docker_config, &logins)?,
        Some(mode) => {
            // The tokens just fetched sit in the cache, where the helper finds them.
            check_helper_program(&mode.path)?;
            let rule = helper_rule(&cfg.identity)?;
            if rule.role_arn.is_some() || rule.profile.is_some() {
                docker::config::ensure_dir(&cfg.docker_config)?;
                let rules: Vec<Rule> = hosts
                    .iter()
                    .map(|h| Rule {
                        pattern: h.to_string(),
                        ..rule.clone()
                    })
                    .collect();
                crate::config_file::upsert(
                    &cfg.docker_config.join(crate::config_file::DOCKER_DIR_FILE),
                    &rules,
                )?;
            }
            docker::config::use_helper(&cfg.docker_config, &hosts, HELPER_NAME)?;
        }
    }

    platform.hand_off(&Handoff {
        registries: hosts.clone(),
        credentials: cfg.output_credentials.then(|| {
            tokens
                .iter()
                .map(|t| (t.host.as_str(), t.username.as_str(), &t.password))
                .collect()
        }),
    })?;
    if let Some(path) = &cfg.env_file {
        write_env_file(path, &hosts)?;
    }

    printer.report(&LoginReport {
        platform: platform.name(),
        identity,
        auth_file: docker::config::config_path(&cfg.docker_config),
        registries: tokens
            .iter()
            .map(|t| RegistryLogin {
                registry: t.host.clone(),
                region: t.region.clone(),
                username: t.username.clone(),
                expires_at: t.expires_at.map(rfc3339),
            })
            .collect(),
    });
    Ok(())
}

/// The identity's credentials, then every registry's token: the part that talks to AWS.
async fn fetch(
    cfg: &LoginConfig,
    region: &Option<String>,
    registries: &[Registry],
) -> Result<(Vec<RegistryToken>, Option<String>), Error> {
    let sts_region = region
        .clone()
        .or_else(|| {
            registries.iter().find_map(|r| match r {
                Registry::Private { region, .. } => Some(region.clone()),
                Registry::Public { .. } => None,
            })
        })
        .unwrap_or_else(|| "us-east-1".to_string());
    let sdk = aws::sdk_config(&sts_region, cfg.identity.profile.as_deref()).await;
    let who = identity::credentials(&cfg.identity, cfg.platform.as_ref(), &sdk).await?;
    if let Some(arn) = &who.arn {
        tracing::info!("acting as {arn}");
    }
    let tokens = aws::ecr::tokens(
        &sdk,
        Some(&who.credentials),
        registries,
        region.as_deref(),
        who.arn.as_deref(),
    )
    .await?;
    Ok((tokens, who.arn))
}

/// The logins the cache holds (every lookup is a hit), in the order asked for.
fn from_cache(
    cached: &[Lookup],
    registries: &[Registry],
    region: Option<&str>,
) -> (Vec<RegistryToken>, Option<String>) {
    let mut identity = None;
    let tokens = cached
        .iter()
        .enumerate()
        .filter_map(|(i, l)| match l {
            Lookup::Fresh(e) | Lookup::Stale(e) => Some((i, e)),
            Lookup::Miss => None,
        })
        .map(|(i, e)| {
            identity = identity.clone().or(e.identity.clone());
            RegistryToken {
                host: e.registry.clone(),
                region: match registries.get(i) {
                    Some(Registry::Private { region, .. }) => Some(region.clone()),
                    Some(Registry::Public { .. }) => None,
                    None => region.map(str::to_string),
                },
                username: e.username.clone(),
                password: e.password.clone(),
                expires_at: Some(e.expires_at),
            }
        })
        .collect();
    (tokens, identity)
}

/// The region (the one given, else the AWS profile's when something needs one) and the
/// registries with every account id placed in it.
async fn resolve_registries(cfg: &LoginConfig) -> Result<(Option<String>, Vec<Registry>), Error> {
    let needs_region = cfg.registries.is_empty()
        || cfg
            .registries
            .iter()
            .any(|r| matches!(r, RegistryRequest::Account(_)));
    let mut region = cfg.region.clone();
    if region.is_none() && needs_region {
        // Reads ~/.aws/config only: no instance metadata lookup, so it costs nothing off EC2.
        region = aws::profile_region().await;
        if let Some(r) = &region {
            regions::check(r, cfg.allow_unknown_region)?;
        }
    }
    if needs_region && region.is_none() {
        return Err(UsageError::NoRegion.into());
    }
    let registries = cfg
        .registries
        .iter()
        .map(|r| match (r, region.as_deref()) {
            (RegistryRequest::Registry(r), _) => Ok(r.clone()),
            (RegistryRequest::Account(a), Some(region)) => Ok(Registry::private(a, region)),
            (RegistryRequest::Account(_), None) => Err(UsageError::NoRegion),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((region, registries))
}

/// `tokens` and, after each, the same login for the registry's dual-stack (IPv6) host.
fn with_dual_stack(tokens: Vec<RegistryToken>) -> Vec<RegistryToken> {
    let mut out = Vec::with_capacity(tokens.len() * 2);
    for t in tokens {
        let dual = crate::aws::registry::parse(&t.host, t.region.as_deref(), true)
            .ok()
            .and_then(|r| r.dual_stack_host())
            .filter(|h| *h != t.host);
        let copy = dual.map(|host| RegistryToken { host, ..t.clone() });
        out.push(t);
        if let Some(c) = copy {
            if !out.iter().any(|o| o.host == c.host) {
                out.push(c);
            }
        }
    }
    out
}

/// What credHelpers names: Docker runs `docker-credential-<this>`.
const HELPER_NAME: &str = "ecr-login";

/// The identity the helper must use for these registries, as a per-registry rule (written
/// beside config.json): the role and where its token comes from, or the profile.
fn helper_rule(plan: &Plan) -> Result<Rule, Error> {
    if !plan.hops.is_empty()
        || plan.session.inline_policy.is_some()
        || !plan.session.managed_policies.is_empty()
    {
        return Err(UsageError::Other(
            "--mode helper cannot hand chained roles or session policies to the credential helper: log in with --mode tokens, or name one role".into(),
        )
        .into());
    }
    let mut rule = Rule {
        profile: plan.profile.clone(),
        ..Rule::default()
    };
    match &plan.base {
        Base::Chain => {}
        Base::AssumeRole { role } => rule.role_arn = Some(role.clone()),
        Base::WebIdentity { role, token } => {
            rule.role_arn = Some(role.clone());
            match token {
                TokenSource::File(p) => rule.web_identity_token_file = Some(p.clone()),
                TokenSource::Platform { audience, .. } => rule.audience = audience.clone(),
                TokenSource::Value(_) => {}
            }
        }
    }
    Ok(rule)
}

/// `--mode helper` works only if Docker's `docker-credential-ecr-login` is this binary: it is,
/// or it is made beside this binary when that directory is on PATH and nothing else answers
/// to the name.
fn check_helper_program(path: &[PathBuf]) -> Result<(), AuthFileError> {
    let exe = std::env::current_exe()
        .and_then(|e| e.canonicalize())
        .map_err(|e| AuthFileError::Read {
            path: PathBuf::from("/proc/self/exe"),
            source: e,
        })?;
    let found = path
        .iter()
        .map(|d| d.join(helper::PROGRAM))
        .find(|p| p.is_file());
    match found {
        Some(p) if p.canonicalize().is_ok_and(|c| c == exe) => Ok(()),
        Some(p) => Err(AuthFileError::HelperProgram {
            found: Some(p),
            exe,
        }),
        None => {
            let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
            let on_path = path
                .iter()
                .any(|d| d.canonicalize().is_ok_and(|c| c == dir));
            if on_path && link(&exe, &dir.join(helper::PROGRAM)).is_ok() {
                tracing::info!(
                    "made {} -> {}",
                    dir.join(helper::PROGRAM).display(),
                    exe.display()
                );
                return Ok(());
            }
            Err(AuthFileError::HelperProgram { found: None, exe })
        }
    }
}

#[cfg(unix)]
fn link(target: &Path, at: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

#[cfg(not(unix))]
fn link(target: &Path, at: &Path) -> std::io::Result<()> {
    std::fs::copy(target, at).map(|_| ())
}

/// `--env-file`: the non-secret results as `KEY=value` lines, the same on every platform.
fn write_env_file(path: &Path, hosts: &[&str]) -> Result<(), HandoffError> {
    platform::append_env_file(
        path,
        &platform::handoff_vars(hosts),
        platform::EnvFormat::Dotenv,
    )
    .map_err(|e| HandoffError {
        what: "--env-file",
        path: path.to_path_buf(),
        source: e,
    })
}

fn rfc3339(t: SystemTime) -> String {
    aws_smithy_types::DateTime::from(t)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}
