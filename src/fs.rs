//! The one file-system toolkit every writer uses (as uv's `uv-fs`): a lock file taken with a
//! deadline, and an atomic write with a mode, a durability and a sweep of the temporary files
//! a killed writer left. Docker's config, the token cache's entries, the metrics file and the
//! per-registry rules are all written through it, so they share one policy: a reader never sees
//! half a file, concurrent writers never lose each other's work, nothing is opened through a
//! symbolic link where one would redirect the write. Clippy's `disallowed-methods` keeps raw
//! `std::fs` writes out of the rest of `src/` (see `clippy.toml`).

// The toolkit is where the raw calls live.
#![allow(clippy::disallowed_methods)]

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Why a lock could not be had.
#[derive(Debug)]
pub(crate) enum LockError {
    /// The lock file is a symbolic link: it is not followed (opening it with `create` would
    /// create, as root anywhere, the file it points to).
    Symlink,
    /// Another process held it for longer than the wait.
    TimedOut(Duration),
    Io(io::Error),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Symlink => f.write_str("it is a symbolic link, which is not followed"),
            LockError::TimedOut(wait) => write!(
                f,
                "another process has held it for over {} s",
                wait.as_secs()
            ),
            LockError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Takes the exclusive lock of the lock file `path` (created 0600 if missing, never through a
/// symbolic link), waiting at most `wait` for another process that holds it. Held until the
/// file is dropped.
pub(crate) fn lock(path: &Path, wait: Duration) -> Result<File, LockError> {
    let is_link = || std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link() {
        return Err(LockError::Symlink);
    }
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    let file = private::no_follow(&mut options).open(path).map_err(|e| {
        if is_link() {
            LockError::Symlink
        } else {
            LockError::Io(e)
        }
    })?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(5 + fastrand::u64(0..15)));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(LockError::TimedOut(wait)),
            Err(std::fs::TryLockError::Error(e)) => return Err(LockError::Io(e)),
        }
    }
}

/// Why a file could not be opened for appending.
#[derive(Debug)]
pub(crate) enum AppendError {
    /// The path is a symbolic link, and [`Append::no_follow`] said not to follow one.
    Symlink,
    /// The file belongs to another user, and [`Append::ours`] asked for one of ours (where
    /// files have owners).
    #[cfg_attr(not(unix), allow(dead_code))]
    NotOurs {
        owner: u32,
        me: u32,
    },
    Io(io::Error),
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendError::Symlink => f.write_str("it is a symbolic link, which is not followed"),
            AppendError::NotOurs { owner, me } => write!(
                f,
                "it is owned by uid {owner}, not by this process's user (uid {me})"
            ),
            AppendError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// How [`append`] opens its file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Append {
    /// A new file's mode, where the OS has modes.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(crate) mode: u32,
    /// Refuse a symbolic link at the path (`O_NOFOLLOW`) rather than write where it points.
    pub(crate) no_follow: bool,
    /// Refuse a file another user owns (checked on what was opened: nothing can be swapped in
    /// between).
    pub(crate) ours: bool,
}

/// Appends `bytes` to `path` (created with `how.mode` if missing) in one `write`, so that the
/// lines of concurrent appenders never interleave.
pub(crate) fn append(path: &Path, bytes: &[u8], how: &Append) -> Result<(), AppendError> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    private::append_options(&mut options, how);
    let mut file = match options.open(path) {
        Ok(f) => f,
        // O_NOFOLLOW's error (ELOOP on Linux and macOS, EMLINK on FreeBSD) says nothing useful.
        Err(_)
            if how.no_follow
                && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) =>
        {
            return Err(AppendError::Symlink)
        }
        Err(e) => return Err(AppendError::Io(e)),
    };
    if how.ours {
        private::check_ours(&file)?;
    }
    file.write_all(bytes).map_err(AppendError::Io)
}

/// Creates `path` (mode 0600) if it does not exist: `true` when this call made it (a marker
/// that something happened once), `false` when it was there already.
pub(crate) fn create_marker(path: &Path) -> io::Result<bool> {
    let mut options = OpenOptions::new();
    options.create_new(true).write(true);
    match private::no_follow(&mut options).open(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Makes `dir` (and its missing parents) 0700 where the OS has modes; nothing when something
/// is there already (what it is, is the caller's to check).
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(dir).is_ok() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    private::private_dir(&mut builder).create(dir)
}

/// Sets `path`'s mode to `mode` where the OS has modes.
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    private::set_path_mode(path, mode)
}

/// Removes the file `path`.
pub(crate) fn remove(path: &Path) -> io::Result<()> {
    std::fs::remove_file(path)
}

/// Makes `at` run `target`: a symbolic link where the OS has them, else a copy.
pub(crate) fn link_program(target: &Path, at: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(target, at)
    }
    #[cfg(not(unix))]
    {
        std::fs::copy(target, at).map(drop)
    }
}

/// Whether a write must reach the disk before the new file takes the old one's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Synced first: a power loss leaves the old file or the new one, never an empty one.
    Synced,
    /// Not synced (the old file holds nothing the new one does not replace), and, on Linux,
    /// swapped in rather than renamed over (ext4 writes a renamed-over file's data out at once).
    NothingToLose,
}

/// How [`write_atomic`] writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Atomic<'a> {
    /// The temporary files' prefix (`.config.json.`): `<prefix><pid>.<random>.tmp`, so that a
    /// later write can tell a killed writer's leftover and sweep it.
    pub temp_prefix: &'a str,
    /// The new file's mode where the OS has modes (0600 for anything with a secret).
    pub mode: u32,
    pub durability: Durability,
    /// Give the new file the owner and group of the one it replaces (under `sudo`, a user's
    /// file must not become root's).
    pub keep_owner: bool,
    /// Sweep the directory's stale temporary files first (a writer whose directory is swept
    /// once when opened, as the token cache's, need not sweep at every write).
    pub sweep: bool,
}

/// The temporary files' suffix.
const TEMP_SUFFIX: &str = ".tmp";

/// Writes `bytes` to `path` atomically: the stale temporary files of ours in its directory
/// swept, a temporary file in the same directory made with `how`'s mode, written, synced as
/// `how` says, then put in `path`'s place. A reader sees the old file or the new one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], how: &Atomic<'_>) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if how.sweep {
        crate::tempfiles::sweep(dir, how.temp_prefix, TEMP_SUFFIX);
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(&crate::tempfiles::name_prefix(how.temp_prefix))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    private::set_mode(tmp.as_file(), how.mode)?;
    if how.keep_owner {
        if let Ok(previous) = std::fs::metadata(path) {
            private::keep_owner(tmp.as_file(), &previous, path);
        }
    }
    tmp.write_all(bytes)?;
    match how.durability {
        Durability::Synced => {
            tmp.as_file().sync_all()?;
            tmp.persist(path).map(drop).map_err(|e| e.error)
        }
        Durability::NothingToLose => replace_unsynced(tmp, path),
    }
}

/// Puts `tmp` in the place of `target`, atomically, without waiting for its data to be written
/// out. A rename would, on ext4: when a rename replaces a file, ext4 (unless mounted
/// `noauto_da_alloc`) starts writing the new file's data out at once, 60 to 80 us of the
/// rename. Swapping the two names (`RENAME_EXCHANGE`, as atomic for readers) and removing the
/// old file, now under the temporary name, does not. A first file, or a file system that
/// cannot swap: a rename.
#[cfg(target_os = "linux")]
fn replace_unsynced(tmp: tempfile::NamedTempFile, target: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, tmp.path(), CWD, target, RenameFlags::EXCHANGE) {
        Ok(()) => {
            // Removes the old file, now at the temporary name. Left behind, it is swept by a
            // later write (its name carries this process's id).
            if let Err(e) = tmp.close() {
                tracing::debug!("cannot remove the replaced {}: {e}", target.display());
            }
            Ok(())
        }
        Err(_) => tmp.persist(target).map(drop).map_err(|e| e.error),
    }
}

/// Elsewhere: a rename.
#[cfg(not(target_os = "linux"))]
fn replace_unsynced(tmp: tempfile::NamedTempFile, target: &Path) -> io::Result<()> {
    tmp.persist(target).map(drop).map_err(|e| e.error)
}

#[cfg(unix)]
mod private {
    use std::fs::{File, Metadata, OpenOptions, Permissions};
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    use std::path::Path;

    /// A 0600 file, never opened through a symbolic link (`O_NOFOLLOW`: the open fails).
    pub(super) fn no_follow(o: &mut OpenOptions) -> &mut OpenOptions {
        // The flag's value differs between architectures: take it from rustix, not a literal.
        o.mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
    }

    pub(super) fn set_mode(f: &File, mode: u32) -> std::io::Result<()> {
        f.set_permissions(Permissions::from_mode(mode))
    }

    pub(super) fn set_path_mode(path: &Path, mode: u32) -> std::io::Result<()> {
        std::fs::set_permissions(path, Permissions::from_mode(mode))
    }

    pub(super) fn private_dir(b: &mut std::fs::DirBuilder) -> &mut std::fs::DirBuilder {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700)
    }

    pub(super) fn append_options(o: &mut OpenOptions, how: &super::Append) {
        o.mode(how.mode);
        if how.no_follow {
            o.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        }
    }

    pub(super) fn check_ours(f: &File) -> Result<(), super::AppendError> {
        let owner = f.metadata().map_err(super::AppendError::Io)?.uid();
        let me = rustix::process::geteuid().as_raw();
        if owner == me {
            Ok(())
        } else {
            Err(super::AppendError::NotOurs { owner, me })
        }
    }

    /// Gives `tmp` the owner and group `previous` had (a warning when it cannot).
    pub(super) fn keep_owner(tmp: &File, previous: &Metadata, path: &Path) {
        let Ok(now) = tmp.metadata() else {
            return;
        };
        if (now.uid(), now.gid()) == (previous.uid(), previous.gid()) {
            return;
        }
        if let Err(e) = std::os::unix::fs::fchown(tmp, Some(previous.uid()), Some(previous.gid())) {
            tracing::warn!(
                "{} was owned by uid {} gid {}; the rewritten file is owned by uid {} gid {} because its owner could not be kept ({e}); if another user reads it, give it back with chown",
                path.display(),
                previous.uid(),
                previous.gid(),
                now.uid(),
                now.gid()
            );
        }
    }
}

#[cfg(not(unix))]
mod private {
    use std::fs::{File, Metadata, OpenOptions};
    use std::path::Path;

    pub(crate) fn no_follow(o: &mut OpenOptions) -> &mut OpenOptions {
        o
    }

    pub(crate) fn set_mode(_f: &File, _mode: u32) -> std::io::Result<()> {
        Ok(())
    }

    #[allow(dead_code)]
    pub(crate) fn set_path_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
        Ok(())
    }

    pub(crate) fn private_dir(b: &mut std::fs::DirBuilder) -> &mut std::fs::DirBuilder {
        b
    }

    pub(crate) fn append_options(_o: &mut OpenOptions, _how: &super::Append) {}

    pub(crate) fn check_ours(_f: &File) -> Result<(), super::AppendError> {
        Ok(())
    }

    pub(crate) fn keep_owner(_tmp: &File, _previous: &Metadata, _path: &Path) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_whole_with_its_mode_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        for durability in [Durability::Synced, Durability::NothingToLose] {
            let how = Atomic {
                temp_prefix: ".f.json.",
                mode: 0o600,
                durability,
                keep_owner: true,
                sweep: true,
            };
            write_atomic(&path, b"one", &how).unwrap();
            write_atomic(&path, b"two", &how).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"two");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600);
            }
            let names: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, ["f.json"], "{names:?}");
        }
    }

    #[test]
    fn a_held_lock_times_out_and_a_linked_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = lock(&path, Duration::from_secs(1)).unwrap();
        let start = Instant::now();
        assert!(matches!(
            lock(&path, Duration::from_millis(100)),
            Err(LockError::TimedOut(_))
        ));
        assert!(start.elapsed() >= Duration::from_millis(100));
        drop(held);
        assert!(lock(&path, Duration::from_millis(100)).is_ok());
        #[cfg(unix)]
        {
            let link = dir.path().join("link.lock");
            std::os::unix::fs::symlink(dir.path().join("target"), &link).unwrap();
            assert!(matches!(
                lock(&link, Duration::from_millis(10)),
                Err(LockError::Symlink)
            ));
            assert!(!dir.path().join("target").exists());
        }
    }
}
