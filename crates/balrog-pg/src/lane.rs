//! `Lane`: a cursor's native path for a prepared query it runs again, in blocking mode.
//!
//! `cursor.execute()` in Python does a dozen things per query (checks, the prepare
//! manager's bookkeeping, adapting the parameters, the lock, the op, positioning on the
//! result), each a few hundred nanoseconds on a round trip of ~10 µs with the server on the
//! same CPU. Once a cursor has run a query whose statement is prepared, the Python path
//! *arms* its lane with what it found (statement name, parameter formats and encoders, the
//! result's loaders); later executes of that query take one native call: encode the
//! parameters, take the connection lock, write Bind/Describe/Execute/Sync and read the
//! answer on this thread (balrog-core's `block_on_socket`, with its eager read), and hand
//! back the result with its loaders set.
//!
//! The lane only accelerates the steady state it was armed in, and says "not mine"
//! (`execute` returns None) at anything else, which the ordinary Python path then handles
//! exactly as before: another query, the statement no longer the prepare manager's most
//! recent one (evicted, invalidated, or another statement ran since: the manager's LRU
//! update is the Python path's), adapters registered since (psycopg's registry version), a
//! green task or a thread with a running event loop, a connection that is closed, busy,
//! outside autocommit without a transaction open (the BEGIN), in another client encoding,
//! a parameter that needs a Python dumper or encodes to other types, or the lock held by
//! someone else (the lane never waits for it).
//!
//! Once it holds the lock, the lane returns (or raises) with the lock still held: the
//! Python side positions the cursor (or handles the error as the ordinary path does) and
//! then releases it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::conn::{no_values, run_statement, LaneParts, PgConn, Statement};
use crate::conn_lock::{owner_of, ConnectionLock};
use crate::encode::{encode_builtin, format_indices, Values};
use crate::errors::{to_py, PgError};
use crate::proto::{Columns, COMMAND_OK, TUPLES_OK};
use crate::result::{LoaderSet, PgResult};

/// What the lane checks the caller's mode and the adapters' version with, given once by
/// `balrog.psycopg.cursor`.
struct Hooks {
    getcurrent: Py<PyAny>,
    green_task: Py<PyAny>,
    get_running_loop: Py<PyAny>,
    /// psycopg's adapters registry version: `[n]`, bumped by every dumper/loader registered.
    registry_version: Py<PyList>,
}

static HOOKS: GILOnceCell<Hooks> = GILOnceCell::new();

/// The query a lane is armed for, and what running it again needs.
struct Entry {
    query: Py<PyAny>,
    name: String,
    /// The prepare manager's name object: the statement is still prepared and the most
    /// recently used while the manager's `_last` is this very object.
    name_obj: Py<PyAny>,
    /// The parameter types it was prepared for (the manager's key).
    types: Vec<u32>,
    /// Number of parameters, and each placeholder's format index (0 AUTO, 1 TEXT, 2 BINARY).
    width: usize,
    fmts: Vec<u8>,
    /// Per format index, {exact type: builtin encoder code}.
    encoders: Vec<Py<PyDict>>,
    /// The result's row description and its loaders; None for a command without rows (an
    /// INSERT, UPDATE or DELETE).
    rows: Option<(Columns, Py<LoaderSet>)>,
    version: i64,
}

#[pyclass(frozen, module = "balrog._pg", name = "Lane")]
pub struct Lane {
    conn: Py<PgConn>,
    lock: Py<ConnectionLock>,
    entry: Mutex<Option<Arc<Entry>>>,
    /// Executes this lane ran (for tests and diagnosis).
    runs: AtomicU64,
}

/// What `execute` hands back: (results, the result to position on or None for
/// `_set_results`, the same if it has rows to fetch (else None), its rowcount, notices or
/// notifications waiting).
type Answer = (Py<PyList>, PyObject, PyObject, i64, bool);

#[pymethods]
impl Lane {
    #[new]
    fn new(conn: Py<PgConn>, lock: Py<ConnectionLock>) -> Self {
        Lane {
            conn,
            lock,
            entry: Mutex::new(None),
            runs: AtomicU64::new(0),
        }
    }

    /// greenlet's `getcurrent`, the `GreenTask` class, asyncio's `_get_running_loop` and
    /// psycopg's registry version list. Once per process (later calls are ignored).
    #[staticmethod]
    fn _configure(
        py: Python<'_>,
        getcurrent: Py<PyAny>,
        green_task: Py<PyAny>,
        get_running_loop: Py<PyAny>,
        registry_version: Py<PyList>,
    ) {
        let _ = HOOKS.set(
            py,
            Hooks {
                getcurrent,
                green_task,
                get_running_loop,
                registry_version,
            },
        );
    }

    /// Remember `query` as run by the Python path (see the module docs).
    #[pyo3(signature = (query, name, types, width, fmts, encoders, result, loaders, version))]
    #[allow(clippy::too_many_arguments)] // what the Python path found, as it found it
    fn arm(
        &self,
        query: Py<PyAny>,
        name: &Bound<'_, PyString>,
        types: Vec<u32>,
        width: usize,
        fmts: Vec<u8>,
        encoders: Vec<Py<PyDict>>,
        result: &Bound<'_, PgResult>,
        loaders: Option<Py<LoaderSet>>,
        version: i64,
    ) -> PyResult<()> {
        let entry = Entry {
            query,
            name: name.to_str()?.to_owned(),
            name_obj: name.clone().into_any().unbind(),
            types,
            width,
            fmts,
            encoders,
            rows: loaders.map(|loaders| (result.get().shared_columns(), loaders)),
            version,
        };
        let previous = self.entry.lock().replace(Arc::new(entry));
        drop(previous); // outside the mutex: a decref may run Python code
        Ok(())
    }

    fn disarm(&self) {
        let previous = self.entry.lock().take();
        drop(previous);
    }

    /// How many executes the lane ran.
    #[getter]
    fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// The query the lane is armed for (None: not armed).
    #[getter]
    fn armed(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.entry.lock().as_ref().map(|e| e.query.clone_ref(py))
    }

    /// Run `query` with `params` if the lane is armed for it and nothing changed (see the
    /// module docs): then returns with the connection lock held (see `Answer`), or raises
    /// with it held. None: the ordinary path's turn (the lock was not taken).
    ///
    /// `last`: the prepare manager's most recent statement name; `autocommit`: the
    /// connection's.
    fn execute(
        &self,
        py: Python<'_>,
        query: &Bound<'_, PyAny>,
        params: &Bound<'_, PyAny>,
        last: &Bound<'_, PyAny>,
        autocommit: bool,
    ) -> PyResult<Option<Answer>> {
        // Nothing before the lock is taken may raise: the Python side takes an exception
        // for one raised with the lock held. Anything unexpected is the ordinary path's.
        let Some(ready) = self.ready(py, query, params, last, autocommit) else {
            return Ok(None);
        };
        let Ready {
            entry,
            parts: (rt, slot, shared, fd),
            values,
            formats,
        } = ready;
        // The lock is held from here on: returned (or raised) to the Python side, which
        // releases it.
        self.runs.fetch_add(1, Ordering::Relaxed);
        let statement = Statement {
            parse: None,
            name: entry.name.clone(),
            values,
            formats,
            result_format: 0,
            deallocate: Vec::new(),
            // The row description is the one of the first run: the server sends it no more
            // (a prepared statement's columns cannot change: after DDL that would change
            // them the statement fails with "cached plan must not change result type").
            describe: false,
        };
        let mut collected =
            balrog_core::block_on_socket(py, &rt, fd, run_statement(slot, shared, statement))?
                .map_err(|err| to_py(py, err))?;
        if let (Some((columns, _)), [set]) = (&entry.rows, &mut collected.results[..]) {
            // Without a Describe the result came without its row description: the rows
            // are those of the description the lane was armed with.
            if set.columns.is_none() && set.status == COMMAND_OK {
                set.columns = Some(columns.clone());
                set.status = TUPLES_OK;
            }
        }
        if collected.copy_refused {
            return Err(to_py(
                py,
                PgError::Programming(
                    "COPY cannot be used with this method; use copy() instead".into(),
                ),
            ));
        }
        if let Some(fields) = collected.error {
            return Err(to_py(py, PgError::Server(fields)));
        }
        let results = PyList::empty(py);
        // (the result, it has rows, its rowcount) when it is what the lane was armed for.
        let mut position: Option<(Bound<'_, PgResult>, bool, i64)> = None;
        let single = collected.results.len() == 1;
        for set in collected.results {
            let result = Bound::new(py, PgResult::new(set))?;
            {
                let r = result.get();
                let status = r.status();
                // The rowcount `_select_result` gives: the tag's count, else the rows
                // (-1 for a command without rows).
                let tagged = r.command_tuples();
                if single && !r.drops_prepared() && !r.is_binary() {
                    match &entry.rows {
                        Some((_, loaders)) if status == TUPLES_OK => {
                            r.use_loader_set(loaders.get());
                            let rows = i64::try_from(r.ntuples()).unwrap_or(i64::MAX);
                            position = Some((result.clone(), true, tagged.unwrap_or(rows)));
                        }
                        None if status == COMMAND_OK => {
                            position = Some((result.clone(), false, tagged.unwrap_or(-1)));
                        }
                        _ => {}
                    }
                }
            }
            results.append(result)?;
        }
        let (target, rows, rowcount) = match position {
            Some((result, has_rows, rowcount)) => {
                let result = result.into_any().unbind();
                let rows = if has_rows {
                    result.clone_ref(py)
                } else {
                    py.None()
                };
                (result, rows, rowcount)
            }
            None => (py.None(), py.None(), -1),
        };
        Ok(Some((
            results.unbind(),
            target,
            rows,
            rowcount,
            self.conn.get().has_pending(),
        )))
    }
}

/// What `Lane::ready` found: the entry, the connection's parts, the encoded parameters.
struct Ready {
    entry: Arc<Entry>,
    parts: LaneParts,
    values: Arc<Values>,
    formats: Vec<i16>,
}

impl Lane {
    /// Everything `execute` checks and prepares before it takes the lock, with the lock
    /// taken at the end; None: not the lane's query, or anything unexpected (the lock was
    /// not taken).
    fn ready(
        &self,
        py: Python<'_>,
        query: &Bound<'_, PyAny>,
        params: &Bound<'_, PyAny>,
        last: &Bound<'_, PyAny>,
        autocommit: bool,
    ) -> Option<Ready> {
        let entry = self.entry.lock().clone()?;
        let same_query = entry.query.is(query)
            || (query.is_exact_instance_of::<PyString>()
                && entry.query.bind(py).eq(query).unwrap_or(false));
        if !same_query || !entry.name_obj.is(last) {
            return None;
        }
        let hooks = HOOKS.get(py)?;
        let version: i64 = hooks
            .registry_version
            .bind(py)
            .get_item(0)
            .ok()?
            .extract()
            .ok()?;
        if version != entry.version {
            return None;
        }
        // Blocking mode only: a plain thread (or a greenlet of its own), no running loop.
        let current = hooks.getcurrent.bind(py).call0().ok()?;
        if current.get_type().is(hooks.green_task.bind(py))
            || !hooks.get_running_loop.bind(py).call0().ok()?.is_none()
        {
            return None;
        }
        let (parts, tx_status) = self.conn.get().lane_parts()?;
        if !autocommit && tx_status == b'I' {
            return None; // the ordinary path sends the BEGIN first
        }
        let (values, formats) = encode(py, &entry, params)?;
        if !self.lock.get().try_acquire_as(owner_of(py, current).ok()?) {
            return None;
        }
        Some(Ready {
            entry,
            parts,
            values,
            formats,
        })
    }
}

/// The values and their formats.
type Encoded = (Arc<Values>, Vec<i16>);

/// `params` encoded by the builtin dumpers into the types the statement was prepared for;
/// None when that cannot be done (the ordinary path's turn).
fn encode(py: Python<'_>, entry: &Entry, params: &Bound<'_, PyAny>) -> Option<Encoded> {
    if entry.width == 0 {
        return params.is_none().then(|| (no_values(), Vec::new()));
    }
    let tuple = params.downcast_exact::<PyTuple>().ok();
    let list = params.downcast_exact::<PyList>().ok();
    let len = match (tuple, list) {
        (Some(t), _) => t.len(),
        (None, Some(l)) => l.len(),
        (None, None) => return None,
    };
    if len != entry.width {
        return None;
    }
    let mut out = Values {
        data: Vec::with_capacity(64),
        spans: Vec::with_capacity(len),
    };
    let mut formats = Vec::with_capacity(len);
    for (index, fmt) in format_indices(&entry.fmts, len).enumerate() {
        let obj = match (tuple, list) {
            (Some(t), _) => t.get_item(index).ok()?,
            (None, Some(l)) => l.get_item(index).ok()?,
            (None, None) => return None,
        };
        let map = entry.encoders.get(usize::from(fmt))?.bind(py);
        let (oid, format) = encode_builtin(map, &obj, &mut out)?;
        if entry.types.get(index) != Some(&oid) {
            return None; // other types: another prepared statement
        }
        formats.push(format);
    }
    Some((Arc::new(out), formats))
}
