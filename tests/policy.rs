//! `ecr-login policy`: the printed JSON parses and has the right issuer host, audience and
//! `sub` keys per platform; and the trust policy, evaluated like IAM by the test STS, accepts
//! the job's own tokens and rejects others.

use crate::harness::*;

fn policy(cmd: Cmd, only: &str) -> serde_json::Value {
    let run = cmd.subcommand("policy").args(&["--only", only]).run();
    run.assert_ok();
    run.json()
}

fn conditions(trust: &serde_json::Value) -> (&str, serde_json::Value) {
    let st = &trust["Statement"][0];
    assert_eq!(st["Action"], "sts:AssumeRoleWithWebIdentity");
    assert_eq!(st["Effect"], "Allow");
    (
        st["Principal"]["Federated"].as_str().unwrap(),
        st["Condition"].clone(),
    )
}

fn github_env(sb: &Sandbox) -> Cmd {
    sb.cmd()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "test-owner/test-repo")
        .env("GITHUB_REF", "refs/heads/main")
        .env("AWS_ROLE_ARN", ROLE)
}

#[test]
fn github_trust_policy_lets_this_job_in_and_no_other() {
    let issuer = shared_issuer_url();
    let host = issuer.trim_start_matches("http://").to_string();
    let sb = Sandbox::new();
    let trust = policy(github_env(&sb).env("ECR_LOGIN_ISSUER", &issuer), "trust");
    let (principal, cond) = conditions(&trust);
    assert_eq!(
        principal,
        format!("arn:aws:iam::123456789012:oidc-provider/{host}")
    );
    assert_eq!(
        cond["StringEquals"][format!("{host}:aud")],
        "sts.amazonaws.com"
    );
    assert_eq!(
        cond["StringEquals"][format!("{host}:sub")],
        "repo:test-owner/test-repo:ref:refs/heads/main"
    );

    // IAM (the test STS) evaluating that policy accepts this job's token...
    let proxy = policy_proxy(&sb, &trust.to_string());
    sb.github(&proxy, &issuer)
        .args(&["--registries", "111111111111"])
        .run()
        .assert_ok();

    // ...and rejects a policy for another branch, or the owner spelled in another case.
    for args in [
        &["--ref", "release"][..],
        &["--repo", "Test-Owner/test-repo"][..],
    ] {
        let sb2 = Sandbox::new();
        let other = policy(
            github_env(&sb2).env("ECR_LOGIN_ISSUER", &issuer).args(args),
            "trust",
        );
        let proxy = policy_proxy(&sb2, &other.to_string());
        sb2.github(&proxy, &issuer)
            .args(&["--registries", "111111111111"])
            .run()
            .assert_fails(
                4,
                &[
                    "AccessDenied",
                    "sub=repo:test-owner/test-repo:ref:refs/heads/main",
                ],
            );
    }
}

#[test]
fn github_any_ref_is_a_wildcard_still_pinned_to_the_repo() {
    let sb = Sandbox::new();
    let trust = policy(github_env(&sb).arg("--any-ref"), "trust");
    let (_, cond) = conditions(&trust);
    assert_eq!(
        cond["StringLike"]["token.actions.githubusercontent.com:sub"],
        "repo:test-owner/test-repo:*"
    );
    assert_eq!(
        cond["StringEquals"]["token.actions.githubusercontent.com:aud"],
        "sts.amazonaws.com"
    );
}

#[test]
fn gitlab_self_managed_policy_matches_its_tokens() {
    let iss = "https://gitlab.example.com";
    let sb = Sandbox::new();
    let gl = |sb: &Sandbox| {
        sb.cmd()
            .env("GITLAB_CI", "true")
            .env("CI_SERVER_URL", iss)
            .env("CI_PROJECT_PATH", "grp/proj")
            .env("CI_COMMIT_REF_NAME", "main")
            .env("AWS_ROLE_ARN", ROLE)
    };
    let provider = policy(gl(&sb), "provider");
    assert_eq!(provider["Url"], iss);
    assert_eq!(provider["ClientIDList"][0], iss);
    let trust = policy(gl(&sb), "trust");
    let (principal, cond) = conditions(&trust);
    assert!(principal.ends_with(":oidc-provider/gitlab.example.com"));
    assert_eq!(
        cond["StringEquals"]["gitlab.example.com:sub"],
        "project_path:grp/proj:ref_type:branch:ref:main"
    );

    let proxy = policy_proxy(&sb, &trust.to_string());
    let q = |s: &str| s.replace(':', "%3A").replace('/', "%2F");
    let good = shared_issuer().token(&format!(
        "iss={}&audience={}&sub={}",
        q(iss),
        q(iss),
        q("project_path:grp/proj:ref_type:branch:ref:main")
    ));
    let bad = shared_issuer().token(&format!(
        "iss={}&audience={}&sub={}",
        q(iss),
        q(iss),
        q("project_path:grp/other:ref_type:branch:ref:main")
    ));
    let login = |jwt: &str| {
        sb.ci(&proxy)
            .env("GITLAB_CI", "true")
            .env("GITLAB_OIDC_TOKEN", jwt)
            .args(&["--registries", "111111111111"])
            .run()
    };
    login(&good).assert_ok();
    login(&bad).assert_fails(4, &["AccessDenied", "sub=project_path:grp/other"]);
}

#[test]
fn shared_issuers_are_never_trusted_whole() {
    let sb = Sandbox::new();
    for (env, args) in [
        (
            vec![("GITLAB_CI", "true")],
            vec!["--subject", "project_path:*"],
        ),
        (vec![("GITLAB_CI", "true")], vec!["--subject", "*"]),
        (
            vec![("BUILDKITE", "true")],
            vec!["--repo", "acme/web", "--subject", "organization:*"],
        ),
        (
            vec![("GITHUB_ACTIONS", "true")],
            vec!["--subject", "repo:*"],
        ),
    ] {
        let mut cmd = sb
            .cmd()
            .args(&["policy", "--account", "123456789012"])
            .args(&args);
        for (k, v) in env {
            cmd = cmd.env(k, v);
        }
        cmd.run().assert_fails(2, &["refusing to trust sub"]);
    }
}

#[test]
fn buildkite_policy_pins_org_and_pipeline() {
    let sb = Sandbox::new();
    let trust = policy(
        sb.cmd()
            .env("BUILDKITE", "true")
            .env("BUILDKITE_ORGANIZATION_SLUG", "acme")
            .env("BUILDKITE_PIPELINE_SLUG", "web")
            .env("BUILDKITE_BRANCH", "main")
            .env("AWS_ROLE_ARN", ROLE),
        "trust",
    );
    let (principal, cond) = conditions(&trust);
    assert!(principal.ends_with(":oidc-provider/agent.buildkite.com"));
    assert_eq!(
        cond["StringEquals"]["agent.buildkite.com:aud"], "sts.amazonaws.com",
        "the audience Buildkite's AWS guide sets up, and the one login requests by default"
    );
    assert_eq!(
        cond["StringLike"]["agent.buildkite.com:sub"],
        "organization:acme:pipeline:web:ref:refs/heads/main:commit:*:step:*"
    );
}

#[test]
fn circleci_bitbucket_and_eks_policies_come_from_the_jobs_token() {
    let q = |s: &str| {
        s.replace(':', "%3A")
            .replace('/', "%2F")
            .replace('{', "%7B")
            .replace('}', "%7D")
    };
    let mint = |iss: &str, aud: &str, sub: &str| {
        shared_issuer().token(&format!(
            "iss={}&audience={}&sub={}",
            q(iss),
            q(aud),
            q(sub)
        ))
    };
    let sb = Sandbox::new();

    let cci = mint(
        "https://oidc.circleci.com/org/org-1",
        "org-1",
        "org/org-1/project/proj-2/user/user-3",
    );
    let trust = policy(
        sb.cmd()
            .env("CIRCLECI", "true")
            .env("CIRCLE_OIDC_TOKEN_V2", &cci)
            .env("AWS_ROLE_ARN", ROLE),
        "trust",
    );
    let (principal, cond) = conditions(&trust);
    assert!(
        principal.ends_with(":oidc-provider/oidc.circleci.com/org/org-1"),
        "{principal}"
    );
    assert_eq!(
        cond["StringEquals"]["oidc.circleci.com/org/org-1:aud"],
        "org-1"
    );
    assert_eq!(
        cond["StringLike"]["oidc.circleci.com/org/org-1:sub"],
        "org/org-1/project/proj-2/*"
    );

    let bb_iss = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
    let bb = mint(bb_iss, "ari:cloud:bitbucket::workspace/6a3e", "{7c1d}:{s}");
    let trust = policy(
        sb.cmd()
            .env("BITBUCKET_BUILD_NUMBER", "1")
            .env("BITBUCKET_REPO_UUID", "{7c1d}")
            .env("BITBUCKET_STEP_OIDC_TOKEN", &bb)
            .env("AWS_ROLE_ARN", ROLE),
        "trust",
    );
    let host = bb_iss.trim_start_matches("https://");
    let (_, cond) = conditions(&trust);
    assert_eq!(
        cond["StringEquals"][format!("{host}:aud")],
        "ari:cloud:bitbucket::workspace/6a3e"
    );
    assert_eq!(cond["StringLike"][format!("{host}:sub")], "{7c1d}:*");

    let eks_iss = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC123";
    let file = sb.path().join("sa-token");
    std::fs::write(
        &file,
        mint(
            eks_iss,
            "sts.amazonaws.com",
            "system:serviceaccount:ci:builder",
        ),
    )
    .unwrap();
    let trust = policy(
        sb.cmd()
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", file.to_str().unwrap())
            .env("AWS_ROLE_ARN", ROLE),
        "trust",
    );
    let (_, cond) = conditions(&trust);
    let host = eks_iss.trim_start_matches("https://");
    assert_eq!(
        cond["StringEquals"][format!("{host}:sub")],
        "system:serviceaccount:ci:builder"
    );
}

#[test]
fn jenkins_policy_uses_the_plugin_defaults() {
    let sb = Sandbox::new();
    let trust = policy(
        sb.cmd()
            .env("JENKINS_URL", "https://jenkins.example.com/")
            .env("JOB_URL", "https://jenkins.example.com/job/app/")
            .args(&["--role-arn", "arn:aws-us-gov:iam::123456789012:role/ci"]),
        "trust",
    );
    let (principal, cond) = conditions(&trust);
    assert_eq!(
        principal,
        "arn:aws-us-gov:iam::123456789012:oidc-provider/jenkins.example.com/oidc"
    );
    assert_eq!(
        cond["StringEquals"]["jenkins.example.com/oidc:sub"],
        "https://jenkins.example.com/job/app/"
    );
}

#[test]
fn permission_policy_pull_and_push() {
    let sb = Sandbox::new();
    let pull = policy(
        github_env(&sb).args(&["--region", "eu-west-1"]),
        "permissions",
    );
    assert_eq!(pull["Statement"][0]["Action"], "ecr:GetAuthorizationToken");
    assert_eq!(
        pull["Statement"][1]["Resource"][0],
        "arn:aws:ecr:eu-west-1:123456789012:repository/*"
    );
    let actions = pull["Statement"][1]["Action"].as_array().unwrap();
    assert!(!actions.iter().any(|a| a == "ecr:PutImage"));

    let push = policy(
        github_env(&sb).args(&[
            "--access",
            "push",
            "--repositories",
            "team/app,team/api",
            "--public",
        ]),
        "permissions",
    );
    let actions = push["Statement"][1]["Action"].as_array().unwrap();
    assert!(actions.iter().any(|a| a == "ecr:PutImage"));
    assert_eq!(
        push["Statement"][1]["Resource"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        push["Statement"][2]["Action"][0],
        "ecr-public:GetAuthorizationToken"
    );
}

#[test]
fn policy_needs_a_platform_and_an_account() {
    let sb = Sandbox::new();
    sb.cmd()
        .args(&["policy", "--account", "123456789012"])
        .run()
        .assert_fails(2, &["no OIDC issuer", "--platform"]);
    sb.cmd()
        .env("GITHUB_ACTIONS", "true")
        .args(&["policy", "--repo", "o/r", "--any-ref"])
        .run()
        .assert_fails(2, &["--account"]);
}

#[test]
fn human_output_explains_each_document() {
    let sb = Sandbox::new();
    let run = github_env(&sb).subcommand("policy").run();
    run.assert_ok();
    for needle in [
        "aws iam create-open-id-connect-provider",
        "aws iam create-role",
        "aws iam put-role-policy",
        "repo:test-owner/test-repo:ref:refs/heads/main",
    ] {
        assert!(run.stdout.contains(needle), "{needle}:\n{}", run.stdout);
    }
}

/// Issue 8: CircleCI's trust policy from a laptop, with the two ids from the settings pages.
#[test]
fn circleci_policy_outside_a_job_from_the_org_and_project_ids() {
    let sb = Sandbox::new();
    let org = "0b0d2a1e-1c4d-4c4b-9f44-6f0c9d1a2b3c";
    let project = "7e1f0c2a-5b6d-4e8f-a1b2-c3d4e5f60718";
    let trust = policy(
        sb.cmd().args(&[
            "--platform",
            "circleci",
            "--repo",
            &format!("{org}/{project}"),
            "--account",
            "123456789012",
        ]),
        "trust",
    );
    let host = format!("oidc.circleci.com/org/{org}");
    let (principal, cond) = conditions(&trust);
    assert_eq!(
        principal,
        format!("arn:aws:iam::123456789012:oidc-provider/{host}")
    );
    assert_eq!(cond["StringEquals"][format!("{host}:aud")], org);
    assert_eq!(
        cond["StringLike"][format!("{host}:sub")],
        format!("org/{org}/project/{project}/*")
    );
    // A wildcard cannot slip in through the ids.
    sb.cmd()
        .subcommand("policy")
        .args(&[
            "--platform",
            "circleci",
            "--repo",
            "*/x",
            "--account",
            "123456789012",
        ])
        .run()
        .assert_fails(2, &["<org-id>/<project-id>", "Organization Settings"]);
}

/// Issue 8: a pull-only role is said to be one, next to the command for a pushing role.
#[test]
fn the_pull_default_says_how_to_get_push() {
    let sb = Sandbox::new();
    let run = github_env(&sb)
        .subcommand("policy")
        .args(&["--ref", "main"])
        .run();
    run.assert_ok();
    assert!(
        run.stdout
            .contains("(pull only: a job that pushes needs --access push)"),
        "{}",
        run.stdout
    );
    let push = github_env(&sb)
        .subcommand("policy")
        .args(&["--ref", "main", "--access", "push"])
        .run();
    push.assert_ok();
    assert!(push
        .stdout
        .contains("ecr-login policy --only permissions --access push"));
}
