//! The commit protocol: build a node under `.brainbrr-tmp/`, make it durable,
//! rename it into place.
//!
//! A `rename(2)` of a directory within one file system is atomic: a reader sees
//! either no `recordings/<rid>` or the complete one. Durability needs more than
//! atomicity: file systems with delayed allocation may persist the rename before
//! the data it points at, so after a power cut a committed-looking recording
//! could hold empty chunk files. Hence every file is fsynced (zarrs'
//! `FilesystemStore` syncs each file it writes), then every directory of the
//! temporary tree, then the rename, then the parent directory that now holds
//! the new name.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::StoreError;

/// Directory of the temporaries, inside the store root.
pub const TMP_DIR: &str = ".brainbrr-tmp";

/// Makes temporary names unique within a process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, not yet existing path `<root>/.brainbrr-tmp/<name>.<writer>.<counter>`;
/// `.brainbrr-tmp` itself is created.
///
/// `<writer>` is 8 hex digits of a hash of the host, the pid and the time: the
/// Dask workers of a distributed ingest write into one store from several
/// machines, where pids alone collide. (Ids are at most 235 bytes, so the name
/// stays within the 255 bytes of a file name.)
pub(crate) fn temp_path(root: &Path, name: &str) -> Result<PathBuf, StoreError> {
    let dir = super::own_dir(root, TMP_DIR)?;
    fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let writer = super::meta::new_store_id(Path::new(&super::lock::hostname()));
    Ok(dir.join(format!("{name}.{}.{n}", &writer[..8])))
}

/// fsync a directory, so that the entries created or renamed in it persist.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

/// fsync every directory of a tree (its files were synced when written).
fn sync_tree(dir: &Path) -> Result<(), StoreError> {
    for entry in fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| StoreError::io(entry.path(), e))?;
        if kind.is_dir() {
            sync_tree(&entry.path())?;
        }
    }
    sync_dir(dir)
}

/// Move the complete tree `tmp` to `dest`, replacing a previous `dest`.
///
/// A previous `dest` (the re-ingest of a changed source, or the last index) is
/// first renamed to a temporary name, then `tmp` is renamed in, then the old
/// tree is deleted. Between the two renames `dest` is absent: a crash there
/// loses the old version (it is left in `.brainbrr-tmp`, which the next
/// [`clean`] removes), never mixes two versions; the next ingest redoes it.
///
/// # Errors
/// I/O errors of the fsyncs and renames; on error `tmp` is left for [`clean`].
pub(crate) fn install(root: &Path, tmp: &Path, dest: &Path) -> Result<(), StoreError> {
    sync_tree(tmp)?;
    let parent = dest.parent().unwrap_or(root);
    let old = match fs::symlink_metadata(dest) {
        Ok(_) => {
            let old = temp_path(root, "replaced")?;
            fs::rename(dest, &old).map_err(|e| StoreError::io(dest, e))?;
            Some(old)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(StoreError::io(dest, e)),
    };
    if let Err(e) = fs::rename(tmp, dest) {
        if let Some(old) = &old {
            // Best effort: put the previous version back rather than lose it.
            let _ = fs::rename(old, dest);
        }
        return Err(StoreError::io(dest, e));
    }
    sync_dir(parent)?;
    if let Some(old) = old {
        fs::remove_dir_all(&old).map_err(|e| StoreError::io(&old, e))?;
    }
    Ok(())
}

/// Write `bytes` to `dest` atomically (temporary file, fsync, rename, fsync of
/// the parent): a crash leaves the old or the new file, never a torn one.
///
/// # Errors
/// I/O errors.
pub(crate) fn write_file_atomic(root: &Path, dest: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let tmp = temp_path(root, "file")?;
    let written = crate::nofollow::create_new(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, dest)) {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::io(dest, e));
    }
    sync_dir(dest.parent().unwrap_or(root))
}

/// Remove a directory tree, tolerating its absence.
pub(crate) fn remove_tree(path: &Path) -> Result<bool, StoreError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// Remove every entry of `<root>/.brainbrr-tmp` but the lock holder's record;
/// returns the paths removed.
///
/// Only for the holder of the writer lock: another writer's temporaries would
/// be deleted under it.
///
/// # Errors
/// I/O errors listing or removing entries; [`StoreError::Unsafe`] when
/// `.brainbrr-tmp` is a symbolic link (its target's files are never removed).
pub(crate) fn clean(root: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let dir = super::own_dir(root, TMP_DIR)?;
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(&dir, e)),
    };
    let paths = entries
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::io(&dir, e))?;
    let mut removed = Vec::new();
    for path in paths {
        if path.file_name().is_some_and(|n| n == super::lock::HOLDER) {
            continue;
        }
        let is_dir = match fs::symlink_metadata(&path) {
            Ok(meta) => meta.is_dir(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        if is_dir {
            // Claimed by a rename first: a writer still at work on it (the
            // task of a distributed ingest that outlived its run) then fails
            // to install it, rather than installing what is left of it.
            let claimed = temp_path(root, "removed")?;
            match fs::rename(&path, &claimed) {
                Ok(()) => {
                    remove_tree(&claimed)?;
                }
                // Installed by its writer meanwhile: a complete recording.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io(&path, e)),
            }
        } else {
            fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
        }
        removed.push(path);
    }
    removed.sort();
    Ok(removed)
}
