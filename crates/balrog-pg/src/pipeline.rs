//! Pipeline mode: the statements queued by `conn.pipeline()` go out in one write, each as
//! [Close*] [Parse] Bind/Describe/Execute (the unnamed statement, or a prepared one, as
//! psycopg's prepare rules decide), followed by a single Sync.
//!
//! The server answers each statement in order and, after the first error, skips everything
//! up to the Sync. So the answers map back by position: the first `results.len()`
//! statements succeeded, the next one failed (if there is an error), the rest were aborted.
//! The Python side (`balrog/psycopg/pipeline.py`) hands results to cursors and raises the
//! error / `PipelineAborted` as psycopg does.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use balrog_core::Op;

use crate::conn::{session, write_while_reading, PgConn, Statement};
use crate::errors::{server_error, to_py, PgError};
use crate::proto;
use crate::recover::{set_phase, Phase};
use crate::result::PgResult;
use crate::transcode::{wire_query, wire_values};

/// One queued statement: query (`bytes`), parameter type oids, parameters, parameter
/// formats, result format (1: binary rows), statement name ("" for the unnamed one),
/// whether to Parse it (false: a prepared statement that exists already), and prepared
/// statements to Close first. The query stays a Python object until it is read as a slice
/// (see `conn::QueryBytes`: a `Vec<u8>` would be extracted byte by byte).
pub type Queued<'py> = (
    Bound<'py, PyAny>,
    Vec<u32>,
    Bound<'py, PyAny>,
    Vec<i16>,
    i16,
    String,
    bool,
    Vec<String>,
);

/// Run `statements` with one Sync; resolves to `(results, error)`: the results of the
/// statements that completed, and the exception of the one that failed (or None).
pub fn run(conn: &PgConn, statements: Vec<Queued<'_>>) -> Op {
    let mut encoded = Vec::with_capacity(statements.len());
    let transcoder = conn.transcoder();
    for (query, types, params, formats, result_format, name, parse, deallocate) in statements {
        let query = match query
            .extract::<std::borrow::Cow<'_, [u8]>>()
            .and_then(|query| wire_query(transcoder.as_deref(), query))
        {
            Ok(query) => query,
            Err(err) => return Op::ready(move |_py| Err(err)),
        };
        match crate::encode::values_arg(&params)
            .and_then(|values| wire_values(transcoder.as_deref(), values, 0, &types, &formats))
        {
            Ok(values) => encoded.push(Statement {
                parse: parse.then_some((query, types)),
                name,
                values,
                formats,
                result_format,
                deallocate,
                describe: true,
            }),
            Err(err) => return Op::ready(move |_py| Err(err)),
        }
    }
    conn.socket_op(
        move |slot, shared| async move {
            let mut s = session(slot, shared.clone()).await?;
            let outcome = async {
                let io = s.io()?;
                for statement in &encoded {
                    statement.write(&mut io.wbuf)?;
                }
                proto::msg_sync(&mut io.wbuf);
                // A long pipeline is written while its answers are read (no deadlock on
                // full socket buffers).
                write_while_reading(io, &shared, false).await
            }
            .await;
            if outcome.is_err() {
                if let Ok(io) = s.io() {
                    io.wbuf.clear();
                }
            } else {
                set_phase(&shared, Phase::Idle);
            }
            s.settle(outcome)
        },
        |py, collected| {
            if collected.copy_refused {
                return Err(to_py(
                    py,
                    PgError::Programming("COPY cannot be used in pipeline mode".into()),
                ));
            }
            let results = PyList::empty(py);
            for set in collected.results {
                results.append(Bound::new(py, PgResult::new(set))?)?;
            }
            let error = match collected.error {
                Some(fields) => server_error(py, &fields).into_value(py).into_any(),
                None => py.None(),
            };
            let pair = PyTuple::new(py, [results.into_any().unbind(), error])?;
            Ok(pair.into_any().unbind())
        },
    )
}
