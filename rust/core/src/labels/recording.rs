//! The annotations of one recording: labels from the preferred file, seizure
//! types from a typed file, and what looks wrong with them.
//!
//! TUSZ v2 puts a binary `.csv_bi` and a typed `.csv` beside each EDF, v1 a
//! `.tse_bi` and a `.tse`. The labels (seizure or background) come from the
//! first file of [`LabelConfig::files`] that exists, as before. When that file
//! is binary, the types come from the first typed file of the list that
//! exists, so the default preference keeps `.csv_bi` labels and still gets
//! the types of the `.csv`. Where the two disagree the labels file decides:
//! a sample it calls background is background, a seizure sample the typed file
//! leaves untyped is `seiz` (code 1), and [`RecordingAnnotation::warnings`]
//! reports how many seconds disagree.

use std::path::{Path, PathBuf};

use super::annotation::{DURATION_TOLERANCE_S, beside, extension, is_binary};
use super::samples::check_rate;
use super::{
    Annotations, BACKGROUND, ChannelSeizure, Event, Interval, LabelConfig, LabelError, SEIZURE,
    TypedInterval, channel_seizures, find_annotation, parse_annotation, sample_labels,
    sample_types, unlabeled,
};

/// The annotation files of one recording, read.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingAnnotation {
    /// The file the labels come from: the first of [`LabelConfig::files`]
    /// beside the EDF.
    pub path: PathBuf,
    /// Its content; [`Annotations::seizures`] are the seizure intervals.
    pub annotations: Annotations,
    /// The file the types come from: `path` itself when it is typed or when no
    /// typed file exists beside a binary one (every seizure is then `seiz`),
    /// else the first typed file of [`LabelConfig::files`] beside the EDF.
    pub types_path: PathBuf,
    /// The seizure type over time, from `types_path` ([`Annotations::types`]).
    pub types: Vec<TypedInterval>,
    /// The event rows of `types_path`: per channel in a TUSZ `.csv`
    /// ([`Self::channel_seizures`]).
    pub type_events: Vec<Event>,
}

impl RecordingAnnotation {
    /// One file that gives both the labels and the types.
    pub fn of(path: PathBuf, annotations: Annotations) -> Self {
        Self {
            types_path: path.clone(),
            types: annotations.types(),
            type_events: annotations.events.clone(),
            path,
            annotations,
        }
    }

    /// The seizures per channel on `n_samples` samples at `fs` Hz, when the
    /// typed file names channels ([`channel_seizures`]).
    pub fn channel_seizures(&self, n_samples: usize, fs: f64) -> Option<Vec<ChannelSeizure>> {
        channel_seizures(&self.type_events, n_samples, fs)
    }
}

/// Reads the annotations beside `edf` as the module doc says; `None` when no
/// file of [`LabelConfig::files`] is there (the recording is unlabeled).
///
/// # Errors
/// Any [`parse_annotation`] error, of the labels file or of the typed file.
pub fn read_recording_annotation(
    edf: &Path,
    cfg: &LabelConfig,
) -> Result<Option<RecordingAnnotation>, LabelError> {
    let Some(path) = find_annotation(edf, cfg) else {
        return Ok(None);
    };
    let annotations = parse_annotation(&path, cfg)?;
    let typed = if is_binary(&extension(&path)) {
        let typed_exts = cfg.files.iter().map(String::as_str);
        beside(edf, typed_exts.filter(|e| !is_binary(e)))
    } else {
        None
    };
    let (types_path, typed) = match typed {
        Some(typed) => {
            let parsed = parse_annotation(&typed, cfg)?;
            (typed, parsed)
        }
        None => (path.clone(), annotations.clone()),
    };
    Ok(Some(RecordingAnnotation {
        path,
        annotations,
        types_path,
        types: typed.types(),
        type_events: typed.events,
    }))
}

/// Per-sample labels and seizure type codes of a recording of `n_samples` at
/// `fs` Hz: both all [`super::UNLABELED`] without annotation. A type is
/// [`BACKGROUND`] exactly where the label is, so `types[k] != 0` iff
/// `labels[k] == 1` (see the module doc).
///
/// # Errors
/// [`LabelError::BadRate`] if `fs` is not positive and finite,
/// [`LabelError::Truncated`] if the labels file's rows end before the
/// recording ([`Annotations::check_covers`]).
pub fn recording_samples(
    annotation: Option<&RecordingAnnotation>,
    n_samples: usize,
    fs: f64,
) -> Result<(Vec<u8>, Vec<u8>), LabelError> {
    check_rate(fs)?;
    let Some(a) = annotation else {
        return Ok((unlabeled(n_samples), unlabeled(n_samples)));
    };
    a.annotations.check_covers(&a.path, n_samples as f64 / fs)?;
    let labels = sample_labels(&a.annotations.seizures, n_samples, fs)?;
    let mut types = sample_types(&a.types, n_samples, fs)?;
    for (t, &label) in types.iter_mut().zip(&labels) {
        if label == BACKGROUND {
            *t = BACKGROUND;
        } else if *t == BACKGROUND {
            *t = SEIZURE;
        }
    }
    Ok((labels, types))
}

/// Something about a recording's annotations worth reporting; the recording
/// is still labeled. Its `Display` is the message, naming the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LabelWarning {
    /// Event rows entirely outside the recording (ending at or before 0, or
    /// starting at or after its end): they label no sample.
    #[error(
        "{}: {rows} event rows ({seizure_rows} of them seizures) lie entirely outside the recording (0-{duration_s} s)",
        path.display()
    )]
    EventsOutside {
        /// The labels file.
        path: PathBuf,
        /// Rows outside.
        rows: usize,
        /// Seizure rows among them.
        seizure_rows: usize,
        /// The recording's duration, seconds.
        duration_s: f64,
    },
    /// The file has seizure rows, but none overlaps the recording: it is all
    /// background.
    #[error(
        "{}: none of its {seizure_rows} seizure rows overlaps the recording (0-{duration_s} s): it has no seizure sample",
        path.display()
    )]
    NoSeizureInside {
        /// The labels file.
        path: PathBuf,
        /// Seizure rows in the file.
        seizure_rows: usize,
        /// The recording's duration, seconds.
        duration_s: f64,
    },
    /// The file's `# duration` differs from the recording's by more than
    /// [`DURATION_TOLERANCE_S`]: it may describe another recording.
    #[error(
        "{}: annotated duration {annotated_s} s differs from the recording's {duration_s} s",
        path.display()
    )]
    DurationMismatch {
        /// The labels file.
        path: PathBuf,
        /// Its `# duration`, seconds.
        annotated_s: f64,
        /// The recording's duration, seconds.
        duration_s: f64,
    },
    /// What the reader corrected or found doubtful in a hand-written file
    /// (Siena's lists), naming the file and line.
    #[error("{0}")]
    Noted(String),
    /// The typed file's seizures differ from the labels file's (within the
    /// recording) by more than [`DISAGREE_TOLERANCE_S`].
    #[error(
        "{}: its seizure types leave {untyped_s:.4} s of the seizures of {} untyped (stored as seiz) and cover {background_s:.4} s it calls background (stored as background)",
        types_path.display(),
        path.display()
    )]
    TypesDisagree {
        /// The labels file.
        path: PathBuf,
        /// The typed file.
        types_path: PathBuf,
        /// Seizure seconds of `path` that `types_path` gives no type.
        untyped_s: f64,
        /// Seconds `types_path` types as seizure that `path` calls background.
        background_s: f64,
    },
}

/// Largest disagreement between labels and types files that is not
/// reported, seconds (TUSZ writes times to 0.1 ms).
pub const DISAGREE_TOLERANCE_S: f64 = 0.001;

impl RecordingAnnotation {
    /// What to report about these annotations on a recording of `duration_s`
    /// seconds (its samples over its rate): events outside it, seizure rows
    /// none of which is inside, a `# duration` that disagrees, types that
    /// disagree with the labels.
    pub fn warnings(&self, duration_s: f64) -> Vec<LabelWarning> {
        let a = &self.annotations;
        let path = || self.path.clone();
        let mut out: Vec<LabelWarning> = a.notes.iter().cloned().map(LabelWarning::Noted).collect();
        let outside = |start: f64, stop: f64| stop <= 0.0 || start >= duration_s;
        let (mut rows, mut seizure_rows) = (0, 0);
        for e in a.events.iter().filter(|e| outside(e.start, e.stop)) {
            rows += 1;
            seizure_rows += usize::from(e.code != BACKGROUND);
        }
        if rows > 0 {
            out.push(LabelWarning::EventsOutside {
                path: path(),
                rows,
                seizure_rows,
                duration_s,
            });
        }
        if a.seizure_rows > 0 && a.seizures.iter().all(|i| outside(i.start, i.stop)) {
            out.push(LabelWarning::NoSeizureInside {
                path: path(),
                seizure_rows: a.seizure_rows,
                duration_s,
            });
        }
        if let Some(annotated_s) = a.duration
            && (annotated_s - duration_s).abs() > DURATION_TOLERANCE_S
        {
            out.push(LabelWarning::DurationMismatch {
                path: path(),
                annotated_s,
                duration_s,
            });
        }
        if self.types_path != self.path {
            let typed: Vec<Interval> = self
                .types
                .iter()
                .map(|t| Interval {
                    start: t.start,
                    stop: t.stop,
                })
                .collect();
            let untyped_s = uncovered(&a.seizures, &typed, duration_s);
            let background_s = uncovered(&typed, &a.seizures, duration_s);
            if untyped_s > DISAGREE_TOLERANCE_S || background_s > DISAGREE_TOLERANCE_S {
                out.push(LabelWarning::TypesDisagree {
                    path: path(),
                    types_path: self.types_path.clone(),
                    untyped_s,
                    background_s,
                });
            }
        }
        out
    }
}

/// Seconds of `a` within `[0, end)` that `b` does not cover; the intervals of
/// each list must not overlap one another.
fn uncovered(a: &[Interval], b: &[Interval], end: f64) -> f64 {
    let overlap = |i: &Interval, lo: f64, hi: f64| (i.stop.min(hi) - i.start.max(lo)).max(0.0);
    a.iter()
        .map(|i| {
            let (lo, hi) = (i.start.max(0.0), i.stop.min(end));
            let inside = (hi - lo).max(0.0);
            inside - b.iter().map(|j| overlap(j, lo, hi)).sum::<f64>()
        })
        .sum::<f64>()
        .max(0.0)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use proptest::prelude::*;

    use super::*;
    use crate::labels::{UNLABELED, tmp_dir, type_code};

    const H: &str = "channel,start_time,stop_time,label,confidence\n";

    fn iv(start: f64, stop: f64) -> Interval {
        Interval { start, stop }
    }

    fn ti(start: f64, stop: f64, label: &str) -> TypedInterval {
        TypedInterval {
            start,
            stop,
            code: type_code(label).unwrap_or(UNLABELED),
        }
    }

    /// Writes `files` (extension, content) beside `<dir>/r.edf`; returns the EDF path.
    fn corpus(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let edf = tmp_dir(name).join("r.edf");
        for (ext, text) in files {
            fs::write(edf.with_extension(ext), text).unwrap();
        }
        edf
    }

    fn read(edf: &Path) -> RecordingAnnotation {
        read_recording_annotation(edf, &LabelConfig::default())
            .unwrap()
            .unwrap()
    }

    #[test]
    fn v2_labels_from_csv_bi_and_types_from_csv() {
        let csv_bi = format!(
            "# duration = 30.00 secs\n{H}TERM,0,10,bckg,1\nTERM,10,20,seiz,1\nTERM,20,30,bckg,1\n"
        );
        let csv = format!("{H}FP1-F7,10,20,cnsz,1\nF7-T3,10,15,atsz,1\nT3-T5,10,15,atsz,1\n");
        let edf = corpus("v2", &[("csv_bi", &csv_bi), ("csv", &csv)]);
        let a = read(&edf);
        assert_eq!(a.path, edf.with_extension("csv_bi"));
        assert_eq!(a.types_path, edf.with_extension("csv"));
        assert_eq!(a.annotations.seizures, [iv(10.0, 20.0)]);
        assert_eq!(a.types, [ti(10.0, 15.0, "atsz"), ti(15.0, 20.0, "cnsz")]);
        let (labels, types) = recording_samples(Some(&a), 30, 1.0).unwrap();
        let expect = |f: fn(usize) -> u8| (0..30).map(f).collect::<Vec<u8>>();
        assert_eq!(labels, expect(|k| u8::from((10..20).contains(&k))));
        assert_eq!(
            types,
            expect(|k| match k {
                10..15 => 10,
                15..20 => 8,
                _ => 0,
            })
        );
        assert!(a.warnings(30.0).is_empty(), "{:?}", a.warnings(30.0));
        // The binary file alone: every seizure is `seiz`.
        fs::remove_file(edf.with_extension("csv")).unwrap();
        let a = read(&edf);
        assert_eq!(a.types_path, a.path);
        assert_eq!(a.types, [ti(10.0, 20.0, "seiz")]);
        assert_eq!(recording_samples(Some(&a), 30, 1.0).unwrap().1, labels);
        fs::remove_dir_all(edf.parent().unwrap()).unwrap();
    }

    #[test]
    fn v1_term_files_and_a_typed_file_alone() {
        let tse_bi =
            "version = tse_v1.0.0\n\n0.0 5.0 bckg 1.0\n5.0 8.0 seiz 1.0\n8.0 10.0 bckg 1.0\n";
        let tse = "version = tse_v1.0.0\n\n0.0 5.0 bckg 1.0\n5.0 8.0 mysz 1.0\n8.0 10.0 bckg 1.0\n";
        let edf = corpus("v1", &[("tse_bi", tse_bi), ("tse", tse)]);
        let a = read(&edf);
        assert_eq!(
            (a.path.clone(), a.types_path.clone()),
            (edf.with_extension("tse_bi"), edf.with_extension("tse"))
        );
        assert_eq!(a.types, [ti(5.0, 8.0, "mysz")]);
        let (labels, types) = recording_samples(Some(&a), 10, 1.0).unwrap();
        assert_eq!(labels, [0, 0, 0, 0, 0, 1, 1, 1, 0, 0]);
        assert_eq!(types, [0, 0, 0, 0, 0, 11, 11, 11, 0, 0]);
        // A typed file preferred: labels and types both from it.
        fs::remove_file(edf.with_extension("tse_bi")).unwrap();
        let a = read(&edf);
        assert_eq!(a.path, edf.with_extension("tse"));
        assert_eq!(a.types_path, a.path);
        assert_eq!(
            recording_samples(Some(&a), 10, 1.0).unwrap(),
            (labels, types)
        );
        // No annotation: unlabeled, types too.
        fs::remove_file(edf.with_extension("tse")).unwrap();
        assert_eq!(
            read_recording_annotation(&edf, &LabelConfig::default()).unwrap(),
            None
        );
        assert_eq!(
            recording_samples(None, 3, 1.0).unwrap(),
            (vec![UNLABELED; 3], vec![UNLABELED; 3])
        );
        assert!(recording_samples(None, 3, 0.0).is_err());
        fs::remove_dir_all(edf.parent().unwrap()).unwrap();
    }

    #[test]
    fn the_files_list_decides_where_types_come_from() {
        let edf = corpus(
            "files",
            &[
                ("csv_bi", &format!("{H}TERM,1,2,seiz,1\n")),
                ("tse", "version = tse_v1.0.0\n1.0 2.0 absz 1.0\n"),
            ],
        );
        // Default order: .csv is absent, so the .tse gives the types.
        assert_eq!(read(&edf).types, [ti(1.0, 2.0, "absz")]);
        let bi_only = LabelConfig {
            files: vec![".csv_bi".to_owned()],
            ..LabelConfig::default()
        };
        let a = read_recording_annotation(&edf, &bi_only).unwrap().unwrap();
        assert_eq!(a.types, [ti(1.0, 2.0, "seiz")]);
        fs::remove_dir_all(edf.parent().unwrap()).unwrap();
    }

    #[test]
    fn errors_of_either_file_and_folders() {
        let edf = corpus(
            "errors",
            &[
                ("csv_bi", &format!("{H}TERM,1,2,seiz,1\n")),
                ("csv", &format!("{H}FP1-F7,1,2,xxsz,1\n")),
            ],
        );
        let e = read_recording_annotation(&edf, &LabelConfig::default()).unwrap_err();
        assert!(
            e.to_string().contains("r.csv:2: unknown label \"xxsz\""),
            "{e}"
        );
        fs::remove_file(edf.with_extension("csv")).unwrap();
        fs::create_dir(edf.with_extension("csv")).unwrap();
        let e = read_recording_annotation(&edf, &LabelConfig::default()).unwrap_err();
        assert!(matches!(e, LabelError::NotAFile { .. }), "{e}");
        fs::remove_file(edf.with_extension("csv_bi")).unwrap();
        let e = read_recording_annotation(&edf, &LabelConfig::default()).unwrap_err();
        assert!(e.to_string().contains("r.csv: is a directory"), "{e}");
        fs::remove_dir_all(edf.parent().unwrap()).unwrap();
    }

    #[test]
    fn typed_file_disagreeing_with_the_labels() {
        let edf = corpus(
            "disagree",
            &[
                ("csv_bi", &format!("{H}TERM,10,20,seiz,1\n")),
                ("csv", &format!("{H}FP1-F7,12,25,cpsz,1\n")),
            ],
        );
        let a = read(&edf);
        let (labels, types) = recording_samples(Some(&a), 30, 1.0).unwrap();
        // 10-12 seizure without type: seiz; 20-25 typed but background in the labels: background.
        let seizure: Vec<usize> = (0..30).filter(|&k| labels[k] == 1).collect();
        assert_eq!(seizure, (10..20).collect::<Vec<_>>());
        assert_eq!(&types[9..21], [0, 1, 1, 5, 5, 5, 5, 5, 5, 5, 5, 0]);
        assert_eq!(
            a.warnings(30.0),
            [LabelWarning::TypesDisagree {
                path: edf.with_extension("csv_bi"),
                types_path: edf.with_extension("csv"),
                untyped_s: 2.0,
                background_s: 5.0,
            }]
        );
        // Only what lies inside the recording counts.
        assert!(matches!(
            a.warnings(11.0).as_slice(),
            [LabelWarning::TypesDisagree {
                untyped_s: 1.0,
                background_s: 0.0,
                ..
            }]
        ));
        assert!(
            !a.warnings(10.0)
                .iter()
                .any(|w| matches!(w, LabelWarning::TypesDisagree { .. }))
        );
        fs::remove_dir_all(edf.parent().unwrap()).unwrap();
    }

    #[test]
    fn warnings_for_events_past_the_end() {
        let text = format!(
            "# duration = 600.00 secs\n{H}TERM,0,100,bckg,1\nTERM,100,200,seiz,1\nTERM,200,600,bckg,1\n"
        );
        let edf = corpus("past", &[("csv_bi", &text)]);
        let a = read(&edf);
        let path = edf.with_extension("csv_bi");
        assert!(a.warnings(600.0).is_empty());
        assert!(
            a.warnings(600.5).is_empty(),
            "within the duration tolerance"
        );
        // The EDF holds 150 s: one row past the end, seizures still inside.
        assert_eq!(
            a.warnings(150.0),
            [
                LabelWarning::EventsOutside {
                    path: path.clone(),
                    rows: 1,
                    seizure_rows: 0,
                    duration_s: 150.0
                },
                LabelWarning::DurationMismatch {
                    path: path.clone(),
                    annotated_s: 600.0,
                    duration_s: 150.0
                },
            ]
        );
        // 100 s: every seizure row lies past the end; the labels are all background.
        let w = a.warnings(100.0);
        assert_eq!(
            w[..2],
            [
                LabelWarning::EventsOutside {
                    path: path.clone(),
                    rows: 2,
                    seizure_rows: 1,
                    duration_s: 100.0
                },
                LabelWarning::NoSeizureInside {
                    path: path.clone(),
                    seizure_rows: 1,
                    duration_s: 100.0
                },
            ]
        );
        let msg = w[1].to_string();
        assert!(
            msg.contains("r.csv_bi: none of its 1 seizure rows overlaps the recording (0-100 s)"),
            "{msg}"
        );
        assert!(
            recording_samples(Some(&a), 100, 1.0)
                .unwrap()
                .0
                .iter()
                .all(|&l| l == 0)
        );
        // A file with no seizure rows at all is not reported as such.
        fs::write(&path, format!("{H}TERM,0,100,bckg,1\n")).unwrap();
        assert!(read(&edf).warnings(100.0).is_empty());
        fs::remove_dir_all(edf.parent().unwrap()).unwrap();
    }

    /// The type at `t` by the rule of the types module, from the rows.
    fn naive_type(rows: &[(usize, f64, f64, u8)], t: f64) -> u8 {
        let mut best = (0usize, 0u8);
        for code in 1..12u8 {
            let mut channels: Vec<usize> = rows
                .iter()
                .filter(|&&(_, a, b, c)| c == code && a <= t && t < b)
                .map(|&(ch, ..)| ch)
                .collect();
            channels.dedup();
            channels.sort_unstable();
            channels.dedup();
            let rank = |c: u8| if c == SEIZURE { u8::MAX } else { c };
            let better = channels.len() > best.0
                || (channels.len() == best.0 && best.0 > 0 && rank(code) < rank(best.1));
            if better {
                best = (channels.len(), code);
            }
        }
        best.1
    }

    proptest! {
        #[test]
        fn types_follow_the_definition_and_the_labels(
            mut rows in prop::collection::vec((0..3usize, 0..40u32, 0..15u32, 0..5usize), 1..25),
            fs in prop_oneof![Just(1.0), Just(4.0), Just(2.5)],
        ) {
            let names = ["bckg", "seiz", "cpsz", "fnsz", "cnsz"];
            // A channel with background rows tiles the 12 s recording: it reaches its end.
            for ch in 0..3 {
                if rows.iter().any(|&(c, .., label)| c == ch && label == 0) {
                    rows.push((ch, 47, 1, 0));
                }
            }
            let mut text = H.to_owned();
            let mut typed = Vec::new();
            for &(ch, start, len, label) in &rows {
                let (a, b) = (f64::from(start) / 4.0, f64::from(start + len) / 4.0);
                text += &format!("C{ch},{a},{b},{},1\n", names[label]);
                typed.push((ch, a, b, type_code(names[label]).unwrap()));
            }
            let path = Path::new("p.csv");
            let annotations = super::super::annotation::tests_parse(&text, path);
            let a = RecordingAnnotation::of(path.to_owned(), annotations);
            let n = (12.0 * fs) as usize;
            let (labels, types) = recording_samples(Some(&a), n, fs).unwrap();
            prop_assert_eq!(&labels, &sample_labels(&a.annotations.seizures, n, fs).unwrap());
            for k in 0..n {
                prop_assert_eq!(types[k], naive_type(&typed, k as f64 / fs), "sample {}", k);
                prop_assert_eq!(types[k] != 0, labels[k] == 1);
            }
        }
    }
}
