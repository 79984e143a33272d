//! The window index of a recording: fixed-length windows every `stride`
//! samples, each with its label and seizure fraction.
//!
//! Windows never cross the end of the recording (the tail is dropped), so a
//! recording shorter than one window has none. The whole index is O(n): one
//! pass builds prefix sums of seizure and unlabeled samples, then each window
//! reads two differences.

use super::samples::check_rate;
use super::{BACKGROUND, LabelError, SEIZURE, UNLABELED};

/// Window length and stride, seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSpec {
    /// Window length, seconds.
    pub window_s: f64,
    /// Step between window starts, seconds.
    pub stride_s: f64,
}

impl Default for WindowSpec {
    /// 60 s windows every 10 s, as the old pipeline.
    fn default() -> Self {
        Self {
            window_s: 60.0,
            stride_s: 10.0,
        }
    }
}

impl WindowSpec {
    /// Window length and stride in samples at `fs` Hz: `round(window_s * fs)`
    /// and `round(stride_s * fs)` (halves away from zero).
    ///
    /// # Errors
    /// [`LabelError::BadRate`] if `fs` is not positive and finite;
    /// [`LabelError::BadWindow`] if either rounds to less than one sample or is
    /// not finite.
    pub fn samples(&self, fs: f64) -> Result<(usize, usize), LabelError> {
        check_rate(fs)?;
        let to_samples = |seconds: f64, what| {
            let n = (seconds * fs).round();
            // Below 2^53 the cast is exact; the range test also rejects NaN.
            if (1.0..9_007_199_254_740_992.0).contains(&n) {
                Ok(n as usize)
            } else {
                Err(LabelError::BadWindow {
                    window_s: self.window_s,
                    stride_s: self.stride_s,
                    fs,
                    reason: what,
                })
            }
        };
        Ok((
            to_samples(
                self.window_s,
                "the window must be at least one sample and finite",
            )?,
            to_samples(
                self.stride_s,
                "the stride must be at least one sample and finite",
            )?,
        ))
    }
}

/// One row of the window index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// First sample of the window.
    pub start: u64,
    /// [`UNLABELED`] if any sample is unlabeled, else [`SEIZURE`] if any sample
    /// is a seizure, else [`BACKGROUND`].
    pub label: u8,
    /// Seizure samples / window length; 0 for unlabeled windows.
    pub seizure_fraction: f32,
}

/// The windows of a recording with per-sample `labels` at `fs` Hz, starting at
/// sample 0 and every stride after it, as long as they end within the recording.
///
/// # Errors
/// Those of [`WindowSpec::samples`]; [`LabelError::InvalidLabel`] if a label
/// is not 0, 1 or 255.
pub fn windows(labels: &[u8], fs: f64, spec: &WindowSpec) -> Result<Vec<Window>, LabelError> {
    let (len, stride) = spec.samples(fs)?;
    let n = labels.len();
    // seizure[k], unlabeled[k]: counts among the first k samples.
    let mut seizure = Vec::with_capacity(n + 1);
    let mut unlabeled = Vec::with_capacity(n + 1);
    let (mut s, mut u) = (0u64, 0u64);
    seizure.push(s);
    unlabeled.push(u);
    for (index, &value) in labels.iter().enumerate() {
        match value {
            BACKGROUND => {}
            SEIZURE => s += 1,
            UNLABELED => u += 1,
            _ => return Err(LabelError::InvalidLabel { index, value }),
        }
        seizure.push(s);
        unlabeled.push(u);
    }
    let count = if n >= len { (n - len) / stride + 1 } else { 0 };
    Ok((0..count)
        .map(|i| {
            let a = i * stride;
            // ok: a + len <= (count - 1) * stride + len <= n, and both tables hold n + 1 entries.
            let b = a + len;
            let (n_seizure, n_unlabeled) = (seizure[b] - seizure[a], unlabeled[b] - unlabeled[a]);
            let (label, seizure_fraction) = if n_unlabeled > 0 {
                (UNLABELED, 0.0)
            } else if n_seizure > 0 {
                (SEIZURE, (n_seizure as f64 / len as f64) as f32)
            } else {
                (BACKGROUND, 0.0)
            };
            Window {
                start: a as u64,
                label,
                seizure_fraction,
            }
        })
        .collect())
}

/// A recording's rows of the window index: its windows and, column beside
/// them, each window's seizure type code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordingIndex {
    /// The windows, as [`windows`] gives them.
    pub windows: Vec<Window>,
    /// Each window's type: the type code most of its seizure samples carry
    /// ([`majority_type`]), [`BACKGROUND`] for a window without seizure,
    /// [`UNLABELED`] for an unlabeled one.
    pub types: Vec<u8>,
}

/// The window index of a recording from its per-sample `labels` and seizure
/// `types` at `fs` Hz: the one rule the ingest, `verify` and the re-windowing
/// reader share.
///
/// # Errors
/// Those of [`windows`].
pub fn recording_index(
    labels: &[u8],
    types: &[u8],
    fs: f64,
    spec: &WindowSpec,
) -> Result<RecordingIndex, LabelError> {
    let (len, _) = spec.samples(fs)?;
    let windows = windows(labels, fs, spec)?;
    let types = window_types(types, &windows, len);
    Ok(RecordingIndex { windows, types })
}

/// The seizure type code most of `types` carry, background (0) and unlabeled
/// (255) ignored, the lower code on a tie; [`SEIZURE`] (`seiz`) when none is
/// typed.
pub fn majority_type(types: &[u8]) -> u8 {
    let mut counts = [0usize; 256];
    for &t in types {
        counts[usize::from(t)] += 1;
    }
    // Seizure codes are 1..=254; the highest count wins, the lower code on a tie.
    (1..=254u8)
        .max_by_key(|&c| (counts[usize::from(c)], std::cmp::Reverse(c)))
        .filter(|&c| counts[usize::from(c)] > 0)
        .unwrap_or(SEIZURE)
}

/// The seizure type of each window of `len` samples at `windows`' starts:
/// [`majority_type`] of a seizure window's samples, else the window's label.
/// Only seizure windows are counted, sample by sample (they are few).
fn window_types(types: &[u8], windows: &[Window], len: usize) -> Vec<u8> {
    windows
        .iter()
        .map(|w| {
            if w.label != SEIZURE {
                return w.label;
            }
            let start = usize::try_from(w.start).unwrap_or(usize::MAX);
            majority_type(types.get(start..start.saturating_add(len)).unwrap_or(&[]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn spec(window_s: f64, stride_s: f64) -> WindowSpec {
        WindowSpec { window_s, stride_s }
    }

    fn w(start: u64, label: u8, seizure_fraction: f32) -> Window {
        Window {
            start,
            label,
            seizure_fraction,
        }
    }

    #[test]
    fn hand_computed_labels_and_fractions() {
        let labels = [0, 0, 1, 1, 0, 0, 255, 0, 0, 0];
        let got = windows(&labels, 1.0, &spec(4.0, 2.0)).unwrap();
        assert_eq!(
            got,
            [w(0, 1, 0.5), w(2, 1, 0.5), w(4, 255, 0.0), w(6, 255, 0.0)]
        );
        // At 2 Hz the same seconds are twice the samples.
        let got = windows(&[0, 1, 1, 1, 0, 0], 2.0, &spec(1.0, 0.5)).unwrap();
        assert_eq!(
            got,
            [
                w(0, 1, 0.5),
                w(1, 1, 1.0),
                w(2, 1, 1.0),
                w(3, 1, 0.5),
                w(4, 0, 0.0)
            ]
        );
        // A seizure sample next to an unlabeled one: unlabeled wins.
        assert_eq!(
            windows(&[1, 255], 1.0, &spec(2.0, 1.0)).unwrap(),
            [w(0, 255, 0.0)]
        );
        // Stride longer than the window leaves gaps.
        let got = windows(&[1, 0, 0, 0, 0, 1, 0], 1.0, &spec(1.0, 5.0)).unwrap();
        assert_eq!(got, [w(0, 1, 1.0), w(5, 1, 1.0)]);
    }

    #[test]
    fn tail_dropped_and_short_recordings() {
        let s = spec(4.0, 2.0);
        let count = |n: usize| windows(&vec![0; n], 1.0, &s).unwrap().len();
        assert_eq!(
            [
                count(0),
                count(3),
                count(4),
                count(5),
                count(10),
                count(11),
                count(12)
            ],
            [0, 0, 1, 1, 4, 4, 5]
        );
        let last = windows(&[0; 11], 1.0, &s).unwrap().last().copied().unwrap();
        assert_eq!(last.start + 4, 10);
        // DESIGN.md defaults on the TUSZ.md example recording: 1289 s at 256 Hz.
        let got = windows(&vec![0; 1289 * 256], 256.0, &WindowSpec::default()).unwrap();
        assert_eq!(got.len(), (1289 - 60) / 10 + 1);
        assert_eq!(got.last().unwrap().start, 1220 * 256);
    }

    #[test]
    fn lengths_rounded_and_validated() {
        assert_eq!(spec(0.3, 0.25).samples(10.0).unwrap(), (3, 3)); // 2.5 rounds away from zero
        assert_eq!(
            WindowSpec::default().samples(250.0).unwrap(),
            (15_000, 2_500)
        );
        for (window_s, stride_s) in [
            (0.0, 1.0),
            (1.0, 0.0),
            (0.04, 1.0),
            (1.0, -1.0),
            (f64::NAN, 1.0),
            (1.0, f64::INFINITY),
            (1e300, 1.0),
        ] {
            let e = spec(window_s, stride_s).samples(10.0).unwrap_err();
            assert!(matches!(e, LabelError::BadWindow { .. }), "{e}");
            assert!(windows(&[0; 20], 10.0, &spec(window_s, stride_s)).is_err());
        }
        assert!(matches!(
            windows(&[0; 20], 0.0, &spec(1.0, 1.0)),
            Err(LabelError::BadRate(_))
        ));
        let e = windows(&[0, 1, 7], 1.0, &spec(1.0, 1.0)).unwrap_err();
        assert!(
            matches!(e, LabelError::InvalidLabel { index: 2, value: 7 }),
            "{e}"
        );
    }

    /// The definition, window by window: O(n * windows).
    fn naive(labels: &[u8], fs: f64, spec: &WindowSpec) -> Option<Vec<Window>> {
        let (len, stride) = ((spec.window_s * fs).round(), (spec.stride_s * fs).round());
        if len < 1.0 || stride < 1.0 {
            return None;
        }
        let (len, stride) = (len as usize, stride as usize);
        let mut out = Vec::new();
        let mut a = 0;
        while a + len <= labels.len() {
            let win = &labels[a..a + len];
            let seizure = win.iter().filter(|&&x| x == 1).count();
            out.push(if win.contains(&255) {
                w(a as u64, 255, 0.0)
            } else if seizure > 0 {
                w(a as u64, 1, seizure as f32 / len as f32)
            } else {
                w(a as u64, 0, 0.0)
            });
            a += stride;
        }
        Some(out)
    }

    proptest! {
        #[test]
        fn matches_the_naive_reference(
            runs in prop::collection::vec((prop_oneof![4 => Just(0u8), 2 => Just(1u8), 1 => Just(255u8)], 1..80usize), 0..12),
            fs in prop_oneof![Just(1.0), Just(2.5), Just(10.0), Just(256.0), 0.1..50.0f64],
            window_s in 0.0..8.0f64,
            stride_s in 0.0..8.0f64,
        ) {
            let labels: Vec<u8> = runs.iter().flat_map(|&(v, k)| std::iter::repeat_n(v, k)).collect();
            let s = spec(window_s, stride_s);
            match naive(&labels, fs, &s) {
                Some(expected) => {
                    let got = windows(&labels, fs, &s).unwrap();
                    prop_assert_eq!(got.len(), expected.len());
                    for (g, e) in got.iter().zip(&expected) {
                        prop_assert_eq!((g.start, g.label), (e.start, e.label));
                        prop_assert!((g.seizure_fraction - e.seizure_fraction).abs() <= 1e-6);
                    }
                }
                None => prop_assert!(windows(&labels, fs, &s).is_err()),
            }
        }
    }

    #[test]
    fn window_types_take_the_majority_seizure_type() {
        // Labels: 4 background, 6 seizure; types 2 (fnsz) x2 then 8 (cnsz) x4.
        let labels = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
        let types = [0, 0, 0, 0, 2, 2, 8, 8, 8, 8];
        let ws = windows(&labels, 1.0, &spec(5.0, 5.0)).unwrap();
        assert_eq!(window_types(&types, &ws, 5), [2, 8]);
        let index = recording_index(&labels, &types, 1.0, &spec(5.0, 5.0)).unwrap();
        assert_eq!(
            index,
            RecordingIndex {
                windows: ws,
                types: vec![2, 8]
            }
        );
        assert_eq!(majority_type(&[0, 255, 3, 3, 2, 255]), 3);
        assert_eq!(majority_type(&[0, 255]), SEIZURE);
        // A tie goes to the lower code; background and unlabeled windows keep their label.
        let types = [0, 0, 0, 0, 8, 2, 8, 8, 8, 8];
        let ws = windows(&labels, 1.0, &spec(6.0, 4.0)).unwrap();
        assert_eq!(window_types(&types, &ws, 6), [2, 8]);
        let ws = windows(&[0, 0, 255, 255], 1.0, &spec(2.0, 2.0)).unwrap();
        assert_eq!(window_types(&[0, 0, 255, 255], &ws, 2), [0, 255]);
    }
}
