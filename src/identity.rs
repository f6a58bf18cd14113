//! Which AWS identity a command acts as, decided before any network call, and the credentials
//! for it.
//!
//! [`plan`] is pure: from the checked settings, the CI platform and the environment snapshot it
//! decides whether to use the AWS credential chain as it is ([`Base::Chain`]), to assume a role
//! with it ([`Base::AssumeRole`]), or to exchange a CI identity token for a role
//! ([`Base::WebIdentity`]), then any further roles to chain into. [`credentials`] then carries
//! the plan out against STS.
//!
//! The token cache keys an identity two ways:
//! - [`Plan::local_key`], without a network call, for this machine's private files: the role
//!   and a token's `iss`/`sub`/`aud` (decoded locally, never the token itself), or the job
//!   identity the platform's variables state, or where the credential chain will find its
//!   credentials ([`ChainInputs`]);
//! - [`Plan::fleet_key`], for the cache shared between machines and jobs: what STS will see,
//!   from a [`Proof`] (the job's own CI token, fetched; or the chain's credentials, resolved
//!   locally), never a hint from the environment that any job can set.

use std::path::PathBuf;
use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use sha2::{Digest, Sha256};

use crate::aws::credential_source::ChainInputs;
use crate::aws::{self, sts};
use crate::config_file::Rule;
use crate::env::Env;
use crate::env_vars::EnvVars;
use crate::error::{AwsError, Error, TokenError, UsageError};
use crate::id_token::{read_token_file, IdToken, TokenSource};
use crate::platform::{self, Platform};

/// The identity settings, checked (from `IdentityArgs`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    /// `--role-arn`: the first is assumed with the token (or the chain), the others are hops.
    pub roles: Vec<String>,
    /// `--role-chaining`: assume the first role with the credential chain, not a CI token.
    pub role_chaining: bool,
    /// `--role-external-id`, for the AssumeRole calls.
    pub external_id: Option<String>,
    /// `--audience`.
    pub audience: Option<String>,
    /// `--web-identity-token-file`.
    pub token_file: Option<PathBuf>,
    /// `--role-session-name`, checked.
    pub session_name: Option<String>,
    pub session: Session,
    /// An AWS profile for the credential chain (a per-registry rule's); `None`: the SDK's own
    /// choice (`AWS_PROFILE`, else `default`).
    pub profile: Option<String>,
}

/// How the assumed sessions are shaped and guarded: the same in the settings and the plan.
#[derive(Debug, Clone, Default)]
pub(crate) struct Session {
    pub duration_seconds: i32,
    /// `--inline-session-policy`, minified: narrows the last assumed role.
    pub inline_policy: Option<String>,
    /// `--managed-session-policies`: narrow the last assumed role.
    pub managed_policies: Vec<String>,
    /// `--allowed-account-ids`; empty: any.
    pub allowed_accounts: Vec<String>,
}

impl Session {
    fn narrows(&self) -> bool {
        self.inline_policy.is_some() || !self.managed_policies.is_empty()
    }
}

/// Where the first credentials come from.
#[derive(Debug, Clone)]
pub(crate) enum Base {
    /// The AWS credential chain's own credentials (profile, SSO, instance role, keys...).
    Chain,
    /// `role`, assumed with the credential chain's credentials (sts:AssumeRole).
    AssumeRole { role: String },
    /// `role`, assumed with a CI identity token (STS AssumeRoleWithWebIdentity).
    WebIdentity { role: String, token: TokenSource },
}

/// The identity to act as, decided; nothing fetched yet.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub base: Base,
    /// Roles assumed in turn after the base, each with the previous one's credentials.
    pub hops: Vec<String>,
    pub external_id: Option<String>,
    /// The role session name; `None`: `ecr-login-<unix time>` at call time.
    pub session_name: Option<String>,
    pub session: Session,
    /// The AWS profile the credential chain reads (see [`Settings::profile`]).
    pub profile: Option<String>,
    /// Where the credential chain will look, for [`Plan::local_key`].
    pub chain: ChainInputs,
}

/// What identifies an identity for caching: never a secret, and different for any two
/// identities that could be granted different registries; with the accounts a cached token's
/// identity must be in (`--allowed-account-ids`), checked on every hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CacheKey {
    text: String,
    allowed_accounts: Vec<String>,
}

impl CacheKey {
    /// The key as text (for messages and debugging): role, claims, profile; no secret.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// `--allowed-account-ids`; empty: any.
    pub(crate) fn allowed_accounts(&self) -> &[String] {
        &self.allowed_accounts
    }

    #[cfg(test)]
    /// The key's SHA-256, hex.
    pub(crate) fn digest(&self) -> String {
        hex(&Sha256::digest(self.text.as_bytes()))
    }

    #[cfg(test)]
    pub(crate) fn for_tests(text: &str, allowed: &[&str]) -> CacheKey {
        CacheKey {
            text: text.to_string(),
            allowed_accounts: allowed.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// What STS will see of an identity, had before any AWS call: the CI token the role is assumed
/// with (fetched from the platform, read from its file or variable), or the credential chain's
/// credentials (resolved locally: environment, profile, container or instance endpoint).
#[derive(Debug, Clone)]
pub(crate) enum Proof {
    Token(IdToken),
    Chain(Credentials),
}

impl Proof {
    /// The CI token, if the identity is one.
    pub(crate) fn token(&self) -> Option<&IdToken> {
        match self {
            Proof::Token(t) => Some(t),
            Proof::Chain(_) => None,
        }
    }
}

/// Credentials and who they are.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub credentials: Credentials,
    /// The assumed role's ARN (`arn:aws:sts::<account>:assumed-role/...`); `None` for the
    /// chain's own credentials unless --allowed-account-ids made us ask.
    pub arn: Option<String>,
    /// The `sub` of the CI token the first role was assumed with, if one was.
    pub sub: Option<String>,
}

/// Plans identities for registries known only at run time (the credential helper's): the
/// settings from the environment, and a per-registry [`Rule`] over them.
#[derive(Debug)]
pub(crate) struct Planner {
    settings: Settings,
    platform: Box<dyn Platform>,
    env: Env,
}

impl Planner {
    pub(crate) fn new(settings: Settings, platform: Box<dyn Platform>, env: Env) -> Planner {
        Planner {
            settings,
            platform,
            env,
        }
    }

    pub(crate) fn platform(&self) -> &dyn Platform {
        self.platform.as_ref()
    }

    /// The plan for a registry `rule` covers (`None`: the settings as they are). A rule's role
    /// replaces the settings' roles; its profile feeds the credential chain.
    pub(crate) fn plan(&self, rule: Option<&Rule>) -> Result<Plan, Error> {
        let mut settings = self.settings.clone();
        if let Some(rule) = rule {
            settings.roles = rule.role_arn.iter().cloned().collect();
            settings.role_chaining = false;
            settings.profile = rule.profile.clone();
            if rule.web_identity_token_file.is_some() {
                settings.token_file = rule.web_identity_token_file.clone();
            }
            if rule.audience.is_some() {
                settings.audience = rule.audience.clone();
            }
        }
        plan(&settings, self.platform.as_ref(), &self.env, None)
    }
}

/// Decides the identity, with no network call. `stdin_token`: a token handed in on standard
/// input (the kubelet's service-account-token mode), which wins over every other source.
pub(crate) fn plan(
    settings: &Settings,
    platform: &dyn Platform,
    env: &Env,
    stdin_token: Option<IdToken>,
) -> Result<Plan, Error> {
    let chain = ChainInputs::capture(env, settings.profile.as_deref());
    let mut roles = settings.roles.iter();
    let first = roles.next().cloned();
    let hops: Vec<String> = roles.cloned().collect();

    let base = match first {
        None => {
            if settings.role_chaining {
                return Err(UsageError::Other(
                    "--role-chaining needs a role to assume: pass --role-arn".into(),
                )
                .into());
            }
            Base::Chain
        }
        Some(role) if settings.role_chaining => Base::AssumeRole { role },
        Some(role) => match stdin_token {
            Some(t) => Base::WebIdentity {
                role,
                token: TokenSource::Value(t),
            },
            None => match token_source(settings, platform, env)? {
                Some(token) => Base::WebIdentity { role, token },
                None => Base::AssumeRole { role },
            },
        },
    };
    let assumes = !matches!(base, Base::Chain) || !hops.is_empty();
    if !assumes && settings.session.narrows() {
        return Err(UsageError::Other(
            "session policies narrow an assumed role: pass --role-arn with --inline-session-policy / --managed-session-policies".into(),
        )
        .into());
    }
    let session_name = settings.session_name.clone().or_else(|| {
        platform
            .session_name()
            .map(|n| platform::sanitize_session_name(&n))
    });
    Ok(Plan {
        base,
        hops,
        external_id: settings.external_id.clone(),
        session_name,
        session: settings.session.clone(),
        profile: settings.profile.clone(),
        chain,
    })
}

/// The platform's token, else `--web-identity-token-file`, else (no token: `None`) the
/// credential chain assumes the role. A platform that should have a token but has none is an
/// error, unless a token file or static AWS keys offer another way in.
fn token_source(
    settings: &Settings,
    platform: &dyn Platform,
    env: &Env,
) -> Result<Option<TokenSource>, TokenError> {
    let file = settings.token_file.clone().map(TokenSource::File);
    match platform.token_source(settings.audience.as_deref()) {
        Ok(Some(source)) => Ok(Some(source)),
        Ok(None) => Ok(file),
        Err(TokenError::NotProvided { .. }) if file.is_some() => Ok(file),
        Err(TokenError::NotProvided { .. }) if env.get(EnvVars::AWS_ACCESS_KEY_ID).is_some() => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

impl Plan {
    /// Whether the plan uses the AWS credential chain's credentials. A web-identity plan does
    /// not: AssumeRoleWithWebIdentity is unsigned, and each later call is given the
    /// credentials it returned.
    pub(crate) fn uses_chain(&self) -> bool {
        !matches!(self.base, Base::WebIdentity { .. })
    }

    #[cfg(test)]
    /// The role whose credentials the command ends up with, if any.
    pub(crate) fn final_role(&self) -> Option<&str> {
        self.hops.last().map(String::as_str).or(match &self.base {
            Base::Chain => None,
            Base::AssumeRole { role } | Base::WebIdentity { role, .. } => Some(role),
        })
    }

    /// The key of this machine's files, made without a network call (a token file and the
    /// AWS config files are read, nothing is fetched). `None` when the identity cannot be told
    /// apart without fetching the token (a platform token service with no local stand-in for
    /// its claims): then the files cannot serve it.
    pub(crate) fn local_key(&self) -> Option<CacheKey> {
        let base = match &self.base {
            Base::Chain => format!("chain[{}]", self.chain.describe()),
            Base::AssumeRole { role } => {
                format!("assume-role={role}[{}]", self.chain.describe())
            }
            Base::WebIdentity { role, token } => {
                let who = match token {
                    TokenSource::Platform {
                        audience,
                        hint: Some(hint),
                    } => format!(
                        "hint={hint},aud={}",
                        audience.as_deref().unwrap_or_default()
                    ),
                    TokenSource::Platform { hint: None, .. } => return None,
                    local => {
                        let c = local.local_claims()?;
                        format!("iss={},sub={},aud={}", c.iss?, c.sub?, c.aud.join(","))
                    }
                };
                format!("web-identity={role}[{who}]")
            }
        };
        Some(self.key_with(base))
    }

    /// The key of the cache shared between machines and jobs: what STS will see, from
    /// `proof` — the claims of the token an IAM trust policy can evaluate
    /// ([`IdToken::trust_claims`]), or `digest` (keyed by the fleet's key) of the resolved
    /// access key id and secret. `None` when the token has no claims to key on.
    pub(crate) fn fleet_key(
        &self,
        proof: &Proof,
        digest: &dyn Fn(&[u8]) -> String,
    ) -> Option<CacheKey> {
        let credentials = |c: &Credentials| {
            let mut material = c.access_key_id().as_bytes().to_vec();
            material.push(0);
            material.extend_from_slice(c.secret_access_key().as_bytes());
            digest(&material)
        };
        let base = match (&self.base, proof) {
            (Base::WebIdentity { role, .. }, Proof::Token(t)) => {
                format!("web-identity={role}[{}]", t.trust_claims()?)
            }
            (Base::Chain, Proof::Chain(c)) => format!("chain[credentials={}]", credentials(c)),
            (Base::AssumeRole { role }, Proof::Chain(c)) => {
                format!("assume-role={role}[credentials={}]", credentials(c))
            }
            _ => return None,
        };
        Some(self.key_with(base))
    }

    /// `base` with what every key adds: the roles chained into, the external id, the session
    /// policies; and the accounts a served token must be in.
    fn key_with(&self, mut text: String) -> CacheKey {
        for hop in &self.hops {
            text.push_str(&format!(",then={hop}"));
        }
        if let Some(id) = &self.external_id {
            text.push_str(&format!(
                ",external-id-sha256={}",
                &sha256_hex(id.as_bytes())[..16]
            ));
        }
        if self.session.narrows() {
            let mut h = Sha256::new();
            h.update(self.session.inline_policy.as_deref().unwrap_or_default());
            for arn in &self.session.managed_policies {
                h.update(b"\n");
                h.update(arn);
            }
            text.push_str(&format!(
                ",session-policy-sha256={}",
                &hex(&h.finalize())[..16]
            ));
        }
        CacheKey {
            text,
            allowed_accounts: self.session.allowed_accounts.clone(),
        }
    }
}

/// The SDK's configuration (`sdk`, still to load) and, when the plan starts with the CI
/// platform's token, that token: the token request goes out first and the configuration loads
/// while the platform answers (a network round trip: 50 to 300 ms on a hosted runner).
async fn sdk_and_platform_token(
    plan: &Plan,
    platform: &dyn Platform,
    sdk: impl std::future::Future<Output = SdkConfig>,
) -> Result<(SdkConfig, Option<IdToken>), Error> {
    match &plan.base {
        Base::WebIdentity {
            token: TokenSource::Platform { audience, .. },
            ..
        } => {
            // Polled in order: the request goes out before the configuration loads. Its
            // connect, handshake and write each take a turn of the scheduler (hyper writes
            // from a task of its own): the configuration (CPU work, as are STS's endpoint
            // tables that follow) waits those turns, then fills the time the platform takes
            // to answer.
            let sdk = async {
                after_requests_written().await;
                let sdk = sdk.await;
                crate::aws::warm_up_sts(&sdk);
                sdk
            };
            let (token, sdk) = futures::join!(platform.fetch_token(audience.as_deref()), sdk);
            Ok((sdk, Some(token?)))
        }
        _ => Ok((sdk.await, None)),
    }
}

/// The SDK's configuration (`sdk`, still to load) and the plan's [`Proof`], with no AWS API
/// call (the platform's token as in [`sdk_and_credentials`]; a token file or value read; the
/// chain's credentials resolved).
pub(crate) async fn sdk_and_proof(
    plan: &Plan,
    platform: &dyn Platform,
    sdk: impl std::future::Future<Output = SdkConfig>,
) -> Result<(SdkConfig, Proof), Error> {
    let (sdk, early) = sdk_and_platform_token(plan, platform, sdk).await?;
    let proof = match (early, &plan.base) {
        (Some(token), _) => Proof::Token(token),
        (None, Base::WebIdentity { token, .. }) => match token {
            TokenSource::File(p) => Proof::Token(read_token_file(p)?),
            TokenSource::Value(t) => Proof::Token(t.clone()),
            TokenSource::Platform { audience, .. } => {
                Proof::Token(platform.fetch_token(audience.as_deref()).await?)
            }
        },
        (None, Base::Chain | Base::AssumeRole { .. }) => {
            Proof::Chain(sts::chain_credentials(&sdk).await?)
        }
    };
    Ok((sdk, proof))
}

/// [`credentials`] from a [`Proof`] already had ([`sdk_and_proof`]): the token is not fetched
/// again, nor the chain's credentials resolved again.
pub(crate) async fn credentials_proven(
    plan: &Plan,
    platform: &dyn Platform,
    sdk: &SdkConfig,
    proof: Proof,
    while_sts_answers: impl FnOnce(&SdkConfig),
) -> Result<Resolved, Error> {
    credentials_then(plan, platform, sdk, Some(proof), while_sts_answers).await
}

/// [`credentials`] with the SDK's configuration still to load (`sdk`), which loads while the
/// platform answers (see [`sdk_and_platform_token`]).
pub(crate) async fn sdk_and_credentials(
    plan: &Plan,
    platform: &dyn Platform,
    sdk: impl std::future::Future<Output = SdkConfig>,
    while_sts_answers: impl FnOnce(&SdkConfig),
) -> Result<(SdkConfig, Resolved), Error> {
    let (sdk, early) = sdk_and_platform_token(plan, platform, sdk).await?;
    let who = credentials_then(
        plan,
        platform,
        &sdk,
        early.map(Proof::Token),
        while_sts_answers,
    )
    .await?;
    Ok((sdk, who))
}

/// [`credentials_with`], and `while_sts_answers` (ECR's tables) once the first STS request is
/// out.
async fn credentials_then(
    plan: &Plan,
    platform: &dyn Platform,
    sdk: &SdkConfig,
    early: Option<Proof>,
    while_sts_answers: impl FnOnce(&SdkConfig),
) -> Result<Resolved, Error> {
    let meanwhile = async {
        after_requests_written().await;
        while_sts_answers(sdk);
    };
    let (who, ()) = futures::join!(credentials_with(plan, platform, sdk, early), meanwhile);
    who
}

/// Waits the scheduler turns that a request polled just before takes to be written (the
/// connect, hyper's connection task, the write), so that CPU work after this does not hold
/// it back.
async fn after_requests_written() {
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
}

/// Carries `plan` out: the base credentials, then each hop; then checks the account against
/// `--allowed-account-ids`. `platform` fetches the token when the plan says so.
pub(crate) async fn credentials(
    plan: &Plan,
    platform: &dyn Platform,
    sdk: &SdkConfig,
) -> Result<Resolved, Error> {
    credentials_with(plan, platform, sdk, None).await
}

/// [`credentials`], with the platform's token or the chain's credentials when they were had
/// already (`early`).
async fn credentials_with(
    plan: &Plan,
    platform: &dyn Platform,
    sdk: &SdkConfig,
    early: Option<Proof>,
) -> Result<Resolved, Error> {
    let session_name = plan.session_name.clone().unwrap_or_else(|| {
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        format!("ecr-login-{secs}")
    });
    let last_call = plan.hops.len();
    let external_id = plan.external_id.as_deref();
    let mut resolved = match &plan.base {
        Base::Chain => {
            tracing::info!("no --role-arn: using the AWS credential chain");
            let credentials = match early {
                Some(Proof::Chain(c)) => c,
                _ => sts::chain_credentials(sdk).await?,
            };
            Resolved {
                credentials,
                arn: None,
                sub: None,
            }
        }
        Base::AssumeRole { role } => {
            tracing::info!("assuming {role} with the AWS credential chain");
            let chain = match early {
                Some(Proof::Chain(c)) => c,
                _ => sts::chain_credentials(sdk).await?,
            };
            let request = role_request(plan, &session_name, role, last_call == 0, external_id);
            let assumed = sts::assume_role(sdk, Some(&chain), &request).await?;
            to_resolved(assumed)
        }
        Base::WebIdentity { role, token } => {
            // The token the cache was keyed on, when there is one: the same, not a newer one.
            let token = match (early, token) {
                (Some(Proof::Token(t)), _) => t,
                (_, TokenSource::Value(t)) => t.clone(),
                (_, TokenSource::File(p)) => read_token_file(p)?,
                (_, TokenSource::Platform { audience, .. }) => {
                    platform.fetch_token(audience.as_deref()).await?
                }
            };
            token.check_jwt()?;
            tracing::info!(
                "assuming {role} as session {session_name} with the token from {}",
                token.source
            );
            let request = role_request(plan, &session_name, role, last_call == 0, None);
            let assumed =
                sts::assume_role_with_web_identity(sdk, &request, &token, platform.name()).await?;
            Resolved {
                sub: token.claims().sub,
                ..to_resolved(assumed)
            }
        }
    };

    for (i, hop) in plan.hops.iter().enumerate() {
        tracing::info!("assuming {hop} with the credentials of the previous role");
        let request = role_request(plan, &session_name, hop, i + 1 == last_call, external_id);
        let assumed = sts::assume_role(sdk, Some(&resolved.credentials), &request).await?;
        resolved = Resolved {
            sub: resolved.sub.take(),
            ..to_resolved(assumed)
        };
    }

    let allowed = &plan.session.allowed_accounts;
    if !allowed.is_empty() {
        let arn = match &resolved.arn {
            Some(a) => a.clone(),
            None => sts::caller_arn(sdk, &resolved.credentials).await?,
        };
        let account = aws::arn_account(&arn).unwrap_or_default().to_string();
        if !allowed.contains(&account) {
            return Err(AwsError::AccountNotAllowed {
                arn,
                account,
                allowed: allowed.join(","),
            }
            .into());
        }
        resolved.arn = Some(arn);
    }
    Ok(resolved)
}

/// The assume call for `role`; the session policies narrow only the `last` call, whose
/// credentials the command uses.
fn role_request<'a>(
    plan: &'a Plan,
    session_name: &'a str,
    role: &'a str,
    last: bool,
    external_id: Option<&'a str>,
) -> sts::RoleRequest<'a> {
    sts::RoleRequest {
        role_arn: role,
        session_name,
        duration_seconds: plan.session.duration_seconds,
        policy: last
            .then_some(plan.session.inline_policy.as_deref())
            .flatten(),
        policy_arns: if last {
            &plan.session.managed_policies
        } else {
            &[]
        },
        external_id,
    }
}

fn to_resolved(a: sts::Assumed) -> Resolved {
    Resolved {
        credentials: a.credentials,
        arn: a.arn,
        sub: None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `bytes`, hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jwt(payload: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(payload))
    }

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs.iter().copied().collect()
    }

    fn settings(roles: &[&str]) -> Settings {
        Settings {
            roles: roles.iter().map(|s| s.to_string()).collect(),
            session: Session {
                duration_seconds: 900,
                ..Session::default()
            },
            ..Settings::default()
        }
    }

    fn plan_for(s: &Settings, e: &Env, platform: Option<&str>) -> Result<Plan, Error> {
        let p = platform::select(e, platform, &platform::Options::default())?;
        plan(s, p.as_ref(), e, None)
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/ci";

    #[test]
    fn no_role_is_the_chain() {
        let p = plan_for(&settings(&[]), &env(&[]), None).unwrap();
        assert!(matches!(p.base, Base::Chain));
        let key = p.local_key().unwrap();
        assert!(
            key.as_str().starts_with("chain[profile=default,config="),
            "{}",
            key.as_str()
        );
    }

    #[test]
    fn a_role_without_a_token_is_assumed_with_the_chain() {
        let e = env(&[("AWS_PROFILE", "dev")]);
        let p = plan_for(&settings(&[ROLE]), &e, None).unwrap();
        assert!(matches!(&p.base, Base::AssumeRole { role } if role == ROLE));
        let key = p.local_key().unwrap();
        assert!(
            key.as_str()
                .starts_with(&format!("assume-role={ROLE}[profile=dev,")),
            "{}",
            key.as_str()
        );
    }

    #[test]
    fn a_static_key_is_hashed_into_the_key() {
        let e = env(&[("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")]);
        let key = plan_for(&settings(&[]), &e, None)
            .unwrap()
            .local_key()
            .unwrap();
        assert!(key.as_str().starts_with("chain[static-keys-sha256="));
        assert!(!key.as_str().contains("AKIA"));
    }

    #[test]
    fn a_token_in_a_variable_gives_a_claims_key_without_the_token() {
        let token = jwt(
            r#"{"iss":"https://gitlab.com","sub":"project_path:g/p:ref_type:branch:ref:main","aud":"sts.amazonaws.com"}"#,
        );
        let e = env(&[("GITLAB_CI", "true"), ("GITLAB_OIDC_TOKEN", &token)]);
        let p = plan_for(&settings(&[ROLE]), &e, None).unwrap();
        let key = p.local_key().unwrap();
        assert_eq!(
            key.as_str(),
            format!("web-identity={ROLE}[iss=https://gitlab.com,sub=project_path:g/p:ref_type:branch:ref:main,aud=sts.amazonaws.com]")
        );
        assert!(!key.as_str().contains(&token));
        assert_eq!(key.digest().len(), 64);
    }

    #[test]
    fn another_subject_is_another_key() {
        let key = |sub: &str| {
            let token = jwt(&format!(
                r#"{{"iss":"https://gitlab.com","sub":"{sub}","aud":"a"}}"#
            ));
            let e = env(&[("GITLAB_CI", "true"), ("GITLAB_OIDC_TOKEN", &token)]);
            plan_for(&settings(&[ROLE]), &e, None)
                .unwrap()
                .local_key()
                .unwrap()
        };
        assert_ne!(key("project_path:g/p:x"), key("project_path:g/q:x"));
    }

    #[test]
    fn a_token_on_stdin_wins() {
        let token = jwt(
            r#"{"iss":"https://k8s","sub":"system:serviceaccount:ns:sa","aud":"sts.amazonaws.com"}"#,
        );
        let e = env(&[]);
        let p = platform::select(&e, None, &platform::Options::default()).unwrap();
        let plan = plan(
            &settings(&[ROLE]),
            p.as_ref(),
            &e,
            Some(IdToken::new(token, "standard input")),
        )
        .unwrap();
        assert!(matches!(
            &plan.base,
            Base::WebIdentity {
                token: TokenSource::Value(_),
                ..
            }
        ));
        assert!(plan
            .local_key()
            .unwrap()
            .as_str()
            .contains("sub=system:serviceaccount:ns:sa"));
    }

    #[test]
    fn a_remote_token_keys_on_the_platform_hint_or_not_at_all() {
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/t"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-123"),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_REF", "refs/heads/main"),
        ]);
        let p = plan_for(&settings(&[ROLE]), &e, None).unwrap();
        let key = p.local_key().unwrap();
        assert!(key.as_str().contains("hint=repo:o/r:ref:refs/heads/main"));
        assert!(key.as_str().contains("aud=sts.amazonaws.com"));
        assert!(!key.as_str().contains("request-token-123"));
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/t"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-123"),
        ]);
        assert!(plan_for(&settings(&[ROLE]), &e, None)
            .unwrap()
            .local_key()
            .is_none());
    }

    #[test]
    fn missing_github_permission_is_an_error_unless_keys_are_there() {
        let e = env(&[("GITHUB_ACTIONS", "true")]);
        assert!(matches!(
            plan_for(&settings(&[ROLE]), &e, None),
            Err(Error::Token(TokenError::NotProvided { .. }))
        ));
        let e = env(&[("GITHUB_ACTIONS", "true"), ("AWS_ACCESS_KEY_ID", "AKIAX")]);
        assert!(matches!(
            plan_for(&settings(&[ROLE]), &e, None).unwrap().base,
            Base::AssumeRole { .. }
        ));
    }

    #[test]
    fn role_chaining_skips_the_token_and_hops_follow() {
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/t"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-123"),
        ]);
        let mut s = settings(&[ROLE, "arn:aws:iam::210987654321:role/target"]);
        s.role_chaining = true;
        let p = plan_for(&s, &e, None).unwrap();
        assert!(matches!(p.base, Base::AssumeRole { .. }));
        assert_eq!(p.hops, ["arn:aws:iam::210987654321:role/target"]);
        assert_eq!(
            p.final_role(),
            Some("arn:aws:iam::210987654321:role/target")
        );
        assert!(p
            .local_key()
            .unwrap()
            .as_str()
            .ends_with(",then=arn:aws:iam::210987654321:role/target"));
    }

    #[test]
    fn the_fleet_key_is_the_token_claims_never_the_environment_hints() {
        // The variables claim production; the job's own token says pull request.
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/t"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-123"),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_REF", "refs/heads/main"),
        ]);
        let p = plan_for(&settings(&[ROLE]), &e, None).unwrap();
        let digest = |b: &[u8]| sha256_hex(b);
        let token = |sub: &str| {
            Proof::Token(IdToken::new(
                jwt(&format!(
                    r#"{{"iss":"https://token.actions.githubusercontent.com","aud":"sts.amazonaws.com","sub":"{sub}","run_id":"1"}}"#
                )),
                "test",
            ))
        };
        let prod = p
            .fleet_key(&token("repo:acme/app:environment:production"), &digest)
            .unwrap();
        let pr = p
            .fleet_key(&token("repo:acme/app:pull_request"), &digest)
            .unwrap();
        assert_ne!(prod, pr);
        assert!(pr.as_str().contains("repo:acme/app:pull_request"));
        assert!(!pr.as_str().contains("hint="));
        // Credentials: keyed by the digest of id and secret, so a shared key id is not enough.
        let chain = plan_for(&settings(&[]), &env(&[]), None).unwrap();
        let creds = |secret: &str| {
            Proof::Chain(Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                secret,
                None,
                None,
                "t",
            ))
        };
        let a = chain.fleet_key(&creds("one"), &digest).unwrap();
        let b = chain.fleet_key(&creds("two"), &digest).unwrap();
        assert_ne!(a, b);
        assert!(!a.as_str().contains("AKIA") && !a.as_str().contains("one"));
        // A proof of another kind keys nothing.
        assert!(chain.fleet_key(&token("x"), &digest).is_none());
    }

    #[test]
    fn external_ids_and_allowed_accounts_go_with_the_key() {
        let mut s = settings(&[ROLE]);
        let plain = plan_for(&s, &env(&[]), None).unwrap().local_key().unwrap();
        s.external_id = Some("ext-1".into());
        s.session.allowed_accounts = vec!["123456789012".into()];
        let with = plan_for(&s, &env(&[]), None).unwrap().local_key().unwrap();
        assert_ne!(plain.as_str(), with.as_str());
        assert!(!with.as_str().contains("ext-1"));
        assert_eq!(with.allowed_accounts(), ["123456789012"]);
    }

    #[test]
    fn session_policies_need_a_role_and_change_the_key() {
        let mut s = settings(&[]);
        s.session.inline_policy = Some("{}".into());
        assert!(plan_for(&s, &env(&[]), None).is_err());
        let mut a = settings(&[ROLE]);
        let plain = plan_for(&a, &env(&[]), None).unwrap().local_key();
        a.session.inline_policy = Some(r#"{"Version":"2012-10-17"}"#.into());
        let narrowed = plan_for(&a, &env(&[]), None).unwrap().local_key();
        assert_ne!(plain, narrowed);
    }
}
