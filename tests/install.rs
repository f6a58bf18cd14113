//! scripts/install.sh against a release site over HTTPS on 127.0.0.1 (archives made by
//! scripts/release.sh package): the right checksum installs a binary that runs, unpacked from a
//! .tar.gz (a .zip for Windows); a tampered archive is refused and nothing is installed; an
//! unknown OS or CPU gets a clear error; a cached, intact binary from the pinned archive is not
//! downloaded again, a changed one or another version's is; plain HTTP is refused before any
//! connection; the download goes to a private temp directory (a symlink planted at a
//! predictable name is not followed); an install directory that another user owns or can write,
//! or that is below a directory others can write (not sticky), is refused. Every failure of the installer is exit 9, never one of ecr-login's own codes.

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
fn tampered_archive_is_refused_and_nothing_is_installed() {
    let release = Release::start();
    let got = release.tamper("x86_64-unknown-linux-musl");
    let dir = tempfile::tempdir().unwrap();
    let run = install(&release, dir.path(), LINUX_X86);
    run.assert_fails(
        9,
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

/// The Windows release is a .zip holding ecr-login.exe, unpacked with unzip; the macOS ones are
/// .tar.gz like Linux's. (The binaries for those are stand-ins: they are not built here.)
#[test]
fn windows_gets_the_zip_and_macos_the_tar_gz_of_its_cpu() {
    let release = Release::start();
    for (os, arch, target, file) in [
        (
            "Windows_NT",
            "x86_64",
            "x86_64-pc-windows-msvc",
            "ecr-login.exe",
        ),
        (
            "MINGW64_NT-10.0",
            "x86_64",
            "x86_64-pc-windows-msvc",
            "ecr-login.exe",
        ),
        ("Darwin", "arm64", "aarch64-apple-darwin", "ecr-login"),
        ("Darwin", "x86_64", "x86_64-apple-darwin", "ecr-login"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let run = install(
            &release,
            dir.path(),
            &[("ECR_LOGIN_OS", os), ("ECR_LOGIN_ARCH", arch)],
        );
        run.assert_ok();
        assert!(
            run.stderr
                .contains(&format!("/v{TEST_VERSION}/{}", asset_name(target))),
            "{}",
            run.stderr
        );
        let bin = dir.path().join(file);
        assert_eq!(run.stdout.lines().last(), Some(bin.to_str().unwrap()));
        assert_eq!(std::fs::read_to_string(&bin).unwrap(), stand_in(target));
        let mode = std::fs::metadata(&bin).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "{file}: {mode:o}");
        assert_eq!(
            entries(dir.path()),
            [".ecr-login.verified", file],
            "only the binary and its record"
        );
    }
}

/// The archive's checksum is right but the binary is not in it (or is a link): nothing is
/// installed, exit 9.
#[test]
fn an_archive_without_the_binary_installs_nothing() {
    let release = Release::start();
    let work = tempfile::tempdir().unwrap();
    for (name, link, why) in [
        ("ecr-login-renamed", false, "cannot unpack"),
        ("ecr-login", true, "holds no file ecr-login"),
    ] {
        let stage = work.path().join(name);
        std::fs::create_dir_all(&stage).unwrap();
        if link {
            std::os::unix::fs::symlink("/bin/sh", stage.join("ecr-login")).unwrap();
        } else {
            std::fs::write(stage.join(name), "#!/bin/sh\n").unwrap();
        }
        let asset = release.asset("x86_64-unknown-linux-musl");
        let tar = Command::new("tar")
            .arg("-czf")
            .arg(&asset)
            .arg("-C")
            .arg(&stage)
            .arg(if link { "ecr-login" } else { name })
            .status()
            .unwrap();
        assert!(tar.success());
        std::fs::write(
            release.checksums(),
            format!(
                "{TEST_VERSION} {} ecr-login-x86_64-unknown-linux-musl.tar.gz\n",
                sha256_file(&asset)
            ),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        install(&release, dir.path(), LINUX_X86).assert_fails(9, &[why, "nothing was installed"]);
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    }
}

/// A cached binary is reused only when it came from the archive pinned now and is unchanged:
/// a changed binary, or one from another release in the same directory, is replaced.
#[test]
fn a_changed_or_other_release_binary_in_the_cache_is_replaced() {
    let release = Release::start();
    let dir = tempfile::tempdir().unwrap();
    install(&release, dir.path(), LINUX_X86).assert_ok();
    let bin = dir.path().join("ecr-login");
    let good = sha256_file(&bin);
    assert_eq!(good, sha256_file(Path::new(BIN)));
    assert_eq!(release.requests(), 1);

    std::fs::write(&bin, "#!/bin/sh\necho changed\n").unwrap();
    let again = install(&release, dir.path(), LINUX_X86);
    again.assert_ok();
    assert!(!again.stderr.contains("using cached"), "{}", again.stderr);
    assert_eq!(release.requests(), 2);
    assert_eq!(sha256_file(&bin), good);

    // The record names another release's archive: this one is downloaded.
    let record = dir.path().join(".ecr-login.verified");
    let text = std::fs::read_to_string(&record).unwrap();
    let (archive, binary) = text.trim().split_once(' ').unwrap();
    assert_eq!(binary, good);
    assert_eq!(archive.len(), 64);
    std::fs::write(&record, format!("{} {binary}\n", "0".repeat(64))).unwrap();
    install(&release, dir.path(), LINUX_X86).assert_ok();
    assert_eq!(release.requests(), 3);
    let cached = install(&release, dir.path(), LINUX_X86);
    cached.assert_ok();
    assert!(cached.stderr.contains("using cached"), "{}", cached.stderr);
    assert_eq!(release.requests(), 3);
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
            9,
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
    .assert_fails(
        9,
        &[
            "no pinned checksum for ecr-login 1.2.3",
            "pin the wrapper to the release's tag",
        ],
    );
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
        9,
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
    assert_eq!(sha256_file(&bin), sha256_file(Path::new(BIN)));
    // Only the binary, its record and the planted link: the temp directory is gone.
    let left = entries(dir.path());
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left[0].starts_with(".ecr-login.download."), "{left:?}");
    assert_eq!(left[1..], [".ecr-login.verified", "ecr-login"]);
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
        9,
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
            9,
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
        9,
        &[&format!(
            "the cached binary {} is owned by uid 65534",
            bin.display()
        )],
    );
}

/// A directory above the install directory that others can write lets them rename the install
/// directory away and put one of their own, with their binary, in its place: refused, for every
/// directory from the install directory up to /, before anything is created or downloaded. A
/// sticky one (like /tmp) is fine: there, only a directory's owner may rename it.
#[test]
fn an_install_dir_under_a_directory_others_can_write_is_refused_unless_sticky() {
    let release = Release::start();
    let root = tempfile::tempdir().unwrap();
    let open = root.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let refused = |dir: &Path| {
        install(&release, dir, LINUX_X86).assert_fails(
            9,
            &[
                &format!(
                    "the directory {} above the install directory {} is writable by other users (drwxrwxrwx) and not sticky",
                    open.display(),
                    dir.display()
                ),
                "another user could replace ecr-login",
                &format!("chmod go-w {}", open.display()),
                "set ECR_LOGIN_INSTALL_DIR",
            ],
        );
    };
    // The install directory just under it, mode 0755 and ours; one further down; and one that
    // does not exist yet (and is not created).
    let below = open.join("bin");
    std::fs::create_dir(&below).unwrap();
    std::fs::set_permissions(&below, std::fs::Permissions::from_mode(0o755)).unwrap();
    refused(&below);
    assert!(entries(&below).is_empty(), "{:?}", entries(&below));
    let deeper = open.join("a/b/bin");
    std::fs::create_dir_all(&deeper).unwrap();
    for d in ["a", "a/b", "a/b/bin"] {
        std::fs::set_permissions(open.join(d), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    refused(&deeper);
    assert!(entries(&deeper).is_empty(), "{:?}", entries(&deeper));
    let new = open.join("new/bin");
    refused(&new);
    assert!(!open.join("new").exists());
    assert_eq!(release.requests(), 0);

    // Sticky (mode 1777, like /tmp): the binary under test is installed.
    let sticky = root.path().join("sticky");
    std::fs::create_dir(&sticky).unwrap();
    std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let dir = sticky.join("a/bin");
    let run = install(&release, &dir, LINUX_X86);
    run.assert_ok();
    let bin = dir.join("ecr-login");
    assert_eq!(run.stdout.lines().last(), Some(bin.to_str().unwrap()));
    assert_eq!(sha256_file(&bin), sha256_file(Path::new(BIN)));
    assert_eq!(release.requests(), 1);
}

#[test]
fn pinned_checksums_from_the_release_workflow_are_trusted_without_overrides() {
    // scripts/release.sh pin runs scripts/pin-checksums.sh VERSION SHA256SUMS; afterwards the
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
            "{}  ecr-login-x86_64-unknown-linux-musl.tar.gz\n",
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

    // Pinning the same release again is refused (its assets never change), and so is a list
    // that is not sha256sum output, or names raw binaries rather than the archives; the
    // installer is left alone each time.
    let before = std::fs::read_to_string(scripts.join("install.sh")).unwrap();
    let refused = |version: &str, text: &str, why: &str| {
        std::fs::write(&sums, text).unwrap();
        let out = Command::new("sh")
            .arg(scripts.join("pin-checksums.sh"))
            .args([version, sums.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{err}");
        assert_eq!(
            std::fs::read_to_string(scripts.join("install.sh")).unwrap(),
            before
        );
    };
    let line = format!(
        "{}  ecr-login-x86_64-unknown-linux-musl.tar.gz\n",
        "ab".repeat(32)
    );
    refused(TEST_VERSION, &line, "is pinned in");
    refused("1.0.0", "not a checksum list\n", "is not a sha256sum list");
    refused(
        "1.0.0",
        &format!("{}  ecr-login-x86_64-unknown-linux-musl\n", "ab".repeat(32)),
        "is not a sha256sum list",
    );
}

#[test]
fn a_pinned_release_reaches_every_wrapper_copy_of_the_installer() {
    // What scripts/release.sh pin does: pin-checksums.sh, then sync-installer.sh; afterwards the
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
        format!(
            "{}  ecr-login-x86_64-unknown-linux-musl.tar.gz\n",
            "ab".repeat(32)
        ),
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
