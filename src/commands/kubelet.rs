//! `ecr-login kubelet-credential-provider`: the kubelet's image credential provider exec plugin
//! (`credentialprovider.kubelet.k8s.io/v1`), a drop-in for cloud-provider-aws's
//! `ecr-credential-provider`.
//!
//! The kubelet writes one `CredentialProviderRequest` on stdin (the image; in service account
//! token mode also the pod's service account token and annotations) and decodes stdout strictly
//! as one `CredentialProviderResponse` in the same apiVersion: an unknown field rejects the
//! whole answer. So stdout carries that document only (the printer's protocol mode), and every
//! failure is an error on stderr with a non-zero exit, after which the kubelet pulls without
//! credentials. The kubelet kills a plugin after one minute: every AWS call runs inside
//! `--deadline` (45 s by default, at most 55 s).
//!
//! Identity: a service account token in the request is exchanged (AssumeRoleWithWebIdentity)
//! for the role its service account names (annotation `eks.amazonaws.com/ecr-role-arn`, else
//! `AWS_ECR_ROLE_ARN`); without a token, the node's identity, found as `login` finds one.
//! Tokens go through the token cache like `login`'s, keyed by that identity and the registry.

use crate::cache;
use crate::env::Env;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::aws::{
    self,
    ecr::RegistryToken,
    registry::{self, Registry},
};
use crate::cache::{Cache, Keys, Local, Target};
use crate::commands::fetch;
use crate::error::{AwsError, Error, UsageError};
use crate::id_token::IdToken;
use crate::identity::{self, Plan};
use crate::output::Printer;
use crate::platform::{self, Platform};

/// `kubelet-credential-provider`'s settings.
#[derive(Debug)]
pub(crate) struct KubeletConfig {
    /// The identity for requests without a service account token (the node's): the usual
    /// rules, planned like `login`'s.
    pub identity: Plan,
    /// The platform `identity` was planned on.
    pub platform: Box<dyn Platform>,
    /// The identity settings, re-planned for a service account token (with its role).
    pub settings: identity::Settings,
    /// `--service-account-role-arn` / `AWS_ECR_ROLE_ARN`, checked: the role for a service
    /// account token when the service account names none.
    pub service_account_role: Option<String>,
    /// The platform a service account token is exchanged on: `local` (the token is in hand).
    pub token_platform: Box<dyn Platform>,
    /// The environment, for planning a service account token's identity.
    pub env: Env,
    /// The token cache; `None`: no cache.
    pub cache: Option<cache::Settings>,
    /// `--cache-margin`: also taken off the `cacheDuration` the kubelet is told.
    pub margin: std::time::Duration,
    /// `--deadline`: the whole request's time budget.
    pub deadline: std::time::Duration,
}

/// The protocol version of Kubernetes 1.26 and later.
pub(crate) const API_VERSION: &str = "credentialprovider.kubelet.k8s.io/v1";

/// The versions answered, each in its own apiVersion: v1, and the alpha and beta versions of
/// the same shape that kubelets 1.20 to 1.25 speak.
const API_VERSIONS: &[&str] = &[
    API_VERSION,
    "credentialprovider.kubelet.k8s.io/v1beta1",
    "credentialprovider.kubelet.k8s.io/v1alpha1",
];

const REQUEST_KIND: &str = "CredentialProviderRequest";
const RESPONSE_KIND: &str = "CredentialProviderResponse";

/// The service account annotation naming the role to pull as (EKS's name for it).
pub(crate) const ROLE_ANNOTATION: &str = "eks.amazonaws.com/ecr-role-arn";

/// A request is a few hundred bytes (a service account token included); read no more than this.
const MAX_REQUEST: u64 = 1 << 20;

/// The kubelet's request, as it is on the wire. Not `Debug`: it holds the token.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRequest {
    api_version: Option<String>,
    kind: Option<String>,
    image: Option<String>,
    service_account_token: Option<String>,
    service_account_annotations: Option<BTreeMap<String, String>>,
}

/// A request, checked.
#[derive(Debug)]
pub(crate) struct Request {
    /// The apiVersion to answer in (the request's).
    pub api_version: String,
    pub image: String,
    /// The pod's service account token (registered as a secret as soon as it is read).
    pub token: Option<IdToken>,
    pub annotations: BTreeMap<String, String>,
}

/// The answer, field for field the kubelet's `CredentialProviderResponse`. Not `Debug`: it
/// holds the password.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Response {
    pub api_version: String,
    pub kind: &'static str,
    /// `Registry`: the credentials hold for every image of the registry host.
    pub cache_key_type: &'static str,
    /// A Go duration (`10h59m58s`): how long the kubelet may keep the credentials. Absent
    /// when ECR gave no expiry: the provider's `defaultCacheDuration` applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_duration: Option<String>,
    /// Registry host -> credentials.
    pub auth: BTreeMap<String, AuthConfig>,
}

/// One registry's credentials.
#[derive(Serialize)]
pub(crate) struct AuthConfig {
    pub username: String,
    pub password: String,
}

/// Reads the request, gets the registry's token, prints the response.
pub(crate) async fn run(cfg: &KubeletConfig, printer: &Printer) -> Result<(), Error> {
    let start = Instant::now();
    let request = parse_request(&read_stdin()?)?;
    let registry = registry_of(&request.image)?;
    tracing::info!(
        "the kubelet asks for {} (image {})",
        registry.host(),
        request.image.escape_debug()
    );
    let (plan, platform) = identity_for(cfg, &request)?;
    platform.install_masking(*printer);

    // The fleet (Redis) cache too, when configured: a node's kubelet shares tokens with others.
    let cache = match &cfg.cache {
        Some(settings) => Cache::open(settings)?,
        None => None,
    };
    let mut keys = Keys::new(
        Target::Registry(registry.clone()),
        cache.as_ref().and(plan.local_key()).as_ref(),
    );
    // Single flight, as the credential helper's: when pods start, the kubelet asks for many
    // images of one registry at once. The first request fetches; the others wait for its
    // entry (no longer than the deadline leaves), then answer from it. Held to the end.
    let budget = cfg.deadline.saturating_sub(start.elapsed());
    let (_flight, token) = match cache.as_ref().map(|c| c.local_turn(&keys, budget)) {
        Some(Local::Hit(e)) => {
            tracing::info!("the token came from the cache: no AWS call");
            (None, fetch::token_of(&e, &registry))
        }
        local => {
            let (lock, stale) = match local {
                Some(Local::Miss { lock, stale }) => (lock, stale),
                _ => (None, None),
            };
            let expired = || deadline_error(cfg.deadline, &registry);
            let limit = fetch::Limit::Until(start + cfg.deadline, &expired);
            let warn = |text: &str| printer.warn(text);
            let token = fetch::through_fleet(
                cache.as_ref(),
                &mut keys,
                stale,
                &plan,
                platform,
                &registry,
                &limit,
                &warn,
            )
            .await?;
            (lock, token)
        }
    };

    printer.protocol(&response(
        &request.api_version,
        &registry,
        &token,
        cfg.margin,
        SystemTime::now(),
    ));
    Ok(())
}

/// Standard input, which the kubelet writes the request to and closes.
fn read_stdin() -> Result<String, UsageError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(UsageError::Other(format!(
            "kubelet-credential-provider reads a {REQUEST_KIND} (JSON) on standard input, as the kubelet sends it; to try it by hand, pipe one in: echo '{{\"apiVersion\":\"{API_VERSION}\",\"kind\":\"{REQUEST_KIND}\",\"image\":\"<account>.dkr.ecr.<region>.amazonaws.com/<repo>\"}}' | ecr-login kubelet-credential-provider"
        )));
    }
    read_request(&mut stdin.lock())
}

/// The request as text: at most [`MAX_REQUEST`] bytes of UTF-8, else an error that says so.
fn read_request(input: &mut dyn Read) -> Result<String, UsageError> {
    let mut bytes = Vec::new();
    input
        .take(MAX_REQUEST + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            UsageError::Other(format!(
                "cannot read the {REQUEST_KIND} on standard input: {e}"
            ))
        })?;
    if bytes.len() as u64 > MAX_REQUEST {
        return Err(UsageError::Other(format!(
            "the kubelet's request: standard input holds over {} MiB, where a {REQUEST_KIND} is a few hundred bytes",
            MAX_REQUEST >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        UsageError::Other(format!(
            "the kubelet's request: standard input is not UTF-8 text, so not a {REQUEST_KIND} JSON object"
        ))
    })
}

/// Checks the kubelet's request: JSON, a version answered here, the request kind, an image.
/// Fields this version does not know are ignored (a newer kubelet may send more).
pub(crate) fn parse_request(text: &str) -> Result<Request, UsageError> {
    let bad = |what: String| UsageError::Other(format!("the kubelet's request: {what}"));
    let wire: WireRequest = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "standard input does not hold a {REQUEST_KIND} JSON object ({e})"
        ))
    })?;
    // Registered as a secret before anything else can fail or log.
    let token = wire
        .service_account_token
        .filter(|t| !t.trim().is_empty())
        .map(|t| IdToken::new(t, "the kubelet's service account token"));
    let api_version = wire.api_version.unwrap_or_default();
    if !API_VERSIONS.contains(&api_version.as_str()) {
        return Err(bad(format!(
            "apiVersion {:?} is not one this plugin speaks ({}); set the provider's apiVersion in the kubelet's CredentialProviderConfig to {API_VERSION}",
            registry::shown(&api_version),
            API_VERSIONS.join(", ")
        )));
    }
    let kind = wire.kind.unwrap_or_default();
    if kind != REQUEST_KIND {
        return Err(bad(format!(
            "kind {:?} is not {REQUEST_KIND:?}",
            registry::shown(&kind)
        )));
    }
    let image = wire.image.unwrap_or_default().trim().to_string();
    if image.is_empty() {
        return Err(bad("it names no image".into()));
    }
    Ok(Request {
        api_version,
        image,
        token,
        annotations: wire.service_account_annotations.unwrap_or_default(),
    })
}

/// The ECR registry of an image reference (`host/repo:tag`, `host/repo@sha256:...`,
/// `public.ecr.aws/...`); anything else is refused, so the kubelet pulls without credentials.
pub(crate) fn registry_of(image: &str) -> Result<Registry, UsageError> {
    let host = match image.split_once('/') {
        // Docker's rule: the first part names a registry when it has a dot or a port.
        Some((host, _)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            host
        }
        _ => {
            return Err(UsageError::Registry {
                input: registry::shown(image),
                reason: "the image names no registry host, so it is on Docker Hub; the provider's matchImages should not send it here".into(),
            })
        }
    };
    // The host came from the kubelet, already matched by matchImages: a region newer than
    // this release must not fail a pull.
    registry::parse(host, None, true).map_err(|e| match e {
        UsageError::Registry { reason, .. } => UsageError::Registry {
            input: registry::shown(image),
            reason,
        },
        other => other,
    })
}

/// The plan (and its platform) that answers `request`: the node's, or the service account's
/// role with the token from the request.
fn identity_for<'a>(
    cfg: &'a KubeletConfig,
    request: &Request,
) -> Result<(Cow<'a, Plan>, &'a dyn Platform), Error> {
    let Some(token) = &request.token else {
        return Ok((Cow::Borrowed(&cfg.identity), cfg.platform.as_ref()));
    };
    let Some(role) =
        service_account_role(&request.annotations, cfg.service_account_role.as_deref())?
    else {
        // As cloud-provider-aws's provider since v1.35: the node's own credentials, said in
        // the kubelet's log so that a missing annotation stays visible.
        let account = token.claims().sub.unwrap_or_else(|| "(no sub)".into());
        tracing::warn!(
            "the kubelet sent the service account token of {account}, but the service account has no {ROLE_ANNOTATION} annotation and AWS_ECR_ROLE_ARN is not set: pulling with the node's own credentials; annotate the service account with the role to pull as (and list the key in the provider's tokenAttributes), or set AWS_ECR_ROLE_ARN in the provider's env"
        );
        return Ok((Cow::Borrowed(&cfg.identity), cfg.platform.as_ref()));
    };
    tracing::info!("service account token mode: assuming {role}");
    let mut settings = cfg.settings.clone();
    settings.roles = vec![role];
    settings.role_chaining = false;
    if settings.session_name.is_none() {
        settings.session_name = session_name(token);
    }
    let plan = identity::plan(
        &settings,
        cfg.token_platform.as_ref(),
        &cfg.env,
        Some(token.clone()),
    )?;
    Ok((Cow::Owned(plan), cfg.token_platform.as_ref()))
}

/// The role a service account token is exchanged for: the service account's annotation, else
/// (none, or an empty one) `fallback` (`AWS_ECR_ROLE_ARN`); `None` with neither: the node's own
/// credentials answer, as cloud-provider-aws's provider's do. An annotation that is not a role
/// ARN is an error.
pub(crate) fn service_account_role(
    annotations: &BTreeMap<String, String>,
    fallback: Option<&str>,
) -> Result<Option<String>, UsageError> {
    match annotations
        .get(ROLE_ANNOTATION)
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
    {
        Some(arn) if aws::is_role_arn(arn) => Ok(Some(arn.to_string())),
        Some(arn) => Err(UsageError::Other(format!(
            "the service account's {ROLE_ANNOTATION} annotation {arn:?} is not a role ARN (arn:aws:iam::123456789012:role/<name>)"
        ))),
        None => Ok(fallback.map(str::to_string)),
    }
}

/// `k8s-<namespace>-<service account>` from the token's `sub`
/// (`system:serviceaccount:<namespace>:<name>`), so CloudTrail says who pulled.
fn session_name(token: &IdToken) -> Option<String> {
    let sub = token.claims().sub?;
    let rest = sub.strip_prefix("system:serviceaccount:")?;
    let (namespace, name) = rest.split_once(':')?;
    Some(platform::sanitize_session_name(&format!(
        "k8s-{namespace}-{name}"
    )))
}

/// The identity's credentials, then the registry's token: the part that talks to AWS.
fn deadline_error(deadline: Duration, registry: &Registry) -> Error {
    AwsError::Unreachable {
        service: "AWS".into(),
        operation: format!("credentials for {}", registry.host()),
        reason: format!(
            "no answer within the {} s deadline (--deadline): the kubelet kills a plugin after one minute, and now pulls without credentials",
            deadline.as_secs()
        ),
    }
    .into()
}

/// The answer for `token`: the kubelet may keep it for the token's remaining life less the
/// cache margin (so it asks again when the cache would refresh).
pub(crate) fn response(
    api_version: &str,
    registry: &Registry,
    token: &RegistryToken,
    margin: Duration,
    now: SystemTime,
) -> Response {
    let cache_duration = token.expires_at.map(|expires| {
        let left = expires.duration_since(now).unwrap_or_default();
        go_duration(left.saturating_sub(margin))
    });
    let auth = BTreeMap::from([(
        registry.host().to_string(),
        AuthConfig {
            username: token.username.clone(),
            password: token.password.expose().to_string(),
        },
    )]);
    Response {
        api_version: api_version.to_string(),
        kind: RESPONSE_KIND,
        cache_key_type: "Registry",
        cache_duration,
        auth,
    }
}

/// A whole number of seconds as Go's `time.Duration.String()` writes it: `0s`, `59s`,
/// `1m0s`, `5h30m0s`.
pub(crate) fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s % 3600 / 60, s % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    const HOST: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

    #[test]
    fn go_durations() {
        let d = |s| go_duration(Duration::from_secs(s));
        assert_eq!(d(0), "0s");
        assert_eq!(d(59), "59s");
        assert_eq!(d(60), "1m0s");
        assert_eq!(d(3600), "1h0m0s");
        assert_eq!(d(5 * 3600 + 30 * 60), "5h30m0s");
        assert_eq!(d(11 * 3600 - 2), "10h59m58s");
    }

    #[test]
    fn images_name_their_registry() {
        for (image, host) in [
            (format!("{HOST}/team/app:v1"), HOST),
            (format!("{HOST}/app@sha256:{}", "a".repeat(64)), HOST),
            ("public.ecr.aws/nginx/nginx:latest".into(), "public.ecr.aws"),
            (
                "ecr-public.aws.com/nginx/nginx".into(),
                "ecr-public.aws.com",
            ),
            (
                "123456789012.dkr-ecr.us-east-1.on.aws/app".into(),
                "123456789012.dkr-ecr.us-east-1.on.aws",
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app".into(),
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            ),
        ] {
            assert_eq!(registry_of(&image).unwrap().host(), host, "{image}");
        }
    }

    #[test]
    fn other_images_are_refused() {
        for image in [
            "nginx:latest",
            "library/nginx",
            "123456789012/app",
            "docker.io/library/nginx",
            "ghcr.io/o/r:1",
            "localhost:5000/app",
            HOST,
        ] {
            let e = registry_of(image).unwrap_err().to_string();
            assert!(e.contains(image), "{image}: {e}");
        }
    }

    fn request(extra: &str) -> String {
        format!(
            r#"{{"apiVersion":"{API_VERSION}","kind":"CredentialProviderRequest","image":"{HOST}/app"{extra}}}"#
        )
    }

    #[test]
    fn requests_are_checked() {
        let r = parse_request(&request("")).unwrap();
        assert_eq!(r.api_version, API_VERSION);
        assert!(r.token.is_none());
        let r = parse_request(&request(
            r#","serviceAccountToken":"header.payload.sig","serviceAccountAnnotations":{"a":"b"},"future":1"#,
        ))
        .unwrap();
        assert_eq!(r.token.unwrap().jwt.expose(), "header.payload.sig");
        assert_eq!(r.annotations["a"], "b");
        let beta = request("").replace("/v1\"", "/v1beta1\"");
        assert!(parse_request(&beta)
            .unwrap()
            .api_version
            .ends_with("v1beta1"));

        let wrong = request("").replace("/v1\"", "/v2\"");
        let e = parse_request(&wrong).unwrap_err().to_string();
        assert!(
            e.contains("apiVersion \"credentialprovider.kubelet.k8s.io/v2\""),
            "{e}"
        );
        let e = parse_request(&request("").replace("Request\"", "Response\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("kind"), "{e}");
        assert!(parse_request("not json").is_err());
        assert!(parse_request(&request("").replace(&format!("{HOST}/app"), " ")).is_err());
    }

    #[test]
    fn the_annotation_wins_over_the_fallback_role() {
        let role = "arn:aws:iam::123456789012:role/pull";
        let fallback_role = "arn:aws:iam::123456789012:role/fallback";
        let fallback = Some(fallback_role);
        let annotated = BTreeMap::from([(ROLE_ANNOTATION.to_string(), role.to_string())]);
        assert_eq!(
            service_account_role(&annotated, fallback)
                .unwrap()
                .as_deref(),
            Some(role)
        );
        assert_eq!(
            service_account_role(&BTreeMap::new(), fallback)
                .unwrap()
                .as_deref(),
            Some(fallback_role)
        );
        let empty = BTreeMap::from([(ROLE_ANNOTATION.to_string(), " ".to_string())]);
        assert_eq!(
            service_account_role(&empty, fallback).unwrap().as_deref(),
            Some(fallback_role)
        );
        // Neither: the node's own credentials.
        assert_eq!(service_account_role(&BTreeMap::new(), None).unwrap(), None);
        let bad = BTreeMap::from([(ROLE_ANNOTATION.to_string(), "pull".to_string())]);
        assert!(service_account_role(&bad, fallback).is_err());
    }

    #[test]
    fn the_response_has_the_kubelets_fields_only() {
        let now = SystemTime::now();
        let token = RegistryToken {
            host: HOST.into(),
            region: Some("eu-west-1".into()),
            username: "AWS".into(),
            password: Secret::new("kubelet-unit-password"),
            expires_at: Some(now + Duration::from_secs(12 * 3600)),
        };
        let registry = registry_of(&format!("{HOST}/app")).unwrap();
        let value = serde_json::to_value(response(
            API_VERSION,
            &registry,
            &token,
            Duration::from_secs(3600),
            now,
        ))
        .unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "apiVersion": API_VERSION,
                "kind": "CredentialProviderResponse",
                "cacheKeyType": "Registry",
                "cacheDuration": "11h0m0s",
                "auth": {HOST: {"username": "AWS", "password": "kubelet-unit-password"}},
            })
        );
        // A token inside the margin: the kubelet must not keep it.
        let stale = RegistryToken {
            expires_at: Some(now + Duration::from_secs(600)),
            ..token
        };
        let r = response(
            API_VERSION,
            &registry,
            &stale,
            Duration::from_secs(3600),
            now,
        );
        assert_eq!(r.cache_duration.as_deref(), Some("0s"));
    }

    #[test]
    fn the_session_name_says_which_service_account() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"RS256"}"#),
            b64(r#"{"sub":"system:serviceaccount:team-a:puller"}"#)
        );
        let token = IdToken::new(jwt, "test");
        assert_eq!(session_name(&token).as_deref(), Some("k8s-team-a-puller"));
    }

    /// Hostile requests, kept as regression cases: each is refused with a message that says
    /// what is wrong, short whatever the size of the request.
    #[test]
    fn hostile_requests() {
        let mb = "x".repeat(1 << 20);
        let cases: Vec<(String, &str)> = vec![
            (
                String::new(),
                "does not hold a CredentialProviderRequest JSON object",
            ),
            ("null".into(), "does not hold"),
            ("[]".into(), "does not hold"),
            ("\"image\"".into(), "does not hold"),
            ("{\"apiVersion\": 1}".into(), "does not hold"),
            ("{}".into(), "apiVersion \"\" is not one"),
            (
                request("").replace("\"image\":\"", "\"image\":1,\"x\":\""),
                "does not hold",
            ),
            (
                format!("{{\"apiVersion\":\"{mb}\"}}"),
                "is not one this plugin speaks",
            ),
            (
                request("").replace("CredentialProviderRequest", &mb),
                "is not \"CredentialProviderRequest\"",
            ),
            (
                request("").replace(&format!("{HOST}/app"), ""),
                "names no image",
            ),
            (request(",\"serviceAccountToken\":[1]"), "does not hold"),
            (
                request(",\"serviceAccountAnnotations\":{\"a\":1}"),
                "does not hold",
            ),
            (
                format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
                "does not hold",
            ),
            // Skipped (an unknown field) without recursing: no stack overflow either way.
            (
                format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000)),
                "apiVersion \"\" is not one",
            ),
        ];
        for (text, want) in cases {
            let e = parse_request(&text).err().unwrap().to_string();
            assert!(e.contains(want), "{want}: {e}");
            assert!(e.len() < 1000, "{want}: {} bytes of message", e.len());
        }
        let e = registry_of(&format!("{HOST}{mb}/app"))
            .unwrap_err()
            .to_string();
        assert!(e.len() < 1000, "{} bytes of message", e.len());

        let read = |b: &[u8]| read_request(&mut &b[..]).map_err(|e| e.to_string());
        assert!(read(&[0xff, b'{']).unwrap_err().contains("not UTF-8 text"));
        let e = read(&vec![b' '; (2 << 20) + 1]).unwrap_err();
        assert!(e.contains("over 1 MiB"), "{e}");
        assert_eq!(read(request("").as_bytes()).unwrap(), request(""));
    }

    /// Properties (proptest: 256 cases in `cargo test`, `PROPTEST_CASES` or `scripts/fuzz.sh`
    /// for more; failures are kept in `proptest-regressions/` and replayed first).
    mod props {
        use super::*;
        use proptest::prelude::*;

        /// JSON of every type, for the request's fields.
        fn json_value() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i32>().prop_map(serde_json::Value::from),
                "\\PC{0,16}".prop_map(serde_json::Value::from),
                Just(serde_json::Value::from(API_VERSION)),
                Just(serde_json::Value::from(REQUEST_KIND)),
                Just(serde_json::Value::from(format!("{HOST}/app:1"))),
            ];
            leaf.prop_recursive(2, 12, 3, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::from),
                    prop::collection::btree_map("\\PC{0,8}", inner, 0..3)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// Requests with every field present or not, of the right type or not.
        fn request_like() -> impl Strategy<Value = String> {
            let field = |name: &'static str| {
                proptest::option::of(json_value()).prop_map(move |v| v.map(|v| (name, v)))
            };
            (
                field("apiVersion"),
                field("kind"),
                field("image"),
                field("serviceAccountToken"),
                field("serviceAccountAnnotations"),
                proptest::option::of(("\\PC{0,8}", json_value())),
            )
                .prop_map(|(a, k, i, t, n, extra)| {
                    let mut m = serde_json::Map::new();
                    for (name, v) in [a, k, i, t, n].into_iter().flatten() {
                        m.insert(name.to_string(), v);
                    }
                    if let Some((name, v)) = extra {
                        m.insert(name, v);
                    }
                    serde_json::Value::Object(m).to_string()
                })
        }

        fn check(text: &str) -> Result<(), TestCaseError> {
            match parse_request(text) {
                Ok(r) => {
                    prop_assert!(API_VERSIONS.contains(&r.api_version.as_str()));
                    prop_assert!(!r.image.is_empty());
                    match registry_of(&r.image) {
                        Ok(reg) => {
                            prop_assert!(r.image.to_ascii_lowercase().starts_with(reg.host()))
                        }
                        Err(e) => prop_assert!(!e.to_string().is_empty()),
                    }
                }
                Err(e) => {
                    let m = e.to_string();
                    prop_assert!(m.starts_with("the kubelet's request: "), "{m}");
                    prop_assert!(m.len() < 1000, "{} bytes", m.len());
                }
            }
            Ok(())
        }

        proptest! {
            #[test]
            fn any_text_is_a_request_or_refused(text in "\\PC{0,120}") {
                check(&text)?;
            }

            #[test]
            fn any_request_shape_is_a_request_or_refused(text in request_like()) {
                check(&text)?;
            }

            #[test]
            fn any_image_names_a_registry_or_is_refused(
                image in "\\PC{0,60}|([0-9]{12}\\.dkr[.-]ecr[a-z.-]{0,30}|public\\.ecr\\.aws|localhost(:[0-9]{1,5})?)(/\\PC{0,20})?"
            ) {
                match registry_of(&image) {
                    Ok(reg) => prop_assert_eq!(
                        image.split('/').next().unwrap().to_ascii_lowercase(),
                        reg.host()
                    ),
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
            }
        }
    }
}
