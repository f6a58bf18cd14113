//! `ecr-login status`: every ECR login in the auth files Docker and Podman read (and the ones
//! `--auth-file` names) and in the token cache: where it is kept, as whom, until when, whether it
//! still holds, and which entries Podman, Buildah and skopeo would use instead of another.
//!
//! It only reads: no AWS call, and no credential helper is asked (`get` could make the user's
//! keychain prompt), so a login kept in a helper has an unknown expiry. An expiry comes from the
//! cache when the cache holds the same password, else from the token itself (an ECR password is
//! base64 JSON with an `expiration` in unix seconds), else it is unknown.
//!
//! Exit code: 0 when every login in an auth file is valid beyond `--within` (or its expiry is
//! unknown); 1 when one has expired or expires within it. Cache entries are listed but never
//! count: an expired one is never served.

use crate::docker::auth_files::Locations;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use base64::Engine;
use serde::Serialize;

use crate::aws::registry;
use crate::cache::{Entry, FileCache};
use crate::docker::auth_files::{self, AuthFile, FileLogin};
use crate::error::{Error, StatusError};
use crate::output::{rfc3339, Printer, Report};
use crate::secret::Secret;

/// `status`'s settings.
#[derive(Debug)]
pub(crate) struct StatusConfig {
    /// The auth files Docker and Podman read, and `--auth-file`.
    pub auth_files: Locations,
    /// The token cache's directory, if there is one.
    pub cache_dir: Option<PathBuf>,
    /// A login expiring within this is as bad as an expired one.
    pub within: Duration,
}

/// What `status` found.
#[derive(Debug, Serialize)]
pub(crate) struct StatusReport {
    /// `--within`, in seconds.
    pub within_seconds: u64,
    /// No login in an auth file has expired or expires within `--within`.
    pub ok: bool,
    /// The auth files looked at (existing or not), in the order described above.
    pub auth_files: Vec<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub logins: Vec<LoginStatus>,
}

/// Where a login is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Source {
    /// In the auth file itself (`auths`).
    AuthFile,
    /// In a credential helper the auth file names (`credHelpers`, `credsStore`).
    CredentialHelper,
    /// Only in the token cache.
    Cache,
}

/// Whether a login still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum State {
    Valid,
    /// Valid now, but it expires within `--within`.
    Expiring,
    Expired,
    Unknown,
}

/// One login.
#[derive(Debug, Serialize)]
pub(crate) struct LoginStatus {
    /// The registry host.
    pub registry: String,
    /// The key as the file has it (a scheme, or a Podman `host/namespace`, are kept).
    pub key: String,
    pub source: Source,
    /// The auth file, or the cache directory.
    pub path: PathBuf,
    /// `docker-credential-<helper>` keeps it.
    pub helper: Option<String>,
    /// Who reads this file for the registry: `docker`, `podman` (Podman, Buildah, skopeo).
    pub read_by: Vec<&'static str>,
    pub username: Option<String>,
    /// The identity the token was issued to, when the cache knows it.
    pub identity: Option<String>,
    /// RFC 3339.
    pub expires_at: Option<String>,
    /// `cache` or `token`: where the expiry comes from.
    pub expiry_from: Option<&'static str>,
    pub state: State,
    /// Podman, Buildah and skopeo read this file first, and it holds another login for the
    /// registry: they use that one, not this.
    pub shadowed_by: Option<PathBuf>,
    /// The files whose login for the registry this entry hides from Podman.
    pub shadows: Vec<PathBuf>,
    /// Only to compare entries; never printed.
    #[serde(skip)]
    password: Option<Secret>,
}

impl LoginStatus {
    /// Counts for the exit code: it is in an auth file a tool reads or the user named.
    fn counts(&self) -> bool {
        self.source != Source::Cache
    }
}

impl Report for StatusReport {
    fn human(&self) -> Vec<String> {
        if self.logins.is_empty() {
            let mut lines = vec!["No ECR logins found. Looked in:".to_string()];
            lines.extend(self.auth_files.iter().map(|p| format!("  {}", p.display())));
            if let Some(d) = &self.cache_dir {
                lines.push(format!("  {} (token cache)", d.display()));
            }
            return lines;
        }
        let now = SystemTime::now();
        let mut lines = Vec::new();
        for l in &self.logins {
            let state = match l.state {
                State::Valid => "valid",
                State::Expiring => "expiring",
                State::Expired => "EXPIRED",
                State::Unknown => "unknown",
            };
            let when = match (&l.expires_at, l.state) {
                (None, _) => "expiry unknown".to_string(),
                (Some(at), State::Expired) => {
                    format!("expired {at}{}", ago(parse_rfc3339(at), now))
                }
                (Some(at), _) => format!("until {at}{}", left(parse_rfc3339(at), now)),
            };
            let place = match (l.source, &l.helper) {
                (Source::Cache, _) => format!("cached in {} (in no auth file)", l.path.display()),
                (_, Some(h)) => format!("in docker-credential-{h} (named by {})", l.path.display()),
                _ => format!("in {}", l.path.display()),
            };
            let key = if l.key == l.registry {
                String::new()
            } else {
                format!(" (as {:?})", l.key)
            };
            lines.push(format!("{state:<8} {}{key}  {when}  {place}", l.registry));
            if let Some(id) = &l.identity {
                lines.push(format!("         as {id}"));
            }
            if let Some(by) = &l.shadowed_by {
                lines.push(format!(
                    "         warning: Podman, Buildah and skopeo do not use it: they use the other login for it in {}",
                    by.display()
                ));
            }
            for hidden in &l.shadows {
                lines.push(format!(
                    "         warning: Podman, Buildah and skopeo use this one, not the login for it in {}",
                    hidden.display()
                ));
            }
        }
        let count = |s: State| {
            self.logins
                .iter()
                .filter(|l| l.counts() && l.state == s)
                .count()
        };
        let mut summary = format!(
            "{} valid, {} expiring within {}, {} expired, {} unknown",
            count(State::Valid),
            count(State::Expiring),
            duration_text(Duration::from_secs(self.within_seconds)),
            count(State::Expired),
            count(State::Unknown),
        );
        let cached = self.logins.iter().filter(|l| !l.counts()).count();
        if cached > 0 {
            summary.push_str(&format!(" (+{cached} only in the token cache)"));
        }
        lines.push(summary);
        lines
    }
}

/// Runs `status`: prints the report, then fails (exit 1) if a login does not hold.
pub(crate) fn run(cfg: &StatusConfig, printer: &Printer) -> Result<(), Error> {
    let files = cfg.auth_files.all();
    let cached: Vec<Entry> = match &cfg.cache_dir {
        // Only read: nothing created, changed or swept; a directory others can reach is not
        // read at all.
        Some(dir) if dir.is_dir() => FileCache::inspect(dir)
            .map(|c| c.entries())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let now = SystemTime::now();
    let mut used = vec![false; cached.len()];
    let mut logins = Vec::new();
    for file in &files {
        for login in auth_files::logins(file)? {
            let Ok(reg) = registry::parse(&login.key, None, true) else {
                continue;
            };
            logins.push(from_file(
                file,
                login,
                reg.host().to_string(),
                &cached,
                &mut used,
                now,
                cfg.within,
            ));
        }
    }
    for (entry, _) in cached.iter().zip(&used).filter(|(_, used)| !**used) {
        logins.push(LoginStatus {
            registry: entry.registry.clone(),
            key: entry.registry.clone(),
            source: Source::Cache,
            path: cfg.cache_dir.clone().unwrap_or_default(),
            helper: None,
            read_by: Vec::new(),
            username: Some(entry.username.clone()),
            identity: entry.identity.clone(),
            expires_at: Some(rfc3339(entry.expires_at)),
            expiry_from: Some("cache"),
            state: state(Some(entry.expires_at), now, cfg.within),
            shadowed_by: None,
            shadows: Vec::new(),
            password: None,
        });
    }
    mark_shadowing(&files, &mut logins);
    // Grouped by registry, each group in the order the files were listed.
    logins.sort_by(|a, b| a.registry.cmp(&b.registry));

    let failing = |s: State| logins.iter().filter(|l| l.counts() && l.state == s).count();
    let (expired, expiring) = (failing(State::Expired), failing(State::Expiring));
    let mut shadowing: Vec<PathBuf> = Vec::new();
    for l in &logins {
        if let Some(by) = &l.shadowed_by {
            if !shadowing.contains(by) {
                shadowing.push(by.clone());
            }
        }
    }
    let report = StatusReport {
        within_seconds: cfg.within.as_secs(),
        ok: expired + expiring == 0,
        auth_files: files.iter().map(|f| f.path.clone()).collect(),
        cache_dir: cfg.cache_dir.clone(),
        logins,
    };
    printer.report(&report);
    if report.ok {
        return Ok(());
    }
    Err(StatusError {
        expired,
        expiring,
        within: duration_text(cfg.within),
        shadowing,
    }
    .into())
}

/// The status of `login`, found in `file` for the registry `host`; a cache entry with the
/// same password gives its identity and expiry (and is marked `used`).
fn from_file(
    file: &AuthFile,
    login: FileLogin,
    host: String,
    cached: &[Entry],
    used: &mut [bool],
    now: SystemTime,
    within: Duration,
) -> LoginStatus {
    let mut read_by = Vec::new();
    if file.docker {
        read_by.push("docker");
    }
    if file.podman.is_some() {
        read_by.push("podman");
    }
    let hit = login.password.as_ref().and_then(|pw| {
        cached
            .iter()
            .position(|e| e.registry == host && e.password.expose() == pw.expose())
    });
    let (identity, expires, from) = match hit {
        Some(i) => {
            used[i] = true;
            let e = &cached[i];
            (e.identity.clone(), Some(e.expires_at), Some("cache"))
        }
        None => {
            let t = login
                .password
                .as_ref()
                .and_then(|p| token_expiry(p.expose()));
            (None, t, t.map(|_| "token"))
        }
    };
    LoginStatus {
        registry: host,
        key: login.key,
        source: if login.helper.is_some() {
            Source::CredentialHelper
        } else {
            Source::AuthFile
        },
        path: file.path.clone(),
        helper: login.helper,
        read_by,
        username: login.username,
        identity,
        expires_at: expires.map(rfc3339),
        expiry_from: from,
        state: state(expires, now, within),
        shadowed_by: None,
        shadows: Vec::new(),
        password: login.password,
    }
}

/// How a login with this expiry stands at `now`.
fn state(expires: Option<SystemTime>, now: SystemTime, within: Duration) -> State {
    match expires {
        None => State::Unknown,
        Some(t) if t <= now => State::Expired,
        Some(t) if now.checked_add(within).is_none_or(|limit| t <= limit) => State::Expiring,
        Some(_) => State::Valid,
    }
}

/// The expiry an ECR password carries: it is base64 of a JSON envelope
/// (`{"payload": .., "datakey": .., "version": "2", "type": "DATA_KEY", "expiration": <unix s>}`).
pub(crate) fn token_expiry(password: &str) -> Option<SystemTime> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let bytes = engine.decode(password.trim()).ok()?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let secs = doc.get("expiration")?.as_f64()?;
    // Checked: `1e300` (or NaN) is no time, not an abort.
    let since_epoch = Duration::try_from_secs_f64(secs).ok()?;
    (secs > 0.0)
        .then(|| SystemTime::UNIX_EPOCH.checked_add(since_epoch))
        .flatten()
}

/// Flags, for Podman, Buildah and skopeo, every login that an entry in a file they read
/// earlier (or a more specific `host/namespace` key in the same file) hides with other
/// credentials.
fn mark_shadowing(files: &[AuthFile], logins: &mut [LoginStatus]) {
    let rank = |l: &LoginStatus| {
        files
            .iter()
            .find(|f| f.path == l.path)
            .and_then(|f| f.podman)
    };
    let namespaced =
        |l: &LoginStatus| l.key.trim_end_matches('/').contains('/') && !l.key.contains("://");
    let mut marks: Vec<(usize, usize)> = Vec::new();
    for (i, hidden) in logins.iter().enumerate() {
        let Some(r) = rank(hidden) else { continue };
        for (j, front) in logins.iter().enumerate() {
            let Some(q) = rank(front) else { continue };
            let in_front = q < r || (q == r && namespaced(front) && !namespaced(hidden));
            if i != j && front.registry == hidden.registry && in_front && differ(front, hidden) {
                marks.push((i, j));
                break;
            }
        }
    }
    for (i, j) in marks {
        let (front_path, hidden_path) = (logins[j].path.clone(), logins[i].path.clone());
        logins[i].shadowed_by = Some(front_path);
        if !logins[j].shadows.contains(&hidden_path) {
            logins[j].shadows.push(hidden_path);
        }
    }
}

/// Two logins for a registry that are not the same credentials (the same token written to
/// two files, as `login` keeps them in step, is the same).
fn differ(a: &LoginStatus, b: &LoginStatus) -> bool {
    if a.helper.is_some() || b.helper.is_some() {
        return a.helper != b.helper;
    }
    let password = |l: &LoginStatus| l.password.as_ref().map(|p| p.expose().to_string());
    a.username != b.username || password(a) != password(b)
}

fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .and_then(|d| SystemTime::try_from(d).ok())
}

/// ` (11h 59m left)`.
fn left(at: Option<SystemTime>, now: SystemTime) -> String {
    at.and_then(|t| t.duration_since(now).ok())
        .map(|d| format!(" ({} left)", duration_text(d)))
        .unwrap_or_default()
}

/// ` (3h 2m ago)`.
fn ago(at: Option<SystemTime>, now: SystemTime) -> String {
    at.and_then(|t| now.duration_since(t).ok())
        .map(|d| format!(" ({} ago)", duration_text(d)))
        .unwrap_or_default()
}

/// `11h 59m`, `5m 3s`, `42s`.
fn duration_text(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::config::Format;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn an_ecr_password_says_when_it_expires_others_do_not() {
        let pw = b64(
            r#"{"payload":"p","datakey":"d","version":"2","type":"DATA_KEY","expiration":1757147299}"#,
        );
        assert_eq!(
            token_expiry(&pw),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1757147299))
        );
        assert_eq!(token_expiry("111111111111-auth-token"), None);
        assert_eq!(token_expiry(&b64(r#"{"payload":"p"}"#)), None);
        assert_eq!(token_expiry(&b64("not json")), None);
        for absurd in ["1e300", "-1", "1.8e19", "0"] {
            let pw = b64(&format!(r#"{{"payload":"p","expiration":{absurd}}}"#));
            assert_eq!(token_expiry(&pw), None, "{absurd}");
        }
    }

    #[test]
    fn states_at_the_edges() {
        let now = SystemTime::now();
        let h = Duration::from_secs(3600);
        assert_eq!(state(None, now, h), State::Unknown);
        assert_eq!(state(Some(now), now, h), State::Expired);
        assert_eq!(state(Some(now + h), now, h), State::Expiring);
        assert_eq!(state(Some(now + h * 2), now, h), State::Valid);
        assert_eq!(state(Some(now + h), now, Duration::ZERO), State::Valid);
    }

    fn file(path: &str, podman: Option<usize>) -> AuthFile {
        AuthFile {
            path: PathBuf::from(path),
            format: Format::Containers,
            docker: podman.is_none(),
            podman,
            named: false,
        }
    }

    fn login(file: &AuthFile, key: &str, password: &str) -> LoginStatus {
        let host = key.split('/').next().unwrap_or_default().to_string();
        from_file(
            file,
            FileLogin {
                key: key.into(),
                helper: None,
                username: Some("AWS".into()),
                password: Some(Secret::new(password)),
            },
            host,
            &[],
            &mut [],
            SystemTime::now(),
            Duration::ZERO,
        )
    }

    #[test]
    fn earlier_files_and_namespaced_keys_shadow_other_credentials_only() {
        let runtime = file("/run/auth.json", Some(0));
        let docker = file("/d/config.json", Some(1));
        let named = file("/n/auth.json", None);
        let h = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
        let mut logins = vec![
            login(&docker, h, "status-password-new"),
            login(&runtime, h, "status-password-old"),
            login(&named, h, "status-password-other"),
        ];
        mark_shadowing(
            &[runtime.clone(), docker.clone(), named.clone()],
            &mut logins,
        );
        assert_eq!(
            logins[0].shadowed_by.as_deref(),
            Some(runtime.path.as_path())
        );
        assert_eq!(logins[1].shadows, vec![docker.path.clone()]);
        assert!(
            logins[2].shadowed_by.is_none(),
            "Podman does not read a named file"
        );

        // The same token in both files (as login keeps them): nothing to flag.
        let mut same = vec![
            login(&docker, h, "status-password-same"),
            login(&runtime, h, "status-password-same"),
        ];
        mark_shadowing(&[runtime.clone(), docker.clone()], &mut same);
        assert!(same
            .iter()
            .all(|l| l.shadowed_by.is_none() && l.shadows.is_empty()));

        // A `host/namespace` key wins over the host's own, in the same file.
        let mut ns = vec![
            login(&docker, h, "status-password-host"),
            login(&docker, &format!("{h}/team/app"), "status-password-ns"),
        ];
        mark_shadowing(std::slice::from_ref(&docker), &mut ns);
        assert_eq!(ns[0].shadowed_by.as_deref(), Some(docker.path.as_path()));
        assert!(ns[1].shadowed_by.is_none());
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration_text(Duration::from_secs(42)), "42s");
        assert_eq!(duration_text(Duration::from_secs(303)), "5m 3s");
        assert_eq!(duration_text(Duration::from_secs(43140)), "11h 59m");
    }
}
