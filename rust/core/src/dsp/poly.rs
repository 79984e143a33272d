//! Polyphase resampling with `scipy.signal.resample_poly(x, up, down)`
//! semantics: Kaiser-windowed sinc (beta 5, 10 zero crossings per side at the
//! lower of the two rates), zero padding, output length `ceil(n * up / down)`.

use super::DspError;
use super::firwin::firwin_kaiser;

/// Largest `up` or `down` accepted when approximating a rate ratio.
pub const MAX_RATIO_TERM: u64 = 10_000;

/// A polyphase resampler by the rational factor `up / down`.
#[derive(Debug, Clone)]
pub struct PolyResampler {
    up: usize,
    down: usize,
    /// `10 * max(up, down)`: the filter's half length, also the group delay removed.
    half_len: usize,
    /// Taps per phase.
    taps: usize,
    /// Phase `j` (taps `j, j + up, ...` of the prototype) reversed, so that an
    /// output is a forward dot product with a contiguous run of input samples.
    phases: Vec<f64>,
}

impl PolyResampler {
    /// Resampler by `up / down` (reduced by their gcd) with a Kaiser window of shape `beta`.
    ///
    /// # Errors
    /// [`DspError::InvalidParameter`] if `up` or `down` is 0 or `beta` is invalid.
    pub fn new(up: usize, down: usize, beta: f64) -> Result<Self, DspError> {
        if up == 0 || down == 0 {
            return Err(DspError::invalid(
                "up/down",
                format!("{up}/{down}"),
                "must both be at least 1",
            ));
        }
        let g = gcd(up as u64, down as u64) as usize;
        let (up, down) = (up / g, down / g);
        let max_rate = up.max(down);
        let half_len = 10 * max_rate;
        let h = if max_rate == 1 {
            vec![1.0]
        } else {
            firwin_kaiser(2 * half_len + 1, 1.0 / max_rate as f64, beta)?
        };
        let taps = h.len().div_ceil(up);
        let mut phases = vec![0.0; up * taps];
        for (j, c) in h.iter().enumerate() {
            phases[(j % up) * taps + taps - 1 - j / up] = c * up as f64;
        }
        Ok(Self {
            up,
            down,
            half_len: if max_rate == 1 { 0 } else { half_len },
            taps,
            phases,
        })
    }

    /// The reduced factors `(up, down)`.
    pub fn ratio(&self) -> (usize, usize) {
        (self.up, self.down)
    }

    /// Output length for `n_in` input samples: `ceil(n_in * up / down)`.
    pub fn output_len(&self, n_in: usize) -> usize {
        (n_in * self.up).div_ceil(self.down)
    }

    /// Resamples `x` into `out` (of [`Self::output_len`] samples), using
    /// `scratch` for the zero-padded input.
    pub fn process(&self, x: &[f64], out: &mut [f64], scratch: &mut Vec<f64>) {
        // Zeros before and after the input: scipy's upfirdn pads with zeros.
        let pad = self.taps;
        let newest = |i: usize| (self.half_len + i * self.down) / self.up;
        let len = (x.len() + pad).max(out.len().checked_sub(1).map_or(0, |i| newest(i) + pad + 1));
        scratch.clear();
        scratch.resize(pad, 0.0);
        scratch.extend_from_slice(x);
        scratch.resize(len, 0.0);
        for (i, y) in out.iter_mut().enumerate() {
            // Output i sits at position t of the upsampled signal: its newest
            // input sample is t / up, its phase t % up.
            let t = self.half_len + i * self.down;
            let j = t % self.up;
            let start = newest(i) + pad + 1 - self.taps;
            *y = dot(
                &self.phases[j * self.taps..(j + 1) * self.taps],
                &scratch[start..start + self.taps],
            );
        }
    }
}

/// Dot product with four partial sums, so that the compiler can vectorize it.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Resamples `x` by `up / down` (`scipy.signal.resample_poly(x, up, down)`).
///
/// # Errors
/// As [`PolyResampler::new`].
pub fn resample_poly(x: &[f64], up: usize, down: usize) -> Result<Vec<f64>, DspError> {
    let r = PolyResampler::new(up, down, 5.0)?;
    let mut out = vec![0.0; r.output_len(x.len())];
    r.process(x, &mut out, &mut Vec::new());
    Ok(out)
}

/// `(up, down)` with `up / down` the continued-fraction approximation of
/// `fs_out / fs_in` closest to it with both terms at most [`MAX_RATIO_TERM`]:
/// exact for rates such as 256/250 = 128/125 or 256/250.3 = 2560/2503.
///
/// # Errors
/// [`DspError::InvalidParameter`] if a rate is not positive and finite.
pub fn rational_ratio(fs_in: f64, fs_out: f64) -> Result<(usize, usize), DspError> {
    for (name, fs) in [
        ("input sampling rate", fs_in),
        ("target sampling rate", fs_out),
    ] {
        if !(fs > 0.0 && fs.is_finite()) {
            return Err(DspError::invalid(name, fs, "must be positive and finite"));
        }
    }
    let target = fs_out / fs_in;
    // Convergents h/k of the continued fraction of `target`.
    let (mut h0, mut h1, mut k0, mut k1) = (0u64, 1u64, 1u64, 0u64);
    let (mut best, mut r) = ((1u64, 1u64), target);
    for _ in 0..64 {
        let a = r.floor();
        if a > MAX_RATIO_TERM as f64 {
            break;
        }
        let a = a as u64;
        let (h2, k2) = (a * h1 + h0, a * k1 + k0);
        if h2 > MAX_RATIO_TERM || k2 > MAX_RATIO_TERM {
            break;
        }
        (h0, h1, k0, k1) = (h1, h2, k1, k2);
        if h2 > 0 {
            best = (h2, k2);
        }
        let frac = r - a as f64;
        if (h2 as f64 / k2 as f64 - target).abs() <= 1e-12 * target || frac <= 0.0 {
            break;
        }
        r = 1.0 / frac;
    }
    Ok((best.0 as usize, best.1 as usize))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;

    #[test]
    fn ratios_are_reduced_and_exact() {
        assert_eq!(rational_ratio(250.0, 256.0).unwrap(), (128, 125));
        assert_eq!(rational_ratio(1000.0, 256.0).unwrap(), (32, 125));
        assert_eq!(rational_ratio(256.0, 256.0).unwrap(), (1, 1));
        assert_eq!(rational_ratio(250.3, 256.0).unwrap(), (2560, 2503));
        assert!(rational_ratio(0.0, 256.0).is_err());
        assert_eq!(
            PolyResampler::new(256, 250, 5.0).unwrap().ratio(),
            (128, 125)
        );
    }

    #[test]
    fn output_length_is_the_ceiling() {
        let r = PolyResampler::new(128, 125, 5.0).unwrap();
        assert_eq!(r.output_len(250), 256);
        assert_eq!(r.output_len(251), 258);
        assert_eq!(resample_poly(&[1.0; 7], 1, 1).unwrap(), vec![1.0; 7]);
    }

    #[test]
    fn a_slow_sine_survives_resampling() {
        let x: Vec<f64> = (0..2500)
            .map(|i| (2.0 * PI * 3.0 * i as f64 / 250.0).sin())
            .collect();
        let y = resample_poly(&x, 128, 125).unwrap();
        assert_eq!(y.len(), 2560);
        // Away from the zero-padded edges the sine comes back at the new rate.
        for (i, v) in y.iter().enumerate().skip(200).take(2000) {
            let want = (2.0 * PI * 3.0 * i as f64 / 256.0).sin();
            assert!((v - want).abs() < 1e-3, "{i}: {v} vs {want}");
        }
    }
}
