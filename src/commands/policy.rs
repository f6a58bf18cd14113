//! `ecr-login policy`: the IAM pieces a role needs for this CI job — the OIDC identity
//! provider, a trust policy whose conditions match the platform's tokens exactly, and a
//! least-privilege ECR permission policy — as JSON the AWS CLI takes.
//!
//! It never prints a policy that trusts a whole issuer: `sub` is always pinned, and for issuers
//! shared by every customer of a platform it must pin at least the organization.
//!
//! `--monitoring` prints the AWS side of monitoring instead: an EventBridge rule on CloudTrail's
//! records of the role's failed logins (STS AssumeRoleWithWebIdentity, ECR
//! GetAuthorizationToken), and the `aws events` commands that create it and its target.

use crate::platform::{self, Platform};
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::claims::issuer_host;
use crate::error::{Error, UsageError};
use crate::output::{Printer, Report};
use crate::platform::TrustSpec;

/// `policy`'s settings.
#[derive(Debug)]
pub(crate) struct PolicyConfig {
    pub platform: Box<dyn Platform>,
    pub trust: platform::TrustRequest,
    pub account: String,
    /// The ARN partition (`aws`, `aws-cn`, ...).
    pub partition: &'static str,
    pub region: Option<String>,
    /// Empty: every repository in the account.
    pub repositories: Vec<String>,
    pub access: Access,
    pub public: bool,
    pub only: Option<Document>,
    /// `--role-arn` / `AWS_ROLE_ARN`, checked.
    pub role_arn: Option<String>,
    /// `--monitoring`: print the EventBridge rule for the role instead of the IAM documents.
    pub monitoring: bool,
}

/// `aws iam create-open-id-connect-provider --cli-input-json`'s input.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct OidcProvider {
    pub url: String,
    #[serde(rename = "ClientIDList")]
    pub client_id_list: Vec<String>,
}

/// An IAM policy document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct IamPolicy {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

/// One statement of an [`IamPolicy`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Statement {
    pub sid: &'static str,
    pub effect: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<BTreeMap<&'static str, String>>,
    /// A string when there is one action (as IAM prints it), else a list.
    pub action: OneOrMany,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany>,
    /// Operator (`StringEquals`, `StringLike`) -> condition key -> value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<BTreeMap<&'static str, BTreeMap<String, String>>>,
}

/// A JSON string or a list of them.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

const POLICY_VERSION: &str = "2012-10-17";

/// What the permission policy allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Pull,
    /// Push, which includes pull.
    Push,
}

/// One of the three documents, printed alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    Provider,
    Trust,
    Permissions,
}

/// Everything `policy` prints.
#[derive(Debug, Serialize)]
pub(crate) struct PolicyReport {
    pub platform: &'static str,
    pub oidc_provider: OidcProvider,
    pub trust_policy: IamPolicy,
    pub permission_policy: IamPolicy,
    #[serde(skip)]
    spec: TrustSpec,
    #[serde(skip)]
    access: Access,
}

impl Report for PolicyReport {
    fn human(&self) -> Vec<String> {
        let host = issuer_host(&self.spec.issuer);
        let access = match self.access {
            Access::Pull => "pull only: a job that pushes needs --access push",
            Access::Push => "push and pull",
        };
        vec![
            format!(
                "# 1. The IAM OIDC identity provider for {} (once per account):\n#    aws iam create-open-id-connect-provider --cli-input-json file://provider.json\n{}\n",
                self.spec.issuer,
                pretty(&self.oidc_provider)
            ),
            format!(
                "# 2. The role's trust policy: tokens from {host} with aud {:?} and sub {:?}\n#    ecr-login policy --only trust > trust.json\n#    aws iam create-role --role-name <name> --assume-role-policy-document file://trust.json\n{}\n",
                self.spec.audience,
                self.spec.subject,
                pretty(&self.trust_policy)
            ),
            format!(
                "# 3. What the role may do in ECR ({access}):\n#    ecr-login policy --only permissions --access {} > ecr.json\n#    aws iam put-role-policy --role-name <name> --policy-name ecr-login --policy-document file://ecr.json\n{}",
                match self.access {
                    Access::Pull => "pull",
                    Access::Push => "push",
                },
                pretty(&self.permission_policy)
            ),
        ]
    }
}

fn pretty(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// Runs `policy` and prints the documents.
pub(crate) fn run(cfg: &PolicyConfig, printer: &Printer) -> Result<(), Error> {
    if cfg.monitoring {
        let role = cfg.role_arn.as_deref().ok_or_else(|| {
            UsageError::Other("--monitoring watches one role's logins: pass --role-arn".into())
        })?;
        printer.report(&monitoring(role, cfg));
        return Ok(());
    }
    let report = report(cfg)?;
    if !report.spec.issuer.starts_with("https://") {
        printer.warn(&format!(
            "IAM accepts only https:// OIDC provider URLs; {} is not one",
            report.spec.issuer
        ));
    }
    if let Some(only) = cfg.only {
        printer.document(&match only {
            Document::Provider => pretty(&report.oidc_provider),
            Document::Trust => pretty(&report.trust_policy),
            Document::Permissions => pretty(&report.permission_policy),
        });
        return Ok(());
    }
    printer.report(&report);
    Ok(())
}

/// The three documents for `cfg`: the OIDC provider, the trust policy, the permissions.
fn report(cfg: &PolicyConfig) -> Result<PolicyReport, Error> {
    let spec = cfg.platform.trust(&cfg.trust)?;
    check_pinned(&spec)?;
    Ok(PolicyReport {
        platform: cfg.platform.name(),
        oidc_provider: provider(&spec),
        trust_policy: trust_policy(cfg, &spec),
        permission_policy: permission_policy(cfg),
        spec,
        access: cfg.access,
    })
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

fn provider(spec: &TrustSpec) -> OidcProvider {
    OidcProvider {
        url: spec.issuer.clone(),
        client_id_list: vec![spec.audience.clone()],
    }
}

fn trust_policy(cfg: &PolicyConfig, spec: &TrustSpec) -> IamPolicy {
    let host = issuer_host(&spec.issuer);
    let wildcard = spec.subject.contains(['*', '?']);
    let mut condition = BTreeMap::new();
    let mut equals = BTreeMap::from([(format!("{host}:aud"), spec.audience.clone())]);
    if wildcard {
        condition.insert(
            "StringLike",
            BTreeMap::from([(format!("{host}:sub"), spec.subject.clone())]),
        );
    } else {
        equals.insert(format!("{host}:sub"), spec.subject.clone());
    }
    condition.insert("StringEquals", equals);
    IamPolicy {
        version: POLICY_VERSION,
        statement: vec![Statement {
            sid: "EcrLoginFromCi",
            effect: "Allow",
            principal: Some(BTreeMap::from([(
                "Federated",
                format!(
                    "arn:{}:iam::{}:oidc-provider/{host}",
                    cfg.partition, cfg.account
                ),
            )])),
            action: OneOrMany::One("sts:AssumeRoleWithWebIdentity".into()),
            resource: None,
            condition: Some(condition),
        }],
    }
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

fn permission_policy(cfg: &PolicyConfig) -> IamPolicy {
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
    let mut actions: Vec<String> = PULL.iter().map(|a| a.to_string()).collect();
    if cfg.access == Access::Push {
        actions.extend(PUSH.iter().map(|a| a.to_string()));
    }
    let mut statement = vec![
        Statement {
            sid: "EcrLogin",
            effect: "Allow",
            principal: None,
            action: OneOrMany::One("ecr:GetAuthorizationToken".into()),
            resource: Some(OneOrMany::One("*".into())),
            condition: None,
        },
        Statement {
            sid: if cfg.access == Access::Push {
                "EcrPushPull"
            } else {
                "EcrPull"
            },
            effect: "Allow",
            principal: None,
            action: OneOrMany::Many(actions),
            resource: Some(OneOrMany::Many(resources)),
            condition: None,
        },
    ];
    if cfg.public {
        statement.push(Statement {
            sid: "EcrPublicLogin",
            effect: "Allow",
            principal: None,
            action: OneOrMany::Many(vec![
                "ecr-public:GetAuthorizationToken".into(),
                "sts:GetServiceBearerToken".into(),
            ]),
            resource: Some(OneOrMany::One("*".into())),
            condition: None,
        });
    }
    IamPolicy {
        version: POLICY_VERSION,
        statement,
    }
}

/// What EventBridge receives CloudTrail's records as.
const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// GetAuthorizationToken is a read-only management event: EventBridge hands those only to
/// rules in this state.
const RULE_STATE: &str = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

/// The file `put-rule` reads the pattern from.
const PATTERN_FILE: &str = "ecr-login-failures.json";

/// `--monitoring`'s output: the rule, and the commands that create it.
#[derive(Debug, Serialize)]
pub(crate) struct MonitoringReport {
    pub role_arn: String,
    pub rule_name: String,
    /// The rule's event pattern (what `put-rule --event-pattern` takes).
    pub event_pattern: Value,
    pub state: &'static str,
    /// `aws events put-rule ...`, one argument per item.
    pub put_rule: Vec<String>,
    /// `aws events put-targets ...`, one argument per item.
    pub put_targets: Vec<String>,
}

impl Report for MonitoringReport {
    fn human(&self) -> Vec<String> {
        vec![
            format!("# EventBridge rule: CloudTrail's records of failed STS AssumeRoleWithWebIdentity and\n# ECR GetAuthorizationToken calls for {}.", self.role_arn),
            "# Needs a CloudTrail trail logging the account's management events, read events included.".into(),
            format!("# GetAuthorizationToken is a read-only event: EventBridge passes those only to a rule in\n# the state {RULE_STATE}. Events arrive in the region of the call: create the rule in\n# each region the role logs in to (and us-east-1 for ECR Public and the global STS endpoint)."),
            format!("cat > {PATTERN_FILE} <<'EOF'\n{}\nEOF", pretty(&self.event_pattern)),
            shell_line(&self.put_rule),
            "# The target: an SNS topic (or any EventBridge target) whose resource policy lets\n# events.amazonaws.com call sns:Publish on it.".into(),
            shell_line(&self.put_targets),
        ]
    }
}

/// `argv` as a line to paste into a POSIX shell.
fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The event pattern: a failed AssumeRoleWithWebIdentity naming `role`, or a failed
/// GetAuthorizationToken (ECR or ECR Public) made with `role`'s session.
pub(crate) fn failed_logins_pattern(role: &str) -> Value {
    serde_json::json!({
        "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
        "detail": {
            "errorCode": [{"exists": true}],
            "$or": [
                {
                    "eventSource": ["sts.amazonaws.com"],
                    "eventName": ["AssumeRoleWithWebIdentity"],
                    "requestParameters": {"roleArn": [role]}
                },
                {
                    "eventSource": ["ecr.amazonaws.com", "ecr-public.amazonaws.com"],
                    "eventName": ["GetAuthorizationToken"],
                    "userIdentity": {"sessionContext": {"sessionIssuer": {"arn": [role]}}}
                }
            ]
        }
    })
}

fn monitoring(role: &str, cfg: &PolicyConfig) -> MonitoringReport {
    // Rule names: up to 64 of [.-_A-Za-z0-9].
    let role_name = role.rsplit('/').next().unwrap_or(role);
    let mut rule_name: String = format!("ecr-login-failures-{role_name}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    rule_name.truncate(64);
    let region = cfg.region.clone();
    let with_region = |mut argv: Vec<String>| {
        if let Some(r) = &region {
            argv.extend(["--region".to_string(), r.clone()]);
        }
        argv
    };
    let topic = format!(
        "arn:{}:sns:{}:{}:ecr-login-alerts",
        cfg.partition,
        region.as_deref().unwrap_or("<region>"),
        cfg.account
    );
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    MonitoringReport {
        role_arn: role.to_string(),
        event_pattern: failed_logins_pattern(role),
        state: RULE_STATE,
        put_rule: with_region(args(&[
            "aws",
            "events",
            "put-rule",
            "--name",
            &rule_name,
            "--event-pattern",
            &format!("file://{PATTERN_FILE}"),
            "--state",
            RULE_STATE,
            "--description",
            &format!("Failed ECR logins (STS, ECR) as {role}"),
        ])),
        put_targets: with_region(args(&[
            "aws",
            "events",
            "put-targets",
            "--rule",
            &rule_name,
            "--targets",
            &format!("Id=notify,Arn={topic}"),
        ])),
        rule_name,
    }
}

#[cfg(test)]
/// A document as a JSON value (for tests and for callers that inspect it).
pub(crate) fn to_value(doc: &impl Serialize) -> Value {
    serde_json::to_value(doc).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            platform: Box::new(crate::platform::local_platform()),
            trust: Default::default(),
            account: "123456789012".into(),
            partition: "aws",
            region: Some("eu-west-1".into()),
            repositories: vec!["team/app".into()],
            access,
            public: false,
            only: None,
            role_arn: None,
            monitoring: false,
        }
    }

    #[test]
    fn the_monitoring_rule_watches_the_role_and_says_how_to_create_it() {
        let role = "arn:aws:iam::123456789012:role/team/ci+push";
        let m = monitoring(role, &cfg(Access::Pull));
        assert_eq!(m.rule_name, "ecr-login-failures-ci-push");
        let p = &m.event_pattern["detail"]["$or"];
        assert_eq!(p[0]["requestParameters"]["roleArn"][0], role);
        assert_eq!(
            p[1]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"][0],
            role
        );
        assert_eq!(m.event_pattern["detail"]["errorCode"][0]["exists"], true);
        let text = m.human().join("\n");
        assert!(text.contains(
            "aws events put-rule --name ecr-login-failures-ci-push --event-pattern file://ecr-login-failures.json --state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS --description 'Failed ECR logins (STS, ECR) as arn:aws:iam::123456789012:role/team/ci+push' --region eu-west-1"
        ), "{text}");
        assert!(text.contains(
            "aws events put-targets --rule ecr-login-failures-ci-push --targets Id=notify,Arn=arn:aws:sns:eu-west-1:123456789012:ecr-login-alerts --region eu-west-1"
        ), "{text}");
        assert_eq!(shell_line(&["it's".to_string()]), r"'it'\''s'");
    }

    #[test]
    fn trust_policy_shape() {
        let t = to_value(&trust_policy(&cfg(Access::Pull), &spec("repo:o/r:*", true)));
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
        let exact = to_value(&trust_policy(
            &cfg(Access::Pull),
            &spec("repo:o/r:ref:refs/heads/main", true),
        ));
        assert!(exact["Statement"][0]["Condition"]
            .get("StringLike")
            .is_none());
    }

    #[test]
    fn permission_policy_is_least_privilege() {
        let pull = to_value(&permission_policy(&cfg(Access::Pull)));
        let st = &pull["Statement"][1];
        assert_eq!(
            st["Resource"][0],
            "arn:aws:ecr:eu-west-1:123456789012:repository/team/app"
        );
        assert!(!st["Action"]
            .as_array()
            .unwrap()
            .contains(&json!("ecr:PutImage")));
        let push = to_value(&permission_policy(&cfg(Access::Push)));
        assert!(push["Statement"][1]["Action"]
            .as_array()
            .unwrap()
            .contains(&json!("ecr:PutImage")));
    }

    /// The documents `policy` prints, as a user reads them and as JSON, for a GitHub
    /// repository (pull, and push to two repositories) and a GitLab project: reviewed as a whole
    /// when they change (`cargo insta review`).
    #[test]
    fn the_documents_as_the_user_reads_them() {
        let config = |platform: &str, repo: &str, access: Access, repositories: &[&str]| {
            let env: crate::env::Env = std::iter::empty::<(&str, &str)>().collect();
            PolicyConfig {
                platform: crate::platform::select(
                    &env,
                    Some(platform),
                    &crate::platform::Options::default(),
                )
                .unwrap(),
                trust: crate::platform::TrustRequest {
                    issuer: None,
                    audience: None,
                    repo: Some(repo.into()),
                    git_ref: Some("main".into()),
                    any_ref: false,
                    subject: None,
                },
                account: "123456789012".into(),
                partition: "aws",
                region: Some("eu-west-1".into()),
                repositories: repositories.iter().map(|r| r.to_string()).collect(),
                access,
                public: false,
                only: None,
                role_arn: None,
                monitoring: false,
            }
        };
        let mut text = String::new();
        for (title, cfg) in [
            (
                "github, pull",
                config("github-actions", "acme/app", Access::Pull, &[]),
            ),
            (
                "github, push to two repositories",
                config(
                    "github-actions",
                    "acme/app",
                    Access::Push,
                    &["team/app", "team/base"],
                ),
            ),
            (
                "gitlab, pull",
                config("gitlab-ci", "group/project", Access::Pull, &[]),
            ),
        ] {
            let r = report(&cfg).unwrap();
            text.push_str(&format!(
                "===== {title}\n{}\n----- json\n{}\n",
                crate::output::Report::human(&r).join("\n"),
                pretty(&r)
            ));
        }
        insta::assert_snapshot!(text);
    }
}
