//! The I/O runtime that every transfer runs on, whichever thread asks.

use std::sync::{Arc, Mutex, OnceLock};

/// The I/O runtime: two threads drive every transfer in flight. Made anew in a
/// forked child (a DataLoader worker), where the parent's threads do not exist.
pub(crate) fn runtime() -> Arc<tokio::runtime::Runtime> {
    /// The runtime and the process that started it.
    type Owned = Option<(u32, Arc<tokio::runtime::Runtime>)>;
    static RT: OnceLock<Mutex<Owned>> = OnceLock::new();
    let slot = RT.get_or_init(|| Mutex::new(None));
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    let pid = std::process::id();
    if let Some((owner, rt)) = slot.as_ref()
        && *owner == pid
    {
        return rt.clone();
    }
    let rt = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("brainbrr-io")
            .enable_all()
            .build()
            // ok: no input reaches this; only an OS that refuses two threads fails it.
            .unwrap_or_else(|e| panic!("cannot start the I/O runtime: {e}")),
    );
    // A runtime inherited over fork has no threads: it is leaked, never dropped
    // (dropping would wait for threads that do not exist in this process).
    if let Some((_, old)) = slot.replace((pid, rt.clone())) {
        std::mem::forget(old);
    }
    rt
}
