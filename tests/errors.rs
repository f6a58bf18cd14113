//! Bad input and refusals: each gives a clear message with help, the documented exit code,
//! no panic, and leaves the auth file exactly as it was.

use crate::harness::*;

const ORIGINAL: &str =
    "{\n  \"auths\": {\"ghcr.io\": {\"auth\": \"dXNlcjpwYXNz\"}},\n  \"x\": 1\n}\n";

/// Runs `cmd` against a sandbox holding [`ORIGINAL`]; checks the failure and that the file is
/// byte-for-byte unchanged.
fn fails_untouched(sb: &Sandbox, cmd: Cmd, code: i32, needles: &[&str]) -> Run {
    let run = cmd.run();
    run.assert_fails(code, needles);
    assert!(
        run.stderr.contains("help: "),
        "no help line:\n{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(sb.config_path()).unwrap(),
        ORIGINAL,
        "the auth file changed"
    );
    run
}

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(ORIGINAL);
    sb
}

#[test]
fn malformed_role_arn() {
    let proxy = Proxy::start();
    let sb = sandbox();
    let cmd = sb
        .github(&proxy, &shared_issuer_url())
        .args(&["--role-arn", "arn:aws:iam::12345:role/ci"]);
    fails_untouched(
        &sb,
        cmd,
        2,
        &["invalid role ARN", "arn:aws:iam::123456789012:role/"],
    );
    assert!(proxy.calls().is_empty(), "no AWS call on bad input");
}

#[test]
fn empty_role_arn_variable() {
    let proxy = Proxy::start();
    let sb = sandbox();
    let cmd = sb
        .github(&proxy, &shared_issuer_url())
        .env("AWS_ROLE_ARN", "");
    fails_untouched(&sb, cmd, 2, &["invalid role ARN \"\"", "probably unset"]);
}

#[test]
fn unknown_region() {
    let proxy = Proxy::start();
    let sb = sandbox();
    let cmd = sb.github(&proxy, &shared_issuer_url()).args(&[
        "--region",
        "eu-wset-1",
        "--registries",
        "111111111111",
    ]);
    fails_untouched(
        &sb,
        cmd,
        2,
        &[
            "unknown AWS region \"eu-wset-1\"",
            "did you mean \"eu-west-1\"",
        ],
    );
}

#[test]
fn non_ecr_host() {
    let proxy = Proxy::start();
    let sb = sandbox();
    let cmd = sb
        .github(&proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111,ghcr.io/owner/image"]);
    fails_untouched(
        &sb,
        cmd,
        2,
        &["\"ghcr.io/owner/image\" is not an Amazon ECR registry"],
    );
}

#[test]
fn no_region_at_all() {
    let proxy = Proxy::start();
    let sb = sandbox();
    let cmd = sb
        .github(&proxy, &shared_issuer_url())
        .env_remove("AWS_REGION");
    fails_untouched(&sb, cmd, 2, &["no AWS region given", "--region"]);
}

#[test]
fn github_without_id_token_permission() {
    let proxy = Proxy::start();
    let sb = sandbox();
    let cmd = sb
        .github(&proxy, &shared_issuer_url())
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    fails_untouched(
        &sb,
        cmd,
        3,
        &[
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "permissions: id-token: write",
        ],
    );
    assert!(proxy.calls().is_empty());
}

#[test]
fn empty_token_from_the_endpoint_is_retried_then_explained() {
    let issuer = Issuer::start(&["--empty-value"]);
    let proxy = Proxy::start();
    let sb = sandbox();
    let cmd = sb.github(&proxy, &issuer.url());
    fails_untouched(&sb, cmd, 3, &["identity token is empty"]);
    assert_eq!(
        issuer.token_requests(),
        10,
        "an empty token is retried (10 attempts in all)"
    );
    assert!(proxy.calls().is_empty());
}

#[test]
fn empty_token_file() {
    let proxy = Proxy::start();
    let sb = sandbox();
    let file = sb.path().join("token");
    std::fs::write(&file, "\n").unwrap();
    let cmd = sb
        .cmd()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .env("AWS_ROLE_ARN", ROLE)
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", file.to_str().unwrap())
        .env("AWS_REGION", "us-east-1");
    fails_untouched(&sb, cmd, 3, &["identity token is empty", "token"]);
}

#[test]
fn missing_token_file() {
    let proxy = Proxy::start();
    let sb = sandbox();
    let cmd = sb
        .cmd()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .args(&["--role-arn", ROLE, "--region", "us-east-1"])
        .args(&["--web-identity-token-file", "/nonexistent/token"]);
    fails_untouched(&sb, cmd, 3, &["/nonexistent/token", "No such file"]);
}

#[test]
fn token_endpoint_refuses_the_request_token() {
    let proxy = Proxy::start();
    let sb = sandbox();
    let cmd = sb
        .github(&proxy, &shared_issuer_url())
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong-request-token");
    fails_untouched(&sb, cmd, 3, &["HTTP 401", "only valid inside the job"]);
}

#[test]
fn unreachable_aws_endpoint() {
    let sb = sandbox();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let cmd = sb.cmd().env("AWS_ENDPOINT_URL", &dead).aws_keys().args(&[
        "--region",
        "us-east-1",
        "--registries",
        "111111111111",
    ]);
    fails_untouched(
        &sb,
        cmd,
        6,
        &["could not reach ECR in us-east-1", "HTTPS_PROXY"],
    );
}

#[test]
fn unreachable_token_endpoint() {
    let proxy = Proxy::start();
    let sb = sandbox();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let cmd = sb.github(&proxy, &dead);
    fails_untouched(
        &sb,
        cmd,
        3,
        &["could not reach the identity token endpoint"],
    );
}

#[test]
fn access_denied_shows_the_claims_and_the_condition_keys() {
    let issuer = shared_issuer_url();
    let proxy = trusting_proxy(serde_json::json!({
        "iss": issuer, "aud": "sts.amazonaws.com", "sub": "repo:Test-Owner/test-repo:*"
    }));
    let sb = sandbox();
    let cmd = sb.github(&proxy, &issuer);
    let host = issuer.trim_start_matches("http://");
    let run = fails_untouched(
        &sb,
        cmd,
        4,
        &[
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            &format!("iss={issuer}"),
            "aud=sts.amazonaws.com",
            "sub=repo:test-owner/test-repo:ref:refs/heads/main",
            &format!("\"{host}:sub\""),
            &format!("\"{host}:aud\""),
            "case-sensitive",
        ],
    );
    // A permanent refusal is not retried.
    assert_eq!(proxy.count("sts", None), 1, "{}", run.stderr);
}

#[test]
fn wrong_audience_is_explained() {
    let issuer = shared_issuer_url();
    let proxy = trusting_proxy(serde_json::json!({
        "iss": issuer, "aud": "https://github.com/test-owner", "sub": "repo:test-owner/*"
    }));
    let sb = sandbox();
    let cmd = sb.github(&proxy, &issuer);
    fails_untouched(
        &sb,
        cmd,
        4,
        &["Incorrect token audience", "client id list", "--audience"],
    );
}

#[test]
fn custom_audience_is_requested_and_accepted() {
    let issuer = shared_issuer_url();
    let proxy = trusting_proxy(serde_json::json!({
        "iss": issuer, "aud": "https://github.com/test-owner", "sub": "repo:test-owner/*"
    }));
    let sb = Sandbox::new();
    sb.github(&proxy, &issuer)
        .args(&[
            "--audience",
            "https://github.com/test-owner",
            "--registries",
            "111111111111",
        ])
        .run()
        .assert_ok();
}

#[test]
fn missing_oidc_provider_is_explained() {
    let proxy = trusting_proxy(serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com", "aud": "sts.amazonaws.com", "sub": "*"
    }));
    let sb = sandbox();
    let cmd = sb.github(&proxy, &shared_issuer_url());
    fails_untouched(
        &sb,
        cmd,
        4,
        &["No OpenIDConnect provider", "create one with URL"],
    );
}

#[test]
fn ecr_access_denied_fails_at_once() {
    let proxy = Proxy::with_faults(
        r#"[{"service": "ecr", "status": 400, "code": "AccessDeniedException",
            "message": "User: arn:aws:sts::123456789012:assumed-role/ci/x is not authorized to perform: ecr:GetAuthorizationToken"}]"#,
    );
    let sb = sandbox();
    let cmd = sb
        .github(&proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111"]);
    fails_untouched(
        &sb,
        cmd,
        4,
        &[
            "ECR in us-east-1 refused",
            "ecr:GetAuthorizationToken",
            "assumed-role/ci/",
        ],
    );
    assert_eq!(
        proxy.count("ecr", None),
        1,
        "AccessDenied must not be retried"
    );
}

#[test]
fn invalid_existing_config_is_left_alone() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.write_config("{\"auths\": {");
    sb.github(&proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111"])
        .run()
        .assert_fails(7, &["is not valid JSON", "left untouched"]);
    assert_eq!(
        std::fs::read_to_string(sb.config_path()).unwrap(),
        "{\"auths\": {"
    );
}

#[test]
fn unknown_platform() {
    let sb = sandbox();
    let cmd = sb
        .cmd()
        .args(&["--platform", "travis", "--region", "us-east-1"]);
    fails_untouched(
        &sb,
        cmd,
        2,
        &["unknown platform \"travis\"", "github-actions"],
    );
}
