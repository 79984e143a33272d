//! The little dense linear algebra spherical splines need: the pseudo-inverse
//! of a small symmetric matrix (at most one row per electrode plus one).
//!
//! A cyclic Jacobi eigen-decomposition is enough: the matrices are symmetric,
//! small (about 20 x 20), and Jacobi is accurate for their small eigenvalues,
//! so no BLAS/LAPACK dependency is needed. For a symmetric matrix the singular
//! values are the absolute eigenvalues, so `pinv` here is SciPy's SVD-based
//! `scipy.linalg.pinv` up to rounding.

/// Sweeps after which Jacobi stops even if not converged; it converges
/// quadratically and needs fewer than 10 on these matrices.
const MAX_SWEEPS: usize = 64;

/// Eigenvalues and eigenvectors (columns of a row-major `n x n` matrix) of the
/// symmetric row-major `n x n` matrix `a`.
fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let norm = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    // Off-diagonal entries below this no longer change the result in f64.
    let negligible = f64::EPSILON * 1e-3 * norm;
    for _ in 0..MAX_SWEEPS {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() <= negligible {
                    continue;
                }
                rotated = true;
                // Rotation that zeroes a[p][q] (Golub & Van Loan, sym.schur2).
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + theta.hypot(1.0));
                let c = 1.0 / t.hypot(1.0);
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let eigenvalues = (0..n).map(|i| a[i * n + i]).collect();
    (eigenvalues, v)
}

/// Moore-Penrose pseudo-inverse of the symmetric row-major `n x n` matrix `a`.
///
/// Eigenvalues whose magnitude is at most `rtol` times the largest one are
/// treated as zero, as SciPy's `pinv(a, rtol=rtol)` does with singular values.
pub(crate) fn pinv_symmetric(a: &[f64], n: usize, rtol: f64) -> Vec<f64> {
    let (lambda, v) = symmetric_eigen(a, n);
    let cutoff = rtol * lambda.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    let mut out = vec![0.0; n * n];
    for (k, &l) in lambda.iter().enumerate() {
        if l.abs() <= cutoff {
            continue;
        }
        for i in 0..n {
            let vik = v[i * n + k] / l;
            for j in 0..n {
                out[i * n + j] += vik * v[j * n + k];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
        let mut c = vec![0.0; n * n];
        for i in 0..n {
            for k in 0..n {
                for j in 0..n {
                    c[i * n + j] += a[i * n + k] * b[k * n + j];
                }
            }
        }
        c
    }

    fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
    }

    /// Symmetric matrix from arbitrary entries: (m + m^T) / 2.
    fn symmetrize(m: &[f64], n: usize) -> Vec<f64> {
        let mut s = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                s[i * n + j] = 0.5 * (m[i * n + j] + m[j * n + i]);
            }
        }
        s
    }

    #[test]
    fn inverse_of_a_known_matrix() {
        // [[2, 1], [1, 2]]^-1 = [[2, -1], [-1, 2]] / 3
        let inv = pinv_symmetric(&[2.0, 1.0, 1.0, 2.0], 2, 1e-15);
        let want = [2.0 / 3.0, -1.0 / 3.0, -1.0 / 3.0, 2.0 / 3.0];
        assert!(max_abs_diff(&inv, &want) < 1e-15, "{inv:?}");
    }

    #[test]
    fn bordered_matrix_with_zero_corner() {
        // The shape spherical splines invert: [[G, 1], [1^T, 0]].
        let n = 4;
        let mut c = vec![0.0; n * n];
        for i in 0..3 {
            for j in 0..3 {
                c[i * n + j] = if i == j { 1.0 } else { 0.25 };
            }
            c[i * n + 3] = 1.0;
            c[3 * n + i] = 1.0;
        }
        let inv = pinv_symmetric(&c, n, n as f64 * f64::EPSILON);
        let mut eye = vec![0.0; n * n];
        for i in 0..n {
            eye[i * n + i] = 1.0;
        }
        assert!(max_abs_diff(&matmul(&c, &inv, n), &eye) < 1e-14);
    }

    #[test]
    fn rank_deficient_matrix() {
        // x x^T has rank one: pinv = x x^T / |x|^4.
        let x = [1.0, 2.0, -2.0];
        let n = 3;
        let a: Vec<f64> = (0..9).map(|k| x[k / 3] * x[k % 3]).collect();
        let inv = pinv_symmetric(&a, n, 1e-12);
        let want: Vec<f64> = a.iter().map(|v| v / 81.0).collect();
        assert!(max_abs_diff(&inv, &want) < 1e-15);
    }

    proptest! {
        #[test]
        fn a_pinv_a_is_a(n in 1usize..22, rank_cut in 0usize..3, seed in proptest::collection::vec(-1.0f64..1.0, 22 * 22)) {
            let mut a = symmetrize(&seed[..n * n], n);
            // Zero some rows and columns so that some cases are singular.
            for i in 0..rank_cut.min(n - 1) {
                for k in 0..n {
                    a[i * n + k] = 0.0;
                    a[k * n + i] = 0.0;
                }
            }
            let p = pinv_symmetric(&a, n, n as f64 * f64::EPSILON);
            let apa = matmul(&matmul(&a, &p, n), &a, n);
            prop_assert!(max_abs_diff(&apa, &a) < 1e-9, "n={n}: {}", max_abs_diff(&apa, &a));
            let pap = matmul(&matmul(&p, &a, n), &p, n);
            let scale = p.iter().fold(1.0f64, |m, x| m.max(x.abs()));
            prop_assert!(max_abs_diff(&pap, &p) < 1e-9 * scale * scale);
        }
    }
}
