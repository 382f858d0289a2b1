//! The journal's exclusive lock: one payrun process per journal at a time, so two scheduled
//! runs never work the same batch. An OS file lock on `<journal>.lock`, released on exit or
//! crash by the OS itself, so a killed run never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("journal {journal} is in use by another payrun process (lock file {lock}); wait for it to finish, pass --wait-lock 10m, or use another --journal")]
    Busy { journal: PathBuf, lock: PathBuf },
    #[error("cannot create the lock file {lock}: {source}")]
    Io {
        lock: PathBuf,
        source: std::io::Error,
    },
}

/// Held for as long as the process works on the journal.
#[derive(Debug)]
pub struct JournalLock {
    _file: File,
}

impl JournalLock {
    pub fn acquire(journal: &Path) -> Result<JournalLock, LockError> {
        let lock = lock_path(journal);
        let io = |source| LockError::Io {
            lock: lock.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Busy {
                    journal: journal.to_path_buf(),
                    lock,
                })
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // The pid is only a hint for a person looking at the lock file.
        file.set_len(0).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(JournalLock { _file: file })
    }
}

impl JournalLock {
    /// As `acquire`, but while another process holds the lock, tries again for up to `wait`
    /// (a scheduled run that starts while the previous one still finishes).
    pub async fn acquire_within(
        journal: &Path,
        wait: std::time::Duration,
    ) -> Result<JournalLock, LockError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match JournalLock::acquire(journal) {
                Err(LockError::Busy { .. }) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                other => return other,
            }
        }
    }
}

fn lock_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("payrun.db");
        let first = JournalLock::acquire(&journal).unwrap();
        let err = JournalLock::acquire(&journal).unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }));
        assert!(err.to_string().contains("in use by another payrun process"));
        drop(first);
        JournalLock::acquire(&journal).unwrap();
    }
}
