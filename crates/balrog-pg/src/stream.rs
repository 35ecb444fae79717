//! `cursor.stream()`: rows handed to Python while the server is still sending them.
//!
//! [`start`] writes the statement (extended protocol, as psycopg's stream) and returns a
//! `PgStream` without reading anything. Each `PgStream.next(size)` op then reads DataRows
//! into a batch and returns it, leaving the connection positioned in the middle of the
//! result — `Phase::Awaiting`, ACTIVE for Python — until ReadyForQuery. Giving up half way is
//! what an interrupted op does already (recover.rs): the Python side calls
//! `PgConn.recover`, which cancels the statement and reads the rest.
//!
//! Only the rows of the current batch are held, so memory stays flat however long the
//! result is.

use std::future::Future;
use std::os::fd::RawFd;
use std::sync::Arc;

use postgres_protocol::message::backend::Message;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

use balrog_core::{Exec, Op};

use crate::conn::{session, PgConn, Session, Slot};
use crate::errors::{to_py, PgError};
use crate::proto::{self, Columns, Io, ResultSet, Shared, TUPLES_OK};
use crate::recover::{set_phase, Phase};
use crate::result::PgResult;

/// Rows already in the read buffer are added to a batch (without waiting for more) up to
/// this many, so a stream costs one op per socket read rather than one per row.
const BUFFERED_ROWS_CAP: usize = 1024;

/// Where a stream is in its result, kept between `next` calls.
#[derive(Default)]
struct Progress {
    /// The row description of the result being read.
    columns: Option<Columns>,
    /// ReadyForQuery was read: the connection is free again.
    finished: bool,
    /// A row description arrived: the statement returns rows (psycopg refuses others).
    returns_rows: bool,
    /// The statement failed after some of its rows arrived: those rows went out first (as
    /// psycopg yields them), the error goes out with the next `next`.
    pending_error: Option<Vec<(u8, String)>>,
    /// Rows handed out so far.
    delivered: usize,
}

#[pyclass(frozen, module = "balrog._pg", name = "PgStream")]
pub struct PgStream {
    rt: Arc<Runtime>,
    /// The connection's socket, for loop-driven ops (None for TLS).
    fd: Option<RawFd>,
    slot: Slot,
    shared: Arc<Shared>,
    progress: Arc<parking_lot::Mutex<Progress>>,
}

/// Send Parse/Bind/Describe/Execute/Sync for one statement; resolves to a `PgStream`.
pub fn start(
    conn: &PgConn,
    query: Vec<u8>,
    types: Vec<u32>,
    params: &Bound<'_, PyAny>,
    formats: Vec<i16>,
    result_format: i16,
) -> Op {
    let transcoder = conn.transcoder();
    let params = match crate::encode::values_arg(params).and_then(|values| {
        crate::transcode::wire_values(transcoder.as_deref(), values, 0, &types, &formats)
    }) {
        Ok(values) => values,
        Err(err) => return Op::ready(move |_py| Err(err)),
    };
    let (rt, slot, shared) = match conn.parts() {
        Ok(parts) => parts,
        Err(err) => return Op::ready(move |py| Err(to_py(py, err))),
    };
    let fd = conn.loop_fd();
    let stream = PgStream {
        rt: rt.clone(),
        fd,
        slot: slot.clone(),
        shared: shared.clone(),
        progress: Arc::default(),
    };
    on_connection(
        rt,
        fd,
        async move {
            let mut s = session(slot, shared.clone()).await?;
            let sent = async {
                let io = s.io()?;
                proto::msg_parse(&mut io.wbuf, "", &query, &types)?;
                let width = params.spans.len();
                proto::msg_bind(
                    &mut io.wbuf,
                    "",
                    params.row(0, width),
                    &formats,
                    result_format,
                )?;
                proto::msg_describe_portal(&mut io.wbuf)?;
                proto::msg_execute(&mut io.wbuf)?;
                proto::msg_sync(&mut io.wbuf);
                io.flush().await
            }
            .await;
            if sent.is_err() {
                if let Ok(io) = s.io() {
                    io.wbuf.clear();
                }
                return s.settle(sent);
            }
            // The answers are owed: dropping the session now leaves the connection ACTIVE
            // and `Awaiting`, which is exactly the state `next` (or `recover`) picks up.
            set_phase(&shared, Phase::Awaiting);
            drop(s);
            Ok(())
        },
        move |py, outcome| match outcome {
            Ok(()) => Ok(Bound::new(py, stream)?.into_any().unbind()),
            Err(err) => Err(to_py(py, err)),
        },
    )
}

/// An op on the connection's runtime; loop-driven in green mode when the socket allows it
/// (its futures wait only on the connection's lock and socket).
fn on_connection<F, T, C>(rt: Arc<Runtime>, fd: Option<RawFd>, fut: F, finish: C) -> Op
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
    C: FnOnce(Python<'_>, T) -> PyResult<PyObject> + Send + 'static,
{
    match fd {
        Some(fd) => Op::on_socket(rt, fd, fut, finish),
        None => Op::on(Exec::Dedicated(rt), fut, finish),
    }
}

/// What one `next` call produced.
enum Batch {
    Rows(ResultSet),
    End,
}

/// Read up to `size` rows (more if they are already buffered); stop early at the end of a
/// result. An error ends the stream after its ReadyForQuery.
async fn read_batch(
    io: &mut Io,
    shared: &Shared,
    progress: &parking_lot::Mutex<Progress>,
    size: usize,
) -> Result<Batch, PgError> {
    let mut rows = Vec::new();
    let mut error: Option<Vec<(u8, String)>> = None;
    let mut refused_copy = false;
    let columns = progress.lock().columns.clone();
    let mut columns = columns;
    // A batch of rows handed out (and counted: see `Progress::delivered`).
    let batch = |columns: &Option<Columns>, rows: Vec<_>, styles| {
        progress.lock().delivered += rows.len();
        ResultSet {
            status: TUPLES_OK,
            columns: columns.clone(),
            rows,
            tag: None,
            copy_binary: false,
            styles,
        }
    };
    loop {
        let enough = rows.len() >= size.max(1);
        // After an error only its ReadyForQuery is still to come: read on to it, so the
        // rows before the error go out with the error pending behind them.
        if enough
            && error.is_none()
            && (rows.len() >= BUFFERED_ROWS_CAP.max(size)
                || !crate::proto::message_buffered(&io.rbuf))
        {
            progress.lock().columns = columns.clone();
            return Ok(Batch::Rows(batch(&columns, rows, io.styles.clone())));
        }
        match io.next(shared).await? {
            Message::RowDescription(body) => {
                columns = Some(Arc::new(proto::parse_columns(&body)?));
                progress.lock().returns_rows = true;
            }
            Message::DataRow(row) => rows.push(row),
            Message::CommandComplete(_) | Message::EmptyQueryResponse => {
                let done = std::mem::take(&mut columns);
                progress.lock().columns = None;
                if !rows.is_empty() {
                    return Ok(Batch::Rows(batch(&done, rows, io.styles.clone())));
                }
            }
            Message::ErrorResponse(body) => {
                let fields = proto::error_fields(body.fields());
                if fields
                    .iter()
                    .any(|(c, v)| *c == b'V' && (v == "FATAL" || v == "PANIC"))
                {
                    return Err(PgError::Server(fields));
                }
                error.get_or_insert(fields);
            }
            Message::CopyInResponse(_) => {
                proto::msg_copy_fail(&mut io.wbuf, "COPY cannot be used with stream()")?;
                io.flush().await?;
                refused_copy = true;
            }
            Message::CopyOutResponse(_) => refused_copy = true,
            Message::ReadyForQuery(body) => {
                shared.lock().tx_status = body.status();
                progress.lock().finished = true;
                if refused_copy {
                    return Err(PgError::Programming(
                        "COPY cannot be used with stream(); use copy() instead".into(),
                    ));
                }
                if let Some(fields) = error {
                    // psycopg (libpq's chunked rows) yields the rows of complete chunks of
                    // `size` rows before an error; the partial chunk is lost (size 1: none).
                    let size = size.max(1);
                    let delivered = progress.lock().delivered;
                    let whole = (delivered + rows.len()) / size * size;
                    rows.truncate(whole.saturating_sub(delivered));
                    if rows.is_empty() {
                        return Err(PgError::Server(fields));
                    }
                    progress.lock().pending_error = Some(fields);
                }
                if rows.is_empty() {
                    return Ok(Batch::End);
                }
                return Ok(Batch::Rows(batch(&columns, rows, io.styles.clone())));
            }
            // ParseComplete, BindComplete, NoData, CopyData/CopyDone of a refused COPY OUT.
            _ => {}
        }
    }
}

#[pymethods]
impl PgStream {
    /// The next batch of rows as a `PgResult` (at least `size` rows unless the result
    /// ends first), or None once the statement is complete.
    fn next(&self, size: usize) -> Op {
        let slot = self.slot.clone();
        let shared = self.shared.clone();
        let progress = self.progress.clone();
        on_connection(
            self.rt.clone(),
            self.fd,
            async move {
                if let Some(fields) = progress.lock().pending_error.take() {
                    return Err(PgError::Server(fields));
                }
                if progress.lock().finished {
                    return Ok(None);
                }
                let guard = slot.lock_owned().await;
                if guard.is_none() {
                    return Err(PgError::Closed);
                }
                if shared.lock().phase != Phase::Awaiting {
                    // Another op read our answers (it found them owed and drained them).
                    progress.lock().finished = true;
                    return Err(PgError::Programming(
                        "the stream was interrupted by another operation on the connection".into(),
                    ));
                }
                let mut s = Session::new(guard, shared.clone());
                // Nothing is written from here on: a dropped op leaves answers owed, not a
                // broken stream.
                set_phase(&shared, Phase::Awaiting);
                let outcome = match s.io() {
                    Ok(io) => read_batch(io, &shared, &progress, size).await,
                    Err(err) => Err(err),
                };
                if progress.lock().finished || outcome.is_err() {
                    progress.lock().finished = true;
                    return s.settle(outcome).map(Some);
                }
                // Mid-result: keep the connection ACTIVE and `Awaiting` for the next batch.
                drop(s);
                outcome.map(Some)
            },
            |py, outcome| match outcome {
                Ok(Some(Batch::Rows(set))) => {
                    Ok(Bound::new(py, PgResult::new(set))?.into_any().unbind())
                }
                Ok(Some(Batch::End)) | Ok(None) => Ok(py.None()),
                Err(err) => Err(to_py(py, err)),
            },
        )
    }

    /// The statement's answers have all been read.
    #[getter]
    fn finished(&self) -> bool {
        self.progress.lock().finished
    }

    /// The statement described rows (false for a command such as CREATE or INSERT).
    #[getter]
    fn returns_rows(&self) -> bool {
        self.progress.lock().returns_rows
    }
}
