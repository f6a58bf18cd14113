//! Retries that fit the error: transient failures (5xx, throttling, resets, timeouts) are
//! retried with jittered exponential backoff; permanent ones are returned at once.
//!
//! The AWS SDK retries its own calls with the same [`Policy::STANDARD`] (see
//! `aws::sdk_config`); [`retry`] is for everything else: the CI token endpoints and the STS
//! errors the SDK does not know to be transient (an identity provider whose JWKS could not be
//! fetched). [`TIMEOUTS`] bounds every network exchange, the SDK's included.

use std::future::Future;
use std::time::Duration;

/// How long one network exchange may take, for every client of this program: the AWS SDK
/// (`aws::sdk_config`) and the CI token endpoints alike.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// Establishing a connection: a dead endpoint fails in seconds, not minutes.
    pub connect: Duration,
    /// Waiting for the next bytes of an answer.
    pub read: Duration,
    /// One attempt, from sending to the last byte of the answer.
    pub attempt: Duration,
    /// One operation, retries included.
    pub operation: Duration,
}

/// The one set of timeouts. An AWS or token-service answer takes well under a second: an
/// attempt that has heard nothing for 10 s is stalled, and another attempt does better than
/// waiting longer. Every operation ends within `operation` + `attempt` (75 s), retries included;
/// the README states the bound for a whole login.
pub(crate) const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(5),
    read: Duration::from_secs(10),
    attempt: Duration::from_secs(15),
    operation: Duration::from_secs(60),
};

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Policy {
    /// For calls a CI job waits on: 10 attempts, 200 ms doubling to at most 2 s, full jitter
    /// (at most 13 s of backoff in all). Ten, because a login makes three calls in a row: with
    /// 30% of requests failing (tests/faults.rs), four attempts lose about one login in 40, ten
    /// about one in 50 000. A permanent refusal is never retried, so it still fails at once.
    pub(crate) const STANDARD: Policy = Policy {
        max_attempts: 10,
        initial_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(2),
    };

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_backoff);
        // Full jitter: anywhere between half and all of the exponential delay, so that a matrix
        // of jobs failing together does not retry together.
        let half = exp / 2;
        half + Duration::from_millis(fastrand::u64(0..=half.as_millis() as u64))
    }
}

/// Whether a failure is worth another attempt.
pub(crate) trait Transient {
    fn is_transient(&self) -> bool;
}

/// Runs `op` until it succeeds, fails permanently, runs out of attempts, or would start an
/// attempt after [`TIMEOUTS`]`.operation` (so it ends within that plus one attempt).
pub(crate) async fn retry<T, E, F, Fut>(policy: Policy, what: &str, op: F) -> Result<T, E>
where
    E: Transient + std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry_within(policy, TIMEOUTS.operation, what, op).await
}

async fn retry_within<T, E, F, Fut>(
    policy: Policy,
    budget: Duration,
    what: &str,
    mut op: F,
) -> Result<T, E>
where
    E: Transient + std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let start = tokio::time::Instant::now();
    let mut attempt = 0;
    loop {
        let e = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if !e.is_transient() || attempt + 1 >= policy.max_attempts {
            return Err(e);
        }
        let wait = policy.backoff(attempt);
        if start.elapsed() + wait >= budget {
            tracing::warn!(
                "{what} failed (attempt {} of {}) and its {} s are spent, giving up: {e}",
                attempt + 1,
                policy.max_attempts,
                budget.as_secs()
            );
            return Err(e);
        }
        tracing::warn!(
            "{what} failed (attempt {} of {}), retrying in {} ms: {e}",
            attempt + 1,
            policy.max_attempts,
            wait.as_millis()
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[derive(Debug)]
    struct E(bool);
    impl Transient for E {
        fn is_transient(&self) -> bool {
            self.0
        }
    }
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "E({})", self.0)
        }
    }

    const FAST: Policy = Policy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
    };

    #[tokio::test]
    async fn transient_errors_are_retried_until_the_limit() {
        let calls = Cell::new(0);
        let r: Result<(), E> = retry(FAST, "t", || {
            calls.set(calls.get() + 1);
            async { Err(E(true)) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn permanent_errors_fail_at_once() {
        let calls = Cell::new(0);
        let r: Result<(), E> = retry(FAST, "t", || {
            calls.set(calls.get() + 1);
            async { Err(E(false)) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test]
    async fn success_after_a_transient_error() {
        let calls = Cell::new(0);
        let r: Result<u8, E> = retry(FAST, "t", || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 2 {
                    Err(E(true))
                } else {
                    Ok(7)
                }
            }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.get(), 2);
    }

    #[tokio::test]
    async fn no_attempt_starts_once_the_budget_is_spent() {
        let calls = Cell::new(0);
        let r: Result<(), E> = retry_within(FAST, Duration::from_millis(20), "t", || {
            calls.set(calls.get() + 1);
            async {
                tokio::time::sleep(Duration::from_millis(25)).await;
                Err(E(true))
            }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.get(), 1, "the first attempt outlasted the budget");
    }

    #[test]
    fn backoff_stays_within_bounds() {
        for attempt in 0..20 {
            let d = Policy::STANDARD.backoff(attempt);
            assert!(d <= Policy::STANDARD.max_backoff, "{attempt}: {d:?}");
            assert!(
                d >= Policy::STANDARD.initial_backoff / 2,
                "{attempt}: {d:?}"
            );
        }
    }
}
