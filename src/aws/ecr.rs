//! ECR: registry tokens. One `GetAuthorizationToken` per region (naming every account wanted
//! there), all regions and ECR Public at once, over the shared connection pool.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use base64::Engine;

use super::registry::Registry;
use super::Failure;
use crate::error::AwsError;
use crate::secret::Secret;
use crate::telemetry;

/// A login for one registry host.
#[derive(Debug, Clone)]
pub(crate) struct RegistryToken {
    pub host: String,
    /// `None` for ECR Public.
    pub region: Option<String>,
    pub username: String,
    pub password: Secret,
    pub expires_at: Option<SystemTime>,
}

/// The operation both ECR services are asked (for the telemetry's `operation` label).
const OP: &str = "GetAuthorizationToken";

/// A decoded ECR authorization token: `base64(user:password)`.
#[derive(Debug, Clone)]
struct Decoded {
    username: String,
    password: Secret,
    expires_at: Option<SystemTime>,
}

/// What one region's call must cover: the accounts named there (empty: the caller's own).
#[derive(Debug, Default)]
struct RegionRequest {
    accounts: Vec<String>,
}

/// Fetches tokens for `registries` (or, when empty, the caller's own registry in
/// `default_region`). `credentials`: the assumed role's; `None` uses the SDK config's chain.
pub(crate) async fn tokens(
    sdk: &SdkConfig,
    credentials: Option<&Credentials>,
    registries: &[Registry],
    default_region: Option<&str>,
    identity: Option<&str>,
) -> Result<Vec<RegistryToken>, AwsError> {
    telemetry::tokens_requested(registries.iter().map(|r| r.host().to_string()));
    let tokens = fetch_tokens(sdk, credentials, registries, default_region, identity).await?;
    telemetry::tokens_issued(tokens.iter().map(|t| telemetry::Token {
        host: t.host.clone(),
        expires_at: t.expires_at,
    }));
    Ok(tokens)
}

/// [`tokens`], without the telemetry.
async fn fetch_tokens(
    sdk: &SdkConfig,
    credentials: Option<&Credentials>,
    registries: &[Registry],
    default_region: Option<&str>,
    identity: Option<&str>,
) -> Result<Vec<RegistryToken>, AwsError> {
    if registries.is_empty() {
        let region = default_region.unwrap_or("us-east-1");
        let entries = private_call(sdk, credentials, region, &[], identity).await?;
        return Ok(entries
            .into_iter()
            .map(|(host, d)| RegistryToken {
                host,
                region: Some(region.to_string()),
                username: d.username,
                password: d.password,
                expires_at: d.expires_at,
            })
            .collect());
    }

    let mut by_region: BTreeMap<&str, RegionRequest> = BTreeMap::new();
    let mut want_public = false;
    for r in registries {
        match r {
            Registry::Private {
                account, region, ..
            } => {
                let req = by_region.entry(region.as_str()).or_default();
                if !req.accounts.contains(account) {
                    req.accounts.push(account.clone());
                }
            }
            Registry::Public { .. } => want_public = true,
        }
    }

    let private = futures::future::join_all(by_region.iter().map(|(region, req)| async move {
        let entries = private_call(sdk, credentials, region, &req.accounts, identity).await?;
        Ok::<_, AwsError>((region.to_string(), entries))
    }));
    let public = async {
        if want_public {
            public_call(sdk, credentials, identity).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (private, public) = futures::join!(private, public);

    let mut per_region: BTreeMap<String, Vec<(String, Decoded)>> = BTreeMap::new();
    for result in private {
        let (region, entries) = result?;
        per_region.insert(region, entries);
    }
    let public = public?;

    let mut out = Vec::with_capacity(registries.len());
    for r in registries {
        let decoded = match r {
            Registry::Private {
                account, region, ..
            } => {
                let entries = per_region
                    .get(region)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                // The entry for this account; any entry will do otherwise, since one token
                // covers every registry the role may reach.
                entries
                    .iter()
                    .find(|(host, _)| host.starts_with(&format!("{account}.")))
                    .or_else(|| entries.first())
                    .map(|(_, d)| d.clone())
            }
            Registry::Public { .. } => public.clone(),
        };
        let d = decoded.ok_or_else(|| AwsError::Failed {
            service: "ECR".into(),
            operation: "GetAuthorizationToken".into(),
            code: "NoAuthorizationData".into(),
            message: format!("the answer held no token for {}", r.host()),
        })?;
        if out.iter().any(|t: &RegistryToken| t.host == r.host()) {
            continue;
        }
        out.push(RegistryToken {
            host: r.host().to_string(),
            region: match r {
                Registry::Private { region, .. } => Some(region.clone()),
                Registry::Public { .. } => None,
            },
            username: d.username,
            password: d.password,
            expires_at: d.expires_at,
        });
    }
    Ok(out)
}

/// One private `GetAuthorizationToken` in `region`; returns `(registry host, token)` pairs.
async fn private_call(
    sdk: &SdkConfig,
    credentials: Option<&Credentials>,
    region: &str,
    accounts: &[String],
    identity: Option<&str>,
) -> Result<Vec<(String, Decoded)>, AwsError> {
    let mut conf = aws_sdk_ecr::config::Builder::from(sdk).region(Region::new(region.to_string()));
    if let Some(c) = credentials {
        conf = conf.credentials_provider(c.clone());
    }
    let client = aws_sdk_ecr::Client::from_conf(conf.build());
    tracing::debug!("ECR GetAuthorizationToken in {region} for {accounts:?}");
    // registryIds is deprecated because one token covers every registry the caller may reach;
    // naming the accounts still gets one answer entry per registry, which tells us the host of
    // each (and lets a per-registry mock issue per-registry passwords).
    #[allow(deprecated)]
    let out = client
        .get_authorization_token()
        .set_registry_ids((!accounts.is_empty()).then(|| accounts.to_vec()))
        .send()
        .await
        .inspect(|_| telemetry::aws_call(telemetry::ECR, OP, true))
        .inspect_err(|_| telemetry::aws_call(telemetry::ECR, OP, false))
        .map_err(|e| ecr_error(Failure::from_sdk(&e), region, "ECR", identity))?;
    out.authorization_data()
        .iter()
        .map(|data| {
            // Register the token before anything else can fail or log.
            let decoded = decode(data.authorization_token(), data.expires_at(), region)?;
            // The host goes into config.json and CI outputs: check it like user input.
            let endpoint = data.proxy_endpoint().unwrap_or_default();
            let host = super::registry::from_endpoint(endpoint, region)
                .map_err(|why| AwsError::Failed {
                    service: "ECR".into(),
                    operation: format!("GetAuthorizationToken in {region}"),
                    code: "UnexpectedEndpoint".into(),
                    message: format!(
                        "ECR returned an unexpected registry endpoint {endpoint:?} ({why}), so nothing was written; likely cause: AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_ECR or a proxy sends ECR calls to something that is not Amazon ECR in {region}; fix: unset or correct that setting, or name the registries with --registries"
                    ),
                })?
                .host()
                .to_string();
            Ok((host, decoded))
        })
        .collect()
}

/// ECR Public's `GetAuthorizationToken`, always in us-east-1.
async fn public_call(
    sdk: &SdkConfig,
    credentials: Option<&Credentials>,
    identity: Option<&str>,
) -> Result<Decoded, AwsError> {
    let mut conf = aws_sdk_ecrpublic::config::Builder::from(sdk).region(Region::new("us-east-1"));
    if let Some(c) = credentials {
        conf = conf.credentials_provider(c.clone());
    }
    let client = aws_sdk_ecrpublic::Client::from_conf(conf.build());
    tracing::debug!("ECR Public GetAuthorizationToken in us-east-1");
    let out = client
        .get_authorization_token()
        .send()
        .await
        .inspect(|_| telemetry::aws_call(telemetry::ECR_PUBLIC, OP, true))
        .inspect_err(|_| telemetry::aws_call(telemetry::ECR_PUBLIC, OP, false))
        .map_err(|e| ecr_error(Failure::from_sdk(&e), "us-east-1", "ECR Public", identity))?;
    let data = out.authorization_data().ok_or_else(|| AwsError::Failed {
        service: "ECR Public".into(),
        operation: "GetAuthorizationToken".into(),
        code: "NoAuthorizationData".into(),
        message: "the answer held no token".into(),
    })?;
    decode(data.authorization_token(), data.expires_at(), "us-east-1")
}

fn decode(
    token: Option<&str>,
    expires_at: Option<&aws_smithy_types::DateTime>,
    region: &str,
) -> Result<Decoded, AwsError> {
    let bad = |why: &str| AwsError::Failed {
        service: "ECR".into(),
        operation: "GetAuthorizationToken".into(),
        code: "BadToken".into(),
        message: format!("the token from {region} {why}"),
    };
    let token = token.ok_or_else(|| bad("is missing"))?;
    // Registered (and masked on CI) before it is decoded or can appear in any message.
    let _ = Secret::new(token);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| bad("is not base64"))?;
    let text = String::from_utf8(bytes).map_err(|_| bad("is not text"))?;
    let (user, password) = text
        .split_once(':')
        .ok_or_else(|| bad("is not user:password"))?;
    Ok(Decoded {
        username: user.to_string(),
        password: Secret::new(password),
        expires_at: expires_at.and_then(|t| SystemTime::try_from(*t).ok()),
    })
}

fn ecr_error(f: Failure, region: &str, service: &str, identity: Option<&str>) -> AwsError {
    match f {
        Failure::Service {
            code,
            message,
            status,
        } if status == 403
            || code.contains("AccessDenied")
            || code.contains("UnrecognizedClient")
            || code.contains("InvalidSignature")
            || code.contains("ExpiredToken") =>
        {
            AwsError::EcrDenied {
                region: region.to_string(),
                code,
                message,
                identity: identity.map(str::to_string),
            }
        }
        Failure::Service { code, message, .. } => AwsError::Failed {
            service: service.to_string(),
            operation: format!("GetAuthorizationToken in {region}"),
            code,
            message,
        },
        Failure::Unreachable(reason) => AwsError::Unreachable {
            service: format!("{service} in {region}"),
            operation: "GetAuthorizationToken".into(),
            reason,
        },
        Failure::Other(reason) => AwsError::Failed {
            service: service.to_string(),
            operation: format!("GetAuthorizationToken in {region}"),
            code: "Unknown".into(),
            message: reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret;

    #[test]
    fn decode_registers_the_raw_token_first() {
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:decode-test-password");
        let d = decode(Some(&token), None, "us-east-1").unwrap();
        assert_eq!(d.username, "AWS");
        assert_eq!(d.password.expose(), "decode-test-password");
        assert_eq!(secret::registry().redact(&format!("t={token}")), "t=***");
        assert_eq!(secret::registry().redact("p=decode-test-password"), "p=***");
    }

    #[test]
    fn a_token_that_does_not_decode_is_registered_all_the_same() {
        let token = "not-base64-but-secret!";
        let e = decode(Some(token), None, "eu-west-1").unwrap_err();
        assert!(e.to_string().contains("not base64"), "{e}");
        assert!(!e.to_string().contains(token), "{e}");
        assert_eq!(secret::registry().redact(token), "***");
    }
}
