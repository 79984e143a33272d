//! Zeros/poles/gain and their conversion to transfer functions (`zpk2tf`) and
//! second-order sections (`zpk2sos` with scipy's default "nearest" pairing).

use rustfft::num_complex::Complex64;

use super::DspError;
use super::filter::{Ba, Sos};

/// A digital filter as zeros, poles and gain; roots come in conjugate pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct Zpk {
    /// Zeros.
    pub z: Vec<Complex64>,
    /// Poles.
    pub p: Vec<Complex64>,
    /// Gain.
    pub k: f64,
}

impl Zpk {
    /// Transfer function `b / a` (`scipy.signal.zpk2tf`).
    ///
    /// Roots in conjugate pairs give real polynomials; the imaginary rounding
    /// residue is dropped, as numpy's `poly` does.
    pub fn to_ba(&self) -> Ba {
        let b: Vec<f64> = poly(&self.z).into_iter().map(|c| self.k * c).collect();
        Ba::from_normalized(b, poly(&self.p))
    }

    /// Second-order sections (`scipy.signal.zpk2sos(z, p, k)`, pairing "nearest"):
    /// poles closest to the unit circle go last, each paired with its nearest zero.
    ///
    /// # Errors
    /// [`DspError::InvalidParameter`] if a complex root has no conjugate.
    pub fn to_sos(&self) -> Result<Sos, DspError> {
        let (mut z, mut p) = (self.z.clone(), self.p.clone());
        if z.is_empty() && p.is_empty() {
            return Sos::new(&[[self.k, 0.0, 0.0, 1.0, 0.0, 0.0]]);
        }
        z.resize(z.len().max(p.len()), Complex64::ZERO);
        p.resize(z.len(), Complex64::ZERO);
        let n_sections = p.len().div_ceil(2);
        if p.len() % 2 == 1 {
            p.push(Complex64::ZERO);
            z.push(Complex64::ZERO);
        }
        let mut z = cplxreal(&z)?;
        let mut p = cplxreal(&p)?;
        let is_real = |x: &Complex64| x.im == 0.0;
        let worst = |p: &[Complex64]| argmin(p.iter().map(|x| (1.0 - x.norm()).abs()));
        let mut sos = vec![[0.0; 6]; n_sections];
        for section in sos.iter_mut().rev() {
            let p1 = p.remove(worst(&p).ok_or_else(unpaired)?);
            let n_real_p = p.iter().filter(|x| is_real(x)).count();
            *section = if is_real(&p1) && n_real_p == 0 {
                // The last real pole: with one real zero (nearest pairing pads to even counts).
                let z1 = z.remove(nearest(&z, p1, Some(true))?);
                single_section(&[z1, Complex64::ZERO], &[p1, Complex64::ZERO])
            } else if p.len() + 1 == z.len()
                && !is_real(&p1)
                && n_real_p == 1
                && z.iter().filter(|x| is_real(x)).count() == 1
            {
                // One real pole and one real zero left: this pole must take a complex zero.
                let z1 = z.remove(nearest(&z, p1, Some(false))?);
                single_section(&[z1, z1.conj()], &[p1, p1.conj()])
            } else {
                let p2 = if is_real(&p1) {
                    let reals: Vec<usize> = (0..p.len()).filter(|&i| is_real(&p[i])).collect();
                    let j = worst(&reals.iter().map(|&i| p[i]).collect::<Vec<_>>())
                        .ok_or_else(unpaired)?;
                    p.remove(reals[j])
                } else {
                    p1.conj()
                };
                if z.is_empty() {
                    single_section(&[], &[p1, p2])
                } else {
                    let z1 = z.remove(nearest(&z, p1, None)?);
                    if !is_real(&z1) {
                        single_section(&[z1, z1.conj()], &[p1, p2])
                    } else if z.is_empty() {
                        single_section(&[z1], &[p1, p2])
                    } else {
                        let z2 = z.remove(nearest(&z, p1, Some(true))?);
                        single_section(&[z1, z2], &[p1, p2])
                    }
                }
            };
        }
        if !(z.is_empty() && p.is_empty()) {
            return Err(unpaired());
        }
        for c in &mut sos[0][..3] {
            *c *= self.k;
        }
        Sos::new(&sos)
    }
}

fn unpaired() -> DspError {
    DspError::invalid(
        "zeros/poles",
        "",
        "cannot be paired into second-order sections",
    )
}

/// Polynomial with the given roots, highest power first (`numpy.poly`), real part.
fn poly(roots: &[Complex64]) -> Vec<f64> {
    let mut c = vec![Complex64::ONE];
    for &r in roots {
        c.push(Complex64::ZERO);
        for i in (1..c.len()).rev() {
            c[i] = c[i] + c[i - 1] * -r;
        }
    }
    c.into_iter().map(|x| x.re).collect()
}

/// One section `[b0 b1 b2 1 a1 a2]` with up to two zeros and poles, right-aligned like scipy.
fn single_section(z: &[Complex64], p: &[Complex64]) -> [f64; 6] {
    let (b, a) = (poly(z), poly(p));
    let mut s = [0.0; 6];
    s[3 - b.len()..3].copy_from_slice(&b);
    s[6 - a.len()..].copy_from_slice(&a);
    s
}

fn argmin(values: impl Iterator<Item = f64>) -> Option<usize> {
    values
        .enumerate()
        .fold(None, |best: Option<(usize, f64)>, (i, v)| match best {
            Some((_, b)) if b <= v => best,
            _ => Some((i, v)),
        })
        .map(|(i, _)| i)
}

/// Index of the root of `from` nearest to `to`; `real`: Some(true) only real
/// roots, Some(false) only complex ones (`_nearest_real_complex_idx`).
fn nearest(from: &[Complex64], to: Complex64, real: Option<bool>) -> Result<usize, DspError> {
    let mut order: Vec<usize> = (0..from.len()).collect();
    order.sort_by(|&i, &j| (from[i] - to).norm().total_cmp(&(from[j] - to).norm()));
    order
        .into_iter()
        .find(|&i| real.is_none_or(|r| (from[i].im == 0.0) == r))
        .ok_or_else(unpaired)
}

/// One root of each conjugate pair (averaged), then the real roots, both sorted
/// the way scipy's `_cplxreal` sorts them.
fn cplxreal(z: &[Complex64]) -> Result<Vec<Complex64>, DspError> {
    let tol = 100.0 * f64::EPSILON;
    let mut z = z.to_vec();
    z.sort_by(|a, b| {
        a.re.total_cmp(&b.re)
            .then(a.im.abs().total_cmp(&b.im.abs()))
    });
    let (real, cplx): (Vec<Complex64>, Vec<Complex64>) =
        z.into_iter().partition(|x| x.im.abs() <= tol * x.norm());
    let mut zp: Vec<Complex64> = cplx.iter().copied().filter(|x| x.im > 0.0).collect();
    let mut zn: Vec<Complex64> = cplx.iter().copied().filter(|x| x.im < 0.0).collect();
    if zp.len() != zn.len() {
        return Err(unpaired());
    }
    // Within runs of (nearly) equal real parts, order by |imag|.
    let mut start = 0;
    while start < zp.len() {
        let mut stop = start + 1;
        while stop < zp.len() && zp[stop].re - zp[stop - 1].re <= tol * zp[stop - 1].norm() {
            stop += 1;
        }
        zp[start..stop].sort_by(|a, b| a.im.abs().total_cmp(&b.im.abs()));
        zn[start..stop].sort_by(|a, b| a.im.abs().total_cmp(&b.im.abs()));
        start = stop;
    }
    let mut out = Vec::with_capacity(zp.len() + real.len());
    for (a, b) in zp.iter().zip(&zn) {
        if (a - b.conj()).norm() > tol * b.norm() {
            return Err(unpaired());
        }
        out.push((a + b.conj()) / 2.0);
    }
    out.extend(real.iter().map(|x| Complex64::from(x.re)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::butter::{Band, butter};

    #[test]
    fn poly_expands_roots() {
        let c = poly(&[Complex64::new(1.0, 2.0), Complex64::new(1.0, -2.0)]);
        assert_eq!(c, vec![1.0, -2.0, 5.0]);
    }

    #[test]
    fn sos_cascade_equals_the_transfer_function() {
        for band in [
            Band::Lowpass(20.0),
            Band::Highpass(0.5),
            Band::Bandpass(0.5, 120.0),
        ] {
            for order in 1..=5 {
                let zpk = butter(order, band, 256.0).unwrap();
                let (ba, sos) = (zpk.to_ba(), zpk.to_sos().unwrap());
                // Multiply the sections back into one polynomial pair.
                let mut b = vec![1.0];
                let mut a = vec![1.0];
                for s in sos.sections() {
                    b = convolve(&b, &s[..3]);
                    a = convolve(&a, &s[3..]);
                }
                for (x, y) in b.iter().zip(ba.b()).chain(a.iter().zip(ba.a())) {
                    assert!(
                        (x - y).abs() < 1e-9 * (1.0 + y.abs()),
                        "{band:?} {order}: {x} vs {y}"
                    );
                }
            }
        }
    }

    fn convolve(x: &[f64], y: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; x.len() + y.len() - 1];
        for (i, a) in x.iter().enumerate() {
            for (j, b) in y.iter().enumerate() {
                out[i + j] += a * b;
            }
        }
        out
    }
}
