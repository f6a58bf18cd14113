//! Docker's `config.json`: read, merge our logins, write back atomically under a lock.
//!
//! - Every key we do not own is preserved as it was (order included).
//! - Per host, the store Docker itself would use is used: `credHelpers[host]`, else
//!   `credsStore`, else an `auths` entry in the file.
//! - The file is written to a temporary file in the same directory, made 0600, synced and
//!   renamed over the old one, while holding an exclusive lock on `config.json.lock`, so
//!   concurrent logins never lose each other's entries and a reader never sees half a file.
//! - Nothing is written unless every login could be stored.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Map, Value};

use super::{helper_client, Login};
use crate::error::AuthFileError;

/// How long to wait for another process's lock before giving up.
const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Docker's config file in `dir`.
pub fn config_path(dir: &Path) -> PathBuf {
    dir.join("config.json")
}

/// Records `logins` in `dir/config.json` (or the credential stores it names).
pub fn store_logins(dir: &Path, logins: &[Login<'_>]) -> Result<(), AuthFileError> {
    let path = config_path(dir);
    ensure_dir(dir)?;
    let _lock = lock(dir)?;
    let mut root = read(&path)?;

    // Helpers first: if one fails, the file is left as it was.
    let mut in_file = Vec::new();
    let mut in_helper = Vec::new();
    for login in logins {
        match helper_for(&root, login.host) {
            Some(helper) => {
                helper_client::store(&helper, login)?;
                tracing::debug!(
                    "stored the login for {} with docker-credential-{helper}",
                    login.host
                );
                in_helper.push(login.host);
            }
            None => in_file.push(login),
        }
    }

    let auths = root
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        return Err(AuthFileError::Parse {
            path: path.clone(),
            reason: "\"auths\" is not an object".into(),
        });
    }
    let auths = auths.as_object_mut().ok_or_else(|| AuthFileError::Parse {
        path: path.clone(),
        reason: "\"auths\" is not an object".into(),
    })?;
    for login in in_file {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            login.username,
            login.password.expose()
        ));
        auths.insert(login.host.to_string(), serde_json::json!({ "auth": auth }));
    }
    for host in in_helper {
        // What `docker login` leaves with a credential store: an empty entry naming the host.
        auths.insert(host.to_string(), Value::Object(Map::new()));
    }
    write_atomically(&path, &root)
}

/// The credential helper Docker would use for `host`: `credHelpers[host]`, else `credsStore`.
fn helper_for(root: &Map<String, Value>, host: &str) -> Option<String> {
    root.get("credHelpers")
        .and_then(|h| h.get(host))
        .and_then(Value::as_str)
        .or_else(|| root.get("credsStore").and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Removes the login of every host in `auths` that `selected` accepts, erasing it from its
/// credential helper too; returns the hosts removed. A missing file removes nothing.
pub fn remove_logins(
    dir: &Path,
    selected: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, AuthFileError> {
    let path = config_path(dir);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let _lock = lock(dir)?;
    let mut root = read(&path)?;
    let hosts: Vec<String> = root
        .get("auths")
        .and_then(Value::as_object)
        .map(|a| a.keys().filter(|h| selected(h)).cloned().collect())
        .unwrap_or_default();
    for host in &hosts {
        if let Some(helper) = helper_for(&root, host) {
            // A helper that no longer has it is not a reason to keep the entry.
            if let Err(e) = helper_client::erase(&helper, host) {
                tracing::warn!("{e}");
            }
        }
    }
    if hosts.is_empty() {
        return Ok(hosts);
    }
    if let Some(auths) = root.get_mut("auths").and_then(Value::as_object_mut) {
        for host in &hosts {
            auths.remove(host);
        }
    }
    write_atomically(&path, &root)?;
    Ok(hosts)
}

fn ensure_dir(dir: &Path) -> Result<(), AuthFileError> {
    if dir.is_dir() {
        return Ok(());
    }
    private::dir(fs::DirBuilder::new().recursive(true))
        .create(dir)
        .map_err(|e| AuthFileError::Write {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Takes the exclusive lock on `dir/config.json.lock`, waiting up to [`LOCK_TIMEOUT`].
fn lock(dir: &Path) -> Result<File, AuthFileError> {
    let path = dir.join("config.json.lock");
    let file = private::open(OpenOptions::new().create(true).truncate(false).write(true))
        .open(&path)
        .map_err(|e| AuthFileError::Write {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => {
                return Err(AuthFileError::Write {
                    path,
                    reason: format!("cannot lock: {e}"),
                })
            }
        }
        if start.elapsed() > LOCK_TIMEOUT {
            return Err(AuthFileError::Write {
                path,
                reason: format!(
                    "another process has held the lock for over {} s",
                    LOCK_TIMEOUT.as_secs()
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(5 + fastrand::u64(0..20)));
    }
}

/// The config as a JSON object; a missing or empty file is an empty object.
pub fn read(path: &Path) -> Result<Map<String, Value>, AuthFileError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => {
            return Err(AuthFileError::Read {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        }
    };
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(AuthFileError::Parse {
            path: path.to_path_buf(),
            reason: "the top level is not an object".into(),
        }),
        Err(e) => Err(AuthFileError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// Writes `root` to `path` through a 0600 temporary file in the same directory and a rename.
/// A symlinked config (dotfile managers do this) is written through to its target.
fn write_atomically(path: &Path, root: &Map<String, Value>) -> Result<(), AuthFileError> {
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).unwrap_or(path.to_path_buf()),
        _ => path.to_path_buf(),
    };
    let err = |e: std::io::Error| AuthFileError::Write {
        path: target.clone(),
        reason: e.to_string(),
    };
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.json.")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
    private::file(tmp.as_file()).map_err(err)?;
    let mut text = serde_json::to_string_pretty(root).map_err(|e| AuthFileError::Write {
        path: target.clone(),
        reason: e.to_string(),
    })?;
    text.push('\n');
    tmp.write_all(text.as_bytes()).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(&target).map_err(|e| err(e.error))?;
    Ok(())
}

/// Owner-only permissions (0700 directories, 0600 files) where the OS has modes; elsewhere
/// (Windows) files keep the ACLs of the user's profile directory they are written in.
#[cfg(unix)]
mod private {
    use std::fs::{DirBuilder, File, OpenOptions, Permissions};
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

    pub fn dir(b: &mut DirBuilder) -> &mut DirBuilder {
        b.mode(0o700)
    }

    pub fn open(o: &mut OpenOptions) -> &mut OpenOptions {
        o.mode(0o600)
    }

    pub fn file(f: &File) -> std::io::Result<()> {
        f.set_permissions(Permissions::from_mode(0o600))
    }
}

#[cfg(not(unix))]
mod private {
    use std::fs::{DirBuilder, File, OpenOptions};

    pub fn dir(b: &mut DirBuilder) -> &mut DirBuilder {
        b
    }

    pub fn open(o: &mut OpenOptions) -> &mut OpenOptions {
        o
    }

    pub fn file(_: &File) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn merges_and_preserves_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = config_path(dir.path());
        fs::write(
            &path,
            r#"{"auths":{"ghcr.io":{"auth":"eDp5"}},"credHelpers":{"gcr.io":"gcloud"},"psFormat":"table {{.ID}}","experimental":"enabled"}"#,
        )
        .unwrap();
        let pw = Secret::new("the-password-1");
        store_logins(
            dir.path(),
            &[Login {
                host: "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                username: "AWS",
                password: &pw,
            }],
        )
        .unwrap();
        let v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["auths"]["ghcr.io"]["auth"], "eDp5");
        assert_eq!(v["credHelpers"]["gcr.io"], "gcloud");
        assert_eq!(v["psFormat"], "table {{.ID}}");
        assert_eq!(v["experimental"], "enabled");
        let auth = v["auths"]["123456789012.dkr.ecr.us-east-1.amazonaws.com"]["auth"]
            .as_str()
            .unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .unwrap();
        assert_eq!(decoded, b"AWS:the-password-1");
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["auths", "credHelpers", "psFormat", "experimental"]);
    }

    #[test]
    fn invalid_json_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = config_path(dir.path());
        fs::write(&path, "{not json").unwrap();
        let pw = Secret::new("the-password-2");
        let e = store_logins(
            dir.path(),
            &[Login {
                host: "h",
                username: "AWS",
                password: &pw,
            }],
        )
        .unwrap_err();
        assert!(matches!(e, AuthFileError::Parse { .. }));
        assert_eq!(fs::read_to_string(&path).unwrap(), "{not json");
    }

    #[test]
    fn creates_the_directory_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        let pw = Secret::new("the-password-3");
        store_logins(
            &sub,
            &[Login {
                host: "h",
                username: "AWS",
                password: &pw,
            }],
        )
        .unwrap();
        assert!(config_path(&sub).is_file());
    }
}
