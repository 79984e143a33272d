//! This process as other processes see it: its host, its pid, and names no
//! other process (on this machine or another sharing a folder) will use.
//! A leaf: it imports nothing of the crate, so the store's lock, its commits
//! and the publisher's lease name their holder the same way.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// This machine's name, as the kernel knows it (`gethostname(2)`).
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is writable for its length; POSIX may leave it
    // unterminated when the name is longer, which the search below allows.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_owned();
    if ok && !name.is_empty() {
        name
    } else {
        "unknown".to_owned()
    }
}

/// `pid <pid> on host <host>`: how a lock or lease names its holder.
pub(crate) fn holder() -> String {
    format!("pid {} on host {}", std::process::id(), hostname())
}

/// A temporary name beside `path`, unique to this process and call.
pub(crate) fn tmp_beside(path: &Path) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(
        ".{name}.{}.{}.part",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_names_this_process_and_temporaries_differ() {
        let me = holder();
        assert!(me.starts_with(&format!("pid {} on host ", std::process::id())));
        assert!(!hostname().is_empty() && me.ends_with(&hostname()));
        let p = Path::new("/x/data.bin");
        let (a, b) = (tmp_beside(p), tmp_beside(p));
        assert_ne!(a, b);
        assert_eq!(a.parent(), p.parent());
        let name = a.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        assert!(
            name.starts_with(".data.bin.") && name.ends_with(".part"),
            "{name}"
        );
    }
}
