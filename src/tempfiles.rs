//! Our own temporary files that a killed write left behind: the auth files' and the token
//! cache's writers name theirs `<prefix><pid>.<random><suffix>` and rename them into place, so a
//! process killed in between leaves one (a whole auth file or a token inside). The next writer
//! in the directory sweeps them: only files named like ours, regular files, and only when the
//! process named in the name is gone or the file is over [`STALE_AGE`] old (a write takes
//! milliseconds). Never another program's files.

// Part of the file-system toolkit (`crate::fs` sweeps through it): its removals are the raw calls.
#![allow(clippy::disallowed_methods)]

use std::fs;
use std::path::Path;
use std::time::Duration;

/// A temporary file of ours this old was left by a write that never finished, whoever made it.
pub(crate) const STALE_AGE: Duration = Duration::from_secs(600);

/// The prefix a writer with this process id gives its temporary file.
pub(crate) fn name_prefix(prefix: &str) -> String {
    format!("{prefix}{}.", std::process::id())
}

/// Removes the stale temporary files of ours (`<prefix>*<suffix>`) in `dir`. A file that cannot
/// be removed is left; the write goes on.
pub(crate) fn sweep(dir: &Path, prefix: &str, suffix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(middle) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|n| n.strip_suffix(suffix))
        else {
            continue;
        };
        // The entry itself, not what a symlink points to.
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let age = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .unwrap_or_default();
        let writer_gone = middle
            .split_once('.')
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
            .is_some_and(process_is_gone);
        if writer_gone || age >= STALE_AGE {
            let path = entry.path();
            match fs::remove_file(&path) {
                Ok(()) => tracing::info!(
                    "removed {}, left by an earlier write that was interrupted",
                    path.display()
                ),
                Err(e) => tracing::debug!("cannot remove {}: {e}", path.display()),
            }
        }
    }
}

/// Whether no process `pid` runs (in this PID namespace). A process of another user is
/// running, not gone.
#[cfg(unix)]
fn process_is_gone(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    rustix::process::test_kill_process(pid) == Err(rustix::io::Errno::SRCH)
}

/// Not known here: stale temporary files go by their age alone.
#[cfg(not(unix))]
fn process_is_gone(_: u32) -> bool {
    false
}
