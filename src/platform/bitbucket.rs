//! Bitbucket Pipelines: `BITBUCKET_STEP_OIDC_TOKEN`, present in steps with `oidc: true`.

use std::path::PathBuf;

use futures::future::BoxFuture;

use super::{
    ambient_claims, cannot_tell, util, Handoff, Options, Platform, TrustRequest, TrustSpec,
};
use crate::env::Env;
use crate::error::{Error, TokenError, UsageError};
use crate::id_token::IdToken;

pub const NAME: &str = "bitbucket";

pub struct Bitbucket {
    env: Env,
    env_file: Option<PathBuf>,
}

pub fn detect(env: &Env) -> bool {
    env.get("BITBUCKET_BUILD_NUMBER").is_some()
}

pub fn build(env: &Env, opts: &Options) -> Box<dyn Platform> {
    Box::new(Bitbucket {
        env: env.clone(),
        env_file: opts.env_file.clone(),
    })
}

impl Platform for Bitbucket {
    fn name(&self) -> &'static str {
        NAME
    }

    fn id_token<'a>(
        &'a self,
        _audience: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<IdToken>, TokenError>> {
        Box::pin(async move {
            util::token_from_env(&self.env, &["BITBUCKET_STEP_OIDC_TOKEN".to_string()])
                .map(Some)
                .ok_or_else(|| TokenError::NotProvided {
                    platform: "Bitbucket Pipelines".into(),
                    tried: "BITBUCKET_STEP_OIDC_TOKEN is not set".into(),
                    help: vec!["add `oidc: true` to the step in bitbucket-pipelines.yml".into()],
                })
        })
    }

    fn session_name(&self) -> Option<String> {
        let e = &self.env;
        Some(format!(
            "bb-{}-{}",
            e.get("BITBUCKET_REPO_SLUG").unwrap_or("repo"),
            e.get("BITBUCKET_BUILD_NUMBER").unwrap_or("0")
        ))
    }

    /// Per-workspace issuer and audience (from the step's token); `sub` pinned to the repository.
    fn trust(&self, req: &TrustRequest) -> Result<TrustSpec, UsageError> {
        let e = &self.env;
        let claims = ambient_claims(util::token_from_env(
            e,
            &["BITBUCKET_STEP_OIDC_TOKEN".to_string()],
        ));
        let issuer = req
            .issuer
            .clone()
            .or(claims.iss.clone())
            .or_else(|| {
                e.get("BITBUCKET_WORKSPACE").map(|w| {
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
            .or_else(|| e.get("BITBUCKET_REPO_UUID").map(|u| format!("{u}:*")))
            .ok_or_else(|| cannot_tell("the repository", "--subject '{<repo-uuid>}:*'"))?;
        Ok(TrustSpec {
            issuer,
            audience,
            subject,
            shared_issuer: false,
        })
    }

    fn hand_off(&self, handoff: &Handoff<'_>) -> Result<(), Error> {
        util::hand_off_env_file(self.env_file.as_deref(), &handoff.registries)
    }
}
