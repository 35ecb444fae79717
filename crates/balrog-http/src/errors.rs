//! The one place where native failures become Python exceptions.
//!
//! Errors travel from tokio threads as plain Rust values ([`HttpError`]); the Python
//! exception is built on the caller's thread, from the classes defined in
//! `balrog.requests.exceptions` so that `except requests.ConnectionError` works unchanged.

use std::error::Error as StdError;
use std::fmt;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// Which `balrog.requests.exceptions` class a failure maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ConnectionError,
    ConnectTimeout,
    ReadTimeout,
    SslError,
    ProxyError,
    InvalidUrl,
    InvalidHeader,
    InvalidSchema,
    ChunkedEncodingError,
    ContentDecodingError,
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Kind::ConnectionError => "ConnectionError",
            Kind::ConnectTimeout => "ConnectTimeout",
            Kind::ReadTimeout => "ReadTimeout",
            Kind::SslError => "SSLError",
            Kind::ProxyError => "ProxyError",
            Kind::InvalidUrl => "InvalidURL",
            Kind::InvalidHeader => "InvalidHeader",
            Kind::InvalidSchema => "InvalidSchema",
            Kind::ChunkedEncodingError => "ChunkedEncodingError",
            Kind::ContentDecodingError => "ContentDecodingError",
        }
    }
}

#[derive(Debug)]
pub struct HttpError {
    pub kind: Kind,
    pub message: String,
    /// The failure happened before the request reached the server (safe to retry).
    pub connect_phase: bool,
    /// The failure happened after the request was (maybe) sent and before the response
    /// head arrived: what urllib3 retries as a read error, for idempotent methods only.
    pub awaiting_response: bool,
}

impl HttpError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        HttpError {
            kind,
            message: message.into(),
            connect_phase: false,
            awaiting_response: false,
        }
    }

    pub(crate) fn before_sending(mut self) -> Self {
        self.connect_phase = true;
        self
    }

    pub fn awaiting_response(mut self) -> Self {
        self.awaiting_response = true;
        self
    }

    pub fn into_py(self, py: Python<'_>) -> PyErr {
        let class = py
            .import("balrog.requests.exceptions")
            .and_then(|module| module.getattr(self.kind.class_name()));
        match class {
            Ok(class) => match class.call1((self.message.clone(),)) {
                Ok(instance) => {
                    // Read by the adapter's retry loop (balrog/requests/adapters.py).
                    let marks = [
                        (self.connect_phase, "_balrog_connect_phase"),
                        (self.awaiting_response, "_balrog_read_phase"),
                    ];
                    for (_, name) in marks.iter().filter(|(set, _)| *set) {
                        if let Err(err) = instance.setattr(*name, true) {
                            return err;
                        }
                    }
                    PyErr::from_value(instance)
                }
                Err(err) => err,
            },
            Err(_) => PyRuntimeError::new_err(format!("{:?}: {}", self.kind, self.message)),
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The response head did not come within the read timeout (seconds): urllib3's message,
/// and a read failure as urllib3 counts them (retried for idempotent methods only).
pub fn head_timed_out(read_timeout: f64) -> HttpError {
    HttpError::new(
        Kind::ReadTimeout,
        format!("Read timed out. (read timeout={read_timeout})"),
    )
    .awaiting_response()
}

/// The whole `source()` chain as one readable line (reqwest's top message alone is vague).
pub fn describe(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

fn looks_like_tls(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "certificate",
        "tls",
        "ssl",
        "handshake",
        "unknownissuer",
        "invalid peer",
        // rustls' words for a peer that does not speak TLS (an https:// URL on a plain
        // HTTP server): OpenSSL's WRONG_VERSION_NUMBER, an SSLError for requests.
        "received corrupt message",
    ]
    .iter()
    .any(|word| lower.contains(word))
}

/// Classify a reqwest error raised while sending a request and waiting for its headers.
pub fn classify_send(err: &reqwest::Error, via_http_proxy: bool) -> HttpError {
    let message = describe(err);
    if err.is_builder() {
        return HttpError::new(Kind::InvalidUrl, message);
    }
    if err.is_connect() {
        let kind = if err.is_timeout() || message.contains("timed out") {
            Kind::ConnectTimeout
        } else if looks_like_tls(&message) {
            Kind::SslError
        } else if via_http_proxy {
            Kind::ProxyError
        } else {
            Kind::ConnectionError
        };
        return HttpError::new(kind, message).before_sending();
    }
    if err.is_timeout() {
        return HttpError::new(Kind::ReadTimeout, message).awaiting_response();
    }
    if looks_like_tls(&message) {
        return HttpError::new(Kind::SslError, message);
    }
    if message.contains("invalid content-length") {
        // Conflicting or malformed Content-Length headers: urllib3 (so requests) raises
        // InvalidHeader, hyper refuses the response while parsing it.
        return HttpError::new(Kind::InvalidHeader, message);
    }
    // The connection failed after the request went out (reset, closed before answering).
    HttpError::new(Kind::ConnectionError, message).awaiting_response()
}

/// Classify an error raised while reading the response body.
pub fn classify_body(err: &reqwest::Error) -> HttpError {
    let message = describe(err);
    // reqwest labels every body error "decode" (its body passes through a decoder layer even
    // with no codings enabled); content decoding is ours, so this is the connection failing.
    // requests reports a connection broken mid-body as ChunkedEncodingError, whatever the
    // framing was (urllib3's ProtocolError).
    HttpError::new(Kind::ChunkedEncodingError, message)
}

/// `classify_body` for a body read from a direct-lane connection (`direct.rs`).
pub fn classify_direct_body(err: &hyper::Error) -> HttpError {
    HttpError::new(Kind::ChunkedEncodingError, describe(err))
}
