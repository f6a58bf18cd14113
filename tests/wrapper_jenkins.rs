//! The Jenkins shared library (jenkins/): its installer resource is scripts/install.sh byte for
//! byte (a regular file: Jenkins rejects a library with a symlink in it); the shell blocks of
//! vars/*.groovy, extracted and run as the `sh` step runs them (`sh -xe`, the build's
//! environment plus what the Groovy passes through withEnv/withCredentials), log in with an
//! oidc-provider token bound to a variable, to a file, or with the agent's own AWS keys; the
//! steps themselves run in plain Groovy against stand-ins for the Pipeline steps
//! (tests/support/jenkins_steps.groovy). A release made by scripts/release.sh installs through
//! the library at the release's tag (`@Library('ecr-login@vX.Y.Z')`) with no `version` and no
//! checksum override; a tampered archive fails the step with the installer's exit 9.
//! (shellcheck and npm-groovy-lint run in scripts/lint.sh.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const JK_URL: &str = "https://jenkins.example.com/";
const JK_ISS: &str = "https://jenkins.example.com/oidc";
const JK_AUD: &str = "sts.amazonaws.com";
const JK_SUB: &str = "https://jenkins.example.com/job/app/";

fn jenkins_dir() -> PathBuf {
    repo_root().join("jenkins")
}

/// STS that accepts only tokens of this Jenkins' job `app` (like the role's trust policy).
fn jenkins_trust() -> Proxy {
    trusting_proxy(serde_json::json!({"iss": JK_ISS, "aud": JK_AUD, "sub": JK_SUB}))
}

/// The single-quoted `'''...'''` blocks of a vars/*.groovy file, by their first-line marker
/// (`# ecr-login: <name> (...)`). The marker makes the lookup independent of the blocks' order.
fn sh_blocks(file: &str) -> BTreeMap<String, String> {
    sh_blocks_in(&jenkins_dir(), file)
}

/// The same, of the library at `library`.
fn sh_blocks_in(library: &Path, file: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(library.join("vars").join(file)).unwrap();
    let parts: Vec<&str> = text.split("'''").collect();
    assert!(parts.len() % 2 == 1, "{file}: unbalanced ''' quotes");
    let mut out = BTreeMap::new();
    for block in parts.iter().skip(1).step_by(2) {
        let first = block.trim_start().lines().next().unwrap_or_default();
        let name = first
            .strip_prefix("# ecr-login: ")
            .unwrap_or_else(|| panic!("{file}: sh block without a marker line: {block}"))
            .split(" (")
            .next()
            .unwrap()
            .to_string();
        assert!(
            out.insert(name.clone(), block.to_string()).is_none(),
            "{file}: two blocks named {name}"
        );
    }
    out
}

fn block(file: &str, name: &str) -> String {
    block_in(&jenkins_dir(), file, name)
}

fn block_in(library: &Path, file: &str, name: &str) -> String {
    sh_blocks_in(library, file)
        .remove(name)
        .unwrap_or_else(|| panic!("{file} has no `# ecr-login: {name}` block"))
}

/// One Jenkins build: a workspace in a sandbox, the agent's environment, the library (this
/// repository's jenkins/, or a release tag's), the release site and a proxy in front of moto.
struct Build {
    sb: Sandbox,
    library: PathBuf,
    release: Release,
    proxy: Proxy,
}

impl Build {
    fn new(proxy: Proxy) -> Build {
        Build::of(jenkins_dir(), proxy, Release::start())
    }

    /// A build with the library at `library`, installing from `release`.
    fn of(library: PathBuf, proxy: Proxy, release: Release) -> Build {
        let b = Build {
            sb: Sandbox::new(),
            library,
            release,
            proxy,
        };
        for d in [b.workspace(), b.tmpdir(), b.sb.path().join("home")] {
            std::fs::create_dir_all(d).unwrap();
        }
        b
    }

    fn workspace(&self) -> PathBuf {
        self.sb.path().join("workspace")
    }

    /// `pwd(tmp: true)`.
    fn workspace_tmp(&self) -> PathBuf {
        self.sb.path().join("workspace@tmp")
    }

    /// The agent's TMPDIR (where `mktemp` puts the step's private env file).
    fn tmpdir(&self) -> PathBuf {
        self.sb.path().join("tmp")
    }

    fn install_dir(&self) -> PathBuf {
        self.sb.path().join("tools")
    }

    /// What every `sh` step sees before withEnv: the agent's environment (kept off the host's
    /// AWS files, with the release site's CA, checksums and install dir) and the build's.
    fn agent_env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        let mut set = |k: &str, v: &str| {
            env.insert(k.to_string(), v.to_string());
        };
        set("PATH", &std::env::var("PATH").unwrap_or_default());
        set("HOME", self.sb.path().join("home").to_str().unwrap());
        set("TMPDIR", self.tmpdir().to_str().unwrap());
        set("AWS_EC2_METADATA_DISABLED", "true");
        let p = self.sb.path();
        set("AWS_CONFIG_FILE", p.join("aws-config").to_str().unwrap());
        set(
            "AWS_SHARED_CREDENTIALS_FILE",
            p.join("aws-credentials").to_str().unwrap(),
        );
        set("AWS_ENDPOINT_URL", &self.proxy.url());
        set("JENKINS_URL", JK_URL);
        set("JOB_NAME", "app");
        set("BUILD_NUMBER", "41");
        set("WORKSPACE", self.workspace().to_str().unwrap());
        for (k, v) in self.release.install_env(&self.install_dir()) {
            // version and base URL are the step's options (withEnv), the rest the agent's.
            if k != "ECR_LOGIN_VERSION" && k != "ECR_LOGIN_BASE_URL" {
                set(&k, &v);
            }
        }
        env
    }

    /// Runs a shell block as the `sh` step does: written to a file, `sh -xe file`, in the
    /// workspace, with the agent's environment plus `with`.
    fn sh(&self, script: &str, with: &[(&str, &str)]) -> Run {
        let dir = self.workspace_tmp().join("durable");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("script.sh");
        std::fs::write(&file, script).unwrap();
        let out = Command::new("sh")
            .arg("-xe")
            .arg(&file)
            .current_dir(self.workspace())
            .env_clear()
            .envs(self.agent_env())
            .envs(with.iter().copied())
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The install block, with the resource written where `writeFile` puts it; the binary's path.
    fn install(&self) -> (String, Run) {
        let run = self.install_run();
        run.assert_ok();
        let bin = run.stdout.lines().last().unwrap_or_default().to_string();
        assert_eq!(
            bin,
            self.install_dir().join("ecr-login").to_str().unwrap(),
            "{}",
            run.stderr
        );
        (bin, run)
    }

    /// The install block as ecrLogin runs it (version only for the made-up release), whatever
    /// its outcome.
    fn install_run(&self) -> Run {
        let installer = self.workspace_tmp().join("ecr-login-install.sh");
        std::fs::create_dir_all(self.workspace_tmp()).unwrap();
        std::fs::copy(
            self.library.join("resources/ecr-login/install.sh"),
            &installer,
        )
        .unwrap();
        let base_url = self.release.base_url();
        let mut with = vec![
            ("ECR_LOGIN_INSTALLER", installer.to_str().unwrap()),
            ("ECR_LOGIN_BASE_URL", &base_url),
        ];
        if let Some(version) = self.release.test_version() {
            with.push(("ECR_LOGIN_VERSION", version));
        }
        self.sh(
            &block_in(&self.library, "ecrLogin.groovy", "install"),
            &with,
        )
    }

    /// The login block with what ecrLogin's withEnv sets for role, region and registry, plus
    /// `extra` (the credential bindings, the env file).
    fn login(&self, bin: &str, extra: &[(&str, &str)]) -> Run {
        let docker = self.sb.docker_dir();
        let mut with = vec![
            ("ECR_LOGIN_BIN", bin),
            ("ECR_LOGIN_PLATFORM", "jenkins"),
            ("AWS_ROLE_ARN", ROLE),
            ("AWS_REGION", "us-east-1"),
            ("ECR_LOGIN_REGISTRIES", "111111111111"),
            ("DOCKER_CONFIG", docker.to_str().unwrap()),
        ];
        with.extend_from_slice(extra);
        self.sh(&block("ecrLogin.groovy", "login"), &with)
    }

    fn sts_operations(&self) -> Vec<String> {
        self.proxy
            .calls()
            .iter()
            .filter(|c| c["service"] == "sts")
            .map(|c| c["operation"].as_str().unwrap().to_string())
            .collect()
    }

    /// No secret the proxy saw or handed out (nor `also`) is in any of `texts`.
    fn assert_no_secrets(&self, also: &[&str], texts: &[&str]) {
        let mut secrets = self.proxy.secrets();
        secrets.extend(also.iter().map(|s| s.to_string()));
        let texts: Vec<(&str, &str)> = texts.iter().map(|t| ("the build", *t)).collect();
        assert_no_secret_in(&secrets, &texts);
    }

    fn tmpdir_entries(&self) -> Vec<String> {
        std::fs::read_dir(self.tmpdir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }
}

fn lines_of(text: &str) -> Vec<&str> {
    text.lines().collect()
}

// --- The installer resource ------------------------------------------------------------------

#[test]
fn the_installer_resource_is_scripts_install_sh_byte_for_byte_and_no_symlink() {
    let resource = jenkins_dir().join("resources/ecr-login/install.sh");
    let meta = std::fs::symlink_metadata(&resource).unwrap();
    assert!(
        meta.file_type().is_file(),
        "{} must be a regular file: Jenkins rejects a shared library that contains a symlink \
         (pipeline-groovy-lib SECURITY-3727) and never reads a resource outside resources/",
        resource.display()
    );
    assert!(
        std::fs::read(&resource).unwrap()
            == std::fs::read(repo_root().join("scripts/install.sh")).unwrap(),
        "{} differs from scripts/install.sh: cp scripts/install.sh {}",
        resource.display(),
        resource.display()
    );
    fn no_symlinks(dir: &Path) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            assert!(
                !t.is_symlink(),
                "symlink in the library: {}",
                e.path().display()
            );
            if t.is_dir() {
                no_symlinks(&e.path());
            }
        }
    }
    no_symlinks(&jenkins_dir());
}

// --- The shell blocks, run as the sh step runs them ------------------------------------------

#[test]
fn id_token_credential_bound_to_a_variable_logs_in() {
    let b = Build::new(jenkins_trust());
    let jwt = token(JK_ISS, JK_AUD, JK_SUB);
    let (bin, install) = b.install();
    let run = b.login(
        &bin,
        &[
            // withCredentials([string(credentialsId: ..., variable: 'ECR_LOGIN_ID_TOKEN')])
            ("ECR_LOGIN_ID_TOKEN", &jwt),
            ("ECR_LOGIN_ID_TOKEN_ENV", "ECR_LOGIN_ID_TOKEN"),
        ],
    );
    run.assert_ok();
    assert_eq!(b.sb.auth(H1), "AWS:111111111111-auth-token");
    // stdout is the env file ecr-login wrote (what the Groovy parses); the file was private.
    assert_eq!(
        lines_of(&run.stdout),
        [
            format!("ECR_LOGIN_REGISTRY={H1}"),
            format!("ECR_LOGIN_REGISTRY_HOSTS={H1}")
        ]
    );
    assert!(b.tmpdir_entries().is_empty(), "{:?}", b.tmpdir_entries());
    assert_eq!(b.sts_operations(), ["AssumeRoleWithWebIdentity"]);
    assert!(
        run.stderr.contains("/jenkins-app-41"),
        "the session name is the job's: {}",
        run.stderr
    );
    b.assert_no_secrets(
        &[&jwt],
        &[&install.stdout, &install.stderr, &run.stdout, &run.stderr],
    );
}

#[test]
fn id_token_file_credential_logs_in_and_fills_the_env_file() {
    let b = Build::new(jenkins_trust());
    let jwt = token(JK_ISS, JK_AUD, JK_SUB);
    // withCredentials([file(credentialsId: ..., variable: 'AWS_WEB_IDENTITY_TOKEN_FILE')])
    let token_file = b.workspace_tmp().join("secretFiles/token");
    std::fs::create_dir_all(token_file.parent().unwrap()).unwrap();
    std::fs::write(&token_file, &jwt).unwrap();
    let env_file = b.workspace().join("ecr-login.env");
    std::fs::write(&env_file, "ECR_LOGIN_REGISTRY=stale\n").unwrap();
    let (bin, install) = b.install();
    let run = b.login(
        &bin,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
            ("ECR_LOGIN_ENV_FILE", env_file.to_str().unwrap()),
        ],
    );
    run.assert_ok();
    assert_eq!(b.sb.auth(H1), "AWS:111111111111-auth-token");
    let written = std::fs::read_to_string(&env_file).unwrap();
    assert_eq!(
        written,
        format!(
            "ECR_LOGIN_REGISTRY=stale\nECR_LOGIN_REGISTRY={H1}\nECR_LOGIN_REGISTRY_HOSTS={H1}\n"
        )
    );
    assert_eq!(
        run.stdout, written,
        "the user's env file is kept and printed"
    );
    assert_eq!(b.sts_operations(), ["AssumeRoleWithWebIdentity"]);
    b.assert_no_secrets(
        &[&jwt],
        &[&install.stdout, &install.stderr, &run.stdout, &run.stderr],
    );
}

#[test]
fn without_a_credential_the_agents_aws_keys_assume_the_role() {
    let b = Build::new(Proxy::start());
    let (bin, _) = b.install();
    let run = b.login(
        &bin,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            (
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
        ],
    );
    run.assert_ok();
    assert_eq!(b.sb.auth(H1), "AWS:111111111111-auth-token");
    assert_eq!(b.sts_operations(), ["AssumeRole"]);
    b.assert_no_secrets(
        &["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
        &[&run.stdout, &run.stderr],
    );
}

#[test]
fn a_token_the_role_does_not_trust_fails_the_step_and_leaves_nothing() {
    let b = Build::new(jenkins_trust());
    let jwt = token(JK_ISS, JK_AUD, "https://jenkins.example.com/job/other/");
    let (bin, _) = b.install();
    let run = b.login(
        &bin,
        &[
            ("ECR_LOGIN_ID_TOKEN", &jwt),
            ("ECR_LOGIN_ID_TOKEN_ENV", "ECR_LOGIN_ID_TOKEN"),
        ],
    );
    // The sh step fails with ecr-login's exit code; no env file lines, no login, no temp file.
    run.assert_fails(4, &["job/other"]);
    assert_eq!(run.stdout, "");
    assert!(!b.sb.config_path().exists());
    assert!(b.tmpdir_entries().is_empty(), "{:?}", b.tmpdir_entries());
    b.assert_no_secrets(&[&jwt], &[&run.stdout, &run.stderr]);
}

#[test]
fn the_docker_config_block_makes_a_new_private_directory() {
    let b = Build::new(Proxy::start());
    let script = block("withEcrLogin.groovy", "docker config");
    let tmp = b.workspace_tmp();
    let with = [("ECR_LOGIN_TMP", tmp.to_str().unwrap())];
    let one = b.sh(&script, &with);
    one.assert_ok();
    let two = b.sh(&script, &with);
    two.assert_ok();
    let (one, two) = (one.stdout.trim(), two.stdout.trim());
    assert_ne!(one, two);
    for d in [one, two] {
        assert!(d.starts_with(tmp.to_str().unwrap()), "{d}");
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(d).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.permissions().mode() & 0o777, 0o700, "{d}");
        assert_eq!(std::fs::read_dir(d).unwrap().count(), 0);
    }
}

// --- What Groovy hands the sh step --------------------------------------------------------------

#[test]
fn sh_blocks_are_what_groovy_passes_unchanged() {
    let mut names = Vec::new();
    for file in ["ecrLogin.groovy", "withEcrLogin.groovy", "ecrLogout.groovy"] {
        for (name, script) in sh_blocks(file) {
            // In a ''' string Groovy still reads backslash escapes (and """ would interpolate):
            // with none, the shell gets exactly this text. No ${...}: values come from withEnv.
            assert!(
                !script.contains('\\'),
                "{file} {name}: backslash in {script}"
            );
            assert!(
                !script.contains("${"),
                "{file} {name}: ${{...}} in {script}"
            );
            names.push(name);
        }
    }
    names.sort();
    assert_eq!(names, ["docker config", "install", "login", "logout"]);
    // In the Groovy (outside the blocks) every sh step is `sh(..., script: '''`: no `sh "..."`
    // that Groovy would interpolate, no """ GString block.
    for file in ["ecrLogin.groovy", "withEcrLogin.groovy"] {
        let text = std::fs::read_to_string(jenkins_dir().join("vars").join(file)).unwrap();
        let groovy: Vec<&str> = text.split("'''").step_by(2).collect();
        let groovy: String = groovy
            .join("\n")
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .map(|l| format!("{l}\n"))
            .collect();
        let steps = groovy.matches("sh(").count() + groovy.matches(" sh ").count();
        let quoted = groovy.matches("script: ").count();
        assert!(steps > 0, "{file}");
        assert_eq!(steps, quoted, "{file}: every sh step takes a ''' script");
        assert!(!groovy.contains("\"\"\""), "{file}: a GString block");
    }
}

// --- The steps themselves, in Groovy ---------------------------------------------------------

/// Runs a step of the library in plain Groovy with stand-ins for the Pipeline steps
/// (tests/support/jenkins_steps.groovy); (its JSON answer, the build log).
fn pipeline(b: &Build, spec: serde_json::Value) -> (serde_json::Value, String) {
    require_tool("java", "default-jre-headless");
    let groovy_lib = repo_root().join("tools/node_modules/npm-groovy-lint/lib/java/groovy/lib");
    assert!(
        groovy_lib.is_dir(),
        "no Groovy jars at {}: run scripts/setup.sh (cd tools && npm ci)",
        groovy_lib.display()
    );
    let log = b.sb.path().join("build.log");
    let mut spec = spec;
    spec["library"] = b.library.to_str().unwrap().into();
    spec["workspace"] = b.workspace().to_str().unwrap().into();
    spec["log"] = log.to_str().unwrap().into();
    spec["env"] = serde_json::to_value(b.agent_env()).unwrap();
    let spec_file = b.sb.path().join("pipeline.json");
    std::fs::write(&spec_file, spec.to_string()).unwrap();
    let out = Command::new("java")
        .arg("-cp")
        .arg(format!("{}/*", groovy_lib.display()))
        .arg("groovy.ui.GroovyMain")
        .arg(repo_root().join("tests/support/jenkins_steps.groovy"))
        .arg(&spec_file)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", b.sb.path().join("home"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        out.status.success(),
        "groovy failed:\n{stdout}\n{}\nlog:\n{log_text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    (answer, log_text)
}

fn credentials(jwt: &str) -> serde_json::Value {
    serde_json::json!({
        "aws-id-token": {"type": "string", "secret": jwt},
        "aws-id-token-file": {"type": "file", "secret": jwt},
    })
}

#[test]
fn ecr_login_step_binds_the_credential_and_returns_the_registries() {
    let b = Build::new(jenkins_trust());
    let jwt = token(JK_ISS, JK_AUD, JK_SUB);
    let config = serde_json::json!({
        "roleArn": ROLE,
        "region": "us-east-1",
        "registries": ["111111111111"],
        "idTokenCredentialsId": "aws-id-token",
        "version": TEST_VERSION,
        "baseUrl": b.release.base_url(),
        "dockerConfig": b.sb.docker_dir().to_str().unwrap(),
    });
    let (answer, log) = pipeline(
        &b,
        serde_json::json!({"step": "ecrLogin", "config": config, "credentials": credentials(&jwt)}),
    );
    assert_eq!(answer["error"], serde_json::Value::Null, "{log}");
    let bin = b.install_dir().join("ecr-login");
    assert_eq!(
        answer["result"],
        serde_json::json!({"registry": H1, "registries": [H1], "binary": bin.to_str().unwrap()})
    );
    assert_eq!(b.sb.auth(H1), "AWS:111111111111-auth-token");
    assert_eq!(b.sts_operations(), ["AssumeRoleWithWebIdentity"]);
    assert!(log.contains("/jenkins-app-41"), "{log}");
    b.assert_no_secrets(&[&jwt], &[&log, &answer.to_string()]);
    assert!(b.tmpdir_entries().is_empty(), "{:?}", b.tmpdir_entries());
    assert_eq!(b.release.requests(), 1);

    // Again, with the token as a file and a comma-separated string: the cached binary is used.
    let mut config = config;
    config["idTokenCredentialsId"] = "".into();
    config["idTokenFileCredentialsId"] = "aws-id-token-file".into();
    config["registries"] = "111111111111, 111111111111".into();
    let (answer, log) = pipeline(
        &b,
        serde_json::json!({"step": "ecrLogin", "config": config, "credentials": credentials(&jwt)}),
    );
    assert_eq!(answer["error"], serde_json::Value::Null, "{log}");
    assert_eq!(answer["result"]["registry"], H1);
    assert!(log.contains("using cached"), "{log}");
    assert_eq!(b.release.requests(), 1);
    assert_eq!(b.sts_operations().len(), 2);
    // The file binding is gone after the step.
    assert!(
        !b.workspace_tmp().join("secretFiles").exists()
            || std::fs::read_dir(b.workspace_tmp().join("secretFiles"))
                .unwrap()
                .count()
                == 0
    );
}

#[test]
fn ecr_login_step_refuses_unknown_options_and_two_credentials() {
    let b = Build::new(Proxy::start());
    for (config, needle) in [
        (serde_json::json!({"role": ROLE}), "unknown option(s) role"),
        (
            serde_json::json!({"idTokenCredentialsId": "a", "idTokenFileCredentialsId": "b"}),
            "not both",
        ),
    ] {
        let (answer, _) = pipeline(
            &b,
            serde_json::json!({"step": "ecrLogin", "config": config}),
        );
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(needle), "{answer}");
    }
    assert_eq!(b.release.requests(), 0);
    assert!(b.proxy.calls().is_empty());
}

#[test]
fn with_ecr_login_scopes_a_private_docker_config_to_the_block_and_deletes_it() {
    let b = Build::new(jenkins_trust());
    let jwt = token(JK_ISS, JK_AUD, JK_SUB);
    let config = serde_json::json!({
        "roleArn": ROLE,
        "region": "us-east-1",
        "registries": "111111111111",
        "idTokenCredentialsId": "aws-id-token",
        "version": TEST_VERSION,
        "baseUrl": b.release.base_url(),
    });
    // The block records what it sees: DOCKER_CONFIG, the registries, the auth file.
    let body = r#"printf '%s\n' "$DOCKER_CONFIG" "$ECR_LOGIN_REGISTRY" "$ECR_LOGIN_REGISTRY_HOSTS" > "$WORKSPACE/seen.txt"
cp "$DOCKER_CONFIG/config.json" "$WORKSPACE/seen-config.json""#;
    let (answer, log) = pipeline(
        &b,
        serde_json::json!({"step": "withEcrLogin", "config": config, "credentials": credentials(&jwt), "body": body}),
    );
    assert_eq!(answer["error"], serde_json::Value::Null, "{log}");
    assert_eq!(answer["result"], "block result");
    let seen = std::fs::read_to_string(b.workspace().join("seen.txt")).unwrap();
    let seen: Vec<&str> = seen.lines().collect();
    let docker_config = PathBuf::from(seen[0]);
    assert!(
        docker_config.starts_with(b.workspace_tmp()),
        "{}",
        docker_config.display()
    );
    assert_eq!(seen[1..], [H1, H1]);
    let config_json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(b.workspace().join("seen-config.json")).unwrap(),
    )
    .unwrap();
    let auth = b64decode(config_json["auths"][H1]["auth"].as_str().unwrap());
    assert_eq!(auth, "AWS:111111111111-auth-token");
    assert!(
        !docker_config.exists(),
        "the block's Docker config was not deleted"
    );
    assert!(
        !b.sb.config_path().exists(),
        "the agent's Docker config was written"
    );
    b.assert_no_secrets(&[&jwt], &[&log, &answer.to_string()]);

    // A failing block: the error propagates and the directory is deleted all the same.
    let (answer, log) = pipeline(
        &b,
        serde_json::json!({"step": "withEcrLogin", "config": config, "credentials": credentials(&jwt),
            "body": r#"printf '%s\n' "$DOCKER_CONFIG" > "$WORKSPACE/seen.txt""#, "bodyFails": true}),
    );
    assert_eq!(answer["error"], "the block failed", "{log}");
    let seen = std::fs::read_to_string(b.workspace().join("seen.txt")).unwrap();
    assert!(!Path::new(seen.trim()).exists(), "not deleted: {seen}");
    let left: Vec<_> = std::fs::read_dir(b.workspace_tmp())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ecr-login-docker"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Session policies, role chaining, the account guard and dual-stack: each option reaches
/// ecr-login through withEnv as its environment setting, exactly as given (Lists joined with
/// commas, multi-line values included); left out, or `false`, none of them is set.
#[test]
fn ecr_login_step_passes_the_session_options_to_ecr_login() {
    let dir = tempfile::tempdir().unwrap();
    let stub = RecordingStub::new(dir.path());
    let mut b = Build::new(Proxy::start());
    b.release = Release::serving(&stub.program);
    let chain: Vec<&str> = session_setting("ECR_LOGIN_CHAIN_ROLE_ARN")
        .split(',')
        .collect();
    let config = serde_json::json!({
        "roleArn": ROLE,
        "version": TEST_VERSION,
        "baseUrl": b.release.base_url(),
        "inlineSessionPolicy": session_setting("ECR_LOGIN_INLINE_SESSION_POLICY"),
        "managedSessionPolicies": session_setting("ECR_LOGIN_MANAGED_SESSION_POLICIES"),
        "roleChaining": true,
        "chainRoleArn": chain,
        "roleExternalId": session_setting("ECR_LOGIN_ROLE_EXTERNAL_ID"),
        "allowedAccountIds": session_setting("ECR_LOGIN_ALLOWED_ACCOUNT_IDS"),
        "dualStack": true,
    });
    let (answer, log) = pipeline(
        &b,
        serde_json::json!({"step": "ecrLogin", "config": config}),
    );
    assert_eq!(answer["error"], serde_json::Value::Null, "{log}");
    let (args, env) = stub.last_run();
    assert_eq!(args, ["login"]);
    assert_eq!(env["AWS_ROLE_ARN"], ROLE);
    assert_session_settings(&env);

    stub.clear();
    let config = serde_json::json!({
        "version": TEST_VERSION,
        "baseUrl": b.release.base_url(),
        "roleChaining": "false",
        "dualStack": false,
    });
    let (answer, log) = pipeline(
        &b,
        serde_json::json!({"step": "ecrLogin", "config": config}),
    );
    assert_eq!(answer["error"], serde_json::Value::Null, "{log}");
    let (_, env) = stub.last_run();
    for (var, _) in SESSION_SETTINGS {
        assert!(!env.contains_key(*var), "{var} was set: {:?}", env[*var]);
    }
}

/// `@Library('ecr-login@vX.Y.Z')` of a release made by scripts/release.sh: the library at the
/// tag installs that release with no `version` (its installer resource pins it) and no
/// checksum override, and logs in; a tampered archive fails the step with exit 9, explained in
/// the build log, before ecr-login runs.
#[test]
fn a_release_made_by_release_sh_installs_through_the_library_at_its_tag() {
    let r = released();
    let library = r.checkout.join("jenkins");
    let jwt = token(JK_ISS, JK_AUD, JK_SUB);
    let b = Build::of(library.clone(), jenkins_trust(), r.serve());
    let config = serde_json::json!({
        "roleArn": ROLE,
        "region": "us-east-1",
        "registries": ["111111111111"],
        "idTokenCredentialsId": "aws-id-token",
        "baseUrl": b.release.base_url(),
        "dockerConfig": b.sb.docker_dir().to_str().unwrap(),
    });
    let (answer, log) = pipeline(
        &b,
        serde_json::json!({"step": "ecrLogin", "config": config, "credentials": credentials(&jwt)}),
    );
    assert_eq!(answer["error"], serde_json::Value::Null, "{log}");
    assert_eq!(answer["result"]["registry"], H1);
    assert!(log.contains(&format!("/{}/ecr-login-", r.tag)), "{log}");
    assert_eq!(b.sb.auth(H1), "AWS:111111111111-auth-token");
    let bin = b.install_dir().join("ecr-login");
    assert_eq!(answer["result"]["binary"], bin.to_str().unwrap());
    let version = run_command(Command::new(&bin).arg("--version"));
    assert_eq!(version.stdout.trim(), format!("ecr-login {}", r.version));

    let b = Build::of(library, jenkins_trust(), r.serve());
    b.release.tamper(&host_linux_target());
    let mut config = config;
    config["baseUrl"] = b.release.base_url().into();
    config["dockerConfig"] = b.sb.docker_dir().to_str().unwrap().into();
    let (answer, log) = pipeline(
        &b,
        serde_json::json!({"step": "ecrLogin", "config": config, "credentials": credentials(&jwt)}),
    );
    assert_eq!(answer["error"], "script returned exit code 9", "{log}");
    assert!(log.contains("checksum mismatch"), "{log}");
    assert!(
        log.contains("ecr-login: could not be installed (exit 9"),
        "{log}"
    );
    assert!(b.proxy.calls().is_empty());
    assert!(!b.install_dir().join("ecr-login").exists());
    // The sh block alone, as the sh step runs it: the installer's code, passed through.
    b.install_run()
        .assert_fails(9, &["could not be installed (exit 9"]);
}

/// `ecrLogout` removes what `ecrLogin` wrote to the Docker config (and nothing else), with the
/// cached binary; it refuses unknown options like the other steps.
#[test]
fn ecr_logout_step_removes_the_ecr_logins_and_keeps_the_rest() {
    let b = Build::new(jenkins_trust());
    b.sb.write_config(r#"{"auths": {"ghcr.io": {"auth": "dXNlcjpwYXNz"}}}"#);
    let jwt = token(JK_ISS, JK_AUD, JK_SUB);
    let docker = b.sb.docker_dir();
    let install = serde_json::json!({
        "version": TEST_VERSION,
        "baseUrl": b.release.base_url(),
        "dockerConfig": docker.to_str().unwrap(),
    });
    let mut login = install.clone();
    login["roleArn"] = ROLE.into();
    login["region"] = "us-east-1".into();
    login["registries"] = "111111111111".into();
    login["idTokenCredentialsId"] = "aws-id-token".into();
    let (answer, log) = pipeline(
        &b,
        serde_json::json!({"step": "ecrLogin", "config": login, "credentials": credentials(&jwt)}),
    );
    assert_eq!(answer["error"], serde_json::Value::Null, "{log}");
    assert_eq!(b.sb.auth(H1), "AWS:111111111111-auth-token");

    let (answer, log) = pipeline(
        &b,
        serde_json::json!({"step": "ecrLogout", "config": install}),
    );
    assert_eq!(answer["error"], serde_json::Value::Null, "{log}");
    assert!(log.contains("using cached"), "{log}");
    assert_eq!(b.release.requests(), 1);
    let config = b.sb.config();
    assert!(config["auths"].get(H1).is_none(), "{config:#}");
    assert_eq!(b.sb.auth("ghcr.io"), "user:pass");

    let (answer, _) = pipeline(
        &b,
        serde_json::json!({"step": "ecrLogout", "config": {"registry": "111111111111"}}),
    );
    let error = answer["error"].as_str().unwrap_or_default();
    assert!(error.contains("unknown option(s) registry"), "{answer}");
}
