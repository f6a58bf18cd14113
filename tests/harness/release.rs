//! A fake release site over HTTPS on 127.0.0.1 (the binary under test as every Linux asset, its
//! checksums in the installer's pinned-line format, a CA made for it) for scripts/install.sh and
//! the wrappers that run it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::sandbox::BIN;
use super::servers::{python, repo_root, require_tool, spawn, support, Server};

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
        Release::serving_version(program, TEST_VERSION)
    }

    /// The site serving the binary under test as the release the installer installs by
    /// default (its DEFAULT_VERSION), so that a documented command that names no version
    /// installs it.
    pub fn default_version() -> Release {
        Release::serving_version(Path::new(BIN), &installer_default_version())
    }

    fn serving_version(program: &Path, version: &str) -> Release {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        make_certs(d, &["localhost"]);
        let assets = d.join("site").join(format!("v{version}"));
        std::fs::create_dir_all(&assets).unwrap();
        let mut sums = String::new();
        for target in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
            let name = format!("ecr-login-{target}");
            std::fs::copy(program, assets.join(&name)).unwrap();
            sums.push_str(&format!(
                "{version} {} {name}\n",
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

/// A stand-in for ecr-login (for a release site to serve) that records how it was run: its
/// arguments and its environment, NUL-separated so that values may span lines. The wrappers'
/// tests use it to see exactly what each wrapper hands the binary.
pub struct RecordingStub {
    pub program: PathBuf,
    record: PathBuf,
}

impl RecordingStub {
    /// The stub as `dir`/ecr-login-stub, recording into `dir`.
    pub fn new(dir: &Path) -> RecordingStub {
        use std::os::unix::fs::PermissionsExt;
        let program = dir.join("ecr-login-stub");
        let record = dir.join("stub-record");
        let script = format!(
            "#!/bin/sh\nprintf '%s\\0' \"$@\" > '{record}.args'\nenv -0 > '{record}'\n",
            record = record.display()
        );
        std::fs::write(&program, script).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        RecordingStub { program, record }
    }

    /// Forgets the last run.
    pub fn clear(&self) {
        let _ = std::fs::remove_file(&self.record);
        let _ = std::fs::remove_file(self.record.with_extension("args"));
    }

    /// The last run's arguments and environment (fails if the stub has not run).
    pub fn last_run(&self) -> (Vec<String>, BTreeMap<String, String>) {
        let split = |path: &Path| -> Vec<String> {
            std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("the stub did not run ({}: {e})", path.display()))
                .split('\0')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let env = split(&self.record)
            .into_iter()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        (split(&self.record.with_extension("args")), env)
    }
}

/// The wrappers' settings for session policies, role chaining, the account guard and the
/// dual-stack hosts: (the variable ecr-login reads, a distinct sample value). Multi-line values
/// where ecr-login takes them, so that a wrapper that mangles lines shows.
pub const SESSION_SETTINGS: &[(&str, &str)] = &[
    (
        "ECR_LOGIN_INLINE_SESSION_POLICY",
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"ecr:*\", \"Resource\": \"*\"}]\n}",
    ),
    (
        "ECR_LOGIN_MANAGED_SESSION_POLICIES",
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly\narn:aws:iam::123456789012:policy/push",
    ),
    ("ECR_LOGIN_ROLE_CHAINING", "true"),
    (
        "ECR_LOGIN_CHAIN_ROLE_ARN",
        "arn:aws:iam::210987654321:role/hub,arn:aws:iam::333333333333:role/ecr",
    ),
    ("ECR_LOGIN_ROLE_EXTERNAL_ID", "ext-4711"),
    ("ECR_LOGIN_ALLOWED_ACCOUNT_IDS", "123456789012,210987654321"),
    ("ECR_LOGIN_DUAL_STACK", "true"),
];

/// The sample value of `var` in SESSION_SETTINGS.
pub fn session_setting(var: &str) -> &'static str {
    SESSION_SETTINGS
        .iter()
        .find(|(v, _)| *v == var)
        .unwrap_or_else(|| panic!("{var} is not a session setting"))
        .1
}

/// Fails unless `env` holds every SESSION_SETTINGS variable with its sample value.
pub fn assert_session_settings(env: &BTreeMap<String, String>) {
    for (var, want) in SESSION_SETTINGS {
        assert_eq!(env.get(*var).map(String::as_str), Some(*want), "{var}");
    }
}

/// The release scripts/install.sh installs when ECR_LOGIN_VERSION is not set.
pub fn installer_default_version() -> String {
    let installer = std::fs::read_to_string(repo_root().join("scripts/install.sh")).unwrap();
    installer
        .lines()
        .find_map(|l| l.strip_prefix("DEFAULT_VERSION=\""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("scripts/install.sh has no DEFAULT_VERSION=\"...\" line")
        .to_string()
}

/// A stand-in for GitHub's raw file host, `https://raw.githubusercontent.com`, at the address
/// tests/support/hosts gives that name: it serves this repository's files under
/// `/ecr-login/ecr-login/v<installer's default version>/`, so that the getting-started pages'
/// installer download fetches scripts/install.sh. Started once per test process; its CA is
/// `ca.crt` in [`RawGithub::dir`].
pub struct RawGithub {
    _server: Server,
    pub dir: tempfile::TempDir,
}

pub fn raw_github() -> &'static RawGithub {
    static RAW: std::sync::OnceLock<RawGithub> = std::sync::OnceLock::new();
    RAW.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        make_certs(d, &["raw.githubusercontent.com"]);
        let tree = d
            .join("site/ecr-login/ecr-login")
            .join(format!("v{}", installer_default_version()))
            .join("scripts");
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::copy(
            repo_root().join("scripts/install.sh"),
            tree.join("install.sh"),
        )
        .unwrap();
        let py = python();
        let script = support("https_server.py");
        let (site, cert, key) = (d.join("site"), d.join("server.crt"), d.join("server.key"));
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
                "--host",
                "127.0.0.16",
                "--port",
                "443",
            ],
            true,
            443,
        );
        RawGithub {
            _server: server,
            dir,
        }
    })
}

impl Release {
    /// The environment that points scripts/install.sh at this site when it is downloaded from
    /// [`raw_github`] (the getting-started pages' way): the base URL and the checksums, and a CA
    /// bundle for both servers. The version and the install directory are the page's.
    pub fn page_install_env(&self, bundle: &Path) -> Vec<(String, String)> {
        let mut cas = std::fs::read_to_string(self.ca()).unwrap();
        cas.push_str(&std::fs::read_to_string(raw_github().dir.path().join("ca.crt")).unwrap());
        std::fs::write(bundle, cas).unwrap();
        vec![
            ("ECR_LOGIN_BASE_URL".into(), self.base_url()),
            (
                "ECR_LOGIN_CHECKSUMS_FILE".into(),
                self.checksums().display().to_string(),
            ),
            ("CURL_CA_BUNDLE".into(), bundle.display().to_string()),
        ]
    }
}
