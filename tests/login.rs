//! Successful logins: GitHub Actions, a token file, the credential chain; what lands in the
//! auth file, the step outputs and the JSON output.

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const H3: &str = "333333333333.dkr.ecr.eu-west-1.amazonaws.com";

#[test]
fn github_login_writes_auths_outputs_and_one_sts_call() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .args(&["--registries", &format!("111111111111,{H3}")])
        .run();
    run.assert_ok();
    assert!(
        run.stderr.is_empty(),
        "a quiet success by default:\n{}",
        run.stderr
    );
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    assert_eq!(sb.auth(H3), "AWS:333333333333-auth-token");
    let outputs = sb.outputs();
    assert_eq!(outputs["registry"], H1);
    assert_eq!(outputs["registries"], format!("{H1},{H3}"));
    assert!(!outputs.contains_key(&format!("docker_password_{}", H1.replace(['.', '-'], "_"))));
    assert_eq!(proxy.count("sts", None), 1);
    assert!(
        run.stdout.contains(&format!("Logged in to {H1}")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("assumed-role/ci/gh-test-owner-test-repo-1234567890-1"),
        "{}",
        run.stdout
    );
}

#[test]
fn github_credentials_as_outputs_only_on_request() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.github(&proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111", "--output-credentials"])
        .run()
        .assert_ok();
    let outputs = sb.outputs();
    let key = H1.replace(['.', '-'], "_");
    assert_eq!(outputs[&format!("docker_username_{key}")], "AWS");
    assert_eq!(
        outputs[&format!("docker_password_{key}")],
        "111111111111-auth-token"
    );
}

#[test]
fn default_registry_is_the_callers_own_with_the_credential_chain() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let run = sb
        .cmd()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .aws_keys()
        .args(&["login", "--region", "eu-west-1"])
        .run();
    run.assert_ok();
    let host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    assert_eq!(sb.auth(host), "AWS:123456789012-auth-token");
    assert_eq!(
        proxy.count("sts", None),
        0,
        "no STS call without --role-arn"
    );
    assert_eq!(proxy.count("ecr", Some("eu-west-1")), 1);
}

/// CI templates export unset inputs as empty strings: a blank variable counts as unset for a
/// subcommand (whose arguments are built only when it runs) as for the top level, where an
/// empty `--audience` or `--platform` would be refused.
#[test]
fn blank_variables_count_as_unset_in_every_subcommand() {
    let proxy = Proxy::start();
    for args in [
        &["login", "--region", "eu-west-1"][..],
        &["--region", "eu-west-1"],
    ] {
        let sb = Sandbox::new();
        let run = sb
            .cmd()
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .aws_keys()
            .env("ECR_LOGIN_AUDIENCE", "")
            .env("ECR_LOGIN_PLATFORM", " ")
            .env("ECR_LOGIN_REGISTRIES", "")
            .env("AWS_ROLE_SESSION_NAME", "")
            .args(args)
            .run();
        run.assert_ok();
        let host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
        assert_eq!(sb.auth(host), "AWS:123456789012-auth-token", "{args:?}");
    }
    let sb = Sandbox::new();
    let doctor = sb
        .cmd()
        .env("ECR_LOGIN_AUDIENCE", "")
        .args(&["doctor", "--explain", "no basic auth credentials"])
        .run();
    doctor.assert_ok();
}

#[test]
fn role_with_the_credential_chain_uses_assume_role() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let run = sb
        .cmd()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .aws_keys()
        .args(&[
            "--role-arn",
            ROLE,
            "--region",
            "us-east-1",
            "--registries",
            "111111111111",
        ])
        .run();
    run.assert_ok();
    let ops: Vec<String> = proxy
        .calls()
        .iter()
        .map(|c| c["operation"].as_str().unwrap().to_string())
        .collect();
    assert!(ops.contains(&"AssumeRole".to_string()), "{ops:?}");
    assert!(
        run.stdout.contains("assumed-role/ci/ecr-login-"),
        "{}",
        run.stdout
    );
}

#[test]
fn web_identity_token_file_like_eks() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let token =
        shared_issuer().token("audience=sts.amazonaws.com&sub=system:serviceaccount:ci:builder");
    let file = sb.path().join("token");
    std::fs::write(&file, token).unwrap();
    let run = sb
        .cmd()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .env("AWS_ROLE_ARN", ROLE)
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", file.to_str().unwrap())
        .env("AWS_REGION", "eu-west-1")
        .args(&["--registries", "333333333333", "--output", "json"])
        .run();
    run.assert_ok();
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["platform"], "web-identity");
    assert_eq!(json["registries"][0]["registry"], H3);
    assert_eq!(json["registries"][0]["region"], "eu-west-1");
    assert!(json["identity"]
        .as_str()
        .unwrap()
        .contains(":assumed-role/ci/"));
    // The expiry comes from ECR (12 h here), as RFC 3339.
    assert!(json["registries"][0]["expires_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert!(json.get("password").is_none() && !run.stdout.contains("auth-token"));
    assert_eq!(sb.auth(H3), "AWS:333333333333-auth-token");
}

#[test]
fn same_registry_twice_is_one_entry_and_one_call() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.github(&proxy, &shared_issuer_url())
        .args(&[
            "--registries",
            &format!("111111111111\n{H1}, https://{H1}/team/app"),
        ])
        .run()
        .assert_ok();
    assert_eq!(sb.config()["auths"].as_object().unwrap().len(), 1);
    assert_eq!(proxy.count("ecr", None), 1);
}

#[test]
fn empty_variables_count_as_unset() {
    // CI systems export empty strings for unset inputs; none of them may break or steer a login.
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let mut cmd = sb.github(&proxy, &shared_issuer_url());
    for var in [
        "ECR_LOGIN_OUTPUT_CREDENTIALS",
        "ECR_LOGIN_ALLOW_UNKNOWN_REGION",
        "ECR_LOGIN_QUIET",
        "AWS_ROLE_SESSION_NAME",
        "ECR_LOGIN_AUDIENCE",
        "ECR_LOGIN_PLATFORM",
        "ECR_LOGIN_ID_TOKEN_ENV",
        "ECR_LOGIN_ENV_FILE",
        "ECR_LOGIN_ROLE_DURATION_SECONDS",
        "ECR_LOGIN_OUTPUT",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ] {
        cmd = cmd.env(var, "");
    }
    let run = cmd.args(&["--registries", "111111111111"]).run();
    run.assert_ok();
    assert!(
        run.stdout.contains("gh-test-owner-test-repo-1234567890-1"),
        "{}",
        run.stdout
    );
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
}
