//! Logging (tracing) to stderr, through a writer that replaces every registered secret with
//! `***` in every line, at every verbosity, whichever crate logged it.

use std::io::Write;

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::secret;

/// Crates whose trace level logs raw request and response bodies, headers and parsed outputs
/// (the SDK's orchestrator logs `GetAuthorizationToken`'s answer, which the SDK does not mark
/// sensitive, before this process has seen and could register the token in it). They are held
/// at debug whatever the filter says: `ECR_LOGIN_LOG=5`, `trace` or a directive naming one of
/// their modules cannot lift them.
const WIRE_CRATES: &[&str] = &[
    "aws_smithy",
    "aws_sdk",
    "aws_config",
    "aws_credential_types",
    "aws_runtime",
    "aws_sigv4",
    "aws_types",
    "hyper",
    "h2",
    "reqwest",
    "rustls",
];

/// Whether an event or span may be logged at all, whatever the user's filter: everything but
/// the trace level of [`WIRE_CRATES`].
fn allowed(meta: &Metadata<'_>) -> bool {
    if *meta.level() != Level::TRACE {
        return true;
    }
    let target = meta.target();
    !WIRE_CRATES.iter().any(|c| {
        target
            .strip_prefix(c)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['_', ':']))
    })
}

/// Installs the global subscriber with `filter` (an `EnvFilter` directive string).
pub(crate) fn init(filter: &str) {
    let _ = subscriber(filter, RedactingStderr).try_init();
}

/// The subscriber: `filter` (or `warn` if it does not parse) and the wire-crate cap, both
/// required, formatting to `writer`.
fn subscriber<W>(filter: &str, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("warn"));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_target(true)
        .without_time()
        .with_filter(filter.and(filter_fn(allowed)));
    tracing_subscriber::registry().with(layer)
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
    // The log writer is, with `output::Printer`, one of the two ways to stderr.
    #[allow(clippy::disallowed_methods)]
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let redacted = secret::registry().redact(&text);
        let _ = std::io::stderr().lock().write_all(redacted.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Collects everything logged, for the assertions.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    fn logged(filter: &str) -> String {
        let capture = Capture::default();
        tracing::subscriber::with_default(subscriber(filter, capture.clone()), || {
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator::http", "wire-body-1");
            tracing::trace!(target: "aws_sdk_ecr::operation", "wire-output-2");
            tracing::trace!(target: "hyper_util::client", "wire-hyper-3");
            tracing::trace!(target: "h2::codec", "wire-h2-4");
            tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "sdk-debug-5");
            tracing::trace!(target: "ecr_login::aws", "own-trace-6");
            tracing::trace!(target: "hyperion", "other-trace-7");
        });
        let out = capture.0.lock().unwrap().clone();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn no_filter_lifts_the_wire_crates_above_debug() {
        for filter in [
            "trace",
            "TRACE",
            "5",
            "aws_smithy_runtime::client::orchestrator::http=trace",
            "warn,aws_smithy_runtime=trace,aws_sdk_ecr=trace,hyper_util=trace,h2=trace",
            "debug,aws_smithy_runtime::client::orchestrator=trace",
        ] {
            let out = logged(filter);
            assert!(!out.contains("wire-"), "{filter}: {out}");
        }
        let out = logged("trace");
        for kept in ["sdk-debug-5", "own-trace-6", "other-trace-7"] {
            assert!(out.contains(kept), "{kept}: {out}");
        }
    }

    #[test]
    fn the_user_filter_still_applies() {
        let out = logged("warn");
        assert!(out.is_empty(), "{out}");
        let out = logged("ecr_login=trace");
        assert!(out.contains("own-trace-6"), "{out}");
        assert!(!out.contains("sdk-debug-5"), "{out}");
    }
}
