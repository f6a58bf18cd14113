//! A release made by scripts/release.sh the way .github/workflows/release.yml makes one, once per
//! test process: this working tree, committed as X in a new git repository whose "GitHub" is a
//! bare repository (`origin`); the binary under test as the Linux build for this machine's CPU
//! and stand-ins for the other four targets (they cannot be built, or run, here); then
//! `package`, `pin` (commit Y), `tag`, `push`, `publish --to` a release-site directory,
//! `promote` (the major tag and `main` move to Y) and `gitlab-component`. The wrappers' tests
//! install it from a clone of `origin` at the major tag, given only the site's URL and CA: no
//! checksum override, so the installer at the tag must know its own release.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::release::{bin_dir, host_linux_target, kept_temp_dir, run_command, Release};
use super::sandbox::{Run, BIN};
use super::servers::repo_root;

/// `git` (or anything that runs it) with no user or system configuration, a fixed identity, and
/// every repository trusted (the tests may run as root in a checkout that another user owns).
pub fn isolated_git(c: &mut Command) -> &mut Command {
    c.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "safe.directory")
        .env("GIT_CONFIG_VALUE_0", "*")
        .env("GIT_AUTHOR_NAME", "ecr-login release test")
        .env("GIT_AUTHOR_EMAIL", "release-test@example.com")
        .env("GIT_COMMITTER_NAME", "ecr-login release test")
        .env("GIT_COMMITTER_EMAIL", "release-test@example.com")
        .env("GIT_TERMINAL_PROMPT", "0")
}

/// `git ARGS` in `dir`, which must succeed; its stdout, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let run = run_command(isolated_git(
        Command::new("git").current_dir(dir).args(args),
    ));
    assert_eq!(
        run.code,
        0,
        "git {args:?} in {}: {}",
        dir.display(),
        run.stderr
    );
    run.stdout.trim().to_string()
}

/// `sh scripts/release.sh ARGS` of the checkout `work`, run in it.
pub fn release_sh(work: &Path, args: &[&str]) -> Run {
    run_command(isolated_git(
        Command::new("sh")
            .current_dir(work)
            .arg(work.join("scripts/release.sh"))
            .args(args),
    ))
}

/// A new repository at `dir` whose first commit, on `main`, is this working tree: the tracked
/// files and the new ones that are not ignored, as they are on disk now. Returns the commit.
pub fn commit_working_tree(dir: &Path) -> String {
    let root = repo_root();
    let list = git(
        &root,
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    );
    std::fs::create_dir_all(dir).unwrap();
    for path in list.split('\0').filter(|p| !p.is_empty()) {
        let from = root.join(path);
        let to = dir.join(path);
        let Ok(meta) = std::fs::symlink_metadata(&from) else {
            continue; // deleted in the working tree
        };
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from).unwrap(), &to).unwrap();
        } else if meta.is_file() {
            std::fs::copy(&from, &to).unwrap();
        }
    }
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "The working tree under test"]);
    git(dir, &["rev-parse", "HEAD"])
}

/// The `[package]` version in `root`/Cargo.toml.
pub fn cargo_version(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut in_package = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(v) = line.strip_prefix("version = \"") {
                return v.trim_end_matches('"').to_string();
            }
        }
    }
    panic!("no [package] version in Cargo.toml");
}

/// The release, as scripts/release.sh left it.
pub struct Released {
    /// Cargo.toml's version: the release's.
    pub version: String,
    /// `v<version>`.
    pub tag: String,
    /// `v<major>`, the tag that `uses: ...@v1` means.
    pub major: String,
    /// The release's working repository, where release.sh ran.
    pub work: PathBuf,
    /// The bare repository standing in for GitHub.
    pub origin: PathBuf,
    /// Commit X, the one the binaries are built from.
    pub x: String,
    /// What `package` wrote: the archives, SHA256SUMS, the .sha256 files.
    pub dist: PathBuf,
    /// The release-site directory `publish --to` wrote into.
    pub site: PathBuf,
    /// What `promote` printed (`branch=main`).
    pub promoted: String,
    /// A clone of `origin` at the major tag: what a wrapper pinned to it runs.
    pub checkout: PathBuf,
    /// The GitLab component project's commit (`gitlab-component`) and its files.
    pub component_commit: String,
    pub component: PathBuf,
}

impl Released {
    /// A site serving a copy of the published release (to tamper with at will).
    pub fn serve(&self) -> Release {
        Release::published(&self.site, &self.version)
    }
}

/// The release, made on first use.
pub fn released() -> &'static Released {
    static RELEASED: OnceLock<Released> = OnceLock::new();
    RELEASED.get_or_init(make_release)
}

fn make_release() -> Released {
    let dir = kept_temp_dir("released-");
    let work = dir.join("work");
    let origin = dir.join("origin.git");
    let x = commit_working_tree(&work);
    git(&dir, &["init", "-q", "--bare", "-b", "main", "origin.git"]);
    git(
        &work,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    git(&work, &["push", "-q", "origin", "main"]);

    let version = cargo_version(&work);
    let tag = format!("v{version}");
    let major = format!("v{}", version.split('.').next().unwrap());
    let bins = dir.join("bin");
    bin_dir(&bins, Path::new(BIN), &[host_linux_target().as_str()]);
    let dist = dir.join("dist");
    let site = dir.join("site");
    let step = |args: &[&str]| {
        let run = release_sh(&work, args);
        run.assert_ok();
        run.stdout
    };
    step(&["package", bins.to_str().unwrap(), dist.to_str().unwrap()]);
    step(&["pin", &version, dist.join("SHA256SUMS").to_str().unwrap()]);
    step(&["tag", &version]);
    step(&["push", "origin", &version]);
    step(&[
        "publish",
        &version,
        dist.to_str().unwrap(),
        "--to",
        site.to_str().unwrap(),
    ]);
    let promoted = step(&["promote", "origin", &version, "main"]);
    let component_commit = step(&["gitlab-component", &version]).trim().to_string();

    let checkout = dir.join("checkout");
    git(
        &dir,
        &[
            "clone",
            "-q",
            "--branch",
            &major,
            origin.to_str().unwrap(),
            checkout.to_str().unwrap(),
        ],
    );
    let component = dir.join("component");
    std::fs::create_dir_all(&component).unwrap();
    let archive = dir.join("component.tar");
    git(
        &work,
        &[
            "archive",
            "-o",
            archive.to_str().unwrap(),
            &component_commit,
        ],
    );
    run_command(
        Command::new("tar")
            .arg("-xf")
            .arg(&archive)
            .arg("-C")
            .arg(&component),
    )
    .assert_ok();

    Released {
        version,
        tag,
        major,
        work,
        origin,
        x,
        dist,
        site,
        promoted,
        checkout,
        component_commit,
        component,
    }
}
