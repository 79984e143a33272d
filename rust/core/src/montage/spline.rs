//! Spherical-spline interpolation of missing electrodes (Perrin et al. 1989),
//! computed exactly as MNE's `Raw.interpolate_bads()` does for EEG with its
//! defaults (`method="spline"`, `origin="auto"`; `mode` only affects MEG) on a
//! recording whose channels are the montage, positioned by
//! `set_montage("standard_1020")`:
//!
//! 1. origin: `fit_sphere_to_headshape`, a linear least-squares sphere through
//!    the EEG digitisation points of *all* the recording's channels, good and
//!    bad, minus low frontal ones (`z < 0` and `y > 0`); `lstsq(rcond=1e-6)`;
//! 2. positions minus the origin, scaled to the unit sphere;
//! 3. `G = g(cos angle)` with `_calc_g`: stiffness 4, 50 Legendre terms, summed
//!    with NumPy's `legval` recurrence; `alpha = 1e-5` added to the diagonal;
//! 4. `C = [[G, 1], [1^T, 0]]`, `scipy.linalg.pinv(C)` (`rtol = size * eps`);
//! 5. `M = [G_bad_good, 1] @ pinv(C)[:, :-1]`, then `bad = M @ good`.
//!
//! The matrix depends only on the good and bad channel names, so it is
//! computed once per distinct pair and cached for the process.

use std::collections::HashMap;
use std::f64::consts::PI;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use super::MontageError;
use super::linalg::pinv_symmetric;
use super::positions::STANDARD_1020;

/// Spline stiffness `m` of MNE's `_calc_g`.
const STIFFNESS: u32 = 4;
/// Legendre terms MNE's `_calc_g` sums.
const N_LEGENDRE_TERMS: usize = 50;
/// Regularisation MNE's `_make_interpolation_matrix` adds to the diagonal of G.
const ALPHA: f64 = 1e-5;
/// `rcond` of the `np.linalg.lstsq` in MNE's `_fit_sphere`.
const SPHERE_FIT_RCOND: f64 = 1e-6;
/// `get_fitting_dig` drops points with `z < -1e-6 and y > 1e-6` (nose, face)
/// and refuses to fit fewer than 4.
const FRONTAL_EPS: f64 = 1e-6;
const MIN_FIT_POINTS: usize = 4;

/// Interpolation matrices already computed, keyed by (good names, bad names).
type Cache = HashMap<(Vec<String>, Vec<String>), Arc<[f64]>>;
static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);

/// The spherical-spline matrix that maps the good channels to the bad ones:
/// row-major `[bad.len() x good.len()]`, so that `bad[b] = sum_g m[b, g] * good[g]`.
///
/// Names are electrodes of `standard_1020` (case-insensitive, T3 or T7, ...);
/// the sphere is fitted to good and bad together, as MNE does for a recording
/// holding exactly these channels. Cached: each distinct pair is computed once.
///
/// # Errors
/// [`MontageError::NoPosition`] if a name is not in `standard_1020`;
/// [`MontageError::TooFewPositions`] if fewer than 4 positions remain to fit the
/// head sphere; [`MontageError::MissingChannels`] (the bad ones) if there is no
/// good channel to interpolate from.
pub fn interpolation_matrix<S: AsRef<str>>(
    good: &[S],
    bad: &[S],
) -> Result<Arc<[f64]>, MontageError> {
    let upper =
        |v: &[S]| -> Vec<String> { v.iter().map(|s| s.as_ref().to_ascii_uppercase()).collect() };
    let key = (upper(good), upper(bad));
    if let Some(m) = CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return Ok(Arc::clone(m));
    }
    let m: Arc<[f64]> = compute(&key.0, &key.1)?.into();
    CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key, Arc::clone(&m));
    Ok(m)
}

fn position(name: &str) -> Result<[f64; 3], MontageError> {
    STANDARD_1020
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, p)| *p)
        .ok_or_else(|| MontageError::NoPosition(name.to_owned()))
}

fn compute(good: &[String], bad: &[String]) -> Result<Vec<f64>, MontageError> {
    if good.is_empty() {
        return Err(MontageError::MissingChannels(bad.to_vec()));
    }
    let pos = |names: &[String]| {
        names
            .iter()
            .map(|n| position(n))
            .collect::<Result<Vec<_>, _>>()
    };
    let (good_pos, bad_pos) = (pos(good)?, pos(bad)?);
    let all: Vec<[f64; 3]> = good_pos.iter().chain(&bad_pos).copied().collect();
    let origin = fit_sphere_origin(&all)?;
    let on_sphere = |p: &[f64; 3]| -> [f64; 3] {
        let d = [p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]];
        let norm = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        if norm > 0.0 { d.map(|x| x / norm) } else { d }
    };
    let from: Vec<[f64; 3]> = good_pos.iter().map(on_sphere).collect();
    let to: Vec<[f64; 3]> = bad_pos.iter().map(on_sphere).collect();
    let coef = g_coefficients();
    let g = |a: &[f64; 3], b: &[f64; 3]| legval(a[0] * b[0] + a[1] * b[1] + a[2] * b[2], &coef);

    // C = [[G + alpha I, 1], [1^T, 0]]
    let (n, k) = (from.len(), from.len() + 1);
    let mut c = vec![0.0; k * k];
    for i in 0..n {
        for j in 0..n {
            c[i * k + j] = g(&from[i], &from[j]);
        }
        c[i * k + i] += ALPHA;
        c[i * k + n] = 1.0;
        c[n * k + i] = 1.0;
    }
    let c_inv = pinv_symmetric(&c, k, k as f64 * f64::EPSILON);

    // M = [G_to_from, 1] @ C_inv[:, :-1]
    let mut m = vec![0.0; to.len() * n];
    for (b, t) in to.iter().enumerate() {
        let row: Vec<f64> = from.iter().map(|f| g(t, f)).chain([1.0]).collect();
        for j in 0..n {
            m[b * n + j] = row
                .iter()
                .enumerate()
                .map(|(i, r)| r * c_inv[i * k + j])
                .sum();
        }
    }
    Ok(m)
}

/// Centre of the sphere MNE's `fit_sphere_to_headshape` fits to these points.
fn fit_sphere_origin(points: &[[f64; 3]]) -> Result<[f64; 3], MontageError> {
    let kept: Vec<&[f64; 3]> = points
        .iter()
        .filter(|p| !(p[2] < -FRONTAL_EPS && p[1] > FRONTAL_EPS))
        .collect();
    if kept.len() < MIN_FIT_POINTS {
        return Err(MontageError::TooFewPositions(kept.len()));
    }
    // Least squares of [2x 2y 2z 1] u = x^2 + y^2 + z^2, solved as
    // pinv(A^T A) A^T b; singular values of A below rcond * max are the
    // eigenvalues of A^T A below rcond^2 * max.
    let mut ata = [0.0; 16];
    let mut atb = [0.0; 4];
    for p in kept {
        let row = [2.0 * p[0], 2.0 * p[1], 2.0 * p[2], 1.0];
        let b = p[0] * p[0] + p[1] * p[1] + p[2] * p[2];
        for i in 0..4 {
            atb[i] += row[i] * b;
            for j in 0..4 {
                ata[i * 4 + j] += row[i] * row[j];
            }
        }
    }
    let inv = pinv_symmetric(&ata, 4, SPHERE_FIT_RCOND * SPHERE_FIT_RCOND);
    let u = |i: usize| (0..4).map(|j| inv[i * 4 + j] * atb[j]).sum::<f64>();
    Ok([u(0), u(1), u(2)])
}

/// Coefficients `[0, c_1 .. c_50]` of `_calc_g`'s Legendre series,
/// `c_n = (2n + 1) / (n^m (n + 1)^m 4 pi)`, with Python's operation order
/// (integer product, then times pi).
fn g_coefficients() -> [f64; N_LEGENDRE_TERMS + 1] {
    let mut c = [0.0; N_LEGENDRE_TERMS + 1];
    for (n, c) in (1u64..).zip(c.iter_mut().skip(1)) {
        // ok: at most 50^4 * 51^4 * 4 < 2^53, exact in u64 and in f64.
        let den = (n.pow(STIFFNESS) * (n + 1).pow(STIFFNESS) * 4) as f64 * PI;
        *c = (2 * n + 1) as f64 / den;
    }
    c
}

/// NumPy's `legval(x, c)` (Clenshaw recurrence, same operation order).
fn legval(x: f64, c: &[f64; N_LEGENDRE_TERMS + 1]) -> f64 {
    let len = c.len();
    let (mut c0, mut c1) = (c[len - 2], c[len - 1]);
    let mut nd = len as f64;
    for i in 3..=len {
        let tmp = c0;
        nd -= 1.0;
        c0 = c[len - i] - c1 * ((nd - 1.0) / nd);
        c1 = tmp + c1 * x * ((2.0 * nd - 1.0) / nd);
    }
    c0 + c1 * x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn legendre_series_matches_mne() {
        // From MNE 1.13.2: mne.channels.interpolation._calc_g(np.array(x)) for
        // each x, printed with repr.
        let coef = g_coefficients();
        for (x, want) in [
            (1.0, 0.015260761697061108),
            (0.9876543, 0.015062395957935933),
            (0.5, 0.007409185638567886),
            (0.0, -0.00015191969905051388),
            (-0.3, -0.0045780048498205205),
            (-1.0, -0.014636986154113418),
        ] {
            assert!(
                rel(legval(x, &coef), want) < 1e-14,
                "g({x}) = {}",
                legval(x, &coef)
            );
        }
    }
}
