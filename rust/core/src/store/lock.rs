//! The writer lock: one process writes a store at a time.
//!
//! An exclusive `flock(2)` on the store's root directory, taken before the
//! store is created, overwritten or written and held until the writer is
//! dropped. The kernel releases it when the process exits, however it exits,
//! so a `kill -9` never leaves a stale lock, and there is no lock file to
//! clean up or for zarr-python to trip over. Readers never take it.
//!
//! The holder writes its pid and host to `.brainbrr-tmp/writer`, so that a
//! refused writer can name it; that file is only read while the lock is held
//! by someone else, so a stale one is never believed.
//!
//! Guarantees rely on `flock` semantics: honoured between processes on one
//! machine on local file systems; on NFS, Linux emulates `flock` with a
//! byte-range lock on the server, which works across machines with NFSv4.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::StoreError;
use super::temporaries::{HOLDER, TMP_DIR, clean, own_dir};

/// An exclusive writer lock on a store directory; released when dropped.
#[derive(Debug)]
pub struct WriterLock {
    dir: File,
    holder: PathBuf,
}

impl WriterLock {
    /// Locks the directory `path` (which must exist). Without `wait`, fails at
    /// once when another process holds the lock; with it, waits.
    ///
    /// # Errors
    /// [`StoreError::Locked`] naming the holder's pid and host, I/O errors.
    pub fn acquire(path: &Path, wait: bool) -> Result<Self, StoreError> {
        let dir = File::open(path).map_err(|e| StoreError::io(path, e))?;
        match dir.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) if wait => {
                dir.lock().map_err(|e| StoreError::io(path, e))?;
            }
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    path: path.to_owned(),
                    holder: read_holder(path),
                });
            }
            Err(TryLockError::Error(e)) => return Err(StoreError::io(path, e)),
        }
        let lock = Self {
            dir,
            holder: own_dir(path, TMP_DIR)?.join(HOLDER),
        };
        lock.announce()?;
        Ok(lock)
    }

    /// Records this process as the holder.
    fn announce(&self) -> Result<(), StoreError> {
        let text = format!("{}\n", crate::process::holder());
        if let Some(parent) = self.holder.parent() {
            fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
        }
        // Replaced, never written through: a link planted at the record's
        // name must not make the writer overwrite its target.
        crate::nofollow::replace_file(&self.holder, text.as_bytes())
            .map_err(|e| StoreError::io(&self.holder, e))
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // Before the unlock (a new holder's files are never removed): what
        // killed writers left, such as the Dask workers of a distributed
        // ingest, which write into the store as this holder's delegates.
        if let Some(root) = self.holder.parent().and_then(Path::parent) {
            let _ = clean(root);
        }
        let _ = fs::remove_file(&self.holder);
        let _ = self.holder.parent().map(fs::remove_dir);
        let _ = self.dir.unlock();
    }
}

/// Who holds the lock, as the holder recorded it; a placeholder while it has
/// not yet written its record (it just took the lock).
fn read_holder(path: &Path) -> String {
    // The holder writes its record right after taking the lock.
    for _ in 0..20 {
        let record = crate::nofollow::open(&path.join(TMP_DIR).join(HOLDER));
        if let Ok(text) = record.and_then(std::io::read_to_string) {
            let text = text.trim();
            if !text.is_empty() {
                return text.chars().take(200).collect();
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    "a process that has not yet recorded its pid".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_and_names_the_holder() -> Result<(), StoreError> {
        let dir = std::env::temp_dir().join(format!("brainbrr-lock-{}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let first = WriterLock::acquire(&dir, false)?;
        // A second open file description conflicts even within one process.
        match WriterLock::acquire(&dir, false) {
            Err(StoreError::Locked { holder, .. }) => {
                assert!(
                    holder.contains(&format!("pid {}", std::process::id())),
                    "{holder}"
                );
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        assert!(
            !dir.join(TMP_DIR).exists(),
            "the holder record is removed with the lock"
        );
        drop(WriterLock::acquire(&dir, false)?);
        fs::remove_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))
    }
}
