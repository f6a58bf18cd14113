//! The claims of an OIDC token that IAM trust policies are matched against, as ecr-login
//! shows them (next to an STS refusal, in `doctor`, in `policy`): a leaf that the error types
//! and the token code both use, importing nothing of ours.

/// An issuer URL as IAM names it in provider ARNs and condition keys: without the scheme and
/// the trailing `/`.
pub(crate) fn issuer_host(issuer: &str) -> String {
    issuer
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// The claims of an OIDC token that a trust policy is matched against, shown next to STS
/// refusals. Decoded without verification: only for explaining.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClaimsSummary {
    pub iss: Option<String>,
    pub aud: Vec<String>,
    pub sub: Option<String>,
    /// Expiry, Unix seconds.
    pub exp: Option<i64>,
}

impl ClaimsSummary {
    /// The issuer as IAM names it in condition keys: without `https://`.
    pub(crate) fn issuer_host(&self) -> Option<String> {
        self.iss.as_deref().map(issuer_host)
    }

    /// The claims, and the trust-policy condition keys they must match (no token in them).
    pub(crate) fn lines(&self) -> Vec<String> {
        let none = || "(absent)".to_string();
        let mut lines = vec![format!(
            "the token's claims: iss={} aud={} sub={}",
            self.iss.clone().unwrap_or_else(none),
            if self.aud.is_empty() {
                none()
            } else {
                self.aud.join(",")
            },
            self.sub.clone().unwrap_or_else(none)
        )];
        if let Some(host) = self.issuer_host() {
            lines.push(format!(
                "the role's trust policy must allow them: Federated principal arn:aws:iam::<account-id>:oidc-provider/{host}, condition StringEquals \"{host}:aud\": \"{}\" and StringLike \"{host}:sub\" matching \"{}\"",
                self.aud.first().cloned().unwrap_or_default(),
                self.sub.clone().unwrap_or_default()
            ));
        }
        lines
    }
}
