//! The CircleCI orb (orb/src, Orb-Template layout): packed like `circleci orb pack`
//! (tests/support/pack_orb.py; scripts/lint.sh validates it against CircleCI's config schema),
//! and its commands' `run` steps executed the way the CircleCI runner does: parameters compiled into
//! the steps' `environment`, each step in `bash -eo pipefail` with $BASH_ENV read at start,
//! the installer fetching the binary from the local HTTPS release site, STS checking the job's
//! OIDC token like a trust policy. A release made by scripts/release.sh installs through the orb
//! packed from the release's tag with the `version` parameter at its default (the orb's version
//! is the release's) and no checksum override; a tampered archive fails the step with the
//! installer's exit 9.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const ORG: &str = "0b9e9d6c-org";
const ISS: &str = "https://oidc.circleci.com/org/0b9e9d6c-org";
const SUB: &str = "org/0b9e9d6c-org/project/5a1e-proj/user/9f2c-user";
const ROLE_111: &str = "arn:aws:iam::111111111111:role/circleci-ecr";

/// The orb packed into `dir`/orb.yml: the path and the document.
fn pack(dir: &Path) -> (PathBuf, Value) {
    pack_from(&repo_root().join("orb/src"), dir)
}

/// The orb source `src` (a checkout's orb/src) packed into `dir`/orb.yml.
pub(crate) fn pack_from(src: &Path, dir: &Path) -> (PathBuf, Value) {
    let out = Command::new(python())
        .arg(repo_root().join("tests/support/pack_orb.py"))
        .arg(src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pack_orb.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join("orb.yml");
    std::fs::write(&path, &out.stdout).unwrap();
    let orb = yaml_to_json(&path, false);
    (path, orb)
}

/// A `run` step of a command as the CircleCI compiler hands it to the runner.
pub(crate) struct Step {
    pub(crate) name: String,
    pub(crate) command: String,
    pub(crate) environment: BTreeMap<String, String>,
    pub(crate) when: Option<String>,
}

/// Replaces `<< parameters.x >>` with `params[x]` and unescapes `\<<` (what `orb pack` makes of
/// every `<<` in an included file), as CircleCI compiles a config. Any other `<<` reference is a
/// compile error there, so here too.
fn substitute(text: &str, params: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("<<") {
        if i > 0 && rest.as_bytes()[i - 1] == b'\\' {
            out.push_str(&rest[..i - 1]);
            out.push_str("<<");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find(">>")
            .unwrap_or_else(|| panic!("unclosed `<<` in {text:?}"));
        let reference = rest[i + 2..i + end].trim();
        let name = reference
            .strip_prefix("parameters.")
            .unwrap_or_else(|| panic!("CircleCI would reject `<< {reference} >>` here"));
        out.push_str(
            params
                .get(name)
                .unwrap_or_else(|| panic!("`{name}` is not a declared parameter")),
        );
        rest = &rest[i + end + 2..];
    }
    out.push_str(rest);
    out
}

/// The `run` steps of the orb's command `name`, invoked with `args` (like
/// `- ecr-login/login: {role_arn: ...}`): unknown arguments and missing required parameters
/// are errors, as in CircleCI.
pub(crate) fn compile(orb: &Value, name: &str, args: &[(&str, &str)]) -> Vec<Step> {
    let command = &orb["commands"][name];
    let declared = command["parameters"].as_object().unwrap();
    let mut params = BTreeMap::new();
    for (k, v) in args {
        assert!(declared.contains_key(*k), "unexpected argument `{k}`");
        params.insert(k.to_string(), v.to_string());
    }
    for (k, spec) in declared {
        let default = &spec["default"];
        match spec["type"].as_str() {
            Some("string") => {
                if !params.contains_key(k) {
                    let default = default
                        .as_str()
                        .unwrap_or_else(|| panic!("required parameter `{k}` not given"));
                    params.insert(k.clone(), default.to_string());
                }
            }
            // CircleCI writes a boolean into an environment value as 1 or 0.
            Some("boolean") => {
                let value = match params.get(k).map(String::as_str) {
                    Some("true") => true,
                    Some("false") => false,
                    Some(other) => panic!("`{k}` is a boolean, not {other:?}"),
                    None => default.as_bool().expect("a boolean parameter's default"),
                };
                params.insert(k.clone(), if value { "1" } else { "0" }.to_string());
            }
            other => panic!("parameter {k}: unexpected type {other:?}"),
        }
    }
    command["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let run = &s["run"];
            assert!(run.is_object(), "only `run` steps expected: {s}");
            let environment = run["environment"]
                .as_object()
                .map(|env| {
                    env.iter()
                        .map(|(k, v)| (k.clone(), substitute(v.as_str().unwrap(), &params)))
                        .collect()
                })
                .unwrap_or_default();
            Step {
                name: run["name"].as_str().unwrap().to_string(),
                command: substitute(run["command"].as_str().unwrap(), &params),
                environment,
                when: run["when"].as_str().map(str::to_string),
            }
        })
        .collect()
}

/// A CircleCI job's container: the environment CircleCI gives each step, and $BASH_ENV.
struct Job {
    env: BTreeMap<String, String>,
    bash_env: PathBuf,
    dir: PathBuf,
}

impl Job {
    /// A job in project `app` (build 123) of organization ORG, run with a context (so it has
    /// an OIDC token), talking to `proxy`, installing from `release`.
    fn new(sb: &Sandbox, proxy: &Proxy, release: &Release) -> Job {
        let bash_env = sb.path().join("bash_env");
        // The harness's clean environment (PATH, HOME, no host AWS or Docker settings).
        let mut env: BTreeMap<String, String> = sb
            .cmd()
            .command()
            .get_envs()
            .filter_map(|(k, v)| {
                Some((
                    k.to_str()?.to_string(),
                    v?.to_str().unwrap_or_default().to_string(),
                ))
            })
            .collect();
        for (k, v) in [
            ("CI", "true"),
            ("CIRCLECI", "true"),
            ("CIRCLE_PROJECT_REPONAME", "app"),
            ("CIRCLE_BUILD_NUM", "123"),
            ("BASH_ENV", bash_env.to_str().unwrap()),
            ("AWS_ENDPOINT_URL", &proxy.url()),
        ] {
            env.insert(k.into(), v.into());
        }
        env.insert("CIRCLE_OIDC_TOKEN_V2".into(), token(ISS, ORG, SUB));
        // The checksums, install dir and CA of the local release site; the version and the
        // site's URL come from the orb's parameters.
        for (k, v) in release.install_env(&sb.path().join("tools")) {
            if k != "ECR_LOGIN_VERSION" && k != "ECR_LOGIN_BASE_URL" {
                env.insert(k, v);
            }
        }
        Job {
            env,
            bash_env,
            dir: sb.path().to_path_buf(),
        }
    }

    /// Runs one step's command as the runner does: `bash -eo pipefail`, which reads $BASH_ENV
    /// (what earlier steps exported) before the command.
    fn run(&self, command: &str, environment: &BTreeMap<String, String>) -> Run {
        let out = Command::new("bash")
            .args(["-eo", "pipefail", "-c", command])
            .env_clear()
            .envs(&self.env)
            .envs(environment)
            .current_dir(&self.dir)
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs the steps in order; stops at the first that fails (as the job would), returning
    /// the last step's result.
    fn run_steps(&self, steps: &[Step]) -> Run {
        let mut last = None;
        for step in steps {
            let run = self.run(&step.command, &step.environment);
            let failed = run.code != 0;
            last = Some(run);
            if failed {
                break;
            }
        }
        last.expect("the command has steps")
    }

    fn bash_env(&self) -> String {
        std::fs::read_to_string(&self.bash_env).unwrap_or_default()
    }
}

/// STS that trusts only this organization's tokens for project 5a1e-proj.
fn circleci_trust() -> Proxy {
    trusting_proxy(json!({"iss": ISS, "aud": ORG, "sub": "org/0b9e9d6c-org/project/5a1e-proj/*"}))
}

#[test]
fn orb_packs_into_an_inline_orb_with_its_commands_and_examples() {
    let dir = tempfile::tempdir().unwrap();
    let (_, orb) = pack(dir.path());
    assert_eq!(orb["version"], 2.1);
    assert!(orb["display"]["source_url"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    assert_eq!(
        orb["commands"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["login", "logout"]
    );
    let examples = orb["examples"].as_object().unwrap();
    assert!(!examples.is_empty());
    for (name, example) in examples {
        assert!(
            example["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "example {name}"
        );
        assert!(example["usage"]["version"].is_number(), "example {name}");
    }
}

#[test]
fn orb_embeds_the_shared_installer_verbatim_and_passes_parameters_as_env() {
    let dir = tempfile::tempdir().unwrap();
    let (_, orb) = pack(dir.path());
    let installer = std::fs::read_to_string(repo_root().join("scripts/install.sh")).unwrap();
    let default_version = installer
        .lines()
        .find_map(|l| l.strip_prefix("DEFAULT_VERSION=\""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap();
    for name in ["login", "logout"] {
        let command = &orb["commands"][name];
        let run = &command["steps"][0]["run"];
        // Packed as `circleci orb pack` does (every `<<` escaped), and compiled back to the
        // very bytes of scripts/install.sh.
        assert_eq!(
            run["environment"]["SCRIPT_INSTALL"].as_str().unwrap(),
            installer.replace("<<", "\\<<"),
            "{name}: the packed installer differs from scripts/install.sh"
        );
        let steps = compile(&orb, name, &[]);
        assert_eq!(steps.len(), 1, "{name}");
        assert_eq!(steps[0].environment["SCRIPT_INSTALL"], installer, "{name}");
        assert!(!steps[0].name.is_empty());
        let script = format!("orb/src/scripts/{name}.sh");
        assert_eq!(
            steps[0].command,
            std::fs::read_to_string(repo_root().join(&script)).unwrap(),
            "{name}: the step runs {script}"
        );
        // Every parameter reaches the script as PARAM_<NAME>, and the script reads it.
        let params = command["parameters"].as_object().unwrap();
        for key in params.keys() {
            let var = format!("PARAM_{}", key.to_uppercase());
            assert_eq!(
                run["environment"][&var],
                format!("<< parameters.{key} >>"),
                "{name}: {key}"
            );
            assert!(steps[0].command.contains(&var), "{script} ignores {var}");
        }
        assert_eq!(params["version"]["default"], default_version, "{name}");
        // Parameters never appear in the command itself.
        assert!(!run["command"].as_str().unwrap().contains("parameters."));
    }
    // A logout runs even after a failed step.
    assert_eq!(
        compile(&orb, "logout", &[])[0].when.as_deref(),
        Some("always")
    );
    assert_eq!(compile(&orb, "login", &[])[0].when, None);
}

#[test]
fn login_then_logout_run_as_circleci_runs_them() {
    let dir = tempfile::tempdir().unwrap();
    let (_, orb) = pack(dir.path());
    let release = Release::start();
    let proxy = circleci_trust();
    let sb = Sandbox::new();
    let job = Job::new(&sb, &proxy, &release);
    let base_url = release.base_url();
    let install = [("version", TEST_VERSION), ("base_url", base_url.as_str())];

    let mut login_args = vec![
        ("role_arn", ROLE_111),
        ("region", "us-east-1"),
        ("registries", "111111111111"),
    ];
    login_args.extend_from_slice(&install);
    let login = job.run_steps(&compile(&orb, "login", &login_args));
    login.assert_ok();
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    assert_eq!(
        job.bash_env(),
        format!("export ECR_LOGIN_REGISTRY='{H1}'\nexport ECR_LOGIN_REGISTRY_HOSTS='{H1}'\n")
    );
    assert_eq!(proxy.count("sts", None), 1);
    assert_eq!(release.requests(), 1);
    assert!(login.stderr.contains("downloading "), "{}", login.stderr);

    // A later step of the job sees the registry (its shell reads $BASH_ENV).
    let later = job.run("printf '%s' \"$ECR_LOGIN_REGISTRY\"", &BTreeMap::new());
    later.assert_ok();
    assert_eq!(later.stdout, H1);

    assert_no_secret_in(
        &proxy.secrets(),
        &[
            ("the login step's stdout", &login.stdout),
            ("the login step's stderr", &login.stderr),
            ("$BASH_ENV", &job.bash_env()),
        ],
    );

    let logout = job.run_steps(&compile(&orb, "logout", &install));
    logout.assert_ok();
    assert!(
        logout.stderr.contains("using cached"),
        "the logout step downloaded again: {}",
        logout.stderr
    );
    assert_eq!(release.requests(), 1);
    let config = sb.config();
    assert!(
        config["auths"].get(H1).is_none(),
        "logout left the ECR login: {config:#}"
    );
    assert_no_secret_in(
        &proxy.secrets(),
        &[("the logout step's output", &logout.stderr)],
    );
}

#[test]
fn empty_parameters_leave_the_jobs_environment_in_charge() {
    // Role and region from the job's environment (a context), the rest defaulted; the
    // env_file parameter adds a dotenv file for later jobs.
    let dir = tempfile::tempdir().unwrap();
    let (_, orb) = pack(dir.path());
    let release = Release::start();
    let proxy = circleci_trust();
    let sb = Sandbox::new();
    let mut job = Job::new(&sb, &proxy, &release);
    job.env.insert("AWS_ROLE_ARN".into(), ROLE_111.into());
    job.env.insert("AWS_REGION".into(), "us-east-1".into());
    let dotenv = sb.path().join("workspace/ecr-login.env");
    std::fs::create_dir_all(dotenv.parent().unwrap()).unwrap();
    let base_url = release.base_url();
    let login = job.run_steps(&compile(
        &orb,
        "login",
        &[
            ("version", TEST_VERSION),
            ("base_url", &base_url),
            ("env_file", dotenv.to_str().unwrap()),
        ],
    ));
    login.assert_ok();
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    assert_eq!(
        std::fs::read_to_string(&dotenv).unwrap(),
        format!("ECR_LOGIN_REGISTRY={H1}\nECR_LOGIN_REGISTRY_HOSTS={H1}\n")
    );
    assert!(job
        .bash_env()
        .contains(&format!("export ECR_LOGIN_REGISTRY='{H1}'")));
}

#[test]
fn failing_steps_stop_with_ecr_logins_message() {
    let dir = tempfile::tempdir().unwrap();
    let (_, orb) = pack(dir.path());
    let release = Release::start();
    let proxy = circleci_trust();
    let sb = Sandbox::new();
    let base_url = release.base_url();

    // A job without a context has no OIDC token: the step fails with exit 3 and says why.
    let mut job = Job::new(&sb, &proxy, &release);
    job.env.remove("CIRCLE_OIDC_TOKEN_V2");
    let login = &[
        ("role_arn", ROLE_111),
        ("region", "us-east-1"),
        ("version", TEST_VERSION),
        ("base_url", base_url.as_str()),
    ];
    job.run_steps(&compile(&orb, "login", login))
        .assert_fails(3, &["CircleCI provided no OIDC identity token", "context:"]);
    assert!(proxy.calls().is_empty());
    assert!(!sb.config_path().exists());
    assert_eq!(job.bash_env(), "");

    // No role, neither as a parameter nor in the environment: AWS refuses (exit 4).
    let job = Job::new(&sb, &proxy, &release);
    job.run_steps(&compile(
        &orb,
        "login",
        &[
            ("region", "us-east-1"),
            ("version", TEST_VERSION),
            ("base_url", &base_url),
        ],
    ))
    .assert_fails(4, &["no AWS credentials found", "role-arn"]);
    assert!(!sb.config_path().exists());

    // A version the installer has no checksum for: the installer's own error, nothing run.
    let job = Job::new(&sb, &proxy, &release);
    job.run_steps(&compile(
        &orb,
        "login",
        &[("role_arn", ROLE_111), ("version", "1.2.3")],
    ))
    .assert_fails(
        9,
        &[
            "no pinned checksum for ecr-login 1.2.3",
            "ecr-login could not be installed (exit 9",
        ],
    );
    assert_eq!(proxy.count("sts", None), 0);
}

/// Session policies, role chaining, the account guard and dual-stack: each parameter reaches
/// ecr-login as its environment setting, exactly as given (multi-line values included, the
/// booleans as CircleCI writes them); at their defaults, none of them is set.
#[test]
fn session_parameters_reach_ecr_logins_environment() {
    let dir = tempfile::tempdir().unwrap();
    let (_, orb) = pack(dir.path());
    let stub = RecordingStub::new(dir.path());
    let release = Release::serving(&stub.program);
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let job = Job::new(&sb, &proxy, &release);
    let base_url = release.base_url();
    let params = [
        ("inline_session_policy", "ECR_LOGIN_INLINE_SESSION_POLICY"),
        (
            "managed_session_policies",
            "ECR_LOGIN_MANAGED_SESSION_POLICIES",
        ),
        ("role_chaining", "ECR_LOGIN_ROLE_CHAINING"),
        ("chain_role_arn", "ECR_LOGIN_CHAIN_ROLE_ARN"),
        ("role_external_id", "ECR_LOGIN_ROLE_EXTERNAL_ID"),
        ("allowed_account_ids", "ECR_LOGIN_ALLOWED_ACCOUNT_IDS"),
        ("dual_stack", "ECR_LOGIN_DUAL_STACK"),
    ];
    let install = [("version", TEST_VERSION), ("base_url", base_url.as_str())];
    let mut args = install.to_vec();
    args.extend(params.iter().map(|(p, var)| (*p, session_setting(var))));
    job.run_steps(&compile(&orb, "login", &args)).assert_ok();
    let (argv, env) = stub.last_run();
    assert_eq!(argv, ["login"]);
    assert_session_settings(&env);
    assert!(
        !env.keys()
            .any(|k| k.starts_with("PARAM_") || k == "SCRIPT_INSTALL"),
        "the orb's own variables reach ecr-login: {:?}",
        env.keys().collect::<Vec<_>>()
    );

    stub.clear();
    job.run_steps(&compile(&orb, "login", &install)).assert_ok();
    let (_, env) = stub.last_run();
    for (_, var) in &params {
        assert!(!env.contains_key(*var), "{var} was set: {:?}", env[*var]);
    }
}

/// `orbs: ecr-login: ecr-login/ecr-login@<X.Y.Z>` of a release made by scripts/release.sh: the
/// orb packed from the tag installs the release of its own version (the `version` parameter's
/// default) with no checksum override, logs in and out; a tampered archive fails the login step
/// with exit 9 before ecr-login runs.
#[test]
fn a_release_made_by_release_sh_installs_through_the_orb_packed_at_its_tag() {
    let r = released();
    let dir = tempfile::tempdir().unwrap();
    let (_, orb) = pack_from(&r.checkout.join("orb/src"), dir.path());
    for name in ["login", "logout"] {
        assert_eq!(
            orb["commands"][name]["parameters"]["version"]["default"],
            r.version.as_str(),
            "{name}: the orb's version is the release's"
        );
    }
    let release = r.serve();
    let proxy = circleci_trust();
    let sb = Sandbox::new();
    let job = Job::new(&sb, &proxy, &release);
    let base_url = release.base_url();
    let login = job.run_steps(&compile(
        &orb,
        "login",
        &[
            ("role_arn", ROLE_111),
            ("region", "us-east-1"),
            ("registries", "111111111111"),
            ("base_url", &base_url),
        ],
    ));
    login.assert_ok();
    assert!(
        login.stderr.contains(&format!("/{}/ecr-login-", r.tag)),
        "{}",
        login.stderr
    );
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    let bin = sb.path().join("tools/ecr-login");
    let version = run_command(Command::new(&bin).arg("--version"));
    assert_eq!(version.stdout.trim(), format!("ecr-login {}", r.version));
    job.run_steps(&compile(&orb, "logout", &[("base_url", &base_url)]))
        .assert_ok();
    assert!(sb.config()["auths"].get(H1).is_none());

    let release = r.serve();
    release.tamper(&host_linux_target());
    let sb = Sandbox::new();
    let job = Job::new(&sb, &proxy, &release);
    let base_url = release.base_url();
    job.run_steps(&compile(
        &orb,
        "login",
        &[("role_arn", ROLE_111), ("base_url", &base_url)],
    ))
    .assert_fails(
        9,
        &[
            "checksum mismatch",
            "ecr-login could not be installed (exit 9",
        ],
    );
    assert!(!sb.path().join("tools/ecr-login").exists());
    assert!(!sb.config_path().exists());
}
