//! `--notify-webhook URL`: on a failed login, POST a Slack-compatible JSON message (Slack
//! incoming webhooks, and the chat tools that take their format: `text`, plus `blocks` for
//! Slack's layout): the command, the platform, the job's page where the platform gives one,
//! the role, the error, its cause and the fix. No secret: every text is redacted through the
//! secret registry, and the URL itself (which holds the webhook's own token) is registered as
//! a secret and never printed.
//!
//! No redirect is followed and no `Referer` is sent: following one would POST the message again
//! to wherever the answer points, with the webhook URL (and its secret path) in the `Referer`;
//! a 3xx answer is a failure to deliver like any other.
//!
//! The POST has [`TIMEOUT`] in all; a failure to deliver is returned for a warning, and never
//! replaces the login's own error or exit code. Only failures start the async runtime this
//! needs: a successful run (a credential helper's cache hit above all) sends nothing.

use std::time::Duration;

use serde_json::{json, Value};

use super::audit::Record;
use crate::error::Error;
use crate::secret::{self, Secret};

/// The whole request's time budget.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);

/// Slack's limit on a section's text is 3000 characters.
const MAX_SECTION: usize = 2900;

/// The message for a failed run.
pub(crate) fn message(record: &Record, error: &Error) -> Value {
    let redact = |s: &str| secret::registry().redact(s).into_owned();
    let title = format!(
        "ecr-login {} failed on {} (exit {}, {})",
        record.command,
        record.platform,
        record.exit_code,
        record.error_class.unwrap_or("internal")
    );
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        causes.push(redact(&s.to_string()));
        source = s.source();
    }
    let fixes: Vec<String> = error.help().iter().map(|h| redact(h)).collect();

    let mut facts: Vec<(&str, String)> = Vec::new();
    if let Some(url) = &record.job_url {
        facts.push(("Job", url.clone()));
    }
    if let Some(role) = &record.role {
        facts.push(("Role", role.clone()));
    }
    if !record.registries.is_empty() {
        facts.push(("Registries", record.registries.join(", ")));
    }
    facts.push(("Error", redact(&error.to_string())));
    if !causes.is_empty() {
        facts.push(("Cause", causes.join("; ")));
    }

    let mut text = title.clone();
    for (k, v) in &facts {
        text.push_str(&format!("\n{k}: {v}"));
    }
    for f in &fixes {
        text.push_str(&format!("\nFix: {f}"));
    }

    let mut blocks = vec![json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": clip(&format!("*{}*", escape(&title)))},
    })];
    let body: Vec<String> = facts
        .iter()
        .map(|(k, v)| format!("*{k}:* {}", escape(v)))
        .collect();
    blocks.push(json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": clip(&body.join("\n"))},
    }));
    if !fixes.is_empty() {
        let fix: Vec<String> = fixes.iter().map(|f| format!("• {}", escape(f))).collect();
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": clip(&format!("*Fix:*\n{}", fix.join("\n")))},
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": escape(&format!("{} · ecr-login {}", record.time, record.version))}],
    }));
    json!({"text": escape(&text), "blocks": blocks})
}

/// Slack's three control characters, escaped as it asks.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn clip(text: &str) -> String {
    if text.chars().count() <= MAX_SECTION {
        return text.to_string();
    }
    let mut t: String = text.chars().take(MAX_SECTION).collect();
    t.push('…');
    t
}

/// POSTs `message` to `url` as JSON within `timeout`, following no redirect. `Err`: why it was
/// not delivered, with no URL in it (not even a redirect's `Location`).
pub(crate) fn send(url: &Secret, message: &Value, timeout: Duration) -> Result<(), String> {
    let body = secret::registry().redact(&message.to_string()).into_owned();
    let result = crate::runtime::block_on(async {
        let client = crate::tls::reqwest_builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("ecr-login/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .build()
            .map_err(|e| e.without_url().to_string())?;
        let response = client
            .post(url.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| describe(e.without_url(), timeout))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_redirection() {
            Err(format!(
                "the webhook answered HTTP {status}, a redirect, and redirects are not followed (the message and the webhook's secret URL would go to another address); fix: set --notify-webhook to the URL it redirects to"
            ))
        } else {
            Err(format!("the webhook answered HTTP {status}"))
        }
    });
    match result {
        Ok(r) => r,
        Err(e) => Err(e.to_string()),
    }
}

fn describe(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("no answer within {} s", timeout.as_secs())
    } else if e.is_connect() {
        format!("cannot connect: {e}")
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{AwsError, UsageError};
    use crate::telemetry::{Command, Observed, Subject};
    use std::time::SystemTime;

    #[test]
    fn the_message_says_where_what_and_how_to_fix_it_and_hides_secrets() {
        let secret = Secret::new("webhook-unit-secret-1234");
        let e: Error = AwsError::AssumeRoleDenied {
            role_arn: "arn:aws:iam::123456789012:role/ci".into(),
            platform: "github-actions".into(),
            code: "AccessDenied".into(),
            message: format!("Not authorized <{}>", secret.expose()),
            claims: Box::default(),
        }
        .into();
        let subject = Subject {
            command: Command::Login,
            platform: "github-actions",
            role: Some("arn:aws:iam::123456789012:role/ci".into()),
        };
        let record = Record::new(
            &subject,
            Some("https://github.com/o/r/actions/runs/1"),
            &Observed::EMPTY,
            Err(&e),
            SystemTime::UNIX_EPOCH,
            Duration::ZERO,
        );
        let m = message(&record, &e);
        let text = m["text"].as_str().unwrap();
        assert!(
            text.starts_with("ecr-login login failed on github-actions (exit 4, sts_denied)"),
            "{text}"
        );
        assert!(text.contains("Job: https://github.com/o/r/actions/runs/1"));
        assert!(text.contains("Error: STS refused to assume"));
        assert!(text.contains("Fix: the trust policy of"), "{text}");
        assert!(text.contains("&lt;***&gt;"), "{text}");
        let all = m.to_string();
        assert!(!all.contains(secret.expose()));
        assert_eq!(m["blocks"][0]["type"], "section");
    }

    #[test]
    fn an_unreachable_webhook_is_an_error_without_its_url() {
        // A port nothing listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = Secret::new(format!("http://127.0.0.1:{port}/hook/unit-secret-path"));
        let e: Error = UsageError::NoRegion.into();
        let subject = Subject {
            command: Command::Kubelet,
            platform: "local",
            role: None,
        };
        let record = Record::new(
            &subject,
            None,
            &Observed::EMPTY,
            Err(&e),
            SystemTime::UNIX_EPOCH,
            Duration::ZERO,
        );
        let why = send(&url, &message(&record, &e), TIMEOUT).unwrap_err();
        assert!(why.contains("cannot connect"), "{why}");
        assert!(!why.contains("unit-secret-path"), "{why}");
    }
}
