//! Issue 7's defects, through the real binary: no token in a trace log whatever the filter,
//! no trust policy open to other organizations, no registry host ECR's answer makes up, no
//! token URL query in messages, a Docker config directory not trusted blindly, `"auths": null`
//! and ECR Public's dual-stack host.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::harness::*;

const H1: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com";

/// Where a secret the proxy handed out reaches stderr, or stdout outside the `::add-mask::`
/// lines whose job is to name them.
fn leaks(run: &Run, secrets: &[String], what: &str) -> Vec<String> {
    let mut out = Vec::new();
    for s in secrets {
        if run.stderr.contains(s.as_str()) {
            out.push(format!("{what}: stderr leaks {}...", &s[..6]));
        }
        let on_stdout = run
            .stdout
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .any(|l| l.contains(s.as_str()));
        if on_stdout {
            out.push(format!("{what}: stdout leaks {}...", &s[..6]));
        }
    }
    out
}

#[test]
fn no_log_filter_lets_a_token_through() {
    let cases: &[(&str, Option<&str>, &[&str])] = &[
        ("ECR_LOGIN_LOG=trace", Some("trace"), &[]),
        ("ECR_LOGIN_LOG=5", Some("5"), &[]),
        (
            "ECR_LOGIN_LOG=<the SDK's http module>=trace",
            Some("aws_smithy_runtime::client::orchestrator::http=trace"),
            &[],
        ),
        (
            "ECR_LOGIN_LOG=debug,<orchestrator>=trace",
            Some("debug,aws_smithy_runtime::client::orchestrator=trace,aws_sdk_ecr=trace"),
            &[],
        ),
        ("-vvv", None, &["-vvv"]),
    ];
    let mut problems = Vec::new();
    for (what, filter, args) in cases {
        let proxy = Proxy::start();
        let sb = Sandbox::new();
        let mut cmd = sb
            .github(&proxy, &shared_issuer_url())
            .args(&["--registries", "111111111111,public.ecr.aws"])
            .args(args);
        if let Some(f) = filter {
            cmd = cmd.env("ECR_LOGIN_LOG", f);
        }
        let run = cmd.run();
        run.assert_ok();
        let secrets = proxy.secrets();
        // JWT, key id, secret key, session token, 2 tokens and 2 passwords.
        assert!(secrets.len() >= 8, "{what}: {} secrets", secrets.len());
        problems.extend(leaks(&run, &secrets, what));
        assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn policy_refuses_an_organization_prefix_on_shared_issuers() {
    let sb = Sandbox::new();
    let cases: &[&[&str]] = &[
        &["--platform", "github-actions", "--subject", "repo:o*"],
        &["--platform", "github-actions", "--repo", "o*", "--any-ref"],
        &[
            "--platform",
            "github-actions",
            "--subject",
            "repo:octo-org*/app:*",
        ],
        &["--platform", "gitlab-ci", "--subject", "project_path:g*"],
        &[
            "--platform",
            "buildkite",
            "--repo",
            "acme/web",
            "--subject",
            "organization:acme*:pipeline:web:*",
        ],
    ];
    for args in cases {
        sb.cmd()
            .args(&["policy", "--account", "123456789012"])
            .args(args)
            .run()
            .assert_fails(
                2,
                &[
                    "refusing to trust sub",
                    "every organization whose name starts with",
                ],
            );
    }
    let accepted: &[(&[&str], &str)] = &[
        (
            &["--platform", "github-actions", "--subject", "repo:owner/*"],
            "repo:owner/*",
        ),
        (
            &[
                "--platform",
                "github-actions",
                "--repo",
                "owner/repo",
                "--any-ref",
            ],
            "repo:owner/repo:*",
        ),
        (
            &[
                "--platform",
                "gitlab-ci",
                "--subject",
                "project_path:group/project:*",
            ],
            "project_path:group/project:*",
        ),
        (
            &[
                "--platform",
                "buildkite",
                "--repo",
                "org/p",
                "--subject",
                "organization:org:pipeline:p:*",
            ],
            "organization:org:pipeline:p:*",
        ),
    ];
    for (args, sub) in accepted {
        let run = sb
            .cmd()
            .args(&["policy", "--account", "123456789012", "--only", "trust"])
            .args(args)
            .run();
        run.assert_ok();
        let like = &run.json()["Statement"][0]["Condition"]["StringLike"];
        let got: Vec<&serde_json::Value> = like.as_object().unwrap().values().collect();
        assert_eq!(got, [&serde_json::json!(sub)], "{args:?}");
    }
}

#[test]
fn a_registry_endpoint_ecr_made_up_is_refused_and_nothing_written() {
    for endpoint in [
        "https://111111111111.dkr.ecr.us-east-1.amazonaws.com\nECR_LOGIN_EVIL=1",
        "",
        "https://registry.evil.example",
    ] {
        let faults = serde_json::json!([{
            "service": "ecr",
            "operation": "GetAuthorizationToken",
            "proxy_endpoint": endpoint,
        }]);
        let proxy = Proxy::with_faults(&faults.to_string());
        let sb = Sandbox::new();
        let env_file = sb.path().join("login.env");
        let run = sb
            .github(&proxy, &shared_issuer_url())
            .args(&["--env-file", env_file.to_str().unwrap()])
            .run();
        run.assert_fails(5, &["unexpected registry endpoint", "AWS_ENDPOINT_URL"]);
        assert!(
            !sb.config_path().exists(),
            "{endpoint:?}: config.json was written"
        );
        assert!(!env_file.exists(), "{endpoint:?}: the env file was written");
        assert!(sb.outputs().is_empty(), "{endpoint:?}: {:?}", sb.outputs());
        assert_eq!(proxy.count("ecr", None), 1, "{endpoint:?}: not retried");
    }
}

#[test]
fn the_token_request_url_query_stays_out_of_messages() {
    let sb = Sandbox::new();
    let proxy = Proxy::start();
    let url = format!(
        "http://127.0.0.1:{}/token?api-version=2.0&sig=URL-QUERY-MARKER",
        free_port()
    );
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &url)
        .run();
    run.assert_fails(3, &["/token"]);
    assert!(
        run.stderr.contains("retrying"),
        "no retry warning:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("URL-QUERY-MARKER") && !run.stdout.contains("URL-QUERY-MARKER"),
        "the query leaked:\n{}",
        run.stderr
    );
}

#[test]
fn a_symlinked_lock_file_is_never_followed() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.docker_dir()).unwrap();
    let victim = sb.path().join("created-by-the-lock");
    std::os::unix::fs::symlink(&victim, sb.docker_dir().join("config.json.lock")).unwrap();
    sb.github(&proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111"])
        .run()
        .assert_fails(7, &["config.json.lock", "symbolic link", "remove it"]);
    assert!(!victim.exists(), "the symlinked lock was followed");
    assert!(!sb.config_path().exists());
}

#[test]
fn a_directory_others_can_write_or_own_is_warned_about() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.docker_dir()).unwrap();
    std::fs::set_permissions(sb.docker_dir(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111"])
        .run();
    run.assert_ok();
    assert!(
        run.stderr.contains("world-writable") && run.stderr.contains("chmod go-w"),
        "{}",
        run.stderr
    );

    // Someone else's directory (the tests run as root, who may give it away).
    if std::fs::metadata(sb.path()).unwrap().uid() == 0 {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.docker_dir()).unwrap();
        std::os::unix::fs::chown(sb.docker_dir(), Some(4242), Some(4242)).unwrap();
        let run = sb
            .github(&proxy, &shared_issuer_url())
            .args(&["--registries", "111111111111"])
            .run();
        run.assert_ok();
        assert!(run.stderr.contains("owned by uid 4242"), "{}", run.stderr);
    }
}

#[test]
fn a_rewritten_config_keeps_its_owner() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.write_config(r#"{"auths":{}}"#);
    assert_eq!(
        std::fs::metadata(sb.config_path()).unwrap().uid(),
        0,
        "this test gives a file to another user, which needs root: run scripts/test.sh as root (CI does)"
    );
    // As after `sudo ecr-login` in a user's home: the file stays the user's.
    std::os::unix::fs::chown(sb.config_path(), Some(4242), Some(4343)).unwrap();
    sb.github(&proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111"])
        .run()
        .assert_ok();
    let meta = std::fs::metadata(sb.config_path()).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (4242, 4343));
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
}

#[test]
fn null_auths_is_read_as_no_logins() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    sb.write_config(r#"{"auths": null, "detachKeys": "ctrl-e,e"}"#);
    sb.github(&proxy, &shared_issuer_url())
        .args(&["--registries", "111111111111"])
        .run()
        .assert_ok();
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    assert_eq!(sb.config()["detachKeys"], "ctrl-e,e");
}

#[test]
fn ecr_public_dual_stack_host_is_logged_in_under_its_own_name() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .args(&[
            "--registries",
            "https://ecr-public.aws.com/nginx/nginx:latest,111111111111",
        ])
        .run();
    run.assert_ok();
    assert_eq!(sb.auth("ecr-public.aws.com"), "AWS:public-ecr-auth-token");
    assert!(
        sb.config()["auths"].get("public.ecr.aws").is_none(),
        "{}",
        sb.config()
    );
    assert_eq!(proxy.count("ecr-public", Some("us-east-1")), 1);
    assert_eq!(sb.auth(H1), "AWS:111111111111-auth-token");
    assert!(
        sb.outputs()["registries"].contains("ecr-public.aws.com"),
        "{:?}",
        sb.outputs()
    );
}
