//! One recording, from EDF file to committed store group.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::{Dtype, PreprocessConfig};
use crate::corpus::RecordingFile;
use crate::dsp::filter::LANES;
use crate::edf::{Edf, RawSignals};
use crate::labels::recording_samples;
use crate::mem;
use crate::montage::{ChannelSource, Montage, MontageError, Term, derive, records_tcp_pairs};
use crate::preprocess::{self, Plan, Preprocessor, check_finite};
use crate::store::{RecordingMeta, RecordingWriter, SignalData, Store, StoreError};

use super::source::SourceFile;

/// What became of one recording.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Committed to the store, with what looked wrong but did not stop it
    /// (annotations outside the recording, a path the layout cannot read).
    Ingested(Vec<String>),
    /// Left out for a documented reason (channels the montage needs are missing).
    Skipped(String),
    /// The file or its annotation is broken; the reason names the file and the problem.
    Failed(String),
    /// Ctrl-C arrived before it was committed.
    Cancelled,
}

impl Outcome {
    /// The outcome's name in progress events.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Ingested(_) => "ingested",
            Self::Skipped(_) => "skipped",
            Self::Failed(_) => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// A source file opened and matched to the montage, ready to stream.
struct Source<'a> {
    src: &'a SourceFile,
    edf: Edf,
    montage: Montage,
    /// Per electrode: its slot among the signals read from the file, or among
    /// the interpolated ones.
    slots: Vec<Slot>,
    /// The EDF signals read, in slot order (the electrodes' order).
    signals: Vec<usize>,
    /// Output rows by what they need: electrodes read from the file only, an
    /// interpolated one (these go last), a missing optional one (zeros).
    read_rows: Vec<usize>,
    interpolated_rows: Vec<usize>,
    zero_rows: Vec<usize>,
    fs_in: f64,
    n_in: usize,
}

/// Where an electrode's signal is while a recording streams.
#[derive(Clone, Copy)]
enum Slot {
    /// `raw`'s signal `k`, decoded when needed.
    Read(usize),
    /// The interpolated sum `k`, complete once every read electrode added to it.
    Interpolated(usize),
    /// An optional electrode the file lacks: zeros.
    Missing,
}

/// Reads, montages, preprocesses and labels `src`, then commits it to `store`.
/// Checks `cancel` between groups of channels, so Ctrl-C never waits long.
pub(crate) fn ingest_one(
    src: &SourceFile,
    cfg: &PreprocessConfig,
    config_hash: &str,
    store: &Store,
    cancel: &AtomicBool,
) -> Outcome {
    let run = || -> Result<Vec<String>, Outcome> {
        // An object's fingerprint is the listing's, as resume compares it (a
        // GET reports the time to the second only).
        let print = src.fingerprint().map_err(|e| src.failed(&e))?;
        let source = Source::open(src, cfg)?;
        let pre = Preprocessor::new(cfg, source.fs_in).map_err(|e| src.failed(&e))?;
        let plan = pre.plan(source.n_in);
        let (fs, n) = (pre.fs_out(), plan.n_out());
        if n == 0 {
            return Err(src.failed(&format!(
                "no samples to store: {} samples at {} Hz resample to none at {fs} Hz",
                source.n_in, source.fs_in
            )));
        }
        let start_clock_s = source.edf.header().start.map(|t| {
            f64::from(u32::from(t.hour) * 3600 + u32::from(t.minute) * 60 + u32::from(t.second))
        });
        let file = RecordingFile {
            edf: &src.path,
            root: &src.root,
            start_clock_s,
            duration_s: source.n_in as f64 / source.fs_in,
        };
        let annotation = src
            .corpus
            .annotation(&file, &cfg.labels)
            .map_err(|e| Outcome::Failed(e.to_string()))?;
        let (label, types) = recording_samples(annotation.as_ref(), n, fs)
            .map_err(|e| Outcome::Failed(e.to_string()))?;
        // Annotations lie beside the EDF: their relative path is the EDF's with their name.
        let beside = |file: &Path| {
            file.file_name().map(|name| {
                Path::new(&src.rel)
                    .with_file_name(name)
                    .to_string_lossy()
                    .into_owned()
            })
        };
        let rel_annotation = annotation.as_ref().and_then(|a| beside(&a.path));
        let type_annotation = annotation
            .as_ref()
            .filter(|a| a.types_path != a.path)
            .and_then(|a| beside(&a.types_path));
        let mut notes: Vec<String> = src.issues.clone();
        notes.extend(source.montage.warnings().iter().cloned());
        if let Some(a) = &annotation {
            notes.extend(a.warnings(n as f64 / fs).iter().map(ToString::to_string));
        }
        let meta = RecordingMeta {
            source: src.rel.clone(),
            size: print.size,
            mtime_ns: print.mtime_ns,
            etag: print.etag,
            config_hash: config_hash.to_owned(),
            fs_in: source.fs_in,
            n_in: source.n_in as u64,
            fs,
            n_samples: n as u64,
            n_channels: source.montage.channels().len() as u64,
            split: src.split.clone(),
            patient: src.patient.clone(),
            session: src.session.clone(),
            run: src.run.clone(),
            corpus: Some(src.corpus.name().to_owned()),
            start_time: source.edf.header().start.map(|t| {
                format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                    t.year, t.month, t.day, t.hour, t.minute, t.second
                )
            }),
            montage: src.montage.clone(),
            labeled: rel_annotation.is_some(),
            channel_seizures: annotation.as_ref().and_then(|a| a.channel_seizures(n, fs)),
            annotation: rel_annotation,
            type_annotation,
            warnings: source
                .edf
                .warnings()
                .iter()
                .chain(&notes)
                .cloned()
                .collect(),
            interpolated: source
                .montage
                .pick()
                .interpolated()
                .map(str::to_owned)
                .collect(),
            absent: source
                .montage
                .channels()
                .iter()
                .zip(source.montage.present())
                .filter(|(_, present)| !present)
                .map(|(ch, _)| ch.clone())
                .collect(),
            store_id: None, // the writer records the store's
        };
        let mut writer = store
            .begin_recording(&src.rid, &meta, cfg.dtype)
            .map_err(|e| Outcome::Failed(e.to_string()))?;
        source.stream(&plan, &mut writer, cancel)?;
        writer
            .commit_with_types(&label, &types)
            .map_err(|e| Outcome::Failed(e.to_string()))?;
        Ok(notes)
    };
    run().map_or_else(|outcome| outcome, Outcome::Ingested)
}

impl SourceFile {
    /// A failure naming this file.
    fn failed(&self, e: &dyn std::fmt::Display) -> Outcome {
        Outcome::Failed(format!("{}: {e}", self.path.display()))
    }
}

impl<'a> Source<'a> {
    /// Opens `src` and matches its channels to the montage of `cfg`.
    fn open(src: &'a SourceFile, cfg: &PreprocessConfig) -> Result<Self, Outcome> {
        let edf = Edf::open(&src.path).map_err(|e| Outcome::Failed(e.to_string()))?;
        // The reader tolerates a truncated file (complete records stay readable),
        // but a cache built from part of a recording must not pass unnoticed.
        let declared = edf.header().declared_records;
        if declared > edf.n_records() as i64 {
            return Err(src.failed(&format!(
                "truncated: the header declares {declared} records, the file holds {} complete ones",
                edf.n_records()
            )));
        }
        let labels: Vec<&str> = edf.signals().map(|s| s.label.as_str()).collect();
        let montage = match derive(&labels, &cfg.montage) {
            Ok(m) => m,
            Err(e @ MontageError::MissingChannels(_)) => {
                let hint = if records_tcp_pairs(&labels, &cfg.montage) {
                    "; the file records bipolar pairs (FP1-F7, ...), which a referential montage cannot use: ingest with --montage tcp"
                } else {
                    ""
                };
                return Err(Outcome::Skipped(format!(
                    "{}: {e}{hint}",
                    src.path.display()
                )));
            }
            Err(e) => return Err(src.failed(&e)),
        };
        let (mut slots, mut signals, mut n_interpolated) = (Vec::new(), Vec::new(), 0);
        for s in montage.pick().sources() {
            slots.push(match s {
                ChannelSource::Label(i) => {
                    signals.push(*i);
                    Slot::Read(signals.len() - 1)
                }
                ChannelSource::Interpolate => {
                    n_interpolated += 1;
                    Slot::Interpolated(n_interpolated - 1)
                }
                ChannelSource::Missing => Slot::Missing,
            });
        }
        let (mut read_rows, mut interpolated_rows, mut zero_rows) =
            (Vec::new(), Vec::new(), Vec::new());
        for (row, t) in montage.terms().iter().enumerate() {
            let needs = |f: fn(&Slot) -> bool| t.electrodes().any(|e| f(&slots[e]));
            if needs(|s| matches!(s, Slot::Missing)) {
                zero_rows.push(row);
            } else if needs(|s| matches!(s, Slot::Interpolated(_))) {
                interpolated_rows.push(row);
            } else {
                read_rows.push(row);
            }
        }
        // The montage channels must share one rate: they become one matrix.
        let rates: Vec<f64> = signals
            .iter()
            .map(|&i| edf.sample_rate(i))
            .collect::<Result<_, _>>()
            .map_err(|e| Outcome::Failed(e.to_string()))?;
        check_header(&edf, &signals, &rates).map_err(|e| src.failed(&e))?;
        let fs_in = rates.first().copied().unwrap_or(0.0);
        if rates.iter().any(|&r| r != fs_in) {
            let mut distinct: Vec<String> = rates.iter().map(|r| format!("{r}")).collect();
            distinct.dedup();
            return Err(src.failed(&format!(
                "montage channels at different sample rates ({} Hz)",
                distinct.join(", ")
            )));
        }
        let n_in = edf
            .n_samples(signals.first().copied().unwrap_or(0))
            .unwrap_or(0);
        Ok(Self {
            src,
            edf,
            montage,
            slots,
            signals,
            read_rows,
            interpolated_rows,
            zero_rows,
            fs_in,
            n_in,
        })
    }

    /// Decodes, preprocesses and writes every row, a group of [`LANES`]
    /// channels at a time: a worker holds the raw samples and a few channels,
    /// never the `[C, n]` matrix. Rows of electrodes read from the file come
    /// first, in order; each electrode adds its share to the interpolated ones
    /// when first decoded; rows that need an interpolated electrode go last.
    /// A bipolar row decodes its two electrodes and takes their difference.
    fn stream(
        &self,
        plan: &Plan<'_>,
        writer: &mut RecordingWriter<'_>,
        cancel: &AtomicBool,
    ) -> Result<(), Outcome> {
        let (n_in, n) = (plan.n_in(), plan.n_out());
        let stored = |e: StoreError| Outcome::Failed(e.to_string());
        let n_interpolated = self.montage.pick().interpolated().count();
        BUFFERS.with_borrow_mut(|b| {
            let result = (|| {
                reuse_rows(&mut b.outputs, LANES, n);
                reuse_rows(&mut b.interpolated, n_interpolated, n_in);
                reuse(&mut b.minus, if self.bipolar() { n_in } else { 0 });
                let Buffers {
                    raw,
                    outputs,
                    interpolated: sums,
                    minus,
                    half,
                } = b;
                // One pass over the file for every electrode, kept as raw
                // samples; each is decoded when a row needs it.
                self.edf
                    .extract_into(&self.signals, raw)
                    .map_err(|e| Outcome::Failed(e.to_string()))?;
                let mut sums: Vec<&mut [f64]> = sums.iter_mut().map(Vec::as_mut_slice).collect();
                let mut outputs: Vec<&mut [f32]> =
                    outputs.iter_mut().map(Vec::as_mut_slice).collect();
                let mut added = vec![n_interpolated == 0; self.slots.len()];
                for (phase, rows) in [&self.read_rows, &self.interpolated_rows]
                    .into_iter()
                    .enumerate()
                {
                    if phase == 1 {
                        // Every interpolated sum complete before it is read.
                        for e in 0..self.slots.len() {
                            if !added[e] && matches!(self.slots[e], Slot::Read(_)) {
                                self.electrode(e, minus, raw, &mut sums, &mut added)?;
                            }
                        }
                    }
                    for group in rows.chunks(LANES) {
                        let fill = |j: usize, x: &mut [f64]| {
                            let Term { plus, minus: sub } = self.montage.terms()[group[j]];
                            self.electrode(plus, x, raw, &mut sums, &mut added)?;
                            if let Some(m) = sub {
                                self.electrode(m, minus, raw, &mut sums, &mut added)?;
                                for (x, m) in x.iter_mut().zip(minus.iter()) {
                                    *x -= m;
                                }
                            }
                            Ok(())
                        };
                        plan.run_group(fill, &mut outputs[..group.len()])?;
                        for (&row, y) in group.iter().zip(&outputs) {
                            write_row(writer, row, y, half).map_err(stored)?;
                        }
                        if cancel.load(Ordering::Relaxed) {
                            return Err(Outcome::Cancelled);
                        }
                    }
                }
                // Zeros preprocess to zeros: written as they are.
                outputs[0].fill(0.0);
                for &row in &self.zero_rows {
                    write_row(writer, row, outputs[0], half).map_err(stored)?;
                }
                Ok(())
            })();
            // Not kept for the next recording when outsized.
            if n_in.max(n) > mem::KEEP_SAMPLES {
                *b = Buffers::default();
                preprocess::release_buffers();
            }
            result
        })
    }

    /// Electrode `e` into `x`: decoded from `raw` (adding its share to the
    /// interpolated `sums` the first time, as `added` records) or copied from
    /// its interpolated sum.
    fn electrode(
        &self,
        e: usize,
        x: &mut [f64],
        raw: &RawSignals,
        sums: &mut [&mut [f64]],
        added: &mut [bool],
    ) -> Result<(), Outcome> {
        let pick = self.montage.pick();
        match self.slots[e] {
            Slot::Read(k) => {
                if !raw.decode_into(k, x) {
                    return Err(self.src.failed(&format!(
                        "electrode {}: decoded length mismatch",
                        pick.channels()[e]
                    )));
                }
                check_finite(x, e).map_err(|err| self.src.failed(&err))?;
                if !added[e] {
                    pick.accumulate_interpolated(e, x, sums);
                    added[e] = true;
                }
            }
            Slot::Interpolated(k) => x.copy_from_slice(sums[k]),
            Slot::Missing => x.fill(0.0),
        }
        Ok(())
    }

    /// Whether any output row is a difference of two electrodes.
    fn bipolar(&self) -> bool {
        self.montage.terms().iter().any(|t| t.minus.is_some())
    }
}

/// The sampling rates the ingest accepts for the montage channels, Hz: below
/// 1 Hz an EEG has none of its bands, above 100 kHz no EEG amplifier samples.
const FS_RANGE_HZ: (f64, f64) = (1.0, 100_000.0);

/// The longest recording the ingest accepts, seconds (7 days).
const MAX_DURATION_S: f64 = 7.0 * 86_400.0;

/// Refuses a header whose montage channels' rates (`rates`, of the EDF
/// signals `signals`) or whose total duration lie outside what the ingest
/// accepts: resampling sizes its buffers by them, so a wrong record duration
/// or count of samples per record (a 1e8 s record) must stop here, before
/// anything is allocated, not in an out-of-memory abort.
fn check_header(edf: &Edf, signals: &[usize], rates: &[f64]) -> Result<(), String> {
    let (lo, hi) = FS_RANGE_HZ;
    let duration = edf.header().record_duration;
    for (&i, &rate) in signals.iter().zip(rates) {
        if !(lo..=hi).contains(&rate) {
            let s = edf.signal(i).map_err(|e| e.to_string())?;
            return Err(format!(
                "header fields \"number of samples in each data record\" ({}) of signal {:?} and \"duration of a data record\" ({duration} s) give a sampling rate of {rate} Hz, outside the {lo} Hz to {hi} Hz the ingest accepts",
                s.samples_per_record, s.label
            ));
        }
    }
    let total = duration * edf.n_records() as f64;
    if total > MAX_DURATION_S {
        return Err(format!(
            "header field \"duration of a data record\" ({duration} s) over {} records gives {total} s, longer than the {MAX_DURATION_S} s (7 days) the ingest accepts",
            edf.n_records()
        ));
    }
    Ok(())
}

/// Writes one preprocessed row in the store's dtype.
fn write_row(
    writer: &mut RecordingWriter<'_>,
    row: usize,
    y: &[f32],
    half: &mut Vec<u16>,
) -> Result<(), StoreError> {
    match writer.dtype() {
        Dtype::Float32 => writer.write_row(row, SignalData::F32(y)),
        Dtype::Float16 => {
            half.clear();
            half.extend(y.iter().map(|&v| half::f16::from_f32(v).to_bits()));
            writer.write_row(row, SignalData::F16(half))
        }
    }
}

/// A worker's buffers, kept from one recording to the next.
#[derive(Default)]
struct Buffers {
    /// The recording's channels as read from the file, not yet decoded.
    raw: RawSignals,
    /// Their preprocessed rows.
    outputs: Vec<Vec<f32>>,
    /// The interpolated electrodes, summed as the electrodes they come from are read.
    interpolated: Vec<Vec<f64>>,
    /// The subtracted electrode of a bipolar row.
    minus: Vec<f64>,
    /// One row as float16.
    half: Vec<u16>,
}

thread_local! {
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::new(Buffers::default());
}

/// `rows` zeroed rows of `n` elements, reusing the memory already there.
fn reuse_rows<T: Copy + Default>(v: &mut Vec<Vec<T>>, rows: usize, n: usize) {
    v.resize_with(rows, Vec::new);
    for row in v.iter_mut() {
        reuse(row, n);
    }
}

/// Resizes `v` to `n` elements, asking for huge pages when it must grow.
fn reuse<T: Copy + Default>(v: &mut Vec<T>, n: usize) {
    if v.capacity() < n {
        *v = mem::zeroed(n);
    } else {
        v.clear();
        v.resize(n, T::default());
    }
}

#[cfg(test)]
mod tests;
