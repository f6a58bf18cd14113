//! `ecr-login logout`: removes what login wrote (ECR entries only), through credential stores
//! too, and leaves every other login alone.

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";
const H3: &str = "333333333333.dkr.ecr.eu-west-1.amazonaws.com";

fn logged_in(sb: &Sandbox) {
    let proxy = Proxy::start();
    sb.write_config(r#"{"auths": {"ghcr.io": {"auth": "dXNlcjpwYXNz"}}, "psFormat": "x"}"#);
    sb.github(&proxy, &shared_issuer_url())
        .args(&["--registries", &format!("111111111111,{H3},public.ecr.aws")])
        .run()
        .assert_ok();
}

#[test]
fn logout_without_names_removes_every_ecr_login_and_nothing_else() {
    let sb = Sandbox::new();
    logged_in(&sb);
    let run = sb.cmd().arg("logout").run();
    run.assert_ok();
    for h in [H1, H3, "public.ecr.aws"] {
        assert!(
            run.stdout.contains(&format!("Logged out of {h}")),
            "{}",
            run.stdout
        );
    }
    let c = sb.config();
    assert_eq!(c["auths"].as_object().unwrap().len(), 1, "{c:#}");
    assert_eq!(c["auths"]["ghcr.io"]["auth"], "dXNlcjpwYXNz");
    assert_eq!(c["psFormat"], "x");
    // Again: nothing left to do, and that is not an error.
    let again = sb.cmd().arg("logout").run();
    again.assert_ok();
    assert!(again.stdout.contains("No ECR logins to remove"));
}

#[test]
fn logout_of_named_registries_only() {
    let sb = Sandbox::new();
    logged_in(&sb);
    sb.cmd()
        .args(&[
            "logout",
            "--registries",
            "111111111111",
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .run()
        .assert_ok();
    let c = sb.config();
    assert!(c["auths"].get(H1).is_none());
    assert!(c["auths"].get(H3).is_some());
    assert!(c["auths"].get("public.ecr.aws").is_some());
}

#[test]
fn logout_erases_from_the_credential_store() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let log = sb.path().join("store.log");
    sb.install_program(
        "docker-credential-teststore",
        &format!("#!/bin/sh\necho \"$1: $(cat)\" >> '{}'\n", log.display()),
    );
    sb.write_config(r#"{"credsStore": "teststore"}"#);
    sb.github(&proxy, &shared_issuer_url())
        .env("PATH", &sb.path_with_bin())
        .args(&["--registries", "111111111111"])
        .run()
        .assert_ok();
    sb.cmd()
        .env("PATH", &sb.path_with_bin())
        .arg("logout")
        .run()
        .assert_ok();
    let text = std::fs::read_to_string(log).unwrap();
    assert!(text.lines().any(|l| l == format!("erase: {H1}")), "{text}");
    assert!(sb.config()["auths"].get(H1).is_none());
}

#[test]
fn logout_with_no_config_is_fine() {
    let sb = Sandbox::new();
    sb.cmd().arg("logout").run().assert_ok();
    assert!(!sb.config_path().exists());
}

#[test]
fn logout_cleans_every_auth_file_login_kept_in_step() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    // Podman's primary file exists (a `podman login` to another registry, and one to an ECR
    // namespace): login keeps it in step, so logout must clean it too.
    let podman = sb.path().join("run/containers/auth.json");
    std::fs::create_dir_all(podman.parent().unwrap()).unwrap();
    std::fs::write(
        &podman,
        format!(
            r#"{{"auths": {{"quay.io": {{"auth": "dXNlcjpwYXNz"}}, "{H3}/team": {{"auth": "QVdTOm9sZA=="}}}}}}"#
        ),
    )
    .unwrap();
    let named = sb.path().join("skopeo-auth.json");
    sb.github(&proxy, &shared_issuer_url())
        .args(&[
            "--registries",
            "111111111111",
            "--auth-file",
            named.to_str().unwrap(),
        ])
        .run()
        .assert_ok();
    let read = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    assert!(
        read(&podman)["auths"].get(H1).is_some(),
        "login kept Podman's file in step"
    );
    assert!(read(&named)["auths"].get(H1).is_some());

    let run = sb
        .cmd()
        .args(&["logout", "--auth-file", named.to_str().unwrap()])
        .run();
    run.assert_ok();
    for h in [H1, H3] {
        assert_eq!(
            run.stdout.matches(&format!("Logged out of {h}")).count(),
            1,
            "each host once:\n{}",
            run.stdout
        );
    }
    for file in [
        podman.as_path(),
        named.as_path(),
        sb.config_path().as_path(),
    ] {
        let auths = &read(file)["auths"];
        assert!(
            auths
                .as_object()
                .unwrap()
                .keys()
                .all(|k| !k.contains(".dkr.ecr.")),
            "an ECR login is left in {}: {auths:#}",
            file.display()
        );
    }
    assert_eq!(read(&podman)["auths"]["quay.io"]["auth"], "dXNlcjpwYXNz");
}
