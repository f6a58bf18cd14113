//! STS: exchange a web identity token for role credentials (AssumeRoleWithWebIdentity), or
//! assume a role with the caller's own credentials (AssumeRole). A refusal is explained with
//! the token's claims next to the trust-policy condition keys they must match.

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;

use super::Failure;
use crate::error::AwsError;
use crate::id_token::IdToken;
use crate::retry::{self, Transient};
use crate::secret::Secret;

/// Credentials from STS, and who they are.
#[derive(Debug, Clone)]
pub struct Assumed {
    pub credentials: Credentials,
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub arn: Option<String>,
    pub expires: Option<SystemTime>,
}

/// What to assume.
#[derive(Debug, Clone)]
pub struct RoleRequest<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub duration_seconds: i32,
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

/// STS AssumeRoleWithWebIdentity. The call is unsigned: no AWS credentials are needed or used.
pub async fn assume_role_with_web_identity(
    sdk: &SdkConfig,
    role: &RoleRequest<'_>,
    token: &IdToken,
    platform: &str,
) -> Result<Assumed, AwsError> {
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
                .web_identity_token(token.jwt.expose())
                .send()
                .await
                .map_err(|e| StsFailure(Failure::from_sdk(&e)))
        },
    )
    .await
    .map_err(|StsFailure(f)| match f {
        Failure::Service { code, message, .. } => AwsError::AssumeRoleDenied {
            role_arn: role.role_arn.to_string(),
            platform: platform.to_string(),
            code,
            message,
            claims: Box::new(token.claims()),
        },
        Failure::Unreachable(reason) => AwsError::Unreachable {
            service: "STS".into(),
            operation: "AssumeRoleWithWebIdentity".into(),
            reason,
        },
        Failure::Other(reason) => AwsError::Failed {
            service: "STS".into(),
            operation: "AssumeRoleWithWebIdentity".into(),
            code: "Unknown".into(),
            message: reason,
        },
    })?;
    let creds = out.credentials().ok_or_else(|| AwsError::Failed {
        service: "STS".into(),
        operation: "AssumeRoleWithWebIdentity".into(),
        code: "NoCredentials".into(),
        message: "the answer held no credentials".into(),
    })?;
    let arn = out.assumed_role_user().map(|u| u.arn().to_string());
    Ok(to_assumed(
        creds.access_key_id(),
        creds.secret_access_key(),
        creds.session_token(),
        SystemTime::try_from(*creds.expiration()).ok(),
        arn,
    ))
}

/// sts:AssumeRole with the default credential chain's credentials.
pub async fn assume_role(sdk: &SdkConfig, role: &RoleRequest<'_>) -> Result<Assumed, AwsError> {
    let client = aws_sdk_sts::Client::new(sdk);
    let out = client
        .assume_role()
        .role_arn(role.role_arn)
        .role_session_name(role.session_name)
        .duration_seconds(role.duration_seconds)
        .send()
        .await
        .map_err(|e| match Failure::from_sdk(&e) {
            Failure::Service { code, message, .. } => AwsError::AssumeRoleWithCredsDenied {
                role_arn: role.role_arn.to_string(),
                code,
                message,
            },
            Failure::Unreachable(reason) => AwsError::Unreachable {
                service: "STS".into(),
                operation: "AssumeRole".into(),
                reason,
            },
            Failure::Other(reason) => AwsError::Failed {
                service: "STS".into(),
                operation: "AssumeRole".into(),
                code: "Unknown".into(),
                message: reason,
            },
        })?;
    let creds = out.credentials().ok_or_else(|| AwsError::Failed {
        service: "STS".into(),
        operation: "AssumeRole".into(),
        code: "NoCredentials".into(),
        message: "the answer held no credentials".into(),
    })?;
    Ok(to_assumed(
        creds.access_key_id(),
        creds.secret_access_key(),
        creds.session_token(),
        SystemTime::try_from(*creds.expiration()).ok(),
        out.assumed_role_user().map(|u| u.arn().to_string()),
    ))
}

/// The default credential chain's credentials, resolved now so that "no credentials" is one
/// clear error rather than a failure inside every ECR call.
pub async fn chain_credentials(sdk: &SdkConfig) -> Result<Credentials, AwsError> {
    let provider = sdk
        .credentials_provider()
        .ok_or_else(|| AwsError::NoCredentials {
            reason: "no credential provider is configured".into(),
        })?;
    let creds = provider
        .provide_credentials()
        .await
        .map_err(|e| AwsError::NoCredentials {
            reason: aws_sdk_sts::error::DisplayErrorContext(&e).to_string(),
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
    // Registering masks them on CI (GitHub ::add-mask::) before anything else can print them.
    let _ = Secret::new(akid);
    let _ = Secret::new(secret);
    let _ = Secret::new(token);
    Assumed {
        credentials: Credentials::new(akid, secret, Some(token.to_string()), expires, "ecr-login"),
        arn,
        expires,
    }
}
