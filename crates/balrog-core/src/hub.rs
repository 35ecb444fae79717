//! The completion hub of one asyncio event loop: a queue of finished op keys and an eventfd
//! the loop watches with `add_reader`. Producers (tokio threads of any balrog wheel) push a
//! key and write the eventfd only when the queue was empty, so a burst of completions costs
//! the loop one wake-up and one pass.

use std::ffi::c_void;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyList;

pub(crate) struct HubInner {
    queue: Mutex<Vec<u64>>,
    eventfd: libc::c_int,
}

impl HubInner {
    fn new() -> std::io::Result<Self> {
        // SAFETY: plain syscall.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(HubInner {
            queue: Mutex::new(Vec::with_capacity(256)),
            eventfd: fd,
        })
    }

    pub(crate) fn complete(&self, key: u64) {
        let was_empty = {
            let mut queue = self.queue.lock();
            let was_empty = queue.is_empty();
            queue.push(key);
            was_empty
        };
        if was_empty {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our own eventfd. A failure (counter
            // overflow) still leaves the fd readable, so the loop wakes anyway.
            unsafe { libc::write(self.eventfd, (&one as *const u64).cast(), 8) };
        }
    }

    fn drain(&self) -> Vec<u64> {
        let mut counter: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64; EAGAIN (nothing pending) is fine.
        unsafe { libc::read(self.eventfd, (&mut counter as *mut u64).cast(), 8) };
        std::mem::take(&mut *self.queue.lock())
    }
}

impl Drop for HubInner {
    fn drop(&mut self) {
        // SAFETY: we own the fd.
        unsafe { libc::close(self.eventfd) };
    }
}

/// A completion queue plus eventfd, one per event loop.
#[pyclass(frozen, module = "balrog._core", name = "Hub")]
pub struct Hub {
    inner: Arc<HubInner>,
}

#[pymethods]
impl Hub {
    #[new]
    fn py_new() -> PyResult<Self> {
        let inner = HubInner::new().map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(Hub {
            inner: Arc::new(inner),
        })
    }

    /// The file descriptor to pass to `loop.add_reader`.
    fn fileno(&self) -> i32 {
        self.inner.eventfd
    }

    /// The address ops complete into (`Op._start(hub.address, key)`).
    #[getter]
    fn address(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// Take every queued key (and clear the wake-up), oldest first.
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.inner.drain())
    }

    /// Queue a key from Python (tests, and resuming a task from a non-op event).
    fn complete(&self, key: u64) {
        self.inner.complete(key);
    }
}

pub(crate) unsafe extern "C" fn hub_complete(hub: *const c_void, key: u64) {
    // SAFETY (caller): `hub` is a retained `HubInner`.
    unsafe { &*(hub as *const HubInner) }.complete(key);
}

pub(crate) unsafe extern "C" fn hub_retain(hub: *const c_void) {
    // SAFETY (caller): `hub` points into a live Arc<HubInner>.
    unsafe { Arc::increment_strong_count(hub as *const HubInner) };
}

pub(crate) unsafe extern "C" fn hub_release(hub: *const c_void) {
    // SAFETY (caller): balances an earlier `hub_retain`.
    unsafe { Arc::decrement_strong_count(hub as *const HubInner) };
}
