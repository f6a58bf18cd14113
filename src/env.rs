//! A snapshot of the process environment, taken once at start-up.
//!
//! Platform detection and every default that depends on an environment variable read from
//! this snapshot, never from `std::env` directly, so that tests can hand in a fixture and the
//! whole program sees one consistent view.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The current process environment (variables that are not valid UTF-8 are skipped).
    pub fn capture() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// A value, treating an empty variable as unset (CI systems export empty strings for
    /// unset secrets).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// Whether the variable exists at all, even empty.
    pub fn is_present(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    /// `true` for `true`/`1`/`yes` (any case).
    pub fn is_true(&self, name: &str) -> bool {
        matches!(
            self.get(name).map(|v| v.trim().to_ascii_lowercase()).as_deref(),
            Some("true" | "1" | "yes")
        )
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Env {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}
