//! Where the real EDF files live: `tests/data/real-edf` in the repository
//! (origin and licence in SOURCES.md there), or `BRAINBRR_REAL_EDF`.

use std::path::PathBuf;

pub fn real_edf_dir() -> PathBuf {
    let dir = std::env::var_os("BRAINBRR_REAL_EDF").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/real-edf"),
        PathBuf::from,
    );
    assert!(
        dir.is_dir(),
        "real EDF files not found at {}; set BRAINBRR_REAL_EDF",
        dir.display()
    );
    dir
}

pub fn real_edf_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(real_edf_dir())
        .expect("readable dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("edf") || e.eq_ignore_ascii_case("bdf"))
        })
        .collect();
    files.sort();
    files
}
