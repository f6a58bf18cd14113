//! scripts/release.sh, the release as .github/workflows/release.yml makes it, run here against
//! local git repositories (a bare one stands in for GitHub) and the local HTTPS release site.
//! The release made once per test process (harness `released()`: this working tree as commit X,
//! the binary under test as this machine's Linux build, stand-ins for the other targets, which
//! cannot be built here): its tag points at a commit on top of X whose installer pins that
//! release, and that installer installs it with no checksum override; the major tag and `main`
//! point there too; a tampered archive is refused with exit 9. (wrapper_*.rs install the same
//! release through each wrapper from a checkout of the major tag.) Releases of stand-ins in a
//! repository of their own: the major tag follows the newest stable release only, a branch that
//! has moved on gets its pins through a branch to merge, and every step refuses what would make
//! a wrong release.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::*;

/// `sh INSTALLER` of `checkout` pointed at `release` (URL, CA, install dir, and nothing else:
/// no version, no checksums) plus `extra`.
fn install_from(checkout: &Path, release: &Release, dir: &Path, extra: &[(&str, &str)]) -> Run {
    run_command(
        Command::new("sh")
            .arg(checkout.join("scripts/install.sh"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.join("home"))
            .envs(release.install_env(dir))
            .envs(extra.iter().copied()),
    )
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// --- the release made once, as the workflow makes it ------------------------------------------

#[test]
fn the_tag_is_a_pin_commit_on_top_of_x_and_the_major_tag_and_main_follow_it() {
    let r = released();
    let o = &r.origin;
    let y = git(o, &["rev-parse", &format!("{}^{{commit}}", r.tag)]);
    assert_ne!(y, r.x);
    assert_eq!(
        git(o, &["rev-parse", &format!("{y}^")]),
        r.x,
        "Y's parent is X"
    );
    assert_eq!(
        git(o, &["cat-file", "-t", &r.tag]),
        "tag",
        "an annotated tag"
    );
    assert_eq!(
        git(o, &["rev-parse", &r.major]),
        y,
        "{} is the tag's commit",
        r.major
    );
    assert_eq!(git(o, &["rev-parse", "main"]), y, "main fast-forwarded");
    assert_eq!(r.promoted.trim(), "branch=main");
    assert_eq!(git(&r.checkout, &["rev-parse", "HEAD"]), y);

    // Y changes the installer and its copies, nothing else.
    let changed = git(o, &["diff", "--name-only", &r.x, &y]);
    assert!(
        changed.lines().any(|f| f == "scripts/install.sh"),
        "{changed}"
    );
    for f in changed.lines() {
        assert!(
            [
                "scripts/install.sh",
                "jenkins/resources/ecr-login/install.sh",
                "gitlab/templates/ecr-login.yml",
                "orb/src/commands/login.yml",
                "orb/src/commands/logout.yml",
            ]
            .contains(&f),
            "the pin commit changed {f}"
        );
    }

    // The installer at the tag pins exactly SHA256SUMS, and defaults to the release.
    let installer = git(o, &["show", &format!("{}:scripts/install.sh", r.tag)]);
    let sums = std::fs::read_to_string(r.dist.join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), TARGETS.len());
    for line in sums.lines() {
        let (sum, asset) = line.split_once("  ").unwrap();
        let pinned = format!("{} {sum} {asset}", r.version);
        assert_eq!(
            installer.lines().filter(|l| *l == pinned).count(),
            1,
            "{pinned}"
        );
    }
    assert!(installer.contains(&format!("\nDEFAULT_VERSION=\"{}\"\n", r.version)));
    // ... and so do its copies at the tag.
    run_command(
        Command::new("sh")
            .arg("scripts/sync-installer.sh")
            .arg("--check")
            .current_dir(&r.checkout),
    )
    .assert_ok();
    // What was published is what was packaged.
    let published = r.site.join(&r.tag);
    assert_eq!(files_in(&published), files_in(&r.dist));
    for f in files_in(&r.dist) {
        assert_eq!(
            std::fs::read(published.join(&f)).unwrap(),
            std::fs::read(r.dist.join(&f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn the_installer_at_the_tag_installs_its_release_with_no_override() {
    let r = released();
    let release = r.serve();
    let dir = tempfile::tempdir().unwrap();
    // This machine's platform, as uname says: the binary under test.
    let run = install_from(&r.checkout, &release, dir.path(), &[]);
    run.assert_ok();
    assert!(
        run.stderr
            .contains(&format!("/{}/{}", r.tag, asset_name(&host_linux_target()))),
        "{}",
        run.stderr
    );
    let bin = run.stdout.lines().last().unwrap().to_string();
    let version = run_command(Command::new(&bin).arg("--version"));
    version.assert_ok();
    assert_eq!(version.stdout.trim(), format!("ecr-login {}", r.version));
    assert_eq!(sha256_file(Path::new(&bin)), sha256_file(Path::new(BIN)));

    // Every other platform gets its own build (stand-ins here), the Windows one from the .zip.
    for (os, arch, target, file) in [
        (
            "Linux",
            "aarch64",
            "aarch64-unknown-linux-musl",
            "ecr-login",
        ),
        ("Linux", "x86_64", "x86_64-unknown-linux-musl", "ecr-login"),
        ("Darwin", "arm64", "aarch64-apple-darwin", "ecr-login"),
        ("Darwin", "x86_64", "x86_64-apple-darwin", "ecr-login"),
        (
            "Windows_NT",
            "AMD64",
            "x86_64-pc-windows-msvc",
            "ecr-login.exe",
        ),
    ] {
        if target == host_linux_target() {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        install_from(
            &r.checkout,
            &release,
            dir.path(),
            &[("ECR_LOGIN_OS", os), ("ECR_LOGIN_ARCH", arch)],
        )
        .assert_ok();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(file)).unwrap(),
            stand_in(target),
            "{target}"
        );
    }

    // A tampered archive: exit 9, nothing installed.
    let got = release.tamper(&host_linux_target());
    let dir = tempfile::tempdir().unwrap();
    install_from(&r.checkout, &release, dir.path(), &[]).assert_fails(
        9,
        &[
            "checksum mismatch",
            &format!("got {got}"),
            "nothing was installed",
        ],
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );

    // X's installer, before the pin, does not know the release (why the tag is on Y).
    let x = tempfile::tempdir().unwrap();
    git(
        &r.origin,
        &[
            "worktree",
            "add",
            "-q",
            "--detach",
            x.path().join("x").to_str().unwrap(),
            &r.x,
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    install_from(&x.path().join("x"), &r.serve(), dir.path(), &[])
        .assert_fails(9, &["no pinned checksum for ecr-login"]);
    git(
        &r.origin,
        &[
            "worktree",
            "remove",
            "--force",
            x.path().join("x").to_str().unwrap(),
        ],
    );
}

/// `package`: one archive per target with the one binary inside (mode 0755, owner 0), checksums
/// that `sha256sum --check` accepts, the same bytes when run again.
#[test]
fn package_makes_one_archive_per_target_with_the_binary_inside() {
    let r = released();
    let mut want: Vec<String> = TARGETS.iter().map(|t| asset_name(t)).collect();
    want.extend(TARGETS.iter().map(|t| format!("{}.sha256", asset_name(t))));
    want.push("SHA256SUMS".into());
    want.sort();
    assert_eq!(files_in(&r.dist), want);
    run_command(
        Command::new("sha256sum")
            .args(["--check", "--strict", "SHA256SUMS"])
            .current_dir(&r.dist),
    )
    .assert_ok();
    for target in TARGETS {
        let asset = asset_name(target);
        let one = std::fs::read_to_string(r.dist.join(format!("{asset}.sha256"))).unwrap();
        assert_eq!(
            one,
            format!("{}  {asset}\n", sha256_file(&r.dist.join(&asset)))
        );
        let list = if asset.ends_with(".zip") {
            run_command(Command::new("unzip").arg("-Z1").arg(r.dist.join(&asset)))
        } else {
            run_command(
                Command::new("tar")
                    .args(["--numeric-owner", "-tvzf"])
                    .arg(r.dist.join(&asset)),
            )
        };
        list.assert_ok();
        let entries: Vec<&str> = list.stdout.lines().collect();
        assert_eq!(entries.len(), 1, "{asset}: {entries:?}");
        if asset.ends_with(".zip") {
            assert_eq!(entries[0], "ecr-login.exe");
        } else {
            assert!(entries[0].starts_with("-rwxr-xr-x 0/0 "), "{}", entries[0]);
            assert!(entries[0].ends_with(" ecr-login"), "{}", entries[0]);
        }
    }
    let unpacked = tempfile::tempdir().unwrap();
    run_command(
        Command::new("tar")
            .arg("-xzf")
            .arg(r.dist.join(asset_name(&host_linux_target())))
            .arg("-C")
            .arg(unpacked.path()),
    )
    .assert_ok();
    assert_eq!(
        sha256_file(&unpacked.path().join("ecr-login")),
        sha256_file(Path::new(BIN)),
        "the host's archive holds the binary under test"
    );

    // Reproducible: the same binaries packaged twice give the same archives.
    let tmp = tempfile::tempdir().unwrap();
    let program = tmp.path().join("program");
    std::fs::write(&program, "#!/bin/sh\necho reproducible\n").unwrap();
    bin_dir(&tmp.path().join("bin"), &program, TARGETS);
    let mut sums = Vec::new();
    for out in ["a", "b"] {
        release_package(&r.work, &tmp.path().join("bin"), &tmp.path().join(out));
        sums.push(std::fs::read_to_string(tmp.path().join(out).join("SHA256SUMS")).unwrap());
    }
    assert_eq!(sums[0], sums[1]);
}

/// `gitlab-component`: a commit whose tree is gitlab/ at the tag, ready to push to the
/// component's own project (its root: templates/, README.md, .gitlab-ci.yml).
#[test]
fn the_gitlab_component_commit_is_the_tags_gitlab_directory() {
    let r = released();
    let tree = |rev: &str| git(&r.work, &["rev-parse", &format!("{rev}^{{tree}}")]);
    assert_eq!(
        tree(&r.component_commit),
        git(&r.work, &["rev-parse", &format!("{}:gitlab", r.tag)])
    );
    for f in ["templates/ecr-login.yml", "README.md", ".gitlab-ci.yml"] {
        assert!(r.component.join(f).is_file(), "no {f} in the component");
    }
    let template = std::fs::read_to_string(r.component.join("templates/ecr-login.yml")).unwrap();
    assert!(template.contains(&format!("      DEFAULT_VERSION=\"{}\"\n", r.version)));
    // A later release's commit continues the component project's history.
    let child = release_sh(
        &r.work,
        &["gitlab-component", &r.version, &r.component_commit],
    );
    child.assert_ok();
    let child = child.stdout.trim();
    assert_eq!(
        git(&r.work, &["rev-parse", &format!("{child}^")]),
        r.component_commit
    );
    assert_eq!(tree(child), tree(&r.component_commit));
}

// --- releases of stand-ins, in a repository of their own ---------------------------------------

/// A repository like the one `released()` makes, for releases of stand-in binaries.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        commit_working_tree(&dir.path().join("work"));
        git(
            dir.path(),
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        let repo = Repo { dir };
        let origin = repo.origin();
        git(
            &repo.work(),
            &["remote", "add", "origin", origin.to_str().unwrap()],
        );
        git(&repo.work(), &["push", "-q", "origin", "main"]);
        repo
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn origin(&self) -> PathBuf {
        self.dir.path().join("origin.git")
    }

    fn site(&self) -> PathBuf {
        self.dir.path().join("site")
    }

    fn rev(&self, rev: &str) -> String {
        git(&self.origin(), &["rev-parse", &format!("{rev}^{{commit}}")])
    }

    fn has(&self, rev: &str) -> bool {
        run_command(isolated_git(
            Command::new("git").current_dir(self.origin()).args([
                "rev-parse",
                "-q",
                "--verify",
                rev,
            ]),
        ))
        .code
            == 0
    }

    /// Commits Cargo.toml saying `version` on the current branch (the commit X of a release).
    fn bump(&self, version: &str) {
        let path = self.work().join("Cargo.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let old = format!("version = \"{}\"", cargo_version(&self.work()));
        let text = text.replacen(&old, &format!("version = \"{version}\""), 1);
        std::fs::write(&path, text).unwrap();
        git(
            &self.work(),
            &["commit", "-q", "-am", &format!("Cargo.toml: {version}")],
        );
    }

    /// Stand-in binaries of `version` (each says which) packaged into a new dist dir.
    fn package(&self, version: &str) -> PathBuf {
        let base = self.dir.path().join(format!("build-{version}"));
        let program = base.join("program");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(&program, format!("#!/bin/sh\necho 'stand-in {version}'\n")).unwrap();
        bin_dir(&base.join("bin"), &program, TARGETS);
        release_package(&self.work(), &base.join("bin"), &base.join("dist"));
        base.join("dist")
    }

    /// The whole release of `version` from the current HEAD (X) and `branch`, as the workflow
    /// runs it; what `promote` printed.
    fn release(&self, version: &str, branch: &str) -> String {
        let dist = self.package(version);
        let w = self.work();
        let sums = dist.join("SHA256SUMS");
        for args in [
            vec!["pin", version, sums.to_str().unwrap()],
            vec!["tag", version],
            vec!["push", "origin", version],
            vec![
                "publish",
                version,
                dist.to_str().unwrap(),
                "--to",
                self.site().to_str().unwrap(),
            ],
        ] {
            release_sh(&w, &args).assert_ok();
        }
        let promoted = release_sh(&w, &["promote", "origin", version, branch]);
        promoted.assert_ok();
        promoted.stdout.trim().to_string()
    }

    /// A clone of origin at `rev`.
    fn checkout(&self, rev: &str) -> PathBuf {
        let to = self.dir.path().join(format!("checkout-{rev}"));
        git(
            self.dir.path(),
            &[
                "clone",
                "-q",
                "--branch",
                rev,
                self.origin().to_str().unwrap(),
                to.to_str().unwrap(),
            ],
        );
        to
    }
}

/// What the installer at `checkout` installs from `site` (Linux x86_64), asked for `version`
/// or its default: the stand-in's words.
fn installed(checkout: &Path, site: &Path, version: Option<&str>) -> String {
    // (Any release published there: the version given here only names what `tamper` spoils.)
    let release = Release::published(site, "1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let mut extra = vec![("ECR_LOGIN_OS", "Linux"), ("ECR_LOGIN_ARCH", "x86_64")];
    if let Some(v) = version {
        extra.push(("ECR_LOGIN_VERSION", v));
    }
    let run = install_from(checkout, &release, dir.path(), &extra);
    run.assert_ok();
    let bin = run.stdout.lines().last().unwrap().to_string();
    run_command(&mut Command::new(bin))
        .stdout
        .trim()
        .to_string()
}

#[test]
fn the_major_tag_follows_the_newest_stable_release_and_branches_get_the_pins() {
    let repo = Repo::new();
    let w = repo.work();

    repo.bump("1.0.0");
    git(&w, &["push", "-q", "origin", "main"]);
    assert_eq!(repo.release("1.0.0", "main"), "branch=main");
    assert_eq!(repo.rev("v1"), repo.rev("v1.0.0"));

    repo.bump("1.1.0");
    git(&w, &["push", "-q", "origin", "main"]);
    assert_eq!(repo.release("1.1.0", "main"), "branch=main");
    let y = repo.rev("v1.1.0");
    assert_eq!(repo.rev("v1"), y, "v1 moved to 1.1.0");
    assert_eq!(repo.rev("main"), y);
    // `@v1` installs 1.1.0, and still knows 1.0.0: main carried the earlier pins along.
    let v1 = repo.checkout("v1");
    assert_eq!(installed(&v1, &repo.site(), None), "stand-in 1.1.0");
    assert_eq!(
        installed(&v1, &repo.site(), Some("1.0.0")),
        "stand-in 1.0.0"
    );

    // A fix for 1.0 from a release/1.0 branch: that branch gets it, v1 stays at 1.1.0.
    git(&w, &["switch", "-q", "-c", "release/1.0", "v1.0.0"]);
    repo.bump("1.0.1");
    git(&w, &["push", "-q", "origin", "release/1.0"]);
    assert_eq!(repo.release("1.0.1", "release/1.0"), "branch=release/1.0");
    assert_eq!(repo.rev("release/1.0"), repo.rev("v1.0.1"));
    assert_eq!(repo.rev("v1"), y, "v1 stays at the newest release, 1.1.0");
    assert_eq!(
        installed(&repo.checkout("v1.0.1"), &repo.site(), None),
        "stand-in 1.0.1"
    );

    // A prerelease of 2.0.0 from main: no v2 yet.
    git(&w, &["switch", "-q", "main"]);
    repo.bump("2.0.0-rc.1");
    git(&w, &["push", "-q", "origin", "main"]);
    assert_eq!(repo.release("2.0.0-rc.1", "main"), "branch=main");
    assert!(!repo.has("refs/tags/v2"), "a prerelease made v2");
    assert_eq!(repo.rev("v1"), y);

    // 2.0.0, while main moves on meanwhile: v2 appears; the pins go to a branch to merge.
    repo.bump("2.0.0");
    git(&w, &["push", "-q", "origin", "main"]);
    let x = git(&w, &["rev-parse", "HEAD"]);
    std::fs::write(w.join("NEWS"), "meanwhile\n").unwrap();
    git(&w, &["add", "NEWS"]);
    git(&w, &["commit", "-q", "-m", "meanwhile on main"]);
    git(&w, &["push", "-q", "origin", "main"]);
    let meanwhile = git(&w, &["rev-parse", "HEAD"]);
    git(&w, &["reset", "-q", "--hard", &x]);
    assert_eq!(repo.release("2.0.0", "main"), "branch=pin-checksums-v2.0.0");
    assert_eq!(repo.rev("v2"), repo.rev("v2.0.0"));
    assert_eq!(repo.rev("pin-checksums-v2.0.0"), repo.rev("v2.0.0"));
    assert_eq!(repo.rev("main"), meanwhile, "main is not rewritten");
    assert_eq!(repo.rev("v1"), y);
}

#[test]
fn release_sh_refuses_what_would_make_a_wrong_release() {
    let repo = Repo::new();
    let w = repo.work();
    let version = cargo_version(&w);
    let head = || git(&w, &["rev-parse", "HEAD"]);
    let x = head();
    let refused = |args: &[&str], why: &str| {
        let run = release_sh(&w, args);
        assert_ne!(run.code, 0, "{args:?} succeeded: {}", run.stderr);
        assert!(run.stderr.contains(why), "{args:?}: {}", run.stderr);
    };

    // package: every target's binary, into an empty directory.
    let tmp = tempfile::tempdir().unwrap();
    let bins = tmp.path().join("bin");
    bin_dir(&bins, Path::new("/bin/sh"), &[]);
    std::fs::remove_file(bins.join("ecr-login-aarch64-apple-darwin")).unwrap();
    let out = tmp.path().join("out");
    refused(
        &["package", bins.to_str().unwrap(), out.to_str().unwrap()],
        "no ",
    );
    std::fs::write(out.join("stale"), "").unwrap();
    refused(
        &["package", bins.to_str().unwrap(), out.to_str().unwrap()],
        "is not empty",
    );

    let dist = repo.package(&version);
    let sums = dist.join("SHA256SUMS");
    let sums = sums.to_str().unwrap();
    // pin: Cargo.toml's version, a clean work tree, every target's archive.
    refused(&["pin", "9.8.7", sums], "Cargo.toml says version");
    refused(&["pin", "latest", sums], "not a release version");
    std::fs::write(w.join("README.md"), "changed\n").unwrap();
    refused(&["pin", &version, sums], "the work tree has changes");
    git(&w, &["checkout", "-q", "--", "README.md"]);
    let partial = tmp.path().join("partial");
    let text = std::fs::read_to_string(sums).unwrap();
    std::fs::write(
        &partial,
        text.lines()
            .filter(|l| !l.ends_with(".zip"))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    refused(
        &["pin", &version, partial.to_str().unwrap()],
        "has no checksum for ecr-login-x86_64-pc-windows-msvc.zip",
    );
    // tag: only a pin commit.
    refused(&["tag", &version], "run `release.sh pin");
    assert_eq!(head(), x, "a refused step committed");

    release_sh(&w, &["pin", &version, sums]).assert_ok();
    refused(&["pin", &version, sums], "is pinned in");
    release_sh(&w, &["tag", &version]).assert_ok();
    refused(&["tag", &version], "exists already");
    let tag = format!("v{version}");
    // promote: only a tag the remote has.
    refused(&["promote", "origin", &version, "main"], "push it first");
    release_sh(&w, &["push", "origin", &version]).assert_ok();
    // push: a tag is never overwritten on the remote.
    git(&w, &["tag", "-f", "-a", &tag, "-m", "moved", &x]);
    refused(&["push", "origin", &version], "could not push tag");
    git(
        &w,
        &[
            "fetch",
            "-q",
            "--force",
            "origin",
            &format!("refs/tags/{tag}:refs/tags/{tag}"),
        ],
    );

    // publish: exactly the archives the tag pins, intact, once.
    let site = repo.site();
    let publish = |dist: &Path| {
        release_sh(
            &w,
            &[
                "publish",
                &version,
                dist.to_str().unwrap(),
                "--to",
                site.to_str().unwrap(),
            ],
        )
    };
    let other = repo.package("0.0.0-other");
    let run = publish(&other);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("is not the list of archives that"),
        "{}",
        run.stderr
    );
    let spoiled = tmp.path().join("spoiled");
    std::fs::create_dir(&spoiled).unwrap();
    for f in files_in(&dist) {
        std::fs::copy(dist.join(&f), spoiled.join(&f)).unwrap();
    }
    let zip = spoiled.join("ecr-login-x86_64-pc-windows-msvc.zip");
    let mut bytes = std::fs::read(&zip).unwrap();
    bytes.push(0);
    std::fs::write(&zip, bytes).unwrap();
    let run = publish(&spoiled);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("does not match SHA256SUMS"),
        "{}",
        run.stderr
    );
    assert!(!site.join(&tag).exists());
    publish(&dist).assert_ok();
    assert_eq!(files_in(&site.join(&tag)), files_in(&dist));
    let run = publish(&dist);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("exists already"), "{}", run.stderr);
}

/// The docs say what the release does for users: exit 9 is the installer's, in the README's
/// table; each wrapper's README says which ref to pin, that it pins the binary, and what 9 means.
#[test]
fn the_readmes_document_pinning_and_exit_9() {
    let read = |f: &str| std::fs::read_to_string(repo_root().join(f)).unwrap();
    let readme = read("README.md");
    assert!(
        readme
            .lines()
            .any(|l| l.starts_with("| 9 | **the installer's**: ecr-login could not be installed")),
        "the README's exit codes lack 9"
    );
    for section in [
        "### Versions and pinning",
        "### Verifying a download by hand",
    ] {
        assert!(readme.contains(section), "README: no {section}");
    }
    for tool in ["sha256sum --check", "gh attestation verify"] {
        assert!(readme.contains(tool), "README: no {tool}");
    }
    for f in ["gitlab/README.md", "orb/README.md", "jenkins/README.md"] {
        // Words, whatever the line breaks.
        let text = read(f).split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains("## Versions and pinning"), "{f}");
        assert!(text.contains("pins the binary too"), "{f}");
        assert!(
            text.contains("exit **9**") || text.contains("exit code 9"),
            "{f}"
        );
    }
}
