//! Hostile input through the real binary: a 100 MB config.json, one that is a FIFO, a
//! directory or a device; non-UTF-8 paths; a token file (or variable) that is not a JWT at
//! all; environment values with line breaks meant to add lines to `$GITHUB_OUTPUT`,
//! `$BASH_ENV` or a dotenv file; garbage on the credential helper's and the kubelet plugin's
//! stdin. Each ends promptly with a clear error (or works), never a panic, a hang or a call
//! made with the garbage. The parsers themselves are fuzzed by the property tests in their
//! modules (`scripts/fuzz.sh`).

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";

/// Runs `command` with `stdin` written to it, failing the test if it has not ended within
/// `limit` (it is then killed): hostile input must never hang a run.
fn run_within(mut command: Command, stdin: &[u8], limit: Duration) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    // A run that refuses early stops reading: the broken pipe is not the test's business.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the run hung: killed after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    writer.join().unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const PROMPTLY: Duration = Duration::from_secs(20);

fn login(sb: &Sandbox, proxy: &Proxy) -> Cmd {
    sb.github(proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111"])
}

#[test]
fn config_json_that_is_no_config_is_refused_at_once_and_left_alone() {
    let proxy = Proxy::start();
    type Make = dyn Fn(&Path);
    let cases: &[(&str, &Make, &str)] = &[
        (
            "100 MB",
            &|p| {
                let f = std::fs::File::create(p).unwrap();
                f.set_len(100 << 20).unwrap();
            },
            "is 100 MiB, where a Docker config is a few KB",
        ),
        (
            "a FIFO",
            &|p| {
                let made = Command::new("mkfifo").arg(p).status().unwrap();
                assert!(made.success());
            },
            "is a FIFO (named pipe), not a file",
        ),
        (
            "a directory",
            &|p| std::fs::create_dir(p).unwrap(),
            "is a directory, not a file",
        ),
        (
            "a link to a device",
            &|p| std::os::unix::fs::symlink("/dev/zero", p).unwrap(),
            "is a device, not a file",
        ),
    ];
    for (what, make, needle) in cases {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.docker_dir()).unwrap();
        make(&sb.config_path());
        let before = std::fs::symlink_metadata(sb.config_path()).unwrap();
        let start = Instant::now();
        let run = run_within(login(&sb, &proxy).command(), b"", PROMPTLY);
        run.assert_fails(7, &[needle, "left untouched", "help: "]);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what}: {:?}",
            start.elapsed()
        );
        let after = std::fs::symlink_metadata(sb.config_path()).unwrap();
        assert_eq!(
            (before.file_type(), before.len()),
            (after.file_type(), after.len()),
            "{what}: changed"
        );
        // logout refuses it the same way.
        let run = run_within(
            sb.cmd().subcommand("logout").command(),
            b"",
            Duration::from_secs(20),
        );
        run.assert_fails(7, &[needle]);
    }
}

#[test]
fn non_utf8_paths_work() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let weird = |name: &[u8]| -> PathBuf {
        sb.path()
            .join(OsStr::from_bytes(&[b"non-utf8-\xff\xfe-", name].concat()))
    };
    let docker = weird(b"docker");
    let env_file = weird(b"login.env");
    let token_file = weird(b"token");
    std::fs::write(
        &token_file,
        shared_issuer().token("audience=sts.amazonaws.com"),
    )
    .unwrap();

    // Through flags.
    let mut c = sb
        .cmd()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .args(&["--role-arn", ROLE, "--region", "us-east-1"])
        .args(&["--registries", "111111111111"])
        .command();
    c.arg("--docker-config")
        .arg(&docker)
        .arg("--env-file")
        .arg(&env_file)
        .arg("--web-identity-token-file")
        .arg(&token_file);
    let run = run_within(c, b"", PROMPTLY);
    run.assert_ok();
    let config = std::fs::read_to_string(docker.join("config.json")).unwrap();
    assert!(config.contains(H1), "{config}");
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        format!("ECR_LOGIN_REGISTRY={H1}\nECR_LOGIN_REGISTRY_HOSTS={H1}\n")
    );

    // Through the environment (a platform's token file and role, Docker's directory).
    let docker2 = weird(b"docker2");
    let mut c = sb
        .cmd()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ROLE_ARN", ROLE)
        .args(&["--registries", "111111111111"])
        .command();
    c.env("DOCKER_CONFIG", &docker2)
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file);
    let run = run_within(c, b"", PROMPTLY);
    run.assert_ok();
    assert!(docker2.join("config.json").is_file(), "{}", run.stderr);

    // A home directory whose name is not UTF-8: Docker's directory and the cache are in it.
    let home = weird(b"home");
    let mut c = sb
        .cmd()
        .env_remove("DOCKER_CONFIG")
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ROLE_ARN", ROLE)
        .args(&["--registries", "111111111111"])
        .command();
    c.env("HOME", &home)
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file);
    let run = run_within(c, b"", PROMPTLY);
    run.assert_ok();
    assert!(home.join(".docker/config.json").is_file(), "{}", run.stderr);
    assert!(home.join(".cache/ecr-login").is_dir(), "{}", run.stderr);
}

#[test]
fn a_token_that_is_not_a_jwt_is_refused_before_any_call() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let file = sb.path().join("token");
    // 1 MB of garbage, as a job once sent to STS.
    let garbage: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    let marker = "NOT-A-JWT-MARKER-0123456789";
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (garbage, "found 1.0 MiB of data"),
        (
            [b"\xff\xfe".as_slice(), marker.as_bytes()].concat(),
            "found binary data",
        ),
        (
            format!("{marker}\n").into_bytes(),
            "found 27 bytes of text in 1 dot-separated part",
        ),
        (
            format!("{{\"value\": \"{marker}\", \"count\": 1}}").into_bytes(),
            "found a JSON document",
        ),
        (
            format!("[default]\naws_secret_access_key = {marker}\n").into_bytes(),
            "with spaces or line breaks inside",
        ),
    ];
    for (content, needle) in cases {
        std::fs::write(&file, &content).unwrap();
        let start = Instant::now();
        let run = run_within(
            sb.cmd()
                .env("AWS_ENDPOINT_URL", &proxy.url())
                .env("AWS_ROLE_ARN", ROLE)
                .env("AWS_WEB_IDENTITY_TOKEN_FILE", file.to_str().unwrap())
                .args(&["-vvv", "--region", "us-east-1"])
                .command(),
            b"",
            PROMPTLY,
        );
        run.assert_fails(3, &["is not a JWT", needle, "nothing was sent to AWS"]);
        assert!(start.elapsed() < Duration::from_secs(5), "{needle}");
        assert!(
            !run.stderr.contains(marker),
            "{needle}: shown:\n{}",
            run.stderr
        );
        assert!(proxy.calls().is_empty(), "{needle}: {:?}", proxy.calls());
    }

    // A token in a variable (GitLab's id_tokens:) is checked the same way.
    let run = run_within(
        sb.ci(&proxy)
            .env("GITLAB_CI", "true")
            .env("CI_PROJECT_PATH", "grp/proj")
            .env("GITLAB_OIDC_TOKEN", &format!("Bearer {marker}"))
            .command(),
        b"",
        PROMPTLY,
    );
    run.assert_fails(
        3,
        &["the environment variable GITLAB_OIDC_TOKEN is not a JWT"],
    );
    assert!(!run.stderr.contains(marker), "{}", run.stderr);
    assert!(proxy.calls().is_empty());
}

/// A value meant to add lines to a hand-off file.
const INJECT: &str = "x\nECR_LOGIN_INJECTED=1\nexport ECR_LOGIN_INJECTED=1\ninjected<<EOF\n1\nEOF";

/// No line of `text` sets ECR_LOGIN_INJECTED, however it is read.
fn assert_not_injected(what: &str, text: &str) {
    for line in text.lines() {
        let line = line.trim_start_matches("export ").trim();
        assert!(
            !line.starts_with("ECR_LOGIN_INJECTED") && !line.starts_with("injected<<"),
            "{what}: injected line {line:?} in:\n{text}"
        );
    }
}

#[test]
fn environment_values_with_line_breaks_add_no_lines_to_hand_off_files() {
    let proxy = Proxy::start();
    let values = [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "ECR_LOGIN_REGISTRIES",
        "AWS_ROLE_SESSION_NAME",
        "ECR_LOGIN_AUDIENCE",
        "GITHUB_REPOSITORY",
        "GITHUB_RUN_ID",
        "GITHUB_RUN_ATTEMPT",
        "GITHUB_REF",
        "GITHUB_WORKFLOW_REF",
        "CIRCLE_PROJECT_REPONAME",
        "CIRCLE_BUILD_NUM",
        "CI_PROJECT_PATH",
        "CI_PIPELINE_ID",
        "CI_JOB_ID",
    ];
    let mut succeeded = 0;
    for var in values {
        // The value in the middle of a valid one, and as the whole value.
        for value in [INJECT.to_string(), format!("111111111111,{INJECT}")] {
            // GitHub: $GITHUB_OUTPUT, $GITHUB_STATE and a dotenv file.
            let sb = Sandbox::new();
            let env_file = sb.path().join("login.env");
            let state = sb.path().join("github_state");
            let run = run_within(
                login(&sb, &proxy)
                    .env("GITHUB_STATE", state.to_str().unwrap())
                    .args(&["--env-file", env_file.to_str().unwrap()])
                    .args(&["--allow-unknown-region"])
                    .env(var, &value)
                    .command(),
                b"",
                PROMPTLY,
            );
            assert!(!run.stderr.contains("panicked"), "{var}: {}", run.stderr);
            succeeded += usize::from(run.code == 0);
            for (what, path) in [
                ("GITHUB_OUTPUT", sb.github_output()),
                ("GITHUB_STATE", state),
                ("--env-file", env_file),
            ] {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                assert_not_injected(&format!("{var} -> {what}"), &text);
            }
            for name in sb.outputs().keys() {
                assert!(
                    ["registry", "registries"].contains(&name.as_str()),
                    "{var}: output {name:?} in {:?}",
                    sb.outputs()
                );
            }

            // CircleCI: $BASH_ENV, sourced by a shell as CircleCI does.
            let sb = Sandbox::new();
            let bash_env = sb.path().join("bash_env");
            let run = run_within(
                sb.ci(&proxy)
                    .env("CIRCLECI", "true")
                    .env("CIRCLE_PROJECT_REPONAME", "app")
                    .env("CIRCLE_BUILD_NUM", "123")
                    .env(
                        "CIRCLE_OIDC_TOKEN_V2",
                        &shared_issuer().token("audience=sts.amazonaws.com"),
                    )
                    .env("BASH_ENV", bash_env.to_str().unwrap())
                    .args(&["--registries", "111111111111", "--allow-unknown-region"])
                    .env(var, &value)
                    .command(),
                b"",
                PROMPTLY,
            );
            assert!(!run.stderr.contains("panicked"), "{var}: {}", run.stderr);
            succeeded += usize::from(run.code == 0);
            let text = std::fs::read_to_string(&bash_env).unwrap_or_default();
            assert_not_injected(&format!("{var} -> BASH_ENV"), &text);
            let sourced = Command::new("sh")
                .arg("-c")
                .arg(". \"$1\" >/dev/null 2>&1; printf '%s' \"${ECR_LOGIN_INJECTED:-}\"")
                .arg("sh")
                .arg(&bash_env)
                .output()
                .unwrap();
            assert_eq!(
                sourced.stdout, b"",
                "{var}: BASH_ENV set ECR_LOGIN_INJECTED"
            );

            // GitLab: a dotenv report.
            let sb = Sandbox::new();
            let dotenv = sb.path().join("gitlab.env");
            let run = run_within(
                sb.ci(&proxy)
                    .env("GITLAB_CI", "true")
                    .env("CI_PROJECT_PATH", "grp/proj")
                    .env(
                        "GITLAB_OIDC_TOKEN",
                        &shared_issuer().token("audience=sts.amazonaws.com"),
                    )
                    .env("ECR_LOGIN_ENV_FILE", dotenv.to_str().unwrap())
                    .args(&["--registries", "111111111111", "--allow-unknown-region"])
                    .env(var, &value)
                    .command(),
                b"",
                PROMPTLY,
            );
            assert!(!run.stderr.contains("panicked"), "{var}: {}", run.stderr);
            succeeded += usize::from(run.code == 0);
            let text = std::fs::read_to_string(&dotenv).unwrap_or_default();
            assert_not_injected(&format!("{var} -> dotenv"), &text);
        }
    }
    // Most of these values are not used for anything that is handed off: those logins go on.
    assert!(succeeded > 30, "only {succeeded} logins succeeded");
}

#[test]
fn garbage_on_the_credential_helpers_stdin_gets_a_clear_answer() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let helper = |action: &str| {
        sb.cmd()
            .aws_keys()
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .env("XDG_CACHE_HOME", sb.path().join("cache").to_str().unwrap())
            .subcommand("credential-helper")
            .arg(action)
            .command()
    };
    let ten_mb = vec![b'1'; 10 << 20];
    let url_mb = format!("https://{}{H1}", "a".repeat(60 << 10));
    let cases: Vec<(&str, Vec<u8>, i32, &str)> = vec![
        ("get", b"\xff\xfe\x00garbage".to_vec(), 1, "not UTF-8 text"),
        ("get", ten_mb.clone(), 1, "over 64 KiB"),
        (
            "get",
            b"".to_vec(),
            1,
            "credentials not found in native keychain",
        ),
        (
            "get",
            b"\0\0\0".to_vec(),
            1,
            "credentials not found in native keychain",
        ),
        (
            "get",
            url_mb.into_bytes(),
            1,
            "credentials not found in native keychain",
        ),
        (
            "get",
            format!("{H1}\u{202e}").into_bytes(),
            1,
            "credentials not found",
        ),
        (
            "store",
            b"{not json".to_vec(),
            1,
            "expects Docker's JSON on stdin",
        ),
        ("store", b"[]".to_vec(), 1, "expects Docker's JSON on stdin"),
        ("store", ten_mb, 1, "over 64 KiB"),
        (
            "store",
            br#"{"ServerURL": "docker.io", "Secret": "x"}"#.to_vec(),
            1,
            "only serves Amazon ECR",
        ),
        ("erase", b"\xc3\x28".to_vec(), 1, "not UTF-8 text"),
    ];
    for (action, input, code, needle) in cases {
        let run = run_within(helper(action), &input, PROMPTLY);
        assert_eq!(
            run.code, code,
            "{action} {needle}:\n{}\n{}",
            run.stdout, run.stderr
        );
        assert!(
            run.stdout.contains(needle) || run.stderr.contains(needle),
            "{action} {needle}:\nstdout: {}\nstderr: {}",
            run.stdout,
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(
            run.stdout.len() + run.stderr.len() < 4000,
            "{action} {needle}: echoes the input"
        );
    }
    assert!(proxy.calls().is_empty(), "{:?}", proxy.calls());
}

#[test]
fn garbage_on_the_kubelet_plugins_stdin_gets_a_clear_error() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let plugin = || {
        sb.cmd()
            .aws_keys()
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .env("AWS_ECR_ROLE_ARN", ROLE)
            .subcommand("kubelet-credential-provider")
            .command()
    };
    let v1 = "credentialprovider.kubelet.k8s.io/v1";
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"\xff\xfe".to_vec(), "not UTF-8 text"),
        (vec![b' '; 3 << 20], "over 1 MiB"),
        (b"".to_vec(), "does not hold a CredentialProviderRequest"),
        (b"{\"apiVersion\": [1,2,3]}".to_vec(), "does not hold a CredentialProviderRequest"),
        (
            format!(r#"{{"apiVersion":"{v1}","kind":"CredentialProviderRequest","image":"{}"}}"#, "a/".repeat(100_000))
                .into_bytes(),
            "is not an Amazon ECR registry",
        ),
        (
            format!(r#"{{"apiVersion":"{v1}","kind":"CredentialProviderRequest","image":"{H1}/app","serviceAccountToken":"garbage"}}"#)
                .into_bytes(),
            "is not a JWT",
        ),
    ];
    for (input, needle) in cases {
        let run = run_within(plugin(), &input, PROMPTLY);
        assert!(run.code != 0, "{needle}: succeeded");
        assert!(run.stdout.is_empty(), "{needle}: stdout {}", run.stdout);
        assert!(run.stderr.contains(needle), "{needle}:\n{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(run.stderr.len() < 4000, "{needle}: echoes the input");
    }
    assert!(proxy.calls().is_empty(), "{:?}", proxy.calls());
}
