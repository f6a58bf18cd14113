//! `ecr-login policy`: the IAM pieces a role needs for this CI job — the OIDC identity
//! provider, a trust policy whose conditions match the platform's tokens exactly, and a
//! least-privilege ECR permission policy — as JSON the AWS CLI takes.
//!
//! It never prints a policy that trusts a whole issuer: `sub` is always pinned, and for issuers
//! shared by every customer of a platform it must pin at least the organization.

use serde_json::{json, Value};

use crate::cli::{Access, PolicyDocument};
use crate::config::PolicyConfig;
use crate::env::Env;
use crate::error::{Error, UsageError};
use crate::output::Printer;
use crate::platform::{self, TrustSpec};

/// Runs `policy` and prints the documents.
pub fn run(cfg: &PolicyConfig, env: &Env, printer: &Printer) -> Result<(), Error> {
    let platform = platform::select(env, cfg.platform.as_deref(), &platform::Options::default())?;
    let spec = platform.trust(&cfg.trust)?;
    check_pinned(&spec)?;
    if !spec.issuer.starts_with("https://") {
        tracing::warn!(
            "IAM accepts only https:// OIDC provider URLs; {} is not one",
            spec.issuer
        );
    }
    let provider = provider(&spec);
    let trust = trust_policy(cfg, &spec);
    let permissions = permission_policy(cfg);
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();

    if let Some(only) = cfg.only {
        printer.document(&pretty(match only {
            PolicyDocument::Provider => &provider,
            PolicyDocument::Trust => &trust,
            PolicyDocument::Permissions => &permissions,
        }));
        return Ok(());
    }
    printer.json(&json!({
        "platform": platform.name(),
        "oidc_provider": provider,
        "trust_policy": trust,
        "permission_policy": permissions,
    }));
    let host = issuer_host(&spec.issuer);
    let access = match cfg.access {
        Access::Pull => "pull",
        Access::Push => "push",
    };
    printer.line(&format!(
        "# 1. The IAM OIDC identity provider for {} (once per account):\n#    aws iam create-open-id-connect-provider --cli-input-json file://provider.json\n{}\n",
        spec.issuer,
        pretty(&provider)
    ));
    printer.line(&format!(
        "# 2. The role's trust policy: tokens from {host} with aud {:?} and sub {:?}\n#    ecr-login policy --only trust > trust.json\n#    aws iam create-role --role-name <name> --assume-role-policy-document file://trust.json\n{}\n",
        spec.audience,
        spec.subject,
        pretty(&trust)
    ));
    printer.line(&format!(
        "# 3. What the role may do in ECR ({access}):\n#    ecr-login policy --only permissions > ecr.json\n#    aws iam put-role-policy --role-name <name> --policy-name ecr-login --policy-document file://ecr.json\n{}",
        pretty(&permissions)
    ));
    Ok(())
}

/// The issuer as IAM names it in provider ARNs and condition keys: without the scheme.
fn issuer_host(issuer: &str) -> String {
    issuer
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// Refuses a `sub` pattern that trusts more than one project's tokens on a shared issuer, or
/// every token of any issuer.
///
/// IAM's `StringLike` `*` and `?` match any character, `/` and `:` included, so on an issuer
/// that signs tokens for every customer of a platform the organization must be spelled out in
/// full and closed by its separator: `repo:octo-org/*` pins one GitHub organization,
/// `repo:octo*` every organization whose name starts with `octo`.
fn check_pinned(spec: &TrustSpec) -> Result<(), UsageError> {
    let literal = spec.subject.split(['*', '?']).next().unwrap_or_default();
    if literal.len() == spec.subject.len() {
        return Ok(());
    }
    let refuse = |why: &str| {
        Err(UsageError::Other(format!(
            "refusing to trust sub {:?} of {}: {why}; name the project (--repo) or a narrower --subject",
            spec.subject, spec.issuer
        )))
    };
    if literal.trim().is_empty() {
        return refuse("it matches every token the issuer signs");
    }
    if !spec.shared_issuer {
        return Ok(());
    }
    // `<claim kind>:<organization><separator>...`: GitHub `repo:owner/repo:...`, GitLab
    // `project_path:group/project:...`, Buildkite `organization:org:pipeline:...`; for other
    // (customized) forms, whichever of `/` or `:` closes the organization.
    let Some((kind, rest)) = literal.split_once(':') else {
        return refuse("this issuer signs tokens for every customer of the platform, so sub must pin your organization and project");
    };
    let (separators, example): (&[char], String) = match kind {
        "repo" => (&['/'], "repo:<owner>/<repo>:*".into()),
        "project_path" => (&['/'], "project_path:<group>/<project>:*".into()),
        "organization" => (&[':'], "organization:<org>:pipeline:<pipeline>:*".into()),
        _ => (&['/', ':'], format!("{kind}:<organization>:*")),
    };
    let organization = rest.split_once(separators).map(|(org, _)| org);
    match organization {
        Some(org) if !org.is_empty() => Ok(()),
        _ => {
            let prefix = rest.split(separators).next().unwrap_or_default();
            let whom = if prefix.is_empty() {
                "every organization".to_string()
            } else {
                format!("every organization whose name starts with {prefix:?}")
            };
            let sep = separators[0];
            refuse(&format!(
                "this issuer signs tokens for every customer of the platform, and in a StringLike condition `*` and `?` match `/` and `:` too, so this would trust {whom}; spell out the whole organization followed by `{sep}`, like {example}"
            ))
        }
    }
}

fn provider(spec: &TrustSpec) -> Value {
    json!({
        "Url": spec.issuer,
        "ClientIDList": [spec.audience],
    })
}

fn trust_policy(cfg: &PolicyConfig, spec: &TrustSpec) -> Value {
    let host = issuer_host(&spec.issuer);
    let wildcard = spec.subject.contains(['*', '?']);
    let mut condition = json!({
        "StringEquals": { format!("{host}:aud"): spec.audience },
    });
    if wildcard {
        condition["StringLike"] = json!({ format!("{host}:sub"): spec.subject });
    } else {
        condition["StringEquals"][format!("{host}:sub")] = json!(spec.subject);
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EcrLoginFromCi",
            "Effect": "Allow",
            "Principal": {
                "Federated": format!("arn:{}:iam::{}:oidc-provider/{host}", cfg.partition, cfg.account),
            },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }],
    })
}

const PULL: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
];
const PUSH: &[&str] = &[
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
];

fn permission_policy(cfg: &PolicyConfig) -> Value {
    let region = cfg.region.as_deref().unwrap_or("*");
    let repos: Vec<String> = if cfg.repositories.is_empty() {
        vec!["*".into()]
    } else {
        cfg.repositories.clone()
    };
    let resources: Vec<String> = repos
        .iter()
        .map(|r| {
            format!(
                "arn:{}:ecr:{region}:{}:repository/{r}",
                cfg.partition, cfg.account
            )
        })
        .collect();
    let mut actions: Vec<&str> = PULL.to_vec();
    if cfg.access == Access::Push {
        actions.extend_from_slice(PUSH);
    }
    let mut statements = vec![
        json!({
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        }),
        json!({
            "Sid": if cfg.access == Access::Push { "EcrPushPull" } else { "EcrPull" },
            "Effect": "Allow",
            "Action": actions,
            "Resource": resources,
        }),
    ];
    if cfg.public {
        statements.push(json!({
            "Sid": "EcrPublicLogin",
            "Effect": "Allow",
            "Action": ["ecr-public:GetAuthorizationToken", "sts:GetServiceBearerToken"],
            "Resource": "*",
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(subject: &str, shared: bool) -> TrustSpec {
        TrustSpec {
            issuer: "https://token.actions.githubusercontent.com".into(),
            audience: "sts.amazonaws.com".into(),
            subject: subject.into(),
            shared_issuer: shared,
        }
    }

    #[test]
    fn shared_issuers_need_a_whole_organization() {
        let gitlab = |s: &str| TrustSpec {
            issuer: "https://gitlab.com".into(),
            ..spec(s, true)
        };
        let buildkite = |s: &str| TrustSpec {
            issuer: "https://agent.buildkite.com".into(),
            ..spec(s, true)
        };
        for ok in [
            spec("repo:owner/repo:*", true),
            spec("repo:owner/*", true),
            spec("repo:owner/re?o:ref:refs/heads/main", true),
            gitlab("project_path:group/project:*"),
            gitlab("project_path:group/*"),
            buildkite("organization:org:pipeline:p:*"),
            buildkite("organization:org:*"),
            spec("repository_owner_id:123:*", true),
            // Not shared: the issuer is the customer's own.
            spec("repo:o*", false),
        ] {
            assert!(check_pinned(&ok).is_ok(), "{}", ok.subject);
        }
        for bad in [
            spec("repo:o*", true),
            spec("repo:o*:*", true),
            spec("repo:o?/*", true),
            spec("repo:/*", true),
            spec("repo:owner*/repo", true),
            spec("repo:owner:*", true),
            gitlab("project_path:g*"),
            gitlab("project_path:group*/project:*"),
            buildkite("organization:o*"),
            buildkite("organization:org*:pipeline:p:*"),
            buildkite("organization:org/*"),
            spec("repository_owner_id:12*", true),
            spec("rep*", true),
        ] {
            let e = check_pinned(&bad).unwrap_err().to_string();
            assert!(e.contains("refusing to trust sub"), "{}: {e}", bad.subject);
        }
        let e = check_pinned(&spec("repo:o*", true))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("every organization whose name starts with \"o\""),
            "{e}"
        );
        assert!(e.contains("repo:<owner>/<repo>:*"), "{e}");
    }

    #[test]
    fn pinned_subjects() {
        assert!(check_pinned(&spec("repo:o/r:ref:refs/heads/main", true)).is_ok());
        assert!(check_pinned(&spec("repo:o/r:*", true)).is_ok());
        assert!(check_pinned(&spec("repo:o/*", true)).is_ok());
        assert!(check_pinned(&spec("*", true)).is_err());
        assert!(check_pinned(&spec("*", false)).is_err());
        assert!(check_pinned(&spec("repo:*", true)).is_err());
        assert!(check_pinned(&spec("?epo:o/r", true)).is_err());
        assert!(check_pinned(&spec("system:serviceaccount:*", false)).is_ok());
    }

    fn cfg(access: Access) -> PolicyConfig {
        PolicyConfig {
            platform: None,
            trust: Default::default(),
            account: "123456789012".into(),
            partition: "aws",
            region: Some("eu-west-1".into()),
            repositories: vec!["team/app".into()],
            access,
            public: false,
            only: None,
        }
    }

    #[test]
    fn trust_policy_shape() {
        let t = trust_policy(&cfg(Access::Pull), &spec("repo:o/r:*", true));
        let st = &t["Statement"][0];
        assert_eq!(
            st["Principal"]["Federated"],
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
        );
        assert_eq!(
            st["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"],
            "sts.amazonaws.com"
        );
        assert_eq!(
            st["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"],
            "repo:o/r:*"
        );
        let exact = trust_policy(
            &cfg(Access::Pull),
            &spec("repo:o/r:ref:refs/heads/main", true),
        );
        assert!(exact["Statement"][0]["Condition"]
            .get("StringLike")
            .is_none());
    }

    #[test]
    fn permission_policy_is_least_privilege() {
        let pull = permission_policy(&cfg(Access::Pull));
        let st = &pull["Statement"][1];
        assert_eq!(
            st["Resource"][0],
            "arn:aws:ecr:eu-west-1:123456789012:repository/team/app"
        );
        assert!(!st["Action"]
            .as_array()
            .unwrap()
            .contains(&json!("ecr:PutImage")));
        let push = permission_policy(&cfg(Access::Push));
        assert!(push["Statement"][1]["Action"]
            .as_array()
            .unwrap()
            .contains(&json!("ecr:PutImage")));
    }
}
