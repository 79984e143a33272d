//! Which EDF signal feeds each montage channel, and the `[C, n]` matrix built
//! from them.

use std::sync::Arc;

use super::{MontageConfig, MontageError, interpolation_matrix, normalize_label};

/// Samples per block when interpolating: a block of the output row stays in
/// L1 while the good rows stream through it.
const BLOCK: usize = 1024;

/// Where an output channel comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelSource {
    /// The EDF signal at this index of the labels given to [`pick`].
    Label(usize),
    /// Missing and interpolated from the others with spherical splines.
    Interpolate,
    /// Missing and optional (`MontageConfig::optional`): its signal is zeros.
    Missing,
}

/// The channels of one recording matched to the montage: build it with
/// [`pick`], then [`Pick::apply`] (or [`Pick::fill_interpolated`]).
#[derive(Debug, Clone)]
pub struct Pick {
    channels: Vec<String>,
    sources: Vec<ChannelSource>,
    /// Labels written more than once, of which the first copy is read.
    warnings: Vec<String>,
    /// `None` when nothing is missing.
    interpolation: Option<Interpolation>,
}

/// The output rows read, the rows interpolated, and the `[bad x good]`
/// matrix between them.
#[derive(Debug, Clone)]
struct Interpolation {
    good: Vec<usize>,
    bad: Vec<usize>,
    matrix: Arc<[f64]>,
}

/// Matches EDF `labels` to the electrodes of `cfg` ([`MontageConfig::electrodes`]:
/// the channels of a referential montage, the electrodes of a bipolar one):
/// one [`ChannelSource`] per electrode, in order. Labels that normalise to no
/// electrode (EKG, PHOTIC, IBI, BURSTS...) are ignored. A missing electrode is
/// interpolated when `cfg.interpolate` names it (from the electrodes read),
/// else [`ChannelSource::Missing`] when it is optional.
///
/// # Errors
/// [`MontageError::DuplicateChannel`] when two labels normalise to the same
/// electrode; [`MontageError::MissingChannels`] with every missing electrode
/// that is neither interpolable nor optional; the errors of
/// [`interpolation_matrix`] when one must be interpolated;
/// [`MontageError::BadParameter`] for bipolar pairs that do not parse.
pub fn pick<S: AsRef<str>>(labels: &[S], cfg: &MontageConfig) -> Result<Pick, MontageError> {
    let channels = cfg.electrodes()?;
    let mut found: Vec<Vec<usize>> = vec![Vec::new(); channels.len()];
    for (i, label) in labels.iter().enumerate() {
        let name = normalize_label(label.as_ref(), cfg);
        if let Some(c) = channels
            .iter()
            .position(|ch| ch.eq_ignore_ascii_case(&name))
        {
            found[c].push(i);
        }
    }
    // The same label twice is one channel written twice (CHB-MIT's T8-P8):
    // its first copy is read. Two labels for one electrode (`EEG T3-REF` and
    // `EEG T7-LE`) are two signals, and which one is meant is unknown.
    let mut warnings = Vec::new();
    for (c, idx) in found.iter().enumerate().filter(|(_, idx)| idx.len() > 1) {
        let names: Vec<&str> = idx.iter().map(|&i| labels[i].as_ref()).collect();
        if names.iter().any(|n| n.trim() != names[0].trim()) {
            return Err(MontageError::DuplicateChannel {
                channel: channels[c].clone(),
                labels: names.iter().map(|n| (*n).to_owned()).collect(),
            });
        }
        warnings.push(format!(
            "channel {} is recorded {} times ({:?}): the first copy is used",
            channels[c],
            idx.len(),
            names
        ));
    }
    let listed = |list: &[String], ch: &str| list.iter().any(|x| x.eq_ignore_ascii_case(ch));
    let optional = cfg.optional_electrodes();
    let sources: Vec<ChannelSource> = channels
        .iter()
        .zip(&found)
        .map(|(ch, idx)| match idx.first() {
            Some(&i) => ChannelSource::Label(i),
            None if listed(&cfg.interpolate, ch) => ChannelSource::Interpolate,
            None => ChannelSource::Missing,
        })
        .collect();
    let missing: Vec<String> = channels
        .iter()
        .zip(&sources)
        .filter(|(ch, s)| **s == ChannelSource::Missing && !listed(&optional, ch))
        .map(|(ch, _)| ch.clone())
        .collect();
    if !missing.is_empty() {
        return Err(MontageError::MissingChannels(missing));
    }
    let rows = |kind: fn(&ChannelSource) -> bool| -> Vec<usize> {
        (0..sources.len()).filter(|&c| kind(&sources[c])).collect()
    };
    let good = rows(|s| matches!(s, ChannelSource::Label(_)));
    let bad = rows(|s| *s == ChannelSource::Interpolate);
    let interpolation = if bad.is_empty() {
        None
    } else {
        let names = |rows: &[usize]| {
            rows.iter()
                .map(|&c| channels[c].as_str())
                .collect::<Vec<_>>()
        };
        let matrix = interpolation_matrix(&names(&good), &names(&bad))?;
        Some(Interpolation { good, bad, matrix })
    };
    Ok(Pick {
        channels,
        sources,
        warnings,
        interpolation,
    })
}

impl Pick {
    /// Adds a row read as recorded from label `label`: a bipolar pair the file
    /// records (`FP1-F7`), which is then one of [`Pick::channels`].
    pub(super) fn push_recorded(&mut self, name: &str, label: usize) -> usize {
        self.channels.push(name.to_owned());
        self.sources.push(ChannelSource::Label(label));
        self.channels.len() - 1
    }

    /// Labels written more than once, of which the first copy is read.
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The electrode names, in order ([`MontageConfig::electrodes`]).
    #[must_use]
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// Where each output channel comes from, in the order of [`Pick::channels`].
    #[must_use]
    pub fn sources(&self) -> &[ChannelSource] {
        &self.sources
    }

    /// The names of the electrodes that are interpolated (empty when none is).
    pub fn interpolated(&self) -> impl Iterator<Item = &str> {
        self.named(ChannelSource::Interpolate)
    }

    /// The names of the optional electrodes that are missing (empty when none is).
    pub fn missing(&self) -> impl Iterator<Item = &str> {
        self.named(ChannelSource::Missing)
    }

    fn named(&self, source: ChannelSource) -> impl Iterator<Item = &str> {
        self.channels
            .iter()
            .zip(&self.sources)
            .filter(move |(_, s)| **s == source)
            .map(|(ch, _)| ch.as_str())
    }

    /// The electrodes as a row-major `[C, n]` matrix: row `c` copied from
    /// `signal(i)` when the electrode's source is `Label(i)`, interpolated rows
    /// computed from the others, missing ones zeros. `signal` is called once
    /// per `Label` source (physical values; all of the same length `n`).
    ///
    /// # Errors
    /// [`MontageError::LengthMismatch`] if the signals differ in length.
    pub fn apply<'a>(&self, signal: impl Fn(usize) -> &'a [f64]) -> Result<Vec<f64>, MontageError> {
        let rows: Vec<(usize, &[f64])> = self
            .sources
            .iter()
            .enumerate()
            .filter_map(|(c, s)| match s {
                ChannelSource::Label(i) => Some((c, signal(*i))),
                ChannelSource::Interpolate | ChannelSource::Missing => None,
            })
            .collect();
        let n = rows.first().map_or(0, |(_, x)| x.len());
        let mut out = vec![0.0; self.channels.len() * n];
        for (c, x) in rows {
            if x.len() != n {
                return Err(MontageError::LengthMismatch {
                    channel: self.channels[c].clone(),
                    len: x.len(),
                    expected: n,
                });
            }
            out[c * n..(c + 1) * n].copy_from_slice(x);
        }
        self.fill_interpolated(&mut out, n)?;
        Ok(out)
    }

    /// Computes the interpolated rows of a row-major `[C, n_samples]` matrix
    /// whose other rows already hold their signals (no allocation per sample:
    /// a small matrix product, blocked over time).
    ///
    /// # Errors
    /// [`MontageError::BadShape`] if `data` does not hold `C * n_samples` values.
    pub fn fill_interpolated(
        &self,
        data: &mut [f64],
        n_samples: usize,
    ) -> Result<(), MontageError> {
        let expected = self.channels.len() * n_samples;
        if data.len() != expected {
            return Err(MontageError::BadShape {
                len: data.len(),
                expected,
            });
        }
        let Some(Interpolation { good, bad, .. }) = &self.interpolation else {
            return Ok(());
        };
        if n_samples == 0 {
            return Ok(());
        }
        let mut rows: Vec<&mut [f64]> = data.chunks_exact_mut(n_samples).collect();
        // Taking the bad rows out lets the good rows be read while they are written.
        let mut targets: Vec<&mut [f64]> =
            bad.iter().map(|&r| std::mem::take(&mut rows[r])).collect();
        for start in (0..n_samples).step_by(BLOCK) {
            let end = (start + BLOCK).min(n_samples);
            let mut blocks: Vec<&mut [f64]> =
                targets.iter_mut().map(|t| &mut t[start..end]).collect();
            for b in &mut blocks {
                b.fill(0.0);
            }
            // Each block of a good row is read once, for every bad row.
            for &g in good {
                self.accumulate_interpolated(g, &rows[g][start..end], &mut blocks);
            }
        }
        Ok(())
    }

    /// Adds the share of row `row` (a channel read from the file, samples `x`)
    /// to the interpolated rows `targets` (in the order of the interpolated
    /// channels). Called on zeroed targets for every row read, in increasing
    /// order, it sums in the order [`Pick::fill_interpolated`] does: the same
    /// values, without holding the whole matrix. Other rows add nothing.
    pub fn accumulate_interpolated(&self, row: usize, x: &[f64], targets: &mut [&mut [f64]]) {
        let Some(Interpolation { good, matrix, .. }) = &self.interpolation else {
            return;
        };
        let Some(j) = good.iter().position(|&g| g == row) else {
            return;
        };
        for (b, t) in targets.iter_mut().enumerate() {
            let w = matrix[b * good.len() + j];
            for (o, x) in t.iter_mut().zip(x) {
                *o += w * x;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tusz(suffix: &str, skip: &[&str]) -> Vec<String> {
        let mut labels: Vec<String> = MontageConfig::default()
            .channels
            .iter()
            .rev()
            .filter(|c| !skip.contains(&c.as_str()))
            .map(|c| format!("EEG {c}{suffix}"))
            .collect();
        labels.extend(["EEG EKG1-REF", "PHOTIC-REF", "IBI", "BURSTS"].map(String::from));
        labels
    }

    #[test]
    fn picks_in_montage_order_ignoring_other_labels() {
        let cfg = MontageConfig::default();
        let labels = tusz("-LE", &[]);
        let p = pick(&labels, &cfg).unwrap();
        assert_eq!(p.channels(), cfg.channels.as_slice());
        for (ch, src) in p.channels().iter().zip(p.sources()) {
            let ChannelSource::Label(i) = *src else {
                panic!("{ch} not found")
            };
            assert_eq!(labels[i], format!("EEG {ch}-LE"));
        }
        assert_eq!(p.interpolated().count(), 0);
    }

    #[test]
    fn new_names_are_aliases() {
        let mut labels = tusz("-REF", &["T3", "T4", "T5", "T6"]);
        labels.extend(["EEG T7-REF", "EEG T8-REF", "EEG P7-REF", "EEG P8-REF"].map(String::from));
        let p = pick(&labels, &MontageConfig::default()).unwrap();
        assert!(
            p.sources()
                .iter()
                .all(|s| matches!(s, ChannelSource::Label(_)))
        );
    }

    #[test]
    fn duplicate_names_the_channel_and_labels() {
        let mut labels = tusz("-REF", &[]);
        labels.push("EEG T7-LE".into());
        let err = pick(&labels, &MontageConfig::default()).unwrap_err();
        let MontageError::DuplicateChannel { channel, labels } = err else {
            panic!("{err}")
        };
        assert_eq!(channel, "T3");
        assert_eq!(labels, ["EEG T3-REF", "EEG T7-LE"]);
        // The same label twice: the first copy, reported.
        let mut labels = tusz("-REF", &[]);
        labels.push("EEG T3-REF".into());
        let p = pick(&labels, &MontageConfig::default()).unwrap();
        let t3 = p.channels().iter().position(|c| c == "T3").unwrap();
        let first = labels.iter().position(|l| l == "EEG T3-REF").unwrap();
        assert_eq!(p.sources()[t3], ChannelSource::Label(first));
        assert_eq!(p.warnings().len(), 1);
        assert!(
            p.warnings()[0].contains("channel T3 is recorded 2 times"),
            "{:?}",
            p.warnings()
        );
    }

    #[test]
    fn missing_lists_every_channel_that_cannot_be_interpolated() {
        let labels = tusz("-REF", &["O1", "FZ", "C4"]);
        let err = pick(&labels, &MontageConfig::default()).unwrap_err();
        let MontageError::MissingChannels(missing) = err else {
            panic!("{err}")
        };
        assert_eq!(missing, ["O1", "C4"]);
    }

    #[test]
    fn interpolated_rows_are_a_weighted_sum_of_the_others() {
        let cfg = MontageConfig::default();
        let labels = tusz("-REF", &["FZ", "PZ"]);
        let p = pick(&labels, &cfg).unwrap();
        assert_eq!(p.interpolated().collect::<Vec<_>>(), ["FZ", "PZ"]);
        let n = 2500;
        let signals: Vec<Vec<f64>> = (0..labels.len())
            .map(|i| {
                (0..n)
                    .map(|t| ((t * (i + 3)) as f64 * 0.01).sin())
                    .collect()
            })
            .collect();
        let out = p.apply(|i| &signals[i]).unwrap();
        assert_eq!(out.len(), 19 * n);
        // A constant field is reproduced: the weights of each row sum to one.
        let ones = vec![1.0; n];
        let flat = p.apply(|_| &ones).unwrap();
        assert!(flat.iter().all(|v| (v - 1.0).abs() < 1e-9));
        let good: Vec<&str> = p
            .channels()
            .iter()
            .map(String::as_str)
            .filter(|c| !["FZ", "PZ"].contains(c))
            .collect();
        let m = interpolation_matrix(&good, &["FZ", "PZ"]).unwrap();
        let fz = 8;
        let t = 1234;
        let want: f64 = (0..19)
            .filter(|&c| c != 8 && c != 10)
            .zip(m[..17].iter())
            .map(|(c, w)| w * out[c * n + t])
            .sum();
        assert!((out[fz * n + t] - want).abs() < 1e-12);
    }

    #[test]
    fn unequal_lengths_are_an_error() {
        let labels = tusz("-REF", &[]);
        let long = vec![0.0; 10];
        let short = vec![0.0; 9];
        let p = pick(&labels, &MontageConfig::default()).unwrap();
        let err = p
            .apply(|i| if i == 3 { &short } else { &long })
            .unwrap_err();
        assert!(
            matches!(
                err,
                MontageError::LengthMismatch {
                    len: 9,
                    expected: 10,
                    ..
                }
            ),
            "{err}"
        );
    }
}
