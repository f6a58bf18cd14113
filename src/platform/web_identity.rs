//! The generic web identity: a token file plus a role, as EKS IRSA sets them
//! (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`), and as any platform can be wired by hand.
//! The file is read on every use, since the kubelet rotates it.

use std::path::PathBuf;

use super::{ambient_claims, cannot_tell, CacheHome, Options, Platform, TrustRequest, TrustSpec};
use crate::env::Env;
use crate::env_vars::EnvVars;
use crate::error::{TokenError, UsageError};
use crate::id_token::{read_token_file, TokenSource};

pub(super) const NAME: &str = "web-identity";

pub(super) struct WebIdentity {
    path: Option<PathBuf>,
    host: Option<String>,
}

pub(super) fn detect(env: &Env) -> bool {
    env.get(EnvVars::AWS_WEB_IDENTITY_TOKEN_FILE).is_some()
        && env.get(EnvVars::AWS_ROLE_ARN).is_some()
}

pub(super) fn build(env: &Env, opts: &Options) -> Box<dyn Platform> {
    Box::new(WebIdentity {
        path: opts.token_file.clone().or_else(|| {
            env.get(EnvVars::AWS_WEB_IDENTITY_TOKEN_FILE)
                .map(PathBuf::from)
        }),
        // The pod name on Kubernetes.
        host: env.get(EnvVars::HOSTNAME).map(str::to_string),
    })
}

impl Platform for WebIdentity {
    fn name(&self) -> &'static str {
        NAME
    }

    fn token_source(&self, _audience: Option<&str>) -> Result<Option<TokenSource>, TokenError> {
        Ok(self.path.clone().map(TokenSource::File))
    }

    fn cache_home(&self) -> CacheHome {
        CacheHome::User
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
                .unwrap_or_else(|| super::STS_AUDIENCE.into()),
            subject: req.subject.clone().or(claims.sub.clone()).ok_or_else(|| {
                cannot_tell(
                    "the subject",
                    "--subject system:serviceaccount:<namespace>:<name>",
                )
            })?,
            shared_issuer: false,
        })
    }
}
