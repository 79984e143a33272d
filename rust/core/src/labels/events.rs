//! Seizure events of per-sample labels: maximal runs of seizure samples,
//! joined across short gaps and filtered by length, each typed by the type
//! most of its samples carry. The reference events a scorer compares a
//! model's with, and the count of the ingest's per-split statistics.

use super::window::majority_type;
use super::{SEIZURE, UNLABELED};

/// One seizure event, samples `start..stop` of the labels it was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeizureEvent {
    /// First sample.
    pub start: usize,
    /// One past the last sample.
    pub stop: usize,
    /// [`majority_type`] of its samples (a gap it absorbed is background,
    /// which does not count).
    pub seizure_type: u8,
}

/// The seizure events of `labels` (types from `types`, sample by sample) at
/// `fs` Hz: maximal runs of [`SEIZURE`] samples, runs at most `merge_gap_s`
/// apart joined, then events shorter than `min_duration_s` dropped. `None`
/// for an unlabeled (or empty) recording, which has no reference events at
/// all. With zero gap and duration, each run is an event. A NaN gap joins
/// nothing and a NaN duration keeps nothing: callers check their arguments.
pub fn seizure_events(
    labels: &[u8],
    types: &[u8],
    fs: f64,
    min_duration_s: f64,
    merge_gap_s: f64,
) -> Option<Vec<SeizureEvent>> {
    if labels.iter().all(|&l| l == UNLABELED) {
        return None;
    }
    let (min_samples, merge_samples) = (min_duration_s * fs, merge_gap_s * fs);
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut open = None;
    // A background sample past the end closes a run that reaches it.
    let seizure = labels.iter().map(|&l| l == SEIZURE).chain([false]);
    for (i, inside) in seizure.enumerate() {
        match (inside, open) {
            (true, None) => open = Some(i),
            (false, Some(start)) => {
                open = None;
                match runs.last_mut() {
                    Some(last) if (start - last.1) as f64 <= merge_samples => last.1 = i,
                    _ => runs.push((start, i)),
                }
            }
            _ => {}
        }
    }
    Some(
        runs.into_iter()
            .filter(|&(start, stop)| (stop - start) as f64 >= min_samples)
            .map(|(start, stop)| SeizureEvent {
                start,
                stop,
                seizure_type: majority_type(types.get(start..stop).unwrap_or(&[])),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(start: usize, stop: usize, seizure_type: u8) -> SeizureEvent {
        SeizureEvent {
            start,
            stop,
            seizure_type,
        }
    }

    #[test]
    fn runs_typed_by_their_majority() {
        let labels = [0, 1, 1, 1, 0, 0, 1, 1, 0, 1];
        let types = [0, 2, 8, 8, 0, 0, 3, 2, 0, 0];
        let got = seizure_events(&labels, &types, 1.0, 0.0, 0.0).unwrap();
        // A tie goes to the lower code; an untyped run is `seiz`.
        assert_eq!(got, [ev(1, 4, 8), ev(6, 8, 2), ev(9, 10, SEIZURE)]);
        assert_eq!(
            seizure_events(&[0, 0], &[0, 0], 1.0, 0.0, 0.0),
            Some(vec![])
        );
        assert_eq!(seizure_events(&[255; 4], &[255; 4], 1.0, 0.0, 0.0), None);
        assert_eq!(seizure_events(&[], &[], 1.0, 0.0, 0.0), None);
    }

    #[test]
    fn gaps_joined_then_short_events_dropped() {
        let labels = [1, 0, 0, 1, 1, 0, 0, 0, 1, 0];
        let types = [2, 0, 0, 8, 8, 0, 0, 0, 2, 0];
        // At 2 Hz a gap of 1 s is two samples: the first two runs join.
        let got = seizure_events(&labels, &types, 2.0, 0.0, 1.0).unwrap();
        assert_eq!(got, [ev(0, 5, 8), ev(8, 9, 2)]);
        // Dropped after joining: the joined event is long enough, the last is not.
        let got = seizure_events(&labels, &types, 2.0, 1.5, 1.0).unwrap();
        assert_eq!(got, [ev(0, 5, 8)]);
        let got = seizure_events(&labels, &types, 2.0, 1.5, 0.0).unwrap();
        assert!(got.is_empty());
        assert!(
            seizure_events(&labels, &types, 2.0, f64::NAN, 0.0)
                .unwrap()
                .is_empty()
        );
    }
}
