//! Identity boundaries of this machine's token cache: every cache hit is served
//! only to the identity it was fetched for and only after the checks every hit passes (the
//! host asked for, `--allowed-account-ids`, an entry that is a private regular file of ours
//! with times that parse). Each test first shows the command ran and answered, then what it
//! did not do. The fleet cache's boundaries are in `redis.rs`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;

use crate::harness::*;

fn b64encode(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// A GitHub job on one machine with its job-private cache directory.
struct Job {
    sb: Sandbox,
    proxy: Proxy,
}

impl Job {
    fn new() -> Job {
        Job {
            sb: Sandbox::new(),
            proxy: Proxy::start(),
        }
    }

    fn runner_temp(&self) -> PathBuf {
        let t = self.sb.path().join("runner-temp");
        std::fs::create_dir_all(&t).unwrap();
        t
    }

    fn cache_dir(&self) -> PathBuf {
        self.runner_temp().join("ecr-login-cache")
    }

    fn login(&self) -> Cmd {
        self.sb
            .github(&self.proxy, &shared_issuer_url())
            .env("GITHUB_REF", "refs/heads/main")
            .env("RUNNER_TEMP", self.runner_temp().to_str().unwrap())
    }

    /// The one entry of the file cache.
    fn entry(&self) -> PathBuf {
        entries(&self.cache_dir())
            .into_iter()
            .next()
            .expect("no cache entry")
    }
}

/// The `*.json` entries of a cache directory.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Rewrites a cache entry's JSON with `edit`, keeping it a private file of ours.
fn edit_entry(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, v.to_string()).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn a_cache_hit_does_not_skip_allowed_account_ids() {
    let job = Job::new();
    job.login()
        .args(&["--registries", "123456789012"])
        .run()
        .assert_ok();
    assert_eq!(job.proxy.count("ecr", None), 1);
    // An unguarded login of the same role filled the cache; a guarded one must not pass on it.
    let run = job
        .login()
        .args(&["--registries", "123456789012"])
        .args(&["--allowed-account-ids", "999999999999"])
        .run();
    // Exit 4: an AWS-side refusal (the account is not allowed).
    run.assert_fails(
        4,
        &["123456789012", "999999999999", "--allowed-account-ids"],
    );
    assert_ne!(run.code, 0);
    assert_eq!(
        job.proxy.count("sts", None),
        2,
        "the guarded login asked STS itself"
    );
    // The guard passes for the right account, from the cache.
    job.login()
        .args(&["--registries", "123456789012"])
        .args(&["--allowed-account-ids", "123456789012"])
        .run()
        .assert_ok();
    assert_eq!(job.sb.auth(HOST), "AWS:123456789012-auth-token");
}

#[test]
fn a_forged_entry_never_sends_the_login_to_another_host() {
    for registries in [Some("123456789012"), None] {
        let job = Job::new();
        let login = || {
            let cmd = job.login();
            match registries {
                Some(r) => cmd.args(&["--registries", r]),
                None => cmd,
            }
        };
        login().run().assert_ok();
        edit_entry(&job.entry(), |v| {
            v["registry"] = "registry.evil.example".into();
        });
        let run = login().run();
        run.assert_ok();
        assert!(
            run.stdout.contains(&format!("Logged in to {HOST}")),
            "{}",
            run.stdout
        );
        assert!(!run.stdout.contains("evil"), "{}", run.stdout);
        assert!(!run.stderr.contains("evil"), "{}", run.stderr);
        let config = std::fs::read_to_string(job.sb.config_path()).unwrap();
        assert!(!config.contains("evil"), "{config}");
        let outputs = job.sb.outputs();
        assert_eq!(
            outputs.get("registry").map(String::as_str),
            Some(HOST),
            "{outputs:?}"
        );
        assert_eq!(
            job.proxy.count("ecr", None),
            2,
            "the forged entry was a miss"
        );
    }
}

#[test]
fn another_credentials_file_is_another_identity() {
    let sb = Sandbox::new();
    let proxy = Proxy::start();
    let with_keys = sb.path().join("credentials-a");
    std::fs::write(
        &with_keys,
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = secret-of-a\n",
    )
    .unwrap();
    let other = sb.path().join("credentials-b");
    std::fs::write(
        &other,
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = secret-of-b\n",
    )
    .unwrap();
    let empty = sb.path().join("credentials-empty");
    std::fs::write(&empty, "").unwrap();
    let login = |file: &Path| {
        sb.cmd()
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .env("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(&[
                "login",
                "--region",
                "us-east-1",
                "--registries",
                "123456789012",
            ])
            .run()
    };
    login(&with_keys).assert_ok();
    login(&with_keys).assert_ok();
    assert_eq!(proxy.count("ecr", None), 1, "the same file: a cache hit");
    login(&other).assert_ok();
    assert_eq!(
        proxy.count("ecr", None),
        2,
        "another file: another identity"
    );
    let run = login(&empty);
    assert_ne!(
        run.code, 0,
        "an empty credentials file was served a token:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("credentials"), "{}", run.stderr);
    assert_eq!(proxy.count("ecr", None), 2);

    // Static keys in the environment: the same key id with another secret is another identity.
    let env_login = |secret: &str| {
        sb.cmd()
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .args(&[
                "login",
                "--region",
                "us-east-1",
                "--registries",
                "123456789012",
            ])
            .run()
    };
    env_login("secret-one").assert_ok();
    env_login("secret-one").assert_ok();
    assert_eq!(proxy.count("ecr", None), 3);
    env_login("secret-two").assert_ok();
    assert_eq!(proxy.count("ecr", None), 4);
}

#[test]
fn an_entry_planted_by_another_user_or_through_a_link_is_not_served() {
    let job = Job::new();
    let login = || job.login().args(&["--registries", "123456789012"]).run();
    login().assert_ok();
    let entry = job.entry();
    // Another user's file, in our directory (root plants it here; any uid would do).
    std::os::unix::fs::chown(&entry, Some(12345), Some(12345)).unwrap();
    let run = login();
    run.assert_ok();
    assert!(run.stderr.contains("uid 12345"), "{}", run.stderr);
    assert_eq!(job.proxy.count("ecr", None), 2);
    // A link to an entry elsewhere (another user's copy of a good one).
    let planted = job.sb.path().join("planted.json");
    std::fs::copy(job.entry(), &planted).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o600)).unwrap();
    let entry = job.entry();
    std::fs::remove_file(&entry).unwrap();
    std::os::unix::fs::symlink(&planted, &entry).unwrap();
    let run = login();
    run.assert_ok();
    assert_eq!(
        job.proxy.count("ecr", None),
        3,
        "the linked entry was served"
    );
}

#[test]
fn a_shared_cache_directory_is_emptied_or_refused_never_adopted() {
    let job = Job::new();
    let login = || job.login().args(&["--registries", "123456789012"]).run();
    login().assert_ok();
    std::fs::set_permissions(job.cache_dir(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = login();
    run.assert_ok();
    assert!(
        run.stderr.contains("removed its 1 entries"),
        "{}",
        run.stderr
    );
    assert_eq!(
        job.proxy.count("ecr", None),
        2,
        "the entry of a shared directory was served"
    );
    let mode = std::fs::metadata(job.cache_dir())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);

    // Named with --cache-dir: an error that says what to do, and no login.
    let named = job.sb.path().join("named-cache");
    std::fs::create_dir(&named).unwrap();
    std::fs::set_permissions(&named, std::fs::Permissions::from_mode(0o775)).unwrap();
    let run = job
        .login()
        .args(&["--registries", "123456789012"])
        .args(&["--cache-dir", named.to_str().unwrap()])
        .run();
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("mode 775"), "{}", run.stderr);
    assert!(run.stderr.contains("chmod 700"), "{}", run.stderr);
    assert_eq!(job.proxy.count("ecr", None), 2);
}

#[test]
fn an_absurd_expiry_is_a_miss_for_every_command_never_an_abort() {
    let job = Job::new();
    let login = || job.login().args(&["--registries", "123456789012"]).run();
    login().assert_ok();
    for absurd in [
        serde_json::json!(u64::MAX),
        serde_json::json!(1e300),
        serde_json::json!(-1),
        serde_json::json!("soon"),
    ] {
        edit_entry(&job.entry(), |v| v["expires_at"] = absurd.clone());
        let run = login();
        run.assert_ok();
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        // status and the helper's list read the same entry.
        edit_entry(&job.entry(), |v| v["expires_at"] = absurd.clone());
        let status = job
            .sb
            .cmd()
            .args(&["status", "--cache-dir", job.cache_dir().to_str().unwrap()])
            .run();
        assert!(matches!(status.code, 0 | 1), "{}", status.stderr);
        assert!(!status.stderr.contains("panicked"), "{}", status.stderr);
        let list = job
            .sb
            .cmd()
            .env("ECR_LOGIN_CACHE_DIR", job.cache_dir().to_str().unwrap())
            .args(&["credential-helper", "list"])
            .run();
        list.assert_ok();
        assert_eq!(list.stdout.trim(), "{}", "{}", list.stdout);
    }
    // The ECR password's own expiry, absurd, in config.json: status reads it and answers.
    let envelope = b64encode(
        r#"{"payload":"p","datakey":"d","version":"2","type":"DATA_KEY","expiration":1e300}"#,
    );
    job.sb.write_config(
        &serde_json::json!({"auths": {HOST: {"auth": b64encode(&format!("AWS:{envelope}"))}}})
            .to_string(),
    );
    let status = job.sb.cmd().arg("status").run();
    assert!(matches!(status.code, 0 | 1), "{}", status.stderr);
    assert!(status.stdout.contains(HOST), "{}", status.stdout);
}

#[test]
fn status_only_reads_the_cache() {
    let job = Job::new();
    job.login()
        .args(&["--registries", "123456789012"])
        .run()
        .assert_ok();
    let dir = job.cache_dir();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();
    let stale = dir.join(".entry.1.Old123.tmp");
    std::fs::write(&stale, "{}").unwrap();
    let run = job
        .sb
        .cmd()
        .args(&["status", "--cache-dir", dir.to_str().unwrap()])
        .run();
    assert!(matches!(run.code, 0 | 1), "{}", run.stderr);
    assert!(
        run.stderr.contains("not reading the token cache"),
        "{}",
        run.stderr
    );
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o750, "status changed the directory's mode");
    assert!(stale.exists(), "status swept a file");
}

#[test]
fn the_audit_line_of_a_hit_says_whose_token_it_served() {
    let job = Job::new();
    let audit = job.sb.path().join("audit.jsonl");
    let login = || {
        job.login()
            .args(&["--registries", "123456789012"])
            .env("ECR_LOGIN_AUDIT_LOG", audit.to_str().unwrap())
            .run()
    };
    login().assert_ok();
    login().assert_ok();
    assert_eq!(job.proxy.count("ecr", None), 1);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["cache_hit"], true, "{}", lines[1]);
    assert_eq!(
        lines[1]["sub"], "repo:test-owner/test-repo:ref:refs/heads/main",
        "{}",
        lines[1]
    );
    assert_eq!(lines[1]["identity"], lines[0]["identity"]);
}
