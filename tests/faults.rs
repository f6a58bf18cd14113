//! Faults: with 30% of the token, STS and ECR requests failing transiently (500, 503,
//! throttling, a connection reset, an answer stalled past the read timeout), every login
//! succeeds, and each within the README's bound; an endpoint that never answers is given up on
//! within that bound; a permanent refusal fails at once, with no retry.
//!
//! The logins run in parallel (a pool of [`POOL`] processes) against one fault-injecting proxy
//! and one faulty OIDC issuer, so 100 of them take well under a minute even with the stalls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";

/// How many logins run at once.
const POOL: usize = 25;

/// A stalled answer is held this long: past the 10 s read timeout (src/retry.rs), so the
/// client gives up on it and tries again.
const STALL_MS: u64 = 12_000;

/// The README's bound for one login when endpoints misbehave: three operations in a row
/// (token, STS, ECR), each given up on after 60 s of retries plus one last attempt of 15 s.
const LOGIN_BOUND: Duration = Duration::from_secs(3 * 75);

/// How long one operation may take before it is given up on (src/retry.rs: 60 s of retries,
/// then at most one attempt of 15 s), with 10 s to spare for a loaded machine.
const OPERATION_BOUND: Duration = Duration::from_secs(85);

/// The five transient ways a call to `service` fails, 6% each: 30% in all.
fn five_ways(service: &str) -> Vec<serde_json::Value> {
    let throttling = if service == "sts" {
        "Throttling"
    } else {
        "ThrottlingException"
    };
    vec![
        json!({"service": service, "rate": 0.06, "status": 500, "code": "InternalFailure"}),
        json!({"service": service, "rate": 0.06, "status": 503, "code": "ServiceUnavailable"}),
        json!({"service": service, "rate": 0.06, "status": 400, "code": throttling, "message": "Rate exceeded"}),
        json!({"service": service, "rate": 0.06, "drop": true}),
        json!({"service": service, "rate": 0.06, "stall_ms": STALL_MS, "drop": true}),
    ]
}

/// One login's outcome.
struct Outcome {
    index: usize,
    run: Run,
    took: Duration,
    config: Option<serde_json::Value>,
}

/// Runs `count` logins, [`POOL`] at a time, each in its own sandbox; `login` makes the
/// command for a sandbox.
fn run_logins(count: usize, login: &(dyn Fn(&Sandbox) -> Cmd + Sync)) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..POOL.min(count) {
            s.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= count {
                    return;
                }
                let sb = Sandbox::new();
                let start = Instant::now();
                let run = login(&sb).run();
                let took = start.elapsed();
                let config = std::fs::read_to_string(sb.config_path())
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok());
                out.lock().unwrap().push(Outcome {
                    index,
                    run,
                    took,
                    config,
                });
            });
        }
    });
    let mut v = out.into_inner().unwrap();
    v.sort_by_key(|o| o.index);
    v
}

/// Every login succeeded, wrote its registry's token and took less than [`LOGIN_BOUND`].
fn assert_all_logged_in(outcomes: &[Outcome]) {
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.run.code != 0)
        .map(|o| {
            format!(
                "login {} exited {} after {:?}:\n{}",
                o.index, o.run.code, o.took, o.run.stderr
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} logins failed:\n{}",
        failed.len(),
        outcomes.len(),
        failed.join("\n")
    );
    for o in outcomes {
        let auth = o
            .config
            .as_ref()
            .and_then(|c| c["auths"][H1]["auth"].as_str())
            .map(b64decode);
        assert_eq!(
            auth.as_deref(),
            Some("AWS:111111111111-auth-token"),
            "login {}",
            o.index
        );
        assert!(o.took < LOGIN_BOUND, "login {} took {:?}", o.index, o.took);
    }
}

/// The share of `calls` (the proxy's log) that were answered with a fault (not 200).
fn faulted(calls: &[serde_json::Value]) -> usize {
    calls.iter().filter(|c| c["status"] != 200).count()
}

#[test]
// The timings are printed (seen with --nocapture): they are what the README's bound is about.
#[allow(clippy::print_stderr)]
fn a_hundred_logins_through_30_percent_faults_all_succeed_in_bounded_time() {
    let mut rules = five_ways("sts");
    rules.extend(five_ways("ecr"));
    let proxy = Proxy::with_faults(&serde_json::Value::from(rules).to_string());
    let stall = STALL_MS.to_string();
    let issuer = Issuer::start(&["--fail-rate", "0.3", "--stall-ms", &stall]);

    // Meanwhile, endpoints that never answer: the login gives up on each within the bound.
    let ecr_hangs = std::thread::spawn(|| {
        let proxy = Proxy::with_faults(
            &json!([{"service": "ecr", "stall_ms": 100_000, "drop": true}]).to_string(),
        );
        timed_login(&proxy, &shared_issuer_url())
    });
    let token_hangs = std::thread::spawn(|| {
        let issuer = Issuer::start(&[
            "--fail-rate",
            "1",
            "--fail-kinds",
            "stall",
            "--stall-ms",
            "100000",
        ]);
        timed_login(&Proxy::start(), &issuer.url())
    });

    let start = Instant::now();
    let outcomes = run_logins(100, &|sb| {
        sb.github(&proxy, &issuer.url())
            .args(&["--registries", "111111111111"])
    });
    let total = start.elapsed();
    assert_all_logged_in(&outcomes);

    // The faults did happen, about as often as asked.
    let calls = proxy.calls();
    let (sts, ecr) = (proxy.count("sts", None), proxy.count("ecr", None));
    let token_requests = issuer.token_requests();
    let token_faults = issuer.token_faults();
    let aws_faults = faulted(&calls);
    let requests = calls.len() as u64 + token_requests;
    let share = (aws_faults as u64 + token_faults) as f64 / requests as f64;
    assert!(
        (0.18..0.42).contains(&share),
        "{share:.2} of {requests} requests faulted (asked: 0.30)"
    );
    assert!(
        sts > 100 && ecr > 100 && token_requests > 100,
        "retries: sts {sts}, ecr {ecr}, token {token_requests}"
    );
    let stalled = calls.iter().filter(|c| c["status"].is_null()).count();
    let mean = outcomes.iter().map(|o| o.took).sum::<Duration>() / outcomes.len() as u32;
    let slowest = outcomes.iter().map(|o| o.took).max().unwrap();
    eprintln!(
        "faults: 100/100 logins in {total:?} ({POOL} at a time): mean {mean:?}, slowest {slowest:?}; \
         {requests} requests, {:.0}% faulted ({stalled} AWS calls reset or stalled, {token_faults} token faults)",
        share * 100.0
    );

    for (what, handle, code, needles) in [
        (
            "ECR never answers",
            ecr_hangs,
            6,
            &["could not reach ECR", "timeout"][..],
        ),
        (
            "the token endpoint never answers",
            token_hangs,
            3,
            &[
                "could not reach the identity token endpoint",
                "after retries",
            ][..],
        ),
    ] {
        let (run, took) = handle.join().unwrap();
        run.assert_fails(code, needles);
        assert!(took < OPERATION_BOUND, "{what}: gave up after {took:?}");
        eprintln!("faults: {what}: gave up after {took:?}");
    }
}

/// A GitHub login through `proxy` and `issuer`, and how long it took.
fn timed_login(proxy: &Proxy, issuer: &str) -> (Run, Duration) {
    let sb = Sandbox::new();
    let start = Instant::now();
    let run = sb
        .github(proxy, issuer)
        .args(&["--registries", "111111111111"])
        .run();
    (run, start.elapsed())
}

#[test]
fn twenty_logins_with_30_percent_of_each_call_failing_all_succeed() {
    // As a new user would try it: one rule per service, the proxy's default fault (503), and
    // the issuer failing as often.
    let proxy = Proxy::with_faults(
        &json!([{"service": "sts", "rate": 0.3}, {"service": "ecr", "rate": 0.3}]).to_string(),
    );
    let issuer = Issuer::start(&["--fail-rate", "0.3"]);
    let outcomes = run_logins(20, &|sb| {
        sb.github(&proxy, &issuer.url())
            .args(&["--registries", "111111111111"])
    });
    assert_all_logged_in(&outcomes);
    assert!(faulted(&proxy.calls()) > 0, "no fault was injected");
}

#[test]
fn a_permanent_access_denied_fails_in_under_3_s_with_no_retry() {
    for (service, status, code, exit, needle) in [
        (
            "sts",
            403,
            "AccessDenied",
            4,
            "STS refused to assume arn:aws:iam::123456789012:role/ci",
        ),
        (
            "ecr",
            400,
            "AccessDeniedException",
            4,
            "ECR in us-east-1 refused",
        ),
    ] {
        let proxy = Proxy::with_faults(
            &json!([{"service": service, "status": status, "code": code,
                     "message": "User is not authorized to perform this action"}])
            .to_string(),
        );
        let sb = Sandbox::new();
        let start = Instant::now();
        let run = sb
            .github(&proxy, &shared_issuer_url())
            .args(&["--registries", "111111111111"])
            .run();
        let took = start.elapsed();
        run.assert_fails(exit, &[needle, code]);
        assert!(!run.stderr.contains("retrying"), "{}", run.stderr);
        assert_eq!(proxy.count(service, None), 1, "{service}: retried");
        assert!(took < Duration::from_secs(3), "{service}: took {took:?}");
        assert!(!sb.config_path().exists());
    }
}
