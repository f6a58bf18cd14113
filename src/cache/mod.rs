//! The token cache: ECR logins kept between processes, so that a repeated login or a
//! credential-helper `get` costs no network call of any kind, and never crosses identities.
//!
//! An entry is keyed by an identity's [`CacheKey`], the registry's partition, region and host:
//! a token is only ever served to the identity it was issued to. Two layers, as [`Cache`],
//! with a key each ([`Keys`]):
//! - this machine's files ([`file`]), private to one job and one user, keyed by what the
//!   identity plan knows before any call ([`crate::identity::Plan::local_key`]); a file hit
//!   needs no runtime and no network;
//! - the fleet's Redis ([`redis`], values sealed by [`seal`]), shared between machines and
//!   jobs, keyed by what STS will see ([`crate::identity::Plan::fleet_key`]: the claims of
//!   the job's own CI token, or a digest of the resolved AWS credentials), never by a hint from
//!   the environment. It is asked only on a file miss (or a stale file entry), and what it
//!   answers fills the files.
//!
//! One hit path: whichever layer answers, an entry is served only if [`TokenKey::admits`] it
//! (the host asked for, an account `--allowed-account-ids` allows) and its times parse; then
//! while more than the margin of its life is left; inside the margin it is refreshed (and
//! served, with a warning, only if the refresh fails); an expired entry is never served. A
//! corrupt, foreign or unreadable entry is a miss, never an error and never a panic.

pub(crate) mod bounded;
pub(crate) mod file;
pub(crate) mod redis;
pub(crate) mod seal;

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::aws::{self, regions, registry::Registry};
use crate::error::UsageError;
use crate::identity::{CacheKey, Plan, Proof};
use crate::secret::Secret;

pub(crate) use self::file::{FileCache, LOCK_WAIT};
pub(crate) use self::redis::RedisCache;

/// How much of a token's life must be left for it to be served without a refresh.
pub(crate) const DEFAULT_MARGIN: Duration = Duration::from_secs(3600);

/// Where (and whether) to cache, as the configuration settled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    /// The file cache's directory; `None`: no file cache (a CI platform with no job directory).
    pub dir: Option<PathBuf>,
    /// The directory was named (`--cache-dir`, `ECR_LOGIN_CACHE_DIR`): one that is not private
    /// to this user is an error, not a warning.
    pub dir_named: bool,
    pub margin: Duration,
    /// `--cache redis://…`: the fleet cache behind the files.
    pub fleet: Option<Fleet>,
}

/// The fleet cache's URL and the key that seals its values.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Fleet {
    /// `redis://…`, `rediss://…` (its password, if any, registered as a secret).
    pub url: String,
    pub key: FleetKey,
    /// The URL came from the command line (`--cache`), where other users can read it.
    pub url_on_command_line: bool,
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
pub(crate) enum FleetKey {
    Value(Secret),
    File(PathBuf),
}

impl Fleet {
    fn open(&self, margin: Duration) -> Result<RedisCache, UsageError> {
        let text = match &self.key {
            FleetKey::Value(v) => v.clone(),
            FleetKey::File(path) => file::read_key_file(path).map_err(|why| {
                UsageError::Other(format!(
                    "the fleet cache's key file {} (ECR_LOGIN_CACHE_KEY_FILE): {why}",
                    path.display()
                ))
            })?,
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
        for warning in redis::warnings(&self.url, self.url_on_command_line) {
            tracing::warn!("{warning}");
        }
        RedisCache::new(&self.url, sealer, margin)
            .map_err(|why| UsageError::Other(format!("--cache {}: {why}", redis::shown(&self.url))))
    }
}

/// The token cache as `login` and the credential helper use it: the file cache in front of the
/// fleet cache, either of which may be absent.
#[derive(Debug)]
pub(crate) struct Cache {
    file: Option<FileCache>,
    fleet: Option<RedisCache>,
    margin: Duration,
}

impl Cache {
    /// The cache `settings` describe; `None` when there is neither a usable directory nor a
    /// fleet cache. Touches no network. Fails on the fleet's key, and on a directory named by
    /// `--cache-dir` that is not private to this user (usage errors).
    pub(crate) fn open(settings: &Settings) -> Result<Option<Cache>, UsageError> {
        let fleet = settings
            .fleet
            .as_ref()
            .map(|f| f.open(settings.margin))
            .transpose()?;
        let file = match &settings.dir {
            Some(d) => FileCache::open(d, settings.margin, settings.dir_named)?,
            None => None,
        };
        Ok((file.is_some() || fleet.is_some()).then_some(Cache {
            file,
            fleet,
            margin: settings.margin,
        }))
    }

    /// Whether a fleet cache is configured: then a miss in the files is worth proving the
    /// identity for ([`Keys::fleet`]).
    pub(crate) fn has_fleet(&self) -> bool {
        self.fleet.is_some()
    }

    /// What this machine's files hold for `keys.local`: no runtime, no network.
    pub(crate) fn get_local(&self, keys: &Keys) -> Lookup {
        match (&self.file, &keys.local) {
            (Some(f), Some(k)) => f.get(k),
            _ => Lookup::Miss,
        }
    }

    /// The fleet's entry for `keys.fleet` if it is fresh (it then fills the files under
    /// `keys.local`), else a miss. Redis holds only entries with more than the margin left.
    pub(crate) async fn get_fleet(&self, keys: &Keys) -> Lookup {
        let (Some(fleet), Some(key)) = (&self.fleet, &keys.fleet) else {
            return Lookup::Miss;
        };
        match fleet.get(key).await {
            Some(entry) => self.take_from_fleet(keys, entry),
            None => Lookup::Miss,
        }
    }

    /// An entry the fleet answered for `keys.fleet`, judged as every hit is (the fleet's
    /// reader already checked it against the key), stored in the files when fresh.
    fn take_from_fleet(&self, keys: &Keys, entry: Entry) -> Lookup {
        match Lookup::classify(entry, SystemTime::now(), self.margin) {
            Lookup::Fresh(e) => {
                tracing::info!("{}: token from the fleet cache", e.registry);
                record(&Lookup::Fresh(e.clone()));
                if let (Some(f), Some(local)) = (&self.file, &keys.local) {
                    f.put(local, &e);
                }
                Lookup::Fresh(e)
            }
            _ => Lookup::Miss,
        }
    }

    /// Stores a freshly fetched `entry` in the files and shares it with the fleet.
    pub(crate) async fn put(&self, keys: &Keys, entry: &Entry) {
        if let (Some(f), Some(k)) = (&self.file, &keys.local) {
            f.put(k, entry);
        }
        if let (Some(fleet), Some(k)) = (&self.fleet, &keys.fleet) {
            fleet.put(k, entry).await;
        }
    }

    /// Single flight across the fleet, after a local miss or a stale local entry (`stale`):
    /// whether to answer with an entry (another machine of the fleet fetched it meanwhile,
    /// waited for at most `wait`, or is refreshing it and `stale` is still valid) or to fetch
    /// (this process won the fleet's claim, or there is no fleet cache or fleet key, or it
    /// failed, or the other machine gave up).
    pub(crate) async fn fleet_turn(
        &self,
        keys: &Keys,
        stale: Option<&Entry>,
        wait: Duration,
    ) -> Turn {
        let (Some(fleet), Some(key)) = (&self.fleet, &keys.fleet) else {
            return Turn::Fetch(Claim::default());
        };
        if fleet.claim(key).await {
            // Another machine may have shared the token and dropped its claim between this
            // process's look and its claim: a second look before fetching.
            if let Some(entry) = fleet.get(key).await {
                if let Lookup::Fresh(e) = self.take_from_fleet(keys, entry) {
                    fleet.release(key).await;
                    return Turn::Serve(e);
                }
            }
            return Turn::Fetch(Claim(true));
        }
        if let Some(e) = stale {
            return Turn::Serve(e.clone());
        }
        tracing::info!("another machine of the fleet is fetching this token: waiting for it");
        let until = std::time::Instant::now() + wait.min(redis::CLAIM);
        match fleet.wait_for(key, until).await {
            Some(entry) => match self.take_from_fleet(keys, entry) {
                Lookup::Fresh(e) => Turn::Serve(e),
                _ => Turn::Fetch(Claim::default()),
            },
            None => Turn::Fetch(Claim::default()),
        }
    }

    /// After a fetch ([`Turn::Fetch`]): stores the `fetched` entry, if any, in the files and
    /// the fleet, then gives up `claim`, so that no other machine waits for a token that is
    /// not coming.
    pub(crate) async fn settle(&self, keys: &Keys, claim: Claim, fetched: Option<&Entry>) {
        if let Some(entry) = fetched {
            self.put(keys, entry).await;
        }
        if let (Claim(true), Some(fleet), Some(key)) = (claim, &self.fleet, &keys.fleet) {
            fleet.release(key).await;
        }
    }

    /// `keys.local`'s lock on this machine, waiting at most `wait` for another process's
    /// fetch; `None` without a file cache (see [`FileCache::lock_within`]).
    pub(crate) fn lock_within(&self, keys: &Keys, wait: std::time::Duration) -> Option<File> {
        match (&self.file, &keys.local) {
            (Some(f), Some(k)) => f.lock_within(k, wait),
            _ => None,
        }
    }
}

/// One token's keys, a layer each: the files' (known before any call; `None` when the plan
/// cannot tell identities apart without a call) and the fleet's (known once the identity is
/// proven: the CI token fetched, or the credentials resolved; `None` until then, or without a
/// fleet cache).
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    target: Target,
    pub local: Option<TokenKey>,
    pub fleet: Option<TokenKey>,
}

/// Which token a [`Keys`] is for.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Registry(Registry),
    /// The identity's own registry in this region (a login with no `--registries`).
    Own {
        region: String,
    },
}

impl Keys {
    /// The keys of `target`'s token, the local one for `identity` (the plan's
    /// [`Plan::local_key`]) if it has one; the fleet's comes with [`Cache::prove`].
    pub(crate) fn new(target: Target, identity: Option<&CacheKey>) -> Keys {
        let mut keys = Keys {
            target,
            local: None,
            fleet: None,
        };
        keys.local = identity.map(|i| keys.key(i));
        keys
    }

    fn key(&self, identity: &CacheKey) -> TokenKey {
        match &self.target {
            Target::Registry(r) => TokenKey::new(identity, r),
            Target::Own { region } => TokenKey::own_registry(identity, region),
        }
    }
}

impl Cache {
    /// Once the identity is proven: each of `keys`' fleet halves, keyed by what STS will see
    /// ([`Plan::fleet_key`]). A job whose own token says it runs for a pull request is told,
    /// once per job, that its runners hold the fleet's key.
    pub(crate) fn prove(&self, plan: &Plan, proof: &Proof, keys: &mut [Keys]) {
        let Some(fleet) = &self.fleet else {
            return;
        };
        if proof.token().is_some_and(|t| t.for_pull_request()) {
            let first = self
                .file
                .as_ref()
                .is_none_or(|f| f.first_time("pull-request-warning"));
            if first {
                tracing::warn!(
                    "this job runs for a pull request and its runner holds the fleet cache's key (ECR_LOGIN_CACHE_KEY): every holder of that key can read and write every token of the fleet, so code from pull requests can reach the tokens of the jobs that share it; give runners of untrusted jobs a key of their own (one key per runner group or trust domain)"
                );
            }
        }
        let Some(identity) = plan.fleet_key(proof, &|b| fleet.credential_digest(b)) else {
            tracing::debug!("the identity's token has no claims to key the fleet cache on");
            return;
        };
        for k in keys.iter_mut() {
            k.fleet = Some(k.key(&identity));
        }
    }
}

/// What this machine's files say of a token, after [`Cache::local_turn`].
#[derive(Debug)]
pub(crate) enum Local {
    /// Fresh: serve it, no runtime, no network.
    Hit(Entry),
    /// Not fresh: this process holds the key's lock (`None` when it could not be had, or
    /// without a file cache) and goes on to the fleet and AWS; `stale` is still valid.
    Miss {
        lock: Option<File>,
        stale: Option<Entry>,
    },
}

impl Cache {
    /// The first half of every single-token lookup (the helper's, the kubelet's), with no
    /// runtime: a fresh entry in the files; else the key's lock, waited for at most `wait`
    /// (another process on this machine fetching it), and a second look.
    pub(crate) fn local_turn(&self, keys: &Keys, wait: Duration) -> Local {
        if let Lookup::Fresh(e) = self.get_local(keys) {
            return Local::Hit(e);
        }
        let lock = self.lock_within(keys, wait);
        match self.get_local(keys) {
            Lookup::Fresh(e) => Local::Hit(e),
            Lookup::Stale(e) => Local::Miss {
                lock,
                stale: Some(e),
            },
            Lookup::Miss => Local::Miss { lock, stale: None },
        }
    }
}

/// What to do about a token this machine's files do not hold fresh (see [`Cache::fleet_turn`]).
#[derive(Debug)]
pub(crate) enum Turn {
    /// Answer with this entry: no fetch.
    Serve(Entry),
    /// Fetch the token, then [`Cache::settle`] the claim.
    Fetch(Claim),
}

/// Whether this process holds the fleet's claim to fetch a token.
#[derive(Debug, Default)]
#[must_use = "a claim is given up with Cache::settle"]
pub(crate) struct Claim(bool);

/// Parses a duration as `3600`, `90s`, `30m`, `1h` or `1h30m`.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
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

/// Which token: the identity, and where it is valid; and what an entry must be to be served
/// for it ([`TokenKey::admits`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenKey {
    text: String,
    host: WantHost,
    /// `--allowed-account-ids`; empty: any.
    allowed_accounts: Vec<String>,
}

/// The registry an entry must be for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum WantHost {
    /// Exactly this host.
    Host(String),
    /// The identity's own registry in this region (a login with no `--registries`: the host
    /// is known only from ECR's answer, and kept in the entry).
    Own { region: String },
}

impl TokenKey {
    /// The key of `registry`'s token for `identity`.
    pub(crate) fn new(identity: &CacheKey, registry: &Registry) -> TokenKey {
        let (partition, region) = match registry {
            Registry::Private { region, .. } => {
                (regions::partition_of(region).arn, region.as_str())
            }
            Registry::Public { .. } => ("aws", "us-east-1"),
        };
        TokenKey {
            text: format!(
                "{}|{partition}|{region}|{}",
                identity.as_str(),
                registry.host()
            ),
            host: WantHost::Host(registry.host().to_string()),
            allowed_accounts: identity.allowed_accounts().to_vec(),
        }
    }

    /// The key of the token for `identity`'s own registry in `region`.
    pub(crate) fn own_registry(identity: &CacheKey, region: &str) -> TokenKey {
        TokenKey {
            text: format!(
                "{}|{}|{region}|<own registry>",
                identity.as_str(),
                regions::partition_of(region).arn
            ),
            host: WantHost::Own {
                region: region.to_string(),
            },
            allowed_accounts: identity.allowed_accounts().to_vec(),
        }
    }

    /// The key as text: no secret in it.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// A file name for it.
    pub(crate) fn digest(&self) -> String {
        crate::identity::sha256_hex(self.text.as_bytes())
    }

    /// Whether `entry` may be served for this key: it is for the host asked for (for the own
    /// registry, an ECR host of the entry's own account in the region asked for), and its
    /// account is one `--allowed-account-ids` allows, when that is set. The reason, if not.
    pub(crate) fn admits(&self, entry: &Entry) -> Result<(), String> {
        let account = entry.identity.as_deref().and_then(aws::arn_account);
        match &self.host {
            WantHost::Host(host) if entry.registry != *host => {
                return Err(format!(
                    "it is for {}, not for {host}",
                    aws::registry::shown(&entry.registry)
                ))
            }
            WantHost::Host(_) => {}
            WantHost::Own { region } => match aws::registry::parse(&entry.registry, None, true) {
                Ok(Registry::Private {
                    account: a,
                    region: r,
                    ..
                }) if r == *region && account.is_none_or(|id| id == a) => {}
                _ => {
                    return Err(format!(
                        "it is for {}, not for the identity's own ECR registry in {region}",
                        aws::registry::shown(&entry.registry)
                    ))
                }
            },
        }
        if !self.allowed_accounts.is_empty()
            && !account.is_some_and(|a| self.allowed_accounts.iter().any(|x| x == a))
        {
            return Err(format!(
                "its identity ({}) is not in an account --allowed-account-ids allows ({})",
                entry.identity.as_deref().unwrap_or("unknown"),
                self.allowed_accounts.join(",")
            ));
        }
        Ok(())
    }
}

/// A cached login.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub registry: String,
    pub username: String,
    pub password: Secret,
    pub expires_at: SystemTime,
    /// The identity the token was issued to (an assumed-role ARN), for `status` and the
    /// account checks.
    pub identity: Option<String>,
    /// The `sub` of the CI token it was fetched with, if one was (for the audit line of a hit).
    pub sub: Option<String>,
}

/// What the cache has for a key.
#[derive(Debug, Clone)]
pub(crate) enum Lookup {
    /// Valid beyond the margin: serve it.
    Fresh(Entry),
    /// Valid, but inside the margin: refresh it; serve it only if the refresh fails.
    Stale(Entry),
    /// Nothing usable (absent, expired, corrupt).
    Miss,
}

impl Lookup {
    /// How `entry`, read back for `key`, stands at `now` with `margin`: a miss when `key` does
    /// not admit it (reported at debug).
    pub(crate) fn judge(entry: Entry, key: &TokenKey, now: SystemTime, margin: Duration) -> Lookup {
        match key.admits(&entry) {
            Ok(()) => Lookup::classify(entry, now, margin),
            Err(why) => {
                tracing::debug!("a cache entry is not served: {why}");
                Lookup::Miss
            }
        }
    }

    /// How `entry` stands at `now` with `margin`.
    pub(crate) fn classify(entry: Entry, now: SystemTime, margin: Duration) -> Lookup {
        let Some(refresh_from) = now.checked_add(margin) else {
            return Lookup::Miss;
        };
        if entry.expires_at <= now {
            Lookup::Miss
        } else if entry.expires_at <= refresh_from {
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
        (token, e.identity.clone(), e.sub.clone())
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
    pub sub: Option<String>,
}

/// 2: `sub`, and keys of the identity STS sees.
pub(crate) const FORMAT_VERSION: u32 = 2;

impl Stored {
    pub(crate) fn from_entry(key: &TokenKey, e: &Entry) -> Stored {
        Stored {
            v: FORMAT_VERSION,
            key: key.as_str().to_string(),
            registry: e.registry.clone(),
            username: e.username.clone(),
            password: e.password.expose().to_string(),
            expires_at: unix(e.expires_at),
            identity: e.identity.clone(),
            sub: e.sub.clone(),
        }
    }

    /// The entry, if this is one for `key` (any key when `None`) in the current format, with
    /// an expiry that is a time (checked arithmetic: `u64::MAX` seconds is corrupt, not an
    /// abort).
    pub(crate) fn into_entry(self, key: Option<&TokenKey>) -> Option<Entry> {
        if self.v != FORMAT_VERSION || key.is_some_and(|k| k.as_str() != self.key) {
            return None;
        }
        let expires_at =
            SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(self.expires_at))?;
        Some(Entry {
            registry: self.registry,
            username: self.username,
            password: Secret::new(self.password),
            expires_at,
            identity: self.identity,
            sub: self.sub,
        })
    }

    /// The entry `bytes` hold for `key` (any key when `None`), if they are one: never a panic.
    pub(crate) fn parse(bytes: &[u8], key: Option<&TokenKey>) -> Option<Entry> {
        serde_json::from_slice::<Stored>(bytes)
            .ok()
            .and_then(|s| s.into_entry(key))
    }
}

pub(crate) fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
impl TokenKey {
    /// A key of this text for `host`, any account.
    pub(crate) fn raw(text: &str, host: &str) -> TokenKey {
        TokenKey {
            text: text.to_string(),
            host: WantHost::Host(host.to_string()),
            allowed_accounts: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    const ARN: &str = "arn:aws:sts::123456789012:assumed-role/ci/s";

    fn entry(expires_in: i64) -> Entry {
        let now = SystemTime::now();
        Entry {
            registry: HOST.into(),
            username: "AWS".into(),
            password: Secret::new("cached-password-1"),
            expires_at: if expires_in >= 0 {
                now + Duration::from_secs(expires_in as u64)
            } else {
                now - Duration::from_secs((-expires_in) as u64)
            },
            identity: Some(ARN.into()),
            sub: Some("repo:o/r:ref:refs/heads/main".into()),
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
        let k1 = TokenKey::raw("a|aws|us-east-1|h", HOST);
        let k2 = TokenKey::raw("b|aws|us-east-1|h", HOST);
        let s = Stored::from_entry(&k1, &entry(100));
        let text = serde_json::to_vec(&s).unwrap();
        assert!(Stored::parse(&text, Some(&k2)).is_none());
        let back = Stored::parse(&text, Some(&k1)).unwrap();
        assert_eq!(back.registry, HOST);
        assert_eq!(back.sub.as_deref(), Some("repo:o/r:ref:refs/heads/main"));
    }

    #[test]
    fn an_absurd_expiry_is_corrupt_not_an_abort() {
        let k = TokenKey::raw("a", HOST);
        let mut s = Stored::from_entry(&k, &entry(100));
        s.expires_at = u64::MAX;
        let text = serde_json::to_vec(&s).unwrap();
        assert!(Stored::parse(&text, Some(&k)).is_none());
        let text = String::from_utf8(text)
            .unwrap()
            .replace(&u64::MAX.to_string(), "1e300");
        assert!(Stored::parse(text.as_bytes(), Some(&k)).is_none());
        // The largest expiry that is a time still classifies without overflowing.
        let mut e = entry(0);
        e.expires_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 40);
        assert!(matches!(
            Lookup::classify(e, SystemTime::now(), DEFAULT_MARGIN),
            Lookup::Fresh(_)
        ));
    }

    fn identity(allowed: &[&str]) -> CacheKey {
        CacheKey::for_tests("web-identity=r[sub=s]", allowed)
    }

    #[test]
    fn an_entry_for_another_host_is_never_served() {
        let registry = Registry::private("123456789012", "us-east-1");
        let key = TokenKey::new(&identity(&[]), &registry);
        assert!(key.admits(&entry(7200)).is_ok());
        let mut forged = entry(7200);
        forged.registry = "registry.evil.example".into();
        let why = key.admits(&forged).unwrap_err();
        assert!(why.contains("registry.evil.example"), "{why}");
        assert!(matches!(
            Lookup::judge(forged, &key, SystemTime::now(), DEFAULT_MARGIN),
            Lookup::Miss
        ));
    }

    #[test]
    fn the_own_registry_is_an_ecr_host_of_the_entry_account_in_the_region() {
        let key = TokenKey::own_registry(&identity(&[]), "us-east-1");
        assert!(key.admits(&entry(7200)).is_ok());
        for host in [
            "registry.evil.example",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "210987654321.dkr.ecr.us-east-1.amazonaws.com",
            "public.ecr.aws",
        ] {
            let mut e = entry(7200);
            e.registry = host.into();
            assert!(key.admits(&e).is_err(), "{host}");
        }
    }

    #[test]
    fn allowed_accounts_are_checked_on_every_hit() {
        let registry = Registry::private("123456789012", "us-east-1");
        let guarded = TokenKey::new(&identity(&["999999999999"]), &registry);
        let why = guarded.admits(&entry(7200)).unwrap_err();
        assert!(why.contains("999999999999"), "{why}");
        let allowed = TokenKey::new(&identity(&["123456789012"]), &registry);
        assert!(allowed.admits(&entry(7200)).is_ok());
        // An entry that does not say whose it is cannot pass a guard.
        let mut unknown = entry(7200);
        unknown.identity = None;
        assert!(allowed.admits(&unknown).is_err());
        assert!(TokenKey::new(&identity(&[]), &registry)
            .admits(&unknown)
            .is_ok());
    }

    /// Properties (proptest: 256 cases in `cargo test`, `PROPTEST_CASES` or `scripts/fuzz.sh`
    /// for more).
    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_bytes_are_parsed_or_refused_without_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
                let key = TokenKey::raw("k", HOST);
                if let Some(e) = Stored::parse(&bytes, None) {
                    let _ = Lookup::judge(e, &key, SystemTime::now(), DEFAULT_MARGIN);
                }
            }

            #[test]
            fn any_stored_numbers_are_an_entry_or_a_miss(
                v in any::<u32>(),
                expires in any::<u64>(),
                registry in "\\PC{0,40}",
                identity in proptest::option::of("\\PC{0,60}"),
            ) {
                let text = serde_json::json!({
                    "v": v, "key": "k", "registry": registry, "username": "AWS",
                    "password": "p", "expires_at": expires, "identity": identity, "sub": null,
                }).to_string();
                let key = TokenKey::raw("k", HOST);
                if let Some(e) = Stored::parse(text.as_bytes(), Some(&key)) {
                    prop_assert_eq!(v, FORMAT_VERSION);
                    let served = !matches!(
                        Lookup::judge(e, &key, SystemTime::now(), DEFAULT_MARGIN),
                        Lookup::Miss
                    );
                    prop_assert!(!served || registry == HOST);
                }
            }
        }
    }
}
