//! EDF+ time-stamped annotation lists (TALs), carried by `EDF Annotations` signals.
//!
//! A TAL is `+onset[\x15duration]\x14text\x14[text\x14...]\0`. The first TAL of
//! every record has no text: it is the record's onset, which places the
//! records of an EDF+D file in time.

use super::header::number;

/// One annotation: onset and duration in seconds from the file's start.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// Seconds from the start of the recording.
    pub onset: f64,
    /// Seconds, when given.
    pub duration: Option<f64>,
    /// The annotation text (UTF-8, invalid bytes replaced).
    pub text: String,
}

/// Parses one record's annotation bytes; returns the record's onset (its
/// time-keeping TAL) and appends the annotations it carries.
pub(crate) fn parse_record(
    bytes: &[u8],
    out: &mut Vec<Annotation>,
    warnings: &mut Vec<String>,
) -> Option<f64> {
    let mut record_onset = None;
    for tal in bytes.split(|&b| b == 0).filter(|t| !t.is_empty()) {
        let mut parts = tal.split(|&b| b == 0x14);
        let Some(time) = parts.next() else { continue };
        let time = String::from_utf8_lossy(time);
        let (onset, duration) = match time.split_once('\x15') {
            Some((o, d)) => (o, Some(d)),
            None => (time.as_ref(), None),
        };
        let Some(onset) = onset
            .starts_with(['+', '-'])
            .then(|| number(onset))
            .flatten()
        else {
            warnings.push(format!(
                "annotation with unreadable onset {onset:?} ignored"
            ));
            continue;
        };
        let duration = duration.filter(|d| !d.is_empty()).and_then(number);
        let texts: Vec<&[u8]> = parts.collect();
        // The text list ends with \x14, so the last element is empty.
        let texts = texts.split_last().map_or(&[][..], |(_, rest)| rest);
        if record_onset.is_none() && texts.first().is_none_or(|t| t.is_empty()) {
            record_onset = Some(onset);
        }
        for t in texts.iter().filter(|t| !t.is_empty()) {
            out.push(Annotation {
                onset,
                duration,
                text: String::from_utf8_lossy(t).into_owned(),
            });
        }
    }
    record_onset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_timekeeping_and_annotations() {
        let bytes =
            b"+0\x14\x14\0+1.5\x152.25\x14Stage 1\x14Sleep\x14\0+3\x14\x14Arousal\x14\0\0\0";
        let (mut out, mut w) = (Vec::new(), Vec::new());
        assert_eq!(parse_record(bytes, &mut out, &mut w), Some(0.0));
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[0],
            Annotation {
                onset: 1.5,
                duration: Some(2.25),
                text: "Stage 1".into()
            }
        );
        assert_eq!(out[1].text, "Sleep");
        assert_eq!(
            out[2],
            Annotation {
                onset: 3.0,
                duration: None,
                text: "Arousal".into()
            }
        );
        assert!(w.is_empty());
    }

    #[test]
    fn garbage_is_a_warning_not_a_panic() {
        let (mut out, mut w) = (Vec::new(), Vec::new());
        assert_eq!(
            parse_record(b"abc\x14\x14\0\x15\x14\0+\x14", &mut out, &mut w),
            None
        );
        assert!(out.is_empty());
        assert_eq!(w.len(), 3);
    }
}
