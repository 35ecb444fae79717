//! The PostgreSQL wire protocol over one socket: frontend messages written by hand (they
//! are a few bytes each and our queries are raw bytes), backend messages parsed with
//! `postgres-protocol`, the protocol crate under tokio-postgres.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use balrog_core::Interest;
use bytes::{Buf, BufMut, BytesMut};
use fallible_iterator::FallibleIterator;
use parking_lot::Mutex;
use postgres_protocol::message::backend::{DataRowBody, Message, RowDescriptionBody};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use crate::decode::Styles;
use crate::direct_io;
use crate::errors::PgError;
use crate::recover::{set_phase, Phase};
use crate::transcode::Transcoder;

/// A connected socket (TCP or Unix-domain), or TCP with TLS (tls.rs).
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    /// The socket an event loop can watch for this stream: plain TCP and Unix sockets only.
    /// A TLS stream may be pending on a read because it must write (or the reverse), so
    /// its ops always run on a thread in green mode.
    pub fn loop_fd(&self) -> Option<RawFd> {
        match self {
            Stream::Tcp(s) => Some(s.as_raw_fd()),
            Stream::Unix(s) => Some(s.as_raw_fd()),
            Stream::Tls(_) => None,
        }
    }

    /// The connection's socket, whatever the stream (libpq's PQsocket; under TLS the TCP
    /// socket, readable when encrypted bytes arrive).
    pub fn socket_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tls(s) => s.get_ref().0.as_raw_fd(),
        }
    }

    /// While the event loop drives this stream's op, the read done with a plain system call
    /// (see `direct_io`); `None`: let tokio do it (blocking mode, TLS, or nothing to read).
    fn read_directly(&self, buf: &mut ReadBuf<'_>) -> Option<io::Result<()>> {
        let fd = self.loop_fd()?;
        if !balrog_core::io_directly(fd, Interest::Read) {
            return None;
        }
        direct_io::try_read(fd, buf)
    }

    /// As `read_directly`, for a write.
    fn write_directly(&self, buf: &[u8]) -> Option<io::Result<usize>> {
        let fd = self.loop_fd()?;
        if !balrog_core::io_directly(fd, Interest::Write) {
            return None;
        }
        direct_io::try_write(fd, buf)
    }

    /// Tell balrog-core's loop driver (drive.rs) that this socket is what we wait for.
    fn note_pending(&self, interest: Interest) {
        match self {
            Stream::Tcp(s) => balrog_core::note_pending(s.as_raw_fd(), interest),
            Stream::Unix(s) => balrog_core::note_pending(s.as_raw_fd(), interest),
            // -1 is no op's socket: the loop cannot wait for a TLS stream by itself.
            Stream::Tls(_) => balrog_core::note_pending(-1, interest),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(read) = this.read_directly(buf) {
            return Poll::Ready(read);
        }
        let polled = match this {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        if polled.is_pending() {
            this.note_pending(Interest::Read);
        }
        polled
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(written) = this.write_directly(buf) {
            return Poll::Ready(written);
        }
        let polled = match this {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        };
        if polled.is_pending() {
            this.note_pending(Interest::Write);
        }
        polled
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = match this {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        };
        if polled.is_pending() {
            this.note_pending(Interest::Write);
        }
        polled
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// State the Python side reads synchronously (no await): updated by ops as messages arrive.
#[derive(Default)]
pub struct Status {
    pub params: HashMap<String, String>,
    /// b'I', b'T', b'E' from ReadyForQuery; 0 before the first one.
    pub tx_status: u8,
    pub pid: i32,
    pub secret: i32,
    pub notices: Vec<Vec<(u8, String)>>,
    pub notifies: Vec<(i32, String, String)>,
    pub closed: bool,
    pub broken: bool,
    /// An op is between sending and its ReadyForQuery.
    pub active: bool,
    /// Where the op holding the socket is in its exchange (see recover.rs).
    pub phase: crate::recover::Phase,
    /// The row count in the tag that ended the last COPY TO (`cursor.rowcount` after it).
    pub copy_out_rows: Option<i64>,
    /// The query of the last COPY TO had other statements after it (psycopg refuses it).
    pub copy_out_mixed: bool,
    /// The client encoding's converter, for the ops built on the Python side's thread
    /// (None: UTF-8). Set with `Io::transcoder` when the server reports the encoding.
    pub transcoder: Option<Arc<Transcoder>>,
}

pub type Shared = Mutex<Status>;

/// ExecStatus values, as psycopg's `pq.ExecStatus`.
pub const EMPTY_QUERY: u8 = 0;
pub const COMMAND_OK: u8 = 1;
pub const TUPLES_OK: u8 = 2;
pub const COPY_OUT: u8 = 3;
pub const COPY_IN: u8 = 4;

#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub table_oid: u32,
    pub column_id: i16,
    pub type_oid: u32,
    pub type_size: i16,
    pub type_modifier: i32,
    pub format: i16,
}

/// A result's row description, shared by the results of one statement (a cursor's lane
/// reuses the one it was armed with: lane.rs).
pub type Columns = Arc<Vec<Column>>;

/// One statement's result, rows kept as raw DataRow bodies until Python asks for them.
#[derive(Default)]
pub struct ResultSet {
    pub status: u8,
    pub columns: Option<Columns>,
    pub rows: Vec<DataRowBody>,
    pub tag: Option<String>,
    /// For a COPY response: the overall format is binary.
    pub copy_binary: bool,
    /// The DateStyle/IntervalStyle the rows were written in, when not the defaults.
    pub styles: Option<Arc<Styles>>,
}

/// The columns libpq gives a COPY result (and so psycopg's `description` during and after a
/// COPY): `column_1`, `column_2`... of type 0, one per column format the server announced.
fn copy_columns(
    mut formats: postgres_protocol::message::backend::ColumnFormats<'_>,
) -> Vec<Column> {
    let mut out = Vec::new();
    while let Ok(Some(format)) = formats.next() {
        out.push(Column {
            name: format!("column_{}", out.len() + 1),
            table_oid: 0,
            column_id: 0,
            type_oid: 0,
            type_size: 0,
            type_modifier: -1,
            format: i16::try_from(format).unwrap_or(0),
        });
    }
    out
}

pub fn parse_columns(body: &RowDescriptionBody) -> Result<Vec<Column>, PgError> {
    let mut fields = body.fields();
    let mut out = Vec::new();
    while let Some(f) = fields.next().map_err(PgError::lost)? {
        out.push(Column {
            name: f.name().to_owned(),
            table_oid: f.table_oid(),
            column_id: f.column_id(),
            type_oid: f.type_oid(),
            type_size: f.type_size(),
            type_modifier: f.type_modifier(),
            format: f.format(),
        });
    }
    Ok(out)
}

pub fn error_fields<'a>(
    mut fields: postgres_protocol::message::backend::ErrorFields<'a>,
) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    while let Ok(Some(f)) = fields.next() {
        out.push((
            f.type_(),
            String::from_utf8_lossy(f.value_bytes()).into_owned(),
        ));
    }
    out
}

fn is_fatal(fields: &[(u8, String)]) -> bool {
    fields
        .iter()
        .any(|(c, v)| *c == b'V' && (v == "FATAL" || v == "PANIC"))
}

/// What a copy operation is in the middle of.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CopyMode {
    None,
    In,
    Out,
}

/// One open connection: the socket, its buffers and the protocol position.
pub struct Io {
    pub stream: Stream,
    pub rbuf: BytesMut,
    pub wbuf: BytesMut,
    pub copy: CopyMode,
    /// The session's DateStyle and IntervalStyle (from ParameterStatus) when one is not
    /// the default the decoders' fast paths read; given to every result read.
    pub styles: Option<Arc<Styles>>,
    datestyle: String,
    intervalstyle: String,
    /// Converts text to and from the client encoding when it is not UTF-8 (transcode.rs).
    pub transcoder: Option<Arc<Transcoder>>,
    /// With a transcoder: the columns of the rows being read when some are binary (their
    /// types tell where the text is), from the last RowDescription.
    binary_columns: Option<Vec<(u32, i16)>>,
}

/// True if `rbuf` holds at least one complete backend message (so reading it won't wait).
pub fn message_buffered(rbuf: &[u8]) -> bool {
    if rbuf.len() < 5 {
        return false;
    }
    let len = i32::from_be_bytes([rbuf[1], rbuf[2], rbuf[3], rbuf[4]]);
    usize::try_from(len).is_ok_and(|len| rbuf.len() > len)
}

// -- frontend messages --------------------------------------------------------------------

fn put_cstr(buf: &mut BytesMut, s: &[u8]) -> Result<(), PgError> {
    if s.contains(&0) {
        return Err(PgError::Data(
            "PostgreSQL text fields cannot contain NUL (0x00) bytes".into(),
        ));
    }
    buf.put_slice(s);
    buf.put_u8(0);
    Ok(())
}

/// Write a message: tag, a length placeholder, the body, then the length patched in.
fn message(
    buf: &mut BytesMut,
    tag: u8,
    body: impl FnOnce(&mut BytesMut) -> Result<(), PgError>,
) -> Result<(), PgError> {
    buf.put_u8(tag);
    let at = buf.len();
    buf.put_i32(0);
    body(buf)?;
    let len = i32::try_from(buf.len() - at)
        .map_err(|_| PgError::Programming("message too large".into()))?;
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

pub fn msg_query(buf: &mut BytesMut, query: &[u8]) -> Result<(), PgError> {
    message(buf, b'Q', |b| put_cstr(b, query))
}

/// A count of parameters (or of their types or formats) as the protocol carries it: 16
/// bits, read by the server as unsigned, so up to 65535 as libpq allows.
fn parameter_count(count: usize) -> Result<u16, PgError> {
    u16::try_from(count).map_err(|_| {
        PgError::Operational(
            "sending query and params failed: number of parameters must be between 0 and 65535"
                .into(),
        )
    })
}

pub fn msg_parse(
    buf: &mut BytesMut,
    name: &str,
    query: &[u8],
    types: &[u32],
) -> Result<(), PgError> {
    message(buf, b'P', |b| {
        put_cstr(b, name.as_bytes())?;
        put_cstr(b, query)?;
        b.put_u16(parameter_count(types.len())?);
        for t in types {
            b.put_u32(*t);
        }
        Ok(())
    })
}

/// Bind the unnamed portal to statement `stmt` with `params` (None for NULL).
pub fn msg_bind<'a>(
    buf: &mut BytesMut,
    stmt: &str,
    params: impl ExactSizeIterator<Item = Option<&'a [u8]>>,
    formats: &[i16],
    result_format: i16,
) -> Result<(), PgError> {
    message(buf, b'B', |b| {
        b.put_u8(0); // unnamed portal
        put_cstr(b, stmt.as_bytes())?;
        b.put_u16(parameter_count(formats.len())?);
        for f in formats {
            b.put_i16(*f);
        }
        b.put_u16(parameter_count(params.len())?);
        for p in params {
            match p {
                None => b.put_i32(-1),
                Some(v) => {
                    let len = i32::try_from(v.len())
                        .map_err(|_| PgError::Data("parameter too large".into()))?;
                    b.put_i32(len);
                    b.put_slice(v);
                }
            }
        }
        b.put_i16(1);
        b.put_i16(result_format);
        Ok(())
    })
}

pub fn msg_describe_portal(buf: &mut BytesMut) -> Result<(), PgError> {
    message(buf, b'D', |b| {
        b.put_u8(b'P');
        b.put_u8(0);
        Ok(())
    })
}

/// Describe of a named portal (a cursor DECLAREd by SQL), as libpq's PQdescribePortal.
pub fn msg_describe_named_portal(buf: &mut BytesMut, name: &[u8]) -> Result<(), PgError> {
    message(buf, b'D', |b| {
        b.put_u8(b'P');
        put_cstr(b, name)
    })
}

pub fn msg_describe_statement(buf: &mut BytesMut, name: &str) -> Result<(), PgError> {
    message(buf, b'D', |b| {
        b.put_u8(b'S');
        put_cstr(b, name.as_bytes())
    })
}

pub fn msg_execute(buf: &mut BytesMut) -> Result<(), PgError> {
    message(buf, b'E', |b| {
        b.put_u8(0);
        b.put_i32(0);
        Ok(())
    })
}

pub fn msg_close_statement(buf: &mut BytesMut, name: &str) -> Result<(), PgError> {
    message(buf, b'C', |b| {
        b.put_u8(b'S');
        put_cstr(b, name.as_bytes())
    })
}

pub fn msg_sync(buf: &mut BytesMut) {
    buf.put_slice(&[b'S', 0, 0, 0, 4]);
}

pub fn msg_copy_data(buf: &mut BytesMut, data: &[u8]) -> Result<(), PgError> {
    message(buf, b'd', |b| {
        b.put_slice(data);
        Ok(())
    })
}

pub fn msg_copy_done(buf: &mut BytesMut) {
    buf.put_slice(&[b'c', 0, 0, 0, 4]);
}

pub fn msg_copy_fail(buf: &mut BytesMut, why: &str) -> Result<(), PgError> {
    message(buf, b'f', |b| put_cstr(b, why.replace('\0', "").as_bytes()))
}

pub fn msg_terminate(buf: &mut BytesMut) {
    buf.put_slice(&[b'X', 0, 0, 0, 4]);
}

// -- reading --------------------------------------------------------------------------------

impl Io {
    pub fn new(stream: Stream) -> Self {
        Io {
            stream,
            rbuf: BytesMut::with_capacity(64 * 1024),
            wbuf: BytesMut::with_capacity(8 * 1024),
            copy: CopyMode::None,
            styles: None,
            datestyle: String::new(),
            intervalstyle: String::new(),
            transcoder: None,
            binary_columns: None,
        }
    }

    pub async fn flush(&mut self) -> Result<(), PgError> {
        if !self.wbuf.is_empty() {
            let result = self.stream.write_all(&self.wbuf).await;
            self.wbuf.clear();
            result?;
        }
        Ok(())
    }

    /// Write the whole of `wbuf` (whole messages) while reading whatever the server sends
    /// meanwhile into `rbuf`, unparsed; the phase is then `then` (`Awaiting` if the
    /// messages end with a Sync, else `Unsynced`).
    ///
    /// A long request must not wait for the socket to take it all before reading: the
    /// server stops reading us once its answers fill the socket buffers, and both ends
    /// would wait on each other. What is written is taken off `wbuf` as it goes, so an op
    /// dropped half way (Ctrl-C, a cancelled green task) leaves the rest there, `Queued`,
    /// for the next op to finish (recover.rs) instead of a broken connection.
    pub async fn send_reading_aside(
        &mut self,
        shared: &Shared,
        then: Phase,
    ) -> Result<(), PgError> {
        set_phase(
            shared,
            Phase::Queued {
                synced: then == Phase::Awaiting,
            },
        );
        // Split through `Stream` (not the raw socket) so that pending reads and writes are
        // noted for the loop driver like every other socket access.
        let (mut reader, mut writer) = tokio::io::split(&mut self.stream);
        let (wbuf, rbuf) = (&mut self.wbuf, &mut self.rbuf);
        while !wbuf.is_empty() {
            if rbuf.capacity() - rbuf.len() < 16 * 1024 {
                rbuf.reserve(64 * 1024);
            }
            // Both are cancel-safe: a write that loses the race wrote nothing.
            let step = tokio::select! {
                n = writer.write(wbuf) => Step::Wrote(n?),
                n = reader.read_buf(rbuf) => Step::Read(n?),
            };
            match step {
                Step::Wrote(0) | Step::Read(0) => {
                    return Err(PgError::Lost(
                        "server closed the connection unexpectedly".into(),
                    ));
                }
                Step::Wrote(n) => wbuf.advance(n),
                Step::Read(_) => {}
            }
        }
        set_phase(shared, then);
        Ok(())
    }

    /// The next backend message, read from the socket as needed. Messages that may arrive at
    /// any time (notices, notifications, parameter changes) are recorded in `shared` and
    /// skipped.
    pub async fn next(&mut self, shared: &Shared) -> Result<Message, PgError> {
        loop {
            if let Some(msg) = self.next_inner(shared, false).await? {
                return Ok(msg);
            }
        }
    }

    /// As `next`, but None as soon as a notification has been recorded: what a wait for
    /// notifications (LISTEN) needs, since nothing else may ever arrive on an idle session.
    pub async fn next_or_notification(
        &mut self,
        shared: &Shared,
    ) -> Result<Option<Message>, PgError> {
        self.next_inner(shared, true).await
    }

    /// The next complete message in `rbuf`, its text converted to UTF-8 first when the
    /// client encoding is another.
    fn parse_next(&mut self) -> Result<Option<Message>, PgError> {
        if let Some(transcoder) = &self.transcoder {
            if message_buffered(&self.rbuf) {
                let len =
                    i32::from_be_bytes([self.rbuf[1], self.rbuf[2], self.rbuf[3], self.rbuf[4]]);
                let end = usize::try_from(len)
                    .map_err(|_| PgError::Lost("invalid message length".into()))?
                    + 1;
                if self.rbuf[0] == b'T' {
                    self.binary_columns = self
                        .rbuf
                        .get(5..end)
                        .and_then(crate::transcode::binary_columns);
                }
                let message = &self.rbuf[..end];
                if let Some(mut converted) =
                    transcoder.incoming(message, self.binary_columns.as_deref())
                {
                    self.rbuf.advance(end);
                    return Message::parse(&mut converted).map_err(PgError::lost);
                }
            }
        }
        Message::parse(&mut self.rbuf).map_err(PgError::lost)
    }

    async fn next_inner(
        &mut self,
        shared: &Shared,
        return_on_notification: bool,
    ) -> Result<Option<Message>, PgError> {
        loop {
            match self.parse_next()? {
                Some(Message::NoticeResponse(body)) => {
                    shared.lock().notices.push(error_fields(body.fields()));
                }
                Some(Message::ParameterStatus(body)) => {
                    let name = body.name().map_err(PgError::lost)?.to_owned();
                    let value = body.value().map_err(PgError::lost)?.to_owned();
                    if name == "DateStyle" || name == "IntervalStyle" {
                        if name == "DateStyle" {
                            self.datestyle.clone_from(&value);
                        } else {
                            self.intervalstyle.clone_from(&value);
                        }
                    }
                    let transcoder = (name == "client_encoding")
                        .then(|| Transcoder::for_client_encoding(&value));
                    let mut status = shared.lock();
                    status.params.insert(name, value);
                    if let Some(transcoder) = transcoder {
                        status.transcoder.clone_from(&transcoder);
                        self.transcoder = transcoder;
                    }
                    drop(status);
                    let sql_ascii = self.transcoder.as_ref().is_some_and(|t| t.is_sql_ascii());
                    self.styles = Styles::new(&self.datestyle, &self.intervalstyle, sql_ascii);
                }
                Some(Message::NotificationResponse(body)) => {
                    let channel = body.channel().map_err(PgError::lost)?.to_owned();
                    let payload = body.message().map_err(PgError::lost)?.to_owned();
                    shared
                        .lock()
                        .notifies
                        .push((body.process_id(), channel, payload));
                    // Whatever else is already buffered is recorded first (one batch).
                    if return_on_notification && message_buffered(&self.rbuf) {
                        continue;
                    }
                    if return_on_notification {
                        return Ok(None);
                    }
                }
                Some(msg) => return Ok(Some(msg)),
                None => {
                    if self.rbuf.capacity() - self.rbuf.len() < 16 * 1024 {
                        self.rbuf.reserve(64 * 1024);
                    }
                    let n = self.stream.read_buf(&mut self.rbuf).await?;
                    if n == 0 {
                        return Err(PgError::Lost(crate::errors::SERVER_CLOSED.into()));
                    }
                }
            }
        }
    }

    /// Read the responses to whatever was sent, up to and including ReadyForQuery.
    ///
    /// Returns every result and the first error (the server skips the rest of the batch after
    /// an error). A COPY started by a plain execute is refused, as psycopg does.
    pub async fn collect(
        &mut self,
        shared: &Shared,
        stop_at_copy: bool,
    ) -> Result<Collected, PgError> {
        self.collect_keeping(shared, stop_at_copy, false).await
    }

    /// [`Io::collect`], keeping only the last result when `last_only`: the row counts of
    /// the others are added up in [`Collected::earlier_tuples`]. For executemany without
    /// `returning`, where a million statements must not become a million result objects.
    pub async fn collect_keeping(
        &mut self,
        shared: &Shared,
        stop_at_copy: bool,
        last_only: bool,
    ) -> Result<Collected, PgError> {
        let mut out = Collected::default();
        let mut current = ResultSet::default();
        loop {
            match self.next(shared).await? {
                Message::RowDescription(body) => {
                    current.columns = Some(Arc::new(parse_columns(&body)?));
                    current.styles = self.styles.clone();
                }
                Message::DataRow(row) => current.rows.push(row),
                Message::CommandComplete(body) => {
                    current.tag = Some(body.tag().map_err(PgError::lost)?.to_owned());
                    current.status = if current.columns.is_some() {
                        TUPLES_OK
                    } else {
                        COMMAND_OK
                    };
                    if last_only {
                        if let Some(earlier) = out.results.pop() {
                            out.earlier_tuples += tag_tuples(earlier.tag.as_deref()).unwrap_or(0);
                        }
                    }
                    out.results.push(std::mem::take(&mut current));
                }
                Message::EmptyQueryResponse => {
                    current.status = EMPTY_QUERY;
                    out.results.push(std::mem::take(&mut current));
                }
                Message::ErrorResponse(body) => {
                    let fields = error_fields(body.fields());
                    if is_fatal(&fields) {
                        return Err(PgError::Server(fields));
                    }
                    current = ResultSet::default();
                    if out.error.is_none() {
                        out.error = Some(fields);
                    }
                }
                Message::ReadyForQuery(body) => {
                    shared.lock().tx_status = body.status();
                    // The server reports a changed DateStyle just before ReadyForQuery,
                    // after the results of the statements that follow the SET: read them
                    // all in the style it ends with, as psycopg does.
                    for result in &mut out.results {
                        result.styles.clone_from(&self.styles);
                    }
                    return Ok(out);
                }
                Message::CopyInResponse(body) => {
                    if stop_at_copy {
                        self.copy = CopyMode::In;
                        current.copy_binary = body.format() == 1;
                        current.columns = Some(Arc::new(copy_columns(body.column_formats())));
                        current.status = COPY_IN;
                        out.results.push(std::mem::take(&mut current));
                        return Ok(out);
                    }
                    msg_copy_fail(
                        &mut self.wbuf,
                        "COPY cannot be used with this method; use copy() instead",
                    )?;
                    self.flush().await?;
                    out.copy_refused = true;
                }
                Message::CopyOutResponse(body) => {
                    if stop_at_copy {
                        self.copy = CopyMode::Out;
                        current.copy_binary = body.format() == 1;
                        current.columns = Some(Arc::new(copy_columns(body.column_formats())));
                        current.status = COPY_OUT;
                        out.results.push(std::mem::take(&mut current));
                        return Ok(out);
                    }
                    out.copy_refused = true;
                }
                Message::CopyData(_) | Message::CopyDone => {}
                Message::BackendKeyData(_) => {}
                // ParseComplete, BindComplete, NoData, CloseComplete, ParameterDescription,
                // PortalSuspended: nothing to record.
                _ => {}
            }
        }
    }

    /// Read the answer to a lone Describe (+ Sync), up to and including ReadyForQuery: one
    /// result of status COMMAND_OK with the described columns (none after NoData) and no
    /// command tag, as libpq's describe results; or the error.
    pub async fn collect_description(&mut self, shared: &Shared) -> Result<Collected, PgError> {
        let mut out = Collected::default();
        let mut described = ResultSet {
            status: COMMAND_OK,
            ..ResultSet::default()
        };
        loop {
            match self.next(shared).await? {
                Message::RowDescription(body) => {
                    described.columns = Some(Arc::new(parse_columns(&body)?));
                    described.styles = self.styles.clone();
                }
                Message::ErrorResponse(body) => {
                    let fields = error_fields(body.fields());
                    if is_fatal(&fields) {
                        return Err(PgError::Server(fields));
                    }
                    out.error.get_or_insert(fields);
                }
                Message::ReadyForQuery(body) => {
                    shared.lock().tx_status = body.status();
                    if out.error.is_none() {
                        out.results.push(described);
                    }
                    return Ok(out);
                }
                // NoData (a portal without columns), notices already recorded by `next`.
                _ => {}
            }
        }
    }
}

#[derive(Default)]
pub struct Collected {
    pub results: Vec<ResultSet>,
    /// With `collect_keeping(.., last_only)`: the row counts of the results not kept.
    pub earlier_tuples: i64,
    pub error: Option<Vec<(u8, String)>>,
    pub copy_refused: bool,
}

/// The row count a command tag reports (`INSERT 0 5` → 5); None for commands that report
/// none.
pub fn tag_tuples(tag: Option<&str>) -> Option<i64> {
    let tag = tag?;
    let (verb, _) = tag.split_once(' ')?;
    if !matches!(
        verb,
        "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "MOVE" | "FETCH" | "COPY" | "MERGE"
    ) {
        return None;
    }
    let (_, count) = tag.rsplit_once(' ')?;
    count.parse().ok()
}

/// What one turn of `Io::send_reading_aside` did.
enum Step {
    Wrote(usize),
    Read(usize),
}
