//! Release sites over HTTPS on 127.0.0.1, for scripts/install.sh and the wrappers that run it,
//! with a CA made for each: a made-up release `v9.9.9` (the binary under test, or a stand-in, as
//! both Linux binaries, packaged into archives by `scripts/release.sh package`; the installer is
//! told its checksums with ECR_LOGIN_CHECKSUMS_FILE), or a release that `scripts/release.sh
//! publish` made (no override: the installer has to know it by itself); and the release the
//! getting-started pages install, with a stand-in for raw.githubusercontent.com serving the
//! installer at the tag they name, which pins it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::released::{commit_working_tree, isolated_git};
use super::sandbox::{Run, BIN};
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

/// The version of the made-up release (one no installer pins).
pub const TEST_VERSION: &str = "9.9.9";

/// The release's targets, as scripts/release.sh and scripts/install.sh name them.
pub const TARGETS: &[&str] = &[
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

/// The release archive of `target`: `ecr-login-<target>.tar.gz`, `.zip` for Windows.
pub fn asset_name(target: &str) -> String {
    if target.contains("-windows-") {
        format!("ecr-login-{target}.zip")
    } else {
        format!("ecr-login-{target}.tar.gz")
    }
}

/// The Linux target of this machine's CPU (the one the binary under test can stand for).
pub fn host_linux_target() -> String {
    format!("{}-unknown-linux-musl", std::env::consts::ARCH)
}

/// Runs `c`; what it printed and how it ended.
pub fn run_command(c: &mut Command) -> Run {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("cannot run {c:?}: {e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The text of a stand-in binary for `target`: a release built elsewhere that the tests cannot
/// build here (and could not run), so a small script that says what it stands for.
pub fn stand_in(target: &str) -> String {
    format!("#!/bin/sh\necho 'stand-in for the ecr-login build for {target}'\n")
}

/// Fills `dir` the way the release workflow's build jobs do (`ecr-login-<target>[.exe]`):
/// `program` as the binary of each target in `real`, a stand-in for each other target.
pub fn bin_dir(dir: &Path, program: &Path, real: &[&str]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    for target in TARGETS {
        let exe = if target.contains("-windows-") {
            ".exe"
        } else {
            ""
        };
        let path = dir.join(format!("ecr-login-{target}{exe}"));
        if real.contains(target) {
            std::fs::copy(program, &path).unwrap();
        } else {
            std::fs::write(&path, stand_in(target)).unwrap();
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// `scripts/release.sh package BINS OUT` of `root` (a checkout), which must succeed. (It asks git
/// for the commit's time: with the tests' git settings, as the checkout may be another user's.)
pub fn release_package(root: &Path, bins: &Path, out: &Path) {
    run_command(isolated_git(
        Command::new("sh")
            .arg(root.join("scripts/release.sh"))
            .arg("package")
            .arg(bins)
            .arg(out),
    ))
    .assert_ok();
}

/// The made-up release's assets (archives, SHA256SUMS, .sha256 files) with `program` as both
/// Linux binaries: packaged once per test process for the binary under test (its archives are
/// large; tests copy them), each time for anything else.
fn packaged(program: &Path, into: &Path) {
    let real = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"];
    let make = |out: &Path| {
        let bins = tempfile::tempdir().unwrap();
        bin_dir(bins.path(), program, &real);
        release_package(&repo_root(), bins.path(), out);
    };
    if program != Path::new(BIN) {
        make(into);
        return;
    }
    static OF_BIN: OnceLock<PathBuf> = OnceLock::new();
    let cached = OF_BIN.get_or_init(|| {
        let dir = kept_temp_dir("release-assets-");
        make(&dir);
        dir
    });
    std::fs::create_dir_all(into).unwrap();
    for entry in std::fs::read_dir(cached).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), into.join(entry.file_name())).unwrap();
    }
}

/// A directory for the whole test process, under cargo's temp dir for integration tests; those
/// left by earlier runs (over an hour old) are removed first.
pub fn kept_temp_dir(prefix: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    if let Ok(entries) = std::fs::read_dir(base) {
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600);
            if old && entry.file_name().to_string_lossy().starts_with(prefix) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(base)
        .unwrap()
        .keep()
}

/// A release site over HTTPS: `site/v<version>/` with the archives, SHA256SUMS and the .sha256
/// files, and the CA to trust.
pub struct Release {
    pub server: Server,
    pub dir: tempfile::TempDir,
    /// The release the site serves.
    pub version: String,
    /// Whether the installer must be told the checksums (a made-up release) or knows them.
    made_up: bool,
}

impl Release {
    /// The made-up release of the binary under test.
    pub fn start() -> Release {
        Release::serving(Path::new(BIN))
    }

    /// The made-up release with a copy of `program` as both Linux binaries (a stand-in for the
    /// binary), and its checksums in the installer's pinned-line format for the override.
    pub fn serving(program: &Path) -> Release {
        let dir = tempfile::tempdir().unwrap();
        let assets = dir.path().join("site").join(format!("v{TEST_VERSION}"));
        packaged(program, &assets);
        let sums = std::fs::read_to_string(assets.join("SHA256SUMS")).unwrap();
        let lines: String = sums
            .lines()
            .map(|l| {
                let (sum, name) = l.split_once("  ").unwrap();
                format!("{TEST_VERSION} {sum} {name}\n")
            })
            .collect();
        std::fs::write(dir.path().join("checksums.txt"), lines).unwrap();
        Release::serve(dir, TEST_VERSION, true)
    }

    /// The release the getting-started pages install ([`pages_release`]: the binary under test
    /// as the installer's default version, pinned in the installers of that tag), served with
    /// no checksum override: the installer the pages download pins it.
    pub fn default_version() -> Release {
        let pages = pages_release();
        Release::published(&pages.site, &pages.version)
    }

    /// A copy of `site` (where `scripts/release.sh publish VERSION DIST --to SITE` put each
    /// release, `v<version>/`), served with no checksum override: the installer must pin the
    /// release it is asked for itself. `version` is the release `asset` and `tamper` refer to.
    pub fn published(site: &Path, version: &str) -> Release {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            site.join(format!("v{version}")).is_dir(),
            "nothing published for {version} in {}",
            site.display()
        );
        for release in std::fs::read_dir(site).unwrap() {
            let release = release.unwrap();
            let to = dir.path().join("site").join(release.file_name());
            std::fs::create_dir_all(&to).unwrap();
            for entry in std::fs::read_dir(release.path()).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
        Release::serve(dir, version, false)
    }

    fn serve(dir: tempfile::TempDir, version: &str, made_up: bool) -> Release {
        let d = dir.path();
        make_certs(d, &["localhost"]);
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
        Release {
            server,
            dir,
            version: version.to_string(),
            made_up,
        }
    }

    pub fn base_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.server.port)
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// The made-up release's checksums, for ECR_LOGIN_CHECKSUMS_FILE.
    pub fn checksums(&self) -> PathBuf {
        assert!(self.made_up, "a published release has no checksum override");
        self.dir.path().join("checksums.txt")
    }

    /// The version to ask the installer for: the made-up one, or none (a published release is
    /// the installer's own default).
    pub fn test_version(&self) -> Option<&str> {
        self.made_up.then_some(self.version.as_str())
    }

    /// The archive of `target` on the site (to tamper with).
    pub fn asset(&self, target: &str) -> PathBuf {
        self.dir
            .path()
            .join("site")
            .join(format!("v{}", self.version))
            .join(asset_name(target))
    }

    /// Spoils the archive of `target` (one byte flipped mid-file); its new SHA-256.
    pub fn tamper(&self, target: &str) -> String {
        let asset = self.asset(target);
        let mut bytes = std::fs::read(&asset).unwrap();
        let n = bytes.len();
        bytes[n / 2] ^= 0xff;
        std::fs::write(&asset, &bytes).unwrap();
        sha256_file(&asset)
    }

    /// How many requests the site has served.
    pub fn requests(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("requests.log"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    /// The environment that points scripts/install.sh at this site: its URL, its CA, the
    /// install dir, and for the made-up release its version and checksums.
    pub fn install_env(&self, install_dir: &Path) -> Vec<(String, String)> {
        let mut env = vec![
            ("ECR_LOGIN_BASE_URL".into(), self.base_url()),
            (
                "ECR_LOGIN_INSTALL_DIR".into(),
                install_dir.display().to_string(),
            ),
            ("CURL_CA_BUNDLE".into(), self.ca().display().to_string()),
        ];
        if self.made_up {
            env.push(("ECR_LOGIN_VERSION".into(), self.version.clone()));
            env.push((
                "ECR_LOGIN_CHECKSUMS_FILE".into(),
                self.checksums().display().to_string(),
            ));
        }
        env
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

/// The release the getting-started pages install, as a user gets it: the pages download
/// `scripts/install.sh` at the tag `v<version>` (the installer's default version, which the
/// pages name), and that installer pins the release's archives. Here that tag is this working
/// tree, copied, with the binary under test as the release: `scripts/release.sh package`'s
/// archives of it, pinned in the copy's installers the way `scripts/release.sh pin` pins them
/// (scripts/pin-checksums.sh, then scripts/sync-installer.sh, which also sets the orb's and the
/// component's `version` defaults), and published in a release-site directory. Made once per
/// test process.
pub struct PagesRelease {
    /// The installer's default version: the release the pages install.
    pub version: String,
    /// The pinned copy of the working tree: what a wrapper at the tag runs (action/, gitlab/,
    /// orb/, jenkins/, and the scripts/install.sh that [`raw_github`] serves).
    pub tree: PathBuf,
    /// The release-site directory: `v<version>/` with the archives, SHA256SUMS and the
    /// .sha256 files.
    pub site: PathBuf,
}

pub fn pages_release() -> &'static PagesRelease {
    static PAGES: OnceLock<PagesRelease> = OnceLock::new();
    PAGES.get_or_init(|| {
        let dir = kept_temp_dir("pages-release-");
        let version = installer_default_version();
        let site = dir.join("site");
        let assets = site.join(format!("v{version}"));
        packaged(Path::new(BIN), &assets);
        let tree = dir.join("tree");
        commit_working_tree(&tree);
        // Pins of a real release of this version, if the working tree has them already, are
        // for other binaries than the one under test: the tag here pins the test's archives.
        let installer = tree.join("scripts/install.sh");
        let text = std::fs::read_to_string(&installer).unwrap();
        let mut pinned = false;
        let kept: String = text
            .lines()
            .filter(|l| {
                if l.ends_with("<<'PINNED'") {
                    pinned = true;
                } else if *l == "PINNED" {
                    pinned = false;
                } else if pinned && l.split(' ').next() == Some(version.as_str()) {
                    return false;
                }
                true
            })
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&installer, kept).unwrap();
        let sums = assets.join("SHA256SUMS");
        for args in [
            vec!["scripts/pin-checksums.sh", &version, sums.to_str().unwrap()],
            vec!["scripts/sync-installer.sh"],
            vec!["scripts/sync-installer.sh", "--check"],
        ] {
            run_command(Command::new("sh").current_dir(&tree).args(&args)).assert_ok();
        }
        PagesRelease {
            version,
            tree,
            site,
        }
    })
}

impl PagesRelease {
    /// The SHA-256 the pinned tree's installer pins for the archive of `target`.
    pub fn pinned(&self, target: &str) -> String {
        let installer = std::fs::read_to_string(self.tree.join("scripts/install.sh")).unwrap();
        let asset = asset_name(target);
        installer
            .lines()
            .find_map(|l| match l.split(' ').collect::<Vec<_>>()[..] {
                [v, sum, a] if v == self.version && a == asset => Some(sum.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("the pinned installer pins no {asset} of {}", self.version))
    }
}

/// A stand-in for GitHub's raw file host, `https://raw.githubusercontent.com`, at the address
/// tests/support/hosts gives that name: it serves the tag the pages name,
/// `/ecr-login/ecr-login/v<version>/scripts/install.sh`, from [`pages_release`]'s tree, so that
/// the getting-started pages' installer download fetches the installer that pins the release.
/// Started once per test process; its CA is `ca.crt` in [`RawGithub::dir`].
pub struct RawGithub {
    _server: Server,
    pub dir: tempfile::TempDir,
}

pub fn raw_github() -> &'static RawGithub {
    static RAW: OnceLock<RawGithub> = OnceLock::new();
    RAW.get_or_init(|| {
        let pages = pages_release();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        make_certs(d, &["raw.githubusercontent.com"]);
        let tree = d
            .join("site/ecr-login/ecr-login")
            .join(format!("v{}", pages.version))
            .join("scripts");
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::copy(
            pages.tree.join("scripts/install.sh"),
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
    /// [`raw_github`] (the getting-started pages' way): the base URL (standing in for GitHub's
    /// release downloads) and a CA bundle for both servers; no checksums, which the installer
    /// pins. The version and the install directory are the page's.
    pub fn page_install_env(&self, bundle: &Path) -> Vec<(String, String)> {
        let mut cas = std::fs::read_to_string(self.ca()).unwrap();
        cas.push_str(&std::fs::read_to_string(raw_github().dir.path().join("ca.crt")).unwrap());
        std::fs::write(bundle, cas).unwrap();
        vec![
            ("ECR_LOGIN_BASE_URL".into(), self.base_url()),
            ("CURL_CA_BUNDLE".into(), bundle.display().to_string()),
        ]
    }
}
