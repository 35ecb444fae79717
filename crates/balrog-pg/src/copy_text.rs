//! Rows of text-format COPY TO STDOUT data → tuples, natively: split at the tabs, unescape,
//! decode each field with the decoder the text results use (decode.rs).
//!
//! The rules are psycopg's (its C `parse_row_text`), not a fuller reading of PostgreSQL's
//! format, because what psycopg accepts and refuses is the contract: a row has exactly as
//! many fields as the COPY has columns; a backslash hides the byte after it (so an escaped
//! tab or newline stays inside the field); `\b \f \n \r \t \v` stand for their control
//! characters and a backslash before any other byte stands for that byte (so `\\` is a
//! backslash, and octal `\NNN` / hex `\xHH` forms stay digits, as in psycopg: the server
//! never writes them, it sends every other byte as it is); a field that is exactly `\N` is
//! NULL.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::decode::{from_spec, Ctx, Dec, Styles};
use crate::errors::{to_py, PgError};
use crate::row_tuple::row_tuple;

/// Reads the rows of one text COPY TO (`Copy.read_row` / `Copy.rows`).
#[pyclass(frozen, module = "balrog._pg", name = "CopyTextParser")]
pub struct CopyTextParser {
    /// The columns the server announced: every row must have that many fields.
    nfields: usize,
    /// With set_types: how many types it named (a row of another width is refused after it
    /// is split, as psycopg's Transformer refuses it).
    loaders: Option<usize>,
    /// One decoder per field: set_types' loaders, else `str` for every field (psycopg knows
    /// no types for COPY data).
    decs: Vec<Dec>,
    tz: PyObject,
    tz_is_utc: bool,
    styles: Option<Arc<Styles>>,
}

/// Where one field lies in the row, and whether it has backslashes to undo.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    escaped: bool,
}

/// The `nfields` fields of one row (a CopyData message, newline included), still escaped;
/// psycopg's DataErrors when the row has fewer or more.
fn split_row(data: &[u8], nfields: usize, spans: &mut Vec<Span>) -> Result<(), PgError> {
    let end = data.len();
    let mut pos = 0usize;
    for col in 0..nfields {
        let mut i = pos;
        let mut escaped = false;
        while i < end {
            match data[i] {
                b'\t' | b'\n' => break,
                b'\\' => {
                    // A backslash hides the byte after it, a tab or a newline included.
                    escaped = true;
                    i += 2;
                }
                _ => i += 1,
            }
        }
        // A backslash as the last byte jumps past the end: no delimiter either.
        let Some(&stop) = data.get(i) else {
            return Err(PgError::Data(
                "bad copy data: field delimiter not found".into(),
            ));
        };
        let last = col + 1 == nfields;
        if stop == b'\t' && last {
            return Err(PgError::Data(
                "bad copy data: got a tab at the end of the row".into(),
            ));
        }
        if stop == b'\n' && !last {
            return Err(PgError::Data(
                "bad copy format: got a newline before the end of the row".into(),
            ));
        }
        spans.push(Span {
            start: pos,
            end: i,
            escaped,
        });
        pos = i + 1;
    }
    Ok(())
}

/// `field` with its escapes undone, into `out` (cleared first).
fn unescape(field: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut bytes = field.iter();
    while let Some(&c) = bytes.next() {
        if c != b'\\' {
            out.push(c);
            continue;
        }
        // `split_row` never ends a field on a lone backslash; if one were there, it would be
        // kept as it is.
        let Some(&next) = bytes.next() else {
            out.push(c);
            break;
        };
        out.push(match next {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            other => other,
        });
    }
}

#[pymethods]
impl CopyTextParser {
    /// `nfields`: the COPY's columns; `specs`: set_types' loader specs (as `PgResult.set_loaders`
    /// takes them), or None for `str` everywhere; `tz`, `tz_is_utc`: the session time zone;
    /// `datestyle`, `intervalstyle`, `text_as_bytes`: as `decode_value` takes them.
    #[new]
    #[pyo3(signature = (nfields, specs, tz, tz_is_utc=false, datestyle=None, intervalstyle=None, text_as_bytes=false))]
    #[allow(clippy::too_many_arguments)] // the arguments of a Python constructor with defaults
    fn new(
        nfields: usize,
        specs: Option<Vec<Bound<'_, PyAny>>>,
        tz: PyObject,
        tz_is_utc: bool,
        datestyle: Option<&str>,
        intervalstyle: Option<&str>,
        text_as_bytes: bool,
    ) -> PyResult<Self> {
        let (loaders, decs) = match specs {
            Some(specs) => (
                Some(specs.len()),
                specs.iter().map(from_spec).collect::<PyResult<Vec<_>>>()?,
            ),
            None => (None, (0..nfields).map(|_| Dec::Str).collect()),
        };
        Ok(CopyTextParser {
            nfields,
            loaders,
            decs,
            tz,
            tz_is_utc,
            styles: Styles::new(
                datestyle.unwrap_or(""),
                intervalstyle.unwrap_or(""),
                text_as_bytes,
            ),
        })
    }

    /// One row (a CopyData message) as a tuple of Python values.
    fn parse_row<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyTuple>> {
        let mut spans = Vec::with_capacity(self.nfields);
        split_row(data, self.nfields, &mut spans).map_err(|err| to_py(py, err))?;
        if let Some(loaders) = self.loaders {
            if loaders != spans.len() {
                let msg = format!(
                    "cannot load sequence of {} items: {loaders} loaders registered",
                    spans.len()
                );
                return Err(to_py(py, PgError::Programming(msg)));
            }
        }
        let mut ctx = Ctx::new(py, self.tz.bind(py), self.tz_is_utc)?;
        ctx.set_styles(self.styles.clone());
        let width = spans.len();
        let mut buf = Vec::new();
        let values = spans.iter().zip(self.decs.iter()).map(|(span, dec)| {
            // In bounds: split_row made the spans from this data.
            let raw = &data[span.start..span.end];
            if raw == b"\\N" {
                Ok(py.None().into_bound(py))
            } else if span.escaped {
                unescape(raw, &mut buf);
                ctx.decode(dec, &buf)
            } else {
                ctx.decode(dec, raw)
            }
        });
        row_tuple(py, width, values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(data: &[u8], n: usize) -> Result<Vec<Vec<u8>>, String> {
        let mut spans = Vec::new();
        split_row(data, n, &mut spans).map_err(PgError::into_message)?;
        Ok(spans
            .iter()
            .map(|s| {
                let mut out = Vec::new();
                unescape(&data[s.start..s.end], &mut out);
                out
            })
            .collect())
    }

    #[test]
    fn splits_and_unescapes() {
        assert_eq!(
            fields(b"a\\tb\tc\\\\\t\\N\n", 3).unwrap(),
            vec![b"a\tb".to_vec(), b"c\\".to_vec(), b"N".to_vec()]
        );
        // An escaped real tab or newline stays inside the field.
        assert_eq!(
            fields(b"a\\\tb\\\nc\n", 1).unwrap(),
            vec![b"a\tb\nc".to_vec()]
        );
        assert_eq!(
            fields(b"\\1\\x41\\z\n", 1).unwrap(),
            vec![b"1x41z".to_vec()]
        );
    }

    #[test]
    fn psycopg_errors() {
        let no_delim = "bad copy data: field delimiter not found";
        assert_eq!(fields(b"a\tb", 2).unwrap_err(), no_delim);
        assert_eq!(fields(b"a\\", 1).unwrap_err(), no_delim);
        assert_eq!(
            fields(b"a\tb\n", 1).unwrap_err(),
            "bad copy data: got a tab at the end of the row"
        );
        assert_eq!(
            fields(b"a\n", 2).unwrap_err(),
            "bad copy format: got a newline before the end of the row"
        );
    }
}
