//! What goes where: one JSON document on stdout with `--output json`, GitHub's
//! masks on stderr then; `--env-file` the same on every platform; a hand-off file that cannot
//! be written is its own error; the dual-stack hosts.

use crate::harness::*;

const H: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

#[test]
fn json_on_github_is_one_document_and_the_masks_go_to_stderr_first() {
    let proxy = Proxy::with_args(&[]);
    let sb = Sandbox::new();
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .args(&["--registries", "123456789012", "--output", "json"])
        .run();
    run.assert_ok();
    // stdout is exactly one JSON document (what `| jq` needs).
    let doc: serde_json::Value = serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", run.stdout));
    assert_eq!(doc["registries"][0]["registry"], H);
    assert!(!run.stdout.contains("::add-mask::"));
    // Every secret was masked on stderr, before any other line.
    let lines: Vec<&str> = run.stderr.lines().collect();
    let last_mask = lines
        .iter()
        .rposition(|l| l.starts_with("::add-mask::"))
        .expect("no ::add-mask:: on stderr");
    assert!(
        lines[..last_mask]
            .iter()
            .all(|l| l.starts_with("::add-mask::")),
        "a line came before the last mask:\n{}",
        run.stderr
    );
    let masked: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .collect();
    let secrets = proxy.secrets();
    assert!(!secrets.is_empty(), "the proxy recorded no secret");
    let password = b64decode(sb.config()["auths"][H]["auth"].as_str().unwrap());
    let password = password.split_once(':').unwrap().1.to_string();
    for s in secrets.iter().chain([&password]) {
        assert!(masked.contains(&s.as_str()), "not masked: {}...", &s[..6]);
    }
}

#[test]
fn human_output_on_github_keeps_the_masks_on_stdout() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .args(&["--registries", "123456789012"])
        .run();
    run.assert_ok();
    assert!(run.stdout.starts_with("::add-mask::"), "{}", run.stdout);
    assert!(!run.stderr.contains("::add-mask::"));
}

/// Each platform's detection variables, for a login with the credential chain (no role: no
/// token needed, so every platform logs in the same way).
const PLATFORMS: &[(&str, &[(&str, &str)])] = &[
    ("github-actions", &[("GITHUB_ACTIONS", "true")]),
    ("gitlab-ci", &[("GITLAB_CI", "true")]),
    ("circleci", &[("CIRCLECI", "true")]),
    ("jenkins", &[("JENKINS_URL", "https://ci.example.com/")]),
    ("buildkite", &[("BUILDKITE", "true")]),
    ("bitbucket", &[("BITBUCKET_BUILD_NUMBER", "7")]),
    ("web-identity", &[]),
    ("local", &[]),
];

#[test]
fn env_file_is_written_the_same_on_every_platform() {
    let proxy = Proxy::start();
    for (name, vars) in PLATFORMS {
        let sb = Sandbox::new();
        let env_file = sb.path().join("ecr-login.env");
        let mut cmd = sb
            .cmd()
            .aws_keys()
            .env("AWS_ENDPOINT_URL", &proxy.url())
            .env("AWS_REGION", "us-east-1")
            .args(&[
                "--platform",
                name,
                "--registries",
                "123456789012,public.ecr.aws",
                "--env-file",
                env_file.to_str().unwrap(),
            ]);
        for (k, v) in *vars {
            cmd = cmd.env(k, v);
        }
        cmd.run().assert_ok();
        assert_eq!(
            std::fs::read_to_string(&env_file).unwrap_or_else(|e| panic!("{name}: {e}")),
            format!("ECR_LOGIN_REGISTRY={H}\nECR_LOGIN_REGISTRY_HOSTS={H},public.ecr.aws\n"),
            "{name}"
        );
    }
}

#[test]
fn an_unwritable_github_output_is_a_handoff_error_with_its_cause() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let missing = sb.path().join("no-such-dir/output");
    sb.github(&proxy, &shared_issuer_url())
        .env("GITHUB_OUTPUT", missing.to_str().unwrap())
        .args(&["--registries", "123456789012"])
        .run()
        .assert_fails(
            8,
            &[
                "GITHUB_OUTPUT",
                "caused by:",
                "No such file or directory",
                "help:",
            ],
        );
}

#[test]
fn dual_stack_writes_both_hosts_from_one_token() {
    let proxy = Proxy::start();
    let sb = Sandbox::new();
    let run = sb
        .github(&proxy, &shared_issuer_url())
        .args(&[
            "--registries",
            "123456789012,public.ecr.aws",
            "--dual-stack",
            "--output",
            "json",
        ])
        .run();
    run.assert_ok();
    let dual = "123456789012.dkr-ecr.us-east-1.on.aws";
    assert_eq!(sb.auth(dual), sb.auth(H));
    assert_eq!(sb.auth("ecr-public.aws.com"), sb.auth("public.ecr.aws"));
    let hosts: Vec<String> = run.json()["registries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["registry"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(hosts, [H, dual, "public.ecr.aws", "ecr-public.aws.com"]);
    assert_eq!(
        proxy.count("ecr", None),
        1,
        "one private token serves both hosts"
    );
}
