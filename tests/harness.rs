//! The test world: local servers started once per test process, a proxy per test, a temp dir
//! per test, and a builder that runs the binary with a clean environment (nothing from the
//! host's CI, AWS or Docker settings leaks in).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_ecr-login");
pub const ROLE: &str = "arn:aws:iam::123456789012:role/ci";
pub const REQUEST_TOKEN: &str = "test-request-token";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn support(file: &str) -> PathBuf {
    repo_root().join("tests/support").join(file)
}

/// The venv's python, with moto, pyjwt and cryptography (made by scripts/test.sh).
pub fn python() -> PathBuf {
    let venv = std::env::var_os("ECR_LOGIN_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv"));
    let py = venv.join("bin/python");
    assert!(
        py.exists() && venv.join("bin/moto_server").exists(),
        "missing test venv at {}: run scripts/test.sh, or: python3 -m venv .venv && .venv/bin/pip install 'moto[server]' pyjwt cryptography",
        venv.display()
    );
    py
}

/// Fails the test, saying how to install `tool`, when it is not on PATH.
pub fn require_tool(tool: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(tool);
        if p.is_file() {
            return p;
        }
    }
    panic!("`{tool}` is not installed: run scripts/test.sh, or: apt-get install {package}");
}

/// A server child that dies with the test process: run under tests/support/watchdog.py,
/// which stops it when our end of its stdin closes.
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    pub port: u16,
}

impl Drop for Server {
    /// Closing our end of its stdin makes the watchdog stop its server and exit; killing the
    /// watchdog outright would orphan the server.
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `args` under the watchdog; when `ready_line` the server prints `READY <port>`.
fn spawn(args: &[&str], ready_line: bool, port: u16) -> Server {
    let mut child = Command::new(python())
        .arg(support("watchdog.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(if ready_line {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        // Our own servers (with a READY line) keep stderr, so a crash shows; moto and
        // docker-registry log every request, so they are silenced.
        .stderr(if ready_line {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {args:?}: {e}"));
    let stdin = child.stdin.take().unwrap();
    let port = if ready_line {
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line.trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("{args:?} did not say READY: {line:?}"))
            .parse()
            .unwrap()
    } else {
        port
    };
    Server {
        child,
        stdin: Some(stdin),
        port,
    }
}

/// Starts a server that has no READY line (the caller waits for its port).
pub fn spawn_server(args: &[&str]) -> Server {
    spawn(args, false, 0)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on `addr` (a readiness check, bounded).
pub fn wait_for_port(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let sock = addr.to_socket_addrs().unwrap().next().unwrap();
    while TcpStream::connect_timeout(&sock, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{addr} did not come up within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Servers shared by every test: moto and the OIDC issuer.
pub struct World {
    pub moto: Server,
    pub issuer: Issuer,
}

pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let port = free_port();
        let moto_bin = python().parent().unwrap().join("moto_server");
        let moto = spawn(
            &[
                moto_bin.to_str().unwrap(),
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ],
            false,
            port,
        );
        wait_for_port(&format!("127.0.0.1:{port}"));
        World {
            moto,
            issuer: Issuer::start(&[]),
        }
    })
}

/// Our OIDC issuer (tests/support/oidc_issuer.py).
pub struct Issuer(pub Server);

impl Issuer {
    pub fn start(extra: &[&str]) -> Issuer {
        let py = python();
        let script = support("oidc_issuer.py");
        let mut args = vec![
            py.to_str().unwrap(),
            script.to_str().unwrap(),
            "--request-token",
            REQUEST_TOKEN,
        ];
        args.extend_from_slice(extra);
        Issuer(spawn(&args, true, 0))
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.0.port)
    }

    pub fn token_requests(&self) -> u64 {
        let v = http_get_json(&format!("{}/__stats", self.url()));
        v["token_requests"].as_u64().unwrap()
    }

    /// A signed token from the issuer (for token files).
    pub fn token(&self, query: &str) -> String {
        http_get(&format!("{}/token-file?{query}", self.url()))
    }
}

pub fn shared_issuer() -> &'static Issuer {
    &world().issuer
}

pub fn shared_issuer_url() -> String {
    shared_issuer().url()
}

/// A per-test proxy in front of the shared moto (tests/support/aws_proxy.py): counts calls,
/// injects faults, records responses.
pub struct Proxy {
    pub server: Server,
    pub record: PathBuf,
    _dir: tempfile::TempDir,
}

impl Proxy {
    pub fn start() -> Proxy {
        Proxy::with_args(&[])
    }

    pub fn with_faults(faults: &str) -> Proxy {
        Proxy::with_args(&["--faults", faults])
    }

    pub fn with_args(extra: &[&str]) -> Proxy {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("record.jsonl");
        let script = support("aws_proxy.py");
        let upstream = format!("http://127.0.0.1:{}", w.moto.port);
        let py = python();
        let mut args = vec![
            py.to_str().unwrap(),
            script.to_str().unwrap(),
            "--upstream",
            &upstream,
            "--record",
            record.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let server = spawn(&args, true, 0);
        Proxy {
            server,
            record,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// Every call so far: (service, region, operation, status).
    pub fn calls(&self) -> Vec<serde_json::Value> {
        http_get_json(&format!("{}/__calls", self.url()))
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn count(&self, service: &str, region: Option<&str>) -> usize {
        self.calls()
            .iter()
            .filter(|c| c["service"] == service && region.is_none_or(|r| c["region"] == r))
            .count()
    }

    /// Every secret value the proxy handed out or was handed (keys, tokens, passwords, JWTs).
    pub fn secrets(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.record).unwrap_or_default();
        let mut out = Vec::new();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(t) = v["web_identity_token"].as_str() {
                out.push(t.to_string());
            }
            let resp = v["response"].as_str().unwrap_or_default();
            for tag in ["SecretAccessKey", "SessionToken", "AccessKeyId"] {
                let open = format!("<{tag}>");
                let close = format!("</{tag}>");
                if let Some(start) = resp.find(&open) {
                    let rest = &resp[start + open.len()..];
                    out.push(rest[..rest.find(&close).unwrap()].to_string());
                }
            }
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(resp) {
                let data = &json["authorizationData"];
                let items: Vec<&serde_json::Value> = match data {
                    serde_json::Value::Array(a) => a.iter().collect(),
                    serde_json::Value::Object(_) => vec![data],
                    _ => vec![],
                };
                for item in items {
                    if let Some(tok) = item["authorizationToken"].as_str() {
                        out.push(tok.to_string());
                        let decoded = b64decode(tok);
                        out.push(decoded.split_once(':').unwrap().1.to_string());
                    }
                }
            }
        }
        out
    }
}

pub fn b64decode(s: &str) -> String {
    // A tiny standard-alphabet decoder, so the tests need no base64 crate of their own.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits: u32 = 0;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn http_get(url: &str) -> String {
    // Plain HTTP/1.0 GET over a TcpStream: the servers are ours and on loopback.
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "GET {url}: {head}"
    );
    body.to_string()
}

fn http_get_json(url: &str) -> serde_json::Value {
    serde_json::from_str(&http_get(url)).unwrap()
}

/// A temp dir per test, with a Docker config dir and a GitHub output file inside.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let sb = Sandbox {
            dir: tempfile::tempdir().unwrap(),
        };
        // Empty AWS config files, so the SDK reads neither the host's nor a missing one.
        std::fs::write(sb.path().join("aws-config"), "").unwrap();
        std::fs::write(sb.path().join("aws-credentials"), "").unwrap();
        sb
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn docker_dir(&self) -> PathBuf {
        self.path().join("docker")
    }

    pub fn config_path(&self) -> PathBuf {
        self.docker_dir().join("config.json")
    }

    pub fn config(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.config_path()).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    pub fn write_config(&self, text: &str) {
        std::fs::create_dir_all(self.docker_dir()).unwrap();
        std::fs::write(self.config_path(), text).unwrap();
    }

    pub fn github_output(&self) -> PathBuf {
        self.path().join("github_output")
    }

    /// `name=value` pairs from the GitHub output file (heredoc form).
    pub fn outputs(&self) -> BTreeMap<String, String> {
        runner_file(&self.github_output())
    }

    /// The decoded `user:password` of a registry's entry in config.json.
    pub fn auth(&self, host: &str) -> String {
        let c = self.config();
        let auth = c["auths"][host]["auth"]
            .as_str()
            .unwrap_or_else(|| panic!("no auth for {host} in {c:#}"));
        b64decode(auth)
    }

    /// A command for the binary with a clean environment: PATH and HOME only, plus the
    /// settings that keep the AWS SDK on loopback and off the host's config files.
    pub fn cmd(&self) -> Cmd {
        let mut env = BTreeMap::new();
        env.insert("PATH".into(), std::env::var("PATH").unwrap_or_default());
        env.insert(
            "HOME".into(),
            self.path().join("home").display().to_string(),
        );
        env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
        env.insert(
            "AWS_CONFIG_FILE".into(),
            self.path().join("aws-config").display().to_string(),
        );
        env.insert(
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            self.path().join("aws-credentials").display().to_string(),
        );
        env.insert(
            "DOCKER_CONFIG".into(),
            self.docker_dir().display().to_string(),
        );
        Cmd {
            env,
            args: Vec::new(),
        }
    }

    /// `cmd()` set up as a GitHub Actions job with `id-token: write`, talking to `proxy`.
    pub fn github(&self, proxy: &Proxy, issuer_url: &str) -> Cmd {
        self.cmd()
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                &format!("{issuer_url}/token?api-version=2.0"),
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
            .env("GITHUB_OUTPUT", self.github_output().to_str().unwrap())
            .env("GITHUB_REPOSITORY", "test-owner/test-repo")
            .env("GITHUB_RUN_ID", "1234567890")
            .env("GITHUB_RUN_ATTEMPT", "1")
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .env("AWS_ROLE_ARN", ROLE)
            .env("AWS_REGION", "us-east-1")
    }
}

/// A command line for the binary.
#[derive(Clone)]
pub struct Cmd {
    env: BTreeMap<String, String>,
    args: Vec<String>,
}

/// What a run printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON document on stdout (`--output json`).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub fn assert_ok(&self) -> &Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn assert_fails(&self, code: i32, needles: &[&str]) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "stderr lacks {n:?}:\n{}",
                self.stderr
            );
        }
        assert!(
            !self.stderr.contains("panicked"),
            "the binary panicked:\n{}",
            self.stderr
        );
        self
    }
}

impl Cmd {
    pub fn env(mut self, k: &str, v: &str) -> Cmd {
        self.env.insert(k.into(), v.into());
        self
    }

    /// Static AWS keys in the environment (the credential chain's first source; moto takes any).
    pub fn aws_keys(self) -> Cmd {
        self.env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE").env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
    }

    pub fn env_remove(mut self, k: &str) -> Cmd {
        self.env.remove(k);
        self
    }

    /// Puts `name` first on the command line (a subcommand before the options).
    pub fn subcommand(mut self, name: &str) -> Cmd {
        self.args.insert(0, name.into());
        self
    }

    pub fn arg(mut self, a: &str) -> Cmd {
        self.args.push(a.into());
        self
    }

    pub fn args(mut self, a: &[&str]) -> Cmd {
        self.args.extend(a.iter().map(|s| s.to_string()));
        self
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .envs(&self.env)
            .args(&self.args)
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self) -> Run {
        let out: Output = self.command().output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Serialises tests that need exclusive use of something global (none so far but the
/// registries' ports).
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A per-test proxy whose STS verifies tokens against the shared issuer's JWKS like real STS
/// and accepts only those matching `trust` ({"iss", "aud", "sub" pattern}).
pub fn trusting_proxy(trust: serde_json::Value) -> Proxy {
    let jwks = format!("{}/.well-known/jwks", shared_issuer_url());
    Proxy::with_args(&["--jwks-url", &jwks, "--trust", &trust.to_string()])
}

/// A per-test proxy whose STS evaluates `policy` (an IAM trust policy document) like IAM.
pub fn policy_proxy(sb: &Sandbox, policy: &str) -> Proxy {
    let file = sb.path().join("trust-policy.json");
    std::fs::write(&file, policy).unwrap();
    let jwks = format!("{}/.well-known/jwks", shared_issuer_url());
    Proxy::with_args(&[
        "--jwks-url",
        &jwks,
        "--trust-policy",
        file.to_str().unwrap(),
    ])
}

impl Sandbox {
    /// Puts an executable `name` with `script` into the sandbox's bin dir.
    pub fn install_program(&self, name: &str, script: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let bin = self.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let path = bin.join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// PATH with the sandbox's bin dir first.
    pub fn path_with_bin(&self) -> String {
        format!(
            "{}:{}",
            self.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// `cmd()` for a CI job talking to `proxy`, with a role and a region.
    pub fn ci(&self, proxy: &Proxy) -> Cmd {
        self.cmd()
            .env("CI", "true")
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .env("AWS_ROLE_ARN", ROLE)
            .env("AWS_REGION", "us-east-1")
            .env("PATH", &self.path_with_bin())
    }
}

/// A CA and a server certificate for `names` (DNS names; `127.0.0.1` is always included as an
/// IP), made with openssl in `dir`: `ca.crt`, `server.crt`, `server.key`.
pub fn make_certs(dir: &Path, names: &[&str]) {
    require_tool("openssl", "openssl");
    let mut sans: Vec<String> = names.iter().map(|h| format!("DNS:{h}")).collect();
    sans.push("IP:127.0.0.1".into());
    std::fs::write(
        dir.join("ext.cnf"),
        format!("subjectAltName={}\n", sans.join(",")),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=ecr-login test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=ecr-login test server",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

/// The release version the fake release site serves.
pub const TEST_VERSION: &str = "9.9.9";

/// A fake release site over HTTPS: `v9.9.9/ecr-login-<target>` for the Linux targets (the
/// binary under test), its checksums in the installer's pinned-line format, and the CA to trust.
pub struct Release {
    pub server: Server,
    pub dir: tempfile::TempDir,
}

impl Release {
    pub fn start() -> Release {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        make_certs(d, &["localhost"]);
        let assets = d.join("site").join(format!("v{TEST_VERSION}"));
        std::fs::create_dir_all(&assets).unwrap();
        let mut sums = String::new();
        for target in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
            let name = format!("ecr-login-{target}");
            std::fs::copy(BIN, assets.join(&name)).unwrap();
            sums.push_str(&format!(
                "{TEST_VERSION} {} {name}\n",
                sha256_file(&assets.join(&name))
            ));
        }
        std::fs::write(d.join("checksums.txt"), sums).unwrap();
        let py = python();
        let script = support("https_server.py");
        let site = d.join("site");
        let cert = d.join("server.crt");
        let key = d.join("server.key");
        let log = d.join("requests.log");
        let server = spawn(
            &[
                py.to_str().unwrap(),
                script.to_str().unwrap(),
                "--dir",
                site.to_str().unwrap(),
                "--cert",
                cert.to_str().unwrap(),
                "--key",
                key.to_str().unwrap(),
                "--log",
                log.to_str().unwrap(),
            ],
            true,
            0,
        );
        Release { server, dir }
    }

    pub fn base_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.server.port)
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    pub fn checksums(&self) -> PathBuf {
        self.dir.path().join("checksums.txt")
    }

    /// The asset of `target` on the site (to tamper with).
    pub fn asset(&self, target: &str) -> PathBuf {
        self.dir
            .path()
            .join("site")
            .join(format!("v{TEST_VERSION}"))
            .join(format!("ecr-login-{target}"))
    }

    /// How many requests the site has served.
    pub fn requests(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("requests.log"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    /// The environment that points scripts/install.sh at this site.
    pub fn install_env(&self, install_dir: &Path) -> Vec<(String, String)> {
        vec![
            ("ECR_LOGIN_VERSION".into(), TEST_VERSION.into()),
            ("ECR_LOGIN_BASE_URL".into(), self.base_url()),
            (
                "ECR_LOGIN_CHECKSUMS_FILE".into(),
                self.checksums().display().to_string(),
            ),
            (
                "ECR_LOGIN_INSTALL_DIR".into(),
                install_dir.display().to_string(),
            ),
            ("CURL_CA_BUNDLE".into(), self.ca().display().to_string()),
        ]
    }
}

/// The SHA-256 of a file, by `sha256sum` (the test build's own hashing is unoptimised).
pub fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A YAML file as JSON (through the test venv's ruamel.yaml, which check-jsonschema brings).
/// `after_separator`: parse only what follows the first `---` line (a GitLab component's job
/// part, after its `spec:` header).
pub fn yaml_to_json(path: &Path, after_separator: bool) -> serde_json::Value {
    let code = r#"
import json, sys
from ruamel.yaml import YAML
text = open(sys.argv[1], encoding="utf-8").read()
if sys.argv[2] == "1":
    head, sep, tail = text.partition("\n---\n")
    text = tail if sep else text
print(json.dumps(YAML(typ="safe").load(text)))
"#;
    let out = Command::new(python())
        .args([
            "-c",
            code,
            path.to_str().unwrap(),
            if after_separator { "1" } else { "0" },
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cannot parse {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A GitHub runner file ($GITHUB_OUTPUT, $GITHUB_STATE...) in its `name<<DELIM` heredoc form.
pub fn runner_file(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delim) = line.split_once("<<").unwrap();
        let mut value = Vec::new();
        for l in lines.by_ref() {
            if l == delim {
                break;
            }
            value.push(l);
        }
        out.insert(name.to_string(), value.join("\n"));
    }
    out
}
