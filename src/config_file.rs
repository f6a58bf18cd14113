//! Per-registry identity: a small TOML file mapping registries (an account id, a host, or a
//! glob over hosts) to the AWS profile or role that logs in to them, so that the credential
//! helper can serve "this registry with that role" — one profile for every registry is what
//! amazon-ecr-credential-helper's users are stuck with.
//!
//! ```toml
//! [[registry]]
//! match = "123456789012"                      # every region of this account
//! profile = "prod"
//!
//! [[registry]]
//! match = "*.dkr.ecr.eu-*.amazonaws.com"      # `*` matches any run of characters
//! role_arn = "arn:aws:iam::210987654321:role/ecr-pull"
//! web_identity_token_file = "/var/run/secrets/token"   # optional: else the usual token rules
//! ```
//!
//! Read from `$ECR_LOGIN_CONFIG`, else `$XDG_CONFIG_HOME/ecr-login/config.toml`, and from
//! `ecr-login.toml` beside Docker's `config.json` (written by `login --mode helper`, first).
//! The first rule that matches wins; no rule: the same identity rules as `login`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::aws::registry::Registry;
use crate::error::{AuthFileError, UsageError};

/// The file name `login --mode helper` writes beside Docker's `config.json`.
pub(crate) const DOCKER_DIR_FILE: &str = "ecr-login.toml";

/// A config file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    #[serde(default, rename = "registry")]
    pub registries: Vec<Rule>,
}

/// Which identity logs in to the registries a pattern matches.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rule {
    /// An account id, a registry host, or a glob over hosts (`*`).
    #[serde(rename = "match")]
    pub pattern: String,
    /// The AWS profile whose credentials (or whose role) log in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// A role to assume (with the CI token or token file if there is one, else the profile's
    /// or the chain's credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_identity_token_file: Option<PathBuf>,
    /// The audience of the CI token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

impl Rule {
    /// Whether this rule covers `registry`.
    pub(crate) fn matches(&self, registry: &Registry) -> bool {
        let p = self.pattern.trim().to_ascii_lowercase();
        match registry {
            Registry::Private { account, host, .. } if crate::aws::is_account_id(&p) => {
                *account == p || glob(&p, host)
            }
            r => glob(&p, r.host()),
        }
    }
}

impl ConfigFile {
    /// The file at `path`; a missing file is an empty one.
    pub(crate) fn load(path: &Path) -> Result<ConfigFile, UsageError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(UsageError::Other(format!(
                    "cannot read the ecr-login config {}: {e}",
                    path.display()
                )))
            }
        };
        toml::from_str(&text).map_err(|e| {
            UsageError::Other(format!(
                "{} is not a valid ecr-login config: {}",
                path.display(),
                e.to_string().trim()
            ))
        })
    }

    /// The first rule for `registry`.
    pub(crate) fn rule_for(&self, registry: &Registry) -> Option<&Rule> {
        self.registries.iter().find(|r| r.matches(registry))
    }

    pub(crate) fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

/// Puts `rules` first in the file at `path`, replacing the rules with the same patterns and
/// keeping the others; under the lock beside it (concurrent logins keep each other's rules),
/// written atomically, mode 0600.
pub(crate) fn upsert(path: &Path, rules: &[Rule]) -> Result<(), AuthFileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lock_path = dir.join(format!(".{name}.lock"));
    let _lock = crate::fs::lock(&lock_path, LOCK_WAIT).map_err(|e| AuthFileError::Lock {
        path: lock_path.clone(),
        reason: e.to_string(),
    })?;
    let mut file = ConfigFile::load(path).map_err(|e| AuthFileError::Parse {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    file.registries
        .retain(|old| !rules.iter().any(|r| r.pattern == old.pattern));
    let mut registries = rules.to_vec();
    registries.append(&mut file.registries);
    let text = format!(
        "# Written by `ecr-login login --mode helper`: which identity the credential helper uses\n# for these registries. Edit freely; the first matching rule wins.\n\n{}",
        ConfigFile { registries }.to_toml()
    );
    let err = |e: std::io::Error| AuthFileError::Write {
        path: path.to_path_buf(),
        source: e,
    };
    let how = crate::fs::Atomic {
        temp_prefix: &format!(".{name}."),
        mode: 0o600,
        durability: crate::fs::Durability::Synced,
        keep_owner: true,
        sweep: true,
    };
    crate::fs::write_atomic(path, text.as_bytes(), &how).map_err(err)
}

/// How long a rewrite waits for another process's.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// `*`-only glob matching (case-insensitive callers lower-case first).
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text.ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// The user's config file: `$ECR_LOGIN_CONFIG`, else `$XDG_CONFIG_HOME/ecr-login/config.toml`,
/// else `~/.config/ecr-login/config.toml`.
pub(crate) fn user_path(
    explicit: Option<&Path>,
    xdg: Option<&str>,
    home: Option<&str>,
) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf).or_else(|| {
        xdg.map(PathBuf::from)
            .or_else(|| home.map(|h| PathBuf::from(h).join(".config")))
            .map(|d| d.join("ecr-login").join("config.toml"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(host: &str) -> Registry {
        crate::aws::registry::parse(host, None, true).unwrap()
    }

    #[test]
    fn globs() {
        assert!(glob(
            "*.dkr.ecr.eu-*.amazonaws.com",
            "1.dkr.ecr.eu-west-1.amazonaws.com"
        ));
        assert!(!glob(
            "*.dkr.ecr.eu-*.amazonaws.com",
            "1.dkr.ecr.us-east-1.amazonaws.com"
        ));
        assert!(glob("a*", "a"));
        assert!(!glob("a*b*c", "acb"));
        assert!(glob("exact", "exact"));
    }

    #[test]
    fn first_matching_rule_wins() {
        let file: ConfigFile = toml::from_str(
            r#"
[[registry]]
match = "111111111111"
profile = "a"

[[registry]]
match = "*.dkr.ecr.eu-*.amazonaws.com"
role_arn = "arn:aws:iam::222222222222:role/r"

[[registry]]
match = "public.ecr.aws"
profile = "pub"
"#,
        )
        .unwrap();
        let a = file.rule_for(&reg("111111111111.dkr.ecr.eu-west-1.amazonaws.com"));
        assert_eq!(a.unwrap().profile.as_deref(), Some("a"));
        let b = file.rule_for(&reg("222222222222.dkr.ecr.eu-west-1.amazonaws.com"));
        assert!(b.unwrap().role_arn.is_some());
        assert!(file
            .rule_for(&reg("222222222222.dkr.ecr.us-east-1.amazonaws.com"))
            .is_none());
        assert_eq!(
            file.rule_for(&reg("public.ecr.aws"))
                .unwrap()
                .profile
                .as_deref(),
            Some("pub")
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, "[[registry]]\nmatch = \"x\"\nrole = \"typo\"\n").unwrap();
        let e = ConfigFile::load(&p).unwrap_err().to_string();
        assert!(e.contains("config.toml") && e.contains("role"), "{e}");
        assert_eq!(
            ConfigFile::load(&dir.path().join("missing.toml")).unwrap(),
            ConfigFile::default()
        );
    }

    #[test]
    fn round_trip() {
        let f = ConfigFile {
            registries: vec![Rule {
                pattern: "h".into(),
                role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
                ..Rule::default()
            }],
        };
        let back: ConfigFile = toml::from_str(&f.to_toml()).unwrap();
        assert_eq!(back, f);
    }
}
