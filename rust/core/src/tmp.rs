//! This user's private folders in the system's temporary folder.
//!
//! The temporary folder is shared by every user of a machine: a fixed name
//! there could already be another user's folder (not writable here), or a
//! link planted to send brainbrr's writes, and its removals, elsewhere. Each
//! folder here is named for the user, made with mode 0700, and used only
//! when it is a real folder (not a link) that the user owns.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// `<temporary folder>/<name>-<uid>`, made if missing.
///
/// # Errors
/// The folder cannot be made, or what stands there is a link, not a folder,
/// or another user's.
pub fn private(name: &str) -> io::Result<PathBuf> {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let dir = std::env::temp_dir().join(format!("{name}-{uid}"));
    make_private(&dir, uid)?;
    Ok(dir)
}

fn make_private(dir: &Path, uid: u32) -> io::Result<()> {
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
    }
    let meta = fs::symlink_metadata(dir)?;
    if !meta.is_dir() || meta.uid() != uid {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{}: not a folder of this user (a link, a file, or another user's); remove it or set TMPDIR",
                dir.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_or_a_file_in_its_place_is_refused() {
        let base = std::env::temp_dir().join(format!("brainbrr-tmp-test-{}", std::process::id()));
        fs::create_dir_all(&base).expect("mkdir");
        // SAFETY: as above.
        let uid = unsafe { libc::getuid() };
        let own = base.join("own");
        make_private(&own, uid).expect("made");
        assert_eq!(fs::metadata(&own).expect("meta").mode() & 0o777, 0o700);
        make_private(&own, uid).expect("an existing own folder is used");
        let elsewhere = base.join("elsewhere");
        fs::create_dir(&elsewhere).expect("mkdir");
        let link = base.join("link");
        std::os::unix::fs::symlink(&elsewhere, &link).expect("symlink");
        let file = base.join("file");
        fs::write(&file, b"").expect("write");
        for bad in [&link, &file] {
            let e = make_private(bad, uid).expect_err("refused");
            assert!(e.to_string().contains("not a folder of this user"), "{e}");
        }
        let e = make_private(&own, uid + 1).expect_err("another user's");
        assert!(e.to_string().contains(&own.display().to_string()), "{e}");
        fs::remove_dir_all(&base).expect("cleanup");
    }
}
