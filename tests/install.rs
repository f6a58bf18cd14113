//! scripts/install.sh against a fake release site over HTTPS on 127.0.0.1: the right checksum
//! installs a binary that runs; a tampered one is refused and nothing is installed; an unknown
//! OS or CPU gets a clear error; a cached, intact binary is not downloaded again; plain HTTP is
//! refused before any connection; the download goes to a private temp file (a symlink planted
//! at a predictable name is not followed); an install directory that another user owns or can
//! write is refused.

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::harness::*;

const LINUX_X86: &[(&str, &str)] = &[("ECR_LOGIN_OS", "Linux"), ("ECR_LOGIN_ARCH", "x86_64")];

/// `sh` with the environment that points the installer at `release` and `install_dir`.
fn sh(release: &Release, install_dir: &Path, extra: &[(&str, &str)]) -> Command {
    let mut c = Command::new("sh");
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", install_dir.join("home"))
        .envs(release.install_env(install_dir))
        .envs(extra.iter().copied());
    c
}

fn run(mut c: Command) -> Run {
    let out = c.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn install(release: &Release, install_dir: &Path, extra: &[(&str, &str)]) -> Run {
    let mut c = sh(release, install_dir, extra);
    c.arg(repo_root().join("scripts/install.sh"));
    run(c)
}

/// The names in `dir`.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn right_checksum_installs_a_binary_that_runs_and_is_cached() {
    let release = Release::start();
    let dir = tempfile::tempdir().unwrap();
    let run = install(
        &release,
        dir.path(),
        &[("ECR_LOGIN_OS", "Linux"), ("ECR_LOGIN_ARCH", "x86_64")],
    );
    run.assert_ok();
    let bin = run.stdout.lines().last().unwrap().to_string();
    assert_eq!(bin, dir.path().join("ecr-login").display().to_string());
    let out = Command::new(&bin).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ecr-login "));
    assert_eq!(release.requests(), 1);

    // Installed and intact: no second download.
    let again = install(
        &release,
        dir.path(),
        &[("ECR_LOGIN_OS", "Linux"), ("ECR_LOGIN_ARCH", "x86_64")],
    );
    again.assert_ok();
    assert!(again.stderr.contains("using cached"), "{}", again.stderr);
    assert_eq!(release.requests(), 1);
}

#[test]
fn arm64_picks_the_arm64_asset() {
    let release = Release::start();
    let dir = tempfile::tempdir().unwrap();
    let run = install(
        &release,
        dir.path(),
        &[("ECR_LOGIN_OS", "Linux"), ("ECR_LOGIN_ARCH", "aarch64")],
    );
    run.assert_ok();
    assert!(
        run.stderr.contains("ecr-login-aarch64-unknown-linux-musl"),
        "{}",
        run.stderr
    );
}

#[test]
fn tampered_binary_is_refused_and_nothing_is_installed() {
    let release = Release::start();
    let asset = release.asset("x86_64-unknown-linux-musl");
    let mut bytes = std::fs::read(&asset).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&asset, &bytes).unwrap();
    let got = sha256_file(&asset);
    let dir = tempfile::tempdir().unwrap();
    let run = install(
        &release,
        dir.path(),
        &[("ECR_LOGIN_OS", "Linux"), ("ECR_LOGIN_ARCH", "x86_64")],
    );
    run.assert_fails(
        1,
        &[
            "checksum mismatch: want ",
            &format!(" got {got}"),
            "nothing was installed",
        ],
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "home")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn unknown_os_or_cpu_is_a_clear_error() {
    let release = Release::start();
    let dir = tempfile::tempdir().unwrap();
    for (os, arch) in [
        ("SunOS", "x86_64"),
        ("Linux", "riscv64"),
        ("Windows_NT", "aarch64"),
    ] {
        install(
            &release,
            dir.path(),
            &[("ECR_LOGIN_OS", os), ("ECR_LOGIN_ARCH", arch)],
        )
        .assert_fails(
            1,
            &[
                &format!("unsupported platform {os}/{arch}"),
                "Linux x86_64/arm64",
            ],
        );
    }
    assert_eq!(release.requests(), 0);
}

#[test]
fn a_version_without_a_pinned_checksum_is_refused() {
    let release = Release::start();
    let dir = tempfile::tempdir().unwrap();
    install(
        &release,
        dir.path(),
        &[
            ("ECR_LOGIN_OS", "Linux"),
            ("ECR_LOGIN_ARCH", "x86_64"),
            ("ECR_LOGIN_VERSION", "v1.2.3"),
        ],
    )
    .assert_fails(1, &["no pinned checksum for ecr-login 1.2.3"]);
    assert_eq!(release.requests(), 0);
}

/// A plain-HTTP server on 127.0.0.1 that answers 404 and counts its connections.
struct PlainHttp {
    port: u16,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PlainHttp {
    fn start() -> PlainHttp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (n, done) = (connections.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if done.load(Ordering::SeqCst) {
                    return;
                }
                n.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut conn) = conn {
                    let _ = conn.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                }
            }
        });
        PlainHttp {
            port,
            connections,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the server; how many connections it had.
    fn connections(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which sees `stop` and ends.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        self.thread.take().unwrap().join().unwrap();
        self.connections.load(Ordering::SeqCst)
    }
}

#[test]
fn plain_http_is_refused_before_any_connection() {
    let release = Release::start();
    let dir = tempfile::tempdir().unwrap();
    let server = PlainHttp::start();
    let http = format!("http://127.0.0.1:{}", server.port);
    let mut extra = LINUX_X86.to_vec();
    extra.push(("ECR_LOGIN_BASE_URL", &http));
    install(&release, dir.path(), &extra).assert_fails(
        1,
        &[&format!(
            "ECR_LOGIN_BASE_URL must be an https:// URL, not {http}"
        )],
    );
    assert_eq!(server.connections(), 0, "the installer spoke plain HTTP");
    assert_eq!(release.requests(), 0);
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

/// The installer used to download to `$dir/.ecr-login.download.$$`: a link planted there (by a
/// shell that then execs the installer, which keeps its PID) made it write through the link.
#[test]
fn a_symlink_planted_at_the_old_temp_name_is_not_followed() {
    let release = Release::start();
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let mut c = sh(&release, dir.path(), LINUX_X86);
    c.env("VICTIM", &victim)
        .env("INSTALLER", repo_root().join("scripts/install.sh"))
        .args([
            "-c",
            r#"ln -s "$VICTIM" "$ECR_LOGIN_INSTALL_DIR/.ecr-login.download.$$" && exec sh "$INSTALLER""#,
        ]);
    let run = run(c);
    run.assert_ok();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let bin = dir.path().join("ecr-login");
    assert!(std::fs::symlink_metadata(&bin).unwrap().is_file());
    assert_eq!(
        sha256_file(&bin),
        sha256_file(&release.asset("x86_64-unknown-linux-musl"))
    );
    // Only the binary and the planted link: the temp file is gone.
    let left = entries(dir.path());
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left[0].starts_with(".ecr-login.download."), "{left:?}");
    assert_eq!(left[1], "ecr-login");
}

/// Another user who owns the install directory, or may write to it, could swap the binary
/// between its check and its run: refused, before anything is downloaded. A sticky directory
/// (like /tmp) is fine; a cached binary that another user owns is refused too.
#[test]
fn an_install_dir_another_user_owns_or_can_write_is_refused() {
    let release = Release::start();
    let root = tempfile::tempdir().unwrap();
    let make = |name: &str, mode: u32| {
        let d = root.path().join(name);
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
        d
    };
    let theirs = make("theirs", 0o755);
    std::os::unix::fs::chown(&theirs, Some(65534), None)
        .expect("chown to uid 65534 (the tests run as root)");
    install(&release, &theirs, LINUX_X86).assert_fails(
        1,
        &[
            &format!(
                "the install directory {} is owned by uid 65534",
                theirs.display()
            ),
            "set ECR_LOGIN_INSTALL_DIR to a directory of your own",
        ],
    );
    assert!(entries(&theirs).is_empty(), "{:?}", entries(&theirs));

    for (name, mode, shown) in [
        ("world", 0o777, "drwxrwxrwx"),
        ("group", 0o775, "drwxrwxr-x"),
    ] {
        let d = make(name, mode);
        install(&release, &d, LINUX_X86).assert_fails(
            1,
            &[
                &format!(
                    "the install directory {} is writable by other users ({shown})",
                    d.display()
                ),
                "chmod go-w",
            ],
        );
        assert!(entries(&d).is_empty(), "{:?}", entries(&d));
    }
    assert_eq!(release.requests(), 0);

    let sticky = make("sticky", 0o1777);
    install(&release, &sticky, LINUX_X86).assert_ok();
    assert_eq!(release.requests(), 1);
    let bin = sticky.join("ecr-login");
    std::os::unix::fs::chown(&bin, Some(65534), None).unwrap();
    install(&release, &sticky, LINUX_X86).assert_fails(
        1,
        &[&format!(
            "the cached binary {} is owned by uid 65534",
            bin.display()
        )],
    );
}

#[test]
fn pinned_checksums_from_the_release_workflow_are_trusted_without_overrides() {
    // The release workflow runs scripts/pin-checksums.sh VERSION SHA256SUMS; afterwards the
    // installer knows that release by itself (no ECR_LOGIN_CHECKSUMS_FILE) and defaults to it.
    let release = Release::start();
    let work = tempfile::tempdir().unwrap();
    let scripts = work.path().join("scripts");
    std::fs::create_dir(&scripts).unwrap();
    for f in ["install.sh", "pin-checksums.sh"] {
        std::fs::copy(repo_root().join("scripts").join(f), scripts.join(f)).unwrap();
    }
    let sums = work.path().join("SHA256SUMS");
    let asset = release.asset("x86_64-unknown-linux-musl");
    std::fs::write(
        &sums,
        format!(
            "{}  ecr-login-x86_64-unknown-linux-musl\n",
            sha256_file(&asset)
        ),
    )
    .unwrap();
    let out = Command::new("sh")
        .arg(scripts.join("pin-checksums.sh"))
        .arg(format!("v{TEST_VERSION}"))
        .arg(&sums)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pinned = std::fs::read_to_string(scripts.join("install.sh")).unwrap();
    assert!(pinned.contains(&format!("DEFAULT_VERSION=\"{TEST_VERSION}\"")));

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .arg(scripts.join("install.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("ECR_LOGIN_BASE_URL", release.base_url())
        .env("CURL_CA_BUNDLE", release.ca())
        .env("ECR_LOGIN_INSTALL_DIR", dir.path())
        .env("ECR_LOGIN_OS", "Linux")
        .env("ECR_LOGIN_ARCH", "x86_64")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("ecr-login").is_file());

    // A list that is not sha256sum output is refused, and the installer is left alone.
    std::fs::write(&sums, "not a checksum list\n").unwrap();
    let before = std::fs::read_to_string(scripts.join("install.sh")).unwrap();
    let out = Command::new("sh")
        .arg(scripts.join("pin-checksums.sh"))
        .args(["1.0.0", sums.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read_to_string(scripts.join("install.sh")).unwrap(),
        before
    );
}

#[test]
fn a_pinned_release_reaches_every_wrapper_copy_of_the_installer() {
    // What the release workflow does: pin-checksums.sh, then sync-installer.sh; afterwards the
    // Jenkins resource, the GitLab component and the orb's version defaults all follow.
    let work = tempfile::tempdir().unwrap();
    let root = repo_root();
    for path in [
        "scripts/install.sh",
        "scripts/pin-checksums.sh",
        "scripts/sync-installer.sh",
        "jenkins/resources/ecr-login/install.sh",
        "gitlab/embed-installer.sh",
        "gitlab/templates/ecr-login.yml",
        "orb/src/commands/login.yml",
        "orb/src/commands/logout.yml",
    ] {
        let to = work.path().join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join(path), &to).unwrap();
    }
    let sums = work.path().join("SHA256SUMS");
    std::fs::write(
        &sums,
        format!("{}  ecr-login-x86_64-unknown-linux-musl\n", "ab".repeat(32)),
    )
    .unwrap();
    let sh = |args: &[&str]| {
        Command::new("sh")
            .current_dir(work.path())
            .args(args)
            .output()
            .unwrap()
    };
    let check = sh(&["scripts/sync-installer.sh", "--check"]);
    assert!(
        check.status.success(),
        "in sync before: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        sh(&["scripts/pin-checksums.sh", "7.7.7", sums.to_str().unwrap()])
            .status
            .success()
    );
    let stale = sh(&["scripts/sync-installer.sh", "--check"]);
    assert!(!stale.status.success());
    let msg = String::from_utf8_lossy(&stale.stderr);
    for f in [
        "jenkins/resources/ecr-login/install.sh",
        "gitlab/templates/ecr-login.yml",
        "orb/src/commands/login.yml",
    ] {
        assert!(msg.contains(f), "{f} not reported stale: {msg}");
    }
    let sync = sh(&["scripts/sync-installer.sh"]);
    assert!(
        sync.status.success(),
        "{}",
        String::from_utf8_lossy(&sync.stderr)
    );
    assert!(sh(&["scripts/sync-installer.sh", "--check"])
        .status
        .success());
    let read = |p: &str| std::fs::read_to_string(work.path().join(p)).unwrap();
    assert_eq!(
        read("jenkins/resources/ecr-login/install.sh"),
        read("scripts/install.sh")
    );
    assert!(read("orb/src/commands/login.yml").contains("default: \"7.7.7\""));
    assert!(read("gitlab/templates/ecr-login.yml").contains(&"ab".repeat(32)));
}
