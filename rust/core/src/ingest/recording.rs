//! One recording, from EDF file to committed store group.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::UNIX_EPOCH;

use crate::config::{Dtype, PreprocessConfig};
use crate::dsp::filter::LANES;
use crate::edf::{Edf, RawSignals};
use crate::labels::{find_annotation, recording_labels};
use crate::mem;
use crate::montage::{ChannelSource, MontageError, pick};
use crate::preprocess::{Preprocessor, check_finite};
use crate::store::{RecordingMeta, RecordingWriter, SignalData, Store, StoreError};

use super::discover::SourceFile;

/// What became of one recording.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Committed to the store.
    Ingested,
    /// Left out for a documented reason (channels the montage needs are missing).
    Skipped(String),
    /// The file or its annotation is broken; the reason names the file and the problem.
    Failed(String),
    /// Ctrl-C arrived before it was committed.
    Cancelled,
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

macro_rules! fail_on {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Outcome::Failed(e.to_string()),
        }
    };
}

/// Reads, montages, preprocesses and labels `src`, then commits it to `store`.
/// Checks `cancel` between stages so Ctrl-C never waits for more than one stage.
pub(crate) fn ingest_one(
    src: &SourceFile,
    cfg: &PreprocessConfig,
    config_hash: &str,
    store: &Store,
    cancel: &AtomicBool,
) -> Outcome {
    let (size, mtime_ns) =
        fail_on!(fingerprint(&src.path).map_err(|e| format!("{}: {e}", src.path.display())));
    let edf = fail_on!(Edf::open(&src.path));
    // The reader tolerates a truncated file (complete records stay readable),
    // but a cache built from part of a recording must not pass unnoticed.
    let declared = edf.header().declared_records;
    if declared > edf.n_records() as i64 {
        return Outcome::Failed(format!(
            "{}: truncated: the header declares {declared} records, the file holds {} complete ones",
            src.path.display(),
            edf.n_records()
        ));
    }
    let labels: Vec<&str> = edf.signals().map(|s| s.label.as_str()).collect();
    let picked = match pick(&labels, &cfg.montage) {
        Ok(p) => p,
        Err(e @ MontageError::MissingChannels(_)) => {
            return Outcome::Skipped(format!("{}: {e}", src.path.display()));
        }
        Err(e) => return Outcome::Failed(format!("{}: {e}", src.path.display())),
    };
    // (output row, EDF signal) of the channels read from the file; the others are interpolated.
    let rows: Vec<(usize, usize)> = picked
        .sources()
        .iter()
        .enumerate()
        .filter_map(|(row, s)| match s {
            ChannelSource::Label(i) => Some((row, *i)),
            ChannelSource::Interpolate => None,
        })
        .collect();
    // The montage channels must share one rate: they become one matrix.
    let rates: Vec<f64> = fail_on!(
        rows.iter()
            .map(|&(_, i)| edf.sample_rate(i))
            .collect::<Result<_, _>>()
    );
    let fs_in = rates.first().copied().unwrap_or(0.0);
    if rates.iter().any(|&r| r != fs_in) {
        let mut distinct: Vec<String> = rates.iter().map(|r| format!("{r}")).collect();
        distinct.dedup();
        return Outcome::Failed(format!(
            "{}: montage channels at different sample rates ({} Hz)",
            src.path.display(),
            distinct.join(", ")
        ));
    }
    let n_channels = picked.channels().len();
    let n_in = edf.n_samples(rows.first().map_or(0, |r| r.1)).unwrap_or(0);
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", src.path.display());
    let pre = fail_on!(Preprocessor::new(cfg, fs_in).map_err(|e| at(&e)));
    let plan = pre.plan(n_in);
    let (fs, n) = (pre.fs_out(), plan.n_out());

    let annotation = find_annotation(&src.path, &cfg.labels);
    let label = fail_on!(recording_labels(annotation.as_deref(), n, fs, &cfg.labels));
    // The annotation lies beside the EDF: its relative path is the EDF's with its name.
    let rel_annotation = annotation.as_ref().and_then(|a| a.file_name()).map(|name| {
        Path::new(&src.rel)
            .with_file_name(name)
            .to_string_lossy()
            .into_owned()
    });
    let meta = RecordingMeta {
        source: src.rel.clone(),
        size,
        mtime_ns,
        config_hash: config_hash.to_owned(),
        fs_in,
        n_in: n_in as u64,
        fs,
        n_samples: n as u64,
        n_channels: n_channels as u64,
        split: src.split.clone(),
        patient: src.patient.clone(),
        session: src.session.clone(),
        montage: src.montage.clone(),
        labeled: rel_annotation.is_some(),
        annotation: rel_annotation,
        warnings: edf.warnings().to_vec(),
        interpolated: picked.interpolated().map(str::to_owned).collect(),
    };
    let mut writer = fail_on!(store.begin_recording(&src.rid, &meta, cfg.dtype));
    let interpolated: Vec<usize> = (0..n_channels)
        .filter(|&row| rows.iter().all(|r| r.0 != row))
        .collect();

    // A group of LANES channels at a time, decoded, preprocessed and written
    // before the next: a worker holds a few channels, never the [C, n] matrix.
    // Rows read from the file come first, in order; each adds its share to the
    // interpolated rows, which go last.
    BUFFERS.with_borrow_mut(|b| {
        let outcome = (|| {
            reuse_rows(&mut b.outputs, LANES, n);
            reuse_rows(&mut b.interpolated, interpolated.len(), n_in);
            let Buffers {
                raw,
                outputs,
                interpolated: sums,
                half,
            } = b;
            // One pass over the file for every channel, kept as raw samples;
            // each is decoded when its group needs it.
            let indices: Vec<usize> = rows.iter().map(|r| r.1).collect();
            fail_on!(edf.extract_into(&indices, raw));
            let mut sums: Vec<&mut [f64]> = sums.iter_mut().map(Vec::as_mut_slice).collect();
            let mut outputs: Vec<&mut [f32]> = outputs.iter_mut().map(Vec::as_mut_slice).collect();
            for (g, group) in rows.chunks(LANES).enumerate() {
                let fill = |j: usize, x: &mut [f64]| {
                    let row = group[j].0;
                    if !raw.decode_into(g * LANES + j, x) {
                        return Err(at(&format!("row {row}: decoded length mismatch")));
                    }
                    check_finite(x, row).map_err(|e| at(&e))?;
                    picked.accumulate_interpolated(row, x, &mut sums);
                    Ok(())
                };
                fail_on!(plan.run_group(fill, &mut outputs[..group.len()]));
                for (&(row, _), y) in group.iter().zip(&outputs) {
                    fail_on!(write_row(&mut writer, row, y, half));
                }
                if cancel.load(Ordering::Relaxed) {
                    return Outcome::Cancelled;
                }
            }
            for (group, xs) in interpolated.chunks(LANES).zip(sums.chunks(LANES)) {
                let fill = |j: usize, x: &mut [f64]| {
                    x.copy_from_slice(xs[j]);
                    check_finite(x, group[j]).map_err(|e| at(&e))
                };
                fail_on!(plan.run_group(fill, &mut outputs[..group.len()]));
                for (&row, y) in group.iter().zip(&outputs) {
                    fail_on!(write_row(&mut writer, row, y, half));
                }
            }
            if cancel.load(Ordering::Relaxed) {
                return Outcome::Cancelled;
            }
            fail_on!(writer.commit(&label));
            Outcome::Ingested
        })();
        // Not kept for the next recording when outsized.
        if n_in > KEEP_SAMPLES {
            *b = Buffers::default();
        }
        outcome
    })
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

/// Largest input (f64 samples per channel) whose buffers a worker keeps between recordings.
const KEEP_SAMPLES: usize = 4 << 20;

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
