//! One recording, from EDF file to committed store group.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::UNIX_EPOCH;

use crate::config::{Dtype, PreprocessConfig};
use crate::edf::Edf;
use crate::labels::{find_annotation, recording_labels};
use crate::mem;
use crate::montage::{ChannelSource, MontageError, pick};
use crate::preprocess::Preprocessor;
use crate::store::{RecordingMeta, SignalData, Store};

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
    // The [C, n] matrices live in buffers this worker thread reuses: allocating
    // them per recording cost more in page faults than decoding did.
    BUFFERS.with_borrow_mut(|(x, y)| {
        let outcome = (|| {
            // Decode straight into the rows of the [C, n] matrix: no copy.
            reuse(x, n_channels * n_in);
            let mut targets: Vec<&mut [f64]> = x
                .chunks_exact_mut(n_in.max(1))
                .enumerate()
                .filter(|(row, _)| rows.iter().any(|r| r.0 == *row))
                .map(|(_, s)| s)
                .collect();
            let indices: Vec<usize> = rows.iter().map(|r| r.1).collect();
            fail_on!(edf.read_many_into(&indices, &mut targets));
            fail_on!(
                picked
                    .fill_interpolated(x, n_in)
                    .map_err(|e| format!("{}: {e}", src.path.display()))
            );
            if cancel.load(Ordering::Relaxed) {
                return Outcome::Cancelled;
            }

            let pre = fail_on!(
                Preprocessor::new(cfg, fs_in).map_err(|e| format!("{}: {e}", src.path.display()))
            );
            let fs = pre.fs_out();
            let n = pre.output_len(n_in);
            reuse(y, n_channels * n);
            fail_on!(
                pre.run_into(x, n_channels, y)
                    .map_err(|e| format!("{}: {e}", src.path.display()))
            );
            if cancel.load(Ordering::Relaxed) {
                return Outcome::Cancelled;
            }

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
            let written = match cfg.dtype {
                Dtype::Float32 => {
                    store.write_recording(&src.rid, &meta, SignalData::F32(y), &label)
                }
                Dtype::Float16 => {
                    let half: Vec<u16> = y
                        .iter()
                        .map(|&v| half::f16::from_f32(v).to_bits())
                        .collect();
                    store.write_recording(&src.rid, &meta, SignalData::F16(&half), &label)
                }
            };
            fail_on!(written);
            Outcome::Ingested
        })();
        // Not kept for the next recording when outsized.
        if x.capacity() > KEEP_SAMPLES {
            (*x, *y) = (Vec::new(), Vec::new());
        }
        outcome
    })
}

/// Largest input (f64 samples) whose buffers a worker keeps between recordings: 256 MB.
const KEEP_SAMPLES: usize = 32 << 20;

thread_local! {
    /// The `[C, n]` input and output matrices of this worker's recordings.
    static BUFFERS: std::cell::RefCell<(Vec<f64>, Vec<f32>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
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
