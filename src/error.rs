//! Every way `ecr-login` can fail, what to tell the user, and which exit code it maps to.
//!
//! One enum per layer (usage, CI identity token, AWS, auth files), each variant carrying what
//! happened; [`Error::help`] adds the likely cause and the fix, and [`Error::exit_code`] gives a
//! stable, documented code per failure class, so scripts and wrappers can branch on it.

use std::path::PathBuf;

use crate::claims::ClaimsSummary;

/// Exit codes. Documented in the README; wrappers rely on them.
pub(crate) mod exit {
    /// Success.
    pub(crate) const OK: i32 = 0;
    /// An internal error (a bug): please report it.
    pub(crate) const INTERNAL: i32 = 1;
    /// Bad usage or bad input: fix the command line or the environment.
    pub(crate) const USAGE: i32 = 2;
    /// The CI platform's identity token could not be had.
    pub(crate) const ID_TOKEN: i32 = 3;
    /// AWS refused the identity (STS or ECR said no): a trust or permission policy problem.
    pub(crate) const AWS_DENIED: i32 = 4;
    /// An AWS call failed for another reason (throttling that outlasted the retries, 5xx).
    pub(crate) const AWS_FAILED: i32 = 5;
    /// A network failure: an endpoint could not be reached.
    pub(crate) const NETWORK: i32 = 6;
    /// A Docker/Podman auth file or credential store could not be read or written.
    pub(crate) const AUTH_FILE: i32 = 7;
    /// A file that hands results to later CI steps (`$GITHUB_OUTPUT`, `$BASH_ENV`,
    /// `--env-file`) could not be written.
    pub(crate) const HANDOFF: i32 = 8;
    /// `status`: a login in an auth file has expired or expires within `--within` (status's own
    /// meaning of 1; no other command returns it but for an internal error).
    pub(crate) const NOT_VALID: i32 = 1;
}

/// What kind of failure an [`Error`] is, for the audit log and the metrics' `error_class`
/// label: a short name that is stable across releases (alerts and dashboards select on it) and
/// says which side must act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    Usage,
    IdToken,
    StsDenied,
    NoCredentials,
    EcrDenied,
    AccountNotAllowed,
    AwsFailed,
    Network,
    AuthFile,
    Handoff,
    NotValid,
    Internal,
}

impl ErrorClass {
    /// Every class, in a fixed order: the metrics file carries each at zero until it happens,
    /// so that alerts and dashboards never see a gap.
    pub(crate) const ALL: [ErrorClass; 12] = [
        ErrorClass::Usage,
        ErrorClass::IdToken,
        ErrorClass::StsDenied,
        ErrorClass::NoCredentials,
        ErrorClass::EcrDenied,
        ErrorClass::AccountNotAllowed,
        ErrorClass::AwsFailed,
        ErrorClass::Network,
        ErrorClass::AuthFile,
        ErrorClass::Handoff,
        ErrorClass::NotValid,
        ErrorClass::Internal,
    ];

    /// The name in the audit log and the metrics.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ErrorClass::Usage => "usage",
            ErrorClass::IdToken => "id_token",
            ErrorClass::StsDenied => "sts_denied",
            ErrorClass::NoCredentials => "no_credentials",
            ErrorClass::EcrDenied => "ecr_denied",
            ErrorClass::AccountNotAllowed => "account_not_allowed",
            ErrorClass::AwsFailed => "aws_failed",
            ErrorClass::Network => "network",
            ErrorClass::AuthFile => "auth_file",
            ErrorClass::Handoff => "handoff",
            ErrorClass::NotValid => "not_valid",
            ErrorClass::Internal => "internal",
        }
    }
}

/// The top-level error: one of the layers below.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Usage(#[from] UsageError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    AuthFile(#[from] AuthFileError),
    #[error(transparent)]
    Handoff(#[from] HandoffError),
    #[error(transparent)]
    Status(#[from] StatusError),
    /// A bug: something this program assumed did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Token(_) => exit::ID_TOKEN,
            Error::Aws(e) => e.exit_code(),
            Error::AuthFile(_) => exit::AUTH_FILE,
            Error::Handoff(_) => exit::HANDOFF,
            Error::Status(_) => exit::NOT_VALID,
            Error::Internal(_) => exit::INTERNAL,
        }
    }

    /// The failure's [`ErrorClass`].
    pub(crate) fn class(&self) -> ErrorClass {
        match self {
            Error::Usage(_) => ErrorClass::Usage,
            Error::Token(_) => ErrorClass::IdToken,
            Error::Aws(e) => match e {
                AwsError::AssumeRoleDenied { .. } | AwsError::AssumeRoleWithCredsDenied { .. } => {
                    ErrorClass::StsDenied
                }
                AwsError::NoCredentials { .. } => ErrorClass::NoCredentials,
                AwsError::EcrDenied { .. } => ErrorClass::EcrDenied,
                AwsError::AccountNotAllowed { .. } => ErrorClass::AccountNotAllowed,
                AwsError::Failed { .. } => ErrorClass::AwsFailed,
                AwsError::Unreachable { .. } => ErrorClass::Network,
            },
            Error::AuthFile(_) => ErrorClass::AuthFile,
            Error::Handoff(_) => ErrorClass::Handoff,
            Error::Status(_) => ErrorClass::NotValid,
            Error::Internal(_) => ErrorClass::Internal,
        }
    }

    /// Lines printed after the error, each as `help: ...`: the likely cause and the fix.
    pub(crate) fn help(&self) -> Vec<String> {
        match self {
            Error::Usage(e) => e.help(),
            Error::Token(e) => e.help(),
            Error::Aws(e) => e.help(),
            Error::AuthFile(e) => e.help(),
            Error::Handoff(e) => e.help(),
            Error::Status(e) => e.help(),
            Error::Internal(_) => {
                vec!["this is a bug in ecr-login; please report it with the output of `-vv`".into()]
            }
        }
    }
}

/// A user error in the command line or the environment. Exit code 2.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UsageError {
    #[error("invalid role ARN {arn:?}")]
    RoleArn { arn: String },
    #[error("no AWS region given")]
    NoRegion,
    #[error("unknown AWS region {region:?}")]
    UnknownRegion {
        region: String,
        suggestion: Option<String>,
    },
    #[error("{input:?} is not an Amazon ECR registry: {reason}")]
    Registry { input: String, reason: String },
    #[error("invalid role session name {name:?}")]
    SessionName { name: String },
    #[error("invalid --role-duration-seconds {0}: STS accepts 900 to 43200")]
    Duration(i32),
    #[error("unknown platform {name:?}")]
    Platform { name: String, known: String },
    #[error("this looks like more than one CI platform: {}", .0.join(", "))]
    AmbiguousPlatform(Vec<String>),
    #[error("invalid --inline-session-policy: {reason}")]
    SessionPolicy { reason: String },
    #[error("{0}")]
    Other(String),
}

impl UsageError {
    fn help(&self) -> Vec<String> {
        match self {
            UsageError::RoleArn { arn } if arn.trim().is_empty() => vec![
                "the role ARN is empty: the variable meant to hold it (AWS_ROLE_ARN, a CI variable or secret) is probably unset in this job".into(),
                "pass --role-arn arn:aws:iam::<account-id>:role/<name>".into(),
            ],
            UsageError::RoleArn { .. } => vec![
                "a role ARN looks like arn:aws:iam::123456789012:role/my-ci-role (arn:aws-cn:... in China, arn:aws-us-gov:... in GovCloud)".into(),
            ],
            UsageError::NoRegion => vec![
                "pass --region (or set AWS_REGION), or name registries by their full host, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com".into(),
            ],
            UsageError::UnknownRegion { suggestion, .. } => {
                let mut h = Vec::new();
                if let Some(s) = suggestion {
                    h.push(format!("did you mean {s:?}?"));
                }
                h.push("regions look like us-east-1, eu-west-2, ap-southeast-1; for a region newer than this release pass --allow-unknown-region".into());
                h
            }
            UsageError::Registry { .. } => vec![
                "a registry is a 12-digit account id (in --region), a host like 123456789012.dkr.ecr.us-east-1.amazonaws.com (or its dual-stack form 123456789012.dkr-ecr.us-east-1.on.aws), or ECR Public: public.ecr.aws (dual-stack: ecr-public.aws.com)".into(),
            ],
            UsageError::SessionName { .. } => vec![
                "a role session name has 2 to 64 characters from A-Z a-z 0-9 and +=,.@_-".into(),
            ],
            UsageError::Duration(_) => vec![
                "the role's maximum session duration (1 h unless raised on the role) also bounds it".into(),
            ],
            UsageError::Platform { known, .. } => vec![format!(
                "known platforms: {known} (`local` skips CI detection and uses the AWS credential chain)"
            )],
            UsageError::AmbiguousPlatform(_) => vec![
                "pass --platform (or ECR_LOGIN_PLATFORM) to say which one this job runs on; ecr-login does not guess".into(),
            ],
            UsageError::SessionPolicy { .. } => vec![
                "pass an IAM policy document as JSON, e.g. {\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ecr:BatchGetImage\",\"ecr:GetDownloadUrlForLayer\"],\"Resource\":\"arn:aws:ecr:*:*:repository/team/*\"}]}; STS takes at most 2048 characters (whitespace aside): name repositories with wildcards, or move statements into a managed policy (--managed-session-policies)".into(),
            ],
            UsageError::Other(_) => vec![],
        }
    }
}

/// The CI platform's OIDC identity token could not be had. Exit code 3.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    /// The platform offers no token in this job: `tried` says what was looked for, `help` how
    /// to turn it on.
    #[error("{platform} provided no OIDC identity token: {tried}")]
    NotProvided {
        platform: String,
        tried: String,
        help: Vec<String>,
    },
    #[error("`{program}` failed to issue an identity token: {reason}")]
    Command { program: String, reason: String },
    #[error("the identity token endpoint {url} answered HTTP {status}: {body}")]
    Http {
        url: String,
        status: u16,
        body: String,
    },
    #[error("could not reach the identity token endpoint {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error(
        "the identity token endpoint {url} answered with something that is not a token: {reason}"
    )]
    BadResponse { url: String, reason: String },
    #[error("the identity token is empty ({source_desc})")]
    Empty { source_desc: String },
    #[error("cannot read the web identity token file {path}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not an OIDC token at all: refused before it is sent anywhere. `found` describes it
    /// (its size and shape, never its content: it may be a secret of another kind).
    #[error("the identity token from {source_desc} is not a JWT: found {found}")]
    NotAJwt { source_desc: String, found: String },
}

impl TokenError {
    fn help(&self) -> Vec<String> {
        match self {
            TokenError::NotProvided { help, .. } => help.clone(),
            TokenError::Command { program, .. } => vec![format!(
                "check that `{program}` works in this job (it is what the platform uses to issue tokens), or pass --web-identity-token-file"
            )],
            TokenError::Http { status: 401 | 403, .. } => vec![
                "the request token (ACTIONS_ID_TOKEN_REQUEST_TOKEN) was refused: it is only valid inside the job that received it; do not copy it between jobs".into(),
            ],
            TokenError::Http { .. } | TokenError::Unreachable { .. } => vec![
                "the CI platform's token service failed even after retries; re-run the job, and check the platform's status page".into(),
                "behind a proxy, set HTTPS_PROXY and NO_PROXY for the runner".into(),
            ],
            TokenError::BadResponse { .. } => vec![
                "the token endpoint should answer JSON like {\"value\": \"<jwt>\"}; check ACTIONS_ID_TOKEN_REQUEST_URL".into(),
            ],
            TokenError::Empty { .. } => vec![
                "the token source exists but holds nothing; check that the CI step that provides it ran, and that the variable or file is not overwritten".into(),
            ],
            TokenError::File { .. } => vec![
                "check --web-identity-token-file / AWS_WEB_IDENTITY_TOKEN_FILE; on EKS the file is mounted by IRSA at /var/run/secrets/eks.amazonaws.com/serviceaccount/token".into(),
            ],
            TokenError::NotAJwt { .. } => vec![
                "an OIDC identity token is a JWT: three base64url parts joined by dots (header.payload.signature), at most 20000 characters, nothing else in the file or variable; nothing was sent to AWS".into(),
                "likely cause: the variable or file holds something else (another secret, an API answer, a path, a file written half-way); fix: point --web-identity-token-file / --id-token-env (or the platform's token variable) at the token itself".into(),
            ],
        }
    }
}

/// What went wrong talking to AWS.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AwsError {
    /// STS refused to assume the role with the web identity token.
    #[error(
        "STS refused to assume {role_arn} with the {platform} identity token: {code}: {message}"
    )]
    AssumeRoleDenied {
        role_arn: String,
        platform: String,
        code: String,
        message: String,
        claims: Box<ClaimsSummary>,
    },
    /// STS refused to assume the role with the caller's own credentials.
    #[error("STS refused to assume {role_arn}: {code}: {message}")]
    AssumeRoleWithCredsDenied {
        role_arn: String,
        code: String,
        message: String,
    },
    /// No credentials could be found in the default chain.
    #[error("no AWS credentials found: {reason}")]
    NoCredentials { reason: String },
    /// ECR refused the caller.
    #[error("ECR in {region} refused GetAuthorizationToken: {code}: {message}")]
    EcrDenied {
        region: String,
        code: String,
        message: String,
        identity: Option<String>,
    },
    /// An AWS call failed after retries for a reason other than a refusal.
    #[error("{service} {operation} failed: {code}: {message}")]
    Failed {
        service: String,
        operation: String,
        code: String,
        message: String,
    },
    /// An AWS endpoint could not be reached.
    #[error("could not reach {service} ({operation}): {reason}")]
    Unreachable {
        service: String,
        operation: String,
        reason: String,
    },
    /// The identity is in an account `--allowed-account-ids` does not list.
    #[error("the identity {arn} is in account {account}, which --allowed-account-ids does not allow ({allowed}); nothing was written")]
    AccountNotAllowed {
        arn: String,
        account: String,
        allowed: String,
    },
}

impl AwsError {
    fn exit_code(&self) -> i32 {
        match self {
            AwsError::AssumeRoleDenied { .. }
            | AwsError::AssumeRoleWithCredsDenied { .. }
            | AwsError::NoCredentials { .. }
            | AwsError::EcrDenied { .. }
            | AwsError::AccountNotAllowed { .. } => exit::AWS_DENIED,
            AwsError::Failed { .. } => exit::AWS_FAILED,
            AwsError::Unreachable { .. } => exit::NETWORK,
        }
    }

    fn help(&self) -> Vec<String> {
        match self {
            AwsError::AssumeRoleDenied {
                code,
                message,
                claims,
                role_arn,
                ..
            } => {
                let mut h = session_policy_help(code);
                let host = claims.issuer_host().unwrap_or_else(|| "<issuer>".into());
                if message.contains("No OpenIDConnect provider") {
                    h.push(format!("the account has no IAM OIDC identity provider whose URL is exactly the token's issuer: create one with URL https://{host} (IAM > Identity providers), in the account of {role_arn}"));
                } else if message.contains("Incorrect token audience") {
                    h.push(format!("the token's audience is not in the OIDC provider's client id list: add {:?} to the provider https://{host}, or pass --audience with a value the provider lists", claims.aud.first().cloned().unwrap_or_default()));
                } else if message.contains("verification key") || code.contains("IDPCommunication") {
                    h.push("STS could not fetch the issuer's signing keys (JWKS): a private CI server must serve /.well-known/openid-configuration and its JWKS on the public internet; if it does, this was transient: re-run".into());
                } else if code.contains("ExpiredToken") {
                    h.push("the identity token expired before it reached STS: it lives only minutes, so request it right before the login".into());
                } else if message.contains("Request ARN is invalid") {
                    h.push("the role ARN is malformed or empty: check --role-arn / AWS_ROLE_ARN".into());
                } else {
                    h.push(format!("the trust policy of {role_arn} does not accept this token: its Principal must be the OIDC provider for {host} and its conditions must match the claims below (the values are case-sensitive; GitHub environments change sub to repo:<owner>/<repo>:environment:<name>)"));
                }
                h.extend(claims.lines());
                h.push("`ecr-login policy` prints a trust policy that matches this job".into());
                h
            }
            AwsError::AssumeRoleWithCredsDenied { role_arn, code, .. } => {
                let mut h = session_policy_help(code);
                h.push(format!("the caller's credentials are not allowed to sts:AssumeRole on {role_arn}: the role's trust policy must name the caller (check `aws sts get-caller-identity`), and the caller needs sts:AssumeRole on the role; a role that requires an external id needs --role-external-id"));
                h
            }
            AwsError::AccountNotAllowed { .. } => vec![
                "check --role-arn / --chain-role-arn for a mistyped account id, or add the account to --allowed-account-ids (ECR_LOGIN_ALLOWED_ACCOUNT_IDS)".into(),
            ],
            AwsError::NoCredentials { .. } => vec![
                "in CI, pass --role-arn so the platform's OIDC token is exchanged for credentials".into(),
                "elsewhere configure the AWS credential chain: AWS_PROFILE (and `aws sso login`), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, an instance role or container credentials".into(),
            ],
            AwsError::EcrDenied { identity, region, .. } => vec![
                format!(
                    "{} needs ecr:GetAuthorizationToken (Resource \"*\") in {region}, and pull/push permissions on the repositories; `ecr-login policy` prints a least-privilege policy",
                    identity.clone().unwrap_or_else(|| "the caller".into())
                ),
                "an SCP or permissions boundary can also deny it; a region that is not enabled for the account answers the same way".into(),
            ],
            AwsError::Failed { code, .. } if code == "UnexpectedEndpoint" => vec![
                "check AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_ECR and any proxy in front of ECR: the answer did not come from Amazon ECR; or name the registries with --registries".into(),
            ],
            AwsError::Failed { .. } => vec![
                "this was retried with backoff and kept failing; re-run the job, and check the AWS Health Dashboard for the region".into(),
            ],
            AwsError::Unreachable { reason, .. } => unreachable_help(reason),
        }
    }
}

/// Help for an AWS endpoint that could not be reached, by what the connection tripped on.
fn unreachable_help(reason: &str) -> Vec<String> {
    let generic = "check the network path to AWS: HTTPS_PROXY/NO_PROXY, DNS, a VPC endpoint policy, or AWS_ENDPOINT_URL* if set";
    if reason.contains("invalid peer certificate") || reason.contains("UnknownIssuer") {
        vec![
            "the endpoint's TLS certificate is not signed by a CA this machine trusts: behind a TLS-inspecting proxy, set SSL_CERT_FILE to a PEM bundle that includes the proxy's CA (the system's bundle plus that CA)".into(),
            generic.into(),
        ]
    } else if reason.contains("dns error") {
        vec![
            "the endpoint's host name did not resolve: check the runner's DNS, and AWS_ENDPOINT_URL* if set; behind a proxy, set HTTPS_PROXY and check that NO_PROXY does not list the AWS host".into(),
        ]
    } else {
        vec![generic.into()]
    }
}

/// Help for STS's refusals of a session policy, whichever assume call sent it.
fn session_policy_help(code: &str) -> Vec<String> {
    if code.contains("PackedPolicyTooLarge") {
        vec!["the session policies (--inline-session-policy and --managed-session-policies, plus any session tags) are too large once STS packs them: shorten the inline policy (wildcards in resource ARNs), or pass fewer managed policies".into()]
    } else if code.contains("MalformedPolicyDocument") {
        vec!["STS could not parse --inline-session-policy as an IAM policy: check its Version, Effect, Action and Resource fields".into()]
    } else {
        Vec::new()
    }
}

/// A file that hands results to later CI steps could not be written. Exit code 8.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the hand-off file for later steps ({what}) {path}")]
pub(crate) struct HandoffError {
    /// Which channel: `GITHUB_OUTPUT`, `GITHUB_STATE`, `BASH_ENV`, `--env-file`.
    pub what: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl HandoffError {
    fn help(&self) -> Vec<String> {
        vec![format!(
            "the registries were logged in, but later steps will not see ECR_LOGIN_REGISTRY: check that {} points into a writable directory{}",
            self.what,
            if self.what == "--env-file" {
                " (--env-file / ECR_LOGIN_ENV_FILE)"
            } else {
                ", as the CI runner sets it"
            }
        )]
    }
}

/// A Docker/Podman auth file or credential store could not be read or written. Exit code 7.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuthFileError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON ({reason}); it was left untouched")]
    Parse { path: PathBuf, reason: String },
    /// Not a regular file (a directory, a FIFO, a device), or far too large for a Docker
    /// config: refused before it is read (a FIFO would hang the read, a device never end it).
    #[error("{path} is {what}; it was left untouched")]
    NotAConfig { path: PathBuf, what: String },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The lock file could not be had: not an I/O error, a refusal or a timeout.
    #[error("cannot lock {path}: {reason}")]
    Lock { path: PathBuf, reason: String },
    #[error("the credential helper docker-credential-{helper} failed to {action} the login for {registry}: {reason}")]
    Helper {
        helper: String,
        /// `store` or `erase`.
        action: String,
        registry: String,
        reason: String,
    },
    /// `login --mode helper`: Docker would not run this binary as the helper.
    #[error("{}", match found {
        Some(p) => format!("docker-credential-ecr-login on PATH is {}, not this ecr-login ({})", p.display(), exe.display()),
        None => format!("no docker-credential-ecr-login on PATH, and none could be made beside {}", exe.display()),
    })]
    HelperProgram {
        found: Option<PathBuf>,
        exe: PathBuf,
    },
    /// The config routes the registry to amazon-ecr-credential-helper, which cannot store logins.
    #[error("{config} sends {registry} to docker-credential-ecr-login (amazon-ecr-credential-helper), which gets its own tokens and cannot store this login (it answered \"not implemented\")")]
    ForeignEcrHelper { registry: String, config: PathBuf },
    #[error(
        "no home directory and no DOCKER_CONFIG: cannot tell where Docker's config.json lives"
    )]
    NoHome,
}

impl AuthFileError {
    fn help(&self) -> Vec<String> {
        match self {
            AuthFileError::Lock { .. } => vec![
                "the lock keeps concurrent logins from losing each other's entries; check what holds or planted it (`ls -l` the directory), then remove it".into(),
            ],
            AuthFileError::Read { .. } | AuthFileError::Write { .. } => vec![
                "check the directory's ownership and permissions, or point --docker-config / DOCKER_CONFIG at a writable directory".into(),
            ],
            AuthFileError::Parse { .. } => vec![
                "fix or remove the file (Docker itself cannot read it either), or point --docker-config at another directory".into(),
            ],
            AuthFileError::NotAConfig { path, .. } => vec![
                format!("Docker's config.json is a plain JSON file of a few KB; likely cause: something else was put at {}; fix: move it away (ecr-login then writes a new one), or point --docker-config / DOCKER_CONFIG at another directory", path.display()),
            ],
            AuthFileError::Helper { helper, .. } => vec![
                format!("the config names credsStore/credHelpers \"{helper}\": check that docker-credential-{helper} is on PATH and works (`docker-credential-{helper} list`), or remove it from config.json to store the login in the file"),
            ],
            AuthFileError::HelperProgram { exe, .. } => vec![
                format!("Docker runs `docker-credential-ecr-login` from PATH for the registries this login points at it: link this binary under that name in a directory that comes first on PATH, e.g. ln -s {} ~/.local/bin/docker-credential-ecr-login (amazon-ecr-credential-helper installs one in /usr/bin)", exe.display()),
            ],
            AuthFileError::ForeignEcrHelper { config, .. } => vec![
                "Docker would ask that helper, not the file, for this registry's credentials, so it would use whatever AWS credentials the helper finds, not the role this login assumed".into(),
                format!("remove the \"ecr-login\" value from \"credHelpers\" (or \"credsStore\") in {}, or give this job a config of its own: DOCKER_CONFIG=$(mktemp -d) ecr-login ...", config.display()),
            ],
            AuthFileError::NoHome => vec!["set DOCKER_CONFIG or HOME".into()],
        }
    }
}

/// `status` found logins in the auth files that have expired or expire within `--within`.
/// Exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{}", status_summary(*.expired, *.expiring, .within))]
pub(crate) struct StatusError {
    pub expired: usize,
    pub expiring: usize,
    /// `--within`, as the user wrote it.
    pub within: String,
    /// Files whose entries shadow another login for Podman, Buildah and skopeo.
    pub shadowing: Vec<PathBuf>,
}

fn status_summary(expired: usize, expiring: usize, within: &str) -> String {
    let logins = |n: usize| {
        if n == 1 {
            "1 ECR login".to_string()
        } else {
            format!("{n} ECR logins")
        }
    };
    match (expired, expiring) {
        (e, 0) => format!(
            "{} in the auth files {} expired",
            logins(e),
            if e == 1 { "has" } else { "have" }
        ),
        (0, x) => format!(
            "{} in the auth files {} within {within}",
            logins(x),
            if x == 1 { "expires" } else { "expire" }
        ),
        (e, x) => format!(
            "{} in the auth files {} expired and {x} more expire within {within}",
            logins(e),
            if e == 1 { "has" } else { "have" }
        ),
    }
}

impl StatusError {
    fn help(&self) -> Vec<String> {
        let mut h = vec![
            "log in again with `ecr-login login` (the same settings as before); to keep the logins fresh on a build host or in a long job, run `ecr-login login --watch`, or use a credential helper (README: \"Long jobs and build hosts\")".into(),
        ];
        for f in &self.shadowing {
            h.push(format!(
                "Podman, Buildah and skopeo read {} before Docker's config.json, so its entries win over the ones there: `ecr-login login` keeps it in step from now on; an entry you no longer want goes with `podman logout --authfile {} <registry>`",
                f.display(),
                f.display()
            ));
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_class_is_listed_and_follows_the_exit_code() {
        let aws = |e: AwsError| Error::from(e);
        let cases: Vec<(Error, &str)> = vec![
            (UsageError::NoRegion.into(), "usage"),
            (
                TokenError::Empty {
                    source_desc: "x".into(),
                }
                .into(),
                "id_token",
            ),
            (
                aws(AwsError::AssumeRoleDenied {
                    role_arn: "r".into(),
                    platform: "p".into(),
                    code: "AccessDenied".into(),
                    message: "m".into(),
                    claims: Box::default(),
                }),
                "sts_denied",
            ),
            (
                aws(AwsError::AssumeRoleWithCredsDenied {
                    role_arn: "r".into(),
                    code: "c".into(),
                    message: "m".into(),
                }),
                "sts_denied",
            ),
            (
                aws(AwsError::NoCredentials { reason: "r".into() }),
                "no_credentials",
            ),
            (
                aws(AwsError::EcrDenied {
                    region: "r".into(),
                    code: "c".into(),
                    message: "m".into(),
                    identity: None,
                }),
                "ecr_denied",
            ),
            (
                aws(AwsError::AccountNotAllowed {
                    arn: "a".into(),
                    account: "1".into(),
                    allowed: "2".into(),
                }),
                "account_not_allowed",
            ),
            (
                aws(AwsError::Failed {
                    service: "s".into(),
                    operation: "o".into(),
                    code: "c".into(),
                    message: "m".into(),
                }),
                "aws_failed",
            ),
            (
                aws(AwsError::Unreachable {
                    service: "s".into(),
                    operation: "o".into(),
                    reason: "r".into(),
                }),
                "network",
            ),
            (AuthFileError::NoHome.into(), "auth_file"),
            (
                HandoffError {
                    what: "--env-file",
                    path: PathBuf::from("x"),
                    source: std::io::Error::other("x"),
                }
                .into(),
                "handoff",
            ),
            (
                StatusError {
                    expired: 1,
                    expiring: 0,
                    within: "1h".into(),
                    shadowing: Vec::new(),
                }
                .into(),
                "not_valid",
            ),
            (Error::Internal("x".into()), "internal"),
        ];
        let mut seen = Vec::new();
        for (e, class) in &cases {
            assert_eq!(e.class().name(), *class, "{e}");
            assert!(
                ErrorClass::ALL.contains(&e.class()),
                "{class} is not listed"
            );
            seen.push(e.class());
        }
        for class in ErrorClass::ALL {
            assert!(
                seen.contains(&class),
                "no error has the class {}",
                class.name()
            );
        }
        let names: std::collections::BTreeSet<&str> =
            ErrorClass::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(
            names.len(),
            ErrorClass::ALL.len(),
            "two classes share a name"
        );
    }

    /// Every error variant as a user reads it (message, causes, help), with its exit code and
    /// class: the messages read at 2 AM are reviewed as a whole when they change
    /// (`cargo insta review`, or `INSTA_UPDATE=always cargo test` then `git diff`).
    #[test]
    fn every_error_as_the_user_reads_it() {
        let io = || std::io::Error::new(std::io::ErrorKind::PermissionDenied, "Permission denied");
        let arn = "arn:aws:sts::123456789012:assumed-role/ci/gh-1";
        let role = "arn:aws:iam::123456789012:role/ci";
        let claims = ClaimsSummary {
            iss: Some("https://token.actions.githubusercontent.com".into()),
            aud: vec!["sts.amazonaws.com".into()],
            sub: Some("repo:acme/app:ref:refs/heads/main".into()),
            exp: None,
        };
        let errors: Vec<Error> = vec![
            UsageError::RoleArn {
                arn: "arn:aws:iam::1:role".into(),
            }
            .into(),
            UsageError::NoRegion.into(),
            UsageError::UnknownRegion {
                region: "us-east-9".into(),
                suggestion: Some("us-east-1".into()),
            }
            .into(),
            UsageError::Registry {
                input: "docker.io".into(),
                reason: "it is not an ECR host".into(),
            }
            .into(),
            UsageError::SessionName {
                name: "has space".into(),
            }
            .into(),
            UsageError::Duration(60).into(),
            UsageError::Platform {
                name: "travis".into(),
                known: "github-actions, gitlab-ci".into(),
            }
            .into(),
            UsageError::AmbiguousPlatform(vec!["github-actions".into(), "gitlab-ci".into()]).into(),
            UsageError::SessionPolicy {
                reason: "expected value at line 1".into(),
            }
            .into(),
            UsageError::Other("--cache-margin \"x\" is not a duration".into()).into(),
            TokenError::NotProvided {
                platform: "GitHub Actions".into(),
                tried: "ACTIONS_ID_TOKEN_REQUEST_URL is not set".into(),
                help: vec!["add `permissions: id-token: write` to the job".into()],
            }
            .into(),
            TokenError::Command {
                program: "buildkite-agent".into(),
                reason: "exit status 1".into(),
            }
            .into(),
            TokenError::Http {
                url: "https://token.example/t".into(),
                status: 403,
                body: "forbidden".into(),
            }
            .into(),
            TokenError::Unreachable {
                url: "https://token.example/t".into(),
                reason: "connection refused".into(),
            }
            .into(),
            TokenError::BadResponse {
                url: "https://token.example/t".into(),
                reason: "no \"value\"".into(),
            }
            .into(),
            TokenError::Empty {
                source_desc: "GITLAB_OIDC_TOKEN".into(),
            }
            .into(),
            TokenError::File {
                path: "/var/run/token".into(),
                source: io(),
            }
            .into(),
            TokenError::NotAJwt {
                source_desc: "file /var/run/token".into(),
                found: "12 characters, no dots".into(),
            }
            .into(),
            AwsError::AssumeRoleDenied {
                role_arn: role.into(),
                platform: "GitHub Actions".into(),
                code: "AccessDenied".into(),
                message: "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
                claims: Box::new(claims),
            }
            .into(),
            AwsError::AssumeRoleWithCredsDenied {
                role_arn: role.into(),
                code: "AccessDenied".into(),
                message: "not authorized".into(),
            }
            .into(),
            AwsError::NoCredentials {
                reason: "no provider in the chain gave any".into(),
            }
            .into(),
            AwsError::EcrDenied {
                region: "eu-west-1".into(),
                code: "AccessDeniedException".into(),
                message: "not authorized to perform: ecr:GetAuthorizationToken".into(),
                identity: Some(arn.into()),
            }
            .into(),
            AwsError::Failed {
                service: "ECR".into(),
                operation: "GetAuthorizationToken".into(),
                code: "ServiceUnavailable".into(),
                message: "try later".into(),
            }
            .into(),
            AwsError::Unreachable {
                service: "STS".into(),
                operation: "AssumeRoleWithWebIdentity".into(),
                reason: "timed out".into(),
            }
            .into(),
            AwsError::AccountNotAllowed {
                arn: arn.into(),
                account: "123456789012".into(),
                allowed: "999999999999".into(),
            }
            .into(),
            AuthFileError::Read {
                path: "/home/u/.docker/config.json".into(),
                source: io(),
            }
            .into(),
            AuthFileError::Parse {
                path: "/home/u/.docker/config.json".into(),
                reason: "expected `,` at line 3".into(),
            }
            .into(),
            AuthFileError::NotAConfig {
                path: "/home/u/.docker/config.json".into(),
                what: "a directory, not a file".into(),
            }
            .into(),
            AuthFileError::Write {
                path: "/home/u/.docker/config.json".into(),
                source: io(),
            }
            .into(),
            AuthFileError::Lock {
                path: "/home/u/.docker/config.json.lock".into(),
                reason: "another process has held it for over 60 s".into(),
            }
            .into(),
            AuthFileError::Helper {
                helper: "desktop".into(),
                action: "store".into(),
                registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com".into(),
                reason: "exit status 1".into(),
            }
            .into(),
            AuthFileError::HelperProgram {
                found: Some("/usr/bin/docker-credential-ecr-login".into()),
                exe: "/usr/local/bin/ecr-login".into(),
            }
            .into(),
            AuthFileError::HelperProgram {
                found: None,
                exe: "/usr/local/bin/ecr-login".into(),
            }
            .into(),
            AuthFileError::ForeignEcrHelper {
                registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com".into(),
                config: "/home/u/.docker/config.json".into(),
            }
            .into(),
            AuthFileError::NoHome.into(),
            HandoffError {
                what: "GITHUB_OUTPUT",
                path: "/runner/output".into(),
                source: io(),
            }
            .into(),
            StatusError {
                expired: 1,
                expiring: 1,
                within: "1h".into(),
                shadowing: vec!["/run/containers/0/auth.json".into()],
            }
            .into(),
            Error::Internal("the async runtime did not start".into()),
        ];
        let text: String = errors
            .iter()
            .map(|e| {
                format!(
                    "[exit {}, class {}]\n{}",
                    e.exit_code(),
                    e.class().name(),
                    crate::output::error_text(e)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        insta::assert_snapshot!(text);
    }
}
