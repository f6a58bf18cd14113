//! Bitbucket Pipelines: `BITBUCKET_STEP_OIDC_TOKEN`, present in steps with `oidc: true`.

use super::{ambient_claims, cannot_tell, util, Options, Platform, TrustRequest, TrustSpec};
use crate::env::Env;
use crate::env_vars::EnvVars;
use crate::error::{TokenError, UsageError};
use crate::id_token::TokenSource;

pub(super) const NAME: &str = "bitbucket";

pub(super) struct Bitbucket {
    env: Env,
}

pub(super) fn detect(env: &Env) -> bool {
    env.get(EnvVars::BITBUCKET_BUILD_NUMBER).is_some()
}

pub(super) fn build(env: &Env, _opts: &Options) -> Box<dyn Platform> {
    Box::new(Bitbucket { env: env.clone() })
}

fn step_token(env: &Env) -> Option<crate::id_token::IdToken> {
    util::token_from_env(env, &[EnvVars::BITBUCKET_STEP_OIDC_TOKEN.to_string()])
}

impl Platform for Bitbucket {
    fn name(&self) -> &'static str {
        NAME
    }

    fn token_source(&self, _audience: Option<&str>) -> Result<Option<TokenSource>, TokenError> {
        step_token(&self.env)
            .map(|t| Some(TokenSource::Value(t)))
            .ok_or_else(|| TokenError::NotProvided {
                platform: "Bitbucket Pipelines".into(),
                tried: "BITBUCKET_STEP_OIDC_TOKEN is not set".into(),
                help: vec!["add `oidc: true` to the step in bitbucket-pipelines.yml".into()],
            })
    }

    fn job_url(&self, env: &Env) -> Option<String> {
        let get = |name: &str| env.get(name).map(str::trim);
        Some(format!(
            "https://bitbucket.org/{}/{}/pipelines/results/{}",
            get(EnvVars::BITBUCKET_WORKSPACE)?,
            get(EnvVars::BITBUCKET_REPO_SLUG)?,
            get(EnvVars::BITBUCKET_BUILD_NUMBER)?
        ))
    }

    fn session_name(&self) -> Option<String> {
        let e = &self.env;
        Some(format!(
            "bb-{}-{}",
            e.get(EnvVars::BITBUCKET_REPO_SLUG).unwrap_or("repo"),
            e.get(EnvVars::BITBUCKET_BUILD_NUMBER).unwrap_or("0")
        ))
    }

    /// Per-workspace issuer and audience (from the step's token); `sub` pinned to the repository.
    fn trust(&self, req: &TrustRequest) -> Result<TrustSpec, UsageError> {
        let e = &self.env;
        let claims = ambient_claims(step_token(e));
        let issuer = req
            .issuer
            .clone()
            .or(claims.iss.clone())
            .or_else(|| {
                e.get(EnvVars::BITBUCKET_WORKSPACE).map(|w| {
                    format!("https://api.bitbucket.org/2.0/workspaces/{w}/pipelines-config/identity/oidc")
                })
            })
            .ok_or_else(|| cannot_tell("the workspace", "--issuer"))?;
        let audience = req
            .audience
            .clone()
            .or_else(|| claims.aud.first().cloned())
            .ok_or_else(|| {
                cannot_tell(
                    "the audience (ari:cloud:bitbucket::workspace/<uuid>)",
                    "--audience, or run in a step with `oidc: true`",
                )
            })?;
        let subject = req
            .subject
            .clone()
            .or_else(|| {
                e.get(EnvVars::BITBUCKET_REPO_UUID)
                    .map(|u| format!("{u}:*"))
            })
            .ok_or_else(|| cannot_tell("the repository", "--subject '{<repo-uuid>}:*'"))?;
        Ok(TrustSpec {
            issuer,
            audience,
            subject,
            shared_issuer: false,
        })
    }
}
