//! The one printer: every byte this program writes to stdout or stderr goes through here
//! (the clippy lints `print_stdout`/`print_stderr` and the `disallowed-methods` list keep it
//! so), redacted of every registered secret.
//!
//! Three modes decide what stdout carries:
//! - *human*: result lines for people (and GitHub workflow commands, which the runner reads
//!   from stdout);
//! - *json*: exactly one JSON document, the command's typed result;
//! - *protocol*: only a protocol's own JSON (the Docker credential helper's, the kubelet's).
//!
//! In the json and protocol modes everything else (workflow commands such as `::add-mask::`,
//! logs, errors) goes to stderr, which the GitHub runner reads workflow commands from too.

// This module is the way to stdout and stderr that the lints keep everything else to.
#![allow(clippy::disallowed_methods)]

use std::io::Write;

use serde::Serialize;

use crate::error::Error;
use crate::secret;

/// What stdout carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Human,
    Json,
    Protocol,
}

/// A command's result: printed as lines in human mode, as one JSON document in json mode.
pub(crate) trait Report: Serialize {
    /// The lines a person reads.
    fn human(&self) -> Vec<String>;
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    pub mode: Mode,
    pub quiet: bool,
}

impl Printer {
    pub(crate) fn new(mode: Mode, quiet: bool) -> Printer {
        Printer { mode, quiet }
    }

    /// The command's result: its human lines (not when quiet), or its JSON document.
    pub(crate) fn report(&self, report: &impl Report) {
        match self.mode {
            Mode::Human if !self.quiet => {
                let mut text = String::new();
                for line in report.human() {
                    text.push_str(&line);
                    text.push('\n');
                }
                write_redacted(&mut std::io::stdout().lock(), &text);
            }
            Mode::Json => self.json_stdout(report),
            Mode::Human | Mode::Protocol => {}
        }
    }

    /// A document the user asked for (a policy), on stdout whatever the mode.
    pub(crate) fn document(&self, text: &str) {
        write_redacted(&mut std::io::stdout().lock(), &format!("{text}\n"));
    }

    /// A protocol's answer: the only thing stdout carries in protocol mode. Not redacted: a
    /// credential helper's answer is meant to hold the secret.
    pub(crate) fn protocol(&self, value: &impl Serialize) {
        let text = serde_json::to_string(value).unwrap_or_default();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// A protocol's plain-text line on stdout (a helper's "not found", its one-line error,
    /// `version`), redacted like everything that is not meant to carry a secret.
    pub(crate) fn protocol_text(&self, text: &str) {
        write_redacted(&mut std::io::stdout().lock(), &format!("{text}\n"));
    }

    /// A CI workflow command (`::add-mask::<secret>`), written as it is: on stdout in human
    /// mode, on stderr when stdout carries JSON (the GitHub runner reads both).
    pub(crate) fn workflow_command(&self, line: &str) {
        let text = format!("{line}\n");
        let result = match self.mode {
            Mode::Human => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|()| out.flush())
            }
            Mode::Json | Mode::Protocol => {
                let mut err = std::io::stderr().lock();
                err.write_all(text.as_bytes()).and_then(|()| err.flush())
            }
        };
        // Nowhere left to say it: the stream is gone.
        let _ = result;
    }

    /// The error, its causes and its help lines, on stderr.
    pub(crate) fn error(&self, err: &Error) {
        write_redacted(&mut std::io::stderr().lock(), &error_text(err));
    }

    /// A warning for the user on stderr (not when quiet).
    pub(crate) fn warn(&self, text: &str) {
        if !self.quiet {
            write_redacted(&mut std::io::stderr().lock(), &format!("warning: {text}\n"));
        }
    }

    /// A line the user asked to have on stderr (`--audit-log -`), redacted; shown even when
    /// quiet.
    pub(crate) fn stderr_line(&self, text: &str) {
        write_redacted(&mut std::io::stderr().lock(), &format!("{text}\n"));
    }

    fn json_stdout(&self, value: &impl Serialize) {
        let text = serde_json::to_string(value).unwrap_or_default();
        write_redacted(&mut std::io::stdout().lock(), &format!("{text}\n"));
    }
}

/// `t` as RFC 3339 in UTC (`2026-11-30T09:56:17.986999Z`), as every report shows times.
pub(crate) fn rfc3339(t: std::time::SystemTime) -> String {
    aws_smithy_types::DateTime::from(t)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// `error: ...`, each cause as `caused by: ...`, then `help: ...` lines.
pub(crate) fn error_text(err: &Error) -> String {
    let mut text = format!("error: {err}\n");
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(&format!("  caused by: {s}\n"));
        source = s.source();
    }
    for h in err.help() {
        text.push_str(&format!("help: {h}\n"));
    }
    text
}

fn write_redacted(out: &mut dyn Write, text: &str) {
    let _ = out.write_all(secret::registry().redact(text).as_bytes());
    let _ = out.flush();
}
