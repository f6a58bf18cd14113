//! Every environment variable name ecr-login reads or writes, in one place (as uv's `EnvVars`):
//! `cli.rs` names them in `env = ...`, the platforms read them from the [`crate::env::Env`]
//! snapshot, and a typo becomes a compile error instead of a silently unset setting.

/// The names, as associated constants so that clap's derive attributes can use them.
pub(crate) struct EnvVars;

impl EnvVars {
    // --- ecr-login's own settings -------------------------------------------------------------
    pub(crate) const ECR_LOGIN_PLATFORM: &'static str = "ECR_LOGIN_PLATFORM";
    pub(crate) const ECR_LOGIN_AUDIENCE: &'static str = "ECR_LOGIN_AUDIENCE";
    pub(crate) const ECR_LOGIN_ID_TOKEN_ENV: &'static str = "ECR_LOGIN_ID_TOKEN_ENV";
    pub(crate) const ECR_LOGIN_ROLE_DURATION_SECONDS: &'static str =
        "ECR_LOGIN_ROLE_DURATION_SECONDS";
    pub(crate) const ECR_LOGIN_INLINE_SESSION_POLICY: &'static str =
        "ECR_LOGIN_INLINE_SESSION_POLICY";
    pub(crate) const ECR_LOGIN_MANAGED_SESSION_POLICIES: &'static str =
        "ECR_LOGIN_MANAGED_SESSION_POLICIES";
    pub(crate) const ECR_LOGIN_ROLE_CHAINING: &'static str = "ECR_LOGIN_ROLE_CHAINING";
    pub(crate) const ECR_LOGIN_CHAIN_ROLE_ARN: &'static str = "ECR_LOGIN_CHAIN_ROLE_ARN";
    pub(crate) const ECR_LOGIN_ROLE_EXTERNAL_ID: &'static str = "ECR_LOGIN_ROLE_EXTERNAL_ID";
    pub(crate) const ECR_LOGIN_ALLOWED_ACCOUNT_IDS: &'static str = "ECR_LOGIN_ALLOWED_ACCOUNT_IDS";
    pub(crate) const ECR_LOGIN_REGISTRIES: &'static str = "ECR_LOGIN_REGISTRIES";
    pub(crate) const ECR_LOGIN_ALLOW_UNKNOWN_REGION: &'static str =
        "ECR_LOGIN_ALLOW_UNKNOWN_REGION";
    pub(crate) const ECR_LOGIN_DUAL_STACK: &'static str = "ECR_LOGIN_DUAL_STACK";
    pub(crate) const ECR_LOGIN_ENV_FILE: &'static str = "ECR_LOGIN_ENV_FILE";
    pub(crate) const ECR_LOGIN_OUTPUT_CREDENTIALS: &'static str = "ECR_LOGIN_OUTPUT_CREDENTIALS";
    pub(crate) const ECR_LOGIN_OUTPUT: &'static str = "ECR_LOGIN_OUTPUT";
    pub(crate) const ECR_LOGIN_QUIET: &'static str = "ECR_LOGIN_QUIET";
    pub(crate) const ECR_LOGIN_LOG: &'static str = "ECR_LOGIN_LOG";
    pub(crate) const ECR_LOGIN_ACCOUNT: &'static str = "ECR_LOGIN_ACCOUNT";
    pub(crate) const ECR_LOGIN_NO_CACHE: &'static str = "ECR_LOGIN_NO_CACHE";
    pub(crate) const ECR_LOGIN_CACHE_DIR: &'static str = "ECR_LOGIN_CACHE_DIR";
    pub(crate) const ECR_LOGIN_CACHE_MARGIN: &'static str = "ECR_LOGIN_CACHE_MARGIN";
    pub(crate) const ECR_LOGIN_CACHE: &'static str = "ECR_LOGIN_CACHE";
    /// The fleet cache's key (a secret: read from the environment only, never a flag).
    pub(crate) const ECR_LOGIN_CACHE_KEY: &'static str = "ECR_LOGIN_CACHE_KEY";
    pub(crate) const ECR_LOGIN_CACHE_KEY_FILE: &'static str = "ECR_LOGIN_CACHE_KEY_FILE";
    pub(crate) const ECR_LOGIN_CONFIG: &'static str = "ECR_LOGIN_CONFIG";
    pub(crate) const ECR_LOGIN_MODE: &'static str = "ECR_LOGIN_MODE";
    pub(crate) const ECR_LOGIN_ISSUER: &'static str = "ECR_LOGIN_ISSUER";
    pub(crate) const ECR_LOGIN_AUTH_FILE: &'static str = "ECR_LOGIN_AUTH_FILE";
    pub(crate) const ECR_LOGIN_WATCH: &'static str = "ECR_LOGIN_WATCH";
    pub(crate) const ECR_LOGIN_STATUS_WITHIN: &'static str = "ECR_LOGIN_STATUS_WITHIN";
    /// One of the names GitLab's `id_tokens:` may use (ours).
    pub(crate) const ECR_LOGIN_ID_TOKEN: &'static str = "ECR_LOGIN_ID_TOKEN";
    pub(crate) const ECR_LOGIN_AUDIT_LOG: &'static str = "ECR_LOGIN_AUDIT_LOG";
    pub(crate) const ECR_LOGIN_METRICS_FILE: &'static str = "ECR_LOGIN_METRICS_FILE";
    pub(crate) const ECR_LOGIN_NOTIFY_WEBHOOK: &'static str = "ECR_LOGIN_NOTIFY_WEBHOOK";
    // Written for later steps (the hand-off); never read as settings.
    pub(crate) const ECR_LOGIN_REGISTRY: &'static str = "ECR_LOGIN_REGISTRY";
    pub(crate) const ECR_LOGIN_REGISTRY_HOSTS: &'static str = "ECR_LOGIN_REGISTRY_HOSTS";

    // --- the AWS SDK's (read by us as well as by the SDK) -------------------------------------
    pub(crate) const AWS_ROLE_ARN: &'static str = "AWS_ROLE_ARN";
    pub(crate) const AWS_ROLE_SESSION_NAME: &'static str = "AWS_ROLE_SESSION_NAME";
    pub(crate) const AWS_WEB_IDENTITY_TOKEN_FILE: &'static str = "AWS_WEB_IDENTITY_TOKEN_FILE";
    pub(crate) const AWS_REGION: &'static str = "AWS_REGION";
    pub(crate) const AWS_DEFAULT_REGION: &'static str = "AWS_DEFAULT_REGION";
    pub(crate) const AWS_ACCESS_KEY_ID: &'static str = "AWS_ACCESS_KEY_ID";
    pub(crate) const AWS_SECRET_ACCESS_KEY: &'static str = "AWS_SECRET_ACCESS_KEY";
    pub(crate) const AWS_SESSION_TOKEN: &'static str = "AWS_SESSION_TOKEN";
    pub(crate) const AWS_SHARED_CREDENTIALS_FILE: &'static str = "AWS_SHARED_CREDENTIALS_FILE";
    pub(crate) const AWS_CONFIG_FILE: &'static str = "AWS_CONFIG_FILE";
    pub(crate) const AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: &'static str =
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
    pub(crate) const AWS_EC2_METADATA_SERVICE_ENDPOINT: &'static str =
        "AWS_EC2_METADATA_SERVICE_ENDPOINT";
    pub(crate) const AWS_EC2_METADATA_DISABLED: &'static str = "AWS_EC2_METADATA_DISABLED";
    pub(crate) const AWS_PROFILE: &'static str = "AWS_PROFILE";
    pub(crate) const AWS_DEFAULT_PROFILE: &'static str = "AWS_DEFAULT_PROFILE";
    pub(crate) const AWS_CONTAINER_CREDENTIALS_FULL_URI: &'static str =
        "AWS_CONTAINER_CREDENTIALS_FULL_URI";
    pub(crate) const AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: &'static str =
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
    pub(crate) const AWS_USE_DUALSTACK_ENDPOINT: &'static str = "AWS_USE_DUALSTACK_ENDPOINT";
    pub(crate) const AWS_ENDPOINT_URL: &'static str = "AWS_ENDPOINT_URL";
    pub(crate) const AWS_ENDPOINT_URL_ECR: &'static str = "AWS_ENDPOINT_URL_ECR";
    pub(crate) const AWS_ENDPOINT_URL_STS: &'static str = "AWS_ENDPOINT_URL_STS";
    pub(crate) const AWS_ENDPOINT_URL_ECR_PUBLIC: &'static str = "AWS_ENDPOINT_URL_ECR_PUBLIC";
    /// The kubelet credential provider's role for service account tokens (as EKS names it).
    pub(crate) const AWS_ECR_ROLE_ARN: &'static str = "AWS_ECR_ROLE_ARN";
    // amazon-ecr-credential-helper's settings, honoured by the credential helper.
    pub(crate) const AWS_ECR_DISABLE_CACHE: &'static str = "AWS_ECR_DISABLE_CACHE";
    pub(crate) const AWS_ECR_CACHE_DIR: &'static str = "AWS_ECR_CACHE_DIR";
    pub(crate) const AWS_ECR_IGNORE_CREDS_STORAGE: &'static str = "AWS_ECR_IGNORE_CREDS_STORAGE";

    // --- the system's ---------------------------------------------------------------------------
    pub(crate) const HOME: &'static str = "HOME";
    pub(crate) const PATH: &'static str = "PATH";
    pub(crate) const HOSTNAME: &'static str = "HOSTNAME";
    pub(crate) const DOCKER_CONFIG: &'static str = "DOCKER_CONFIG";
    pub(crate) const XDG_CACHE_HOME: &'static str = "XDG_CACHE_HOME";
    pub(crate) const XDG_CONFIG_HOME: &'static str = "XDG_CONFIG_HOME";
    pub(crate) const HTTPS_PROXY: &'static str = "HTTPS_PROXY";
    pub(crate) const HTTP_PROXY: &'static str = "HTTP_PROXY";
    pub(crate) const ALL_PROXY: &'static str = "ALL_PROXY";
    /// A CA bundle to trust instead of the system's (OpenSSL's and rustls-native-certs' name).
    pub(crate) const SSL_CERT_FILE: &'static str = "SSL_CERT_FILE";
    pub(crate) const SSL_CERT_DIR: &'static str = "SSL_CERT_DIR";
    pub(crate) const NO_PROXY: &'static str = "NO_PROXY";
    /// The per-user runtime directory: Podman's primary auth file is `containers/auth.json` in it.
    pub(crate) const XDG_RUNTIME_DIR: &'static str = "XDG_RUNTIME_DIR";
    /// Podman, Buildah and skopeo read this auth file (and only this one) when it is set.
    pub(crate) const REGISTRY_AUTH_FILE: &'static str = "REGISTRY_AUTH_FILE";

    // --- GitHub Actions -------------------------------------------------------------------------
    pub(crate) const GITHUB_ACTIONS: &'static str = "GITHUB_ACTIONS";
    pub(crate) const ACTIONS_ID_TOKEN_REQUEST_URL: &'static str = "ACTIONS_ID_TOKEN_REQUEST_URL";
    pub(crate) const ACTIONS_ID_TOKEN_REQUEST_TOKEN: &'static str =
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
    pub(crate) const GITHUB_OUTPUT: &'static str = "GITHUB_OUTPUT";
    pub(crate) const GITHUB_STATE: &'static str = "GITHUB_STATE";
    pub(crate) const GITHUB_REPOSITORY: &'static str = "GITHUB_REPOSITORY";
    pub(crate) const GITHUB_RUN_ID: &'static str = "GITHUB_RUN_ID";
    pub(crate) const GITHUB_RUN_ATTEMPT: &'static str = "GITHUB_RUN_ATTEMPT";
    pub(crate) const GITHUB_REF: &'static str = "GITHUB_REF";
    pub(crate) const GITHUB_WORKFLOW_REF: &'static str = "GITHUB_WORKFLOW_REF";
    /// `https://github.com`, or a GitHub Enterprise Server's URL (for the job's page).
    pub(crate) const GITHUB_SERVER_URL: &'static str = "GITHUB_SERVER_URL";
    /// The job's own temporary directory, emptied after the job.
    pub(crate) const RUNNER_TEMP: &'static str = "RUNNER_TEMP";

    // --- GitLab CI ------------------------------------------------------------------------------
    pub(crate) const GITLAB_CI: &'static str = "GITLAB_CI";
    pub(crate) const GITLAB_OIDC_TOKEN: &'static str = "GITLAB_OIDC_TOKEN";
    pub(crate) const CI_SERVER_URL: &'static str = "CI_SERVER_URL";
    pub(crate) const CI_PROJECT_PATH: &'static str = "CI_PROJECT_PATH";
    pub(crate) const CI_PIPELINE_ID: &'static str = "CI_PIPELINE_ID";
    pub(crate) const CI_JOB_ID: &'static str = "CI_JOB_ID";
    pub(crate) const CI_COMMIT_REF_NAME: &'static str = "CI_COMMIT_REF_NAME";
    pub(crate) const CI_COMMIT_TAG: &'static str = "CI_COMMIT_TAG";
    pub(crate) const CI_JOB_URL: &'static str = "CI_JOB_URL";

    // --- CircleCI -------------------------------------------------------------------------------
    pub(crate) const CIRCLECI: &'static str = "CIRCLECI";
    pub(crate) const CIRCLE_OIDC_TOKEN_V2: &'static str = "CIRCLE_OIDC_TOKEN_V2";
    pub(crate) const CIRCLE_OIDC_TOKEN: &'static str = "CIRCLE_OIDC_TOKEN";
    pub(crate) const CIRCLE_PROJECT_REPONAME: &'static str = "CIRCLE_PROJECT_REPONAME";
    pub(crate) const CIRCLE_BUILD_NUM: &'static str = "CIRCLE_BUILD_NUM";
    pub(crate) const CIRCLE_BUILD_URL: &'static str = "CIRCLE_BUILD_URL";
    pub(crate) const BASH_ENV: &'static str = "BASH_ENV";

    // --- Jenkins --------------------------------------------------------------------------------
    pub(crate) const JENKINS_URL: &'static str = "JENKINS_URL";
    pub(crate) const JOB_NAME: &'static str = "JOB_NAME";
    pub(crate) const JOB_URL: &'static str = "JOB_URL";
    pub(crate) const BUILD_NUMBER: &'static str = "BUILD_NUMBER";
    pub(crate) const BUILD_URL: &'static str = "BUILD_URL";
    /// The build's temporary directory beside its workspace.
    pub(crate) const WORKSPACE_TMP: &'static str = "WORKSPACE_TMP";

    // --- Buildkite ------------------------------------------------------------------------------
    pub(crate) const BUILDKITE: &'static str = "BUILDKITE";
    pub(crate) const BUILDKITE_ORGANIZATION_SLUG: &'static str = "BUILDKITE_ORGANIZATION_SLUG";
    pub(crate) const BUILDKITE_PIPELINE_SLUG: &'static str = "BUILDKITE_PIPELINE_SLUG";
    pub(crate) const BUILDKITE_BUILD_NUMBER: &'static str = "BUILDKITE_BUILD_NUMBER";
    pub(crate) const BUILDKITE_BRANCH: &'static str = "BUILDKITE_BRANCH";
    pub(crate) const BUILDKITE_BUILD_URL: &'static str = "BUILDKITE_BUILD_URL";

    // --- Bitbucket Pipelines --------------------------------------------------------------------
    pub(crate) const BITBUCKET_BUILD_NUMBER: &'static str = "BITBUCKET_BUILD_NUMBER";
    pub(crate) const BITBUCKET_STEP_OIDC_TOKEN: &'static str = "BITBUCKET_STEP_OIDC_TOKEN";
    pub(crate) const BITBUCKET_REPO_SLUG: &'static str = "BITBUCKET_REPO_SLUG";
    pub(crate) const BITBUCKET_REPO_UUID: &'static str = "BITBUCKET_REPO_UUID";
    pub(crate) const BITBUCKET_WORKSPACE: &'static str = "BITBUCKET_WORKSPACE";
}
