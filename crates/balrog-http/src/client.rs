//! `Client`: the connection pools behind one requests `Session` adapter (one per TLS/proxy
//! configuration), and `send`, the op that performs one HTTP exchange; `send_plain` and
//! `fetch` are the plain path's body-less variants with prepared `Headers` (`fetch` waits
//! right away, for blocking callers).

use std::collections::HashMap;
use std::future::Future;
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::time::{Duration, Instant};

use balrog_core::{fork_generation, Exec, Op};
use bytes::Bytes;
use parking_lot::Mutex;
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING};
use tokio::runtime::Runtime;

use crate::body::{BodyReader, BodyStream, Source};
use crate::connect_watch::{head_within, with_connect_timeout, WatchLayer};
use crate::decode::Decoder;
use crate::direct::{self, DirectPool, Outgoing, Target};
use crate::errors::{classify_send, head_timed_out, HttpError, Kind};
use crate::fast_hash::FastHash;
use crate::upload::{Pipe, Upload};

/// TLS, proxy and pool settings shared by both of the client's pools.
struct Config {
    verify: bool,
    ca_pem: Option<Vec<u8>>,
    identity_pem: Option<Vec<u8>>,
    proxy: Option<String>,
    pool_maxsize: usize,
    pool_connections: usize,
}

/// The pools, built on first use in each mode, rebuilt after a fork.
///
/// Blocking callers use a current-thread runtime owned by this client: the calling thread
/// drives the connection itself, so a request costs no thread hop. Green callers use the
/// wheel's shared runtime. A pooled connection lives on the runtime that opened it, hence
/// one `Side` (reqwest clients and direct-lane pool) per mode.
struct Pools {
    generation: u64,
    blocking: Option<Side>,
    /// When the blocking side last handed out its runtime (see `IDLE_CHECK_AFTER`).
    blocking_used: Option<Instant>,
    green: Option<Side>,
}

/// One mode's pools: reqwest's clients, and the direct lane's HTTP/1.1 connections
/// (`direct.rs`), on `runtime` (None: the shared one).
#[derive(Clone)]
struct Side {
    /// Built on first use (the connect timeout goes with each request: connect_watch).
    reqwest: Arc<Mutex<Option<reqwest::Client>>>,
    direct: Arc<DirectPool>,
    runtime: Option<Arc<Runtime>>,
}

impl Side {
    fn reqwest_client(&self, config: &Config) -> PyResult<reqwest::Client> {
        let mut client = self.reqwest.lock();
        if let Some(client) = client.as_ref() {
            return Ok(client.clone());
        }
        let built = config.build()?;
        *client = Some(built.clone());
        Ok(built)
    }
}

/// How long a blocking client may sit between requests before its idle connections are
/// looked at. Nothing drives a blocking client's runtime between calls, so a keep-alive
/// connection the server closed meanwhile would still be in the pool and get the next
/// request, which then fails (urllib3 checks a pooled socket before reusing it). Below
/// this gap (requests in a loop) the check is skipped: it costs a system call.
const IDLE_CHECK_AFTER: Duration = Duration::from_millis(1);

/// Let the runtime take note of connections closed while it was not running: the first
/// yield makes the scheduler poll the I/O driver without blocking (waking the tasks of
/// sockets that saw the close), the second lets those tasks run, which takes their
/// connections out of the pool.
async fn notice_closed_connections() {
    tokio::task::yield_now().await;
    tokio::task::yield_now().await;
}

#[pyclass(frozen, module = "balrog._http")]
pub struct Client {
    config: Config,
    pools: Mutex<Pools>,
    /// URLs already parsed by this client: most programs request the same few URLs again
    /// and again, and parsing (with IDNA processing of the host) is a measurable part of a
    /// small request. Bounded by clearing it when full.
    urls: Mutex<HashMap<String, Arc<ParsedUrl>, FastHash>>,
}

/// A URL as parsed once: for reqwest, and where the direct lane sends it (None: not a
/// plain `http://` URL, reqwest's).
struct ParsedUrl {
    url: reqwest::Url,
    target: Option<Target>,
}

const URL_CACHE_SIZE: usize = 256;

fn read_file(path: &str) -> PyResult<Vec<u8>> {
    std::fs::read(path).map_err(|err| PyOSError::new_err(format!("Could not read {path}: {err}")))
}

fn tls_error(message: String) -> PyErr {
    Python::with_gil(|py| HttpError::new(Kind::SslError, message).into_py(py))
}

impl Config {
    /// Whether connection failures are the proxy's (requests' ProxyError). Through a SOCKS
    /// proxy they are not: urllib3's SOCKS connection reports them as NewConnectionError,
    /// which requests raises as ConnectionError.
    fn through_http_proxy(&self) -> bool {
        self.proxy.as_deref().is_some_and(|url| {
            !url.get(..5)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("socks"))
        })
    }

    /// The pools of one side (`runtime` None: the green side, on the shared runtime).
    fn side(&self, runtime: Option<Arc<Runtime>>) -> Side {
        Side {
            reqwest: Arc::new(Mutex::new(None)),
            direct: Arc::new(DirectPool::new(self.pool_maxsize, self.pool_connections)),
            runtime,
        }
    }

    fn build(&self) -> PyResult<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .http1_title_case_headers()
            .pool_max_idle_per_host(self.pool_maxsize)
            // urllib3 keeps an idle connection until the server closes it (hyper notices the
            // close and drops it from the pool); reqwest would drop it after 90 s.
            .pool_idle_timeout(None)
            .tcp_nodelay(true)
            // Also applies each request's connect timeout (reqwest's own is per client).
            .connector_layer(WatchLayer);
        builder = match &self.proxy {
            Some(url) => {
                let proxy = reqwest::Proxy::all(url.as_str()).map_err(|err| {
                    Python::with_gil(|py| {
                        HttpError::new(
                            Kind::ProxyError,
                            format!("Invalid proxy URL {url:?}: {err}"),
                        )
                        .into_py(py)
                    })
                })?;
                builder.proxy(proxy)
            }
            None => builder.no_proxy(),
        };
        let tls = crate::tls::client_config(
            self.verify,
            self.ca_pem.as_deref(),
            self.identity_pem.as_deref(),
        )
        .map_err(tls_error)?;
        builder = builder.use_preconfigured_tls(tls);
        builder
            .build()
            .map_err(|err| tls_error(format!("Could not set up the HTTP client: {err}")))
    }
}

/// A `bytes` object handed to the wire without copying it.
struct PyBytesOwner {
    _owner: Py<PyBytes>,
    ptr: *const u8,
    len: usize,
}

// SAFETY: a `bytes` object is immutable and kept alive by `_owner`; its buffer never moves.
// Dropping the `Py` without the GIL defers the decref to pyo3's reference pool.
unsafe impl Send for PyBytesOwner {}
unsafe impl Sync for PyBytesOwner {}

impl AsRef<[u8]> for PyBytesOwner {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: see the struct: the buffer is alive and immutable for our lifetime.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

pub(crate) fn bytes_of(obj: &Bound<'_, PyBytes>) -> Bytes {
    let data = obj.as_bytes();
    Bytes::from_owner(PyBytesOwner {
        ptr: data.as_ptr(),
        len: data.len(),
        _owner: obj.clone().unbind(),
    })
}

fn invalid_header(py: Python<'_>, message: String) -> PyErr {
    HttpError::new(Kind::InvalidHeader, message).into_py(py)
}

fn header_bytes(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(text) = value.downcast::<PyString>() {
        let chars = text.to_cow()?;
        // http.client sends header values as Latin-1.
        if let Ok(bytes) = chars
            .chars()
            .map(|c| u8::try_from(u32::from(c)))
            .collect::<Result<Vec<u8>, _>>()
        {
            return Ok(bytes);
        }
        // Raise exactly what http.client raises (UnicodeEncodeError from the codec).
        text.call_method1("encode", ("latin-1",))?;
        return Err(PyValueError::new_err(
            "header value cannot be encoded as latin-1",
        ));
    }
    if let Ok(bytes) = value.downcast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(
        "header names and values must be str or bytes",
    ))
}

fn header_map(py: Python<'_>, headers: &Bound<'_, PyList>) -> PyResult<HeaderMap> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for item in headers.iter() {
        let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
        let name = header_bytes(&name)?;
        let value = header_bytes(&value)?;
        let header = HeaderName::from_bytes(&name).map_err(|_| {
            invalid_header(
                py,
                format!("Invalid header name {:?}", String::from_utf8_lossy(&name)),
            )
        })?;
        let value = HeaderValue::from_bytes(&value).map_err(|_| {
            invalid_header(
                py,
                format!(
                    "Invalid leading whitespace, reserved character(s), or return character(s) in header value: {:?}",
                    String::from_utf8_lossy(&value)
                ),
            )
        })?;
        map.append(header, value);
    }
    Ok(map)
}

/// A header block converted and validated once: a Session's default headers are the same
/// on most of its requests, so the plain path keeps one of these with them instead of
/// converting every name and value again per request.
#[pyclass(frozen, module = "balrog._http")]
pub struct Headers {
    map: HeaderMap,
}

#[pymethods]
impl Headers {
    #[new]
    fn new(py: Python<'_>, headers: &Bound<'_, PyList>) -> PyResult<Self> {
        Ok(Headers {
            map: header_map(py, headers)?,
        })
    }

    fn __len__(&self) -> usize {
        self.map.len()
    }
}

fn request_body(body: Option<&Bound<'_, PyAny>>) -> PyResult<Option<reqwest::Body>> {
    let Some(body) = body else { return Ok(None) };
    if body.is_none() {
        return Ok(None);
    }
    // Files and iterators go through `Client.upload`, streamed as they are produced.
    let bytes = body
        .downcast::<PyBytes>()
        .map_err(|_| PyTypeError::new_err("the request body must be bytes"))?;
    Ok(Some(reqwest::Body::from(bytes_of(bytes))))
}

fn seconds(value: Option<f64>) -> PyResult<Option<Duration>> {
    match value {
        None => Ok(None),
        Some(s) if s.is_finite() && s >= 0.0 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => Err(PyValueError::new_err(format!("invalid timeout {s}"))),
    }
}

/// Response status line and headers, moved out of the tokio thread as plain Rust values.
pub(crate) struct Head {
    status: u16,
    reason: Option<String>,
    version: u8,
    /// The response's own header map, moved out of it (no copy).
    headers: HeaderMap,
    /// A `Set-Cookie` (or `Set-Cookie2`) header is present: the caller must update its jar.
    sets_cookie: bool,
}

/// Header names whose usual spelling is not plain title case (`Etag` would be): what
/// servers commonly send, and so what http.client would have shown.
const SPELLINGS: [&str; 14] = [
    "ETag",
    "WWW-Authenticate",
    "Content-MD5",
    "Content-ID",
    "X-XSS-Protection",
    "X-UA-Compatible",
    "X-DNS-Prefetch-Control",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Expect-CT",
    "DNT",
    "TE",
    "P3P",
];

/// The name as requests users see it from an HTTP/1 server. hyper gives names lowercased
/// (the `http` crate keeps no case); the original spelling is not recoverable, so the
/// common one is used: title case, or the usual spelling of the names above.
fn title_case(name: &str) -> String {
    if let Some(known) = SPELLINGS.iter().find(|s| s.eq_ignore_ascii_case(name)) {
        return (*known).to_owned();
    }
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    out
}

/// Python strings for the header names seen so far, as handed to Python (title case for
/// HTTP/1, as received for HTTP/2): the same few names come back in every response, so
/// each is case-converted and allocated once. Bounded: past the limit, names are made anew.
struct NameCache {
    title: HashMap<HeaderName, Py<PyString>, FastHash>,
    lower: HashMap<HeaderName, Py<PyString>, FastHash>,
}

const NAME_CACHE_SIZE: usize = 256;

static NAME_CACHE: Mutex<Option<NameCache>> = Mutex::new(None);

fn header_name<'py>(py: Python<'py>, name: &HeaderName, title: bool) -> Bound<'py, PyString> {
    let mut guard = NAME_CACHE.lock();
    let cache = guard.get_or_insert_with(|| NameCache {
        title: HashMap::default(),
        lower: HashMap::default(),
    });
    let map = if title {
        &mut cache.title
    } else {
        &mut cache.lower
    };
    if let Some(known) = map.get(name) {
        return known.bind(py).clone();
    }
    let text = if title {
        PyString::new(py, &title_case(name.as_str()))
    } else {
        PyString::new(py, name.as_str())
    };
    if map.len() < NAME_CACHE_SIZE {
        map.insert(name.clone(), text.clone().unbind());
    }
    text
}

impl Head {
    /// Take the status line and headers of `response` (its header map is left empty:
    /// reading the body needs none of it).
    fn of(response: &mut reqwest::Response) -> Head {
        let headers = std::mem::take(response.headers_mut());
        Head::new(
            response.version(),
            response.status(),
            response.extensions(),
            headers,
        )
    }

    /// `of` for a response of the direct lane.
    fn of_direct(response: &mut hyper::Response<hyper::body::Incoming>) -> Head {
        let headers = std::mem::take(response.headers_mut());
        Head::new(
            response.version(),
            response.status(),
            response.extensions(),
            headers,
        )
    }

    fn new(
        version: reqwest::Version,
        status: reqwest::StatusCode,
        extensions: &hyper::http::Extensions,
        headers: HeaderMap,
    ) -> Head {
        let version = match version {
            reqwest::Version::HTTP_09 => 9,
            reqwest::Version::HTTP_10 => 10,
            reqwest::Version::HTTP_2 => 20,
            reqwest::Version::HTTP_3 => 30,
            _ => 11,
        };
        let reason = match extensions.get::<hyper::ext::ReasonPhrase>() {
            // http.client strips the phrase (Python's str.strip: also \x1c-\x1f).
            Some(phrase) => Some(
                String::from_utf8_lossy(phrase.as_bytes())
                    .trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
                    .to_owned(),
            ),
            None => status.canonical_reason().map(str::to_owned),
        };
        let sets_cookie = headers
            .keys()
            .any(|name| name.as_str().starts_with("set-cookie"));
        Head {
            status: status.as_u16(),
            reason,
            version,
            headers,
            sets_cookie,
        }
    }

    fn into_py<'py>(
        self,
        py: Python<'py>,
        body: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let headers = self.py_headers(py)?;
        (self.status, self.reason, self.version, headers, body).into_pyobject(py)
    }

    /// Like `into_py`, with the Set-Cookie flag appended (the plain path's result).
    fn into_py_flagged<'py>(
        self,
        py: Python<'py>,
        body: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let headers = self.py_headers(py)?;
        let sets_cookie = self.sets_cookie;
        (
            self.status,
            self.reason,
            self.version,
            headers,
            body,
            sets_cookie,
        )
            .into_pyobject(py)
    }

    fn py_headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        // HTTP/1 names lose their case in the `http` crate; title case is what servers send
        // nearly always (HTTP/2 names are lower case on the wire and stay so).
        let title = self.version < 20;
        let mut items = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            let value = value.as_bytes();
            // http.client decodes header bytes as Latin-1: every byte maps to one char.
            // ASCII (nearly every value) is the same in both and needs no re-encoding.
            let text = match std::str::from_utf8(value) {
                Ok(ascii) if value.is_ascii() => PyString::new(py, ascii),
                _ => {
                    let latin1: String = value.iter().map(|&b| char::from(b)).collect();
                    PyString::new(py, &latin1)
                }
            };
            items.push(PyTuple::new(py, [header_name(py, name, title), text])?);
        }
        PyList::new(py, items)
    }
}

/// A request ready to go: the future that performs it, and the runtime it must run on
/// (None: the shared one).
struct Exchange<F> {
    fut: F,
    runtime: Option<Arc<Runtime>>,
}

/// How `exchange` delivers the response body.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyMode {
    /// Read whole before returning (`Outcome::Whole`).
    Whole,
    /// Left on the wire for the caller (`Outcome::Streamed`).
    Stream,
    /// Whole, unless it is large and its exact size is known: then streamed, for the
    /// caller to read straight into a buffer of that size (see `whole_body`).
    WholeOrSized,
}

impl BodyMode {
    /// `Whole`, or `Stream` for a caller that asked for `stream=True`.
    fn of(stream: bool) -> Self {
        if stream {
            BodyMode::Stream
        } else {
            BodyMode::Whole
        }
    }
}

/// Where a runtime-or-shared exchange's op runs: the client's dedicated runtime (a
/// blocking caller's) or the shared one (None).
pub(crate) fn exec_on(runtime: Option<Arc<Runtime>>) -> Exec {
    match runtime {
        Some(rt) => Exec::Dedicated(rt),
        None => Exec::Shared,
    }
}

/// Below this size a known-length body is read whole in the same wait as the head (one
/// copy of a small body costs less than a second wait); above it, straight into its
/// `bytes` object (saving a copy of the whole body).
const PRESIZED_MIN: u64 = 32 * 1024;

pub(crate) enum Outcome {
    Whole(Head, Bytes),
    Streamed(Head, BodyReader),
}

impl Client {
    /// The pools and runtime for the caller's mode.
    fn side(&self, py: Python<'_>, green: bool) -> PyResult<Side> {
        let (side, idle) = self.side_and_idle(green)?;
        if let (Some(rt), true) = (&side.runtime, idle) {
            py.allow_threads(|| rt.block_on(notice_closed_connections()));
        }
        Ok(side)
    }

    /// The side for the caller's mode, and whether the blocking side sat idle long enough
    /// to need `notice_closed_connections` first.
    fn side_and_idle(&self, green: bool) -> PyResult<(Side, bool)> {
        let mut pools = self.pools.lock();
        let generation = fork_generation();
        if pools.generation != generation {
            // Inherited from the parent: its sockets and runtime must not be touched here.
            std::mem::forget(pools.blocking.take());
            std::mem::forget(pools.green.take());
            pools.generation = generation;
        }
        if green {
            if let Some(side) = &pools.green {
                return Ok((side.clone(), false));
            }
            let side = self.config.side(None);
            pools.green = Some(side.clone());
            return Ok((side, false));
        }
        let now = Instant::now();
        let idle = pools
            .blocking_used
            .replace(now)
            .is_some_and(|last| now.duration_since(last) >= IDLE_CHECK_AFTER);
        if let Some(side) = &pools.blocking {
            return Ok((side.clone(), idle));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| PyOSError::new_err(format!("cannot start a tokio runtime: {err}")))?;
        let side = self.config.side(Some(Arc::new(rt)));
        pools.blocking = Some(side.clone());
        Ok((side, false))
    }

    fn parse_url(&self, py: Python<'_>, url: &str) -> PyResult<Arc<ParsedUrl>> {
        if let Some(parsed) = self.urls.lock().get(url) {
            return Ok(parsed.clone());
        }
        let parsed = reqwest::Url::parse(url).map_err(|err| {
            HttpError::new(Kind::InvalidUrl, format!("Invalid URL {url:?}: {err}")).into_py(py)
        })?;
        let target = Target::of(&parsed, url);
        let parsed = Arc::new(ParsedUrl {
            url: parsed,
            target,
        });
        let mut urls = self.urls.lock();
        if urls.len() >= URL_CACHE_SIZE {
            urls.clear();
        }
        urls.insert(url.to_owned(), parsed.clone());
        Ok(parsed)
    }

    /// Build the request and the future that performs it (sending, then reading the whole
    /// body unless `stream`), with the runtime it must run on (None: the shared one).
    #[allow(clippy::too_many_arguments)]
    fn exchange(
        &self,
        py: Python<'_>,
        method: &str,
        url: &str,
        headers: HeaderMap,
        body: Option<reqwest::Body>,
        read_timeout: Option<f64>,
        mode: BodyMode,
        green: bool,
        upload: Option<Pipe>,
        connect_timeout: Option<f64>,
    ) -> PyResult<Exchange<impl Future<Output = Result<Outcome, HttpError>> + Send + 'static>> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| PyValueError::new_err(format!("Invalid HTTP method {method:?}")))?;
        let parsed = self.parse_url(py, url)?;
        let read_timeout = seconds(read_timeout)?;
        let connect_timeout = seconds(connect_timeout)?;
        let side = self.side(py, green)?;
        let runtime = side.runtime.clone();
        // The direct lane: plain HTTP, no proxy.
        let lane = if parsed.target.is_some() && self.config.proxy.is_none() {
            Lane::Direct(
                side.direct,
                Outgoing {
                    method,
                    headers,
                    body,
                    connect_timeout,
                },
            )
        } else {
            let client = side.reqwest_client(&self.config)?;
            let mut builder = client.request(method, parsed.url.clone()).headers(headers);
            if let Some(body) = body {
                builder = builder.body(body);
            }
            let request = builder
                .build()
                .map_err(|err| HttpError::new(Kind::InvalidUrl, err.to_string()).into_py(py))?;
            Lane::Reqwest(client, request, connect_timeout)
        };
        let via_http_proxy = self.config.through_http_proxy();
        let fut = async move {
            let (head, source) = match lane {
                Lane::Direct(pool, outgoing) => {
                    // The lane is chosen only for URLs that have a target.
                    let Some(target) = parsed.target.as_ref() else {
                        return Err(HttpError::new(Kind::InvalidUrl, "not a plain HTTP URL"));
                    };
                    let (mut response, lease) = direct::exchange(
                        &pool,
                        target,
                        &parsed.url,
                        outgoing,
                        read_timeout,
                        upload.as_ref(),
                    )
                    .await?;
                    let head = Head::of_direct(&mut response);
                    (head, Source::Direct(response.into_body(), Some(lease)))
                }
                Lane::Reqwest(client, request, connect_timeout) => {
                    let sent =
                        send_on_reqwest(&client, request, upload, read_timeout, via_http_proxy);
                    let mut response = with_connect_timeout(connect_timeout, sent).await?;
                    (Head::of(&mut response), Source::Reqwest(response))
                }
            };
            let encoding = head
                .headers
                .get(CONTENT_ENCODING)
                .and_then(|value| value.to_str().ok());
            let decoder = Decoder::for_header(encoding)?;
            let reader = BodyReader::new(source, decoder, read_timeout);
            let stream = match mode {
                BodyMode::Whole => false,
                BodyMode::Stream => true,
                BodyMode::WholeOrSized => reader
                    .exact_length()
                    .is_some_and(|size| (PRESIZED_MIN..=PRESIZED_LIMIT).contains(&size)),
            };
            if stream {
                Ok(Outcome::Streamed(head, reader))
            } else {
                Ok(Outcome::Whole(head, reader.read_all().await?))
            }
        };
        Ok(Exchange { fut, runtime })
    }
}

/// Which client sends an exchange (see `direct.rs`).
enum Lane {
    Direct(Arc<DirectPool>, Outgoing),
    /// With the connect timeout of a connection made for it.
    Reqwest(reqwest::Client, reqwest::Request, Option<Duration>),
}

/// Send `request` through reqwest and wait for the response head, with requests' timing of
/// the read timeout.
async fn send_on_reqwest(
    client: &reqwest::Client,
    request: reqwest::Request,
    upload: Option<Pipe>,
    read_timeout: Option<Duration>,
    via_http_proxy: bool,
) -> Result<reqwest::Response, HttpError> {
    let sent = client.execute(request);
    let response = match (upload, read_timeout) {
        // A streamed body takes as long as its producer: the read timeout runs from
        // the moment hyper is done with it (the connection is up by then).
        (Some(pipe), Some(limit)) => {
            let mut sent = std::pin::pin!(sent);
            tokio::select! {
                biased;
                result = &mut sent => result,
                () = pipe.drained() => {
                    match tokio::time::timeout(limit, sent).await {
                        Ok(result) => result,
                        Err(_) => return Err(head_timed_out(limit.as_secs_f64())),
                    }
                }
            }
        }
        // The read timeout runs once the connection is usable (see connect_watch); the
        // connect timeout covers making it.
        (None, Some(limit)) => match head_within(sent, limit).await {
            Some(result) => result,
            None => return Err(head_timed_out(limit.as_secs_f64())),
        },
        (_, None) => sent.await,
    }
    .map_err(|err| classify_send(&err, via_http_proxy))?;
    Ok(response)
}

/// The plain path's result tuple (see `Client.send_plain`).
fn plain_result(
    py: Python<'_>,
    outcome: Result<Outcome, HttpError>,
) -> PyResult<Bound<'_, PyTuple>> {
    match outcome {
        Ok(Outcome::Whole(head, body)) => {
            let body = PyBytes::new(py, &body).into_any();
            head.into_py_flagged(py, body)
        }
        // `exchange` was asked for the whole body.
        Ok(Outcome::Streamed(..)) => Err(PyValueError::new_err("unexpected streamed body")),
        Err(err) => Err(err.into_py(py)),
    }
}

/// `Client.send`'s result: `(status, reason, version, headers, body)`, `body` being `bytes`
/// or, for a response left on the wire, a `BodyStream` on `runtime` (None: the shared one).
pub(crate) fn send_result(
    py: Python<'_>,
    outcome: Result<Outcome, HttpError>,
    runtime: Option<Arc<Runtime>>,
) -> PyResult<PyObject> {
    match outcome {
        Ok(Outcome::Whole(head, body)) => {
            let body = PyBytes::new(py, &body).into_any();
            Ok(head.into_py(py, body)?.into_any().unbind())
        }
        Ok(Outcome::Streamed(head, reader)) => {
            let stream = Bound::new(py, BodyStream::new(reader, runtime))?.into_any();
            Ok(head.into_py(py, stream)?.into_any().unbind())
        }
        Err(err) => Err(err.into_py(py)),
    }
}

/// How often a blocking wait takes the GIL back to run signal handlers (Ctrl-C).
const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// Drive `fut` on `rt` on this thread with the GIL released, until it finishes or a signal
/// handler raises (then the future is dropped, which cancels the request). The same loop
/// as `balrog._core.Op.wait`, without building an op for a call that blocks anyway.
fn block_here<F>(py: Python<'_>, rt: &Runtime, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut fut = std::pin::pin!(fut);
    loop {
        let polled = py.allow_threads(|| {
            rt.block_on(async { tokio::time::timeout(SIGNAL_CHECK_INTERVAL, fut.as_mut()).await })
        });
        match polled {
            Ok(output) => return Ok(output),
            Err(_elapsed) => py.check_signals()?,
        }
    }
}

/// Wait for `fut` on this thread: on the client's own runtime when it has one (`exchange`
/// gives the blocking side one), else on the shared runtime.
fn drive<F>(py: Python<'_>, runtime: Option<&Runtime>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    match runtime {
        Some(rt) => block_here(py, rt, fut),
        None => balrog_core::block_on(py, fut),
    }
}

/// The largest body read straight into a `bytes` object allocated from its Content-Length.
/// The length is the server's claim, made before any byte arrives: beyond this the body is
/// gathered as it comes instead.
const PRESIZED_LIMIT: u64 = 64 * 1024 * 1024;

/// The rest of a response body as one `bytes` object, read on this thread.
///
/// A body sent as is with a known length is written straight into the `bytes` object (one
/// copy per network piece, no intermediate buffer); a decoded or unsized one is gathered
/// first, then copied once.
fn whole_body<'py>(
    py: Python<'py>,
    runtime: Option<&Runtime>,
    mut reader: BodyReader,
) -> PyResult<Bound<'py, PyAny>> {
    let size = match reader.exact_length() {
        Some(size) if (1..=PRESIZED_LIMIT).contains(&size) => size as usize,
        _ => {
            let body = drive(py, runtime, reader.read_all())?.map_err(|err| err.into_py(py))?;
            return Ok(PyBytes::new(py, &body).into_any());
        }
    };
    // A NULL source makes CPython allocate `size` bytes left uninitialised.
    // SAFETY: plain C-API call with the GIL held; a NULL result is turned into the error.
    let bytes = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size as pyo3::ffi::Py_ssize_t),
        )?
    };
    // SAFETY: the object's buffer holds `size` bytes, and nothing but this function refers
    // to the object until it is returned, so writing it with the GIL released races with
    // nothing. It is viewed as uninitialised memory until written.
    let buf = unsafe {
        std::slice::from_raw_parts_mut(
            pyo3::ffi::PyBytes_AsString(bytes.as_ptr()).cast::<MaybeUninit<u8>>(),
            size,
        )
    };
    let filled = drive(py, runtime, reader.read_into(buf))?.map_err(|err| err.into_py(py))?;
    if filled == size {
        return Ok(bytes);
    }
    // The body ended early without an error: only the written prefix is the body.
    // SAFETY: `read_into` initialised the first `filled` bytes.
    let written = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), filled) };
    Ok(PyBytes::new(py, written).into_any())
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (*, verify = true, ca_file = None, cert_file = None, key_file = None, proxy = None, pool_maxsize = 10, pool_connections = 10))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        verify: bool,
        ca_file: Option<String>,
        cert_file: Option<String>,
        key_file: Option<String>,
        proxy: Option<String>,
        pool_maxsize: usize,
        pool_connections: usize,
    ) -> PyResult<Self> {
        let ca_pem = ca_file.as_deref().map(read_file).transpose()?;
        let identity_pem = match cert_file.as_deref() {
            Some(cert) => {
                let mut pem = read_file(cert)?;
                if let Some(key) = key_file.as_deref() {
                    pem.push(b'\n');
                    pem.extend(read_file(key)?);
                }
                Some(pem)
            }
            None => None,
        };
        let config = Config {
            verify,
            ca_pem,
            identity_pem,
            proxy,
            pool_maxsize: pool_maxsize.max(1),
            pool_connections: pool_connections.max(1),
        };
        // Fail early (as requests does when the adapter loads them) on unusable TLS files.
        config.build()?;
        Ok(Client {
            config,
            pools: Mutex::new(Pools {
                generation: fork_generation(),
                blocking: None,
                blocking_used: None,
                green: None,
            }),
            urls: Mutex::new(HashMap::default()),
        })
    }

    /// Send one request. The op's result is `(status, reason, version, headers, body)`,
    /// `body` being `bytes` (the whole decoded body) or a `BodyStream` when `stream`.
    #[pyo3(signature = (method, url, headers, body = None, read_timeout = None, stream = false, green = false, connect_timeout = None))]
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        py: Python<'_>,
        method: &str,
        url: &str,
        headers: &Bound<'_, PyList>,
        body: Option<&Bound<'_, PyAny>>,
        read_timeout: Option<f64>,
        stream: bool,
        green: bool,
        connect_timeout: Option<f64>,
    ) -> PyResult<Op> {
        let headers = header_map(py, headers)?;
        let body = request_body(body)?;
        let mode = BodyMode::of(stream);
        let Exchange { fut, runtime } = self.exchange(
            py,
            method,
            url,
            headers,
            body,
            read_timeout,
            mode,
            green,
            None,
            connect_timeout,
        )?;
        let exec = exec_on(runtime.clone());
        Ok(Op::on(exec, fut, move |py, outcome| {
            send_result(py, outcome, runtime)
        }))
    }

    /// Start a request whose body the caller streams: returns an `Upload` (see there).
    /// The framing headers (Content-Length or Transfer-Encoding) are the caller's.
    #[pyo3(signature = (method, url, headers, read_timeout = None, stream = false, green = false, connect_timeout = None))]
    #[allow(clippy::too_many_arguments)]
    fn upload(
        &self,
        py: Python<'_>,
        method: &str,
        url: &str,
        headers: &Bound<'_, PyList>,
        read_timeout: Option<f64>,
        stream: bool,
        green: bool,
        connect_timeout: Option<f64>,
    ) -> PyResult<Upload> {
        let headers = header_map(py, headers)?;
        let pipe = Pipe::default();
        let mode = BodyMode::of(stream);
        let Exchange { fut, runtime } = self.exchange(
            py,
            method,
            url,
            headers,
            Some(pipe.body()),
            read_timeout,
            mode,
            green,
            Some(pipe.clone()),
            connect_timeout,
        )?;
        Ok(Upload::new(
            pipe,
            Box::pin(fut),
            runtime,
            seconds(connect_timeout)?,
        ))
    }

    /// A body-less request with prepared headers, read whole (the plain path of
    /// `Session.request`). The op's result is `send`'s tuple followed by whether the
    /// response sets a cookie.
    #[pyo3(signature = (method, url, headers, read_timeout = None, green = false, connect_timeout = None))]
    #[allow(clippy::too_many_arguments)]
    fn send_plain(
        &self,
        py: Python<'_>,
        method: &str,
        url: &str,
        headers: &Headers,
        read_timeout: Option<f64>,
        green: bool,
        connect_timeout: Option<f64>,
    ) -> PyResult<Op> {
        let Exchange { fut, runtime } = self.exchange(
            py,
            method,
            url,
            headers.map.clone(),
            None,
            read_timeout,
            BodyMode::Whole,
            green,
            None,
            connect_timeout,
        )?;
        Ok(Op::on(exec_on(runtime), fut, |py, outcome| {
            Ok(plain_result(py, outcome)?.into_any().unbind())
        }))
    }

    /// `send_plain` for a blocking caller: sends and waits right here (GIL released), with
    /// no op in between, and returns the result tuple.
    ///
    /// Only for a thread that may block: the caller has checked that it is neither a green
    /// task nor inside a running event loop.
    #[pyo3(signature = (method, url, headers, read_timeout = None, connect_timeout = None))]
    fn fetch<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        url: &str,
        headers: &Headers,
        read_timeout: Option<f64>,
        connect_timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        // A large body of known size comes back unread, to go straight into a `bytes`
        // object of that size; any other is read whole in the same wait as the head.
        let Exchange { fut, runtime } = self.exchange(
            py,
            method,
            url,
            headers.map.clone(),
            None,
            read_timeout,
            BodyMode::WholeOrSized,
            false,
            None,
            connect_timeout,
        )?;
        let runtime = runtime.as_deref();
        match drive(py, runtime, fut)? {
            Ok(Outcome::Whole(head, body)) => {
                let body = PyBytes::new(py, &body).into_any();
                head.into_py_flagged(py, body)
            }
            Ok(Outcome::Streamed(head, reader)) => {
                let body = whole_body(py, runtime, reader)?;
                head.into_py_flagged(py, body)
            }
            Err(err) => Err(err.into_py(py)),
        }
    }

    /// Drop idle pooled connections (`Session.close()`); in-flight requests keep theirs.
    fn close(&self) {
        let mut pools = self.pools.lock();
        if pools.generation != fork_generation() {
            return;
        }
        // Lent direct-lane connections come back to a pool nobody checks out of any more,
        // and close with it.
        for side in [pools.green.take(), pools.blocking.take()]
            .into_iter()
            .flatten()
        {
            side.direct.clear();
        }
    }
}
