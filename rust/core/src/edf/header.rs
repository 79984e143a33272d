//! The EDF/BDF header: 256 fixed bytes, then 256 bytes per signal, field by field.

use std::fmt;

use super::error::EdfErrorKind;

/// The length of the fixed part of the header, and of each signal's part.
pub(crate) const BLOCK: usize = 256;

/// The file format, from the version field (sample width) and the reserved field (EDF+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Plain EDF, 16-bit samples.
    Edf,
    /// EDF+ continuous.
    EdfPlusC,
    /// EDF+ discontinuous: records carry their own onsets.
    EdfPlusD,
    /// Plain BDF (BioSemi), 24-bit samples.
    Bdf,
    /// BDF+ continuous.
    BdfPlusC,
    /// BDF+ discontinuous.
    BdfPlusD,
}

impl FileKind {
    /// Bytes per sample: 2 for EDF, 3 for BDF.
    pub fn bytes_per_sample(self) -> usize {
        match self {
            Self::Edf | Self::EdfPlusC | Self::EdfPlusD => 2,
            Self::Bdf | Self::BdfPlusC | Self::BdfPlusD => 3,
        }
    }

    /// Whether the records may have gaps between them (EDF+D / BDF+D).
    pub fn is_discontinuous(self) -> bool {
        matches!(self, Self::EdfPlusD | Self::BdfPlusD)
    }

    /// Whether the reserved field declares EDF+ / BDF+.
    pub fn is_plus(self) -> bool {
        !matches!(self, Self::Edf | Self::Bdf)
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Edf => "EDF",
            Self::EdfPlusC => "EDF+C",
            Self::EdfPlusD => "EDF+D",
            Self::Bdf => "BDF",
            Self::BdfPlusC => "BDF+C",
            Self::BdfPlusD => "BDF+D",
        })
    }
}

/// The recording's start, as written in the header (local time, no zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartTime {
    /// Four-digit year.
    pub year: u16,
    /// 1-12.
    pub month: u8,
    /// 1-31.
    pub day: u8,
    /// 0-23.
    pub hour: u8,
    /// 0-59.
    pub minute: u8,
    /// 0-59.
    pub second: u8,
}

impl Default for StartTime {
    /// 2000-01-01 00:00:00, for files written without a known start.
    fn default() -> Self {
        Self {
            year: 2000,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
        }
    }
}

/// One signal's header fields.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalHeader {
    /// Label, surrounding spaces removed.
    pub label: String,
    /// Transducer type.
    pub transducer: String,
    /// Physical dimension (`uV`, `mV`, ...).
    pub physical_dimension: String,
    /// Physical minimum (NaN when the field is unreadable).
    pub physical_min: f64,
    /// Physical maximum (NaN when the field is unreadable).
    pub physical_max: f64,
    /// Digital minimum (NaN when the field is unreadable).
    pub digital_min: f64,
    /// Digital maximum (NaN when the field is unreadable).
    pub digital_max: f64,
    /// Prefiltering.
    pub prefilter: String,
    /// Samples in each data record.
    pub samples_per_record: usize,
    /// The signal's reserved field.
    pub reserved: String,
    /// `EDF Annotations` / `BDF Annotations`: TAL text, not samples.
    pub is_annotation: bool,
    /// Why the signal cannot be scaled to physical units, if it cannot.
    pub degenerate: Option<String>,
    /// Byte offset of this signal inside a data record.
    pub(crate) offset: usize,
}

impl SignalHeader {
    /// `(gain, offset)` with physical = digital * gain + offset.
    pub fn scaling(&self) -> Option<(f64, f64)> {
        if self.degenerate.is_some() {
            return None;
        }
        let gain = (self.physical_max - self.physical_min) / (self.digital_max - self.digital_min);
        Some((gain, self.physical_min - self.digital_min * gain))
    }
}

/// The parsed header of an EDF or BDF file.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// EDF, EDF+C, EDF+D, BDF, ...
    pub kind: FileKind,
    /// Local patient identification.
    pub patient: String,
    /// Local recording identification.
    pub recording: String,
    /// Start date and time; `None` when the fields cannot be read (a warning says why).
    pub start: Option<StartTime>,
    /// The header-size field, checked against the number of signals.
    pub header_bytes: usize,
    /// The reserved field (`EDF+C`, `EDF+D`, ...).
    pub reserved: String,
    /// Number of data records as declared; -1 means unknown.
    pub declared_records: i64,
    /// Duration of a data record in seconds.
    pub record_duration: f64,
    /// All signals, annotation signals included, in file order.
    pub signals: Vec<SignalHeader>,
    /// Bytes in one data record.
    pub record_bytes: usize,
}

/// Reads a fixed-width header field as latin-1 text with padding removed.
pub(crate) fn text(bytes: &[u8]) -> String {
    let s: String = bytes.iter().map(|&b| b as char).collect();
    s.trim_matches(|c: char| c == ' ' || c == '\0').to_owned()
}

/// Tolerant number parsing: padding, a leading `+`, exponents and a decimal comma.
pub(crate) fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    let v = s
        .parse::<f64>()
        .or_else(|_| s.replace(',', ".").parse::<f64>())
        .ok()?;
    v.is_finite().then_some(v)
}

/// An integral count; `4.0` is accepted, `4.5` is not.
fn integer(s: &str) -> Option<i64> {
    let v = number(s)?;
    (v.fract() == 0.0 && v.abs() < 1e15).then_some(v as i64)
}

fn bad(
    field: &'static str,
    signal: Option<usize>,
    value: &str,
    reason: &'static str,
) -> EdfErrorKind {
    EdfErrorKind::BadField {
        field,
        signal,
        value: value.to_owned(),
        reason,
    }
}

impl Header {
    /// Parses the header at the start of `file`, pushing a warning for each
    /// irregularity it tolerates.
    ///
    /// # Errors
    /// [`EdfErrorKind`] when the file is too short, is not EDF/BDF, or a field
    /// needed to locate the samples cannot be read.
    pub(crate) fn parse(file: &[u8], warnings: &mut Vec<String>) -> Result<Self, EdfErrorKind> {
        if file.len() < BLOCK {
            return Err(EdfErrorKind::TooShort {
                len: file.len() as u64,
            });
        }
        let f = |a: usize, b: usize| text(&file[a..b]);
        let kind = kind(&file[..8], &f(192, 236))?;
        let n_signals = f(252, 256);
        let ns = integer(&n_signals)
            .filter(|&n| n >= 0)
            .ok_or_else(|| bad("number of signals", None, &n_signals, "not a count"))?;
        // Bound ns by the file before allocating anything sized by it.
        let expected = (ns as u64 + 1) * BLOCK as u64;
        if expected > file.len() as u64 {
            return Err(EdfErrorKind::TruncatedHeader {
                len: file.len() as u64,
                header_bytes: expected,
            });
        }
        let ns = ns as usize;
        let header_field = f(184, 192);
        let declared = integer(&header_field).ok_or_else(|| {
            bad(
                "number of bytes in header",
                None,
                &header_field,
                "not a number",
            )
        })?;
        if declared as u64 != expected {
            return Err(EdfErrorKind::HeaderSize {
                declared: declared.max(0) as u64,
                expected,
                n_signals: ns,
            });
        }
        let records = f(236, 244);
        let declared_records = integer(&records).filter(|&n| n >= -1).ok_or_else(|| {
            bad(
                "number of data records",
                None,
                &records,
                "not a count or -1",
            )
        })?;
        let duration = f(244, 252);
        let record_duration = number(&duration).filter(|&d| d >= 0.0).ok_or_else(|| {
            bad(
                "duration of a data record",
                None,
                &duration,
                "not a non-negative number",
            )
        })?;

        let recording = f(88, 168);
        let start = start_time(&f(168, 176), &f(176, 184), &recording, warnings);
        let mut signals = parse_signals(&file[BLOCK..expected as usize], ns, kind, warnings)?;
        let bps = kind.bytes_per_sample();
        let mut record_bytes = 0usize;
        for (i, s) in signals.iter_mut().enumerate() {
            s.offset = record_bytes;
            record_bytes = s
                .samples_per_record
                .checked_mul(bps)
                .and_then(|b| b.checked_add(record_bytes))
                .ok_or_else(|| {
                    bad(
                        "number of samples in each data record",
                        Some(i),
                        &s.samples_per_record.to_string(),
                        "too large",
                    )
                })?;
        }
        let has_data = signals
            .iter()
            .any(|s| !s.is_annotation && s.samples_per_record > 0);
        if has_data && record_duration == 0.0 {
            return Err(bad(
                "duration of a data record",
                None,
                &duration,
                "zero, but the file has data signals",
            ));
        }
        Ok(Self {
            kind,
            patient: f(8, 88),
            recording,
            start,
            header_bytes: expected as usize,
            reserved: f(192, 236),
            declared_records,
            record_duration,
            signals,
            record_bytes,
        })
    }
}

fn kind(version: &[u8], reserved: &str) -> Result<FileKind, EdfErrorKind> {
    let bdf = version[0] == 0xFF && &version[1..8] == b"BIOSEMI";
    if !bdf && text(version) != "0" {
        return Err(EdfErrorKind::NotEdf(text(version)));
    }
    let reserved = reserved.to_ascii_uppercase();
    let plus = ["EDF+", "BDF+"]
        .iter()
        .find_map(|p| reserved.strip_prefix(p));
    Ok(match (bdf, plus.and_then(|r| r.chars().next())) {
        (false, Some('D')) => FileKind::EdfPlusD,
        (false, Some(_)) => FileKind::EdfPlusC,
        (false, None) => FileKind::Edf,
        (true, Some('D')) => FileKind::BdfPlusD,
        (true, Some(_)) => FileKind::BdfPlusC,
        (true, None) => FileKind::Bdf,
    })
}

/// The per-signal fields are stored field by field: all labels, then all transducers, ...
fn parse_signals(
    block: &[u8],
    ns: usize,
    kind: FileKind,
    warnings: &mut Vec<String>,
) -> Result<Vec<SignalHeader>, EdfErrorKind> {
    let mut at = 0usize;
    let mut column = |width: usize| {
        let fields: Vec<String> = (0..ns)
            .map(|i| text(&block[at + i * width..at + (i + 1) * width]))
            .collect();
        at += ns * width;
        fields
    };
    let labels = column(16);
    let transducers = column(80);
    let dimensions = column(8);
    let pmins = column(8);
    let pmaxs = column(8);
    let dmins = column(8);
    let dmaxs = column(8);
    let prefilters = column(80);
    let samples = column(8);
    let reserveds = column(32);
    let (dig_lo, dig_hi) = match kind.bytes_per_sample() {
        2 => (f64::from(i16::MIN), f64::from(i16::MAX)),
        _ => (-8_388_608.0, 8_388_607.0),
    };
    let mut out = Vec::with_capacity(ns);
    for i in 0..ns {
        let spr = integer(&samples[i]).filter(|&n| n >= 0).ok_or_else(|| {
            bad(
                "number of samples in each data record",
                Some(i),
                &samples[i],
                "not a count",
            )
        })?;
        let label = labels[i].clone();
        let is_annotation = matches!(
            label.to_ascii_uppercase().as_str(),
            "EDF ANNOTATIONS" | "BDF ANNOTATIONS"
        );
        let read = |v: &str| number(v).unwrap_or(f64::NAN);
        let (pmin, pmax, dmin, dmax) = (
            read(&pmins[i]),
            read(&pmaxs[i]),
            read(&dmins[i]),
            read(&dmaxs[i]),
        );
        let degenerate = if is_annotation {
            None
        } else if [pmin, pmax, dmin, dmax].iter().any(|v| v.is_nan()) {
            Some(format!(
                "unreadable range: physical {:?}..{:?}, digital {:?}..{:?}",
                pmins[i], pmaxs[i], dmins[i], dmaxs[i]
            ))
        } else if pmin == pmax {
            Some(format!("physical minimum equals maximum ({pmin})"))
        } else if dmin == dmax {
            Some(format!("digital minimum equals maximum ({dmin})"))
        } else {
            None
        };
        if let Some(reason) = &degenerate {
            warnings.push(format!("signal {i} {label:?} cannot be scaled: {reason}"));
        } else if !is_annotation && (dmin.min(dmax) < dig_lo || dmin.max(dmax) > dig_hi) {
            warnings.push(format!("signal {i} {label:?}: digital range {dmin}..{dmax} exceeds the {}-bit sample range", 8 * kind.bytes_per_sample()));
        }
        out.push(SignalHeader {
            label,
            transducer: transducers[i].clone(),
            physical_dimension: dimensions[i].clone(),
            physical_min: pmin,
            physical_max: pmax,
            digital_min: dmin,
            digital_max: dmax,
            prefilter: prefilters[i].clone(),
            samples_per_record: spr as usize,
            reserved: reserveds[i].clone(),
            is_annotation,
            degenerate,
            offset: 0,
        });
    }
    Ok(out)
}

/// Splits `dd.mm.yy`-like text on any of `. : - / space` (TUSZ has `01:01:85`).
fn triple(s: &str) -> Option<[u32; 3]> {
    let parts: Vec<&str> = s
        .split(['.', ':', '-', '/', ' '])
        .filter(|p| !p.is_empty())
        .collect();
    match parts.as_slice() {
        [a, b, c] => Some([a.parse().ok()?, b.parse().ok()?, c.parse().ok()?]),
        _ => None,
    }
}

/// EDF+ writes the four-digit year in the recording field: `Startdate 02-MAR-2002 ...`.
fn plus_year(recording: &str) -> Option<u16> {
    let date = recording.strip_prefix("Startdate ")?.split(' ').next()?;
    date.rsplit('-')
        .next()?
        .parse()
        .ok()
        .filter(|y| (1900..=9999).contains(y))
}

fn start_time(
    date: &str,
    time: &str,
    recording: &str,
    warnings: &mut Vec<String>,
) -> Option<StartTime> {
    if date.contains(':') || time.contains(':') {
        warnings.push(format!(
            "start date/time {date:?} {time:?} use ':' where EDF requires '.'"
        ));
    }
    let parsed = triple(date)
        .zip(triple(time))
        .and_then(|([d, mo, y], [h, mi, s])| {
            let ok = (1..=31).contains(&d)
                && (1..=12).contains(&mo)
                && y < 100
                && h < 24
                && mi < 60
                && s < 60;
            // EDF's two-digit years cover 1985-2084; EDF+ gives all four digits in
            // the recording field, which wins when it agrees with the two.
            let year = plus_year(recording)
                .filter(|p| u32::from(*p) % 100 == y)
                .unwrap_or(if y >= 85 {
                    1900 + y as u16
                } else {
                    2000 + y as u16
                });
            ok.then_some(StartTime {
                year,
                month: mo as u8,
                day: d as u8,
                hour: h as u8,
                minute: mi as u8,
                second: s as u8,
            })
        });
    if parsed.is_none() {
        warnings.push(format!(
            "unreadable start date/time {date:?} {time:?}; start set to None"
        ));
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_parsed_tolerantly() {
        assert_eq!(number(" +4999.84 "), Some(4999.84));
        assert_eq!(number("1E3"), Some(1000.0));
        assert_eq!(number("-3,5"), Some(-3.5));
        assert_eq!(number("nan"), None);
        assert_eq!(number(""), None);
        assert_eq!(integer("256.0"), Some(256));
        assert_eq!(integer("2.5"), None);
    }

    #[test]
    fn dates_accept_odd_separators_and_reject_nonsense() {
        let mut w = Vec::new();
        let t = start_time("01:01:85", "10.20.30", "", &mut w);
        assert_eq!(
            t,
            Some(StartTime {
                year: 1985,
                month: 1,
                day: 1,
                hour: 10,
                minute: 20,
                second: 30
            })
        );
        assert_eq!(w.len(), 1);
        assert_eq!(start_time("42.00.00", "26.00.99", "", &mut w), None);
        let t = start_time(
            "07.03.09",
            "00.00.00",
            "Startdate 07-MAR-2109 X X X",
            &mut w,
        );
        assert_eq!(t.map(|t| t.year), Some(2109));
        let t = start_time(
            "07.03.85",
            "00.00.00",
            "Startdate 07-MAR-2009 X X X",
            &mut w,
        );
        assert_eq!(t.map(|t| t.year), Some(1985));
        assert_eq!(
            start_time("07.03.84", "00.00.00", "", &mut w).map(|t| t.year),
            Some(2084)
        );
    }

    #[test]
    fn file_kind_comes_from_version_and_reserved() {
        let mut bdf = [b' '; 8];
        bdf[0] = 0xFF;
        bdf[1..].copy_from_slice(b"BIOSEMI");
        assert_eq!(kind(&bdf, "EDF+C").ok(), Some(FileKind::BdfPlusC));
        assert_eq!(kind(b"0       ", "EDF+D").ok(), Some(FileKind::EdfPlusD));
        assert_eq!(kind(b"0       ", "").ok(), Some(FileKind::Edf));
        assert!(kind(b"PK\x03\x04    ", "").is_err());
    }
}
