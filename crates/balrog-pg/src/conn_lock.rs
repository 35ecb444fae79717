//! `ConnectionLock`: one operation at a time on a connection, for threads and green tasks.
//!
//! psycopg serialises a connection's operations with a `threading.Lock`, so that the
//! statements of one (an implicit BEGIN and its query, a transaction block's BEGIN and
//! SAVEPOINT) never interleave with another's. Green tasks all run on the event loop's
//! thread: a thread lock would either be shared by all of them or block the loop. Here each
//! waiter gets a `balrog._wakeup.Wakeup`: a waiting green task suspends only itself and a
//! waiting thread blocks on a gate of its own; the owner hands the lock to the first waiter
//! when it lets go (FIFO, no barging).
//!
//! The lock is reentrant for its owner: the current greenlet when the caller runs in one
//! (a green task, a greenlet of SQLAlchemy's asyncio layer), else its thread. A thread's
//! main greenlet is never stored; the thread's ident stands for it (with that pattern,
//! greenlet 3.5.6 on CPython 3.11, threads hammering the Python version of this lock under
//! forced switches met freed objects).
//!
//! A block that spans several green tasks (an `async with acur.copy()` block: every await
//! in it runs as a green task of its own) holds the lock for a *holder*: the object in the
//! `HOLDER` context variable of its asyncio task, which its green tasks inherit
//! (`hold_for_block`).
//!
//! Every execute takes and releases this lock, so it is native: the Python version cost
//! 0.43 µs a query, a third of the driver's own time on a `SELECT 1`. All state changes
//! happen with the GIL held and under `state`'s mutex, never across a call into Python (a
//! Python call may let another thread run): a hand-over picks the next owner in one step,
//! and a waiter is granted the lock exactly when it leaves the queue.

use std::collections::VecDeque;

use parking_lot::Mutex;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyList;

/// Who holds the lock, or waits for it.
pub(crate) enum Owner {
    /// A thread outside any greenlet of its own (its ident).
    Thread(libc::pthread_t),
    /// A greenlet, or the holder of a block; compared by identity.
    Object(Py<PyAny>),
}

impl Owner {
    fn is(&self, other: &Owner) -> bool {
        match (self, other) {
            (Owner::Thread(a), Owner::Thread(b)) => a == b,
            (Owner::Object(a), Owner::Object(b)) => a.is(b),
            _ => false,
        }
    }

    fn is_object(&self, object: &Bound<'_, PyAny>) -> bool {
        matches!(self, Owner::Object(o) if o.is(object))
    }
}

struct Waiter {
    owner: Owner,
    /// Its `balrog._wakeup.Wakeup`.
    wakeup: Py<PyAny>,
}

#[derive(Default)]
struct State {
    owner: Option<Owner>,
    depth: usize,
    waiters: VecDeque<Waiter>,
}

/// The Python objects the lock needs, given once by `balrog.psycopg._conn_lock`.
struct Hooks {
    getcurrent: Py<PyAny>,
    holder: Py<PyAny>,
    wakeup: Py<PyAny>,
}

static HOOKS: GILOnceCell<Hooks> = GILOnceCell::new();

fn hooks(py: Python<'_>) -> PyResult<&'static Hooks> {
    HOOKS.get(py).ok_or_else(|| {
        PyRuntimeError::new_err("ConnectionLock is not configured (import balrog.psycopg)")
    })
}

/// The caller as an owner.
fn whoami(py: Python<'_>, hooks: &Hooks) -> PyResult<Owner> {
    owner_of(py, hooks.getcurrent.bind(py).call0()?)
}

/// The owner that `current` (the caller's greenlet, from greenlet's `getcurrent`) stands
/// for.
pub(crate) fn owner_of(py: Python<'_>, current: Bound<'_, PyAny>) -> PyResult<Owner> {
    if current.getattr(pyo3::intern!(py, "parent"))?.is_none() {
        // SAFETY: a plain C call with no preconditions (what threading.get_ident returns).
        return Ok(Owner::Thread(unsafe { libc::pthread_self() }));
    }
    Ok(Owner::Object(current.unbind()))
}

/// A reentrant lock whose waiters are threads or green tasks (see the module docs).
#[pyclass(frozen, module = "balrog._pg", name = "ConnectionLock")]
#[derive(Default)]
pub struct ConnectionLock {
    state: Mutex<State>,
}

impl ConnectionLock {
    /// Queue `me` and wait to be handed the lock.
    fn wait_for_turn(&self, py: Python<'_>, hooks: &Hooks, me: Owner) -> PyResult<bool> {
        let wakeup = hooks.wakeup.bind(py).call0()?; // made by the waiter: it records who waits
        {
            let mut state = self.state.lock();
            if state.owner.is_none() {
                // Freed while the Wakeup was made (nobody queued: a hand-over would have
                // picked a waiter as the owner).
                state.owner = Some(me);
                state.depth = 1;
                return Ok(true);
            }
            state.waiters.push_back(Waiter {
                owner: me,
                wakeup: wakeup.clone().unbind(),
            });
        }
        match wakeup.call_method1(pyo3::intern!(py, "wait"), (py.None(),)) {
            Ok(_) => Ok(true), // woken by a hand-over, which made us the owner first
            Err(err) => {
                // Cancelled or interrupted while waiting: leave the queue or, if the lock was
                // handed over meanwhile (we left the queue then), pass it on.
                let granted = {
                    let mut state = self.state.lock();
                    match state.waiters.iter().position(|w| w.wakeup.is(&wakeup)) {
                        Some(index) => {
                            let left = state.waiters.remove(index);
                            drop(state);
                            drop(left);
                            false
                        }
                        None => true,
                    }
                };
                if granted {
                    self.hand_over(py)?;
                }
                Err(err)
            }
        }
    }

    /// Give the lock to the first waiter that can still be woken, or free it. The caller
    /// owns the lock (at depth 1, its last release).
    fn hand_over(&self, py: Python<'_>) -> PyResult<()> {
        loop {
            let (next, previous) = {
                let mut state = self.state.lock();
                match state.waiters.pop_front() {
                    Some(waiter) => {
                        let previous = state.owner.replace(waiter.owner);
                        state.depth = 1;
                        (Some(waiter.wakeup), previous)
                    }
                    None => {
                        state.depth = 0;
                        (None, state.owner.take())
                    }
                }
            };
            drop(previous); // outside the mutex: a decref may run Python code
            let Some(wakeup) = next else {
                return Ok(());
            };
            // False: a green waiter whose event loop is closed; it will never run again,
            // so the lock goes on to the next waiter.
            if wakeup
                .bind(py)
                .call_method0(pyo3::intern!(py, "set"))?
                .is_truthy()?
            {
                return Ok(());
            }
        }
    }

    /// Take the lock for `me` if nobody else holds it (reentrant): never waits. For the
    /// cursor's native path (lane.rs), which leaves any wait to the Python path.
    pub(crate) fn try_acquire_as(&self, me: Owner) -> bool {
        let mut state = self.state.lock();
        match &state.owner {
            Some(owner) if owner.is(&me) => state.depth += 1,
            None => {
                state.owner = Some(me);
                state.depth = 1;
            }
            Some(_) => return false,
        }
        true
    }

    /// Release a hold taken by `try_acquire_as` (the caller is the owner).
    pub(crate) fn release_held(&self, py: Python<'_>) -> PyResult<()> {
        let last = {
            let mut state = self.state.lock();
            state.depth = state.depth.saturating_sub(1);
            state.depth == 0
        };
        if last {
            self.hand_over(py)?;
        }
        Ok(())
    }
}

#[pymethods]
impl ConnectionLock {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Give the lock what it calls into: greenlet's `getcurrent`, the `HOLDER` context
    /// variable and the `Wakeup` class. Once per process (later calls are ignored).
    #[staticmethod]
    fn _configure(
        py: Python<'_>,
        getcurrent: Py<PyAny>,
        holder: Py<PyAny>,
        wakeup: Py<PyAny>,
    ) -> PyResult<()> {
        let _ = HOOKS.set(
            py,
            Hooks {
                getcurrent,
                holder,
                wakeup,
            },
        );
        Ok(())
    }

    fn acquire(&self, py: Python<'_>) -> PyResult<bool> {
        let hooks = hooks(py)?;
        let me = whoami(py, hooks)?;
        {
            let mut state = self.state.lock();
            match &state.owner {
                Some(owner) if owner.is(&me) => {
                    state.depth += 1;
                    return Ok(true);
                }
                None => {
                    state.owner = Some(me);
                    state.depth = 1;
                    return Ok(true);
                }
                Some(_) => {}
            }
        }
        let holder = hooks
            .holder
            .bind(py)
            .call_method0(pyo3::intern!(py, "get"))?;
        if !holder.is_none() {
            let mut state = self.state.lock();
            if state.owner.as_ref().is_some_and(|o| o.is_object(&holder)) {
                state.depth += 1; // held for this task's block
                return Ok(true);
            }
        }
        self.wait_for_turn(py, hooks, me)
    }

    fn __enter__(&self, py: Python<'_>) -> PyResult<bool> {
        self.acquire(py)
    }

    /// Acquire for a block that lasts beyond this call (a COPY block): owned by the
    /// `HOLDER` of the caller's context if there is one (async blocks), else by the caller.
    /// Released by one `release()`.
    fn hold_for_block(&self, py: Python<'_>) -> PyResult<()> {
        self.acquire(py)?;
        let holder = hooks(py)?
            .holder
            .bind(py)
            .call_method0(pyo3::intern!(py, "get"))?;
        if holder.is_none() {
            return Ok(());
        }
        let previous = {
            let mut state = self.state.lock();
            if state.depth != 1 {
                return Ok(());
            }
            state.owner.replace(Owner::Object(holder.unbind()))
        };
        drop(previous);
        Ok(())
    }

    fn release(&self, py: Python<'_>) -> PyResult<()> {
        let hooks = hooks(py)?;
        let me = whoami(py, hooks)?;
        let mine = self.state.lock().owner.as_ref().is_some_and(|o| o.is(&me));
        if !mine {
            let holder = hooks
                .holder
                .bind(py)
                .call_method0(pyo3::intern!(py, "get"))?;
            let held_for_block = !holder.is_none()
                && self
                    .state
                    .lock()
                    .owner
                    .as_ref()
                    .is_some_and(|o| o.is_object(&holder));
            if !held_for_block {
                return Err(PyRuntimeError::new_err(
                    "cannot release a connection lock held by another task",
                ));
            }
        }
        self.release_held(py)
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        self.release(py)
    }

    fn locked(&self) -> bool {
        self.state.lock().owner.is_some()
    }

    /// The garbage collector's view: a lock held by a green task that was dropped while
    /// holding it refers to that task's greenlet, which may refer back (through its frames)
    /// to the connection and so to the lock.
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        // Never contended here: the state's mutex is only held without calls into Python.
        let Some(state) = self.state.try_lock() else {
            return Ok(());
        };
        if let Some(Owner::Object(owner)) = &state.owner {
            visit.call(owner)?;
        }
        for waiter in &state.waiters {
            if let Owner::Object(owner) = &waiter.owner {
                visit.call(owner)?;
            }
            visit.call(&waiter.wakeup)?;
        }
        Ok(())
    }

    fn __clear__(&self) {
        let taken = std::mem::take(&mut *self.state.lock());
        drop(taken);
    }

    /// The queued waiters' wake-ups, first first (for tests and diagnosis).
    #[getter]
    fn _waiters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let wakeups: Vec<Py<PyAny>> = self
            .state
            .lock()
            .waiters
            .iter()
            .map(|w| w.wakeup.clone_ref(py))
            .collect();
        PyList::new(py, wakeups)
    }
}
