//! The one printer: results to stdout (human or JSON), errors to stderr, every line redacted.
//! In `--output json` mode stdout carries only the JSON document.

use std::io::Write;

use crate::cli::OutputFormat;
use crate::error::Error;
use crate::secret;

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: OutputFormat,
    pub quiet: bool,
}

impl Printer {
    /// A human result line on stdout (not in JSON or quiet mode).
    pub fn line(&self, text: &str) {
        if self.format == OutputFormat::Human && !self.quiet {
            write_redacted(&mut std::io::stdout().lock(), &format!("{text}\n"));
        }
    }

    /// A document the user asked for, on stdout whatever the mode.
    pub fn document(&self, text: &str) {
        write_redacted(&mut std::io::stdout().lock(), &format!("{text}\n"));
    }

    /// The JSON result on stdout (JSON mode only).
    pub fn json(&self, value: &serde_json::Value) {
        if self.format == OutputFormat::Json {
            write_redacted(&mut std::io::stdout().lock(), &format!("{value}\n"));
        }
    }

    /// The error, its causes and its help lines, on stderr.
    pub fn error(&self, err: &Error) {
        let mut text = format!("error: {err}\n");
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            text.push_str(&format!("  caused by: {s}\n"));
            source = s.source();
        }
        for h in err.help() {
            text.push_str(&format!("help: {h}\n"));
        }
        write_redacted(&mut std::io::stderr().lock(), &text);
    }
}

fn write_redacted(out: &mut dyn Write, text: &str) {
    let _ = out.write_all(secret::registry().redact(text).as_bytes());
    let _ = out.flush();
}
