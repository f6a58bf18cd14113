//! Secret values and the process-wide list of them.
//!
//! Every ECR password, AWS secret key, session token and OIDC JWT the process sees is wrapped
//! in [`Secret`]. Building one registers its value, so that the log writer and the printer can
//! replace it with `***` wherever it turns up, and so that a CI platform that can mask values
//! in its job log (GitHub's `::add-mask::`) is told about it before anything else is printed.

use std::borrow::Cow;
use std::fmt;
use std::sync::{OnceLock, RwLock};

/// Values shorter than this are not registered for redaction: replacing every `abc` in the
/// logs would hide more than it protects. No real credential is this short.
const MIN_REDACT_LEN: usize = 6;

/// A secret string. `Debug` and `Display` print `***`; the value is reachable only through
/// [`Secret::expose`], so reading it is a visible, greppable act.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// Wraps `value` and registers it for redaction and CI masking.
    pub(crate) fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        registry().add(&value);
        Secret(value)
    }

    /// The raw value. Only for the places that must send it: an HTTP request, a stdin pipe, the
    /// auth file.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

type MaskHook = Box<dyn Fn(&str) + Send + Sync>;

/// Every secret value seen so far, and the CI platform's mask hook.
pub(crate) struct Registry {
    values: RwLock<Vec<String>>,
    mask_hook: RwLock<Option<MaskHook>>,
}

/// The one registry of this process.
pub(crate) fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry {
        values: RwLock::new(Vec::new()),
        mask_hook: RwLock::new(None),
    })
}

impl Registry {
    /// Registers `value` (and the forms it takes when URL-encoded) for redaction, and hands it
    /// to the mask hook if one is installed.
    pub(crate) fn add(&self, value: &str) {
        let value = value.trim();
        if value.len() < MIN_REDACT_LEN {
            return;
        }
        let mut forms = vec![value.to_string()];
        let encoded = url_encode(value);
        if encoded != value {
            forms.push(encoded);
        }
        let mut fresh = Vec::new();
        {
            // A poisoned lock only means another thread panicked mid-push; the Vec is intact.
            let mut values = self.values.write().unwrap_or_else(|e| e.into_inner());
            for form in forms {
                if !values.contains(&form) {
                    values.push(form.clone());
                    fresh.push(form);
                }
            }
            // Longest first, so a secret that contains another is replaced whole.
            values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
        if fresh.is_empty() {
            return;
        }
        let hook = self.mask_hook.read().unwrap_or_else(|e| e.into_inner());
        if let Some(hook) = hook.as_ref() {
            for form in &fresh {
                hook(form);
            }
        }
    }

    /// Installs the CI platform's mask hook and calls it at once for every value already seen.
    pub(crate) fn set_mask_hook(&self, hook: MaskHook) {
        let values = self
            .values
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for value in &values {
            hook(value);
        }
        *self.mask_hook.write().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    /// `text` with every registered secret, and the value of every field known to hold one
    /// (see [`SECRET_FIELDS`]), replaced by `***`.
    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let values = self.values.read().unwrap_or_else(|e| e.into_inner());
        let mut out = scrub_fields(text);
        for value in values.iter() {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), "***"));
            }
        }
        out
    }
}

/// Markers after which a secret value follows, in the forms AWS responses, the SDK's `Debug`
/// output and request bodies take. A second line of defence for values logged before this
/// process could register them (a response body is logged before it is parsed). Each `"` also
/// matches its escaped forms (`\"`, `\\\"`...), as a body printed with `{:?}` shows it.
const SECRET_FIELDS: &[&str] = &[
    "\"authorizationToken\":\"",
    "\"authorizationToken\": \"",
    "authorization_token: Some(\"",
    "<SecretAccessKey>",
    "access_key_id: \"",
    "<SessionToken>",
    "\"SecretAccessKey\":\"",
    "\"SecretAccessKey\": \"",
    "\"SessionToken\":\"",
    "\"SessionToken\": \"",
    "WebIdentityToken=",
    "\"WebIdentityToken\":\"",
    "\"value\":\"",
    "\"Secret\":\"",
    "\"auth\":\"",
    "\"auth\": \"",
];

/// Where `marker` matches `text` at byte `at`, the end of the match. A `"` of the marker
/// matches a `"` preceded by any number of backslashes.
fn match_marker(text: &[u8], at: usize, marker: &str) -> Option<usize> {
    let mut i = at;
    for &m in marker.as_bytes() {
        if m == b'"' {
            while text.get(i) == Some(&b'\\') {
                i += 1;
            }
        }
        if text.get(i) != Some(&m) {
            return None;
        }
        i += 1;
    }
    Some(i)
}

/// Replaces the value after each [`SECRET_FIELDS`] marker, up to its closing delimiter.
fn scrub_fields(text: &str) -> Cow<'_, str> {
    // Cheap pre-check: the markers' names, which no escaping changes.
    if !SECRET_FIELDS
        .iter()
        .any(|m| text.contains(m.trim_matches(|c| matches!(c, '"' | ':' | ' ' | '('))))
    {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    // `copied`..`i`: not yet copied; markers are ASCII, so every index used to slice is a
    // character boundary.
    let mut copied = 0;
    let mut i = 0;
    let mut changed = false;
    while i < bytes.len() {
        let Some(end) = SECRET_FIELDS.iter().find_map(|m| match_marker(bytes, i, m)) else {
            i += 1;
            continue;
        };
        let value = &text[end..];
        let len = value
            .find(|c: char| matches!(c, '"' | '<' | '&' | '\\') || c.is_whitespace())
            .unwrap_or(value.len());
        out.push_str(&text[copied..end]);
        if len > 0 {
            out.push_str("***");
            changed = true;
        }
        copied = end + len;
        i = copied.max(i + 1);
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Percent-encodes the characters that differ between a raw secret and the same secret in a
/// query string or form body (base64's `+`, `/` and `=`).
fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '+' => out.push_str("%2B"),
            '/' => out.push_str("%2F"),
            '=' => out.push_str("%3D"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn redact_replaces_every_registered_value_and_its_url_form() {
        let _s = Secret::new("abc/def+ghi=");
        let text = "token=abc/def+ghi= and again abc%2Fdef%2Bghi%3D end";
        assert_eq!(registry().redact(text), "token=*** and again *** end");
    }

    #[test]
    fn known_secret_fields_are_scrubbed_even_unregistered() {
        let text = r#"body {"authorizationData":[{"authorizationToken":"QVdTOnh5eg==","expiresAt":1}]} <SessionToken>abc+/=</SessionToken> authorization_token: Some("QVdT") x"#;
        assert_eq!(
            registry().redact(text),
            r#"body {"authorizationData":[{"authorizationToken":"***","expiresAt":1}]} <SessionToken>***</SessionToken> authorization_token: Some("***") x"#
        );
        assert_eq!(
            registry().redact("Action=X&WebIdentityToken=eyJ.a.b&Version=1"),
            "Action=X&WebIdentityToken=***&Version=1"
        );
    }

    #[test]
    fn escaped_secret_fields_are_scrubbed() {
        // The SDK's orchestrator logs bodies with `{:?}`: quotes come escaped, once or more.
        let once = r#"body: b"{\"authorizationData\":[{\"authorizationToken\":\"QVdTOnNlY3JldA==\",\"expiresAt\":1}]}""#;
        assert_eq!(
            registry().redact(once),
            r#"body: b"{\"authorizationData\":[{\"authorizationToken\":\"***\",\"expiresAt\":1}]}""#
        );
        let twice = r#"x \\\"authorizationToken\\\": \\\"QVdTOnNlY3JldA==\\\" y"#;
        assert_eq!(
            registry().redact(twice),
            r#"x \\\"authorizationToken\\\": \\\"***\\\" y"#
        );
        let sts = r#"{\"Credentials\":{\"SecretAccessKey\":\"abc+def/ghi\",\"SessionToken\":\"IQo+x/y=\"}}"#;
        assert_eq!(
            registry().redact(sts),
            r#"{\"Credentials\":{\"SecretAccessKey\":\"***\",\"SessionToken\":\"***\"}}"#
        );
    }

    #[test]
    fn text_without_secret_fields_is_left_alone() {
        for text in [
            "no markers here",
            r#"{"auth":"" , \"value\":\"\"}"#,
            "héllo \"authorizationToken\" ü",
        ] {
            assert_eq!(registry().redact(text), text);
        }
        // Multi-byte text around a scrubbed value survives intact.
        assert_eq!(
            registry().redact("é \"auth\":\"c2VjcmV0\" ü"),
            "é \"auth\":\"***\" ü"
        );
    }

    #[test]
    fn short_values_are_not_registered() {
        let _s = Secret::new("abc");
        assert_eq!(registry().redact("abc abc"), "abc abc");
    }

    #[test]
    fn longest_value_wins() {
        let _a = Secret::new("prefix-secret");
        let _b = Secret::new("prefix-secret-and-more");
        assert_eq!(registry().redact("x prefix-secret-and-more y"), "x *** y");
    }
}
