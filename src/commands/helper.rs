//! `ecr-login credential-helper` (and the binary run as `docker-credential-ecr-login`): the
//! Docker credential-helper protocol, served from the token cache.
//!
//! A `get` on a cache hit makes no network call of any kind and starts no async runtime: the
//! identity is planned from the environment (and the per-registry rules), its cache key looked
//! up, the entry printed. A miss takes the key's lock (concurrent `get`s for one registry fetch
//! once), fetches the token like `login` does, caches it and prints it. A failure on an ECR
//! host is never a silent "not found": the one-line error goes to stdout (Docker shows it) and
//! the cause and fix to stderr.

use std::io::Read;
use std::time::SystemTime;

use crate::aws::{self, registry::Registry};
use crate::cache::{Cache, Entry, FileCache, Lookup, TokenKey};
use crate::config::HelperConfig;
use crate::config_file::ConfigFile;
use crate::docker::helper::{self, Action, Credentials, NOT_FOUND};
use crate::error::{Error, UsageError};
use crate::identity::{self, Plan};
use crate::output::Printer;

/// How a helper run ended, for the exit code: the protocol's "not found" is not an error.
pub enum Outcome {
    Done,
    /// Printed [`NOT_FOUND`]: exit 1, nothing on stderr.
    NotFound,
}

/// Runs one helper action with `input` as its stdin.
pub fn run(cfg: &HelperConfig, printer: &Printer, input: &mut dyn Read) -> Result<Outcome, Error> {
    match cfg.action {
        Action::Version => {
            printer.protocol_text(&format!("ecr-login {}", env!("CARGO_PKG_VERSION")));
            Ok(Outcome::Done)
        }
        Action::List => {
            list(cfg, printer);
            Ok(Outcome::Done)
        }
        Action::Store => {
            let text = read(input)?;
            let request: helper::StoreRequest = serde_json::from_str(&text).map_err(|e| {
                UsageError::Other(format!("`store` expects Docker's JSON on stdin: {e}"))
            })?;
            accept_as_no_op(&request.server_url, "store")
        }
        Action::Erase => {
            let text = read(input)?;
            accept_as_no_op(&text, "erase")
        }
        Action::Get => {
            let server_url = read(input)?;
            let server_url = server_url.trim();
            let Ok(registry) = aws::registry::parse(&helper::host_of(server_url), None, true)
            else {
                printer.protocol_text(NOT_FOUND);
                return Ok(Outcome::NotFound);
            };
            get(cfg, printer, server_url, &registry)?;
            Ok(Outcome::Done)
        }
    }
}

fn read(input: &mut dyn Read) -> Result<String, Error> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|e| UsageError::Other(format!("cannot read the request on stdin: {e}")))?;
    Ok(text)
}

/// `store` and `erase`: ECR logins come from AWS, so there is nothing to keep; succeeding keeps
/// `docker login`/`logout` to a host served by this helper from failing.
fn accept_as_no_op(server_url: &str, action: &str) -> Result<Outcome, Error> {
    let host = helper::host_of(server_url);
    if aws::registry::parse(&host, None, true).is_ok() {
        tracing::debug!("{action} for {host}: nothing to do, ECR tokens come from AWS");
        return Ok(Outcome::Done);
    }
    Err(UsageError::Other(format!(
        "ecr-login only serves Amazon ECR registries, not {host:?}: it cannot {action} that login (point credHelpers at ecr-login for ECR hosts only)"
    ))
    .into())
}

/// `list`: the cached logins that are still valid, `{"<host>": "AWS"}`. Offline.
fn list(cfg: &HelperConfig, printer: &Printer) {
    let now = SystemTime::now();
    let entries = cfg
        .cache
        .as_ref()
        .and_then(|c| FileCache::open(c.dir.as_ref()?, c.margin))
        .map(|c| c.entries())
        .unwrap_or_default();
    let map: serde_json::Map<String, serde_json::Value> = entries
        .into_iter()
        .filter(|e| e.expires_at > now)
        .map(|e| (e.registry, serde_json::Value::String(e.username)))
        .collect();
    printer.protocol(&map);
}

fn get(
    cfg: &HelperConfig,
    printer: &Printer,
    server_url: &str,
    registry: &Registry,
) -> Result<(), Error> {
    let platform = cfg.planner.platform();
    platform.install_masking(*printer);
    let plan = plan_for(cfg, registry)?;
    let cache = match &cfg.cache {
        Some(settings) => Cache::open(settings)?,
        None => None,
    };
    let key = plan.cache_key().map(|k| TokenKey::new(&k, registry));
    let answer = |e: &Entry| {
        printer.protocol(&Credentials {
            server_url,
            username: &e.username,
            secret: e.password.expose(),
        })
    };

    let (Some(cache), Some(key)) = (cache, key) else {
        let entry = crate::block_on(fetch(cfg, &plan, registry))??;
        answer(&entry);
        return Ok(());
    };
    // A fresh entry in this machine's files: no runtime, no network.
    if let Lookup::Fresh(e) = cache.get_local(&key) {
        answer(&e);
        return Ok(());
    }
    // Single flight: whoever holds the lock fetches; the others find its entry.
    let _lock = cache.lock(&key);
    if let Lookup::Fresh(e) = cache.get_local(&key) {
        answer(&e);
        return Ok(());
    }
    // The async runtime starts here: the fleet cache, then AWS.
    let entry = crate::block_on(async {
        let stale = match cache.get(&key).await {
            Lookup::Fresh(e) => return Ok(e),
            Lookup::Stale(e) => Some(e),
            Lookup::Miss => None,
        };
        match fetch(cfg, &plan, registry).await {
            Ok(entry) => {
                cache.put(&key, &entry).await;
                Ok(entry)
            }
            Err(e) => match stale {
                Some(old) => {
                    printer.warn(&format!(
                        "refreshing the token for {} failed, serving the cached one (still valid): {e}",
                        registry.host()
                    ));
                    Ok(old)
                }
                None => Err(e),
            },
        }
    })??;
    answer(&entry);
    Ok(())
}

/// The plan for `registry`: the first per-registry rule that covers it, else the settings.
fn plan_for(cfg: &HelperConfig, registry: &Registry) -> Result<Plan, Error> {
    for path in &cfg.config_files {
        let file = ConfigFile::load(path)?;
        if let Some(rule) = file.rule_for(registry) {
            tracing::debug!(
                "{}: {} matches {}",
                path.display(),
                rule.pattern,
                registry.host()
            );
            return cfg.planner.plan(Some(rule));
        }
    }
    cfg.planner.plan(None)
}

/// One registry's token, fetched like `login` fetches it.
async fn fetch(cfg: &HelperConfig, plan: &Plan, registry: &Registry) -> Result<Entry, Error> {
    let region = match registry {
        Registry::Private { region, .. } => region.clone(),
        Registry::Public { .. } => "us-east-1".to_string(),
    };
    let sdk = aws::sdk_config(&region, plan.profile.as_deref()).await;
    let who = identity::credentials(plan, cfg.planner.platform(), &sdk).await?;
    let tokens = aws::ecr::tokens(
        &sdk,
        Some(&who.credentials),
        std::slice::from_ref(registry),
        Some(&region),
        who.arn.as_deref(),
    )
    .await?;
    let token = tokens.into_iter().next().ok_or_else(|| {
        Error::Internal(format!(
            "ECR answered with no token for {}",
            registry.host()
        ))
    })?;
    Ok(Entry {
        registry: token.host,
        username: token.username,
        password: token.password,
        expires_at: token
            .expires_at
            .unwrap_or_else(|| SystemTime::now() + std::time::Duration::from_secs(3600)),
        identity: who.arn,
    })
}
