//! The store's temporaries: `.brainbrr-tmp/` inside the store root, where
//! writers build recordings and the index before they are renamed into place,
//! where replaced trees wait for removal, and where the writer lock's holder
//! leaves its record; and the rule that the store's own folders are never
//! reached through a link. Imports nothing of the store but its error, so the
//! lock and the commit protocol both build on it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::StoreError;

/// Directory of the temporaries, inside the store root.
pub const TMP_DIR: &str = ".brainbrr-tmp";

/// File inside `.brainbrr-tmp` naming the lock holder; cleaning the
/// temporaries leaves it.
pub(crate) const HOLDER: &str = "writer";

/// Makes temporary names unique within a process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// `<root>/<name>`, refused when it is a symbolic link: the store never
/// creates, cleans or deletes through one (it could point anywhere).
pub(crate) fn own_dir(root: &Path, name: &str) -> Result<PathBuf, StoreError> {
    let path = root.join(name);
    match fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => Err(StoreError::Unsafe {
            path,
            reason: "a symbolic link".to_owned(),
        }),
        _ => Ok(path),
    }
}

/// A fresh, not yet existing path `<root>/.brainbrr-tmp/<name>.<writer>.<counter>`;
/// `.brainbrr-tmp` itself is created.
///
/// `<writer>` is 8 hex digits of a hash of the host, the pid and the time: the
/// Dask workers of a distributed ingest write into one store from several
/// machines, where pids alone collide. (Ids are at most 235 bytes, so the name
/// stays within the 255 bytes of a file name.)
pub(crate) fn temp_path(root: &Path, name: &str) -> Result<PathBuf, StoreError> {
    let dir = own_dir(root, TMP_DIR)?;
    fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let writer = super::meta::new_store_id(Path::new(&crate::process::hostname()));
    Ok(dir.join(format!("{name}.{}.{n}", &writer[..8])))
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
    let dir = own_dir(root, TMP_DIR)?;
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
        if path.file_name().is_some_and(|n| n == HOLDER) {
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
