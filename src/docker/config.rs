//! Docker's `config.json` (and any auth file in its format: Podman's `auth.json`, a file named
//! by `--auth-file`): read, merge our logins, write back atomically under a lock.
//!
//! - Every key we do not own is preserved as it was (order included).
//! - Per host, the store the file's reader would use is used: `credHelpers[host]`, else
//!   `credsStore` (Docker only: Podman ignores it), else an `auths` entry in the file.
//! - The file is written to a temporary file in the same directory, made 0600, synced when
//!   the old file holds anything this write does not replace (other logins, settings), then
//!   swapped in (`renameat2(RENAME_EXCHANGE)` where the filesystem has it, else renamed over
//!   the old one), while holding an exclusive lock on `<file>.lock` beside it
//!   (`config.json.lock`), so concurrent logins never lose each other's entries and a reader
//!   never sees half a file.
//! - Nothing is written unless every login could be stored.
//! - The directory is not trusted blindly: a symlinked lock file is refused (following it would
//!   create its target, as root any file), a directory others may write to or own is warned
//!   about, and a rewritten config.json keeps its previous owner (as Docker does under `sudo`).

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde_json::{Map, Value};

use super::{helper_client, Login};
use crate::error::AuthFileError;
use crate::fs::{Durability, LockError};

/// How long to wait for another process's lock before giving up.
const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Docker's config file in `dir`.
pub(crate) fn config_path(dir: &Path) -> PathBuf {
    dir.join("config.json")
}

/// Which program reads an auth file, which decides the keys that route a login to a
/// credential helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Docker's `config.json`: `credHelpers`, then `credsStore`.
    Docker,
    /// containers-auth.json(5) (Podman, Buildah, skopeo): `credHelpers` only; they ignore a
    /// `credsStore` key, so a login there goes in the file.
    Containers,
}

#[cfg(test)]
/// Records `logins` in `dir/config.json` (or the credential stores it names).
pub(crate) fn store_logins(dir: &Path, logins: &[Login<'_>]) -> Result<(), AuthFileError> {
    store_logins_in(&config_path(dir), Format::Docker, logins)
}

/// Records `logins` in the auth file `path` (or the credential helpers it names), with the same
/// safety as Docker's: merged, locked (`<file>.lock` beside it), atomic, 0600, owner kept.
pub(crate) fn store_logins_in(
    path: &Path,
    format: Format,
    logins: &[Login<'_>],
) -> Result<(), AuthFileError> {
    let path = path.to_path_buf();
    let dir = parent(&path);
    ensure_dir(dir)?;
    warn_if_unsafe(dir);
    let _lock = lock(&path)?;
    let mut root = read(&path)?;
    let durability = durability_when(holds_more_than(&root, logins));

    // Helpers first: if one fails, the file is left as it was.
    let mut in_file = Vec::new();
    let mut in_helper = Vec::new();
    for login in logins {
        match helper_for(&root, login.host, format) {
            Some(helper) => {
                helper_client::store(&helper, login).map_err(|e| foreign_ecr_helper(e, &path))?;
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
    if auths.is_null() {
        // `"auths": null` is what Go writes for an empty map; Docker reads it as no logins.
        *auths = Value::Object(Map::new());
    }
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
    write_atomically(&path, &root, durability)
}

/// Whether the auth file as read (`root`) holds anything that writing `logins` into its
/// `auths` does not replace: another key (`credsStore`, `credHelpers`, a proxy setting...) or
/// another registry's login.
fn holds_more_than(root: &Map<String, Value>, logins: &[Login<'_>]) -> bool {
    root.iter().any(|(key, value)| match (key.as_str(), value) {
        ("auths", Value::Object(auths)) => auths
            .keys()
            .any(|host| !logins.iter().any(|l| l.host == host)),
        ("auths", Value::Null) => false,
        _ => true,
    })
}

/// How a rewrite must reach the disk: synced when the old file holds something the new one
/// keeps from elsewhere (other logins, settings: without the sync, a power loss right after the
/// rename can leave an empty file on file systems that do not order the data before the rename,
/// XFS, ext4 with `noauto_da_alloc`, and that would be lost); else not (the new file holds only
/// what this write brings, a first login or the same registries again, as every CI job does: a
/// power loss can cost at most this login, as `docker login`'s never syncs; it spares a journal
/// commit, 0.1 to 0.6 ms).
fn durability_when(something_to_lose: bool) -> Durability {
    if something_to_lose {
        Durability::Synced
    } else {
        Durability::NothingToLose
    }
}

/// amazon-ecr-credential-helper installs as `docker-credential-ecr-login` and answers `store` with
/// "not implemented": it fetches tokens itself, with its own AWS credentials. A config that still
/// routes ECR hosts to it (left over from before ecr-login) would make Docker ignore this login;
/// say so plainly instead of passing on its terse answer.
fn foreign_ecr_helper(e: AuthFileError, config: &Path) -> AuthFileError {
    match e {
        AuthFileError::Helper {
            helper,
            registry,
            reason,
            ..
        } if helper == "ecr-login" && reason.contains("not implemented") => {
            AuthFileError::ForeignEcrHelper {
                registry,
                config: config.to_path_buf(),
            }
        }
        other => other,
    }
}

/// The credential helper the file's reader would use for `host`: `credHelpers[host]`, else
/// (Docker only) `credsStore`.
pub(crate) fn helper_for(root: &Map<String, Value>, host: &str, format: Format) -> Option<String> {
    let store = || match format {
        Format::Docker => root.get("credsStore").and_then(Value::as_str),
        Format::Containers => None,
    };
    root.get("credHelpers")
        .and_then(|h| h.get(host))
        .and_then(Value::as_str)
        .or_else(store)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Points `hosts` at the credential helper `helper` (`credHelpers[host] = helper`) and drops
/// their `auths` entries (a token there would only go stale), keeping every other key; the same
/// lock, atomic write and permissions as [`store_logins`].
pub(crate) fn use_helper(dir: &Path, hosts: &[&str], helper: &str) -> Result<(), AuthFileError> {
    let path = config_path(dir);
    ensure_dir(dir)?;
    warn_if_unsafe(dir);
    let _lock = lock(&path)?;
    let mut root = read(&path)?;
    let helpers = root
        .entry("credHelpers")
        .or_insert_with(|| Value::Object(Map::new()));
    if helpers.is_null() {
        *helpers = Value::Object(Map::new());
    }
    let helpers = helpers
        .as_object_mut()
        .ok_or_else(|| AuthFileError::Parse {
            path: path.clone(),
            reason: "\"credHelpers\" is not an object".into(),
        })?;
    for host in hosts {
        helpers.insert(host.to_string(), Value::String(helper.to_string()));
    }
    if let Some(auths) = root.get_mut("auths").and_then(Value::as_object_mut) {
        for host in hosts {
            auths.remove(*host);
        }
    }
    write_atomically(&path, &root, Durability::Synced)
}

/// The directory an auth file is in.
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The name of `path`'s file, for the lock and temporary files beside it.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "auth.json".into())
}

/// Removes from the auth file `path` (read as `format`) the login of every key in `auths` that
/// `selected` accepts, erasing it from its credential helper too; returns the keys removed. A
/// missing file removes nothing.
pub(crate) fn remove_logins_in(
    path: &Path,
    format: Format,
    selected: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, AuthFileError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    warn_if_unsafe(parent(path));
    let _lock = lock(path)?;
    let mut root = read(path)?;
    let keys: Vec<String> = root
        .get("auths")
        .and_then(Value::as_object)
        .map(|a| a.keys().filter(|k| selected(k)).cloned().collect())
        .unwrap_or_default();
    for key in &keys {
        if let Some(helper) = helper_for(&root, key, format) {
            // A helper that no longer has it is not a reason to keep the entry.
            if let Err(e) = helper_client::erase(&helper, key) {
                tracing::warn!("{e}");
            }
        }
    }
    if keys.is_empty() {
        return Ok(keys);
    }
    if let Some(auths) = root.get_mut("auths").and_then(Value::as_object_mut) {
        for key in &keys {
            auths.remove(key);
        }
    }
    write_atomically(path, &root, Durability::Synced)?;
    Ok(keys)
}

/// Creates Docker's config directory (0700) if it is missing.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), AuthFileError> {
    if dir.is_dir() {
        return Ok(());
    }
    crate::fs::create_private_dir(dir).map_err(|e| AuthFileError::Write {
        path: dir.to_path_buf(),
        source: e,
    })
}

/// Logs a warning for each reason not to trust `dir` (see [`private::dir_problems`]).
fn warn_if_unsafe(dir: &Path) {
    for problem in private::dir_problems(dir) {
        tracing::warn!("{problem}");
    }
}

/// Takes the exclusive lock on `<auth file>.lock` beside it (`config.json.lock` for Docker's),
/// waiting up to [`LOCK_TIMEOUT`].
///
/// A symlink there is refused, never followed: opening it with `create` would create (as root:
/// anywhere) whatever file it points to. On unix `O_NOFOLLOW` closes the race between the
/// check and the open.
fn lock(auth_file: &Path) -> Result<File, AuthFileError> {
    let path = parent(auth_file).join(format!("{}.lock", file_name(auth_file)));
    crate::fs::lock(&path, LOCK_TIMEOUT).map_err(|e| match e {
        LockError::Symlink => AuthFileError::Lock {
            path: path.clone(),
            reason: "it is a symbolic link, and ecr-login does not follow one there (it could make this process create or overwrite the file it points to); likely cause: something else made it, or another user planted it; fix: remove it (ecr-login makes a plain file) and check who else can write to the directory".into(),
        },
        LockError::TimedOut(_) => AuthFileError::Lock {
            path: path.clone(),
            reason: e.to_string(),
        },
        LockError::Io(source) => AuthFileError::Write {
            path: path.clone(),
            source,
        },
    })
}

/// The config as a JSON object; a missing or empty file is an empty object. Anything but a
/// regular file of at most [`MAX_CONFIG_SIZE`] is refused without reading it: a FIFO would
/// block the read for good, a device (a symlink to `/dev/zero`) never end it.
pub(crate) fn read(path: &Path) -> Result<Map<String, Value>, AuthFileError> {
    use std::io::Read;
    let read_error = |e| AuthFileError::Read {
        path: path.to_path_buf(),
        source: e,
    };
    // Non-blocking, so that opening a FIFO does not wait for a writer; then the file opened is
    // checked, not whatever the path names a moment later.
    let file = match private::open_nonblocking(OpenOptions::new().read(true)).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) if fs::metadata(path).is_ok_and(|m| m.is_dir()) => {
            tracing::debug!("cannot open {}: {e}", path.display());
            return Err(not_a_config(path, "a directory, not a file".into()));
        }
        Err(e) => return Err(read_error(e)),
    };
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(not_a_config(path, file_kind(&meta)));
    }
    if meta.len() > MAX_CONFIG_SIZE {
        return Err(not_a_config(
            path,
            format!(
                "{} MiB, where a Docker config is a few KB (ecr-login reads at most {} MiB)",
                meta.len() >> 20,
                MAX_CONFIG_SIZE >> 20
            ),
        ));
    }
    // Sized to the file, so that one read takes it all (and one more sees its end).
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0) + 1);
    file.take(MAX_CONFIG_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_CONFIG_SIZE {
        return Err(not_a_config(
            path,
            format!("over {} MiB and still growing", MAX_CONFIG_SIZE >> 20),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
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

/// The largest config.json read: Docker's are a few KB, one with a thousand logins 200 KB.
const MAX_CONFIG_SIZE: u64 = 32 << 20;

fn not_a_config(path: &Path, what: String) -> AuthFileError {
    AuthFileError::NotAConfig {
        path: path.to_path_buf(),
        what,
    }
}

/// What a file that is not a regular file is, for messages.
fn file_kind(meta: &fs::Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO (named pipe), not a file".into();
        }
        if t.is_socket() {
            return "a socket, not a file".into();
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device, not a file".into();
        }
    }
    if meta.is_dir() {
        return "a directory, not a file".into();
    }
    "not a regular file".into()
}

/// Writes `root` to `path` through a 0600 temporary file in the same directory and a rename,
/// synced first as `durability` says. A symlinked config (dotfile managers do this) is written
/// through to its target.
fn write_atomically(
    path: &Path,
    root: &Map<String, Value>,
    durability: Durability,
) -> Result<(), AuthFileError> {
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).unwrap_or(path.to_path_buf()),
        _ => path.to_path_buf(),
    };
    let err = |e: std::io::Error| AuthFileError::Write {
        path: target.clone(),
        source: e,
    };
    let mut text = serde_json::to_string_pretty(root).map_err(|e| AuthFileError::Write {
        path: target.clone(),
        source: e.into(),
    })?;
    text.push('\n');
    // `.<file>.<pid>.<random>.tmp`: the pid lets a later run tell a killed writer's leftover.
    let prefix = format!(".{}.", file_name(&target));
    let how = crate::fs::Atomic {
        temp_prefix: &prefix,
        mode: 0o600,
        durability,
        keep_owner: true,
        sweep: true,
    };
    crate::fs::write_atomic(&target, text.as_bytes(), &how).map_err(err)
}

/// Owner-only permissions (0700 directories, 0600 files) where the OS has modes, ownership
/// and the directory checks; elsewhere (Windows) files keep the ACLs of the user's profile
/// directory they are written in.
#[cfg(unix)]
mod private {
    use std::fs::OpenOptions;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    use std::path::Path;

    /// Opening does not wait (a FIFO without a writer); reads of a regular file are unchanged.
    pub(super) fn open_nonblocking(o: &mut OpenOptions) -> &mut OpenOptions {
        o.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
    }

    /// Why `dir` should not hold registry logins: writable by group or others (who could then
    /// replace config.json, or plant links for this process to follow), or owned by another
    /// user (who can read and replace the logins) other than root.
    pub(super) fn dir_problems(dir: &Path) -> Vec<String> {
        let Ok(meta) = std::fs::metadata(dir) else {
            return Vec::new();
        };
        problems(
            dir,
            meta.mode(),
            meta.uid(),
            rustix::process::geteuid().as_raw(),
        )
    }

    pub(super) fn problems(dir: &Path, mode: u32, owner: u32, euid: u32) -> Vec<String> {
        let mut out = Vec::new();
        let shown = dir.display();
        if mode & 0o022 != 0 {
            let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
                (true, true) => "group- and world-writable",
                (true, false) => "group-writable",
                _ => "world-writable",
            };
            out.push(format!(
                "the Docker config directory {shown} is {who} (mode {:o}): other users can replace config.json and the registry logins in it; fix: chmod go-w {shown}, or use a private directory (--docker-config / DOCKER_CONFIG)",
                mode & 0o7777
            ));
        }
        if owner != euid && owner != 0 {
            out.push(format!(
                "the Docker config directory {shown} is owned by uid {owner}, not by this process's user (uid {euid}): that user can read and replace the registry logins written there; fix: use a directory of your own (--docker-config / DOCKER_CONFIG), or chown it"
            ));
        }
        out
    }
}

#[cfg(not(unix))]
mod private {
    use std::fs::OpenOptions;
    use std::path::Path;

    pub(crate) fn open_nonblocking(o: &mut OpenOptions) -> &mut OpenOptions {
        o
    }

    pub(crate) fn dir_problems(_: &Path) -> Vec<String> {
        Vec::new()
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

    fn login(pw: &Secret) -> [Login<'_>; 1] {
        [Login {
            host: "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            username: "AWS",
            password: pw,
        }]
    }

    #[test]
    fn a_rewrite_is_synced_only_when_the_old_file_holds_something_else() {
        let pw = Secret::new("durability-password-1");
        let ours = login(&pw);
        let host = ours[0].host;
        let file = |json: &str| -> Map<String, Value> { serde_json::from_str(json).unwrap() };
        for (json, synced) in [
            ("{}", false),
            (r#"{"auths":null}"#, false),
            (
                &format!(r#"{{"auths":{{"{host}":{{"auth":"b2xkOm9sZA=="}}}}}}"#),
                false,
            ),
            (r#"{"auths":{"registry.example":{"auth":"eDp5"}}}"#, true),
            (r#"{"credsStore":"desktop"}"#, true),
            (
                &format!(r#"{{"auths":{{"{host}":{{}}}},"proxies":{{}}}}"#),
                true,
            ),
        ] {
            assert_eq!(
                durability_when(holds_more_than(&file(json), &ours)),
                if synced {
                    Durability::Synced
                } else {
                    Durability::NothingToLose
                },
                "{json}"
            );
        }
    }

    #[test]
    fn an_unsynced_rewrite_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = Secret::new("unsynced-password-1");
        let second = Secret::new("unsynced-password-2");
        for pw in [&first, &second] {
            // The same registry again: nothing else to lose, so no sync (and a swap on Linux).
            store_logins(dir.path(), &login(pw)).unwrap();
        }
        let path = config_path(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode("AWS:unsynced-password-2");
        assert!(text.contains(&auth), "{text}");
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["config.json", "config.json.lock"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn null_auths_is_an_empty_object() {
        let dir = tempfile::tempdir().unwrap();
        let path = config_path(dir.path());
        fs::write(&path, r#"{"auths":null,"psFormat":"x"}"#).unwrap();
        let pw = Secret::new("the-password-4");
        store_logins(dir.path(), &login(&pw)).unwrap();
        let v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert!(v["auths"]["123456789012.dkr.ecr.us-east-1.amazonaws.com"]["auth"].is_string());
        assert_eq!(v["psFormat"], "x");
        // Removing from a null auths removes nothing and leaves the file alone.
        fs::write(&path, r#"{"auths":null}"#).unwrap();
        assert!(
            remove_logins_in(&config_path(dir.path()), Format::Docker, &|_| true)
                .unwrap()
                .is_empty()
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), r#"{"auths":null}"#);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_lock_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        let lock = dir.path().join("config.json.lock");
        std::os::unix::fs::symlink(&victim, &lock).unwrap();
        let pw = Secret::new("the-password-5");
        let e = store_logins(dir.path(), &login(&pw)).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(!victim.exists(), "the lock's symlink was followed");
        assert!(!config_path(dir.path()).exists());
        // Through an existing target too: it is neither truncated nor used.
        fs::write(&victim, "keep").unwrap();
        fs::write(config_path(dir.path()), r#"{"auths":{"x":{}}}"#).unwrap();
        assert!(remove_logins_in(&config_path(dir.path()), Format::Docker, &|_| true).is_err());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    }

    #[cfg(unix)]
    #[test]
    fn a_rewritten_config_keeps_its_owner() {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            rustix::process::geteuid().as_raw(),
            0,
            "this test gives a file to another user, which needs root: run it as root (scripts/test.sh and CI do)"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = config_path(dir.path());
        fs::write(&path, "{}").unwrap();
        std::os::unix::fs::chown(&path, Some(4242), Some(4343)).unwrap();
        let pw = Secret::new("the-password-6");
        store_logins(dir.path(), &login(&pw)).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (4242, 4343));
        assert!(fs::read_to_string(&path).unwrap().contains("dkr.ecr"));
        // A new file is the caller's.
        let fresh = tempfile::tempdir().unwrap();
        store_logins(fresh.path(), &login(&pw)).unwrap();
        assert_eq!(fs::metadata(config_path(fresh.path())).unwrap().uid(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn unsafe_directories_are_named() {
        let d = Path::new("/x/.docker");
        assert!(private::problems(d, 0o40700, 1000, 1000).is_empty());
        assert!(private::problems(d, 0o40755, 0, 1000).is_empty());
        let p = private::problems(d, 0o40777, 1000, 1000);
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("group- and world-writable"), "{p:?}");
        assert!(p[0].contains("chmod go-w /x/.docker"), "{p:?}");
        assert!(private::problems(d, 0o40770, 1000, 1000)[0].contains("group-writable"));
        assert!(private::problems(d, 0o41703, 1000, 1000)[0].contains("world-writable"));
        let p = private::problems(d, 0o40700, 1001, 1000);
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("owned by uid 1001"), "{p:?}");
        assert_eq!(private::problems(d, 0o40777, 1001, 0).len(), 2);

        let dir = tempfile::tempdir().unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let p = private::dir_problems(dir.path());
        assert!(p.iter().any(|m| m.contains("world-writable")), "{p:?}");
    }

    /// A pid no process has now: a child that has exited and been reaped.
    #[cfg(unix)]
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[cfg(unix)]
    #[test]
    fn stale_temp_files_of_ours_are_swept_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let dead = dead_pid();
        let old = std::time::SystemTime::now() - Duration::from_secs(11 * 60);
        let put = |name: &str, mtime: Option<std::time::SystemTime>| {
            let p = d.join(name);
            fs::write(&p, "{\"auths\":{}}").unwrap();
            if let Some(t) = mtime {
                File::options()
                    .write(true)
                    .open(&p)
                    .unwrap()
                    .set_modified(t)
                    .unwrap();
            }
            p
        };
        let swept = [
            put(&format!(".config.json.{dead}.AbC123.tmp"), None),
            put(".config.json.Old123.tmp", Some(old)),
            put(".config.json.4242.Old456.tmp", Some(old)),
        ];
        let mut kept = vec![
            put(
                &format!(".config.json.{}.Live12.tmp", std::process::id()),
                None,
            ),
            put(".config.json.Fresh1.tmp", None),
            put(".tmp-config.json123456", Some(old)),
            put("config.json.bak", Some(old)),
            put(".config.json.tmp", Some(old)),
            put(".config.jsonx.1.tmp", Some(old)),
        ];
        let subdir = d.join(format!(".config.json.{dead}.dir.tmp"));
        fs::create_dir(&subdir).unwrap();
        kept.push(subdir);
        let link = d.join(format!(".config.json.{dead}.lnk.tmp"));
        std::os::unix::fs::symlink(d.join("config.json.bak"), &link).unwrap();
        kept.push(link);

        let pw = Secret::new("the-password-7");
        store_logins(d, &login(&pw)).unwrap();
        for p in &swept {
            assert!(!p.exists(), "{} was not swept", p.display());
        }
        for p in &kept {
            assert!(
                fs::symlink_metadata(p).is_ok(),
                "{} was removed",
                p.display()
            );
        }
        // And the write itself left nothing behind.
        let ours: Vec<String> = fs::read_dir(d)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(".config.json.") && n.ends_with(".tmp"))
            .collect();
        assert_eq!(ours.len(), 5, "{ours:?}");
    }

    #[test]
    fn a_podman_file_ignores_creds_store_and_has_its_own_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("containers/auth.json");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(
            &path,
            r#"{"credsStore":"no-such-helper","auths":{"quay.io":{"auth":"eDp5"}}}"#,
        )
        .unwrap();
        let pw = Secret::new("the-password-7");
        store_logins_in(&path, Format::Containers, &login(&pw)).unwrap();
        let v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert!(v["auths"]["123456789012.dkr.ecr.us-east-1.amazonaws.com"]["auth"].is_string());
        assert_eq!(v["auths"]["quay.io"]["auth"], "eDp5");
        assert_eq!(v["credsStore"], "no-such-helper");
        assert!(dir.path().join("containers/auth.json.lock").is_file());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // The same file read the Docker way goes to the helper, which fails: nothing written.
        let e = store_logins_in(&path, Format::Docker, &login(&pw)).unwrap_err();
        assert!(matches!(e, AuthFileError::Helper { .. }), "{e}");
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

    /// Hostile config.json files, kept as regression cases: each is refused with a clear error
    /// and left as it was, at once (a FIFO without a writer would block a plain read for good).
    #[cfg(unix)]
    #[test]
    fn hostile_config_files_are_refused_untouched() {
        let pw = Secret::new("the-password-8");
        let refused = |dir: &Path, want: &str| {
            let e = store_logins(dir, &login(&pw)).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
            let e = remove_logins_in(&config_path(dir), Format::Docker, &|_| true)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{want}: {e}");
        };
        let dir = tempfile::tempdir().unwrap();
        let path = config_path(dir.path());

        let made = std::process::Command::new("mkfifo").arg(&path).status();
        assert!(made.unwrap().success(), "mkfifo");
        refused(dir.path(), "is a FIFO (named pipe), not a file");
        fs::remove_file(&path).unwrap();

        fs::create_dir(&path).unwrap();
        refused(dir.path(), "is a directory, not a file");
        fs::remove_dir(&path).unwrap();

        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        refused(dir.path(), "is a device, not a file");
        fs::remove_file(&path).unwrap();

        let big = File::create(&path).unwrap();
        big.set_len(100 << 20).unwrap();
        refused(dir.path(), "is 100 MiB, where a Docker config is a few KB");
        assert_eq!(fs::metadata(&path).unwrap().len(), 100 << 20);

        for (text, want) in [
            (&b"\xff\xfe{}"[..], "not valid JSON"),
            (b"{\"auths\": \"\xff\"}", "not valid JSON"),
            (b"[]", "the top level is not an object"),
            (b"null", "the top level is not an object"),
            (b"{\"auths\": []}", "\"auths\" is not an object"),
            (b"{\"auths\": {}} trailing", "not valid JSON"),
            (b"{\"a\": 1, \"a\": 2", "not valid JSON"),
        ] {
            fs::write(&path, text).unwrap();
            let e = store_logins(dir.path(), &login(&pw))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{want}: {e}");
            assert_eq!(fs::read(&path).unwrap(), text, "{want}: changed");
        }
        // Nested past serde_json's depth limit: an error, not a stack overflow.
        let deep = format!("{{\"x\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        fs::write(&path, &deep).unwrap();
        let e = store_logins(dir.path(), &login(&pw))
            .unwrap_err()
            .to_string();
        assert!(e.contains("recursion limit"), "{e}");
    }

    /// Found by the properties below: a float other tools left came back rounded.
    #[test]
    fn numbers_survive_a_rewrite_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = config_path(dir.path());
        let numbers = r#"{"a":-2.4037819044804887e-51,"b":0.1,"c":1e300,"d":18446744073709551615,"e":-9223372036854775808,"f":5e-324}"#;
        fs::write(&path, format!(r#"{{"n":{numbers}}}"#)).unwrap();
        let pw = Secret::new("the-password-9");
        store_logins(dir.path(), &login(&pw)).unwrap();
        let after: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let want: Value = serde_json::from_str(numbers).unwrap();
        assert_eq!(after["n"], want);
        assert_eq!(after["n"]["a"].as_f64(), Some(-2.4037819044804887e-51));
    }

    /// Properties (proptest: 256 cases in `cargo test`, `PROPTEST_CASES` or `scripts/fuzz.sh`
    /// for more; failures are kept in `proptest-regressions/` and replayed first).
    mod props {
        use super::*;
        use proptest::prelude::*;

        /// JSON values of every type, nested a little.
        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                "\\PC{0,12}".prop_map(Value::from),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                    prop::collection::btree_map("\\PC{0,6}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// A config.json as other tools leave them: any keys and values, `auths` and
        /// `credHelpers` of any type (but no credential helper that would be run: their values
        /// are never strings).
        fn config() -> impl Strategy<Value = Map<String, Value>> {
            let not_a_string = || json_value().prop_filter("a helper name", |v| !v.is_string());
            (
                prop::collection::vec(("[a-zA-Z]{1,10}", json_value()), 0..6),
                proptest::option::of(prop_oneof![
                    Just(Value::Null),
                    prop::collection::btree_map("\\PC{0,20}", json_value(), 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                    json_value(),
                ]),
                proptest::option::of(not_a_string()),
                proptest::option::of(
                    prop::collection::btree_map("\\PC{0,20}", not_a_string(), 0..3)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ),
            )
                .prop_map(|(others, auths, store, helpers)| {
                    let mut m = Map::new();
                    for (k, v) in others {
                        m.insert(k, v);
                    }
                    if let Some(a) = auths {
                        m.insert("auths".into(), a);
                    }
                    if let Some(s) = store {
                        m.insert("credsStore".into(), s);
                    }
                    if let Some(h) = helpers {
                        m.insert("credHelpers".into(), h);
                    }
                    m
                })
        }

        proptest! {
            #[test]
            fn any_bytes_are_read_or_refused_with_a_reason(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
                let dir = tempfile::tempdir().unwrap();
                let path = config_path(dir.path());
                fs::write(&path, &bytes).unwrap();
                match read(&path) {
                    Ok(m) => prop_assert!(m.is_empty() || serde_json::from_slice::<Value>(&bytes).is_ok()),
                    Err(e) => {
                        prop_assert!(matches!(e, AuthFileError::Parse { .. }), "{e}");
                        prop_assert!(e.to_string().contains("config.json"));
                    }
                }
            }

            #[test]
            fn any_text_is_read_or_refused_with_a_reason(text in "\\PC{0,200}|[{}\\[\\]\":,0-9a-z ]{0,200}") {
                let dir = tempfile::tempdir().unwrap();
                let path = config_path(dir.path());
                fs::write(&path, &text).unwrap();
                if let Err(e) = read(&path) {
                    prop_assert!(matches!(e, AuthFileError::Parse { .. }), "{e}");
                }
            }

            #[test]
            fn a_login_keeps_every_other_key_or_changes_nothing(root in config()) {
                let dir = tempfile::tempdir().unwrap();
                let path = config_path(dir.path());
                let before = serde_json::to_string_pretty(&root).unwrap();
                fs::write(&path, &before).unwrap();
                let pw = Secret::new("the-password-prop");
                let host = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
                match store_logins(dir.path(), &login(&pw)) {
                    Ok(()) => {
                        let after: Map<String, Value> =
                            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
                        for (k, v) in &root {
                            if k != "auths" {
                                prop_assert_eq!(after.get(k), Some(v), "{}", k);
                            }
                        }
                        let auths = after["auths"].as_object().unwrap();
                        prop_assert!(auths[host]["auth"].is_string());
                        if let Some(Value::Object(old)) = root.get("auths") {
                            for (h, v) in old {
                                if h != host {
                                    prop_assert_eq!(auths.get(h), Some(v));
                                }
                            }
                        }
                        let keys: Vec<&String> = after.keys().filter(|k| *k != "auths").collect();
                        let want: Vec<&String> = root.keys().filter(|k| *k != "auths").collect();
                        prop_assert_eq!(keys, want, "the order of the keys changed");
                    }
                    Err(e) => {
                        let auths_ok = matches!(root.get("auths"), None | Some(Value::Null | Value::Object(_)));
                        prop_assert!(!auths_ok, "refused a config it could merge: {e}");
                        prop_assert!(e.to_string().contains("\"auths\" is not an object"), "{e}");
                        prop_assert_eq!(fs::read_to_string(&path).unwrap(), before);
                    }
                }
            }
        }
    }
}
