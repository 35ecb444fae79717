//! Opening a connection: TCP (optionally through a proxy: HTTP CONNECT over TCP or TLS,
//! or SOCKS4/4a/5/5h) or a socket handed over by Python (`sock=`, Unix sockets), TLS with
//! rustls (inside the proxy's TLS for `wss://` through an `https://` proxy),
//! the HTTP/1.1 upgrade request and its response. What comes after the response headers
//! is kept: it is already WebSocket data.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::errors::WsError;
use crate::sock::Socket;
use crate::socks::{self, SocksSettings};

/// Largest response head we read (websockets: 8 KiB lines, 128 headers).
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 128;
/// Largest error-response body we keep (websockets' limit).
const MAX_BODY: usize = 1024 * 1024;

/// What Python's `ssl.SSLContext` boils down to for rustls.
#[derive(Clone)]
pub struct TlsSettings {
    pub server_name: String,
    /// `verify_mode != CERT_NONE`.
    pub verify: bool,
    /// Certificates loaded into the context (DER); empty means the bundled Mozilla roots.
    pub ca_der: Vec<Vec<u8>>,
    /// `check_hostname`: false checks the chain only (a context made with
    /// `create_default_context()` and `check_hostname = False`).
    pub check_hostname: bool,
}

pub struct ProxySettings {
    pub host: String,
    pub port: u16,
    pub kind: ProxyKind,
}

pub enum ProxyKind {
    /// `http://` (`tls` is `None`) or `https://`: this CONNECT request, byte for byte.
    Http {
        connect_request: Vec<u8>,
        tls: Option<TlsSettings>,
    },
    Socks(SocksSettings),
}

/// What the WebSocket's own TLS runs over: the TCP connection, or the TLS session with an
/// `https://` proxy (TLS in TLS).
pub enum Transport {
    Tcp(TcpStream),
    Tls(Box<TlsStream<Transport>>),
}

/// A TLS session, directly over TCP or inside a proxy's TLS.
pub type TlsIo = TlsStream<Transport>;

impl Transport {
    fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Tcp(tcp) => tcp,
            Transport::Tls(tls) => tls.get_ref().0.tcp(),
        }
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_write(cx, data),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A connected socket Python handed over (`sock=`, `unix_connect`).
pub struct Adopted {
    pub fd: OwnedFd,
    pub unix: bool,
}

pub struct OpenParams {
    pub host: String,
    pub port: u16,
    pub adopt: Option<Adopted>,
    pub tls: Option<TlsSettings>,
    pub proxy: Option<ProxySettings>,
    pub request: Vec<u8>,
    pub timeout: Option<Duration>,
}

pub enum Stream {
    Plain(TcpStream),
    Unix(UnixStream),
    Tls(Box<TlsIo>),
}

/// The read side: a plain socket (TCP or Unix) is read with raw calls, by the connection's
/// task or by a blocking caller (`conn::reader`); TLS only by the task.
pub enum ReadIo {
    Socket(Socket),
    Tls(tokio::io::ReadHalf<TlsIo>),
}

/// The write side. A plain socket is registered with tokio for writability only, on its
/// own descriptor: incoming data then never wakes the runtime's I/O driver (the read
/// side's descriptor is registered only while the task reads).
pub enum WriteIo {
    Socket(AsyncFd<Socket>),
    Tls(tokio::io::WriteHalf<TlsIo>),
}

impl Stream {
    pub fn raw_fd(&self) -> RawFd {
        match self {
            Stream::Plain(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tls(s) => s.get_ref().0.tcp().as_raw_fd(),
        }
    }

    /// Separate the read and write sides. Call inside the runtime (the write side of a
    /// plain socket is registered with it).
    pub fn split(self) -> std::io::Result<(ReadIo, WriteIo)> {
        let fd: OwnedFd = match self {
            Stream::Plain(s) => s.into_std()?.into(),
            Stream::Unix(s) => s.into_std()?.into(),
            Stream::Tls(s) => {
                let (r, w) = tokio::io::split(*s);
                return Ok((ReadIo::Tls(r), WriteIo::Tls(w)));
            }
        };
        let write = Socket::new(fd);
        let read = write.try_clone()?;
        // SAFETY: `Socket` owns its descriptor, which stays open as long as the AsyncFd.
        let write = unsafe { AsyncFd::register_with_interest(write, Interest::WRITABLE) }
            .map_err(std::io::Error::from)?;
        Ok((ReadIo::Socket(read), WriteIo::Socket(write)))
    }

    async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(data).await,
            Stream::Unix(s) => s.write_all(data).await,
            Stream::Tls(s) => {
                s.write_all(data).await?;
                s.flush().await
            }
        }
    }

    async fn read_buf(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read_buf(buf).await,
            Stream::Unix(s) => s.read_buf(buf).await,
            Stream::Tls(s) => s.read_buf(buf).await,
        }
    }
}

pub struct Opened {
    pub stream: Stream,
    pub leftover: BytesMut,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
}

/// The step of opening a connection under way, so that `open_timeout` passing says where,
/// in websockets' words.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Step {
    Connect = 0,
    ProxyConnect = 1,
    Tls = 2,
    Handshake = 3,
}

impl Step {
    fn set(self, step: &AtomicU8) {
        step.store(self as u8, Ordering::Relaxed);
    }

    fn timeout_message(step: &AtomicU8) -> &'static str {
        match step.load(Ordering::Relaxed) {
            // socket.create_connection's socket.timeout.
            s if s == Step::Connect as u8 => "timed out",
            s if s == Step::ProxyConnect as u8 => "timed out while connecting to HTTP proxy",
            // ssl's do_handshake under a socket timeout.
            s if s == Step::Tls as u8 => "The handshake operation timed out",
            _ => "timed out while waiting for handshake response",
        }
    }
}

pub async fn open(params: OpenParams) -> Result<Opened, WsError> {
    let step = AtomicU8::new(Step::Connect as u8);
    match params.timeout {
        Some(limit) => match tokio::time::timeout(limit, open_inner(params, &step)).await {
            Ok(result) => result,
            Err(_) => Err(WsError::Timeout(Step::timeout_message(&step).into())),
        },
        None => open_inner(params, &step).await,
    }
}

/// Wrap a socket Python handed over in tokio's type for it.
fn adopt(adopted: Adopted) -> Result<Stream, WsError> {
    if adopted.unix {
        let std = std::os::unix::net::UnixStream::from(adopted.fd);
        std.set_nonblocking(true)?;
        Ok(Stream::Unix(UnixStream::from_std(std)?))
    } else {
        let std = std::net::TcpStream::from(adopted.fd);
        std.set_nonblocking(true)?;
        let tcp = TcpStream::from_std(std)?;
        // websockets sets TCP_NODELAY on the sockets it is given too.
        tcp.set_nodelay(true)?;
        Ok(Stream::Plain(tcp))
    }
}

async fn open_inner(mut params: OpenParams, step: &AtomicU8) -> Result<Opened, WsError> {
    if let Some(adopted) = params.adopt.take() {
        let stream = match adopt(adopted)? {
            Stream::Plain(tcp) => return finish_open(Transport::Tcp(tcp), &params, step).await,
            other => other,
        };
        if params.tls.is_some() {
            return Err(WsError::Value(
                "TLS over a Unix socket is not supported".into(),
            ));
        }
        Step::Handshake.set(step);
        return handshake(stream, None, None, &params).await;
    }
    let transport = match &params.proxy {
        Some(proxy) => through_proxy(proxy, &params.host, params.port, step).await?,
        None => {
            let tcp = TcpStream::connect((params.host.as_str(), params.port)).await?;
            tcp.set_nodelay(true)?;
            Transport::Tcp(tcp)
        }
    };
    finish_open(transport, &params, step).await
}

/// Connect to the proxy and open the tunnel to `host:port` through it.
async fn through_proxy(
    proxy: &ProxySettings,
    host: &str,
    port: u16,
    step: &AtomicU8,
) -> Result<Transport, WsError> {
    let mut tcp = TcpStream::connect((proxy.host.as_str(), proxy.port)).await?;
    tcp.set_nodelay(true)?;
    let (connect_request, tls) = match &proxy.kind {
        ProxyKind::Socks(settings) => {
            socks::handshake(&mut tcp, settings, host, port).await?;
            return Ok(Transport::Tcp(tcp));
        }
        ProxyKind::Http {
            connect_request,
            tls,
        } => (connect_request, tls),
    };
    let mut stream = match tls {
        Some(tls) => {
            Step::Tls.set(step);
            Stream::Tls(Box::new(tls_handshake(Transport::Tcp(tcp), tls).await?))
        }
        None => Stream::Plain(tcp),
    };
    Step::ProxyConnect.set(step);
    stream.write_all(connect_request).await?;
    let mut buf = BytesMut::with_capacity(4096);
    let head = read_head(&mut stream, &mut buf, true).await?;
    if !(200..300).contains(&head.status) {
        return Err(WsError::ProxyStatus(head.status, head.reason, head.headers));
    }
    if !buf.is_empty() {
        return Err(WsError::InvalidProxyMessage(
            "unexpected data after CONNECT response".into(),
            None,
        ));
    }
    match stream {
        Stream::Plain(tcp) => Ok(Transport::Tcp(tcp)),
        Stream::Tls(tls) => Ok(Transport::Tls(tls)),
        Stream::Unix(_) => Err(WsError::Runtime("proxy stream changed type".into())),
    }
}

/// TLS if asked, then the upgrade.
async fn finish_open(
    transport: Transport,
    params: &OpenParams,
    step: &AtomicU8,
) -> Result<Opened, WsError> {
    let local = transport.tcp().local_addr().ok();
    let peer = transport.tcp().peer_addr().ok();
    let stream = match (&params.tls, transport) {
        (Some(tls), transport) => {
            Step::Tls.set(step);
            Stream::Tls(Box::new(tls_handshake(transport, tls).await?))
        }
        (None, Transport::Tcp(tcp)) => Stream::Plain(tcp),
        // ws:// through an https:// proxy: the proxy's TLS carries the WebSocket.
        (None, Transport::Tls(tls)) => Stream::Tls(tls),
    };
    Step::Handshake.set(step);
    handshake(stream, local, peer, params).await
}

/// Send the upgrade request and read the response (and an error response's body).
async fn handshake(
    mut stream: Stream,
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
    params: &OpenParams,
) -> Result<Opened, WsError> {
    stream.write_all(&params.request).await?;
    let mut buf = BytesMut::with_capacity(8192);
    let head = read_head(&mut stream, &mut buf, false).await?;
    let mut body = Vec::new();
    if head.status != 101 {
        body = read_body(&mut stream, &mut buf, &head).await?;
    }
    Ok(Opened {
        stream,
        leftover: buf,
        status: head.status,
        reason: head.reason,
        headers: head.headers,
        body,
        local,
        peer,
    })
}

struct Head {
    status: u16,
    reason: String,
    headers: Vec<(String, Vec<u8>)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// websockets' error for a response it cannot read, `problem` becoming its `__cause__`.
fn invalid_response(proxy: bool, problem: String) -> WsError {
    if proxy {
        let msg = "did not receive a valid HTTP response from proxy";
        WsError::InvalidProxyMessage(msg.into(), Some(problem))
    } else {
        WsError::InvalidMessage(
            "did not receive a valid HTTP response".into(),
            Some(problem),
        )
    }
}

/// What websockets' parser says of a status line it refuses (httparse takes some of them:
/// HTTP/1.0 from a server, any three-digit code), or None. Only a complete line is judged.
fn status_line_problem(buf: &[u8], proxy: bool) -> Option<String> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = String::from_utf8_lossy(&buf[..end]);
    let mut parts = line.splitn(3, ' ');
    let (Some(protocol), Some(code), Some(_reason)) = (parts.next(), parts.next(), parts.next())
    else {
        return Some(format!("invalid HTTP status line: {line}"));
    };
    if proxy && protocol != "HTTP/1.1" && protocol != "HTTP/1.0" {
        return Some(format!(
            "unsupported protocol; expected HTTP/1.1 or HTTP/1.0: {line}"
        ));
    }
    if !proxy && protocol != "HTTP/1.1" {
        return Some(format!("unsupported protocol; expected HTTP/1.1: {line}"));
    }
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("invalid status code; expected integer; got {code}"));
    }
    match code.parse::<u32>() {
        Ok(100..=599) => None,
        _ => Some(format!("invalid status code; expected 100–599; got {code}")),
    }
}

async fn read_head(stream: &mut Stream, buf: &mut BytesMut, proxy: bool) -> Result<Head, WsError> {
    loop {
        {
            let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut slots);
            match response.parse(buf) {
                Ok(httparse::Status::Complete(used)) => {
                    if let Some(problem) = status_line_problem(buf, proxy) {
                        return Err(invalid_response(proxy, problem));
                    }
                    let status = response.code.unwrap_or(0);
                    let reason = response.reason.unwrap_or("").to_owned();
                    let headers = response
                        .headers
                        .iter()
                        .map(|h| (h.name.to_owned(), h.value.to_vec()))
                        .collect();
                    let _ = buf.split_to(used);
                    return Ok(Head {
                        status,
                        reason,
                        headers,
                    });
                }
                Ok(httparse::Status::Partial) => {}
                Err(httparse::Error::TooManyHeaders) => {
                    return Err(WsError::Security("too many HTTP headers".into()));
                }
                Err(err) => {
                    let problem = status_line_problem(buf, proxy)
                        .unwrap_or_else(|| format!("invalid HTTP response: {err}"));
                    return Err(invalid_response(proxy, problem));
                }
            }
        }
        if buf.len() > MAX_HEAD {
            return Err(WsError::Security("HTTP response headers too long".into()));
        }
        buf.reserve(4096);
        let n = stream.read_buf(buf).await?;
        if n == 0 {
            let problem = if buf.is_empty() {
                "connection closed while reading HTTP status line"
            } else {
                "connection closed while reading HTTP headers"
            };
            return Err(invalid_response(proxy, problem.into()));
        }
    }
}

/// The body of an error response, as HTTP/1.1 delimits it (length, chunked, or until close).
async fn read_body(
    stream: &mut Stream,
    buf: &mut BytesMut,
    head: &Head,
) -> Result<Vec<u8>, WsError> {
    if (100..200).contains(&head.status) || head.status == 204 || head.status == 304 {
        return Ok(Vec::new());
    }
    let chunked = head
        .header("Transfer-Encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case(b"chunked"));
    if chunked {
        return read_chunked(stream, buf).await;
    }
    let length = head
        .header("Content-Length")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    match length {
        Some(n) => {
            if n > MAX_BODY {
                return Err(WsError::Security(format!("body too large: {n} bytes")));
            }
            while buf.len() < n {
                buf.reserve(n - buf.len());
                if stream.read_buf(buf).await? == 0 {
                    return Err(WsError::InvalidMessage(
                        "did not receive a valid HTTP response".into(),
                        Some(format!("body: expected {n} bytes, got {}", buf.len())),
                    ));
                }
            }
            Ok(buf.split_to(n).to_vec())
        }
        None => {
            loop {
                if buf.len() > MAX_BODY {
                    return Err(WsError::Security("body too large".into()));
                }
                buf.reserve(8192);
                match stream.read_buf(buf).await {
                    Ok(0) => break,
                    Ok(_) => {}
                    // A reset after the body is the end of the body for our purpose.
                    Err(_) => break,
                }
            }
            Ok(buf.split().to_vec())
        }
    }
}

async fn read_chunked(stream: &mut Stream, buf: &mut BytesMut) -> Result<Vec<u8>, WsError> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(pos) = buf.windows(2).position(|w| w == b"\r\n") {
                break pos;
            }
            buf.reserve(4096);
            if stream.read_buf(buf).await? == 0 {
                return Err(WsError::InvalidMessage(
                    "did not receive a valid HTTP response".into(),
                    Some("connection closed while reading chunked body".into()),
                ));
            }
        };
        let line = String::from_utf8_lossy(&buf[..line_end]).to_string();
        let size_text = line.split(';').next().unwrap_or("").trim().to_owned();
        let size = usize::from_str_radix(&size_text, 16).map_err(|_| {
            WsError::InvalidMessage(
                "did not receive a valid HTTP response".into(),
                Some("bad chunk size".into()),
            )
        })?;
        let _ = buf.split_to(line_end + 2);
        if body.len() + size > MAX_BODY {
            return Err(WsError::Security("body too large".into()));
        }
        while buf.len() < size + 2 {
            buf.reserve(size + 2 - buf.len());
            if stream.read_buf(buf).await? == 0 {
                return Err(WsError::InvalidMessage(
                    "did not receive a valid HTTP response".into(),
                    Some("connection closed while reading chunked body".into()),
                ));
            }
        }
        body.extend_from_slice(&buf[..size]);
        let _ = buf.split_to(size + 2);
        if size == 0 {
            return Ok(body);
        }
    }
}

fn client_config(tls: &TlsSettings) -> Result<ClientConfig, WsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| WsError::Tls(e.to_string()))?;
    let config = if tls.verify {
        let mut roots = RootCertStore::empty();
        if tls.ca_der.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        } else {
            for der in &tls.ca_der {
                roots
                    .add(CertificateDer::from(der.clone()))
                    .map_err(|e| WsError::Tls(format!("invalid CA certificate: {e}")))?;
            }
        }
        // Also a self-signed server certificate loaded as its own CA, as OpenSSL accepts.
        let verifier = balrog_tls::TrustedCertificates::new(
            roots,
            tls.ca_der.clone(),
            tls.check_hostname,
            provider,
        )
        .map_err(|e| WsError::Tls(e.to_string()))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth()
    } else {
        builder
            .dangerous()
            // What `ssl.CERT_NONE` asks for.
            .with_custom_certificate_verifier(balrog_tls::AnyCertificate::new(provider))
            .with_no_client_auth()
    };
    Ok(config)
}

async fn tls_handshake(transport: Transport, tls: &TlsSettings) -> Result<TlsIo, WsError> {
    let config = client_config(tls)?;
    let name = ServerName::try_from(tls.server_name.clone()).map_err(|e| {
        WsError::Value(format!(
            "invalid server_hostname {:?}: {e}",
            tls.server_name
        ))
    })?;
    let connector = TlsConnector::from(Arc::new(config));
    connector.connect(name, transport).await.map_err(|err| {
        let text = err.to_string();
        if err.kind() == std::io::ErrorKind::UnexpectedEof {
            WsError::TlsEof
        } else if text.contains("certificate") || text.contains("Certificate") {
            WsError::TlsCertificate(text, tls.server_name.clone())
        } else {
            WsError::Tls(text)
        }
    })
}
