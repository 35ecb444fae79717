//! [`Op`]: one native I/O operation, waited for in whichever mode the caller is in.

use std::ffi::c_void;
use std::future::Future;
use std::os::fd::RawFd;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::{AbortHandle, Abortable};
use futures_util::FutureExt;
use parking_lot::Mutex;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::panic::PanicException;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::capi::{api, BridgeApi};
use crate::drive::{arm_socket, loop_drive_enabled, poll_watching, Polled};
use crate::eager;
use crate::runtime::{runtime, Exec};

pub(crate) const START_PENDING: u8 = 0;
pub(crate) const START_DONE: u8 = 1;
pub(crate) const START_NEEDS_FLUSH: u8 = 2;
/// Base of the loop-drive codes: 3 wait until readable, 4 writable, 5 either (drive.rs).
pub(crate) const START_WAIT_SOCKET: u8 = 2;

type BoxedTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An op's task, waiting for the next flush.
enum StartJob {
    Shared(BoxedTask),
    Dedicated(Arc<tokio::runtime::Runtime>, Pin<Box<NotifyingTask>>),
}

/// An op's task that returns its completion notifier (`Err(Aborted)` when cancelled).
type NotifyingTask = dyn Future<Output = Result<Notifier, futures_util::future::Aborted>> + Send;

thread_local! {
    /// Ops started by green tasks (or asyncio awaiters) of this thread, not yet handed to
    /// the runtime. Per thread: a flush runs on the event-loop thread that started them.
    static STARTED: std::cell::RefCell<Vec<StartJob>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Queue a job; true when it is the first of a new batch.
fn defer_start(job: StartJob) -> bool {
    STARTED.with(|started| {
        let mut started = started.borrow_mut();
        started.push(job);
        started.len() == 1
    })
}

fn flush_started() {
    let batch = STARTED.with(|started| std::mem::take(&mut *started.borrow_mut()));
    if batch.is_empty() {
        return;
    }
    let shared = runtime();
    let mut on_shared = Vec::with_capacity(batch.len());
    for job in batch {
        match job {
            StartJob::Shared(task) => on_shared.push(task),
            // A dedicated runtime is driven by a blocking-pool thread until the op is done.
            StartJob::Dedicated(rt, task) => drop(shared.spawn_blocking(move || {
                let outcome = rt.block_on(task);
                drop(rt);
                if let Ok(notifier) = outcome {
                    notifier.fire();
                }
            })),
        }
    }
    if !on_shared.is_empty() {
        // One hand-over for the whole batch; the worker spawns the ops locally.
        drop(shared.spawn(async move {
            for task in on_shared {
                drop(tokio::spawn(task));
            }
        }));
    }
}
use crate::wait::block_on_exec;

/// Builds the Python result on the caller's thread, with the GIL, after the future finished.
pub type Finisher = Box<dyn FnOnce(Python<'_>) -> PyResult<PyObject> + Send>;
type BoxedFuture = Pin<Box<dyn Future<Output = Finisher> + Send>>;

enum State {
    /// Not started: the caller decides where it runs. `fd`: the socket a green caller may
    /// wait for on its event loop (see [`Op::on_socket`]).
    Lazy {
        fut: BoxedFuture,
        exec: Exec,
        fd: Option<RawFd>,
    },
    /// Pending on its socket only; the event loop polls it on readiness (`_drive`).
    Driven {
        fut: BoxedFuture,
        rt: Arc<tokio::runtime::Runtime>,
        fd: RawFd,
        /// The event loop's `SocketWatch` (its epoll fd) when the op arms `fd` there itself
        /// (re-armed by `_drive` while it stays pending); -1 when the bridge arms it.
        epfd: RawFd,
        /// Used if the op has to continue on a blocking-pool thread after all.
        notifier: Notifier,
    },
    /// Running on a tokio thread; its finisher lands in `slot`.
    Running {
        abort: AbortHandle,
        slot: Arc<Mutex<Option<Finisher>>>,
    },
    /// Finished inline, during `_start`'s first poll.
    Done(Finisher),
    /// The result was handed out (or the op was cancelled before it started).
    Spent,
}

/// A native operation that has not been waited for yet.
///
/// Python code never calls these methods directly: `balrog._bridge.wait(op)` does, choosing
/// `wait()` (blocking), `_start()`/`_result()` (green or asyncio) for the caller's mode.
#[pyclass(frozen, module = "balrog._core", name = "Op")]
pub struct Op {
    state: Mutex<State>,
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic in a balrog native operation".to_owned()
    }
}

/// A panic inside the future becomes a Python `PanicException` at the wait, never an abort
/// and never a green task that waits forever.
fn guard_panics(fut: impl Future<Output = Finisher> + Send + 'static) -> BoxedFuture {
    Box::pin(
        AssertUnwindSafe(fut)
            .catch_unwind()
            .map(|outcome| match outcome {
                Ok(finisher) => finisher,
                Err(payload) => {
                    let message = panic_message(&*payload);
                    Box::new(move |_py: Python<'_>| Err(PanicException::new_err(message)))
                        as Finisher
                }
            }),
    )
}

impl Op {
    /// An op that runs `fut` on this wheel's shared runtime and turns its output into a
    /// Python object with `finish` (on the caller's thread; map errors to exceptions there).
    pub fn new<F, T, C>(fut: F, finish: C) -> Self
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
        C: FnOnce(Python<'_>, T) -> PyResult<PyObject> + Send + 'static,
    {
        Self::on(Exec::Shared, fut, finish)
    }

    /// Like [`Op::new`], on the given executor.
    pub fn on<F, T, C>(exec: Exec, fut: F, finish: C) -> Self
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
        C: FnOnce(Python<'_>, T) -> PyResult<PyObject> + Send + 'static,
    {
        Self::build(exec, None, fut, finish)
    }

    /// Like [`Op::on`] with `Exec::Dedicated(rt)`, for an op whose only waits are on socket
    /// `fd`, read and written through a wrapper that calls [`crate::note_pending`] when it
    /// returns Pending and that, when [`crate::io_directly`] says so, first tries the read or
    /// write with a plain non-blocking system call on `fd` (tokio's readiness for the socket
    /// is not kept up to date while the loop drives the op). A green
    /// caller then polls it on its event-loop thread whenever `fd` is ready, instead of
    /// having a blocking-pool thread drive the runtime. An op that is pending on anything
    /// else (a lock, another socket) moves to a blocking-pool thread as [`Op::on`] does.
    ///
    /// Never use it for a future that also waits on a timer together with the socket (a
    /// timeout): the loop would only poll it again when the socket is ready.
    pub fn on_socket<F, T, C>(
        rt: Arc<tokio::runtime::Runtime>,
        fd: RawFd,
        fut: F,
        finish: C,
    ) -> Self
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
        C: FnOnce(Python<'_>, T) -> PyResult<PyObject> + Send + 'static,
    {
        Self::build(Exec::Dedicated(rt), Some(fd), fut, finish)
    }

    fn build<F, T, C>(exec: Exec, fd: Option<RawFd>, fut: F, finish: C) -> Self
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
        C: FnOnce(Python<'_>, T) -> PyResult<PyObject> + Send + 'static,
    {
        let fut =
            fut.map(move |value| Box::new(move |py: Python<'_>| finish(py, value)) as Finisher);
        Op {
            state: Mutex::new(State::Lazy {
                fut: guard_panics(fut),
                exec,
                fd,
            }),
        }
    }

    /// An op whose result is already known (no I/O needed), e.g. a buffered row.
    pub fn ready<C>(finish: C) -> Self
    where
        C: FnOnce(Python<'_>) -> PyResult<PyObject> + Send + 'static,
    {
        let finisher: Finisher = Box::new(finish);
        Self::new(std::future::ready(()), move |py, ()| finisher(py))
    }

    /// Continue a started op on a tokio thread (a blocking-pool thread for a dedicated
    /// runtime); `notifier` fires its hub key when it finishes. Returns the `_start` code.
    fn hand_off(&self, fut: BoxedFuture, exec: Exec, notifier: Notifier) -> u8 {
        let slot: Arc<Mutex<Option<Finisher>>> = Arc::new(Mutex::new(None));
        let filled = slot.clone();
        let (abort, registration) = AbortHandle::new_pair();
        // The task hands the notifier back instead of firing it, so that whoever drove the
        // op lets go of its resources (a dedicated runtime, with its file descriptors)
        // before the waiting task resumes and, say, closes the connection.
        let task = Abortable::new(
            async move {
                let finisher = fut.await;
                *filled.lock() = Some(finisher);
                notifier
            },
            registration,
        );
        let first_in_batch = defer_start(match exec {
            Exec::Shared => StartJob::Shared(Box::pin(async move {
                if let Ok(notifier) = task.await {
                    notifier.fire();
                }
            })),
            Exec::Dedicated(rt) => StartJob::Dedicated(rt, Box::pin(task)),
        });
        *self.state.lock() = State::Running { abort, slot };
        if first_in_batch {
            START_NEEDS_FLUSH
        } else {
            START_PENDING
        }
    }

    /// Park an op that waits for its socket: arm the socket in the loop's watch `epfd`
    /// (when given) and keep the future for `_drive`. Returns the `_start` code.
    ///
    /// If arming fails the op is dropped (inside its runtime, as `cancel` does) and the
    /// error is raised at the wait.
    fn park_driven(
        &self,
        fut: BoxedFuture,
        rt: Arc<tokio::runtime::Runtime>,
        fd: RawFd,
        epfd: RawFd,
        interest: u8,
        notifier: Notifier,
    ) -> PyResult<u8> {
        if epfd >= 0 {
            if let Err(err) = arm_socket(epfd, fd, u32::from(interest), notifier.key) {
                let _entered = rt.enter();
                drop(fut);
                return Err(PyOSError::new_err(err.to_string()));
            }
        }
        *self.state.lock() = State::Driven {
            fut,
            rt,
            fd,
            epfd,
            notifier,
        };
        Ok(START_WAIT_SOCKET + interest)
    }

    fn take_lazy(&self) -> PyResult<(BoxedFuture, Exec, Option<RawFd>)> {
        let mut state = self.state.lock();
        match std::mem::replace(&mut *state, State::Spent) {
            State::Lazy { fut, exec, fd } => Ok((fut, exec, fd)),
            other => {
                *state = other;
                Err(PyRuntimeError::new_err(
                    "this balrog operation was already started",
                ))
            }
        }
    }
}

/// Fires the hub completion once; releases the hub reference in every case.
struct Notifier {
    api: &'static BridgeApi,
    hub: *const c_void,
    key: u64,
}

// SAFETY: the hub is a refcounted, thread-safe queue owned by balrog._core; the pointer is
// kept alive by the retain taken in `Notifier::new`.
unsafe impl Send for Notifier {}

impl Notifier {
    fn new(api: &'static BridgeApi, hub: *const c_void, key: u64) -> Self {
        // SAFETY: `hub` came from a live `balrog._core.Hub` (the caller holds it).
        unsafe { (api.hub_retain)(hub) };
        Notifier { api, hub, key }
    }

    fn fire(self) {
        // SAFETY: retained in `new`, released in `drop`.
        unsafe { (self.api.hub_complete)(self.hub, self.key) };
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        // SAFETY: balances the retain in `new`.
        unsafe { (self.api.hub_release)(self.hub) };
    }
}

#[pymethods]
impl Op {
    /// Blocking wait: run the op to completion on this thread with the GIL released.
    /// With `timeout` (seconds), raise `TimeoutError` and cancel the op when it passes.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<PyObject> {
        let deadline = match timeout {
            None => None,
            Some(t) if t.is_finite() && t >= 0.0 => {
                Some(Instant::now() + Duration::from_secs_f64(t))
            }
            Some(_) => {
                return Err(PyValueError::new_err(
                    "timeout must be a non-negative number",
                ))
            }
        };
        let (fut, exec, fd) = self.take_lazy()?;
        let finisher = block_on_exec(py, &exec, fut, deadline, fd)?;
        finisher(py)
    }

    /// Start the op for a green task or an asyncio awaiter; returns 1 (`START_DONE`) when it
    /// finished inline, 2 (`START_NEEDS_FLUSH`) when the caller must arrange one call of
    /// `Op._flush()` soon (this op opened a new batch), 0 (`START_PENDING`) otherwise.
    /// An op built with [`Op::on_socket`] may also return 3, 4 or 5: it waits for its socket
    /// (`Op._fd`) to be readable, writable, or either; the caller's event loop calls
    /// `Op._drive()` when it is (only if `balrog._bridge` announces `_LOOP_DRIVE`).
    /// With `epfd` (the loop's `SocketWatch` file descriptor) such an op has armed its
    /// socket there itself, with `key`, and `_drive` re-arms it: the bridge then needs
    /// neither `_fd` nor `SocketWatch.arm`. Wheels older than this argument take two.
    ///
    /// A shared-runtime op is first polled right here (inside the runtime's context): an op
    /// that can finish without waiting — buffered data, a no-op — returns True and its
    /// result is ready without any thread hop. Otherwise it continues on a tokio thread
    /// (tokio polls it again at once, so wakers registered now are replaced) and, when it
    /// finishes, `key` is queued on the hub at address `hub` (a `balrog._core.Hub`).
    #[pyo3(signature = (hub, key, epfd=-1))]
    fn _start(&self, py: Python<'_>, hub: usize, key: u64, epfd: RawFd) -> PyResult<u8> {
        if hub == 0 {
            return Err(PyValueError::new_err("null hub"));
        }
        let api = api(py)?;
        let (mut fut, exec, fd) = self.take_lazy()?;
        // The first poll happens here, on the caller's thread: a request is written to its
        // socket now, not after a worker thread has woken up; a socket op may find its
        // answer right away (eager.rs) and finish without suspending at all.
        let drivable = match (&exec, fd) {
            (Exec::Dedicated(rt), Some(fd)) if loop_drive_enabled(py) => Some((rt, fd)),
            _ => None,
        };
        if let Some((rt, fd)) = drivable {
            match eager::first_poll(rt, fd, eager::worth_trying(), fut.as_mut()) {
                Polled::Ready(finisher) => {
                    *self.state.lock() = State::Done(finisher);
                    return Ok(START_DONE);
                }
                Polled::Socket(interest) => {
                    let notifier = Notifier::new(api, hub as *const c_void, key);
                    return self.park_driven(fut, rt.clone(), fd, epfd, interest, notifier);
                }
                // Waiting on something else (the connection's lock): a thread takes over.
                Polled::Other => {}
            }
        } else {
            let shared;
            let rt: &tokio::runtime::Runtime = match &exec {
                Exec::Shared => {
                    shared = runtime();
                    &shared
                }
                Exec::Dedicated(rt) => rt,
            };
            let _entered = rt.enter();
            let waker = futures_util::task::noop_waker();
            if let Poll::Ready(finisher) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                *self.state.lock() = State::Done(finisher);
                return Ok(START_DONE);
            }
        }
        let notifier = Notifier::new(api, hub as *const c_void, key);
        Ok(self.hand_off(fut, exec, notifier))
    }

    /// Poll a loop-driven op again (its socket is ready): 1 done, 3/4/5 still waiting for
    /// its socket (as `_start`), or 0/2 when it had to move to a blocking-pool thread after
    /// all (its key then comes out of the hub; 2: call `Op._flush()` soon).
    ///
    /// Never blocks: the op's socket wrapper reads and writes the socket itself during this
    /// poll (`io_directly`), so the runtime's driver need not run first.
    fn _drive(&self) -> PyResult<u8> {
        let taken = {
            let mut state = self.state.lock();
            match std::mem::replace(&mut *state, State::Spent) {
                State::Driven {
                    fut,
                    rt,
                    fd,
                    epfd,
                    notifier,
                } => Some((fut, rt, fd, epfd, notifier)),
                other => {
                    *state = other;
                    None
                }
            }
        };
        let Some((mut fut, rt, fd, epfd, notifier)) = taken else {
            return Err(PyRuntimeError::new_err(
                "this balrog operation is not waiting for its socket",
            ));
        };
        match poll_watching(&rt, fd, true, fut.as_mut()) {
            Polled::Ready(finisher) => {
                *self.state.lock() = State::Done(finisher);
                drop(notifier);
                Ok(START_DONE)
            }
            Polled::Socket(interest) => self.park_driven(fut, rt, fd, epfd, interest, notifier),
            Polled::Other => Ok(self.hand_off(fut, Exec::Dedicated(rt), notifier)),
        }
    }

    /// The socket a loop-driven op waits for (-1 if it is not waiting for one).
    #[getter]
    fn _fd(&self) -> RawFd {
        match &*self.state.lock() {
            State::Driven { fd, .. } => *fd,
            _ => -1,
        }
    }

    /// Hand every op started on this thread since the last flush to the runtime at once.
    ///
    /// The green side calls it once per batch (`loop.call_soon`), after the tasks that
    /// started ops have suspended: one wake-up of a tokio worker for the whole batch,
    /// instead of one per op (on two CPUs each cross-thread wake-up costs more than the op).
    #[staticmethod]
    fn _flush() {
        flush_started();
    }

    /// The result of a started op after its key came out of the hub.
    fn _result(&self, py: Python<'_>) -> PyResult<PyObject> {
        let finisher = {
            let mut state = self.state.lock();
            match std::mem::replace(&mut *state, State::Spent) {
                State::Done(finish) => Some(finish),
                State::Running { abort, slot } => {
                    let taken = slot.lock().take();
                    if taken.is_none() {
                        *state = State::Running { abort, slot };
                    }
                    taken
                }
                other => {
                    *state = other;
                    None
                }
            }
        };
        match finisher {
            Some(finish) => finish(py),
            None => Err(PyRuntimeError::new_err(
                "this balrog operation has no result yet",
            )),
        }
    }

    /// Cancel: a running op is aborted at its next await point; a lazy one never starts; a
    /// loop-driven one is dropped right here (the caller has stopped watching its socket).
    fn cancel(&self) {
        let previous = std::mem::replace(&mut *self.state.lock(), State::Spent);
        match previous {
            State::Running { abort, .. } => abort.abort(),
            State::Driven { fut, rt, .. } => {
                // Dropping it may release the socket (a half-written request closes the
                // connection): do it inside its runtime, outside our state lock.
                let _entered = rt.enter();
                drop(fut);
            }
            _ => {}
        }
    }

    /// Whether the op has finished (its result is ready to take).
    #[getter]
    fn done(&self) -> bool {
        match &*self.state.lock() {
            State::Running { slot, .. } => slot.lock().is_some(),
            State::Done(_) => true,
            _ => false,
        }
    }

    /// `await op` from asyncio code.
    fn __await__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let coro = py
            .import("balrog._bridge")?
            .getattr("await_op")?
            .call1(PyTuple::new(py, [slf])?)?;
        coro.call_method0("__await__")
    }
}
