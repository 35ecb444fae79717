//! The one place where driver failures become Python exceptions.
//!
//! Server errors are built by `balrog.psycopg.errors._from_server` (the SQLSTATE → class
//! map lives in Python, shared with the pure-Python parts of the package); everything else
//! maps onto psycopg's PEP 249 classes by name.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Why a native operation failed. Carries only Rust data: it crosses from tokio threads.
#[derive(Debug)]
pub enum PgError {
    /// The connection was closed by the user before this call.
    Closed,
    /// The socket failed or the server went away: the connection is now broken.
    Lost(String),
    /// An ErrorResponse from the server, as (field code, value) pairs.
    Server(Vec<(u8, String)>),
    /// Misuse detected by the driver (psycopg's ProgrammingError).
    Programming(String),
    /// psycopg's DataError (e.g. a value the client cannot encode or decode).
    Data(String),
    /// psycopg's OperationalError (connection failures, timeouts).
    Operational(String),
    /// A connection attempt ran out of time (psycopg's ConnectionTimeout).
    ConnectTimeout(String),
}

/// libpq's words when the server ends the connection (end of file, reset, broken pipe).
pub const SERVER_CLOSED: &str = "server closed the connection unexpectedly\n\tThis probably means \
                                 the server terminated abnormally\n\tbefore or while processing the request.";

impl PgError {
    pub fn lost(err: impl std::fmt::Display) -> Self {
        PgError::Lost(format!("consuming input failed: {err}"))
    }

    /// The text alone, for messages that compose several failures (a connection attempt).
    pub fn into_message(self) -> String {
        match self {
            PgError::Closed => "the connection is closed".into(),
            PgError::Lost(msg)
            | PgError::Programming(msg)
            | PgError::Data(msg)
            | PgError::Operational(msg)
            | PgError::ConnectTimeout(msg) => msg,
            PgError::Server(fields) => server_error_text(&fields),
        }
    }
}

/// A server's ErrorResponse worded as libpq's default verbosity words it (severity,
/// message, then DETAIL, HINT and CONTEXT lines): what a failed connection reports.
pub fn server_error_text(fields: &[(u8, String)]) -> String {
    let field = |code: u8| {
        fields
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_str())
    };
    let severity = field(b'V').or_else(|| field(b'S')).unwrap_or("FATAL");
    let mut text = format!(
        "{severity}:  {}",
        field(b'M').unwrap_or("missing error text")
    );
    for (code, label) in [(b'D', "DETAIL"), (b'H', "HINT"), (b'W', "CONTEXT")] {
        if let Some(value) = field(code) {
            text.push_str(&format!("\n{label}:  {value}"));
        }
    }
    text
}

/// An OS error as libpq reports it: strerror's words, without Rust's " (os error N)".
pub fn os_error_text(err: &std::io::Error) -> String {
    let text = err.to_string();
    match err.raw_os_error() {
        Some(code) => match text.strip_suffix(&format!(" (os error {code})")) {
            Some(bare) => bare.to_owned(),
            None => text,
        },
        None => text,
    }
}

impl From<std::io::Error> for PgError {
    fn from(err: std::io::Error) -> Self {
        use std::io::ErrorKind;
        match err.kind() {
            // A reset or a broken pipe is the server going away as much as an end of file
            // is (libpq words all three alike).
            ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof => {
                PgError::Lost(SERVER_CLOSED.into())
            }
            _ => PgError::lost(err),
        }
    }
}

fn errors_module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    py.import("balrog.psycopg.errors")
}

fn by_name(py: Python<'_>, class: &str, message: String) -> PyErr {
    match errors_module(py).and_then(|m| m.getattr(class)) {
        Ok(cls) => match cls.call1((message.clone(),)) {
            Ok(instance) => PyErr::from_value(instance),
            Err(err) => err,
        },
        Err(_) => PyRuntimeError::new_err(message),
    }
}

/// A server ErrorResponse as the matching psycopg exception, with `.diag`.
pub fn server_error(py: Python<'_>, fields: &[(u8, String)]) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let dict = PyDict::new(py);
        for (code, value) in fields {
            let key = char::from(*code).to_string();
            dict.set_item(key, value)?;
        }
        let instance = errors_module(py)?.getattr("_from_server")?.call1((dict,))?;
        Ok(PyErr::from_value(instance))
    };
    build().unwrap_or_else(|err| err)
}

/// Turn a driver failure into the Python exception psycopg would raise.
pub fn to_py(py: Python<'_>, err: PgError) -> PyErr {
    match err {
        PgError::Closed => by_name(py, "OperationalError", "the connection is closed".into()),
        PgError::Lost(msg) => by_name(py, "OperationalError", msg),
        PgError::Server(fields) => server_error(py, &fields),
        PgError::Programming(msg) => by_name(py, "ProgrammingError", msg),
        PgError::Data(msg) => by_name(py, "DataError", msg),
        PgError::Operational(msg) => by_name(py, "OperationalError", msg),
        PgError::ConnectTimeout(msg) => {
            let timeout = errors_module(py).and_then(|m| m.getattr("ConnectionTimeout"));
            match timeout {
                Ok(_) => by_name(py, "ConnectionTimeout", msg),
                Err(_) => by_name(py, "OperationalError", msg),
            }
        }
    }
}

/// An InterfaceError raised while decoding a value on the caller's thread.
pub fn interface_error(py: Python<'_>, message: String) -> PyErr {
    by_name(py, "InterfaceError", message)
}

/// A DataError raised while decoding a value on the caller's thread.
pub fn data_error(py: Python<'_>, message: String) -> PyErr {
    by_name(py, "DataError", message)
}

pub fn not_supported_error(py: Python<'_>, message: String) -> PyErr {
    by_name(py, "NotSupportedError", message)
}
