//! Blocking waits: drive a future on the calling thread with the GIL released.
//!
//! The future is polled right here rather than on a tokio worker, so a request written to a
//! socket leaves without a thread hop. Every [`SIGNAL_CHECK_INTERVAL`] the GIL is taken back
//! to run Python's signal handlers: Ctrl-C raises `KeyboardInterrupt`, and dropping the
//! future on the way out cancels the operation.

use std::future::Future;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::exceptions::PyTimeoutError;

use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::drive::{poll_watching, Polled, READ, WRITE};
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

/// Block on a socket future of a dedicated runtime right here, as [`crate::Op::wait`] does
/// for an op built with [`crate::Op::on_socket`] (`socket` None: no eager read, e.g. TLS),
/// without building the op: for a driver's hot path whose caller already knows it is a
/// plain thread (not a green task, no running event loop). A panic in `fut` becomes a
/// `PanicException`.
pub fn block_on_socket<F>(
    py: Python<'_>,
    rt: &Arc<Runtime>,
    socket: Option<RawFd>,
    fut: F,
) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    use futures_util::FutureExt;
    let guarded = std::panic::AssertUnwindSafe(fut).catch_unwind();
    match block_on_exec(py, &Exec::Dedicated(rt.clone()), guarded, None, socket)? {
        Ok(output) => Ok(output),
        Err(payload) => Err(pyo3::panic::PanicException::new_err(
            crate::op::panic_message(&*payload),
        )),
    }
}

/// Block until `fut` finishes, a signal handler raises, or `deadline` passes (then
/// `TimeoutError`; the future is dropped, which cancels it).
///
/// `socket`: the op's socket, for an op built with [`crate::Op::on_socket`] on a dedicated
/// runtime. Such an op waits for its socket with `poll(2)` on this thread and then reads
/// it directly (drive.rs's direct I/O, as the event loop drives it in green mode), without
/// the runtime's driver: no timer to arm for the signal checks, no `epoll_wait` of the
/// runtime, no wake-up through tokio's reactor. Its first poll may read the answer at once
/// (eager.rs). An op pending on anything else (the connection's mutex held by another
/// thread) goes to the runtime's driver for the rest of its wait.
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
    // The socket's wait, while the op waits on nothing else: None before the first poll,
    // then the interest it waits for.
    let mut on_socket: Option<(RawFd, Option<u8>)> = match exec {
        Exec::Dedicated(_) => socket.map(|fd| (fd, None)),
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
        let step = py.allow_threads(|| {
            if let Some((fd, waiting)) = on_socket {
                match drive_on_socket(rt, fd, waiting, slice, fut.as_mut()) {
                    SocketStep::Done(output) => return Some(output),
                    SocketStep::Waiting(interest) => {
                        on_socket = Some((fd, Some(interest)));
                        return None;
                    }
                    SocketStep::Other => on_socket = None,
                }
            }
            rt.block_on(async { tokio::time::timeout(slice, fut.as_mut()).await })
                .ok()
        });
        match step {
            Some(output) => return Ok(output),
            // Still running: let Python handle pending signals; an exception (e.g.
            // KeyboardInterrupt) drops the future, which cancels the work.
            None => py.check_signals()?,
        }
    }
}

/// How far [`drive_on_socket`] got.
enum SocketStep<T> {
    Done(T),
    /// The slice passed (or a signal came) while waiting for the socket: this interest.
    Waiting(u8),
    /// Pending on something else than the socket.
    Other,
}

/// Poll a socket op (first, if `waiting` is None; else it waits for `waiting`) and wait
/// for its socket with `poll(2)` until it finishes, `slice` passes, or it waits on
/// something else.
fn drive_on_socket<F: Future + ?Sized>(
    rt: &Runtime,
    fd: RawFd,
    waiting: Option<u8>,
    slice: Duration,
    mut fut: std::pin::Pin<&mut F>,
) -> SocketStep<F::Output> {
    let started = Instant::now();
    let mut polled = match waiting {
        None => eager::first_poll(rt, fd, eager::worth_trying(), fut.as_mut()),
        Some(interest) => Polled::Socket(interest),
    };
    loop {
        match polled {
            Polled::Ready(output) => return SocketStep::Done(output),
            Polled::Other => return SocketStep::Other,
            Polled::Socket(interest) => {
                let left = slice.saturating_sub(started.elapsed());
                if !wait_for_socket(fd, interest, left) {
                    return SocketStep::Waiting(interest);
                }
                // Ready (or in error, which the read or write reports): tokio's view of the
                // socket is stale now, so the op reads or writes it directly.
                polled = poll_watching(rt, fd, true, fut.as_mut());
            }
        }
    }
}

/// Wait up to `timeout` for `fd` to be ready for `interest` (drive.rs's READ / WRITE
/// bits). False when the time passed or a signal interrupted the wait; true when it is
/// ready, or when `poll` fails otherwise (the op's next read or write reports why).
fn wait_for_socket(fd: RawFd, interest: u8, timeout: Duration) -> bool {
    let mut events: libc::c_short = 0;
    if interest & READ != 0 {
        // Hang-ups count as readable: the read then reports the lost connection.
        events |= libc::POLLIN | libc::POLLRDHUP;
    }
    if interest & WRITE != 0 {
        events |= libc::POLLOUT;
    }
    let mut pollfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // Rounded up: a wait of a few microseconds left must not become a busy loop of zero
    // timeouts.
    let millis = i32::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
    // SAFETY: one live pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pollfd, 1, millis) };
    match n {
        0 => false,
        n if n > 0 => true,
        _ => std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted,
    }
}
