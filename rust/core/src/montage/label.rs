//! EDF channel labels to montage channel names.

use super::MontageConfig;

/// The suffix of SzCORE's common-average channels (`Fp1-Avg`), removed after
/// the config's suffixes. Built in rather than a default of the config's
/// list: that list is hashed into every store's config, and TUSZ has no such
/// label, so no existing store changes.
pub const COMMON_AVERAGE: &str = "-AVG";

/// The montage name an EDF label stands for: whitespace trimmed, upper case,
/// the first matching prefix and suffix of the config removed (case-insensitive),
/// else [`COMMON_AVERAGE`], then aliases applied.
///
/// `"EEG Fp1-REF"` -> `"FP1"`, `"EEG T7-LE"` -> `"T3"`, `"Fp1-Avg"` -> `"FP1"`,
/// `"PHOTIC-REF"` -> `"PHOTIC"` (which no montage channel matches, so picking
/// ignores it).
#[must_use]
pub fn normalize_label(label: &str, cfg: &MontageConfig) -> String {
    // ASCII upper-casing keeps byte lengths, so the prefix/suffix slicing below
    // stays on char boundaries even for non-ASCII labels.
    let upper = label.trim().to_ascii_uppercase();
    let mut s = upper.as_str();
    if let Some(rest) = cfg
        .strip_prefixes
        .iter()
        .find_map(|p| s.strip_prefix(p.to_ascii_uppercase().as_str()))
    {
        s = rest;
    }
    if let Some(rest) = cfg
        .strip_suffixes
        .iter()
        .map(|p| p.to_ascii_uppercase())
        .chain([COMMON_AVERAGE.to_owned()])
        .find_map(|p| s.strip_suffix(p.as_str()).map(str::len))
    {
        s = &s[..rest];
    }
    let s = s.trim();
    cfg.aliases
        .iter()
        .find(|(from, _)| from.eq_ignore_ascii_case(s))
        .map_or_else(|| s.to_owned(), |(_, to)| to.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tusz_labels() {
        let cfg = MontageConfig::default();
        for (label, want) in [
            ("EEG FP1-REF", "FP1"),
            ("EEG FP1-LE", "FP1"),
            ("EEG FP1-AR", "FP1"),
            ("eeg fp1-ref", "FP1"),
            ("  EEG Fz-REF  ", "FZ"),
            ("EEG  CZ -REF", "CZ"),
            ("Fp1", "FP1"),
            ("EEG T7-LE", "T3"),
            ("EEG T8-REF", "T4"),
            ("EEG P7-REF", "T5"),
            ("EEG P8-LE", "T6"),
            ("EEG T3-REF", "T3"),
            ("EEG EKG1-REF", "EKG1"),
            ("PHOTIC-REF", "PHOTIC"),
            ("IBI", "IBI"),
            ("BURSTS", "BURSTS"),
            ("EEG ROC-REF", "ROC"),
            ("EEG 26-REF", "26"),
            ("Fp1-Avg", "FP1"),
            ("EEG Fp1", "FP1"),
            ("T7-Avg", "T3"),
            ("", ""),
        ] {
            assert_eq!(normalize_label(label, &cfg), want, "{label:?}");
        }
    }

    #[test]
    fn config_drives_prefixes_suffixes_and_aliases() {
        let cfg = MontageConfig {
            strip_prefixes: vec!["pol ".into()],
            strip_suffixes: vec!["-avg".into()],
            aliases: [("x1".to_owned(), "fz".to_owned())].into_iter().collect(),
            ..MontageConfig::default()
        };
        assert_eq!(normalize_label("POL Fp1-AVG", &cfg), "FP1");
        assert_eq!(normalize_label("EEG FP1-REF", &cfg), "EEG FP1-REF");
        assert_eq!(normalize_label("X1", &cfg), "FZ");
        assert_eq!(normalize_label("T7", &cfg), "T7");
    }
}
