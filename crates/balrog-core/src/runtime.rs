//! One tokio runtime per extension module (each wheel links its own copy of tokio), created
//! on first use and rebuilt in a child process after `fork()`.
//!
//! After a fork the child must not touch the parent's runtime: its worker threads do not
//! exist in the child, and dropping it would try to join them (a hang) or deregister the
//! parent's sockets from an epoll instance both processes share. The child therefore leaks
//! the old runtime and builds a new one; objects that hold I/O resources compare
//! [`fork_generation`] to the one they were created in and refuse to use them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};

use parking_lot::Mutex;
use tokio::runtime::{Builder, Runtime};

/// Where an op's future runs.
pub enum Exec {
    /// On this wheel's shared multi-thread runtime.
    Shared,
    /// On a dedicated (usually current-thread) runtime, e.g. one per database connection, so
    /// that a blocking call polls the socket on the caller's own thread with no thread hop.
    /// In green mode a blocking-pool thread of the shared runtime drives it instead.
    Dedicated(Arc<Runtime>),
}

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
static RUNTIME: Mutex<Option<(u64, Arc<Runtime>)>> = Mutex::new(None);
static ATFORK: Once = Once::new();

/// Incremented in the child after every `fork()`. Zero in a process that never forked.
///
/// Objects that must not be used across a fork record this when they are made and compare
/// it before each use. The first call installs the fork handlers that keep the count, so
/// that an object made before the shared runtime ever started (a PostgreSQL connection has
/// its own runtime) still sees a later fork.
pub fn fork_generation() -> u64 {
    install_fork_handlers();
    FORK_GENERATION.load(Ordering::Acquire)
}

extern "C" fn before_fork() {
    // Hold the lock across fork so the child never inherits it half-taken by another thread.
    std::mem::forget(RUNTIME.lock());
}

extern "C" fn after_fork_in_parent() {
    // SAFETY: `before_fork` took the lock on this thread and forgot the guard.
    unsafe { RUNTIME.force_unlock() };
}

extern "C" fn after_fork_in_child() {
    // SAFETY: as above; in the child this is the only thread.
    unsafe { RUNTIME.force_unlock() };
    FORK_GENERATION.fetch_add(1, Ordering::AcqRel);
}

fn install_fork_handlers() {
    ATFORK.call_once(|| {
        // SAFETY: the handlers only touch process-global statics.
        unsafe {
            libc::pthread_atfork(
                Some(before_fork),
                Some(after_fork_in_parent),
                Some(after_fork_in_child),
            );
        }
    });
}

/// The number of worker threads a new runtime gets: `BALROG_WORKER_THREADS` (which
/// `balrog.configure(worker_threads=...)` sets for every wheel), else the number of CPUs.
fn worker_threads() -> usize {
    std::env::var("BALROG_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

fn build_runtime() -> Runtime {
    let built = Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .thread_name("balrog-tokio")
        .enable_all()
        .build();
    match built {
        Ok(rt) => rt,
        // Without a runtime no op can run; there is no meaningful recovery.
        Err(err) => panic!("balrog: cannot start the tokio runtime: {err}"),
    }
}

thread_local! {
    /// Per-thread copy of the runtime handle, so the hot path skips the global lock.
    static CACHED: std::cell::RefCell<Option<(u64, Arc<Runtime>)>> = const { std::cell::RefCell::new(None) };
}

/// This wheel's shared runtime, created on first use (and anew after a fork).
pub fn runtime() -> Arc<Runtime> {
    let generation = fork_generation();
    let cached = CACHED.with(|cached| match &*cached.borrow() {
        Some((g, rt)) if *g == generation => Some(rt.clone()),
        _ => None,
    });
    if let Some(rt) = cached {
        return rt;
    }
    let rt = shared_runtime(generation);
    CACHED.with(|cached| *cached.borrow_mut() = Some((generation, rt.clone())));
    rt
}

fn shared_runtime(generation: u64) -> Arc<Runtime> {
    install_fork_handlers();
    let mut slot = RUNTIME.lock();
    match slot.as_ref() {
        Some((g, rt)) if *g == generation => rt.clone(),
        _ => {
            if let Some(stale) = slot.take() {
                // Never drop a runtime inherited from the parent: see the module docs.
                std::mem::forget(stale);
            }
            let rt = Arc::new(build_runtime());
            *slot = Some((generation, rt.clone()));
            rt
        }
    }
}

/// Whether the runtime of this wheel has been created in this process.
pub fn runtime_started() -> bool {
    matches!(RUNTIME.lock().as_ref(), Some((g, _)) if *g == fork_generation())
}
