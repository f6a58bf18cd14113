//! Which credentials the AWS credential chain will find, told apart without any call: for the
//! token cache's keys of chain and assume-role identities on this machine (the files; the
//! fleet keys on the resolved credentials themselves).
//!
//! Two identities the chain would resolve differently must never share a key: so the key
//! holds a digest of static keys in the environment (the secret too: two users can share an
//! access key id, never its secret), else the profile, the paths of the config and credentials
//! files, a digest of the profile's sections in them (following `source_profile` and
//! `sso_session`), and the container or instance credential endpoint in use. No secret is in
//! the description: only digests of secrets.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::env::Env;
use crate::env_vars::EnvVars;

/// What the environment says about the chain's credentials, captured when the plan is made;
/// the files are read when it is [described](ChainInputs::describe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainInputs {
    /// A digest of `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
    static_keys: Option<String>,
    profile: String,
    config_file: Option<PathBuf>,
    credentials_file: Option<PathBuf>,
    /// The endpoint variables that change where the chain finds credentials.
    endpoints: Vec<(&'static str, String)>,
}

/// The variables whose values choose a credential endpoint or a web identity.
const ENDPOINTS: [&str; 7] = [
    EnvVars::AWS_CONTAINER_CREDENTIALS_FULL_URI,
    EnvVars::AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
    EnvVars::AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
    EnvVars::AWS_ROLE_ARN,
    EnvVars::AWS_WEB_IDENTITY_TOKEN_FILE,
    EnvVars::AWS_EC2_METADATA_SERVICE_ENDPOINT,
    EnvVars::AWS_EC2_METADATA_DISABLED,
];

/// How deep `source_profile` chains are followed (the SDK refuses loops; we just stop).
const MAX_DEPTH: usize = 8;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ChainInputs {
    /// What `env` says; `profile`: a rule's profile, else `AWS_PROFILE`, else `default`.
    pub(crate) fn capture(env: &Env, profile: Option<&str>) -> ChainInputs {
        let static_keys = env.get(EnvVars::AWS_ACCESS_KEY_ID).map(|id| {
            let mut material = id.trim().as_bytes().to_vec();
            for name in [EnvVars::AWS_SECRET_ACCESS_KEY, EnvVars::AWS_SESSION_TOKEN] {
                material.push(0);
                material.extend_from_slice(env.get(name).unwrap_or_default().trim().as_bytes());
            }
            sha256_hex(&material)[..32].to_string()
        });
        let home = env.get_path(EnvVars::HOME);
        let file = |var: &str, default: &str| {
            env.get_path(var)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
        };
        ChainInputs {
            static_keys,
            profile: profile
                .or_else(|| env.get(EnvVars::AWS_PROFILE))
                .or_else(|| env.get(EnvVars::AWS_DEFAULT_PROFILE))
                .unwrap_or("default")
                .to_string(),
            config_file: file(EnvVars::AWS_CONFIG_FILE, "config"),
            credentials_file: file(EnvVars::AWS_SHARED_CREDENTIALS_FILE, "credentials"),
            endpoints: ENDPOINTS
                .iter()
                .filter_map(|name| env.get(name).map(|v| (*name, v.to_string())))
                .collect(),
        }
    }

    /// The description, for a cache key: the static keys' digest, or the profile, the files
    /// and the digest of its sections, and the endpoints. Reads the files (a missing one is
    /// "absent", which is a description too).
    pub(crate) fn describe(&self) -> String {
        if let Some(digest) = &self.static_keys {
            return format!("static-keys-sha256={digest}");
        }
        let shown = |p: &Option<PathBuf>| {
            p.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "none".into())
        };
        let config = read(self.config_file.as_deref());
        let credentials = read(self.credentials_file.as_deref());
        let sections = profile_sections(&self.profile, &config, &credentials);
        let mut text = format!(
            "profile={},config={},credentials={},sections-sha256={}",
            self.profile,
            shown(&self.config_file),
            shown(&self.credentials_file),
            &sha256_hex(sections.as_bytes())[..32]
        );
        for (name, value) in &self.endpoints {
            text.push_str(&format!(",{name}={value}"));
            if *name == EnvVars::AWS_WEB_IDENTITY_TOKEN_FILE {
                // The chain's web identity: the file rotates, its subject does not.
                let claims = crate::id_token::read_token_file(Path::new(value))
                    .ok()
                    .and_then(|t| t.trust_claims());
                text.push_str(&format!("[{}]", claims.unwrap_or_default()));
            }
        }
        if !self
            .endpoints
            .iter()
            .any(|(n, _)| n.starts_with("AWS_CONTAINER_CREDENTIALS"))
        {
            text.push_str(",instance-metadata");
        }
        text
    }
}

/// A file's text; empty when it cannot be read (no file is a state like any other).
fn read(path: Option<&Path>) -> String {
    path.and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default()
}

/// The INI sections of `text`: (header, body lines), comments and blank lines dropped.
fn sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let header = header.split_whitespace().collect::<Vec<_>>().join(" ");
            out.push((header, Vec::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push(line.to_string());
        }
    }
    out
}

/// The value of `key` in a section's lines.
fn value<'a>(body: &'a [String], key: &str) -> Option<&'a str> {
    body.iter().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// The sections the SDK reads for `profile`, as one text to digest: the config file's
/// `[profile NAME]` (or `[default]`) and the credentials file's `[NAME]`, then those of its
/// `source_profile`s, and its `[sso-session NAME]`.
fn profile_sections(profile: &str, config: &str, credentials: &str) -> String {
    let config = sections(config);
    let credentials = sections(credentials);
    let mut seen = BTreeSet::new();
    let mut text = String::new();
    let mut next = Some(profile.to_string());
    for _ in 0..MAX_DEPTH {
        let Some(name) = next.take() else { break };
        if !seen.insert(name.clone()) {
            break;
        }
        let in_config = config.iter().filter(|(h, _)| {
            *h == format!("profile {name}") || (name == "default" && h == "default")
        });
        let in_credentials = credentials.iter().filter(|(h, _)| *h == name);
        for (file, (header, body)) in in_config
            .map(|s| ("config", s))
            .chain(in_credentials.map(|s| ("credentials", s)))
        {
            text.push_str(&format!("{file}[{header}]\n{}\n", body.join("\n")));
            if next.is_none() {
                next = value(body, "source_profile").map(str::to_string);
            }
            if let Some(session) = value(body, "sso_session") {
                let wanted = format!("sso-session {session}");
                for (h, b) in config.iter().filter(|(h, _)| *h == wanted) {
                    text.push_str(&format!("config[{h}]\n{}\n", b.join("\n")));
                }
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs.iter().copied().collect()
    }

    #[test]
    fn static_keys_are_told_apart_by_their_secret_and_never_shown() {
        let a = ChainInputs::capture(
            &env(&[
                ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "secret-one"),
            ]),
            None,
        );
        let b = ChainInputs::capture(
            &env(&[
                ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "secret-two"),
            ]),
            None,
        );
        assert_ne!(a.describe(), b.describe());
        assert!(!a.describe().contains("AKIA"));
        assert!(!a.describe().contains("secret-one"));
    }

    #[test]
    fn another_credentials_file_or_another_section_is_another_source() {
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("one");
        let two = dir.path().join("two");
        std::fs::write(
            &one,
            "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s1\n",
        )
        .unwrap();
        std::fs::write(
            &two,
            "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s2\n",
        )
        .unwrap();
        let with = |path: &Path| {
            ChainInputs::capture(
                &env(&[
                    ("HOME", "/nonexistent"),
                    ("AWS_SHARED_CREDENTIALS_FILE", path.to_str().unwrap()),
                ]),
                None,
            )
            .describe()
        };
        let first = with(&one);
        assert_eq!(first, with(&one));
        assert_ne!(first, with(&two));
        // The same content in another file is another source too (its path is in the key).
        std::fs::copy(&one, &two).unwrap();
        assert_ne!(first, with(&two));
        // An empty file is not the file with keys.
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "").unwrap();
        assert_ne!(with(&empty), with(&one));
        assert!(!first.contains("s1"));
    }

    #[test]
    fn the_sections_followed_are_the_profile_its_sources_and_its_sso_session() {
        let config = "[profile dev]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\n\
                      [profile base]\nsso_session = corp\n[sso-session corp]\nsso_region = eu-west-1\n\
                      [profile other]\nregion = us-east-1\n";
        let text = profile_sections("dev", config, "[base]\naws_access_key_id = A\n");
        assert!(text.contains("config[profile dev]"), "{text}");
        assert!(text.contains("config[profile base]"), "{text}");
        assert!(text.contains("credentials[base]"), "{text}");
        assert!(text.contains("config[sso-session corp]"), "{text}");
        assert!(!text.contains("profile other"), "{text}");
        // A loop ends.
        let looped = "[profile a]\nsource_profile = b\n[profile b]\nsource_profile = a\n";
        assert!(profile_sections("a", looped, "").contains("profile b"));
    }

    #[test]
    fn endpoints_are_part_of_the_source() {
        let imds = ChainInputs::capture(&env(&[("HOME", "/nonexistent")]), None).describe();
        assert!(imds.ends_with(",instance-metadata"), "{imds}");
        let container = ChainInputs::capture(
            &env(&[
                ("HOME", "/nonexistent"),
                (
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "http://127.0.0.1:9/creds",
                ),
            ]),
            None,
        )
        .describe();
        assert!(container.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9/creds"));
        assert!(!container.contains("instance-metadata"));
    }
}
