//! `PgConn`: the native core of a Python `Connection`.
//!
//! Each connection owns a current-thread tokio runtime. A blocking call drives it on the
//! caller's own thread (no thread hop between Python and the socket); a green call has a
//! blocking-pool thread of the shared runtime drive it. The socket sits behind an async
//! mutex, so green tasks sharing a connection queue up instead of interleaving messages.

use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

use balrog_core::{fork_generation, Exec, Op};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::connect::{connect, AuthRules, Params, Target};
use crate::encode::{Params as Encoded, Values};
use crate::errors::{to_py, PgError};
use crate::proto::{self, Collected, CopyMode, Io, Shared, Status};
use crate::recover::{set_phase, Phase};
use crate::result::PgResult;
use crate::tls::TlsOptions;
use crate::transcode::{wire_query, wire_values, Transcoder};

pub(crate) type Slot = Arc<AsyncMutex<Option<Io>>>;

/// See [`PgConn::lane_parts`].
pub(crate) type LaneParts = (Arc<Runtime>, Slot, Arc<Shared>, Option<RawFd>);

/// A query's text as the Python side passes it (`bytes`). Borrowed as a slice: pyo3 would
/// extract a `Vec<u8>` one element at a time through the sequence protocol, which costs
/// microseconds for an ordinary Django query.
pub(crate) type QueryBytes<'a> = std::borrow::Cow<'a, [u8]>;

/// The connection's runtime and socket. `close()` takes them out of the `PgConn` at once, so
/// a closed connection holds no file descriptor even while Python still references it.
struct Handles {
    rt: Arc<Runtime>,
    slot: Slot,
    /// The socket a green caller's event loop may watch (None for TLS: see `Stream::loop_fd`).
    fd: Option<RawFd>,
}

#[pyclass(frozen, module = "balrog._pg", name = "PgConn")]
pub struct PgConn {
    handles: parking_lot::Mutex<Option<Handles>>,
    shared: Arc<Shared>,
    target: Target,
    generation: u64,
    /// The session is encrypted (libpq's PQsslInUse).
    ssl_in_use: bool,
    /// The socket's file descriptor (libpq's PQsocket), for `Connection.fileno()`.
    socket_fd: RawFd,
}

impl Drop for PgConn {
    fn drop(&mut self) {
        if self.generation != fork_generation() {
            // Inherited across fork(): the socket and the epoll instance are shared with the
            // parent; dropping them would deregister the parent's socket. Leak them instead.
            std::mem::forget(self.handles.lock().take());
        }
    }
}

/// Holds the socket for one op. If the op's future is dropped half way (Ctrl-C, a cancelled
/// green task), what happens depends on its `Phase` (recover.rs): a request not fully written
/// closes the connection; a request whose answers are pending leaves them to be read (after
/// a cancel request) by `recover` or by the next op.
pub(crate) struct Session {
    guard: OwnedMutexGuard<Option<Io>>,
    shared: Arc<Shared>,
    finished: bool,
}

impl Session {
    /// Take the socket for an op that is about to write a request.
    pub(crate) fn new(guard: OwnedMutexGuard<Option<Io>>, shared: Arc<Shared>) -> Self {
        {
            let mut status = shared.lock();
            status.active = true;
            status.phase = Phase::Sending;
        }
        Session {
            guard,
            shared,
            finished: false,
        }
    }

    pub(crate) fn io(&mut self) -> Result<&mut Io, PgError> {
        self.guard.as_mut().ok_or(PgError::Closed)
    }

    pub(crate) fn done(mut self) {
        self.finished = true;
        // Inside a COPY the session stays ACTIVE (libpq's transaction status) until the
        // COPY ends, whichever op ends it.
        let copying = self
            .guard
            .as_ref()
            .is_some_and(|io| io.copy != CopyMode::None);
        let mut status = self.shared.lock();
        status.active = copying;
        status.phase = Phase::Idle;
    }

    /// Apply an op's outcome: a lost connection (or a FATAL error) breaks it for good.
    pub(crate) fn settle<T>(mut self, outcome: Result<T, PgError>) -> Result<T, PgError> {
        match &outcome {
            Err(PgError::Lost(_)) => self.mark_broken(),
            Err(PgError::Server(fields))
                if fields
                    .iter()
                    .any(|(c, v)| *c == b'V' && (v == "FATAL" || v == "PANIC")) =>
            {
                self.mark_broken()
            }
            _ => {}
        }
        self.done();
        outcome
    }

    fn mark_broken(&mut self) {
        *self.guard = None;
        let mut status = self.shared.lock();
        status.closed = true;
        status.broken = true;
        status.tx_status = 0;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let phase = self.shared.lock().phase;
        match phase {
            // The answers are still owed: the connection stays ACTIVE until they are read.
            Phase::Awaiting | Phase::Unsynced | Phase::Queued { .. } => {}
            Phase::Idle => self.shared.lock().active = false,
            Phase::Sending => {
                self.mark_broken();
                let mut status = self.shared.lock();
                status.active = false;
                status.phase = Phase::Idle;
            }
        }
    }
}

pub(crate) async fn session(slot: Slot, shared: Arc<Shared>) -> Result<Session, PgError> {
    let guard = slot.lock_owned().await;
    if guard.is_none() {
        return Err(PgError::Closed);
    }
    let phase_before = shared.lock().phase;
    let owed = phase_before.owes_answers();
    let mut s = Session::new(guard, shared);
    if owed {
        // An interrupted op left answers behind (and nobody cancelled it): read them first.
        let shared = s.shared.clone();
        let drained = match s.io() {
            Ok(io) => match crate::recover::complete_request(io, &shared, phase_before).await {
                Ok(()) => crate::recover::drain(io, &shared).await,
                Err(err) => Err(err),
            },
            Err(err) => Err(err),
        };
        if let Err(err) = drained {
            return s.settle(Err(err));
        }
        set_phase(&shared, Phase::Sending);
    }
    if s.io()?.copy != CopyMode::None {
        s.done();
        return Err(PgError::Programming(
            "the connection is in COPY mode: finish the copy block first".into(),
        ));
    }
    Ok(s)
}

/// One statement for the extended protocol (`PgConn.extended`, `PgConn.run`, and each
/// statement of a pipeline).
pub(crate) struct Statement {
    /// Parse first: the query text and its parameter types.
    pub(crate) parse: Option<(Vec<u8>, Vec<u32>)>,
    /// The prepared statement ("" for the unnamed one).
    pub(crate) name: String,
    pub(crate) values: Arc<Values>,
    pub(crate) formats: Vec<i16>,
    pub(crate) result_format: i16,
    /// Prepared statements to close first (evicted from the cache).
    pub(crate) deallocate: Vec<String>,
    /// Describe the portal (libpq always does). A cursor's lane skips it: the statement's
    /// row description is known from its first run (lane.rs).
    pub(crate) describe: bool,
}

impl Statement {
    /// [Close*] [Parse] Bind Describe Execute, without the Sync (a pipeline sends one for
    /// all its statements).
    pub(crate) fn write(&self, wbuf: &mut bytes::BytesMut) -> Result<(), PgError> {
        for old in &self.deallocate {
            proto::msg_close_statement(wbuf, old)?;
        }
        if let Some((query, types)) = &self.parse {
            proto::msg_parse(wbuf, &self.name, query, types)?;
        }
        let width = self.values.spans.len();
        proto::msg_bind(
            wbuf,
            &self.name,
            self.values.row(0, width),
            &self.formats,
            self.result_format,
        )?;
        if self.describe {
            proto::msg_describe_portal(wbuf)?;
        }
        proto::msg_execute(wbuf)
    }
}

/// The shared empty parameter list (a statement without parameters).
pub(crate) fn no_values() -> Arc<Values> {
    static EMPTY: std::sync::OnceLock<Arc<Values>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Arc::new(Values::default())).clone()
}

/// [Close*] [Parse] Bind Describe Execute Sync in one write, then the results.
pub(crate) async fn run_statement(
    slot: Slot,
    shared: Arc<Shared>,
    statement: Statement,
) -> Result<Collected, PgError> {
    let mut s = session(slot, shared.clone()).await?;
    let outcome = async {
        let io = s.io()?;
        statement.write(&mut io.wbuf)?;
        proto::msg_sync(&mut io.wbuf);
        io.flush().await?;
        set_phase(&shared, Phase::Awaiting);
        io.collect(&shared, false).await
    }
    .await;
    if outcome.is_err() {
        if let Ok(io) = s.io() {
            io.wbuf.clear();
        }
    }
    s.settle(outcome)
}

/// COPY TO STDOUT's next CopyData message, then up to `limit - 1` more that are already
/// in the read buffer (the server sends one per row: reading them one op each cost more
/// than parsing them). Stops before anything else (CopyDone, an error), which the next
/// call then meets first, so rows before an error are all returned. None at the end: the
/// results are collected and the connection leaves COPY mode.
async fn read_copy_out(
    slot: Slot,
    shared: Arc<Shared>,
    limit: usize,
) -> Result<Option<Vec<bytes::Bytes>>, PgError> {
    let guard = slot.lock_owned().await;
    let mut s = Session::new(guard, shared.clone());
    let outcome = async {
        let io = s.io()?;
        if io.copy != CopyMode::Out {
            return Ok(None);
        }
        loop {
            use postgres_protocol::message::backend::Message;
            match io.next(&shared).await? {
                Message::CopyData(body) => {
                    let mut chunks = vec![body.into_bytes()];
                    while chunks.len() < limit
                        && proto::message_buffered(&io.rbuf)
                        && io.rbuf.first() == Some(&b'd')
                    {
                        // Complete and buffered: `next` returns it without waiting.
                        match io.next(&shared).await? {
                            Message::CopyData(body) => chunks.push(body.into_bytes()),
                            // Unreachable (the tag was checked); not worth a panic.
                            _ => break,
                        }
                    }
                    return Ok(Some(chunks));
                }
                Message::CopyDone => {
                    io.copy = CopyMode::None;
                    let collected = io.collect(&shared, false).await?;
                    if let Some(fields) = collected.error {
                        return Err(PgError::Server(fields));
                    }
                    let mut status = shared.lock();
                    status.copy_out_rows = collected
                        .results
                        .first()
                        .and_then(|set| proto::tag_tuples(set.tag.as_deref()));
                    status.copy_out_mixed = collected.results.len() > 1;
                    return Ok(None);
                }
                Message::ErrorResponse(body) => {
                    io.copy = CopyMode::None;
                    let fields = proto::error_fields(body.fields());
                    io.collect(&shared, false).await?;
                    return Err(PgError::Server(fields));
                }
                _ => {}
            }
        }
    }
    .await;
    s.settle(outcome)
}

pub(crate) fn results_to_py(py: Python<'_>, collected: Collected) -> PyResult<PyObject> {
    // A refused COPY shows as the error of our own CopyFail: report the misuse instead.
    if collected.copy_refused {
        return Err(to_py(
            py,
            PgError::Programming("COPY cannot be used with this method; use copy() instead".into()),
        ));
    }
    if let Some(fields) = collected.error {
        return Err(to_py(py, PgError::Server(fields)));
    }
    let list = PyList::empty(py);
    for set in collected.results {
        list.append(Bound::new(py, PgResult::new(set))?)?;
    }
    Ok(list.into_any().unbind())
}

/// `(earlier_tuples, [results])` for `many(.., summarize=True)`.
pub(crate) fn summary_to_py(py: Python<'_>, collected: Collected) -> PyResult<PyObject> {
    let earlier = collected.earlier_tuples;
    let results = results_to_py(py, collected)?;
    Ok((earlier, results).into_pyobject(py)?.into_any().unbind())
}

fn new_runtime() -> Result<Arc<Runtime>, PgError> {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .map(Arc::new)
        .map_err(|e| PgError::Operational(format!("cannot start the connection's runtime: {e}")))
}

/// Open a connection; resolves to a `PgConn`.
#[pyfunction]
#[pyo3(signature = (hosts, hostaddrs, ports, user, password, dbname, connect_timeout, startup, sslmode, ssl_options=Vec::new(), channel_binding=String::new(), require_auth=String::new(), password_file=None))]
#[allow(clippy::too_many_arguments)]
pub fn connect_op(
    hosts: Vec<String>,
    hostaddrs: Vec<String>,
    ports: Vec<u16>,
    user: String,
    password: Option<String>,
    dbname: String,
    connect_timeout: Option<f64>,
    startup: Vec<(String, String)>,
    sslmode: String,
    ssl_options: Vec<(String, String)>,
    channel_binding: String,
    require_auth: String,
    password_file: Option<String>,
) -> Op {
    // sslmode "" means "not given" (libpq's default, prefer; sslrootcert=system changes it).
    let tls = match TlsOptions::from_pairs(&sslmode, &ssl_options) {
        Ok(tls) => tls,
        Err(err) => return Op::ready(move |py| Err(to_py(py, err))),
    };
    let params = Params {
        hosts,
        hostaddrs,
        ports,
        user,
        password,
        password_file,
        dbname,
        connect_timeout: connect_timeout
            .filter(|t| *t > 0.0)
            .map(|t| Duration::from_secs_f64(t.max(2.0))),
        startup,
        tls,
        auth: AuthRules {
            channel_binding_required: channel_binding == "require",
            channel_binding_disabled: channel_binding == "disable",
            require_auth: (!require_auth.is_empty()).then(|| {
                let negated = require_auth.starts_with('!');
                let methods = require_auth
                    .split(',')
                    .map(|m| m.trim_start_matches('!').to_owned())
                    .collect();
                (require_auth.clone(), negated, methods)
            }),
        },
    };
    let rt = match new_runtime() {
        Ok(rt) => rt,
        Err(err) => return Op::ready(move |py| Err(to_py(py, err))),
    };
    let shared: Arc<Shared> = Arc::new(parking_lot::Mutex::new(Status::default()));
    let generation = fork_generation();
    let rt_keep = rt.clone();
    let shared_fut = shared.clone();
    Op::on(
        Exec::Dedicated(rt),
        async move { connect(params, &shared_fut).await },
        move |py, outcome| match outcome {
            Ok((io, target)) => {
                let ssl_in_use = matches!(io.stream, proto::Stream::Tls(_));
                let fd = io.stream.loop_fd();
                let socket_fd = io.stream.socket_fd();
                let conn = PgConn {
                    ssl_in_use,
                    socket_fd,
                    handles: parking_lot::Mutex::new(Some(Handles {
                        rt: rt_keep,
                        slot: Arc::new(AsyncMutex::new(Some(io))),
                        fd,
                    })),
                    shared,
                    target,
                    generation,
                };
                Ok(Bound::new(py, conn)?.into_any().unbind())
            }
            Err(err) => Err(to_py(py, err)),
        },
    )
}

impl PgConn {
    /// The client encoding's converter; None while it is UTF-8 (transcode.rs).
    pub(crate) fn transcoder(&self) -> Option<Arc<Transcoder>> {
        self.shared.lock().transcoder.clone()
    }

    /// The pieces an op needs, or the error to raise right away.
    pub(crate) fn parts(&self) -> Result<(Arc<Runtime>, Slot, Arc<Shared>), PgError> {
        if self.generation != fork_generation() {
            return Err(PgError::Operational(
                "the connection was created in a parent process and cannot be used after fork()"
                    .into(),
            ));
        }
        match &*self.handles.lock() {
            Some(h) => Ok((h.rt.clone(), h.slot.clone(), self.shared.clone())),
            None => Err(PgError::Closed),
        }
    }

    /// What the cursor's native path (lane.rs) needs to run a statement on this thread:
    /// the runtime, the socket's slot, the shared state and the socket to read eagerly
    /// (None for TLS); with the transaction status letter (b'I', b'T', b'E'). None when the
    /// ordinary path must answer instead: closed, forked, busy (an op in flight or a
    /// COPY), or a client encoding other than UTF-8.
    pub(crate) fn lane_parts(&self) -> Option<(LaneParts, u8)> {
        if self.generation != fork_generation() {
            return None;
        }
        let tx_status = {
            let status = self.shared.lock();
            if status.closed || status.active || status.transcoder.is_some() {
                return None;
            }
            status.tx_status
        };
        let handles = self.handles.lock();
        let h = handles.as_ref()?;
        Some((
            (h.rt.clone(), h.slot.clone(), self.shared.clone(), h.fd),
            tx_status,
        ))
    }

    /// The socket an event loop may watch for this connection's ops (None: TLS, closed).
    pub(crate) fn loop_fd(&self) -> Option<RawFd> {
        self.handles.lock().as_ref().and_then(|h| h.fd)
    }

    /// An op on the connection's runtime, driven by a thread in green mode. For ops that
    /// wait on timers or other sockets (`recover`, `wait_notifies`).
    pub(crate) fn op<F, T, C>(&self, make: impl FnOnce(Slot, Arc<Shared>) -> F, finish: C) -> Op
    where
        F: std::future::Future<Output = Result<T, PgError>> + Send + 'static,
        T: Send + 'static,
        C: FnOnce(Python<'_>, T) -> PyResult<PyObject> + Send + 'static,
    {
        self.build_op(false, make, finish)
    }

    /// An op whose only waits are the connection's lock and its socket (no timer): a green
    /// caller's event loop may drive it (balrog-core's `Op::on_socket`). The hot paths.
    pub(crate) fn socket_op<F, T, C>(
        &self,
        make: impl FnOnce(Slot, Arc<Shared>) -> F,
        finish: C,
    ) -> Op
    where
        F: std::future::Future<Output = Result<T, PgError>> + Send + 'static,
        T: Send + 'static,
        C: FnOnce(Python<'_>, T) -> PyResult<PyObject> + Send + 'static,
    {
        self.build_op(true, make, finish)
    }

    fn build_op<F, T, C>(
        &self,
        drivable: bool,
        make: impl FnOnce(Slot, Arc<Shared>) -> F,
        finish: C,
    ) -> Op
    where
        F: std::future::Future<Output = Result<T, PgError>> + Send + 'static,
        T: Send + 'static,
        C: FnOnce(Python<'_>, T) -> PyResult<PyObject> + Send + 'static,
    {
        let (rt, slot, shared) = match self.parts() {
            Ok(parts) => parts,
            Err(err) => return Op::ready(move |py| Err(to_py(py, err))),
        };
        let fut = make(slot, shared);
        let finish = move |py: Python<'_>, outcome: Result<T, PgError>| match outcome {
            Ok(value) => finish(py, value),
            Err(err) => Err(to_py(py, err)),
        };
        match self.loop_fd().filter(|_| drivable) {
            Some(fd) => Op::on_socket(rt, fd, fut, finish),
            None => Op::on(Exec::Dedicated(rt), fut, finish),
        }
    }
}

#[pymethods]
impl PgConn {
    /// Simple-query protocol: one or more statements, text results. With `copy`, stop at
    /// a COPY response and leave the connection in COPY mode.
    #[pyo3(signature = (query, copy=false))]
    fn simple(&self, query: QueryBytes<'_>, copy: bool) -> Op {
        let query = match wire_query(self.transcoder().as_deref(), query) {
            Ok(query) => query,
            Err(err) => return Op::ready(move |_py| Err(err)),
        };
        self.socket_op(
            move |slot, shared| async move {
                let mut s = session(slot, shared.clone()).await?;
                let outcome = async {
                    let io = s.io()?;
                    proto::msg_query(&mut io.wbuf, &query)?;
                    io.flush().await?;
                    set_phase(&shared, Phase::Awaiting);
                    io.collect(&shared, copy).await
                }
                .await;
                s.settle(outcome)
            },
            results_to_py,
        )
    }

    /// Extended protocol, one statement: [Close*] [Parse] Bind Describe Execute Sync, in one
    /// write. `name` "" is the unnamed statement; `parse` false reuses a prepared one.
    #[pyo3(signature = (query, name, parse, types, params, formats, result_format=0, deallocate=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn extended(
        &self,
        query: QueryBytes<'_>,
        name: String,
        parse: bool,
        types: Vec<u32>,
        params: &Bound<'_, PyAny>,
        formats: Vec<i16>,
        result_format: i16,
        deallocate: Vec<String>,
    ) -> Op {
        // `params`: an encoded `Params` (crate::encode) or a list of bytes/None.
        let transcoder = self.transcoder();
        let values = match crate::encode::values_arg(params)
            .and_then(|values| wire_values(transcoder.as_deref(), values, 0, &types, &formats))
        {
            Ok(values) => values,
            Err(err) => return Op::ready(move |_py| Err(err)),
        };
        let parse = match parse
            .then(|| wire_query(transcoder.as_deref(), query))
            .transpose()
        {
            Ok(query) => query.map(|query| (query, types)),
            Err(err) => return Op::ready(move |_py| Err(err)),
        };
        let statement = Statement {
            parse,
            name,
            values,
            formats,
            result_format,
            deallocate,
            describe: true,
        };
        self.socket_op(
            move |slot, shared| run_statement(slot, shared, statement),
            results_to_py,
        )
    }

    /// `cursor.execute`'s call: `extended` with the types and formats taken from `params`
    /// (an encoded `Params`, or None for a statement without parameters), text results,
    /// and the query text copied only when it is parsed. Fewer arguments to convert: the
    /// call is on every execute's path. `result_format` 1: binary rows.
    #[pyo3(signature = (query, name, parse, params=None, deallocate=None, result_format=0))]
    fn run(
        &self,
        query: QueryBytes<'_>,
        name: String,
        parse: bool,
        params: Option<&Bound<'_, Encoded>>,
        deallocate: Option<Vec<String>>,
        result_format: i16,
    ) -> Op {
        let (values, types, formats) = match params {
            Some(params) => {
                let params = params.get();
                let types = if parse {
                    params.types.clone()
                } else {
                    Vec::new()
                };
                (params.values.clone(), types, params.formats.clone())
            }
            None => (no_values(), Vec::new(), Vec::new()),
        };
        // Only a session in another client encoding than UTF-8 has a transcoder.
        let transcoder = self.transcoder();
        let (values, query) = match transcoder.as_deref() {
            None => (values, query),
            Some(t) => {
                let all_types = params.map(|p| p.get().types.clone()).unwrap_or_default();
                let converted = wire_values(Some(t), values, 0, &all_types, &formats)
                    .and_then(|values| Ok((values, wire_query(Some(t), query)?.into())));
                match converted {
                    Ok(converted) => converted,
                    Err(err) => return Op::ready(move |_py| Err(err)),
                }
            }
        };
        let statement = Statement {
            parse: parse.then(|| (query.into_owned(), types)),
            name,
            values,
            formats,
            result_format,
            deallocate: deallocate.unwrap_or_default(),
            describe: true,
        };
        self.socket_op(
            move |slot, shared| run_statement(slot, shared, statement),
            results_to_py,
        )
    }

    /// One chunk of an executemany (many.rs): Close the `deallocate` statements, Parse
    /// `name` if `parse`, then Bind/[Describe]/Execute per row; the last chunk adds the Sync
    /// and resolves to the results.
    #[pyo3(signature = (query, name, parse, types, rows, formats, returning=false, summarize=false, first=true, last=true, deallocate=Vec::new(), result_format=0))]
    #[allow(clippy::too_many_arguments)]
    fn many(
        &self,
        query: QueryBytes<'_>,
        name: String,
        parse: bool,
        types: Vec<u32>,
        rows: &Bound<'_, PyAny>,
        formats: Vec<i16>,
        returning: bool,
        summarize: bool,
        first: bool,
        last: bool,
        deallocate: Vec<String>,
        result_format: i16,
    ) -> Op {
        // `rows`: an encoded `ParamBatch` (crate::encode) or a list of lists of bytes/None.
        let transcoder = self.transcoder();
        let converted = crate::encode::rows_arg(rows).and_then(|(values, width, count)| {
            let values = wire_values(transcoder.as_deref(), values, width, &types, &formats)?;
            Ok((
                values,
                width,
                count,
                wire_query(transcoder.as_deref(), query)?,
            ))
        });
        let (values, width, count, query) = match converted {
            Ok(converted) => converted,
            Err(err) => return Op::ready(move |_py| Err(err)),
        };
        let chunk = crate::many::Chunk {
            query,
            name,
            parse,
            deallocate,
            types,
            values,
            width,
            count,
            formats,
            returning,
            result_format,
        };
        crate::many::send(
            self,
            chunk,
            crate::many::Position { first, last },
            summarize,
        )
    }

    /// End an executemany stopped before its last chunk: Sync and read the answers.
    #[pyo3(signature = (summarize=false))]
    fn many_sync(&self, summarize: bool) -> Op {
        crate::many::sync(self, summarize)
    }

    /// `cursor.stream()`: send one statement and resolve to a `PgStream` that reads its
    /// rows a batch at a time (stream.rs). `result_format` 1: binary rows.
    #[pyo3(signature = (query, types, params, formats, result_format=0))]
    fn stream(
        &self,
        query: QueryBytes<'_>,
        types: Vec<u32>,
        params: &Bound<'_, PyAny>,
        formats: Vec<i16>,
        result_format: i16,
    ) -> Op {
        let query = match wire_query(self.transcoder().as_deref(), query) {
            Ok(query) => query,
            Err(err) => return Op::ready(move |_py| Err(err)),
        };
        crate::stream::start(self, query, types, params, formats, result_format)
    }

    /// Pipeline mode: queued statements in one write and one Sync (pipeline.rs).
    fn pipeline(&self, statements: Vec<crate::pipeline::Queued<'_>>) -> Op {
        crate::pipeline::run(self, statements)
    }

    /// Send COPY data (already formatted).
    fn copy_write(&self, data: &Bound<'_, PyAny>) -> Op {
        // `data`: a native CopyBuffer (its bytes are moved, not copied) or any bytes-like.
        let data = match crate::copy_format::take_data(data) {
            Ok(data) => data,
            Err(err) => return Op::ready(move |_py| Err(err)),
        };
        self.socket_op(
            move |slot, _shared| async move {
                let mut guard = slot.lock_owned().await;
                let io = guard.as_mut().ok_or(PgError::Closed)?;
                if io.copy != CopyMode::In {
                    return Err(PgError::Programming(
                        "the connection is not in COPY FROM STDIN mode".into(),
                    ));
                }
                proto::msg_copy_data(&mut io.wbuf, &data)?;
                let outcome = io.flush().await;
                if outcome.is_err() {
                    *guard = None;
                }
                outcome
            },
            |py, ()| Ok(py.None()),
        )
    }

    /// End COPY FROM STDIN (CopyDone, or CopyFail with `error`); resolves to the results.
    #[pyo3(signature = (error=None))]
    fn copy_end(&self, error: Option<String>) -> Op {
        self.socket_op(
            move |slot, shared| async move {
                let guard = slot.lock_owned().await;
                let mut s = Session::new(guard, shared.clone());
                let outcome = async {
                    let io = s.io()?;
                    if io.copy == CopyMode::In {
                        match &error {
                            None => proto::msg_copy_done(&mut io.wbuf),
                            Some(why) => proto::msg_copy_fail(&mut io.wbuf, why)?,
                        }
                        io.flush().await?;
                    }
                    io.copy = CopyMode::None;
                    io.collect(&shared, false).await
                }
                .await;
                s.settle(outcome)
            },
            results_to_py,
        )
    }

    /// Describe the named portal `name` (a server-side cursor): Describe Sync, one round
    /// trip, as psycopg's describe of its cursors. Resolves to a one-result list (status
    /// COMMAND_OK, the cursor's columns, no command tag); a missing cursor is the server's
    /// `portal "name" does not exist`, the words psycopg users see.
    fn describe_portal(&self, name: QueryBytes<'_>) -> Op {
        let name = match wire_query(self.transcoder().as_deref(), name) {
            Ok(name) => name,
            Err(err) => return Op::ready(move |_py| Err(err)),
        };
        self.socket_op(
            move |slot, shared| async move {
                let mut s = session(slot, shared.clone()).await?;
                let outcome = async {
                    let io = s.io()?;
                    proto::msg_describe_named_portal(&mut io.wbuf, &name)?;
                    proto::msg_sync(&mut io.wbuf);
                    io.flush().await?;
                    set_phase(&shared, Phase::Awaiting);
                    io.collect_description(&shared).await
                }
                .await;
                if outcome.is_err() {
                    if let Ok(io) = s.io() {
                        io.wbuf.clear();
                    }
                }
                s.settle(outcome)
            },
            results_to_py,
        )
    }

    /// COPY TO STDOUT: the next chunk of data, or None at the end (then the results are
    /// collected and the connection leaves COPY mode).
    fn copy_read(&self) -> Op {
        self.socket_op(
            move |slot, shared| read_copy_out(slot, shared, 1),
            |py, chunks| match chunks {
                Some(chunks) => match chunks.first() {
                    Some(data) => Ok(PyBytes::new(py, data).into_any().unbind()),
                    None => Ok(py.None()),
                },
                None => Ok(py.None()),
            },
        )
    }

    /// As `copy_read`, but a list of chunks: the next one, and after it up to `limit - 1`
    /// more CopyData messages already received (never waiting for more). One op per batch
    /// instead of per row is most of what reading COPY rows costs. None at the end.
    fn copy_read_many(&self, limit: usize) -> Op {
        self.socket_op(
            move |slot, shared| read_copy_out(slot, shared, limit.max(1)),
            |py, chunks| match chunks {
                Some(chunks) => Ok(PyList::new(py, chunks.iter().map(|c| PyBytes::new(py, c)))?
                    .into_any()
                    .unbind()),
                None => Ok(py.None()),
            },
        )
    }

    /// Wait until at least one notification is queued (or `timeout` seconds pass).
    /// Resolves to True if notifications are waiting.
    #[pyo3(signature = (timeout=None))]
    fn wait_notifies(&self, timeout: Option<f64>) -> Op {
        self.op(
            move |slot, shared| async move {
                if !shared.lock().notifies.is_empty() {
                    return Ok(true);
                }
                let mut s = session(slot, shared.clone()).await?;
                // Nothing is sent: giving up the wait (a timeout, a cancelled task) is harmless.
                set_phase(&shared, Phase::Idle);
                let outcome = async {
                    let io = s.io()?;
                    let wait = async {
                        loop {
                            let msg = io.next_or_notification(&shared).await?;
                            drop(msg);
                            if !shared.lock().notifies.is_empty() {
                                return Ok::<bool, PgError>(true);
                            }
                        }
                    };
                    match timeout {
                        // The timer is created here, inside the op's runtime.
                        Some(t) => {
                            match tokio::time::timeout(Duration::from_secs_f64(t.max(0.0)), wait)
                                .await
                            {
                                Ok(r) => r,
                                Err(_) => Ok(false),
                            }
                        }
                        None => wait.await,
                    }
                }
                .await;
                s.settle(outcome)
            },
            |py, got| {
                Ok(pyo3::types::PyBool::new(py, got)
                    .to_owned()
                    .into_any()
                    .unbind())
            },
        )
    }

    /// Ask the server to cancel the running query (a separate connection, as libpq does).
    fn cancel(&self) -> Op {
        let target = self.target.clone();
        let (pid, secret) = {
            let status = self.shared.lock();
            (status.pid, status.secret)
        };
        Op::new(
            async move { crate::recover::cancel_request(&target, pid, secret).await },
            |py, outcome| match outcome {
                Ok(()) => Ok(py.None()),
                Err(e) => Err(to_py(
                    py,
                    PgError::Operational(format!("cancel failed: {e}")),
                )),
            },
        )
    }

    /// Close: send Terminate and drop the socket. Never raises for an already-broken one.
    ///
    /// The runtime and the socket leave this object right away: once the op has run, the
    /// connection's file descriptors are closed, whoever still references the `PgConn`.
    fn close(&self) -> Op {
        self.shared.lock().closed = true;
        let handles = self.handles.lock().take();
        match handles {
            None => Op::ready(|py| Ok(py.None())),
            Some(h) if self.generation != fork_generation() => {
                std::mem::forget(h);
                Op::ready(|py| Ok(py.None()))
            }
            Some(Handles { rt, slot, .. }) => Op::on(
                Exec::Dedicated(rt),
                async move {
                    let mut guard = slot.lock_owned().await;
                    if let Some(mut io) = guard.take() {
                        proto::msg_terminate(&mut io.wbuf);
                        let _ = io.flush().await;
                    }
                },
                |py, ()| Ok(py.None()),
            ),
        }
    }

    /// Mark closed without any I/O (used after fork and on broken connections).
    fn forget(&self) {
        let mut status = self.shared.lock();
        status.closed = true;
    }

    /// After an interrupted op (Ctrl-C, a cancelled green task): cancel the statement still
    /// running on the server and read its answers, so the connection stays usable (what
    /// psycopg does). Gives up after `timeout` seconds and closes the connection.
    #[pyo3(signature = (timeout=5.0))]
    fn recover(&self, timeout: f64) -> Op {
        let target = self.target.clone();
        let seconds = if timeout.is_finite() {
            timeout.max(0.0)
        } else {
            5.0
        };
        let limit = Duration::from_secs_f64(seconds);
        self.op(
            move |slot, shared| async move {
                let guard = slot.lock_owned().await;
                let phase_before = shared.lock().phase;
                let mut s = Session::new(guard, shared.clone());
                let outcome = match s.io() {
                    Ok(io) if phase_before.owes_answers() => {
                        match crate::recover::complete_request(io, &shared, phase_before).await {
                            Ok(()) => crate::recover::recover(io, &shared, &target, limit).await,
                            Err(err) => Err(err),
                        }
                    }
                    _ => Ok(()),
                };
                s.settle(outcome)
            },
            |py, ()| Ok(py.None()),
        )
    }

    #[getter]
    fn closed(&self) -> bool {
        self.shared.lock().closed || self.generation != fork_generation()
    }

    #[getter]
    fn ssl_in_use(&self) -> bool {
        self.ssl_in_use
    }

    /// The socket's file descriptor, -1 once the connection is closed or lost (libpq's
    /// PQsocket). Watching it (select/poll) tells when the server sent something: a
    /// notification, say; balrog's own calls read it.
    #[getter]
    fn socket(&self) -> RawFd {
        if self.closed() || self.broken() {
            -1
        } else {
            self.socket_fd
        }
    }

    /// An executemany stopped between two chunks: rows were sent without their Sync.
    #[getter]
    fn unsynced(&self) -> bool {
        self.shared.lock().phase == Phase::Unsynced
    }

    #[getter]
    fn broken(&self) -> bool {
        self.shared.lock().broken
    }

    /// The row count reported at the end of the last COPY TO (None before any).
    #[getter]
    fn copy_out_rows(&self) -> Option<i64> {
        self.shared.lock().copy_out_rows
    }

    /// The last COPY TO's query went on with other statements after it.
    #[getter]
    fn copy_out_mixed(&self) -> bool {
        self.shared.lock().copy_out_mixed
    }

    /// psycopg's TransactionStatus: IDLE 0, ACTIVE 1, INTRANS 2, INERROR 3, UNKNOWN 4.
    #[getter]
    fn transaction_status(&self) -> u8 {
        let status = self.shared.lock();
        if status.closed {
            return 4;
        }
        if status.active {
            return 1;
        }
        match status.tx_status {
            b'I' => 0,
            b'T' => 2,
            b'E' => 3,
            _ => 4,
        }
    }

    fn parameter_status(&self, name: &str) -> Option<String> {
        self.shared.lock().params.get(name).cloned()
    }

    fn parameters(&self) -> Vec<(String, String)> {
        self.shared
            .lock()
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    #[getter]
    fn backend_pid(&self) -> i32 {
        self.shared.lock().pid
    }

    /// Host, port (0 for sockets) and the socket path or host name reached.
    fn target(&self) -> (String, u16, bool) {
        match &self.target {
            Target::Tcp(h, p) => (h.clone(), *p, false),
            Target::Unix(path) => (path.clone(), 0, true),
        }
    }

    /// Notices received since the last call, as lists of (field code, value).
    fn take_notices(&self) -> Vec<Vec<(String, String)>> {
        let notices = std::mem::take(&mut self.shared.lock().notices);
        notices
            .into_iter()
            .map(|fields| {
                fields
                    .into_iter()
                    .map(|(c, v)| (char::from(c).to_string(), v))
                    .collect()
            })
            .collect()
    }

    /// Notifications received since the last call: (pid, channel, payload).
    fn take_notifies(&self) -> Vec<(i32, String, String)> {
        std::mem::take(&mut self.shared.lock().notifies)
    }

    /// Notices or notifications are waiting for the Python side.
    #[getter]
    pub(crate) fn has_pending(&self) -> bool {
        let status = self.shared.lock();
        !status.notices.is_empty() || !status.notifies.is_empty()
    }
}

/// Flush a big batch while reading the answers, so neither side's socket buffer fills up
/// and deadlocks the exchange.
pub(crate) async fn write_while_reading(
    io: &mut Io,
    shared: &Shared,
    last_only: bool,
) -> Result<Collected, PgError> {
    io.send_reading_aside(shared, Phase::Awaiting).await?;
    io.collect_keeping(shared, false, last_only).await
}
