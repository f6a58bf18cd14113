//! AWS: turn an identity (a web identity token, or the default credential chain) into
//! credentials, and credentials into ECR registry tokens. Knows no CI platform and no auth
//! file format.

pub(crate) mod credential_source;
pub(crate) mod ecr;
pub(crate) mod regions;
pub(crate) mod registry;
pub(crate) mod sts;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use crate::aws::registry::Registry;
use crate::retry::{Policy, TIMEOUTS};

/// The shared SDK configuration: one HTTP client (so connections are reused across STS and
/// every ECR region), retries for transient faults only (the SDK's standard classifier:
/// 5xx, throttling, resets, timeouts; never AccessDenied), and timeouts that fail a dead
/// endpoint in seconds rather than minutes.
///
/// Honours the SDK's own settings: `AWS_PROFILE`, `AWS_ENDPOINT_URL[_<SERVICE>]`,
/// `AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT`, proxies.
///
/// The HTTP client is made at the call, before the future is first polled: its TLS roots
/// start loading on a worker thread at once, while the caller sends its first request.
///
/// `chain`: whether the default credential chain is wanted (see `Plan::uses_chain`); without
/// it, every call must be given credentials or be unsigned.
pub(crate) fn sdk_config(
    region: &str,
    profile: Option<&str>,
    chain: bool,
) -> impl std::future::Future<Output = SdkConfig> + use<> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if !chain {
        // The default credential chain is not built (its web-identity provider alone, with an
        // STS client of its own, is an eighth of a login's instructions).
        loader = loader.no_credentials();
    }
    if let Some(client) = crate::tls::sdk_http_client(TIMEOUTS.connect, TIMEOUTS.read) {
        loader = loader.http_client(client);
    }
    let loader = loader
        .region(Region::new(region.to_string()))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(Policy::STANDARD.max_attempts)
                .with_initial_backoff(Policy::STANDARD.initial_backoff)
                .with_max_backoff(Policy::STANDARD.max_backoff),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(TIMEOUTS.connect)
                .read_timeout(TIMEOUTS.read)
                .operation_attempt_timeout(TIMEOUTS.attempt)
                .operation_timeout(TIMEOUTS.operation)
                .build(),
        );
    loader.load()
}

/// Builds, ahead of the first STS call, what the STS crate builds once per process at its
/// first call: its endpoint rules' partition table (a JSON document parsed, a few regular
/// expressions compiled). Called while the CI platform answers, so that the call does not wait
/// for it. (Loading the configuration with the default credential chain builds it already;
/// then this costs nothing.)
pub(crate) fn warm_up_sts(sdk: &SdkConfig) {
    use aws_sdk_sts::config::endpoint::ResolveEndpoint as _;
    if let Ok(params) = aws_sdk_sts::config::endpoint::Params::builder()
        .set_region(sdk.region().map(|r| r.to_string()))
        .build()
    {
        // The endpoint is not wanted, only the tables its resolution builds.
        drop(aws_sdk_sts::config::endpoint::DefaultResolver::new().resolve_endpoint(&params));
    }
}

/// The same for the ECR crates `registries` will call, whose first calls come after STS's:
/// called while STS answers. ECR for private registries (and for the caller's own registry,
/// when none is named), ECR Public for `public.ecr.aws`.
pub(crate) fn warm_up_ecr(sdk: &SdkConfig, registries: &[Registry]) {
    let public = registries
        .iter()
        .any(|r| matches!(r, Registry::Public { .. }));
    let private = registries.is_empty()
        || registries
            .iter()
            .any(|r| matches!(r, Registry::Private { .. }));
    if private {
        use aws_sdk_ecr::config::endpoint::ResolveEndpoint as _;
        if let Ok(params) = aws_sdk_ecr::config::endpoint::Params::builder()
            .set_region(sdk.region().map(|r| r.to_string()))
            .build()
        {
            drop(aws_sdk_ecr::config::endpoint::DefaultResolver::new().resolve_endpoint(&params));
        }
    }
    if public {
        use aws_sdk_ecrpublic::config::endpoint::ResolveEndpoint as _;
        // ECR Public is served from us-east-1 alone (see ecr::public_call).
        if let Ok(params) = aws_sdk_ecrpublic::config::endpoint::Params::builder()
            .region("us-east-1")
            .build()
        {
            drop(
                aws_sdk_ecrpublic::config::endpoint::DefaultResolver::new()
                    .resolve_endpoint(&params),
            );
        }
    }
}

/// The region set in the AWS profile files (`~/.aws/config`), if any. Reads files only: no
/// instance metadata lookups, so it costs nothing off EC2.
pub(crate) async fn profile_region() -> Option<String> {
    use aws_config::meta::region::ProvideRegion;
    aws_config::profile::ProfileFileRegionProvider::new()
        .region()
        .await
        .map(|r| r.to_string())
}

/// An error and its causes as one readable text (each cause once): never a `Debug` dump, which
/// the SDK's own `DisplayErrorContext` appends.
pub(crate) fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Whether `s` is an AWS account id: exactly 12 ASCII digits.
pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `arn` is an IAM role's ARN: `arn:<partition>:iam::<12 digits>:role/<path/><name>`,
/// the name and path of IAM's characters (`A-Za-z0-9_+=,.@-`), not ending in `/`. The one check
/// for every place a role ARN comes in (flags, variables, a service account's annotation).
pub(crate) fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let Some(name) = resource.strip_prefix("role/") else {
        return false;
    };
    prefix == "arn"
        && regions::PARTITIONS.iter().any(|p| p.arn == partition)
        && service == "iam"
        && region.is_empty()
        && is_account_id(account)
        && !name.is_empty()
        && !name.ends_with('/')
        && !name.starts_with('/')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-/".contains(c))
}

/// The account of an ARN (`arn:<partition>:<service>:<region>:<account>:...`).
pub(crate) fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| is_account_id(a))
}

/// How an AWS call failed, in the terms the user needs.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The service answered with an error (code, message).
    Service {
        code: String,
        message: String,
        status: u16,
    },
    /// The endpoint could not be reached, or timed out.
    Unreachable(String),
    /// Anything else (a response that could not be parsed, a request that could not be built).
    Other(String),
}

impl Failure {
    pub(crate) fn from_sdk<E, R>(err: &SdkError<E, R>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + HasStatus + 'static,
    {
        match err {
            SdkError::ServiceError(se) => Failure::Service {
                code: se.err().code().unwrap_or("Unknown").to_string(),
                message: se
                    .err()
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| causes(se.err())),
                status: se.raw().status(),
            },
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                Failure::Unreachable(causes(err))
            }
            _ => Failure::Other(causes(err)),
        }
    }
}

/// The HTTP status of a raw response, for [`Failure::from_sdk`].
pub(crate) trait HasStatus {
    fn status(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        for ok in [
            "arn:aws:iam::123456789012:role/ci",
            "arn:aws:iam::123456789012:role/path/to/ci-role_1+=,.@",
            "arn:aws-cn:iam::123456789012:role/ci",
            "arn:aws-us-gov:iam::123456789012:role/ci",
        ] {
            assert!(is_role_arn(ok), "{ok}");
        }
        for bad in [
            "",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/ci/",
            "arn:aws:iam::123456789012:role/c i",
            "arn:aws:iam::123456789012:role/ci\n",
            "arn:aws:iam::12345678901:role/ci",
            "arn:aws:iam:us-east-1:123456789012:role/ci",
            "arn:aws:sts::123456789012:role/ci",
            "arn:aws:iam::123456789012:user/ci",
            "arn:nope:iam::123456789012:role/ci",
        ] {
            assert!(!is_role_arn(bad), "{bad:?}");
        }
    }
}
