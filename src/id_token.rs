//! An OIDC identity token from a CI platform (or a token file), and the claims that IAM trust
//! policies are matched against.
//!
//! The claims are decoded without verifying the signature: STS verifies it; we only decode to
//! explain a refusal (which `iss`, `aud` and `sub` the role was asked to trust).

use std::path::{Path, PathBuf};

use base64::Engine;

use crate::claims::ClaimsSummary;
use crate::error::TokenError;
use crate::secret::Secret;

/// Where an identity token comes from.
#[derive(Debug, Clone)]
pub(crate) enum TokenSource {
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
    pub(crate) fn local_claims(&self) -> Option<ClaimsSummary> {
        match self {
            TokenSource::Value(t) => Some(t.claims()),
            TokenSource::File(p) => read_token_file(p).ok().map(|t| t.claims()),
            TokenSource::Platform { .. } => None,
        }
    }
}

/// The longest web identity token STS accepts (AssumeRoleWithWebIdentity's limit).
pub(crate) const MAX_JWT_LEN: usize = 20_000;

/// Reads a token file: it must exist and hold a non-empty token that looks like a JWT (see
/// [`IdToken::check_jwt`]). Reads a little more than a token can be and no further, so a huge
/// file (or a device) costs nothing.
pub(crate) fn read_token_file(path: &Path) -> Result<IdToken, TokenError> {
    use std::io::Read;
    const CAP: usize = 4 * MAX_JWT_LEN;
    let source_desc = format!("file {}", path.display());
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(CAP as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| TokenError::File {
            path: path.to_path_buf(),
            source: e,
        })?;
    // Described by size and shape only, and not registered as a secret (nor masked on CI, line
    // by line): it is refused before anything could print or send it.
    let not_a_jwt = |found| TokenError::NotAJwt {
        source_desc: source_desc.clone(),
        found,
    };
    if bytes.len() > CAP {
        let size = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        let size = if size > CAP as u64 {
            bytes_of(size)
        } else {
            format!("more than {}", bytes_of(CAP as u64))
        };
        return Err(not_a_jwt(format!(
            "{size} of data, where a token has at most {MAX_JWT_LEN} characters"
        )));
    }
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(not_a_jwt("binary data (not UTF-8 text)".into()));
    };
    if text.trim().is_empty() {
        return Err(TokenError::Empty { source_desc });
    }
    if let Some(found) = jwt_problem(text.trim()) {
        return Err(not_a_jwt(found));
    }
    Ok(IdToken::new(text, source_desc))
}

/// `1234 bytes`, `1.0 MiB`.
fn bytes_of(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{n} bytes")
    }
}

/// What is wrong with `token` as a JWT (`header.payload.signature`, the header and payload
/// base64url-encoded JSON objects, at most [`MAX_JWT_LEN`] characters), described by its size
/// and shape only; `None` when it looks like one. STS alone checks the signature.
pub(crate) fn jwt_problem(token: &str) -> Option<String> {
    inspect(token).err()
}

/// [`jwt_problem`]'s check; on success, the payload decoded (for its claims).
fn inspect(token: &str) -> Result<serde_json::Value, String> {
    let size = bytes_of(token.len() as u64);
    if token.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err(format!("binary data ({size}), not text"));
    }
    if token.contains(char::is_whitespace) {
        let lines = token.lines().count();
        let what = if token.starts_with('{') {
            "a JSON document"
        } else {
            "text"
        };
        return Err(format!(
            "{what} of {size} in {lines} line{} with spaces or line breaks inside",
            if lines == 1 { "" } else { "s" }
        ));
    }
    if token.starts_with('{') || token.starts_with('[') {
        return Err(format!("a JSON document ({size}), not the token itself"));
    }
    if token.len() > MAX_JWT_LEN {
        return Err(format!(
            "{size} of text, more than the {MAX_JWT_LEN} characters STS accepts"
        ));
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(format!(
            "{size} of text in {} dot-separated part{}, where a JWT has 3",
            parts.len(),
            if parts.len() == 1 { "" } else { "s" }
        ));
    }
    let base64url = |p: &str| {
        p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    for (name, part) in ["header", "payload", "signature"].iter().zip(&parts) {
        if !base64url(part) {
            return Err(format!(
                "{size} of text whose {name} holds characters base64url does not use"
            ));
        }
    }
    let mut payload = serde_json::Value::Null;
    for (name, part) in ["header", "payload"].iter().zip(&parts) {
        let object = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .filter(serde_json::Value::is_object);
        match object {
            Some(value) => payload = value,
            None => {
                return Err(format!(
                    "{size} of text in 3 parts whose {name} is not base64url-encoded JSON"
                ))
            }
        }
    }
    Ok(payload)
}

/// A JWT and where it came from (for messages: "GitHub Actions token endpoint", a file path).
#[derive(Debug, Clone)]
pub(crate) struct IdToken {
    pub jwt: Secret,
    pub source: String,
    /// The claims, decoded once ([`IdToken::check_jwt`] decodes them on its way).
    claims: std::sync::OnceLock<ClaimsSummary>,
}

impl IdToken {
    pub(crate) fn new(jwt: impl Into<String>, source: impl Into<String>) -> Self {
        IdToken {
            jwt: Secret::new(jwt.into().trim().to_string()),
            source: source.into(),
            claims: std::sync::OnceLock::new(),
        }
    }

    /// Refuses a token that is not a JWT at all (see [`jwt_problem`]), before it is sent.
    pub(crate) fn check_jwt(&self) -> Result<(), TokenError> {
        match inspect(self.jwt.expose()) {
            Ok(payload) => {
                let _ = self.claims.set(claims_of(&payload));
                Ok(())
            }
            Err(found) => Err(TokenError::NotAJwt {
                source_desc: self.source.clone(),
                found,
            }),
        }
    }

    /// `iss`, `aud` and `sub` as the token states them; empty when it is not a readable JWT.
    pub(crate) fn claims(&self) -> ClaimsSummary {
        self.claims
            .get_or_init(|| decode_claims(self.jwt.expose()).unwrap_or_default())
            .clone()
    }
}

impl IdToken {
    /// The claims an IAM trust policy can evaluate for a web identity, as one canonical text:
    /// `iss`, `aud` (sorted), `sub`, the session tags claim (`https://aws.amazon.com/tags`) and
    /// the provider-specific keys IAM documents (`amr`, `azp`, `email`) when present; never a
    /// per-run claim (`jti`, `iat`, `exp`, `run_id`...). `None` when the token is not a
    /// readable JWT with an `iss` and a `sub`: then nothing may be shared for it.
    pub(crate) fn trust_claims(&self) -> Option<String> {
        let payload = payload(self.jwt.expose())?;
        let claims = self.claims();
        let (iss, sub) = (claims.iss?, claims.sub?);
        let mut aud = claims.aud;
        aud.sort();
        let mut out = serde_json::Map::new();
        out.insert("iss".into(), iss.into());
        out.insert("aud".into(), aud.into());
        out.insert("sub".into(), sub.into());
        for name in ["https://aws.amazon.com/tags", "amr", "azp", "email"] {
            if let Some(v) = payload.get(name) {
                out.insert(name.into(), canonical(v));
            }
        }
        Some(serde_json::Value::Object(out).to_string())
    }

    /// Whether the token says its job runs for a pull or merge request (GitHub's
    /// `pull_request*` events, GitLab's merge request and external pull request pipelines).
    pub(crate) fn for_pull_request(&self) -> bool {
        let Some(payload) = payload(self.jwt.expose()) else {
            return false;
        };
        let text = |k: &str| payload.get(k).and_then(serde_json::Value::as_str);
        text("event_name").is_some_and(|e| e.starts_with("pull_request"))
            || text("pipeline_source")
                .is_some_and(|s| matches!(s, "merge_request_event" | "external_pull_request_event"))
    }
}

/// `value` with every object's keys in order, so that equal claims are equal texts.
fn canonical(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let sorted: std::collections::BTreeMap<&String, serde_json::Value> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            serde_json::Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(canonical).collect())
        }
        other => other.clone(),
    }
}

/// A JWT's payload, decoded (not verified).
fn payload(jwt: &str) -> Option<serde_json::Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn decode_claims(jwt: &str) -> Option<ClaimsSummary> {
    payload(jwt).map(|value| claims_of(&value))
}

/// The claims a payload states.
fn claims_of(value: &serde_json::Value) -> ClaimsSummary {
    let text = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let aud = match value.get("aud") {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    ClaimsSummary {
        iss: text("iss"),
        aud,
        sub: text("sub"),
        exp: value.get("exp").and_then(serde_json::Value::as_i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(payload))
    }

    #[test]
    fn trust_claims_are_what_iam_evaluates_and_nothing_per_run() {
        let a = IdToken::new(
            jwt(
                r#"{"iss":"https://gitlab.com","aud":["b","a"],"sub":"project_path:g/p:ref_type:branch:ref:main","jti":"1","iat":1,"exp":2,"pipeline_id":"7","https://aws.amazon.com/tags":{"principal_tags":{"z":["1"],"a":["2"]}}}"#,
            ),
            "test",
        );
        let b = IdToken::new(
            jwt(
                r#"{"iss":"https://gitlab.com","aud":["a","b"],"sub":"project_path:g/p:ref_type:branch:ref:main","jti":"2","iat":5,"exp":9,"pipeline_id":"8","https://aws.amazon.com/tags":{"principal_tags":{"a":["2"],"z":["1"]}}}"#,
            ),
            "test",
        );
        assert_eq!(a.trust_claims(), b.trust_claims());
        let text = a.trust_claims().unwrap();
        assert!(text.contains("project_path:g/p"), "{text}");
        assert!(
            !text.contains("pipeline_id") && !text.contains("jti"),
            "{text}"
        );
        let other = IdToken::new(
            jwt(
                r#"{"iss":"https://gitlab.com","aud":["a","b"],"sub":"project_path:g/p:ref_type:branch:ref:dev"}"#,
            ),
            "test",
        );
        assert_ne!(other.trust_claims(), a.trust_claims());
        assert!(IdToken::new("not-a-jwt", "t").trust_claims().is_none());
        assert!(IdToken::new(jwt(r#"{"iss":"x"}"#), "t")
            .trust_claims()
            .is_none());
    }

    #[test]
    fn pull_request_jobs_are_told_by_their_own_token() {
        let t = |p: &str| IdToken::new(jwt(p), "t").for_pull_request();
        assert!(t(r#"{"event_name":"pull_request_target"}"#));
        assert!(t(r#"{"event_name":"pull_request"}"#));
        assert!(t(r#"{"pipeline_source":"merge_request_event"}"#));
        assert!(!t(r#"{"event_name":"push"}"#));
        assert!(!t(r#"{"pipeline_source":"push"}"#));
        assert!(!IdToken::new("x", "t").for_pull_request());
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
    fn the_check_decodes_the_claims_it_validates() {
        let t = IdToken::new(
            jwt(r#"{"iss":"https://issuer.example","aud":"sts.amazonaws.com","sub":"s","exp":7}"#),
            "test",
        );
        t.check_jwt().unwrap();
        let c = t.claims();
        assert_eq!(c.iss.as_deref(), Some("https://issuer.example"));
        assert_eq!((c.sub.as_deref(), c.exp), (Some("s"), Some(7)));
        assert_eq!(c.aud, ["sts.amazonaws.com"]);
        assert_eq!(format!("{:?}", t.claims()), format!("{c:?}"));
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

    #[test]
    fn a_real_jwt_passes_the_shape_check() {
        let t = jwt(r#"{"iss":"https://x","aud":"sts.amazonaws.com","sub":"s"}"#);
        assert_eq!(jwt_problem(&t), None);
        let padded = format!("{t}==");
        assert_eq!(jwt_problem(&padded), None, "padding is tolerated");
    }

    /// What is not a JWT is described by its size and shape, never shown.
    #[test]
    fn what_is_not_a_jwt_is_described_not_shown() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let cases: Vec<(String, &str)> = vec![
            ("SECRETMARKER".into(), "1 dot-separated part"),
            ("SECRETMARKER.x".into(), "2 dot-separated parts"),
            ("a.b.c.d.SECRETMARKER".into(), "5 dot-separated parts"),
            ("aGVsbG8.SECRET+MARKER.c".into(), "payload holds characters"),
            (
                format!("{}.{}.sig", b64("SECRETMARKER"), b64("{}")),
                "header is not base64url-encoded JSON",
            ),
            (
                format!("{}.{}.sig", b64("{}"), b64("[1]")),
                "payload is not base64url-encoded JSON",
            ),
            ("{\"value\":\"SECRETMARKER\"}".into(), "a JSON document"),
            ("{\"value\": \"SECRETMARKER\"}".into(), "a JSON document of"),
            ("SECRET MARKER".into(), "spaces or line breaks inside"),
            (
                "-----BEGIN PRIVATE KEY-----\nSECRETMARKER\n-----END PRIVATE KEY-----".into(),
                "3 lines",
            ),
            ("SECRETMARKER\u{0}\u{1}".into(), "binary data"),
            (
                format!(
                    "{}.{}.{}",
                    "a".repeat(8000),
                    "b".repeat(8000),
                    "SECRETMARKER".repeat(500)
                ),
                "more than the 20000 characters",
            ),
        ];
        for (token, want) in cases {
            let found = jwt_problem(&token).unwrap_or_else(|| panic!("{want}: passed"));
            assert!(found.contains(want), "{want}: {found}");
            assert!(
                !found.contains("SECRET"),
                "{want}: shows the content: {found}"
            );
            let e = IdToken::new(token, "the variable X")
                .check_jwt()
                .unwrap_err();
            assert!(
                e.to_string()
                    .contains("from the variable X is not a JWT: found"),
                "{e}"
            );
        }
    }

    #[test]
    fn token_files_that_are_not_a_jwt_are_refused_before_use() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        let refused = |bytes: &[u8], want: &str| {
            std::fs::write(&p, bytes).unwrap();
            match read_token_file(&p) {
                Err(TokenError::NotAJwt { found, source_desc }) => {
                    assert!(found.contains(want), "{want}: {found}");
                    assert!(source_desc.contains("token"), "{source_desc}");
                }
                other => panic!("{want}: {other:?}"),
            }
        };
        let garbage: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
        refused(&garbage, "1.0 MiB of data");
        refused(&[0xff, 0xfe, b'a'], "binary data (not UTF-8 text)");
        refused(&vec![b'a'; 30_000], "more than the 20000 characters");
        refused(b"  not-a-jwt  \n", "1 dot-separated part");
        std::fs::write(&p, " \n").unwrap();
        assert!(matches!(read_token_file(&p), Err(TokenError::Empty { .. })));
        let good = jwt(r#"{"sub":"s"}"#);
        std::fs::write(&p, format!("{good}\n")).unwrap();
        assert_eq!(read_token_file(&p).unwrap().jwt.expose(), good);
        // A device never ends: only the first bytes are read.
        #[cfg(unix)]
        {
            let e = read_token_file(Path::new("/dev/zero"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("of data, where a token has at most 20000"),
                "{e}"
            );
        }
    }

    /// Properties (proptest: 256 cases in `cargo test`, `PROPTEST_CASES` or `scripts/fuzz.sh`
    /// for more; failures are kept in `proptest-regressions/` and replayed first).
    mod props {
        use super::*;
        use proptest::prelude::*;

        fn b64(bytes: &[u8]) -> String {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        }

        /// JSON values of every type, nested a little.
        fn json_value() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                "\\PC{0,12}".prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                    prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn any_text_is_decoded_or_described(token in "\\PC{0,200}|.{0,200}|[A-Za-z0-9_.=-]{0,200}") {
                let _ = decode_claims(&token);
                if let Some(found) = jwt_problem(&token) {
                    prop_assert!(!found.is_empty() && found.len() < 200, "{found}");
                    if token.len() >= 12 {
                        prop_assert!(!found.contains(&token), "shows the token: {found}");
                    }
                }
            }

            #[test]
            fn any_three_parts_are_decoded_or_described(
                header in prop::collection::vec(any::<u8>(), 0..40),
                payload in prop::collection::vec(any::<u8>(), 0..200),
                sig in "[A-Za-z0-9_-]{0,40}",
            ) {
                let token = format!("{}.{}.{sig}", b64(&header), b64(&payload));
                let claims = decode_claims(&token);
                let looks_right = jwt_problem(&token).is_none();
                let objects = [&header, &payload].iter().all(|b| {
                    serde_json::from_slice::<serde_json::Value>(b).is_ok_and(|v| v.is_object())
                });
                prop_assert_eq!(looks_right, objects);
                if looks_right {
                    prop_assert!(claims.is_some());
                }
            }

            #[test]
            fn claims_of_any_payload_are_read_as_stated(
                iss in proptest::option::of("\\PC{0,30}"),
                sub in proptest::option::of("\\PC{0,30}"),
                aud in proptest::option::of(prop::collection::vec("\\PC{0,10}", 0..3)),
                other in json_value(),
            ) {
                let mut payload = serde_json::Map::new();
                payload.insert("other".into(), other);
                if let Some(iss) = &iss { payload.insert("iss".into(), iss.clone().into()); }
                if let Some(sub) = &sub { payload.insert("sub".into(), sub.clone().into()); }
                if let Some(aud) = &aud {
                    let v = if aud.len() == 1 { aud[0].clone().into() } else { aud.clone().into() };
                    payload.insert("aud".into(), v);
                }
                let token = format!(
                    "{}.{}.c2ln",
                    b64(br#"{"alg":"RS256","typ":"JWT"}"#),
                    b64(serde_json::Value::Object(payload).to_string().as_bytes())
                );
                prop_assert_eq!(jwt_problem(&token), None);
                let claims = IdToken::new(token, "test").claims();
                prop_assert_eq!(claims.iss, iss);
                prop_assert_eq!(claims.sub, sub);
                prop_assert_eq!(claims.aud, aud.unwrap_or_default());
            }

            #[test]
            fn claims_of_any_type_are_taken_only_as_text(value in json_value()) {
                let payload = serde_json::json!({"iss": value, "sub": value, "aud": value});
                let token = format!("{}.{}.c2ln", b64(b"{}"), b64(payload.to_string().as_bytes()));
                let claims = IdToken::new(token, "test").claims();
                let text = value.as_str().map(str::to_string);
                prop_assert_eq!(&claims.iss, &text);
                prop_assert_eq!(&claims.sub, &text);
                let aud: Vec<String> = match &value {
                    serde_json::Value::String(s) => vec![s.clone()],
                    serde_json::Value::Array(items) => items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                    _ => Vec::new(),
                };
                prop_assert_eq!(claims.aud, aud);
            }
        }
    }
}
