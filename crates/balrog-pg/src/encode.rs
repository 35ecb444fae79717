//! Python parameters → PostgreSQL wire values for the builtin dumpers, in one native call
//! per execute (or per executemany).
//!
//! The Python side decides *which* values may be encoded here: it hands over, per
//! placeholder format, a dict `{exact Python type: encoder code}` built from the cursor's
//! AdaptersMap, listing only types whose resolved dumper class is a builtin one that
//! declares `_balrog_enc` in its own body. Anything else (subclasses, user dumpers, lists,
//! Json wrappers) goes through `fallback(obj, format)`, i.e. the Python Dumper, so
//! `register_dumper` keeps its exact meaning. The bytes produced are those the Python
//! dumpers produce (floats as Python's `repr`, see `push_float_repr`), except intervals (a
//! sign on every field, so IntervalStyle cannot change their meaning): the server reads the
//! same values.

use std::io::Write as _;
use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{
    PyByteArray, PyBytes, PyDate, PyDateAccess, PyDateTime, PyDict, PyList, PyString, PyTime,
    PyTimeAccess, PyTuple, PyTzInfoAccess,
};

use crate::errors::data_error;

/// Encoder codes, as declared by the builtin dumpers' `_balrog_enc`.
pub mod code {
    pub const INT: u8 = 1;
    pub const INT2: u8 = 2;
    pub const INT4: u8 = 3;
    pub const INT8: u8 = 4;
    pub const INT_NUMERIC: u8 = 5;
    pub const OID: u8 = 6;
    // Binary format, what psycopg's %s sends for numbers and bools (its AUTO dumpers).
    pub const INT_BINARY: u8 = 7;
    pub const INT2_BINARY: u8 = 8;
    pub const INT4_BINARY: u8 = 9;
    pub const INT8_BINARY: u8 = 12;
    pub const OID_BINARY: u8 = 13;
    pub const FLOAT8_BINARY: u8 = 14;
    pub const FLOAT4_BINARY: u8 = 15;
    pub const FLOAT8: u8 = 10;
    pub const FLOAT4: u8 = 11;
    pub const BOOL: u8 = 20;
    pub const BOOL_BINARY: u8 = 21;
    pub const STR_UNKNOWN: u8 = 30;
    pub const STR_TEXT: u8 = 31;
    pub const STR_VARCHAR: u8 = 32;
    pub const STR_NAME: u8 = 33;
    pub const STR_BINARY: u8 = 34;
    pub const BYTES_TEXT: u8 = 40;
    pub const BYTES_BINARY: u8 = 41;
    pub const DECIMAL: u8 = 50;
    pub const DATE: u8 = 60;
    pub const TIME: u8 = 61;
    pub const TIMETZ: u8 = 62;
    pub const DATETIME: u8 = 63;
    pub const DATETIME_NOTZ: u8 = 64;
    pub const TIMEDELTA: u8 = 65;
    pub const UUID: u8 = 70;
    pub const DATE_BINARY: u8 = 66;
    pub const TIME_BINARY: u8 = 67;
    pub const DATETIME_BINARY: u8 = 68;
    pub const TIMEDELTA_BINARY: u8 = 69;
    pub const UUID_BINARY: u8 = 71;
}

const NUL_MESSAGE: &str = "PostgreSQL text fields cannot contain NUL (0x00) bytes";

/// Encoded values: one byte buffer and, per value, its span in it (None for NULL).
/// Rows of an executemany are stored one after the other, `width` values each.
#[derive(Default)]
pub struct Values {
    pub data: Vec<u8>,
    pub spans: Vec<Option<(usize, usize)>>,
}

impl Values {
    /// The values of row `index` (rows of `width` values).
    pub fn row(&self, index: usize, width: usize) -> impl ExactSizeIterator<Item = Option<&[u8]>> {
        let start = (index * width).min(self.spans.len());
        let stop = (start + width).min(self.spans.len());
        self.spans[start..stop]
            .iter()
            .map(|span| span.map(|(a, b)| &self.data[a..b]))
    }

    pub(crate) fn push(&mut self, value: Option<&[u8]>) {
        match value {
            None => self.spans.push(None),
            Some(v) => {
                let start = self.data.len();
                self.data.extend_from_slice(v);
                self.spans.push(Some((start, self.data.len())));
            }
        }
    }

    /// Values given as a list of bytes/None (what the Python dumpers produce).
    pub fn from_py_list(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let mut out = Values::default();
        for item in obj.try_iter()? {
            let item = item?;
            if item.is_none() {
                out.push(None);
            } else {
                out.push(Some(item.downcast::<PyBytes>()?.as_bytes()));
            }
        }
        Ok(out)
    }
}

/// One execute's parameters, encoded: what `PgConn.extended` binds.
#[pyclass(frozen, module = "balrog._pg", name = "Params")]
pub struct Params {
    pub values: Arc<Values>,
    pub(crate) types: Vec<u32>,
    pub(crate) formats: Vec<i16>,
}

#[pymethods]
impl Params {
    /// The parameters' type oids (0: let the server infer), as a tuple: what the
    /// prepared-statement cache keys on, as it is.
    #[getter]
    pub(crate) fn types<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.types)
    }

    /// The parameters' wire formats (0 text, 1 binary), as a tuple.
    #[getter]
    pub(crate) fn formats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.formats)
    }

    fn __len__(&self) -> usize {
        self.types.len()
    }
}

/// Rows of an executemany that share their types: what one `PgConn.many` call binds.
#[pyclass(frozen, module = "balrog._pg", name = "ParamBatch")]
pub struct ParamBatch {
    pub values: Arc<Values>,
    types: Vec<u32>,
    formats: Vec<i16>,
    /// Rows in the batch (rows without parameters have no spans to count).
    count: usize,
}

#[pymethods]
impl ParamBatch {
    #[getter]
    fn types(&self) -> Vec<u32> {
        self.types.clone()
    }

    #[getter]
    fn formats(&self) -> Vec<i16> {
        self.formats.clone()
    }

    fn __len__(&self) -> usize {
        self.count
    }
}

/// The argument of `extended`: a `Params`, or a list of bytes/None.
pub fn values_arg(obj: &Bound<'_, PyAny>) -> PyResult<Arc<Values>> {
    if let Ok(params) = obj.downcast::<Params>() {
        return Ok(params.get().values.clone());
    }
    Values::from_py_list(obj).map(Arc::new)
}

/// The argument of `many`: a `ParamBatch`, or a list of lists of bytes/None. Returns the
/// values, the row width and the row count.
pub fn rows_arg(obj: &Bound<'_, PyAny>) -> PyResult<(Arc<Values>, usize, usize)> {
    if let Ok(batch) = obj.downcast::<ParamBatch>() {
        let batch = batch.get();
        return Ok((batch.values.clone(), batch.types.len(), batch.count));
    }
    let mut out = Values::default();
    let mut width = None;
    let mut count = 0;
    for row in obj.try_iter()? {
        count += 1;
        let row = Values::from_py_list(&row?)?;
        if *width.get_or_insert(row.spans.len()) != row.spans.len() {
            return Err(PyTypeError::new_err("parameter rows differ in length"));
        }
        for span in &row.spans {
            out.push(span.map(|(a, b)| &row.data[a..b]));
        }
    }
    Ok((Arc::new(out), width.unwrap_or(0), count))
}

/// Where the Python side's choices come from for one call.
pub struct Encoder<'a, 'py> {
    /// Per format index (0 AUTO, 1 TEXT, 2 BINARY): {exact type: code}.
    maps: &'a [Bound<'py, PyDict>],
    /// `fallback(obj, format_index) -> (bytes | None, oid, wire format)`.
    fallback: &'a Bound<'py, PyAny>,
}

impl<'a, 'py> Encoder<'a, 'py> {
    pub fn new(maps: &'a [Bound<'py, PyDict>], fallback: &'a Bound<'py, PyAny>) -> Self {
        Encoder { maps, fallback }
    }

    /// Encode one value: appends it to `out` and returns its (oid, format).
    fn encode(&self, obj: &Bound<'py, PyAny>, fmt: u8, out: &mut Values) -> PyResult<(u32, i16)> {
        if obj.is_none() {
            out.push(None);
            return Ok((0, 0));
        }
        let code = match self.maps.get(usize::from(fmt)) {
            Some(map) => match map.get_item(obj.get_type())? {
                Some(c) => c.extract::<u8>()?,
                None => 0,
            },
            None => 0,
        };
        if code != 0 {
            if let Some(answer) = encode_in_place(code, obj, out)? {
                return Ok(answer);
            }
        }
        let answer = self.fallback.call1((obj, fmt))?;
        let (data, oid, format): (Option<Bound<'py, PyBytes>>, u32, i16) = answer.extract()?;
        out.push(data.as_ref().map(|d| d.as_bytes()));
        Ok((oid, format))
    }
}

/// Encode one value with a builtin dumper only (`map`: {exact type: encoder code} of its
/// format index): appends it to `out` and returns its (oid, format), or None when the value
/// needs a Python dumper (or the builtin one gave up, or failed: the caller takes the
/// ordinary path, which raises psycopg's error). Nothing is appended then.
pub(crate) fn encode_builtin(
    map: &Bound<'_, PyDict>,
    obj: &Bound<'_, PyAny>,
    out: &mut Values,
) -> Option<(u32, i16)> {
    if obj.is_none() {
        out.push(None);
        return Some((0, 0));
    }
    let code = map.get_item(obj.get_type()).ok()??.extract::<u8>().ok()?;
    if code == 0 {
        return None;
    }
    encode_in_place(code, obj, out).ok()?
}

/// [`encode_text`] appending to `out`'s data, and the value's span when it worked: written
/// in place (no scratch buffer to copy from), and cut off again when the builtin dumper
/// gives up or fails.
fn encode_in_place(
    code: u8,
    obj: &Bound<'_, PyAny>,
    out: &mut Values,
) -> PyResult<Option<(u32, i16)>> {
    let start = out.data.len();
    let answer = encode_text(code, obj, &mut out.data);
    match &answer {
        Ok(Some(_)) => out.spans.push(Some((start, out.data.len()))),
        _ => out.data.truncate(start),
    }
    answer
}

/// Encode `obj` with the builtin dumper `code` (text format unless the code says binary)
/// into `out`. Returns the oid and wire format, or None if this value needs the Python
/// dumper after all (e.g. a memoryview where bytes were expected).
pub fn encode_text(
    code: u8,
    obj: &Bound<'_, PyAny>,
    out: &mut Vec<u8>,
) -> PyResult<Option<(u32, i16)>> {
    use code::*;
    if let Some(answer) = crate::encode_binary::encode(code, obj, out)? {
        return Ok(answer);
    }
    let oid = match code {
        INT | INT2 | INT4 | INT8 | INT_NUMERIC | OID => {
            let fixed = match code {
                INT2 => Some(21),
                INT4 => Some(23),
                INT8 => Some(20),
                INT_NUMERIC => Some(1700),
                OID => Some(26),
                _ => None,
            };
            match obj.extract::<i64>() {
                Ok(v) => {
                    let _ = write!(out, "{v}");
                    fixed.unwrap_or(if i16::try_from(v).is_ok() {
                        21
                    } else if i32::try_from(v).is_ok() {
                        23
                    } else {
                        20
                    })
                }
                Err(_) => {
                    // Beyond int8: int's own repr, sent as numeric (IntNumericDumper).
                    let text = obj
                        .py()
                        .get_type::<pyo3::types::PyInt>()
                        .getattr("__repr__")?
                        .call1((obj,))?;
                    out.extend_from_slice(text.downcast::<PyString>()?.to_str()?.as_bytes());
                    fixed.unwrap_or(1700)
                }
            }
        }
        FLOAT8 | FLOAT4 => {
            let v: f64 = obj.extract()?;
            if v.is_nan() {
                out.extend_from_slice(b"nan");
            } else if v.is_infinite() {
                out.extend_from_slice(if v > 0.0 { b"inf" } else { b"-inf" });
            } else {
                push_float_repr(out, v);
            }
            if code == FLOAT4 {
                700
            } else {
                701
            }
        }
        BOOL => {
            out.push(if obj.is_truthy()? { b't' } else { b'f' });
            16
        }
        STR_UNKNOWN | STR_TEXT | STR_VARCHAR | STR_NAME | STR_BINARY => {
            let text = obj.downcast::<PyString>()?.to_str()?.as_bytes();
            if text.contains(&0) {
                return Err(data_error(obj.py(), NUL_MESSAGE.into()));
            }
            out.extend_from_slice(text);
            return Ok(Some(match code {
                STR_UNKNOWN => (0, 0),
                STR_TEXT => (25, 0),
                STR_VARCHAR => (1043, 0),
                STR_NAME => (19, 0),
                _ => (25, 1),
            }));
        }
        BYTES_TEXT | BYTES_BINARY => {
            let bytes: &[u8];
            let owned;
            if let Ok(b) = obj.downcast::<PyBytes>() {
                bytes = b.as_bytes();
            } else if let Ok(b) = obj.downcast::<PyByteArray>() {
                owned = b.to_vec();
                bytes = &owned;
            } else {
                return Ok(None);
            }
            if code == BYTES_BINARY {
                out.extend_from_slice(bytes);
                return Ok(Some((17, 1)));
            }
            out.extend_from_slice(b"\\x");
            push_hex(out, bytes);
            17
        }
        DECIMAL => {
            let text = obj.str()?;
            let text = text.to_str()?;
            if text.contains("NaN") {
                out.extend_from_slice(b"NaN");
            } else {
                out.extend_from_slice(text.as_bytes());
            }
            1700
        }
        DATE => {
            let d = obj.downcast::<PyDate>()?;
            push_date(out, d.get_year(), d.get_month(), d.get_day());
            1082
        }
        TIME | TIMETZ => {
            let t = obj.downcast::<PyTime>()?;
            let aware = t.get_tzinfo().is_some();
            if aware {
                // A zone with rules (ZoneInfo) has no offset without a date: str() would
                // drop it and the server would read the time in the session's zone.
                if obj.call_method0("utcoffset")?.is_none() {
                    let zone = obj.getattr("tzinfo")?.str()?.to_string();
                    return Err(data_error(
                        obj.py(),
                        format!("cannot calculate the offset of tzinfo '{zone}' without a date"),
                    ));
                }
                out.extend_from_slice(obj.str()?.to_str()?.as_bytes());
            } else {
                push_time(
                    out,
                    t.get_hour(),
                    t.get_minute(),
                    t.get_second(),
                    t.get_microsecond(),
                );
            }
            if aware || code == TIMETZ {
                1266
            } else {
                1083
            }
        }
        DATETIME | DATETIME_NOTZ => {
            let d = obj.downcast::<PyDateTime>()?;
            let aware = d.get_tzinfo().is_some();
            if aware {
                out.extend_from_slice(obj.str()?.to_str()?.as_bytes());
            } else {
                push_date(out, d.get_year(), d.get_month(), d.get_day());
                out.push(b' ');
                push_time(
                    out,
                    d.get_hour(),
                    d.get_minute(),
                    d.get_second(),
                    d.get_microsecond(),
                );
            }
            if aware && code == DATETIME {
                1184
            } else {
                1114
            }
        }
        TIMEDELTA => {
            // Every field carries its own sign: under IntervalStyle=sql_standard a sign on
            // the first field alone would apply to all of them ("-1 day 0:00:05" read as
            // -86405 s), while explicit signs mean the same under every style.
            let days: i64 = obj.getattr(pyo3::intern!(obj.py(), "days"))?.extract()?;
            let seconds: i64 = obj.getattr(pyo3::intern!(obj.py(), "seconds"))?.extract()?;
            let micros: i64 = obj
                .getattr(pyo3::intern!(obj.py(), "microseconds"))?
                .extract()?;
            let _ = write!(
                out,
                "{days:+} day {seconds:+} second {micros:+} microsecond"
            );
            1186
        }
        UUID => {
            let value: u128 = obj.getattr("int")?.extract()?;
            let _ = write!(out, "{value:032x}");
            2950
        }
        _ => return Ok(None),
    };
    Ok(Some((oid, 0)))
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

fn push_date(out: &mut Vec<u8>, year: i32, month: u8, day: u8) {
    let _ = write!(out, "{year:04}-{month:02}-{day:02}");
}

/// As Python's `time.isoformat()`: microseconds only when not zero.
fn push_time(out: &mut Vec<u8>, h: u8, m: u8, s: u8, us: u32) {
    let _ = write!(out, "{h:02}:{m:02}:{s:02}");
    if us != 0 {
        let _ = write!(out, ".{us:06}");
    }
}

pub(crate) fn format_indices(fmts: &[u8], count: usize) -> impl Iterator<Item = u8> + '_ {
    (0..count).map(move |i| fmts.get(i).copied().unwrap_or(0))
}

/// Encode one execute's parameters (a list or tuple, in placeholder order). `fmts` holds
/// each placeholder's format index (0 AUTO, 1 TEXT, 2 BINARY).
#[pyfunction]
pub fn encode_params(
    values: &Bound<'_, PyAny>,
    fmts: &Bound<'_, PyAny>,
    maps: &Bound<'_, PyAny>,
    fallback: &Bound<'_, PyAny>,
) -> PyResult<Params> {
    // The arguments are taken apart by hand: pyo3's `Vec` extraction goes through the
    // generic sequence protocol (an iterator object per argument), and this call is on
    // every execute with parameters.
    let fmts = sequence_items(fmts)?
        .iter()
        .map(|f| f.extract::<u8>())
        .collect::<PyResult<Vec<u8>>>()?;
    let maps = sequence_items(maps)?
        .into_iter()
        .map(|m| m.downcast_into::<PyDict>().map_err(PyErr::from))
        .collect::<PyResult<Vec<_>>>()?;
    let encoder = Encoder::new(&maps, fallback);
    let items = sequence_items(values)?;
    let mut out = Values {
        data: Vec::with_capacity(64),
        spans: Vec::with_capacity(items.len()),
    };
    let mut types = Vec::with_capacity(items.len());
    let mut formats = Vec::with_capacity(items.len());
    for (obj, fmt) in items.iter().zip(format_indices(&fmts, items.len())) {
        let (oid, format) = encoder.encode(obj, fmt, &mut out)?;
        types.push(oid);
        formats.push(format);
    }
    Ok(Params {
        values: Arc::new(out),
        types,
        formats,
    })
}

fn sequence_items<'py>(values: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if let Ok(list) = values.downcast::<PyList>() {
        return Ok(list.iter().collect());
    }
    if let Ok(tuple) = values.downcast::<PyTuple>() {
        return Ok(tuple.iter().collect());
    }
    values.try_iter()?.collect()
}

/// What `encode_many` hands back: the index of the first row it could not encode (None if
/// every row was encoded), the exception that row raised (None for a row of the wrong
/// shape: Python raises psycopg's error for it), and the batches of the rows before it.
type ManyEncoded = (Option<usize>, Option<PyErr>, Vec<Py<ParamBatch>>);

/// Encode every row of an executemany chunk (each a list or tuple of `width` values). Rows
/// whose types match the previous row's join its batch. A row that cannot be encoded stops
/// the work; the rows before it are still returned, since psycopg runs them.
#[pyfunction]
pub fn encode_many<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyList>,
    width: usize,
    fmts: Vec<u8>,
    maps: Vec<Bound<'py, PyDict>>,
    fallback: &Bound<'py, PyAny>,
) -> PyResult<ManyEncoded> {
    let encoder = Encoder::new(&maps, fallback);
    let mut batches = BatchBuilder::default();
    let mut row = RowScratch::with_width(width);
    for (index, obj) in rows.iter().enumerate() {
        let items: Vec<Bound<'py, PyAny>> = if let Ok(t) = obj.downcast::<PyTuple>() {
            t.iter().collect()
        } else if let Ok(l) = obj.downcast::<PyList>() {
            l.iter().collect()
        } else {
            return Ok((Some(index), None, batches.finish(py)?));
        };
        if items.len() != width {
            return Ok((Some(index), None, batches.finish(py)?));
        }
        if let Err(err) = row.encode(&encoder, &items, &fmts) {
            return Ok((Some(index), Some(err), batches.finish(py)?));
        }
        batches.push(&row);
    }
    Ok((None, None, batches.finish(py)?))
}

/// One row's encoded values, types and formats; reused from row to row.
#[derive(Default)]
struct RowScratch {
    types: Vec<u32>,
    formats: Vec<i16>,
    values: Values,
}

impl RowScratch {
    fn with_width(width: usize) -> Self {
        RowScratch {
            types: Vec::with_capacity(width),
            formats: Vec::with_capacity(width),
            ..Default::default()
        }
    }

    fn encode(
        &mut self,
        encoder: &Encoder<'_, '_>,
        items: &[Bound<'_, PyAny>],
        fmts: &[u8],
    ) -> PyResult<()> {
        self.types.clear();
        self.formats.clear();
        self.values.data.clear();
        self.values.spans.clear();
        for (obj, fmt) in items.iter().zip(format_indices(fmts, items.len())) {
            let (oid, format) = encoder.encode(obj, fmt, &mut self.values)?;
            self.types.push(oid);
            self.formats.push(format);
        }
        Ok(())
    }
}

/// Groups consecutive rows that share their types and formats into `ParamBatch`es.
#[derive(Default)]
struct BatchBuilder {
    done: Vec<ParamBatch>,
    current: Values,
    types: Vec<u32>,
    formats: Vec<i16>,
    count: usize,
}

impl BatchBuilder {
    fn push(&mut self, row: &RowScratch) {
        let same = self.count > 0 && row.types == self.types && row.formats == self.formats;
        if !same {
            self.close_batch();
            self.types.clone_from(&row.types);
            self.formats.clone_from(&row.formats);
        }
        for span in &row.values.spans {
            self.current.push(span.map(|(a, b)| &row.values.data[a..b]));
        }
        self.count += 1;
    }

    fn close_batch(&mut self) {
        if self.count > 0 {
            self.done.push(ParamBatch {
                values: Arc::new(std::mem::take(&mut self.current)),
                types: std::mem::take(&mut self.types),
                formats: std::mem::take(&mut self.formats),
                count: std::mem::take(&mut self.count),
            });
        }
    }

    fn finish(mut self, py: Python<'_>) -> PyResult<Vec<Py<ParamBatch>>> {
        self.close_batch();
        self.done.into_iter().map(|b| Py::new(py, b)).collect()
    }
}

/// A finite float as Python's `repr()` writes it (what psycopg's dumper sends, and so what
/// COPY data written to a file holds): the shortest digits that round-trip, in positional
/// form ("1.0", "-0.0", "0.0001") when the decimal exponent is in -4..16, else in exponent
/// form with a signed two-digit-minimum exponent ("1e+16", "1.5e-07").
pub(crate) fn push_float_repr(out: &mut Vec<u8>, v: f64) {
    // Rust's `{:e}` gives the same shortest round-trip digits: "-1.5e-7", "1e20", "-0e0".
    let sci = format!("{v:e}");
    let Some((mantissa, exponent)) = sci.split_once('e') else {
        out.extend_from_slice(sci.as_bytes());
        return;
    };
    let exp: i32 = exponent.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let digits: Vec<u8> = mantissa.bytes().filter(|b| *b != b'.').collect();
    if negative {
        out.push(b'-');
    }
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() > int_len {
                out.extend_from_slice(&digits[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits[int_len..]);
            } else {
                out.extend_from_slice(&digits);
                out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
                out.extend_from_slice(b".0");
            }
        } else {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            out.extend_from_slice(&digits);
        }
    } else {
        out.push(digits.first().copied().unwrap_or(b'0'));
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    }
}

#[cfg(test)]
mod float_repr_tests {
    use super::push_float_repr;

    fn repr(v: f64) -> String {
        let mut out = Vec::new();
        push_float_repr(&mut out, v);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn matches_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (2.5, "2.5"),
            (0.1, "0.1"),
            (1e20, "1e+20"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-123.456, "-123.456"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (1234567890123456.7, "1234567890123456.8"),
        ];
        for (value, want) in cases {
            assert_eq!(repr(value), want, "{value:e}");
        }
    }
}
