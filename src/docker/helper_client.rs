//! Calls an external Docker credential helper (`docker-credential-<name> store`), the way the
//! Docker CLI does when `credsStore` or `credHelpers` is set. The credentials go in on stdin;
//! nothing secret is ever in argv.

use std::io::Write;
use std::process::{Command, Stdio};

use super::Login;
use crate::error::AuthFileError;
use crate::secret;

/// Stores `login` through `docker-credential-<helper> store`.
pub(crate) fn store(helper: &str, login: &Login<'_>) -> Result<(), AuthFileError> {
    let payload = serde_json::json!({
        "ServerURL": login.host,
        "Username": login.username,
        "Secret": login.password.expose(),
    })
    .to_string();
    call(helper, "store", login.host, &payload)
}

/// Removes `host`'s login through `docker-credential-<helper> erase`.
pub(crate) fn erase(helper: &str, host: &str) -> Result<(), AuthFileError> {
    call(helper, "erase", host, host)
}

/// Runs `docker-credential-<helper> <action>` with `payload` on stdin.
fn call(helper: &str, action: &str, host: &str, payload: &str) -> Result<(), AuthFileError> {
    let fail = |reason: String| AuthFileError::Helper {
        helper: helper.to_string(),
        action: action.to_string(),
        registry: host.to_string(),
        reason: secret::registry().redact(&reason).into_owned(),
    };
    if helper.is_empty()
        || !helper
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(fail(format!("{helper:?} is not a valid helper name")));
    }
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {program}: {e}")))?;
    // A helper that fails early may close stdin before reading it: its own exit status and
    // message then say more than our broken pipe, so the write error is kept for last.
    let write_result = match child.stdin.take() {
        Some(mut stdin) => stdin.write_all(payload.as_bytes()),
        None => Err(std::io::Error::other("no stdin pipe")),
    };
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("waiting for {program}: {e}")))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(if out.stdout.is_empty() {
            &out.stderr
        } else {
            &out.stdout
        })
        .trim()
        .to_string();
        return Err(fail(format!(
            "{program} {action} exited with {}: {msg}",
            out.status
        )));
    }
    write_result.map_err(|e| fail(format!("writing to {program}: {e}")))
}
