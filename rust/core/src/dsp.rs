//! Signal processing: filter design and filtering, resampling.
//!
//! Each function reproduces the numbers of its `scipy.signal` namesake (same
//! algorithm, same operation order where it matters, f64 throughout), so that
//! the Python tests can hold them to scipy within rounding.
//!
//! - [`butter`]: Butterworth design (`butter`) and `iirnotch`, as zeros/poles/gain.
//! - [`zpk`]: `zpk2tf` and `zpk2sos` (scipy's "nearest" pole-zero pairing).
//! - [`filter`]: `lfilter`, `sosfilt`, their steady-state initial conditions
//!   and the forward-backward `filtfilt` / `sosfiltfilt` with odd padding.
//! - [`resample`]: FFT resampling (`resample`) and polyphase (`resample_poly`).

pub mod butter;
pub mod filter;
pub mod firwin;
pub mod poly;
pub mod resample;
pub mod zpk;

/// A signal-processing step got arguments it cannot work with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DspError {
    /// A parameter is out of its valid range.
    #[error("{name}: {value} {reason}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// Its value, formatted.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A signal's length does not fit the shape it is said to have.
    #[error("signal of {len} samples is not {n_channels} channels of equal length")]
    Shape {
        /// Number of samples given.
        len: usize,
        /// Number of channels it should split into.
        n_channels: usize,
    },
    /// A sample is NaN or infinite.
    #[error("non-finite sample {value} in channel {channel} at index {index}")]
    NonFinite {
        /// Channel (row) of the sample.
        channel: usize,
        /// Index of the sample in its channel.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// The configuration could not be parsed.
    #[error("invalid preprocessing config: {0}")]
    Config(String),
    /// The preprocessing config is invalid (checked again where it is used).
    #[error(transparent)]
    InvalidConfig(#[from] crate::config::ConfigError),
}

impl DspError {
    /// Shorthand for [`DspError::InvalidParameter`].
    pub(crate) fn invalid(
        name: &'static str,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidParameter {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
