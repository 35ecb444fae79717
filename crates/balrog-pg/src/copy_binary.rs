//! Rows of binary-format COPY TO STDOUT data → tuples, natively: the field lengths read,
//! each field decoded by the binary decoder the `binary=True` results use (decode/binary.rs).
//!
//! The rules are psycopg's (its `BinaryFormatter.parse_row` and C `parse_row_binary`),
//! because what psycopg accepts and refuses is the contract: one CopyData message is one
//! tuple (the server sends them so); the first message parsed must start with the 19-byte
//! header exactly as the server writes it (signature, no flags, no extension), whatever
//! `read()` took before; a message that is just `-1` is the trailer (None); the field count
//! is read unsigned and a length of -1 is NULL, any other negative length being too long
//! for the data; bytes after the last field are ignored.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::decode::{from_spec, Ctx, Dec, Styles};
use crate::errors::{to_py, PgError};
use crate::row_tuple::row_tuple;
use crate::transcode::Transcoder;

/// The header the server writes: signature, flags 0, header extension length 0.
const HEADER: &[u8; 19] = b"PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00";
const TRAILER: &[u8] = b"\xff\xff";

/// Reads the rows of one binary COPY TO (`Copy.read_row` / `Copy.rows`).
#[pyclass(frozen, module = "balrog._pg", name = "CopyBinaryParser")]
pub struct CopyBinaryParser {
    /// One decoder and type oid per column: set_types' loaders, else bytes for each of the
    /// COPY's columns (what psycopg's loaders for oid 0 return). A tuple of another width
    /// is refused, as psycopg's Transformer refuses it.
    decs: Vec<(Dec, u32)>,
    /// Whether the header was seen (psycopg checks it once, on the first row parsed).
    started: AtomicBool,
    /// The client encoding's converter when text inside values arrives in another
    /// encoding than UTF-8 (COPY data does not go through the wire layer's conversion).
    transcoder: Option<Arc<Transcoder>>,
    tz: PyObject,
    tz_is_utc: bool,
    styles: Option<Arc<Styles>>,
}

/// The fields of one tuple (the header already removed): their spans in `data`, None for
/// NULL; `Ok(false)` for the trailer. psycopg's DataErrors for a truncated tuple.
fn split_tuple(data: &[u8], fields: &mut Vec<Option<Range<usize>>>) -> Result<bool, PgError> {
    if data == TRAILER {
        return Ok(false);
    }
    let Some(count) = data.get(..2) else {
        return Err(PgError::Data(
            "bad copy data: fields number truncated".into(),
        ));
    };
    // Unsigned, as psycopg's C parser reads it (only the exact trailer ends the data).
    let count = u16::from_be_bytes([count[0], count[1]]);
    fields.reserve(usize::from(count));
    let mut pos = 2usize;
    for _ in 0..count {
        let Some(len) = data.get(pos..pos + 4) else {
            return Err(PgError::Data(
                "bad copy data: field length truncated".into(),
            ));
        };
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        pos += 4;
        if len == u32::MAX {
            fields.push(None);
            continue;
        }
        // Other negative lengths read as huge ones: too long for the data, as in psycopg.
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| pos.checked_add(len))
            .filter(|&end| end <= data.len());
        let Some(end) = end else {
            return Err(PgError::Data("bad copy data: length exceeding data".into()));
        };
        fields.push(Some(pos..end));
        pos = end;
    }
    Ok(true)
}

#[pymethods]
impl CopyBinaryParser {
    /// `nfields`: the COPY's columns; `specs`, `oids`: set_types' binary loader specs (as
    /// `PgResult.set_loaders` takes them) and type oids, or None for bytes everywhere;
    /// `client_encoding`: the session's when it is neither UTF8 nor SQL_ASCII; `started`:
    /// the header was already seen (by the parser this one replaces after set_types); `tz`,
    /// `tz_is_utc`, `text_as_bytes`: as `decode_value` takes them.
    #[new]
    #[pyo3(signature = (nfields, specs, oids, tz, tz_is_utc=false, client_encoding=None, text_as_bytes=false, started=false))]
    #[allow(clippy::too_many_arguments)] // the arguments of a Python constructor with defaults
    fn new(
        nfields: usize,
        specs: Option<Vec<Bound<'_, PyAny>>>,
        oids: Option<Vec<u32>>,
        tz: PyObject,
        tz_is_utc: bool,
        client_encoding: Option<&str>,
        text_as_bytes: bool,
        started: bool,
    ) -> PyResult<Self> {
        let decs = match specs {
            Some(specs) => {
                let oids = oids.unwrap_or_default();
                specs
                    .iter()
                    .enumerate()
                    .map(|(i, spec)| Ok((from_spec(spec)?, oids.get(i).copied().unwrap_or(0))))
                    .collect::<PyResult<Vec<_>>>()?
            }
            None => (0..nfields).map(|_| (Dec::Bytea, 0)).collect(),
        };
        Ok(CopyBinaryParser {
            decs,
            started: AtomicBool::new(started),
            transcoder: client_encoding.and_then(Transcoder::for_client_encoding),
            tz,
            tz_is_utc,
            styles: Styles::new("", "", text_as_bytes),
        })
    }

    /// Whether the header was seen (for the parser that replaces this one).
    #[getter]
    fn started(&self) -> bool {
        self.started.load(Ordering::Relaxed)
    }

    /// One tuple (a CopyData message) as a tuple of Python values; None for the trailer.
    fn parse_row<'py>(
        &self,
        py: Python<'py>,
        data: &[u8],
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let mut data = data;
        if !self.started.load(Ordering::Relaxed) {
            let Some(rest) = data.strip_prefix(HEADER.as_slice()) else {
                let msg = "binary copy doesn't start with the expected signature";
                return Err(to_py(py, PgError::Data(msg.into())));
            };
            self.started.store(true, Ordering::Relaxed);
            data = rest;
        }
        let mut fields = Vec::new();
        if !split_tuple(data, &mut fields).map_err(|err| to_py(py, err))? {
            return Ok(None);
        }
        if fields.len() != self.decs.len() {
            let msg = format!(
                "cannot load sequence of {} items: {} loaders registered",
                fields.len(),
                self.decs.len()
            );
            return Err(to_py(py, PgError::Programming(msg)));
        }
        let mut ctx = Ctx::new(py, self.tz.bind(py), self.tz_is_utc)?;
        ctx.set_styles(self.styles.clone());
        let width = fields.len();
        let values = fields
            .into_iter()
            .zip(self.decs.iter())
            .map(
                |(span, (dec, oid))| match span.and_then(|span| data.get(span)) {
                    None => Ok(py.None().into_bound(py)),
                    Some(raw) => match &self.transcoder {
                        Some(t) => ctx.decode_binary(dec, &t.binary_value_to_utf8(*oid, raw)),
                        None => ctx.decode_binary(dec, raw),
                    },
                },
            );
        Ok(Some(row_tuple(py, width, values)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(data: &[u8]) -> Result<Option<Vec<Option<Vec<u8>>>>, String> {
        let mut spans = Vec::new();
        if !split_tuple(data, &mut spans).map_err(PgError::into_message)? {
            return Ok(None);
        }
        Ok(Some(
            spans
                .into_iter()
                .map(|s| s.map(|s| data[s].to_vec()))
                .collect(),
        ))
    }

    #[test]
    fn splits() {
        assert_eq!(
            fields(b"\x00\x02\x00\x00\x00\x02ab\xff\xff\xff\xffjunk").unwrap(),
            Some(vec![Some(b"ab".to_vec()), None])
        );
        assert_eq!(fields(b"\x00\x00").unwrap(), Some(vec![]));
        assert_eq!(fields(b"\xff\xff").unwrap(), None);
    }

    #[test]
    fn psycopg_errors() {
        assert_eq!(
            fields(b"\x00").unwrap_err(),
            "bad copy data: fields number truncated"
        );
        assert_eq!(
            fields(b"").unwrap_err(),
            "bad copy data: fields number truncated"
        );
        assert_eq!(
            fields(b"\x00\x01\x00\x00").unwrap_err(),
            "bad copy data: field length truncated"
        );
        // Not the trailer: 65534 fields.
        assert_eq!(
            fields(b"\xff\xfe").unwrap_err(),
            "bad copy data: field length truncated"
        );
        let exceeding = "bad copy data: length exceeding data";
        assert_eq!(
            fields(b"\x00\x01\x00\x00\x00\x05ab").unwrap_err(),
            exceeding
        );
        assert_eq!(fields(b"\x00\x01\xff\xff\xff\xfe").unwrap_err(), exceeding);
        assert_eq!(fields(b"\x00\x01\x7f\xff\xff\xff").unwrap_err(), exceeding);
    }
}
