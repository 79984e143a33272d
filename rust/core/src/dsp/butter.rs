//! IIR design: Butterworth (`scipy.signal.butter`) and `scipy.signal.iirnotch`.
//!
//! The design follows scipy step by step (analog prototype, frequency
//! transform, bilinear transform) so that rounding matches: coefficients agree
//! with scipy's to about 1e-13 relative.

use std::f64::consts::PI;

use rustfft::num_complex::Complex64;

use super::DspError;
use super::filter::Ba;
use super::zpk::Zpk;

/// Which frequencies a Butterworth filter passes; cutoffs in Hz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Band {
    /// Passes below the cutoff.
    Lowpass(f64),
    /// Passes above the cutoff.
    Highpass(f64),
    /// Passes between the two cutoffs (low, high).
    Bandpass(f64, f64),
}

/// Digital Butterworth filter of `order` at sampling rate `fs`, as
/// `scipy.signal.butter(order, cutoffs, btype, fs=fs, output="zpk")`.
///
/// A bandpass of order N has 2N poles, like scipy's.
///
/// # Errors
/// [`DspError::InvalidParameter`] if `order` is 0, `fs` is not positive and
/// finite, a cutoff is not inside (0, fs/2), or a bandpass has low >= high.
pub fn butter(order: usize, band: Band, fs: f64) -> Result<Zpk, DspError> {
    if order == 0 {
        return Err(DspError::invalid(
            "filter order",
            order,
            "must be at least 1",
        ));
    }
    check_fs(fs)?;
    let nyq = fs / 2.0;
    let check = |name: &'static str, f: f64| -> Result<f64, DspError> {
        if f > 0.0 && f < nyq {
            // scipy: Wn / (fs/2), then pre-warped with fs = 2: 2 * 2 * tan(pi * Wn / 2).
            Ok(2.0 * 2.0 * (PI * (f / nyq) / 2.0).tan())
        } else {
            Err(DspError::invalid(
                name,
                f,
                format!("must be inside (0, {nyq}) Hz, the Nyquist range of fs = {fs} Hz"),
            ))
        }
    };
    let (z, p, k) = buttap(order);
    let (z, p, k) = match band {
        Band::Lowpass(f) => lp2lp(&z, &p, k, check("lowpass cutoff", f)?),
        Band::Highpass(f) => lp2hp(&z, &p, k, check("highpass cutoff", f)?),
        Band::Bandpass(lo, hi) => {
            if lo >= hi {
                return Err(DspError::invalid(
                    "bandpass",
                    format!("[{lo}, {hi}]"),
                    "low cutoff must be below high cutoff",
                ));
            }
            let (wl, wh) = (
                check("bandpass low cutoff", lo)?,
                check("bandpass high cutoff", hi)?,
            );
            lp2bp(&z, &p, k, (wl * wh).sqrt(), wh - wl)
        }
    };
    Ok(bilinear(&z, &p, k, 2.0))
}

/// Second-order notch at `f0` Hz with quality factor `q`, as
/// `scipy.signal.iirnotch(f0, q, fs)`.
///
/// # Errors
/// [`DspError::InvalidParameter`] if `fs` or `q` is not positive and finite,
/// or `f0` is not inside (0, fs/2).
pub fn iirnotch(f0: f64, q: f64, fs: f64) -> Result<Ba, DspError> {
    check_fs(fs)?;
    if !(f0 > 0.0 && f0 < fs / 2.0) {
        return Err(DspError::invalid(
            "notch frequency",
            f0,
            format!(
                "must be inside (0, {}) Hz, the Nyquist range of fs = {fs} Hz",
                fs / 2.0
            ),
        ));
    }
    if !(q > 0.0 && q.is_finite()) {
        return Err(DspError::invalid(
            "notch quality factor",
            q,
            "must be positive and finite",
        ));
    }
    let w0 = 2.0 * f0 / fs;
    let bw = w0 / q * PI;
    let w0 = w0 * PI;
    let gain = 1.0 / (1.0 + (bw / 2.0).tan());
    let c = w0.cos();
    Ba::new(
        &[gain, gain * (-2.0 * c), gain],
        &[1.0, -2.0 * gain * c, 2.0 * gain - 1.0],
    )
}

fn check_fs(fs: f64) -> Result<(), DspError> {
    if fs > 0.0 && fs.is_finite() {
        Ok(())
    } else {
        Err(DspError::invalid(
            "sampling rate",
            fs,
            "must be positive and finite",
        ))
    }
}

type Roots = Vec<Complex64>;

/// Analog Butterworth prototype (`buttap`): no zeros, N poles on the left unit half-circle.
fn buttap(n: usize) -> (Roots, Roots, f64) {
    let p = (0..n)
        .map(|i| {
            let m = 2.0 * i as f64 - (n as f64 - 1.0);
            let theta = PI * m / (2.0 * n as f64);
            -Complex64::new(theta.cos(), theta.sin())
        })
        .collect();
    (Vec::new(), p, 1.0)
}

fn lp2lp(z: &[Complex64], p: &[Complex64], k: f64, wo: f64) -> (Roots, Roots, f64) {
    let degree = p.len() - z.len();
    (
        z.iter().map(|&r| r * wo).collect(),
        p.iter().map(|&r| r * wo).collect(),
        k * wo.powi(degree as i32),
    )
}

fn lp2hp(z: &[Complex64], p: &[Complex64], k: f64, wo: f64) -> (Roots, Roots, f64) {
    let degree = p.len() - z.len();
    let mut z_hp: Roots = z.iter().map(|&r| Complex64::from(wo) / r).collect();
    z_hp.extend(std::iter::repeat_n(Complex64::ZERO, degree));
    let p_hp = p.iter().map(|&r| Complex64::from(wo) / r).collect();
    let k_hp = k * (prod(z.iter().map(|&r| -r)) / prod(p.iter().map(|&r| -r))).re;
    (z_hp, p_hp, k_hp)
}

fn lp2bp(z: &[Complex64], p: &[Complex64], k: f64, wo: f64, bw: f64) -> (Roots, Roots, f64) {
    let degree = p.len() - z.len();
    let shift = |r: &[Complex64]| -> Roots {
        let lp: Roots = r.iter().map(|&x| x * bw / 2.0).collect();
        let s: Roots = lp.iter().map(|&x| csqrt(x * x - wo * wo)).collect();
        let plus = lp.iter().zip(&s).map(|(&x, &s)| x + s);
        let minus = lp.iter().zip(&s).map(|(&x, &s)| x - s);
        plus.chain(minus).collect()
    };
    let mut z_bp = shift(z);
    z_bp.extend(std::iter::repeat_n(Complex64::ZERO, degree));
    (z_bp, shift(p), k * bw.powi(degree as i32))
}

/// Bilinear transform of analog zeros/poles/gain at sampling rate `fs` (`bilinear_zpk`).
fn bilinear(z: &[Complex64], p: &[Complex64], k: f64, fs: f64) -> Zpk {
    let degree = p.len() - z.len();
    let fs2 = Complex64::from(2.0 * fs);
    let map = |r: &[Complex64]| r.iter().map(|&x| (fs2 + x) / (fs2 - x)).collect::<Roots>();
    let mut z_z = map(z);
    z_z.extend(std::iter::repeat_n(Complex64::from(-1.0), degree));
    let k_z = k * (prod(z.iter().map(|&x| fs2 - x)) / prod(p.iter().map(|&x| fs2 - x))).re;
    Zpk {
        z: z_z,
        p: map(p),
        k: k_z,
    }
}

fn prod(it: impl Iterator<Item = Complex64>) -> Complex64 {
    it.fold(Complex64::ONE, |acc, x| acc * x)
}

/// Principal complex square root computed like C99 `csqrt` (numpy's), which is
/// more accurate than the polar form when the result nearly cancels in `lp2bp`.
fn csqrt(w: Complex64) -> Complex64 {
    if w.im == 0.0 && w.re >= 0.0 {
        return Complex64::new(w.re.sqrt(), w.im);
    }
    let t = ((w.re.abs() + w.re.hypot(w.im)) / 2.0).sqrt();
    if w.re >= 0.0 {
        Complex64::new(t, w.im / (2.0 * t))
    } else {
        Complex64::new(w.im.abs() / (2.0 * t), t.copysign(w.im))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// |H(e^{jw})| of a transfer function at frequency `f` Hz.
    fn gain(ba: &Ba, f: f64, fs: f64) -> f64 {
        let z = Complex64::from_polar(1.0, -2.0 * PI * f / fs);
        let eval = |c: &[f64]| c.iter().rev().fold(Complex64::ZERO, |acc, &x| acc * z + x);
        (eval(ba.b()) / eval(ba.a())).norm()
    }

    #[test]
    fn lowpass_has_unit_dc_gain_and_half_power_at_cutoff() {
        for order in 1..=8 {
            let ba = butter(order, Band::Lowpass(30.0), 256.0).unwrap().to_ba();
            assert!((gain(&ba, 0.0, 256.0) - 1.0).abs() < 1e-12);
            assert!((gain(&ba, 30.0, 256.0) - 0.5f64.sqrt()).abs() < 1e-9);
        }
    }

    #[test]
    fn bandpass_passes_the_centre_and_stops_dc_and_nyquist() {
        let ba = butter(3, Band::Bandpass(0.5, 120.0), 256.0)
            .unwrap()
            .to_ba();
        assert_eq!(ba.a().len(), 7);
        assert!((gain(&ba, 10.0, 256.0) - 1.0).abs() < 1e-3);
        assert!(gain(&ba, 0.0, 256.0) < 1e-9);
        assert!(gain(&ba, 128.0, 256.0) < 1e-9);
    }

    #[test]
    fn highpass_has_unit_gain_at_nyquist() {
        let ba = butter(4, Band::Highpass(1.0), 200.0).unwrap().to_ba();
        assert!((gain(&ba, 100.0, 200.0) - 1.0).abs() < 1e-12);
        // b sums to zero up to rounding; a sums to about 1e-7 (poles near z = 1).
        assert!(gain(&ba, 0.0, 200.0) < 1e-6);
    }

    #[test]
    fn notch_is_zero_at_f0_and_one_far_away() {
        let ba = iirnotch(60.0, 30.0, 256.0).unwrap();
        assert!(gain(&ba, 60.0, 256.0) < 1e-12);
        assert!((gain(&ba, 0.0, 256.0) - 1.0).abs() < 1e-12);
        assert!((gain(&ba, 20.0, 256.0) - 1.0).abs() < 1e-2);
    }

    #[test]
    fn bad_parameters_are_rejected_with_their_name() {
        let e = butter(3, Band::Bandpass(0.5, 130.0), 256.0)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bandpass high cutoff") && e.contains("128"),
            "{e}"
        );
        assert!(butter(0, Band::Lowpass(1.0), 256.0).is_err());
        assert!(butter(2, Band::Bandpass(5.0, 5.0), 256.0).is_err());
        assert!(iirnotch(60.0, 0.0, 256.0).is_err());
        assert!(iirnotch(60.0, 30.0, 100.0).is_err());
    }

    #[test]
    fn csqrt_matches_the_principal_root() {
        for w in [
            Complex64::new(-4.0, 0.0),
            Complex64::new(-4.0, -0.0),
            Complex64::new(3.0, 4.0),
            Complex64::new(-3.0, -4.0),
        ] {
            let s = csqrt(w);
            assert!((s * s - w).norm() < 1e-15 * w.norm(), "{w} -> {s}");
            assert!(s.re >= 0.0);
            assert_eq!(s.im.is_sign_negative(), w.im.is_sign_negative());
        }
    }
}
