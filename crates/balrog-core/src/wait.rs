//! Blocking waits: drive a future on the calling thread with the GIL released.
//!
//! The future is polled right here rather than on a tokio worker, so a request written to a
//! socket leaves without a thread hop. Every [`SIGNAL_CHECK_INTERVAL`] the GIL is taken back
//! to run Python's signal handlers: Ctrl-C raises `KeyboardInterrupt`, and dropping the
//! future on the way out cancels the operation.

use std::future::Future;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use pyo3::exceptions::PyTimeoutError;

use pyo3::prelude::*;

use crate::drive::Polled;
use crate::eager;
use crate::runtime::{runtime, Exec};

pub(crate) const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// Wait for `fut` with the GIL released, interruptible by signals (Ctrl-C).
///
/// For short helpers inside a wheel (a close, a handshake). It always blocks the thread:
/// ordinary I/O entry points should return an [`crate::Op`] so green callers can suspend.
pub fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    block_on_exec(py, &Exec::Shared, fut, None, None)
}

/// Block until `fut` finishes, a signal handler raises, or `deadline` passes (then
/// `TimeoutError`; the future is dropped, which cancels it).
///
/// `socket`: the op's socket, for an op built with [`crate::Op::on_socket`] on a dedicated
/// runtime. Its first poll may then read the answer at once, before the runtime's driver
/// waits for readiness (eager.rs).
pub(crate) fn block_on_exec<F>(
    py: Python<'_>,
    exec: &Exec,
    fut: F,
    deadline: Option<Instant>,
    socket: Option<RawFd>,
) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let shared;
    let rt = match exec {
        Exec::Shared => {
            shared = runtime();
            &*shared
        }
        Exec::Dedicated(rt) => &**rt,
    };
    let mut fut = std::pin::pin!(fut);
    let mut eager_socket = match exec {
        Exec::Dedicated(_) => socket.filter(|_| eager::worth_trying()),
        Exec::Shared => None,
    };
    loop {
        let slice = match deadline {
            None => SIGNAL_CHECK_INTERVAL,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(PyTimeoutError::new_err("the balrog operation timed out"));
                }
                left.min(SIGNAL_CHECK_INTERVAL)
            }
        };
        let polled = py.allow_threads(|| {
            if let Some(fd) = eager_socket.take() {
                if let Polled::Ready(output) = eager::first_poll(rt, fd, true, fut.as_mut()) {
                    return Ok(output);
                }
            }
            rt.block_on(async { tokio::time::timeout(slice, fut.as_mut()).await })
        });
        match polled {
            Ok(output) => return Ok(output),
            // Still running: let Python handle pending signals; an exception (e.g.
            // KeyboardInterrupt) drops the future, which cancels the work.
            Err(_elapsed) => py.check_signals()?,
        }
    }
}
