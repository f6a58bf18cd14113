//! GitHub Actions: the OIDC token from the runner's token service
//! (`ACTIONS_ID_TOKEN_REQUEST_URL` + `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, present only with
//! `permissions: id-token: write`), `::add-mask::` for secrets, and step outputs through
//! `$GITHUB_OUTPUT`.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::{cannot_tell, CacheHome, Handoff, Options, Platform, TrustRequest, TrustSpec};
use crate::env::Env;
use crate::env_vars::EnvVars;
use crate::error::{HandoffError, TokenError, UsageError};
use crate::id_token::{IdToken, TokenSource};
use crate::output::Printer;
use crate::retry::{self, Transient};
use crate::secret::{self, Secret};

pub(super) struct GithubActions {
    request_url: Option<String>,
    request_token: Option<Secret>,
    output_file: Option<PathBuf>,
    state_file: Option<PathBuf>,
    runner_temp: Option<PathBuf>,
    repository: Option<String>,
    run_id: Option<String>,
    run_attempt: Option<String>,
    git_ref: Option<String>,
    workflow_ref: Option<String>,
}

pub(super) const NAME: &str = "github-actions";

/// The audience AWS's own GitHub docs and configure-aws-credentials use.
const DEFAULT_AUDIENCE: &str = super::STS_AUDIENCE;

pub(super) fn detect(env: &Env) -> bool {
    env.is_true(EnvVars::GITHUB_ACTIONS)
}

pub(super) fn build(env: &Env, _opts: &Options) -> Box<dyn Platform> {
    Box::new(GithubActions::from_env(env))
}

impl GithubActions {
    pub(super) fn from_env(env: &Env) -> Self {
        GithubActions {
            request_url: env
                .get(EnvVars::ACTIONS_ID_TOKEN_REQUEST_URL)
                .map(str::to_string),
            request_token: env
                .get(EnvVars::ACTIONS_ID_TOKEN_REQUEST_TOKEN)
                .map(Secret::new),
            output_file: env.get(EnvVars::GITHUB_OUTPUT).map(PathBuf::from),
            state_file: env.get(EnvVars::GITHUB_STATE).map(PathBuf::from),
            runner_temp: env.get(EnvVars::RUNNER_TEMP).map(PathBuf::from),
            repository: env.get(EnvVars::GITHUB_REPOSITORY).map(str::to_string),
            run_id: env.get(EnvVars::GITHUB_RUN_ID).map(str::to_string),
            run_attempt: env.get(EnvVars::GITHUB_RUN_ATTEMPT).map(str::to_string),
            git_ref: env.get(EnvVars::GITHUB_REF).map(str::to_string),
            workflow_ref: env.get(EnvVars::GITHUB_WORKFLOW_REF).map(str::to_string),
        }
    }

    /// Builds the token request once (a bad URL or header is not worth retrying).
    fn prepare(url: &str, token: &Secret, audience: &str) -> Result<TokenRequest, TokenError> {
        let mut url = reqwest::Url::parse(url).map_err(|e| TokenError::BadResponse {
            // Never the query: it may carry a token on some runners.
            url: url.split(['?', '#']).next().unwrap_or_default().to_string(),
            reason: format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: {e}"),
        })?;
        url.query_pairs_mut().append_pair("audience", audience);
        let shown = redacted_url(&url);
        let client = crate::tls::reqwest_builder()
            .connect_timeout(retry::TIMEOUTS.connect)
            .read_timeout(retry::TIMEOUTS.read)
            .timeout(retry::TIMEOUTS.attempt)
            .build()
            .map_err(|e| TokenError::Unreachable {
                url: shown.clone(),
                reason: error_chain(e),
            })?;
        let mut auth = reqwest::header::HeaderValue::from_str(&format!(
            "Bearer {}",
            token.expose()
        ))
        .map_err(|_| TokenError::BadResponse {
            url: shown.clone(),
            reason: "ACTIONS_ID_TOKEN_REQUEST_TOKEN holds characters a header cannot".into(),
        })?;
        auth.set_sensitive(true);
        Ok(TokenRequest {
            client,
            url,
            shown,
            auth,
        })
    }

    /// One attempt at the token endpoint.
    async fn fetch(req: &TokenRequest) -> Result<IdToken, Fetch> {
        let TokenRequest {
            client,
            url,
            shown,
            auth,
        } = req;
        let shown = shown.clone();
        let resp = client
            .get(url.clone())
            .header(reqwest::header::AUTHORIZATION, auth.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                Fetch(TokenError::Unreachable {
                    url: shown.clone(),
                    reason: error_chain(e),
                })
            })?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| {
            Fetch(TokenError::Unreachable {
                url: shown.clone(),
                reason: error_chain(e),
            })
        })?;
        if !status.is_success() {
            return Err(Fetch(TokenError::Http {
                url: shown,
                status: status.as_u16(),
                body: secret::registry()
                    .redact(body.trim())
                    .chars()
                    .take(300)
                    .collect(),
            }));
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            value: Option<String>,
        }
        let answer: Answer = serde_json::from_str(&body).map_err(|e| {
            Fetch(TokenError::BadResponse {
                url: shown.clone(),
                reason: e.to_string(),
            })
        })?;
        match answer.value {
            Some(v) if !v.trim().is_empty() => {
                Ok(IdToken::new(v, "the GitHub Actions token endpoint"))
            }
            _ => Err(Fetch(TokenError::Empty {
                source_desc: format!("{shown} answered with an empty value"),
            })),
        }
    }
}

/// The token endpoint's request, ready to send (and send again).
struct TokenRequest {
    client: reqwest::Client,
    url: reqwest::Url,
    /// The URL without its query, for messages.
    shown: String,
    auth: reqwest::header::HeaderValue,
}

/// A token-fetch failure, classified for retrying.
struct Fetch(TokenError);

impl Transient for Fetch {
    fn is_transient(&self) -> bool {
        match &self.0 {
            TokenError::Unreachable { .. } | TokenError::Empty { .. } => true,
            TokenError::Http { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }
}

impl std::fmt::Display for Fetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The URL without its query (which may carry tokens on some runners).
fn redacted_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

/// A reqwest error and its causes, without the request URL reqwest puts in its text (its query
/// may carry a token; [`TokenError`] names the URL without it).
fn error_chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut s = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

impl Platform for GithubActions {
    fn name(&self) -> &'static str {
        NAME
    }

    fn token_source(&self, audience: Option<&str>) -> Result<Option<TokenSource>, TokenError> {
        if self.request_url.is_none() || self.request_token.is_none() {
            return Err(TokenError::NotProvided {
                platform: "GitHub Actions".into(),
                tried: "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set".into(),
                help: vec![
                    "add `permissions: id-token: write` to the workflow or the job (and keep `contents: read` if you check out code)".into(),
                    "on a pull request from a fork GitHub never grants id-token: write; use `pull_request_target` with care, or skip the push there".into(),
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
            let (Some(url), Some(token)) = (&self.request_url, &self.request_token) else {
                return Err(self
                    .token_source(Some(audience))
                    .err()
                    .unwrap_or(TokenError::Empty {
                        source_desc: "the GitHub Actions token endpoint".into(),
                    }));
            };
            let req = Self::prepare(url, token, audience)?;
            retry::retry(
                retry::Policy::STANDARD,
                "fetching the GitHub OIDC token",
                || Self::fetch(&req),
            )
            .await
            .map_err(|f| f.0)
        })
    }

    /// What the token's `sub` is made of: the repository, the ref and the workflow.
    fn identity_hint(&self) -> Option<String> {
        Some(format!(
            "repo:{}:ref:{}:workflow:{}",
            self.repository.as_deref()?,
            self.git_ref.as_deref()?,
            self.workflow_ref.as_deref().unwrap_or_default()
        ))
    }

    /// `RUNNER_TEMP`: emptied at the end of every job, even on self-hosted runners.
    fn cache_home(&self) -> CacheHome {
        match &self.runner_temp {
            Some(t) => CacheHome::Job(t.join("ecr-login-cache")),
            None => CacheHome::None,
        }
    }

    fn job_url(&self, env: &Env) -> Option<String> {
        let get = |name: &str| env.get(name).map(str::trim);
        Some(format!(
            "{}/{}/actions/runs/{}",
            get(EnvVars::GITHUB_SERVER_URL)
                .unwrap_or("https://github.com")
                .trim_end_matches('/'),
            get(EnvVars::GITHUB_REPOSITORY)?,
            get(EnvVars::GITHUB_RUN_ID)?
        ))
    }

    fn session_name(&self) -> Option<String> {
        let repo = self.repository.as_deref().unwrap_or("github");
        let run = self.run_id.as_deref().unwrap_or("0");
        let attempt = self.run_attempt.as_deref().unwrap_or("1");
        Some(format!("gh-{repo}-{run}-{attempt}"))
    }

    fn trust(&self, req: &TrustRequest) -> Result<TrustSpec, UsageError> {
        let repo = || {
            req.repo
                .clone()
                .or_else(|| self.repository.clone())
                .ok_or_else(|| cannot_tell("the repository", "--repo owner/repo"))
        };
        let subject = match (&req.subject, req.any_ref) {
            (Some(s), _) => s.clone(),
            (None, true) => format!("repo:{}:*", repo()?),
            (None, false) => {
                let r = req
                    .git_ref
                    .clone()
                    .or_else(|| self.git_ref.clone())
                    .ok_or_else(|| cannot_tell("the branch", "--ref main (or --any-ref)"))?;
                let r = if r.starts_with("refs/") {
                    r
                } else {
                    format!("refs/heads/{r}")
                };
                format!("repo:{}:ref:{r}", repo()?)
            }
        };
        Ok(TrustSpec {
            issuer: req
                .issuer
                .clone()
                .unwrap_or_else(|| "https://token.actions.githubusercontent.com".into()),
            audience: req
                .audience
                .clone()
                .unwrap_or_else(|| DEFAULT_AUDIENCE.into()),
            subject,
            shared_issuer: true,
        })
    }

    fn install_masking(&self, printer: Printer) {
        secret::registry().set_mask_hook(Box::new(move |value| {
            // Unredacted, as a workflow command: this is the one place a secret is meant to be
            // written, so that the runner hides it from then on. The printer puts it on stderr
            // when stdout carries JSON.
            for line in value.lines().filter(|l| !l.trim().is_empty()) {
                printer.workflow_command(&format!("::add-mask::{line}"));
            }
        }));
    }

    fn hand_off(&self, handoff: &Handoff<'_>) -> Result<(), HandoffError> {
        let Some(path) = &self.output_file else {
            tracing::debug!("GITHUB_OUTPUT is not set: no step outputs written");
            return Ok(());
        };
        let mut outputs: Vec<(String, String)> = vec![
            (
                "registry".into(),
                handoff
                    .registries
                    .first()
                    .copied()
                    .unwrap_or_default()
                    .to_string(),
            ),
            ("registries".into(), handoff.registries.join(",")),
        ];
        if let Some(creds) = &handoff.credentials {
            for (host, user, password) in creds {
                let key = output_key(host);
                outputs.push((format!("docker_username_{key}"), user.to_string()));
                outputs.push((
                    format!("docker_password_{key}"),
                    password.expose().to_string(),
                ));
            }
        }
        if let Some(state) = &self.state_file {
            // For the action's post step: what to log out of.
            let registries = vec![("registries".to_string(), handoff.registries.join(","))];
            append_outputs(state, &registries).map_err(|e| HandoffError {
                what: "GITHUB_STATE",
                path: state.clone(),
                source: e,
            })?;
        }
        append_outputs(path, &outputs).map_err(|e| HandoffError {
            what: "GITHUB_OUTPUT",
            path: path.clone(),
            source: e,
        })
    }
}

/// A registry host as an output name: `.` and `-` become `_` (as amazon-ecr-login does).
fn output_key(host: &str) -> String {
    host.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Appends `name<<DELIM` / value / `DELIM` blocks, the form that is safe for any value.
fn append_outputs(path: &Path, outputs: &[(String, String)]) -> std::io::Result<()> {
    let mut text = String::new();
    for (name, value) in outputs {
        let delim = format!("ECR_LOGIN_EOF_{:016x}", fastrand::u64(..));
        text.push_str(&format!("{name}<<{delim}\n{value}\n{delim}\n"));
    }
    crate::fs::append(path, text.as_bytes(), &RUNNER_FILE).map_err(runner_file_error)
}

/// The runner's files (`GITHUB_OUTPUT`, `GITHUB_STATE`, `GITHUB_ENV`): the runner makes them;
/// one made here is readable as such files are.
const RUNNER_FILE: crate::fs::Append = crate::fs::Append {
    mode: 0o644,
    no_follow: false,
    ours: false,
};

fn runner_file_error(e: crate::fs::AppendError) -> std::io::Error {
    match e {
        crate::fs::AppendError::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_name_traces_the_run() {
        let env: Env = [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "octo-org/octo-repo"),
            ("GITHUB_RUN_ID", "1658821493"),
            ("GITHUB_RUN_ATTEMPT", "2"),
        ]
        .into_iter()
        .collect();
        let gh = GithubActions::from_env(&env);
        assert_eq!(
            gh.session_name().as_deref(),
            Some("gh-octo-org/octo-repo-1658821493-2")
        );
    }

    #[test]
    fn outputs_use_the_heredoc_form() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        append_outputs(&path, &[("registry".into(), "a.b".into())]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        let first = lines.next().unwrap();
        let delim = first.strip_prefix("registry<<").unwrap();
        assert_eq!(lines.next(), Some("a.b"));
        assert_eq!(lines.next(), Some(delim));
    }

    #[test]
    fn errors_never_show_the_token_url_query() {
        // A port nothing listens on: the connection is refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/token?api-version=2.0&sig=QUERY-MARKER-1");
        let token = Secret::new("github-request-token-1");
        let req = GithubActions::prepare(&url, &token, "sts.amazonaws.com").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let Err(Fetch(e)) = rt.block_on(GithubActions::fetch(&req)) else {
            panic!("a refused connection must fail");
        };
        let text = e.to_string();
        assert!(matches!(e, TokenError::Unreachable { .. }), "{text}");
        assert!(!text.contains("QUERY-MARKER"), "{text}");
        assert!(!text.contains("api-version"), "{text}");
        assert!(text.contains(&format!("127.0.0.1:{port}/token")), "{text}");

        let Err(e) =
            GithubActions::prepare("not a url?sig=QUERY-MARKER-2", &token, "sts.amazonaws.com")
        else {
            panic!("not a URL");
        };
        assert!(!e.to_string().contains("QUERY-MARKER"), "{e}");
    }

    #[test]
    fn output_keys() {
        assert_eq!(
            output_key("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            "123456789012_dkr_ecr_us_east_1_amazonaws_com"
        );
    }

    /// Properties (proptest: 256 cases in `cargo test`, `PROPTEST_CASES` or `scripts/fuzz.sh`
    /// for more; failures are kept in `proptest-regressions/` and replayed first).
    mod props {
        use super::*;
        use proptest::prelude::*;

        /// `$GITHUB_OUTPUT` read as the runner reads it: `name<<DELIM`, lines, `DELIM`.
        fn runner_reads(text: &str) -> Vec<(String, String)> {
            let mut out = Vec::new();
            let mut lines = text.split('\n');
            while let Some(line) = lines.next() {
                if line.is_empty() {
                    continue;
                }
                let (name, delim) = line.split_once("<<").unwrap();
                let mut value = Vec::new();
                for l in lines.by_ref() {
                    if l == delim {
                        break;
                    }
                    value.push(l);
                }
                out.push((name.to_string(), value.join("\n")));
            }
            out
        }

        proptest! {
            /// Any value, line breaks and would-be delimiters included, comes back as one
            /// output with exactly that value: none can add another.
            #[test]
            fn no_value_injects_an_output(values in prop::collection::vec("\\PC{0,20}|[a-z<=\\n]{0,20}|registry<<EOF\\nx=1\\nEOF", 1..4)) {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("out");
                let outputs: Vec<(String, String)> =
                    values.iter().enumerate().map(|(i, v)| (format!("o{i}"), v.clone())).collect();
                append_outputs(&path, &outputs).unwrap();
                let read = runner_reads(&std::fs::read_to_string(&path).unwrap());
                prop_assert_eq!(read, outputs);
            }
        }
    }
}
