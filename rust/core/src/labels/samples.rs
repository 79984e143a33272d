//! Per-sample labels and seizure types from intervals.
//!
//! Sample `k` sits at time `k / fs` and is a seizure iff `start <= k / fs < stop`
//! for some interval (and has a typed interval's type by the same test),
//! evaluated in `f64` exactly as written (so a numpy reference
//! `(t >= start) & (t < stop)` with `t = np.arange(n) / fs` agrees bit for
//! bit). Intervals are clipped to the recording: parts before 0 or past the
//! last sample are ignored.

use std::path::Path;

use super::{Interval, LabelConfig, LabelError, TypedInterval, parse_annotation};

/// Label of a background sample.
pub const BACKGROUND: u8 = 0;
/// Label of a seizure sample.
pub const SEIZURE: u8 = 1;
/// Label of a sample of a recording without annotation.
pub const UNLABELED: u8 = 255;

/// Labels of a recording without annotation: all [`UNLABELED`], never background.
pub fn unlabeled(n_samples: usize) -> Vec<u8> {
    vec![UNLABELED; n_samples]
}

/// Per-sample labels ([`BACKGROUND`] or [`SEIZURE`]) of `n_samples` samples at
/// `fs` Hz: the seizure samples of an interval are the indices
/// `[ceil(start * fs), ceil(stop * fs))`, clipped to `[0, n_samples)`.
///
/// # Errors
/// [`LabelError::BadRate`] if `fs` is not positive and finite.
pub fn sample_labels(
    intervals: &[Interval],
    n_samples: usize,
    fs: f64,
) -> Result<Vec<u8>, LabelError> {
    check_rate(fs)?;
    let mut labels = vec![BACKGROUND; n_samples];
    for i in intervals {
        fill(&mut labels, i.start, i.stop, fs, SEIZURE);
    }
    Ok(labels)
}

/// Per-sample seizure type codes (see [`super::TYPE_CODES`]) of `n_samples`
/// samples at `fs` Hz, [`BACKGROUND`] outside `types`; samples are placed as
/// in [`sample_labels`]. Where intervals overlap, the later one wins
/// ([`super::Annotations::types`] never overlap).
///
/// # Errors
/// [`LabelError::BadRate`] if `fs` is not positive and finite.
pub fn sample_types(
    types: &[TypedInterval],
    n_samples: usize,
    fs: f64,
) -> Result<Vec<u8>, LabelError> {
    check_rate(fs)?;
    let mut codes = vec![BACKGROUND; n_samples];
    for t in types {
        fill(&mut codes, t.start, t.stop, fs, t.code);
    }
    Ok(codes)
}

/// Sets to `value` the samples `[ceil(start * fs), ceil(stop * fs))` of `out`,
/// clipped to it.
fn fill(out: &mut [u8], start: f64, stop: f64, fs: f64, value: u8) {
    // `start < stop` also skips intervals with a NaN end.
    if start < stop {
        let n = out.len();
        let (a, b) = (
            first_at_or_after(start, n, fs),
            first_at_or_after(stop, n, fs),
        );
        if let Some(run) = out.get_mut(a..b) {
            run.fill(value);
        }
    }
}

/// The labels of a recording of `n_samples` at `fs` Hz whose annotation file
/// is `annotation` (as [`super::find_annotation`] returns it): parsed and
/// sampled, or all [`UNLABELED`] when there is none.
///
/// # Errors
/// Any [`parse_annotation`] error; [`LabelError::BadRate`] if `fs` is not
/// positive and finite; [`LabelError::Truncated`] if the file's rows end
/// before the recording ([`super::Annotations::check_covers`]).
pub fn recording_labels(
    annotation: Option<&Path>,
    n_samples: usize,
    fs: f64,
    cfg: &LabelConfig,
) -> Result<Vec<u8>, LabelError> {
    check_rate(fs)?;
    match annotation {
        Some(path) => {
            let a = parse_annotation(path, cfg)?;
            a.check_covers(path, n_samples as f64 / fs)?;
            sample_labels(&a.seizures, n_samples, fs)
        }
        None => Ok(unlabeled(n_samples)),
    }
}

pub(super) fn check_rate(fs: f64) -> Result<(), LabelError> {
    if fs.is_finite() && fs > 0.0 {
        Ok(())
    } else {
        Err(LabelError::BadRate(fs))
    }
}

/// The smallest `k` in `[0, n]` with `k / fs >= t`, or `n` if there is none.
///
/// `ceil(t * fs)` is right up to one rounding of the product; the fix-up makes
/// it agree exactly with the `k / fs >= t` test (monotone in `k`).
pub(super) fn first_at_or_after(t: f64, n: usize, fs: f64) -> usize {
    // `as` saturates (negative and NaN -> 0, huge -> usize::MAX); then clamp.
    let mut k = ((t * fs).ceil() as usize).min(n);
    while k > 0 && (k - 1) as f64 / fs >= t {
        k -= 1;
    }
    while k < n && (k as f64 / fs) < t {
        k += 1;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(start: f64, stop: f64) -> Interval {
        Interval { start, stop }
    }

    /// The definition, sample by sample.
    fn naive(intervals: &[Interval], n: usize, fs: f64) -> Vec<u8> {
        (0..n)
            .map(|k| {
                let t = k as f64 / fs;
                u8::from(intervals.iter().any(|i| i.start <= t && t < i.stop))
            })
            .collect()
    }

    #[test]
    fn hand_computed_half_open_convention() {
        // fs 2 Hz: samples at 0, 0.5, 1.0, ... ; [1.0, 2.0) covers samples 2 and 3.
        assert_eq!(
            sample_labels(&[iv(1.0, 2.0)], 6, 2.0).unwrap(),
            [0, 0, 1, 1, 0, 0]
        );
        // [0.7, 1.6) covers 1.0 and 1.5.
        assert_eq!(
            sample_labels(&[iv(0.7, 1.6)], 6, 2.0).unwrap(),
            [0, 0, 1, 1, 0, 0]
        );
        // [0.5, 0.5) is empty; [0.5, 0.51) covers 0.5 only.
        assert_eq!(sample_labels(&[iv(0.5, 0.5)], 3, 2.0).unwrap(), [0, 0, 0]);
        assert_eq!(sample_labels(&[iv(0.5, 0.51)], 3, 2.0).unwrap(), [0, 1, 0]);
        // TUSZ.md: seizure 42.2786-81.7760 s at 256 Hz starts at sample ceil(10823.32) = 10824.
        let l = sample_labels(&[iv(42.2786, 81.776)], 1289 * 256, 256.0).unwrap();
        assert_eq!(l.iter().position(|&x| x == SEIZURE), Some(10824));
        assert_eq!(l.iter().rposition(|&x| x == SEIZURE), Some(20934)); // 81.776 * 256 = 20934.66
        assert_eq!(l.iter().filter(|&&x| x == SEIZURE).count(), 20935 - 10824);
    }

    #[test]
    fn intervals_clipped_to_the_recording() {
        // 10 s at 1 Hz; the seizure runs past the end, another starts before 0.
        let l = sample_labels(&[iv(-3.0, 1.5), iv(7.5, 1e9), iv(20.0, 30.0)], 10, 1.0).unwrap();
        assert_eq!(l, [1, 1, 0, 0, 0, 0, 0, 0, 1, 1]);
        assert_eq!(
            sample_labels(&[iv(f64::NEG_INFINITY, f64::INFINITY)], 4, 1.0).unwrap(),
            [1; 4]
        );
        assert_eq!(
            sample_labels(&[iv(f64::NAN, 2.0), iv(0.0, f64::NAN)], 3, 1.0).unwrap(),
            [0; 3]
        );
        assert!(sample_labels(&[iv(0.0, 1.0)], 0, 1.0).unwrap().is_empty());
        // Reversed intervals cover nothing.
        assert_eq!(sample_labels(&[iv(2.0, 1.0)], 3, 1.0).unwrap(), [0; 3]);
    }

    #[test]
    fn exact_against_the_definition_at_awkward_rates() {
        for fs in [250.0, 256.0, 400.0, 1000.0, 0.3, 1.0 / 3.0, 173.61] {
            // Edges on and next to sample instants, where a plain ceil can be off by one.
            let edges: Vec<f64> = (1..60)
                .map(|k| k as f64 / fs)
                .chain((1..60).map(|k| k as f64 * 0.1))
                .collect();
            let intervals: Vec<Interval> = edges
                .chunks(2)
                .filter_map(|c| Some(iv(*c.first()?, *c.get(1)?)))
                .collect();
            let n = (70.0 * fs) as usize;
            assert_eq!(
                sample_labels(&intervals, n, fs).unwrap(),
                naive(&intervals, n, fs),
                "fs {fs}"
            );
        }
    }

    #[test]
    fn bad_rates_and_unlabeled() {
        for fs in [0.0, -256.0, f64::NAN, f64::INFINITY] {
            let e = sample_labels(&[], 3, fs).unwrap_err();
            assert!(matches!(e, LabelError::BadRate(_)), "{e}");
            assert!(recording_labels(None, 3, fs, &LabelConfig::default()).is_err());
        }
        assert_eq!(unlabeled(3), [UNLABELED; 3]);
        assert_eq!(
            recording_labels(None, 3, 256.0, &LabelConfig::default()).unwrap(),
            [255; 3]
        );
    }

    #[test]
    fn recording_labels_from_a_file() {
        let dir =
            std::env::temp_dir().join(format!("brainbrr-labels-{}-samples", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.csv_bi");
        let text = "# duration = 10.00 secs\nchannel,start_time,stop_time,label,confidence\nTERM,2.0,4.0,seiz,1.0\nTERM,8.0,15.0,seiz,1.0\n";
        std::fs::write(&path, text).unwrap();
        let l = recording_labels(Some(&path), 10, 1.0, &LabelConfig::default()).unwrap();
        assert_eq!(l, [0, 0, 1, 1, 0, 0, 0, 0, 1, 1]);
        let e = recording_labels(
            Some(&dir.join("none.csv")),
            10,
            1.0,
            &LabelConfig::default(),
        )
        .unwrap_err();
        assert!(crate::Error::from(e).io_kind().is_some());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
