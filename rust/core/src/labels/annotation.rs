//! TUSZ annotation files read into events and merged seizure intervals:
//! `.csv_bi` (TERM rows) and `.csv` (one row per channel of the bipolar
//! montage), `.tse_bi` and `.tse` (term files, [`tse`]).
//!
//! The csv formats are `# key = value` header lines, then the header row
//! `channel,start_time,stop_time,label,confidence`, then rows. Columns are
//! found by name in the header row, never by position: reading
//! start/stop/label from columns 0-2 once made a whole cache without one
//! seizure. A seizure row on any channel counts for the recording. Every label
//! is classified by [`LabelConfig::classify`]; an unknown one is an error
//! unless the config says otherwise.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::types::{TypedInterval, resolve};
use super::{BACKGROUND, LabelConfig, LabelError};

mod bids;
mod chbmit;
mod seizeit;
mod siena;
mod tse;

pub use bids::parse_bids_events;
pub use chbmit::parse_chbmit_summary;
pub use seizeit::parse_seizeit_tsv;
pub use siena::{ListedSeizure, SienaFile, SienaList, parse_siena_list, parse_subject_info};

/// Largest difference between the annotated and the recording's duration
/// that is not reported, seconds (TUSZ writes durations to 0.01 s or better).
pub const DURATION_TOLERANCE_S: f64 = 1.0;

const CHANNEL: &str = "channel";
const START: &str = "start_time";
const STOP: &str = "stop_time";
const LABEL: &str = "label";

/// A half-open time interval `[start, stop)`, seconds from the recording start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// First instant inside, seconds.
    pub start: f64,
    /// First instant past the end, seconds.
    pub stop: f64,
}

/// What an annotation file says about its recording.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Annotations {
    /// `# version = ...`, if present.
    pub version: Option<String>,
    /// `# bname = ...` (the recording's base name), if present.
    pub bname: Option<String>,
    /// `# duration = ... secs`, if present.
    pub duration: Option<f64>,
    /// Seizure intervals, sorted, overlapping or touching ones merged, empty ones dropped.
    pub seizures: Vec<Interval>,
    /// Number of event rows.
    pub rows: usize,
    /// Number of rows with a seizure label.
    pub seizure_rows: usize,
    /// Rows per label, lower-cased.
    pub label_counts: BTreeMap<String, usize>,
    /// Every event row, in file order.
    pub events: Vec<Event>,
    /// What the reader corrected or found doubtful, naming file and line.
    pub notes: Vec<String>,
}

/// A file that lists the recordings of a folder with their seizures
/// (CHB-MIT's summary): each listed recording's annotations, by file name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listing {
    /// Listed recordings by file name, as written.
    pub recordings: BTreeMap<String, Listed>,
}

/// One recording of a [`Listing`].
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    /// The line that names it, 1-based.
    pub line: usize,
    /// Its seizures; none for a recording listed without one (background).
    pub annotations: Annotations,
}

/// One event row of an annotation file.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The channel (`TERM`, `FP1-F7`); `None` when the file has no channel
    /// column (`.tse`).
    pub channel: Option<String>,
    /// Start, seconds.
    pub start: f64,
    /// Stop, seconds (not before `start`).
    pub stop: f64,
    /// The label, lower-cased.
    pub label: String,
    /// Its type code ([`super::TYPE_CODES`]): [`BACKGROUND`] or a seizure type.
    pub code: u8,
    /// The row's line in the file, 1-based.
    pub line: usize,
}

impl Annotations {
    /// Total seizure time, seconds (of the merged intervals, not clipped).
    pub fn seizure_seconds(&self) -> f64 {
        self.seizures.iter().map(|i| i.stop - i.start).sum()
    }

    /// The seizure type over time: sorted, non-overlapping intervals covering
    /// exactly [`Self::seizures`]; at each instant the type of the most
    /// channels, ties to the lower code with `seiz` last.
    pub fn types(&self) -> Vec<TypedInterval> {
        resolve(&self.events)
    }

    /// [`LabelError::Truncated`] when the file states no `# duration` and its
    /// rows end before a recording of `duration_s` seconds does (a file that
    /// states one was checked against it when parsed).
    ///
    /// # Errors
    /// As described.
    pub fn check_covers(&self, path: &Path, duration_s: f64) -> Result<(), LabelError> {
        match self.duration {
            Some(_) => Ok(()),
            None => self.covers(path, duration_s, false),
        }
    }

    /// TUSZ rows tile their recording, per channel: each channel with a
    /// background row must reach its end (within [`DURATION_TOLERANCE_S`]),
    /// else the file was cut after a row and what followed is lost. Files
    /// listing seizure rows only do not tile and cannot be checked.
    fn covers(&self, path: &Path, end_s: f64, stated: bool) -> Result<(), LabelError> {
        // Per channel: whether it tiles, and the row that ends last.
        let mut channels: BTreeMap<Option<&str>, (bool, &Event)> = BTreeMap::new();
        for e in &self.events {
            let entry = channels.entry(e.channel.as_deref()).or_insert((false, e));
            entry.0 |= e.code == BACKGROUND;
            if e.stop > entry.1.stop {
                entry.1 = e;
            }
        }
        match channels
            .into_values()
            .find(|&(tiles, last)| tiles && last.stop < end_s - DURATION_TOLERANCE_S)
        {
            Some((_, last)) => Err(LabelError::Truncated {
                path: path.to_owned(),
                line: last.line,
                channel: last.channel.clone(),
                stop: last.stop,
                end_s,
                stated,
            }),
            None => Ok(()),
        }
    }
}

/// The annotation file beside `edf`: same stem, the first extension of
/// `cfg.files` that exists (`x.edf` -> `x.csv_bi`, else `x.csv`, ...).
///
/// Anything at that path counts, a folder or a broken link too, so that
/// reading it fails ([`LabelError::NotAFile`], [`LabelError::Io`]) rather than
/// the recording silently becoming unlabeled.
pub fn find_annotation(edf: &Path, cfg: &LabelConfig) -> Option<PathBuf> {
    beside(edf, cfg.files.iter().map(String::as_str))
}

/// The first of `extensions` beside `edf` that exists.
pub(super) fn beside<'e>(
    edf: &Path,
    extensions: impl IntoIterator<Item = &'e str>,
) -> Option<PathBuf> {
    extensions
        .into_iter()
        .map(|ext| edf.with_extension(ext.trim_start_matches('.')))
        .find(|p| p.symlink_metadata().is_ok())
}

/// Whether an annotation extension (`.csv_bi`, `tse_bi`) is that of a binary
/// file (`seiz`/`bckg` only, no types).
pub(super) fn is_binary(ext: &str) -> bool {
    ext.trim_start_matches('.')
        .to_ascii_lowercase()
        .ends_with("_bi")
}

/// The extension of `path`, lossily, `""` when it has none.
pub(super) fn extension(path: &Path) -> std::borrow::Cow<'_, str> {
    path.extension().unwrap_or_default().to_string_lossy()
}

/// Reads a TUSZ annotation file: a term file (`.tse`, `.tse_bi`, any case) or
/// else the csv format (`.csv_bi`, `.csv`).
///
/// Labels are classified by [`LabelConfig::classify`]. Files listing only
/// seizure rows are fine. Non-UTF-8 bytes are replaced, not rejected.
///
/// # Errors
/// [`LabelError::Io`] if the file cannot be read, [`LabelError::NotAFile`] if
/// it is a folder; [`LabelError::MissingHeader`], [`LabelError::MissingVersion`],
/// [`LabelError::MissingColumn`], [`LabelError::ShortRow`], [`LabelError::Empty`],
/// [`LabelError::Number`], [`LabelError::NotFinite`],
/// [`LabelError::StopBeforeStart`] or [`LabelError::UnknownLabel`] if its
/// content is malformed; [`LabelError::NoEvents`] if it has no event row and
/// [`LabelError::Truncated`] if its rows end before its stated `# duration`
/// (a truncated file).
pub fn parse_annotation(path: &Path, cfg: &LabelConfig) -> Result<Annotations, LabelError> {
    parse(&read_text(path)?, path, cfg)
}

/// The text of the annotation file `path`, bytes that are not UTF-8 replaced.
///
/// # Errors
/// [`LabelError::Io`] if it cannot be read, [`LabelError::NotAFile`] if it is
/// not a regular file.
fn read_text(path: &Path) -> Result<String, LabelError> {
    let meta = fs::metadata(path).map_err(|e| LabelError::io(path, e))?;
    if !meta.is_file() {
        return Err(LabelError::NotAFile {
            path: path.to_owned(),
            what: if meta.is_dir() {
                "a directory"
            } else {
                "not a regular file"
            },
        });
    }
    let bytes = fs::read(path).map_err(|e| LabelError::io(path, e))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Parses `text`, the content of `path`, in the format its extension says.
fn parse(text: &str, path: &Path, cfg: &LabelConfig) -> Result<Annotations, LabelError> {
    let ext = extension(path);
    if ext.eq_ignore_ascii_case("tse") || ext.eq_ignore_ascii_case("tse_bi") {
        tse::parse(text, path, cfg)
    } else {
        parse_csv(text, path, cfg)
    }
}

/// Where the needed columns are in each row.
struct Columns {
    channel: Option<usize>,
    start: usize,
    stop: usize,
    label: usize,
}

/// One line of the file, for error messages.
struct Line<'a> {
    path: &'a Path,
    line: usize,
    text: &'a str,
}

impl<'a> Line<'a> {
    /// [`LabelError::Malformed`] at this line.
    fn malformed(&self, problem: impl Into<String>) -> LabelError {
        LabelError::Malformed {
            path: self.path.to_owned(),
            line: self.line,
            problem: problem.into(),
            text: self.text.to_owned(),
        }
    }

    /// The lines of `text` that are not blank, trimmed, with their 1-based
    /// numbers; `end` is set to the number just past the last line (where an
    /// error about the end of the file points).
    fn all(text: &'a str, path: &'a Path, end: &'a mut usize) -> impl Iterator<Item = Line<'a>> {
        text.trim_start_matches('\u{feff}')
            .lines()
            .enumerate()
            .inspect(|(i, _)| *end = i + 2)
            .map(move |(i, raw)| Line {
                path,
                line: i + 1,
                text: raw.trim(),
            })
            .filter(|line| !line.text.is_empty())
    }
}

impl Line<'_> {
    fn columns(&self) -> Result<Columns, LabelError> {
        let names: Vec<&str> = self.text.split(',').map(str::trim).collect();
        let find = |c: &str| names.iter().position(|n| n.eq_ignore_ascii_case(c));
        let (start, stop, label) = (find(START), find(STOP), find(LABEL));
        let channel = find(CHANNEL);
        if start.is_none() && stop.is_none() && label.is_none() {
            return Err(LabelError::MissingHeader {
                path: self.path.to_owned(),
                line: self.line,
                found: Some(self.text.to_owned()),
            });
        }
        let need = |i: Option<usize>, column| {
            i.ok_or_else(|| LabelError::MissingColumn {
                path: self.path.to_owned(),
                line: self.line,
                column,
                header: self.text.to_owned(),
            })
        };
        Ok(Columns {
            channel,
            start: need(start, START)?,
            stop: need(stop, STOP)?,
            label: need(label, LABEL)?,
        })
    }

    fn field<'f>(
        &self,
        fields: &[&'f str],
        i: usize,
        column: &'static str,
    ) -> Result<&'f str, LabelError> {
        let value = fields.get(i).ok_or_else(|| LabelError::ShortRow {
            path: self.path.to_owned(),
            line: self.line,
            column,
            text: self.text.to_owned(),
        })?;
        if value.is_empty() {
            return Err(LabelError::Empty {
                path: self.path.to_owned(),
                line: self.line,
                column,
                text: self.text.to_owned(),
            });
        }
        Ok(value)
    }

    /// A finite number (seconds).
    fn number(&self, value: &str, column: &'static str) -> Result<f64, LabelError> {
        let parsed = value.parse::<f64>();
        if let Ok(x) = parsed
            && x.is_finite()
        {
            return Ok(x);
        }
        let (path, line, value) = (self.path.to_owned(), self.line, value.to_owned());
        Err(if parsed.is_ok() {
            LabelError::NotFinite {
                path,
                line,
                column,
                value,
            }
        } else {
            LabelError::Number {
                path,
                line,
                column,
                value,
            }
        })
    }

    /// A `key = value` comment before the header row.
    fn meta(&self, comment: &str, out: &mut Annotations) -> Result<(), LabelError> {
        let Some((key, value)) = comment.split_once('=') else {
            return Ok(());
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "version" => out.version = Some(value.to_owned()),
            "bname" => out.bname = Some(value.to_owned()),
            // `1289.0000 secs` or `301.00 secs`: the unit is optional.
            "duration" => {
                let number = value.split_whitespace().next().unwrap_or_default();
                out.duration = Some(self.number(number, "duration")?);
            }
            _ => {}
        }
        Ok(())
    }
}

/// Collects the rows of one file into [`Annotations`].
struct Builder<'a> {
    cfg: &'a LabelConfig,
    out: Annotations,
}

impl<'a> Builder<'a> {
    fn new(cfg: &'a LabelConfig) -> Self {
        Self {
            cfg,
            out: Annotations::default(),
        }
    }

    /// One event row, its start, stop and label fields still text.
    fn row(
        &mut self,
        line: &Line<'_>,
        channel: Option<&str>,
        [start, stop, label]: [&str; 3],
    ) -> Result<(), LabelError> {
        let start = line.number(start, START)?;
        let stop = line.number(stop, STOP)?;
        self.event(line, channel, start, stop, label)
    }

    /// One event, its times read.
    fn event(
        &mut self,
        line: &Line<'_>,
        channel: Option<&str>,
        start: f64,
        stop: f64,
        label: &str,
    ) -> Result<(), LabelError> {
        if stop < start {
            return Err(LabelError::StopBeforeStart {
                path: line.path.to_owned(),
                line: line.line,
                start,
                stop,
                text: line.text.to_owned(),
            });
        }
        let code = self
            .cfg
            .classify(label)
            .ok_or_else(|| LabelError::UnknownLabel {
                path: line.path.to_owned(),
                line: line.line,
                label: label.to_owned(),
                text: line.text.to_owned(),
            })?;
        let label = label.to_ascii_lowercase();
        let out = &mut self.out;
        out.rows += 1;
        *out.label_counts.entry(label.clone()).or_default() += 1;
        if code != BACKGROUND {
            out.seizure_rows += 1;
        }
        out.events.push(Event {
            channel: channel.map(str::to_owned),
            start,
            stop,
            label,
            code,
            line: line.line,
        });
        Ok(())
    }

    /// The file's annotations, once its last line (`end`, just past it) is
    /// read: [`LabelError::NoEvents`] without a row, [`LabelError::Truncated`]
    /// when the rows end before its stated duration.
    fn finish(self, path: &Path, end: usize) -> Result<Annotations, LabelError> {
        if self.out.events.is_empty() {
            return Err(LabelError::NoEvents {
                path: path.to_owned(),
                line: end,
            });
        }
        if let Some(d) = self.out.duration {
            self.out.covers(path, d, true)?;
        }
        Ok(self.merged())
    }

    /// The annotations of a format that lists seizures only, where a
    /// recording without a row is seizure-free rather than damaged.
    fn merged(mut self) -> Annotations {
        let seizures = self
            .out
            .events
            .iter()
            .filter(|e| e.code != BACKGROUND)
            .map(|e| Interval {
                start: e.start,
                stop: e.stop,
            })
            .collect();
        self.out.seizures = merge(seizures);
        self.out
    }
}

fn parse_csv(text: &str, path: &Path, cfg: &LabelConfig) -> Result<Annotations, LabelError> {
    let mut rows = Builder::new(cfg);
    let mut columns = None;
    let mut fields = Vec::new();
    let mut end = 1;
    for line in Line::all(text, path, &mut end) {
        if let Some(comment) = line.text.strip_prefix('#') {
            if columns.is_none() {
                line.meta(comment, &mut rows.out)?;
            }
            continue;
        }
        let Some(c) = &columns else {
            columns = Some(line.columns()?);
            continue;
        };
        fields.clear();
        fields.extend(line.text.split(',').map(str::trim));
        let values = [
            line.field(&fields, c.start, START)?,
            line.field(&fields, c.stop, STOP)?,
            line.field(&fields, c.label, LABEL)?,
        ];
        let channel = c.channel.and_then(|i| fields.get(i).copied());
        rows.row(&line, channel, values)?;
    }
    if columns.is_none() {
        return Err(LabelError::MissingHeader {
            path: path.to_owned(),
            line: end,
            found: None,
        });
    }
    rows.finish(path, end)
}

/// Sorts, drops empty intervals and merges overlapping or touching ones (the
/// per-channel rows of a `.csv` describe one seizure many times).
fn merge(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.retain(|i| i.stop > i.start);
    intervals.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out: Vec<Interval> = Vec::with_capacity(intervals.len());
    for i in intervals {
        match out.last_mut() {
            Some(last) if i.start <= last.stop => last.stop = last.stop.max(i.stop),
            _ => out.push(i),
        }
    }
    out
}

#[cfg(test)]
mod tests;

/// [`parse`] with the default config, for other modules' tests.
#[cfg(test)]
pub(super) fn tests_parse(text: &str, path: &Path) -> Annotations {
    parse(text, path, &LabelConfig::default()).unwrap()
}
