//! A small EDF / EDF+C writer: test fixtures, the built-in demo corpus and
//! benchmark corpora are written with it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::annotations::Annotation;
use super::error::{EdfError, EdfErrorKind};
use super::header::{StartTime, number};

/// One signal to write: physical samples plus the header fields that scale them.
#[derive(Debug, Clone)]
pub struct WriteSignal {
    /// Label (at most 16 bytes).
    pub label: String,
    /// Samples per second; times the record duration it must be a whole number.
    pub sample_rate: f64,
    /// Physical dimension, e.g. `uV`.
    pub physical_dimension: String,
    /// Physical range mapped onto the digital range.
    pub physical_min: f64,
    /// See `physical_min`.
    pub physical_max: f64,
    /// Digital range (within -32768..=32767).
    pub digital_min: i32,
    /// See `digital_min`.
    pub digital_max: i32,
    /// Prefilter field.
    pub prefilter: String,
    /// Physical samples; the length must be a whole number of records.
    pub data: Vec<f64>,
}

/// Writes an EDF file: plain EDF, or EDF+C when annotations are given.
#[derive(Debug, Clone)]
pub struct EdfWriter {
    /// Patient field.
    pub patient: String,
    /// Recording field.
    pub recording: String,
    /// Start date and time.
    pub start: StartTime,
    /// Seconds per data record.
    pub record_duration: f64,
    /// Data signals.
    pub signals: Vec<WriteSignal>,
    /// Annotations; when non-empty the file is EDF+C with an `EDF Annotations` signal.
    pub annotations: Vec<Annotation>,
}

/// A per-signal header field: its value for one signal.
type Column<'a> = dyn Fn(&WriteSignal) -> String + 'a;

fn field(out: &mut Vec<u8>, value: &str, width: usize) {
    let bytes = value.as_bytes();
    let n = bytes.len().min(width);
    out.extend_from_slice(&bytes[..n]);
    out.resize(out.len() + width - n, b' ');
}

/// Formats a number into at most 8 characters, as the header requires.
fn num(v: f64) -> String {
    let s = format!("{v}");
    if s.len() <= 8 {
        return s;
    }
    let int_digits = format!("{:.0}", v).len();
    let decimals = 8usize.saturating_sub(int_digits + 1);
    format!("{v:.decimals$}").chars().take(8).collect()
}

impl EdfWriter {
    /// Writes the file.
    ///
    /// # Errors
    /// [`EdfErrorKind::Write`] when a signal's length is not a whole number of
    /// records, the records disagree, or a range is empty; I/O errors.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), EdfError> {
        let path = path.as_ref();
        let err = |m: String| EdfError::new(path, EdfErrorKind::Write(m));
        if self.record_duration.is_nan() || self.record_duration <= 0.0 {
            return Err(err(format!(
                "record duration {} s is not positive",
                self.record_duration
            )));
        }
        let mut n_records = None;
        let mut spr = Vec::with_capacity(self.signals.len());
        for s in &self.signals {
            let n = s.sample_rate * self.record_duration;
            if n.is_nan() || n < 1.0 || (n - n.round()).abs() >= 1e-9 {
                return Err(err(format!(
                    "signal {:?}: {} Hz x {} s records is not a whole number of samples",
                    s.label, s.sample_rate, self.record_duration
                )));
            }
            let per_record = n.round() as usize;
            spr.push(per_record);
            if s.data.len() % per_record != 0 {
                return Err(err(format!(
                    "signal {:?}: {} samples is not a whole number of {per_record}-sample records",
                    s.label,
                    s.data.len()
                )));
            }
            if s.physical_min == s.physical_max
                || s.digital_min >= s.digital_max
                || s.digital_min < -32768
                || s.digital_max > 32767
            {
                return Err(err(format!(
                    "signal {:?}: empty or out-of-range scaling",
                    s.label
                )));
            }
            let n = s.data.len() / per_record;
            if *n_records.get_or_insert(n) != n {
                return Err(err(format!(
                    "signal {:?} has {n} records, others {n_records:?}",
                    s.label
                )));
            }
        }
        let n_records = n_records.unwrap_or(0);
        let tals = self.tal_records(n_records);
        let tal_spr = tals.iter().map(|t| t.len().div_ceil(2)).max().unwrap_or(0);
        let ns = self.signals.len() + usize::from(tal_spr > 0);

        let mut h = Vec::with_capacity(256 * (ns + 1));
        field(&mut h, "0", 8);
        field(&mut h, &self.patient, 80);
        field(&mut h, &self.recording, 80);
        let t = self.start;
        field(
            &mut h,
            &format!("{:02}.{:02}.{:02}", t.day, t.month, t.year % 100),
            8,
        );
        field(
            &mut h,
            &format!("{:02}.{:02}.{:02}", t.hour, t.minute, t.second),
            8,
        );
        field(&mut h, &(256 * (ns + 1)).to_string(), 8);
        field(&mut h, if tal_spr > 0 { "EDF+C" } else { "" }, 44);
        field(&mut h, &n_records.to_string(), 8);
        field(&mut h, &num(self.record_duration), 8);
        field(&mut h, &ns.to_string(), 4);
        let tal_header = WriteSignal {
            label: "EDF Annotations".into(),
            sample_rate: tal_spr as f64 / self.record_duration,
            physical_dimension: String::new(),
            physical_min: -1.0,
            physical_max: 1.0,
            digital_min: -32768,
            digital_max: 32767,
            prefilter: String::new(),
            data: Vec::new(),
        };
        let all: Vec<&WriteSignal> = self
            .signals
            .iter()
            .chain((tal_spr > 0).then_some(&tal_header))
            .collect();
        let columns: [(usize, &Column<'_>); 10] = [
            (16, &|s| s.label.clone()),
            (80, &|_| String::new()),
            (8, &|s| s.physical_dimension.clone()),
            (8, &|s| num(s.physical_min)),
            (8, &|s| num(s.physical_max)),
            (8, &|s| s.digital_min.to_string()),
            (8, &|s| s.digital_max.to_string()),
            (80, &|s| s.prefilter.clone()),
            (8, &|s| {
                format!("{}", (s.sample_rate * self.record_duration).round())
            }),
            (32, &|_| String::new()),
        ];
        for (width, get) in columns {
            for s in &all {
                field(&mut h, &get(s), width);
            }
        }

        let file = File::create(path).map_err(|e| EdfError::new(path, e))?;
        let mut w = BufWriter::new(file);
        let io = |e: std::io::Error| EdfError::new(path, e);
        w.write_all(&h).map_err(io)?;
        let scales: Vec<(f64, f64)> = self
            .signals
            .iter()
            .map(|s| {
                // Quantise with the range as the header states it (8 characters), not as given.
                let as_written = |v: f64| number(&num(v)).unwrap_or(v);
                let (pmin, pmax) = (as_written(s.physical_min), as_written(s.physical_max));
                let gain = (pmax - pmin) / f64::from(s.digital_max - s.digital_min);
                (gain, pmin - f64::from(s.digital_min) * gain)
            })
            .collect();
        let mut record = Vec::new();
        for r in 0..n_records {
            record.clear();
            for ((s, (gain, offset)), &n) in self.signals.iter().zip(&scales).zip(&spr) {
                for &v in &s.data[r * n..(r + 1) * n] {
                    let d = ((v - offset) / gain)
                        .round()
                        .clamp(f64::from(s.digital_min), f64::from(s.digital_max));
                    record.extend_from_slice(&(d as i16).to_le_bytes());
                }
            }
            if let Some(tal) = tals.get(r) {
                record.extend_from_slice(tal);
                record.resize(record.len() + 2 * tal_spr - tal.len(), 0);
            }
            w.write_all(&record).map_err(io)?;
        }
        w.flush().map_err(io)
    }

    /// The TAL bytes of each record: its time-keeping TAL, then the
    /// annotations whose onset falls in it (all in record 0 if there are none).
    fn tal_records(&self, n_records: usize) -> Vec<Vec<u8>> {
        if self.annotations.is_empty() {
            return Vec::new();
        }
        let mut tals: Vec<Vec<u8>> = (0..n_records)
            .map(|r| format!("+{}\x14\x14\0", r as f64 * self.record_duration).into_bytes())
            .collect();
        for a in &self.annotations {
            let r = ((a.onset / self.record_duration).floor().max(0.0) as usize)
                .min(n_records.saturating_sub(1));
            if let Some(t) = tals.get_mut(r) {
                let duration = a.duration.map(|d| format!("\x15{d}")).unwrap_or_default();
                t.extend_from_slice(
                    format!("{:+}{duration}\x14{}\x14\0", a.onset, a.text).as_bytes(),
                );
            }
        }
        tals
    }
}

impl WriteSignal {
    /// A microvolt signal whose physical range is the data's, widened to be
    /// symmetric, mapped onto the full 16-bit range.
    pub fn new(label: impl Into<String>, sample_rate: f64, data: Vec<f64>) -> Self {
        let peak = data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let peak = if peak > 0.0 && peak.is_finite() {
            peak
        } else {
            1.0
        };
        Self {
            label: label.into(),
            sample_rate,
            physical_dimension: "uV".into(),
            physical_min: -peak,
            physical_max: peak,
            digital_min: -32767,
            digital_max: 32767,
            prefilter: String::new(),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edf::Edf;

    #[test]
    fn round_trip_through_the_reader() {
        let dir = std::env::temp_dir().join(format!("brainbrr-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("rt.edf");
        let sine: Vec<f64> = (0..2500).map(|i| 100.0 * (i as f64 * 0.05).sin()).collect();
        let writer = EdfWriter {
            patient: "X M 01-JAN-1987 X".into(),
            recording: "Startdate 02-MAR-2002 X X X".into(),
            start: StartTime {
                year: 2002,
                month: 3,
                day: 2,
                hour: 10,
                minute: 5,
                second: 7,
            },
            record_duration: 1.0,
            signals: vec![
                WriteSignal::new("EEG FP1-REF", 250.0, sine.clone()),
                WriteSignal::new("IBI", 1.0, vec![1.0; 10]),
            ],
            annotations: vec![Annotation {
                onset: 2.5,
                duration: Some(1.0),
                text: "seiz".into(),
            }],
        };
        writer.write(&path).expect("write");
        let edf = Edf::open(&path).expect("read back");
        assert_eq!(edf.header().kind.to_string(), "EDF+C");
        assert_eq!(edf.n_signals(), 2);
        assert_eq!(edf.sample_rate(1).ok(), Some(1.0));
        let x: Vec<f64> = edf.read_physical(0).expect("scalable");
        let step = 200.0 / 65534.0 * 1.0001;
        assert!(
            x.iter()
                .zip(&sine)
                .all(|(a, b)| (a - b).abs() <= step / 2.0 + 1e-12)
        );
        assert_eq!(edf.annotations(), &writer.annotations[..]);
        assert_eq!(edf.record_onsets()[3], 3.0);
        assert!(edf.warnings().is_empty(), "{:?}", edf.warnings());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn uneven_lengths_are_refused() {
        let mut w = EdfWriter {
            patient: String::new(),
            recording: String::new(),
            start: StartTime::default(),
            record_duration: 1.0,
            signals: vec![WriteSignal::new("A", 10.0, vec![0.0; 25])],
            annotations: Vec::new(),
        };
        assert!(w.write(std::env::temp_dir().join("never.edf")).is_err());
        w.signals = vec![
            WriteSignal::new("A", 10.0, vec![0.0; 20]),
            WriteSignal::new("B", 5.0, vec![0.0; 15]),
        ];
        assert!(w.write(std::env::temp_dir().join("never.edf")).is_err());
        w.signals = vec![WriteSignal::new("A", 2.5, vec![0.0; 20])];
        assert!(w.write(std::env::temp_dir().join("never.edf")).is_err());
    }
}
