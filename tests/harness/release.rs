//! A fake release site over HTTPS on 127.0.0.1 (the binary under test as every Linux asset, its
//! checksums in the installer's pinned-line format, a CA made for it) for scripts/install.sh and
//! the wrappers that run it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::sandbox::BIN;
use super::servers::{python, require_tool, spawn, support, Server};

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
/// binary under test, or a stand-in), its checksums in the installer's pinned-line format, and the CA to trust.
pub struct Release {
    pub server: Server,
    pub dir: tempfile::TempDir,
}

impl Release {
    /// The site serving the binary under test.
    pub fn start() -> Release {
        Release::serving(Path::new(BIN))
    }

    /// The site serving a copy of `program` as every asset (a stand-in for the binary).
    pub fn serving(program: &Path) -> Release {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        make_certs(d, &["localhost"]);
        let assets = d.join("site").join(format!("v{TEST_VERSION}"));
        std::fs::create_dir_all(&assets).unwrap();
        let mut sums = String::new();
        for target in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
            let name = format!("ecr-login-{target}");
            std::fs::copy(program, assets.join(&name)).unwrap();
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
