//! The auth file: other keys preserved, credential stores honoured, concurrent writers safe.

use std::os::unix::fs::PermissionsExt;

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";

#[test]
fn existing_config_keeps_other_auths_cred_helpers_and_unknown_keys() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.write_config(
        r#"{
  "auths": {"ghcr.io": {"auth": "dXNlcjpwYXNz"}, "https://index.docker.io/v1/": {"auth": "ZDpl", "email": "x@y"}},
  "credHelpers": {"gcr.io": "gcloud", "999999999999.dkr.ecr.us-east-1.amazonaws.com": "ecr-login"},
  "psFormat": "table {{.ID}}",
  "plugins": {"x": {"y": [1, 2, {"z": null}]}},
  "proxies": {"default": {"httpProxy": "http://127.0.0.1:3128"}}
}"#,
    );
    sb.github(&proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111"])
        .run()
        .assert_ok();
    let c = sb.config();
    assert_eq!(c["auths"]["ghcr.io"]["auth"], "dXNlcjpwYXNz");
    assert_eq!(c["auths"]["https://index.docker.io/v1/"]["email"], "x@y");
    assert_eq!(c["credHelpers"]["gcr.io"], "gcloud");
    assert_eq!(
        c["credHelpers"]["999999999999.dkr.ecr.us-east-1.amazonaws.com"],
        "ecr-login"
    );
    assert_eq!(c["psFormat"], "table {{.ID}}");
    assert_eq!(c["plugins"]["x"]["y"][2]["z"], serde_json::Value::Null);
    assert_eq!(
        c["proxies"]["default"]["httpProxy"],
        "http://127.0.0.1:3128"
    );
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    let mode = std::fs::metadata(sb.config_path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    // No temp file left behind.
    let leftovers: Vec<_> = std::fs::read_dir(sb.docker_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A `docker-credential-<name>` helper on PATH that records what it is given.
fn install_store_helper(sb: &Sandbox, name: &str, fail: bool) -> std::path::PathBuf {
    let bin = sb.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = sb.path().join(format!("{name}.received"));
    let script = if fail {
        "#!/bin/sh\necho 'keychain is locked' ; exit 1\n".to_string()
    } else {
        format!(
            "#!/bin/sh\n[ \"$1\" = store ] || exit 3\necho \"argv: $*\" >> '{log}'\ncat >> '{log}'\necho >> '{log}'\n",
            log = log.display()
        )
    };
    let path = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    log
}

fn path_with(sb: &Sandbox) -> String {
    format!(
        "{}:{}",
        sb.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn creds_store_receives_the_credentials_on_stdin() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let log = install_store_helper(&sb, "teststore", false);
    sb.write_config(r#"{"credsStore": "teststore", "auths": {}}"#);
    sb.github(&proxy, &shared_issuer_url())
        .env("PATH", &path_with(&sb))
        .args(&["--registries", "111111111111"])
        .run()
        .assert_ok();
    let received = std::fs::read_to_string(&log).unwrap();
    assert!(received.contains("argv: store\n"), "{received}");
    let json: serde_json::Value = serde_json::from_str(received.lines().nth(1).unwrap()).unwrap();
    assert_eq!(json["ServerURL"], H1);
    assert_eq!(json["Username"], "AWS");
    assert_eq!(json["Secret"], "111111111111-auth-token");
    // The file names the host (as `docker login` does) but holds no password.
    let c = sb.config();
    assert_eq!(c["auths"][H1], serde_json::json!({}));
    assert_eq!(c["credsStore"], "teststore");
    assert!(!std::fs::read_to_string(sb.config_path())
        .unwrap()
        .contains("auth-token"));
}

#[test]
fn cred_helpers_entry_for_the_host_wins_over_creds_store() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let store_log = install_store_helper(&sb, "teststore", false);
    let helper_log = install_store_helper(&sb, "perhost", false);
    sb.write_config(&format!(
        r#"{{"credsStore": "teststore", "credHelpers": {{"{H1}": "perhost"}}}}"#
    ));
    sb.github(&proxy, &shared_issuer_url())
        .env("PATH", &path_with(&sb))
        .args(&["--registries", "111111111111"])
        .run()
        .assert_ok();
    assert!(std::fs::read_to_string(helper_log).unwrap().contains(H1));
    assert!(!store_log.exists());
}

#[test]
fn failing_creds_store_is_an_error_and_the_file_is_untouched() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    install_store_helper(&sb, "locked", true);
    let original = r#"{"credsStore": "locked"}"#;
    sb.write_config(original);
    sb.github(&proxy, &shared_issuer_url())
        .env("PATH", &path_with(&sb))
        .args(&["--registries", "111111111111"])
        .run()
        .assert_fails(
            7,
            &["docker-credential-locked", "keychain is locked", "help:"],
        );
    assert_eq!(std::fs::read_to_string(sb.config_path()).unwrap(), original);
}

#[test]
fn twenty_concurrent_logins_into_one_config_lose_nothing() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.write_config(r#"{"auths": {"ghcr.io": {"auth": "dXNlcjpwYXNz"}}, "keep": true}"#);
    let ids: Vec<String> = (0..20).map(|i| format!("1000000000{i:02}")).collect();
    let children: Vec<_> = ids
        .iter()
        .map(|id| {
            sb.github(&proxy, &shared_issuer_url())
                .args(&["--registries", id, "-q"])
                .command()
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let c = sb.config();
    let auths = c["auths"].as_object().unwrap();
    assert_eq!(auths.len(), 21, "{c:#}");
    for id in &ids {
        let host = format!("{id}.dkr.ecr.us-east-1.amazonaws.com");
        assert_eq!(sb.auth(&host), format!("AWS:{id}-auth-token"));
    }
    assert_eq!(c["keep"], true);
    assert_eq!(c["auths"]["ghcr.io"]["auth"], "dXNlcjpwYXNz");
}

/// A config left from amazon-ecr-credential-helper (Debian's package, the real one) routes the
/// host to `docker-credential-ecr-login`, whose `store` says "not implemented": the error names
/// that helper and the fix, and the file is untouched.
#[test]
fn a_leftover_amazon_ecr_credential_helper_entry_is_explained() {
    require_tool(
        "docker-credential-ecr-login",
        "amazon-ecr-credential-helper",
    );
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let original = format!(r#"{{"credHelpers": {{"{H1}": "ecr-login"}}}}"#);
    sb.write_config(&original);
    sb.github(&proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111"])
        .run()
        .assert_fails(
            7,
            &[
                "amazon-ecr-credential-helper",
                H1,
                "remove the \"ecr-login\" value from \"credHelpers\"",
                "DOCKER_CONFIG=$(mktemp -d)",
            ],
        );
    assert_eq!(std::fs::read_to_string(sb.config_path()).unwrap(), original);
}
