//! CI platforms: which one we run on, how it hands out an OIDC identity token, how it masks
//! secrets in its job log, and how it passes values on to later steps.
//!
//! One file per platform, each implementing [`Platform`]; [`PLATFORMS`] is the one list that
//! `--platform` and auto-detection use. This layer knows nothing of AWS clients or auth files.

mod bitbucket;
mod buildkite;
mod circleci;
mod github;
mod gitlab;
mod jenkins;
mod local;
mod util;
mod web_identity;

use std::path::PathBuf;

use futures::future::BoxFuture;

use crate::env::Env;
use crate::env_vars::EnvVars;
use crate::error::{HandoffError, TokenError, UsageError};
use crate::id_token::{IdToken, TokenSource};
use crate::output::Printer;
use crate::secret::Secret;

pub(crate) use util::{append_env_file, handoff_vars, EnvFormat};

/// The audience AWS's guides use for CI tokens (GitHub, Buildkite, Jenkins, EKS).
pub(crate) const STS_AUDIENCE: &str = "sts.amazonaws.com";

/// Where a platform lets the token cache live by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CacheHome {
    /// The user's cache directory (`$XDG_CACHE_HOME`): a laptop, a build host, a pod.
    User,
    /// A directory private to this CI job (emptied after it).
    Job(PathBuf),
    /// None: the runner may run other repositories' jobs as the same user.
    None,
}

/// What a login produced that a platform may hand on to later steps.
#[derive(Debug)]
pub(crate) struct Handoff<'a> {
    /// Registry hosts, in the order they were asked for.
    pub registries: Vec<&'a str>,
    /// `(host, username, password)` when the user asked for credentials as outputs.
    pub credentials: Option<Vec<(&'a str, &'a str, &'a Secret)>>,
}

/// The user's platform-related settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// `--id-token-env`: the variable holding the token (GitLab `id_tokens:`, Jenkins).
    pub id_token_env: Option<String>,
    /// `--web-identity-token-file`.
    pub token_file: Option<PathBuf>,
}

/// What `ecr-login policy` was told about the identity to trust; `None`: take it from the job.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustRequest {
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// `owner/repo`, `group/project`, `org/pipeline`.
    pub repo: Option<String>,
    pub git_ref: Option<String>,
    pub any_ref: bool,
    /// A verbatim `sub` pattern.
    pub subject: Option<String>,
}

/// What a role must trust for this platform's tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrustSpec {
    /// The issuer URL (`iss`), which is also the IAM OIDC provider's URL.
    pub issuer: String,
    pub audience: String,
    /// The `sub` pattern (StringLike when it has `*` or `?`).
    pub subject: String,
    /// The issuer is shared by every customer of the platform (token.actions.githubusercontent.com,
    /// gitlab.com, agent.buildkite.com): `sub` must pin the org/project.
    pub shared_issuer: bool,
}

/// A usage error for a trust value that could not be found.
pub(crate) fn cannot_tell(what: &str, flag: &str) -> UsageError {
    UsageError::Other(format!(
        "cannot tell {what} from this environment: pass {flag}"
    ))
}

/// A CI platform (or none).
pub(crate) trait Platform: Send + Sync {
    /// The name users pass to `--platform` and see in messages.
    fn name(&self) -> &'static str;

    /// Where this job's OIDC identity token comes from, decided from the environment alone
    /// (no network, no file read): a value already in a variable, a file, or the platform's
    /// token service ([`Platform::fetch_token`]). `audience` is `--audience` if given, else the
    /// platform's default applies. `Ok(None)`: this platform has no token of its own (the caller
    /// falls back to a token file or the AWS credential chain); `Err`: it should have one, and
    /// the error says how to turn it on.
    fn token_source(&self, audience: Option<&str>) -> Result<Option<TokenSource>, TokenError>;

    /// Fetches a token from the platform's token service (for [`TokenSource::Platform`]).
    fn fetch_token<'a>(
        &'a self,
        _audience: Option<&'a str>,
    ) -> BoxFuture<'a, Result<IdToken, TokenError>> {
        Box::pin(async move {
            Err(TokenError::NotProvided {
                platform: self.name().into(),
                tried: "this platform has no token service".into(),
                help: vec![],
            })
        })
    }

    /// For a token fetched over the network: the job identity its claims will state, known
    /// from the environment alone (e.g. the repository and ref), so that a cache key can be
    /// made before any network call. `None`: no such stand-in (nothing is cached).
    fn identity_hint(&self) -> Option<String> {
        None
    }

    /// Where the token cache may live by default. CI platforms share a user between jobs of
    /// different repositories on self-hosted runners: only a job-private directory will do.
    fn cache_home(&self) -> CacheHome {
        CacheHome::None
    }

    /// A role session name that traces back to this CI run (before sanitising).
    fn session_name(&self) -> Option<String> {
        None
    }

    /// The CI job's page, from the platform's variables, for the audit line and the webhook
    /// (see [`job_url`], which checks it).
    fn job_url(&self, _env: &Env) -> Option<String> {
        None
    }

    /// Installs the platform's log masking, if it has one, before any secret exists.
    fn install_masking(&self, _printer: Printer) {}

    /// Hands non-secret results (and secrets only when asked) on to later steps through the
    /// platform's own channel (`$GITHUB_OUTPUT`, `$BASH_ENV`...). `--env-file` is not a
    /// platform's business: the command writes it on every platform.
    fn hand_off(&self, _handoff: &Handoff<'_>) -> Result<(), HandoffError> {
        Ok(())
    }

    /// The issuer, audience and `sub` pattern a role must trust for this platform's tokens.
    fn trust(&self, _req: &TrustRequest) -> Result<TrustSpec, UsageError> {
        Err(UsageError::Other(format!(
            "the {} platform has no OIDC issuer to trust: pass --platform (github-actions, gitlab-ci, ...)",
            self.name()
        )))
    }
}

impl std::fmt::Debug for dyn Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Platform({})", self.name())
    }
}

/// The claims of a token the job already holds (in a variable or file), for prefilling a
/// trust policy. Decoded, not verified.
/// `platform`'s job page, if its variables give one that is an http(s) URL (a variable set to
/// `javascript:...` is not shown in a webhook message).
pub(crate) fn job_url(platform: &dyn Platform, env: &Env) -> Option<String> {
    platform
        .job_url(env)
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

pub(crate) fn ambient_claims(token: Option<IdToken>) -> crate::claims::ClaimsSummary {
    token.map(|t| t.claims()).unwrap_or_default()
}

/// One CI platform: its names, how it is detected (and the variables detection reads, for
/// `doctor`), and how it is built.
struct Descriptor {
    name: &'static str,
    /// Other names `--platform` accepts.
    aliases: &'static [&'static str],
    detect: fn(&Env) -> bool,
    markers: &'static [&'static str],
    build: fn(&Env, &Options) -> Box<dyn Platform>,
}

/// Every CI platform, in one list.
const PLATFORMS: &[Descriptor] = &[
    Descriptor {
        name: github::NAME,
        aliases: &["github", "gha"],
        detect: github::detect,
        markers: &[EnvVars::GITHUB_ACTIONS],
        build: github::build,
    },
    Descriptor {
        name: gitlab::NAME,
        aliases: &["gitlab"],
        detect: gitlab::detect,
        markers: &[EnvVars::GITLAB_CI],
        build: gitlab::build,
    },
    Descriptor {
        name: circleci::NAME,
        aliases: &["circle"],
        detect: circleci::detect,
        markers: &[EnvVars::CIRCLECI],
        build: circleci::build,
    },
    Descriptor {
        name: jenkins::NAME,
        aliases: &[],
        detect: jenkins::detect,
        markers: &[EnvVars::JENKINS_URL],
        build: jenkins::build,
    },
    Descriptor {
        name: buildkite::NAME,
        aliases: &[],
        detect: buildkite::detect,
        markers: &[EnvVars::BUILDKITE],
        build: buildkite::build,
    },
    Descriptor {
        name: bitbucket::NAME,
        aliases: &["bitbucket-pipelines"],
        detect: bitbucket::detect,
        markers: &[EnvVars::BITBUCKET_BUILD_NUMBER],
        build: bitbucket::build,
    },
];

#[cfg(test)]
/// The `local` platform (no CI), for callers that need one without detection.
pub(crate) fn local_platform() -> impl Platform {
    local::Local
}

/// Why `select` picks what it picks, in words: which variables said so.
pub(crate) fn why(env: &Env, requested: Option<&str>) -> String {
    if let Some(name) = requested {
        return format!("named by --platform / ECR_LOGIN_PLATFORM ({name})");
    }
    let show = |v: &&str| format!("{v}={}", env.get(v).unwrap_or_default());
    let found: Vec<String> = PLATFORMS
        .iter()
        .filter(|p| (p.detect)(env))
        .map(|p| {
            format!(
                "{}: {}",
                p.name,
                p.markers.iter().map(show).collect::<Vec<_>>().join(" ")
            )
        })
        .collect();
    if !found.is_empty() {
        return format!("detected from {}", found.join("; "));
    }
    if web_identity::detect(env) {
        return "detected from AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (EKS IRSA or any token file)".into();
    }
    let all: Vec<&str> = PLATFORMS
        .iter()
        .flat_map(|p| p.markers.iter().copied())
        .collect();
    format!(
        "no CI platform detected (none of {} is set): the AWS credential chain",
        all.join(", ")
    )
}

/// Every name `--platform` accepts (aliases aside).
pub(crate) fn names() -> Vec<&'static str> {
    PLATFORMS
        .iter()
        .map(|p| p.name)
        .chain([web_identity::NAME, local::NAME])
        .collect()
}

/// The platform named by `--platform`, or the detected one: exactly one CI platform, else the
/// generic web identity (EKS IRSA) when its variables are set, else [`local::Local`]. Two CI
/// platforms at once is an error: we do not guess.
pub(crate) fn select(
    env: &Env,
    requested: Option<&str>,
    opts: &Options,
) -> Result<Box<dyn Platform>, UsageError> {
    if let Some(name) = requested {
        return by_name(env, name, opts);
    }
    let found: Vec<&Descriptor> = PLATFORMS.iter().filter(|p| (p.detect)(env)).collect();
    match found.as_slice() {
        [p] => {
            tracing::debug!("detected platform {}", p.name);
            Ok((p.build)(env, opts))
        }
        [] if web_identity::detect(env) => Ok(web_identity::build(env, opts)),
        [] => {
            tracing::debug!("no CI platform detected: using the AWS credential chain");
            Ok(Box::new(local::Local))
        }
        many => Err(UsageError::AmbiguousPlatform(
            many.iter().map(|p| p.name.to_string()).collect(),
        )),
    }
}

/// The platform called `name` (or one of its aliases).
pub(crate) fn by_name(
    env: &Env,
    name: &str,
    opts: &Options,
) -> Result<Box<dyn Platform>, UsageError> {
    let name = name.trim().to_ascii_lowercase();
    if let Some(p) = PLATFORMS
        .iter()
        .find(|p| p.name == name || p.aliases.contains(&name.as_str()))
    {
        return Ok((p.build)(env, opts));
    }
    match name.as_str() {
        web_identity::NAME | "eks" | "generic" => Ok(web_identity::build(env, opts)),
        local::NAME | "none" => Ok(Box::new(local::Local)),
        _ => Err(UsageError::Platform {
            name,
            known: names().join(", "),
        }),
    }
}

/// Keeps only the characters STS allows in a role session name (`[\w+=,.@-]`), replacing the
/// others with `-`, and fits the result into 2..=64 characters, cutting from the front so that
/// the run ids at the end survive.
pub(crate) fn sanitize_session_name(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            if crate::aws::sts::is_session_name_char(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.len() > 64 {
        s = s[s.len() - 64..].to_string();
    }
    while s.len() < 2 {
        s.push('-');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_urls_come_from_each_platforms_variables() {
        let env = |pairs: &[(&str, &str)]| -> Env { pairs.iter().copied().collect() };
        let url = |name: &str, e: &Env| {
            let p = select(e, Some(name), &Options::default()).unwrap();
            job_url(p.as_ref(), e)
        };
        assert_eq!(
            url(
                "gitlab-ci",
                &env(&[("CI_JOB_URL", "https://gitlab.example.com/g/p/-/jobs/7")])
            )
            .as_deref(),
            Some("https://gitlab.example.com/g/p/-/jobs/7")
        );
        assert_eq!(
            url(
                "github-actions",
                &env(&[
                    ("GITHUB_SERVER_URL", "https://ghe.example.com/"),
                    ("GITHUB_REPOSITORY", "o/r"),
                    ("GITHUB_RUN_ID", "9")
                ])
            )
            .as_deref(),
            Some("https://ghe.example.com/o/r/actions/runs/9")
        );
        assert_eq!(
            url(
                "bitbucket",
                &env(&[
                    ("BITBUCKET_WORKSPACE", "w"),
                    ("BITBUCKET_REPO_SLUG", "r"),
                    ("BITBUCKET_BUILD_NUMBER", "3")
                ])
            )
            .as_deref(),
            Some("https://bitbucket.org/w/r/pipelines/results/3")
        );
        assert_eq!(url("github-actions", &env(&[("GITHUB_RUN_ID", "9")])), None);
        assert_eq!(
            url("jenkins", &env(&[("BUILD_URL", "javascript:alert(1)")])),
            None
        );
        assert_eq!(url("local", &env(&[("BUILD_URL", "https://x")])), None);
    }

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs.iter().copied().collect()
    }

    fn detected(pairs: &[(&str, &str)]) -> Result<&'static str, UsageError> {
        select(&env(pairs), None, &Options::default()).map(|p| p.name())
    }

    #[test]
    fn session_names_are_sanitised_and_fit() {
        assert_eq!(
            sanitize_session_name("gh-owner/repo-12-1"),
            "gh-owner-repo-12-1"
        );
        assert_eq!(sanitize_session_name("a"), "a-");
        let long = format!("gh-{}-123456789-2", "x".repeat(100));
        let s = sanitize_session_name(&long);
        assert_eq!(s.len(), 64);
        assert!(s.ends_with("-123456789-2"));
        assert_eq!(sanitize_session_name("ü ok"), "--ok");
    }

    #[test]
    fn each_platform_alone_is_detected() {
        let table: &[(&[(&str, &str)], &str)] = &[
            (&[("GITHUB_ACTIONS", "true")], "github-actions"),
            (&[("GITLAB_CI", "true")], "gitlab-ci"),
            (&[("CIRCLECI", "true")], "circleci"),
            (&[("JENKINS_URL", "https://ci.example.com/")], "jenkins"),
            (&[("BUILDKITE", "true")], "buildkite"),
            (&[("BITBUCKET_BUILD_NUMBER", "7")], "bitbucket"),
            (
                &[
                    ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
                    ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r"),
                ],
                "web-identity",
            ),
            (&[], "local"),
            (&[("GITHUB_ACTIONS", "false")], "local"),
        ];
        for (vars, want) in table {
            assert_eq!(detected(vars).unwrap(), *want, "{vars:?}");
        }
    }

    #[test]
    fn ci_platform_wins_over_web_identity() {
        // A GitHub runner on EKS (actions-runner-controller) has IRSA variables too.
        let name = detected(&[
            ("GITHUB_ACTIONS", "true"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r"),
        ])
        .unwrap();
        assert_eq!(name, "github-actions");
    }

    #[test]
    fn two_ci_platforms_are_ambiguous() {
        let err = detected(&[("GITHUB_ACTIONS", "true"), ("GITLAB_CI", "true")]).unwrap_err();
        assert!(
            matches!(&err, UsageError::AmbiguousPlatform(v) if v == &["github-actions", "gitlab-ci"]),
            "{err:?}"
        );
    }

    #[test]
    fn platform_flag_overrides_detection() {
        let e = env(&[("GITHUB_ACTIONS", "true"), ("GITLAB_CI", "true")]);
        let p = select(&e, Some("GitLab"), &Options::default()).unwrap();
        assert_eq!(p.name(), "gitlab-ci");
        assert_eq!(
            select(&e, Some("local"), &Options::default())
                .unwrap()
                .name(),
            "local"
        );
    }

    #[test]
    fn unknown_platform_is_a_usage_error() {
        assert!(matches!(
            select(&Env::default(), Some("travis"), &Options::default()),
            Err(UsageError::Platform { .. })
        ));
    }
}
