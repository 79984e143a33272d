//! Finding the recordings of a corpus and the TUSZ fields in their paths.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::layout::PathLayout;
use super::source::SourceFile;

fn is_recording(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("edf") || e.eq_ignore_ascii_case("bdf"))
}

/// Every `*.edf`, `*.EDF` and `*.bdf` under `root`, sorted by relative path.
///
/// Symbolic links are followed (corpora are often assembled from links), but
/// nothing is found twice: the real tree is walked first, then the links it
/// holds, in the order met; a folder already entered (a link loop such as
/// `ln -s .. loop`, a second link to one folder) is not entered again, and a
/// file already found under another path (a link, a hard link) is not found again.
///
/// # Errors
/// I/O errors reading a folder (a missing root included).
pub fn discover(root: &Path, layout: &PathLayout) -> io::Result<Vec<SourceFile>> {
    let mut walk = Walk {
        layout,
        dirs: HashSet::new(),
        files: HashSet::new(),
        links: Vec::new(),
        found: Vec::new(),
    };
    walk.visit(root)?;
    walk.dir(root, root)?;
    // Links, in the order met; a linked folder may hold links of its own.
    let mut k = 0;
    while let Some(link) = walk.links.get(k).cloned() {
        k += 1;
        if link.is_dir() {
            if walk.visit(&link)? {
                walk.dir(root, &link)?;
            }
        } else {
            walk.file(root, link);
        }
    }
    let mut found = walk.found;
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(found)
}

/// State of one discovery: folders and files seen by identity (device, inode).
struct Walk<'l> {
    layout: &'l PathLayout,
    dirs: HashSet<(u64, u64)>,
    files: HashSet<(u64, u64)>,
    links: Vec<PathBuf>,
    found: Vec<SourceFile>,
}

impl Walk<'_> {
    /// Marks the folder `dir` as entered; false when it already was.
    fn visit(&mut self, dir: &Path) -> io::Result<bool> {
        let m = fs::metadata(dir)?;
        Ok(self.dirs.insert((m.dev(), m.ino())))
    }

    /// Walks `dir` in name order; links are deferred.
    fn dir(&mut self, root: &Path, dir: &Path) -> io::Result<()> {
        let mut entries = fs::read_dir(dir)?.collect::<io::Result<Vec<_>>>()?;
        entries.sort_by_key(fs::DirEntry::file_name);
        for entry in entries {
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_symlink() {
                self.links.push(path);
            } else if kind.is_dir() {
                if self.visit(&path)? {
                    self.dir(root, &path)?;
                }
            } else {
                self.file(root, path);
            }
        }
        Ok(())
    }

    /// Finds `path` if it is a recording not found before. A dangling link is
    /// found (reading it then reports it).
    fn file(&mut self, root: &Path, path: PathBuf) {
        if is_recording(&path)
            && fs::metadata(&path).map_or(true, |m| self.files.insert((m.dev(), m.ino())))
        {
            self.found.push(SourceFile::new(root, path, self.layout));
        }
    }
}

/// The files named in `list` (one path per line, relative to `root` or absolute), in list order.
///
/// # Errors
/// I/O errors reading the list; a listed file that does not exist.
pub fn from_list(root: &Path, list: &Path, layout: &PathLayout) -> io::Result<Vec<SourceFile>> {
    let text = fs::read_to_string(list)?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
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
        // A file listed twice (or under two paths) is ingested once.
        let m = fs::metadata(&path)?;
        if seen.insert((m.dev(), m.ino())) {
            out.push(SourceFile::new(root, path, layout));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_is_sorted_and_case_insensitive() {
        let root = std::env::temp_dir().join(format!("brainbrr-discover-{}", std::process::id()));
        for p in ["b/x.EDF", "a/y.edf", "a/z.bdf", "a/notes.txt", "a/y.csv_bi"] {
            let p = root.join(p);
            fs::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
            fs::write(p, b"").expect("write");
        }
        let found: Vec<String> = discover(&root, &PathLayout::default())
            .expect("discover")
            .into_iter()
            .map(|f| f.rel)
            .collect();
        assert_eq!(found, ["a/y.edf", "a/z.bdf", "b/x.EDF"]);
        let list = root.join("list.txt");
        fs::write(&list, "b/x.EDF\n# comment\n\na/y.edf\n").expect("write");
        let listed: Vec<String> = from_list(&root, &list, &PathLayout::default())
            .expect("list")
            .into_iter()
            .map(|f| f.rel)
            .collect();
        assert_eq!(listed, ["b/x.EDF", "a/y.edf"]);
        fs::write(&list, "missing.edf\n").expect("write");
        assert!(from_list(&root, &list, &PathLayout::default()).is_err());
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn links_never_yield_a_file_twice() {
        use std::os::unix::fs::symlink;
        let root = std::env::temp_dir().join(format!("brainbrr-links-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for p in [
            "edf/train/p1/r1.edf",
            "edf/dev/p2/r2.edf",
            "elsewhere/r3.edf",
        ] {
            let p = root.join("corpus").join(p);
            fs::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
            fs::write(p, b"").expect("write");
        }
        let corpus = root.join("corpus");
        // A loop, a second link to a walked folder, a link to a file and a link out of the tree.
        symlink("..", corpus.join("edf/train/loop")).expect("link");
        symlink(corpus.join("edf/dev"), corpus.join("dev_again")).expect("link");
        symlink(
            corpus.join("edf/train/p1/r1.edf"),
            corpus.join("edf/r1_link.edf"),
        )
        .expect("link");
        fs::hard_link(
            corpus.join("edf/dev/p2/r2.edf"),
            corpus.join("edf/r2_hard.edf"),
        )
        .expect("link");
        symlink(corpus.join("elsewhere"), corpus.join("edf/linked")).expect("link");
        let found: Vec<String> = discover(&corpus, &PathLayout::default())
            .expect("discover")
            .into_iter()
            .map(|f| f.rel)
            .collect();
        assert_eq!(
            found,
            [
                "edf/dev/p2/r2.edf",
                "edf/train/p1/r1.edf",
                "elsewhere/r3.edf"
            ]
        );
        let _ = fs::remove_dir_all(root);
    }
}
