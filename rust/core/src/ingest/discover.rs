//! Finding the recordings of a corpus and the TUSZ fields in their paths.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One recording found under the corpus root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Absolute (or as given) path of the EDF/BDF file.
    pub path: PathBuf,
    /// Path relative to the corpus root, `/`-separated: the recording's identity.
    pub rel: String,
    /// Stable recording id: `rel` with `/` replaced by `~` (Zarr node names cannot hold `/`).
    pub rid: String,
    /// `train`, `dev` or `eval` when a folder of that name is on the path.
    pub split: Option<String>,
    /// The folder after the split folder.
    pub patient: Option<String>,
    /// The folder after the patient folder (not parsed: TUSZ writes it two ways).
    pub session: Option<String>,
    /// The folder after the session folder (`01_tcp_ar`, ...).
    pub montage: Option<String>,
}

const SPLITS: [&str; 3] = ["train", "dev", "eval"];

fn is_recording(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("edf") || e.eq_ignore_ascii_case("bdf"))
}

impl SourceFile {
    /// Describes `path`, which lies under `root`.
    pub fn new(root: &Path, path: PathBuf) -> Self {
        let rel_path = path.strip_prefix(root).unwrap_or(&path);
        let parts: Vec<String> = rel_path
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let rel = parts.join("/");
        // Only folders count: the split is a folder with at least patient/session/montage folders below it.
        let folders = &parts[..parts.len().saturating_sub(1)];
        let at = folders.iter().position(|p| SPLITS.contains(&p.as_str()));
        let field = |k: usize| at.and_then(|i| folders.get(i + k)).cloned();
        Self {
            rid: rel.replace('/', "~"),
            split: field(0),
            patient: field(1),
            session: field(2),
            montage: field(3),
            rel,
            path,
        }
    }
}

/// Every `*.edf`, `*.EDF` and `*.bdf` under `root`, sorted by relative path.
///
/// # Errors
/// I/O errors reading a folder (a missing root included).
pub fn discover(root: &Path) -> io::Result<Vec<SourceFile>> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            // Follow symlinked folders too: corpora are often assembled from links.
            let is_dir = kind.is_dir() || (kind.is_symlink() && path.is_dir());
            if is_dir {
                stack.push(path);
            } else if is_recording(&path) {
                found.push(SourceFile::new(root, path));
            }
        }
    }
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(found)
}

/// The files named in `list` (one path per line, relative to `root` or absolute), in list order.
///
/// # Errors
/// I/O errors reading the list; a listed file that does not exist.
pub fn from_list(root: &Path, list: &Path) -> io::Result<Vec<SourceFile>> {
    let text = fs::read_to_string(list)?;
    let mut out = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let path = root.join(line);
        if !path.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{}: listed in {} but not found",
                    path.display(),
                    list.display()
                ),
            ));
        }
        out.push(SourceFile::new(root, path));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tusz_fields_come_from_the_folders() {
        let root = Path::new("/data/tusz");
        let f = SourceFile::new(
            root,
            root.join("edf/train/aaaaaimu/s005_2014/01_tcp_ar/aaaaaimu_s005_t000.edf"),
        );
        assert_eq!(
            f.rel,
            "edf/train/aaaaaimu/s005_2014/01_tcp_ar/aaaaaimu_s005_t000.edf"
        );
        assert_eq!(
            f.rid,
            "edf~train~aaaaaimu~s005_2014~01_tcp_ar~aaaaaimu_s005_t000.edf"
        );
        assert_eq!(f.split.as_deref(), Some("train"));
        assert_eq!(f.patient.as_deref(), Some("aaaaaimu"));
        assert_eq!(f.session.as_deref(), Some("s005_2014"));
        assert_eq!(f.montage.as_deref(), Some("01_tcp_ar"));
    }

    #[test]
    fn other_layouts_have_no_fields() {
        let f = SourceFile::new(Path::new("/d"), PathBuf::from("/d/sub/rec.bdf"));
        assert_eq!(
            (f.rel.as_str(), f.split, f.patient),
            ("sub/rec.bdf", None, None)
        );
        // A file named like a split is not a split folder.
        let f = SourceFile::new(Path::new("/d"), PathBuf::from("/d/x/dev/p.edf"));
        assert_eq!((f.split.as_deref(), f.patient), (Some("dev"), None));
    }

    #[test]
    fn discovery_is_sorted_and_case_insensitive() {
        let root = std::env::temp_dir().join(format!("brainbrr-discover-{}", std::process::id()));
        for p in ["b/x.EDF", "a/y.edf", "a/z.bdf", "a/notes.txt", "a/y.csv_bi"] {
            let p = root.join(p);
            fs::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
            fs::write(p, b"").expect("write");
        }
        let found: Vec<String> = discover(&root)
            .expect("discover")
            .into_iter()
            .map(|f| f.rel)
            .collect();
        assert_eq!(found, ["a/y.edf", "a/z.bdf", "b/x.EDF"]);
        let list = root.join("list.txt");
        fs::write(&list, "b/x.EDF\n# comment\n\na/y.edf\n").expect("write");
        let listed: Vec<String> = from_list(&root, &list)
            .expect("list")
            .into_iter()
            .map(|f| f.rel)
            .collect();
        assert_eq!(listed, ["b/x.EDF", "a/y.edf"]);
        fs::write(&list, "missing.edf\n").expect("write");
        assert!(from_list(&root, &list).is_err());
        let _ = fs::remove_dir_all(root);
    }
}
