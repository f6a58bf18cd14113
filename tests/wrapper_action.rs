//! The GitHub action (action.yml, action/*.js) run as the runner runs it: every input as
//! INPUT_<NAME> (the defaults of action.yml, then the workflow's `with:`), the runner files
//! GITHUB_OUTPUT/GITHUB_ENV/GITHUB_STATE, `node action/main.js`, then the post step with the
//! saved state as STATE_<name>: login installs from a (local) release, logs in, sets outputs;
//! post logs out of exactly what login wrote. A release made by scripts/release.sh installs
//! through the action at the release's major tag (`uses: ...@v1`) with no checksum override; a
//! tampered archive stops the step with the installer's exit 9.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";

struct Job {
    sb: Sandbox,
    release: Release,
    proxy: Proxy,
    /// The action's checkout: this repository, or a release's tag.
    root: PathBuf,
}

impl Job {
    fn new() -> Job {
        Job::of(repo_root(), Release::start())
    }

    /// A job whose release is `stub`.
    fn with_stub(stub: &RecordingStub) -> Job {
        Job::of(repo_root(), Release::serving(&stub.program))
    }

    /// A job running the action checked out at `root`, installing from `release`.
    fn of(root: PathBuf, release: Release) -> Job {
        Job {
            sb: Sandbox::new(),
            release,
            proxy: Proxy::start(),
            root,
        }
    }

    /// `node action/<step>.js` with the runner's environment and `with` inputs.
    fn step(&self, script: &str, with: &[(&str, &str)], extra: &[(String, String)]) -> Run {
        let action = yaml_to_json(&self.root.join("action.yml"), false);
        let mut inputs: BTreeMap<String, String> = action["inputs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v["default"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        for (k, v) in with {
            assert!(inputs.contains_key(*k), "action.yml has no input {k}");
            inputs.insert(k.to_string(), v.to_string());
        }
        let sb = &self.sb;
        let mut c = Command::new("node");
        c.arg(self.root.join("action").join(script))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", sb.path().join("home"))
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                format!("{}/token?api-version=2.0", shared_issuer_url()),
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
            .env("GITHUB_REPOSITORY", "test-owner/test-repo")
            .env("GITHUB_RUN_ID", "1234567890")
            .env("GITHUB_RUN_ATTEMPT", "1")
            .env("GITHUB_OUTPUT", sb.path().join("output"))
            .env("GITHUB_ENV", sb.path().join("env"))
            .env("GITHUB_STATE", sb.path().join("state"))
            .env("RUNNER_TOOL_CACHE", sb.path().join("toolcache"))
            .env("DOCKER_CONFIG", sb.docker_dir())
            .env("AWS_ENDPOINT_URL", self.proxy.url())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", sb.path().join("aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                sb.path().join("aws-credentials"),
            );
        // The site's URL, CA (and a made-up release's checksums); the version is an input, the
        // install directory the runner's tool cache.
        for (k, v) in self.release.install_env(&sb.path().join("unused")) {
            if k != "ECR_LOGIN_VERSION" && k != "ECR_LOGIN_INSTALL_DIR" {
                c.env(k, v);
            }
        }
        for (k, v) in &inputs {
            c.env(format!("INPUT_{}", k.to_uppercase()), v);
        }
        for (k, v) in extra {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The post step, with the state the main step saved.
    fn post(&self, with: &[(&str, &str)]) -> Run {
        let state: Vec<(String, String)> = runner_file(&self.sb.path().join("state"))
            .into_iter()
            .map(|(k, v)| (format!("STATE_{k}"), v))
            .collect();
        self.step("post.js", with, &state)
    }
}

#[test]
fn login_then_post_logs_out_of_what_login_wrote() {
    let job = Job::new();
    job.sb
        .write_config(r#"{"auths": {"ghcr.io": {"auth": "dXNlcjpwYXNz"}}}"#);
    let with = [
        ("role-to-assume", ROLE),
        ("aws-region", "us-east-1"),
        ("registries", "111111111111\npublic.ecr.aws"),
        ("version", TEST_VERSION),
    ];
    let run = job.step("main.js", &with, &[]);
    run.assert_ok();
    assert_eq!(job.sb.auth(H1), "AWS:111111111111-auth-token");
    assert_eq!(job.sb.auth("public.ecr.aws"), "AWS:public-ecr-auth-token");
    let outputs = runner_file(&job.sb.path().join("output"));
    assert_eq!(outputs["registry"], H1);
    assert_eq!(outputs["registries"], format!("{H1},public.ecr.aws"));
    assert!(!outputs.keys().any(|k| k.starts_with("docker_password")));
    // Masked before anything else, and never printed otherwise.
    assert!(run.stdout.contains("::add-mask::111111111111-auth-token"));
    for line in run
        .stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
    {
        assert!(!line.contains("auth-token"), "{line}");
    }
    // Installed into the tool cache.
    let state = runner_file(&job.sb.path().join("state"));
    assert!(state["bin"].contains("toolcache/ecr-login"), "{state:?}");

    let post = job.post(&with);
    post.assert_ok();
    let c = job.sb.config();
    assert_eq!(c["auths"].as_object().unwrap().len(), 1, "{c:#}");
    assert_eq!(c["auths"]["ghcr.io"]["auth"], "dXNlcjpwYXNz");
}

#[test]
fn skip_logout_keeps_the_logins() {
    let job = Job::new();
    let with = [
        ("role-to-assume", ROLE),
        ("aws-region", "us-east-1"),
        ("registries", "111111111111"),
        ("version", TEST_VERSION),
        ("skip-logout", "true"),
    ];
    job.step("main.js", &with, &[]).assert_ok();
    let post = job.post(&with);
    post.assert_ok();
    assert!(post.stdout.contains("skip-logout"));
    assert_eq!(job.sb.auth(H1), "AWS:111111111111-auth-token");
}

#[test]
fn public_registry_type_and_credentials_outputs() {
    let job = Job::new();
    let with = [
        ("role-to-assume", ROLE),
        ("aws-region", "us-east-1"),
        ("registry-type", "public"),
        ("output-credentials", "true"),
        ("version", TEST_VERSION),
    ];
    job.step("main.js", &with, &[]).assert_ok();
    let outputs = runner_file(&job.sb.path().join("output"));
    assert_eq!(outputs["registry"], "public.ecr.aws");
    assert_eq!(
        outputs["docker_password_public_ecr_aws"],
        "public-ecr-auth-token"
    );
}

#[test]
fn missing_id_token_permission_fails_the_step_and_post_is_harmless() {
    let job = Job::new();
    let with = [
        ("role-to-assume", ROLE),
        ("aws-region", "us-east-1"),
        ("version", TEST_VERSION),
    ];
    let no_token = [("ACTIONS_ID_TOKEN_REQUEST_URL".to_string(), String::new())];
    let run = job.step("main.js", &with, &no_token);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("permissions: id-token: write"),
        "{}",
        run.stderr
    );
    job.post(&with).assert_ok();
}

#[test]
fn a_tampered_release_is_never_run() {
    let job = Job::new();
    job.release.tamper("x86_64-unknown-linux-musl");
    job.release.tamper("aarch64-unknown-linux-musl");
    let with = [
        ("role-to-assume", ROLE),
        ("aws-region", "us-east-1"),
        ("version", TEST_VERSION),
    ];
    let run = job.step("main.js", &with, &[]);
    assert_eq!(run.code, 9, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("checksum mismatch"), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("::error::ecr-login could not be installed (installer exit 9)"),
        "{}",
        run.stdout
    );
    assert!(job.proxy.calls().is_empty());
    assert!(!runner_file(&job.sb.path().join("state")).contains_key("bin"));
    job.post(&with).assert_ok();
}

/// `uses: ecr-login/ecr-login@<major tag>` of a release made by scripts/release.sh: the action
/// at that tag installs the release (no `version`, no checksum override: its installer pins it)
/// and logs in; a tampered archive stops the step with exit 9 before anything runs.
#[test]
fn a_release_made_by_release_sh_installs_through_the_action_at_its_major_tag() {
    let r = released();
    let job = Job::of(r.checkout.clone(), r.serve());
    let with = [
        ("role-to-assume", ROLE),
        ("aws-region", "us-east-1"),
        ("registries", "111111111111"),
    ];
    let run = job.step("main.js", &with, &[]);
    run.assert_ok();
    assert!(
        run.stderr.contains(&format!("/{}/ecr-login-", r.tag)),
        "{}",
        run.stderr
    );
    assert_eq!(job.sb.auth(H1), "AWS:111111111111-auth-token");
    let bin = runner_file(&job.sb.path().join("state"))["bin"].clone();
    assert!(
        bin.contains(&format!("toolcache/ecr-login/{}/", r.version)),
        "{bin}"
    );
    let version = run_command(Command::new(&bin).arg("--version"));
    assert_eq!(version.stdout.trim(), format!("ecr-login {}", r.version));
    job.post(&with).assert_ok();

    let job = Job::of(r.checkout.clone(), r.serve());
    job.release.tamper(&host_linux_target());
    let run = job.step("main.js", &with, &[]);
    assert_eq!(run.code, 9, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("checksum mismatch"), "{}", run.stderr);
    assert!(job.proxy.calls().is_empty());
    let cache = job.sb.path().join("toolcache/ecr-login");
    let installed: Vec<_> = walk(&cache)
        .into_iter()
        .filter(|p| p.ends_with("ecr-login"))
        .collect();
    assert!(installed.is_empty(), "installed: {installed:?}");
}

/// Every file under `dir` (none if it does not exist).
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Session policies, role chaining, the account guard and dual-stack: each input reaches
/// ecr-login as its environment setting, exactly as given; left at its default (empty, or
/// `false`), it reaches it not at all, so the job's own environment stays in charge.
#[test]
fn policy_chaining_account_and_dual_stack_inputs_reach_ecr_logins_environment() {
    let dir = tempfile::tempdir().unwrap();
    let stub = RecordingStub::new(dir.path());
    let job = Job::with_stub(&stub);
    let inputs = [
        ("inline-session-policy", "ECR_LOGIN_INLINE_SESSION_POLICY"),
        (
            "managed-session-policies",
            "ECR_LOGIN_MANAGED_SESSION_POLICIES",
        ),
        ("role-chaining", "ECR_LOGIN_ROLE_CHAINING"),
        ("chain-role-arn", "ECR_LOGIN_CHAIN_ROLE_ARN"),
        ("role-external-id", "ECR_LOGIN_ROLE_EXTERNAL_ID"),
        ("allowed-account-ids", "ECR_LOGIN_ALLOWED_ACCOUNT_IDS"),
        ("dual-stack", "ECR_LOGIN_DUAL_STACK"),
    ];
    let mut with = vec![("role-to-assume", ROLE), ("version", TEST_VERSION)];
    with.extend(
        inputs
            .iter()
            .map(|(name, var)| (*name, session_setting(var))),
    );
    job.step("main.js", &with, &[]).assert_ok();
    let (args, env) = stub.last_run();
    assert_eq!(args, ["login"]);
    assert_eq!(env["AWS_ROLE_ARN"], ROLE);
    assert_session_settings(&env);

    // Defaults, and the booleans given as `false`: none of those variables is set.
    for with in [
        vec![("version", TEST_VERSION)],
        vec![
            ("version", TEST_VERSION),
            ("role-chaining", "false"),
            ("dual-stack", "false"),
        ],
    ] {
        stub.clear();
        job.step("main.js", &with, &[]).assert_ok();
        let (_, env) = stub.last_run();
        for (_, var) in &inputs {
            assert!(!env.contains_key(*var), "{var} was set: {:?}", env[*var]);
        }
    }
}
