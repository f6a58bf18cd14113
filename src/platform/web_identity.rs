//! The generic web identity: a token file plus a role, as EKS IRSA sets them
//! (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`), and as any platform can be wired by hand.
//! The file is read on every use, since the kubelet rotates it.

use std::path::PathBuf;

use futures::future::BoxFuture;

use super::Platform;
use crate::env::Env;
use crate::error::TokenError;
use crate::id_token::IdToken;

pub struct WebIdentity {
    path: Option<PathBuf>,
}

impl WebIdentity {
    pub const NAME: &'static str = "web-identity";

    pub fn new(path: Option<PathBuf>) -> Self {
        WebIdentity { path }
    }

    pub fn detect(env: &Env) -> Option<Box<dyn Platform>> {
        let path = env.get("AWS_WEB_IDENTITY_TOKEN_FILE")?;
        env.get("AWS_ROLE_ARN")?;
        Some(Box::new(WebIdentity::new(Some(PathBuf::from(path)))))
    }
}

/// Reads a token file: it must exist and hold a non-empty token.
pub fn read_token_file(path: &PathBuf) -> Result<IdToken, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|e| TokenError::File {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if text.trim().is_empty() {
        return Err(TokenError::Empty {
            source_desc: format!("file {}", path.display()),
        });
    }
    Ok(IdToken::new(text, format!("file {}", path.display())))
}

impl Platform for WebIdentity {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn id_token<'a>(
        &'a self,
        _audience: &'a str,
    ) -> BoxFuture<'a, Result<Option<IdToken>, TokenError>> {
        Box::pin(async move { self.path.as_ref().map(read_token_file).transpose() })
    }
}
