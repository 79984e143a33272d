//! This user's private folders in the system's temporary folder.
//!
//! The temporary folder is shared by every user of a machine: a fixed name
//! there could already be another user's folder (not writable here), or a
//! link planted to send brainbrr's writes, and its removals, elsewhere. Each
//! folder here is named for the user, made with mode 0700, and used only
//! when it is a real folder (not a link) that the user owns.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// `<temporary folder>/<name>-<uid>`, made if missing.
///
/// # Errors
/// The folder cannot be made, or what stands there is a link, not a folder,
/// or another user's.
pub fn private(name: &str) -> io::Result<PathBuf> {
    let uid = crate::nofollow::uid();
    let dir = std::env::temp_dir().join(format!("{name}-{uid}"));
    make_private(&dir, uid)?;
    Ok(dir)
}

/// The path of this process's own folder below `parent` (made by its user),
/// `<pid>@<host>@<label>`. The folders there of this machine's processes that
/// no longer run (killed before they cleaned up) are removed first; another
/// machine's, where the temporary folder is shared between machines, are left
/// alone, since whether their processes run cannot be seen from here.
pub fn process_folder(parent: &Path, label: &str) -> PathBuf {
    let host: String = crate::process::hostname()
        .chars()
        .map(|c| if c == '@' || c == '/' { '_' } else { c })
        .collect();
    for entry in fs::read_dir(parent).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let mut parts = name.to_str().unwrap_or_default().splitn(3, '@');
        let (pid, on) = (parts.next().and_then(|p| p.parse().ok()), parts.next());
        if on == Some(host.as_str()) && pid.is_some_and(|pid| !is_running(pid)) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
    parent.join(format!("{}@{host}@{label}", std::process::id()))
}

/// Whether process `pid` exists (on this machine).
fn is_running(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let sent = unsafe { libc::kill(pid, 0) };
    sent == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn make_private(dir: &Path, uid: u32) -> io::Result<()> {
    crate::nofollow::own_dir(dir, 0o700, uid).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("{}: {e}; remove it or set TMPDIR", dir.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn the_folders_of_dead_processes_of_this_machine_are_removed() {
        let parent =
            std::env::temp_dir().join(format!("brainbrr-test-process-{}", std::process::id()));
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let dead = child.id();
        child.wait().expect("wait");
        let host = crate::process::hostname();
        let (live, gone, elsewhere, other) = (
            parent.join(format!("{}@{host}@0-r0", std::process::id())),
            parent.join(format!("{dead}@{host}@3-r0")),
            parent.join(format!("{dead}@another-machine@3-r0")),
            parent.join("not-a-process-folder"),
        );
        for dir in [&live, &gone, &elsewhere, &other] {
            fs::create_dir_all(dir.join("sources")).expect("mkdir");
        }
        let mine = process_folder(&parent, "r1");
        assert!(live.is_dir() && elsewhere.is_dir() && other.is_dir() && !gone.exists());
        assert_eq!(
            mine.file_name().and_then(|n| n.to_str()),
            Some(format!("{}@{host}@r1", std::process::id()).as_str())
        );
        fs::remove_dir_all(&parent).expect("cleanup");
    }

    #[test]
    fn a_link_or_a_file_in_its_place_is_refused() {
        let base = std::env::temp_dir().join(format!("brainbrr-tmp-test-{}", std::process::id()));
        fs::create_dir_all(&base).expect("mkdir");
        let uid = crate::nofollow::uid();
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
