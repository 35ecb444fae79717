//! The `balrog._core` Python module: the hub, the bridge table capsule, and the two native
//! ops (a timer and an immediate no-op) that test and benchmark the bridge before any driver.

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::capi::{BridgeApi, ABI_VERSION, CAPSULE_NAME};
use crate::hub::{hub_complete, hub_release, hub_retain, Hub};
use crate::op::Op;
use crate::runtime::{fork_generation, runtime, runtime_started};
use crate::watch::SocketWatch;

/// An op that completes after `seconds` on the runtime's timer.
#[pyfunction]
fn sleep(seconds: f64) -> PyResult<Op> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(PyValueError::new_err(
            "sleep length must be a non-negative number",
        ));
    }
    let duration = Duration::from_secs_f64(seconds);
    // Built inside the future: a tokio timer needs the runtime context it will run in.
    // A zero sleep only yields (a timer would round it up to the wheel's 1 ms tick).
    Ok(Op::new(
        async move {
            if duration.is_zero() {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(duration).await;
            }
        },
        |py, ()| Ok(py.None()),
    ))
}

/// An op that completes at once: measures the bridge itself (it finishes during the
/// first poll, so no thread is involved).
#[pyfunction]
fn noop() -> Op {
    Op::new(std::future::ready(()), |py, ()| Ok(py.None()))
}

/// An op that is pending once and finishes on a tokio thread: measures the whole
/// spawn → complete → hub → resume path.
#[pyfunction]
fn yield_now() -> Op {
    Op::new(tokio::task::yield_now(), |py, ()| Ok(py.None()))
}

/// The usual way, for the benchmark: the same no-op run on a tokio thread, which then takes
/// the GIL and calls `callback(*args)` there — e.g. `loop.call_soon_threadsafe(fut.set_result,
/// None)`, which is what pyo3-async-runtimes does to deliver a result to asyncio.
#[pyfunction]
#[pyo3(signature = (callback, *args))]
fn _noop_call(callback: PyObject, args: Py<PyTuple>) {
    drop(runtime().spawn(async move {
        Python::with_gil(|py| {
            if let Err(err) = callback.call1(py, args.bind(py)) {
                err.write_unraisable(py, None);
            }
        });
    }));
}

/// Test hook: an op whose future panics, to show a panic arrives as PanicException.
#[pyfunction]
fn _panicking_op() -> Op {
    Op::new(
        async {
            if std::hint::black_box(true) {
                panic!("deliberate panic in a native op");
            }
        },
        |py, ()| Ok(py.None()),
    )
}

/// Incremented in a child process after each fork().
#[pyfunction(name = "fork_generation")]
fn py_fork_generation() -> u64 {
    fork_generation()
}

/// Whether the core wheel's runtime exists in this process.
#[pyfunction(name = "runtime_started")]
fn py_runtime_started() -> bool {
    runtime_started()
}

/// The table other wheels import; static, so it outlives any capsule or module object.
static BRIDGE_API: BridgeApi = BridgeApi {
    abi_version: ABI_VERSION,
    hub_complete,
    hub_retain,
    hub_release,
};

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    // SAFETY: the capsule points at a static table, valid for the life of the process; no
    // destructor, so tokio threads still completing ops during interpreter shutdown never
    // see freed memory.
    let capsule = unsafe {
        let raw = pyo3::ffi::PyCapsule_New(
            (&BRIDGE_API as *const BridgeApi).cast_mut().cast(),
            CAPSULE_NAME.as_ptr(),
            None,
        );
        Bound::from_owned_ptr_or_err(py, raw)?
    };
    m.add("_BRIDGE_API", capsule)?;
    m.add("ABI_VERSION", ABI_VERSION)?;
    m.add_class::<Hub>()?;
    m.add_class::<Op>()?;
    m.add_class::<SocketWatch>()?;
    m.add_function(wrap_pyfunction!(sleep, m)?)?;
    m.add_function(wrap_pyfunction!(noop, m)?)?;
    m.add_function(wrap_pyfunction!(yield_now, m)?)?;
    m.add_function(wrap_pyfunction!(_noop_call, m)?)?;
    m.add_function(wrap_pyfunction!(_panicking_op, m)?)?;
    m.add_function(wrap_pyfunction!(py_fork_generation, m)?)?;
    m.add_function(wrap_pyfunction!(py_runtime_started, m)?)?;
    Ok(())
}
