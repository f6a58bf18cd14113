//! GitLab CI: the token is whatever variable the job's `id_tokens:` names; GitLab cannot mask
//! values made at run time, so nothing secret is ever printed. Later jobs get non-secret
//! values through a dotenv report (`--env-file`, declared as `artifacts: reports: dotenv:`).

use super::{cannot_tell, util, Options, Platform, TrustRequest, TrustSpec};
use crate::env::Env;
use crate::env_vars::EnvVars;
use crate::error::{TokenError, UsageError};
use crate::id_token::TokenSource;

pub(super) const NAME: &str = "gitlab-ci";

/// Names tried, in order, when `--id-token-env` is not given (besides `<AUD>_ID_TOKEN`):
/// GitLab's own AWS docs, ours, and the sigstore convention.
const CONVENTIONAL: &[&str] = &[
    EnvVars::GITLAB_OIDC_TOKEN,
    EnvVars::ECR_LOGIN_ID_TOKEN,
    "ID_TOKEN",
];

pub(super) struct Gitlab {
    env: Env,
    id_token_env: Option<String>,
}

pub(super) fn detect(env: &Env) -> bool {
    env.is_true(EnvVars::GITLAB_CI)
}

pub(super) fn build(env: &Env, opts: &Options) -> Box<dyn Platform> {
    Box::new(Gitlab {
        env: env.clone(),
        id_token_env: opts.id_token_env.clone(),
    })
}

/// `sts.amazonaws.com` -> `STS_AMAZONAWS_COM_ID_TOKEN`.
fn audience_variable(aud: &str) -> String {
    let up: String = aud
        .to_ascii_uppercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{up}_ID_TOKEN")
}

impl Gitlab {
    /// The instance URL (`CI_SERVER_URL`): the token's issuer, and the audience GitLab's and
    /// AWS's guides give the IAM provider, which `policy`, the component and the docs all use.
    fn instance_url(&self) -> String {
        self.env
            .get(EnvVars::CI_SERVER_URL)
            .unwrap_or(GITLAB_COM)
            .trim_end_matches('/')
            .to_string()
    }

    fn candidates(&self, audience: Option<&str>) -> Vec<String> {
        if let Some(n) = &self.id_token_env {
            return vec![n.clone()];
        }
        let mut names: Vec<String> = CONVENTIONAL.iter().map(|s| s.to_string()).collect();
        names.push(audience_variable(audience.unwrap_or(&self.instance_url())));
        names
    }
}

const GITLAB_COM: &str = "https://gitlab.com";

impl Platform for Gitlab {
    fn name(&self) -> &'static str {
        NAME
    }

    fn token_source(&self, audience: Option<&str>) -> Result<Option<TokenSource>, TokenError> {
        let names = self.candidates(audience);
        if let Some(t) = util::token_from_env(&self.env, &names) {
            return Ok(Some(TokenSource::Value(t)));
        }
        let var = names.first().cloned().unwrap_or_default();
        let aud = audience
            .map(str::to_string)
            .unwrap_or_else(|| self.instance_url());
        Err(TokenError::NotProvided {
            platform: "GitLab CI".into(),
            tried: format!("none of these variables is set: {}", names.join(", ")),
            help: vec![
                format!("add to the job:  id_tokens: {{ {var}: {{ aud: {aud} }} }}  (the aud must be a client id of the IAM OIDC provider for your GitLab URL)"),
                "or name your own variable with --id-token-env NAME (ECR_LOGIN_ID_TOKEN_ENV)".into(),
            ],
        })
    }

    fn job_url(&self, env: &Env) -> Option<String> {
        env.get(EnvVars::CI_JOB_URL).map(|u| u.trim().to_string())
    }

    fn session_name(&self) -> Option<String> {
        let e = &self.env;
        Some(format!(
            "gl-{}-{}-{}",
            e.get(EnvVars::CI_PROJECT_PATH).unwrap_or("gitlab"),
            e.get(EnvVars::CI_PIPELINE_ID).unwrap_or("0"),
            e.get(EnvVars::CI_JOB_ID).unwrap_or("0")
        ))
    }

    fn trust(&self, req: &TrustRequest) -> Result<TrustSpec, UsageError> {
        let e = &self.env;
        let issuer = req
            .issuer
            .clone()
            .unwrap_or_else(|| self.instance_url())
            .trim_end_matches('/')
            .to_string();
        let project = || {
            req.repo
                .clone()
                .or_else(|| e.get(EnvVars::CI_PROJECT_PATH).map(str::to_string))
                .ok_or_else(|| cannot_tell("the project", "--repo group/project"))
        };
        let subject = match (&req.subject, req.any_ref) {
            (Some(s), _) => s.clone(),
            (None, true) => format!("project_path:{}:*", project()?),
            (None, false) => {
                let (kind, name) = match req.git_ref.as_deref() {
                    Some(r) if r.starts_with("refs/tags/") => {
                        ("tag", r["refs/tags/".len()..].to_string())
                    }
                    Some(r) => ("branch", r.trim_start_matches("refs/heads/").to_string()),
                    None => {
                        let name = e.get(EnvVars::CI_COMMIT_REF_NAME).ok_or_else(|| {
                            cannot_tell("the branch", "--ref main (or --any-ref)")
                        })?;
                        let kind = if e.get(EnvVars::CI_COMMIT_TAG).is_some() {
                            "tag"
                        } else {
                            "branch"
                        };
                        (kind, name.to_string())
                    }
                };
                format!("project_path:{}:ref_type:{kind}:ref:{name}", project()?)
            }
        };
        Ok(TrustSpec {
            // AWS's GitLab guide uses the instance URL as the audience.
            audience: req.audience.clone().unwrap_or_else(|| issuer.clone()),
            shared_issuer: issuer == GITLAB_COM,
            issuer,
            subject,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_variable_names() {
        assert_eq!(
            audience_variable("sts.amazonaws.com"),
            "STS_AMAZONAWS_COM_ID_TOKEN"
        );
        assert_eq!(
            audience_variable("https://gitlab.com"),
            "HTTPS___GITLAB_COM_ID_TOKEN"
        );
    }
}
