//! The Docker credential helper: the protocol as real clients speak it, the token
//! cache (a hit makes no call at all; identities never share; concurrent misses fetch once;
//! margin, expiry and corruption), per-registry identity, and `login --mode helper`.

use std::path::PathBuf;

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const ROLE_B: &str = "arn:aws:iam::222222222222:role/other";

/// `ecr-login credential-helper <action>` on a laptop (static keys, no CI), its cache in the
/// sandbox, talking to `proxy`.
fn helper(sb: &Sandbox, proxy: &Proxy) -> Cmd {
    sb.cmd()
        .aws_keys()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .env("XDG_CACHE_HOME", sb.path().join("cache").to_str().unwrap())
        .env(
            "XDG_CONFIG_HOME",
            sb.path().join("xdg-config").to_str().unwrap(),
        )
        .subcommand("credential-helper")
}

/// Runs `cmd` with `input` on stdin.
fn with_stdin(cmd: &Cmd, input: &str) -> Run {
    cmd.run_with_stdin(input)
}

fn get(cmd: &Cmd, server_url: &str) -> Run {
    with_stdin(&cmd.clone().arg("get"), server_url)
}

fn secret_of(run: &Run) -> String {
    run.assert_ok();
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "one line on stdout: {}",
        run.stdout
    );
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["Username"], "AWS");
    v["Secret"].as_str().unwrap().to_string()
}

#[test]
fn get_answers_every_form_clients_send() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let cmd = helper(&sb, &proxy);
    for form in [
        H1.to_string(),
        format!("{H1}\n"),
        format!("{H1}:443"),
        format!("https://{H1}"),
        format!("http://{H1}"),
        format!("{H1}/team/app"),
    ] {
        let run = get(&cmd, &form);
        assert_eq!(secret_of(&run), "111111111111-auth-token", "{form:?}");
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(v["ServerURL"], form.trim(), "{form:?}");
        assert_eq!(run.stdout.chars().last(), Some('\n'));
    }
    // One fetch; every other form came from the cache.
    assert_eq!(proxy.count("ecr", None), 1, "{:?}", proxy.calls());
}

#[test]
fn a_foreign_host_is_not_found_exactly() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    for host in [
        "ghcr.io",
        "https://index.docker.io/v1/",
        "docker.io/library/alpine",
    ] {
        let run = get(&helper(&sb, &proxy), host);
        assert_eq!(run.code, 1, "{host}");
        assert_eq!(run.stdout, "credentials not found in native keychain\n");
        assert_eq!(run.stderr, "", "{host}");
    }
    assert!(proxy.calls().is_empty());
}

#[test]
fn a_failure_on_an_ecr_host_is_explained_not_hidden() {
    let proxy = Proxy::with_faults(
        r#"[{"service": "ecr", "status": 400, "code": "AccessDeniedException", "message": "User is not authorized to perform: ecr:GetAuthorizationToken"}]"#,
    );
    let sb = Sandbox::new();
    let run = get(&helper(&sb, &proxy), H1);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("refused GetAuthorizationToken"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("credentials not found"));
    assert!(
        run.stderr.contains("error:") && run.stderr.contains("help:"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_cache_hit_makes_no_call_of_any_kind() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let first = secret_of(&get(&helper(&sb, &proxy), H1));
    let before = proxy.calls().len();
    assert!(before >= 1);
    // Nothing answers at this endpoint: any call would fail the get.
    let offline = helper(&sb, &proxy).env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    assert_eq!(secret_of(&get(&offline, H1)), first);
    assert_eq!(proxy.calls().len(), before);
}

#[test]
fn two_roles_never_share_a_cached_token() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let a = helper(&sb, &proxy).env("AWS_ROLE_ARN", ROLE);
    let b = helper(&sb, &proxy).env("AWS_ROLE_ARN", ROLE_B);
    secret_of(&get(&a, H1));
    secret_of(&get(&b, H1));
    let assumed: Vec<String> = proxy
        .calls()
        .iter()
        .filter(|c| c["operation"] == "AssumeRole")
        .map(|c| c["params"]["RoleArn"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(assumed, [ROLE, ROLE_B], "role B got no token of its own");
    assert_eq!(proxy.count("ecr", None), 2);
    // Each is now a hit for its own role only.
    secret_of(&get(&a, H1));
    secret_of(&get(&b, H1));
    assert_eq!(proxy.count("ecr", None), 2);
}

#[test]
fn twenty_concurrent_cold_gets_fetch_once() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let cmd = helper(&sb, &proxy).env("AWS_ROLE_ARN", ROLE).arg("get");
    for out in run_together((0..20).map(|_| cmd.command()), H1.as_bytes()) {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["Secret"], "111111111111-auth-token");
    }
    assert_eq!(proxy.count("sts", None), 1, "{:?}", proxy.calls());
    assert_eq!(proxy.count("ecr", None), 1);
}

/// The cache entries on disk (one JSON file per token).
fn entries(sb: &Sandbox) -> Vec<PathBuf> {
    let dir = sb.path().join("cache/ecr-login");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect()
}

#[test]
fn margin_expiry_and_corruption() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    secret_of(&get(&helper(&sb, &proxy), H1));
    let entry = entries(&sb).pop().unwrap();
    assert_eq!(proxy.count("ecr", None), 1);

    // Inside the margin (half an hour left, the margin is an hour): refreshed.
    let expire_in = |secs: u64| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        v["expires_at"] = serde_json::json!(now + secs);
        std::fs::write(&entry, v.to_string()).unwrap();
    };
    expire_in(1800);
    secret_of(&get(&helper(&sb, &proxy), H1));
    assert_eq!(proxy.count("ecr", None), 2);

    // Inside the margin and the refresh fails: the still-valid token, with a warning.
    expire_in(1800);
    let offline = helper(&sb, &proxy).env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let run = get(&offline, H1);
    assert_eq!(secret_of(&run), "111111111111-auth-token");
    assert!(
        run.stderr.contains("serving the cached one"),
        "{}",
        run.stderr
    );

    // Expired: never served, even when the refresh fails.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
    v["expires_at"] = serde_json::json!(1);
    std::fs::write(&entry, v.to_string()).unwrap();
    let run = get(&offline, H1);
    assert_eq!(run.code, 1);
    assert!(!run.stdout.contains("auth-token"), "{}", run.stdout);

    // Corrupt, and a writer's leftover temp file: a miss, replaced.
    std::fs::write(&entry, "{\"v\":1,").unwrap();
    std::fs::write(entry.with_file_name(".entry.half.tmp"), "{\"v\":1,\"key\"").unwrap();
    secret_of(&get(&helper(&sb, &proxy), H1));
    assert!(
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&entry).unwrap())
            .is_ok()
    );
}

#[test]
fn store_erase_list_and_version() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let cmd = helper(&sb, &proxy);
    let store = format!(r#"{{"ServerURL":"{H1}","Username":"AWS","Secret":"from-docker-login"}}"#);
    with_stdin(&cmd.clone().arg("store"), &store).assert_ok();
    with_stdin(&cmd.clone().arg("erase"), H1).assert_ok();
    let foreign = with_stdin(
        &cmd.clone().arg("store"),
        r#"{"ServerURL":"ghcr.io","Username":"u","Secret":"p"}"#,
    );
    assert_eq!(foreign.code, 1);
    assert!(
        foreign.stdout.contains("only serves Amazon ECR"),
        "{}",
        foreign.stdout
    );

    assert_eq!(with_stdin(&cmd.clone().arg("list"), "").stdout, "{}\n");
    secret_of(&get(&cmd, H1));
    let calls = proxy.calls().len();
    let offline = cmd.clone().env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let list = with_stdin(&offline.clone().arg("list"), "");
    list.assert_ok();
    assert_eq!(list.stdout, format!("{{\"{H1}\":\"AWS\"}}\n"));
    assert_eq!(proxy.calls().len(), calls, "list made a call");
    let version = with_stdin(&offline.arg("version"), "");
    assert!(
        version.stdout.starts_with("ecr-login "),
        "{}",
        version.stdout
    );
}

#[test]
fn runs_as_docker_credential_ecr_login() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let bin = sb.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("docker-credential-ecr-login")).unwrap();
    let run = sb
        .cmd()
        .aws_keys()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .arg("get")
        .run_of_with_stdin(&bin.join("docker-credential-ecr-login"), H1);
    assert_eq!(secret_of(&run), "111111111111-auth-token");
}

#[test]
fn a_registry_rule_picks_the_role() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let dir = sb.path().join("xdg-config/ecr-login");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!("[[registry]]\nmatch = \"222222222222\"\nrole_arn = \"{ROLE_B}\"\n"),
    )
    .unwrap();
    let cmd = helper(&sb, &proxy);
    secret_of(&get(&cmd, "222222222222.dkr.ecr.eu-west-1.amazonaws.com"));
    secret_of(&get(&cmd, H1));
    let assumed: Vec<String> = proxy
        .calls()
        .iter()
        .filter(|c| c["operation"] == "AssumeRole")
        .map(|c| c["params"]["RoleArn"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        assumed,
        [ROLE_B],
        "only the matching registry assumes the rule's role"
    );
    // A broken file is an error that names it, not a silent fallback.
    std::fs::write(dir.join("config.toml"), "[[registry]]\nmatch = 1\n").unwrap();
    let run = get(
        &helper(&sb, &proxy),
        "333333333333.dkr.ecr.eu-west-1.amazonaws.com",
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("config.toml"), "{}", run.stderr);
}

#[test]
fn the_docker_sdks_client_reads_us() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let bin = sb.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("docker-credential-ecr-login")).unwrap();
    let code = r#"
import json, sys
from docker.credentials import Store, errors
store = Store("ecr-login")
creds = store.get(sys.argv[1])
try:
    store.get("ghcr.io")
    foreign = "found"
except errors.CredentialsNotFound:
    foreign = "not-found"
print(json.dumps({"secret": creds["Secret"], "foreign": foreign}))
"#;
    let out = sb
        .cmd()
        .aws_keys()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .env(
            "PATH",
            &format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .args(&["-c", code, H1])
        .command_of(&python())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["secret"], "111111111111-auth-token");
    assert_eq!(v["foreign"], "not-found");
}

#[test]
fn a_second_login_costs_no_aws_call() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let login = || {
        sb.cmd()
            .aws_keys()
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .env("AWS_ROLE_ARN", ROLE)
            .args(&[
                "--registries",
                "111111111111,public.ecr.aws",
                "--region",
                "us-east-1",
            ])
            .run()
    };
    login().assert_ok();
    let calls = proxy.calls().len();
    std::fs::remove_file(sb.config_path()).unwrap();
    login().assert_ok();
    assert_eq!(proxy.calls().len(), calls, "the second login called AWS");
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    assert!(sb.auth("public.ecr.aws").starts_with("AWS:"));
    // ECR_LOGIN_NO_CACHE=1 (CI systems say 1 and yes as often as true): AWS is called again.
    sb.cmd()
        .aws_keys()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .env("AWS_ROLE_ARN", ROLE)
        .env("ECR_LOGIN_NO_CACHE", "1")
        .args(&["--registries", "111111111111", "--region", "us-east-1"])
        .run()
        .assert_ok();
    assert!(proxy.calls().len() > calls);
}

#[test]
fn on_github_the_cache_lives_in_runner_temp_only() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let runner_temp = sb.path().join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let login = |with_temp: bool| {
        // GITHUB_REF (always set on a runner) is part of the job's identity, hence of the key.
        let mut cmd = sb
            .github(&proxy, &shared_issuer_url())
            .env("GITHUB_REF", "refs/heads/main")
            .args(&["--registries", "111111111111"]);
        if with_temp {
            cmd = cmd.env("RUNNER_TEMP", runner_temp.to_str().unwrap());
        }
        cmd.run().assert_ok();
        proxy.count("sts", None)
    };
    // No RUNNER_TEMP: no cache (HOME may be shared with other repositories' jobs).
    assert_eq!(login(false), 1);
    assert_eq!(login(false), 2);
    assert!(!sb.path().join("home/.cache/ecr-login").exists());
    assert_eq!(login(true), 3);
    assert_eq!(
        login(true),
        3,
        "the second login in the job was not served from the cache"
    );
    assert!(runner_temp.join("ecr-login-cache").is_dir());
}

#[test]
fn mode_helper_refuses_amazons_helper_on_path() {
    require_tool(
        "docker-credential-ecr-login",
        "amazon-ecr-credential-helper",
    );
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.cmd()
        .aws_keys()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .args(&[
            "--registries",
            "111111111111",
            "--region",
            "us-east-1",
            "--mode",
            "helper",
        ])
        .run()
        .assert_fails(
            7,
            &[
                "docker-credential-ecr-login on PATH is",
                "not this ecr-login",
                "ln -s",
            ],
        );
    assert!(!sb.config_path().exists());
}

/// ECR Public serves anonymous pulls: with no AWS credentials at all, the helper answers the
/// protocol's "not found" (exit 1), which the Docker SDK's client reads as no credentials, so
/// the pull goes on anonymously. A private host keeps the real error: one line on stdout (what
/// Docker shows), the whole of it on stderr, never a `Debug` dump.
#[test]
fn no_credentials_is_not_found_for_ecr_public_and_one_clear_line_for_a_private_host() {
    let sb = Sandbox::new();
    let bin = sb.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("docker-credential-ecr-login")).unwrap();
    let no_credentials = || sb.cmd().env("AWS_EC2_METADATA_DISABLED", "true");
    let public = no_credentials()
        .arg("get")
        .run_of_with_stdin(&bin.join("docker-credential-ecr-login"), "public.ecr.aws");
    assert_eq!(public.code, 1, "{}", public.stderr);
    assert_eq!(
        public.stdout.trim(),
        "credentials not found in native keychain"
    );
    assert!(public.stderr.contains("anonymously"), "{}", public.stderr);

    let private = no_credentials()
        .arg("get")
        .run_of_with_stdin(&bin.join("docker-credential-ecr-login"), H1);
    assert_eq!(private.code, 1);
    assert_eq!(private.stdout.lines().count(), 1, "{}", private.stdout);
    assert!(
        private.stdout.contains("no AWS credentials found"),
        "{}",
        private.stdout
    );
    assert!(private.stderr.contains("help:"), "{}", private.stderr);
    for text in [&private.stdout, &private.stderr] {
        assert!(
            !text.contains("CredentialsNotLoaded") && !text.contains(" { "),
            "a Debug dump: {text}"
        );
    }

    // The Docker SDK's client: no credentials for ECR Public, so an anonymous pull.
    let code = r#"
from docker.credentials import Store, errors
try:
    Store("ecr-login").get("public.ecr.aws")
    print("found")
except errors.CredentialsNotFound:
    print("not-found")
"#;
    let out = no_credentials()
        .env(
            "PATH",
            &format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .args(&["-c", code])
        .command_of(&python())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "not-found",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// amazon-ecr-credential-helper's settings and flags, for a drop-in: `AWS_ECR_DISABLE_CACHE`,
/// `AWS_ECR_CACHE_DIR` (checked as a directory named by --cache-dir), `AWS_ECR_IGNORE_CREDS_STORAGE`
/// and `-v`.
#[test]
fn amazon_ecr_credential_helpers_settings_are_honoured() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    // No cache: every get asks ECR.
    let uncached = helper(&sb, &proxy).env("AWS_ECR_DISABLE_CACHE", "true");
    secret_of(&get(&uncached, H1));
    secret_of(&get(&uncached, H1));
    assert_eq!(proxy.count("ecr", None), 2);
    assert!(
        !sb.path().join("cache/ecr-login").exists(),
        "a cache was written"
    );
    // Its cache directory: ours goes there.
    let dir = sb.path().join("their-cache");
    let theirs = helper(&sb, &proxy).env("AWS_ECR_CACHE_DIR", dir.to_str().unwrap());
    secret_of(&get(&theirs, H1));
    secret_of(&get(&theirs, H1));
    assert_eq!(proxy.count("ecr", None), 3, "the second get was not a hit");
    let entries = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(entries, 1);
    // Store and erase for any host succeed with AWS_ECR_IGNORE_CREDS_STORAGE; not without.
    let store = r#"{"ServerURL":"ghcr.io","Username":"u","Secret":"s"}"#;
    let refused = with_stdin(&helper(&sb, &proxy).arg("store"), store);
    assert_ne!(refused.code, 0);
    let ignored = helper(&sb, &proxy).env("AWS_ECR_IGNORE_CREDS_STORAGE", "true");
    with_stdin(&ignored.clone().arg("store"), store).assert_ok();
    with_stdin(&ignored.arg("erase"), "ghcr.io").assert_ok();
    // `-v`, as theirs: the version, exit 0.
    let bin = sb.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("docker-credential-ecr-login")).unwrap();
    let version = sb
        .cmd()
        .arg("-v")
        .run_of_with_stdin(&bin.join("docker-credential-ecr-login"), "");
    version.assert_ok();
    assert!(
        version.stdout.contains(env!("CARGO_PKG_VERSION")),
        "{}",
        version.stdout
    );
}
