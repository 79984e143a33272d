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
use std::path::Path;

use super::error::StoreError;
use super::temporaries::temp_path;

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
/// `temporaries::clean` removes), never mixes two versions; the next ingest redoes it.
///
/// # Errors
/// I/O errors of the fsyncs and renames; on error `tmp` is left for `temporaries::clean`.
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
