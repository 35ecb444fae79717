//! COPY data built in Rust: rows in text format (tab-separated, escaped) or binary format
//! (PGCOPY header, length-prefixed fields), without per-value Python work for the
//! builtin types. Values of other types go through the Python dumpers (`fallback`).

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDate, PyDateAccess, PyDateTime, PyDelta, PyDeltaAccess, PyDict,
    PyFloat, PyInt, PyList, PyString, PyTime, PyTimeAccess, PyTuple, PyTzInfoAccess,
};
use pyo3::{PyTraverseError, PyVisit};

use crate::encode::encode_text;
use crate::errors::data_error;

const BINARY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// PostgreSQL's epoch (2000-01-01) in days since 1970-01-01.
pub const PG_EPOCH_DAYS: i64 = 10_957;

/// A COPY FROM STDIN buffer: rows are appended natively; Python takes the bytes to send.
#[pyclass(frozen, module = "balrog._pg", name = "CopyBuffer")]
pub struct CopyBuffer {
    state: Mutex<State>,
    /// What every `put_row` formats with (set by `configure`): passing it on each call
    /// cost more per row than formatting the row.
    row_format: Mutex<Option<RowFormat>>,
}

struct RowFormat {
    text_map: Py<PyDict>,
    oids: std::sync::Arc<[u32]>,
    fallback: Py<PyAny>,
    flush_size: usize,
}

struct State {
    data: Vec<u8>,
    binary: bool,
    header_done: bool,
}

#[pymethods]
impl CopyBuffer {
    #[new]
    fn new(binary: bool) -> Self {
        CopyBuffer {
            state: Mutex::new(State {
                data: Vec::with_capacity(160 * 1024),
                binary,
                header_done: false,
            }),
            row_format: Mutex::new(None),
        }
    }

    /// Set what `put_row` formats rows with (see `write_row` for the arguments), and the
    /// buffer size from which `put_row` asks for a flush.
    fn configure(
        &self,
        text_map: Py<PyDict>,
        oids: Vec<u32>,
        fallback: Py<PyAny>,
        flush_size: usize,
    ) {
        *self.row_format.lock() = Some(RowFormat {
            text_map,
            oids: oids.into(),
            fallback,
            flush_size,
        });
    }

    /// Append one row with the configured format; true when the buffer should be flushed.
    fn put_row(&self, row: &Bound<'_, PyAny>) -> PyResult<bool> {
        let py = row.py();
        // Copied out (references only), so no lock is held while a Python fallback runs.
        let (text_map, oids, fallback, flush_size) = match &*self.row_format.lock() {
            Some(f) => (
                f.text_map.bind(py).clone(),
                f.oids.clone(),
                f.fallback.bind(py).clone(),
                f.flush_size,
            ),
            None => {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "CopyBuffer.put_row() before configure()",
                ))
            }
        };
        Ok(self.append_row(row, &text_map, &oids, &fallback)? >= flush_size)
    }

    // The configured fallback is usually a bound method of the Python Copy object that owns
    // this buffer: a reference cycle the garbage collector must be able to see and break.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(guard) = self.row_format.try_lock() {
            if let Some(format) = &*guard {
                visit.call(&format.text_map)?;
                visit.call(&format.fallback)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        *self.row_format.lock() = None;
    }

    fn __len__(&self) -> usize {
        self.state.lock().data.len()
    }

    /// Raw data written by the user (already in the COPY format).
    fn write(&self, data: &[u8]) {
        self.state.lock().data.extend_from_slice(data);
    }

    /// The bytes gathered so far (the buffer is emptied).
    fn take<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let mut state = self.state.lock();
        let bytes = PyBytes::new(py, &state.data);
        state.data.clear();
        bytes
    }

    /// End of a binary COPY: the trailer (and the header if no row was written).
    fn finish(&self) {
        let mut state = self.state.lock();
        if state.binary {
            if !state.header_done {
                push_header(&mut state.data);
                state.header_done = true;
            }
            state.data.extend_from_slice(&(-1i16).to_be_bytes());
        }
    }

    /// Append one row. Text format: `text_map` is {exact type: encoder code} (the TEXT
    /// placeholder map), `fallback(obj)` returns the Python dumper's bytes or None.
    /// Binary format: `oids` (from set_types, or empty) pick the encoding; without them the
    /// Python type does, for the types `text_map` lists (there: those whose binary dumper is
    /// the builtin one); `fallback(obj, oid)` returns the binary bytes of the rest.
    /// Returns the buffer's size.
    #[pyo3(signature = (row, text_map, oids, fallback))]
    fn write_row(
        &self,
        row: &Bound<'_, PyAny>,
        text_map: &Bound<'_, PyDict>,
        oids: Vec<u32>,
        fallback: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        self.append_row(row, text_map, &oids, fallback)
    }
}

impl CopyBuffer {
    fn append_row(
        &self,
        row: &Bound<'_, PyAny>,
        text_map: &Bound<'_, PyDict>,
        oids: &[u32],
        fallback: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let items: Vec<Bound<'_, PyAny>> = if let Ok(t) = row.downcast::<PyTuple>() {
            t.iter().collect()
        } else if let Ok(l) = row.downcast::<PyList>() {
            l.iter().collect()
        } else {
            row.try_iter()?.collect::<PyResult<_>>()?
        };
        let mut state = self.state.lock();
        if state.data.capacity() == 0 {
            // Emptied by copy_write (which moved the bytes out).
            state.data.reserve(40 * 1024);
        }
        if state.binary {
            if !state.header_done {
                push_header(&mut state.data);
                state.header_done = true;
            }
            let start = state.data.len();
            let outcome = binary_row(&items, text_map, oids, fallback, &mut state.data);
            if outcome.is_err() {
                state.data.truncate(start);
            }
            outcome?;
        } else {
            let start = state.data.len();
            let mut scratch = Vec::new();
            let outcome = text_row(&items, text_map, fallback, &mut state.data, &mut scratch);
            if outcome.is_err() {
                state.data.truncate(start);
            }
            outcome?;
        }
        Ok(state.data.len())
    }
}

/// What `PgConn.copy_write` sends: a CopyBuffer's contents (moved out, the buffer is left
/// empty), bytes, or anything else bytes-like.
pub fn take_data(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(buffer) = obj.downcast::<CopyBuffer>() {
        return Ok(std::mem::take(&mut buffer.get().state.lock().data));
    }
    if let Ok(bytes) = obj.downcast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if let Ok(array) = obj.downcast::<PyByteArray>() {
        return Ok(array.to_vec());
    }
    let bytes = obj.py().get_type::<PyBytes>().call1((obj,))?;
    Ok(bytes.downcast::<PyBytes>()?.as_bytes().to_vec())
}

fn push_header(out: &mut Vec<u8>) {
    out.extend_from_slice(BINARY_SIGNATURE);
    out.extend_from_slice(&0i32.to_be_bytes()); // flags
    out.extend_from_slice(&0i32.to_be_bytes()); // header extension length
}

fn text_row(
    items: &[Bound<'_, PyAny>],
    text_map: &Bound<'_, PyDict>,
    fallback: &Bound<'_, PyAny>,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> PyResult<()> {
    for (i, obj) in items.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        if obj.is_none() {
            out.extend_from_slice(b"\\N");
            continue;
        }
        scratch.clear();
        let code = match text_map.get_item(obj.get_type())? {
            Some(c) => c.extract::<u8>()?,
            None => 0,
        };
        let native = code != 0 && encode_text(code, obj, scratch)?.is_some();
        if native {
            escape_into(out, scratch);
            continue;
        }
        let data = fallback.call1((obj,))?;
        if data.is_none() {
            out.extend_from_slice(b"\\N");
        } else {
            escape_into(out, data.downcast::<PyBytes>()?.as_bytes());
        }
    }
    out.push(b'\n');
    Ok(())
}

/// COPY text escaping: backslash and the control characters that would end a field/row.
fn escape_into(out: &mut Vec<u8>, value: &[u8]) {
    for &b in value {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            8 => b"\\b",
            12 => b"\\f",
            11 => b"\\v",
            _ => {
                out.push(b);
                continue;
            }
        };
        out.extend_from_slice(escaped);
    }
}

/// `native_types`: the exact Python types whose binary dumper is the builtin one (a type
/// given another dumper by `register_dumper` goes to `fallback` when no oid is set for it).
fn binary_row(
    items: &[Bound<'_, PyAny>],
    native_types: &Bound<'_, PyDict>,
    oids: &[u32],
    fallback: &Bound<'_, PyAny>,
    out: &mut Vec<u8>,
) -> PyResult<()> {
    let count = i16::try_from(items.len())
        .map_err(|_| data_error(fallback.py(), "too many fields in a COPY row".into()))?;
    out.extend_from_slice(&count.to_be_bytes());
    for (i, obj) in items.iter().enumerate() {
        if obj.is_none() {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            continue;
        }
        // None: the value's type has a dumper of the user's; only Python may format it.
        let oid = match oids.get(i) {
            Some(&oid) => Some(oid),
            None if native_types.contains(obj.get_type())? => Some(oid_for(obj)?),
            None => None,
        };
        // The value is written in place after a length placeholder, patched once known.
        let length_at = out.len();
        out.extend_from_slice(&[0; 4]);
        let native = match oid {
            Some(oid) => oid_binary(oid, obj, out)?,
            None => false,
        };
        if !native {
            let oid = oid.unwrap_or(0);
            out.truncate(length_at + 4);
            let data = fallback.call1((obj, oid))?;
            if data.is_none() {
                out.truncate(length_at);
                out.extend_from_slice(&(-1i32).to_be_bytes());
                continue;
            }
            out.extend_from_slice(data.downcast::<PyBytes>()?.as_bytes());
        }
        let len = i32::try_from(out.len() - length_at - 4)
            .map_err(|_| data_error(obj.py(), "COPY value too large".into()))?;
        out[length_at..length_at + 4].copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

/// The type a value is sent as in a binary COPY without set_types (0: ask Python).
fn oid_for(obj: &Bound<'_, PyAny>) -> PyResult<u32> {
    Ok(if obj.is_exact_instance_of::<PyBool>() {
        16
    } else if obj.is_exact_instance_of::<PyInt>() {
        match obj.extract::<i64>() {
            Ok(v) if i16::try_from(v).is_ok() => 21,
            Ok(v) if i32::try_from(v).is_ok() => 23,
            Ok(_) => 20,
            Err(_) => 1700,
        }
    } else if obj.is_exact_instance_of::<PyFloat>() {
        701
    } else if obj.is_exact_instance_of::<PyString>() {
        25
    } else if obj.is_exact_instance_of::<PyBytes>() {
        17
    } else if obj.is_exact_instance_of::<PyDateTime>() {
        let dt = obj.downcast::<PyDateTime>()?;
        if dt.get_tzinfo().is_some() {
            1184
        } else {
            1114
        }
    } else if obj.is_exact_instance_of::<PyDate>() {
        1082
    } else if obj.is_exact_instance_of::<PyTime>() {
        1083
    } else if obj.is_exact_instance_of::<PyDelta>() {
        1186
    } else {
        0
    })
}

fn push_be_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Encode `obj` in PostgreSQL's binary format for `oid`. False: not a type/value pair
/// handled here (the Python dumper decides).
pub fn oid_binary(oid: u32, obj: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<bool> {
    let py = obj.py();
    let out_of_range = |what: &str| data_error(py, format!("value out of range for {what}"));
    match oid {
        16 if obj.is_instance_of::<PyBool>() => out.push(u8::from(obj.is_truthy()?)),
        21 | 23 | 20 | 26 if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() => {
            let v: i64 = obj.extract().map_err(|_| out_of_range("int8"))?;
            match oid {
                21 => out.extend_from_slice(
                    &i16::try_from(v)
                        .map_err(|_| out_of_range("int2"))?
                        .to_be_bytes(),
                ),
                23 => out.extend_from_slice(
                    &i32::try_from(v)
                        .map_err(|_| out_of_range("int4"))?
                        .to_be_bytes(),
                ),
                26 => out.extend_from_slice(
                    &u32::try_from(v)
                        .map_err(|_| out_of_range("oid"))?
                        .to_be_bytes(),
                ),
                _ => push_be_i64(out, v),
            }
        }
        700 | 701 if obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyInt>() => {
            let v: f64 = obj.extract()?;
            if oid == 700 {
                out.extend_from_slice(&(v as f32).to_be_bytes());
            } else {
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        // (Not json/jsonb: psycopg's dumper for a json column writes a str as a JSON string.)
        25 | 1043 | 1042 | 19 | 705 | 0 if obj.is_instance_of::<PyString>() => {
            let text = obj.downcast::<PyString>()?.to_str()?.as_bytes();
            if text.contains(&0) {
                return Err(data_error(
                    py,
                    "PostgreSQL text fields cannot contain NUL (0x00) bytes".into(),
                ));
            }
            out.extend_from_slice(text);
        }
        17 => {
            if let Ok(b) = obj.downcast::<PyBytes>() {
                out.extend_from_slice(b.as_bytes());
            } else if let Ok(b) = obj.downcast::<PyByteArray>() {
                out.extend_from_slice(&b.to_vec());
            } else {
                return Ok(false);
            }
        }
        1082 if obj.is_instance_of::<PyDate>() && !obj.is_instance_of::<PyDateTime>() => {
            let d = obj.downcast::<PyDate>()?;
            let days = days_from_civil(d.get_year(), d.get_month(), d.get_day()) - PG_EPOCH_DAYS;
            out.extend_from_slice(
                &i32::try_from(days)
                    .map_err(|_| out_of_range("date"))?
                    .to_be_bytes(),
            );
        }
        1083 if obj.is_instance_of::<PyTime>() => {
            let t = obj.downcast::<PyTime>()?;
            if t.get_tzinfo().is_some() {
                return Ok(false);
            }
            push_be_i64(
                out,
                time_micros(
                    t.get_hour(),
                    t.get_minute(),
                    t.get_second(),
                    t.get_microsecond(),
                ),
            );
        }
        1114 | 1184 if obj.is_instance_of::<PyDateTime>() => {
            let d = obj.downcast::<PyDateTime>()?;
            let days = days_from_civil(d.get_year(), d.get_month(), d.get_day()) - PG_EPOCH_DAYS;
            let mut micros = days * 86_400_000_000
                + time_micros(
                    d.get_hour(),
                    d.get_minute(),
                    d.get_second(),
                    d.get_microsecond(),
                );
            if oid == 1184 {
                // An instant: the wall time minus its UTC offset (naive values: Python decides).
                let offset = obj.call_method0("utcoffset")?;
                if offset.is_none() {
                    return Ok(false);
                }
                micros -= delta_micros(offset.downcast::<PyDelta>()?);
            }
            push_be_i64(out, micros);
        }
        1186 if obj.is_instance_of::<PyDelta>() => {
            let d = obj.downcast::<PyDelta>()?;
            push_be_i64(
                out,
                i64::from(d.get_seconds()) * 1_000_000 + i64::from(d.get_microseconds()),
            );
            out.extend_from_slice(&d.get_days().to_be_bytes());
            out.extend_from_slice(&0i32.to_be_bytes()); // months
        }
        2950 if obj.get_type().name()? == "UUID" => {
            let value: u128 = obj.getattr("int")?.extract()?;
            out.extend_from_slice(&value.to_be_bytes());
        }
        1700 => {
            let text = if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
                obj.str()?.to_str()?.to_owned()
            } else if obj.get_type().name()? == "Decimal" {
                // Fixed-point notation: no exponent to interpret.
                obj.call_method1("__format__", ("f",))?
                    .downcast::<PyString>()?
                    .to_str()?
                    .to_owned()
            } else {
                return Ok(false);
            };
            numeric_binary(&text, out)
                .ok_or_else(|| data_error(py, format!("can't dump numeric {text:?}")))?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn time_micros(h: u8, m: u8, s: u8, us: u32) -> i64 {
    ((i64::from(h) * 60 + i64::from(m)) * 60 + i64::from(s)) * 1_000_000 + i64::from(us)
}

fn delta_micros(d: &Bound<'_, PyDelta>) -> i64 {
    (i64::from(d.get_days()) * 86_400 + i64::from(d.get_seconds())) * 1_000_000
        + i64::from(d.get_microseconds())
}

/// A decimal number in plain notation ("-12.3400", "NaN", "Infinity") as PostgreSQL's
/// binary numeric: ndigits, weight, sign, dscale, then base-10000 digits.
fn numeric_binary(text: &str, out: &mut Vec<u8>) -> Option<()> {
    let special = |sign: u16, out: &mut Vec<u8>| {
        out.extend_from_slice(&0i16.to_be_bytes());
        out.extend_from_slice(&0i16.to_be_bytes());
        out.extend_from_slice(&sign.to_be_bytes());
        out.extend_from_slice(&0i16.to_be_bytes());
    };
    match text {
        t if t.contains("NaN") => {
            special(0xC000, out);
            return Some(());
        }
        "Infinity" | "inf" => {
            special(0xD000, out);
            return Some(());
        }
        "-Infinity" | "-inf" => {
            special(0xF000, out);
            return Some(());
        }
        _ => {}
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let dscale = u16::try_from(frac_part.len()).ok()?;
    // Pad the integer part on the left and the fraction on the right to groups of 4.
    let int_pad = (4 - int_part.len() % 4) % 4;
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let digits: Vec<u8> = std::iter::repeat_n(b'0', int_pad)
        .chain(int_part.bytes())
        .chain(frac_part.bytes())
        .chain(std::iter::repeat_n(b'0', frac_pad))
        .collect();
    let mut groups: Vec<i16> = digits
        .chunks(4)
        .map(|c| {
            c.iter()
                .fold(0i16, |acc, &d| acc * 10 + i16::from(d - b'0'))
        })
        .collect();
    let mut weight = i32::try_from((int_pad + int_part.len()) / 4).ok()? - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    out.extend_from_slice(&i16::try_from(groups.len()).ok()?.to_be_bytes());
    out.extend_from_slice(&i16::try_from(weight).ok()?.to_be_bytes());
    let sign: u16 = if negative && !groups.is_empty() {
        0x4000
    } else {
        0
    };
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 1, 1), PG_EPOCH_DAYS);
        assert_eq!(days_from_civil(1, 1, 1), -719_162);
    }

    #[test]
    fn numerics() {
        let mut out = Vec::new();
        numeric_binary("-12.3400", &mut out).unwrap();
        // ndigits 2, weight 0, negative, dscale 4, digits 12 3400
        assert_eq!(out, [0, 2, 0, 0, 0x40, 0, 0, 4, 0, 12, 0x0d, 0x48]);
        out.clear();
        numeric_binary("0.0001", &mut out).unwrap();
        assert_eq!(out, [0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 1]);
        out.clear();
        numeric_binary("10000", &mut out).unwrap();
        assert_eq!(out, [0, 1, 0, 1, 0, 0, 0, 0, 0, 1]);
    }
}
