//! `ecr-login doctor`: each check reports ok or a problem with its fix, in order,
//! never showing a secret; `--explain` maps pasted errors to causes with no network.

use crate::harness::*;

fn doctor(cmd: Cmd) -> (Run, serde_json::Value) {
    let run = cmd.subcommand("doctor").args(&["--output", "json"]).run();
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr));
    (run, v)
}

fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().starts_with(name))
        .unwrap_or_else(|| panic!("no check {name}: {report:#}"))
}

fn text(c: &serde_json::Value) -> String {
    format!("{} {}", c["detail"], c["fix"])
}

#[test]
fn a_healthy_github_job_up_to_the_token() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let (run, r) = doctor(
        sb.github(&proxy, &shared_issuer_url())
            .args(&["--registries", "123456789012"]),
    );
    assert_eq!(check(&r, "platform")["status"], "ok");
    assert!(text(check(&r, "platform")).contains("GITHUB_ACTIONS=true"));
    let token = check(&r, "identity token");
    assert_eq!(token["status"], "ok", "{token}");
    assert!(
        text(token).contains("sub=repo:test-owner/test-repo"),
        "{token}"
    );
    assert!(text(token).contains(":aud"), "the condition keys: {token}");
    assert_eq!(check(&r, "role")["status"], "ok");
    assert_eq!(check(&r, "clock")["status"], "ok", "{}", check(&r, "clock"));
    assert_eq!(
        check(
            &r,
            "123456789012.dkr.ecr.us-east-1.amazonaws.com: GetAuthorizationToken"
        )["status"],
        "ok"
    );
    // The token itself is never shown (only to the runner, in `::add-mask::` commands).
    let stderr: String = run
        .stderr
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    let secrets = proxy.secrets();
    assert!(!secrets.is_empty());
    for s in secrets {
        assert!(
            !run.stdout.contains(&s) && !stderr.contains(&s),
            "a secret was printed"
        );
    }
}

#[test]
fn a_missing_id_token_permission_is_named_and_nothing_after_it_runs() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let (run, r) = doctor(
        sb.github(&proxy, &shared_issuer_url())
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
            .args(&["--registries", "123456789012"]),
    );
    assert_eq!(run.code, 1);
    assert_eq!(r["healthy"], false);
    let token = check(&r, "identity token");
    assert_eq!(token["status"], "problem");
    assert!(text(token).contains("id-token: write"), "{token}");
    assert_eq!(check(&r, "role")["status"], "skipped");
}

#[test]
fn a_trust_policy_that_refuses_shows_the_claims_next_to_the_keys() {
    let proxy = trusting_proxy(serde_json::json!({
        "iss": shared_issuer_url(), "aud": "sts.amazonaws.com", "sub": "repo:someone-else/*"
    }));
    let sb = Sandbox::new();
    let (run, r) = doctor(
        sb.github(&proxy, &shared_issuer_url())
            .args(&["--registries", "123456789012"]),
    );
    assert_eq!(run.code, 1);
    let role = check(&r, "role");
    assert_eq!(role["status"], "problem");
    assert!(
        text(role).contains("sub=repo:test-owner/test-repo"),
        "{role}"
    );
    assert!(text(role).contains("ecr-login policy"), "{role}");
}

#[test]
fn an_unresolvable_registry_and_a_helper_hiding_the_entry() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let host = "444444444444.dkr.ecr.us-east-1.amazonaws.com";
    sb.write_config(&format!(
        r#"{{"credsStore": "desktop", "auths": {{"{host}": {{"auth": "QVdTOng="}}}}}}"#
    ));
    let (run, r) = doctor(
        sb.cmd()
            .aws_keys()
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .env("AWS_REGION", "us-east-1")
            .args(&["--registries", host]),
    );
    assert_eq!(run.code, 1);
    let reg = check(&r, &format!("{host}: registry"));
    assert_eq!(reg["status"], "problem");
    assert!(text(reg).contains("does not resolve"), "{reg}");
    let api = check(&r, &format!("{host}: ECR API"));
    assert_eq!(api["status"], "ok", "the endpoint URL answers: {api}");
    let file = check(&r, "auth file");
    assert_eq!(file["status"], "problem");
    assert!(text(file).contains("no basic auth credentials"), "{file}");
    assert!(text(file).contains("docker-credential-desktop"), "{file}");
}

#[test]
fn human_output_says_ok_problem_and_fix() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .subcommand("doctor")
        .args(&["--registries", "123456789012"])
        .run();
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("ok      platform: github-actions"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("PROBLEM identity token"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("fix: add `permissions: id-token: write`"),
        "{}",
        run.stdout
    );
}

#[test]
fn explain_maps_known_messages_and_admits_unknown_ones() {
    let sb = Sandbox::new();
    for (msg, needle) in [
        (
            "Error response from daemon: no basic auth credentials",
            "credsStore/credHelpers",
        ),
        (
            "denied: Your authorization token has expired. Reauthenticate and try again.",
            "12 hours",
        ),
        ("dial tcp 1.2.3.4:443: i/o timeout", "firewall"),
        ("lookup x: no such host", "DNS"),
        (
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            "trust policy",
        ),
        (
            "x509: certificate signed by unknown authority",
            "SSL_CERT_FILE",
        ),
        (
            "name unknown: The repository with name 'a' does not exist in the registry",
            "create-repository",
        ),
    ] {
        let run = sb
            .cmd()
            .subcommand("doctor")
            .args(&["--explain", msg])
            .run();
        run.assert_ok();
        assert!(run.stdout.contains(needle), "{msg}: {}", run.stdout);
    }
    let run = sb
        .cmd()
        .subcommand("doctor")
        .args(&["--explain", "something nobody has seen"])
        .run();
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("does not know") && run.stdout.contains("ecr-login doctor"));
}

#[test]
fn a_proxy_is_named_without_its_password() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    // Nothing listens on port 9: the reachability check through it fails, and says so.
    let (run, r) = doctor(
        sb.github(&proxy, &shared_issuer_url())
            .env(
                "HTTPS_PROXY",
                "http://corp-user:s3cret-proxy-pw@127.0.0.1:9",
            )
            .env("NO_PROXY", "127.0.0.1,localhost")
            .args(&["--registries", "123456789012", "-vv"]),
    );
    let shown = r.to_string();
    assert!(
        shown.contains("through the proxy http://***@127.0.0.1:9"),
        "the registry check names the proxy: {r:#}"
    );
    assert!(
        run.stderr.contains("config:"),
        "-vv logs the configuration: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("::add-mask::s3cret-proxy-pw\n"),
        "GitHub is told to mask the proxy's password: {}",
        run.stderr
    );
    for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        // The mask commands aside, which hand the password to GitHub to hide.
        let shown: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .filter(|l| l.contains("s3cret-proxy-pw") || l.contains("corp-user"))
            .collect();
        assert!(
            shown.is_empty(),
            "{what} shows the proxy's credentials: {shown:#?}"
        );
    }
}

/// `doctor`'s report as a user reads it: a healthy GitHub job, and one without the
/// `id-token: write` permission.
#[test]
fn doctors_report_as_the_user_reads_it() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let healthy = sb
        .github(&proxy, &shared_issuer_url())
        .args(&["--registries", "123456789012"])
        .subcommand("doctor")
        .run();
    let no_permission = sb
        .github(&proxy, &shared_issuer_url())
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .args(&["--registries", "123456789012"])
        .subcommand("doctor")
        .run();
    let (sandbox, aws, issuer) = (
        sb.path().display().to_string(),
        proxy.url(),
        shared_issuer_url(),
    );
    let bare = |url: &str| url.trim_start_matches("http://").to_string();
    let (aws_host, issuer_host) = (bare(&aws), bare(&issuer));
    let places = [
        (sandbox.as_str(), "[SANDBOX]"),
        (aws.as_str(), "[AWS]"),
        (issuer.as_str(), "[ISSUER]"),
        (aws_host.as_str(), "[AWS-HOST]"),
        (issuer_host.as_str(), "[ISSUER-HOST]"),
    ];
    let text = format!(
        "===== healthy (exit {})\n{}{}\n===== no id-token permission (exit {})\n{}{}",
        healthy.code,
        healthy.stdout,
        healthy.stderr,
        no_permission.code,
        no_permission.stdout,
        no_permission.stderr
    );
    insta::assert_snapshot!(scrubbed(&text, &places));
}
