//! Plain `http://` exchanges on hyper's HTTP/1.1 connections, without reqwest's layers.
//!
//! reqwest wraps every request in a stack of tower services (redirect and retry policies,
//! boxed futures, its connector) and parses the URL twice more on the way (its redirect
//! policy and its response each re-parse it from a string). For a small request to a
//! nearby server that stack cost more CPU than the exchange itself: callgrind counted ~55k
//! of the ~116k instructions of a plain `session.get(url)` inside reqwest, where hyper's own
//! connection API needs ~20k for the same exchange.
//!
//! So requests that need nothing reqwest is there for — plain HTTP, no proxy — go to hyper
//! directly, over HTTP/1.1 connections this module pools per origin; TLS, proxies and
//! HTTP/2 stay on reqwest. What reqwest did for these requests is done here the same way,
//! so the wire does not change: the request target in origin form, `Host` added last when
//! absent (with the port unless it is 80), `Accept: */*` added when absent (reqwest's
//! default header), Title-Case names; TCP_NODELAY and reqwest's TCP keepalive settings;
//! at most `pool_maxsize` idle connections per origin, for 90 s. Two rules follow urllib3
//! rather than reqwest: only the `pool_connections` origins used last keep idle
//! connections, and a name's addresses are tried in turn, each with the whole connect
//! timeout. A pooled connection found closed before the request was written is replaced,
//! and the request sent again, as hyper-util does.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderMap, HeaderValue, HOST};
use hyper::{Request, Response, Uri};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use reqwest::Url;
use tokio::net::TcpStream;

use crate::errors::{head_timed_out, HttpError, Kind};
use crate::fast_hash::FastHash;
use crate::upload::Pipe;

/// reqwest's socket options, kept for the connections made here (see `Config::build`).
const TCP_KEEPALIVE: Duration = Duration::from_secs(15);
const TCP_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
const TCP_KEEPALIVE_RETRIES: u32 = 3;

/// Where a URL's requests go, worked out once per URL (the client caches it with the URL).
pub(crate) struct Target {
    /// The pool key: host and port, as the `Host` header would name them.
    origin: Arc<str>,
    /// The address when the host is an IP literal (no name to resolve).
    address: Option<SocketAddr>,
    /// The name to resolve otherwise, and the port.
    host: String,
    port: u16,
    host_header: HeaderValue,
    /// The request target in origin form (`/path?query`).
    path: Uri,
}

impl Target {
    /// The target of `url` (parsed from `raw`) if it is plain HTTP and hyper takes its
    /// path; None sends the request through reqwest (which then reports whatever is wrong
    /// with it).
    pub(crate) fn of(url: &Url, raw: &str) -> Option<Target> {
        if url.scheme() != "http" {
            return None;
        }
        let port = url.port_or_known_default()?;
        // `host_str` keeps an IPv6 literal's brackets, as the Host header wants them.
        let host_str = url.host_str()?;
        let origin = match url.port() {
            // The url crate drops a port equal to the scheme's default.
            Some(port) => format!("{host_str}:{port}"),
            None => host_str.to_owned(),
        };
        let host_header = HeaderValue::from_str(&origin).ok()?;
        let address = match url.host()? {
            url::Host::Ipv4(ip) => Some(SocketAddr::from((ip, port))),
            url::Host::Ipv6(ip) => Some(SocketAddr::from((ip, port))),
            url::Host::Domain(_) => None,
        };
        let path = origin_form(raw)?;
        let path = if path == "/" {
            Uri::default()
        } else {
            path.parse::<Uri>().ok()?
        };
        Some(Target {
            origin: origin.into(),
            address,
            host: host_str
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            host_header,
            path,
        })
    }
}

/// The request target of `raw` as requests' `PreparedRequest.path_url` makes it: the path
/// (`/` when empty), then `?` and the query when there is one, no fragment. `raw` is the
/// URL as urllib3 would send it (the Python side encoded it: `_uri.wire_url`), so it is
/// taken as it is: the url crate's serialisation would encode a `'` in the query as `%27`
/// and read `%2e%2e` as a dot segment, where urllib3 sends both unchanged. None: not an
/// absolute URL with an authority that every parser ends at the same place.
fn origin_form(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    let after_scheme = raw.find("://")? + 3;
    let rest = &raw[after_scheme..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if rest[..authority_end].contains('\\') {
        return None; // the WHATWG parser would end the authority at the backslash
    }
    let target = rest[authority_end..].split('#').next().unwrap_or("");
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, query),
        None => (target, ""),
    };
    Some(match (path.is_empty(), query.is_empty()) {
        (false, true) => std::borrow::Cow::Borrowed(path),
        (false, false) => std::borrow::Cow::Borrowed(target),
        (true, true) => std::borrow::Cow::Borrowed("/"),
        (true, false) => std::borrow::Cow::Owned(format!("/?{query}")),
    })
}

/// One origin's pool, as urllib3 keeps it: a stack of `pool_maxsize` slots, each empty or
/// holding a connection that came back; and when a request last went there. An idle
/// connection stays as long as the server keeps it open (urllib3 has no idle limit either;
/// reqwest's pool drops them after 90 s).
///
/// A request takes the top slot: its connection if that is still open, else it makes a new
/// one (an empty slot, or one whose connection died). With every slot taken it makes a new
/// one too. A connection comes back into a free slot, or is closed when there is none;
/// a connection closed on the way (a response closed half read, a failure, `Connection:
/// close`) gives its slot back empty. That is which connection urllib3 would use, down to
/// when it opens a new one (`tests/http/test_connection_property.py`).
struct OriginIdle {
    slots: Vec<Option<SendRequest<reqwest::Body>>>,
    last_used: Instant,
    /// Which incarnation of the origin's pool this is: a connection lent before its
    /// origin was dropped (evicted, or `clear`) does not come back to a later one.
    entry: u64,
}

impl OriginIdle {
    /// A request to this origin: take the top slot, and its connection if still open.
    fn take_top(&mut self, now: Instant) -> (u64, Option<SendRequest<reqwest::Body>>) {
        self.last_used = now;
        let connection = self
            .slots
            .pop()
            .flatten()
            .filter(|sender| !sender.is_closed());
        (self.entry, connection)
    }
}

#[derive(Default)]
struct Origins {
    idle: HashMap<Arc<str>, OriginIdle, FastHash>,
    entries_made: u64,
}

/// One side's (blocking or green) idle HTTP/1.1 connections, per origin.
///
/// As urllib3's PoolManager, it keeps `max_origins` origins (requests' `pool_connections`),
/// least recently requested first out: a request to one more origin drops the pool of the
/// origin requested longest ago, and connections to it that are lent out then close when
/// they come back. A program visiting many hosts does not keep a socket open to each.
pub(crate) struct DirectPool {
    origins: Mutex<Origins>,
    max_idle: usize,
    max_origins: usize,
}

/// A connection lent to one exchange: back to its slot once its response body is read to
/// the end (`release`), or the slot back empty when the connection is closed on the way
/// (`abandon`). A lease dropped without either (a streamed response nobody closed) keeps
/// its slot taken, as urllib3 does.
pub(crate) struct Lease {
    pool: Arc<DirectPool>,
    origin: Arc<str>,
    entry: u64,
    sender: SendRequest<reqwest::Body>,
}

impl Lease {
    pub(crate) fn release(self) {
        let Lease {
            pool,
            origin,
            entry,
            sender,
        } = self;
        let connection = (!sender.is_closed()).then_some(sender);
        pool.give_back(&origin, entry, connection);
    }

    /// The connection is closed (dropped with the lease); its slot comes back empty.
    pub(crate) fn abandon(self) {
        self.pool.give_back(&self.origin, self.entry, None);
    }
}

impl DirectPool {
    pub(crate) fn new(max_idle: usize, max_origins: usize) -> Self {
        DirectPool {
            origins: Mutex::new(Origins::default()),
            max_idle,
            max_origins: max_origins.max(1),
        }
    }

    /// Drop the idle connections (`Session.close()`); lent ones close when they come back.
    pub(crate) fn clear(&self) {
        self.origins.lock().idle.clear();
    }

    /// Note a request to `origin` (urllib3 makes or touches its pool there) and take its
    /// top slot: the connection in it if still open. Also returns the number of the
    /// origin's pool, which a lease carries back.
    fn checkout(&self, origin: &Arc<str>) -> (u64, Option<SendRequest<reqwest::Body>>) {
        let now = Instant::now();
        let mut origins = self.origins.lock();
        if let Some(pool) = origins.idle.get_mut(origin) {
            return pool.take_top(now);
        }
        if origins.idle.len() >= self.max_origins {
            let oldest = origins
                .idle
                .iter()
                .min_by_key(|(_, pool)| pool.last_used)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                origins.idle.remove(&oldest);
            }
        }
        origins.entries_made += 1;
        let mut pool = OriginIdle {
            slots: std::iter::repeat_with(|| None)
                .take(self.max_idle)
                .collect(),
            last_used: now,
            entry: origins.entries_made,
        };
        let taken = pool.take_top(now);
        origins.idle.insert(origin.clone(), pool);
        taken
    }

    /// A lent connection (or, None, its emptied slot) back into a free slot of its pool.
    fn give_back(
        &self,
        origin: &Arc<str>,
        entry: u64,
        connection: Option<SendRequest<reqwest::Body>>,
    ) {
        let mut origins = self.origins.lock();
        if let Some(pool) = origins.idle.get_mut(origin) {
            if pool.entry == entry && pool.slots.len() < self.max_idle {
                pool.slots.push(connection);
            }
        }
    }
}

/// What the exchange sends: the method, prepared headers and body of `Client.send`, and
/// the connect timeout for a connection made for it.
pub(crate) struct Outgoing {
    pub method: reqwest::Method,
    pub headers: HeaderMap,
    pub body: Option<reqwest::Body>,
    pub connect_timeout: Option<Duration>,
}

/// Send one request to `target` and wait for the response head; the read timeout runs
/// from the moment the connection is usable, as urllib3's does (for a streamed upload,
/// `upload`, from the moment its producer is done).
pub(crate) async fn exchange(
    pool: &Arc<DirectPool>,
    target: &Target,
    url: &Url,
    outgoing: Outgoing,
    read_timeout: Option<Duration>,
    upload: Option<&Pipe>,
) -> Result<(Response<Incoming>, Lease), HttpError> {
    let connect_timeout = outgoing.connect_timeout;
    let mut request = build_request(target, outgoing);
    // The top slot of the origin's pool: its connection if it is open. One the server
    // closed while it sat idle gives the request back unsent; then, as for an empty slot,
    // a new connection gets it.
    let (entry, idle) = pool.checkout(&target.origin);
    let failed = |error: HttpError| {
        pool.give_back(&target.origin, entry, None);
        error
    };
    if let Some(mut sender) = idle {
        if sender.ready().await.is_ok() {
            let sent = within(read_timeout, upload, sender.try_send_request(request)).await;
            match sent.map_err(failed)? {
                Ok(response) => return Ok((response, lease(pool, target, entry, sender))),
                Err(mut error) => match error.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(failed(classify(url, error.error()))),
                },
            }
        }
    }
    let mut sender = connect(target, url, connect_timeout)
        .await
        .map_err(failed)?;
    match within(read_timeout, upload, sender.send_request(request))
        .await
        .map_err(failed)?
    {
        Ok(response) => Ok((response, lease(pool, target, entry, sender))),
        Err(err) => Err(failed(classify(url, &err))),
    }
}

fn lease(
    pool: &Arc<DirectPool>,
    target: &Target,
    entry: u64,
    sender: SendRequest<reqwest::Body>,
) -> Lease {
    Lease {
        pool: pool.clone(),
        origin: target.origin.clone(),
        entry,
        sender,
    }
}

/// `fut` under the read timeout (none: no limit). A streamed body takes as long as its
/// producer: then the timeout runs from the moment hyper has taken all of it.
async fn within<F: std::future::Future>(
    read_timeout: Option<Duration>,
    upload: Option<&Pipe>,
    fut: F,
) -> Result<F::Output, HttpError> {
    let Some(limit) = read_timeout else {
        return Ok(fut.await);
    };
    let expired = |_| head_timed_out(limit.as_secs_f64());
    let Some(pipe) = upload else {
        return tokio::time::timeout(limit, fut).await.map_err(expired);
    };
    let mut fut = std::pin::pin!(fut);
    tokio::select! {
        biased;
        output = &mut fut => Ok(output),
        () = pipe.drained() => tokio::time::timeout(limit, fut).await.map_err(expired),
    }
}

fn build_request(target: &Target, outgoing: Outgoing) -> Request<reqwest::Body> {
    let Outgoing {
        method,
        mut headers,
        body,
        connect_timeout: _,
    } = outgoing;
    // The caller's headers, then hyper-util's Host (where reqwest puts it). No Accept of
    // our own: requests sends none when the caller removed it (reqwest would add `*/*`).
    if !headers.contains_key(HOST) {
        headers.insert(HOST, target.host_header.clone());
    }
    let mut request =
        Request::new(body.unwrap_or_else(|| reqwest::Body::from(bytes::Bytes::new())));
    *request.method_mut() = method;
    *request.uri_mut() = target.path.clone();
    *request.headers_mut() = headers;
    request
}

/// A new connection to `target`, its driver task spawned on the current runtime.
async fn connect(
    target: &Target,
    url: &Url,
    connect_timeout: Option<Duration>,
) -> Result<SendRequest<reqwest::Body>, HttpError> {
    let stream = open(target, connect_timeout).await.map_err(|failure| {
        let (kind, cause) = match failure {
            Failure::TimedOut(limit) => (
                Kind::ConnectTimeout,
                format!("tcp connect error: connection timed out (connect timeout={limit})"),
            ),
            Failure::Refused(cause) => (Kind::ConnectionError, cause),
        };
        HttpError::new(
            kind,
            format!("error sending request for url ({url}): client error (Connect): {cause}"),
        )
        .before_sending()
    })?;
    let (sender, connection) = http1::Builder::new()
        .title_case_headers(true)
        .handshake::<_, reqwest::Body>(TokioIo::new(stream))
        .await
        .map_err(|err| {
            HttpError::new(
                Kind::ConnectionError,
                format!(
                    "error sending request for url ({url}): {}",
                    crate::errors::describe(&err)
                ),
            )
            .before_sending()
        })?;
    // Ends when the connection closes (its errors reach the exchange through `sender`).
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// Why no connection could be made.
enum Failure {
    /// The last address tried did not answer within the connect timeout (seconds).
    TimedOut(f64),
    /// Resolving the name failed, or every address refused: the last error's text.
    Refused(String),
}

/// A connected socket to the target's address, or to the first of its name's addresses
/// that accepts, with reqwest's socket options. As urllib3 does, the addresses are tried
/// in turn, each with the whole connect timeout.
async fn open(target: &Target, connect_timeout: Option<Duration>) -> Result<TcpStream, Failure> {
    let addresses: Vec<SocketAddr> = match target.address {
        Some(address) => vec![address],
        None => tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|err| Failure::Refused(format!("dns error: {err}")))?
            .collect(),
    };
    let mut last = Failure::Refused("dns error: no address found".to_owned());
    for address in addresses {
        let attempt = TcpStream::connect(address);
        let connected = match connect_timeout {
            None => attempt.await,
            Some(limit) => match tokio::time::timeout(limit, attempt).await {
                Ok(connected) => connected,
                Err(_) => {
                    last = Failure::TimedOut(limit.as_secs_f64());
                    continue;
                }
            },
        };
        match connected {
            Ok(stream) => {
                configure(&stream);
                return Ok(stream);
            }
            Err(err) => last = Failure::Refused(format!("tcp connect error: {err}")),
        }
    }
    Err(last)
}

fn configure(stream: &TcpStream) {
    // Best effort, as in reqwest's connector: a socket that refuses an option still works.
    let _ = stream.set_nodelay(true);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(TCP_KEEPALIVE)
        .with_interval(TCP_KEEPALIVE_INTERVAL)
        .with_retries(TCP_KEEPALIVE_RETRIES);
    let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive);
}

/// A failure after the connection was made, as `errors::classify_send` sees reqwest's.
fn classify(url: &Url, err: &hyper::Error) -> HttpError {
    let message = format!(
        "error sending request for url ({url}): {}",
        crate::errors::describe(err)
    );
    if message.contains("invalid content-length") {
        // Conflicting or malformed Content-Length headers: urllib3 raises InvalidHeader.
        return HttpError::new(Kind::InvalidHeader, message);
    }
    HttpError::new(Kind::ConnectionError, message).awaiting_response()
}
