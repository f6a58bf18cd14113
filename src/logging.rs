//! Logging (tracing) to stderr, through a writer that replaces every registered secret with
//! `***` in every line, at every verbosity, whichever crate logged it.

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::secret;

/// The SDK's orchestrator logs raw response bodies and parsed outputs at trace level, before
/// this process has seen (and could register) the secrets in them: wherever trace is asked
/// for, that target is held at debug.
const TRACE_CAP: &str = "aws_smithy_runtime::client::orchestrator=debug";

/// Installs the global subscriber with `filter` (an `EnvFilter` directive string).
pub fn init(filter: &str) {
    let directives = if filter.to_ascii_lowercase().contains("trace") {
        format!("{filter},{TRACE_CAP}")
    } else {
        filter.to_string()
    };
    let filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr)
        .with_ansi(false)
        .with_target(true)
        .without_time()
        .try_init();
}

/// Makes one [`LineBuffer`] per event.
struct RedactingStderr;

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = LineBuffer;
    fn make_writer(&'a self) -> LineBuffer {
        LineBuffer(Vec::with_capacity(256))
    }
}

/// Collects one formatted event and writes it, redacted, when dropped.
struct LineBuffer(Vec<u8>);

impl Write for LineBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let redacted = secret::registry().redact(&text);
        let _ = std::io::stderr().lock().write_all(redacted.as_bytes());
    }
}
