//! Signal processing: filter design and filtering, resampling.

/// A signal-processing step got arguments it cannot work with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DspError {
    /// A parameter is out of its valid range.
    #[error("invalid {name}: {value} ({reason})")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// Its value, formatted.
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
}
