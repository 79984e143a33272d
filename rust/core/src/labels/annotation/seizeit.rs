//! SeizeIT1's `P_IDxx_rN_a1.tsv`: `#` comment lines, then one seizure a line,
//! `start stop type comment` separated by tabs, seconds from the file start:
//!
//! ```text
//! # Seizure Type: "FIAS"=Focal Impaire Awareness, "FA"= Focal Awareness, ...
//! 2025<TAB>2082<TAB>FIA<TAB>Hem:L, Orig:Temp, bhe: 0
//! ```
//!
//! A `None` stop lasts [`OPEN_END_S`] (SzCORE's convention, epilepsy2bids';
//! the dataset gives none). The types are `FIA`, `FA` and `F-BTC`, stored under
//! their SzCORE names; another type is classified like any label (the config's
//! `unknown_labels`). A file with no row is a recording without seizures.

use std::path::Path;

use super::{Annotations, Builder, Line, read_text};
use crate::labels::{LabelConfig, LabelError};

/// How long a seizure listed without its end lasts, seconds.
pub const OPEN_END_S: f64 = 30.0;

/// SeizeIT's seizure types and their SzCORE names.
const TYPES: [(&str, &str); 4] = [
    ("FIA", "sz_foc_ia"),
    ("FA", "sz_foc_a"),
    ("F-BTC", "sz_foc_f2b"),
    ("FBTC", "sz_foc_f2b"),
];

/// Reads a SeizeIT1 annotation file.
///
/// # Errors
/// [`LabelError::Io`] or [`LabelError::NotAFile`] if it cannot be read;
/// [`LabelError::Malformed`] for a row without a type; [`LabelError::Number`],
/// [`LabelError::NotFinite`], [`LabelError::StopBeforeStart`] and
/// [`LabelError::UnknownLabel`] as for TUSZ files.
pub fn parse_seizeit_tsv(path: &Path, cfg: &LabelConfig) -> Result<Annotations, LabelError> {
    let text = read_text(path)?;
    let mut rows = Builder::new(cfg);
    let mut end = 1;
    for line in Line::all(&text, path, &mut end) {
        if line.text.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = if line.text.contains('\t') {
            line.text.split('\t').map(str::trim).collect()
        } else {
            line.text.splitn(4, char::is_whitespace).collect()
        };
        let [start, stop, kind, ..] = fields[..] else {
            return Err(line.malformed("expected `start stop type comment`"));
        };
        if start.eq_ignore_ascii_case("start") {
            continue; // a column header row
        }
        let start = line.number(start, "start")?;
        let stop = if stop.eq_ignore_ascii_case("none") {
            start + OPEN_END_S
        } else {
            line.number(stop, "stop")?
        };
        if kind.is_empty() {
            return Err(line.malformed("empty seizure type"));
        }
        let label = TYPES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(kind))
            .map_or(kind, |(_, szcore)| szcore);
        rows.event(&line, None, start, stop, label)?;
    }
    Ok(rows.merged())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{Interval, tmp_file};

    fn read(text: &str) -> Result<Annotations, LabelError> {
        parse_seizeit_tsv(&tmp_file("P_ID10_r1_a1.tsv", text), &LabelConfig::default())
    }

    #[test]
    fn rows_open_ends_types_and_header_only_files() {
        let head = "# Source: SeizeIt1\n# Seizure Type: \"FIAS\"=Focal Impaire Awareness\n \n\n";
        let a = read(&format!(
            "{head}10\tNone\tFIA\tHem:L, Orig:Temp, bhe: 0\n50\t62\tFA\tHem:R\n70\t80.5\tF-BTC\t\n"
        ))
        .unwrap();
        assert_eq!(
            a.seizures,
            [
                Interval {
                    start: 10.0,
                    stop: 40.0
                },
                Interval {
                    start: 50.0,
                    stop: 62.0
                },
                Interval {
                    start: 70.0,
                    stop: 80.5
                }
            ]
        );
        let codes: Vec<u8> = a.types().iter().map(|t| t.code).collect();
        assert_eq!(codes, [5, 4, 12], "sz_foc_ia, sz_foc_a, sz_foc_f2b");
        let none = read(head).unwrap();
        assert!(none.seizures.is_empty() && none.events.is_empty());
    }

    #[test]
    fn malformed_rows_name_their_line() {
        let e = read("#\n10\t20\n").unwrap_err();
        assert!(
            e.to_string()
                .contains(":2: expected `start stop type comment`"),
            "{e}"
        );
        let e = read("10\tlater\tFA\t\n").unwrap_err();
        assert!(matches!(e, LabelError::Number { line: 1, .. }), "{e}");
        let e = read("10\t20\t\tx\n").unwrap_err();
        assert!(e.to_string().contains(":1: empty seizure type"), "{e}");
        let e = read("10\t20\tXYZ\t\n").unwrap_err();
        assert!(matches!(e, LabelError::UnknownLabel { line: 1, .. }), "{e}");
        let e = read("30\t20\tFA\t\n").unwrap_err();
        assert!(matches!(e, LabelError::StopBeforeStart { .. }), "{e}");
    }
}
