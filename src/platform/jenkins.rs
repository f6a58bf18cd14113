//! Jenkins: a token from the oidc-provider plugin, bound by `withCredentials` to a variable
//! (`--id-token-env`, an `idToken` credential) or a file (`--web-identity-token-file`, an
//! `idTokenFile` credential); without one, the agent's own AWS credential chain.
//! `withCredentials` masks what it binds; later steps read `--env-file` (`readProperties`).

use super::{cannot_tell, util, CacheHome, Options, Platform, TrustRequest, TrustSpec};
use crate::env::Env;
use crate::env_vars::EnvVars;
use crate::error::{TokenError, UsageError};
use crate::id_token::TokenSource;

pub(super) const NAME: &str = "jenkins";

pub(super) struct Jenkins {
    env: Env,
    id_token_env: Option<String>,
}

pub(super) fn detect(env: &Env) -> bool {
    env.get(EnvVars::JENKINS_URL).is_some()
}

pub(super) fn build(env: &Env, opts: &Options) -> Box<dyn Platform> {
    Box::new(Jenkins {
        env: env.clone(),
        id_token_env: opts.id_token_env.clone(),
    })
}

impl Platform for Jenkins {
    fn name(&self) -> &'static str {
        NAME
    }

    fn token_source(&self, _audience: Option<&str>) -> Result<Option<TokenSource>, TokenError> {
        let Some(var) = &self.id_token_env else {
            // A token file, if any, is read by the caller; else the agent's AWS chain.
            return Ok(None);
        };
        match util::token_from_env(&self.env, std::slice::from_ref(var)) {
            Some(t) => Ok(Some(TokenSource::Value(t))),
            None => Err(TokenError::NotProvided {
                platform: "Jenkins".into(),
                tried: format!("the variable {var} (--id-token-env) is not set"),
                help: vec![format!(
                    "bind the oidc-provider plugin's credential around the step: withCredentials([string(credentialsId: '<id-token credential>', variable: '{var}')]) {{ ... }}"
                )],
            }),
        }
    }

    /// `WORKSPACE_TMP`: the build's own temporary directory beside its workspace.
    fn cache_home(&self) -> CacheHome {
        match self.env.get(EnvVars::WORKSPACE_TMP) {
            Some(t) => CacheHome::Job(std::path::PathBuf::from(t).join("ecr-login-cache")),
            None => CacheHome::None,
        }
    }

    fn job_url(&self, env: &Env) -> Option<String> {
        env.get(EnvVars::BUILD_URL).map(|u| u.trim().to_string())
    }

    fn session_name(&self) -> Option<String> {
        let e = &self.env;
        Some(format!(
            "jenkins-{}-{}",
            e.get(EnvVars::JOB_NAME).unwrap_or("job"),
            e.get(EnvVars::BUILD_NUMBER).unwrap_or("0")
        ))
    }

    /// The oidc-provider plugin's defaults: issuer `<JENKINS_URL>/oidc`, `sub` the job URL.
    fn trust(&self, req: &TrustRequest) -> Result<TrustSpec, UsageError> {
        let issuer = req
            .issuer
            .clone()
            .or_else(|| {
                self.env
                    .get(EnvVars::JENKINS_URL)
                    .map(|u| format!("{}/oidc", u.trim_end_matches('/')))
            })
            .ok_or_else(|| {
                cannot_tell("the issuer", "--issuer https://jenkins.example.com/oidc")
            })?;
        let subject = req
            .subject
            .clone()
            .or_else(|| self.env.get(EnvVars::JOB_URL).map(str::to_string))
            .ok_or_else(|| cannot_tell("the job URL (the plugin's default sub)", "--subject"))?;
        Ok(TrustSpec {
            issuer,
            audience: req
                .audience
                .clone()
                .unwrap_or_else(|| super::STS_AUDIENCE.into()),
            subject,
            shared_issuer: false,
        })
    }
}
