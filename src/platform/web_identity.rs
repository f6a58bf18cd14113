//! The generic web identity: a token file plus a role, as EKS IRSA sets them
//! (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`), and as any platform can be wired by hand.
//! The file is read on every use, since the kubelet rotates it.

use std::path::PathBuf;

use futures::future::BoxFuture;

use super::{
    ambient_claims, cannot_tell, util, Handoff, Options, Platform, TrustRequest, TrustSpec,
};
use crate::env::Env;
use crate::error::{Error, TokenError, UsageError};
use crate::id_token::IdToken;

pub const NAME: &str = "web-identity";

pub struct WebIdentity {
    path: Option<PathBuf>,
    host: Option<String>,
    env_file: Option<PathBuf>,
}

pub fn detect(env: &Env) -> bool {
    env.get("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() && env.get("AWS_ROLE_ARN").is_some()
}

pub fn build(env: &Env, opts: &Options) -> Box<dyn Platform> {
    Box::new(WebIdentity {
        path: opts
            .token_file
            .clone()
            .or_else(|| env.get("AWS_WEB_IDENTITY_TOKEN_FILE").map(PathBuf::from)),
        // The pod name on Kubernetes.
        host: env.get("HOSTNAME").map(str::to_string),
        env_file: opts.env_file.clone(),
    })
}

/// Reads a token file: it must exist and hold a non-empty token.
pub fn read_token_file(path: &PathBuf) -> Result<IdToken, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|e| TokenError::File {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if text.trim().is_empty() {
        return Err(TokenError::Empty {
            source_desc: format!("file {}", path.display()),
        });
    }
    Ok(IdToken::new(text, format!("file {}", path.display())))
}

impl Platform for WebIdentity {
    fn name(&self) -> &'static str {
        NAME
    }

    fn id_token<'a>(
        &'a self,
        _audience: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<IdToken>, TokenError>> {
        Box::pin(async move { self.path.as_ref().map(read_token_file).transpose() })
    }

    fn session_name(&self) -> Option<String> {
        self.host.as_ref().map(|h| format!("ecr-login-{h}"))
    }

    /// From the token file: the cluster's issuer and the service account's exact `sub`.
    fn trust(&self, req: &TrustRequest) -> Result<TrustSpec, UsageError> {
        let claims = ambient_claims(self.path.as_ref().and_then(|p| read_token_file(p).ok()));
        Ok(TrustSpec {
            issuer: req.issuer.clone().or(claims.iss.clone()).ok_or_else(|| {
                cannot_tell("the issuer (the cluster's OIDC issuer URL)", "--issuer")
            })?,
            audience: req
                .audience
                .clone()
                .or_else(|| claims.aud.first().cloned())
                .unwrap_or_else(|| "sts.amazonaws.com".into()),
            subject: req.subject.clone().or(claims.sub.clone()).ok_or_else(|| {
                cannot_tell(
                    "the subject",
                    "--subject system:serviceaccount:<namespace>:<name>",
                )
            })?,
            shared_issuer: false,
        })
    }

    fn hand_off(&self, handoff: &Handoff<'_>) -> Result<(), Error> {
        util::hand_off_env_file(self.env_file.as_deref(), &handoff.registries)
    }
}
