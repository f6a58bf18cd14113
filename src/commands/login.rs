//! `ecr-login login`: CI identity -> role -> ECR tokens -> auth files, in one process.
//! Wires `identity`, `aws/`, `docker/` and the platform's hand-off together; holds no logic of
//! its own beyond the order of steps. With `--watch` it stays running and logs in again before
//! the tokens expire, until SIGTERM or SIGINT.

use crate::aws::registry::RegistryRequest;
use crate::cache;
use crate::docker::auth_files::Locations;
use crate::platform::Platform;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::aws::{self, ecr::RegistryToken, regions, registry::Registry};
use crate::cache::{Cache, Keys, Lookup, Target};
use crate::commands::fetch;
use crate::config_file::Rule;
use crate::docker::{self, helper};
use crate::error::AuthFileError;
use crate::error::{Error, HandoffError, UsageError};
use crate::id_token::TokenSource;
use crate::identity::{Base, Plan};
use crate::output::{rfc3339, Printer, Report};
use crate::platform::{self, Handoff};

/// `login --mode helper`'s settings.
#[derive(Debug)]
pub(crate) struct HelperMode {
    /// The directories of `PATH`, to check that `docker-credential-ecr-login` is this binary.
    pub path: Vec<PathBuf>,
}

/// `login`'s settings.
#[derive(Debug)]
pub(crate) struct LoginConfig {
    /// The CI platform, detected or named; resolved once.
    pub platform: Box<dyn Platform>,
    /// Which identity to log in as.
    pub identity: Plan,
    /// `--region` / `AWS_REGION` / `AWS_DEFAULT_REGION`; else the profile's, found at run time.
    pub region: Option<String>,
    pub allow_unknown_region: bool,
    /// Empty: the caller's own registry in the region.
    pub registries: Vec<RegistryRequest>,
    /// Also write each registry's dual-stack host.
    pub dual_stack: bool,
    /// The directory holding Docker's `config.json`.
    pub docker_config: PathBuf,
    /// `--env-file`: `KEY=value` lines for later steps, on every platform.
    pub env_file: Option<PathBuf>,
    pub output_credentials: bool,
    /// The token cache; `None`: no cache.
    pub cache: Option<cache::Settings>,
    /// `--mode helper`: write credHelpers entries, not tokens.
    pub helper_mode: Option<HelperMode>,
    /// `--output dockerconfigjson`: print the logins as an `imagePullSecret`'s
    /// `.dockerconfigjson` document on stdout, and write no auth file.
    pub dockerconfigjson: bool,
    /// Every auth file to keep in step: Docker's, Podman's, `--auth-file` (boxed: it is large
    /// next to the other commands' settings).
    pub auth_files: Box<Locations>,
    /// `--watch`: log in again this long before the tokens expire, until a signal ends it.
    pub watch: Option<Duration>,
}

/// What a login did: the typed result behind the human lines and `--output json`.
#[derive(Debug, Serialize)]
pub(crate) struct LoginReport {
    pub platform: &'static str,
    /// The assumed role's ARN; `null` with the credential chain's own credentials.
    pub identity: Option<String>,
    pub auth_file: PathBuf,
    pub registries: Vec<RegistryLogin>,
    /// The other auth files kept in step (Podman's, `--auth-file`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_auth_files: Vec<PathBuf>,
}

/// One registry logged in to.
#[derive(Debug, Serialize)]
pub(crate) struct RegistryLogin {
    pub registry: String,
    /// `null` for ECR Public.
    pub region: Option<String>,
    pub username: String,
    /// RFC 3339.
    pub expires_at: Option<String>,
}

/// `--output dockerconfigjson`: the `.dockerconfigjson` document of a Kubernetes
/// `imagePullSecret` (type `kubernetes.io/dockerconfigjson`), the logins and nothing else.
#[derive(Debug, Serialize)]
pub(crate) struct DockerConfigJson {
    pub auths: std::collections::BTreeMap<String, DockerAuth>,
}

/// One registry's entry: the kubelet reads `auth` (base64 `user:password`), other readers the
/// username and password.
#[derive(Debug, Serialize)]
pub(crate) struct DockerAuth {
    pub username: String,
    pub password: String,
    pub auth: String,
}

impl DockerConfigJson {
    fn new(tokens: &[RegistryToken]) -> DockerConfigJson {
        use base64::Engine;
        let auths = tokens
            .iter()
            .map(|t| {
                let password = t.password.expose().to_string();
                let auth = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{password}", t.username));
                // Registered (and masked on CI) like the password it encodes.
                let _ = crate::secret::Secret::new(auth.clone());
                let entry = DockerAuth {
                    username: t.username.clone(),
                    password,
                    auth,
                };
                (t.host.clone(), entry)
            })
            .collect();
        DockerConfigJson { auths }
    }
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
        for f in &self.other_auth_files {
            lines.push(format!("  also in: {}", f.display()));
        }
        lines
    }
}

/// Runs the login and prints its result; with `--watch`, again before every expiry.
pub(crate) async fn run(cfg: &LoginConfig, printer: &Printer) -> Result<(), Error> {
    let platform = cfg.platform.as_ref();
    // Before any secret is fetched, so that every one of them is masked as soon as it is seen.
    platform.install_masking(*printer);
    tracing::info!("platform: {}", platform.name());
    match cfg.watch {
        Some(margin) => watch(cfg, margin, printer).await,
        None => login(cfg, printer, true).await.map(|_| ()),
    }
}

/// What one login left behind, for the watch loop.
#[derive(Debug, Clone, Copy)]
struct Round {
    /// When the first of its tokens expires.
    expires_at: Option<SystemTime>,
    /// The refresh failed and the cached tokens (still valid) were written instead.
    kept_stale: bool,
}

/// One login, printed; `hand_off`: also hand the results to later steps (once per process).
async fn login(cfg: &LoginConfig, printer: &Printer, hand_off: bool) -> Result<Round, Error> {
    let platform = cfg.platform.as_ref();
    let mut kept_stale = false;
    let (region, registries) = resolve_registries(cfg).await?;
    let cache = match &cfg.cache {
        Some(settings) => Cache::open(settings)?,
        None => None,
    };
    let targets: Vec<Target> = if registries.is_empty() {
        region
            .iter()
            .map(|r| Target::Own { region: r.clone() })
            .collect()
    } else {
        registries.iter().cloned().map(Target::Registry).collect()
    };
    let local = cache.as_ref().and_then(|_| cfg.identity.local_key());
    let mut keys: Vec<Keys> = targets
        .into_iter()
        .map(|t| Keys::new(t, local.as_ref()))
        .collect();
    let mut cached: Vec<Lookup> = match &cache {
        Some(c) => keys.iter().map(|k| c.get_local(k)).collect(),
        None => Vec::new(),
    };
    let all_fresh = |cached: &[Lookup]| {
        !cached.is_empty() && cached.iter().all(|l| matches!(l, Lookup::Fresh(_)))
    };

    let (mut tokens, identity) = if all_fresh(&cached) {
        tracing::info!("every token came from the cache: no AWS call");
        from_cache(&cached, &registries, region.as_deref())
    } else {
        match fetch(
            cfg,
            &region,
            &registries,
            cache.as_ref(),
            &mut keys,
            &mut cached,
        )
        .await
        {
            Ok(Fetched::FromFleet) => {
                tracing::info!("every token came from the cache: no AWS call");
                from_cache(&cached, &registries, region.as_deref())
            }
            Ok(Fetched::Tokens(tokens, arn)) => (tokens, arn),
            Err(e) if !cached.is_empty() && cached.iter().all(|l| !matches!(l, Lookup::Miss)) => {
                printer.warn(&format!(
                    "refreshing the cached tokens failed ({e}); the cached ones are still valid and are used"
                ));
                kept_stale = true;
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
    let mut auth_files = Vec::new();
    match &cfg.helper_mode {
        // With --output dockerconfigjson the document on stdout is the result: writing
        // config.json as well would surprise someone piping it into `kubectl create secret`.
        None if cfg.dockerconfigjson => {}
        None => {
            auth_files = cfg.auth_files.to_write();
            docker::auth_files::store_logins(&auth_files, &logins)?;
        }
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

    if hand_off {
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
    }

    let round = Round {
        expires_at: tokens.iter().filter_map(|t| t.expires_at).min(),
        kept_stale,
    };
    if cfg.dockerconfigjson {
        printer.protocol(&DockerConfigJson::new(&tokens));
        return Ok(round);
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
        other_auth_files: auth_files
            .into_iter()
            .filter(|f| !f.docker)
            .map(|f| f.path)
            .collect(),
    });
    Ok(round)
}

/// How long ECR tokens live, when an answer does not say.
const TOKEN_LIFE: Duration = Duration::from_secs(12 * 3600);
/// The first retry after a failed refresh; each next one waits twice as long, up to the cap.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_CAP: Duration = Duration::from_secs(300);
/// Never log in again sooner than this after a login (a token that lives only seconds).
const MIN_WAIT: Duration = Duration::from_secs(1);

/// `--watch`: logs in, then again `margin` before the tokens expire (half-way through a life
/// shorter than twice the margin), until SIGTERM or SIGINT (exit 0). A failed refresh is
/// reported and retried with backoff while the current tokens are valid; once they have
/// expired the last error ends the process (a supervisor restarts it). The first login
/// failing ends it at once.
async fn watch(cfg: &LoginConfig, margin: Duration, printer: &Printer) -> Result<(), Error> {
    let mut stop = Stop::install()?;
    let mut valid_until: Option<SystemTime> = None;
    let mut failures: u32 = 0;
    let mut first = true;
    loop {
        let round = tokio::select! {
            r = login(cfg, printer, first) => r,
            signal = stop.wait() => return stopped(signal),
        };
        let now = SystemTime::now();
        let wait = match round {
            Ok(Round {
                expires_at,
                kept_stale: false,
            }) => {
                first = false;
                failures = 0;
                let expiry = expires_at.unwrap_or(now + TOKEN_LIFE);
                valid_until = Some(expiry);
                let wait = refresh_wait(now, expiry, margin);
                tracing::info!("next login in {} s", wait.as_secs());
                wait
            }
            outcome => {
                let reason = match outcome {
                    Ok(r) => {
                        first = false;
                        valid_until = r.expires_at.or(valid_until);
                        "the refresh failed".to_string()
                    }
                    Err(e) => match valid_until.filter(|t| *t > now) {
                        None => return Err(e),
                        Some(_) => format!("refreshing the logins failed ({e})"),
                    },
                };
                failures += 1;
                let left = valid_until
                    .and_then(|t| t.duration_since(now).ok())
                    .unwrap_or_default();
                let wait = retry_wait(failures)
                    .min(left)
                    .max(Duration::from_millis(100));
                printer.warn(&format!(
                    "{reason}; the current tokens are valid for {} s more; retrying in {} s",
                    left.as_secs(),
                    wait.as_secs_f32().ceil()
                ));
                wait
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            signal = stop.wait() => return stopped(signal),
        }
    }
}

/// How long to wait after a login whose first token expires at `expiry`: until `margin`
/// before it, or half-way through a remaining life shorter than twice the margin.
fn refresh_wait(now: SystemTime, expiry: SystemTime, margin: Duration) -> Duration {
    let life = expiry.duration_since(now).unwrap_or_default();
    let lead = margin.min(life / 2);
    (life - lead).max(MIN_WAIT)
}

/// The wait before retry number `n` (1, 2, ...): doubling from [`RETRY_FIRST`], capped.
fn retry_wait(n: u32) -> Duration {
    RETRY_FIRST
        .saturating_mul(2u32.saturating_pow(n.saturating_sub(1)))
        .min(RETRY_CAP)
}

fn stopped(signal: &'static str) -> Result<(), Error> {
    tracing::info!("{signal}: stopping; the auth files keep the last logins");
    Ok(())
}

/// The signals that end `--watch`, listened for from the start (so that one arriving during
/// the first login is not lost, and does not kill the process half-way).
struct Stop {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
}

impl Stop {
    fn install() -> Result<Stop, Error> {
        let fail = |e: std::io::Error| Error::Internal(format!("cannot listen for signals: {e}"));
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Stop {
                term: signal(SignalKind::terminate()).map_err(fail)?,
                int: signal(SignalKind::interrupt()).map_err(fail)?,
            })
        }
        #[cfg(windows)]
        {
            Ok(Stop {
                ctrl_c: tokio::signal::windows::ctrl_c().map_err(fail)?,
            })
        }
    }

    /// The name of the signal, once one arrives.
    async fn wait(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(windows)]
        {
            self.ctrl_c.recv().await;
            "Ctrl-C"
        }
    }
}

/// What [`fetch`] brought.
enum Fetched {
    /// The fleet cache had every token (now in `cached`): no AWS call.
    FromFleet,
    /// The tokens, fetched (and cached), and the identity they were issued to.
    Tokens(Vec<RegistryToken>, Option<String>),
}

/// The fleet cache, once the identity is proven, for what the files did not have fresh;
/// then the identity's credentials and every registry's token: the part that talks to AWS.
async fn fetch(
    cfg: &LoginConfig,
    region: &Option<String>,
    registries: &[Registry],
    cache: Option<&Cache>,
    keys: &mut [Keys],
    cached: &mut [Lookup],
) -> Result<Fetched, Error> {
    let sts_region = region
        .clone()
        .or_else(|| {
            registries.iter().find_map(|r| match r {
                Registry::Private { region, .. } => Some(region.clone()),
                Registry::Public { .. } => None,
            })
        })
        .unwrap_or_else(|| "us-east-1".to_string());
    let plan = &cfg.identity;
    let platform = cfg.platform.as_ref();
    let mut proven = None;
    if let Some(c) = cache {
        proven = fetch::prove(c, plan, platform, &sts_region, keys).await?;
        if proven.is_some() {
            let fleet = futures::future::join_all(keys.iter().zip(cached.iter()).map(
                |(k, l)| async move {
                    match l {
                        Lookup::Fresh(_) => None,
                        _ => Some(c.get_fleet(k).await),
                    }
                },
            ))
            .await;
            for (slot, found) in cached.iter_mut().zip(fleet) {
                if let Some(fresh @ Lookup::Fresh(_)) = found {
                    *slot = fresh;
                }
            }
            if cached.iter().all(|l| matches!(l, Lookup::Fresh(_))) {
                return Ok(Fetched::FromFleet);
            }
        }
    }
    let (tokens, who) = fetch::tokens(
        plan,
        platform,
        registries,
        region.as_deref(),
        &sts_region,
        proven,
    )
    .await?;
    if let Some(c) = cache {
        let entries: Vec<_> = keys
            .iter()
            .enumerate()
            .filter_map(|(i, key)| {
                // The token of this key's registry (the only one for the own registry).
                let token = match registries.get(i) {
                    Some(r) => tokens.iter().find(|t| t.host == r.host()),
                    None => tokens.first(),
                }?;
                Some((key, fetch::entry(token, &who)?))
            })
            .collect();
        futures::future::join_all(entries.iter().map(|(k, e)| c.put(k, e))).await;
    }
    Ok(Fetched::Tokens(tokens, who.arn))
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
                // The host asked for (the cache admitted the entry only for it); for the own
                // registry, the entry's, checked to be an ECR host of its account and region.
                host: registries
                    .get(i)
                    .map(|r| r.host().to_string())
                    .unwrap_or_else(|| e.registry.clone()),
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
            if on_path && crate::fs::link_program(&exe, &dir.join(helper::PROGRAM)).is_ok() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_login_is_at_the_margin_or_half_way_through_a_short_life() {
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);
        assert_eq!(refresh_wait(now, now + hour * 12, hour), hour * 11);
        assert_eq!(
            refresh_wait(now, now + Duration::from_secs(4), hour),
            Duration::from_secs(2)
        );
        // Already expired, or about to: never a busy loop.
        assert_eq!(refresh_wait(now, now, hour), MIN_WAIT);
        assert_eq!(refresh_wait(now, now - hour, hour), MIN_WAIT);
    }

    #[test]
    fn retries_back_off_to_a_cap() {
        let waits: Vec<u64> = (1..=12).map(|n| retry_wait(n).as_secs()).collect();
        assert_eq!(waits[..5], [1, 2, 4, 8, 16]);
        assert_eq!(waits[11], RETRY_CAP.as_secs());
        assert_eq!(retry_wait(u32::MAX), RETRY_CAP);
    }
}
