//! `balrog._pg`: the native core of `balrog.psycopg`.
//!
//! The PostgreSQL protocol is driven directly over a tokio socket with the message codecs
//! of `postgres-protocol` (the wire-protocol crate tokio-postgres is built on). Driving it
//! ourselves gives what the psycopg API needs and tokio-postgres's client does not expose:
//! typed row descriptions for simple-protocol (multi-statement) queries, one write per
//! execute, pipelined executemany, COPY in both directions on the same connection, and
//! rows kept raw until Python fetches them.

mod channel_binding;
mod conn;
mod conn_lock;
mod connect;
mod copy_binary;
mod copy_format;
mod copy_text;
mod decode;
mod direct_io;
mod encode;
mod encode_binary;
mod errors;
mod lane;
mod many;
mod pipeline;
mod proto;
mod recover;
mod result;
mod row_tuple;
mod stream;
mod tls;
mod transcode;

use pyo3::prelude::*;

#[pymodule]
fn _pg(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<conn::PgConn>()?;
    m.add_class::<conn_lock::ConnectionLock>()?;
    m.add_class::<lane::Lane>()?;
    m.add_class::<result::PgResult>()?;
    m.add_class::<result::LoaderSet>()?;
    m.add_class::<stream::PgStream>()?;
    m.add_function(wrap_pyfunction!(conn::connect_op, m)?)?;
    m.add_function(wrap_pyfunction!(decode_value, m)?)?;
    m.add_function(wrap_pyfunction!(transcode::binary_to_utf8, m)?)?;
    m.add_class::<encode::Params>()?;
    m.add_class::<copy_format::CopyBuffer>()?;
    m.add_class::<copy_text::CopyTextParser>()?;
    m.add_class::<copy_binary::CopyBinaryParser>()?;
    m.add_class::<encode::ParamBatch>()?;
    m.add_function(wrap_pyfunction!(encode::encode_params, m)?)?;
    m.add_function(wrap_pyfunction!(encode::encode_many, m)?)?;
    m.add_function(wrap_pyfunction!(eager_read_counts, m)?)?;
    m.add_function(wrap_pyfunction!(set_eager_reads, m)?)?;
    Ok(())
}

/// `(tries, hits)` of the calling thread: socket ops of this wheel whose first poll read
/// the answer at once, and those of them that found it (balrog-core's eager.rs).
#[pyfunction]
fn eager_read_counts() -> (u64, u64) {
    balrog_core::eager_read_counts()
}

/// Decode one value with the native decoder `spec` (what builtin loaders' `load()` use
/// when they are called directly, e.g. through a subclass's `super().load`).
/// `datestyle` / `intervalstyle`: the session's DateStyle and IntervalStyle, when known;
/// `text_as_bytes`: the session is in SQL_ASCII (text is returned as bytes); `binary`: the
/// value is in binary format.
#[pyfunction]
#[pyo3(signature = (spec, data, tz, tz_is_utc=false, datestyle=None, intervalstyle=None, text_as_bytes=false, binary=false))]
#[allow(clippy::too_many_arguments)] // the arguments of a Python function with defaults
fn decode_value<'py>(
    py: Python<'py>,
    spec: &Bound<'py, PyAny>,
    data: &[u8],
    tz: &Bound<'py, PyAny>,
    tz_is_utc: bool,
    datestyle: Option<&str>,
    intervalstyle: Option<&str>,
    text_as_bytes: bool,
    binary: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let dec = decode::from_spec(spec)?;
    let mut ctx = decode::Ctx::new(py, tz, tz_is_utc)?;
    ctx.set_styles(decode::Styles::new(
        datestyle.unwrap_or(""),
        intervalstyle.unwrap_or(""),
        text_as_bytes,
    ));
    if binary {
        ctx.decode_binary(&dec, data)
    } else {
        ctx.decode(&dec, data)
    }
}

/// Turn eager reads on or off for this wheel's ops; returns whether they were on.
#[pyfunction]
fn set_eager_reads(on: bool) -> bool {
    balrog_core::set_eager_reads(on)
}
