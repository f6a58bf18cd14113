//! Audit and metrics: what each `login`, credential-helper `get` and kubelet request
//! did, for the people who run ecr-login on many jobs and hosts.
//!
//! The layers report what they do as it happens, through the small hooks below (AWS calls from
//! `aws/`, token cache lookups from `cache/`, the role and token `sub` from `aws::sts`), into
//! one process-wide [`Observed`]. When the command ends, `lib.rs` hands its outcome to
//! [`Run::finish`], which writes what was asked for: an audit line (`audit`), the Prometheus
//! textfile (`metrics`), and on failure a chat message (`webhook`). Nothing is written, and no
//! time is spent, unless a flag asks for it; a failure to write any of them is a warning that
//! never changes the command's own result or exit code. No secret is ever written: only names,
//! ARNs, claims and counts are recorded, and every text goes through the secret registry's
//! redaction on its way out.

pub(crate) mod audit;
pub(crate) mod metrics;
pub(crate) mod webhook;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crate::error::Error;
use crate::output::Printer;
use crate::secret::Secret;

/// The commands that are recorded: the ones that hand out registry credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Command {
    Login,
    /// `credential-helper get` (the other actions hand out nothing and are not recorded).
    CredentialHelper,
    Kubelet,
}

impl Command {
    /// The command's name as the user types it (the `command` label).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Command::Login => "login",
            Command::CredentialHelper => "credential-helper",
            Command::Kubelet => "kubelet-credential-provider",
        }
    }
}

/// AWS services, as the `service` label names them.
pub(crate) const STS: &str = "sts";
pub(crate) const ECR: &str = "ecr";
pub(crate) const ECR_PUBLIC: &str = "ecr-public";

/// Every AWS call ecr-login makes, `(service, operation)`: the metrics file carries each at
/// zero until it happens.
pub(crate) const AWS_OPERATIONS: &[(&str, &str)] = &[
    (STS, "AssumeRoleWithWebIdentity"),
    (STS, "AssumeRole"),
    (STS, "GetCallerIdentity"),
    (ECR, "GetAuthorizationToken"),
    (ECR_PUBLIC, "GetAuthorizationToken"),
];

/// How a token cache lookup came out (the `result` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CacheResult {
    /// Valid beyond the margin: served without any AWS call.
    Hit,
    /// Valid but inside the refresh margin: refreshed (served only if the refresh fails).
    Stale,
    /// Nothing usable.
    Miss,
}

impl CacheResult {
    pub(crate) const ALL: [CacheResult; 3] =
        [CacheResult::Hit, CacheResult::Stale, CacheResult::Miss];

    pub(crate) fn name(self) -> &'static str {
        match self {
            CacheResult::Hit => "hit",
            CacheResult::Stale => "stale",
            CacheResult::Miss => "miss",
        }
    }
}

/// A registry token handed out (from ECR or from the cache): where, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub host: String,
    pub expires_at: Option<SystemTime>,
}

/// What the hooks saw in this process.
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    /// `(service, operation, succeeded)` -> calls.
    pub aws_calls: BTreeMap<(&'static str, &'static str, bool), u64>,
    pub cache: BTreeMap<CacheResult, u64>,
    /// The last role assumed (the one whose credentials the command used).
    pub role: Option<String>,
    /// The `sub` of the web identity token exchanged (a claim, not the token).
    pub sub: Option<String>,
    /// The ARN the credentials belong to (the assumed role session), from STS or the cache.
    pub identity: Option<String>,
    /// The registry hosts ECR was asked for.
    pub requested: Vec<String>,
    /// The tokens ECR issued.
    pub issued: Vec<Token>,
    /// The usable tokens the cache had (hit or stale).
    pub cached: Vec<Token>,
}

impl Observed {
    const EMPTY: Observed = Observed {
        aws_calls: BTreeMap::new(),
        cache: BTreeMap::new(),
        role: None,
        sub: None,
        identity: None,
        requested: Vec::new(),
        issued: Vec::new(),
        cached: Vec::new(),
    };

    /// The tokens the command handed out: the ones ECR issued, else the cache's.
    pub(crate) fn tokens(&self) -> &[Token] {
        if self.issued.is_empty() {
            &self.cached
        } else {
            &self.issued
        }
    }

    /// Whether the credentials came from the cache alone (no token was fetched).
    pub(crate) fn cache_hit(&self) -> bool {
        self.issued.is_empty() && !self.cached.is_empty()
    }

    /// The registry hosts of the tokens handed out, else those asked for.
    pub(crate) fn registries(&self) -> Vec<String> {
        let tokens = self.tokens();
        if tokens.is_empty() {
            return self.requested.clone();
        }
        let mut hosts: Vec<String> = Vec::new();
        for t in tokens {
            if !hosts.contains(&t.host) {
                hosts.push(t.host.clone());
            }
        }
        hosts
    }

    /// The earliest expiry of the tokens handed out.
    pub(crate) fn earliest_expiry(&self) -> Option<SystemTime> {
        self.tokens().iter().filter_map(|t| t.expires_at).min()
    }
}

static OBSERVED: Mutex<Observed> = Mutex::new(Observed::EMPTY);

fn observed() -> MutexGuard<'static, Observed> {
    // A panic elsewhere while holding the lock leaves counts that are still counts.
    OBSERVED.lock().unwrap_or_else(|e| e.into_inner())
}

/// A copy of what was observed so far.
pub(crate) fn snapshot() -> Observed {
    observed().clone()
}

/// Hook: one AWS API call (each attempt our code makes; the SDK's own retries inside one
/// attempt are not seen).
pub(crate) fn aws_call(service: &'static str, operation: &'static str, succeeded: bool) {
    *observed()
        .aws_calls
        .entry((service, operation, succeeded))
        .or_default() += 1;
}

/// Hook: a role is being assumed; `sub` is the web identity token's subject, if one is used.
pub(crate) fn assuming(role: &str, sub: Option<String>) {
    let mut o = observed();
    o.role = Some(role.to_string());
    if sub.is_some() {
        o.sub = sub;
    }
}

/// Hook: the credentials in use belong to `arn`.
pub(crate) fn identity(arn: &str) {
    observed().identity = Some(arn.to_string());
}

/// Hook: a token cache lookup, and the usable token it found (with the identity it was issued
/// to, and the `sub` of the CI token it was fetched with).
pub(crate) fn cache_lookup(
    result: CacheResult,
    found: Option<(Token, Option<String>, Option<String>)>,
) {
    let mut o = observed();
    *o.cache.entry(result).or_default() += 1;
    if let Some((token, identity, sub)) = found {
        if o.identity.is_none() {
            o.identity = identity;
        }
        if o.sub.is_none() {
            o.sub = sub;
        }
        if !o.cached.contains(&token) {
            o.cached.push(token);
        }
    }
}

/// Hook: ECR is asked for these registries' tokens.
pub(crate) fn tokens_requested(hosts: impl IntoIterator<Item = String>) {
    let mut o = observed();
    for h in hosts {
        if !o.requested.contains(&h) {
            o.requested.push(h);
        }
    }
}

/// Hook: ECR issued these tokens.
pub(crate) fn tokens_issued(tokens: impl IntoIterator<Item = Token>) {
    let mut o = observed();
    for t in tokens {
        if !o.issued.contains(&t) {
            o.issued.push(t);
        }
    }
}

/// Where the audit lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuditTarget {
    /// `-`: standard error (a kubelet's or a CI job's log).
    Stderr,
    /// Appended to this file (created 0600).
    File(PathBuf),
}

/// What to write, as the configuration settled it. Empty: nothing is recorded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    pub audit_log: Option<AuditTarget>,
    /// `--metrics-file`: a `*.prom` file.
    pub metrics_file: Option<PathBuf>,
    /// `--notify-webhook`: the URL holds a token of its own (Slack's do), so it is a secret.
    pub webhook: Option<Secret>,
    /// The CI job's page, where the platform gives one (for the audit line and the webhook).
    pub job_url: Option<String>,
}

impl Settings {
    pub(crate) fn is_empty(&self) -> bool {
        self.audit_log.is_none() && self.metrics_file.is_none() && self.webhook.is_none()
    }
}

/// Who is being recorded: the command, the platform it runs on, the role it was told to use.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub command: Command,
    /// The platform's name (`unknown` when the configuration failed before it was chosen).
    pub platform: &'static str,
    /// The role the settings name (the last of a chain), for when no STS call was made.
    pub role: Option<String>,
}

/// How a recorded command ended, short of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Credentials were handed out.
    Success,
    /// The credential helper's "not found" for a host that is not ECR's: no login, no failure.
    NotFound,
}

/// One command's recording: started when the command line was read, finished with its outcome.
#[derive(Debug)]
pub(crate) struct Run {
    pub settings: Settings,
    pub subject: Subject,
    started: Instant,
}

impl Run {
    pub(crate) fn new(settings: Settings, subject: Subject) -> Run {
        Run {
            settings,
            subject,
            started: Instant::now(),
        }
    }

    /// Writes the audit line, the metrics file and (on failure) the webhook message, as asked.
    /// Each failure is a warning: the command's result and exit code stay what they are.
    pub(crate) fn finish(&self, result: Result<Ended, &Error>, printer: &Printer) {
        if self.settings.is_empty() {
            return;
        }
        let observed = snapshot();
        let record = audit::Record::new(
            &self.subject,
            self.settings.job_url.as_deref(),
            &observed,
            result,
            SystemTime::now(),
            self.started.elapsed(),
        );
        if let Some(target) = &self.settings.audit_log {
            if let Err(e) = audit::append(target, &record, printer) {
                printer.warn(&format!("could not append to the audit log: {e}"));
            }
        }
        if let Some(path) = &self.settings.metrics_file {
            if let Err(e) = metrics::update(path, &record, &observed, SystemTime::now()) {
                printer.warn(&format!(
                    "could not write the metrics file {}: {e}",
                    path.display()
                ));
            }
        }
        if let (Some(url), Err(error)) = (&self.settings.webhook, result) {
            let message = webhook::message(&record, error);
            if let Err(why) = webhook::send(url, &message, webhook::TIMEOUT) {
                printer.warn(&format!(
                    "the failure notification (--notify-webhook) was not delivered: {why}"
                ));
            }
        }
    }
}

/// `t` as RFC 3339 in UTC, to the second (the precision the token cache keeps expiries in).
pub(crate) fn rfc3339(t: SystemTime) -> String {
    aws_smithy_types::DateTime::from_secs(unix_seconds(t).floor() as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// Unix seconds of `t` (0 before the epoch).
pub(crate) fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(host: &str, secs: u64) -> Token {
        Token {
            host: host.into(),
            expires_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)),
        }
    }

    #[test]
    fn issued_tokens_win_over_cached_ones() {
        let mut o = Observed::EMPTY;
        o.requested = vec!["a".into(), "b".into()];
        assert_eq!(o.registries(), ["a", "b"]);
        assert!(!o.cache_hit());
        o.cached = vec![token("a", 50)];
        assert!(o.cache_hit());
        assert_eq!(o.registries(), ["a"]);
        o.issued = vec![token("b", 300), token("a", 200), token("b", 300)];
        assert!(!o.cache_hit());
        assert_eq!(o.registries(), ["b", "a"]);
        assert_eq!(
            o.earliest_expiry(),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(200))
        );
    }
}
