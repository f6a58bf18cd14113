//! The token cache: ECR logins kept between processes, so that a repeated login or a
//! credential-helper `get` costs no network call of any kind, and never crosses identities.
//!
//! An entry is keyed by the identity plan's [`CacheKey`] (role + token claims, profile, or a
//! hash of a static key id), the registry's partition, region and host: a token is only ever
//! served to the identity it was issued to. An entry is served while more than the margin of
//! its life is left; inside the margin it is refreshed (and served, with a warning, only if
//! the refresh fails); an expired entry is never served. A corrupt or unreadable entry is a
//! miss, never an error.
//!
//! Two layers, as [`Cache`]: this machine's files ([`file`]) in front of the fleet's Redis
//! ([`redis`], values sealed by [`seal`]). A file hit needs no runtime and no network; Redis is
//! asked only on a file miss (or a stale file entry), and what it answers fills the files.

pub mod file;
pub mod redis;
pub mod seal;

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::aws::{regions, registry::Registry};
use crate::error::UsageError;
use crate::identity::CacheKey;
use crate::secret::Secret;

pub use self::file::FileCache;
pub use self::redis::RedisCache;

/// How much of a token's life must be left for it to be served without a refresh.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(3600);

/// Where (and whether) to cache, as the configuration settled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The file cache's directory; `None`: no file cache (a CI platform with no job directory).
    pub dir: Option<PathBuf>,
    pub margin: Duration,
    /// `--cache redis://…`: the fleet cache behind the files.
    pub fleet: Option<Fleet>,
}

/// The fleet cache's URL and the key that seals its values.
#[derive(Clone, PartialEq, Eq)]
pub struct Fleet {
    /// `redis://…`, `rediss://…` (its password, if any, registered as a secret).
    pub url: String,
    pub key: FleetKey,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("url", &redis::shown(&self.url))
            .field("key", &self.key)
            .finish()
    }
}

/// Where the fleet's key is: `ECR_LOGIN_CACHE_KEY` (checked), or a file read when the cache
/// opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetKey {
    Value(Secret),
    File(PathBuf),
}

impl Fleet {
    fn open(&self, margin: Duration) -> Result<RedisCache, UsageError> {
        let text = match &self.key {
            FleetKey::Value(v) => v.clone(),
            FleetKey::File(path) => {
                std::fs::read_to_string(path)
                    .map(Secret::new)
                    .map_err(|e| {
                        UsageError::Other(format!(
                        "cannot read the fleet cache's key file {} (ECR_LOGIN_CACHE_KEY_FILE): {e}",
                        path.display()
                    ))
                    })?
            }
        };
        let sealer = seal::Sealer::new(&text).map_err(|why| {
            let source = match &self.key {
                FleetKey::Value(_) => "ECR_LOGIN_CACHE_KEY".to_string(),
                FleetKey::File(p) => format!("the key file {}", p.display()),
            };
            UsageError::Other(format!(
                "{source} is not a key for the fleet cache (32 random bytes in base64): {why}"
            ))
        })?;
        RedisCache::new(&self.url, sealer, margin)
            .map_err(|why| UsageError::Other(format!("--cache {}: {why}", redis::shown(&self.url))))
    }
}

/// The token cache as `login` and the credential helper use it: the file cache in front of the
/// fleet cache, either of which may be absent.
#[derive(Debug)]
pub struct Cache {
    file: Option<FileCache>,
    fleet: Option<RedisCache>,
    margin: Duration,
}

impl Cache {
    /// The cache `settings` describe; `None` when there is neither a usable directory nor a
    /// fleet cache. Touches no network. Fails only on the fleet's key (a usage error).
    pub fn open(settings: &Settings) -> Result<Option<Cache>, UsageError> {
        let fleet = settings
            .fleet
            .as_ref()
            .map(|f| f.open(settings.margin))
            .transpose()?;
        let file = settings
            .dir
            .as_ref()
            .and_then(|d| FileCache::open(d, settings.margin));
        Ok((file.is_some() || fleet.is_some()).then_some(Cache {
            file,
            fleet,
            margin: settings.margin,
        }))
    }

    /// What this machine's files hold for `key`: no runtime, no network.
    pub fn get_local(&self, key: &TokenKey) -> Lookup {
        self.file
            .as_ref()
            .map(|f| f.get(key))
            .unwrap_or(Lookup::Miss)
    }

    /// The files' entry if it is fresh, else the fleet's (which then fills the files), else
    /// the files' stale one or a miss.
    pub async fn get(&self, key: &TokenKey) -> Lookup {
        let local = self.get_local(key);
        if matches!(local, Lookup::Fresh(_)) {
            return local;
        }
        let Some(fleet) = &self.fleet else {
            return local;
        };
        let Some(entry) = fleet.get(key).await else {
            return local;
        };
        match Lookup::classify(entry, SystemTime::now(), self.margin) {
            Lookup::Fresh(e) => {
                tracing::info!("{}: token from the fleet cache", e.registry);
                if let Some(f) = &self.file {
                    f.put(key, &e);
                }
                Lookup::Fresh(e)
            }
            _ => local,
        }
    }

    /// Stores a freshly fetched `entry` in the files and shares it with the fleet.
    pub async fn put(&self, key: &TokenKey, entry: &Entry) {
        if let Some(f) = &self.file {
            f.put(key, entry);
        }
        if let Some(fleet) = &self.fleet {
            fleet.put(key, entry).await;
        }
    }

    /// Single flight across the fleet, after a local miss or a stale local entry (`stale`):
    /// whether to answer with an entry (another machine of the fleet fetched it meanwhile,
    /// waited for at most `wait`, or is refreshing it and `stale` is still valid) or to fetch
    /// (this process won the fleet's claim, or there is no fleet cache, or it failed, or the
    /// other machine gave up).
    pub async fn fleet_turn(&self, key: &TokenKey, stale: Option<&Entry>, wait: Duration) -> Turn {
        let Some(fleet) = &self.fleet else {
            return Turn::Fetch(Claim::default());
        };
        if fleet.claim(key).await {
            return Turn::Fetch(Claim(true));
        }
        if let Some(e) = stale {
            return Turn::Serve(e.clone());
        }
        tracing::info!("another machine of the fleet is fetching this token: waiting for it");
        let until = std::time::Instant::now() + wait.min(redis::CLAIM);
        let fresh = match fleet.wait_for(key, until).await {
            Some(entry) => match Lookup::classify(entry, SystemTime::now(), self.margin) {
                Lookup::Fresh(e) => Some(e),
                _ => None,
            },
            None => None,
        };
        match fresh {
            Some(e) => {
                tracing::info!("{}: token from the fleet cache", e.registry);
                if let Some(f) = &self.file {
                    f.put(key, &e);
                }
                Turn::Serve(e)
            }
            None => Turn::Fetch(Claim::default()),
        }
    }

    /// After a fetch ([`Turn::Fetch`]): stores the `fetched` entry, if any, in the files and
    /// the fleet, then gives up `claim`, so that no other machine waits for a token that is
    /// not coming.
    pub async fn settle(&self, key: &TokenKey, claim: Claim, fetched: Option<&Entry>) {
        if let Some(entry) = fetched {
            self.put(key, entry).await;
        }
        if let (Claim(true), Some(fleet)) = (claim, &self.fleet) {
            fleet.release(key).await;
        }
    }

    /// `key`'s lock on this machine (see [`FileCache::lock`]); `None` without a file cache.
    pub fn lock(&self, key: &TokenKey) -> Option<File> {
        self.file.as_ref().and_then(|f| f.lock(key))
    }

    /// [`Cache::lock`], waiting at most `wait` for another process's fetch.
    pub fn lock_within(&self, key: &TokenKey, wait: std::time::Duration) -> Option<File> {
        self.file.as_ref().and_then(|f| f.lock_within(key, wait))
    }
}

/// What to do about a token this machine's files do not hold fresh (see [`Cache::fleet_turn`]).
#[derive(Debug)]
pub enum Turn {
    /// Answer with this entry: no fetch.
    Serve(Entry),
    /// Fetch the token, then [`Cache::settle`] the claim.
    Fetch(Claim),
}

/// Whether this process holds the fleet's claim to fetch a token.
#[derive(Debug, Default)]
#[must_use = "a claim is given up with Cache::settle"]
pub struct Claim(bool);

/// Parses a duration as `3600`, `90s`, `30m`, `1h` or `1h30m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        total += n * match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
    }
    number.is_empty().then_some(Duration::from_secs(total))
}

/// Which token: the identity, and where it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenKey(String);

impl TokenKey {
    /// The key of `registry`'s token for `identity`.
    pub fn new(identity: &CacheKey, registry: &Registry) -> TokenKey {
        let (partition, region) = match registry {
            Registry::Private { region, .. } => {
                (regions::partition_of(region).arn, region.as_str())
            }
            Registry::Public { .. } => ("aws", "us-east-1"),
        };
        TokenKey(format!(
            "{}|{partition}|{region}|{}",
            identity.as_str(),
            registry.host()
        ))
    }

    /// The key of the token for `identity`'s own registry in `region` (login without
    /// `--registries`: the host is known only from ECR's answer, and kept in the entry).
    pub fn own_registry(identity: &CacheKey, region: &str) -> TokenKey {
        TokenKey(format!(
            "{}|{}|{region}|<own registry>",
            identity.as_str(),
            regions::partition_of(region).arn
        ))
    }

    /// The key as text: no secret in it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A file name (or a Redis key) for it.
    pub fn digest(&self) -> String {
        crate::identity::sha256_hex(self.0.as_bytes())
    }
}

/// A cached login.
#[derive(Debug, Clone)]
pub struct Entry {
    pub registry: String,
    pub username: String,
    pub password: Secret,
    pub expires_at: SystemTime,
    /// The identity the token was issued to (an assumed-role ARN), for `status`.
    pub identity: Option<String>,
}

/// What the cache has for a key.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// Valid beyond the margin: serve it.
    Fresh(Entry),
    /// Valid, but inside the margin: refresh it; serve it only if the refresh fails.
    Stale(Entry),
    /// Nothing usable (absent, expired, corrupt).
    Miss,
}

impl Lookup {
    /// How `entry` stands at `now` with `margin`.
    pub fn classify(entry: Entry, now: SystemTime, margin: Duration) -> Lookup {
        if entry.expires_at <= now {
            Lookup::Miss
        } else if entry.expires_at <= now + margin {
            Lookup::Stale(entry)
        } else {
            Lookup::Fresh(entry)
        }
    }
}

/// Reports a lookup to the telemetry: hit, stale or miss, and the usable token found.
pub(crate) fn record(lookup: &Lookup) {
    use crate::telemetry::{self, CacheResult, Token};
    let (result, entry) = match lookup {
        Lookup::Fresh(e) => (CacheResult::Hit, Some(e)),
        Lookup::Stale(e) => (CacheResult::Stale, Some(e)),
        Lookup::Miss => (CacheResult::Miss, None),
    };
    let found = entry.map(|e| {
        let token = Token {
            host: e.registry.clone(),
            expires_at: Some(e.expires_at),
        };
        (token, e.identity.clone())
    });
    telemetry::cache_lookup(result, found);
}

/// An entry as stored (JSON). `key` is stored too and checked on reading, so a file never
/// answers for another key.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Stored {
    pub v: u32,
    pub key: String,
    pub registry: String,
    pub username: String,
    pub password: String,
    /// Unix seconds.
    pub expires_at: u64,
    pub identity: Option<String>,
}

pub(crate) const FORMAT_VERSION: u32 = 1;

impl Stored {
    pub fn from_entry(key: &TokenKey, e: &Entry) -> Stored {
        Stored {
            v: FORMAT_VERSION,
            key: key.as_str().to_string(),
            registry: e.registry.clone(),
            username: e.username.clone(),
            password: e.password.expose().to_string(),
            expires_at: unix(e.expires_at),
            identity: e.identity.clone(),
        }
    }

    /// The entry, if this is one for `key` (any key when `None`) in the current format.
    pub fn into_entry(self, key: Option<&TokenKey>) -> Option<Entry> {
        if self.v != FORMAT_VERSION || key.is_some_and(|k| k.as_str() != self.key) {
            return None;
        }
        Some(Entry {
            registry: self.registry,
            username: self.username,
            password: Secret::new(self.password),
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(self.expires_at),
            identity: self.identity,
        })
    }
}

pub(crate) fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(expires_in: i64) -> Entry {
        let now = SystemTime::now();
        Entry {
            registry: "h".into(),
            username: "AWS".into(),
            password: Secret::new("cached-password-1"),
            expires_at: if expires_in >= 0 {
                now + Duration::from_secs(expires_in as u64)
            } else {
                now - Duration::from_secs((-expires_in) as u64)
            },
            identity: None,
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1x"), None);
        assert_eq!(parse_duration("1h5"), None);
    }

    #[test]
    fn margin_and_expiry() {
        let now = SystemTime::now();
        let m = Duration::from_secs(3600);
        assert!(matches!(
            Lookup::classify(entry(7200), now, m),
            Lookup::Fresh(_)
        ));
        assert!(matches!(
            Lookup::classify(entry(600), now, m),
            Lookup::Stale(_)
        ));
        assert!(matches!(Lookup::classify(entry(-1), now, m), Lookup::Miss));
    }

    #[test]
    fn a_stored_entry_answers_only_for_its_key() {
        let k1 = TokenKey("a|aws|us-east-1|h".into());
        let k2 = TokenKey("b|aws|us-east-1|h".into());
        let s = Stored::from_entry(&k1, &entry(100));
        let text = serde_json::to_string(&s).unwrap();
        let back: Stored = serde_json::from_str(&text).unwrap();
        assert!(back.into_entry(Some(&k2)).is_none());
        let back: Stored = serde_json::from_str(&text).unwrap();
        assert_eq!(back.into_entry(Some(&k1)).unwrap().registry, "h");
    }
}
