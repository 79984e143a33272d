use std::path::{Path, PathBuf};

use super::*;
use crate::labels::{SEIZURE, TypedInterval};

/// The `.csv_bi` example of TUSZ.md, verbatim.
const CSV_BI: &str = "\
# version = csv_v1.0.0
# bname = aaaaaasf_s001_t000
# duration = 1289.0000 secs
# montage_file = $NEDC_NFC/lib/nedc_eas_default_montage.txt
#
channel,start_time,stop_time,label,confidence
TERM,0.0000,42.2786,bckg,1.0000
TERM,42.2786,81.7760,seiz,1.0000
TERM,81.7760,1289.0000,bckg,1.0000
";

/// The `.csv` example of TUSZ.md, verbatim.
const CSV: &str = "\
channel,start_time,stop_time,label,confidence
FP1-F7,0.0000,36.8868,bckg,1.0000
FP1-F7,36.8868,183.3055,cpsz,1.0000
";

fn p() -> &'static Path {
    Path::new("x.csv_bi")
}

fn ok(text: &str) -> Annotations {
    parse(text, p(), &LabelConfig::default()).unwrap()
}

fn err(text: &str) -> LabelError {
    parse(text, p(), &LabelConfig::default()).unwrap_err()
}

fn iv(start: f64, stop: f64) -> Interval {
    Interval { start, stop }
}

fn tmp(name: &str) -> PathBuf {
    crate::labels::tmp_dir(name)
}

#[test]
fn csv_bi_example() {
    let a = ok(CSV_BI);
    assert_eq!(a.seizures, vec![iv(42.2786, 81.776)]);
    assert_eq!(a.duration, Some(1289.0));
    assert_eq!(a.version.as_deref(), Some("csv_v1.0.0"));
    assert_eq!(a.bname.as_deref(), Some("aaaaaasf_s001_t000"));
    assert_eq!((a.rows, a.seizure_rows), (3, 1));
    assert_eq!(
        a.label_counts,
        [("bckg".to_owned(), 2), ("seiz".to_owned(), 1)].into()
    );
    assert!((a.seizure_seconds() - 39.4974).abs() < 1e-9);
}

#[test]
fn csv_example_without_comment_header() {
    let a = ok(CSV);
    assert_eq!(a.seizures, vec![iv(36.8868, 183.3055)]);
    assert_eq!(a.duration, None);
    assert_eq!((a.rows, a.seizure_rows), (2, 1));
}

/// Regression: the old pipeline read start/stop/label from columns 0-2, so its
/// "label" was the stop time and no file ever had a seizure.
#[test]
fn regression_columns_found_by_name_not_position() {
    assert!(!ok(CSV_BI).seizures.is_empty());
    let permuted = "\
# duration = 1289.0000 secs
label,confidence,stop_time,channel,start_time
bckg,1.0000,42.2786,TERM,0.0000
seiz,1.0000,81.7760,TERM,42.2786
bckg,1.0000,1289.0000,TERM,81.7760
";
    let mut whole = ok(CSV_BI);
    // The same rows, four lines up.
    whole.events.iter_mut().for_each(|e| e.line -= 4);
    assert_eq!(
        ok(permuted),
        Annotations {
            version: None,
            bname: None,
            ..whole
        }
    );
    // Header names are matched ignoring case and blanks; missing trailing columns are fine.
    assert_eq!(
        ok(" Start_Time , STOP_TIME ,Label\n1,2,SEIZ\n").seizures,
        vec![iv(1.0, 2.0)]
    );
}

#[test]
fn duration_with_two_or_four_decimals() {
    let two = "# duration = 301.00 secs\nchannel,start_time,stop_time,label,confidence\nTERM,0,301,bckg,1\n";
    assert_eq!(ok(two).duration, Some(301.0));
    assert_eq!(ok(&two.replace("301.00", "301.0000")).duration, Some(301.0));
    assert_eq!(ok(&two.replace(" secs", "")).duration, Some(301.0));
    let a = ok(two);
    assert_eq!((a.rows, a.seizures.len()), (1, 0));
}

#[test]
fn seizure_only_files_and_unknown_labels() {
    let seiz_only = "\
# duration = 600.00 secs
channel,start_time,stop_time,label,confidence
TERM,100.0000,160.5000,seiz,1.0000
TERM,300.0000,320.0000,SEIZ,0.9000
";
    let a = ok(seiz_only);
    assert_eq!(a.seizures, vec![iv(100.0, 160.5), iv(300.0, 320.0)]);
    assert_eq!(a.label_counts, [("seiz".to_owned(), 2)].into());
    // Labels that are neither seizure nor bckg count as background.
    let a =
        ok("channel,start_time,stop_time,label,confidence\nTERM,0,10,artf,1\nTERM,10,20,eyem,1\n");
    assert!(a.seizures.is_empty());
    assert_eq!((a.rows, a.seizure_rows), (2, 0));
    // The config decides what is a seizure.
    let cfg = LabelConfig {
        seizure_labels: vec!["artf".to_owned()],
        ..LabelConfig::default()
    };
    let a = parse(
        "start_time,stop_time,label\n0,10,ARTF\n10,20,seiz\n",
        p(),
        &cfg,
    )
    .unwrap();
    assert_eq!(a.seizures, vec![iv(0.0, 10.0)]);
}

#[test]
fn csv_channels_merged_sorted_and_empty_dropped() {
    let text = "\
# version = csv_v1.0.0
# duration = 500.0000 secs
channel,start_time,stop_time,label,confidence
FP1-F7,0.0000,10.0000,bckg,1.0000
FP1-F7,10.0000,20.0000,cpsz,1.0000
FP1-F7,20.0000,500.0000,bckg,1.0000
T3-T5,30.0000,40.0000,gnsz,1.0000
F7-T3,15.0000,25.0000,cpsz,1.0000
T5-O1,40.0000,45.0000,fnsz,1.0000
P4-O2,12.0000,14.0000,cpsz,1.0000
C3-P3,100.0000,100.0000,tcsz,1.0000
P3-O1,200.0000,210.0000,absz,1.0000
";
    let a = ok(text);
    // Overlapping (10-25), touching (30-45) and nested (12-14) merge; the empty 100-100 goes.
    assert_eq!(
        a.seizures,
        vec![iv(10.0, 25.0), iv(30.0, 45.0), iv(200.0, 210.0)]
    );
    assert_eq!((a.rows, a.seizure_rows), (9, 7));
}

#[test]
fn crlf_bom_blank_lines_and_late_comments() {
    let text = format!(
        "\u{feff}{}\r\n\r\n# a comment after the header row\r\n",
        CSV_BI.replace('\n', "\r\n")
    );
    let a = ok(&text);
    assert_eq!(a.seizures, vec![iv(42.2786, 81.776)]);
    assert_eq!(a.duration, Some(1289.0));
}

fn line_of(e: &LabelError) -> usize {
    match e {
        LabelError::MissingHeader { line, .. }
        | LabelError::MissingColumn { line, .. }
        | LabelError::ShortRow { line, .. }
        | LabelError::Empty { line, .. }
        | LabelError::Number { line, .. }
        | LabelError::NotFinite { line, .. }
        | LabelError::StopBeforeStart { line, .. }
        | LabelError::UnknownLabel { line, .. }
        | LabelError::MissingVersion { line, .. }
        | LabelError::NoEvents { line, .. }
        | LabelError::Truncated { line, .. } => *line,
        other => panic!("no line number in {other:?}"),
    }
}

/// File text, the expected variant, its line, a snippet of its message.
type Case = (String, fn(&LabelError) -> bool, usize, &'static str);

#[test]
fn every_content_error_names_file_line_and_text() {
    const H: &str = "channel,start_time,stop_time,label,confidence\n";
    let cases: Vec<Case> = vec![
        (
            "".into(),
            |e| matches!(e, LabelError::MissingHeader { found: None, .. }),
            1,
            "end of the file",
        ),
        (
            "# version = csv_v1.0.0\n#\n".into(),
            |e| matches!(e, LabelError::MissingHeader { found: None, .. }),
            3,
            "end of the file",
        ),
        (
            "# duration = 9 secs\nTERM,0.0,1.0,seiz,1.0\n".into(),
            |e| matches!(e, LabelError::MissingHeader { found: Some(_), .. }),
            2,
            "TERM,0.0,1.0,seiz",
        ),
        (
            "channel,start_time,label,confidence\n".into(),
            |e| {
                matches!(
                    e,
                    LabelError::MissingColumn {
                        column: "stop_time",
                        ..
                    }
                )
            },
            1,
            "stop_time",
        ),
        (
            format!("{H}TERM,0.0,1.0\n"),
            |e| {
                matches!(
                    e,
                    LabelError::ShortRow {
                        column: "label",
                        ..
                    }
                )
            },
            2,
            "TERM,0.0,1.0",
        ),
        (
            format!("{H}TERM,,1.0,seiz,1.0\n"),
            |e| {
                matches!(
                    e,
                    LabelError::Empty {
                        column: "start_time",
                        ..
                    }
                )
            },
            2,
            "TERM,,1.0",
        ),
        (
            format!("{H}TERM,0.0,1.0, ,1.0\n"),
            |e| {
                matches!(
                    e,
                    LabelError::Empty {
                        column: "label",
                        ..
                    }
                )
            },
            2,
            "empty",
        ),
        (
            format!("{H}TERM,0.0,1.0,bckg,1\nTERM,1.0,2.O,seiz,1.0\n"),
            |e| {
                matches!(
                    e,
                    LabelError::Number {
                        column: "stop_time",
                        ..
                    }
                )
            },
            3,
            "\"2.O\"",
        ),
        (
            format!("{H}TERM,NaN,1.0,seiz,1.0\n"),
            |e| {
                matches!(
                    e,
                    LabelError::NotFinite {
                        column: "start_time",
                        ..
                    }
                )
            },
            2,
            "\"NaN\"",
        ),
        (
            format!("{H}TERM,0.0,inf,seiz,1.0\n"),
            |e| {
                matches!(
                    e,
                    LabelError::NotFinite {
                        column: "stop_time",
                        ..
                    }
                )
            },
            2,
            "\"inf\"",
        ),
        (
            format!("{H}TERM,5.0,4.0,seiz,1.0\n"),
            |e| matches!(e, LabelError::StopBeforeStart { .. }),
            2,
            "TERM,5.0,4.0",
        ),
        (
            format!("# duration = many secs\n{H}"),
            |e| {
                matches!(
                    e,
                    LabelError::Number {
                        column: "duration",
                        ..
                    }
                )
            },
            1,
            "\"many\"",
        ),
        (
            H.into(),
            |e| matches!(e, LabelError::NoEvents { .. }),
            2,
            "no event rows",
        ),
        (
            format!("# duration = 1289.0000 secs\n{H}TERM,0,42,bckg,1\nTERM,42,81.5,seiz,1\n\n"),
            |e| matches!(e, LabelError::Truncated { stated: true, .. }),
            4,
            "end at 81.5 s, before the end of the recording at 1289 s (its stated duration)",
        ),
        (
            format!(
                "# duration = 60 secs\n{H}FP1-F7,0,60,bckg,1\nF7-T3,0,10,bckg,1\nF7-T3,10,20,fnsz,1\n"
            ),
            |e| matches!(e, LabelError::Truncated { channel: Some(c), .. } if c == "F7-T3"),
            5,
            "rows of channel \"F7-T3\" end at 20 s",
        ),
    ];
    for (text, is_kind, line, snippet) in cases {
        let e = err(&text);
        assert!(is_kind(&e), "{text:?} gave {e:?}");
        assert_eq!(line_of(&e), line, "{text:?} gave {e}");
        let msg = e.to_string();
        assert!(msg.starts_with(&format!("x.csv_bi:{line}: ")), "{msg}");
        assert!(msg.contains(snippet), "{msg} lacks {snippet:?}");
        assert!(crate::Error::from(e).io_kind().is_none());
    }
}

#[test]
fn files_on_disk_found_and_read() {
    let dir = tmp("find");
    let edf = dir.join("aaaaaasf_s001_t000.edf");
    std::fs::write(&edf, b"").unwrap();
    let cfg = LabelConfig::default();
    assert_eq!(find_annotation(&edf, &cfg), None);
    std::fs::write(edf.with_extension("csv"), CSV).unwrap();
    assert_eq!(find_annotation(&edf, &cfg), Some(edf.with_extension("csv")));
    std::fs::write(edf.with_extension("csv_bi"), CSV_BI).unwrap();
    let found = find_annotation(&edf, &cfg).unwrap();
    assert_eq!(found, dir.join("aaaaaasf_s001_t000.csv_bi"));
    assert_eq!(parse_annotation(&found, &cfg).unwrap(), ok(CSV_BI));
    let csv_first = LabelConfig {
        files: vec!["csv".to_owned(), ".csv_bi".to_owned()],
        ..cfg.clone()
    };
    assert_eq!(
        find_annotation(&edf, &csv_first),
        Some(edf.with_extension("csv"))
    );
    // Non-UTF-8 bytes do not stop the file from being read; in a label they
    // make an unknown label.
    std::fs::write(
        &found,
        [CSV.as_bytes(), b"T3-T5\xff,1.0,2.0,seiz,1.0\n"].concat(),
    )
    .unwrap();
    assert_eq!(parse_annotation(&found, &cfg).unwrap().rows, 3);
    std::fs::write(
        &found,
        [CSV.as_bytes(), b"T3-T5,1.0,2.0,\xff,1.0\n"].concat(),
    )
    .unwrap();
    let e = parse_annotation(&found, &cfg).unwrap_err();
    assert!(
        matches!(&e, LabelError::UnknownLabel { line: 4, label, .. } if label == "\u{fffd}"),
        "{e}"
    );

    let missing = dir.join("nope.csv_bi");
    let e = parse_annotation(&missing, &cfg).unwrap_err();
    assert!(e.to_string().contains("nope.csv_bi"), "{e}");
    assert_eq!(
        crate::Error::from(e).io_kind(),
        Some(std::io::ErrorKind::NotFound)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The `.tse_bi` example of TUSZ.md, verbatim.
const TSE_BI: &str = "\
version = tse_v1.0.0

0.0000 36.8868 bckg 1.0000
36.8868 183.3055 seiz 1.0000
";

fn parse_as(name: &str, text: &str) -> Result<Annotations, LabelError> {
    parse(text, Path::new(name), &LabelConfig::default())
}

fn event(
    line: usize,
    channel: Option<&str>,
    start: f64,
    stop: f64,
    label: &str,
    code: u8,
) -> Event {
    Event {
        channel: channel.map(str::to_owned),
        start,
        stop,
        label: label.to_owned(),
        code,
        line,
    }
}

/// Regression: a `cnsz` or `atsz` row was background.
#[test]
fn clonic_and_atonic_seizures_are_seizures() {
    let a = ok(&CSV.replace("cpsz", "cnsz"));
    assert_eq!(a.seizures, vec![iv(36.8868, 183.3055)]);
    let a = ok(&CSV_BI.replace("seiz", "ATSZ"));
    assert_eq!((a.seizures.len(), a.seizure_rows), (1, 1));
}

#[test]
fn unknown_labels_fail_naming_file_line_and_label() {
    let text =
        "channel,start_time,stop_time,label,confidence\nTERM,0,10,bckg,1\nTERM,10,20,spsw,1\n";
    let e = err(text);
    assert!(
        matches!(&e, LabelError::UnknownLabel { line: 3, label, .. } if label == "spsw"),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with("x.csv_bi:3: unknown label \"spsw\""),
        "{msg}"
    );
    assert!(msg.contains("TERM,10,20,spsw,1"), "{msg}");
    // The config may accept it, either way.
    let cfg = |unknown_labels| LabelConfig {
        unknown_labels,
        ..LabelConfig::default()
    };
    let a = parse(text, p(), &cfg(crate::labels::UnknownLabels::Background)).unwrap();
    assert_eq!((a.seizures.len(), a.rows), (0, 2));
    let a = parse(text, p(), &cfg(crate::labels::UnknownLabels::Seizure)).unwrap();
    assert_eq!(a.seizures, vec![iv(10.0, 20.0)]);
    assert_eq!(
        a.types(),
        [TypedInterval {
            start: 10.0,
            stop: 20.0,
            code: SEIZURE
        }]
    );
}

#[test]
fn events_keep_channel_label_and_type() {
    let a = ok(CSV);
    assert_eq!(
        a.events,
        [
            event(2, Some("FP1-F7"), 0.0, 36.8868, "bckg", 0),
            event(3, Some("FP1-F7"), 36.8868, 183.3055, "cpsz", 5),
        ]
    );
    assert_eq!(
        a.types(),
        [TypedInterval {
            start: 36.8868,
            stop: 183.3055,
            code: 5
        }]
    );
    // csv_bi: `seiz`, type unknown. No channel column: no channel.
    assert_eq!(
        ok(CSV_BI).types(),
        [TypedInterval {
            start: 42.2786,
            stop: 81.776,
            code: SEIZURE
        }]
    );
    let a = ok("start_time,stop_time,label\n1,2,Gnsz\n");
    assert_eq!(a.events, [event(2, None, 1.0, 2.0, "gnsz", 3)]);
}

#[test]
fn tse_example() {
    let a = parse_as("x.tse_bi", TSE_BI).unwrap();
    assert_eq!(a.version.as_deref(), Some("tse_v1.0.0"));
    assert_eq!(a.seizures, vec![iv(36.8868, 183.3055)]);
    assert_eq!((a.rows, a.seizure_rows, a.duration), (2, 1, None));
    assert_eq!(
        a.events[1],
        event(4, None, 36.8868, 183.3055, "seiz", SEIZURE)
    );
    // The typed file: types kept; tabs, CRLF, BOM, comments, no confidence, any case of extension.
    let tse = "\u{feff}version = tse_v1.0.0\r\n\r\n# note\r\n0.0\t10.5\tbckg\r\n10.5   20.0 CNSZ 0.9\r\n20.0 30.0 tcsz 1.0\r\n";
    for name in ["x.tse", "x.TSE", "x.Tse_Bi"] {
        let a = parse_as(name, tse).unwrap();
        assert_eq!(a.seizures, vec![iv(10.5, 30.0)], "{name}");
        assert_eq!(
            a.types(),
            [
                TypedInterval {
                    start: 10.5,
                    stop: 20.0,
                    code: 8
                },
                TypedInterval {
                    start: 20.0,
                    stop: 30.0,
                    code: 9
                },
            ]
        );
    }
}

#[test]
fn every_tse_error_names_file_line_and_text() {
    const V: &str = "version = tse_v1.0.0\n\n";
    let cases: Vec<Case> = vec![
        (
            "".into(),
            |e| matches!(e, LabelError::MissingVersion { found: None, .. }),
            1,
            "end of the file",
        ),
        (
            "\n\n".into(),
            |e| matches!(e, LabelError::MissingVersion { found: None, .. }),
            3,
            "version = tse_v1.0.0",
        ),
        (
            "0.0 1.0 seiz 1.0\n".into(),
            |e| matches!(e, LabelError::MissingVersion { found: Some(_), .. }),
            1,
            "\"0.0 1.0 seiz 1.0\"",
        ),
        (
            format!("{V}0.0 1.0\n"),
            |e| {
                matches!(
                    e,
                    LabelError::ShortRow {
                        column: "label",
                        ..
                    }
                )
            },
            3,
            "\"0.0 1.0\"",
        ),
        (
            format!("{V}0.0 1.0 bckg 1\n1.0 x seiz 1.0\n"),
            |e| {
                matches!(
                    e,
                    LabelError::Number {
                        column: "stop_time",
                        ..
                    }
                )
            },
            4,
            "\"x\"",
        ),
        (
            format!("{V}nan 1.0 seiz 1.0\n"),
            |e| {
                matches!(
                    e,
                    LabelError::NotFinite {
                        column: "start_time",
                        ..
                    }
                )
            },
            3,
            "\"nan\"",
        ),
        (
            format!("{V}5.0 4.0 seiz 1.0\n"),
            |e| matches!(e, LabelError::StopBeforeStart { .. }),
            3,
            "\"5.0 4.0 seiz 1.0\"",
        ),
        (
            format!("{V}0.0 4.0 eybl 1.0\n"),
            |e| matches!(e, LabelError::UnknownLabel { .. }),
            3,
            "\"eybl\"",
        ),
        (
            V.into(),
            |e| matches!(e, LabelError::NoEvents { .. }),
            3,
            "no event rows",
        ),
    ];
    for (text, is_kind, line, snippet) in cases {
        let e = parse_as("x.tse", &text).unwrap_err();
        assert!(is_kind(&e), "{text:?} gave {e:?}");
        assert_eq!(line_of(&e), line, "{text:?} gave {e}");
        let msg = e.to_string();
        assert!(msg.starts_with(&format!("x.tse:{line}: ")), "{msg}");
        assert!(msg.contains(snippet), "{msg} lacks {snippet:?}");
    }
}

#[test]
fn term_files_found_in_the_default_order() {
    let dir = tmp("find-tse");
    let edf = dir.join("00008120_s001_t000.edf");
    let cfg = LabelConfig::default();
    std::fs::write(edf.with_extension("tse"), TSE_BI.replace("seiz", "cpsz")).unwrap();
    assert_eq!(find_annotation(&edf, &cfg), Some(edf.with_extension("tse")));
    std::fs::write(edf.with_extension("tse_bi"), TSE_BI).unwrap();
    let found = find_annotation(&edf, &cfg).unwrap();
    assert_eq!(found, edf.with_extension("tse_bi"));
    assert_eq!(
        parse_annotation(&found, &cfg).unwrap().seizures,
        vec![iv(36.8868, 183.3055)]
    );
    // csv files come first.
    std::fs::write(edf.with_extension("csv"), CSV).unwrap();
    assert_eq!(find_annotation(&edf, &cfg), Some(edf.with_extension("csv")));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Regression: a folder named like the annotation was skipped, and the
/// recording silently became unlabeled.
#[test]
fn a_folder_in_place_of_the_annotation_is_an_error() {
    let dir = tmp("folder");
    let edf = dir.join("r.edf");
    let cfg = LabelConfig::default();
    std::fs::create_dir(edf.with_extension("csv_bi")).unwrap();
    std::fs::write(edf.with_extension("csv"), CSV).unwrap();
    let found = find_annotation(&edf, &cfg).unwrap();
    assert_eq!(found, edf.with_extension("csv_bi"));
    let e = parse_annotation(&found, &cfg).unwrap_err();
    assert!(
        matches!(
            e,
            LabelError::NotAFile {
                what: "a directory",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .ends_with("r.csv_bi: is a directory, not an annotation file"),
        "{e}"
    );
    assert!(crate::labels::recording_labels(Some(&found), 10, 1.0, &cfg).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Regression: a file cut after a row (or holding no row at all) was read as
/// it stood, and the seizures that followed became background. Cut at every
/// byte, each example either fails or, checked against its recording's
/// duration, keeps every seizure and type of the whole file.
#[test]
fn truncated_files_fail_or_lose_nothing() {
    let csv = format!("# duration = 183.3055 secs\n{CSV}");
    let examples = [
        ("x.csv_bi", CSV_BI, 1289.0),
        ("x.csv", csv.as_str(), 183.3055),
        ("x.tse_bi", TSE_BI, 183.3055),
        ("x.tse", &TSE_BI.replace("seiz", "cpsz"), 183.3055),
    ];
    for (name, text, duration) in examples {
        let whole = parse_as(name, text).unwrap();
        let mut kept = 0;
        for cut in 0..text.len() {
            let part = &text[..cut];
            match parse_as(name, part).and_then(|a| {
                a.check_covers(Path::new(name), duration)?;
                Ok(a)
            }) {
                Err(_) => {}
                Ok(a) => {
                    assert_eq!(a.seizures, whole.seizures, "{name} cut at {cut}: {part:?}");
                    assert_eq!(a.types(), whole.types(), "{name} cut at {cut}: {part:?}");
                    kept += 1;
                }
            }
        }
        // Only cuts past the last row's label keep the content.
        assert!(kept <= 8, "{name}: {kept} kept");
    }
    // A term file states no duration: checked against the recording.
    let a = parse_as("x.tse_bi", &TSE_BI[..TSE_BI.find("36.8868 183").unwrap()]).unwrap();
    let e = a.check_covers(Path::new("x.tse_bi"), 183.3055).unwrap_err();
    assert_eq!(line_of(&e), 3);
    assert!(
        e.to_string()
            .starts_with("x.tse_bi:3: the rows end at 36.8868 s, before the end of the recording at 183.3055 s (its samples)"),
        "{e}"
    );
    // Seizure rows only do not tile the recording: nothing to check.
    let seiz_only =
        "# duration = 600 secs\nchannel,start_time,stop_time,label\nTERM,100,160,seiz\n";
    assert!(ok(seiz_only).check_covers(p(), 600.0).is_ok());
}
