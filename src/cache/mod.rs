//! The token cache: ECR logins kept between processes, so that a repeated login or a
//! credential-helper `get` costs no network call of any kind, and never crosses identities.
//!
//! An entry is keyed by the identity plan's [`CacheKey`] (role + token claims, profile, or a
//! hash of a static key id), the registry's partition, region and host: a token is only ever
//! served to the identity it was issued to. An entry is served while more than the margin of
//! its life is left; inside the margin it is refreshed (and served, with a warning, only if
//! the refresh fails); an expired entry is never served. A corrupt or unreadable entry is a
//! miss, never an error.

pub mod file;

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::aws::{regions, registry::Registry};
use crate::identity::CacheKey;
use crate::secret::Secret;

pub use file::FileCache;

/// How much of a token's life must be left for it to be served without a refresh.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(3600);

/// Where (and whether) to cache, as the configuration settled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub dir: std::path::PathBuf,
    pub margin: Duration,
}

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
