//! Keeping a connection usable when an operation is abandoned half way.
//!
//! An op's future can be dropped at any await point: Ctrl-C in a blocking wait, a cancelled
//! green task, `wait(op, timeout=...)`. Whether the connection survives depends on where the
//! op was in the exchange, which `Phase` records:
//!
//! * still writing the request: the server may have half a message, the stream is lost;
//! * request fully sent, answers pending: the socket is fine, it only owes us everything up
//!   to the next ReadyForQuery. psycopg then sends a cancel request and reads the rest
//!   (getting QueryCanceled); [`recover`] does the same, and any later op that finds the
//!   connection in this state reads the rest first ([`drain`]), so answers never mix;
//! * no request outstanding (waiting for notifications): nothing to repair.

use std::time::Duration;

use bytes::BytesMut;
use postgres_protocol::message::backend::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::connect::Target;
use crate::errors::PgError;
use crate::proto::{self, Io, Shared};

/// Where the op that holds the socket is in its exchange with the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// Nothing outstanding: dropping the op loses nothing.
    #[default]
    Idle,
    /// The request is being written: if the op is dropped now the stream is unusable.
    Sending,
    /// The request was sent; its answers (up to ReadyForQuery) are still to be read.
    Awaiting,
    /// Part of a request was sent, whole messages but no Sync yet: an executemany streams
    /// its rows in several ops (many.rs). Whoever takes the socket next ends it (see
    /// `complete_request`), and the answers are then owed as in `Awaiting`.
    Unsynced,
    /// Whole messages are in the write buffer, partly written (the op writing them was
    /// dropped): whoever takes the socket next writes the rest; then `Awaiting` if they
    /// end with a Sync, else `Unsynced`.
    Queued { synced: bool },
}

impl Phase {
    /// Answers up to a ReadyForQuery are owed (once the request is written and synced).
    pub fn owes_answers(self) -> bool {
        matches!(
            self,
            Phase::Awaiting | Phase::Unsynced | Phase::Queued { .. }
        )
    }
}

pub fn set_phase(shared: &Shared, phase: Phase) {
    shared.lock().phase = phase;
}

/// A statement name that never exists: describing it fails the request it ends.
const ABANDONED: &str = "balrog: executemany interrupted, its rows rolled back";

/// Finish a request an op left half way in phase `left` (one that `owes_answers`), so that
/// only its answers are owed (`Awaiting`): write what is still queued; a request with no
/// Sync yet (an executemany interrupted between chunks) is made to fail before its Sync,
/// so that none of its rows commit in autocommit mode (in a transaction block the
/// transaction is failed, as a cancelled statement leaves it). The error is read and
/// dropped with the other answers.
///
/// The caller's `Session::new` has marked the phase `Sending`: `left` is the one it
/// replaced, read before.
pub async fn complete_request(io: &mut Io, shared: &Shared, left: Phase) -> Result<(), PgError> {
    let unsynced = match left {
        Phase::Queued { synced } => {
            let then = if synced {
                Phase::Awaiting
            } else {
                Phase::Unsynced
            };
            io.send_reading_aside(shared, then).await?;
            !synced
        }
        Phase::Unsynced => true,
        _ => false,
    };
    if unsynced {
        proto::msg_describe_statement(&mut io.wbuf, ABANDONED)?;
        proto::msg_sync(&mut io.wbuf);
        io.send_reading_aside(shared, Phase::Awaiting).await?;
    }
    // (Already so after a write; `left` was Awaiting otherwise.)
    set_phase(shared, Phase::Awaiting);
    Ok(())
}

/// Read and discard the answers of an abandoned request, up to its ReadyForQuery.
///
/// A COPY the abandoned statement started is ended (refused) so the server reaches
/// ReadyForQuery too. Notices, notifications and parameter changes are still recorded.
pub async fn drain(io: &mut Io, shared: &Shared) -> Result<(), PgError> {
    loop {
        match io.next(shared).await? {
            Message::ReadyForQuery(body) => {
                let mut status = shared.lock();
                status.tx_status = body.status();
                status.phase = Phase::Idle;
                return Ok(());
            }
            Message::CopyInResponse(_) => {
                proto::msg_copy_fail(&mut io.wbuf, "the operation was interrupted")?;
                io.flush().await?;
            }
            Message::ErrorResponse(body) => {
                let fields = proto::error_fields(body.fields());
                let fatal = fields
                    .iter()
                    .any(|(c, v)| *c == b'V' && (v == "FATAL" || v == "PANIC"));
                if fatal {
                    return Err(PgError::Server(fields));
                }
            }
            _ => {}
        }
    }
}

/// Ask the server to cancel the query running in backend `pid` (libpq's PQcancel): a
/// CancelRequest on a new plain connection, which the server closes once it has acted.
pub async fn cancel_request(target: &Target, pid: i32, secret: i32) -> std::io::Result<()> {
    let mut stream = target.open().await?;
    let mut buf = BytesMut::new();
    postgres_protocol::message::frontend::cancel_request(pid, secret, &mut buf);
    stream.write_all(&buf).await?;
    // Waiting for the server to close its end means the cancel signal was delivered before
    // the caller goes on (and maybe sends its next query).
    let mut sink = [0u8; 16];
    let _ = stream.read(&mut sink).await;
    Ok(())
}

/// After an interrupted op (the connection was left in `Phase::Awaiting`): cancel the
/// statement still running and read its answers, so the connection is ready for the next
/// query. Gives up after `limit` (the connection is then closed by the caller, as psycopg
/// does when the server ignores the cancel).
pub async fn recover(
    io: &mut Io,
    shared: &Shared,
    target: &Target,
    limit: Duration,
) -> Result<(), PgError> {
    let (pid, secret) = {
        let status = shared.lock();
        (status.pid, status.secret)
    };
    let work = async {
        // A failed cancel request is not fatal: the statement may end by itself.
        let _ = cancel_request(target, pid, secret).await;
        drain(io, shared).await
    };
    match tokio::time::timeout(limit, work).await {
        Ok(outcome) => outcome,
        Err(_) => Err(PgError::Lost(
            "query not terminated after cancellation: connection closed".into(),
        )),
    }
}
