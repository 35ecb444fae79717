//! The C-ABI table that `balrog._core` publishes in a PyCapsule.
//!
//! Every balrog wheel has its own copy of tokio, so runtimes cannot be shared across wheels;
//! the completion queue and its event-loop wake-up can. A wheel's op, when it finishes on a
//! tokio thread, calls `hub_complete` through this table — no GIL, no Python objects.

use std::ffi::c_void;
use std::sync::OnceLock;

use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;

/// Bumped on any incompatible change of [`BridgeApi`].
pub const ABI_VERSION: u32 = 1;
/// `PyCapsule_Import` name of the table.
pub const CAPSULE_NAME: &std::ffi::CStr = c"balrog._core._BRIDGE_API";

#[repr(C)]
pub struct BridgeApi {
    pub abi_version: u32,
    /// Queue `key` on the hub and wake its event loop if the queue was empty. Any thread.
    pub hub_complete: unsafe extern "C" fn(hub: *const c_void, key: u64),
    /// Keep the hub alive while an op may still complete into it.
    pub hub_retain: unsafe extern "C" fn(hub: *const c_void),
    pub hub_release: unsafe extern "C" fn(hub: *const c_void),
}

struct ApiPtr(*const BridgeApi);
// SAFETY: the table is an immutable static of `balrog._core`, an extension module that is
// never unloaded: it lives as long as the process.
unsafe impl Send for ApiPtr {}
unsafe impl Sync for ApiPtr {}

static API: OnceLock<ApiPtr> = OnceLock::new();

/// The table of the loaded `balrog._core`, imported once.
pub fn api(py: Python<'_>) -> PyResult<&'static BridgeApi> {
    if let Some(ptr) = API.get() {
        // SAFETY: see `ApiPtr`.
        return Ok(unsafe { &*ptr.0 });
    }
    // SAFETY: plain C-API call with the GIL held; the name is NUL-terminated.
    let raw = unsafe { pyo3::ffi::PyCapsule_Import(CAPSULE_NAME.as_ptr(), 0) };
    if raw.is_null() {
        return Err(PyErr::take(py).unwrap_or_else(|| {
            PyImportError::new_err("balrog._core does not publish its bridge table")
        }));
    }
    let table = raw as *const BridgeApi;
    // SAFETY: the capsule holds a `BridgeApi` written by `balrog._core`.
    let version = unsafe { (*table).abi_version };
    if version != ABI_VERSION {
        return Err(PyImportError::new_err(format!(
            "balrog-core bridge ABI {version} does not match this wheel's ABI {ABI_VERSION}: \
             install matching balrog wheels"
        )));
    }
    let _ = API.set(ApiPtr(table));
    Ok(unsafe { &*table })
}
