//! Every CI platform: an env fixture with the variables the platform documents, the full login
//! against the local servers with STS checking the token's iss/aud/sub like a real trust policy,
//! the platform's session name and hand-off, and each "token not found" path.

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";

fn trust(iss: &str, aud: &str, sub: &str) -> Proxy {
    trusting_proxy(serde_json::json!({"iss": iss, "aud": aud, "sub": sub}))
}

fn login_json(cmd: Cmd) -> serde_json::Value {
    let run = cmd
        .args(&["--registries", "111111111111", "--output", "json"])
        .run();
    run.assert_ok();
    assert!(!run.stdout.contains("auth-token"), "{}", run.stdout);
    run.json()
}

// --- GitLab CI -------------------------------------------------------------------------------

const GL_ISS: &str = "https://gitlab.example.com";
const GL_SUB: &str = "project_path:grp/proj:ref_type:branch:ref:main";

fn gitlab(sb: &Sandbox, proxy: &Proxy) -> Cmd {
    sb.ci(proxy)
        .env("GITLAB_CI", "true")
        .env("CI_SERVER_URL", GL_ISS)
        .env("CI_PROJECT_PATH", "grp/proj")
        .env("CI_PIPELINE_ID", "77")
        .env("CI_JOB_ID", "88")
}

#[test]
fn gitlab_id_tokens_variable_and_dotenv_handoff() {
    let proxy = trust(GL_ISS, GL_ISS, "project_path:grp/proj:*");
    let sb = Sandbox::new();
    let dotenv = sb.path().join("ecr-login.env");
    let json = login_json(
        gitlab(&sb, &proxy)
            .env("GITLAB_OIDC_TOKEN", &token(GL_ISS, GL_ISS, GL_SUB))
            .env("ECR_LOGIN_ENV_FILE", dotenv.to_str().unwrap()),
    );
    assert_eq!(json["platform"], "gitlab-ci");
    assert!(
        json["identity"]
            .as_str()
            .unwrap()
            .ends_with("/gl-grp-proj-77-88"),
        "{json}"
    );
    assert_eq!(
        std::fs::read_to_string(dotenv).unwrap(),
        format!("ECR_LOGIN_REGISTRY={H1}\nECR_LOGIN_REGISTRY_HOSTS={H1}\n")
    );
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
}

#[test]
fn gitlab_variable_named_by_flag_or_by_audience_convention() {
    let proxy = trust(GL_ISS, "sts.amazonaws.com", "project_path:grp/proj:*");
    let jwt = token(GL_ISS, "sts.amazonaws.com", GL_SUB);
    let sb = Sandbox::new();
    login_json(
        gitlab(&sb, &proxy)
            .env("MY_JWT", &jwt)
            .args(&["--id-token-env", "MY_JWT"]),
    );
    let sb = Sandbox::new();
    login_json(
        gitlab(&sb, &proxy)
            .env("STS_AMAZONAWS_COM_ID_TOKEN", &jwt)
            .args(&["--audience", "sts.amazonaws.com"]),
    );
    // Without --audience the audience is the instance URL, as everywhere for GitLab.
    let proxy = trust(GL_ISS, GL_ISS, "project_path:grp/proj:*");
    let sb = Sandbox::new();
    login_json(gitlab(&sb, &proxy).env(
        "HTTPS___GITLAB_EXAMPLE_COM_ID_TOKEN",
        &token(GL_ISS, GL_ISS, GL_SUB),
    ));
}

#[test]
fn gitlab_without_a_token_says_what_was_tried_and_what_to_add() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    gitlab(&sb, &proxy).run().assert_fails(
        3,
        &[
            "GitLab CI provided no OIDC identity token",
            "GITLAB_OIDC_TOKEN, ECR_LOGIN_ID_TOKEN, ID_TOKEN, HTTPS___GITLAB_EXAMPLE_COM_ID_TOKEN",
            "aud: https://gitlab.example.com",
            "--id-token-env",
        ],
    );
    assert!(proxy.calls().is_empty());
}

// --- CircleCI --------------------------------------------------------------------------------

const CCI_ISS: &str = "https://oidc.circleci.com/org/0b9e9d6c-org";
const CCI_ORG: &str = "0b9e9d6c-org";
const CCI_SUB_V2: &str =
    "org/0b9e9d6c-org/project/5a1e-proj/user/9f2c-user/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/main";

fn circleci(sb: &Sandbox, proxy: &Proxy) -> Cmd {
    sb.ci(proxy)
        .env("CIRCLECI", "true")
        .env("CIRCLE_PROJECT_REPONAME", "app")
        .env("CIRCLE_BUILD_NUM", "123")
}

#[test]
fn circleci_prefers_the_v2_token_and_exports_to_bash_env() {
    // Only the V2 subject (with vcs-origin) is trusted: the V1 token must not be used.
    let proxy = trust(
        CCI_ISS,
        CCI_ORG,
        "org/0b9e9d6c-org/project/5a1e-proj/user/*/vcs-origin/*",
    );
    let sb = Sandbox::new();
    let bash_env = sb.path().join("bash_env");
    let json = login_json(
        circleci(&sb, &proxy)
            .env("CIRCLE_OIDC_TOKEN_V2", &token(CCI_ISS, CCI_ORG, CCI_SUB_V2))
            .env(
                "CIRCLE_OIDC_TOKEN",
                &token(
                    CCI_ISS,
                    CCI_ORG,
                    "org/0b9e9d6c-org/project/5a1e-proj/user/9f2c-user",
                ),
            )
            .env("BASH_ENV", bash_env.to_str().unwrap()),
    );
    assert_eq!(json["platform"], "circleci");
    assert!(
        json["identity"].as_str().unwrap().ends_with("/cci-app-123"),
        "{json}"
    );
    assert_eq!(
        std::fs::read_to_string(bash_env).unwrap(),
        format!("export ECR_LOGIN_REGISTRY='{H1}'\nexport ECR_LOGIN_REGISTRY_HOSTS='{H1}'\n")
    );
}

/// A fake `circleci` CLI: logs its arguments, fails its first `fail` calls, then prints `jwt`.
fn fake_circleci(sb: &Sandbox, jwt: &str, fail: u32) -> std::path::PathBuf {
    let log = sb.path().join("circleci.args");
    let count = sb.path().join("circleci.count");
    let jwt_file = sb.path().join("circleci.jwt");
    std::fs::write(&jwt_file, jwt).unwrap();
    sb.install_program(
        "circleci",
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{log}'\nn=$(($(cat '{count}' 2>/dev/null || echo 0) + 1)); echo $n > '{count}'\n[ $n -le {fail} ] && {{ echo 'token service unavailable' >&2; exit 1; }}\ncat '{jwt}'\n",
            log = log.display(),
            count = count.display(),
            jwt = jwt_file.display()
        ),
    );
    log
}

#[test]
fn circleci_custom_audience_comes_from_the_cli() {
    let proxy = trust(
        CCI_ISS,
        "sts.amazonaws.com",
        "org/0b9e9d6c-org/project/5a1e-proj/*",
    );
    let sb = Sandbox::new();
    let log = fake_circleci(&sb, &token(CCI_ISS, "sts.amazonaws.com", CCI_SUB_V2), 0);
    login_json(
        circleci(&sb, &proxy)
            .env("CIRCLE_OIDC_TOKEN_V2", &token(CCI_ISS, CCI_ORG, CCI_SUB_V2))
            .args(&["--audience", "sts.amazonaws.com"]),
    );
    assert_eq!(
        std::fs::read_to_string(log).unwrap(),
        "run oidc get --claims {\"aud\":\"sts.amazonaws.com\"}\n"
    );
}

#[test]
fn circleci_empty_token_is_fetched_again_with_retries() {
    let proxy = trust(CCI_ISS, CCI_ORG, "org/0b9e9d6c-org/project/5a1e-proj/*");
    let sb = Sandbox::new();
    let log = fake_circleci(&sb, &token(CCI_ISS, CCI_ORG, CCI_SUB_V2), 1);
    login_json(circleci(&sb, &proxy).env("CIRCLE_OIDC_TOKEN_V2", ""));
    assert_eq!(
        std::fs::read_to_string(log).unwrap(),
        "run oidc get\nrun oidc get\n"
    );
}

#[test]
fn circleci_without_a_token_says_to_use_a_context() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    circleci(&sb, &proxy)
        .run()
        .assert_fails(3, &["CIRCLE_OIDC_TOKEN_V2, CIRCLE_OIDC_TOKEN", "context"]);
}

// --- Jenkins ---------------------------------------------------------------------------------

const JK_ISS: &str = "https://jenkins.example.com/oidc";
const JK_SUB: &str = "https://jenkins.example.com/job/app/";

fn jenkins(sb: &Sandbox, proxy: &Proxy) -> Cmd {
    sb.ci(proxy)
        .env("JENKINS_URL", "https://jenkins.example.com/")
        .env("JOB_NAME", "app")
        .env("BUILD_NUMBER", "41")
}

#[test]
fn jenkins_token_bound_to_a_variable_and_env_file() {
    let proxy = trust(JK_ISS, "sts.amazonaws.com", JK_SUB);
    let sb = Sandbox::new();
    let env_file = sb.path().join("ecr.properties");
    let json = login_json(
        jenkins(&sb, &proxy)
            .env("OIDC_TOKEN", &token(JK_ISS, "sts.amazonaws.com", JK_SUB))
            .args(&[
                "--id-token-env",
                "OIDC_TOKEN",
                "--env-file",
                env_file.to_str().unwrap(),
            ]),
    );
    assert_eq!(json["platform"], "jenkins");
    assert!(
        json["identity"]
            .as_str()
            .unwrap()
            .ends_with("/jenkins-app-41"),
        "{json}"
    );
    assert!(std::fs::read_to_string(env_file)
        .unwrap()
        .contains(&format!("ECR_LOGIN_REGISTRY={H1}\n")));
}

#[test]
fn jenkins_token_bound_to_a_file() {
    let proxy = trust(JK_ISS, "sts.amazonaws.com", JK_SUB);
    let sb = Sandbox::new();
    let file = sb.path().join("id-token");
    std::fs::write(&file, token(JK_ISS, "sts.amazonaws.com", JK_SUB)).unwrap();
    login_json(jenkins(&sb, &proxy).args(&["--web-identity-token-file", file.to_str().unwrap()]));
}

#[test]
fn jenkins_without_a_token_uses_the_agents_credential_chain() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    login_json(jenkins(&sb, &proxy).aws_keys());
    let ops: Vec<String> = proxy
        .calls()
        .iter()
        .map(|c| c["operation"].as_str().unwrap().to_string())
        .collect();
    assert!(ops.contains(&"AssumeRole".to_string()), "{ops:?}");
}

#[test]
fn jenkins_unbound_variable_says_how_to_bind_it() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    jenkins(&sb, &proxy)
        .args(&["--id-token-env", "OIDC_TOKEN"])
        .run()
        .assert_fails(3, &["OIDC_TOKEN", "withCredentials"]);
}

// --- Buildkite -------------------------------------------------------------------------------

const BK_ISS: &str = "https://agent.buildkite.com";
const BK_SUB: &str = "organization:acme:pipeline:web:ref:refs/heads/main:commit:0abc:step:build";

fn buildkite(sb: &Sandbox, proxy: &Proxy) -> Cmd {
    sb.ci(proxy)
        .env("BUILDKITE", "true")
        .env("BUILDKITE_ORGANIZATION_SLUG", "acme")
        .env("BUILDKITE_PIPELINE_SLUG", "web")
        .env("BUILDKITE_BUILD_NUMBER", "9")
        .env("BUILDKITE_BRANCH", "main")
}

/// A fake `buildkite-agent`: `oidc request-token` prints `jwt` (and logs its arguments);
/// `redactor add` appends what it reads on stdin to a file.
fn fake_agent(sb: &Sandbox, jwt: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let args = sb.path().join("agent.args");
    let redacted = sb.path().join("agent.redacted");
    let jwt_file = sb.path().join("agent.jwt");
    std::fs::write(&jwt_file, jwt).unwrap();
    sb.install_program(
        "buildkite-agent",
        &format!(
            "#!/bin/sh\ncase \"$1 $2\" in\n  'oidc request-token') printf '%s\\n' \"$*\" >> '{args}'; cat '{jwt}' ;;\n  'redactor add') cat >> '{red}'; echo >> '{red}' ;;\n  *) exit 2 ;;\nesac\n",
            args = args.display(),
            jwt = jwt_file.display(),
            red = redacted.display()
        ),
    );
    (args, redacted)
}

#[test]
fn buildkite_agent_token_and_log_redaction() {
    let proxy = trust(
        BK_ISS,
        "sts.amazonaws.com",
        "organization:acme:pipeline:web:*",
    );
    let sb = Sandbox::new();
    let jwt = token(BK_ISS, "sts.amazonaws.com", BK_SUB);
    let (args, redacted) = fake_agent(&sb, &jwt);
    // No --audience: the default must be the one Buildkite's AWS guide sets up.
    let json = login_json(buildkite(&sb, &proxy));
    assert_eq!(json["platform"], "buildkite");
    assert!(
        json["identity"].as_str().unwrap().ends_with("/bk-web-9"),
        "{json}"
    );
    assert_eq!(
        std::fs::read_to_string(args).unwrap(),
        "oidc request-token --audience sts.amazonaws.com\n"
    );
    let redacted = std::fs::read_to_string(redacted).unwrap();
    for secret in [jwt.as_str(), "111111111111-auth-token"] {
        assert!(
            redacted.lines().any(|l| l == secret),
            "not given to the redactor: {}...",
            &secret[..8]
        );
    }
}

#[test]
fn buildkite_without_the_agent() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    buildkite(&sb, &proxy)
        .env("PATH", "/usr/bin:/bin")
        .run()
        .assert_fails(3, &["buildkite-agent", "not on PATH"]);
}

// --- Bitbucket Pipelines ---------------------------------------------------------------------

const BB_ISS: &str = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
const BB_AUD: &str = "ari:cloud:bitbucket::workspace/6a3e";

fn bitbucket(sb: &Sandbox, proxy: &Proxy) -> Cmd {
    sb.ci(proxy)
        .env("BITBUCKET_BUILD_NUMBER", "12")
        .env("BITBUCKET_REPO_SLUG", "web")
        .env("BITBUCKET_WORKSPACE", "acme")
        .env("BITBUCKET_REPO_UUID", "{7c1d}")
}

#[test]
fn bitbucket_step_token() {
    let proxy = trust(BB_ISS, BB_AUD, "{7c1d}:*");
    let sb = Sandbox::new();
    let json = login_json(bitbucket(&sb, &proxy).env(
        "BITBUCKET_STEP_OIDC_TOKEN",
        &token(BB_ISS, BB_AUD, "{7c1d}:{step-1}"),
    ));
    assert_eq!(json["platform"], "bitbucket");
    assert!(
        json["identity"].as_str().unwrap().ends_with("/bb-web-12"),
        "{json}"
    );
}

#[test]
fn bitbucket_without_oidc_true() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    bitbucket(&sb, &proxy)
        .run()
        .assert_fails(3, &["BITBUCKET_STEP_OIDC_TOKEN", "oidc: true"]);
}

// --- No CI: the AWS credential chain ---------------------------------------------------------

#[test]
fn pod_identity_or_ecs_container_credentials_through_the_chain() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let run = sb
        .cmd()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            &format!("{}/container-credentials", shared_issuer_url()),
        )
        .args(&[
            "-vv",
            "--region",
            "us-east-1",
            "--registries",
            "111111111111",
            "--output",
            "json",
        ])
        .run();
    run.assert_ok();
    assert_eq!(run.json()["platform"], "local");
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    for secret in [
        "container-secret-access-key-0123456789",
        "container-session-token-0123456789abcdef",
    ] {
        assert!(!run.stderr.contains(secret) && !run.stdout.contains(secret));
    }
    assert_eq!(proxy.count("sts", None), 0);
}

// --- Detection -------------------------------------------------------------------------------

#[test]
fn two_platforms_at_once_is_an_error_until_one_is_named() {
    let proxy = trust(GL_ISS, GL_ISS, "project_path:grp/proj:*");
    let sb = Sandbox::new();
    let both = gitlab(&sb, &proxy)
        .env("GITHUB_ACTIONS", "true")
        .env("GITLAB_OIDC_TOKEN", &token(GL_ISS, GL_ISS, GL_SUB));
    both.clone().run().assert_fails(
        2,
        &[
            "more than one CI platform: github-actions, gitlab-ci",
            "--platform",
        ],
    );
    assert!(proxy.calls().is_empty());
    let json = login_json(both.args(&["--platform", "gitlab-ci"]));
    assert_eq!(json["platform"], "gitlab-ci");
}

#[test]
fn circleci_custom_audience_without_the_cli_says_what_to_do() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    circleci(&sb, &proxy)
        .env("PATH", "/usr/bin:/bin")
        .env("CIRCLE_OIDC_TOKEN_V2", &token(CCI_ISS, CCI_ORG, CCI_SUB_V2))
        .args(&["--audience", "sts.amazonaws.com"])
        .run()
        .assert_fails(3, &["needs the `circleci` CLI", "drop --audience"]);
    assert!(proxy.calls().is_empty());
}
