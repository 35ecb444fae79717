//! `balrog._ws`: the native half of `balrog.websockets`.
//!
//! RFC 6455 framing, permessage-deflate and the connection task are implemented here on
//! tokio (tungstenite refuses frames with RSV1 set, so it cannot carry permessage-deflate);
//! the websockets-compatible API, URI parsing and handshake validation live in Python.

mod conn;
mod deflate;
mod errors;
mod frame;
mod net;
mod sock;
mod socks;

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use balrog_core::{fork_generation, runtime, Op};
use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::{PyBytes, PyString, PyTuple};

use crate::conn::{
    reader_task, CallerWait, Config, Data, Fragment, Phase, PongSignal, Shared, TrySend,
};
use crate::deflate::Params;
use crate::errors::{forked, WsError};
use crate::net::{Adopted, OpenParams, Opened, ProxyKind, ProxySettings, TlsSettings};
use crate::socks::{SocksSettings, SocksVersion};

/// A blocking wait runs Python's signal handlers (Ctrl-C) at least this often.
const SIGNAL_SLICE: Duration = Duration::from_millis(100);

fn duration(seconds: Option<f64>, what: &str) -> PyResult<Option<Duration>> {
    match seconds {
        None => Ok(None),
        Some(s) if s.is_nan() => Err(PyValueError::new_err(format!("{what} must be a number"))),
        Some(s) => Ok(Some(Duration::from_secs_f64(s.clamp(0.0, 1e9)))),
    }
}

fn map_err<T>(py: Python<'_>, result: Result<T, WsError>) -> PyResult<T> {
    result.map_err(|e| e.into_pyerr(py))
}

/// `(server_name, verify, CA certificates as DER, check the host name)`.
type TlsArgs = (String, bool, Vec<Vec<u8>>, bool);

/// `(scheme, host, port, username, password, connect_request, tls)` as
/// `client._proxy_params` builds it; `connect_request` is for `http(s)://` proxies only.
type ProxyArgs = (
    String,
    String,
    u16,
    Option<String>,
    Option<String>,
    Vec<u8>,
    Option<TlsArgs>,
);

fn tls_settings((server_name, verify, ca_der, check_hostname): TlsArgs) -> TlsSettings {
    TlsSettings {
        server_name,
        verify,
        ca_der,
        check_hostname,
    }
}

fn proxy_settings(args: ProxyArgs) -> PyResult<ProxySettings> {
    let (scheme, host, port, username, password, connect_request, tls) = args;
    let socks = |version, remote_dns| {
        ProxyKind::Socks(SocksSettings {
            version,
            remote_dns,
            username: username.clone(),
            password: password.clone(),
        })
    };
    let kind = match scheme.as_str() {
        "http" | "https" => ProxyKind::Http {
            connect_request,
            tls: tls.map(tls_settings),
        },
        "socks5h" => socks(SocksVersion::V5, true),
        "socks5" => socks(SocksVersion::V5, false),
        "socks4a" => socks(SocksVersion::V4, true),
        "socks4" => socks(SocksVersion::V4, false),
        other => {
            return Err(PyValueError::new_err(format!(
                "unsupported proxy scheme: {other}"
            )))
        }
    };
    Ok(ProxySettings { host, port, kind })
}

/// `open(host, port, request, timeout, tls, proxy, sock)`: connect (or take over `sock`, a
/// connected socket's `(fd, is_unix)` that Python detached) and send the upgrade request;
/// the op's result is a `Handshake` holding the response and the stream.
#[pyfunction]
#[pyo3(signature = (host, port, request, timeout, tls=None, proxy=None, sock=None))]
#[allow(clippy::too_many_arguments)]
fn open(
    host: String,
    port: u16,
    request: Vec<u8>,
    timeout: Option<f64>,
    tls: Option<TlsArgs>,
    proxy: Option<ProxyArgs>,
    sock: Option<(RawFd, bool)>,
) -> PyResult<Op> {
    let adopt = match sock {
        Some((fd, _)) if fd < 0 => return Err(PyValueError::new_err("sock is closed")),
        // SAFETY: Python detached this descriptor from its socket object and passes its
        // ownership here; nothing else closes it.
        Some((fd, unix)) => Some(Adopted {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            unix,
        }),
        None => None,
    };
    let params = OpenParams {
        host,
        port,
        adopt,
        tls: tls.map(tls_settings),
        proxy: proxy.map(proxy_settings).transpose()?,
        request,
        timeout: duration(timeout, "open_timeout")?,
    };
    let generation = fork_generation();
    Ok(Op::new(
        async move { net::open(params).await },
        move |py, result| {
            let opened = map_err(py, result)?;
            Ok(Handshake {
                opened: Mutex::new(Some(opened)),
                generation,
            }
            .into_pyobject(py)?
            .into_any()
            .unbind())
        },
    ))
}

/// The server's answer to the upgrade request, before the connection starts.
#[pyclass(frozen, module = "balrog._ws")]
struct Handshake {
    opened: Mutex<Option<Opened>>,
    generation: u64,
}

impl Drop for Handshake {
    fn drop(&mut self) {
        if self.generation != fork_generation() {
            // Never deregister the parent's socket from the epoll instance we share.
            if let Some(opened) = self.opened.lock().take() {
                std::mem::forget(opened);
            }
        }
    }
}

#[pymethods]
impl Handshake {
    /// `(status, reason, [(name, value bytes)], body)`.
    fn response<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let guard = self.opened.lock();
        let opened = guard
            .as_ref()
            .ok_or_else(|| PyRuntimeError::new_err("handshake already consumed"))?;
        let headers: Vec<(String, Bound<'py, PyBytes>)> = opened
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), PyBytes::new(py, v)))
            .collect();
        (
            opened.status,
            opened.reason.clone(),
            headers,
            PyBytes::new(py, &opened.body),
        )
            .into_pyobject(py)
    }

    /// Close the TCP connection (handshake rejected).
    fn abort(&self) {
        drop(self.opened.lock().take());
    }

    /// Start the connection task. `deflate` is `(remote_no_context_takeover,
    /// local_no_context_takeover, local_max_window_bits)` when permessage-deflate was agreed.
    #[pyo3(signature = (max_message, max_frame, queue_high, queue_low, ping_interval, ping_timeout, close_timeout, deflate=None))]
    #[allow(clippy::too_many_arguments)]
    fn start(
        &self,
        py: Python<'_>,
        max_message: Option<usize>,
        max_frame: Option<usize>,
        queue_high: Option<usize>,
        queue_low: Option<usize>,
        ping_interval: Option<f64>,
        ping_timeout: Option<f64>,
        close_timeout: Option<f64>,
        deflate: Option<(bool, bool, u8)>,
    ) -> PyResult<Connection> {
        if self.generation != fork_generation() {
            return Err(forked());
        }
        let opened = self
            .opened
            .lock()
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("handshake already consumed"))?;
        let queue_low = queue_low.unwrap_or_else(|| queue_high.map_or(0, |h| h / 4));
        let config = Config {
            max_message,
            max_frame,
            queue_high,
            queue_low,
            ping_interval: duration(ping_interval, "ping_interval")?,
            ping_timeout: duration(ping_timeout, "ping_timeout")?,
            close_timeout: duration(close_timeout, "close_timeout")?,
            deflate: deflate.map(|(remote, local, bits)| Params {
                remote_no_context_takeover: remote,
                local_no_context_takeover: local,
                local_max_window_bits: bits,
            }),
        };
        let fd = opened.stream.raw_fd();
        let rt = runtime();
        let (read, write) = {
            let _inside = rt.enter();
            opened
                .stream
                .split()
                .map_err(|e| WsError::from(e).into_pyerr(py))?
        };
        let shared = Shared::new(
            config,
            read,
            opened.leftover,
            write,
            fd,
            opened.local,
            opened.peer,
        );
        drop(rt.spawn(reader_task(shared.clone())));
        Ok(Connection {
            shared,
            generation: self.generation,
        })
    }
}

/// Build the Python value of a received message: str for text unless `decode` is False
/// (0), bytes otherwise (Python decodes binary when `decode` is True).
fn message_object(py: Python<'_>, text: bool, data: &[u8], decode: i8) -> PyResult<PyObject> {
    if text && decode != 0 {
        // The reader validated a text message already: let CPython's decoder (which
        // validates as it copies) be the only other pass over it, not `from_utf8` too.
        let len = isize::try_from(data.len()).map_err(|_| PyValueError::new_err("too long"))?;
        // SAFETY: pointer and length describe `data`; "strict" is a NUL-terminated literal.
        let obj = unsafe {
            pyo3::ffi::PyUnicode_DecodeUTF8(data.as_ptr().cast(), len, c"strict".as_ptr())
        };
        // SAFETY: a new reference or NULL with an exception set.
        match unsafe { Bound::from_owned_ptr_or_err(py, obj) } {
            Ok(s) => Ok(s.unbind()),
            Err(_) => Ok(PyBytes::new(py, data).into_any().unbind()),
        }
    } else {
        Ok(PyBytes::new(py, data).into_any().unbind())
    }
}

/// A str or bytes-like payload, held (not copied) while it is written.
fn payload(data: &Bound<'_, PyAny>) -> PyResult<Data> {
    if let Ok(b) = data.downcast::<PyBytes>() {
        return Ok(Box::new(PyBackedBytes::from(b.clone())));
    }
    if let Ok(s) = data.downcast::<PyString>() {
        // A str with lone surrogates has no UTF-8 form: its UnicodeEncodeError, as
        // `str.encode()` raises it (websockets' send raises that inside its send context).
        return Ok(Box::new(PyBackedStr::try_from(s.clone())?));
    }
    match data.extract::<PyBackedBytes>() {
        Ok(b) => Ok(Box::new(b)),
        Err(_) => Err(PyTypeError::new_err("data must be str or bytes")),
    }
}

/// A live connection (see `conn.rs`).
#[pyclass(frozen, module = "balrog._ws")]
struct Connection {
    shared: Arc<Shared>,
    generation: u64,
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.generation != fork_generation() {
            std::mem::forget(self.shared.clone());
        } else {
            self.shared.abort();
        }
    }
}

impl Connection {
    fn check(&self) -> PyResult<Arc<Shared>> {
        if self.generation != fork_generation() {
            return Err(forked());
        }
        Ok(self.shared.clone())
    }
}

fn none_if_empty(py: Python<'_>) -> PyObject {
    py.None()
}

#[pymethods]
impl Connection {
    /// A complete queued message, or None (nothing waits: the caller then uses `recv`).
    fn try_recv(&self, py: Python<'_>, decode: i8) -> PyResult<PyObject> {
        let shared = self.check()?;
        match shared.take_message() {
            Some((text, data)) => message_object(py, text, &data, decode),
            None => Ok(none_if_empty(py)),
        }
    }

    /// Op: the next message (str or bytes); ConnectionClosed / TimeoutError.
    #[pyo3(signature = (timeout, decode))]
    fn recv(&self, timeout: Option<f64>, decode: i8) -> PyResult<Op> {
        let shared = self.check()?;
        let timeout = duration(timeout, "timeout")?;
        Ok(Op::new(
            async move { shared.recv(timeout, false).await },
            move |py, result: Result<Fragment, WsError>| {
                let frag = map_err(py, result)?;
                message_object(py, frag.text, &frag.data, decode)
            },
        ))
    }

    /// The next message, waiting on this thread (blocking mode: GIL released, Ctrl-C
    /// works); on a plain socket the socket is read right here. ConnectionClosed /
    /// TimeoutError.
    #[pyo3(signature = (timeout, decode))]
    fn recv_blocking(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
        decode: i8,
    ) -> PyResult<PyObject> {
        let shared = self.check()?;
        let limit = duration(timeout, "timeout")?;
        let deadline = limit.map(|t| Instant::now() + t);
        loop {
            let slice_end = Instant::now() + SIGNAL_SLICE;
            let until = deadline.map_or(slice_end, |d| d.min(slice_end));
            match map_err(py, py.allow_threads(|| shared.recv_blocking(until)))? {
                CallerWait::Message(text, data) => return message_object(py, text, &data, decode),
                CallerWait::Bytes(obj) => return Ok(obj.into_any()),
                CallerWait::SliceOver => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        let err = conn::recv_timeout(limit);
                        return Err(err.into_pyerr(py));
                    }
                    py.check_signals()?;
                }
            }
        }
    }

    /// Op: `(bytes, fin, is_text)` for the next data frame of a message.
    fn recv_fragment(&self, timeout: Option<f64>) -> PyResult<Op> {
        let shared = self.check()?;
        let timeout = duration(timeout, "timeout")?;
        Ok(Op::new(
            async move { shared.recv(timeout, true).await },
            |py, result: Result<Fragment, WsError>| {
                let frag = map_err(py, result)?;
                Ok((PyBytes::new(py, &frag.data), frag.fin, frag.text)
                    .into_pyobject(py)?
                    .into_any()
                    .unbind())
            },
        ))
    }

    /// Try to write a frame at once: 0 written, 1 partly written (wait for `flush()`),
    /// 2 not tried (wait for `send()`).
    fn try_send(
        &self,
        py: Python<'_>,
        opcode: u8,
        data: &Bound<'_, PyAny>,
        fin: bool,
    ) -> PyResult<u8> {
        let shared = self.check()?;
        let outcome = shared.try_send(opcode, payload(data)?, fin);
        Ok(match map_err(py, outcome)? {
            TrySend::Done => 0,
            TrySend::Pending => 1,
            TrySend::NotTried => 2,
        })
    }

    /// Op: finish writing what `try_send` left.
    fn flush(&self) -> PyResult<Op> {
        let shared = self.check()?;
        Ok(Op::new(async move { shared.flush().await }, |py, r| {
            map_err(py, r)?;
            Ok(py.None())
        }))
    }

    /// Op: write one frame (data or control).
    fn send(&self, opcode: u8, data: &Bound<'_, PyAny>, fin: bool) -> PyResult<Op> {
        let shared = self.check()?;
        let data = payload(data)?;
        Ok(Op::new(
            async move { shared.send_data(opcode, data, fin).await },
            |py, r| {
                map_err(py, r)?;
                Ok(py.None())
            },
        ))
    }

    /// Op: send a ping; the result is a `PongWaiter`.
    #[pyo3(signature = (data, ack_on_close))]
    fn ping(&self, data: Option<Vec<u8>>, ack_on_close: bool) -> PyResult<Op> {
        let shared = self.check()?;
        Ok(Op::new(
            async move { shared.ping(data, ack_on_close).await },
            |py, r| {
                let signal = map_err(py, r)?;
                Ok(PongWaiter { signal }.into_pyobject(py)?.into_any().unbind())
            },
        ))
    }

    /// Op: closing handshake, then wait for the TCP connection to end (`close_timeout`
    /// seconds at most, None: without limit).
    #[pyo3(signature = (code, reason, close_timeout))]
    fn close(&self, code: Option<u16>, reason: String, close_timeout: Option<f64>) -> PyResult<Op> {
        let shared = self.check()?;
        let close_timeout = duration(close_timeout, "close_timeout")?;
        Ok(Op::new(
            async move { shared.close(code, reason, close_timeout).await },
            |py, r| {
                map_err(py, r)?;
                Ok(py.None())
            },
        ))
    }

    /// Op: fail the connection with `code` (websockets' `fail`; see `Shared::fail_and_wait`).
    fn fail(&self, code: u16, reason: String, close_timeout: Option<f64>) -> PyResult<Op> {
        let shared = self.check()?;
        let close_timeout = duration(close_timeout, "close_timeout")?;
        Ok(Op::new(
            async move { shared.fail_and_wait(code, reason, close_timeout).await },
            |py, r| {
                map_err(py, r)?;
                Ok(py.None())
            },
        ))
    }

    /// Op: True once closed, False after `timeout`.
    fn wait_closed(&self, timeout: Option<f64>) -> PyResult<Op> {
        let shared = self.check()?;
        let timeout = duration(timeout, "timeout")?;
        Ok(Op::new(
            async move { shared.wait_closed(timeout).await },
            |py, closed| Ok(closed.into_pyobject(py)?.to_owned().into_any().unbind()),
        ))
    }

    /// Drop the TCP connection without a closing handshake.
    fn abort(&self) {
        self.shared.abort();
    }

    /// websockets' State value: 1 OPEN, 2 CLOSING, 3 CLOSED.
    #[getter]
    fn state(&self) -> u8 {
        match self.shared.phase() {
            Phase::Open => 1,
            Phase::Closing => 2,
            Phase::Closed => 3,
        }
    }

    #[getter]
    fn close_code(&self) -> Option<u16> {
        self.shared.close_code_reason().0
    }

    #[getter]
    fn close_reason(&self) -> Option<String> {
        self.shared.close_code_reason().1
    }

    #[getter]
    fn latency(&self) -> f64 {
        self.shared.latency()
    }

    #[getter]
    fn local_address<'py>(&self, py: Python<'py>) -> PyResult<PyObject> {
        address(py, self.shared.local)
    }

    #[getter]
    fn remote_address<'py>(&self, py: Python<'py>) -> PyResult<PyObject> {
        address(py, self.shared.peer)
    }

    /// The ConnectionClosed exception for the current close state (to raise from Python).
    fn closed_exc(&self, py: Python<'_>) -> PyObject {
        errors::connection_closed(py, &self.shared.closed_info())
            .into_value(py)
            .into_any()
    }
}

fn address(py: Python<'_>, addr: Option<std::net::SocketAddr>) -> PyResult<PyObject> {
    Ok(match addr {
        None => py.None(),
        Some(std::net::SocketAddr::V4(a)) => (a.ip().to_string(), a.port())
            .into_pyobject(py)?
            .into_any()
            .unbind(),
        Some(std::net::SocketAddr::V6(a)) => {
            (a.ip().to_string(), a.port(), a.flowinfo(), a.scope_id())
                .into_pyobject(py)?
                .into_any()
                .unbind()
        }
    })
}

/// Returned by `ping()`: set when the matching pong arrives.
#[pyclass(frozen, module = "balrog._ws")]
struct PongWaiter {
    signal: Arc<PongSignal>,
}

#[pymethods]
impl PongWaiter {
    fn is_set(&self) -> bool {
        self.signal.is_set()
    }

    /// Op: True once the pong arrived, False after `timeout`.
    fn wait(&self, timeout: Option<f64>) -> PyResult<Op> {
        let signal = self.signal.clone();
        let timeout = duration(timeout, "timeout")?;
        Ok(Op::new(
            async move { signal.wait(timeout).await },
            |py, set| Ok(set.into_pyobject(py)?.to_owned().into_any().unbind()),
        ))
    }
}

#[pymodule]
fn _ws(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Handshake>()?;
    m.add_class::<Connection>()?;
    m.add_class::<PongWaiter>()?;
    m.add_function(wrap_pyfunction!(open, m)?)?;
    Ok(())
}
