//! `--audit-log FILE` (or `-`): one JSON line per login, credential-helper `get` and kubelet
//! request: when, which command on which platform, as whom (the identity ARN, the token's
//! `sub`, the role), which registries until when, whether the cache answered, how it ended
//! (the error class and message) and how long it took. Never a secret: the record holds no
//! credential field, and the finished line goes through the secret registry's redaction too.
//!
//! A line is appended with one `write` on a file opened for appending, so lines from
//! concurrent processes (Docker runs many helpers at once) never interleave.
//!
//! On Unix the file is opened without following a symlink (`O_NOFOLLOW`) and refused when
//! another user owns it: ecr-login often runs as root (a kubelet's provider, a CI host's
//! helper), and a link or a file planted by someone else would have it append to a file of
//! their choosing, or to one they can rewrite. Either is a warning like any other failure to
//! append, and nothing is written.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{rfc3339, unix_seconds, AuditTarget, Ended, Observed, Subject};
use crate::error::Error;
use crate::output::Printer;
use crate::secret;

/// One audit line (also what the metrics and the webhook message are made from).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Record {
    /// RFC 3339, UTC.
    pub time: String,
    pub command: &'static str,
    pub platform: &'static str,
    /// The ARN the credentials belong to (an assumed-role session); `null` when not known
    /// (the credential chain's own credentials).
    pub identity: Option<String>,
    /// The web identity token's `sub`; `null` without one (or on a cache hit for a token the
    /// platform would have had to issue).
    pub sub: Option<String>,
    pub role: Option<String>,
    pub registries: Vec<String>,
    /// The earliest expiry of the tokens handed out, RFC 3339.
    pub expires_at: Option<String>,
    pub cache_hit: bool,
    /// `success`, `failure`, or `not_found` (the credential helper asked about a host that is
    /// not ECR's).
    pub result: &'static str,
    /// [`Error::class`] of a failure.
    pub error_class: Option<&'static str>,
    /// The error message of a failure, redacted.
    pub error: Option<String>,
    pub exit_code: i32,
    pub duration_seconds: f64,
    pub job_url: Option<String>,
    pub version: &'static str,
    /// For the metrics: the earliest expiry as Unix seconds.
    #[serde(skip)]
    pub expires_at_unix: Option<f64>,
    /// For the metrics: when it ended, as Unix seconds.
    #[serde(skip)]
    pub time_unix: f64,
}

impl Record {
    pub(crate) fn new(
        subject: &Subject,
        job_url: Option<&str>,
        observed: &Observed,
        result: Result<Ended, &Error>,
        now: SystemTime,
        duration: Duration,
    ) -> Record {
        let expiry = observed.earliest_expiry();
        let redact = |s: String| secret::registry().redact(&s).into_owned();
        Record {
            time: rfc3339(now),
            command: subject.command.name(),
            platform: subject.platform,
            identity: observed.identity.clone(),
            sub: observed.sub.clone(),
            role: observed.role.clone().or_else(|| subject.role.clone()),
            registries: observed.registries(),
            expires_at: expiry.map(rfc3339),
            cache_hit: result.is_ok() && observed.cache_hit(),
            result: match result {
                Ok(Ended::Success) => "success",
                Ok(Ended::NotFound) => "not_found",
                Err(_) => "failure",
            },
            error_class: result.err().map(|e| e.class().name()),
            error: result.err().map(|e| redact(e.to_string())),
            exit_code: match result {
                Ok(Ended::Success) => crate::error::exit::OK,
                // The helper protocol's "not found", and any helper failure, exit 1.
                Ok(Ended::NotFound) => 1,
                Err(_) if subject.command == super::Command::CredentialHelper => 1,
                Err(e) => e.exit_code(),
            },
            duration_seconds: (duration.as_secs_f64() * 1000.0).round() / 1000.0,
            job_url: job_url.map(str::to_string),
            version: env!("CARGO_PKG_VERSION"),
            expires_at_unix: expiry.map(unix_seconds),
            time_unix: unix_seconds(now),
        }
    }

    #[cfg(test)]
    pub(crate) fn succeeded(&self) -> bool {
        self.result == "success"
    }

    /// The record as one line of JSON, redacted.
    pub(crate) fn line(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        format!("{}\n", secret::registry().redact(&text))
    }
}

/// Appends `record` to the audit log.
pub(crate) fn append(
    target: &AuditTarget,
    record: &Record,
    printer: &Printer,
) -> std::io::Result<()> {
    let line = record.line();
    match target {
        AuditTarget::Stderr => {
            printer.stderr_line(line.trim_end());
            Ok(())
        }
        // Created 0600, never through a symlink, and only when this process's user owns it;
        // one write, so the kernel appends it whole, whoever else is appending.
        AuditTarget::File(path) => {
            let how = crate::fs::Append {
                mode: 0o600,
                no_follow: true,
                ours: true,
            };
            crate::fs::append(path, line.as_bytes(), &how).map_err(|e| {
                use crate::fs::AppendError;
                match e {
                    AppendError::Symlink => std::io::Error::other(format!(
                        "{} is a symbolic link, which is not followed (it could point at any file this process may write); nothing was appended; fix: pass the file's own path to --audit-log (or - for stderr)",
                        path.display()
                    )),
                    AppendError::NotOurs { owner, me } => std::io::Error::other(format!(
                        "{} is owned by uid {owner}, not by this process's user (uid {me}): that user can rewrite or empty the audit trail; nothing was appended; fix: pass a file of your own to --audit-log, or remove that file (or chown it to uid {me})",
                        path.display()
                    )),
                    AppendError::Io(e) => e,
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{AwsError, UsageError};
    use crate::secret::Secret;
    use crate::telemetry::{Command, Token};

    fn subject() -> Subject {
        Subject {
            command: Command::Login,
            platform: "github-actions",
            role: Some("arn:aws:iam::123456789012:role/from-settings".into()),
        }
    }

    #[test]
    fn a_failure_is_classed_and_redacted() {
        let secret = Secret::new("audit-unit-secret-value");
        let e: Error = AwsError::EcrDenied {
            region: "us-east-1".into(),
            code: "AccessDenied".into(),
            message: format!("no ({})", secret.expose()),
            identity: None,
        }
        .into();
        let mut o = Observed::EMPTY;
        o.requested = vec!["123456789012.dkr.ecr.us-east-1.amazonaws.com".into()];
        let r = Record::new(
            &subject(),
            Some("https://ci/job/1"),
            &o,
            Err(&e),
            SystemTime::UNIX_EPOCH,
            Duration::from_millis(1234),
        );
        let v: serde_json::Value = serde_json::from_str(&r.line()).unwrap();
        assert_eq!(v["result"], "failure");
        assert_eq!(v["error_class"], "ecr_denied");
        assert_eq!(v["exit_code"], 4);
        assert_eq!(v["time"], "1970-01-01T00:00:00Z");
        assert_eq!(v["duration_seconds"], 1.234);
        assert_eq!(v["role"], "arn:aws:iam::123456789012:role/from-settings");
        assert_eq!(v["registries"][0], o.requested[0]);
        assert_eq!(v["cache_hit"], false);
        assert!(!r.line().contains(secret.expose()), "{}", r.line());
        assert!(v.get("expires_at_unix").is_none());
    }

    #[test]
    fn a_cache_hit_says_so_and_the_helpers_failures_exit_1() {
        let mut o = Observed::EMPTY;
        o.cached = vec![Token {
            host: "h".into(),
            expires_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(60)),
        }];
        let r = Record::new(
            &subject(),
            None,
            &o,
            Ok(Ended::Success),
            SystemTime::UNIX_EPOCH,
            Duration::ZERO,
        );
        assert!(r.cache_hit && r.succeeded());
        assert_eq!(r.expires_at.as_deref(), Some("1970-01-01T00:01:00Z"));
        let helper = Subject {
            command: Command::CredentialHelper,
            ..subject()
        };
        let e: Error = UsageError::NoRegion.into();
        let r = Record::new(
            &helper,
            None,
            &o,
            Err(&e),
            SystemTime::UNIX_EPOCH,
            Duration::ZERO,
        );
        assert_eq!((r.exit_code, r.cache_hit), (1, false));
    }
}
