//! Audit and metrics, with the real binary: the audit line of each login, helper
//! `get` and kubelet request (who, what, until when; never a secret); the Prometheus metrics
//! file adding up across runs, concurrent ones included, with every family present and
//! `promtool check metrics` content; the shipped alert rules and dashboard checked with real
//! `promtool` against a real metrics file; the webhook against an HTTP server of the test's own
//! (the message, and its failures that never hide the login's error; a redirect is not
//! followed); an audit log path that is a symlink or another user's file is not written; and
//! the EventBridge rule `policy --monitoring` prints.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use crate::harness::*;

const H: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const KUBE_HOST: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

/// Every metric family the binary writes, as the README documents them.
const FAMILIES: &[&str] = &[
    "ecr_login_logins_total",
    "ecr_login_login_failures_total",
    "ecr_login_aws_calls_total",
    "ecr_login_cache_lookups_total",
    "ecr_login_token_expiry_seconds",
    "ecr_login_token_expiry_timestamp_seconds",
    "ecr_login_last_success_timestamp_seconds",
];

const ECR_DENIED: &str = r#"[{"service": "ecr", "status": 400, "code": "AccessDeniedException", "message": "User: arn:aws:sts::123456789012:assumed-role/ci/x is not authorized to perform: ecr:GetAuthorizationToken"}]"#;

/// Runs `cmd` with `input` on stdin.
fn with_stdin(cmd: &Cmd, input: &str) -> Run {
    cmd.run_with_stdin(input)
}

/// The audit file's lines, each parsed.
fn audit_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// A metrics file's samples: (name, labels) -> value. Panics on a line that is not
/// `name{k="v",...} value` or a comment: no timestamps, nothing else.
type Samples = BTreeMap<(String, BTreeMap<String, String>), f64>;

fn samples(text: &str) -> Samples {
    let mut out = Samples::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert!(
            !series.ends_with('}') || !series.contains("} "),
            "a sample with a timestamp: {line}"
        );
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => {
                let body = rest.strip_suffix('}').unwrap();
                let labels = body
                    .split(',')
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap();
                        (k.to_string(), v.trim_matches('"').to_string())
                    })
                    .collect();
                (n.to_string(), labels)
            }
            None => (series.to_string(), BTreeMap::new()),
        };
        assert!(
            out.insert((name, labels), value).is_none(),
            "a series twice: {line}"
        );
    }
    out
}

fn value(s: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let key = (
        name.to_string(),
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    *s.get(&key)
        .unwrap_or_else(|| panic!("no {name}{labels:?} in {:#?}", s.keys()))
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// `promtool` with `args` and `stdin`: its exit code and output.
fn promtool(dir: &Path, args: &[&str], stdin: &str) -> (i32, String) {
    let tool = require_tool("promtool", "--no-install-recommends prometheus");
    let mut cmd = Command::new(tool);
    cmd.current_dir(dir).args(args);
    let out = output_with_stdin(cmd, stdin);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn assert_promtool_accepts_metrics(text: &str) {
    let (code, out) = promtool(Path::new("."), &["check", "metrics"], text);
    assert_eq!(code, 0, "promtool check metrics:\n{out}\n{text}");
    assert!(out.trim().is_empty(), "promtool has remarks:\n{out}");
}

#[test]
fn each_login_appends_one_audit_line_saying_who_what_and_until_when_and_no_secret() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let audit = sb.path().join("audit.jsonl");
    let cache = sb.path().join("cache");
    let login = || {
        sb.github(&proxy, &shared_issuer_url())
            .env("ECR_LOGIN_AUDIT_LOG", audit.to_str().unwrap())
            .args(&["--registries", "123456789012"])
            .env("GITHUB_REF", "refs/heads/main")
            .args(&["--cache-dir", cache.to_str().unwrap()])
            .run()
    };
    let first = login();
    first.assert_ok();
    let second = login();
    second.assert_ok();
    assert_eq!(
        proxy.count("ecr", None),
        1,
        "the second login was a cache hit"
    );

    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let (a, b) = (&lines[0], &lines[1]);
    assert_eq!(a["command"], "login");
    assert_eq!(a["platform"], "github-actions");
    assert_eq!(a["role"], ROLE);
    assert_eq!(a["sub"], "repo:test-owner/test-repo:ref:refs/heads/main");
    let identity = a["identity"].as_str().unwrap();
    assert!(
        identity.starts_with("arn:aws:sts::123456789012:assumed-role/ci/"),
        "{identity}"
    );
    assert_eq!(a["registries"], serde_json::json!([H]));
    assert_eq!(a["cache_hit"], false);
    assert_eq!(a["result"], "success");
    assert_eq!(a["error_class"], serde_json::Value::Null);
    assert_eq!(a["exit_code"], 0);
    assert!(a["duration_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        a["job_url"],
        "https://github.com/test-owner/test-repo/actions/runs/1234567890"
    );
    // The token's expiry, ~12 h on: the same instant the login reported.
    let expires = a["expires_at"].as_str().unwrap();
    assert!(expires > a["time"].as_str().unwrap(), "{a}");
    assert!(
        first
            .stdout
            .contains(&format!("(token expires {}", &expires[..19])),
        "{}\n{a}",
        first.stdout
    );
    // The second came from the cache: same registry and identity, same expiry.
    assert_eq!(b["cache_hit"], true);
    assert_eq!(b["registries"], a["registries"]);
    assert_eq!(b["identity"], a["identity"]);
    assert_eq!(b["expires_at"], a["expires_at"]);

    let text = std::fs::read_to_string(&audit).unwrap();
    let password = sb.auth(H).split_once(':').unwrap().1.to_string();
    let mut secrets = proxy.secrets();
    secrets.push(password);
    assert_no_secret_in(&secrets, &[("the audit log", &text)]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&audit).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

/// A login with `--audit-log path` that succeeds whatever becomes of the audit line.
#[cfg(unix)]
fn login_audited_to(path: &Path) -> Run {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .args(&["--registries", "123456789012"])
        .args(&["--audit-log", path.to_str().unwrap()])
        .run();
    run.assert_ok();
    assert!(
        run.stdout.contains(&format!("Logged in to {H}")),
        "{}",
        run.stdout
    );
    run
}

/// An audit log path that is a symlink would have ecr-login (often root, on a kubelet's host)
/// append to whatever file the link's maker chose: the link is not followed, and the line is
/// not written; the login itself stands.
#[cfg(unix)]
#[test]
fn an_audit_log_that_is_a_symlink_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let link = dir.path().join("audit.jsonl");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let run = login_audited_to(&link);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    for needle in [
        &format!(
            "warning: could not append to the audit log: {} is a symbolic link",
            link.display()
        ),
        "not followed",
        "fix: ",
    ] {
        assert!(
            run.stderr.contains(needle),
            "{needle:?} not in:\n{}",
            run.stderr
        );
    }
}

/// An audit log another user owns is theirs to read, rewrite or point elsewhere: refused,
/// nothing appended; the login itself stands.
#[cfg(unix)]
#[test]
fn an_audit_log_another_user_owns_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("audit.jsonl");
    std::fs::write(&theirs, "theirs\n").unwrap();
    std::os::unix::fs::chown(&theirs, Some(12345), Some(12345))
        .expect("chown to uid 12345 (the tests run as root)");
    let run = login_audited_to(&theirs);
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "theirs\n");
    assert_eq!(std::fs::metadata(&theirs).unwrap().uid(), 12345);
    for needle in [
        &format!(
            "warning: could not append to the audit log: {} is owned by uid 12345, not by this process's user (uid 0)",
            theirs.display()
        ),
        "nothing was appended",
        "fix: ",
    ] {
        assert!(run.stderr.contains(needle), "{needle:?} not in:\n{}", run.stderr);
    }
}

#[test]
fn metrics_add_up_across_runs_and_count_aws_calls_and_the_cache() {
    let proxy = Proxy::start();
    let denying = Proxy::with_faults(ECR_DENIED);
    let sb = Sandbox::new();
    let dir = sb.path().join("textfile");
    std::fs::create_dir(&dir).unwrap();
    let metrics = dir.join("ecr-login.prom");
    let cache = sb.path().join("cache");
    let login = |p: &Proxy| {
        sb.github(p, &shared_issuer_url())
            .env("ECR_LOGIN_METRICS_FILE", metrics.to_str().unwrap())
            .args(&["--registries", "123456789012"])
            .env("GITHUB_REF", "refs/heads/main")
            .args(&["--cache-dir", cache.to_str().unwrap()])
            .run()
    };
    login(&proxy).assert_ok();
    let after_first = std::fs::read_to_string(&metrics).unwrap();
    login(&proxy).assert_ok();
    // Against an ECR that refuses: the cached token still serves the third run; the fourth,
    // with no cache, fails.
    login(&denying).assert_ok();
    let denied = sb
        .github(&denying, &shared_issuer_url())
        .env("ECR_LOGIN_METRICS_FILE", metrics.to_str().unwrap())
        .args(&["--registries", "123456789012", "--no-cache"])
        .run();
    denied.assert_fails(4, &["refused GetAuthorizationToken"]);

    let text = std::fs::read_to_string(&metrics).unwrap();
    let s = samples(&text);
    let gh = |result: &'static str| {
        [
            ("command", "login"),
            ("platform", "github-actions"),
            ("result", result),
        ]
    };
    // Three successes (a fetch, two cache hits), one failure.
    assert_eq!(value(&s, "ecr_login_logins_total", &gh("success")), 3.0);
    assert_eq!(value(&s, "ecr_login_logins_total", &gh("failure")), 1.0);
    let failures = |class| {
        value(
            &s,
            "ecr_login_login_failures_total",
            &[
                ("command", "login"),
                ("error_class", class),
                ("platform", "github-actions"),
            ],
        )
    };
    assert_eq!(failures("ecr_denied"), 1.0);
    assert_eq!(failures("sts_denied"), 0.0);
    let calls = |service, operation, result| {
        value(
            &s,
            "ecr_login_aws_calls_total",
            &[
                ("operation", operation),
                ("result", result),
                ("service", service),
            ],
        )
    };
    // The file counts every call the proxies saw, no more, no less.
    let seen = |service: &str, status_ok: bool| {
        proxy
            .calls()
            .into_iter()
            .chain(denying.calls())
            .filter(|c| c["service"] == service)
            .filter(|c| (c["status"].as_u64() == Some(200)) == status_ok)
            .count() as f64
    };
    assert_eq!(
        calls("sts", "AssumeRoleWithWebIdentity", "success"),
        seen("sts", true)
    );
    assert_eq!(calls("sts", "AssumeRoleWithWebIdentity", "success"), 2.0);
    assert_eq!(
        calls("ecr", "GetAuthorizationToken", "success"),
        seen("ecr", true)
    );
    assert_eq!(
        calls("ecr", "GetAuthorizationToken", "error"),
        seen("ecr", false)
    );
    assert_eq!(calls("ecr", "GetAuthorizationToken", "error"), 1.0);
    assert_eq!(calls("ecr-public", "GetAuthorizationToken", "success"), 0.0);
    let cache_lookups = |result| {
        value(
            &s,
            "ecr_login_cache_lookups_total",
            &[("command", "login"), ("result", result)],
        )
    };
    assert_eq!(cache_lookups("miss"), 1.0);
    assert_eq!(cache_lookups("hit"), 2.0);
    assert_eq!(cache_lookups("stale"), 0.0);

    // The token handed out expires in about 12 h; the failure kept it and the last success.
    let left = value(&s, "ecr_login_token_expiry_seconds", &[]);
    assert!(left > 11.0 * 3600.0 && left <= 12.0 * 3600.0, "{left}");
    let expiry = value(&s, "ecr_login_token_expiry_timestamp_seconds", &[]);
    assert!(
        (expiry - now_unix() - left).abs() < 120.0,
        "{expiry} {left}"
    );
    let first = samples(&after_first);
    assert_eq!(
        value(&first, "ecr_login_token_expiry_timestamp_seconds", &[]),
        expiry
    );
    let last = value(&s, "ecr_login_last_success_timestamp_seconds", &[]);
    assert!(now_unix() - last < 300.0 && last > 0.0, "{last}");

    for f in FAMILIES {
        assert!(
            text.contains(&format!("# TYPE {f} ")),
            "{f} missing:\n{text}"
        );
    }
    assert_promtool_accepts_metrics(&text);
    // Replaced whole, readable by node_exporter, nothing left behind that it would read.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".ecr-login.prom.lock", "ecr-login.prom"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&metrics).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }
    let mut secrets = proxy.secrets();
    secrets.extend(denying.secrets());
    assert_no_secret_in(&secrets, &[("the metrics file", &text)]);
}

#[test]
fn concurrent_credential_helpers_lose_no_count_and_no_audit_line() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let metrics = sb.path().join("helper.prom");
    let audit = sb.path().join("audit.jsonl");
    let cmd = sb
        .cmd()
        .aws_keys()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .env("XDG_CACHE_HOME", sb.path().join("cache").to_str().unwrap())
        .env("ECR_LOGIN_METRICS_FILE", metrics.to_str().unwrap())
        .env("ECR_LOGIN_AUDIT_LOG", audit.to_str().unwrap())
        .subcommand("credential-helper")
        .arg("get");
    // The first fetches (and fills the cache); then many at once, as Docker runs them.
    with_stdin(&cmd, H).assert_ok();
    const N: usize = 12;
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..N).map(|_| s.spawn(|| with_stdin(&cmd, H))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &runs {
        r.assert_ok();
    }
    // A host that is not ECR's: "not found", audited, neither a login nor a failure.
    let foreign = with_stdin(&cmd, "ghcr.io");
    assert_eq!(foreign.code, 1);

    let s = samples(&std::fs::read_to_string(&metrics).unwrap());
    let helper = |result| {
        [
            ("command", "credential-helper"),
            ("platform", "local"),
            ("result", result),
        ]
    };
    assert_eq!(
        value(&s, "ecr_login_logins_total", &helper("success")),
        (N + 1) as f64
    );
    assert_eq!(value(&s, "ecr_login_logins_total", &helper("failure")), 0.0);
    assert_eq!(
        value(
            &s,
            "ecr_login_cache_lookups_total",
            &[("command", "credential-helper"), ("result", "hit")]
        ),
        N as f64
    );
    assert_eq!(proxy.count("ecr", None), 1);
    assert_eq!(
        value(
            &s,
            "ecr_login_aws_calls_total",
            &[
                ("operation", "GetAuthorizationToken"),
                ("result", "success"),
                ("service", "ecr")
            ]
        ),
        1.0
    );

    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), N + 2, "one whole line per get");
    assert_eq!(
        lines.iter().filter(|l| l["cache_hit"] == true).count(),
        N,
        "{lines:#?}"
    );
    for l in &lines[..N + 1] {
        assert_eq!(l["command"], "credential-helper");
        assert_eq!(l["platform"], "local");
        assert_eq!(l["result"], "success");
        assert_eq!(l["registries"], serde_json::json!([H]));
        assert!(l["expires_at"].is_string(), "{l}");
    }
    let last = lines.last().unwrap();
    assert_eq!(last["result"], "not_found");
    assert_eq!(last["exit_code"], 1);
}

#[test]
fn every_family_is_in_every_file_even_when_nothing_happened() {
    let sb = Sandbox::new();
    let metrics = sb.path().join("m.prom");
    let audit = sb.path().join("audit.jsonl");
    // A login that fails on its settings, before any AWS call.
    let run = sb
        .cmd()
        .args(&["--region", "mars-north-1"])
        .args(&["--metrics-file", metrics.to_str().unwrap()])
        .args(&["--audit-log", audit.to_str().unwrap()])
        .run();
    run.assert_fails(2, &["unknown AWS region \"mars-north-1\""]);
    let text = std::fs::read_to_string(&metrics).unwrap();
    for f in FAMILIES {
        assert!(
            text.contains(&format!("# TYPE {f} ")),
            "{f} missing:\n{text}"
        );
    }
    let s = samples(&text);
    let local = [("command", "login"), ("platform", "local")];
    assert_eq!(
        value(
            &s,
            "ecr_login_logins_total",
            &[local[0], local[1], ("result", "success")]
        ),
        0.0
    );
    for class in [
        "usage",
        "id_token",
        "sts_denied",
        "no_credentials",
        "ecr_denied",
        "account_not_allowed",
        "aws_failed",
        "network",
        "auth_file",
        "handoff",
        "internal",
    ] {
        let want = if class == "usage" { 1.0 } else { 0.0 };
        let got = value(
            &s,
            "ecr_login_login_failures_total",
            &[local[0], ("error_class", class), local[1]],
        );
        assert_eq!(got, want, "{class}");
    }
    for (service, operation) in [
        ("sts", "AssumeRoleWithWebIdentity"),
        ("sts", "AssumeRole"),
        ("sts", "GetCallerIdentity"),
        ("ecr", "GetAuthorizationToken"),
        ("ecr-public", "GetAuthorizationToken"),
    ] {
        for result in ["success", "error"] {
            let labels = [
                ("operation", operation),
                ("result", result),
                ("service", service),
            ];
            assert_eq!(value(&s, "ecr_login_aws_calls_total", &labels), 0.0);
        }
    }
    for result in ["hit", "stale", "miss"] {
        let labels = [("command", "login"), ("result", result)];
        assert_eq!(value(&s, "ecr_login_cache_lookups_total", &labels), 0.0);
    }
    assert_eq!(value(&s, "ecr_login_token_expiry_seconds", &[]), 0.0);
    assert_eq!(
        value(&s, "ecr_login_last_success_timestamp_seconds", &[]),
        0.0
    );
    assert_promtool_accepts_metrics(&text);
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["error_class"], "usage");
    assert_eq!(lines[0]["exit_code"], 2);

    // A metrics file that node_exporter would not read is refused up front.
    sb.cmd()
        .args(&["--region", "us-east-1", "--metrics-file"])
        .arg(sb.path().join("m.txt").to_str().unwrap())
        .run()
        .assert_fails(2, &["must end in .prom"]);
}

#[test]
fn the_shipped_rules_and_dashboard_pass_promtool_and_use_only_metrics_the_binary_writes() {
    // A real metrics file, from a real login.
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let metrics = sb.path().join("ecr-login.prom");
    sb.github(&proxy, &shared_issuer_url())
        .args(&["--registries", "123456789012"])
        .args(&["--metrics-file", metrics.to_str().unwrap()])
        .run()
        .assert_ok();
    let text = std::fs::read_to_string(&metrics).unwrap();
    let written: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(written, FAMILIES, "the families the README documents");

    let prom = repo_root().join("monitoring/prometheus");
    let (code, out) = promtool(&prom, &["check", "rules", "ecr-login.rules.yml"], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("SUCCESS: 3 rules found"), "{out}");
    let (code, out) = promtool(&prom, &["test", "rules", "ecr-login.rules.test.yml"], "");
    assert_eq!(code, 0, "{out}");

    let rules = std::fs::read_to_string(prom.join("ecr-login.rules.yml")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("monitoring/grafana/ecr-login.json")).unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{} has no query", panel["title"]);
        for t in targets {
            exprs.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    for v in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(q) = v["definition"].as_str() {
            exprs.push(q.to_string());
        }
    }
    for (what, text) in std::iter::once(("the alert rules", rules.clone()))
        .chain(exprs.iter().map(|e| ("the dashboard", e.clone())))
    {
        let names = metric_names(&text);
        if what == "the dashboard" {
            assert!(
                !names.is_empty(),
                "a query names no ecr-login metric: {text}"
            );
        }
        for name in names {
            assert!(
                written.contains(&name),
                "{what} query a metric the binary does not write: {name}"
            );
        }
    }
    // Between them they watch every counter and the expiry.
    let used: Vec<String> = metric_names(&format!("{rules}\n{}", exprs.join("\n")));
    for f in [
        "ecr_login_logins_total",
        "ecr_login_login_failures_total",
        "ecr_login_aws_calls_total",
        "ecr_login_cache_lookups_total",
        "ecr_login_token_expiry_timestamp_seconds",
        "ecr_login_last_success_timestamp_seconds",
    ] {
        assert!(used.iter().any(|u| u == f), "nothing watches {f}");
    }
}

/// Every `ecr_login_...` identifier in `text`.
fn metric_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("ecr_login_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

/// A request the test's webhook server received.
struct Received {
    head: String,
    body: String,
}

/// How the test's webhook server answers.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// 307 Temporary Redirect to this port on 127.0.0.1.
    Redirect(u16),
    /// Read the request, then never answer (until the test ends).
    Hang,
}

/// An HTTP server of the test's own on 127.0.0.1: it takes one request, hands it to the test,
/// and answers as told. `_hold` keeps a hanging connection open until the test drops it.
struct Webhook {
    port: u16,
    listener: TcpListener,
    received: mpsc::Receiver<Received>,
    _hold: mpsc::Sender<()>,
}

impl Webhook {
    fn start(answer: Answer) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = listener.try_clone().unwrap();
        let (tx, received) = mpsc::channel();
        let (hold, until) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            let Ok((stream, _)) = server.accept() else {
                return;
            };
            let request = read_request(&stream);
            let _ = tx.send(request);
            match answer {
                Answer::Status(code) => {
                    let mut s = stream;
                    let _ = write!(
                        s,
                        "HTTP/1.1 {code} Whatever\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    );
                }
                Answer::Redirect(to) => {
                    let mut s = stream;
                    let _ = write!(
                        s,
                        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{to}/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                }
                Answer::Hang => {
                    // Until the test ends: the sender is dropped then.
                    let _ = until.recv();
                    drop(stream);
                }
            }
        });
        Webhook {
            port,
            listener,
            received,
            _hold: hold,
        }
    }

    /// The request, which the binary made before it exited (the bound is a safety net).
    fn request(&self) -> Received {
        self.received
            .recv_timeout(Duration::from_secs(10))
            .expect("the webhook received no request")
    }

    /// Whether anything connected (after the binary exited, a connection is queued already).
    fn was_called(&self) -> bool {
        self.listener.set_nonblocking(true).unwrap();
        match self.listener.accept() {
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.received.try_recv().is_ok()
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn read_request(stream: &TcpStream) -> Received {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    Received {
        head,
        body: String::from_utf8(body).unwrap(),
    }
}

const HOOK_SECRET: &str = "T0000000/B0000000/webhook-secret-token-xyz";

#[test]
fn a_failed_login_posts_a_slack_message_and_keeps_its_error_and_exit_code() {
    let proxy = Proxy::with_faults(ECR_DENIED);
    let sb = Sandbox::new();
    let hook = Webhook::start(Answer::Status(200));
    let url = format!("http://127.0.0.1:{}/services/{HOOK_SECRET}", hook.port);
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .env("ECR_LOGIN_NOTIFY_WEBHOOK", &url)
        .args(&["--registries", "123456789012", "-vv"])
        .run();
    run.assert_fails(
        4,
        &["error: ECR in us-east-1 refused GetAuthorizationToken"],
    );
    assert!(!run.stderr.contains("warning: the failure notification"));

    let req = hook.request();
    let request_line = req.head.lines().next().unwrap();
    assert_eq!(
        request_line,
        format!("POST /services/{HOOK_SECRET} HTTP/1.1")
    );
    assert!(
        req.head
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{}",
        req.head
    );
    let msg: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    let text = msg["text"].as_str().unwrap();
    assert!(
        text.starts_with("ecr-login login failed on github-actions (exit 4, ecr_denied)"),
        "{text}"
    );
    for needle in [
        "Job: https://github.com/test-owner/test-repo/actions/runs/1234567890",
        &format!("Role: {ROLE}"),
        &format!("Registries: {H}"),
        "Error: ECR in us-east-1 refused GetAuthorizationToken: AccessDeniedException",
        "Fix: ",
        "ecr:GetAuthorizationToken",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    let blocks = msg["blocks"].as_array().unwrap();
    assert!(blocks.iter().all(|b| b["type"].is_string()));
    assert!(blocks[0]["text"]["text"]
        .as_str()
        .unwrap()
        .contains("failed on github-actions"));
    // No secret in the message. The URL's own secret is masked on GitHub like every other
    // (`::add-mask::`, first thing on stdout), and appears nowhere else, even at -vv.
    assert_no_secret_in(&proxy.secrets(), &[("the webhook message", &req.body)]);
    assert!(
        !run.stderr.contains("webhook-secret-token"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains(&format!("::add-mask::services/{HOOK_SECRET}\n")),
        "{}",
        run.stdout
    );
    for line in run
        .stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
    {
        assert!(!line.contains("webhook-secret-token"), "{line}");
    }
}

#[test]
fn an_undelivered_notification_is_a_warning_after_the_error_and_the_exit_code_stays() {
    let proxy = Proxy::with_faults(ECR_DENIED);
    let sb = Sandbox::new();
    let closed_port = free_port();
    let failing = Webhook::start(Answer::Status(500));
    let hanging = Webhook::start(Answer::Hang);
    for (what, port, why) in [
        ("HTTP 500", failing.port, "HTTP 500"),
        ("no answer", hanging.port, "no answer within 5 s"),
        ("nothing listening", closed_port, "cannot connect"),
    ] {
        let url = format!("http://127.0.0.1:{port}/services/{HOOK_SECRET}");
        let start = Instant::now();
        let run = sb
            .github(&proxy, &shared_issuer_url())
            .args(&["--registries", "123456789012", "--notify-webhook", &url])
            .run();
        let took = start.elapsed();
        run.assert_fails(
            4,
            &[
                "error: ECR in us-east-1 refused GetAuthorizationToken",
                "warning: the failure notification (--notify-webhook) was not delivered",
                why,
            ],
        );
        let error_at = run.stderr.find("error: ").unwrap();
        let warning_at = run
            .stderr
            .find("warning: the failure notification")
            .unwrap();
        assert!(error_at < warning_at, "{what}: {}", run.stderr);
        assert!(
            !run.stderr.contains("webhook-secret-token"),
            "{}",
            run.stderr
        );
        // The hanging webhook costs its 5 s budget and no more.
        assert!(took < Duration::from_secs(30), "{what} took {took:?}");
        if what == "no answer" {
            assert!(took >= Duration::from_secs(5), "{what} took {took:?}");
        }
    }
    assert!(failing.request().body.contains("ecr_denied"));
    assert!(hanging.request().body.contains("ecr_denied"));
}

/// A redirect would send the message, and in its `Referer` the webhook URL with its secret path,
/// to wherever the webhook's answer points: it is not followed, and is one more way of not
/// being delivered.
#[test]
fn a_redirecting_webhook_is_not_followed_and_the_notification_is_not_delivered() {
    let proxy = Proxy::with_faults(ECR_DENIED);
    let sb = Sandbox::new();
    // Where the redirect points: a listener that accepts nothing, so that any connection the
    // binary made is still queued on it once the binary has exited.
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = Webhook::start(Answer::Redirect(elsewhere.local_addr().unwrap().port()));
    let url = format!("http://127.0.0.1:{}/services/{HOOK_SECRET}", hook.port);
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .args(&["--registries", "123456789012", "--notify-webhook", &url])
        .run();
    // The webhook got the message once; the redirect's target got no connection at all.
    assert!(hook.request().body.contains("ecr_denied"));
    elsewhere.set_nonblocking(true).unwrap();
    match elsewhere.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((stream, _)) => {
            stream
                .set_read_timeout(Some(Duration::from_secs(1)))
                .unwrap();
            stream.set_nonblocking(false).unwrap();
            let req = read_request(&stream);
            panic!("the redirect was followed:\n{}{}", req.head, req.body);
        }
        Err(e) => panic!("{e}"),
    }
    // The login's own error and exit code, then the warning.
    run.assert_fails(
        4,
        &[
            "error: ECR in us-east-1 refused GetAuthorizationToken",
            "warning: the failure notification (--notify-webhook) was not delivered: the webhook answered HTTP 307",
            "redirects are not followed",
        ],
    );
    assert!(
        run.stderr.find("error: ").unwrap() < run.stderr.find("warning: ").unwrap(),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("webhook-secret-token") && !run.stderr.contains("/elsewhere"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_successful_login_notifies_nobody() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let hook = Webhook::start(Answer::Status(200));
    let url = format!("http://127.0.0.1:{}/services/{HOOK_SECRET}", hook.port);
    sb.github(&proxy, &shared_issuer_url())
        .args(&["--registries", "123456789012", "--notify-webhook", &url])
        .run()
        .assert_ok();
    assert!(!hook.was_called(), "a success was notified");
    // And a webhook over plain http to another machine is refused: its URL is a secret.
    sb.github(&proxy, &shared_issuer_url())
        .args(&[
            "--notify-webhook",
            "http://hooks.example.com/services/T/B/secret-over-http",
        ])
        .run()
        .assert_fails(2, &["must be an https:// URL"]);
}

#[test]
fn the_kubelet_provider_audits_on_stderr_and_keeps_stdout_for_the_kubelet() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let request = serde_json::json!({
        "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
        "kind": "CredentialProviderRequest",
        "image": format!("{KUBE_HOST}/team/app:v1"),
    })
    .to_string();
    let run = with_stdin(
        &sb.cmd()
            .aws_keys()
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .subcommand("kubelet-credential-provider")
            .args(&["--audit-log", "-"]),
        &request,
    );
    run.assert_ok();
    let answer: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(answer["kind"], "CredentialProviderResponse");
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    let lines: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    let a = &lines[0];
    assert_eq!(a["command"], "kubelet-credential-provider");
    assert_eq!(a["platform"], "local");
    assert_eq!(a["registries"], serde_json::json!([KUBE_HOST]));
    assert_eq!(a["result"], "success");
    assert!(a["expires_at"].is_string());
    assert_no_secret_in(&proxy.secrets(), &[("stderr", &run.stderr)]);
}

#[test]
fn policy_monitoring_prints_the_shipped_event_pattern_for_the_role() {
    let sb = Sandbox::new();
    let role = "arn:aws:iam::123456789012:role/team/ci-push";
    let json = sb
        .cmd()
        .args(&["policy", "--monitoring", "--role-arn", role])
        .args(&["--region", "eu-west-1", "--output", "json"])
        .run();
    json.assert_ok();
    let doc = json.json();
    let shipped =
        std::fs::read_to_string(repo_root().join("monitoring/eventbridge/failed-logins.json"))
            .unwrap()
            .replace("arn:aws:iam::<account-id>:role/<role-name>", role);
    let shipped: serde_json::Value = serde_json::from_str(&shipped).unwrap();
    assert_eq!(doc["event_pattern"], shipped);
    assert_eq!(
        doc["state"],
        "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    );

    let human = sb
        .cmd()
        .args(&[
            "policy",
            "--monitoring",
            "--role-arn",
            role,
            "--region",
            "eu-west-1",
        ])
        .run();
    human.assert_ok();
    for needle in [
        "cat > ecr-login-failures.json <<'EOF'",
        "aws events put-rule --name ecr-login-failures-ci-push --event-pattern file://ecr-login-failures.json --state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
        "aws events put-targets --rule ecr-login-failures-ci-push --targets Id=notify,Arn=arn:aws:sns:eu-west-1:123456789012:ecr-login-alerts --region eu-west-1",
    ] {
        assert!(human.stdout.contains(needle), "{needle:?} not in:\n{}", human.stdout);
    }
    // The here-document holds exactly the pattern.
    let start = human.stdout.find("<<'EOF'\n").unwrap() + 8;
    let end = human.stdout[start..].find("\nEOF\n").unwrap() + start;
    let pattern: serde_json::Value = serde_json::from_str(&human.stdout[start..end]).unwrap();
    assert_eq!(pattern, shipped);

    sb.cmd()
        .args(&["policy", "--monitoring", "--account", "123456789012"])
        .run()
        .assert_fails(
            2,
            &["--monitoring watches one role's logins: pass --role-arn"],
        );
}
