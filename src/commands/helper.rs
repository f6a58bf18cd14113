//! `ecr-login credential-helper` (and the binary run as `docker-credential-ecr-login`): the
//! Docker credential-helper protocol, served from the token cache.
//!
//! A `get` on a cache hit makes no network call of any kind and starts no async runtime: the
//! identity is planned from the environment (and the per-registry rules), its cache key looked
//! up, the entry printed. A miss takes the key's lock (concurrent `get`s for one registry fetch
//! once), fetches the token like `login` does, caches it and prints it. A failure on an ECR
//! host is never a silent "not found": the one-line error goes to stdout (Docker shows it) and
//! the cause and fix to stderr.

use crate::cache;
use crate::identity;
use std::io::Read;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::aws::{self, registry::Registry};
use crate::cache::{Cache, FileCache, Keys, Local, Target, LOCK_WAIT};
use crate::commands::fetch;
use crate::config_file::ConfigFile;
use crate::docker::helper::{self, Action, Credentials, NOT_FOUND};
use crate::error::{AwsError, Error, UsageError};
use crate::identity::Plan;
use crate::output::Printer;

/// The credential helper's settings.
#[derive(Debug)]
pub(crate) struct HelperConfig {
    pub action: crate::docker::helper::Action,
    /// Plans the identity for the registry Docker asks about.
    pub planner: identity::Planner,
    pub cache: Option<cache::Settings>,
    /// Per-registry identity files, first match wins: the one `login --mode helper` wrote
    /// beside config.json, then the user's.
    pub config_files: Vec<PathBuf>,
    /// `AWS_ECR_IGNORE_CREDS_STORAGE=true` (amazon-ecr-credential-helper's): `store` and
    /// `erase` succeed, doing nothing, for every host.
    pub ignore_creds_storage: bool,
}

/// How a helper run ended, for the exit code: the protocol's "not found" is not an error.
pub(crate) enum Outcome {
    Done,
    /// Printed [`NOT_FOUND`]: exit 1, nothing on stderr.
    NotFound,
}

/// Runs one helper action with `input` as its stdin.
pub(crate) fn run(
    cfg: &HelperConfig,
    printer: &Printer,
    input: &mut dyn Read,
) -> Result<Outcome, Error> {
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
            if cfg.ignore_creds_storage {
                return Ok(Outcome::Done);
            }
            accept_as_no_op(&request.server_url, "store")
        }
        Action::Erase => {
            let text = read(input)?;
            if cfg.ignore_creds_storage {
                return Ok(Outcome::Done);
            }
            accept_as_no_op(&text, "erase")
        }
        Action::Get => {
            let server_url = read(input)?;
            let server_url = server_url.trim();
            let Some(registry) = ecr_registry(server_url) else {
                printer.protocol_text(NOT_FOUND);
                return Ok(Outcome::NotFound);
            };
            match get(cfg, printer, server_url, &registry) {
                Ok(()) => Ok(Outcome::Done),
                // ECR Public serves anonymous pulls: with no AWS credentials at all, "not
                // found" lets Docker pull without them, as it would with no helper.
                Err(Error::Aws(AwsError::NoCredentials { .. }))
                    if matches!(registry, Registry::Public { .. }) =>
                {
                    printer.warn(&format!(
                        "no AWS credentials found: answering \"not found\" for {}, so that Docker pulls from ECR Public anonymously (a push needs credentials: see `ecr-login doctor`)",
                        registry.host()
                    ));
                    printer.protocol_text(NOT_FOUND);
                    Ok(Outcome::NotFound)
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// A request is a server URL or a small JSON object; read no more than this.
const MAX_REQUEST: u64 = 64 << 10;

/// The request on stdin: UTF-8 text of at most [`MAX_REQUEST`] bytes (what Docker sends is
/// far smaller), else a usage error that says what came instead.
fn read(input: &mut dyn Read) -> Result<String, Error> {
    let mut bytes = Vec::new();
    input
        .take(MAX_REQUEST + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| UsageError::Other(format!("cannot read the request on stdin: {e}")))?;
    if bytes.len() as u64 > MAX_REQUEST {
        return Err(UsageError::Other(format!(
            "the request on stdin is over {} KiB; a credential helper gets a server URL or a small JSON object, as Docker sends them",
            MAX_REQUEST >> 10
        ))
        .into());
    }
    String::from_utf8(bytes).map_err(|_| {
        UsageError::Other(
            "the request on stdin is not UTF-8 text; a credential helper gets a server URL or a small JSON object, as Docker sends them".into(),
        )
        .into()
    })
}

/// The ECR registry a server URL names, in any form clients send it; `None` for anything else
/// (another registry, or text that is no server URL at all).
fn ecr_registry(server_url: &str) -> Option<Registry> {
    aws::registry::parse(&helper::host_of(server_url), None, true).ok()
}

/// `store` and `erase`: ECR logins come from AWS, so there is nothing to keep; succeeding keeps
/// `docker login`/`logout` to a host served by this helper from failing.
fn accept_as_no_op(server_url: &str, action: &str) -> Result<Outcome, Error> {
    let host = helper::host_of(server_url);
    if ecr_registry(server_url).is_some() {
        tracing::debug!("{action} for {host}: nothing to do, ECR tokens come from AWS");
        return Ok(Outcome::Done);
    }
    Err(UsageError::Other(format!(
        "ecr-login only serves Amazon ECR registries, not {:?}: it cannot {action} that login (point credHelpers at ecr-login for ECR hosts only)",
        aws::registry::shown(&host)
    ))
    .into())
}

/// `list`: the cached logins that are still valid, `{"<host>": "AWS"}`. Offline.
fn list(cfg: &HelperConfig, printer: &Printer) {
    let now = SystemTime::now();
    let entries = cfg
        .cache
        .as_ref()
        .and_then(|c| FileCache::inspect(c.dir.as_ref()?))
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
    let answer = |username: &str, secret: &str| {
        printer.protocol(&Credentials {
            server_url,
            username,
            secret,
        })
    };
    // The local key reads the AWS config files for chain identities: only with a cache.
    let mut keys = Keys::new(
        Target::Registry(registry.clone()),
        cache.as_ref().and(plan.local_key()).as_ref(),
    );
    // A fresh entry in this machine's files: no runtime, no network. Else single flight: whoever
    // holds the lock fetches; the others find its entry.
    let (_lock, stale) = match cache.as_ref().map(|c| c.local_turn(&keys, LOCK_WAIT)) {
        Some(Local::Hit(e)) => {
            answer(&e.username, e.password.expose());
            return Ok(());
        }
        Some(Local::Miss { lock, stale }) => (lock, stale),
        None => (None, None),
    };
    // The async runtime starts here: the fleet cache (once the identity is proven), then AWS.
    let warn = |text: &str| printer.warn(text);
    let token = crate::runtime::block_on(fetch::through_fleet(
        cache.as_ref(),
        &mut keys,
        stale,
        &plan,
        platform,
        registry,
        &fetch::Limit::None,
        &warn,
    ))??;
    answer(&token.username, token.password.expose());
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

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    /// Hostile stdin, kept as regression cases: each is answered (an ECR host's registry, or
    /// Docker's "not found") or refused with a message that says what came instead.
    #[test]
    fn hostile_stdin() {
        let read_bytes = |b: &[u8]| read(&mut &b[..]).map_err(|e| e.to_string());
        assert_eq!(read_bytes(b"").unwrap(), "");
        assert!(read_bytes(&[0xff, 0xfe, 0x00])
            .unwrap_err()
            .contains("not UTF-8 text"));
        let e = read_bytes(&vec![b'a'; 10 << 20]).unwrap_err();
        assert!(e.contains("over 64 KiB"), "{e}");
        assert!(e.len() < 300, "{e}");

        for not_ecr in [
            "",
            "\0",
            "docker.io",
            "https://index.docker.io/v1/",
            "public.ecr.aws.evil.example",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:8443",
            "{\"ServerURL\":\"123456789012.dkr.ecr.us-east-1.amazonaws.com\"}",
        ] {
            assert!(ecr_registry(not_ecr).is_none(), "{not_ecr:?}");
            let e = accept_as_no_op(not_ecr, "erase").err().unwrap().to_string();
            assert!(e.contains("only serves Amazon ECR registries"), "{e}");
        }
        for ecr in [
            HOST.to_string(),
            format!("https://{HOST}/v2/"),
            format!("{HOST}:443\n"),
        ] {
            assert_eq!(ecr_registry(ecr.trim()).unwrap().host(), HOST, "{ecr:?}");
        }
        let huge = format!("{}{HOST}", "x".repeat(1 << 20));
        let e = accept_as_no_op(&huge, "erase").err().unwrap().to_string();
        assert!(
            e.len() < 500,
            "the message repeats a megabyte: {} bytes",
            e.len()
        );

        for bad_store in [
            "",
            "null",
            "[]",
            "{}",
            "{\"ServerURL\": 1}",
            "{\"ServerURL\": \"\\ud800\"}",
        ] {
            assert!(
                serde_json::from_str::<helper::StoreRequest>(bad_store).is_err(),
                "{bad_store:?}"
            );
        }
    }

    /// Properties (proptest: 256 cases in `cargo test`, `PROPTEST_CASES` or `scripts/fuzz.sh`
    /// for more; failures are kept in `proptest-regressions/` and replayed first).
    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_stdin_is_read_or_refused(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
                match read(&mut &bytes[..]) {
                    Ok(text) => prop_assert_eq!(text.as_bytes(), &bytes[..]),
                    Err(e) => prop_assert!(e.to_string().contains("not UTF-8 text")),
                }
            }

            #[test]
            fn any_server_url_names_an_ecr_registry_or_none(
                url in "\\PC{0,60}|(https?://)?[0-9]{12}\\.dkr[.-]ecr[a-z.-]{0,30}(:443)?(/\\PC{0,10})?"
            ) {
                let found = ecr_registry(url.trim());
                // get answers for exactly the registry asked about; store and erase agree.
                if let Some(r) = &found {
                    prop_assert_eq!(r.host(), helper::host_of(url.trim()));
                }
                prop_assert_eq!(accept_as_no_op(&url, "erase").is_ok(), found.is_some());
            }

            #[test]
            fn any_store_request_is_parsed_or_refused(text in "\\PC{0,80}|\\{\"ServerURL\": ?\"\\PC{0,40}\"(, ?\"[A-Za-z]{1,8}\": ?\"\\PC{0,8}\")?\\}") {
                if let Ok(req) = serde_json::from_str::<helper::StoreRequest>(&text) {
                    // A store is accepted (as nothing to do) for an ECR host only.
                    prop_assert_eq!(
                        accept_as_no_op(&req.server_url, "store").is_ok(),
                        ecr_registry(&req.server_url).is_some()
                    );
                }
            }
        }
    }
}
