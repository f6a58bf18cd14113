//! scripts/install.sh against a fake release site over HTTPS on 127.0.0.1: the right checksum
//! installs a binary that runs; a tampered one is refused and nothing is installed; an unknown
//! OS or CPU gets a clear error; a cached, intact binary is not downloaded again.

use std::process::Command;

use crate::harness::*;

fn install(release: &Release, install_dir: &std::path::Path, extra: &[(&str, &str)]) -> Run {
    let mut c = Command::new("sh");
    c.arg(repo_root().join("scripts/install.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", install_dir.join("home"))
        .envs(release.install_env(install_dir))
        .envs(extra.iter().copied());
    let out = c.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
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

#[test]
fn plain_http_is_refused() {
    let release = Release::start();
    let dir = tempfile::tempdir().unwrap();
    let http = release.base_url().replace("https://", "http://");
    install(
        &release,
        dir.path(),
        &[
            ("ECR_LOGIN_OS", "Linux"),
            ("ECR_LOGIN_ARCH", "x86_64"),
            ("ECR_LOGIN_BASE_URL", &http),
        ],
    )
    .assert_fails(1, &["download of http://"]);
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
