//! FFT resampling with `scipy.signal.resample(x, num)` semantics: the real
//! spectrum is truncated or zero-padded to `num` samples, the unpaired bin at
//! `m / 2` (m = min(n, num), even) doubled when downsampling and halved when
//! upsampling, so that the signal is periodic and band-limited.

use std::sync::{Arc, Mutex};

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex64;

/// Output length of FFT resampling from `fs_in` to `fs_out`: `round(n * fs_out / fs_in)`
/// (ties to even, as Python's `round`).
pub fn output_len(n_in: usize, fs_in: f64, fs_out: f64) -> usize {
    (n_in as f64 * fs_out / fs_in).round_ties_even() as usize
}

/// How many (n_in, n_out) plans are kept, most recently used last.
pub const PLAN_CACHE: usize = 4;

static CACHE: Mutex<Vec<FftResampler>> = Mutex::new(Vec::new());

/// Planned FFT resampling from `n_in` to `n_out` samples; plans are made once
/// and shared by every thread (each brings its own [`FftWork`]).
#[derive(Clone)]
pub struct FftResampler {
    n_in: usize,
    n_out: usize,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
}

/// Per-thread buffers of an [`FftResampler`], reused across channels.
#[derive(Default)]
pub struct FftWork {
    spectrum: Vec<Complex64>,
    scratch: Vec<Complex64>,
}

impl std::fmt::Debug for FftResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FftResampler")
            .field("n_in", &self.n_in)
            .field("n_out", &self.n_out)
            .finish()
    }
}

impl FftResampler {
    /// Plans the forward FFT of `n_in` and the inverse FFT of `n_out` samples,
    /// or reuses one of the last [`PLAN_CACHE`] plans (planning a long FFT
    /// costs several of its runs; scipy's pocketfft keeps a cache too).
    pub fn new(n_in: usize, n_out: usize) -> Self {
        if n_in.max(n_out) > crate::mem::KEEP_SAMPLES {
            return Self::plan(n_in, n_out); // too large to keep alive for a next call
        }
        // ok: a poisoned lock only means another thread panicked mid-update;
        // the cache holds complete entries either way.
        let mut cache = CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(hit) = cache
            .iter()
            .position(|r| (r.n_in, r.n_out) == (n_in, n_out))
        {
            let r = cache.remove(hit);
            cache.push(r.clone());
            return r;
        }
        let r = Self::plan(n_in, n_out);
        if cache.len() == PLAN_CACHE {
            cache.remove(0);
        }
        cache.push(r.clone());
        r
    }

    /// Plans without the cache: for a length that will not come again (one
    /// recording of a corpus), whose plan the cache would only keep alive.
    pub fn plan(n_in: usize, n_out: usize) -> Self {
        // A fresh planner each time: its own cache would keep every length ever seen.
        let mut planner = RealFftPlanner::<f64>::new();
        Self {
            n_in,
            n_out,
            forward: planner.plan_fft_forward(n_in),
            inverse: planner.plan_fft_inverse(n_out),
        }
    }

    /// Number of input samples.
    pub fn n_in(&self) -> usize {
        self.n_in
    }

    /// Number of output samples.
    pub fn n_out(&self) -> usize {
        self.n_out
    }

    /// Resamples `x` (`n_in` samples) into `out` (`n_out` samples); other
    /// lengths leave `out` untouched: callers size both from this plan.
    /// `x` is the forward FFT's scratch: its contents are lost.
    pub fn process(&self, x: &mut [f64], out: &mut [f64], work: &mut FftWork) {
        let (n, num) = (self.n_in, self.n_out);
        if x.len() != n || out.len() != num || n == 0 || num == 0 {
            return;
        }
        let FftWork { spectrum, scratch } = work;
        // One buffer for both spectra: the input's is cut or padded in place
        // into the output's.
        spectrum.clear();
        spectrum.reserve(n.max(num) / 2 + 1);
        spectrum.resize(n / 2 + 1, Complex64::ZERO);
        let scratch_len = self
            .forward
            .get_scratch_len()
            .max(self.inverse.get_scratch_len());
        scratch.resize(scratch_len, Complex64::ZERO);
        // ok: lengths were set from the plans just above, the only error realfft reports.
        let _ = self.forward.process_with_scratch(x, spectrum, scratch);

        let m = n.min(num);
        let kept = m / 2 + 1;
        // scipy divides by n / num before an inverse that divides by num: 1 / n in all.
        let scale = 1.0 / n as f64;
        spectrum.truncate(kept);
        for c in spectrum.iter_mut() {
            *c *= scale;
        }
        spectrum.resize(num / 2 + 1, Complex64::ZERO);
        if m % 2 == 0 && num != n {
            spectrum[m / 2] *= if num < n { 2.0 } else { 0.5 };
        }
        // The inverse of a real signal reads no imaginary part at DC or Nyquist.
        spectrum[0].im = 0.0;
        if num % 2 == 0 {
            spectrum[num / 2].im = 0.0;
        }
        // ok: as above, every buffer matches the plan's length.
        let _ = self.inverse.process_with_scratch(spectrum, out, scratch);
    }
}

/// Resamples `x` to `num` samples (`scipy.signal.resample(x, num)`).
pub fn resample(x: &[f64], num: usize) -> Vec<f64> {
    let mut out = vec![0.0; num];
    FftResampler::new(x.len(), num).process(&mut x.to_vec(), &mut out, &mut FftWork::default());
    out
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;

    fn sine(n: usize, cycles: f64, phase: f64) -> Vec<f64> {
        (0..n)
            .map(|i| (2.0 * PI * cycles * i as f64 / n as f64 + phase).sin())
            .collect()
    }

    #[test]
    fn band_limited_periodic_sine_is_exact() {
        // A whole number of cycles below both Nyquists: resampling is exact.
        for (n, num) in [
            (250, 256),
            (256, 250),
            (1000, 256),
            (201, 256),
            (256, 1000),
            (255, 254),
        ] {
            let y = resample(&sine(n, 7.0, 0.3), num);
            let want = sine(num, 7.0, 0.3);
            for (a, b) in y.iter().zip(&want) {
                assert!((a - b).abs() < 1e-12, "{n}->{num}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn nyquist_bin_is_split_when_upsampling() {
        // An alternating signal sits on the unpaired Nyquist bin; upsampled by 2,
        // that bin is split into a conjugate pair: cos(pi i / 2), unit amplitude.
        let x: Vec<f64> = (0..8)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let y = resample(&x, 16);
        for (i, v) in y.iter().enumerate() {
            assert!((v - (PI * i as f64 / 2.0).cos()).abs() < 1e-12, "{i}: {v}");
        }
    }

    #[test]
    fn lengths_round_like_python() {
        assert_eq!(output_len(250 * 3600, 250.0, 256.0), 256 * 3600);
        assert_eq!(output_len(1001, 1000.0, 256.0), 256);
        assert_eq!(output_len(5, 2.0, 1.0), 2);
        assert!(resample(&[], 0).is_empty());
        assert_eq!(resample(&[3.0], 1), vec![3.0]);
    }
}
