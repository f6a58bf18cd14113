//! The fleet cache (`--cache redis://…`): a real `redis-server` (Debian's) started by
//! each test on 127.0.0.1, and runners that are separate sandboxes (their own cache dirs,
//! Docker configs and AWS proxies) sharing it. A token one runner fetched costs the others no
//! AWS call; helpers and kubelet providers on five machines missing at once fetch once; Redis
//! holds only ciphertext; a wrong key is a miss and is overwritten; TLS and
//! AUTH come from the URL; a Redis that is stopped, frozen or not Redis at all costs a warning
//! and never the login.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const TOKEN: &str = "111111111111-auth-token";
/// Two fleet keys, as `openssl rand -base64 32` prints them.
const KEY: &str = "q83vEjRWeJq8/ur/ABEiM0RVZneImaq7zN3u/wARIjM=";
const OTHER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const PASSWORD: &str = "redis-auth-pw-8c1d";

/// A `redis-server` of our own, with a password, and TLS when asked.
struct Redis {
    _server: Server,
    port: u16,
    /// The CA to trust, with TLS.
    ca: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Redis {
        Redis::launch(false)
    }

    fn start_tls() -> Redis {
        Redis::launch(true)
    }

    fn launch(tls: bool) -> Redis {
        let bin = require_tool("redis-server", "redis-server");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let port_s = port.to_string();
        let d = dir.path().to_str().unwrap().to_string();
        let mut args: Vec<String> = [
            bin.to_str().unwrap(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            &d,
            "--requirepass",
            PASSWORD,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if tls {
            make_certs(dir.path(), &["localhost"]);
            for (flag, file) in [
                ("--tls-cert-file", "server.crt"),
                ("--tls-key-file", "server.key"),
                ("--tls-ca-cert-file", "ca.crt"),
            ] {
                args.push(flag.into());
                args.push(format!("{d}/{file}"));
            }
            args.extend(
                [
                    "--port",
                    "0",
                    "--tls-port",
                    &port_s,
                    "--tls-auth-clients",
                    "no",
                ]
                .map(String::from),
            );
        } else {
            args.extend(["--port", &port_s].map(String::from));
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = spawn_server(&argv);
        wait_for_port(&format!("127.0.0.1:{port}"));
        let redis = Redis {
            _server: server,
            port,
            ca: tls.then(|| dir.path().join("ca.crt")),
            _dir: dir,
        };
        assert_eq!(redis.cli_text(&["PING"]), "PONG");
        redis
    }

    fn url(&self) -> String {
        let scheme = if self.ca.is_some() { "rediss" } else { "redis" };
        format!("{scheme}://:{PASSWORD}@127.0.0.1:{}", self.port)
    }

    /// `redis-cli` against this server; its raw stdout.
    fn cli(&self, args: &[&str]) -> Vec<u8> {
        let cli = require_tool("redis-cli", "redis-tools");
        let mut cmd = Command::new(cli);
        cmd.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "--no-auth-warning",
        ])
        .env("REDISCLI_AUTH", PASSWORD);
        if let Some(ca) = &self.ca {
            cmd.arg("--tls").arg("--cacert").arg(ca);
        }
        let out = cmd.args(args).stderr(Stdio::inherit()).output().unwrap();
        assert!(out.status.success(), "redis-cli {args:?} failed");
        out.stdout
    }

    fn cli_text(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cli(args)).trim().to_string()
    }

    /// Every key in the server.
    fn keys(&self) -> Vec<String> {
        let text = self.cli_text(&["--scan"]);
        text.lines().map(str::to_string).collect()
    }

    /// The server's own process id (a child of the watchdog we started).
    fn pid(&self) -> String {
        let info = self.cli_text(&["INFO", "server"]);
        info.lines()
            .find_map(|l| l.strip_prefix("process_id:"))
            .unwrap()
            .trim()
            .to_string()
    }
}

fn signal(pid: &str, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, pid])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// Resumes a frozen server when the test ends however it ends, so that its watchdog can stop it.
struct Frozen(String);

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.0]).status();
    }
}

/// One runner of the fleet: its own machine (sandbox, job temp dir, AWS proxy).
struct Runner {
    sb: Sandbox,
    proxy: Proxy,
}

impl Runner {
    fn new() -> Runner {
        Runner::with(Proxy::start())
    }

    /// A runner whose AWS is `proxy`.
    fn with(proxy: Proxy) -> Runner {
        Runner {
            sb: Sandbox::new(),
            proxy,
        }
    }

    fn runner_temp(&self) -> PathBuf {
        let t = self.sb.path().join("runner-temp");
        std::fs::create_dir_all(&t).unwrap();
        t
    }

    /// A GitHub job of test-owner/test-repo on main, logging in to H1 with the fleet cache at
    /// `url`, sealed with `key`.
    fn login(&self, url: &str, key: &str) -> Cmd {
        self.login_with(&shared_issuer_url(), url, key)
    }

    /// [`Runner::login`], with its CI tokens from the issuer at `issuer_url`.
    fn login_with(&self, issuer_url: &str, url: &str, key: &str) -> Cmd {
        self.sb
            .github(&self.proxy, issuer_url)
            .env("GITHUB_REF", "refs/heads/main")
            .env("RUNNER_TEMP", self.runner_temp().to_str().unwrap())
            .env("ECR_LOGIN_CACHE", url)
            .env("ECR_LOGIN_CACHE_KEY", key)
            .args(&["--registries", "111111111111"])
    }

    fn aws_calls(&self) -> usize {
        self.proxy.calls().len()
    }

    /// The entries of this runner's own file cache.
    fn file_entries(&self) -> usize {
        let dir = self.runner_temp().join("ecr-login-cache");
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "json")
                })
                .count()
            })
            .unwrap_or(0)
    }
}

fn logged_in(r: &Runner) {
    assert_eq!(r.sb.auth(H1), format!("AWS:{TOKEN}"));
}

#[test]
fn two_runners_share_a_token_and_the_second_makes_no_aws_call() {
    let redis = Redis::start();
    let (a, b) = (Runner::new(), Runner::new());

    a.login(&redis.url(), KEY).run().assert_ok();
    logged_in(&a);
    assert_eq!(a.proxy.count("sts", None), 1);
    assert_eq!(a.proxy.count("ecr", None), 1);
    assert_eq!(redis.keys().len(), 1, "{:?}", redis.keys());

    // Another machine, its file cache empty: the token comes from Redis, AWS is not asked.
    let run = b.login(&redis.url(), KEY).arg("-vv").run();
    run.assert_ok();
    logged_in(&b);
    assert_eq!(b.aws_calls(), 0, "{:?}", b.proxy.calls());
    assert!(
        run.stderr.contains("from the fleet cache"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(PASSWORD), "{}", run.stderr);
    // ... and the hit filled its file cache: with Redis gone, still no call and no warning
    // (a file hit does not even try Redis).
    assert_eq!(b.file_entries(), 1);
    std::fs::remove_file(b.sb.config_path()).unwrap();
    let dead = format!("redis://127.0.0.1:{}", free_port());
    let run = b.login(&dead, KEY).run();
    run.assert_ok();
    logged_in(&b);
    assert_eq!(b.aws_calls(), 0);
    assert!(!run.stderr.contains("fleet cache"), "{}", run.stderr);

    // A runner with no file cache at all (no RUNNER_TEMP): Redis alone serves it.
    let c = Runner::new();
    c.login(&redis.url(), KEY)
        .env_remove("RUNNER_TEMP")
        .run()
        .assert_ok();
    logged_in(&c);
    assert_eq!(c.aws_calls(), 0, "{:?}", c.proxy.calls());

    // Another identity (another `sub` in the job's own token) is never served the shared
    // token.
    let issuer = Issuer::start(&["--sub", "repo:test-owner/test-repo:ref:refs/heads/other"]);
    let d = Runner::new();
    d.sb.github(&d.proxy, &issuer.url())
        .env("GITHUB_REF", "refs/heads/main")
        .env("RUNNER_TEMP", d.runner_temp().to_str().unwrap())
        .env("ECR_LOGIN_CACHE", &redis.url())
        .env("ECR_LOGIN_CACHE_KEY", KEY)
        .args(&["--registries", "111111111111"])
        .run()
        .assert_ok();
    assert_eq!(d.proxy.count("sts", None), 1);
    assert_eq!(redis.keys().len(), 2);
}

#[test]
fn redis_holds_only_ciphertext_until_the_margin() {
    let redis = Redis::start();
    let a = Runner::new();
    a.login(&redis.url(), KEY).run().assert_ok();
    let keys = redis.keys();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    // The name: a prefix and an HMAC, nothing about the identity or the registry.
    let digest = key.strip_prefix("ecr-login:v2:").unwrap();
    assert!(
        digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()),
        "{key}"
    );
    let value = redis.cli(&["--raw", "GET", key]);
    assert!(value.len() > 60, "{value:?}");
    let text = String::from_utf8_lossy(&value);
    for plain in [
        TOKEN,
        "\"AWS\"",
        "111111111111",
        "amazonaws",
        "arn:aws",
        "test-owner",
        "expires_at",
        "registry",
        "password",
    ] {
        assert!(
            !text.contains(plain),
            "{plain:?} readable in Redis: {text:?}"
        );
    }
    // It lives as long as the token has more than the margin (1 h) of its life left.
    let ttl: u64 = redis.cli_text(&["PTTL", key]).parse().unwrap();
    // moto's tokens last 12 h, as ECR's do.
    let expected = Duration::from_secs(12 * 3600) - Duration::from_secs(3600);
    assert!(
        ttl <= expected.as_millis() as u64
            && ttl > (expected - Duration::from_secs(600)).as_millis() as u64,
        "PTTL {ttl} ms, expected about {} ms",
        expected.as_millis()
    );
}

#[test]
fn another_key_sees_nothing_and_an_altered_entry_is_a_miss_that_is_overwritten() {
    let redis = Redis::start();
    let (a, b, c, d) = (Runner::new(), Runner::new(), Runner::new(), Runner::new());
    a.login(&redis.url(), KEY).run().assert_ok();
    let names_a = redis.keys();
    assert_eq!(names_a.len(), 1);

    // Another key names entries otherwise (HMAC names): b finds nothing and asks AWS.
    let run = b.login(&redis.url(), OTHER_KEY).run();
    run.assert_ok();
    logged_in(&b);
    assert_eq!(b.proxy.count("ecr", None), 1);
    assert!(!run.stderr.contains(OTHER_KEY), "{}", run.stderr);
    let names = redis.keys();
    assert_eq!(
        names.len(),
        2,
        "the same identity under two keys: {names:?}"
    );
    // Each key's runners share their own entry.
    c.login(&redis.url(), OTHER_KEY).run().assert_ok();
    assert_eq!(c.aws_calls(), 0, "{:?}", c.proxy.calls());
    d.login(&redis.url(), KEY).run().assert_ok();
    assert_eq!(d.aws_calls(), 0, "{:?}", d.proxy.calls());

    // An altered value: a miss with a warning, AWS is asked, and the entry is replaced.
    let name = &names_a[0];
    redis.cli(&["SET", name, "\x01not-what-was-sealed-at-all-0123456789"]);
    let e = Runner::new();
    let run = e.login(&redis.url(), KEY).run();
    run.assert_ok();
    logged_in(&e);
    assert_eq!(e.proxy.count("ecr", None), 1);
    assert!(
        run.stderr
            .contains("does not open with this ECR_LOGIN_CACHE_KEY"),
        "{}",
        run.stderr
    );
    let f = Runner::new();
    f.login(&redis.url(), KEY).run().assert_ok();
    assert_eq!(f.aws_calls(), 0, "the altered entry was not replaced");
}

#[test]
fn a_key_file_holds_the_key() {
    let redis = Redis::start();
    let (a, b) = (Runner::new(), Runner::new());
    a.login(&redis.url(), KEY).run().assert_ok();
    // As `openssl rand -base64 32 > key` writes it: with a newline.
    let key_file = b.sb.path().join("fleet.key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    // Readable by others: refused (whoever reads it can read and write every token).
    b.login(&redis.url(), KEY)
        .env_remove("ECR_LOGIN_CACHE_KEY")
        .env("ECR_LOGIN_CACHE_KEY_FILE", key_file.to_str().unwrap())
        .run()
        .assert_fails(2, &["fleet.key", "mode 644", "chmod 600"]);
    assert_eq!(b.aws_calls(), 0);
    private(&key_file);
    b.login(&redis.url(), KEY)
        .env_remove("ECR_LOGIN_CACHE_KEY")
        .env("ECR_LOGIN_CACHE_KEY_FILE", key_file.to_str().unwrap())
        .run()
        .assert_ok();
    logged_in(&b);
    assert_eq!(b.aws_calls(), 0, "{:?}", b.proxy.calls());
}

#[test]
fn without_a_good_key_it_is_a_usage_error() {
    let redis = Redis::start();
    let r = Runner::new();
    let login = || r.login(&redis.url(), KEY).env_remove("ECR_LOGIN_CACHE_KEY");
    login().run().assert_fails(
        2,
        &[
            "needs the key",
            "ECR_LOGIN_CACHE_KEY",
            "openssl rand -base64 32",
        ],
    );
    let short = "AAECAwQFBgcICQoLDA0ODw=="; // 16 bytes
    let run = login().env("ECR_LOGIN_CACHE_KEY", short).run();
    run.assert_fails(2, &["ECR_LOGIN_CACHE_KEY", "16 bytes, not 32"]);
    assert!(!run.stderr.contains(short), "{}", run.stderr);
    login()
        .env("ECR_LOGIN_CACHE_KEY", "this is not base64 at all!")
        .run()
        .assert_fails(2, &["not base64"]);
    let bad_file = r.sb.path().join("bad.key");
    std::fs::write(&bad_file, "hunter2-not-a-key\n").unwrap();
    private(&bad_file);
    let run = login()
        .env("ECR_LOGIN_CACHE_KEY_FILE", bad_file.to_str().unwrap())
        .run();
    run.assert_fails(2, &["bad.key", "not base64"]);
    assert!(!run.stderr.contains("hunter2-not-a-key"), "{}", run.stderr);
    login()
        .env("ECR_LOGIN_CACHE_KEY_FILE", "/nonexistent/fleet.key")
        .run()
        .assert_fails(2, &["cannot read", "/nonexistent/fleet.key"]);
    // Not a Redis URL; the password in it is not shown.
    let run = r.login("http://:pw-in-url-123@127.0.0.1:1", KEY).run();
    run.assert_fails(2, &["not a Redis URL"]);
    assert!(!run.stderr.contains("pw-in-url-123"), "{}", run.stderr);
    // None of these asked AWS, or wrote anything.
    assert_eq!(r.aws_calls(), 0);
    assert!(!r.sb.config_path().exists());
    assert!(redis.keys().is_empty());
}

#[test]
fn a_stopped_or_frozen_redis_costs_a_warning_never_the_login() {
    let redis = Redis::start();
    let a = Runner::new();
    a.login(&redis.url(), KEY).run().assert_ok();
    let pid = redis.pid();

    // Frozen mid-run (SIGSTOP): it still accepts connections, and never answers.
    signal(&pid, "-STOP");
    let frozen = Frozen(pid.clone());
    let b = Runner::new();
    let start = Instant::now();
    let run = b.login(&redis.url(), KEY).run();
    let took = start.elapsed();
    run.assert_ok();
    logged_in(&b);
    assert_eq!(b.proxy.count("ecr", None), 1);
    assert!(
        run.stderr.contains("fleet cache") && run.stderr.contains("going on without it"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("no answer within 200 ms"),
        "{}",
        run.stderr
    );
    // One warning: after the first failure, Redis is left alone (no second wait on the put).
    assert_eq!(run.stderr.matches("going on without it").count(), 1);
    assert!(!run.stderr.contains(PASSWORD), "{}", run.stderr);
    assert!(took < Duration::from_secs(5), "the login took {took:?}");

    // Killed: connections are refused.
    signal(&pid, "-KILL");
    drop(frozen);
    let c = Runner::new();
    let run = c.login(&redis.url(), KEY).run();
    run.assert_ok();
    logged_in(&c);
    assert_eq!(c.proxy.count("ecr", None), 1);
    assert!(run.stderr.contains("going on without it"), "{}", run.stderr);
    // The file cache still works without Redis: c's second login asks nobody.
    let calls = c.aws_calls();
    c.login(&redis.url(), KEY).run().assert_ok();
    assert_eq!(c.aws_calls(), calls);
}

#[test]
fn something_that_is_not_redis_costs_a_warning_never_the_login() {
    // A server that answers every connection with an HTTP error page.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let r = Runner::new();
    let run = r.login(&format!("redis://127.0.0.1:{port}"), KEY).run();
    run.assert_ok();
    logged_in(&r);
    assert_eq!(r.proxy.count("ecr", None), 1);
    assert!(run.stderr.contains("going on without it"), "{}", run.stderr);
    assert_eq!(run.stderr.matches("going on without it").count(), 1);
}

#[test]
fn rediss_with_tls_and_auth_from_the_url() {
    let redis = Redis::start_tls();
    let ca = redis.ca.clone().unwrap();
    let (a, b) = (Runner::new(), Runner::new());
    let trusting = |r: &Runner| {
        r.login(&redis.url(), KEY)
            .env("SSL_CERT_FILE", ca.to_str().unwrap())
    };
    trusting(&a).run().assert_ok();
    assert_eq!(redis.keys().len(), 1);
    trusting(&b).run().assert_ok();
    logged_in(&b);
    assert_eq!(b.aws_calls(), 0, "{:?}", b.proxy.calls());

    // A runner that does not trust the server's certificate: no Redis, still a login.
    let c = Runner::new();
    let run = c
        .login(&redis.url(), KEY)
        .env("SSL_CERT_FILE", empty_ca(c.sb.path()).to_str().unwrap())
        .run();
    run.assert_ok();
    logged_in(&c);
    assert_eq!(c.proxy.count("ecr", None), 1);
    assert!(run.stderr.contains("going on without it"), "{}", run.stderr);

    // A wrong password in the URL: the same.
    let d = Runner::new();
    let wrong = redis.url().replace(PASSWORD, "wrong-password-77");
    let run = d
        .login(&wrong, KEY)
        .env("SSL_CERT_FILE", ca.to_str().unwrap())
        .run();
    run.assert_ok();
    assert_eq!(d.proxy.count("ecr", None), 1);
    assert!(run.stderr.contains("going on without it"), "{}", run.stderr);
    assert!(!run.stderr.contains("wrong-password-77"), "{}", run.stderr);
}

/// Makes `path` readable by its owner alone, as a key file must be.
fn private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A CA file holding another CA than the server's.
fn empty_ca(dir: &Path) -> PathBuf {
    let other = dir.join("other-ca");
    std::fs::create_dir_all(&other).unwrap();
    make_certs(&other, &["localhost"]);
    other.join("ca.crt")
}

/// The credential helper's `get` on the machine `s` (its own file cache), with the fleet cache
/// at `url` and AWS at `proxy_url`.
fn helper(s: &Sandbox, url: &str, proxy_url: &str) -> Cmd {
    s.cmd()
        .aws_keys()
        .env("AWS_ENDPOINT_URL", proxy_url)
        .env("XDG_CACHE_HOME", s.path().join("cache").to_str().unwrap())
        .env("ECR_LOGIN_CACHE", url)
        .env("ECR_LOGIN_CACHE_KEY", KEY)
        .subcommand("credential-helper")
        .arg("get")
}

#[test]
fn helpers_on_five_machines_at_once_fetch_once_through_the_fleet() {
    let redis = Redis::start();
    let proxy = Proxy::start();
    // Five machines (five file caches: no lock of one machine serialises them), one AWS.
    let machines: Vec<Sandbox> = (0..5).map(|_| Sandbox::new()).collect();
    let gets = machines
        .iter()
        .map(|m| helper(m, &redis.url(), &proxy.url()).command());
    for out in run_together(gets, H1.as_bytes()) {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["Secret"], TOKEN);
    }
    assert_eq!(
        proxy.count("ecr", None),
        1,
        "the machines that lost the claim did not wait for the winner's token: {:?}",
        proxy.calls()
    );
    let keys = redis.keys();
    assert_eq!(
        keys.len(),
        1,
        "the claim is gone once the token is shared: {keys:?}"
    );
}

#[test]
fn a_claim_whose_fetch_died_is_not_waited_out() {
    let redis = Redis::start();
    let proxy = Proxy::start();
    // The token's Redis key, as a first machine names it; then the token gone, and the claim
    // of a machine whose fetch dies in 300 ms (the claim lasts 5 s when its holder is alive).
    let run = helper(&Sandbox::new(), &redis.url(), &proxy.url()).run_with_stdin(H1);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let keys = redis.keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let name = &keys[0];
    assert_eq!(redis.cli_text(&["DEL", name]), "1");
    let claim = format!("{name}:fetching");
    assert_eq!(redis.cli_text(&["SET", &claim, "4242", "PX", "300"]), "OK");

    let start = Instant::now();
    let run = helper(&Sandbox::new(), &redis.url(), &proxy.url()).run_with_stdin(H1);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["Secret"], TOKEN);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "waited {:?} for a claim whose holder was gone",
        start.elapsed()
    );
    assert_eq!(proxy.count("ecr", None), 2, "it fetched its own");
}

#[test]
fn kubelet_providers_on_five_nodes_at_once_fetch_once_through_the_fleet() {
    let redis = Redis::start();
    let proxy = Proxy::start();
    let nodes: Vec<Sandbox> = (0..5).map(|_| Sandbox::new()).collect();
    let request = format!(
        r#"{{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"{H1}/app"}}"#
    );
    let asks = nodes.iter().map(|n| {
        n.cmd()
            .aws_keys()
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .env(
                "ECR_LOGIN_CACHE_DIR",
                n.path().join("cache").to_str().unwrap(),
            )
            .env("ECR_LOGIN_CACHE", &redis.url())
            .env("ECR_LOGIN_CACHE_KEY", KEY)
            .subcommand("kubelet-credential-provider")
            .command()
    });
    for out in run_together(asks, request.as_bytes()) {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["auth"][H1]["password"], TOKEN);
    }
    assert_eq!(
        proxy.count("ecr", None),
        1,
        "the nodes that lost the claim did not wait for the winner's token: {:?}",
        proxy.calls()
    );
}

#[test]
fn the_credential_helper_shares_through_redis_too() {
    let redis = Redis::start();
    let proxy = Proxy::start();
    let (sa, sb) = (Sandbox::new(), Sandbox::new());
    let get = |cmd: Cmd| {
        let run = cmd.run_with_stdin(H1);
        let (stdout, stderr) = (run.stdout, run.stderr);
        assert_eq!(run.code, 0, "{stdout}\n{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        (v["Secret"].as_str().unwrap().to_string(), stderr)
    };
    let (secret, _) = get(helper(&sa, &redis.url(), &proxy.url()));
    assert_eq!(secret, TOKEN);
    let calls = proxy.calls().len();
    assert!(calls >= 1);
    // Another machine: from Redis, with an AWS endpoint where nothing answers.
    let offline = "http://127.0.0.1:9";
    let (secret, _) = get(helper(&sb, &redis.url(), offline));
    assert_eq!(secret, TOKEN);
    // Then from its own files: Redis is not even tried (nothing listens at this URL, and
    // nothing warns).
    let dead = format!("redis://127.0.0.1:{}", free_port());
    let (secret, stderr) = get(helper(&sb, &dead, offline));
    assert_eq!(secret, TOKEN);
    assert_eq!(stderr, "");
    assert_eq!(proxy.calls().len(), calls);
}

/// A trust-policy bypass, tried: two jobs of one repository on two runners sharing the fleet cache.
/// The production job logs in; then a pull request's job, whose own token the role's trust
/// policy refuses, runs with every variable of the production job. It must ask STS itself
/// (and be refused), never be handed the production token.
#[test]
fn a_pull_request_job_is_never_served_the_production_token() {
    const PROD: &str = "repo:acme/app:environment:production";
    const PR: &str = "repo:acme/app:pull_request";
    let redis = Redis::start();
    let issuer = Issuer::start(&["--sub", PROD]);
    let jwks = format!("{}/.well-known/jwks", issuer.url());
    let trust = serde_json::json!({ "sub": PROD }).to_string();
    let sts = || Proxy::with_args(&["--jwks-url", &jwks, "--trust", &trust]);
    let (a, b) = (Runner::with(sts()), Runner::with(sts()));

    a.login_with(&issuer.url(), &redis.url(), KEY)
        .run()
        .assert_ok();
    logged_in(&a);
    assert_eq!(redis.keys().len(), 1);
    let tokens_issued = issuer.token_requests();

    // Now the issuer speaks for the pull request's job.
    let job = http_get(&format!(
        "{}/__job?sub={}&event_name=pull_request",
        issuer.url(),
        PR.replace(':', "%3A").replace('/', "%2F")
    ));
    assert!(job.contains(PR), "{job}");
    let run = b.login_with(&issuer.url(), &redis.url(), KEY).run();
    assert_eq!(
        issuer.token_requests(),
        tokens_issued + 1,
        "the pull request's job did not ask for its own token"
    );
    assert_eq!(
        b.proxy.count("sts", None),
        1,
        "STS was not asked: {:?}",
        b.proxy.calls()
    );
    assert_ne!(
        run.code, 0,
        "the pull request's job logged in:\n{}",
        run.stdout
    );
    assert!(run.stderr.contains("STS refused"), "{}", run.stderr);
    assert!(run.stderr.contains(PR), "{}", run.stderr);
    assert!(!run.stdout.contains("Logged in"), "{}", run.stdout);
    assert!(
        !b.sb.config_path().exists()
            || !std::fs::read_to_string(b.sb.config_path())
                .unwrap()
                .contains(H1)
    );
    // ... and it was told that its runner holds the fleet's key.
    assert!(
        run.stderr.contains("runs for a pull request") && run.stderr.contains("a key of their own"),
        "{}",
        run.stderr
    );
    // Once per job: its next step is not told again.
    let again = b.login_with(&issuer.url(), &redis.url(), KEY).run();
    assert!(again.stderr.contains("STS refused"), "{}", again.stderr);
    assert!(
        !again.stderr.contains("runs for a pull request"),
        "{}",
        again.stderr
    );
}

/// Chain identities are keyed by what STS sees: an HMAC of the access key id and secret. A job
/// that sets a victim's key id (not secret) with another secret is another identity.
#[test]
fn the_same_access_key_id_with_another_secret_is_another_identity() {
    let redis = Redis::start();
    let proxy = Proxy::start();
    let get = |secret: &str| {
        let machine = Sandbox::new();
        let out = helper(&machine, &redis.url(), &proxy.url())
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .run_with_stdin(H1);
        out.assert_ok();
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["Secret"], TOKEN);
    };
    get("secret-of-the-victim-1");
    assert_eq!(proxy.count("ecr", None), 1);
    get("secret-of-the-victim-1");
    assert_eq!(
        proxy.count("ecr", None),
        1,
        "the same keys on another machine: shared"
    );
    get("another-secret-2");
    assert_eq!(
        proxy.count("ecr", None),
        2,
        "another secret was served the victim's token"
    );
    assert_eq!(redis.keys().len(), 2);
}

/// A hostile "Redis" answering with a multi-gigabyte string: the reply is refused from its
/// header, the connection dropped, the login goes on without the fleet cache, and the process
/// never holds more than a few MiB of it.
#[test]
fn a_huge_reply_is_refused_before_it_is_buffered() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut first = [0u8; 512];
        let _ = s.read(&mut first);
        let declared: u64 = 3_000_000_000;
        let mut sent = 0u64;
        let start = Instant::now();
        if s.write_all(format!("${declared}\r\n").as_bytes()).is_ok() {
            let chunk = vec![b'x'; 1 << 16];
            // Bounded in bytes and time; it stops when the client drops the connection.
            while sent < declared && start.elapsed() < Duration::from_secs(20) {
                match s.write_all(&chunk) {
                    Ok(()) => sent += chunk.len() as u64,
                    Err(_) => break,
                }
            }
        }
        sent
    });
    let r = Runner::new();
    let cmd = r.login(&format!("redis://127.0.0.1:{port}"), KEY).command();
    // Its peak resident size, as the kernel counts it for the one child of a small parent.
    let mut measured = Command::new(python());
    measured
        .arg("-c")
        .arg("import resource, subprocess, sys\nr = subprocess.run(sys.argv[1:])\nprint('maxrss_kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\nsys.exit(r.returncode)")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
    let out = measured.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    logged_in(&r);
    assert_eq!(r.proxy.count("ecr", None), 1);
    assert!(stderr.contains("going on without it"), "{stderr}");
    assert!(stderr.contains("3000000000 bytes"), "{stderr}");
    let rss_kib: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kib "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maxrss in {stderr}"));
    assert!(rss_kib < 64 * 1024, "peak RSS {rss_kib} KiB");
    let sent = server.join().unwrap();
    assert!(
        sent < 256 << 20,
        "the client kept reading: {sent} bytes sent"
    );
}

#[test]
fn a_password_on_the_command_line_and_redis_without_tls_off_this_machine_are_warned_of() {
    let redis = Redis::start();
    let r = Runner::new();
    // In the environment, to 127.0.0.1: no warning.
    let run = r.login(&redis.url(), KEY).run();
    run.assert_ok();
    logged_in(&r);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("on the command line") && !run.stderr.contains("without TLS"),
        "{}",
        run.stderr
    );
    // On the command line: other users can read it.
    let run = r
        .login(&redis.url(), KEY)
        .env_remove("ECR_LOGIN_CACHE")
        .args(&["--cache", &redis.url()])
        .run();
    run.assert_ok();
    assert!(run.stderr.contains("on the command line"), "{}", run.stderr);
    assert!(run.stderr.contains("ECR_LOGIN_CACHE"), "{}", run.stderr);
    assert!(!run.stderr.contains(PASSWORD), "{}", run.stderr);
    // Plain redis:// to a host by name (here it resolves to this machine: tests/support/hosts).
    let remote = format!("redis://:{PASSWORD}@fleet-cache.test:{}", redis.port);
    let s = Runner::new();
    let run = s.login(&remote, KEY).run();
    run.assert_ok();
    assert_eq!(s.aws_calls(), 0, "it did not reach the fleet cache");
    assert!(run.stderr.contains("without TLS"), "{}", run.stderr);
    assert!(run.stderr.contains("rediss://"), "{}", run.stderr);
}
