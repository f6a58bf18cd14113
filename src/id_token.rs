//! An OIDC identity token from a CI platform (or a token file), and the claims that IAM trust
//! policies are matched against.
//!
//! The claims are decoded without verifying the signature: STS verifies it; we only decode to
//! explain a refusal (which `iss`, `aud` and `sub` the role was asked to trust).

use std::path::{Path, PathBuf};

use base64::Engine;

use crate::error::{ClaimsSummary, TokenError};
use crate::secret::Secret;

/// Where an identity token comes from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// A token already in hand: an environment variable, standard input.
    Value(IdToken),
    /// A token file, read each time it is needed (EKS and Jenkins rotate it).
    File(PathBuf),
    /// The CI platform's token service (`Platform::fetch_token`), asked for `audience`.
    /// `hint`: the job identity the token will state, known without fetching it.
    Platform {
        audience: Option<String>,
        hint: Option<String>,
    },
}

impl TokenSource {
    /// The token's claims when they can be had without a network call (a value or a file).
    pub fn local_claims(&self) -> Option<ClaimsSummary> {
        match self {
            TokenSource::Value(t) => Some(t.claims()),
            TokenSource::File(p) => read_token_file(p).ok().map(|t| t.claims()),
            TokenSource::Platform { .. } => None,
        }
    }
}

/// Reads a token file: it must exist and hold a non-empty token.
pub fn read_token_file(path: &Path) -> Result<IdToken, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|e| TokenError::File {
        path: path.to_path_buf(),
        source: e,
    })?;
    if text.trim().is_empty() {
        return Err(TokenError::Empty {
            source_desc: format!("file {}", path.display()),
        });
    }
    Ok(IdToken::new(text, format!("file {}", path.display())))
}

/// An issuer URL as IAM names it in provider ARNs and condition keys: without the scheme and
/// the trailing `/`.
pub fn issuer_host(issuer: &str) -> String {
    issuer
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// A JWT and where it came from (for messages: "GitHub Actions token endpoint", a file path).
#[derive(Debug, Clone)]
pub struct IdToken {
    pub jwt: Secret,
    pub source: String,
}

impl IdToken {
    pub fn new(jwt: impl Into<String>, source: impl Into<String>) -> Self {
        IdToken {
            jwt: Secret::new(jwt.into().trim().to_string()),
            source: source.into(),
        }
    }

    /// `iss`, `aud` and `sub` as the token states them; empty when it is not a readable JWT.
    pub fn claims(&self) -> ClaimsSummary {
        decode_claims(self.jwt.expose()).unwrap_or_default()
    }
}

fn decode_claims(jwt: &str) -> Option<ClaimsSummary> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let text = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let aud = match value.get("aud") {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    Some(ClaimsSummary {
        iss: text("iss"),
        aud,
        sub: text("sub"),
        exp: value.get("exp").and_then(serde_json::Value::as_i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(payload))
    }

    #[test]
    fn decodes_iss_aud_sub() {
        let t = IdToken::new(
            jwt(
                r#"{"iss":"https://token.actions.githubusercontent.com","aud":"sts.amazonaws.com","sub":"repo:o/r:ref:refs/heads/main"}"#,
            ),
            "test",
        );
        let c = t.claims();
        assert_eq!(
            c.iss.as_deref(),
            Some("https://token.actions.githubusercontent.com")
        );
        assert_eq!(c.aud, ["sts.amazonaws.com"]);
        assert_eq!(c.sub.as_deref(), Some("repo:o/r:ref:refs/heads/main"));
        assert_eq!(
            c.issuer_host().as_deref(),
            Some("token.actions.githubusercontent.com")
        );
    }

    #[test]
    fn aud_may_be_a_list() {
        let t = IdToken::new(jwt(r#"{"aud":["a","b"]}"#), "test");
        assert_eq!(t.claims().aud, ["a", "b"]);
    }

    #[test]
    fn garbage_gives_empty_claims() {
        let t = IdToken::new("not-a-jwt-at-all", "test");
        assert!(t.claims().iss.is_none());
    }
}
