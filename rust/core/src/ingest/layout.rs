//! Split, patient, session and montage of a recording, read from its path
//! relative to the corpus root.
//!
//! [`PathLayout::Tusz`] (the default) reads both TUSZ layouts:
//! - v2: `edf/<split>/<patient>/<session>/<montage>/<patient>_sNNN_tNNN.edf`
//! - v1: `edf/<split>/<montage>/<group>/<patient>/<session>/<patient>_sNNN_tNNN.edf`
//!
//! - patient and session come from the file name `<patient>_s<NNN>_t<NNN>.<ext>`
//!   (the reliable source in both layouts), the session as `s<NNN>` as written
//!   (`s005`): session folders come as `s005_2014` and `s002_2007_10_22`, so
//!   they are not parsed;
//! - the split is the folder named `train`, `dev` or `eval` (any case, stored
//!   lower-case), wherever it sits;
//! - the montage is the folder named `<2 digits>_tcp_<name>` (`01_tcp_ar`,
//!   `03_tcp_ar_a`), as written.
//!
//! A field that cannot be read is `None` with a reason in
//! [`PathFields::issues`], so the ingest can report it: no split folder, or
//! two; no montage folder, or two; a file name of another form; and, in the
//! exact v1 or v2 shape, a patient folder that is not the file name's patient
//! (a misplaced file would put a patient in two splits).
//!
//! [`PathLayout::Pattern`] reads other corpora: `/`-separated segments matched
//! against the whole path, each one of
//! - `{split}`, `{patient}`, `{session}`, `{montage}`: any one segment, taken
//!   as the field, as written;
//! - `{tusz}`: a file name `<patient>_s<NNN>_t<NNN>.<ext>`, giving patient and
//!   session as above;
//! - `*`: any one segment; `**` (at most once): any number of segments, none
//!   included;
//! - anything else: that exact segment.
//!
//! Fields the pattern does not name are `None` without an issue. Examples:
//! `**/{tusz}` (TUSZ files in any folders, no split), `{split}/{patient}/**`,
//! `{patient}/*` (CHB-MIT's `chb01/chb01_03.edf`).

use serde::{Deserialize, Serialize};

use crate::corpus::tusz_name;

/// How the fields of a recording are read from its path.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathLayout {
    /// Both TUSZ layouts (JSON `"tusz"`).
    #[default]
    Tusz,
    /// A pattern of segments (JSON `{"pattern": "{split}/{patient}/**"}`).
    Pattern(String),
}

/// What a path says about its recording.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathFields {
    /// `train`, `dev`, `eval` (or, from a pattern, the `{split}` segment).
    pub split: Option<String>,
    /// The patient (`aaaaaimu`, `00008174`).
    pub patient: Option<String>,
    /// The session, `s<NNN>` from a TUSZ file name (or the `{session}` segment).
    pub session: Option<String>,
    /// The montage folder (`01_tcp_ar`).
    pub montage: Option<String>,
    /// Why a field the layout expects is missing or doubtful; empty when the
    /// path read cleanly.
    pub issues: Vec<String>,
}

const SPLITS: [&str; 3] = ["train", "dev", "eval"];

impl PathLayout {
    /// Checks a pattern once, before reading paths with it.
    ///
    /// # Errors
    /// Why the pattern is unusable: empty, `**` twice, an unknown `{field}`, a
    /// field twice.
    pub fn check(&self) -> Result<(), String> {
        let Self::Pattern(pattern) = self else {
            return Ok(());
        };
        let segments = segments(pattern);
        let fail = |why: &str| Err(format!("path pattern {pattern:?}: {why}"));
        if segments.is_empty() {
            return fail("it is empty");
        }
        if segments.iter().filter(|s| **s == "**").count() > 1 {
            return fail("`**` may appear once");
        }
        let mut seen: Vec<&str> = Vec::new();
        for (segment, s) in segments.iter().filter_map(|seg| Some((seg, token(seg)?.1))) {
            if s == "{tusz}" && *segment != s {
                return fail("{tusz} is a whole file name: it takes its segment alone");
            }
            let s = &s;
            if !["{split}", "{patient}", "{session}", "{montage}", "{tusz}"].contains(s) {
                return fail(&format!(
                    "unknown field {s}: use {{split}}, {{patient}}, {{session}}, {{montage}} or {{tusz}}"
                ));
            }
            // `{tusz}` gives patient and session: it cannot be used with them either.
            let names: &[&str] = if *s == "{tusz}" {
                &["{patient}", "{session}"]
            } else {
                std::slice::from_ref(s)
            };
            for n in names {
                if seen.contains(n) {
                    return fail(&format!("{s} gives a field given before"));
                }
                seen.push(n);
            }
        }
        Ok(())
    }
}

/// The fields of the recording at `rel` (relative to the corpus root,
/// `/`-separated, file name last), read as `layout` says (see the module doc).
pub fn path_fields(rel: &str, layout: &PathLayout) -> PathFields {
    let parts = segments(rel);
    match layout {
        PathLayout::Tusz => tusz(&parts),
        PathLayout::Pattern(pattern) => match layout.check() {
            Ok(()) => from_pattern(&parts, &segments(pattern), rel, pattern),
            Err(why) => PathFields {
                issues: vec![why],
                ..PathFields::default()
            },
        },
    }
}

/// The non-empty segments of a path, `.` left out.
fn segments(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect()
}

fn is_montage(folder: &str) -> bool {
    let b = folder.as_bytes();
    b.len() > 7
        && b.iter().take(2).all(u8::is_ascii_digit)
        && b.get(2..7)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"_tcp_"))
}

/// The one folder (by index) that `is`, or an issue when there is none or more.
fn the_one(folders: &[&str], is: impl Fn(&str) -> bool, what: &str) -> Result<usize, String> {
    let found: Vec<usize> = (0..folders.len())
        .filter(|&i| folders.get(i).is_some_and(|f| is(f)))
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!("no {what} folder")),
        several => Err(format!(
            "several {what} folders: {}",
            several
                .iter()
                .filter_map(|&i| folders.get(i).copied())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn tusz(parts: &[&str]) -> PathFields {
    let mut out = PathFields::default();
    let Some((file, folders)) = parts.split_last() else {
        out.issues.push("empty path".to_owned());
        return out;
    };
    let split = the_one(
        folders,
        |f| SPLITS.iter().any(|s| s.eq_ignore_ascii_case(f)),
        "train/dev/eval",
    );
    let montage = the_one(folders, is_montage, "NN_tcp_* montage");
    match tusz_name(file) {
        Ok((patient, session)) => {
            out.patient = Some(patient);
            out.session = Some(session);
        }
        Err(why) => out.issues.push(why),
    }
    match &split {
        Ok(i) => out.split = folders.get(*i).map(|s| s.to_ascii_lowercase()),
        Err(why) => out.issues.push(why.clone()),
    }
    match &montage {
        Ok(i) => out.montage = folders.get(*i).map(|s| (*s).to_owned()),
        Err(why) => out.issues.push(why.clone()),
    }
    // v2: split/patient/session/montage/file; v1: split/montage/group/patient/session/file.
    let patient_folder = match (split, montage) {
        (Ok(s), Ok(m)) if m == s + 3 && folders.len() == m + 1 => folders.get(s + 1),
        (Ok(s), Ok(m)) if m == s + 1 && folders.len() == m + 4 => folders.get(m + 2),
        _ => None,
    };
    if let (Some(folder), Some(patient)) = (patient_folder, &out.patient)
        && folder != patient
    {
        out.issues.push(format!(
            "the file name's patient {patient} lies in patient folder {folder}"
        ));
    }
    out
}

/// The `{field}` of a pattern segment with the text before and after it, or
/// `None` for a segment without one.
fn token(segment: &str) -> Option<(&str, &str, &str)> {
    let open = segment.find('{')?;
    let close = open + segment[open..].find('}')?;
    Some((
        &segment[..open],
        &segment[open..=close],
        &segment[close + 1..],
    ))
}

fn from_pattern(parts: &[&str], pattern: &[&str], rel: &str, text: &str) -> PathFields {
    let mut out = PathFields::default();
    // Pair each pattern segment with its path segment; `**` takes what is left over.
    let pairs: Option<Vec<(&str, &str)>> = match pattern.iter().position(|s| *s == "**") {
        None => (pattern.len() == parts.len())
            .then(|| pattern.iter().copied().zip(parts.iter().copied()).collect()),
        Some(k) => {
            let (before, after) = (pattern.get(..k), pattern.get(k + 1..));
            let tail = parts.len().checked_sub(after.map_or(0, <[_]>::len));
            match (before, after, tail) {
                (Some(before), Some(after), Some(tail)) if tail >= before.len() => Some(
                    before
                        .iter()
                        .copied()
                        .zip(parts.iter().copied())
                        .chain(after.iter().copied().zip(parts.iter().skip(tail).copied()))
                        .collect(),
                ),
                _ => None,
            }
        }
    };
    let mismatch = || format!("path {rel:?} does not match the pattern {text:?}");
    let Some(pairs) = pairs else {
        out.issues.push(mismatch());
        return out;
    };
    for (p, part) in pairs {
        // A field within a segment (`sub-{patient}`): the text around it must match.
        let (p, part) = match token(p) {
            Some((pre, field, post)) if p != field => {
                let inner = part
                    .strip_prefix(pre)
                    .and_then(|rest| rest.strip_suffix(post))
                    .filter(|v| !v.is_empty());
                let Some(inner) = inner else {
                    return PathFields {
                        issues: vec![mismatch()],
                        ..PathFields::default()
                    };
                };
                (field, inner)
            }
            _ => (p, part),
        };
        let field = match p {
            "{split}" => &mut out.split,
            "{patient}" => &mut out.patient,
            "{session}" => &mut out.session,
            "{montage}" => &mut out.montage,
            "{tusz}" => {
                match tusz_name(part) {
                    Ok((patient, session)) => {
                        out.patient = Some(patient);
                        out.session = Some(session);
                    }
                    Err(why) => out.issues.push(why),
                }
                continue;
            }
            "*" => continue,
            literal if literal == part => continue,
            _ => {
                return PathFields {
                    issues: vec![mismatch()],
                    ..PathFields::default()
                };
            }
        };
        *field = Some(part.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(split: &str, patient: &str, session: &str, montage: &str) -> PathFields {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        PathFields {
            split: some(split),
            patient: some(patient),
            session: some(session),
            montage: some(montage),
            issues: Vec::new(),
        }
    }

    fn tusz_of(rel: &str) -> PathFields {
        path_fields(rel, &PathLayout::Tusz)
    }

    fn pattern(p: &str) -> PathLayout {
        PathLayout::Pattern(p.to_owned())
    }

    /// The issues of `got`, and `got` without them.
    fn issues(mut got: PathFields) -> (PathFields, Vec<String>) {
        let issues = std::mem::take(&mut got.issues);
        (got, issues)
    }

    #[test]
    fn tusz_v2_paths() {
        assert_eq!(
            tusz_of("edf/train/aaaaaimu/s005_2014/01_tcp_ar/aaaaaimu_s005_t000.edf"),
            fields("train", "aaaaaimu", "s005", "01_tcp_ar")
        );
        assert_eq!(
            tusz_of("edf/dev/aaaaaaac/s001_2002_12_23/02_tcp_le/aaaaaaac_s001_t000.edf"),
            fields("dev", "aaaaaaac", "s001", "02_tcp_le")
        );
        assert_eq!(
            tusz_of("/edf//eval/aaaaaxyz/./s012_2015_01_01/03_tcp_ar_a/aaaaaxyz_s012_t007.EDF"),
            fields("eval", "aaaaaxyz", "s012", "03_tcp_ar_a")
        );
        // The corpus folder itself may be part of the relative path.
        assert_eq!(
            tusz_of("tusz/v2.0.3/edf/train/aaaaaimu/s005_2014/01_tcp_ar/aaaaaimu_s005_t001.edf"),
            fields("train", "aaaaaimu", "s005", "01_tcp_ar")
        );
    }

    #[test]
    fn tusz_v1_paths() {
        assert_eq!(
            tusz_of("edf/train/01_tcp_ar/081/00008174/s001_2012_03_24/00008174_s001_t000.edf"),
            fields("train", "00008174", "s001", "01_tcp_ar")
        );
        assert_eq!(
            tusz_of("edf/train/01_tcp_ar/081/00008120/s001_2011_09_21/00008120_s001_t000.edf"),
            fields("train", "00008120", "s001", "01_tcp_ar")
        );
        assert_eq!(
            tusz_of("edf/dev/02_tcp_le/006/00000675/s002_2012_09_18/00000675_s002_t003.edf"),
            fields("dev", "00000675", "s002", "02_tcp_le")
        );
    }

    #[test]
    fn session_comes_from_the_file_name_not_the_folder() {
        // Both folder forms give the same session; a folder that disagrees is not read.
        for folder in ["s005_2014", "s005_2014_03_02", "whatever"] {
            let rel = format!("edf/train/aaaaaimu/{folder}/01_tcp_ar/aaaaaimu_s005_t000.edf");
            assert_eq!(tusz_of(&rel).session.as_deref(), Some("s005"), "{rel}");
        }
    }

    #[test]
    fn a_flat_folder_reports_what_is_missing() {
        let (got, why) = issues(tusz_of("aaaaaimu_s005_t000.edf"));
        assert_eq!(got, fields("", "aaaaaimu", "s005", ""));
        assert_eq!(
            why,
            ["no train/dev/eval folder", "no NN_tcp_* montage folder"]
        );
        let (got, why) = issues(tusz_of("recordings/rec.edf"));
        assert_eq!(got, PathFields::default());
        assert_eq!(why.len(), 3, "{why:?}");
        assert!(why[0].contains("\"rec.edf\" is not <patient>_s<NNN>_t<NNN>"));
        let (got, why) = issues(tusz_of(""));
        assert_eq!(
            (got, why),
            (PathFields::default(), vec!["empty path".into()])
        );
    }

    #[test]
    fn odd_names() {
        // Not TUSZ file names: each gives an issue, never an empty field silently.
        for name in [
            "aaaaaimu_s005.edf",
            "aaaaaimu_005_t000.edf",
            "aaaaaimu_s005_t.edf",
            "aaaaaimu_s5x_t000.edf",
            "_s005_t000.edf",
            "s005_t000.edf",
            "aaaaaimu_s005_t000x.edf",
        ] {
            let (got, why) = issues(tusz_of(&format!(
                "edf/train/aaaaaimu/s005/01_tcp_ar/{name}"
            )));
            assert_eq!(got, fields("train", "", "", "01_tcp_ar"), "{name}");
            assert_eq!(why.len(), 1, "{name}: {why:?}");
            assert!(why[0].contains(name), "{why:?}");
        }
        // Underscores in the patient, upper-case extension, no extension, more dots.
        assert_eq!(
            tusz_of("train/01_tcp_ar/x/pat_one/s1/pat_one_s001_t002")
                .patient
                .as_deref(),
            Some("pat_one")
        );
        assert_eq!(
            tusz_of("train/p/s/01_tcp_ar/p_s001_t000.edf.bak")
                .session
                .as_deref(),
            Some("s001")
        );
        // Split folders in any case, stored lower-case; a file named like a split is no folder.
        assert_eq!(
            tusz_of("edf/TRAIN/p/s/01_tcp_ar/p_s001_t000.edf")
                .split
                .as_deref(),
            Some("train")
        );
        let (got, why) = issues(tusz_of("edf/p/s/01_tcp_ar/train"));
        assert_eq!(got.split, None);
        assert!(
            why.contains(&"no train/dev/eval folder".to_owned()),
            "{why:?}"
        );
        // Folders that merely contain the words are not splits or montages.
        let (got, _) = issues(tusz_of("training/p/s/1_tcp_ar/tcp_ar/p_s001_t000.edf"));
        assert_eq!((got.split, got.montage), (None, None));
    }

    #[test]
    fn ambiguous_and_inconsistent_paths() {
        let (got, why) = issues(tusz_of("dev/edf/train/p/s/01_tcp_ar/p_s001_t000.edf"));
        assert_eq!(got.split, None);
        assert_eq!(why, ["several train/dev/eval folders: dev, train"]);
        let (got, why) = issues(tusz_of("edf/train/01_tcp_ar/p/s/02_tcp_le/p_s001_t000.edf"));
        assert_eq!(got.montage, None);
        assert_eq!(
            why,
            ["several NN_tcp_* montage folders: 01_tcp_ar, 02_tcp_le"]
        );
        // A file in another patient's folder, in either exact layout.
        let (got, why) = issues(tusz_of(
            "edf/train/aaaaaimu/s005_2014/01_tcp_ar/aaaaaxyz_s005_t000.edf",
        ));
        assert_eq!(got, fields("train", "aaaaaxyz", "s005", "01_tcp_ar"));
        assert_eq!(
            why,
            ["the file name's patient aaaaaxyz lies in patient folder aaaaaimu"]
        );
        let (_, why) = issues(tusz_of(
            "edf/train/01_tcp_ar/081/00008174/s001_2012_03_24/00008175_s001_t000.edf",
        ));
        assert_eq!(
            why,
            ["the file name's patient 00008175 lies in patient folder 00008174"]
        );
        // Other shapes are not checked: only the two TUSZ layouts say where the patient folder is.
        assert!(tusz_of("train/01_tcp_ar/p_s001_t000.edf").issues.is_empty());
    }

    #[test]
    fn patterns() {
        let p = pattern("{split}/{patient}/**");
        assert_eq!(
            path_fields("train/chb01/a/b/chb01_03.edf", &p),
            fields("train", "chb01", "", "")
        );
        assert_eq!(
            path_fields("chb01/chb01_03.edf", &pattern("{patient}/*")),
            fields("", "chb01", "", "")
        );
        // Flat TUSZ files, no split expected.
        let flat = pattern("**/{tusz}");
        assert_eq!(
            path_fields("aaaaaimu_s005_t000.edf", &flat),
            fields("", "aaaaaimu", "s005", "")
        );
        assert_eq!(
            path_fields("x/y/aaaaaimu_s005_t000.edf", &flat),
            fields("", "aaaaaimu", "s005", "")
        );
        let (_, why) = issues(path_fields("x/rec.edf", &flat));
        assert_eq!(why.len(), 1);
        // Literals, `*` and the v2 layout spelled out.
        let v2 = pattern("edf/{split}/*/*/{montage}/{tusz}");
        assert_eq!(
            path_fields("edf/eval/p/s003_2010/01_tcp_ar/p_s003_t000.edf", &v2),
            fields("eval", "p", "s003", "01_tcp_ar")
        );
        // `**` may be empty, before or after.
        assert_eq!(
            path_fields("dev/p.edf", &pattern("**/{split}/*"))
                .split
                .as_deref(),
            Some("dev")
        );
        assert_eq!(
            path_fields("dev/p.edf", &pattern("{split}/**"))
                .split
                .as_deref(),
            Some("dev")
        );
        assert_eq!(
            path_fields("dev/p.edf", &pattern("{split}/**/*"))
                .split
                .as_deref(),
            Some("dev")
        );
    }

    #[test]
    fn paths_that_do_not_match_a_pattern() {
        let p = pattern("edf/{split}/{patient}/*");
        for rel in [
            "edf/train/p",
            "edf/train/p/q/r.edf",
            "raw/train/p/r.edf",
            "",
        ] {
            let (got, why) = issues(path_fields(rel, &p));
            assert_eq!(got, PathFields::default(), "{rel}");
            assert_eq!(
                why,
                [format!(
                    "path {rel:?} does not match the pattern \"edf/{{split}}/{{patient}}/*\""
                )]
            );
        }
        let (got, why) = issues(path_fields("a.edf", &pattern("{split}/**/{patient}")));
        assert_eq!((got, why.len()), (PathFields::default(), 1));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert_eq!(PathLayout::Tusz.check(), Ok(()));
        assert_eq!(pattern("{split}/**/{tusz}").check(), Ok(()));
        for (p, why) in [
            ("", "empty"),
            ("//", "empty"),
            ("**/x/**", "once"),
            ("{subject}/*", "unknown field {subject}"),
            ("{split}/{split}/*", "{split} gives a field given before"),
            ("{patient}/{tusz}", "{tusz} gives a field given before"),
            ("sub-{subject}/*", "unknown field {subject}"),
            ("x{tusz}", "{tusz} is a whole file name"),
        ] {
            let e = pattern(p).check().unwrap_err();
            assert!(e.contains(why), "{p}: {e}");
            let got = path_fields("a/b.edf", &pattern(p));
            assert_eq!(got.issues, [e]);
        }
    }

    /// Regression: `sub-{patient}` did not match, fields had to be whole segments.
    #[test]
    fn fields_within_segments() {
        let p = pattern("sub-{patient}/ses-{session}/eeg/*");
        assert_eq!(p.check(), Ok(()));
        let got = path_fields("sub-01/ses-02/eeg/sub-01_ses-02_run-00_eeg.edf", &p);
        assert_eq!(got, fields("", "01", "02", ""));
        let run = pattern("{patient}/run-{session}.edf");
        assert_eq!(path_fields("p1/run-3.edf", &run), fields("", "p1", "3", ""));
        for rel in [
            "sub-01/ses-02/x/a.edf",
            "sub-/ses-02/eeg/a.edf",
            "01/ses-02/eeg/a.edf",
        ] {
            let got = path_fields(rel, &p);
            assert_eq!(got.patient, None, "{rel}");
            assert!(
                got.issues[0].contains("does not match the pattern"),
                "{rel}"
            );
        }
    }

    #[test]
    fn layout_json() {
        let json = |l: &PathLayout| serde_json::to_string(l).unwrap();
        assert_eq!(json(&PathLayout::default()), r#""tusz""#);
        assert_eq!(
            json(&pattern("{patient}/*")),
            r#"{"pattern":"{patient}/*"}"#
        );
        let back: PathLayout = serde_json::from_str(r#"{"pattern":"**/{tusz}"}"#).unwrap();
        assert_eq!(back, pattern("**/{tusz}"));
        assert!(serde_json::from_str::<PathLayout>(r#""flat""#).is_err());
    }
}
