//! Files and folders below a root that brainbrr owns (a store, a cache copy),
//! reached without ever following a symbolic link.
//!
//! Whoever can write inside a store or a shared cache folder could plant a
//! link there to make brainbrr read, write or delete anything the user may.
//! Every path below such a root is walked component by component and refused
//! when one is a link; files are created with `O_EXCL | O_NOFOLLOW` (a link
//! planted at a new name fails the open instead of redirecting it) and
//! replaced by renaming, which replaces a link itself, never its target.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// A path refused: the offending path and why (`"a symbolic link"`, ...).
pub(crate) type Refused = (PathBuf, &'static str);

/// Refuses a symbolic link anywhere from `root` (excluded: the user chose it)
/// down to `path`, and a `path` outside `root`. Components that do not exist
/// yet are fine.
///
/// # Errors
/// The link (or the path) and why it is refused.
pub(crate) fn check_below(root: &Path, path: &Path) -> Result<(), Refused> {
    let rel = path
        .strip_prefix(root)
        .map_err(|_| (path.to_owned(), "outside its folder"))?;
    let mut at = root.to_path_buf();
    for part in rel.components() {
        if !matches!(part, Component::Normal(_)) {
            return Err((path.to_owned(), "a path with '.' or '..' segments"));
        }
        at.push(part);
        if fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err((at, "a symbolic link"));
        }
    }
    Ok(())
}

/// Refuses a symbolic link anywhere in the tree `dir` (below `root`, checked
/// as by [`check_below`]).
///
/// # Errors
/// The first link found.
pub(crate) fn check_tree(root: &Path, dir: &Path) -> Result<(), Refused> {
    check_below(root, dir)?;
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(()); // absent, or not a folder: its readers say so
    };
    for entry in entries.flatten() {
        match entry.file_type() {
            Ok(t) if t.is_symlink() => return Err((entry.path(), "a symbolic link")),
            Ok(t) if t.is_dir() => check_tree(root, &entry.path())?,
            _ => {}
        }
    }
    Ok(())
}

/// Creates the new file `path` for writing: fails when anything, a link
/// included, is already there.
///
/// # Errors
/// I/O errors (`AlreadyExists` when the name is taken).
pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Opens `path` for reading; a link at its last component is refused.
///
/// # Errors
/// I/O errors (`ELOOP` for a link).
pub(crate) fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Writes `bytes` to `path` through a new temporary beside it and a rename:
/// a link at `path` is replaced, not written through.
///
/// # Errors
/// I/O errors; the temporary is removed.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let tmp = crate::process::tmp_beside(path);
    let written = create_new(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// This process's user.
pub(crate) fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Makes the folder `at` with `mode` unless it exists, and accepts it only
/// as a real folder (not a link) owned by `uid`: in a folder that others can
/// write to, a folder they made first could hold their files or links.
///
/// # Errors
/// I/O errors; `PermissionDenied` for a link, a file or another user's folder.
pub(crate) fn own_dir(at: &Path, mode: u32, uid: u32) -> io::Result<()> {
    match fs::DirBuilder::new().mode(mode).create(at) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = fs::symlink_metadata(at)?;
    if meta.is_dir() && meta.uid() == uid {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "not a folder of this user (a link, a file, or another user's folder)",
        ))
    }
}

/// Makes the folder `root/rel` and each folder on the way below `root`, each
/// accepted only as this user's own ([`own_dir`]).
///
/// # Errors
/// The folder and its I/O error; `PermissionDenied` for a link, a file or
/// another user's folder in the way.
pub(crate) fn own_dirs(root: &Path, rel: &Path) -> Result<(), (PathBuf, io::Error)> {
    let mut at = root.to_path_buf();
    for part in rel.components() {
        let Component::Normal(part) = part else {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "'.' or '..' in the path");
            return Err((root.join(rel), e));
        };
        at.push(part);
        if let Err(e) = own_dir(&at, 0o755, uid()) {
            let hint = "brainbrr writes only into folders it owns: remove it or use another folder";
            return Err((at, io::Error::new(e.kind(), format!("{e}; {hint}"))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("brainbrr-nofollow-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("mkdir");
        dir
    }

    #[test]
    fn links_below_the_root_are_refused_and_never_written_through() {
        let root = scratch("links");
        let outside = scratch("outside");
        fs::create_dir_all(root.join("a")).expect("mkdir");
        std::os::unix::fs::symlink(&outside, root.join("a/link")).expect("symlink");
        let e = check_below(&root, &root.join("a/link/x")).expect_err("a link");
        assert_eq!(e, (root.join("a/link"), "a symbolic link"));
        check_below(&root, &root.join("a/new/x")).expect("absent parts are fine");
        assert!(check_below(&root, &outside).is_err());
        assert!(check_below(&root, &root.join("a/../x")).is_err());
        let e = check_tree(&root, &root).expect_err("found in the tree");
        assert_eq!(e.0, root.join("a/link"));
        assert!(own_dirs(&root, Path::new("a/link/deeper")).is_err());
        assert!(
            fs::read_dir(&outside).expect("ls").next().is_none(),
            "nothing made outside"
        );

        let target = outside.join("victim");
        fs::write(&target, b"keep").expect("write");
        let planted = root.join("planted");
        std::os::unix::fs::symlink(&target, &planted).expect("symlink");
        assert!(create_new(&planted).is_err());
        assert!(open(&planted).is_err());
        replace_file(&planted, b"mine").expect("replaced");
        assert_eq!(fs::read(&target).expect("read"), b"keep");
        assert_eq!(fs::read(&planted).expect("read"), b"mine");
        assert!(
            !fs::symlink_metadata(&planted)
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        fs::remove_dir_all(&root).expect("cleanup");
        fs::remove_dir_all(&outside).expect("cleanup");
    }
}
