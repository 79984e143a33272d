//! Windowed-sinc lowpass FIR design with a Kaiser window, as
//! `scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta))`.

use std::f64::consts::PI;

use super::DspError;

/// Lowpass FIR of `numtaps` taps with cutoff `cutoff` relative to Nyquist
/// (0 < cutoff < 1), Kaiser window of shape `beta`, scaled to unit DC gain.
///
/// # Errors
/// [`DspError::InvalidParameter`] if `numtaps` is 0, `cutoff` is outside
/// (0, 1) or `beta` is negative or not finite.
pub fn firwin_kaiser(numtaps: usize, cutoff: f64, beta: f64) -> Result<Vec<f64>, DspError> {
    if numtaps == 0 {
        return Err(DspError::invalid("numtaps", numtaps, "must be at least 1"));
    }
    if !(cutoff > 0.0 && cutoff < 1.0) {
        return Err(DspError::invalid(
            "cutoff",
            cutoff,
            "must be inside (0, 1), relative to Nyquist",
        ));
    }
    let window = kaiser(numtaps, beta)?;
    let alpha = 0.5 * (numtaps as f64 - 1.0);
    let mut h: Vec<f64> = window
        .iter()
        .enumerate()
        .map(|(i, w)| cutoff * sinc(cutoff * (i as f64 - alpha)) * w)
        .collect();
    let sum: f64 = h.iter().sum();
    for v in &mut h {
        *v /= sum;
    }
    Ok(h)
}

/// Symmetric Kaiser window (`scipy.signal.windows.kaiser(m, beta)`).
///
/// # Errors
/// [`DspError::InvalidParameter`] if `beta` is negative or not finite.
pub fn kaiser(m: usize, beta: f64) -> Result<Vec<f64>, DspError> {
    if !(beta >= 0.0 && beta.is_finite()) {
        return Err(DspError::invalid(
            "kaiser beta",
            beta,
            "must be non-negative and finite",
        ));
    }
    if m <= 1 {
        return Ok(vec![1.0; m]);
    }
    let alpha = (m as f64 - 1.0) / 2.0;
    let norm = bessel_i0(beta);
    Ok((0..m)
        .map(|n| {
            let r = (n as f64 - alpha) / alpha;
            bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / norm
        })
        .collect())
}

/// `sin(pi x) / (pi x)`, 1 at 0 (`numpy.sinc`).
fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let y = PI * x;
        y.sin() / y
    }
}

/// Modified Bessel function of the first kind, order 0: its power series
/// `sum ((x/2)^k / k!)^2` has only positive terms, so it is accurate to a few
/// ulps for the arguments a window uses (|x| up to a few tens).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut term, mut sum) = (1.0, 1.0);
    for k in 1..500 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i0_matches_known_values() {
        // Abramowitz & Stegun table 9.8 / scipy.special.i0.
        for (x, want) in [
            (0.0, 1.0),
            (1.0, 1.2660658777520082),
            (5.0, 27.239871823604442),
            (10.0, 2815.716628466254),
        ] {
            assert!((bessel_i0(x) - want).abs() <= 1e-15 * want, "{x}");
        }
    }

    #[test]
    fn lowpass_is_symmetric_with_unit_dc_gain() {
        let h = firwin_kaiser(41, 0.25, 5.0).unwrap();
        assert!((h.iter().sum::<f64>() - 1.0).abs() < 1e-14);
        for i in 0..h.len() {
            assert!((h[i] - h[h.len() - 1 - i]).abs() < 1e-16);
        }
        assert!(firwin_kaiser(41, 1.0, 5.0).is_err());
        assert!(kaiser(5, -1.0).is_err());
        assert_eq!(kaiser(1, 5.0).unwrap(), vec![1.0]);
    }
}
