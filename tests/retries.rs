//! Retries that fit the error: transient faults are retried and the login succeeds;
//! the number of calls proves it (permanent refusals are covered in errors.rs: one call).

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";

#[test]
fn token_endpoint_503s_are_retried() {
    let issuer = Issuer::start(&["--fail-first", "2"]);
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.github(&proxy, &issuer.url())
        .args(&["--registries", "111111111111"])
        .run()
        .assert_ok();
    assert_eq!(issuer.token_requests(), 3);
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
}

#[test]
fn ecr_5xx_throttling_and_resets_are_retried() {
    let proxy = Proxy::with_faults(
        r#"[{"service": "ecr", "region": "us-east-1", "times": 1, "status": 503, "code": "ServiceUnavailable"},
            {"service": "ecr", "region": "us-east-1", "times": 1, "status": 400, "code": "ThrottlingException", "message": "Rate exceeded"},
            {"service": "ecr", "region": "us-east-1", "times": 1, "drop": true},
            {"service": "ecr-public", "times": 1, "status": 500, "code": "ServerException"},
            {"service": "sts", "times": 1, "status": 400, "code": "Throttling", "message": "Rate exceeded"}]"#,
    );
    let sb = Sandbox::new();
    sb.github(&proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111,public.ecr.aws"])
        .run()
        .assert_ok();
    assert_eq!(
        proxy.count("ecr", Some("us-east-1")),
        4,
        "{:?}",
        proxy.calls()
    );
    assert_eq!(proxy.count("ecr-public", None), 2);
    assert_eq!(proxy.count("sts", None), 2);
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    assert_eq!(sb.auth("public.ecr.aws"), "AWS:public-ecr-auth-token");
}

#[test]
fn sts_jwks_fetch_failure_is_retried() {
    let proxy = Proxy::with_faults(
        r#"[{"service": "sts", "times": 1, "status": 400, "code": "IDPCommunicationError",
            "message": "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"}]"#,
    );
    let sb = Sandbox::new();
    sb.github(&proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111"])
        .run()
        .assert_ok();
    assert_eq!(proxy.count("sts", None), 2);
}

#[test]
fn persistent_5xx_gives_up_with_a_clear_error() {
    let proxy = Proxy::with_faults(
        r#"[{"service": "ecr", "status": 503, "code": "ServiceUnavailable", "message": "down for a bit"}]"#,
    );
    let sb = Sandbox::new();
    sb.github(&proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111"])
        .run()
        .assert_fails(5, &["ServiceUnavailable", "retried"]);
    assert_eq!(proxy.count("ecr", None), 10, "10 attempts, then give up");
    assert!(!sb.config_path().exists());
}
