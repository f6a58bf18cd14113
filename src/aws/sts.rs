//! STS: exchange a web identity token for role credentials (AssumeRoleWithWebIdentity), assume
//! a role with credentials already held (AssumeRole: the credential chain's, or the previous
//! hop's in a role chain), and ask who a set of credentials belongs to (GetCallerIdentity). A
//! refusal is explained with the token's claims next to the trust-policy condition keys they
//! must match.

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;

use super::Failure;
use crate::error::AwsError;
use crate::id_token::IdToken;
use crate::retry::{self, Transient};
use crate::secret::Secret;
use crate::telemetry;

/// Credentials from STS, and who they are.
#[derive(Debug, Clone)]
pub(crate) struct Assumed {
    pub credentials: Credentials,
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub arn: Option<String>,
}

/// What to assume, and how to narrow it.
#[derive(Debug, Clone)]
pub(crate) struct RoleRequest<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub duration_seconds: i32,
    /// An inline session policy (JSON).
    pub policy: Option<&'a str>,
    /// Managed session policy ARNs.
    pub policy_arns: &'a [String],
    /// The external id the role's trust policy requires (AssumeRole only).
    pub external_id: Option<&'a str>,
}

/// The characters STS accepts in a role session name (`[\w+=,.@-]`).
pub(crate) fn is_session_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Whether `name` is a valid role session name: 2 to 64 of [`is_session_name_char`].
pub(crate) fn is_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len()) && name.chars().all(is_session_name_char)
}

struct StsFailure(Failure);

impl Transient for StsFailure {
    /// The SDK already retried 5xx, throttling and network faults. What it treats as final but
    /// is not: STS failing to fetch the identity provider's JWKS.
    fn is_transient(&self) -> bool {
        match &self.0 {
            Failure::Service { code, message, .. } => {
                code.contains("IDPCommunicationError") || message.contains("verification key")
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for StsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// The one mapping of an STS failure to an [`AwsError`]: a refusal becomes what `denied` makes
/// of its code and message, the rest says which operation failed and how.
fn sts_error(
    f: Failure,
    operation: &str,
    denied: impl FnOnce(String, String) -> AwsError,
) -> AwsError {
    match f {
        Failure::Service { code, message, .. } => denied(code, message),
        Failure::Unreachable(reason) => AwsError::Unreachable {
            service: "STS".into(),
            operation: operation.into(),
            reason,
        },
        Failure::Other(reason) => AwsError::Failed {
            service: "STS".into(),
            operation: operation.into(),
            code: "Unknown".into(),
            message: reason,
        },
    }
}

fn no_credentials(operation: &str) -> AwsError {
    AwsError::Failed {
        service: "STS".into(),
        operation: operation.into(),
        code: "NoCredentials".into(),
        message: "the answer held no credentials".into(),
    }
}

/// STS AssumeRoleWithWebIdentity. The call is unsigned: no AWS credentials are needed or used.
pub(crate) async fn assume_role_with_web_identity(
    sdk: &SdkConfig,
    role: &RoleRequest<'_>,
    token: &IdToken,
    platform: &str,
) -> Result<Assumed, AwsError> {
    const OP: &str = "AssumeRoleWithWebIdentity";
    telemetry::assuming(role.role_arn, token.claims().sub);
    let client = aws_sdk_sts::Client::new(sdk);
    let out = retry::retry(
        retry::Policy::STANDARD,
        "STS AssumeRoleWithWebIdentity",
        || async {
            client
                .assume_role_with_web_identity()
                .role_arn(role.role_arn)
                .role_session_name(role.session_name)
                .duration_seconds(role.duration_seconds)
                .set_policy(role.policy.map(str::to_string))
                .set_policy_arns(policy_arns(role.policy_arns))
                .web_identity_token(token.jwt.expose())
                .send()
                .await
                .inspect(|_| telemetry::aws_call(telemetry::STS, OP, true))
                .inspect_err(|_| telemetry::aws_call(telemetry::STS, OP, false))
                .map_err(|e| StsFailure(Failure::from_sdk(&e)))
        },
    )
    .await
    .map_err(|StsFailure(f)| {
        sts_error(f, OP, |code, message| AwsError::AssumeRoleDenied {
            role_arn: role.role_arn.to_string(),
            platform: platform.to_string(),
            code,
            message,
            claims: Box::new(token.claims()),
        })
    })?;
    let creds = out.credentials().ok_or_else(|| no_credentials(OP))?;
    Ok(to_assumed(
        creds.access_key_id(),
        creds.secret_access_key(),
        creds.session_token(),
        SystemTime::try_from(*creds.expiration()).ok(),
        out.assumed_role_user().map(|u| u.arn().to_string()),
    ))
}

/// sts:AssumeRole, signed with `credentials` (the previous hop's), or with the credential
/// chain's when `None`.
pub(crate) async fn assume_role(
    sdk: &SdkConfig,
    credentials: Option<&Credentials>,
    role: &RoleRequest<'_>,
) -> Result<Assumed, AwsError> {
    const OP: &str = "AssumeRole";
    telemetry::assuming(role.role_arn, None);
    let out = client(sdk, credentials)
        .assume_role()
        .role_arn(role.role_arn)
        .role_session_name(role.session_name)
        .duration_seconds(role.duration_seconds)
        .set_policy(role.policy.map(str::to_string))
        .set_policy_arns(policy_arns(role.policy_arns))
        .set_external_id(role.external_id.map(str::to_string))
        .send()
        .await
        .inspect(|_| telemetry::aws_call(telemetry::STS, OP, true))
        .inspect_err(|_| telemetry::aws_call(telemetry::STS, OP, false))
        .map_err(|e| {
            sts_error(Failure::from_sdk(&e), OP, |code, message| {
                AwsError::AssumeRoleWithCredsDenied {
                    role_arn: role.role_arn.to_string(),
                    code,
                    message,
                }
            })
        })?;
    let creds = out.credentials().ok_or_else(|| no_credentials(OP))?;
    Ok(to_assumed(
        creds.access_key_id(),
        creds.secret_access_key(),
        creds.session_token(),
        SystemTime::try_from(*creds.expiration()).ok(),
        out.assumed_role_user().map(|u| u.arn().to_string()),
    ))
}

/// The ARN of whoever `credentials` belong to (GetCallerIdentity: needs no permission).
pub(crate) async fn caller_arn(
    sdk: &SdkConfig,
    credentials: &Credentials,
) -> Result<String, AwsError> {
    const OP: &str = "GetCallerIdentity";
    let out = client(sdk, Some(credentials))
        .get_caller_identity()
        .send()
        .await
        .inspect(|_| telemetry::aws_call(telemetry::STS, OP, true))
        .inspect_err(|_| telemetry::aws_call(telemetry::STS, OP, false))
        .map_err(|e| {
            sts_error(Failure::from_sdk(&e), OP, |code, message| {
                AwsError::Failed {
                    service: "STS".into(),
                    operation: OP.into(),
                    code,
                    message,
                }
            })
        })?;
    out.arn()
        .inspect(|arn| telemetry::identity(arn))
        .map(str::to_string)
        .ok_or_else(|| AwsError::Failed {
            service: "STS".into(),
            operation: OP.into(),
            code: "NoArn".into(),
            message: "the answer held no ARN".into(),
        })
}

fn client(sdk: &SdkConfig, credentials: Option<&Credentials>) -> aws_sdk_sts::Client {
    let mut conf = aws_sdk_sts::config::Builder::from(sdk);
    if let Some(c) = credentials {
        conf = conf.credentials_provider(c.clone());
    }
    aws_sdk_sts::Client::from_conf(conf.build())
}

fn policy_arns(arns: &[String]) -> Option<Vec<aws_sdk_sts::types::PolicyDescriptorType>> {
    (!arns.is_empty()).then(|| {
        arns.iter()
            .map(|a| {
                aws_sdk_sts::types::PolicyDescriptorType::builder()
                    .arn(a)
                    .build()
            })
            .collect()
    })
}

/// The default credential chain's credentials, resolved now so that "no credentials" is one
/// clear error rather than a failure inside every ECR call.
pub(crate) async fn chain_credentials(sdk: &SdkConfig) -> Result<Credentials, AwsError> {
    let provider = sdk
        .credentials_provider()
        .ok_or_else(|| AwsError::NoCredentials {
            reason: "no credential provider is configured".into(),
        })?;
    let creds = provider
        .provide_credentials()
        .await
        .map_err(|e| AwsError::NoCredentials {
            reason: crate::aws::causes(&e),
        })?;
    // Register the values for redaction (and CI masking) like every other secret.
    let _ = Secret::new(creds.secret_access_key());
    if let Some(t) = creds.session_token() {
        let _ = Secret::new(t);
    }
    Ok(creds)
}

fn to_assumed(
    akid: &str,
    secret: &str,
    token: &str,
    expires: Option<SystemTime>,
    arn: Option<String>,
) -> Assumed {
    if let Some(arn) = &arn {
        telemetry::identity(arn);
    }
    // Registering masks them on CI (GitHub ::add-mask::) before anything else can print them.
    let _ = Secret::new(akid);
    let _ = Secret::new(secret);
    let _ = Secret::new(token);
    Assumed {
        credentials: Credentials::new(akid, secret, Some(token.to_string()), expires, "ecr-login"),
        arn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names() {
        assert!(is_session_name("gh-o-r-1-1"));
        assert!(is_session_name("a+b=c,d.e@f_g-h"));
        assert!(!is_session_name("a"));
        assert!(!is_session_name("has space"));
        assert!(!is_session_name(&"x".repeat(65)));
    }
}
