//! Socket readiness for loop-driven ops: a private epoll instance the event loop watches
//! with one `add_reader`, into which ops' sockets are armed one-shot.
//!
//! Watching each op's socket with `loop.add_reader` / `remove_reader` costs two trips
//! through asyncio's selector bookkeeping per op, more than the rest of a query's client
//! side. Here an op costs one `epoll_ctl` (re-arming a registration that stays in place
//! between ops) and the loop wakes for every ready socket at once.
//!
//! `EPOLLONESHOT` makes every registration fire at most once per arm: an op that was
//! cancelled leaves at most one stale event (its key is no longer waited for, and keys are
//! never reused). A registration disappears by itself when its socket is closed, so a file
//! descriptor number reused by a new socket is simply added again.

use std::mem::MaybeUninit;

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::drive::arm_socket;

/// Ready keys taken per `ready()` call; more stay queued in the epoll instance (and keep its
/// file descriptor readable, so the loop calls again).
const BATCH: usize = 256;

/// One per event loop: the epoll instance ops' sockets are armed in.
#[pyclass(frozen, module = "balrog._core", name = "SocketWatch")]
pub struct SocketWatch {
    epfd: libc::c_int,
}

impl Drop for SocketWatch {
    fn drop(&mut self) {
        // SAFETY: we own the fd.
        unsafe { libc::close(self.epfd) };
    }
}

fn os_error() -> PyErr {
    PyOSError::new_err(std::io::Error::last_os_error().to_string())
}

#[pymethods]
impl SocketWatch {
    #[new]
    fn py_new() -> PyResult<Self> {
        // SAFETY: plain syscall.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return Err(os_error());
        }
        Ok(SocketWatch { epfd })
    }

    /// The file descriptor to pass to `loop.add_reader`: readable while an armed socket is.
    fn fileno(&self) -> i32 {
        self.epfd
    }

    /// Report `key` (once) when `fd` is ready for `interest` (1 read, 2 write, 3 either).
    /// A socket that is ready already is reported at the next `ready()`.
    fn arm(&self, fd: i32, interest: u32, key: u64) -> PyResult<()> {
        arm_socket(self.epfd, fd, interest, key).map_err(|err| PyOSError::new_err(err.to_string()))
    }

    /// The keys of the sockets that became ready (never blocks).
    fn ready<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        // Left uninitialised: zeroing 3 KB cost more than the rest of this call, on every
        // turn of the loop, and the kernel writes the first `n` entries we read.
        let mut events = [const { MaybeUninit::<libc::epoll_event>::uninit() }; BATCH];
        // SAFETY: `events` has room for BATCH entries; timeout 0 never blocks.
        let n = unsafe { libc::epoll_wait(self.epfd, events.as_mut_ptr().cast(), BATCH as i32, 0) };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                return Ok(PyList::empty(py));
            }
            return Err(PyOSError::new_err(err.to_string()));
        }
        let count = usize::try_from(n).unwrap_or(0);
        // SAFETY: epoll_wait initialised the first `n` entries.
        PyList::new(
            py,
            events[..count]
                .iter()
                .map(|event| unsafe { event.assume_init_ref() }.u64),
        )
    }
}
