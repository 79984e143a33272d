//! Siena's `Seizures-list-PNxx.txt` and `subject_info.csv`.
//!
//! A list gives, per seizure, the file and wall-clock times:
//!
//! ```text
//! Seizure n 1
//! File name: PN00-1.edf
//! Registration start time: 19.39.33
//! Registration end time:  20.22.58
//! Seizure start time: 19.58.36
//! Seizure end time: 19.59.46
//! ```
//!
//! The real lists are hand-written, and their defects are read by rule, not
//! by file name:
//! - blocks of one file repeat, and a block may lack the registration lines
//!   (the file's first block gives them); one block may hold several
//!   seizures (`Start time:`/`End time:` lines, `PN01`);
//! - times use `.` or `:` (mixed too) and stray blanks (`1 6.49.25`); where a
//!   line gives two times, the one marked electric wins (the electrographic
//!   onset, as the other corpora annotate), else the first (`A opure B`);
//! - a name whose patient has a letter O for a zero (`PNO6-1.edf`) is read
//!   with the zero; a name without its number (`PN01.edf`, `PN11-.edf`) is the
//!   patient's only recording in the folder;
//! - seizure times count from the EDF header's start (the first sample); the
//!   registration start is only a fallback, and a disagreement is reported
//!   (`PN14-3` is off by 3 h); a time before it is the next day;
//! - an end that falls past the recording by an hour and inside it an hour
//!   earlier is a typo of the hour (`PN00-3`), corrected and reported.
//!
//! Types are per patient, in the root's `subject_info.csv` (column
//! ` seizure`: `IAS`, `WIAS`, `FBTC`), stored under their SzCORE names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Annotations, Builder, Line, read_text};
use crate::labels::{LabelConfig, LabelError};

const DAY_S: f64 = 86_400.0;
const HOUR_S: f64 = 3_600.0;
/// Largest difference between the list's registration start and the EDF
/// header's start that is not reported, seconds.
const START_TOLERANCE_S: f64 = 1.0;

/// Siena's seizure types and their SzCORE names.
const TYPES: [(&str, &str); 3] = [
    ("IAS", "sz_foc_ia"),
    ("WIAS", "sz_foc_a"),
    ("FBTC", "sz_foc_f2b"),
];

/// A seizure list, read: the files it names, in order of first mention.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SienaList {
    /// The list.
    pub path: PathBuf,
    /// Its files.
    pub files: Vec<SienaFile>,
}

/// What a list says about one file.
#[derive(Debug, Clone, PartialEq)]
pub struct SienaFile {
    /// The name as listed (`PNO6-1.edf`).
    pub name: String,
    /// The line that first names it.
    pub line: usize,
    /// The registration start: clock seconds and the line.
    pub registration: Option<(f64, usize)>,
    /// Its seizures: start and end in clock seconds, the lines of each.
    pub seizures: Vec<ListedSeizure>,
}

/// One seizure of a list, in clock seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ListedSeizure {
    /// Start, seconds of the day.
    pub start: f64,
    /// End, seconds of the day.
    pub end: f64,
    /// The start's line.
    pub start_line: usize,
    /// The end's line.
    pub end_line: usize,
}

/// A seizure start waiting for its end.
struct Open {
    start: f64,
    line: usize,
    text: String,
}

/// Reads a Siena seizure list.
///
/// # Errors
/// [`LabelError::Io`] or [`LabelError::NotAFile`] if it cannot be read;
/// [`LabelError::Malformed`] for a seizure outside a file's block, a start
/// without an end (or the reverse), a time line without a clock time.
pub fn parse_siena_list(path: &Path) -> Result<SienaList, LabelError> {
    let text = read_text(path)?;
    let mut list = SienaList {
        path: path.to_owned(),
        files: Vec::new(),
    };
    let mut current: Option<usize> = None;
    let mut open: Option<Open> = None;
    let mut end = 1;
    for line in Line::all(&text, path, &mut end) {
        let Some((key, value)) = line.text.split_once(':') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        if key == "file name" {
            if let Some(o) = &open {
                return Err(unclosed(path, o));
            }
            let name = value.trim();
            current = Some(match list.files.iter().position(|f| f.name == name) {
                Some(i) => i,
                None => {
                    list.files.push(SienaFile {
                        name: name.to_owned(),
                        line: line.line,
                        registration: None,
                        seizures: Vec::new(),
                    });
                    list.files.len() - 1
                }
            });
            continue;
        }
        let time = key.ends_with("start time") || key.ends_with("end time");
        if !time {
            continue;
        }
        let Some(file) = current.map(|i| &mut list.files[i]) else {
            return Err(line.malformed("a time before any `File name:` line"));
        };
        let clock = clock(&line, value)?;
        if key.starts_with("registration") {
            if key.ends_with("start time") && file.registration.is_none() {
                file.registration = Some((clock, line.line));
            }
        } else if key.ends_with("start time") {
            if open.is_some() {
                return Err(line.malformed("a seizure start before the previous seizure's end"));
            }
            open = Some(Open {
                start: clock,
                line: line.line,
                text: line.text.to_owned(),
            });
        } else {
            let Some(o) = open.take() else {
                return Err(line.malformed("a seizure end without its start"));
            };
            file.seizures.push(ListedSeizure {
                start: o.start,
                end: clock,
                start_line: o.line,
                end_line: line.line,
            });
        }
    }
    match &open {
        Some(o) => Err(unclosed(path, o)),
        None => Ok(list),
    }
}

fn unclosed(path: &Path, o: &Open) -> LabelError {
    LabelError::Malformed {
        path: path.to_owned(),
        line: o.line,
        problem: "a seizure start without its end".to_owned(),
        text: o.text.clone(),
    }
}

impl SienaList {
    /// The file the list means by `edf` (a file name), given the names of
    /// the EDFs in its folder: as listed, with a letter O read as a zero, or
    /// without its number when `edf` is its patient's only recording.
    pub fn find(&self, edf: &str, folder: &[String]) -> Option<&SienaFile> {
        let same = |f: &&SienaFile| f.name == edf || with_zeros(&f.name) == edf;
        self.files.iter().find(same).or_else(|| {
            let (patient, _) = edf.split_once('-')?;
            let only = folder
                .iter()
                .filter(|n| n.starts_with(&format!("{patient}-")))
                .count()
                == 1;
            let unnumbered = |f: &&SienaFile| {
                let name = with_zeros(&f.name);
                let stem = name.strip_suffix(".edf").unwrap_or(&name);
                stem.trim_end_matches('-') == patient
            };
            only.then(|| self.files.iter().find(unnumbered)).flatten()
        })
    }
}

/// `name` with a letter O in its patient (`PNO6`) read as a zero.
fn with_zeros(name: &str) -> String {
    match name.get(..4) {
        Some(patient) if patient.starts_with("PN") => {
            format!("{}{}", patient.replace(['O', 'o'], "0"), &name[4..])
        }
        _ => name.to_owned(),
    }
}

impl SienaFile {
    /// The annotations of this file for a recording of `duration_s` seconds
    /// whose first sample is at clock second `start` (the EDF header's; `None`:
    /// the registration start), every seizure labelled `label`. Corrections
    /// and disagreements are in [`Annotations::notes`].
    ///
    /// # Errors
    /// [`LabelError::Malformed`] when neither start is known;
    /// [`LabelError::StopBeforeStart`], [`LabelError::UnknownLabel`].
    pub fn annotations(
        &self,
        list: &Path,
        start: Option<f64>,
        duration_s: f64,
        label: &str,
        cfg: &LabelConfig,
    ) -> Result<Annotations, LabelError> {
        let line = |line: usize| Line {
            path: list,
            line,
            text: "",
        };
        let origin = match (start, self.registration) {
            (Some(s), Some((r, at))) => {
                let off = offset(r, s).min(offset(s, r));
                if off > START_TOLERANCE_S {
                    return self.with_origin(list, s, duration_s, label, cfg, Some((at, off)));
                }
                s
            }
            (Some(s), None) => s,
            (None, Some((r, _))) => r,
            (None, None) => {
                return Err(line(self.line).malformed(
                    "no registration start for this file, and its EDF gives no start time",
                ));
            }
        };
        self.with_origin(list, origin, duration_s, label, cfg, None)
    }

    fn with_origin(
        &self,
        list: &Path,
        origin: f64,
        duration_s: f64,
        label: &str,
        cfg: &LabelConfig,
        disagreement: Option<(usize, f64)>,
    ) -> Result<Annotations, LabelError> {
        let mut rows = Builder::new(cfg);
        if let Some((at, off)) = disagreement {
            rows.out.notes.push(format!(
                "{}:{at}: the registration start is {off} s from the EDF header's start; seizure times count from the header's",
                list.display()
            ));
        }
        for z in &self.seizures {
            let s = offset(origin, z.start);
            let mut e = offset(origin, z.end);
            if e > duration_s && e - HOUR_S > s && e - HOUR_S <= duration_s {
                e -= HOUR_S;
                rows.out.notes.push(format!(
                    "{}:{}: the seizure's end lies an hour past the recording; read as an hour earlier (a typo of the hour)",
                    list.display(),
                    z.end_line
                ));
            }
            let line = Line {
                path: list,
                line: z.start_line,
                text: "",
            };
            rows.event(&line, None, s, e, label)?;
        }
        Ok(rows.merged())
    }
}

/// Seconds from clock time `from` to clock time `to`, the next day when `to`
/// is earlier.
fn offset(from: f64, to: f64) -> f64 {
    let d = to - from;
    if d < 0.0 { d + DAY_S } else { d }
}

/// The clock time of a time line's value, in seconds of the day: blanks
/// dropped, `.` or `:` between fields; of two times, the one marked electric,
/// else the first.
fn clock(line: &Line<'_>, value: &str) -> Result<f64, LabelError> {
    let packed: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let times = clock_times(&packed);
    let electric = times
        .iter()
        .find(|(_, rest)| rest.to_ascii_lowercase().contains("electric"));
    match electric.or(times.first()) {
        Some((t, _)) => Ok(*t),
        None => Err(line.malformed("expected a clock time HH.MM.SS")),
    }
}

/// Every `H.M.S` (one or two digits each, `.` or `:` between) in `text`, with
/// the text that follows it up to the next.
fn clock_times(text: &str) -> Vec<(f64, &str)> {
    let b = text.as_bytes();
    let mut found: Vec<(f64, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit());
        if let Some((secs, end)) = starts.then(|| hms(b, i)).flatten() {
            found.push((secs, i, end));
            i = end;
        } else {
            i += 1;
        }
    }
    (0..found.len())
        .map(|k| {
            let (secs, _, end) = found[k];
            let next = found.get(k + 1).map_or(text.len(), |f| f.1);
            (secs, &text[end..next])
        })
        .collect()
}

/// `H.M.S` at `b[i..]`: its seconds of the day and where it ends.
fn hms(b: &[u8], mut i: usize) -> Option<(f64, usize)> {
    let mut fields = [0u32; 3];
    for (k, field) in fields.iter_mut().enumerate() {
        if k > 0 {
            if !matches!(b.get(i), Some(b'.' | b':')) {
                return None;
            }
            i += 1;
        }
        let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=2).contains(&digits) {
            return None;
        }
        *field = b[i..i + digits]
            .iter()
            .fold(0, |v, c| v * 10 + u32::from(c - b'0'));
        i += digits;
    }
    let [h, m, s] = fields;
    (h < 24 && m < 60 && s < 60).then(|| (f64::from(h * 3600 + m * 60 + s), i))
}

/// The seizure type of each patient in `subject_info.csv`, as its SzCORE name
/// (`IAS` is `sz_foc_ia`); a type the table does not know is kept as written.
///
/// # Errors
/// [`LabelError::Io`] or [`LabelError::NotAFile`] if it cannot be read;
/// [`LabelError::MissingColumn`] without a `patient_id` or `seizure` column;
/// [`LabelError::ShortRow`] for a row without them.
pub fn parse_subject_info(path: &Path) -> Result<BTreeMap<String, String>, LabelError> {
    let text = read_text(path)?;
    let mut out = BTreeMap::new();
    let mut columns: Option<(usize, usize)> = None;
    let mut end = 1;
    for line in Line::all(&text, path, &mut end) {
        let fields: Vec<&str> = line.text.split(',').map(str::trim).collect();
        let Some((patient, kind)) = columns else {
            let find = |name: &'static str| {
                fields
                    .iter()
                    .position(|f| f.eq_ignore_ascii_case(name))
                    .ok_or_else(|| LabelError::MissingColumn {
                        path: path.to_owned(),
                        line: line.line,
                        column: name,
                        header: line.text.to_owned(),
                    })
            };
            columns = Some((find("patient_id")?, find("seizure")?));
            continue;
        };
        let patient = line.field(&fields, patient, "patient_id")?;
        let kind = line.field(&fields, kind, "seizure")?;
        let szcore = TYPES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(kind))
            .map_or(kind, |(_, szcore)| szcore);
        out.insert(patient.to_owned(), szcore.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{Interval, tmp_file as write};

    fn hms(h: u32, m: u32, s: u32) -> f64 {
        f64::from(h * 3600 + m * 60 + s)
    }

    fn seizures(file: &SienaFile, list: &Path, start: Option<f64>, duration: f64) -> Annotations {
        file.annotations(list, start, duration, "sz_foc_ia", &LabelConfig::default())
            .unwrap()
    }

    #[test]
    fn blocks_names_and_times_as_the_real_lists_write_them() {
        let path = write(
            "Seizures-list-PN10.txt",
            "Patient id: PN10\r\nChannel 1: Fp1\r\n\r\nSeizure n 1 (in sleep):\r\nFile name: PNO6-1.edf \r\n\
             Registration start time:1 6.49.25\r\nRegistration end time: 16.50.00\r\n\
             Seizure start time: 16:49.28 (CLINICAL ONSET); 16.49.31 (ELECTRIC ONSET)\r\n\
             Seizure end time:16.49.40 opure 16.49.35\r\n\r\n\
             Seizure n 2\r\nFile name: PNO6-1.edf\r\nSeizure start time: 16.49.45\r\nSeizure end time: 16.49.50\r\n\
             File name: PN01.edf\r\nRegistration start time: 23.59.52\r\n\
             Seizure n 1\r\nStart time: 23:59:54\r\nEnd time: 23:59:58\r\n\
             Seizure n 2\r\nStart time: 00:00:04\r\nEnd time: 00:00:10\r\n",
        );
        let list = parse_siena_list(&path).unwrap();
        assert_eq!(list.files.len(), 2);
        let folder = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let pn06 = list
            .find("PN06-1.edf", &folder(&["PN06-1.edf", "PN06-2.edf"]))
            .unwrap();
        assert_eq!(pn06.registration, Some((hms(16, 49, 25), 6)));
        let a = seizures(pn06, &path, Some(hms(16, 49, 25)), 35.0);
        assert_eq!(
            a.seizures,
            [
                Interval {
                    start: 6.0,
                    stop: 15.0
                },
                Interval {
                    start: 20.0,
                    stop: 25.0
                }
            ],
            "the electric onset, the first of two ends, the second block"
        );
        assert!(a.notes.is_empty());
        // PN01.edf: the patient's only recording; after midnight, the next day.
        assert!(
            list.find("PN01-1.edf", &folder(&["PN01-1.edf", "PN01-2.edf"]))
                .is_none()
        );
        let pn01 = list.find("PN01-1.edf", &folder(&["PN01-1.edf"])).unwrap();
        let a = seizures(pn01, &path, None, 20.0);
        assert_eq!(
            a.seizures,
            [
                Interval {
                    start: 2.0,
                    stop: 6.0
                },
                Interval {
                    start: 12.0,
                    stop: 18.0
                }
            ]
        );
    }

    #[test]
    fn the_header_start_decides_and_an_hour_typo_is_corrected_with_notes() {
        let path = write(
            "Seizures-list-PN00.txt",
            "File name: PN00-3.edf\nRegistration start time: 15.28.27\n\
             Seizure start time: 18.28.29\nSeizure end time: 19.29.29\n",
        );
        let list = parse_siena_list(&path).unwrap();
        let file = list.find("PN00-3.edf", &[]).unwrap();
        let a = seizures(file, &path, Some(hms(18, 28, 27)), 64.0);
        assert_eq!(
            a.seizures,
            [Interval {
                start: 2.0,
                stop: 62.0
            }]
        );
        assert_eq!(a.notes.len(), 2, "{:?}", a.notes);
        assert!(a.notes[0].contains(":2: the registration start is 10800 s from the EDF header's"));
        assert!(a.notes[1].contains(":4: the seizure's end lies an hour past the recording"));
        assert_eq!(a.types()[0].code, 5);
    }

    #[test]
    fn malformed_lists_name_their_line() {
        for (text, line, problem) in [
            (
                "Seizure start time: 10.00.00\n",
                1,
                "a time before any `File name:` line",
            ),
            (
                "File name: a.edf\nSeizure start time: later\n",
                2,
                "expected a clock time HH.MM.SS",
            ),
            (
                "File name: a.edf\nSeizure end time: 10.00.00\n",
                2,
                "a seizure end without its start",
            ),
            (
                "File name: a.edf\nSeizure start time: 10.00.00\nFile name: b.edf\n",
                2,
                "a seizure start without its end",
            ),
            (
                "File name: a.edf\nSeizure start time: 10.00.00\n",
                2,
                "a seizure start without its end",
            ),
            (
                "File name: a.edf\nSeizure start time: 25.00.00\n",
                2,
                "expected a clock time",
            ),
        ] {
            let e = parse_siena_list(&write("Seizures-list-PN00.txt", text)).unwrap_err();
            assert!(
                matches!(e, LabelError::Malformed { line: l, .. } if l == line),
                "{e}"
            );
            assert!(e.to_string().contains(problem), "{e}");
        }
        let path = write(
            "Seizures-list-PN00.txt",
            "File name: a.edf\nSeizure start time: 10.00.00\nSeizure end time: 10.00.05\n",
        );
        let list = parse_siena_list(&path).unwrap();
        let e = list.files[0]
            .annotations(&path, None, 10.0, "sz", &LabelConfig::default())
            .unwrap_err();
        assert!(e.to_string().contains(":1: no registration start"), "{e}");
    }

    #[test]
    fn subject_types_by_patient() {
        let path = write(
            "subject_info.csv",
            "patient_id, age_years, gender, seizure, localization\nPN00,55,Male,IAS,T\nPN10,25,Male,FBTC,F\n\
             PN14,49,Male,WIAS,T\nPN99,1,Male,XYZ,T\n",
        );
        let types = parse_subject_info(&path).unwrap();
        assert_eq!(types["PN00"], "sz_foc_ia");
        assert_eq!(types["PN10"], "sz_foc_f2b");
        assert_eq!(types["PN14"], "sz_foc_a");
        assert_eq!(types["PN99"], "XYZ");
        let e =
            parse_subject_info(&write("subject_info.csv", "patient_id,age\nPN00,1\n")).unwrap_err();
        assert!(
            matches!(
                e,
                LabelError::MissingColumn {
                    column: "seizure",
                    ..
                }
            ),
            "{e}"
        );
    }
}
