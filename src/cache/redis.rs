//! The fleet cache (`--cache redis://…`, `rediss://…`): one token per identity and registry for a
//! whole fleet of runners, in Redis, Valkey or ElastiCache (TLS and AUTH from the URL), so that
//! a runner whose own file cache is cold asks AWS only if no runner of the fleet has asked yet.
//!
//! Keys are an HMAC of the token keys under a key derived from the fleet's ([`Sealer::name_of`]:
//! a reader of Redis learns nothing of which pipelines use it) under a prefix; values are the
//! entries sealed with the fleet's key ([`super::seal`]), bound to their key; each lives in
//! Redis as long as the token has more than the margin of its life left. What is read back is
//! bounded ([`super::bounded`]: a hostile server cannot make a process buffer more than a few
//! KiB per reply) and judged as every cache hit is ([`super::Lookup::judge`]). Redis is an
//! optimisation, never a dependency: down, slow (each step waits at most [`TIMEOUT`]) or
//! answering garbage, it costs one warning and the login goes on without it for the rest of
//! the process. An entry that does not open (another key, altered) is a miss, and the fetched
//! token replaces it.
//!
//! A miss can be claimed for the fleet ([`RedisCache::claim`]): the credential helpers and
//! kubelet providers of other machines then wait for the claimer's entry instead of all asking
//! AWS at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client, ConnectionAddr, ErrorKind, RedisError};
use tokio::sync::OnceCell;

use super::bounded::Bounded;
use super::seal::Sealer;
use super::{Entry, Lookup, Stored, TokenKey};

/// The longest any step (connecting, with TLS and AUTH; one command) may take.
pub(crate) const TIMEOUT: Duration = Duration::from_millis(200);

/// How long a claim to fetch a token for the fleet holds: a fetch takes well under a second,
/// and a claimer that dies frees it after this.
pub(crate) const CLAIM: Duration = Duration::from_secs(5);

/// How often a machine that lost the claim looks for the winner's entry.
const POLL: Duration = Duration::from_millis(50);

/// Every key ecr-login writes starts with this (v2: HMAC names, keys of what STS sees).
pub(crate) const PREFIX: &str = "ecr-login:v2:";

/// What `--cache` accepts, and the password in it (to register as a secret), if any.
pub(crate) fn check_url(url: &str) -> Result<Option<String>, String> {
    let parsed = ::redis::parse_redis_url(url)
        .filter(|u| matches!(u.scheme(), "redis" | "rediss" | "valkey" | "valkeys"))
        .ok_or_else(|| {
            "it is not a Redis URL: redis://[[user]:password@]host[:port][/db], or rediss://… for TLS"
                .to_string()
        })?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("it names no host".into());
    }
    Client::open(url).map_err(|e| e.to_string())?;
    Ok(parsed.password().map(
        |p| match percent_encoding::percent_decode_str(p).decode_utf8() {
            Ok(decoded) => decoded.into_owned(),
            Err(_) => p.to_string(),
        },
    ))
}

/// What to warn about in a `--cache` URL: a password that came from the command line (other
/// users of the machine can read a process's arguments), and plain `redis://` to a host that
/// is not this machine (the password and the sealed tokens cross the network in the clear).
pub(crate) fn warnings(url: &str, on_command_line: bool) -> Vec<String> {
    let Some(parsed) = ::redis::parse_redis_url(url) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if on_command_line && parsed.password().is_some() {
        out.push(format!(
            "the fleet cache URL {} holds a password and was given with --cache on the command line, where other users of this machine can read it (ps, /proc/<pid>/cmdline): set it in the ECR_LOGIN_CACHE environment variable instead",
            shown(url)
        ));
    }
    let plain = matches!(parsed.scheme(), "redis" | "valkey");
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if plain && !loopback {
        out.push(format!(
            "the fleet cache at {} is reached without TLS: its password and the sealed tokens cross the network in the clear; use rediss:// (TLS)",
            shown(url)
        ));
    }
    out
}

/// `url` with its password, if any, shown as `***`: for messages.
pub(crate) fn shown(url: &str) -> String {
    match ::redis::parse_redis_url(url) {
        Some(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Some(u) => u.to_string(),
        None => "the --cache URL".into(),
    }
}

/// The fleet cache behind one URL. Nothing touches the network until the first lookup.
pub(crate) struct RedisCache {
    client: Client,
    shown: String,
    sealer: Sealer,
    margin: Duration,
    connection: OnceCell<Option<MultiplexedConnection>>,
    /// Set after a failure: the rest of the process goes without.
    off: AtomicBool,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("url", &self.shown)
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

impl RedisCache {
    /// The cache at `url` (checked by [`check_url`]), sealing with `sealer`.
    pub(crate) fn new(url: &str, sealer: Sealer, margin: Duration) -> Result<RedisCache, String> {
        Ok(RedisCache {
            client: Client::open(url).map_err(|e| e.to_string())?,
            shown: shown(url),
            sealer,
            margin,
            connection: OnceCell::new(),
            off: AtomicBool::new(false),
        })
    }

    /// The Redis key of `key`'s token.
    pub(crate) fn name(&self, key: &TokenKey) -> String {
        format!("{PREFIX}{}", self.sealer.name_of(key.as_str().as_bytes()))
    }

    /// A digest of credentials, under a key derived from the fleet's.
    pub(crate) fn credential_digest(&self, data: &[u8]) -> String {
        self.sealer.credential_digest(data)
    }

    /// The fleet's entry for `key`, if it has one that opens with our key and that `key`
    /// admits ([`Lookup::judge`]). Never fails: any trouble is a warning and a miss.
    pub(crate) async fn get(&self, key: &TokenKey) -> Option<Entry> {
        let name = self.name(key);
        let mut get = ::redis::cmd("GET");
        get.arg(&name);
        let sealed: Option<Vec<u8>> = self.query("GET", &get).await?;
        let sealed = sealed?;
        match unseal(&self.sealer, key, &sealed) {
            Some(Lookup::Fresh(e) | Lookup::Stale(e)) => {
                tracing::debug!("fleet cache: {} found at {name}", e.registry);
                Some(e)
            }
            Some(Lookup::Miss) => None,
            None => {
                tracing::warn!(
                    "the fleet cache's entry {name} does not open with this ECR_LOGIN_CACHE_KEY (sealed with another key, or altered): treated as a miss, it will be replaced"
                );
                None
            }
        }
    }

    /// Shares `entry` with the fleet until it has only the margin of its life left. A failure
    /// is a warning: the login itself succeeded.
    pub(crate) async fn put(&self, key: &TokenKey, entry: &Entry) {
        let ttl = entry
            .expires_at
            .duration_since(SystemTime::now())
            .ok()
            .and_then(|left| left.checked_sub(self.margin))
            .filter(|ttl| ttl.as_millis() > 0);
        let Some(ttl) = ttl else {
            tracing::debug!(
                "fleet cache: {} has less than the margin left, not shared",
                entry.registry
            );
            return;
        };
        let Some(sealed) = serde_json::to_vec(&Stored::from_entry(key, entry))
            .ok()
            .and_then(|plain| self.sealer.seal(&plain, key.as_str().as_bytes()))
        else {
            tracing::warn!("fleet cache: cannot seal the entry for {}", entry.registry);
            return;
        };
        let name = self.name(key);
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let mut set = ::redis::cmd("SET");
        set.arg(&name).arg(sealed).arg("PX").arg(millis);
        let done: Option<()> = self.query("SET", &set).await;
        if done.is_some() {
            tracing::debug!(
                "fleet cache: {} shared at {name} for {} s",
                entry.registry,
                ttl.as_secs()
            );
        }
    }

    /// Claims the fetch of `key`'s token for the fleet (`SET <name>:fetching <pid> NX PX`):
    /// `true` when this process is to fetch it (the claim is won, or the fleet cache failed:
    /// then everyone fetches), `false` when another machine is fetching it now.
    pub(crate) async fn claim(&self, key: &TokenKey) -> bool {
        let mut set = ::redis::cmd("SET");
        set.arg(self.claim_name(key))
            .arg(std::process::id())
            .arg("NX")
            .arg("PX")
            .arg(u64::try_from(CLAIM.as_millis()).unwrap_or(u64::MAX));
        let won: Option<Option<String>> = self.query("SET NX", &set).await;
        // `OK` when set; nil when another machine holds the claim.
        !matches!(won, Some(None))
    }

    /// Another machine's entry for `key`, looked for every [`POLL`] until `until`, or until
    /// its claim is gone with no entry (its fetch failed: no token is coming).
    pub(crate) async fn wait_for(&self, key: &TokenKey, until: Instant) -> Option<Entry> {
        while Instant::now() < until {
            tokio::time::sleep(POLL).await;
            if let Some(e) = self.get(key).await {
                return Some(e);
            }
            if self.off.load(Ordering::Relaxed) {
                return None;
            }
            if !self.claimed(key).await {
                // Shared just before the claim went, or not at all.
                return self.get(key).await;
            }
        }
        tracing::debug!("fleet cache: no entry for {} came in time", self.name(key));
        None
    }

    /// Whether some machine holds the claim to fetch `key`'s token (`false` when the fleet
    /// cache fails: nothing to wait for then).
    async fn claimed(&self, key: &TokenKey) -> bool {
        let mut exists = ::redis::cmd("EXISTS");
        exists.arg(self.claim_name(key));
        let n: Option<i64> = self.query("EXISTS", &exists).await;
        n.is_some_and(|n| n > 0)
    }

    /// Gives up a claim: the token is shared, or the fetch failed and the others fetch their
    /// own.
    pub(crate) async fn release(&self, key: &TokenKey) {
        let mut del = ::redis::cmd("DEL");
        del.arg(self.claim_name(key));
        let _: Option<i64> = self.query("DEL", &del).await;
    }

    /// The Redis key of the claim to fetch `key`'s token.
    fn claim_name(&self, key: &TokenKey) -> String {
        format!("{}:fetching", self.name(key))
    }

    /// `cmd`'s answer, on the connection (made on first use), waited for at most [`TIMEOUT`];
    /// `None` when the fleet cache is off or the step failed (see [`RedisCache::step`]).
    async fn query<T: ::redis::FromRedisValue>(&self, what: &str, cmd: &::redis::Cmd) -> Option<T> {
        let mut conn = self.connection().await?;
        self.step(
            what,
            tokio::time::timeout(TIMEOUT, cmd.query_async(&mut conn)),
        )
        .await
    }

    /// The connection, made on first use (at most [`TIMEOUT`], TLS and AUTH included).
    async fn connection(&self) -> Option<MultiplexedConnection> {
        if self.off.load(Ordering::Relaxed) {
            return None;
        }
        self.connection
            .get_or_init(|| async {
                self.step("connect", tokio::time::timeout(TIMEOUT, self.connect()))
                    .await
            })
            .await
            .clone()
            .filter(|_| !self.off.load(Ordering::Relaxed))
    }

    /// The outcome of one step; a failure is a warning, and, unless it is a refusal that
    /// concerns this key only, the end of the fleet cache for this process.
    async fn step<T>(
        &self,
        what: &str,
        step: impl std::future::Future<
            Output = Result<Result<T, RedisError>, tokio::time::error::Elapsed>,
        >,
    ) -> Option<T> {
        let problem = match step.await {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(e)) if matches!(e.kind(), ErrorKind::Server(_)) && what != "connect" => {
                tracing::warn!("the fleet cache at {} refused {what}: {e}", self.shown);
                return None;
            }
            Ok(Err(e)) if !e.is_timeout() => e.to_string(),
            Ok(Err(_)) | Err(_) => format!("no answer within {} ms", TIMEOUT.as_millis()),
        };
        if !self.off.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "the fleet cache at {} failed ({what}: {problem}): going on without it",
                self.shown
            );
        }
        None
    }
}

/// What a value read back for `key` holds: `None` when it does not open (another fleet key,
/// altered, not ours at all); else the entry as judged for `key` (a miss when `key` does not
/// admit it or it has expired). Any bytes: never a panic.
fn unseal(sealer: &Sealer, key: &TokenKey, sealed: &[u8]) -> Option<Lookup> {
    let entry = sealer
        .open(sealed, key.as_str().as_bytes())
        .and_then(|plain| Stored::parse(&plain, Some(key)))?;
    Some(Lookup::judge(entry, key, SystemTime::now(), Duration::ZERO))
}

impl RedisCache {
    /// A connection whose replies are bounded ([`Bounded`]): TCP, then TLS for `rediss://`
    /// (the process's CA bundle), then AUTH and SELECT as the URL says.
    async fn connect(&self) -> Result<MultiplexedConnection, RedisError> {
        let info = self.client.get_connection_info();
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let tcp = |host: &str, port: u16| {
            let addr = (host.to_string(), port);
            async move {
                let stream = tokio::net::TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                Ok::<_, std::io::Error>(stream)
            }
        };
        let settings = info.redis_settings();
        let (connection, driver) = match info.addr() {
            ConnectionAddr::Tcp(host, port) => {
                let stream = Bounded::new(tcp(host, *port).await?);
                let (c, d) =
                    MultiplexedConnection::new_with_config(settings, stream, config).await?;
                (
                    c,
                    Box::pin(d) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
                )
            }
            ConnectionAddr::TcpTls {
                host,
                port,
                insecure: false,
                ..
            } => {
                let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("{host:?} is not a host name to check a certificate against"),
                    )
                })?;
                let tls = tokio_rustls::TlsConnector::from(crate::tls::redis_client_config())
                    .connect(name, tcp(host, *port).await?)
                    .await?;
                let (c, d) =
                    MultiplexedConnection::new_with_config(settings, Bounded::new(tls), config)
                        .await?;
                (c, Box::pin(d) as _)
            }
            _ => {
                return Err(RedisError::from((
                    ErrorKind::InvalidClientConfig,
                    "only redis:// and rediss:// with a checked certificate are supported (drop #insecure from the URL, and trust the server's CA with SSL_CERT_FILE)",
                )))
            }
        };
        tokio::spawn(driver);
        Ok(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    fn sealer() -> Sealer {
        Sealer::new(&Secret::new("q83vEjRWeJq8/ur/ABEiM0RVZneImaq7zN3u/wARIjM=")).unwrap()
    }

    #[test]
    fn a_sealed_entry_with_an_absurd_expiry_or_another_host_is_not_served() {
        let key = TokenKey::raw("k", HOST);
        let seal = |v: serde_json::Value| sealer().seal(v.to_string().as_bytes(), b"k").unwrap();
        let entry = |registry: &str, expires: serde_json::Value| {
            serde_json::json!({"v": super::super::FORMAT_VERSION, "key": "k", "registry": registry,
                "username": "AWS", "password": "p", "expires_at": expires,
                "identity": null, "sub": null})
        };
        let good = seal(entry(HOST, serde_json::json!(u32::MAX)));
        assert!(matches!(
            unseal(&sealer(), &key, &good),
            Some(Lookup::Fresh(_))
        ));
        for absurd in [serde_json::json!(u64::MAX), serde_json::json!(1e300)] {
            assert!(unseal(&sealer(), &key, &seal(entry(HOST, absurd))).is_none());
        }
        let elsewhere = seal(entry("registry.evil.example", serde_json::json!(u32::MAX)));
        assert!(matches!(
            unseal(&sealer(), &key, &elsewhere),
            Some(Lookup::Miss)
        ));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_bytes_from_redis_open_to_nothing_and_any_sealed_text_never_panics(
                bytes in prop::collection::vec(any::<u8>(), 0..300),
                plain in prop::collection::vec(any::<u8>(), 0..300),
            ) {
                let key = TokenKey::raw("k", HOST);
                // Not sealed with the fleet's key: nothing, whatever the bytes.
                prop_assert!(unseal(&sealer(), &key, &bytes).is_none());
                // Sealed with it, any plain text: judged or refused, never a panic.
                let sealed = sealer().seal(&plain, b"k").unwrap();
                let _ = unseal(&sealer(), &key, &sealed);
            }
        }
    }

    #[test]
    fn urls() {
        assert_eq!(check_url("redis://127.0.0.1:6379"), Ok(None));
        assert_eq!(
            check_url("rediss://default:s%40cret-pw@cache.example.com:6380/0"),
            Ok(Some("s@cret-pw".into()))
        );
        assert_eq!(
            check_url("redis://:only-a-password@10.0.0.1"),
            Ok(Some("only-a-password".into()))
        );
        assert!(check_url("http://cache.example.com").is_err());
        assert!(check_url("unix:///run/redis.sock").is_err());
        assert!(check_url("cache.example.com:6379").is_err());
        assert_eq!(
            shown("rediss://default:s%40cret-pw@cache.example.com:6380/0"),
            "rediss://default:***@cache.example.com:6380/0"
        );
        assert_eq!(shown("redis://10.0.0.1:6379"), "redis://10.0.0.1:6379");
    }
}
