//! IIR filtering: `lfilter` / `sosfilt` (direct form II transposed, f64 state),
//! the steady-state initial conditions `lfilter_zi` / `sosfilt_zi`, and the
//! zero-phase `filtfilt` / `sosfiltfilt` with scipy's default odd padding.

use super::DspError;

/// Transfer function `b / a`, normalized so that `a[0] == 1`, both padded to one length.
#[derive(Debug, Clone, PartialEq)]
pub struct Ba {
    b: Vec<f64>,
    a: Vec<f64>,
    /// Taps before padding, `max(len(b), len(a))`: what filtfilt's padding counts.
    n_taps: usize,
}

/// Cascade of second-order sections `[b0 b1 b2 1 a1 a2]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sos {
    sections: Vec<[f64; 6]>,
}

/// Channels filtered together in lockstep, one per SIMD lane: a recursion is
/// latency-bound on one channel, so four share each step for the cost of one.
pub const LANES: usize = 4;

/// One sample of [`LANES`] channels.
pub type Lanes = [f64; LANES];

/// A linear filter that can run causally over a signal from a given state.
pub trait Iir {
    /// Length of the state vector.
    fn state_len(&self) -> usize;
    /// The padding scipy's `filtfilt` / `sosfiltfilt` use by default.
    fn default_padlen(&self) -> usize;
    /// Initial state of a unit step's steady state (`lfilter_zi` / `sosfilt_zi`).
    fn steady_state(&self) -> Vec<f64>;
    /// Filters `x` in place starting from `state`, which is left at the final state.
    fn run(&self, x: &mut [f64], state: &mut [f64]);
    /// [`Iir::run`] on [`LANES`] channels at once: `x[t][k]` is sample `t` of
    /// channel `k`, `state` holds [`Iir::state_len`] entries per lane. Each lane
    /// gets exactly what `run` computes for its channel alone.
    fn run_lanes(&self, x: &mut [Lanes], state: &mut [Lanes]);
}

/// What the recursions compute on: one channel's sample, or one per lane.
trait Value: Copy {
    const ZERO: Self;
    fn scale(self, c: f64) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
}

impl Value for f64 {
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn scale(self, c: f64) -> Self {
        c * self
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self - o
    }
}

impl Value for Lanes {
    const ZERO: Self = [0.0; LANES];
    #[inline(always)]
    fn scale(self, c: f64) -> Self {
        self.map(|v| c * v)
    }
    #[inline(always)]
    fn add(mut self, o: Self) -> Self {
        for (a, b) in self.iter_mut().zip(o) {
            *a += b;
        }
        self
    }
    #[inline(always)]
    fn sub(mut self, o: Self) -> Self {
        for (a, b) in self.iter_mut().zip(o) {
            *a -= b;
        }
        self
    }
}

/// A filter's recursion, generic over what it computes on.
trait Recurse {
    fn recurse<V: Value>(&self, x: &mut [V], state: &mut [V]);
}

/// [`Iir::run_lanes`] compiled for AVX when the CPU has it (four f64 lanes per
/// instruction instead of SSE2's two); the arithmetic is the same either way.
fn run_lanes<R: Recurse>(r: &R, x: &mut [Lanes], state: &mut [Lanes]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        #[target_feature(enable = "avx")]
        fn avx<R: Recurse>(r: &R, x: &mut [Lanes], state: &mut [Lanes]) {
            r.recurse(x, state); // inlined here, so compiled with AVX
        }
        // SAFETY: the CPU supports AVX, checked just above.
        return unsafe { avx(r, x, state) };
    }
    r.recurse(x, state);
}

impl Ba {
    /// Normalizes `b / a` by `a[0]`, as `lfilter` does.
    ///
    /// # Errors
    /// [`DspError::InvalidParameter`] if `b` or `a` is empty, `a[0] == 0`, or a
    /// coefficient is not finite.
    pub fn new(b: &[f64], a: &[f64]) -> Result<Self, DspError> {
        let a0 = a.first().copied().unwrap_or(0.0);
        if b.is_empty() || a0 == 0.0 || b.iter().chain(a).any(|x| !x.is_finite()) {
            return Err(DspError::invalid(
                "filter coefficients",
                format!("b={b:?} a={a:?}"),
                "need finite values, a non-empty b and a[0] != 0",
            ));
        }
        let norm = |v: &[f64]| {
            v.iter()
                .map(|x| if a0 == 1.0 { *x } else { x / a0 })
                .collect()
        };
        Ok(Self::from_normalized(norm(b), norm(a)))
    }

    /// From coefficients already normalized (`a[0] == 1`), e.g. from a design.
    pub(crate) fn from_normalized(mut b: Vec<f64>, mut a: Vec<f64>) -> Self {
        let n_taps = b.len().max(a.len());
        b.resize(n_taps, 0.0);
        a.resize(n_taps, 0.0);
        Self { b, a, n_taps }
    }

    /// Numerator, padded with zeros to the length of `a`.
    pub fn b(&self) -> &[f64] {
        &self.b
    }

    /// Denominator, `a[0] == 1`, padded with zeros to the length of `b`.
    pub fn a(&self) -> &[f64] {
        &self.a
    }
}

impl Iir for Ba {
    fn state_len(&self) -> usize {
        self.b.len() - 1
    }

    fn default_padlen(&self) -> usize {
        3 * self.n_taps
    }

    /// Solves `(I - A^T) zi = b[1:] - a[1:] b[0]` in closed form: summing the
    /// rows gives `zi[0]`, then each row gives the next entry.
    fn steady_state(&self) -> Vec<f64> {
        let (b, a) = (&self.b, &self.a);
        let rhs: Vec<f64> = (1..b.len()).map(|i| b[i] - a[i] * b[0]).collect();
        let mut zi = vec![0.0; rhs.len()];
        if let Some(first) = zi.first_mut() {
            *first = rhs.iter().sum::<f64>() / a.iter().sum::<f64>();
        }
        for i in 1..zi.len() {
            zi[i] = zi[i - 1] + a[i] * zi[0] - rhs[i - 1];
        }
        zi
    }

    fn run(&self, x: &mut [f64], state: &mut [f64]) {
        self.recurse(x, state);
    }

    fn run_lanes(&self, x: &mut [Lanes], state: &mut [Lanes]) {
        run_lanes(self, x, state);
    }
}

impl Recurse for Ba {
    #[inline(always)]
    fn recurse<V: Value>(&self, x: &mut [V], state: &mut [V]) {
        // Fixed lengths let the compiler unroll the taps and keep the state in registers.
        macro_rules! fixed {
            ($($n:literal)*) => {
                $(if let (Ok(b), Ok(a)) = (<&[f64; $n]>::try_from(&self.b[..]), <&[f64; $n]>::try_from(&self.a[..])) {
                    return df2t(b, a, x, state);
                })*
            };
        }
        fixed!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17);
        df2t_dyn(&self.b, &self.a, x, state);
    }
}

/// Direct form II transposed with `N` taps; `z` holds `N - 1` states.
#[inline(always)]
fn df2t<const N: usize, V: Value>(b: &[f64; N], a: &[f64; N], x: &mut [V], z: &mut [V]) {
    // One spare slot, always zero, keeps the update loop uniform.
    let mut s = [V::ZERO; N];
    s[..N - 1].copy_from_slice(z);
    for v in x.iter_mut() {
        let xn = *v;
        let y = xn.scale(b[0]).add(s[0]);
        for k in 0..N - 1 {
            s[k] = xn.scale(b[k + 1]).add(s[k + 1]).sub(y.scale(a[k + 1]));
        }
        *v = y;
    }
    z.copy_from_slice(&s[..N - 1]);
}

fn df2t_dyn<V: Value>(b: &[f64], a: &[f64], x: &mut [V], z: &mut [V]) {
    let n = b.len();
    for v in x.iter_mut() {
        let xn = *v;
        let y = xn.scale(b[0]).add(z.first().copied().unwrap_or(V::ZERO));
        for k in 0..n - 1 {
            let next = if k + 1 < n - 1 { z[k + 1] } else { V::ZERO };
            z[k] = xn.scale(b[k + 1]).add(next).sub(y.scale(a[k + 1]));
        }
        *v = y;
    }
}

impl Sos {
    /// Sections as scipy lays them out, `[b0 b1 b2 a0 a1 a2]` with `a0 == 1`.
    ///
    /// # Errors
    /// [`DspError::InvalidParameter`] if there is no section, a section's `a0`
    /// is not 1 (scipy's requirement) or a coefficient is not finite.
    pub fn new(sections: &[[f64; 6]]) -> Result<Self, DspError> {
        if sections.is_empty()
            || sections
                .iter()
                .any(|s| s[3] != 1.0 || s.iter().any(|x| !x.is_finite()))
        {
            return Err(DspError::invalid(
                "second-order sections",
                format!("{sections:?}"),
                "need at least one section, each finite with a0 == 1",
            ));
        }
        Ok(Self {
            sections: sections.to_vec(),
        })
    }

    /// The sections.
    pub fn sections(&self) -> &[[f64; 6]] {
        &self.sections
    }
}

impl Iir for Sos {
    fn state_len(&self) -> usize {
        2 * self.sections.len()
    }

    /// `3 * (2 n + 1 - min(#(b2 == 0), #(a2 == 0)))`, as `sosfiltfilt`.
    fn default_padlen(&self) -> usize {
        let zeros = |i: usize| self.sections.iter().filter(|s| s[i] == 0.0).count();
        3 * (2 * self.sections.len() + 1 - zeros(2).min(zeros(5)))
    }

    /// Each section's steady state, scaled by the DC gain of the sections before it.
    fn steady_state(&self) -> Vec<f64> {
        let mut scale = 1.0;
        let mut zi = Vec::with_capacity(self.state_len());
        for s in &self.sections {
            let ba = Ba::from_normalized(s[..3].to_vec(), s[3..].to_vec());
            zi.extend(ba.steady_state().iter().map(|z| scale * z));
            scale *= s[..3].iter().sum::<f64>() / s[3..].iter().sum::<f64>();
        }
        zi
    }

    fn run(&self, x: &mut [f64], state: &mut [f64]) {
        self.recurse(x, state);
    }

    fn run_lanes(&self, x: &mut [Lanes], state: &mut [Lanes]) {
        run_lanes(self, x, state);
    }
}

impl Recurse for Sos {
    #[inline(always)]
    fn recurse<V: Value>(&self, x: &mut [V], state: &mut [V]) {
        // Section after section over the whole signal: each pass is a tight
        // 3-tap recursion; the result is the same as scipy's sample-major loop.
        for (s, z) in self.sections.iter().zip(state.chunks_exact_mut(2)) {
            let (b, a) = ([s[0], s[1], s[2]], [s[3], s[4], s[5]]);
            df2t(&b, &a, x, z);
        }
    }
}

/// Causal filtering in place from a zero state (`lfilter(b, a, x)` / `sosfilt(sos, x)`).
pub fn lfilter<F: Iir + ?Sized>(f: &F, x: &mut [f64]) {
    f.run(x, &mut vec![0.0; f.state_len()]);
}

/// Zero-phase forward-backward filtering in place (`filtfilt` / `sosfiltfilt`
/// with `padtype="odd"`), using `scratch` for the padded signal.
///
/// `padlen` defaults to scipy's; where scipy would refuse a signal no longer
/// than the padding, it is reduced to `len - 1` (no padding for one sample).
pub fn filtfilt<F: Iir + ?Sized>(
    f: &F,
    x: &mut [f64],
    padlen: Option<usize>,
    scratch: &mut Vec<f64>,
) {
    let n = x.len();
    if n == 0 {
        return;
    }
    let edge = padlen.unwrap_or_else(|| f.default_padlen()).min(n - 1);
    // Odd extension: 2 x[0] - x[edge..0], x, 2 x[n-1] - x[n-2..n-2-edge].
    scratch.clear();
    scratch.extend((1..=edge).rev().map(|i| 2.0 * x[0] - x[i]));
    scratch.extend_from_slice(x);
    scratch.extend((1..=edge).map(|i| 2.0 * x[n - 1] - x[n - 1 - i]));
    let zi = f.steady_state();
    let mut state: Vec<f64> = zi.iter().map(|z| z * scratch[0]).collect();
    f.run(scratch, &mut state);
    scratch.reverse();
    for (s, z) in state.iter_mut().zip(&zi) {
        *s = z * scratch[0];
    }
    f.run(scratch, &mut state);
    for (dst, src) in x.iter_mut().zip(scratch[edge..edge + n].iter().rev()) {
        *dst = *src;
    }
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;
    use crate::dsp::butter::{Band, butter};

    #[test]
    fn impulse_response_matches_the_difference_equation() {
        let ba = butter(3, Band::Bandpass(0.5, 40.0), 256.0).unwrap().to_ba();
        let n = 200;
        let mut x = vec![0.0; n];
        x[0] = 1.0;
        lfilter(&ba, &mut x);
        // y[n] = sum b[k] d[n-k] - sum_{k>0} a[k] y[n-k]
        let (b, a) = (ba.b(), ba.a());
        let mut y = vec![0.0; n];
        for i in 0..n {
            let mut acc = if i < b.len() { b[i] } else { 0.0 };
            for k in 1..a.len().min(i + 1) {
                acc -= a[k] * y[i - k];
            }
            y[i] = acc;
        }
        for (p, q) in x.iter().zip(&y) {
            assert!((p - q).abs() < 1e-12, "{p} vs {q}");
        }
    }

    #[test]
    fn fixed_and_generic_recursions_agree() {
        let ba = butter(3, Band::Bandpass(0.5, 40.0), 256.0).unwrap().to_ba();
        let x: Vec<f64> = (0..2000).map(|i| (i as f64 * 0.1).sin()).collect();
        let (mut p, mut q) = (x.clone(), x);
        let (mut zp, mut zq) = (vec![0.5; 6], vec![0.5; 6]);
        ba.run(&mut p, &mut zp);
        df2t_dyn(ba.b(), ba.a(), &mut q, &mut zq);
        assert_eq!((p, zp), (q, zq));
    }

    #[test]
    fn lanes_compute_what_each_channel_computes_alone() {
        let long = Ba::new(&[0.1; 20], &[1.0, 0.2, 0.01]).unwrap(); // past the fixed lengths
        let ba = butter(3, Band::Bandpass(0.5, 120.0), 256.0)
            .unwrap()
            .to_ba();
        let notch = crate::dsp::butter::iirnotch(60.0, 30.0, 256.0).unwrap();
        let sos = butter(4, Band::Highpass(1.0), 256.0)
            .unwrap()
            .to_sos()
            .unwrap();
        let filters: [&dyn Iir; 4] = [&ba, &notch, &sos, &long];
        let n = 3001;
        let signal = |k: usize| -> Vec<f64> {
            (0..n)
                .map(|i| (i as f64 * (0.01 + 0.07 * k as f64)).sin() * 50.0 + k as f64)
                .collect()
        };
        for f in filters {
            let mut lanes = vec![[0.0; LANES]; n];
            let mut state = vec![[0.0; LANES]; f.state_len()];
            for k in 0..LANES {
                for (t, v) in signal(k).into_iter().enumerate() {
                    lanes[t][k] = v;
                }
                for (j, z) in state.iter_mut().enumerate() {
                    z[k] = 0.1 * (j + k) as f64;
                }
            }
            // In two calls: the state carries over from one block to the next.
            let (head, tail) = lanes.split_at_mut(1000);
            f.run_lanes(head, &mut state);
            f.run_lanes(tail, &mut state);
            for k in 0..LANES {
                let mut x = signal(k);
                let mut z: Vec<f64> = (0..f.state_len()).map(|j| 0.1 * (j + k) as f64).collect();
                f.run(&mut x, &mut z);
                let got: Vec<f64> = lanes.iter().map(|l| l[k]).collect();
                let got_z: Vec<f64> = state.iter().map(|l| l[k]).collect();
                assert_eq!((got, got_z), (x, z), "lane {k}");
            }
        }
    }

    #[test]
    fn steady_state_of_a_step_is_constant() {
        let ba = butter(3, Band::Lowpass(10.0), 256.0).unwrap().to_ba();
        let sos = butter(3, Band::Lowpass(10.0), 256.0)
            .unwrap()
            .to_sos()
            .unwrap();
        let filters: [&dyn Iir; 2] = [&ba, &sos];
        for f in filters {
            let mut x = vec![1.0; 50];
            f.run(&mut x, &mut f.steady_state());
            assert!(x.iter().all(|v| (v - 1.0).abs() < 1e-12), "{x:?}");
        }
    }

    #[test]
    fn filtfilt_has_zero_phase_on_a_sine() {
        let fs = 256.0;
        let ba = butter(4, Band::Lowpass(40.0), fs).unwrap().to_ba();
        let sos = butter(4, Band::Lowpass(40.0), fs)
            .unwrap()
            .to_sos()
            .unwrap();
        let sine: Vec<f64> = (0..4096)
            .map(|i| (2.0 * PI * 5.0 * i as f64 / fs).sin())
            .collect();
        let filters: [&dyn Iir; 2] = [&ba, &sos];
        for f in filters {
            let mut y = sine.clone();
            filtfilt(f, &mut y, None, &mut Vec::new());
            // 5 Hz is deep in the passband: unchanged, not delayed.
            for (a, b) in y[500..3500].iter().zip(&sine[500..3500]) {
                assert!((a - b).abs() < 1e-3, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn short_signals_reduce_the_padding() {
        let ba = butter(3, Band::Bandpass(0.5, 120.0), 256.0)
            .unwrap()
            .to_ba();
        for n in 0..30 {
            let mut x: Vec<f64> = (0..n).map(|i| i as f64).collect();
            filtfilt(&ba, &mut x, None, &mut Vec::new());
            assert!(x.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn invalid_coefficients_are_rejected() {
        assert!(Ba::new(&[1.0], &[0.0, 1.0]).is_err());
        assert!(Ba::new(&[], &[1.0]).is_err());
        assert!(Ba::new(&[1.0], &[f64::NAN]).is_err());
        assert!(Sos::new(&[[1.0, 0.0, 0.0, 2.0, 0.0, 0.0]]).is_err());
        let ba = Ba::new(&[2.0, 4.0], &[2.0, 1.0]).unwrap();
        assert_eq!((ba.b(), ba.a()), (&[1.0, 2.0][..], &[1.0, 0.5][..]));
    }
}
