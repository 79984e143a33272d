//! The seizure corpora brainbrr reads natively: how each names its files and
//! patients and where it keeps its annotations.
//!
//! | corpus | recording | annotations | patient, session, run |
//! |---|---|---|---|
//! | `tusz` | `.../<patient>_sNNN_tNNN.edf` | `.csv_bi`/`.csv` (`.tse`) beside it | from the path ([`crate::ingest::layout`]) |
//! | `chbmit` | `chbNN/chbNN_MM.edf` | the folder's `chbNN-summary.txt` | `chbNN` (`chb21` is `chb01`), the folder, the stem |
//! | `siena` | `PNxx/PNxx-K.edf` | the folder's `Seizures-list-PNxx.txt`, types in the root's `subject_info.csv` | `PNxx`, none, the stem |
//! | `seizeit` | `P_IDxx/P_IDxx_rN.edf` | `P_IDxx_rN_a1.tsv` beside it | `P_IDxx`, none, the stem |
//! | `bids` | `sub-X/[ses-Y/]eeg/sub-X_..._eeg.edf` | `..._events.tsv` beside it | `sub-X`, `ses-Y`, `run-Z` |
//!
//! A source's corpus is found from the names of its recordings
//! ([`Corpus::detect`]); a source no name claims is read as TUSZ (its
//! annotation files beside each EDF). A recording no annotation covers is
//! unlabeled, never background: CHB-MIT and Siena files a folder's list does
//! not name, EDFs without their TSV.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::labels::{
    self, LabelConfig, LabelError, RecordingAnnotation, parse_bids_events, parse_chbmit_summary,
    parse_seizeit_tsv, parse_siena_list, parse_subject_info, read_recording_annotation,
};

/// A seizure corpus whose layout and annotations brainbrr reads.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Corpus {
    /// TUH EEG Seizure Corpus, and any corpus laid out like it.
    #[default]
    Tusz,
    /// CHB-MIT Scalp EEG (PhysioNet `chbmit`).
    Chbmit,
    /// Siena Scalp EEG (PhysioNet `siena-scalp-eeg`).
    Siena,
    /// SeizeIT1 (KU Leuven).
    Seizeit,
    /// BIDS in SzCORE's format (SeizeIT2, SzCORE's copies of the others).
    Bids,
}

/// CHB-MIT subjects recorded again under another folder: (later, first).
const CHBMIT_SAME_PERSON: [(&str, &str); 1] = [("chb21", "chb01")];

impl Corpus {
    /// Every corpus, in the order of [`Corpus::name`]'s documentation.
    pub const ALL: [Self; 5] = [
        Self::Tusz,
        Self::Chbmit,
        Self::Siena,
        Self::Seizeit,
        Self::Bids,
    ];

    /// Its name, as `--corpus` takes it and the index stores it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tusz => "tusz",
            Self::Chbmit => "chbmit",
            Self::Siena => "siena",
            Self::Seizeit => "seizeit",
            Self::Bids => "bids",
        }
    }

    /// The corpus named `name` (any case).
    ///
    /// # Errors
    /// A message listing the names when `name` is none of them.
    pub fn from_name(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|c| c.name()).collect();
                format!(
                    "unknown corpus {name:?} (expected one of {})",
                    names.join(", ")
                )
            })
    }

    /// Whether the recording at `rel` (relative to its source, `/`-separated)
    /// is named as this corpus names its recordings.
    pub fn claims(self, rel: &str) -> bool {
        let file = rel.rsplit('/').next().unwrap_or(rel);
        let Some(stem) = strip_suffix_ci(file, ".edf") else {
            return false;
        };
        match self {
            Self::Tusz => tusz_name(file).is_ok(),
            Self::Chbmit => chbmit_patient(stem).is_some(),
            Self::Siena => siena_patient(stem).is_some(),
            Self::Seizeit => seizeit_patient(stem).is_some(),
            Self::Bids => stem.starts_with("sub-") && stem.ends_with("_eeg"),
        }
    }

    /// The corpus of a source from the paths of its recordings: the one
    /// corpus whose names they carry, TUSZ when none does.
    ///
    /// # Errors
    /// A message naming each corpus the names point to, with an example
    /// path, when they point to several.
    pub fn detect<'a>(rels: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut example: [Option<&str>; 5] = [None; 5];
        for rel in rels {
            for (i, c) in Self::ALL.into_iter().enumerate() {
                if example[i].is_none() && c.claims(rel) {
                    example[i] = Some(rel);
                }
            }
        }
        let found: Vec<(Self, &str)> = Self::ALL
            .into_iter()
            .zip(example)
            .filter_map(|(c, e)| e.map(|e| (c, e)))
            .collect();
        match found[..] {
            [] => Ok(Self::Tusz),
            [(c, _)] => Ok(c),
            _ => Err(format!(
                "the recordings' names fit several corpora: {}; give the corpus (--corpus) or one corpus per source",
                found
                    .iter()
                    .map(|(c, e)| format!("{} ({e})", c.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// Patient, session and run of the recording at `rel` as this corpus
    /// names them; all `None` for TUSZ, whose layout reads them.
    pub fn identity(self, rel: &str) -> Identity {
        let parts: Vec<&str> = rel.split('/').collect();
        let file = parts.last().copied().unwrap_or_default();
        let stem = strip_suffix_ci(file, ".edf").unwrap_or(file);
        let folder = parts.len().checked_sub(2).map(|i| parts[i]);
        let some = |s: &str| Some(s.to_owned());
        match self {
            Self::Tusz => Identity::default(),
            Self::Chbmit => {
                let patient = chbmit_patient(stem);
                let same = CHBMIT_SAME_PERSON
                    .iter()
                    .find(|(later, _)| Some(*later) == patient);
                Identity {
                    patient: same.map(|(_, first)| *first).or(patient).and_then(some),
                    session: folder.and_then(some),
                    run: some(stem),
                }
            }
            Self::Siena => Identity {
                patient: siena_patient(stem).and_then(some),
                session: None,
                run: some(stem),
            },
            Self::Seizeit => Identity {
                patient: seizeit_patient(stem).and_then(some),
                session: None,
                run: some(stem),
            },
            Self::Bids => {
                let entity = |key: &str| {
                    stem.split('_')
                        .find(|e| e.starts_with(key))
                        .map(str::to_owned)
                };
                Identity {
                    patient: entity("sub-"),
                    session: entity("ses-"),
                    run: entity("run-"),
                }
            }
        }
    }

    /// The annotations of the recording `rec` as this corpus keeps them;
    /// `None` when none covers it (the recording is unlabeled).
    ///
    /// # Errors
    /// The annotation file's [`LabelError`], naming file and line.
    pub fn annotation(
        self,
        rec: &RecordingFile<'_>,
        cfg: &LabelConfig,
    ) -> Result<Option<RecordingAnnotation>, LabelError> {
        let edf = rec.edf;
        let name = edf.file_name().unwrap_or_default().to_string_lossy();
        let dir = edf.parent().unwrap_or_else(|| Path::new(""));
        let folder = dir.file_name().unwrap_or_default().to_string_lossy();
        let file = |path: PathBuf, annotations: labels::Annotations| {
            Some(RecordingAnnotation::of(path, annotations))
        };
        Ok(match self {
            Self::Tusz => read_recording_annotation(edf, cfg)?,
            Self::Chbmit => {
                let Some(summary) = existing(dir.join(format!("{folder}-summary.txt"))) else {
                    return Ok(None);
                };
                let mut listing = parse_chbmit_summary(&summary, cfg)?;
                match listing.recordings.remove(name.as_ref()) {
                    Some(listed) => file(summary, listed.annotations),
                    None => None,
                }
            }
            Self::Siena => {
                let Some(list_path) = existing(dir.join(format!("Seizures-list-{folder}.txt")))
                else {
                    return Ok(None);
                };
                let list = parse_siena_list(&list_path)?;
                let Some(entry) = list.find(&name, &edfs_in(dir)) else {
                    return Ok(None);
                };
                let patient = siena_patient(name.trim_end_matches(".edf")).unwrap_or_default();
                let label = match existing(rec.root.join("subject_info.csv")) {
                    Some(info) => parse_subject_info(&info)?.remove(patient),
                    None => None,
                };
                let label = label.as_deref().unwrap_or("sz");
                let annotations =
                    entry.annotations(&list_path, rec.start_clock_s, rec.duration_s, label, cfg)?;
                file(list_path, annotations)
            }
            Self::Seizeit => {
                let stem = name.trim_end_matches(".edf");
                match existing(dir.join(format!("{stem}_a1.tsv"))) {
                    Some(tsv) => {
                        let annotations = parse_seizeit_tsv(&tsv, cfg)?;
                        file(tsv, annotations)
                    }
                    None => None,
                }
            }
            Self::Bids => {
                let stem = name.trim_end_matches(".edf");
                let base = stem.strip_suffix("_eeg").unwrap_or(stem);
                match existing(dir.join(format!("{base}_events.tsv"))) {
                    Some(tsv) => {
                        let annotations = parse_bids_events(&tsv, cfg)?;
                        file(tsv, annotations)
                    }
                    None => None,
                }
            }
        })
    }
}

impl Corpus {
    /// What a source's listings say that its files do not: each EDF a
    /// CHB-MIT summary names that is not in its folder, as `(path of the
    /// summary relative to the source, why)`. A summary that does not parse
    /// is left to its recordings, which fail naming the line.
    pub fn source_warnings(self, root: &Path, rels: &[&str]) -> Vec<(String, String)> {
        if self != Self::Chbmit {
            return Vec::new();
        }
        let folders: std::collections::BTreeSet<&str> = rels
            .iter()
            .filter_map(|rel| rel.rsplit_once('/').map(|(folder, _)| folder))
            .collect();
        let mut out = Vec::new();
        for folder in folders {
            let name = folder.rsplit('/').next().unwrap_or(folder);
            let summary = format!("{folder}/{name}-summary.txt");
            let Ok(listing) = parse_chbmit_summary(&root.join(&summary), &LabelConfig::default())
            else {
                continue;
            };
            for listed in listing.recordings.keys() {
                if root.join(folder).join(listed).symlink_metadata().is_err() {
                    out.push((
                        summary.clone(),
                        format!("lists {listed}, which is not in the folder"),
                    ));
                }
            }
        }
        out
    }
}

/// What a corpus says of a recording's identity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// The patient (`chb01`, `PN00`, `P_ID10`, `sub-01`).
    pub patient: Option<String>,
    /// The session (CHB-MIT's folder, BIDS's `ses-`).
    pub session: Option<String>,
    /// The run (the file's stem, BIDS's `run-`).
    pub run: Option<String>,
}

/// A recording whose annotations are looked up.
#[derive(Debug, Clone, Copy)]
pub struct RecordingFile<'a> {
    /// The EDF.
    pub edf: &'a Path,
    /// The root of its source (where Siena's `subject_info.csv` lies).
    pub root: &'a Path,
    /// Its first sample's clock time, seconds of the day, from its header.
    pub start_clock_s: Option<f64>,
    /// Its duration, seconds.
    pub duration_s: f64,
}

/// `path` if something is there (a broken link too: reading it then fails,
/// rather than the recording silently becoming unlabeled).
fn existing(path: PathBuf) -> Option<PathBuf> {
    path.symlink_metadata().is_ok().then_some(path)
}

/// The names of the EDFs in `dir` (empty when it cannot be listed).
fn edfs_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| strip_suffix_ci(n, ".edf").is_some())
        .collect()
}

fn strip_suffix_ci<'s>(s: &'s str, suffix: &str) -> Option<&'s str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `chbNN` of a CHB-MIT stem `chbNN[a-z]_MM[+]`.
fn chbmit_patient(stem: &str) -> Option<&str> {
    let (head, number) = stem.split_once('_')?;
    let patient = head.get(..5)?;
    let letter = &head[5..];
    let ok = patient.starts_with("chb")
        && digits(&patient[3..])
        && letter.len() <= 1
        && letter.bytes().all(|b| b.is_ascii_lowercase())
        && digits(number.trim_end_matches('+'));
    ok.then_some(patient)
}

/// `PNxx` of a Siena stem `PNxx-K` (`PN10-7.8.9`).
fn siena_patient(stem: &str) -> Option<&str> {
    let (patient, number) = stem.split_once('-')?;
    let ok = patient.len() == 4
        && patient.starts_with("PN")
        && digits(&patient[2..])
        && number.split('.').all(digits);
    ok.then_some(patient)
}

/// `P_IDxx` of a SeizeIT stem `P_IDxx_rN`.
fn seizeit_patient(stem: &str) -> Option<&str> {
    let (patient, run) = stem.rsplit_once('_')?;
    let ok = patient.strip_prefix("P_ID").is_some_and(digits)
        && run.strip_prefix('r').is_some_and(digits);
    ok.then_some(patient)
}

/// Patient and session of a TUSZ file name `<patient>_s<NNN>_t<NNN>.<ext>`.
///
/// # Errors
/// Why the name is not one.
pub(crate) fn tusz_name(file: &str) -> Result<(String, String), String> {
    let stem = file.split_once('.').map_or(file, |(stem, _)| stem);
    let numbered = |part: &str, prefix: char| part.strip_prefix(prefix).is_some_and(digits);
    let mut parts = stem.rsplitn(3, '_');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(take), Some(session), Some(patient))
            if numbered(take, 't') && numbered(session, 's') && !patient.is_empty() =>
        {
            Ok((patient.to_owned(), session.to_owned()))
        }
        _ => Err(format!(
            "file name {file:?} is not <patient>_s<NNN>_t<NNN>: no patient or session"
        )),
    }
}

#[cfg(test)]
mod tests;
