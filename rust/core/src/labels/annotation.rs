//! TUSZ annotation files, `.csv_bi` (TERM rows) and `.csv` (one row per
//! channel of the bipolar montage), read into merged seizure intervals.
//!
//! Both formats are `# key = value` header lines, then the header row
//! `channel,start_time,stop_time,label,confidence`, then rows. Columns are
//! found by name in the header row, never by position: reading
//! start/stop/label from columns 0-2 once made a whole cache without one
//! seizure. A seizure row on any channel counts for the recording.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::{LabelConfig, LabelError};

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
}

impl Annotations {
    /// Total seizure time, seconds (of the merged intervals, not clipped).
    pub fn seizure_seconds(&self) -> f64 {
        self.seizures.iter().map(|i| i.stop - i.start).sum()
    }
}

/// The annotation file beside `edf`: same stem, the first extension of
/// `cfg.files` that exists (`x.edf` -> `x.csv_bi`, else `x.csv`).
pub fn find_annotation(edf: &Path, cfg: &LabelConfig) -> Option<PathBuf> {
    cfg.files
        .iter()
        .map(|ext| edf.with_extension(ext.trim_start_matches('.')))
        .find(|p| p.is_file())
}

/// Reads a TUSZ annotation file (either format).
///
/// Labels in `cfg.seizure_labels` are seizures; every other label (`bckg`,
/// and labels unknown to the config) is background. Files listing only
/// seizure rows are fine. Non-UTF-8 bytes are replaced, not rejected.
///
/// # Errors
/// [`LabelError::Io`] if the file cannot be read; [`LabelError::MissingHeader`],
/// [`LabelError::MissingColumn`], [`LabelError::ShortRow`], [`LabelError::Empty`],
/// [`LabelError::Number`], [`LabelError::NotFinite`] or
/// [`LabelError::StopBeforeStart`] if its content is malformed.
pub fn parse_annotation(path: &Path, cfg: &LabelConfig) -> Result<Annotations, LabelError> {
    let bytes = fs::read(path).map_err(|e| LabelError::io(path, e))?;
    parse(&String::from_utf8_lossy(&bytes), path, cfg)
}

/// Where the needed columns are in each row.
struct Columns {
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

impl Line<'_> {
    fn columns(&self) -> Result<Columns, LabelError> {
        let names: Vec<&str> = self.text.split(',').map(str::trim).collect();
        let find = |c: &str| names.iter().position(|n| n.eq_ignore_ascii_case(c));
        let (start, stop, label) = (find(START), find(STOP), find(LABEL));
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

fn parse(text: &str, path: &Path, cfg: &LabelConfig) -> Result<Annotations, LabelError> {
    let mut out = Annotations::default();
    let mut columns = None;
    let mut intervals = Vec::new();
    let mut fields = Vec::new();
    let mut n_lines = 0;
    for (i, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        n_lines = i + 1;
        let line = Line {
            path,
            line: i + 1,
            text: raw.trim(),
        };
        if line.text.is_empty() {
            continue;
        }
        if let Some(comment) = line.text.strip_prefix('#') {
            if columns.is_none() {
                line.meta(comment, &mut out)?;
            }
            continue;
        }
        let Some(c) = &columns else {
            columns = Some(line.columns()?);
            continue;
        };
        fields.clear();
        fields.extend(line.text.split(',').map(str::trim));
        let start = line.number(line.field(&fields, c.start, START)?, START)?;
        let stop = line.number(line.field(&fields, c.stop, STOP)?, STOP)?;
        let label = line.field(&fields, c.label, LABEL)?;
        if stop < start {
            return Err(LabelError::StopBeforeStart {
                path: path.to_owned(),
                line: line.line,
                start,
                stop,
                text: line.text.to_owned(),
            });
        }
        out.rows += 1;
        *out.label_counts
            .entry(label.to_ascii_lowercase())
            .or_default() += 1;
        if cfg.is_seizure(label) {
            out.seizure_rows += 1;
            intervals.push(Interval { start, stop });
        }
    }
    if columns.is_none() {
        return Err(LabelError::MissingHeader {
            path: path.to_owned(),
            line: n_lines + 1,
            found: None,
        });
    }
    out.seizures = merge(intervals);
    Ok(out)
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
