//! The first read of a socket op, tried at once while that pays.
//!
//! An op built with [`crate::Op::on_socket`] writes its request during its first poll
//! (`Op._start` for a green caller, `Op.wait` for a blocking one) and then needs the answer.
//! Whether the answer is in the socket by then depends on where the server runs. When the
//! client and the server share a CPU, the server's wake-up usually preempts the client at
//! its `send`, the server answers, and the answer is waiting when the client looks: pgbench
//! then almost never polls. On another CPU the answer comes tens of microseconds later.
//!
//! Reading at once saves the whole readiness round when it finds the answer (a green task's
//! switch to the loop, the loop's `epoll_wait`, the socket's re-arm and the switch back; a
//! blocking thread's `epoll_wait` in the runtime's driver) and costs one `recv` answering
//! `EAGAIN` when it does not. So each thread keeps score of its last try: after a hit the
//! next first poll reads at once again; after a miss only every [`PROBE_EVERY`]th does, to
//! notice when answers start arriving at once (the work moved to a shared CPU).
//!
//! `BALROG_EAGER_READ=0` turns it off (for comparisons and diagnosis), as does
//! [`set_eager_reads`] (`balrog._pg.set_eager_reads(False)`).

use std::cell::Cell;
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::runtime::Runtime;

use crate::drive::{poll_watching, Polled, READ};

/// After a miss, one first poll in this many reads at once.
const PROBE_EVERY: u8 = 8;

thread_local! {
    /// First polls still to skip before the next try on this thread.
    static SKIP: Cell<u8> = const { Cell::new(0) };
    /// This thread's tries and the ones that finished the op (for tests and diagnosis).
    static COUNTS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// `(tries, hits)` of the calling thread so far: first polls that read at once, and those
/// that finished their op without waiting.
pub fn eager_read_counts() -> (u64, u64) {
    COUNTS.with(Cell::get)
}

fn count(hit: bool) {
    COUNTS.with(|counts| {
        let (tries, hits) = counts.get();
        counts.set((tries + 1, hits + u64::from(hit)));
    });
}

/// 0 not looked up yet, 1 off, 2 on.
static ENABLED: AtomicU8 = AtomicU8::new(0);

fn enabled() -> bool {
    match ENABLED.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let on = std::env::var("BALROG_EAGER_READ").map_or(true, |v| v.trim() != "0");
            ENABLED.store(if on { 2 } else { 1 }, Ordering::Relaxed);
            on
        }
    }
}

/// Turn eager reads on or off for the whole process (this wheel's ops); returns whether
/// they were on. For tests of the readiness path and for comparisons.
pub fn set_eager_reads(on: bool) -> bool {
    let was = enabled();
    ENABLED.store(if on { 2 } else { 1 }, Ordering::Relaxed);
    was
}

/// Whether this first poll should read at once (and count as a try).
pub(crate) fn worth_trying() -> bool {
    enabled()
        && SKIP.with(|skip| match skip.get() {
            0 => true,
            left => {
                skip.set(left - 1);
                false
            }
        })
}

/// Poll a socket op for the first time; with `eager` its read is tried at once and the
/// outcome scored (see the module docs).
pub(crate) fn first_poll<F: Future + ?Sized>(
    rt: &Runtime,
    fd: RawFd,
    eager: bool,
    fut: Pin<&mut F>,
) -> Polled<F::Output> {
    let polled = poll_watching(rt, fd, eager, fut);
    if eager {
        match &polled {
            Polled::Ready(_) => {
                SKIP.with(|skip| skip.set(0));
                count(true);
            }
            // Still waiting to read: the answer was not there (or only its first part).
            Polled::Socket(interest) if interest & READ != 0 => {
                SKIP.with(|skip| skip.set(PROBE_EVERY - 1));
                count(false);
            }
            // Waiting to write, or for something else: the read was never tried.
            _ => {}
        }
    }
    polled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_miss_skips_until_the_next_probe() {
        SKIP.with(|skip| skip.set(PROBE_EVERY - 1));
        let tries: Vec<bool> = (0..PROBE_EVERY).map(|_| worth_trying()).collect();
        let expected: Vec<bool> = (0..PROBE_EVERY).map(|i| i + 1 == PROBE_EVERY).collect();
        assert_eq!(tries, expected);
    }
}
