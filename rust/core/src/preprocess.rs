//! The preprocessing pipeline on channels of physical samples already in
//! montage order: resample -> bandpass -> notch -> per-channel z-score ->
//! optional clip -> f32.
//!
//! Channels go through in groups of [`LANES`]: each is resampled on its own,
//! then the group runs through the causal filters in lockstep, one channel per
//! SIMD lane, block by block so that each block passes every filter while it
//! is in cache. State is f64 throughout; buffers are reused per thread.

use rayon::prelude::*;

use crate::config::{FilterForm, FilterMode, PreprocessConfig, ResampleMethod};
use crate::dsp::DspError;
use crate::dsp::butter::{Band, butter, iirnotch};
use crate::dsp::filter::{Iir, LANES, Lanes, filtfilt};
use crate::dsp::poly::{PolyResampler, rational_ratio};
use crate::dsp::resample::{self, FftResampler, FftWork};

/// Samples per block of the lockstep filters: 32 KiB of lanes, in L1/L2.
const BLOCK: usize = 1024;

/// A validated config bound to an input sampling rate: filters designed and
/// the polyphase prototype built once, reusable for every recording at that rate.
pub struct Preprocessor {
    cfg: PreprocessConfig,
    fs_out: f64,
    resampling: Resampling,
    filters: Vec<Box<dyn Iir + Send + Sync>>,
}

enum Resampling {
    None,
    Fft { fs_in: f64 },
    Poly(PolyResampler),
}

/// A [`Preprocessor`] bound to one input length: the FFT is planned once for
/// every channel of a recording (a shared plan cache could evict it between
/// groups when many recordings of different lengths run at once).
pub struct Plan<'a> {
    pre: &'a Preprocessor,
    n_in: usize,
    n_out: usize,
    fft: Option<FftResampler>,
}

/// Buffers of one worker thread, reused across groups and recordings:
/// allocating them per call cost more in page faults than the filters did.
#[derive(Default)]
struct Work {
    /// The input of the channel being resampled (the FFT uses it as scratch).
    input: Vec<f64>,
    /// One resampled, filtered f64 signal per lane.
    signals: Vec<Vec<f64>>,
    scratch: Vec<f64>,
    state: Vec<Lanes>,
    fft: FftWork,
}

thread_local! {
    static WORK: std::cell::RefCell<Work> = std::cell::RefCell::new(Work::default());
}

impl Preprocessor {
    /// Validates `cfg` and designs its filters for input rate `fs_in`.
    ///
    /// # Errors
    /// [`DspError::InvalidConfig`] if `cfg` is invalid, [`DspError::InvalidParameter`]
    /// if `fs_in` is not positive and finite.
    pub fn new(cfg: &PreprocessConfig, fs_in: f64) -> Result<Self, DspError> {
        cfg.validate()?;
        if !(fs_in > 0.0 && fs_in.is_finite()) {
            return Err(DspError::invalid(
                "input sampling rate",
                fs_in,
                "must be positive and finite",
            ));
        }
        let target = cfg.target_fs;
        let (resampling, fs_out) = match cfg.resample {
            _ if fs_in == target => (Resampling::None, target),
            ResampleMethod::Fft => (Resampling::Fft { fs_in }, target),
            ResampleMethod::Poly => {
                let (up, down) = rational_ratio(fs_in, target)?;
                let r = PolyResampler::new(up, down, 5.0)?;
                let (up, down) = r.ratio();
                if up == down {
                    (Resampling::None, fs_in)
                } else {
                    (Resampling::Poly(r), fs_in * up as f64 / down as f64)
                }
            }
        };
        let mut filters: Vec<Box<dyn Iir + Send + Sync>> = Vec::new();
        if let Some(bp) = &cfg.bandpass {
            let zpk = butter(bp.order, Band::Bandpass(bp.low, bp.high), fs_out)?;
            match bp.form {
                FilterForm::Ba => filters.push(Box::new(zpk.to_ba())),
                FilterForm::Sos => filters.push(Box::new(zpk.to_sos()?)),
            }
        }
        if let Some(n) = &cfg.notch {
            filters.push(Box::new(iirnotch(n.freq, n.q, fs_out)?));
        }
        Ok(Self {
            cfg: cfg.clone(),
            fs_out,
            resampling,
            filters,
        })
    }

    /// Sampling rate of the output: `target_fs`, or for polyphase resampling
    /// `fs_in * up / down` (equal to it unless the ratio had to be approximated).
    pub fn fs_out(&self) -> f64 {
        self.fs_out
    }

    /// Samples per channel of the output for `n_in` input samples.
    pub fn output_len(&self, n_in: usize) -> usize {
        match &self.resampling {
            Resampling::None => n_in,
            Resampling::Fft { fs_in } => resample::output_len(n_in, *fs_in, self.cfg.target_fs),
            Resampling::Poly(r) => r.output_len(n_in),
        }
    }

    /// Binds this preprocessor to channels of `n_in` samples, planning the FFT
    /// afresh (for one recording; [`Preprocessor::run_into`] uses the plan cache).
    pub fn plan(&self, n_in: usize) -> Plan<'_> {
        self.plan_with(n_in, FftResampler::plan)
    }

    fn plan_with(&self, n_in: usize, fft: fn(usize, usize) -> FftResampler) -> Plan<'_> {
        let n_out = self.output_len(n_in);
        let fft = (matches!(self.resampling, Resampling::Fft { .. }) && n_in > 0 && n_out > 0)
            .then(|| fft(n_in, n_out));
        Plan {
            pre: self,
            n_in,
            n_out,
            fft,
        }
    }

    /// Preprocesses `x` (`n_channels` rows of equal length, row-major) into
    /// `out` (`n_channels` rows of [`Self::output_len`] samples), groups of
    /// channels in parallel on the current rayon pool.
    ///
    /// # Errors
    /// [`DspError::Shape`] if `x` or `out` does not have the expected length,
    /// [`DspError::NonFinite`] naming the first NaN or infinite input sample.
    pub fn run_into(&self, x: &[f64], n_channels: usize, out: &mut [f32]) -> Result<(), DspError> {
        if n_channels == 0 || !x.len().is_multiple_of(n_channels) {
            return if x.is_empty() && out.is_empty() {
                Ok(())
            } else {
                Err(DspError::Shape {
                    len: x.len(),
                    n_channels,
                })
            };
        }
        let n_in = x.len() / n_channels;
        let plan = self.plan_with(n_in, FftResampler::new);
        let n_out = plan.n_out();
        if out.len() != n_channels * n_out {
            return Err(DspError::Shape {
                len: out.len(),
                n_channels,
            });
        }
        for (c, row) in x.chunks_exact(n_in.max(1)).enumerate() {
            check_finite(row, c)?;
        }
        if n_out == 0 {
            return Ok(());
        }
        out.par_chunks_mut(LANES * n_out)
            .zip(x.par_chunks(LANES * n_in.max(1)))
            .for_each(|(o, xs)| {
                let inputs: Vec<&[f64]> = xs.chunks_exact(n_in).collect();
                let mut outputs: Vec<&mut [f32]> = o.chunks_exact_mut(n_out).collect();
                let copy = |k: usize, x: &mut [f64]| {
                    x.copy_from_slice(inputs[k]);
                    Ok::<(), std::convert::Infallible>(())
                };
                let _ = plan.run_group(copy, &mut outputs);
            });
        if n_in.max(n_out) > crate::mem::KEEP_SAMPLES {
            // Groups ran on the pool's threads, and on this one when rayon did
            // not split the work.
            release_buffers();
            rayon::broadcast(|_| release_buffers());
        }
        Ok(())
    }
}

/// Frees this thread's work buffers (kept from call to call to save page
/// faults): for after a recording longer than [`crate::mem::KEEP_SAMPLES`].
pub fn release_buffers() {
    WORK.with_borrow_mut(|work| *work = Work::default());
}

/// [`DspError::NonFinite`] naming the first NaN or infinite sample of `x`,
/// the samples of montage channel `channel`.
///
/// # Errors
/// As described.
pub fn check_finite(x: &[f64], channel: usize) -> Result<(), DspError> {
    // Whole blocks tested without a branch per sample (the loop vectorizes);
    // only a block that fails is searched.
    for (b, block) in x.chunks(256).enumerate() {
        if !block.iter().fold(true, |ok, v| ok & v.is_finite())
            && let Some(i) = block.iter().position(|v| !v.is_finite())
        {
            return Err(DspError::NonFinite {
                channel,
                index: b * 256 + i,
                value: block[i],
            });
        }
    }
    Ok(())
}

impl Plan<'_> {
    /// Samples per input channel.
    pub fn n_in(&self) -> usize {
        self.n_in
    }

    /// Samples per output channel.
    pub fn n_out(&self) -> usize {
        self.n_out
    }

    /// Preprocesses `outputs.len()` channels, at most [`LANES`]: `fill(k, x)`
    /// writes channel `k`'s input (all `n_in` samples, finite) into `x`, straight
    /// into the buffer the resampling reads (no copy of a group's inputs is
    /// held); the output goes to `outputs[k]` (`n_out` samples). Outputs of
    /// another length are left untouched: callers size them from this plan.
    ///
    /// A channel whose input is constant has no signal: with z-scoring on, its
    /// output is zeros (not the normalized transient a filter makes of a step).
    ///
    /// # Errors
    /// The first error of `fill`; its group is then not finished.
    pub fn run_group<E>(
        &self,
        mut fill: impl FnMut(usize, &mut [f64]) -> Result<(), E>,
        outputs: &mut [&mut [f32]],
    ) -> Result<(), E> {
        let (n_in, n_out) = (self.n_in, self.n_out);
        let g = outputs.len().min(LANES);
        if outputs[..g].iter().any(|o| o.len() != n_out) {
            return Ok(());
        }
        WORK.with_borrow_mut(|work| {
            let pre = self.pre;
            let Work {
                input,
                signals,
                scratch,
                state,
                fft,
            } = work;
            let mut constant = [false; LANES];
            signals.resize_with(LANES, Vec::new);
            for (k, signal) in signals.iter_mut().enumerate() {
                // Every sample is written below (no zeroing pass first).
                signal.resize(n_out, 0.0);
                if k >= g {
                    signal.fill(0.0); // an idle lane: zeros, which the filters keep at zero
                    continue;
                }
                // Without resampling the input is the signal: filled in place.
                let direct = matches!(pre.resampling, Resampling::None);
                let x = if direct {
                    signal.as_mut_slice()
                } else {
                    input.resize(n_in, 0.0);
                    input.as_mut_slice()
                };
                fill(k, x)?;
                constant[k] = pre.cfg.zscore.is_some() && x.iter().all(|&v| v == x[0]);
                if constant[k] {
                    signal.fill(0.0);
                    continue;
                }
                match (&pre.resampling, &self.fft) {
                    (Resampling::Fft { .. }, Some(r)) => r.process(input, signal, fft),
                    (Resampling::Poly(r), _) => r.process(input, signal, scratch),
                    _ => {}
                }
            }
            match pre.cfg.filter_mode {
                FilterMode::Causal => pre.filter_lanes(signals, state),
                FilterMode::ZeroPhase => {
                    for signal in &mut signals[..g] {
                        for f in &pre.filters {
                            filtfilt(f.as_ref(), signal, None, scratch);
                        }
                    }
                }
            }
            for k in 0..g {
                pre.finish(&signals[k], constant[k], outputs[k]);
            }
            Ok(())
        })
    }
}

impl Preprocessor {
    /// Every filter, causally, on the [`LANES`] signals in lockstep, from zero state.
    fn filter_lanes(&self, signals: &mut [Vec<f64>], state: &mut Vec<Lanes>) {
        if self.filters.is_empty() {
            return;
        }
        let lens: Vec<usize> = self.filters.iter().map(|f| f.state_len()).collect();
        state.clear();
        state.resize(lens.iter().sum(), [0.0; LANES]);
        let n = signals.first().map_or(0, Vec::len);
        let mut block = [[0.0; LANES]; BLOCK];
        for start in (0..n).step_by(BLOCK) {
            let len = BLOCK.min(n - start);
            let block = &mut block[..len];
            for (k, s) in signals.iter().enumerate() {
                for (lanes, &v) in block.iter_mut().zip(&s[start..start + len]) {
                    lanes[k] = v;
                }
            }
            let mut rest = state.as_mut_slice();
            for (f, &len) in self.filters.iter().zip(&lens) {
                let (z, tail) = rest.split_at_mut(len);
                f.run_lanes(block, z);
                rest = tail;
            }
            for (k, s) in signals.iter_mut().enumerate() {
                for (lanes, v) in block.iter().zip(&mut s[start..start + len]) {
                    *v = lanes[k];
                }
            }
        }
    }

    /// z-score, clip and convert one filtered signal.
    fn finish(&self, signal: &[f64], constant: bool, out: &mut [f32]) {
        if constant {
            out.fill(0.0);
            return;
        }
        let (shift, scale) = match &self.cfg.zscore {
            Some(z) => {
                let (mean, std) = mean_std(signal);
                (mean, if std > 0.0 { 1.0 / (std + z.eps) } else { 0.0 })
            }
            None => (0.0, 1.0),
        };
        let clip = self.cfg.clip.map_or(f64::INFINITY, f64::from);
        for (o, &v) in out.iter_mut().zip(signal) {
            *o = ((v - shift) * scale).clamp(-clip, clip) as f32;
        }
    }
}

/// Mean and population standard deviation, two passes (numpy's `std`), four
/// partial sums each so that the loops vectorize.
fn mean_std(x: &[f64]) -> (f64, f64) {
    let sum4 = |f: &dyn Fn(f64) -> f64| {
        let mut acc = [0.0; 4];
        let chunks = x.chunks_exact(4);
        let tail: f64 = chunks.remainder().iter().map(|&v| f(v)).sum();
        for c in chunks {
            for k in 0..4 {
                acc[k] += f(c[k]);
            }
        }
        (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
    };
    let n = x.len().max(1) as f64;
    let mean = sum4(&|v| v) / n;
    let var = sum4(&|v| (v - mean) * (v - mean)) / n;
    (mean, var.sqrt())
}

/// Preprocesses `x` (`n_channels` rows at `fs` Hz, physical units, montage
/// order) with `cfg`; returns the `[C, n_out]` f32 matrix and its sampling rate.
///
/// # Errors
/// As [`Preprocessor::new`] and [`Preprocessor::run_into`].
pub fn preprocess(
    x: &[f64],
    n_channels: usize,
    fs: f64,
    cfg: &PreprocessConfig,
) -> crate::Result<(Vec<f32>, f64)> {
    let p = Preprocessor::new(cfg, fs)?;
    let n_in = x.len().checked_div(n_channels).unwrap_or(0);
    // Huge pages: 4 KiB page faults on a fresh output cost more than z-scoring it.
    let mut out = crate::mem::zeroed(n_channels * p.output_len(n_in));
    p.run_into(x, n_channels, &mut out)?;
    Ok((out, p.fs_out()))
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;

    fn eeg_like(n_channels: usize, n: usize, fs: f64) -> Vec<f64> {
        (0..n_channels * n)
            .map(|i| {
                let (c, t) = ((i / n) as f64, (i % n) as f64 / fs);
                50.0 * (2.0 * PI * 10.0 * t + c).sin()
                    + 20.0 * (2.0 * PI * 60.0 * t).sin()
                    + 5.0 * (2.0 * PI * 1.3 * t * (c + 1.0)).cos()
                    + 100.0
            })
            .collect()
    }

    #[test]
    fn output_is_zscored_at_the_target_rate() {
        let fs = 250.0;
        let x = eeg_like(3, 2500, fs);
        for mode in [FilterMode::Causal, FilterMode::ZeroPhase] {
            for method in [ResampleMethod::Fft, ResampleMethod::Poly] {
                let cfg = PreprocessConfig {
                    filter_mode: mode,
                    resample: method,
                    ..Default::default()
                };
                let (y, fs_out) = preprocess(&x, 3, fs, &cfg).unwrap();
                assert_eq!((y.len(), fs_out), (3 * 2560, 256.0));
                for row in y.chunks(2560) {
                    let row: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
                    let (m, s) = mean_std(&row);
                    assert!(
                        m.abs() < 1e-6 && (s - 1.0).abs() < 1e-5,
                        "{mode:?} {method:?}: {m} {s}"
                    );
                }
            }
        }
    }

    #[test]
    fn constant_channels_and_short_recordings_give_finite_output() {
        let cfg = PreprocessConfig {
            filter_mode: FilterMode::ZeroPhase,
            clip: Some(3.0),
            ..Default::default()
        };
        for n in [0, 1, 2, 5, 20, 39] {
            let mut x = eeg_like(2, n, 400.0);
            x[n..].fill(7.0);
            let (y, _) = preprocess(&x, 2, 400.0, &cfg).unwrap();
            let n_out = y.len() / 2;
            assert!(y.iter().all(|v| v.is_finite() && v.abs() <= 3.0));
            assert!(y[n_out..].iter().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn a_group_with_no_output_sample_is_a_no_op() {
        // 1 sample at 1000 Hz is 0 samples at 256 Hz: nothing to plan or write.
        let pre = Preprocessor::new(&PreprocessConfig::default(), 1000.0).unwrap();
        let plan = pre.plan(1);
        assert_eq!((plan.n_in(), plan.n_out()), (1, 0));
        let mut out: [f32; 0] = [];
        let fill = |_: usize, x: &mut [f64]| {
            x.copy_from_slice(&[5.0]);
            Ok::<(), ()>(())
        };
        assert_eq!(plan.run_group(fill, &mut [&mut out[..]]), Ok(()));
    }

    #[test]
    fn bad_input_is_reported() {
        let cfg = PreprocessConfig::default();
        let mut x = eeg_like(2, 100, 256.0);
        assert!(matches!(
            preprocess(&x, 3, 256.0, &cfg),
            Err(crate::Error::Dsp(DspError::Shape { .. }))
        ));
        x[150] = f64::NAN;
        let e = preprocess(&x, 2, 256.0, &cfg).unwrap_err().to_string();
        assert!(e.contains("channel 1 at index 50"), "{e}");
        assert!(preprocess(&x, 2, 0.0, &cfg).is_err());
    }
}
