//! The async runtime, started only when a command needs the network: a leaf that the commands
//! and the webhook use, importing nothing but the error type.

use crate::error::Error;

/// Runs `future` on a single-threaded async runtime, started only now: the commands that can
/// answer without the network (a credential helper's cache hit) never start one.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(future))
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))
}
