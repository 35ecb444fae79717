//! executemany as a stream of ops: Parse once, then Bind/[Describe]/Execute per row, one
//! Sync at the end.
//!
//! The Python side encodes the rows a chunk at a time and hands each chunk to [`send`] as
//! soon as it is encoded, so the server runs the first rows while the caller's thread is
//! still encoding the next ones (on two CPUs the two overlap; asyncpg gets the same effect
//! from its event loop). Between chunks the connection is `Phase::Unsynced`: whole
//! messages were sent but no Sync, and nothing has been read but what arrived while
//! writing (kept unparsed in the read buffer). The last chunk, or [`sync`] when the caller
//! stops early, writes the Sync and reads every answer.
//!
//! A caller that stops early on a row it cannot encode calls [`sync`]: the rows sent run,
//! as psycopg's pipeline runs them when its block is left with an exception. A caller
//! that never comes back (Ctrl-C, a cancelled green task) leaves the request to the next
//! op on the connection or to `PgConn.recover`, which fail it before its Sync so that none
//! of its rows commit (recover.rs `complete_request`).

use std::sync::Arc;

use balrog_core::Op;

use crate::conn::{results_to_py, session, summary_to_py, PgConn, Session, Slot};
use crate::encode::Values;
use crate::errors::PgError;
use crate::proto::{self, Collected, Io, Shared};
use crate::recover::Phase;

/// Where a chunk sits in its executemany.
#[derive(Clone, Copy)]
pub struct Position {
    /// The first chunk: the connection must be free (an earlier op's answers are read).
    pub first: bool,
    /// The last chunk: write the Sync and read every answer.
    pub last: bool,
}

/// What the rows of one chunk need written.
pub struct Chunk {
    pub query: Vec<u8>,
    /// The statement the rows run: "" (unnamed) or one prepared under psycopg's rules.
    pub name: String,
    /// Send a Parse first (a statement not prepared yet, or an unnamed one whose types
    /// differ from the previous chunk's).
    pub parse: bool,
    /// Prepared statements to close first (evicted from the cache).
    pub deallocate: Vec<String>,
    pub types: Vec<u32>,
    pub values: Arc<Values>,
    pub width: usize,
    pub count: usize,
    pub formats: Vec<i16>,
    /// Describe each portal, so that the rows a statement returns come with their columns.
    pub returning: bool,
    /// 1: the returned rows in binary format.
    pub result_format: i16,
}

/// Send one chunk of an executemany. Resolves to None, or for the last chunk to the
/// results (with `summarize`, to `(row count of the earlier results, [the last result])`,
/// so that a million statements do not make a million result objects).
pub fn send(conn: &PgConn, chunk: Chunk, at: Position, summarize: bool) -> Op {
    conn.socket_op(
        move |slot, shared| async move {
            let mut s = take_socket(slot, shared.clone(), at.first).await?;
            let outcome = async {
                let io = s.io()?;
                write_chunk(io, &chunk)?;
                if at.last {
                    return finish(io, &shared, summarize).await.map(Some);
                }
                io.send_reading_aside(&shared, Phase::Unsynced).await?;
                Ok(None)
            }
            .await;
            match outcome {
                Ok(None) => {
                    // Keep the socket ACTIVE and unsynced for the next chunk.
                    drop(s);
                    Ok(None)
                }
                other => s.settle(other),
            }
        },
        move |py, collected| match collected {
            None => Ok(py.None()),
            Some(collected) if summarize => summary_to_py(py, collected),
            Some(collected) => results_to_py(py, collected),
        },
    )
}

/// End an executemany whose caller stopped before its last chunk (a row it could not
/// encode): Sync, and read the answers of the rows sent. Resolves as [`send`]'s last chunk.
pub fn sync(conn: &PgConn, summarize: bool) -> Op {
    conn.socket_op(
        move |slot, shared| async move {
            let mut s = take_socket(slot, shared.clone(), false).await?;
            let outcome = match s.io() {
                Ok(io) => finish(io, &shared, summarize).await,
                Err(err) => Err(err),
            };
            s.settle(outcome)
        },
        move |py, collected| {
            if summarize {
                summary_to_py(py, collected)
            } else {
                results_to_py(py, collected)
            }
        },
    )
}

/// The socket for a chunk: a free connection for the first, else one still unsynced from
/// the previous chunk of the same executemany.
async fn take_socket(slot: Slot, shared: Arc<Shared>, first: bool) -> Result<Session, PgError> {
    if first {
        return session(slot, shared).await;
    }
    let guard = slot.lock_owned().await;
    if guard.is_none() {
        return Err(PgError::Closed);
    }
    if shared.lock().phase != Phase::Unsynced {
        // Another op ended the request (it found it unsynced and read its answers).
        return Err(PgError::Programming(
            "the executemany was interrupted by another operation on the connection".into(),
        ));
    }
    Ok(Session::new(guard, shared))
}

fn write_chunk(io: &mut Io, chunk: &Chunk) -> Result<(), PgError> {
    for old in &chunk.deallocate {
        proto::msg_close_statement(&mut io.wbuf, old)?;
    }
    if chunk.parse {
        proto::msg_parse(&mut io.wbuf, &chunk.name, &chunk.query, &chunk.types)?;
    }
    for index in 0..chunk.count {
        let row = chunk.values.row(index, chunk.width);
        proto::msg_bind(
            &mut io.wbuf,
            &chunk.name,
            row,
            &chunk.formats,
            chunk.result_format,
        )?;
        if chunk.returning {
            proto::msg_describe_portal(&mut io.wbuf)?;
        }
        proto::msg_execute(&mut io.wbuf)?;
    }
    Ok(())
}

/// Sync, then read every answer of the executemany (some may already be in the buffer).
async fn finish(io: &mut Io, shared: &Shared, summarize: bool) -> Result<Collected, PgError> {
    proto::msg_sync(&mut io.wbuf);
    crate::conn::write_while_reading(io, shared, summarize).await
}
