//! The identity features, against the test STS (moto behind our proxy, which
//! records what reached it): session policies, role chaining with an external id, and the
//! allowed-accounts guard.

use crate::harness::*;

const TARGET: &str = "arn:aws:iam::210987654321:role/ecr-target";
const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": ["ecr:BatchGetImage"], "Resource": "*"}]
}"#;
const MANAGED: &str = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly";

/// The STS calls the proxy saw: (operation, params).
fn sts_calls(proxy: &Proxy) -> Vec<(String, serde_json::Value)> {
    proxy
        .calls()
        .into_iter()
        .filter(|c| c["service"] == "sts")
        .map(|c| {
            (
                c["operation"].as_str().unwrap().to_string(),
                c["params"].clone(),
            )
        })
        .collect()
}

#[test]
fn session_policies_reach_sts_with_the_web_identity_call() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.github(&proxy, &shared_issuer_url())
        .args(&[
            "--registries",
            "123456789012",
            "--inline-session-policy",
            POLICY,
            "--managed-session-policies",
            MANAGED,
        ])
        .run()
        .assert_ok();
    let calls = sts_calls(&proxy);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (op, params) = &calls[0];
    assert_eq!(op, "AssumeRoleWithWebIdentity");
    // Minified, and otherwise the policy as given.
    let sent: serde_json::Value = serde_json::from_str(params["Policy"].as_str().unwrap()).unwrap();
    assert_eq!(
        sent,
        serde_json::from_str::<serde_json::Value>(POLICY).unwrap()
    );
    assert!(!params["Policy"].as_str().unwrap().contains('\n'));
    assert_eq!(params["PolicyArns.member.1.arn"], MANAGED);
}

#[test]
fn an_oversized_session_policy_is_refused_before_any_call() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":[{}]}}]}}"#,
        (0..60)
            .map(|i| format!("\"arn:aws:ecr:us-east-1:123456789012:repository/team/app-{i}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    sb.github(&proxy, &shared_issuer_url())
        .args(&[
            "--registries",
            "123456789012",
            "--inline-session-policy",
            &big,
        ])
        .run()
        .assert_fails(2, &["--inline-session-policy", "at most 2048", "help:"]);
    assert!(proxy.calls().is_empty());
    assert!(!sb.config_path().exists());
}

#[test]
fn sts_packed_policy_too_large_is_explained() {
    let proxy = Proxy::with_faults(
        r#"[{"service": "sts", "status": 400, "code": "PackedPolicyTooLarge",
             "message": "Packed policy consumes 112% of allotted space"}]"#,
    );
    let sb = Sandbox::new();
    sb.github(&proxy, &shared_issuer_url())
        .args(&[
            "--registries",
            "123456789012",
            "--inline-session-policy",
            POLICY,
        ])
        .run()
        .assert_fails(
            4,
            &["PackedPolicyTooLarge", "too large once STS packs them"],
        );
    assert!(!sb.config_path().exists());
}

#[test]
fn a_chained_role_is_assumed_with_the_hub_role_and_the_external_id() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .args(&[
            "--registries",
            "210987654321",
            "--chain-role-arn",
            TARGET,
            "--role-external-id",
            "ext-4711",
            "--inline-session-policy",
            POLICY,
            "--output",
            "json",
        ])
        .run();
    run.assert_ok();
    let calls = sts_calls(&proxy);
    let ops: Vec<&str> = calls.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(ops, ["AssumeRoleWithWebIdentity", "AssumeRole"]);
    assert_eq!(calls[0].1["RoleArn"], ROLE);
    assert!(
        calls[0].1.get("Policy").is_none(),
        "the session policy narrows the last role only"
    );
    assert_eq!(calls[1].1["RoleArn"], TARGET);
    assert_eq!(calls[1].1["ExternalId"], "ext-4711");
    assert!(calls[1].1["Policy"].is_string());
    let identity = run.json()["identity"].as_str().unwrap().to_string();
    assert!(
        identity.starts_with("arn:aws:sts::210987654321:assumed-role/ecr-target/"),
        "{identity}"
    );
    // The ECR call was made with the target role's credentials, for its account.
    assert_eq!(proxy.count("ecr", Some("us-east-1")), 1);
    assert!(sb
        .auth("210987654321.dkr.ecr.us-east-1.amazonaws.com")
        .starts_with("AWS:"));
}

#[test]
fn a_second_role_arn_is_a_hop_too() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.github(&proxy, &shared_issuer_url())
        .args(&[
            "--registries",
            "210987654321",
            "--role-arn",
            ROLE,
            "--role-arn",
            TARGET,
        ])
        .run()
        .assert_ok();
    let ops: Vec<String> = sts_calls(&proxy).into_iter().map(|(o, _)| o).collect();
    assert_eq!(ops, ["AssumeRoleWithWebIdentity", "AssumeRole"]);
}

#[test]
fn role_chaining_uses_the_environments_credentials_not_the_token() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.github(&proxy, &shared_issuer_url())
        // Nothing listens there: fetching a token would fail the login.
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/token")
        .aws_keys()
        .env("ECR_LOGIN_ROLE_CHAINING", "true")
        .args(&["--registries", "123456789012"])
        .run()
        .assert_ok();
    let ops: Vec<String> = sts_calls(&proxy).into_iter().map(|(o, _)| o).collect();
    assert_eq!(ops, ["AssumeRole"]);
}

#[test]
fn a_foreign_account_is_refused_and_nothing_is_written() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let env_file = sb.path().join("ecr.env");
    sb.github(&proxy, &shared_issuer_url())
        .env("AWS_ROLE_ARN", TARGET)
        .args(&[
            "--registries",
            "123456789012",
            "--allowed-account-ids",
            "123456789012,111122223333",
            "--env-file",
            env_file.to_str().unwrap(),
        ])
        .run()
        .assert_fails(
            4,
            &[
                "210987654321",
                "--allowed-account-ids",
                "nothing was written",
            ],
        );
    assert!(!sb.config_path().exists());
    assert!(!env_file.exists());
    assert!(!sb.github_output().exists());
    assert_eq!(
        proxy.count("ecr", None),
        0,
        "no ECR call for a refused identity"
    );
}

#[test]
fn an_allowed_account_logs_in() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.github(&proxy, &shared_issuer_url())
        .args(&[
            "--registries",
            "123456789012",
            "--allowed-account-ids",
            "123456789012",
        ])
        .run()
        .assert_ok();
    assert!(sb.config_path().exists());
}

#[test]
fn the_chains_own_identity_is_checked_with_get_caller_identity() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.cmd()
        .aws_keys()
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .env("AWS_REGION", "us-east-1")
        .args(&["--allowed-account-ids", "999999999999"])
        .run()
        .assert_fails(4, &["123456789012", "999999999999"]);
    let ops: Vec<String> = sts_calls(&proxy).into_iter().map(|(o, _)| o).collect();
    assert_eq!(ops, ["GetCallerIdentity"]);
    assert!(!sb.config_path().exists());
}
