//! The whole product, for real: three private registries in two regions plus ECR Public in
//! one run, one ECR call per region, then `skopeo` — reading only the auth file ecr-login
//! wrote — pushes an image to each registry (Debian's docker-registry, htpasswd user `AWS`
//! with that registry's password, TLS) and pulls it back.
//!
//! The registries are the harness's (tests/harness/registry.rs); their names resolve to
//! local addresses inside the private network namespace that scripts/test.sh runs the tests
//! in (tests/support/hosts).

use std::process::Command;

use crate::harness::*;

/// The registries this test logs in to: the three private ones and ECR Public.
fn these() -> Vec<&'static (&'static str, &'static str, &'static str)> {
    REGISTRIES
        .iter()
        .filter(|(host, _, _)| !host.starts_with("123456789012."))
        .collect()
}

#[test]
fn three_registries_in_two_regions_and_public_then_skopeo_pushes_and_pulls() {
    let regs = registries();
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let list = "111111111111\n222222222222.dkr.ecr.us-east-1.amazonaws.com,333333333333.dkr.ecr.eu-west-1.amazonaws.com, public.ecr.aws";
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .args(&["--registries", list])
        .run();
    run.assert_ok();

    // The right entries, and one ECR call per region (plus one to ECR Public).
    for (host, _, password) in these() {
        assert_eq!(sb.auth(host), format!("AWS:{password}"));
    }
    assert_eq!(sb.config()["auths"].as_object().unwrap().len(), 4);
    assert_eq!(
        proxy.count("ecr", Some("us-east-1")),
        1,
        "{:?}",
        proxy.calls()
    );
    assert_eq!(proxy.count("ecr", Some("eu-west-1")), 1);
    assert_eq!(proxy.count("ecr-public", None), 1);
    assert_eq!(proxy.count("sts", None), 1);

    let authfile = sb.config_path();
    let certs = regs.certs.to_str().unwrap();
    for (host, _, _) in these() {
        let image = format!("docker://{host}/team/app:v1");
        run_ok(skopeo(&sb).args([
            "copy",
            "--dest-authfile",
            authfile.to_str().unwrap(),
            "--dest-cert-dir",
            certs,
            &format!("oci:{}:v1", regs.layout.display()),
            &image,
        ]));
        let inspected = run_ok(skopeo(&sb).args([
            "inspect",
            "--authfile",
            authfile.to_str().unwrap(),
            "--cert-dir",
            certs,
            &image,
        ]));
        let v: serde_json::Value = serde_json::from_str(&inspected).unwrap();
        assert_eq!(
            v["Labels"]["built-by"], "ecr-login tests",
            "{host}: {inspected}"
        );
        let pulled = sb.path().join(format!("pulled-{host}"));
        run_ok(skopeo(&sb).args([
            "copy",
            "--src-authfile",
            authfile.to_str().unwrap(),
            "--src-cert-dir",
            certs,
            &image,
            &format!("oci:{}:v1", pulled.display()),
        ]));
        assert!(pulled.join("index.json").is_file());
    }
}

#[test]
fn the_registries_really_check_the_password() {
    // Without this, the push test above would pass against registries that let anyone in.
    let regs = registries();
    let sb = Sandbox::new();
    sb.write_config(
        &serde_json::json!({"auths": {REGISTRIES[0].0: {"auth": "QVdTOndyb25nLXBhc3N3b3Jk"}}})
            .to_string(),
    );
    let out = skopeo(&sb)
        .args([
            "copy",
            "--dest-authfile",
            sb.config_path().to_str().unwrap(),
            "--dest-cert-dir",
            regs.certs.to_str().unwrap(),
            &format!("oci:{}:v1", regs.layout.display()),
            &format!("docker://{}/team/denied:v1", REGISTRIES[0].0),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unauthorized") || err.contains("authentication required"),
        "{err}"
    );
}

/// `login --mode helper`: config.json names the helper, no token in it; skopeo —
/// a real client — pushes and pulls through `docker-credential-ecr-login` (this binary), which
/// assumes the role the login recorded beside config.json.
#[test]
fn mode_helper_then_skopeo_pushes_through_the_helper() {
    let regs = registries();
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let bin = sb.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("docker-credential-ecr-login")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let host = REGISTRIES[0].0;
    sb.cmd()
        .aws_keys()
        .env("PATH", &path)
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .env("AWS_ROLE_ARN", ROLE)
        .env("XDG_CACHE_HOME", sb.path().join("cache").to_str().unwrap())
        .args(&["--registries", host, "--mode", "helper"])
        .run()
        .assert_ok();
    let c = sb.config();
    assert_eq!(c["credHelpers"][host], "ecr-login");
    assert!(c["auths"].get(host).is_none(), "{c}");
    let rules = std::fs::read_to_string(sb.docker_dir().join("ecr-login.toml")).unwrap();
    assert!(rules.contains(ROLE), "{rules}");

    // skopeo runs the helper with its own environment: no AWS_ROLE_ARN there, the rule says.
    let mut copy = Command::new(require_tool("skopeo", "skopeo"));
    copy.env_clear()
        .env("PATH", &path)
        .env("HOME", sb.path().join("skopeo-home"))
        .env("DOCKER_CONFIG", sb.docker_dir())
        .env("XDG_CACHE_HOME", sb.path().join("cache"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", sb.path().join("aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            sb.path().join("aws-credentials"),
        )
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .env("AWS_ENDPOINT_URL", proxy.url())
        .args([
            "--insecure-policy",
            "copy",
            "--dest-authfile",
            sb.config_path().to_str().unwrap(),
            "--dest-cert-dir",
            regs.certs.to_str().unwrap(),
            &format!("oci:{}:v1", regs.layout.display()),
            &format!("docker://{host}/team/helper:v1"),
        ]);
    run_ok(&mut copy);
    // The login filled the cache, so the helper made no call of its own.
    assert_eq!(proxy.count("ecr", None), 1, "{:?}", proxy.calls());
}
