//! The preprocessing pipeline on a `[C, n]` matrix of physical samples already
//! in montage order: resample -> bandpass -> notch -> per-channel z-score ->
//! optional clip -> f32.
//!
//! Channels run in parallel on the current rayon pool (the caller sizes it),
//! each with f64 state and buffers reused from one channel to the next.

use rayon::prelude::*;

use crate::config::{FilterForm, FilterMode, PreprocessConfig, ResampleMethod};
use crate::dsp::DspError;
use crate::dsp::butter::{Band, butter, iirnotch};
use crate::dsp::filter::{Iir, filtfilt};
use crate::dsp::poly::{PolyResampler, rational_ratio};
use crate::dsp::resample::{self, FftResampler, FftWork};

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

/// Buffers of one worker thread, reused across channels and recordings:
/// allocating them per call cost more in page faults than the filters did.
#[derive(Default)]
struct Work {
    signal: Vec<f64>,
    scratch: Vec<f64>,
    state: Vec<f64>,
    fft: FftWork,
}

thread_local! {
    static WORK: std::cell::RefCell<Work> = std::cell::RefCell::new(Work::default());
}

impl Preprocessor {
    /// Validates `cfg` and designs its filters for input rate `fs_in`.
    ///
    /// # Errors
    /// [`DspError::InvalidParameter`] if `cfg` is invalid or `fs_in` is not positive and finite.
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

    /// Preprocesses `x` (`n_channels` rows of equal length, row-major) into
    /// `out` (`n_channels` rows of [`Self::output_len`] samples).
    ///
    /// A channel whose input is constant has no signal: with z-scoring on, its
    /// output is zeros (not the normalized transient a filter makes of a step).
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
        let n_out = self.output_len(n_in);
        if out.len() != n_channels * n_out {
            return Err(DspError::Shape {
                len: out.len(),
                n_channels,
            });
        }
        if let Some((i, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(DspError::NonFinite {
                channel: i / n_in,
                index: i % n_in,
                value: *v,
            });
        }
        if n_out == 0 {
            return Ok(());
        }
        let fft = matches!(self.resampling, Resampling::Fft { .. })
            .then(|| FftResampler::new(n_in, n_out));
        out.par_chunks_mut(n_out)
            .zip(x.par_chunks(n_in))
            .for_each(|(o, xi)| {
                WORK.with_borrow_mut(|work| self.channel(xi, o, fft.as_ref(), work));
            });
        Ok(())
    }

    fn channel(&self, x: &[f64], out: &mut [f32], fft: Option<&FftResampler>, work: &mut Work) {
        if self.cfg.zscore.is_some() && x.iter().all(|&v| v == x[0]) {
            out.fill(0.0);
            return;
        }
        let Work {
            signal,
            scratch,
            state,
            fft: fft_work,
        } = work;
        signal.resize(out.len(), 0.0);
        match (&self.resampling, fft) {
            (Resampling::Fft { .. }, Some(r)) => r.process(x, signal, fft_work),
            (Resampling::Poly(r), _) => r.process(x, signal, scratch),
            _ => signal.copy_from_slice(x),
        }
        for f in &self.filters {
            match self.cfg.filter_mode {
                FilterMode::Causal => {
                    state.clear();
                    state.resize(f.state_len(), 0.0);
                    f.run(signal, state);
                }
                FilterMode::ZeroPhase => filtfilt(f.as_ref(), signal, None, scratch),
            }
        }
        let (shift, scale) = match &self.cfg.zscore {
            Some(z) => {
                let (mean, std) = mean_std(signal);
                (mean, if std > 0.0 { 1.0 / (std + z.eps) } else { 0.0 })
            }
            None => (0.0, 1.0),
        };
        let clip = self.cfg.clip.map_or(f64::INFINITY, f64::from);
        for (o, &v) in out.iter_mut().zip(signal.iter()) {
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
    let mut out = vec![0.0f32; n_channels * p.output_len(n_in)];
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
