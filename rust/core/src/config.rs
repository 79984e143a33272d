//! The preprocessing configuration: every parameter that shapes the stored
//! signals, its canonical JSON (what the store records) and its hash (what
//! resume and ingest compare).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::labels::LabelConfig;
use crate::montage::MontageConfig;

/// Why a preprocessing config cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The JSON does not parse, names an unknown key, or holds a value of the
    /// wrong type (the message gives its dotted path).
    #[error("invalid preprocessing config: {0}")]
    Parse(String),
    /// A parameter is out of its valid range.
    #[error("{name}: {value} {reason}")]
    InvalidParameter {
        /// The parameter's dotted path.
        name: &'static str,
        /// Its value, formatted.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
}

impl ConfigError {
    /// Shorthand for [`ConfigError::InvalidParameter`].
    fn invalid(name: &'static str, value: impl ToString, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Every preprocessing parameter; `Default` gives the DESIGN.md defaults, the
/// old pipeline's: 256 Hz by FFT, Butterworth 3 0.5-120 Hz and a 60 Hz notch
/// applied causally, per-channel z-score, 60 s windows every 10 s, float32.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PreprocessConfig {
    /// Which channels, in which order (picked before preprocessing).
    pub montage: MontageConfig,
    /// Sampling rate of the output, Hz.
    pub target_fs: f64,
    /// How the signals are brought to `target_fs`.
    pub resample: ResampleMethod,
    /// Butterworth bandpass; `None` (JSON null) disables it.
    pub bandpass: Option<BandpassConfig>,
    /// IIR notch; `None` (JSON null) disables it.
    pub notch: Option<NotchConfig>,
    /// Causal (`lfilter`) or zero-phase (forward-backward) filtering.
    pub filter_mode: FilterMode,
    /// Per-channel z-score over the recording; `None` (JSON null) disables it.
    pub zscore: Option<ZScoreConfig>,
    /// Clip the output to `[-clip, clip]` after normalization.
    pub clip: Option<f32>,
    /// Window length, seconds.
    pub window_s: f64,
    /// Step between window starts, seconds.
    pub stride_s: f64,
    /// Sample type of the stored signals.
    pub dtype: Dtype,
    /// Which annotation files to read and which labels count as seizure.
    pub labels: LabelConfig,
}

/// Resampling method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResampleMethod {
    /// `scipy.signal.resample`: output length round(n * fs_out / fs_in), exactly `target_fs`.
    Fft,
    /// `scipy.signal.resample_poly` by the rational approximation of the rate
    /// ratio (see [`crate::dsp::poly::rational_ratio`]).
    Poly,
}

/// Butterworth bandpass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BandpassConfig {
    /// Filter order (the bandpass has twice as many poles).
    pub order: usize,
    /// Low cutoff, Hz.
    pub low: f64,
    /// High cutoff, Hz; below the Nyquist frequency of `target_fs`.
    pub high: f64,
    /// Run as one transfer function (`ba`, the old pipeline's `lfilter(b, a)`)
    /// or as second-order sections (`sos`, numerically safer at high orders).
    pub form: FilterForm,
}

/// How an IIR filter is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterForm {
    /// Transfer function `b / a`.
    Ba,
    /// Second-order sections.
    Sos,
}

/// IIR notch (`scipy.signal.iirnotch`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotchConfig {
    /// Notch frequency, Hz (power-line).
    pub freq: f64,
    /// Quality factor: `freq / bandwidth`.
    pub q: f64,
}

/// Filtering direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterMode {
    /// One forward pass (`lfilter`), zero initial state.
    Causal,
    /// Forward and backward (`filtfilt`), odd padding, steady-state initial state.
    ZeroPhase,
}

/// Per-channel z-score: `(x - mean) / (std + eps)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZScoreConfig {
    /// Added to the standard deviation.
    pub eps: f64,
}

/// Sample type of the stored signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dtype {
    /// IEEE half precision.
    Float16,
    /// IEEE single precision.
    Float32,
}

impl Default for PreprocessConfig {
    fn default() -> Self {
        Self {
            montage: MontageConfig::default(),
            target_fs: 256.0,
            resample: ResampleMethod::Fft,
            bandpass: Some(BandpassConfig::default()),
            notch: Some(NotchConfig::default()),
            filter_mode: FilterMode::Causal,
            zscore: Some(ZScoreConfig::default()),
            clip: None,
            window_s: 60.0,
            stride_s: 10.0,
            dtype: Dtype::Float32,
            labels: LabelConfig::default(),
        }
    }
}

impl Default for BandpassConfig {
    fn default() -> Self {
        Self {
            order: 3,
            low: 0.5,
            high: 120.0,
            form: FilterForm::Ba,
        }
    }
}

impl Default for NotchConfig {
    fn default() -> Self {
        Self {
            freq: 60.0,
            q: 30.0,
        }
    }
}

impl Default for ZScoreConfig {
    fn default() -> Self {
        Self { eps: 1e-8 }
    }
}

impl PreprocessConfig {
    /// Parses and validates a config; absent fields take their defaults,
    /// a list given under its key replaces the default list, and under its
    /// key with `+` appended (`"background_labels+": ["arti"]`) extends it,
    /// some of which follow `target_fs` (see [`Self::follow_target_fs`]), and
    /// the montage's kind is written out ([`MontageConfig::resolve`]).
    ///
    /// # Errors
    /// [`ConfigError::Parse`] if `json` is not JSON, or names an unknown key or
    /// a value of the wrong type (the message gives its dotted path:
    /// `bandpass.hi: unknown key`), [`ConfigError::InvalidParameter`] if a value
    /// is out of range (see [`Self::validate`]).
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let mut given: Value =
            serde_json::from_str(json).map_err(|e| ConfigError::Parse(e.to_string()))?;
        extend_lists(&mut given, &canonical(&Self::default()), "")?;
        // From a `Value`, serde's messages carry no JSON position; the path
        // names the parameter instead.
        let mut cfg: Self = serde_path_to_error::deserialize(&given).map_err(|e| {
            let path = e.path().to_string();
            let message = e.inner().to_string();
            // The path ends with the unknown key itself.
            let message = match message.strip_prefix("unknown field `") {
                Some(rest) => match rest.split_once("`, expected ") {
                    Some((_, expected)) => format!("unknown key (expected {expected})"),
                    None => "unknown key".to_owned(),
                },
                None => message,
            };
            ConfigError::Parse(format!("{path}: {message}"))
        })?;
        cfg.follow_target_fs(&given);
        cfg.montage
            .resolve()
            .map_err(|e| ConfigError::Parse(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Defaults that depend on the output rate, applied where `given` (the
    /// parsed JSON) leaves them out: `bandpass.high` keeps the default's
    /// ratio to Nyquist (120 Hz of 128 Hz) up to 120 Hz (93.75 Hz at 200 Hz),
    /// and the default 60 Hz notch is dropped when it is not below Nyquist
    /// (the resampling already removed that frequency).
    fn follow_target_fs(&mut self, given: &Value) {
        let nyquist = self.target_fs / 2.0;
        if let Some(bp) = &mut self.bandpass
            && given.pointer("/bandpass/high").is_none()
        {
            bp.high = default_high(self.target_fs);
        }
        if given.get("notch").is_none() && self.notch.as_ref().is_some_and(|n| n.freq >= nyquist) {
            self.notch = None;
        }
    }

    /// Canonical JSON: keys sorted at every level, no whitespace, floats in
    /// their shortest round-trip form; equal configs give identical bytes.
    pub fn to_canonical_json(&self) -> String {
        canonical(self).to_string()
    }

    /// SHA-256 of [`Self::to_canonical_json`] without the [`WINDOW_KEYS`],
    /// lowercase hex (64 characters): the hash of what shapes the stored
    /// signals and labels, so a store re-windowed keeps its recordings.
    pub fn hash(&self) -> String {
        let mut signals = canonical(self);
        if let Value::Object(map) = &mut signals {
            for key in WINDOW_KEYS {
                map.remove(key);
            }
        }
        Sha256::digest(signals.to_string().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The parameters that differ, as `(path, self's value, other's value)`
    /// with dotted paths (`bandpass.high`) and values as canonical JSON.
    pub fn diff(&self, other: &Self) -> Vec<(String, String, String)> {
        crate::json::diff(&canonical(self), &canonical(other))
    }

    /// Checks every value against its range.
    ///
    /// # Errors
    /// [`ConfigError::InvalidParameter`] naming the first parameter out of range,
    /// e.g. `bandpass.high` at or above the Nyquist frequency of `target_fs`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = |name: &'static str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(ConfigError::invalid(name, v, "must be positive and finite"))
            }
        };
        positive("target_fs", self.target_fs)?;
        positive("window_s", self.window_s)?;
        positive("stride_s", self.stride_s)?;
        let nyq = self.target_fs / 2.0;
        let below_nyquist = |name: &'static str, v: f64| {
            let reason = if v.is_nan() || v <= 0.0 {
                "must be above 0 Hz".to_owned()
            } else if v >= nyq {
                let at = if v == nyq { "at" } else { "above" };
                format!(
                    "is {at} Nyquist ({nyq} Hz) for target_fs {} Hz",
                    self.target_fs
                )
            } else {
                return Ok(());
            };
            Err(ConfigError::invalid(name, format!("{v} Hz"), reason))
        };
        if let Some(bp) = &self.bandpass {
            if !(1..=32).contains(&bp.order) {
                return Err(ConfigError::invalid(
                    "bandpass.order",
                    bp.order,
                    "must be between 1 and 32",
                ));
            }
            below_nyquist("bandpass.low", bp.low)?;
            below_nyquist("bandpass.high", bp.high)?;
            if bp.low >= bp.high {
                return Err(ConfigError::invalid(
                    "bandpass.low",
                    bp.low,
                    format!("must be below bandpass.high = {}", bp.high),
                ));
            }
        }
        if let Some(n) = &self.notch {
            below_nyquist("notch.freq", n.freq)?;
            positive("notch.q", n.q)?;
        }
        if let Some(z) = &self.zscore
            && !(z.eps >= 0.0 && z.eps.is_finite())
        {
            return Err(ConfigError::invalid(
                "zscore.eps",
                z.eps,
                "must be non-negative and finite",
            ));
        }
        if let Some(c) = self.clip {
            positive("clip", f64::from(c))?;
        }
        Ok(())
    }
}

/// Replaces each `key+` of `given` (at any depth) by `key`: the list
/// `defaults` holds at that place followed by the given list.
fn extend_lists(given: &mut Value, defaults: &Value, path: &str) -> Result<(), ConfigError> {
    let Value::Object(map) = given else {
        return Ok(());
    };
    let extended: Vec<String> = map.keys().filter(|k| k.ends_with('+')).cloned().collect();
    for key in extended {
        let name = &key[..key.len() - 1];
        let at = format!("{path}{name}");
        if map.contains_key(name) {
            return Err(ConfigError::Parse(format!(
                "{at}: given both as {name:?} (replace) and {key:?} (extend)"
            )));
        }
        let default = match defaults.get(name) {
            Some(Value::Array(items)) => items.clone(),
            _ => {
                return Err(ConfigError::Parse(format!(
                    "{at}+: only a list can be extended, and the default {at} is none"
                )));
            }
        };
        let Some(Value::Array(more)) = map.remove(&key) else {
            return Err(ConfigError::Parse(format!("{at}+: must be a list")));
        };
        map.insert(
            name.to_owned(),
            Value::Array(default.into_iter().chain(more).collect()),
        );
    }
    for (key, value) in map.iter_mut() {
        if let Some(default) = defaults.get(key) {
            extend_lists(value, default, &format!("{path}{key}."))?;
        }
    }
    Ok(())
}

/// The config keys that shape the window index only: stores that differ in
/// them hold the same signals and labels, and [`PreprocessConfig::hash`]
/// leaves them out (stores written before they left it carry
/// the older hash: [`crate::store::RootMeta::same_signals`]).
pub const WINDOW_KEYS: [&str; 2] = ["window_s", "stride_s"];

/// The default `bandpass.high` at `target_fs`: 120 Hz, or the same fraction
/// of a lower Nyquist frequency (120 / 128).
#[must_use]
pub fn default_high(target_fs: f64) -> f64 {
    let d = BandpassConfig::default().high;
    d.min(target_fs / 2.0 * d / 128.0)
}

/// The config as a JSON value with keys sorted at every level: explicit,
/// because another crate may turn on serde_json's `preserve_order`.
fn canonical(cfg: &PreprocessConfig) -> Value {
    // ok: every field serializes (maps have string keys; NaN is written as null).
    sorted(serde_json::to_value(cfg).unwrap_or(Value::Null))
}

fn sorted(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_hash_stably() {
        let cfg = PreprocessConfig::default();
        let json = cfg.to_canonical_json();
        let back = PreprocessConfig::from_json(&json).unwrap();
        assert_eq!(back, cfg);
        assert_eq!(back.hash(), cfg.hash());
        assert_eq!(cfg.hash().len(), 64);
        assert!(
            json.starts_with(
                "{\"bandpass\":{\"form\":\"ba\",\"high\":120.0,\"low\":0.5,\"order\":3}"
            ),
            "{json}"
        );
        // Partial input takes the defaults.
        assert_eq!(PreprocessConfig::from_json("{}").unwrap(), cfg);
        let partial = PreprocessConfig::from_json(r#"{"bandpass": {"high": 100}}"#).unwrap();
        assert_eq!(
            partial.bandpass.map(|b| (b.order, b.high)),
            Some((3, 100.0))
        );
    }

    #[test]
    fn any_change_changes_the_hash_and_the_diff_names_it() {
        let a = PreprocessConfig::default();
        let mut b = a.clone();
        b.notch = None;
        b.target_fs = 200.0;
        assert_ne!(a.hash(), b.hash());
        let d = a.diff(&b);
        let paths: Vec<&str> = d.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(paths, ["notch", "target_fs"]);
        assert_eq!((d[1].1.as_str(), d[1].2.as_str()), ("256.0", "200.0"));
        assert!(a.diff(&a).is_empty());
    }

    #[test]
    fn invalid_values_are_named() {
        let err = |json: &str| PreprocessConfig::from_json(json).unwrap_err().to_string();
        let e = err(r#"{"bandpass": {"high": 128}}"#);
        assert!(e.contains("bandpass.high") && e.contains("Nyquist"), "{e}");
        assert!(err(r#"{"bandpass": {"low": 50, "high": 40}}"#).contains("bandpass.low"));
        assert!(err(r#"{"notch": {"q": 0}}"#).contains("notch.q"));
        assert!(err(r#"{"clip": -1}"#).contains("clip"));
        assert!(err(r#"{"target_fs": 0}"#).contains("target_fs"));
        assert_eq!(
            err(r#"{"bandpass": {"high": 120}, "target_fs": 200}"#),
            "bandpass.high: 120 Hz is above Nyquist (100 Hz) for target_fs 200 Hz"
        );
        assert!(err(r#"{"bogus": 1}"#).starts_with(
            "invalid preprocessing config: bogus: unknown key (expected one of `montage`"
        ));
        assert!(err(r#"{"bandpass": {"hi": 1}}"#).contains("bandpass.hi: unknown key"));
        assert!(err(r#"{"montage": {"kind": "tcp", "x": 1}}"#).contains("montage.x: unknown key"));
        let e = err(r#"{"bandpass": {"high": "x"}}"#);
        assert!(
            e.contains("bandpass.high: invalid type: string \"x\""),
            "{e}"
        );
        assert!(!e.contains("line"), "{e}");
        assert!(err(r#"{"resample": "linear"}"#).contains("resample: unknown variant"));
        assert!(err(r#"{"montage": {"kind": "bipolar"}}"#).contains("montage.pairs"));
    }

    #[test]
    fn defaults_follow_target_fs_unless_given() {
        let cfg = PreprocessConfig::from_json(r#"{"target_fs": 200}"#).unwrap();
        assert_eq!(cfg.bandpass.as_ref().map(|b| b.high), Some(93.75));
        assert!(cfg.notch.is_some());
        // Canonical JSON holds the value: it reads back the same.
        assert_eq!(
            PreprocessConfig::from_json(&cfg.to_canonical_json()).unwrap(),
            cfg
        );
        let cfg = PreprocessConfig::from_json(r#"{"target_fs": 512}"#).unwrap();
        assert_eq!(cfg.bandpass.map(|b| b.high), Some(120.0));
        let cfg =
            PreprocessConfig::from_json(r#"{"target_fs": 200, "bandpass": {"high": 70}}"#).unwrap();
        assert_eq!(cfg.bandpass.map(|b| b.high), Some(70.0));
        let cfg = PreprocessConfig::from_json(r#"{"target_fs": 100}"#).unwrap();
        assert!(cfg.notch.is_none());
        assert!(
            PreprocessConfig::from_json(r#"{"target_fs": 100, "notch": {"freq": 60}}"#).is_err()
        );
    }

    #[test]
    fn lists_are_replaced_or_extended() {
        let defaults = PreprocessConfig::default().labels.background_labels;
        let cfg = PreprocessConfig::from_json(r#"{"labels": {"background_labels": ["x"]}}"#);
        assert_eq!(cfg.unwrap().labels.background_labels, ["x"]);
        let cfg = PreprocessConfig::from_json(r#"{"labels": {"background_labels+": ["x"]}}"#);
        let mut both = defaults.clone();
        both.push("x".to_owned());
        assert_eq!(cfg.unwrap().labels.background_labels, both);
        let err = |json: &str| PreprocessConfig::from_json(json).unwrap_err().to_string();
        assert!(
            err(r#"{"labels": {"background_labels": [], "background_labels+": ["x"]}}"#)
                .contains("labels.background_labels: given both"),
        );
        assert!(err(r#"{"target_fs+": [1]}"#).contains("target_fs+: only a list"));
        assert!(
            err(r#"{"labels": {"background_labels+": "x"}}"#)
                .contains("labels.background_labels+: must be a list")
        );
    }

    #[test]
    fn the_window_keys_leave_the_hash() {
        // The hash of the default config: of its signal keys only since the
        // window keys left it (c095c161... with them, before).
        let cfg = PreprocessConfig::default();
        assert_eq!(
            cfg.hash(),
            "4629eef1e3af3ee16d7a1d3e8e3c87875e1257ae00af7853fad7a1fe61ff55b2"
        );
        let rewindowed = PreprocessConfig::from_json(r#"{"window_s": 30, "stride_s": 5}"#).unwrap();
        assert_eq!(rewindowed.hash(), cfg.hash());
        assert_ne!(rewindowed, cfg);
    }

    #[test]
    fn referential_hash_is_unchanged_by_bipolar_fields() {
        let cfg = PreprocessConfig::default();
        let tcp = PreprocessConfig::from_json(r#"{"montage": {"kind": "tcp"}}"#).unwrap();
        assert_ne!(tcp.hash(), cfg.hash());
        assert_eq!(
            tcp.diff(&cfg)
                .iter()
                .map(|d| d.0.as_str())
                .collect::<Vec<_>>(),
            ["montage.kind", "montage.optional", "montage.pairs"]
        );
    }
}
