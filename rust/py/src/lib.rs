//! Python bindings of brainbrr-core: argument conversion, GIL release and
//! error mapping only. Every decision lives in the core.

use pyo3::prelude::*;

mod dsp;
mod edf;
mod error;
mod gather;
mod ingest;
mod labels;
mod montage;
mod store;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    edf::register(m)?;
    dsp::register(m)?;
    montage::register(m)?;
    labels::register(m)?;
    store::register(m)?;
    ingest::register(m)?;
    gather::register(m)?;
    Ok(())
}
