//! BIDS `*_events.tsv` in SzCORE's format: a header row naming the columns
//! (`onset duration eventType confidence channels dateTime
//! recordingDuration`), then one event a row, tab-separated, seconds from the
//! recording's start. `eventType` is `bckg` or a HED-SCORE seizure name
//! (`sz_foc_ia`, ...); a background-only recording has one `bckg` row
//! spanning it. Columns are found by name; `n/a` is BIDS's empty value.

use std::path::Path;

use super::{Annotations, Builder, Line, read_text};
use crate::labels::{LabelConfig, LabelError};

const ONSET: &str = "onset";
const DURATION: &str = "duration";
const EVENT_TYPE: &str = "eventType";
const RECORDING_DURATION: &str = "recordingDuration";

/// Reads a BIDS events file. Its `recordingDuration`, when given, is the
/// annotated duration: `bckg` rows must reach it, and a recording of another
/// length is reported.
///
/// # Errors
/// [`LabelError::Io`] or [`LabelError::NotAFile`] if it cannot be read;
/// [`LabelError::Malformed`] for an empty file, [`LabelError::MissingColumn`]
/// for a header without `onset`, `duration` or `eventType`;
/// [`LabelError::ShortRow`], [`LabelError::Empty`], [`LabelError::Number`]
/// (`n/a` included), [`LabelError::NotFinite`],
/// [`LabelError::StopBeforeStart`] and [`LabelError::UnknownLabel`] for rows,
/// [`LabelError::Truncated`] for `bckg` rows that end before the stated duration.
pub fn parse_bids_events(path: &Path, cfg: &LabelConfig) -> Result<Annotations, LabelError> {
    let text = read_text(path)?;
    let mut rows = Builder::new(cfg);
    let mut columns: Option<[Option<usize>; 4]> = None;
    let mut end = 1;
    for line in Line::all(&text, path, &mut end) {
        let fields: Vec<&str> = line.text.split('\t').map(str::trim).collect();
        let Some([onset, duration, kind, stated]) = columns else {
            let find = |c: &str| fields.iter().position(|f| f.eq_ignore_ascii_case(c));
            let found = [ONSET, DURATION, EVENT_TYPE, RECORDING_DURATION].map(find);
            for (i, column) in [ONSET, DURATION, EVENT_TYPE].into_iter().enumerate() {
                if found[i].is_none() {
                    return Err(LabelError::MissingColumn {
                        path: path.to_owned(),
                        line: line.line,
                        column,
                        header: line.text.to_owned(),
                    });
                }
            }
            columns = Some(found);
            continue;
        };
        let field = |i: Option<usize>, column| line.field(&fields, i.unwrap_or(0), column);
        let start = line.number(field(onset, ONSET)?, ONSET)?;
        let length = line.number(field(duration, DURATION)?, DURATION)?;
        let label = field(kind, EVENT_TYPE)?;
        if let Some(i) = stated
            && rows.out.duration.is_none()
            && let Some(d) = fields.get(i).and_then(|v| v.parse::<f64>().ok())
        {
            rows.out.duration = Some(d).filter(|d| d.is_finite());
        }
        rows.event(&line, None, start, start + length, label)?;
    }
    if columns.is_none() {
        return Err(LabelError::Malformed {
            path: path.to_owned(),
            line: end,
            problem: "no header row (`onset\tduration\teventType...`): the file is empty"
                .to_owned(),
            text: String::new(),
        });
    }
    if let Some(d) = rows.out.duration {
        rows.out.covers(path, d, true)?;
    }
    Ok(rows.merged())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{Interval, tmp_file};

    const HEAD: &str =
        "onset\tduration\teventType\tconfidence\tchannels\tdateTime\trecordingDuration\n";

    fn read(text: &str) -> Result<Annotations, LabelError> {
        let path = tmp_file("sub-01_ses-01_task-szMonitoring_run-00_events.tsv", text);
        parse_bids_events(&path, &LabelConfig::default())
    }

    #[test]
    fn seizures_types_and_background_runs() {
        let a = read(&format!(
            "{HEAD}12.5\t20.25\tsz_foc_ia\tn/a\tn/a\t2016-01-01 18:28:27\t300.00\n\
             100\t10\tsz_gen_m_tonicClonic\t0.50\tFp1-Avg,F3-Avg\t2016-01-01 18:28:27\t300.00\n"
        ))
        .unwrap();
        assert_eq!(
            a.seizures,
            [
                Interval {
                    start: 12.5,
                    stop: 32.75
                },
                Interval {
                    start: 100.0,
                    stop: 110.0
                }
            ]
        );
        assert_eq!(a.duration, Some(300.0));
        let codes: Vec<u8> = a.types().iter().map(|t| t.code).collect();
        assert_eq!(codes, [5, 9]);
        let bckg = read(&format!(
            "{HEAD}0.00\t300.00\tbckg\tn/a\tn/a\t2016-01-01 18:28:27\t300.00\n"
        ))
        .unwrap();
        assert!(bckg.seizures.is_empty() && bckg.events.len() == 1);
        // Columns by name, in any order; no recordingDuration column.
        let a = read("eventType\tonset\tduration\nsz\t1\t2\n").unwrap();
        assert_eq!(
            a.seizures,
            [Interval {
                start: 1.0,
                stop: 3.0
            }]
        );
        assert!(
            read(HEAD).unwrap().events.is_empty(),
            "header only: no seizure"
        );
    }

    #[test]
    fn malformed_files_name_their_line() {
        let e = read("onset\tduration\tlabel\n").unwrap_err();
        assert!(
            matches!(
                e,
                LabelError::MissingColumn {
                    column: "eventType",
                    line: 1,
                    ..
                }
            ),
            "{e}"
        );
        let e = read(&format!("{HEAD}1\tn/a\tsz\n")).unwrap_err();
        assert!(
            matches!(
                e,
                LabelError::Number {
                    line: 2,
                    column: "duration",
                    ..
                }
            ),
            "{e}"
        );
        let e = read(&format!("{HEAD}1\t2\n")).unwrap_err();
        assert!(matches!(e, LabelError::ShortRow { line: 2, .. }), "{e}");
        let e = read(&format!("{HEAD}1\t2\tspike\n")).unwrap_err();
        assert!(matches!(e, LabelError::UnknownLabel { line: 2, .. }), "{e}");
        let e = read(&format!("{HEAD}0\t200\tbckg\tn/a\tn/a\tn/a\t300\n")).unwrap_err();
        assert!(matches!(e, LabelError::Truncated { .. }), "{e}");
        let e = read("").unwrap_err();
        assert!(e.to_string().contains("no header row"), "{e}");
    }
}
