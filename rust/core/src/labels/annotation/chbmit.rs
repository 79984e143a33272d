//! CHB-MIT's `chbNN-summary.txt`: one block per EDF of the folder.
//!
//! ```text
//! File Name: chb01_03.edf
//! File Start Time: 13:43:04
//! File End Time: 14:43:04
//! Number of Seizures in File: 1
//! Seizure Start Time: 2996 seconds
//! Seizure End Time: 3036 seconds
//! ```
//!
//! Later subjects number the seizures (`Seizure 1 Start Time:`); clock times
//! run past 24 h after midnight (`24:10:12`), and some blocks have none
//! (`chb24`). Times of seizures are seconds from the file's start. Other lines
//! (the channel table, `Channels changed:` blocks) are not needed: each EDF's
//! header names its own channels. A file listed with no seizure is
//! background; the count line must agree with the seizures listed.

use std::path::Path;

use super::{Builder, Line, Listed, Listing, read_text};
use crate::labels::{LabelConfig, LabelError};

/// Seconds in a day: a file that ends at an earlier clock time ended the next day.
const DAY_S: f64 = 86_400.0;

/// Reads a CHB-MIT summary into the files it lists.
///
/// # Errors
/// [`LabelError::Io`] or [`LabelError::NotAFile`] if it cannot be read;
/// [`LabelError::Malformed`] for a seizure line outside a file's block, a
/// start without an end (or the reverse), a count that disagrees with the
/// seizures listed, a file listed twice, a time that does not parse;
/// [`LabelError::StopBeforeStart`] for a seizure that ends before it starts.
pub fn parse_chbmit_summary(path: &Path, cfg: &LabelConfig) -> Result<Listing, LabelError> {
    let text = read_text(path)?;
    let mut listing = Listing::default();
    let mut block: Option<Block<'_>> = None;
    let mut end = 1;
    for line in Line::all(&text, path, &mut end) {
        let Some((key, value)) = line.text.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
        if key == "file name" {
            if let Some(b) = block.take() {
                b.finish(&mut listing)?;
            }
            block = Some(Block::new(&line, value, cfg));
            continue;
        }
        let seizure = key.starts_with("seizure") && key.ends_with(" time");
        let Some(b) = block.as_mut() else {
            if seizure {
                return Err(line.malformed("a seizure time before any `File Name:` line"));
            }
            continue;
        };
        match key.as_str() {
            "file start time" => b.clock.0 = Some(clock(&line, value)?),
            "file end time" => b.clock.1 = Some(clock(&line, value)?),
            "number of seizures in file" => {
                let n = value
                    .parse::<usize>()
                    .map_err(|_| line.malformed("the number of seizures is not a whole number"))?;
                b.count = Some((line.line, n, line.text.to_owned()));
            }
            _ if seizure && key.ends_with("start time") => b.start(&line, value)?,
            _ if seizure && key.ends_with("end time") => b.end(&line, value)?,
            _ => {}
        }
    }
    if let Some(b) = block {
        b.finish(&mut listing)?;
    }
    Ok(listing)
}

/// The block of one listed file, being read.
struct Block<'a> {
    path: &'a Path,
    name: String,
    line: usize,
    text: String,
    /// File start and end, seconds of the clock.
    clock: (Option<f64>, Option<f64>),
    /// The count line: line, count, text.
    count: Option<(usize, usize, String)>,
    /// A seizure start waiting for its end: seconds, line, text.
    open: Option<(f64, usize, String)>,
    seizures: usize,
    rows: Builder<'a>,
}

impl<'a> Block<'a> {
    fn new(line: &Line<'a>, name: &str, cfg: &'a LabelConfig) -> Self {
        Self {
            path: line.path,
            name: name.to_owned(),
            line: line.line,
            text: line.text.to_owned(),
            clock: (None, None),
            count: None,
            open: None,
            seizures: 0,
            rows: Builder::new(cfg),
        }
    }

    fn start(&mut self, line: &Line<'_>, value: &str) -> Result<(), LabelError> {
        if self.open.is_some() {
            return Err(line.malformed("a seizure start before the previous seizure's end"));
        }
        self.open = Some((seconds(line, value)?, line.line, line.text.to_owned()));
        Ok(())
    }

    fn end(&mut self, line: &Line<'_>, value: &str) -> Result<(), LabelError> {
        let Some((start, ..)) = self.open.take() else {
            return Err(line.malformed("a seizure end without its start"));
        };
        let stop = seconds(line, value)?;
        self.seizures += 1;
        self.rows.event(line, None, start, stop, "seiz")
    }

    fn finish(mut self, listing: &mut Listing) -> Result<(), LabelError> {
        let at = |line: usize, text: &str, problem: String| LabelError::Malformed {
            path: self.path.to_owned(),
            line,
            problem,
            text: text.to_owned(),
        };
        if let Some((_, line, text)) = &self.open {
            return Err(at(
                *line,
                text,
                "a seizure start without its end".to_owned(),
            ));
        }
        match &self.count {
            None => {
                return Err(at(
                    self.line,
                    &self.text,
                    "the block has no `Number of Seizures in File:` line".to_owned(),
                ));
            }
            Some((line, n, text)) if *n != self.seizures => {
                return Err(at(
                    *line,
                    text,
                    format!("says {n} seizures, the block lists {}", self.seizures),
                ));
            }
            Some(_) => {}
        }
        if let (Some(start), Some(end)) = self.clock {
            let d = end - start;
            self.rows.out.duration = Some(if d < 0.0 { d + DAY_S } else { d });
        }
        self.rows.out.bname = Some(self.name.clone());
        if let Some(first) = listing.recordings.get(&self.name) {
            return Err(at(
                self.line,
                &self.text,
                format!("listed twice (first at line {})", first.line),
            ));
        }
        listing.recordings.insert(
            self.name,
            Listed {
                line: self.line,
                annotations: self.rows.merged(),
            },
        );
        Ok(())
    }
}

/// `HH:MM:SS` as seconds; hours may pass 24.
fn clock(line: &Line<'_>, value: &str) -> Result<f64, LabelError> {
    let parts: Vec<&str> = value.split(':').map(str::trim).collect();
    let fields: Option<Vec<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
    match fields.as_deref() {
        Some(&[h, m, s]) if m < 60 && s < 60 => Ok(f64::from(h * 3600 + m * 60 + s)),
        _ => Err(line.malformed("expected a clock time HH:MM:SS")),
    }
}

/// `2996 seconds` (the unit optional) as seconds.
fn seconds(line: &Line<'_>, value: &str) -> Result<f64, LabelError> {
    let number = value.split_whitespace().next().unwrap_or_default();
    line.number(number, "seizure time")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{Interval, tmp_file};

    fn read(text: &str) -> Result<Listing, LabelError> {
        parse_chbmit_summary(
            &tmp_file("chb01-summary.txt", text),
            &LabelConfig::default(),
        )
    }

    #[test]
    fn both_seizure_forms_clock_past_midnight_and_background_files() {
        let listing = read(
            "Data Sampling Rate: 256 Hz\n\nChannels in EDF Files:\nChannel 1: FP1-F7\n\n\
             File Name: chb01_01.edf\nFile Start Time: 11:42:54\nFile End Time: 12:42:54\n\
             Number of Seizures in File: 0\n\n\
             File Name: chb01_03.edf\nFile Start Time: 23:43:04\nFile End Time: 24:43:04\n\
             Number of Seizures in File: 2\nSeizure Start Time: 2996 seconds\nSeizure End Time: 3036 seconds\n\
             Seizure 2 Start Time:  3100 seconds\nSeizure 2 End Time: 3110\n\n\
             Channels changed:\nChannel 1: FP1-F7\n\n\
             File Name: chb01_04.edf\nFile Start Time: 23:50:00\nFile End Time: 0:20:00\n\
             Number of Seizures in File: 0\n\
             File Name: chb24_01.edf\nNumber of Seizures in File: 1\n\
             Seizure 1 Start Time: 480 seconds\nSeizure 1 End Time: 505 seconds\n",
        )
        .unwrap();
        let names: Vec<&str> = listing.recordings.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "chb01_01.edf",
                "chb01_03.edf",
                "chb01_04.edf",
                "chb24_01.edf"
            ]
        );
        let a = |name: &str| &listing.recordings[name].annotations;
        assert!(a("chb01_01.edf").seizures.is_empty());
        assert_eq!(a("chb01_01.edf").duration, Some(3600.0));
        assert_eq!(
            a("chb01_03.edf").seizures,
            [
                Interval {
                    start: 2996.0,
                    stop: 3036.0
                },
                Interval {
                    start: 3100.0,
                    stop: 3110.0
                }
            ]
        );
        assert_eq!(a("chb01_03.edf").duration, Some(3600.0));
        assert_eq!(a("chb01_03.edf").types()[0].code, 1, "seiz");
        assert_eq!(a("chb01_04.edf").duration, Some(1800.0), "the next day");
        assert_eq!(a("chb24_01.edf").duration, None);
        assert_eq!(listing.recordings["chb01_03.edf"].line, 11);
    }

    #[test]
    fn malformed_blocks_name_their_line() {
        let head = "File Name: chb01_03.edf\nFile Start Time: 13:43:04\nFile End Time: 14:43:04\n";
        for (body, line, problem) in [
            (
                "Number of Seizures in File: 2\nSeizure Start Time: 1 seconds\nSeizure End Time: 2 seconds\n",
                4,
                "says 2 seizures, the block lists 1",
            ),
            (
                "Number of Seizures in File: 1\nSeizure Start Time: 1 seconds\n",
                5,
                "a seizure start without its end",
            ),
            (
                "Number of Seizures in File: 1\nSeizure End Time: 2 seconds\n",
                5,
                "a seizure end without its start",
            ),
            ("Number of Seizures in File: one\n", 4, "not a whole number"),
            (
                "Seizure Start Time: 1 seconds\nSeizure End Time: 2 seconds\n",
                1,
                "no `Number of Seizures in File:` line",
            ),
            (
                "Number of Seizures in File: 0\nFile Name: chb01_03.edf\nNumber of Seizures in File: 0\n",
                5,
                "listed twice (first at line 1)",
            ),
        ] {
            let e = read(&format!("{head}{body}")).unwrap_err();
            assert!(
                matches!(e, LabelError::Malformed { line: l, .. } if l == line),
                "{e}"
            );
            assert!(
                e.to_string().contains(problem) && e.to_string().contains("chb01-summary.txt"),
                "{e}"
            );
        }
        let e = read("Seizure Start Time: 1 seconds\n").unwrap_err();
        assert!(
            e.to_string()
                .contains(":1: a seizure time before any `File Name:` line"),
            "{e}"
        );
        let e = read(&format!(
            "{head}Number of Seizures in File: 1\nSeizure Start Time: x seconds\n"
        ))
        .unwrap_err();
        assert!(matches!(e, LabelError::Number { line: 5, .. }), "{e}");
        let e = read(&format!("{head}Number of Seizures in File: 1\nSeizure Start Time: 9 seconds\nSeizure End Time: 3 seconds\n")).unwrap_err();
        assert!(
            matches!(e, LabelError::StopBeforeStart { line: 6, .. }),
            "{e}"
        );
        let e = read("File Name: a.edf\nFile Start Time: 13:63:04\n").unwrap_err();
        assert!(
            e.to_string().contains(":2: expected a clock time HH:MM:SS"),
            "{e}"
        );
    }
}
