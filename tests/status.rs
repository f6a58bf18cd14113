//! Long jobs and build hosts: `status` (every ECR login in Docker's and Podman's auth files and
//! the cache, with identity, expiry, validity, shadowing; exit 1 when one does not hold),
//! `login --watch` (logs in again before expiry, retries a failed refresh while the tokens are
//! valid, ends cleanly on SIGTERM/SIGINT), and Podman's auth files kept in step by `login`
//! (the stale-`podman login` case, end to end with skopeo pushing to a real registry).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// An ECR-shaped password (base64 JSON with an `expiration`), `secs` from now (negative: past).
fn ecr_password(secs: i64) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    b64(&serde_json::json!({
        "payload": "c3RhbGUtcGF5bG9hZA==", "datakey": "c3RhbGUtZGF0YWtleQ==",
        "version": "2", "type": "DATA_KEY", "expiration": now + secs
    })
    .to_string())
}

/// An `auths` entry for `user:password`.
fn entry(user: &str, password: &str) -> serde_json::Value {
    serde_json::json!({ "auth": b64(&format!("{user}:{password}")) })
}

fn runtime_auth(sb: &Sandbox) -> PathBuf {
    sb.path().join("run/containers/auth.json")
}

fn write(path: &Path, value: &serde_json::Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, value.to_string()).unwrap();
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn decoded_auth(v: &serde_json::Value, host: &str) -> String {
    b64decode(v["auths"][host]["auth"].as_str().unwrap())
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A login with the credential chain (which has a token cache in the sandbox's home).
fn local(sb: &Sandbox, proxy: &Proxy) -> Cmd {
    sb.cmd()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .aws_keys()
        .args(&["--region", "us-east-1", "--registries", "111111111111"])
}

// --- status ---------------------------------------------------------------------------------

#[test]
fn status_shows_identity_and_expiry_from_the_cache_and_fails_within_the_window() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    local(&sb, &proxy)
        .args(&["--role-arn", ROLE])
        .run()
        .assert_ok();

    let status = || sb.cmd().subcommand("status");
    let run = status().args(&["--output", "json"]).run();
    run.assert_ok();
    let v = run.json();
    assert_eq!(v["ok"], true);
    let logins = v["logins"].as_array().unwrap();
    assert_eq!(
        logins.len(),
        1,
        "the cache entry is the auth file's: one login\n{v:#}"
    );
    let l = &logins[0];
    assert_eq!(l["registry"], H1);
    assert_eq!(l["source"], "auth-file");
    assert_eq!(l["state"], "valid");
    assert_eq!(
        l["expiry_from"], "cache",
        "moto's password carries no expiry"
    );
    assert_eq!(l["read_by"], serde_json::json!(["docker", "podman"]));
    assert!(
        l["identity"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::123456789012:assumed-role/ci/"),
        "{l}"
    );
    assert!(l["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        !run.stdout.contains("auth-token"),
        "no password in the report"
    );

    // The token lives 12 h: within 13 h it is expiring, and status says so with exit 1.
    let run = status().args(&["--within", "13h"]).run();
    run.assert_fails(1, &["1 ECR login in the auth files expires within 13h 0m"]);
    assert!(
        run.stdout.contains(&format!("expiring {H1}")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("as arn:aws:sts::"), "{}", run.stdout);
    assert_eq!(proxy.count("ecr", None), 1, "status calls no AWS API");

    // Without the auth file's entry, the cache's is still listed, but does not count.
    std::fs::write(sb.config_path(), "{}").unwrap();
    let run = status()
        .args(&["--within", "13h", "--output", "json"])
        .run();
    run.assert_ok();
    assert_eq!(run.json()["logins"][0]["source"], "cache");
}

#[test]
fn status_reads_token_expiry_lists_helper_entries_without_asking_the_helper() {
    let sb = Sandbox::new();
    let marker = sb.path().join("helper-was-called");
    sb.install_program(
        "docker-credential-desktop",
        &format!("#!/bin/sh\ntouch {}\nexit 1\n", marker.display()),
    );
    let h2 = REGISTRIES[1].0;
    let h3 = REGISTRIES[2].0;
    sb.write_config(
        &serde_json::json!({
            "auths": {
                H1: entry("AWS", &ecr_password(5 * 3600)),
                h2: {},
                "ghcr.io": entry("x", "y"),
            },
            "credHelpers": { h2: "desktop", h3: "desktop" },
        })
        .to_string(),
    );
    let status = || {
        sb.cmd()
            .env("PATH", &sb.path_with_bin())
            .subcommand("status")
    };
    let run = status().args(&["--output", "json"]).run();
    run.assert_ok();
    let v = run.json();
    let logins = v["logins"].as_array().unwrap();
    assert_eq!(logins.len(), 3, "ECR logins only:\n{v:#}");
    assert_eq!(logins[0]["registry"], H1);
    assert_eq!(logins[0]["expiry_from"], "token");
    assert_eq!(logins[0]["state"], "valid");
    for l in &logins[1..] {
        assert_eq!(l["source"], "credential-helper");
        assert_eq!(l["helper"], "desktop");
        assert_eq!(
            l["state"], "unknown",
            "an unknown expiry does not fail the status"
        );
    }
    assert!(!marker.exists(), "status asked the credential helper");

    status()
        .args(&["--within", "6h"])
        .run()
        .assert_fails(1, &["expires within 6h 0m"]);
    sb.write_config(
        &serde_json::json!({"auths": {H1: entry("AWS", &ecr_password(-60))}}).to_string(),
    );
    let run = status().run();
    run.assert_fails(
        1,
        &[
            "1 ECR login in the auth files has expired",
            "ecr-login login --watch",
        ],
    );
    assert!(
        run.stdout.contains(&format!("EXPIRED  {H1}")),
        "{}",
        run.stdout
    );
}

#[test]
fn status_with_nothing_to_show_says_where_it_looked() {
    let sb = Sandbox::new();
    let run = sb.cmd().subcommand("status").run();
    run.assert_ok();
    assert!(run.stdout.contains("No ECR logins found"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&runtime_auth(&sb).display().to_string()),
        "{}",
        run.stdout
    );
    assert!(
        !sb.path().join("home/.cache").exists(),
        "status creates nothing"
    );
}

// --- Podman's auth files ------------------------------------------------------------------

#[test]
fn a_stale_podman_login_no_longer_shadows_ours_skopeo_pushes() {
    // The report, replayed: Docker's config.json holds a good login, but an earlier
    // `podman login` left a stale token in ${XDG_RUNTIME_DIR}/containers/auth.json, which
    // Podman, Buildah and skopeo read first.
    let regs = registries();
    let (host, _, good_password) = REGISTRIES[0];
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let stale = ecr_password(-3600);
    sb.write_config(&serde_json::json!({"auths": {host: entry("AWS", good_password)}}).to_string());
    let podman_file = runtime_auth(&sb);
    write(
        &podman_file,
        &serde_json::json!({
            "auths": { host: entry("AWS", &stale), "quay.io": entry("me", "quay-password") },
            "credHelpers": { "gcr.io": "gcloud" },
        }),
    );
    let push = |tag: &str| {
        let mut c = skopeo(&sb);
        c.env("XDG_RUNTIME_DIR", sb.path().join("run"))
            .env("DOCKER_CONFIG", sb.docker_dir())
            .args([
                "copy",
                "--dest-cert-dir",
                regs.certs.to_str().unwrap(),
                &format!("oci:{}:v1", regs.layout.display()),
                &format!("docker://{host}/team/podman:{tag}"),
            ]);
        c.output().unwrap()
    };
    let before = push("before");
    assert!(
        !before.status.success(),
        "skopeo should have used the stale token from {}",
        podman_file.display()
    );

    // status sees it: the stale entry has expired, and it shadows Docker's.
    let run = sb.cmd().args(&["status", "--output", "json"]).run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let v = run.json();
    let stale_entry = v["logins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["path"] == podman_file.to_str().unwrap())
        .unwrap()
        .clone();
    assert_eq!(stale_entry["state"], "expired");
    assert_eq!(
        stale_entry["shadows"][0],
        sb.config_path().to_str().unwrap()
    );
    assert!(
        run.stderr.contains("podman logout --authfile"),
        "{}",
        run.stderr
    );

    // login keeps the Podman file in step: same entry, other keys kept, 0600.
    let run = local(&sb, &proxy).args(&["--output", "json"]).run();
    run.assert_ok();
    assert_eq!(
        run.json()["other_auth_files"],
        serde_json::json!([podman_file.to_str().unwrap()])
    );
    let p = read_json(&podman_file);
    assert_eq!(decoded_auth(&p, host), format!("AWS:{good_password}"));
    assert_eq!(decoded_auth(&p, "quay.io"), "me:quay-password");
    assert_eq!(p["credHelpers"]["gcr.io"], "gcloud");
    assert_eq!(mode(&podman_file), 0o600);
    assert!(podman_file.with_file_name("auth.json.lock").exists());

    let after = push("after");
    assert!(
        after.status.success(),
        "skopeo push after the login: {}",
        String::from_utf8_lossy(&after.stderr)
    );
    // And status is clean: both files hold the same (cached) token.
    let run = sb.cmd().args(&["status", "--output", "json"]).run();
    run.assert_ok();
    let v = run.json();
    for l in v["logins"].as_array().unwrap() {
        assert_eq!(l["state"], "valid", "{l}");
        assert!(l["shadowed_by"].is_null(), "{l}");
    }
}

#[test]
fn registry_auth_file_and_auth_file_are_created_and_podman_reads_them() {
    let podman = require_tool("podman", "podman");
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let raf = sb.path().join("job/podman-auth.json");
    let named = sb.path().join("other/auth.json");
    local(&sb, &proxy)
        .env("REGISTRY_AUTH_FILE", raf.to_str().unwrap())
        .args(&["--auth-file", named.to_str().unwrap()])
        .run()
        .assert_ok();
    for f in [&raf, &named] {
        assert_eq!(
            decoded_auth(&read_json(f), H1),
            "AWS:111111111111-auth-token"
        );
        assert_eq!(mode(f), 0o600);
    }
    assert!(
        !runtime_auth(&sb).exists(),
        "a Podman file that did not exist is not made"
    );

    // Podman itself reads what was written (no network: it only looks the login up).
    let get_login = |env: (&str, &Path), extra: &[&str]| {
        let out = Command::new(&podman)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", sb.path().join("podman-home"))
            .env(env.0, env.1)
            .args(["login", "--get-login"])
            .args(extra)
            .arg(H1)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    };
    assert_eq!(
        get_login(("REGISTRY_AUTH_FILE", &raf), &[]),
        (true, "AWS".to_string())
    );
    assert_eq!(
        get_login(
            ("XDG_RUNTIME_DIR", &sb.path().join("run")),
            &["--authfile", named.to_str().unwrap()]
        ),
        (true, "AWS".to_string())
    );
    // ... and would not find one where none was written.
    assert!(!get_login(("XDG_RUNTIME_DIR", &sb.path().join("run")), &[]).0);
}

// --- login --watch ----------------------------------------------------------------------------

/// A running `login --watch`: its stdout lines as they come, its stderr at the end.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Watch {
    fn start(cmd: &Cmd) -> Watch {
        let mut child = cmd
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Watch {
            child,
            lines,
            stderr,
        }
    }

    /// The next report line (one JSON document per login), waiting at most `within`.
    fn next_report(&mut self, within: Duration) -> serde_json::Value {
        match self.lines.recv_timeout(within) {
            Ok(line) => serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")),
            Err(e) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("no login report within {within:?} ({e})");
            }
        }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    /// Waits (at most `within`) for the process to end: its exit code and stderr.
    fn finish(mut self, within: Duration) -> (i32, String) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let stderr = self.stderr.join().unwrap();
                return (status.code().unwrap_or(-1), stderr);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the watch did not end within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn faults(rules: serde_json::Value) -> Proxy {
    Proxy::with_faults(&rules.to_string())
}

fn expires_at(report: &serde_json::Value) -> String {
    report["registries"][0]["expires_at"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn watch_logs_in_again_before_expiry_and_stops_cleanly_on_sigterm() {
    // Tokens that live 4 s: each is replaced half-way through its life.
    let proxy = faults(serde_json::json!([{ "service": "ecr", "expires_in": 4 }]));
    let sb = Sandbox::new();
    let mut watch = Watch::start(
        &local(&sb, &proxy)
            .subcommand("login")
            .args(&["--watch", "--output", "json"]),
    );
    let first = watch.next_report(Duration::from_secs(30));
    assert_eq!(first["registries"][0]["registry"], H1);
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    let second = watch.next_report(Duration::from_secs(30));
    let third = watch.next_report(Duration::from_secs(30));
    assert!(
        expires_at(&second) > expires_at(&first),
        "a new token each time"
    );
    assert!(expires_at(&third) > expires_at(&second));
    assert!(proxy.count("ecr", Some("us-east-1")) >= 3);
    watch.signal("TERM");
    let (code, stderr) = watch.finish(Duration::from_secs(10));
    assert_eq!(code, 0, "SIGTERM ends the watch cleanly:\n{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(sb.config_path().is_file());
}

#[test]
fn watch_retries_a_failed_refresh_while_the_tokens_are_valid_and_stops_on_sigint() {
    // First token lives 8 s; the next two refreshes are refused; then they work again.
    let proxy = faults(serde_json::json!([
        { "service": "ecr", "expires_in": 8, "times": 1 },
        { "service": "ecr", "status": 400, "code": "AccessDeniedException", "message": "denied", "times": 2 },
        { "service": "ecr", "expires_in": 8 },
    ]));
    let sb = Sandbox::new();
    let mut watch = Watch::start(
        &local(&sb, &proxy)
            .subcommand("login")
            .args(&["--watch", "--output", "json"]),
    );
    let first = watch.next_report(Duration::from_secs(30));
    // The two failed refreshes write the cached (still valid) token again, then one works.
    let mut last = first.clone();
    for _ in 0..3 {
        last = watch.next_report(Duration::from_secs(30));
    }
    assert!(expires_at(&last) > expires_at(&first), "{last}");
    assert_eq!(proxy.count("ecr", None), 4);
    watch.signal("INT");
    let (code, stderr) = watch.finish(Duration::from_secs(10));
    assert_eq!(code, 0, "SIGINT ends the watch cleanly:\n{stderr}");
    assert_eq!(stderr.matches("retrying in").count(), 2, "{stderr}");
    assert!(stderr.contains("AccessDeniedException"), "{stderr}");
}

#[test]
fn watch_gives_up_with_the_error_once_the_tokens_have_expired() {
    let proxy = faults(serde_json::json!([
        { "service": "ecr", "expires_in": 3, "times": 1 },
        { "service": "ecr", "status": 400, "code": "AccessDeniedException", "message": "denied" },
    ]));
    let sb = Sandbox::new();
    let mut watch = Watch::start(&local(&sb, &proxy).subcommand("login").args(&[
        "--watch",
        "--no-cache",
        "--output",
        "json",
    ]));
    watch.next_report(Duration::from_secs(30));
    let (code, stderr) = watch.finish(Duration::from_secs(30));
    assert_eq!(code, 4, "the refusal's own exit code:\n{stderr}");
    assert!(stderr.contains("retrying in"), "{stderr}");
    assert!(
        stderr.contains("error: ECR in us-east-1 refused"),
        "{stderr}"
    );
    assert!(proxy.count("ecr", None) >= 2);
}

#[test]
fn watch_fails_at_once_when_the_first_login_fails() {
    let proxy = faults(serde_json::json!([
        { "service": "ecr", "status": 400, "code": "AccessDeniedException", "message": "denied" },
    ]));
    let sb = Sandbox::new();
    let watch = Watch::start(&local(&sb, &proxy).subcommand("login").args(&["--watch"]));
    let (code, stderr) = watch.finish(Duration::from_secs(30));
    assert_eq!(code, 4, "{stderr}");
    assert!(!stderr.contains("retrying"), "{stderr}");
}

/// `status`'s report as a user reads it: a fresh login, one that expires within `--within`, and
/// a Podman file that shadows Docker's.
#[test]
fn status_report_as_the_user_reads_it() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let job = sb.path().join("runner-temp");
    std::fs::create_dir_all(&job).unwrap();
    sb.github(&proxy, &shared_issuer_url())
        .env("GITHUB_REF", "refs/heads/main")
        .env("RUNNER_TEMP", job.to_str().unwrap())
        .args(&["--registries", "111111111111"])
        .run()
        .assert_ok();
    let cache = job.join("ecr-login-cache");
    let status = |within: &str| {
        sb.cmd()
            .args(&["status", "--within", within])
            .args(&["--cache-dir", cache.to_str().unwrap()])
            .run()
    };
    let (fresh, soon) = (status("1h"), status("13h"));
    let sandbox = sb.path().display().to_string();
    let text = format!(
        "===== --within 1h (exit {})\n{}{}\n===== --within 13h (exit {})\n{}{}",
        fresh.code, fresh.stdout, fresh.stderr, soon.code, soon.stdout, soon.stderr
    );
    // A fresh token has 12 h less the seconds since the login: shown as 11h 59m or 12h 0m.
    let places = [
        (sandbox.as_str(), "[SANDBOX]"),
        ("(11h 59m left)", "(about 12h left)"),
        ("(12h 0m left)", "(about 12h left)"),
    ];
    insta::assert_snapshot!(scrubbed(&text, &places));
}
