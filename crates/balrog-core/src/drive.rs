//! Loop-driven ops: a dedicated-runtime op polled on the asyncio loop thread.
//!
//! A green wait on a dedicated runtime otherwise costs two thread hops (a blocking-pool
//! thread drives the runtime, then the hub wakes the loop). When an op is pending *only*
//! because its socket is not readable (or writable), the loop can wait for that itself
//! (`loop.add_reader` / `add_writer`) and poll the op again on readiness — no thread at all.
//!
//! Two pieces make that sound:
//!
//! * **Why is it pending?** While the loop thread polls an op, [`note_pending`] calls made by
//!   the driver crate's socket wrapper (when its `poll_read` / `poll_write` returns Pending)
//!   are recorded in a thread-local [`Watch`]. Pending with no note (a mutex, a timer, another
//!   socket) means the loop cannot tell when to poll again: the op is handed to a blocking-
//!   pool thread for the rest of its life, as before.
//! * **Reading without tokio's reactor.** tokio learns that a `TcpStream` is readable only
//!   when the runtime's I/O driver polls its own epoll instance, which nothing does while the
//!   loop drives the op (the loop's `SocketWatch` saw the readiness instead). So while the
//!   loop polls an op, [`io_directly`] tells the socket wrapper to try the read or write
//!   itself, with a plain non-blocking system call on the socket, and to fall back to
//!   tokio's `poll_read` / `poll_write` only when that call would block. (An earlier version
//!   turned the runtime's driver with a zero timeout before each poll instead: one more
//!   `epoll_wait` and a `block_on` per query, and a hand-off to a thread whenever another
//!   thread held the runtime.)

use std::cell::Cell;
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use pyo3::prelude::*;
use tokio::runtime::Runtime;

/// What a socket is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    Read,
    Write,
}

/// Interest bits, as the Python bridge sees them (code = 2 + bits: 3 read, 4 write, 5 both).
pub(crate) const READ: u8 = 1;
pub(crate) const WRITE: u8 = 2;

/// What the loop thread watches during one poll.
#[derive(Clone, Copy)]
struct Watch {
    /// The op's socket; -1 when no loop-driven poll is running on this thread.
    fd: RawFd,
    /// READ / WRITE notes for `fd`.
    interest: u8,
    /// Something else reported Pending (another socket): the loop cannot wait for it.
    foreign: bool,
    /// The loop reported `fd` ready for this poll: a read is worth trying.
    reported_ready: bool,
}

const IDLE: Watch = Watch {
    fd: -1,
    interest: 0,
    foreign: false,
    reported_ready: false,
};

thread_local! {
    static WATCH: Cell<Watch> = const { Cell::new(IDLE) };
}

/// Called by a driver crate's socket wrapper when a read or write on `fd` returned Pending.
///
/// Costs a thread-local read when no loop-driven poll is running (blocking mode, tokio
/// threads), so it can be called unconditionally.
pub fn note_pending(fd: RawFd, interest: Interest) {
    WATCH.with(|watch| {
        let mut current = watch.get();
        if current.fd < 0 {
            return;
        }
        if current.fd == fd {
            current.interest |= match interest {
                Interest::Read => READ,
                Interest::Write => WRITE,
            };
        } else {
            current.foreign = true;
        }
        watch.set(current);
    });
}

/// Whether a socket wrapper should try `interest` on `fd` itself, with a non-blocking
/// system call, before asking tokio (whose view of the socket's readiness is stale while the
/// loop drives the op): true for writes whenever the loop thread is polling the op of `fd`,
/// for reads only when the loop has just reported `fd` ready (otherwise the read would
/// almost always find nothing, and tokio's readiness check costs no system call).
///
/// A thread-local read; false in blocking mode and on tokio threads.
pub fn io_directly(fd: RawFd, interest: Interest) -> bool {
    WATCH.with(|watch| {
        let current = watch.get();
        current.fd == fd
            && fd >= 0
            && match interest {
                Interest::Write => true,
                Interest::Read => current.reported_ready,
            }
    })
}

/// One poll, classified.
pub(crate) enum Polled<T> {
    Ready(T),
    /// Pending only on the op's own socket: these interest bits.
    Socket(u8),
    /// Pending on something the loop cannot watch.
    Other,
}

/// Restores the previous watch even if the poll unwinds.
struct Restore(Watch);

impl Drop for Restore {
    fn drop(&mut self) {
        WATCH.with(|watch| watch.set(self.0));
    }
}

/// Poll `fut` once on this thread, inside `rt`'s context, and say why it is pending.
/// `reported_ready`: the loop has just reported `fd` ready (see [`io_directly`]).
///
/// The waker is a no-op: the loop's one-shot socket watch is what polls again, so a tokio
/// wake-up that goes nowhere costs nothing.
pub(crate) fn poll_watching<F: Future + ?Sized>(
    rt: &Runtime,
    fd: RawFd,
    reported_ready: bool,
    fut: Pin<&mut F>,
) -> Polled<F::Output> {
    let _entered = rt.enter();
    let previous = WATCH.with(|watch| {
        watch.replace(Watch {
            fd,
            interest: 0,
            foreign: false,
            reported_ready,
        })
    });
    let restore = Restore(previous);
    let waker = futures_util::task::noop_waker();
    let polled = fut.poll(&mut Context::from_waker(&waker));
    let seen = WATCH.with(Cell::get);
    drop(restore);
    match polled {
        Poll::Ready(value) => Polled::Ready(value),
        Poll::Pending if seen.interest != 0 && !seen.foreign => Polled::Socket(seen.interest),
        Poll::Pending => Polled::Other,
    }
}

/// Arm `fd` one-shot in the epoll instance `epfd` (a `SocketWatch`'s): `key` is reported
/// once when it is ready for `interest` (READ, WRITE or both).
///
/// Ops call it directly with the loop's `SocketWatch` file descriptor (`Op._start(hub, key, epfd)`),
/// which saves the event loop a getter and a method call per wait.
pub(crate) fn arm_socket(
    epfd: libc::c_int,
    fd: i32,
    interest: u32,
    key: u64,
) -> std::io::Result<()> {
    if fd < 0 || interest & (u32::from(READ | WRITE)) == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "nothing to watch",
        ));
    }
    let mut events = libc::EPOLLONESHOT as u32;
    if interest & u32::from(READ) != 0 {
        // Hang-ups count as readable: a read then reports the lost connection.
        events |= (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
    }
    if interest & u32::from(WRITE) != 0 {
        events |= libc::EPOLLOUT as u32;
    }
    let mut event = libc::epoll_event { events, u64: key };
    // Usually the socket is registered already (a previous op on the connection): re-arm
    // it; the first time, or after its fd was closed and reused, add it.
    // SAFETY: `event` is a live epoll_event; the kernel validates the fds.
    let modified = unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_MOD, fd, &mut event) };
    if modified == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOENT) {
        return Err(err);
    }
    // SAFETY: as above.
    let added = unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut event) };
    if added == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// 0 not looked up yet, 1 off, 2 on.
static LOOP_DRIVE: AtomicU8 = AtomicU8::new(0);

/// Whether the Python bridge of this process understands the loop-drive codes of `_start`
/// (`balrog._bridge._LOOP_DRIVE`). A newer driver wheel next to an older balrog-core wheel
/// then keeps to the hub path, which that bridge knows. Looked up once per process.
pub(crate) fn loop_drive_enabled(py: Python<'_>) -> bool {
    match LOOP_DRIVE.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            // Two threads may both look it up: same answer, no lock held across the import.
            let on = py
                .import("balrog._bridge")
                .and_then(|bridge| bridge.getattr("_LOOP_DRIVE"))
                .and_then(|flag| flag.is_truthy())
                .unwrap_or(false);
            LOOP_DRIVE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
            on
        }
    }
}
