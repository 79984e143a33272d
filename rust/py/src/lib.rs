//! Python bindings of brainbrr-core: argument conversion, GIL release and
//! error mapping only. Every decision lives in the core.

use pyo3::prelude::*;

mod dsp;
mod edf;
mod error;
mod montage;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    edf::register(m)?;
    dsp::register(m)?;
    montage::register(m)?;
    Ok(())
}
