//! The on-disk token cache: one JSON file per token in a private directory (0700, entries
//! 0600), written to a temporary file and renamed, so a reader (or a process killed mid-write)
//! never sees half an entry; a lock file per key makes concurrent misses fetch once.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::{Entry, Lookup, Stored, TokenKey};

/// How long a miss waits for another process fetching the same token.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Our temporary files: `.entry.<pid>.<random>.tmp` (before the pid was in the name:
/// `.entry.<random>.tmp`).
const TEMP_PREFIX: &str = ".entry.";
const TEMP_SUFFIX: &str = ".tmp";

/// The cache in one directory.
#[derive(Debug, Clone)]
pub struct FileCache {
    dir: PathBuf,
    margin: Duration,
}

impl FileCache {
    /// The cache in `dir` (created 0700 if missing). `None`, with a warning, when the directory
    /// cannot be made or is not private to this user: a cache others can read hands them tokens.
    pub fn open(dir: &Path, margin: Duration) -> Option<FileCache> {
        if let Err(e) = private::create_dir(dir) {
            tracing::warn!("token cache disabled: cannot create {}: {e}", dir.display());
            return None;
        }
        if let Some(problem) = private::problem(dir) {
            tracing::warn!("token cache disabled: {}: {problem}", dir.display());
            return None;
        }
        crate::tempfiles::sweep(dir, TEMP_PREFIX, TEMP_SUFFIX);
        Some(FileCache {
            dir: dir.to_path_buf(),
            margin,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, key: &TokenKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.digest()))
    }

    /// What the cache holds for `key` now. Never fails: anything unreadable is a miss.
    pub fn get(&self, key: &TokenKey) -> Lookup {
        let lookup = self.read(key);
        super::record(&lookup);
        lookup
    }

    fn read(&self, key: &TokenKey) -> Lookup {
        let path = self.entry_path(key);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
            Err(e) => {
                tracing::warn!("ignoring the cache entry {}: {e}", path.display());
                return Lookup::Miss;
            }
        };
        let entry = serde_json::from_str::<Stored>(&text)
            .ok()
            .and_then(|s| s.into_entry(Some(key)));
        match entry {
            Some(e) => Lookup::classify(e, SystemTime::now(), self.margin),
            None => {
                tracing::warn!(
                    "ignoring the corrupt cache entry {} (it will be replaced)",
                    path.display()
                );
                Lookup::Miss
            }
        }
    }

    /// Stores `entry` under `key`. A failure is a warning: the login itself succeeded.
    pub fn put(&self, key: &TokenKey, entry: &Entry) {
        if let Err(e) = self.try_put(key, entry) {
            tracing::warn!(
                "could not write the token cache in {}: {e}",
                self.dir.display()
            );
        }
    }

    fn try_put(&self, key: &TokenKey, entry: &Entry) -> std::io::Result<()> {
        let text = serde_json::to_string(&Stored::from_entry(key, entry))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(&crate::tempfiles::name_prefix(TEMP_PREFIX))
            .suffix(TEMP_SUFFIX)
            .tempfile_in(&self.dir)?;
        private::file(tmp.as_file())?;
        tmp.write_all(text.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(self.entry_path(key)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Takes `key`'s lock, waiting for another process that holds it (a fetch in flight), at
    /// most [`LOCK_WAIT`]. `None` when it cannot be had: go on without (a second fetch is
    /// harmless; a stuck one must not block Docker).
    pub fn lock(&self, key: &TokenKey) -> Option<File> {
        self.lock_within(key, LOCK_WAIT)
    }

    /// [`FileCache::lock`], waiting at most `wait`.
    pub fn lock_within(&self, key: &TokenKey, wait: Duration) -> Option<File> {
        let path = self.dir.join(format!("{}.lock", key.digest()));
        let file = match private::open_lock(&path) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("cannot lock {}: {e}", path.display());
                return None;
            }
        };
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Some(file),
                Err(fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(5 + fastrand::u64(0..15)));
                }
                Err(e) => {
                    tracing::warn!("cannot lock {}: {e:?}", path.display());
                    return None;
                }
            }
        }
    }

    /// Every readable entry (for `status` and the helper's `list`).
    pub fn entries(&self) -> Vec<Entry> {
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<Entry> = dir
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| fs::read_to_string(e.path()).ok())
            .filter_map(|t| serde_json::from_str::<Stored>(&t).ok())
            .filter_map(|s| s.into_entry(None))
            .collect();
        out.sort_by(|a, b| a.registry.cmp(&b.registry));
        out
    }
}

/// Owner-only permissions, where the OS has modes.
#[cfg(unix)]
mod private {
    use std::fs::{DirBuilder, File, OpenOptions, Permissions};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
    use std::path::Path;

    pub fn create_dir(dir: &Path) -> std::io::Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        DirBuilder::new().recursive(true).mode(0o700).create(dir)
    }

    /// Why `dir` is not private to this user, if it is not.
    pub fn problem(dir: &Path) -> Option<String> {
        let meta = match std::fs::symlink_metadata(dir) {
            Ok(m) => m,
            Err(e) => return Some(e.to_string()),
        };
        if meta.file_type().is_symlink() {
            return Some("it is a symbolic link".into());
        }
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Some(format!(
                "it belongs to uid {}, not to this user (uid {me})",
                meta.uid()
            ));
        }
        if meta.mode() & 0o077 != 0 {
            // Ours: make it private rather than give up.
            if let Err(e) = std::fs::set_permissions(dir, Permissions::from_mode(0o700)) {
                return Some(format!("others may read it, and chmod 700 failed: {e}"));
            }
        }
        None
    }

    pub fn file(f: &File) -> std::io::Result<()> {
        f.set_permissions(Permissions::from_mode(0o600))
    }

    pub fn open_lock(path: &Path) -> std::io::Result<File> {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)
    }
}

#[cfg(not(unix))]
mod private {
    use std::fs::{File, OpenOptions};
    use std::path::Path;

    pub fn create_dir(dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    pub fn problem(_dir: &Path) -> Option<String> {
        None
    }

    pub fn file(_f: &File) -> std::io::Result<()> {
        Ok(())
    }

    pub fn open_lock(path: &Path) -> std::io::Result<File> {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn key(s: &str) -> TokenKey {
        TokenKey(s.to_string())
    }

    fn entry(secs: u64) -> Entry {
        Entry {
            registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
            username: "AWS".into(),
            password: Secret::new("file-cache-password"),
            expires_at: SystemTime::now() + Duration::from_secs(secs),
            identity: Some("arn:aws:sts::123456789012:assumed-role/ci/s".into()),
        }
    }

    #[test]
    fn put_then_get_and_only_for_that_key() {
        let dir = tempfile::tempdir().unwrap();
        let c = FileCache::open(&dir.path().join("c"), Duration::from_secs(3600)).unwrap();
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
        let c = FileCache::open(dir.path(), Duration::from_secs(3600)).unwrap();
        fs::write(c.entry_path(&key("k")), "{not json").unwrap();
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
        assert!(FileCache::open(d, Duration::from_secs(3600)).is_some());
        for p in &swept {
            assert!(!p.exists(), "{} was not swept", p.display());
        }
        for p in &kept {
            assert!(p.exists(), "{} was removed", p.display());
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_shared_directory_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        assert!(FileCache::open(dir.path(), DEFAULT_MARGIN_FOR_TESTS).is_some());
        let mode = fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    const DEFAULT_MARGIN_FOR_TESTS: Duration = super::super::DEFAULT_MARGIN;
}
