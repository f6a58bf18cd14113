//! `ecr-login login`: CI identity -> role -> ECR tokens -> auth file, in one process.
//! Wires `platform/`, `aws/` and `docker/` together; holds no logic of its own beyond the order
//! of steps and the choice of identity.

use std::time::SystemTime;

use aws_credential_types::Credentials;

use crate::aws::{self, ecr::RegistryToken, registry::Registry, sts};
use crate::config::LoginConfig;
use crate::docker;
use crate::env::Env;
use crate::error::{Error, TokenError};
use crate::output::Printer;
use crate::platform::{self, Handoff, Platform};

/// Runs the login and prints its result.
pub async fn run(cfg: &LoginConfig, env: &Env, printer: &Printer) -> Result<(), Error> {
    let platform = platform::select(env, cfg.platform.as_deref(), &cfg.platform_options)?;
    // Before any secret exists, so that every one of them is masked as soon as it is seen.
    platform.install_masking();
    tracing::info!("platform: {}", platform.name());

    let sts_region = cfg
        .region
        .clone()
        .or_else(|| {
            cfg.registries.iter().find_map(|r| match r {
                Registry::Private { region, .. } => Some(region.clone()),
                Registry::Public { .. } => None,
            })
        })
        .unwrap_or_else(|| "us-east-1".to_string());
    let sdk = aws::sdk_config(&sts_region).await;

    let (credentials, identity) = identity(cfg, env, platform.as_ref(), &sdk).await?;
    if let Some(arn) = &identity {
        tracing::info!("assumed {arn}");
    }

    let tokens = aws::ecr::tokens(
        &sdk,
        Some(&credentials),
        &cfg.registries,
        cfg.region.as_deref(),
        identity.as_deref(),
    )
    .await?;

    let logins: Vec<docker::Login<'_>> = tokens
        .iter()
        .map(|t| docker::Login {
            host: &t.host,
            username: &t.username,
            password: &t.password,
        })
        .collect();
    docker::config::store_logins(&cfg.docker_config, &logins)?;

    platform.hand_off(&Handoff {
        registries: tokens.iter().map(|t| t.host.as_str()).collect(),
        credentials: cfg.output_credentials.then(|| {
            tokens
                .iter()
                .map(|t| (t.host.as_str(), t.username.as_str(), &t.password))
                .collect()
        }),
    })?;

    report(cfg, platform.name(), identity.as_deref(), &tokens, printer);
    Ok(())
}

/// Picks the identity: `--role-arn` with the platform's token (or a token file), or
/// `--role-arn` with the credential chain (sts:AssumeRole), or the credential chain alone.
async fn identity(
    cfg: &LoginConfig,
    env: &Env,
    platform: &dyn Platform,
    sdk: &aws_config::SdkConfig,
) -> Result<(Credentials, Option<String>), Error> {
    let Some(role_arn) = cfg.role_arn.as_deref() else {
        tracing::info!("no --role-arn: using the AWS credential chain");
        let creds = sts::chain_credentials(sdk).await?;
        return Ok((creds, None));
    };

    let token_file = cfg.platform_options.token_file.as_ref();
    let token = match platform.id_token(cfg.audience.as_deref()).await {
        Ok(Some(t)) => Some(t),
        Ok(None) => token_file.map(platform::read_token_file).transpose()?,
        // The platform has no token in this job, but the user gave another way in.
        Err(TokenError::NotProvided { .. }) if token_file.is_some() => {
            token_file.map(platform::read_token_file).transpose()?
        }
        Err(TokenError::NotProvided { .. }) if env.get("AWS_ACCESS_KEY_ID").is_some() => None,
        Err(e) => return Err(e.into()),
    };

    let session_name = cfg
        .session_name
        .clone()
        .or_else(|| {
            platform
                .session_name()
                .map(|n| platform::sanitize_session_name(&n))
        })
        .unwrap_or_else(|| {
            let secs = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            format!("ecr-login-{secs}")
        });
    let role = sts::RoleRequest {
        role_arn,
        session_name: &session_name,
        duration_seconds: cfg.duration_seconds,
    };
    let assumed = match token {
        Some(token) => {
            tracing::info!(
                "assuming {role_arn} as session {session_name} with the token from {}",
                token.source
            );
            sts::assume_role_with_web_identity(sdk, &role, &token, platform.name()).await?
        }
        None => {
            tracing::info!("assuming {role_arn} with the AWS credential chain");
            sts::chain_credentials(sdk).await?;
            sts::assume_role(sdk, &role).await?
        }
    };
    Ok((assumed.credentials, assumed.arn))
}

fn rfc3339(t: SystemTime) -> String {
    aws_smithy_types::DateTime::from(t)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

fn report(
    cfg: &LoginConfig,
    platform: &str,
    identity: Option<&str>,
    tokens: &[RegistryToken],
    printer: &Printer,
) {
    let config_file = docker::config::config_path(&cfg.docker_config);
    for t in tokens {
        let expiry = t
            .expires_at
            .map(|e| format!(" (token expires {})", rfc3339(e)))
            .unwrap_or_default();
        printer.line(&format!("Logged in to {}{expiry}", t.host));
    }
    if let Some(id) = identity {
        printer.line(&format!("  as {id}"));
    }
    printer.line(&format!("  auth file: {}", config_file.display()));
    printer.json(&serde_json::json!({
        "platform": platform,
        "identity": identity,
        "auth_file": config_file,
        "registries": tokens.iter().map(|t| serde_json::json!({
            "registry": t.host,
            "region": t.region,
            "username": t.username,
            "expires_at": t.expires_at.map(rfc3339),
        })).collect::<Vec<_>>(),
    }));
}
