//! The GitLab CI/CD component (gitlab/templates/ecr-login.yml) run the way GitLab runs it: its
//! `spec:inputs` checked and interpolated into the job part as GitLab does at pipeline
//! creation, the hidden job's `variables:` and `id_tokens:` turned into the job's environment
//! (the token a real signed JWT with GitLab's claims, which STS checks like a trust policy),
//! then its before_script, a stand-in for the user's script and its after_script run with
//! `sh -e` / `bash -e` against the local release site and AWS. Also: the inputs' types and
//! defaults, the README's inputs table, and the embedded installer being scripts/install.sh
//! byte for byte. (The validators, check-jsonschema and shellcheck, run in scripts/lint.sh.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Map, Value};

use crate::harness::*;

const TEMPLATE: &str = "gitlab/templates/ecr-login.yml";
const GL_URL: &str = "https://gitlab.example.com";
const GL_PROJECT: &str = "grp/proj";
const GL_SUB: &str = "project_path:grp/proj:ref_type:branch:ref:main";
const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
/// The inputs typed `boolean` (GitLab interpolates them as `true`/`false`).
const BOOLEAN_INPUTS: &[&str] = &["role-chaining", "dual-stack"];
/// The inputs for session policies, role chaining, the account guard and dual-stack, with the
/// variable each one sets for ecr-login.
const SESSION_INPUTS: &[(&str, &str)] = &[
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
/// The terminator of the heredoc that carries the installer.
const DELIM: &str = "ECR_LOGIN_INSTALL_SH";
/// Stands in for the user's `script:`: GitLab runs it in the before_script's shell.
const PROBE: &str = r#"printf 'script ran: registry=%s registries=%s bin=%s\n' "$ECR_LOGIN_REGISTRY" "$ECR_LOGIN_REGISTRY_HOSTS" "$(command -v ecr-login)""#;
/// How GitLab runners run a job's script: with `set -e` (sh), or `set -eo pipefail` (bash).
const SH: &[&str] = &["sh", "-e", "-c"];
const BASH: &[&str] = &["bash", "-e", "-o", "pipefail", "-c"];

// --- the component as GitLab reads it --------------------------------------------------------

fn template_text() -> String {
    std::fs::read_to_string(repo_root().join(TEMPLATE)).unwrap()
}

/// The header (`spec:`) and the job part, split at the `---` line as GitLab does.
fn parts() -> (String, String) {
    parts_of(&template_text())
}

/// The header and the job part of the template `text`.
fn parts_of(text: &str) -> (String, String) {
    let (head, tail) = text
        .split_once("\n---\n")
        .expect("the component has no `---` line after its spec header");
    (format!("{head}\n"), tail.to_string())
}

fn parse_yaml(text: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.yml");
    std::fs::write(&path, text).unwrap();
    yaml_to_json(&path, false)
}

fn inputs_spec() -> Map<String, Value> {
    inputs_spec_of(&template_text())
}

fn inputs_spec_of(text: &str) -> Map<String, Value> {
    parse_yaml(&parts_of(text).0)["spec"]["inputs"]
        .as_object()
        .expect("spec:inputs is not a map")
        .clone()
}

/// Every `$[[ inputs.NAME ]]` in `s` replaced by its value; anything else in `$[[ ]]`, or an
/// input the spec does not declare, fails the pipeline in GitLab and the test here.
fn interpolate_str(s: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("$[[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after
            .find("]]")
            .unwrap_or_else(|| panic!("unterminated $[[ in {s:?}"));
        let expr = after[..end].trim();
        let name = expr
            .strip_prefix("inputs.")
            .unwrap_or_else(|| panic!("not an input reference: {expr:?}"));
        out.push_str(
            values
                .get(name)
                .unwrap_or_else(|| panic!("unknown input `{name}` in {s:?}")),
        );
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// GitLab interpolates the parsed YAML, keys and string values alike.
fn interpolate_value(v: &Value, values: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(interpolate_str(s, values)),
        Value::Array(a) => Value::Array(a.iter().map(|x| interpolate_value(x, values)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (interpolate_str(k, values), interpolate_value(x, values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A `default:` as GitLab interpolates it into a string (`false` for a boolean input).
fn input_default(default: &Value) -> String {
    match default {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        other => panic!("unexpected default {other}"),
    }
}

/// The job part after GitLab's interpolation with `given` inputs: an unknown input or a missing
/// required one (no `default:`) is refused, the others take their defaults.
fn interpolate(given: &[(&str, &str)]) -> Value {
    interpolate_in(&template_text(), given)
}

/// The job part of the template `text` after GitLab's interpolation with `given` inputs.
pub(crate) fn interpolate_in(text: &str, given: &[(&str, &str)]) -> Value {
    let spec = inputs_spec_of(text);
    let mut values = BTreeMap::new();
    for (name, value) in given {
        assert!(
            spec.contains_key(*name),
            "GitLab refuses the unknown input `{name}`"
        );
        values.insert(name.to_string(), value.to_string());
    }
    for (name, s) in &spec {
        if !values.contains_key(name) {
            let default = s
                .get("default")
                .unwrap_or_else(|| panic!("GitLab refuses the pipeline: `{name}` is required"));
            values.insert(name.clone(), input_default(default));
        }
    }
    let part = interpolate_value(&parse_yaml(&parts_of(text).1), &values);
    assert!(
        !part.to_string().contains("$[["),
        "left uninterpolated: {part:#}"
    );
    part
}

/// The one (hidden) job of an interpolated job part, with its name.
pub(crate) fn only_job(part: &Value) -> (String, Value) {
    let jobs = part.as_object().unwrap();
    assert_eq!(jobs.len(), 1, "expected one job: {part:#}");
    let (name, job) = jobs.iter().next().unwrap();
    (name.clone(), job.clone())
}

/// The hidden job with only the required inputs given.
fn job_with_defaults() -> Value {
    let part = interpolate(&[("role-arn", ROLE), ("aws-region", "us-east-1")]);
    only_job(&part).1
}

fn script(job: &Value, key: &str) -> Vec<String> {
    job[key]
        .as_array()
        .unwrap_or_else(|| panic!("the job has no {key}: {job:#}"))
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// The heredoc body after `<<'ECR_LOGIN_INSTALL_SH'` in a script item.
fn embedded_installer(item: &str) -> String {
    let open = format!("<<'{DELIM}'\n");
    let start = item.find(&open).expect("no installer heredoc") + open.len();
    let body = &item[start..];
    let end = body
        .find(&format!("\n{DELIM}\n"))
        .expect("the installer heredoc is not terminated");
    format!("{}\n", &body[..end])
}

fn install_sh() -> String {
    std::fs::read_to_string(repo_root().join("scripts/install.sh")).unwrap()
}

// --- a GitLab job on this machine ------------------------------------------------------------

/// The predefined variables of a job of project GL_PROJECT's `main` on GL_URL.
fn predefined() -> BTreeMap<String, String> {
    [
        ("CI", "true"),
        ("GITLAB_CI", "true"),
        ("CI_SERVER_URL", GL_URL),
        ("CI_SERVER_FQDN", "gitlab.example.com"),
        ("CI_PROJECT_PATH", GL_PROJECT),
        ("CI_COMMIT_REF_NAME", "main"),
        ("CI_COMMIT_BRANCH", "main"),
        ("CI_DEFAULT_BRANCH", "main"),
        ("CI_PIPELINE_ID", "77"),
        ("CI_JOB_ID", "88"),
        ("CI_JOB_NAME", "push"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// `$NAME` and `${NAME}` in `value` replaced from `vars` (an unknown one by nothing), as GitLab
/// expands variables in `variables:` values and in `id_tokens: aud:`.
pub(crate) fn expand(value: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').expect("unterminated ${");
            (&braced[..end], end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() {
            out.push('$');
        } else {
            out.push_str(vars.get(name).map(String::as_str).unwrap_or_default());
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// STS that accepts only what a trust policy for this project's `main` branch would.
fn gitlab_trust(aud: &str) -> Proxy {
    trusting_proxy(json!({"iss": GL_URL, "aud": aud, "sub": GL_SUB}))
}

/// A pipeline of one project: its sandbox (the project directory), the component's template it
/// includes, the release site the installer downloads from, and AWS.
struct Pipeline {
    sb: Sandbox,
    template: String,
    release: Release,
    proxy: Proxy,
}

impl Pipeline {
    fn new(proxy: Proxy) -> Pipeline {
        Pipeline::with_release(proxy, Release::start())
    }

    fn with_release(proxy: Proxy, release: Release) -> Pipeline {
        Pipeline::including(&repo_root().join(TEMPLATE), proxy, release)
    }

    /// A pipeline that includes the component template at `template`.
    fn including(template: &Path, proxy: Proxy, release: Release) -> Pipeline {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.path().join("tmp")).unwrap();
        Pipeline {
            sb,
            template: std::fs::read_to_string(template).unwrap(),
            release,
            proxy,
        }
    }

    /// The interpolated hidden job for the `include:` inputs a user would write (pointing the
    /// installer at the local release site; `version` only for the made-up release), with
    /// `extra` inputs added or replacing those.
    fn job(&self, extra: &[(&str, &str)]) -> Value {
        let base = self.release.base_url();
        let mut given: BTreeMap<&str, &str> = [
            ("role-arn", ROLE),
            ("aws-region", "us-east-1"),
            ("registries", "111111111111"),
            ("base-url", base.as_str()),
        ]
        .into_iter()
        .collect();
        if let Some(version) = self.release.test_version() {
            given.insert("version", version);
        }
        given.extend(extra.iter().copied());
        let given: Vec<(&str, &str)> = given.into_iter().collect();
        let (name, job) = only_job(&interpolate_in(&self.template, &given));
        assert!(name.starts_with('.'), "{name} is not a hidden job");
        job
    }

    /// The environment GitLab gives the job: predefined variables, the job's `variables:`, the
    /// `id_tokens:` (unless `with_token` is false), then project CI/CD variables, which outrank
    /// job variables (here: the release site's checksums and CA).
    fn env(&self, job: &Value, with_token: bool) -> BTreeMap<String, String> {
        let sb = &self.sb;
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        let mut set = |k: &str, v: &str| {
            env.insert(k.to_string(), v.to_string());
        };
        set("PATH", &std::env::var("PATH").unwrap_or_default());
        set("HOME", sb.path().join("home").to_str().unwrap());
        set("TMPDIR", sb.path().join("tmp").to_str().unwrap());
        set("CI_PROJECT_DIR", sb.path().to_str().unwrap());
        for (k, v) in predefined() {
            set(&k, &v);
        }
        for (k, v) in job["variables"].as_object().unwrap() {
            // GitLab expands $VAR in variable values (the audience: $CI_SERVER_URL).
            let v = expand(v.as_str().unwrap(), &env);
            env.insert(k.clone(), v);
        }
        let mut set = |k: &str, v: &str| {
            env.insert(k.to_string(), v.to_string());
        };
        if with_token {
            for (name, spec) in job["id_tokens"].as_object().unwrap() {
                // ... and in `id_tokens: aud:`.
                let aud = expand(spec["aud"].as_str().unwrap(), &predefined());
                set(name, &token(GL_URL, &aud, GL_SUB));
            }
        }
        for (k, v) in self.release.install_env(&sb.path().join("unused")) {
            if k == "ECR_LOGIN_CHECKSUMS_FILE" || k == "CURL_CA_BUNDLE" {
                set(&k, &v);
            }
        }
        // The test world: AWS on loopback, no host config, the sandbox's Docker config.
        set("AWS_ENDPOINT_URL", &self.proxy.url());
        set("AWS_EC2_METADATA_DISABLED", "true");
        set(
            "AWS_CONFIG_FILE",
            sb.path().join("aws-config").to_str().unwrap(),
        );
        set(
            "AWS_SHARED_CREDENTIALS_FILE",
            sb.path().join("aws-credentials").to_str().unwrap(),
        );
        set("DOCKER_CONFIG", sb.docker_dir().to_str().unwrap());
        env
    }

    /// Runs `lines` (a script section's items, in order) in one shell in the project directory.
    fn run(&self, shell: &[&str], lines: &[String], env: &BTreeMap<String, String>) -> Run {
        let out = Command::new(shell[0])
            .args(&shell[1..])
            .arg(lines.join("\n"))
            .current_dir(self.sb.path())
            .env_clear()
            .envs(env)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// before_script and then the stand-in for the user's script, as GitLab runs them.
    fn run_main(&self, shell: &[&str], job: &Value, env: &BTreeMap<String, String>) -> Run {
        let mut lines = script(job, "before_script");
        lines.push(PROBE.to_string());
        self.run(shell, &lines, env)
    }

    /// GitLab cannot mask values made at run time: no token, key or password may be printed.
    fn assert_no_secrets(&self, run: &Run, env: &BTreeMap<String, String>) {
        let mut secrets = self.proxy.secrets();
        secrets.extend(env.get("ECR_LOGIN_ID_TOKEN").cloned());
        assert_no_secret_in(
            &secrets,
            &[("stdout", &run.stdout), ("stderr", &run.stderr)],
        );
    }

    fn sts_calls(&self) -> Vec<Value> {
        self.proxy
            .calls()
            .into_iter()
            .filter(|c| c["service"] == "sts")
            .collect()
    }

    fn dotenv(&self, job: &Value) -> PathBuf {
        let name = job["artifacts"]["reports"]["dotenv"].as_str().unwrap();
        self.sb.path().join(name)
    }

    /// The installer's temp copy is gone.
    fn assert_tmp_empty(&self) {
        let left: Vec<_> = std::fs::read_dir(self.sb.path().join("tmp"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    }
}

// --- the job, end to end ---------------------------------------------------------------------

/// before_script installs, logs in and hands the registry on (to the script and to later jobs
/// through the dotenv report); after_script, in a new shell, logs out again.
fn logs_in_hands_off_and_logs_out(p: &Pipeline, shell: &[&str], job: &Value, bin: &Path) {
    p.sb.write_config(r#"{"auths": {"ghcr.io": {"auth": "dXNlcjpwYXNz"}}}"#);
    let env = p.env(job, true);
    let run = p.run_main(shell, job, &env);
    run.assert_ok();
    assert!(
        run.stdout.contains(&format!(
            "script ran: registry={H1} registries={H1} bin={}\n",
            bin.display()
        )),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    assert!(run.stdout.contains("gl-grp-proj-77-88"), "{}", run.stdout);
    assert_eq!(
        p.release.requests(),
        1,
        "one download from the release site"
    );
    assert_eq!(p.sb.auth(H1), "AWS:111111111111-auth-token");
    assert_eq!(p.sb.auth("ghcr.io"), "user:pass");
    assert_eq!(
        std::fs::read_to_string(p.dotenv(job)).unwrap(),
        format!("ECR_LOGIN_REGISTRY={H1}\nECR_LOGIN_REGISTRY_HOSTS={H1}\n")
    );
    let sts = p.sts_calls();
    assert_eq!(sts.len(), 1, "{sts:?}");
    assert_eq!(sts[0]["operation"], "AssumeRoleWithWebIdentity");
    assert_eq!(sts[0]["status"], 200);
    p.assert_tmp_empty();
    // What the no-leak check looks for includes the session keys and the ECR password.
    let secrets = p.proxy.secrets();
    assert!(secrets.len() >= 4, "{} secrets recorded", secrets.len());
    assert!(secrets.iter().any(|s| s == "111111111111-auth-token"));
    p.assert_no_secrets(&run, &env);

    let after = p.run(shell, &script(job, "after_script"), &env);
    after.assert_ok();
    assert!(after.stderr.contains("using cached"), "{}", after.stderr);
    assert_eq!(p.release.requests(), 1, "after_script reuses the binary");
    let config = p.sb.config();
    assert!(config["auths"].get(H1).is_none(), "{config:#}");
    assert_eq!(p.sb.auth("ghcr.io"), "user:pass");
    p.assert_tmp_empty();
    p.assert_no_secrets(&after, &env);
}

#[test]
fn sh_job_logs_in_hands_off_the_registry_and_logs_out() {
    let p = Pipeline::new(gitlab_trust(GL_URL));
    let job = p.job(&[]);
    // install-dir left empty: the installer's default cache under $HOME.
    let bin =
        p.sb.path()
            .join(format!("home/.cache/ecr-login/{TEST_VERSION}/ecr-login"));
    logs_in_hands_off_and_logs_out(&p, SH, &job, &bin);
}

/// `ecr-login policy`, run with the job's environment, prints a trust policy that the job's
/// token satisfies: the STS here evaluates exactly that document, like IAM.
#[test]
fn bash_job_passes_the_trust_policy_ecr_login_policy_prints() {
    let mut p = Pipeline::new(Proxy::start());
    let tools = p.sb.path().join("tools");
    let job = p.job(&[("install-dir", tools.to_str().unwrap())]);
    let out = Command::new(BIN)
        .args(["policy", "--only", "trust"])
        .env_clear()
        .envs(p.env(&job, false))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let policy = String::from_utf8(out.stdout).unwrap();
    let doc: Value = serde_json::from_str(&policy).unwrap();
    let cond = &doc["Statement"][0]["Condition"]["StringEquals"];
    assert_eq!(cond["gitlab.example.com:aud"], GL_URL, "{doc:#}");
    assert_eq!(cond["gitlab.example.com:sub"], GL_SUB, "{doc:#}");
    p.proxy = policy_proxy(&p.sb, &policy);
    logs_in_hands_off_and_logs_out(&p, BASH, &job, &tools.join("ecr-login"));
}

#[test]
fn missing_token_fails_with_the_ecr_login_error_and_stops_the_job() {
    let p = Pipeline::new(gitlab_trust(GL_URL));
    let job = p.job(&[]);
    let env = p.env(&job, false);
    let run = p.run_main(SH, &job, &env);
    run.assert_fails(
        3,
        &[
            "GitLab CI provided no OIDC identity token",
            "ECR_LOGIN_ID_TOKEN",
            "id_tokens:",
        ],
    );
    assert!(!run.stdout.contains("script ran"), "{}", run.stdout);
    assert!(p.proxy.calls().is_empty());
    assert!(!p.sb.config_path().exists());
    assert!(!p.dotenv(&job).exists());
}

#[test]
fn malformed_role_arn_fails_before_any_aws_call() {
    let p = Pipeline::new(gitlab_trust(GL_URL));
    let job = p.job(&[("role-arn", "arn:aws:iam::12345:role/ci")]);
    let env = p.env(&job, true);
    let run = p.run_main(BASH, &job, &env);
    run.assert_fails(2, &["invalid role ARN", "arn:aws:iam::12345:role/ci"]);
    assert!(!run.stdout.contains("script ran"), "{}", run.stdout);
    assert!(p.proxy.calls().is_empty());
    p.assert_no_secrets(&run, &env);
}

/// The job asks GitLab for a token with another audience than the role trusts: STS refuses it,
/// the job fails with ecr-login's explanation and nothing is written.
#[test]
fn token_the_role_does_not_trust_is_refused() {
    let p = Pipeline::new(gitlab_trust(GL_URL));
    let job = p.job(&[("audience", "sts.amazonaws.com")]);
    assert_eq!(
        job["id_tokens"]["ECR_LOGIN_ID_TOKEN"]["aud"],
        "sts.amazonaws.com"
    );
    let env = p.env(&job, true);
    let run = p.run_main(SH, &job, &env);
    run.assert_fails(4, &["Incorrect token audience", "sts.amazonaws.com"]);
    assert!(!run.stdout.contains("script ran"), "{}", run.stdout);
    assert_eq!(p.sts_calls().len(), 1);
    assert!(!p.sb.config_path().exists());
    assert!(!p.dotenv(&job).exists());
    p.assert_no_secrets(&run, &env);
}

#[test]
fn a_release_the_installer_does_not_pin_stops_before_login() {
    let p = Pipeline::new(gitlab_trust(GL_URL));
    let job = p.job(&[("version", "1.2.3")]);
    let env = p.env(&job, true);
    let run = p.run_main(SH, &job, &env);
    run.assert_fails(
        9,
        &[
            "no pinned checksum for ecr-login 1.2.3",
            "ecr-login: could not be installed (exit 9",
        ],
    );
    assert!(!run.stdout.contains("script ran"), "{}", run.stdout);
    assert!(p.proxy.calls().is_empty());
    assert_eq!(p.release.requests(), 0);
    p.assert_tmp_empty();
}

/// The job's before_script hands ecr-login the session policies, role chaining, account guard
/// and dual-stack settings exactly as given (multi-line values included); left at their
/// defaults they are empty or `false`, which ecr-login takes as not set.
#[test]
fn session_inputs_reach_ecr_logins_environment() {
    let dir = tempfile::tempdir().unwrap();
    let stub = RecordingStub::new(dir.path());
    let p = Pipeline::with_release(Proxy::start(), Release::serving(&stub.program));
    let given: Vec<(&str, &str)> = SESSION_INPUTS
        .iter()
        .map(|(input, var)| (*input, session_setting(var)))
        .collect();
    let job = p.job(&given);
    p.run_main(SH, &job, &p.env(&job, true)).assert_ok();
    let (args, env) = stub.last_run();
    assert_eq!(args, ["login"]);
    assert_session_settings(&env);

    stub.clear();
    let job = p.job(&[]);
    p.run_main(SH, &job, &p.env(&job, true)).assert_ok();
    let (_, env) = stub.last_run();
    for (input, var) in SESSION_INPUTS {
        let want = if BOOLEAN_INPUTS.contains(input) {
            "false"
        } else {
            ""
        };
        assert_eq!(env[*var], want, "{var}");
    }
}

/// `include: component: .../ecr-login@<X.Y.Z>` of a release made by scripts/release.sh: the
/// component project's template (the commit `release.sh gitlab-component` made from the tag)
/// installs that release with `version` at its default and no checksum override, logs in and
/// logs out; a tampered archive fails the job with exit 9 before the user's script runs.
#[test]
fn a_release_made_by_release_sh_installs_through_the_component_project() {
    let r = released();
    let template = r.component.join("templates/ecr-login.yml");
    let p = Pipeline::including(&template, gitlab_trust(GL_URL), r.serve());
    let job = p.job(&[]);
    assert_eq!(job["variables"]["ECR_LOGIN_VERSION"], r.version.as_str());
    let bin =
        p.sb.path()
            .join(format!("home/.cache/ecr-login/{}/ecr-login", r.version));
    logs_in_hands_off_and_logs_out(&p, SH, &job, &bin);
    let version = run_command(Command::new(&bin).arg("--version"));
    assert_eq!(version.stdout.trim(), format!("ecr-login {}", r.version));

    let p = Pipeline::including(&template, gitlab_trust(GL_URL), r.serve());
    p.release.tamper(&host_linux_target());
    let job = p.job(&[]);
    let env = p.env(&job, true);
    let run = p.run_main(SH, &job, &env);
    run.assert_fails(
        9,
        &[
            "checksum mismatch",
            "ecr-login: could not be installed (exit 9",
        ],
    );
    assert!(!run.stdout.contains("script ran"), "{}", run.stdout);
    assert!(p.proxy.calls().is_empty());
    assert!(!p
        .sb
        .path()
        .join("home/.cache/ecr-login")
        .join(&r.version)
        .join("ecr-login")
        .exists());
    p.assert_tmp_empty();
}

// --- what the component declares ------------------------------------------------------------

#[test]
fn every_input_is_typed_described_and_defaulted_as_documented() {
    let spec = inputs_spec();
    for (name, s) in &spec {
        let desc = s["description"].as_str().unwrap_or_default();
        assert!(desc.len() > 20, "input `{name}` has no real description");
        let want = if BOOLEAN_INPUTS.contains(&name.as_str()) {
            "boolean"
        } else {
            "string"
        };
        assert_eq!(s["type"], want, "input `{name}` is not a typed {want}");
    }
    let default_version = install_sh()
        .lines()
        .find_map(|l| l.strip_prefix("DEFAULT_VERSION=\""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap()
        .to_string();
    let defaults: BTreeMap<&str, Option<String>> = spec
        .iter()
        .map(|(k, s)| (k.as_str(), s.get("default").map(input_default)))
        .collect();
    let want: BTreeMap<&str, Option<String>> = [
        ("job-name", Some("ecr-login")),
        ("role-arn", None),
        ("aws-region", None),
        ("registries", Some("")),
        ("audience", Some("$CI_SERVER_URL")),
        ("inline-session-policy", Some("")),
        ("managed-session-policies", Some("")),
        ("role-chaining", Some("false")),
        ("chain-role-arn", Some("")),
        ("role-external-id", Some("")),
        ("allowed-account-ids", Some("")),
        ("dual-stack", Some("false")),
        ("env-file", Some("ecr-login.env")),
        ("version", Some(default_version.as_str())),
        ("base-url", Some("")),
        ("install-dir", Some("")),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.map(str::to_string)))
    .collect();
    assert_eq!(defaults, want);
}

/// Each input reaches the shell through its contract variable (distinct values prove which
/// goes where), never through a script line.
#[test]
fn inputs_map_to_the_env_contract_and_never_into_scripts() {
    let part = interpolate(&[
        ("job-name", "ecr-login-prod"),
        ("role-arn", "arn:aws:iam::210987654321:role/push"),
        ("aws-region", "eu-west-1"),
        ("registries", "210987654321,public.ecr.aws"),
        ("audience", "https://gitlab.example.com"),
        ("inline-session-policy", r#"{"Version": "2012-10-17"}"#),
        ("managed-session-policies", "arn:aws:iam::aws:policy/A"),
        ("role-chaining", "true"),
        ("chain-role-arn", "arn:aws:iam::333333333333:role/ecr"),
        ("role-external-id", "ext-4711"),
        ("allowed-account-ids", "210987654321"),
        ("dual-stack", "true"),
        ("env-file", "out/ecr.env"),
        ("version", "1.2.3"),
        ("base-url", "https://mirror.example.com/ecr-login"),
        ("install-dir", "/opt/ecr-login"),
    ]);
    let (name, job) = only_job(&part);
    assert_eq!(name, ".ecr-login-prod");
    let vars = job["variables"].clone();
    assert_eq!(
        vars,
        json!({
            "AWS_ROLE_ARN": "arn:aws:iam::210987654321:role/push",
            "AWS_REGION": "eu-west-1",
            "ECR_LOGIN_REGISTRIES": "210987654321,public.ecr.aws",
            "ECR_LOGIN_AUDIENCE": "https://gitlab.example.com",
            "ECR_LOGIN_ID_TOKEN_ENV": "ECR_LOGIN_ID_TOKEN",
            "ECR_LOGIN_INLINE_SESSION_POLICY": r#"{"Version": "2012-10-17"}"#,
            "ECR_LOGIN_MANAGED_SESSION_POLICIES": "arn:aws:iam::aws:policy/A",
            "ECR_LOGIN_ROLE_CHAINING": "true",
            "ECR_LOGIN_CHAIN_ROLE_ARN": "arn:aws:iam::333333333333:role/ecr",
            "ECR_LOGIN_ROLE_EXTERNAL_ID": "ext-4711",
            "ECR_LOGIN_ALLOWED_ACCOUNT_IDS": "210987654321",
            "ECR_LOGIN_DUAL_STACK": "true",
            "ECR_LOGIN_ENV_FILE": "out/ecr.env",
            "ECR_LOGIN_VERSION": "1.2.3",
            "ECR_LOGIN_BASE_URL": "https://mirror.example.com/ecr-login",
            "ECR_LOGIN_INSTALL_DIR": "/opt/ecr-login",
        })
    );
    assert_eq!(
        job["id_tokens"],
        json!({"ECR_LOGIN_ID_TOKEN": {"aud": "https://gitlab.example.com"}})
    );
    assert_eq!(job["artifacts"]["reports"]["dotenv"], "out/ecr.env");

    let raw = parse_yaml(&parts().1);
    let (_, raw_job) = only_job(&raw);
    for key in ["before_script", "after_script"] {
        for line in script(&raw_job, key) {
            assert!(
                !line.contains("$[["),
                "{key} interpolates an input:\n{line}"
            );
            for l in line.lines().map(str::trim) {
                let traces = l.starts_with("set ")
                    && l.split_whitespace().any(|w| {
                        (w.starts_with('-') || w.starts_with('+')) && w.contains(['x', 'v'])
                            || w == "xtrace"
                            || w == "verbose"
                    });
                assert!(!traces, "{key} turns on tracing: {l}");
            }
        }
    }
}

#[test]
fn embedded_installer_is_scripts_install_sh_byte_for_byte() {
    let job = job_with_defaults();
    let before = script(&job, "before_script");
    assert_eq!(embedded_installer(&before[0]), install_sh());
    // after_script installs with the very same item (a YAML alias).
    assert_eq!(script(&job, "after_script")[0], before[0]);
    // And the source text holds it only once, so nothing else can drift.
    assert_eq!(template_text().matches(&format!("<<'{DELIM}'")).count(), 1);
}

// --- the README ------------------------------------------------------------------------------
// (scripts/lint.sh validates the component, its examples and its scripts: check-jsonschema,
// shellcheck.)

/// gitlab/README.md documents every input, and shows how to include the component.
#[test]
fn readme_documents_every_input() {
    let readme = std::fs::read_to_string(repo_root().join("gitlab/README.md")).unwrap();
    for name in inputs_spec().keys() {
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "the README's inputs table lacks `{name}`"
        );
    }
    assert!(readme.contains("component: $CI_SERVER_FQDN/"));
}

/// gitlab/embed-installer.sh puts a changed scripts/install.sh (and its DEFAULT_VERSION) back
/// into the template; --check fails until it has.
#[test]
fn embed_installer_script_restores_a_stale_copy() {
    let embed = repo_root().join("gitlab/embed-installer.sh");
    let installer = repo_root().join("scripts/install.sh");
    let run = |args: &[&Path], check: bool| {
        let mut c = Command::new("sh");
        c.arg(&embed);
        if check {
            c.arg("--check");
        }
        let out = c.args(args).output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    run(&[], true).assert_ok();

    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join("ecr-login.yml");
    let good = template_text();
    let tampered = good
        .replacen("      set -eu\n", "      set -u\n", 1)
        .replacen(
            &format!(
                "      default: \"{}\"\n",
                job_with_defaults()["variables"]["ECR_LOGIN_VERSION"]
                    .as_str()
                    .unwrap()
            ),
            "      default: \"0.0.1\"\n",
            1,
        );
    assert_ne!(tampered.matches("0.0.1").count(), 0);
    assert!(!tampered.contains("      set -eu\n"));
    std::fs::write(&stale, &tampered).unwrap();
    run(&[&installer, &stale], true).assert_fails(1, &["out of date"]);
    run(&[&installer, &stale], false).assert_ok();
    assert_eq!(std::fs::read_to_string(&stale).unwrap(), good);
}
