//! CircleCI: `CIRCLE_OIDC_TOKEN_V2` (else `CIRCLE_OIDC_TOKEN`), whose audience is the org id;
//! for another audience, `circleci run oidc get --claims '{"aud": ...}'`. Later steps read
//! non-secret values from `$BASH_ENV`.

use std::path::PathBuf;

use futures::future::BoxFuture;

use super::{
    ambient_claims, cannot_tell, util, Handoff, Options, Platform, TrustRequest, TrustSpec,
};
use crate::env::Env;
use crate::env_vars::EnvVars;
use crate::error::{HandoffError, TokenError, UsageError};
use crate::id_token::{IdToken, TokenSource};

pub(super) const NAME: &str = "circleci";

const VARIABLES: &[&str] = &[EnvVars::CIRCLE_OIDC_TOKEN_V2, EnvVars::CIRCLE_OIDC_TOKEN];

/// CircleCI's issuer for an organization: this prefix and the organization id.
const ISSUER_PREFIX: &str = "https://oidc.circleci.com/org/";

/// `<org-id>/<project-id>`, both ids as CircleCI shows them (UUIDs): no wildcard slips into
/// the trust policy through them.
fn project_ids(repo: &str) -> Result<(&str, &str), UsageError> {
    let is_id = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    match repo.split_once('/') {
        Some((org, project)) if is_id(org) && is_id(project) => Ok((org, project)),
        _ => Err(UsageError::Other(format!(
            "--repo {repo:?}: CircleCI wants <org-id>/<project-id>, the two UUIDs from Organization Settings > Overview and Project Settings > Overview"
        ))),
    }
}

pub(super) struct Circleci {
    env: Env,
}

pub(super) fn detect(env: &Env) -> bool {
    env.is_true(EnvVars::CIRCLECI)
}

pub(super) fn build(env: &Env, _opts: &Options) -> Box<dyn Platform> {
    Box::new(Circleci { env: env.clone() })
}

impl Platform for Circleci {
    fn name(&self) -> &'static str {
        NAME
    }

    fn token_source(&self, audience: Option<&str>) -> Result<Option<TokenSource>, TokenError> {
        let has_cli = util::on_path(&self.env, "circleci");
        if let Some(aud) = audience {
            if !has_cli {
                return Err(TokenError::NotProvided {
                    platform: "CircleCI".into(),
                    tried: format!("a token for audience {aud:?} needs the `circleci` CLI, which is not on PATH"),
                    help: vec![
                        "use an image with the circleci CLI (cimg/* images have it), or drop --audience to use CIRCLE_OIDC_TOKEN_V2, whose audience is your organization id".into(),
                    ],
                });
            }
            return Ok(Some(TokenSource::Platform {
                audience: Some(aud.to_string()),
                hint: None,
            }));
        }
        let names: Vec<String> = VARIABLES.iter().map(|s| s.to_string()).collect();
        if let Some(t) = util::token_from_env(&self.env, &names) {
            return Ok(Some(TokenSource::Value(t)));
        }
        if has_cli {
            // Set but empty happens; the CLI asks the token service again (with retries).
            return Ok(Some(TokenSource::Platform {
                audience: None,
                hint: None,
            }));
        }
        Err(TokenError::NotProvided {
            platform: "CircleCI".into(),
            tried: format!("none of these variables is set: {}", names.join(", ")),
            help: vec![
                "CircleCI injects OIDC tokens only into jobs of CircleCI cloud projects that run with a context: add `context: <any context>` to the job in the workflow".into(),
            ],
        })
    }

    fn fetch_token<'a>(
        &'a self,
        audience: Option<&'a str>,
    ) -> BoxFuture<'a, Result<IdToken, TokenError>> {
        Box::pin(async move {
            match audience {
                Some(aud) => {
                    let claims = serde_json::json!({ "aud": aud }).to_string();
                    util::token_from_command(
                        "circleci",
                        &["run", "oidc", "get", "--claims", &claims],
                    )
                    .await
                }
                None => util::token_from_command("circleci", &["run", "oidc", "get"]).await,
            }
        })
    }

    fn job_url(&self, env: &Env) -> Option<String> {
        env.get(EnvVars::CIRCLE_BUILD_URL)
            .map(|u| u.trim().to_string())
    }

    fn session_name(&self) -> Option<String> {
        let e = &self.env;
        Some(format!(
            "cci-{}-{}",
            e.get(EnvVars::CIRCLE_PROJECT_REPONAME)
                .unwrap_or("circleci"),
            e.get(EnvVars::CIRCLE_BUILD_NUM).unwrap_or("0")
        ))
    }

    /// From the job's own token: the issuer is per organization, `sub` pinned to the project.
    fn trust(&self, req: &TrustRequest) -> Result<TrustSpec, UsageError> {
        let names: Vec<String> = VARIABLES.iter().map(|s| s.to_string()).collect();
        let claims = ambient_claims(util::token_from_env(&self.env, &names));
        // `--repo <org-id>/<project-id>`: everything, outside a job (the ids are on the
        // organization's and the project's settings pages).
        let ids = req.repo.as_deref().map(project_ids).transpose()?;
        let issuer = req
            .issuer
            .clone()
            .or_else(|| ids.map(|(org, _)| format!("{ISSUER_PREFIX}{org}")))
            .or(claims.iss.clone())
            .ok_or_else(|| {
                cannot_tell(
                    "the issuer",
                    "--repo <org-id>/<project-id> (or --issuer https://oidc.circleci.com/org/<org-id>)",
                )
            })?;
        let org = issuer.rsplit('/').next().unwrap_or_default().to_string();
        let subject = match (&req.subject, ids) {
            (Some(s), _) => s.clone(),
            (None, Some((o, p))) => format!("org/{o}/project/{p}/*"),
            (None, None) => {
                // org/<org>/project/<project>/user/<user>[/vcs-origin/...]: keep up to the project.
                let sub = claims
                    .sub
                    .clone()
                    .ok_or_else(|| cannot_tell("the project", "--repo <org-id>/<project-id>"))?;
                let parts: Vec<&str> = sub.split('/').collect();
                match parts.as_slice() {
                    ["org", o, "project", p, ..] => format!("org/{o}/project/{p}/*"),
                    _ => return Err(cannot_tell("the project", "--repo <org-id>/<project-id>")),
                }
            }
        };
        Ok(TrustSpec {
            audience: req
                .audience
                .clone()
                .or_else(|| claims.aud.first().cloned())
                .unwrap_or(org),
            issuer,
            subject,
            shared_issuer: false,
        })
    }

    /// `export` lines in `$BASH_ENV`, which CircleCI sources before every later step.
    fn hand_off(&self, handoff: &Handoff<'_>) -> Result<(), HandoffError> {
        let Some(bash_env) = self.env.get(EnvVars::BASH_ENV) else {
            return Ok(());
        };
        let vars = util::handoff_vars(&handoff.registries);
        util::append_env_file(&PathBuf::from(bash_env), &vars, util::EnvFormat::Export).map_err(
            |e| HandoffError {
                what: "BASH_ENV",
                path: PathBuf::from(bash_env),
                source: e,
            },
        )
    }
}
