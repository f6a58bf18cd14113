//! The on-disk token cache: one JSON file per token in a private directory (0700, entries
//! 0600), written to a temporary file and renamed, so a reader (or a process killed mid-write)
//! never sees half an entry; a lock file per key makes concurrent misses fetch once.
//!
//! The directory must be this user's alone: one that is a symbolic link, belongs to another
//! user, or lets others in (any group or other permission bit) is never adopted. A directory
//! named with `--cache-dir` like that is an error; the default one, if it is ours, is emptied
//! of our files and made private before use (another user may have planted entries while it
//! was open), else the cache is off. An entry is read only if it is a regular file (opened
//! without following symbolic links), ours, and readable by us alone, and at most
//! [`MAX_ENTRY`] bytes long: anything else is a miss, with a warning.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{Entry, Lookup, Stored, TokenKey};
use crate::error::UsageError;
use crate::secret::Secret;

/// How long a miss waits for another process fetching the same token.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(30);

/// An entry is far smaller (an ECR token is about 2 KiB); a larger file is not ours.
pub(crate) const MAX_ENTRY: u64 = 64 << 10;

/// Our temporary files: `.entry.<pid>.<random>.tmp`, or `.entry.<random>.tmp` as older
/// releases named them.
const TEMP_PREFIX: &str = ".entry.";
const TEMP_SUFFIX: &str = ".tmp";

/// The cache in one directory.
#[derive(Debug, Clone)]
pub(crate) struct FileCache {
    dir: PathBuf,
    margin: Duration,
}

impl FileCache {
    /// The cache in `dir` (created 0700 if missing), ready to read and write. A directory that
    /// is not this user's alone is an error when it was `named` (`--cache-dir`); the default
    /// one is emptied and made private if it is ours, else `None` with a warning (no cache).
    pub(crate) fn open(
        dir: &Path,
        margin: Duration,
        named: bool,
    ) -> Result<Option<FileCache>, UsageError> {
        let refuse = |problem: String| {
            if named {
                Err(UsageError::Other(format!(
                    "the token cache directory {} (--cache-dir, ECR_LOGIN_CACHE_DIR) {problem}: a cache others can reach hands them tokens, or serves theirs; fix: point --cache-dir at a new directory (ecr-login creates it 0700), or remove this one's files and `chmod 700` it",
                    dir.display()
                )))
            } else {
                tracing::warn!("token cache disabled: {} {problem}", dir.display());
                Ok(None)
            }
        };
        if let Err(e) = private::create_dir(dir) {
            return refuse(format!("cannot be created: {e}"));
        }
        match private::state(dir) {
            private::State::Private => {}
            private::State::Refused(problem) => return refuse(problem),
            private::State::Open(mode) if named => {
                return refuse(format!("has mode {mode:o}: others may read or write it"))
            }
            private::State::Open(mode) => {
                let removed = empty(dir);
                if let Err(e) = private::make_private(dir) {
                    return refuse(format!("has mode {mode:o}, and chmod 700 failed: {e}"));
                }
                tracing::warn!(
                    "the token cache directory {} had mode {mode:o} (others could read or plant entries): removed its {removed} entries and made it private (0700)",
                    dir.display()
                );
            }
        }
        crate::tempfiles::sweep(dir, TEMP_PREFIX, TEMP_SUFFIX);
        Ok(Some(FileCache {
            dir: dir.to_path_buf(),
            margin,
        }))
    }

    /// The cache in `dir` as it is, to read only (`status`): nothing is created, changed or
    /// swept. `None`, with a warning, when the directory is not this user's alone.
    pub(crate) fn inspect(dir: &Path) -> Option<FileCache> {
        match private::state(dir) {
            private::State::Private => Some(FileCache {
                dir: dir.to_path_buf(),
                margin: Duration::ZERO,
            }),
            private::State::Refused(problem) => {
                tracing::warn!(
                    "not reading the token cache {}: it {problem}",
                    dir.display()
                );
                None
            }
            private::State::Open(mode) => {
                tracing::warn!(
                    "not reading the token cache {}: it has mode {mode:o} (others may read or write it)",
                    dir.display()
                );
                None
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, key: &TokenKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.digest()))
    }

    /// What the cache holds for `key` now. Never fails: anything unreadable is a miss.
    pub(crate) fn get(&self, key: &TokenKey) -> Lookup {
        let lookup = self.read(key);
        super::record(&lookup);
        lookup
    }

    fn read(&self, key: &TokenKey) -> Lookup {
        let path = self.entry_path(key);
        let bytes = match read_entry(&path) {
            Ok(Some(b)) => b,
            Ok(None) => return Lookup::Miss,
            Err(why) => {
                tracing::warn!("ignoring the cache entry {}: {why}", path.display());
                return Lookup::Miss;
            }
        };
        match Stored::parse(&bytes, Some(key)) {
            Some(e) => Lookup::judge(e, key, SystemTime::now(), self.margin),
            None => {
                tracing::debug!(
                    "ignoring the corrupt cache entry {} (it will be replaced)",
                    path.display()
                );
                Lookup::Miss
            }
        }
    }

    /// Stores `entry` under `key`. A failure is a warning: the login itself succeeded.
    pub(crate) fn put(&self, key: &TokenKey, entry: &Entry) {
        if let Err(e) = self.try_put(key, entry) {
            tracing::warn!(
                "could not write the token cache in {}: {e}",
                self.dir.display()
            );
        }
    }

    fn try_put(&self, key: &TokenKey, entry: &Entry) -> std::io::Result<()> {
        let text = serde_json::to_string(&Stored::from_entry(key, entry))?;
        let how = crate::fs::Atomic {
            temp_prefix: TEMP_PREFIX,
            mode: 0o600,
            durability: crate::fs::Durability::Synced,
            keep_owner: false,
            // Swept when the cache opened.
            sweep: false,
        };
        crate::fs::write_atomic(&self.entry_path(key), text.as_bytes(), &how)
    }

    /// Takes `key`'s lock, waiting at most `wait`.
    pub(crate) fn lock_within(&self, key: &TokenKey, wait: Duration) -> Option<File> {
        let path = self.dir.join(format!("{}.lock", key.digest()));
        crate::fs::lock(&path, wait)
            .inspect_err(|e| tracing::warn!("cannot lock {}: {e}", path.display()))
            .ok()
    }

    /// Whether this is the first time `what` is asked in this directory (the job's, on CI: so
    /// once per job); a marker file is left. `true` when the marker cannot be made.
    pub(crate) fn first_time(&self, what: &str) -> bool {
        crate::fs::create_marker(&self.dir.join(format!(".once-{what}"))).unwrap_or(true)
    }

    /// Every readable entry (for `status` and the helper's `list`), read as [`FileCache::get`]
    /// reads one: ours, private, not through a link, with times that parse.
    pub(crate) fn entries(&self) -> Vec<Entry> {
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<Entry> = dir
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| read_entry(&e.path()).ok().flatten())
            .filter_map(|bytes| Stored::parse(&bytes, None))
            .collect();
        out.sort_by(|a, b| a.registry.cmp(&b.registry));
        out
    }
}

/// Removes our files from `dir` (entries, locks, temporary files); how many.
fn empty(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.ends_with(".json")
                || name.ends_with(".lock")
                || (name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX))
        })
        .filter(|e| crate::fs::remove(&e.path()).is_ok())
        .count()
}

/// An entry's bytes: `None` when there is none; the reason when the file is not one to trust
/// (a link, not a regular file, another user's, readable by others, too large).
fn read_entry(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let file = match private::open_entry(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    private::trusted(&file)?;
    let mut bytes = Vec::new();
    (&file)
        .take(MAX_ENTRY + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_ENTRY {
        return Err(format!("it is over {} KiB", MAX_ENTRY >> 10));
    }
    Ok(Some(bytes))
}

/// The fleet's key from its file (`ECR_LOGIN_CACHE_KEY_FILE`), which must be ours and readable
/// by us alone: whoever reads it can read and write every entry of the fleet.
pub(crate) fn read_key_file(path: &Path) -> Result<Secret, String> {
    let file = private::open_entry(path).map_err(|e| format!("cannot read it: {e}"))?;
    private::trusted(&file).map_err(|why| {
        format!(
            "{why}; whoever can read it can read and write every token of the fleet: `chown` it to this user and `chmod 600` it"
        )
    })?;
    let mut text = String::new();
    (&file)
        .take(4096)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read it: {e}"))?;
    Ok(Secret::new(text))
}

/// Owner-only permissions, where the OS has modes.
#[cfg(unix)]
mod private {
    use std::fs::{File, OpenOptions};
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    use std::path::Path;

    pub(super) fn create_dir(dir: &Path) -> std::io::Result<()> {
        crate::fs::create_private_dir(dir)
    }

    /// How a cache directory stands.
    pub(super) enum State {
        /// A directory of this user's, with no group or other permission.
        Private,
        /// This user's, but others have permissions on it (the mode's permission bits).
        Open(u32),
        /// Not one to use at all: why.
        Refused(String),
    }

    pub(super) fn state(dir: &Path) -> State {
        let meta = match std::fs::symlink_metadata(dir) {
            Ok(m) => m,
            Err(e) => return State::Refused(format!("cannot be read: {e}")),
        };
        if meta.file_type().is_symlink() {
            return State::Refused("is a symbolic link".into());
        }
        if !meta.is_dir() {
            return State::Refused("is not a directory".into());
        }
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return State::Refused(format!(
                "belongs to uid {}, not to this user (uid {me})",
                meta.uid()
            ));
        }
        match meta.mode() & 0o7777 {
            mode if mode & 0o077 != 0 => State::Open(mode),
            _ => State::Private,
        }
    }

    pub(super) fn make_private(dir: &Path) -> std::io::Result<()> {
        crate::fs::set_mode(dir, 0o700)
    }

    /// Opens `path` to read, never through a symbolic link, and without blocking on a FIFO.
    pub(super) fn open_entry(path: &Path) -> std::io::Result<File> {
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        OpenOptions::new()
            .read(true)
            .custom_flags(flags.bits() as i32)
            .open(path)
    }

    /// Why `file` is not one of ours to trust, if it is not: a regular file, this user's,
    /// with no group or other permission.
    pub(super) fn trusted(file: &File) -> Result<(), String> {
        let meta = file.metadata().map_err(|e| e.to_string())?;
        if !meta.is_file() {
            return Err("it is not a regular file".into());
        }
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(format!(
                "it belongs to uid {}, not to this user (uid {me})",
                meta.uid()
            ));
        }
        if meta.mode() & 0o077 != 0 {
            return Err(format!(
                "it has mode {:o}: others may read it",
                meta.mode() & 0o7777
            ));
        }
        Ok(())
    }
}

#[cfg(not(unix))]
mod private {
    use std::fs::File;
    use std::path::Path;

    pub(crate) fn create_dir(dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    pub(crate) enum State {
        Private,
        // Never made here (no modes), but matched by the shared code.
        #[allow(dead_code)]
        Open(u32),
        Refused(String),
    }

    pub(crate) fn state(dir: &Path) -> State {
        if dir.is_dir() {
            State::Private
        } else {
            State::Refused("is not a directory".into())
        }
    }

    pub(crate) fn make_private(_dir: &Path) -> std::io::Result<()> {
        Ok(())
    }

    pub(crate) fn open_entry(path: &Path) -> std::io::Result<File> {
        File::open(path)
    }

    pub(crate) fn trusted(file: &File) -> Result<(), String> {
        match file.metadata() {
            Ok(m) if m.is_file() => Ok(()),
            Ok(_) => Err("it is not a regular file".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    fn key(s: &str) -> TokenKey {
        TokenKey::raw(s, HOST)
    }

    fn open(d: &Path) -> FileCache {
        FileCache::open(d, Duration::from_secs(3600), false)
            .unwrap()
            .unwrap()
    }

    fn entry(secs: u64) -> Entry {
        Entry {
            registry: HOST.into(),
            username: "AWS".into(),
            password: Secret::new("file-cache-password"),
            expires_at: SystemTime::now() + Duration::from_secs(secs),
            identity: Some("arn:aws:sts::123456789012:assumed-role/ci/s".into()),
            sub: None,
        }
    }

    #[test]
    fn put_then_get_and_only_for_that_key() {
        let dir = tempfile::tempdir().unwrap();
        let c = open(&dir.path().join("c"));
        c.put(&key("k1"), &entry(7200));
        assert!(
            matches!(c.get(&key("k1")), Lookup::Fresh(e) if e.password.expose() == "file-cache-password")
        );
        assert!(matches!(c.get(&key("k2")), Lookup::Miss));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(c.dir()), 0o700);
            assert_eq!(mode(&c.entry_path(&key("k1"))), 0o600);
        }
        assert_eq!(c.entries().len(), 1);
    }

    #[test]
    fn a_corrupt_entry_is_a_miss_and_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let c = open(dir.path());
        let path = c.entry_path(&key("k"));
        fs::write(&path, "{not json").unwrap();
        #[cfg(unix)]
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        assert!(matches!(c.get(&key("k")), Lookup::Miss));
        c.put(&key("k"), &entry(7200));
        assert!(matches!(c.get(&key("k")), Lookup::Fresh(_)));
    }

    #[cfg(unix)]
    #[test]
    fn stale_temp_entries_of_ours_are_swept_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let dead = {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            pid
        };
        let old = SystemTime::now() - Duration::from_secs(11 * 60);
        let put = |name: &str, mtime: Option<SystemTime>| {
            let p = d.join(name);
            fs::write(&p, "{}").unwrap();
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
            put(&format!(".entry.{dead}.AbC123.tmp"), None),
            put(".entry.Old123.tmp", Some(old)),
        ];
        let kept = [
            put(&format!(".entry.{}.Live12.tmp", std::process::id()), None),
            put(".entry.Fresh1.tmp", None),
            put("0123abcd.json", Some(old)),
            put("0123abcd.lock", Some(old)),
            put("notes.tmp", Some(old)),
        ];
        open(d);
        for p in &swept {
            assert!(!p.exists(), "{} was not swept", p.display());
        }
        for p in &kept {
            assert!(p.exists(), "{} was removed", p.display());
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_shared_directory_is_emptied_or_refused_never_adopted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let c = open(d);
        c.put(&key("k"), &entry(7200));
        fs::set_permissions(d, fs::Permissions::from_mode(0o777)).unwrap();
        // Named with --cache-dir: an error that says what to do.
        let e = FileCache::open(d, DEFAULT_MARGIN_FOR_TESTS, true).unwrap_err();
        assert!(e.to_string().contains("mode 777"), "{e}");
        assert!(e.to_string().contains("chmod 700"), "{e}");
        // The default one: emptied, then private.
        let c = FileCache::open(d, DEFAULT_MARGIN_FOR_TESTS, false)
            .unwrap()
            .unwrap();
        assert!(matches!(c.get(&key("k")), Lookup::Miss));
        assert_eq!(c.entries().len(), 0);
        let mode = fs::metadata(d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn an_entry_through_a_link_or_readable_by_others_is_a_miss() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let c = open(&dir.path().join("c"));
        c.put(&key("k"), &entry(7200));
        let path = c.entry_path(&key("k"));
        assert!(matches!(c.get(&key("k")), Lookup::Fresh(_)));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(c.get(&key("k")), Lookup::Miss));
        assert_eq!(c.entries().len(), 0);
        // A link to a good entry elsewhere is not followed.
        let elsewhere = dir.path().join("planted.json");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::rename(&path, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert!(matches!(c.get(&key("k")), Lookup::Miss));
        assert_eq!(c.entries().len(), 0);
        // A FIFO does not block the reader.
        fs::remove_file(&path).unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &path,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        assert!(matches!(c.get(&key("k")), Lookup::Miss));
    }

    #[cfg(unix)]
    #[test]
    fn inspecting_changes_nothing() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("c");
        open(&d).put(&key("k"), &entry(7200));
        let stale_tmp = d.join(".entry.Old123.tmp");
        fs::write(&stale_tmp, "{}").unwrap();
        File::options()
            .write(true)
            .open(&stale_tmp)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        assert_eq!(FileCache::inspect(&d).unwrap().entries().len(), 1);
        assert!(stale_tmp.exists(), "inspect swept a temporary file");
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(FileCache::inspect(&d).is_none());
        let mode = fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755, "inspect changed the mode");
        assert!(FileCache::inspect(&dir.path().join("absent")).is_none());
        assert!(!dir.path().join("absent").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key");
        fs::write(&p, "k").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_key_file(&p).unwrap_err();
        assert!(e.contains("mode 644") && e.contains("chmod 600"), "{e}");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_key_file(&p).unwrap().expose(), "k");
    }

    const DEFAULT_MARGIN_FOR_TESTS: Duration = super::super::DEFAULT_MARGIN;
}
