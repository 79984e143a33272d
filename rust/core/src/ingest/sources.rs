//! The sources stage of an ingest: the recordings of one source (a folder,
//! a file list, or an `s3://` URL), or of several local folders each under
//! its name, read as their corpus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::discover::{discover, from_list};
use super::fetch::{discover_remote, source_url};
use super::source::SourceFile;
use super::{IngestError, IngestOptions};
use crate::corpus::Corpus;
use crate::remote::Bucket;
use crate::{Error, Result};

/// The recordings found in the sources, with the bucket of a remote source
/// and warnings `(path, why)` about what was left out. One source is read as
/// [`find_source`] says; several are local folders whose recordings' paths
/// start with the folder's name (`tusz/edf/...`, `chbmit/chb01/...`), each
/// folder read as its own corpus.
pub(super) fn find_sources(
    sources: &[PathBuf],
    opts: &IngestOptions,
) -> Result<(Vec<SourceFile>, Option<Bucket>, Vec<super::Warning>)> {
    let [_, _, ..] = sources else {
        let Some(source) = sources.first() else {
            return Err(IngestError::Sources("no source to ingest".to_owned()).into());
        };
        let (found, bucket, warnings) = find_source(source, opts)?;
        if bucket.is_some() {
            return Ok((found, bucket, warnings));
        }
        let name = source_name(source)?;
        return Ok((
            found.into_iter().map(|f| f.alone(&name)).collect(),
            None,
            warnings,
        ));
    };
    let config = |why: String| Error::from(IngestError::Sources(why));
    if opts.files.is_some() {
        return Err(config(
            "a list of files (--files) names the recordings of one source".to_owned(),
        ));
    }
    let mut names: BTreeMap<String, &Path> = BTreeMap::new();
    let (mut all, mut warnings) = (Vec::new(), Vec::new());
    for source in sources {
        if source_url(source)?.is_some() {
            return Err(config(format!(
                "{}: several sources are local folders; ingest an s3:// source on its own",
                source.display()
            )));
        }
        let (found, _, w) = find_source(source, opts)?;
        let name = source_name(source)?;
        if let Some(first) = names.insert(name.clone(), source) {
            return Err(config(format!(
                "two sources named {name:?} ({} and {}): each source's recordings are stored under its folder's name",
                first.display(),
                source.display()
            )));
        }
        all.extend(found.into_iter().map(|f| f.under(&name)));
        warnings.extend(
            w.into_iter()
                .map(|(path, why)| (format!("{name}/{path}"), why)),
        );
    }
    all.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok((all, None, warnings))
}

/// The name under which several sources store a source's recordings: its
/// folder's name as given (`tusz` for `data/tusz/`), or the resolved one for
/// `.` and `..`.
fn source_name(source: &Path) -> Result<String> {
    let named = |p: &Path| Some(p.file_name()?.to_string_lossy().into_owned());
    match named(source) {
        Some(name) => Ok(name),
        None => {
            let path = source.canonicalize().map_err(|e| IngestError::Source {
                path: source.to_owned(),
                source: e,
            })?;
            named(&path).ok_or_else(|| {
                IngestError::Sources(format!(
                    "{}: a source must be a folder with a name",
                    source.display()
                ))
                .into()
            })
        }
    }
}

/// The recordings to ingest: the list's, or every one under `source` (a
/// folder, or an `s3://` URL whose objects are listed), the bucket of a
/// remote source, and warnings `(path, why)` about what was left out.
fn find_source(
    source: &Path,
    opts: &IngestOptions,
) -> Result<(Vec<SourceFile>, Option<Bucket>, Vec<super::Warning>)> {
    opts.layout.check().map_err(IngestError::Config)?;
    if let Some(url) = source_url(source)? {
        let files = match &opts.files {
            Some(list) => Some(read_list(list)?),
            None => None,
        };
        let bucket = Bucket::open(&url)?;
        let (found, warnings) = discover_remote(&bucket, files.as_deref(), &opts.layout)?;
        let found = in_corpus(found, opts)?;
        if let Some(s) = found.first().filter(|s| s.corpus != Corpus::Tusz) {
            // A remote recording is staged with the files that share its
            // stem; the other corpora keep annotations under other names.
            return Err(IngestError::Config(format!(
                "{}: a {} corpus is read from local folders only (its annotation files are not beside each EDF under its stem); copy it locally",
                source.display(),
                s.corpus.name()
            ))
            .into());
        }
        return Ok((found, Some(bucket), warnings));
    }
    let (found, path) = match &opts.files {
        Some(list) => (from_list(source, list, &opts.layout), list),
        None => (discover(source, &opts.layout), &source.to_path_buf()),
    };
    let found = in_corpus(
        found.map_err(|e| IngestError::Source {
            path: path.clone(),
            source: e,
        })?,
        opts,
    )?;
    let warnings = match found.first() {
        Some(s) => {
            let rels: Vec<&str> = found.iter().map(|f| f.rel.as_str()).collect();
            s.corpus.source_warnings(source, &rels)
        }
        None => Vec::new(),
    };
    Ok((found, None, warnings))
}

/// The sources read as the options' corpus, or the one their names say.
fn in_corpus(found: Vec<SourceFile>, opts: &IngestOptions) -> Result<Vec<SourceFile>> {
    let corpus = match opts.corpus {
        Some(c) => c,
        None => {
            Corpus::detect(found.iter().map(|s| s.rel.as_str())).map_err(IngestError::Config)?
        }
    };
    Ok(found
        .into_iter()
        .map(|s| s.in_corpus(corpus, &opts.layout))
        .collect())
}

/// The relative paths of a file list (one a line; `#` comments).
fn read_list(list: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(list).map_err(|e| IngestError::Source {
        path: list.to_owned(),
        source: e,
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}
