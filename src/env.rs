//! A snapshot of the process environment, taken once at start-up.
//!
//! Platform detection and every default that depends on an environment variable read from
//! this snapshot, never from `std::env` directly, so that tests can hand in a fixture and the
//! whole program sees one consistent view.

use std::collections::BTreeMap;

#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, Value>,
}

/// A variable's value: text, or (not valid UTF-8) only usable as a path.
#[derive(Clone)]
enum Value {
    Text(String),
    Path(std::ffi::OsString),
}

impl Value {
    fn text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            Value::Path(_) => None,
        }
    }
}

/// Names only: values can be secrets.
impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

/// Whether a variable's name says its value is a secret (`AWS_SECRET_ACCESS_KEY`,
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `CIRCLE_OIDC_TOKEN`...). Paths and URLs to secrets are
/// not secrets themselves.
fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let secretish = [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "ACCESS_KEY",
        "PRIVATE_KEY",
    ]
    .iter()
    .any(|w| n.contains(w));
    let pointer = ["_FILE", "_URL", "_PATH", "_URI", "_DIR", "_ENV"]
        .iter()
        .any(|w| n.ends_with(w));
    secretish && !pointer
}

impl Env {
    /// The current process environment. A value that is not valid UTF-8 is kept only as a
    /// path (`HOME=/home/j\xf6rg`), for [`Env::get_path`]; names that are not UTF-8 are skipped.
    /// Values of variables whose names mark them as secrets are registered for redaction.
    pub fn capture() -> Self {
        let env = Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| {
                    let v = match v.into_string() {
                        Ok(t) => Value::Text(t),
                        Err(p) => Value::Path(p),
                    };
                    Some((k.into_string().ok()?, v))
                })
                .collect(),
        };
        for (k, v) in &env.vars {
            if let (true, Some(v)) = (is_secret_name(k), v.text()) {
                crate::secret::registry().add(v);
            }
        }
        env
    }

    /// A value, treating an empty variable as unset (CI systems export empty strings for
    /// unset secrets).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .and_then(Value::text)
            .filter(|v| !v.trim().is_empty())
    }

    /// A value as a path, whether or not it is UTF-8 (paths need not be); empty is unset.
    pub fn get_path(&self, name: &str) -> Option<std::path::PathBuf> {
        match self.vars.get(name)? {
            Value::Text(t) if t.trim().is_empty() => None,
            Value::Text(t) => Some(t.into()),
            Value::Path(p) => Some(p.into()),
        }
    }

    /// Whether the variable exists as text at all, even empty.
    pub fn is_present(&self, name: &str) -> bool {
        self.vars.get(name).is_some_and(|v| v.text().is_some())
    }

    /// The names of the variables that are set as text but blank (empty or spaces): what
    /// [`Env::get`] treats as unset.
    pub fn blank_names(&self) -> impl Iterator<Item = &str> {
        self.vars
            .iter()
            .filter(|(_, v)| v.text().is_some_and(|t| t.trim().is_empty()))
            .map(|(k, _)| k.as_str())
    }

    /// `true` for `true`/`1`/`yes` (any case).
    pub fn is_true(&self, name: &str) -> bool {
        matches!(
            self.get(name)
                .map(|v| v.trim().to_ascii_lowercase())
                .as_deref(),
            Some("true" | "1" | "yes")
        )
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Env {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), Value::Text(v.into())))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for yes in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_ACCESS_KEY_ID",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "CIRCLE_OIDC_TOKEN_V2",
            "BITBUCKET_STEP_OIDC_TOKEN",
        ] {
            assert!(is_secret_name(yes), "{yes}");
        }
        for no in [
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ECR_LOGIN_ID_TOKEN_ENV",
            "PATH",
            "AWS_REGION",
            "HOME",
        ] {
            assert!(!is_secret_name(no), "{no}");
        }
    }

    #[test]
    fn debug_shows_names_not_values() {
        let env: Env = [("AWS_SECRET_ACCESS_KEY", "very-secret-value")]
            .into_iter()
            .collect();
        let s = format!("{env:?}");
        assert!(
            s.contains("AWS_SECRET_ACCESS_KEY") && !s.contains("very-secret-value"),
            "{s}"
        );
    }
}
