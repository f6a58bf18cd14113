//! CI platforms: which one we run on, how it hands out an OIDC identity token, how it masks
//! secrets in its job log, and how it passes values on to later steps.
//!
//! One file per platform, each implementing [`Platform`]; [`DETECTORS`] is the one list that
//! auto-detection walks. This layer knows nothing of AWS clients or auth files.

mod github;
mod local;
mod web_identity;

use std::path::PathBuf;

use futures::future::BoxFuture;

use crate::env::Env;
use crate::error::{Error, TokenError, UsageError};
use crate::id_token::IdToken;
use crate::secret::Secret;

pub use github::GithubActions;
pub use local::Local;
pub use web_identity::{read_token_file, WebIdentity};

/// What a login produced that a platform may hand on to later steps.
#[derive(Debug)]
pub struct Handoff<'a> {
    /// Registry hosts, in the order they were asked for.
    pub registries: Vec<&'a str>,
    /// `(host, username, password)` when the user asked for credentials as outputs.
    pub credentials: Option<Vec<(&'a str, &'a str, &'a Secret)>>,
}

/// A CI platform (or none).
pub trait Platform: Send + Sync {
    /// The name users pass to `--platform` and see in messages.
    fn name(&self) -> &'static str;

    /// Fetches the platform's OIDC identity token for `audience`. `Ok(None)`: this platform has
    /// no token of its own (the caller falls back to a token file or the AWS credential chain).
    fn id_token<'a>(
        &'a self,
        audience: &'a str,
    ) -> BoxFuture<'a, Result<Option<IdToken>, TokenError>>;

    /// A role session name that traces back to this CI run, if the platform has run ids.
    fn session_name(&self) -> Option<String> {
        None
    }

    /// Installs the platform's log masking, if it has one, before any secret exists.
    fn install_masking(&self) {}

    /// Hands non-secret results (and secrets only when asked) on to later steps.
    fn hand_off(&self, _handoff: &Handoff<'_>) -> Result<(), Error> {
        Ok(())
    }
}

type Detector = fn(&Env) -> Option<Box<dyn Platform>>;

/// Auto-detection, in order: CI systems first, then the generic web identity (EKS IRSA).
const DETECTORS: &[(&str, Detector)] = &[
    (GithubActions::NAME, GithubActions::detect),
    (WebIdentity::NAME, WebIdentity::detect),
];

/// Every name `--platform` accepts.
pub fn names() -> Vec<&'static str> {
    DETECTORS
        .iter()
        .map(|(n, _)| *n)
        .chain([Local::NAME])
        .collect()
}

/// The platform named by `--platform`, or the detected one, or [`Local`].
pub fn select(
    env: &Env,
    requested: Option<&str>,
    token_file: Option<&PathBuf>,
) -> Result<Box<dyn Platform>, UsageError> {
    match requested {
        Some(name) => {
            let name = name.trim().to_ascii_lowercase();
            match name.as_str() {
                GithubActions::NAME | "github" => Ok(Box::new(GithubActions::from_env(env))),
                WebIdentity::NAME | "eks" | "generic" => {
                    Ok(Box::new(WebIdentity::new(token_file.cloned())))
                }
                Local::NAME | "none" => Ok(Box::new(Local)),
                _ => Err(UsageError::Platform(name)),
            }
        }
        None => Ok(detect(env)),
    }
}

fn detect(env: &Env) -> Box<dyn Platform> {
    for (name, detector) in DETECTORS {
        if let Some(p) = detector(env) {
            tracing::debug!("detected platform {name}");
            return p;
        }
    }
    tracing::debug!("no CI platform detected: using the AWS credential chain");
    Box::new(Local)
}

/// Keeps only the characters STS allows in a role session name (`[\w+=,.@-]`), replacing the
/// others with `-`, and fits the result into 2..=64 characters, cutting from the front so that
/// the run ids at the end survive.
pub fn sanitize_session_name(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
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
    fn detection_order_and_fallback() {
        let gh: Env = [("GITHUB_ACTIONS", "true")].into_iter().collect();
        assert_eq!(detect(&gh).name(), GithubActions::NAME);
        let eks: Env = [
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r"),
        ]
        .into_iter()
        .collect();
        assert_eq!(detect(&eks).name(), WebIdentity::NAME);
        let both: Env = [
            ("GITHUB_ACTIONS", "true"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r"),
        ]
        .into_iter()
        .collect();
        assert_eq!(detect(&both).name(), GithubActions::NAME);
        assert_eq!(detect(&Env::default()).name(), Local::NAME);
    }

    #[test]
    fn unknown_platform_is_a_usage_error() {
        assert!(matches!(
            select(&Env::default(), Some("travis"), None),
            Err(UsageError::Platform(_))
        ));
    }
}
