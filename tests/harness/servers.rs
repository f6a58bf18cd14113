//! Local servers shared by every test (moto and our OIDC issuer, started once per test process
//! under a watchdog that stops them when the tests end), where the tests' support files and tools
//! are, and signed tokens from the shared issuer.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The request token the shared issuer expects (ACTIONS_ID_TOKEN_REQUEST_TOKEN).
pub const REQUEST_TOKEN: &str = "test-request-token";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(super) fn support(file: &str) -> PathBuf {
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
pub(super) fn spawn(args: &[&str], ready_line: bool, port: u16) -> Server {
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

    /// How many /token requests it failed on purpose (`--fail-rate`).
    pub fn token_faults(&self) -> u64 {
        let v = http_get_json(&format!("{}/__stats", self.url()));
        v["token_faults"].as_u64().unwrap()
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

/// A token from the shared issuer with these claims (`:`, `/`, `{`, `}` URL-encoded).
pub fn token(iss: &str, aud: &str, sub: &str) -> String {
    let q = |s: &str| {
        s.replace(':', "%3A")
            .replace('/', "%2F")
            .replace('{', "%7B")
            .replace('}', "%7D")
    };
    shared_issuer().token(&format!(
        "iss={}&audience={}&sub={}",
        q(iss),
        q(aud),
        q(sub)
    ))
}

pub fn http_get(url: &str) -> String {
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

pub(super) fn http_get_json(url: &str) -> serde_json::Value {
    serde_json::from_str(&http_get(url)).unwrap()
}
