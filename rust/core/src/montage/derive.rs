//! Output channels from electrodes: referential (each electrode as recorded)
//! or bipolar (the difference of two electrodes' referential signals).

use super::{ChannelSource, MontageConfig, MontageError, MontageKind, Pick, normalize_label, pick};

/// The 22 pairs of the TCP bipolar montage ("double banana"), in the order of
/// TUSZ's per-channel `.csv` annotations.
pub const TCP_PAIRS: [&str; 22] = [
    "FP1-F7", "F7-T3", "T3-T5", "T5-O1", "FP2-F8", "F8-T4", "T4-T6", "T6-O2", "A1-T3", "T3-C3",
    "C3-CZ", "CZ-C4", "C4-T4", "T4-A2", "FP1-F3", "F3-C3", "C3-P3", "P3-O1", "FP2-F4", "F4-C4",
    "C4-P4", "P4-O2",
];

/// One output channel: electrode `plus`, minus electrode `minus` when bipolar
/// (indices into [`Pick::channels`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// The electrode taken as is.
    pub plus: usize,
    /// The electrode subtracted (bipolar montages).
    pub minus: Option<usize>,
}

impl Term {
    /// The electrodes this channel reads.
    pub fn electrodes(self) -> impl Iterator<Item = usize> {
        std::iter::once(self.plus).chain(self.minus)
    }
}

/// A recording's channels matched to a montage: build it with [`derive`].
#[derive(Debug, Clone)]
pub struct Montage {
    pick: Pick,
    channels: Vec<String>,
    terms: Vec<Term>,
    warnings: Vec<String>,
}

/// Matches EDF `labels` to the montage of `cfg`: the electrodes by [`pick`]
/// (so labels, aliases, interpolation and optional electrodes work alike for
/// both kinds), then one [`Term`] per output channel.
///
/// An electrode that is missing but interpolable is interpolated from the
/// montage's electrodes that were read, before any difference is taken; a
/// channel needing a missing optional electrode is zeros
/// ([`Montage::present`] is false for it).
///
/// # Errors
/// As [`pick`].
pub fn derive<S: AsRef<str>>(labels: &[S], cfg: &MontageConfig) -> Result<Montage, MontageError> {
    if cfg.kind != MontageKind::Referential
        && let Some(m) = derive_recorded(labels, cfg)?
    {
        return Ok(m);
    }
    let pick = pick(labels, cfg)?;
    let channels = cfg.output_channels()?;
    let index = |name: &str| {
        pick.channels()
            .iter()
            .position(|e| e == name)
            .ok_or_else(|| MontageError::BadParameter {
                name: "montage.pairs",
                reason: format!("electrode {name} is not in the montage"),
            })
    };
    let terms = if channels == pick.channels() {
        (0..channels.len())
            .map(|plus| Term { plus, minus: None })
            .collect()
    } else {
        channels
            .iter()
            .map(|ch| {
                let (a, b) = ch.split_once('-').unwrap_or((ch, ""));
                Ok(Term {
                    plus: index(a)?,
                    minus: Some(index(b)?),
                })
            })
            .collect::<Result<_, MontageError>>()?
    };
    Ok(Montage {
        warnings: pick.warnings().to_vec(),
        pick,
        channels,
        terms,
    })
}

/// The pair a label records (`T7-P7` is `T3-T5`: each side normalised and
/// aliased like an electrode), or `None` for a label of one electrode.
fn recorded_pair(label: &str, cfg: &MontageConfig) -> Option<String> {
    let name = normalize_label(label, cfg);
    let (a, b) = name.split_once('-')?;
    let side = |e: &str| normalize_label(e, cfg);
    (!a.is_empty() && !b.is_empty()).then(|| format!("{}-{}", side(a), side(b)))
}

/// The bipolar montage of a file that records some of its pairs (CHB-MIT's
/// `FP1-F7`...): those taken as recorded (the first label of each, a
/// repeated one reported), the others derived from the file's electrodes
/// where it has both, else zeros marked absent. `None` when the file records
/// none of the pairs: it is then derived from its electrodes as usual.
fn derive_recorded<S: AsRef<str>>(
    labels: &[S],
    cfg: &MontageConfig,
) -> Result<Option<Montage>, MontageError> {
    let channels = cfg.output_channels()?;
    let mut recorded: Vec<Vec<usize>> = vec![Vec::new(); channels.len()];
    for (i, label) in labels.iter().enumerate() {
        if let Some(pair) = recorded_pair(label.as_ref(), cfg)
            && let Some(c) = channels
                .iter()
                .position(|ch| ch.eq_ignore_ascii_case(&pair))
        {
            recorded[c].push(i);
        }
    }
    if recorded.iter().all(Vec::is_empty) {
        return Ok(None);
    }
    let mut warnings: Vec<String> = recorded
        .iter()
        .zip(&channels)
        .filter(|(idx, _)| idx.len() > 1)
        .map(|(idx, ch)| {
            let names: Vec<&str> = idx.iter().map(|&i| labels[i].as_ref()).collect();
            format!(
                "channel {ch} is recorded {} times ({names:?}): the first copy is used",
                idx.len()
            )
        })
        .collect();
    // The pairs it does not record come from electrodes, where both are there.
    let relaxed = MontageConfig {
        optional: Some(cfg.electrodes()?),
        interpolate: Vec::new(),
        ..cfg.clone()
    };
    let mut pick = pick(labels, &relaxed)?;
    warnings.extend(pick.warnings().iter().cloned());
    let index = |pick: &Pick, name: &str| pick.channels().iter().position(|e| e == name);
    let mut terms = Vec::with_capacity(channels.len());
    for (ch, idx) in channels.iter().zip(&recorded) {
        let term = match idx.first() {
            Some(&label) => Term {
                plus: pick.push_recorded(ch, label),
                minus: None,
            },
            None => {
                let (a, b) = ch.split_once('-').unwrap_or((ch, ""));
                let missing = || MontageError::BadParameter {
                    name: "montage.pairs",
                    reason: format!("electrode of {ch} is not in the montage"),
                };
                Term {
                    plus: index(&pick, a).ok_or_else(missing)?,
                    minus: Some(index(&pick, b).ok_or_else(missing)?),
                }
            }
        };
        terms.push(term);
    }
    Ok(Some(Montage {
        pick,
        channels,
        terms,
        warnings,
    }))
}

/// Whether `labels` record pairs of the TCP montage (a bipolar file, which a
/// referential montage cannot read).
pub fn records_tcp_pairs<S: AsRef<str>>(labels: &[S], cfg: &MontageConfig) -> bool {
    labels.iter().any(|l| {
        recorded_pair(l.as_ref(), cfg)
            .is_some_and(|p| TCP_PAIRS.iter().any(|t| t.eq_ignore_ascii_case(&p)))
    })
}

impl Montage {
    /// The output channel names, in order.
    #[must_use]
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// How each output channel is formed, in the order of [`Montage::channels`].
    #[must_use]
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// What looked wrong in the labels (a pair recorded twice).
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The electrodes and where each comes from.
    #[must_use]
    pub fn pick(&self) -> &Pick {
        &self.pick
    }

    /// Whether each output channel holds data: false when it needs a missing
    /// optional electrode (it is then zeros).
    #[must_use]
    pub fn present(&self) -> Vec<bool> {
        let sources = self.pick.sources();
        self.terms
            .iter()
            .map(|t| t.electrodes().all(|e| sources[e] != ChannelSource::Missing))
            .collect()
    }

    /// The montage as a row-major `[C, n]` matrix (physical values): the
    /// electrodes by [`Pick::apply`], then each output row its term.
    ///
    /// # Errors
    /// As [`Pick::apply`].
    pub fn apply<'a>(&self, signal: impl Fn(usize) -> &'a [f64]) -> Result<Vec<f64>, MontageError> {
        let electrodes = self.pick.apply(signal)?;
        let n = electrodes
            .len()
            .checked_div(self.pick.channels().len())
            .unwrap_or(0);
        let row = |e: usize| &electrodes[e * n..(e + 1) * n];
        let present = self.present();
        let mut out = vec![0.0; self.terms.len() * n];
        for ((t, y), present) in self
            .terms
            .iter()
            .zip(out.chunks_exact_mut(n.max(1)))
            .zip(present)
        {
            if !present {
                continue;
            }
            y.copy_from_slice(row(t.plus));
            if let Some(m) = t.minus {
                for (y, x) in y.iter_mut().zip(row(m)) {
                    *y -= x;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::montage::MontageKind;

    fn tcp() -> MontageConfig {
        let mut cfg = MontageConfig {
            kind: MontageKind::Tcp,
            ..MontageConfig::default()
        };
        cfg.resolve().unwrap();
        cfg
    }

    /// TUSZ-like labels for `electrodes`, in reverse order, plus non-EEG signals.
    fn labels(electrodes: &[&str], suffix: &str) -> Vec<String> {
        let mut out: Vec<String> = electrodes
            .iter()
            .rev()
            .map(|e| format!("EEG {e}{suffix}"))
            .collect();
        out.extend(["EEG EKG1-REF", "PHOTIC-REF"].map(String::from));
        out
    }

    const AR: [&str; 21] = [
        "FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8", "T3", "T4", "T5",
        "T6", "A1", "A2", "FZ", "CZ", "PZ",
    ];

    #[test]
    fn tcp_channels_are_differences_of_referential_signals() {
        let labels = labels(&AR, "-LE");
        let m = derive(&labels, &tcp()).unwrap();
        assert_eq!(m.channels().len(), 22);
        assert_eq!(m.channels()[8], "A1-T3");
        assert!(m.present().iter().all(|&p| p));
        let n = 50;
        let signals: Vec<Vec<f64>> = (0..labels.len())
            .map(|i| (0..n).map(|t| (i * 100 + t) as f64).collect())
            .collect();
        let out = m.apply(|i| &signals[i]).unwrap();
        let of = |e: &str| {
            &signals[labels
                .iter()
                .position(|l| l == &format!("EEG {e}-LE"))
                .unwrap()]
        };
        for (c, pair) in TCP_PAIRS.iter().enumerate() {
            let (a, b) = pair.split_once('-').unwrap();
            for t in [0, 17, n - 1] {
                assert_eq!(out[c * n + t], of(a)[t] - of(b)[t], "{pair}");
            }
        }
    }

    #[test]
    fn missing_optional_electrodes_give_zero_rows() {
        let without: Vec<&str> = AR.iter().copied().filter(|e| !e.starts_with('A')).collect();
        let labels = labels(&without, "-REF");
        let m = derive(&labels, &tcp()).unwrap();
        let absent: Vec<&str> = m
            .channels()
            .iter()
            .zip(m.present())
            .filter(|(_, p)| !p)
            .map(|(c, _)| c.as_str())
            .collect();
        assert_eq!(absent, ["A1-T3", "T4-A2"]);
        assert_eq!(m.pick().missing().collect::<Vec<_>>(), ["A1", "A2"]);
        let ones = vec![1.5; 8];
        let out = m.apply(|_| &ones).unwrap();
        assert!(out[8 * 8..9 * 8].iter().all(|&v| v == 0.0));
        // Without optional electrodes, their absence is a skip like any other.
        let mut strict = tcp();
        strict.optional = Some(Vec::new());
        let err = derive(&labels, &strict).unwrap_err();
        assert!(
            matches!(&err, MontageError::MissingChannels(m) if m == &["A1", "A2"]),
            "{err}"
        );
    }

    #[test]
    fn bipolar_pairs_interpolate_before_the_difference() {
        let cfg = MontageConfig::from_json(
            r#"{"kind": "bipolar", "pairs": ["fz-cz", "CZ-PZ", "C3-C4", "F3-P3"]}"#,
        )
        .unwrap();
        assert_eq!(
            cfg.output_channels().unwrap(),
            ["FZ-CZ", "CZ-PZ", "C3-C4", "F3-P3"]
        );
        let labels = labels(&["C3", "C4", "F3", "P3", "CZ"], "-REF");
        let m = derive(&labels, &cfg).unwrap();
        assert_eq!(m.pick().interpolated().collect::<Vec<_>>(), ["FZ", "PZ"]);
        // A constant field interpolates to itself: every difference is zero.
        let ones = vec![1.0; 4];
        assert!(m.apply(|_| &ones).unwrap().iter().all(|v| v.abs() < 1e-9));
    }

    #[test]
    fn bad_pairs_are_named() {
        for (json, want) in [
            (r#"{"kind": "bipolar"}"#, "at least one pair"),
            (
                r#"{"kind": "bipolar", "pairs": ["FP1F7"]}"#,
                "\"FP1F7\" is not two electrodes",
            ),
            (
                r#"{"kind": "bipolar", "pairs": ["A-B-C"]}"#,
                "joined by one '-'",
            ),
            (r#"{"pairs": ["FP1-F7"]}"#, "referential"),
            (
                r#"{"kind": "tcp", "pairs": ["FP1-F7"]}"#,
                "kind \"bipolar\"",
            ),
            (
                r#"{"kind": "tcp", "channels": ["FP1"]}"#,
                "montage.channels",
            ),
        ] {
            let e = MontageConfig::from_json(json).unwrap_err().to_string();
            assert!(e.contains(want), "{json}: {e}");
        }
    }

    #[test]
    fn tcp_resolves_to_explicit_pairs_and_round_trips() {
        let cfg = tcp();
        assert_eq!(cfg.pairs.as_ref().map(Vec::len), Some(22));
        assert_eq!(cfg.optional_electrodes(), ["A1", "A2"]);
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(MontageConfig::from_json(&json).unwrap(), cfg);
        // The referential default writes none of the bipolar fields.
        let json = serde_json::to_string(&MontageConfig::default()).unwrap();
        assert!(!json.contains("kind") && !json.contains("pairs") && !json.contains("optional"));
    }
}
