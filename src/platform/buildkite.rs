//! Buildkite: `buildkite-agent oidc request-token [--audience AUD]` prints the token; secrets
//! are added to the agent's log redactor (`buildkite-agent redactor add`) when it has one.

use std::io::Write;
use std::process::{Command, Stdio};

use futures::future::BoxFuture;

use super::{cannot_tell, util, Options, Platform, TrustRequest, TrustSpec};
use crate::env::Env;
use crate::env_vars::EnvVars;
use crate::error::{TokenError, UsageError};
use crate::id_token::{IdToken, TokenSource};
use crate::output::Printer;

pub(super) const NAME: &str = "buildkite";

/// The audience Buildkite's AWS guide and its aws-assume-role-with-web-identity plugin set up
/// the IAM provider with. Without it the agent's default (`https://buildkite.com/<org>`) would
/// be requested, and STS would answer "Incorrect token audience".
const DEFAULT_AUDIENCE: &str = super::STS_AUDIENCE;

pub(super) struct Buildkite {
    env: Env,
}

pub(super) fn detect(env: &Env) -> bool {
    env.is_true(EnvVars::BUILDKITE)
}

pub(super) fn build(env: &Env, _opts: &Options) -> Box<dyn Platform> {
    Box::new(Buildkite { env: env.clone() })
}

impl Platform for Buildkite {
    fn name(&self) -> &'static str {
        NAME
    }

    fn token_source(&self, audience: Option<&str>) -> Result<Option<TokenSource>, TokenError> {
        if !util::on_path(&self.env, "buildkite-agent") {
            return Err(TokenError::NotProvided {
                platform: "Buildkite".into(),
                tried: "`buildkite-agent` is not on PATH".into(),
                help: vec![
                    "run the step on a Buildkite agent (3.48 or newer has `oidc request-token`), or mount the agent binary into the step's container".into(),
                ],
            });
        }
        Ok(Some(TokenSource::Platform {
            audience: Some(audience.unwrap_or(DEFAULT_AUDIENCE).to_string()),
            hint: self.identity_hint(),
        }))
    }

    fn fetch_token<'a>(
        &'a self,
        audience: Option<&'a str>,
    ) -> BoxFuture<'a, Result<IdToken, TokenError>> {
        Box::pin(async move {
            let audience = audience.unwrap_or(DEFAULT_AUDIENCE);
            util::token_from_command(
                "buildkite-agent",
                &["oidc", "request-token", "--audience", audience],
            )
            .await
        })
    }

    /// What the token's `sub` is made of: organization, pipeline and branch.
    fn identity_hint(&self) -> Option<String> {
        let e = &self.env;
        Some(format!(
            "organization:{}:pipeline:{}:ref:{}",
            e.get(EnvVars::BUILDKITE_ORGANIZATION_SLUG)?,
            e.get(EnvVars::BUILDKITE_PIPELINE_SLUG)?,
            e.get(EnvVars::BUILDKITE_BRANCH)?
        ))
    }

    fn job_url(&self, env: &Env) -> Option<String> {
        env.get(EnvVars::BUILDKITE_BUILD_URL)
            .map(|u| u.trim().to_string())
    }

    fn session_name(&self) -> Option<String> {
        let e = &self.env;
        Some(format!(
            "bk-{}-{}",
            e.get(EnvVars::BUILDKITE_PIPELINE_SLUG)
                .unwrap_or("pipeline"),
            e.get(EnvVars::BUILDKITE_BUILD_NUMBER).unwrap_or("0")
        ))
    }

    fn install_masking(&self, _printer: Printer) {
        if !util::on_path(&self.env, "buildkite-agent") {
            return;
        }
        crate::secret::registry().set_mask_hook(Box::new(|value| {
            // `redactor add` reads the value on stdin, so it never appears in argv.
            let child = Command::new("buildkite-agent")
                .args(["redactor", "add"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            if let Ok(mut child) = child {
                if let Some(mut stdin) = child.stdin.take() {
                    let _ = stdin.write_all(value.as_bytes());
                }
                let _ = child.wait();
            }
        }));
    }

    /// One issuer for every Buildkite customer: `sub` always pins the organization and pipeline.
    fn trust(&self, req: &TrustRequest) -> Result<TrustSpec, UsageError> {
        let e = &self.env;
        let (org, pipeline) = match &req.repo {
            Some(r) => r
                .split_once('/')
                .map(|(o, p)| (o.to_string(), p.to_string()))
                .ok_or_else(|| cannot_tell("the pipeline", "--repo <org>/<pipeline>"))?,
            None => (
                e.get(EnvVars::BUILDKITE_ORGANIZATION_SLUG)
                    .ok_or_else(|| cannot_tell("the organization", "--repo <org>/<pipeline>"))?
                    .to_string(),
                e.get(EnvVars::BUILDKITE_PIPELINE_SLUG)
                    .ok_or_else(|| cannot_tell("the pipeline", "--repo <org>/<pipeline>"))?
                    .to_string(),
            ),
        };
        let subject = match (&req.subject, req.any_ref) {
            (Some(s), _) => s.clone(),
            (None, true) => format!("organization:{org}:pipeline:{pipeline}:*"),
            (None, false) => {
                let r = req
                    .git_ref
                    .clone()
                    .or_else(|| e.get(EnvVars::BUILDKITE_BRANCH).map(str::to_string))
                    .ok_or_else(|| cannot_tell("the branch", "--ref main (or --any-ref)"))?;
                let r = if r.starts_with("refs/") {
                    r
                } else {
                    format!("refs/heads/{r}")
                };
                format!("organization:{org}:pipeline:{pipeline}:ref:{r}:commit:*:step:*")
            }
        };
        Ok(TrustSpec {
            issuer: req
                .issuer
                .clone()
                .unwrap_or_else(|| "https://agent.buildkite.com".into()),
            audience: req
                .audience
                .clone()
                .unwrap_or_else(|| DEFAULT_AUDIENCE.into()),
            subject,
            shared_issuer: true,
        })
    }
}
