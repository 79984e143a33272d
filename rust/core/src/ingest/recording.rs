//! One recording, from EDF file to committed store group.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::UNIX_EPOCH;

use crate::config::{Dtype, PreprocessConfig};
use crate::dsp::filter::LANES;
use crate::edf::{Edf, RawSignals};
use crate::labels::{read_recording_annotation, recording_samples};
use crate::mem;
use crate::montage::{ChannelSource, MontageError, Pick, pick};
use crate::preprocess::{self, Plan, Preprocessor, check_finite};
use crate::store::{RecordingMeta, RecordingWriter, SignalData, Store, StoreError};

use super::discover::SourceFile;

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

/// Size and modification time: what decides whether a committed recording is current.
pub(crate) fn fingerprint(path: &Path) -> std::io::Result<(u64, i64)> {
    let meta = std::fs::metadata(path)?;
    let mtime = meta
        .modified()?
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    Ok((meta.len(), mtime))
}

/// A source file opened and matched to the montage, ready to stream.
struct Source<'a> {
    src: &'a SourceFile,
    edf: Edf,
    picked: Pick,
    /// `(output row, EDF signal)` of the channels read from the file, in row order.
    rows: Vec<(usize, usize)>,
    /// The output rows interpolated from the others, in order.
    interpolated: Vec<usize>,
    fs_in: f64,
    n_in: usize,
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
        let (size, mtime_ns) = fingerprint(&src.path).map_err(|e| src.failed(&e))?;
        let source = Source::open(src, cfg)?;
        let pre = Preprocessor::new(cfg, source.fs_in).map_err(|e| src.failed(&e))?;
        let plan = pre.plan(source.n_in);
        let (fs, n) = (pre.fs_out(), plan.n_out());
        let annotation = read_recording_annotation(&src.path, &cfg.labels)
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
        if let Some(a) = &annotation {
            notes.extend(a.warnings(n as f64 / fs).iter().map(ToString::to_string));
        }
        let meta = RecordingMeta {
            source: src.rel.clone(),
            size,
            mtime_ns,
            config_hash: config_hash.to_owned(),
            fs_in: source.fs_in,
            n_in: source.n_in as u64,
            fs,
            n_samples: n as u64,
            n_channels: source.picked.channels().len() as u64,
            split: src.split.clone(),
            patient: src.patient.clone(),
            session: src.session.clone(),
            montage: src.montage.clone(),
            labeled: rel_annotation.is_some(),
            annotation: rel_annotation,
            type_annotation,
            warnings: source
                .edf
                .warnings()
                .iter()
                .chain(&notes)
                .cloned()
                .collect(),
            interpolated: source.picked.interpolated().map(str::to_owned).collect(),
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
        let picked = match pick(&labels, &cfg.montage) {
            Ok(p) => p,
            Err(e @ MontageError::MissingChannels(_)) => {
                return Err(Outcome::Skipped(format!("{}: {e}", src.path.display())));
            }
            Err(e) => return Err(src.failed(&e)),
        };
        let (mut rows, mut interpolated) = (Vec::new(), Vec::new());
        for (row, s) in picked.sources().iter().enumerate() {
            match s {
                ChannelSource::Label(i) => rows.push((row, *i)),
                ChannelSource::Interpolate => interpolated.push(row),
            }
        }
        // The montage channels must share one rate: they become one matrix.
        let rates: Vec<f64> = rows
            .iter()
            .map(|&(_, i)| edf.sample_rate(i))
            .collect::<Result<_, _>>()
            .map_err(|e| Outcome::Failed(e.to_string()))?;
        let fs_in = rates.first().copied().unwrap_or(0.0);
        if rates.iter().any(|&r| r != fs_in) {
            let mut distinct: Vec<String> = rates.iter().map(|r| format!("{r}")).collect();
            distinct.dedup();
            return Err(src.failed(&format!(
                "montage channels at different sample rates ({} Hz)",
                distinct.join(", ")
            )));
        }
        let n_in = edf.n_samples(rows.first().map_or(0, |r| r.1)).unwrap_or(0);
        Ok(Self {
            src,
            edf,
            picked,
            rows,
            interpolated,
            fs_in,
            n_in,
        })
    }

    /// Decodes, preprocesses and writes every row, a group of [`LANES`]
    /// channels at a time: a worker holds the raw samples and a few channels,
    /// never the `[C, n]` matrix. Rows read from the file come first, in order;
    /// each adds its share to the interpolated rows, which go last.
    fn stream(
        &self,
        plan: &Plan<'_>,
        writer: &mut RecordingWriter<'_>,
        cancel: &AtomicBool,
    ) -> Result<(), Outcome> {
        let (n_in, n) = (plan.n_in(), plan.n_out());
        let failed = |e: &dyn std::fmt::Display| self.src.failed(e);
        let stored = |e: StoreError| Outcome::Failed(e.to_string());
        BUFFERS.with_borrow_mut(|b| {
            let result = (|| {
                reuse_rows(&mut b.outputs, LANES, n);
                reuse_rows(&mut b.interpolated, self.interpolated.len(), n_in);
                let Buffers {
                    raw,
                    outputs,
                    interpolated: sums,
                    half,
                } = b;
                // One pass over the file for every channel, kept as raw samples;
                // each is decoded when its group needs it.
                let indices: Vec<usize> = self.rows.iter().map(|r| r.1).collect();
                self.edf
                    .extract_into(&indices, raw)
                    .map_err(|e| Outcome::Failed(e.to_string()))?;
                let mut sums: Vec<&mut [f64]> = sums.iter_mut().map(Vec::as_mut_slice).collect();
                let mut outputs: Vec<&mut [f32]> =
                    outputs.iter_mut().map(Vec::as_mut_slice).collect();
                for (g, group) in self.rows.chunks(LANES).enumerate() {
                    let fill = |j: usize, x: &mut [f64]| {
                        let row = group[j].0;
                        if !raw.decode_into(g * LANES + j, x) {
                            return Err(failed(&format!("row {row}: decoded length mismatch")));
                        }
                        check_finite(x, row).map_err(|e| failed(&e))?;
                        self.picked.accumulate_interpolated(row, x, &mut sums);
                        Ok(())
                    };
                    plan.run_group(fill, &mut outputs[..group.len()])?;
                    for (&(row, _), y) in group.iter().zip(&outputs) {
                        write_row(writer, row, y, half).map_err(stored)?;
                    }
                    if cancel.load(Ordering::Relaxed) {
                        return Err(Outcome::Cancelled);
                    }
                }
                for (group, xs) in self.interpolated.chunks(LANES).zip(sums.chunks(LANES)) {
                    let fill = |j: usize, x: &mut [f64]| {
                        x.copy_from_slice(xs[j]);
                        check_finite(x, group[j]).map_err(|e| failed(&e))
                    };
                    plan.run_group(fill, &mut outputs[..group.len()])?;
                    for (&row, y) in group.iter().zip(&outputs) {
                        write_row(writer, row, y, half).map_err(stored)?;
                    }
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
    /// The interpolated channels, summed as the rows they come from are read.
    interpolated: Vec<Vec<f64>>,
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
