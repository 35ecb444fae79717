//! Every error of this crate and the one place it becomes a Python exception.
//!
//! The exception classes are websockets' twins defined in Python
//! (`balrog.websockets.exceptions`); they are looked up here, on the caller's thread, when
//! an op's result is turned into Python objects.

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

/// A close frame: code and reason.
#[derive(Debug, Clone)]
pub struct Close {
    pub code: u16,
    pub reason: String,
}

/// What a `ConnectionClosed` exception reports.
#[derive(Debug, Clone, Default)]
pub struct ClosedInfo {
    pub rcvd: Option<Close>,
    pub sent: Option<Close>,
    pub rcvd_then_sent: Option<bool>,
    /// The parser error that failed the connection (becomes `__cause__`).
    pub cause: Option<Cause>,
}

#[derive(Debug, Clone)]
pub enum Cause {
    Protocol(String),
    PayloadTooBig(String),
    Unicode(String),
    Eof(String),
    Os(String),
    Timeout(String),
}

#[derive(Debug)]
pub enum WsError {
    Io(std::io::Error),
    Timeout(String),
    InvalidMessage(String, Option<String>),
    InvalidProxyMessage(String, Option<String>),
    ProxyStatus(u16, String, Vec<(String, Vec<u8>)>),
    /// A SOCKS proxy refused the tunnel or broke the protocol; the text is the detail.
    SocksProxy(String),
    Security(String),
    Tls(String),
    /// The server closed the TCP connection in the middle of the TLS handshake (a `wss://`
    /// URI on a plain server, for one).
    TlsEof,
    /// rustls' words, and the name the certificate was checked against.
    TlsCertificate(String, String),
    Closed(ClosedInfo),
    Concurrency(String),
    Value(String),
    Runtime(String),
}

impl From<std::io::Error> for WsError {
    fn from(err: std::io::Error) -> Self {
        WsError::Io(err)
    }
}

fn exc_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("balrog.websockets.exceptions")?.getattr(name)
}

fn close_object<'py>(py: Python<'py>, close: &Option<Close>) -> PyResult<PyObject> {
    match close {
        None => Ok(py.None()),
        Some(c) => {
            let cls = py.import("balrog.websockets.frames")?.getattr("Close")?;
            Ok(cls.call1((c.code, c.reason.as_str()))?.unbind())
        }
    }
}

/// The `ConnectionClosedOK` / `ConnectionClosedError` websockets raises for this closure.
pub fn connection_closed(py: Python<'_>, info: &ClosedInfo) -> PyErr {
    match build_connection_closed(py, info) {
        Ok(err) => err,
        Err(err) => err,
    }
}

fn ok_code(close: &Option<Close>) -> bool {
    matches!(close, Some(c) if matches!(c.code, 1000 | 1001 | 1005))
}

fn build_connection_closed(py: Python<'_>, info: &ClosedInfo) -> PyResult<PyErr> {
    let name = if ok_code(&info.rcvd) && ok_code(&info.sent) {
        "ConnectionClosedOK"
    } else {
        "ConnectionClosedError"
    };
    let cls = exc_class(py, name)?;
    let exc = cls.call1((
        close_object(py, &info.rcvd)?,
        close_object(py, &info.sent)?,
        info.rcvd_then_sent,
    ))?;
    if let Some(cause) = &info.cause {
        let cause_exc = match cause {
            Cause::Protocol(msg) => exc_class(py, "ProtocolError")?.call1((msg.as_str(),))?,
            Cause::PayloadTooBig(msg) => {
                let e = exc_class(py, "PayloadTooBig")?.call1((py.None(), 0))?;
                e.setattr("message", msg.as_str())?;
                e
            }
            Cause::Unicode(msg) => PyValueError::new_err(msg.clone())
                .into_value(py)
                .into_bound(py)
                .into_any(),
            Cause::Eof(msg) => py
                .import("builtins")?
                .getattr("EOFError")?
                .call1((msg.as_str(),))?,
            Cause::Os(msg) => PyOSError::new_err(msg.clone())
                .into_value(py)
                .into_bound(py)
                .into_any(),
            Cause::Timeout(msg) => PyTimeoutError::new_err(msg.clone())
                .into_value(py)
                .into_bound(py)
                .into_any(),
        };
        exc.setattr("__cause__", cause_exc)?;
    }
    Ok(PyErr::from_value(exc))
}

fn headers_list<'py>(
    py: Python<'py>,
    headers: &[(String, Vec<u8>)],
) -> PyResult<Bound<'py, PyList>> {
    let items: Vec<Bound<'py, PyTuple>> = headers
        .iter()
        .map(|(k, v)| {
            PyTuple::new(
                py,
                [
                    k.into_pyobject(py)?.into_any(),
                    PyBytes::new(py, v).into_any(),
                ],
            )
        })
        .collect::<PyResult<_>>()?;
    PyList::new(py, items)
}

impl WsError {
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self.build(py) {
            Ok(err) => err,
            Err(err) => err,
        }
    }

    fn build(self, py: Python<'_>) -> PyResult<PyErr> {
        Ok(match self {
            // pyo3 maps io::ErrorKind to ConnectionRefusedError, ConnectionResetError, ...
            WsError::Io(err) => {
                if err.kind() == std::io::ErrorKind::TimedOut {
                    PyTimeoutError::new_err(err.to_string())
                } else if let Some(code) = err.raw_os_error() {
                    // OSError(errno, strerror) picks the subclass (ConnectionRefusedError...)
                    // and sets `errno`, as a failing Python socket call does.
                    let strerror = py.import("os")?.call_method1("strerror", (code,))?;
                    let builtins = py.import("builtins")?;
                    PyErr::from_value(builtins.getattr("OSError")?.call1((code, strerror))?)
                } else {
                    PyErr::from(err)
                }
            }
            WsError::Timeout(msg) => PyTimeoutError::new_err(msg),
            WsError::InvalidMessage(msg, cause) => {
                invalid_message(py, "InvalidMessage", msg, cause)?
            }
            WsError::InvalidProxyMessage(msg, cause) => {
                invalid_message(py, "InvalidProxyMessage", msg, cause)?
            }
            WsError::ProxyStatus(status, reason, headers) => {
                let response = py
                    .import("balrog.websockets.http11")?
                    .getattr("Response")?
                    .call1((
                        status,
                        reason,
                        py.import("balrog.websockets.datastructures")?
                            .getattr("Headers")?
                            .call_method1("_from_raw", (headers_list(py, &headers)?,))?,
                        PyBytes::new(py, b""),
                    ))?;
                PyErr::from_value(exc_class(py, "InvalidProxyStatus")?.call1((response,))?)
            }
            WsError::SocksProxy(detail) => {
                // websockets raises this fixed message, chained to python-socks' error.
                let exc =
                    exc_class(py, "ProxyError")?.call1(("failed to connect to SOCKS proxy",))?;
                let cause = py
                    .import("builtins")?
                    .getattr("Exception")?
                    .call1((detail,))?;
                exc.setattr("__cause__", cause)?;
                PyErr::from_value(exc)
            }
            WsError::Security(msg) => {
                PyErr::from_value(exc_class(py, "SecurityError")?.call1((msg,))?)
            }
            WsError::Tls(msg) => {
                // (errno, message), as the ssl module raises it: str() is the message.
                PyErr::from_value(py.import("ssl")?.getattr("SSLError")?.call1((1, msg))?)
            }
            WsError::TlsEof => {
                // What the ssl module raises there (without OpenSSL's "(_ssl.c:NNN)").
                let message =
                    "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol";
                PyErr::from_value(
                    py.import("ssl")?
                        .getattr("SSLEOFError")?
                        .call1((8, message))?,
                )
            }
            WsError::TlsCertificate(text, server_name) => {
                certificate_error(py, &text, &server_name)?
            }
            WsError::Closed(info) => connection_closed(py, &info),
            WsError::Concurrency(msg) => {
                PyErr::from_value(exc_class(py, "ConcurrencyError")?.call1((msg,))?)
            }
            WsError::Value(msg) => PyValueError::new_err(msg),
            WsError::Runtime(msg) => PyRuntimeError::new_err(msg),
        })
    }
}

/// Raised when a connection object is used in a child process after fork().
pub fn forked() -> PyErr {
    PyRuntimeError::new_err(
        "this WebSocket connection was created in a parent process; open a new one after fork()",
    )
}

/// websockets' `InvalidMessage` / `InvalidProxyMessage`, with the parser's error as
/// `__cause__` (EOFError when the connection closed, else ValueError), as websockets chains it.
fn invalid_message(
    py: Python<'_>,
    class: &str,
    msg: String,
    cause: Option<String>,
) -> PyResult<PyErr> {
    let exc = exc_class(py, class)?.call1((msg,))?;
    if let Some(cause) = cause {
        let builtins = py.import("builtins")?;
        let kind = if cause.starts_with("connection closed") {
            "EOFError"
        } else {
            "ValueError"
        };
        exc.setattr("__cause__", builtins.getattr(kind)?.call1((cause,))?)?;
    }
    Ok(PyErr::from_value(exc))
}

/// `ssl.SSLCertVerificationError` as Python's ssl module raises it: errno 1, OpenSSL's
/// message as `strerror` (so `str()` reads well), `verify_code`/`verify_message` in
/// OpenSSL's terms where rustls' reason has an equivalent.
fn certificate_error(py: Python<'_>, text: &str, server_name: &str) -> PyResult<PyErr> {
    let known: Option<(i32, String)> = if text.contains("UnknownIssuer") {
        Some((20, "unable to get local issuer certificate".into()))
    } else if text.contains("CaUsedAsEndEntity") {
        Some((18, "self-signed certificate".into()))
    } else if text.contains("NotValidYet") {
        Some((9, "certificate is not yet valid".into()))
    } else if text.contains("Expired") {
        Some((10, "certificate has expired".into()))
    } else if text.contains("NotValidForName") || text.contains("not valid for name") {
        Some((
            62,
            format!("Hostname mismatch, certificate is not valid for '{server_name}'."),
        ))
    } else {
        None
    };
    let detail = known.as_ref().map_or(text, |(_, message)| message.as_str());
    let message = format!("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {detail}");
    let exc = py
        .import("ssl")?
        .getattr("SSLCertVerificationError")?
        .call1((1, message))?;
    let (code, verify_message) = match known {
        Some((code, message)) => (Some(code), message),
        None => (None, text.to_owned()),
    };
    exc.setattr("verify_code", code)?;
    exc.setattr("verify_message", verify_message)?;
    Ok(PyErr::from_value(exc))
}
