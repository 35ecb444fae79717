//! PostgreSQL binary-format values (results asked for with `binary=True`) → the Python
//! objects psycopg's binary loaders return.
//!
//! The formats are the server's `*send` functions: big-endian integers and IEEE floats,
//! dates as days and times as microseconds since 2000-01-01, numerics as base-10000 digit
//! groups, containers (arrays, ranges, multiranges) as length-prefixed elements. Errors
//! are worded as psycopg's binary loaders word them.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDate, PyDateTime, PyDelta, PyDict, PyList, PyTime};
use pyo3::IntoPyObjectExt;

use super::{Ctx, Dec};
use crate::errors::data_error;

/// `date(2000, 1, 1).toordinal()`: PostgreSQL's epoch as a Python date ordinal.
const PG_EPOCH_ORDINAL: i64 = 730_120;
/// `date(9999, 12, 31).toordinal()`: the last date Python has.
const MAX_ORDINAL: i64 = 3_652_059;
const USECS_PER_DAY: i64 = 86_400_000_000;

// Range flags (rangetypes.h).
const RANGE_EMPTY: u8 = 0x01;
const RANGE_LB_INC: u8 = 0x02;
const RANGE_UB_INC: u8 = 0x04;
const RANGE_LB_INF: u8 = 0x08;
const RANGE_UB_INF: u8 = 0x10;

/// Numeric sign words (numeric.c).
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;

/// A cursor over a binary value: big-endian reads that fail (None) past the end.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn i16(&mut self) -> Option<i16> {
        self.take(2).map(|b| i16::from_be_bytes([b[0], b[1]]))
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Option<i32> {
        self.take(4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self) -> Option<i64> {
        self.take(8)
            .and_then(|b| b.try_into().ok())
            .map(i64::from_be_bytes)
    }

    /// A length-prefixed element: Some(None) for NULL (length -1).
    fn element(&mut self) -> Option<Option<&'a [u8]>> {
        let len = self.i32()?;
        if len < 0 {
            return Some(None);
        }
        self.take(len as usize).map(Some)
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
}

/// The whole value as one big-endian number of exactly `N` bytes.
fn exact<const N: usize>(data: &[u8]) -> Option<[u8; N]> {
    data.try_into().ok()
}

/// (year, month, day) of a Python date ordinal (1 = 0001-01-01), proleptic Gregorian.
fn civil_from_ordinal(ordinal: i64) -> (i32, u8, u8) {
    // Days since 0000-03-01, so that a leap day ends its year (H. Hinnant's algorithm).
    let z = ordinal - 719_163 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month as u8, day as u8)
}

/// Microseconds since 2000-01-01 → (date ordinal, hour, minute, second, microsecond), or
/// None when the date is outside Python's years 1–9999.
fn split_timestamp(micros: i64) -> Option<(i64, u8, u8, u8, u32)> {
    let days = micros.div_euclid(USECS_PER_DAY);
    let ordinal = days.checked_add(PG_EPOCH_ORDINAL)?;
    if !(1..=MAX_ORDINAL).contains(&ordinal) {
        return None;
    }
    let (h, mi, s, us) = split_clock(micros.rem_euclid(USECS_PER_DAY));
    Some((ordinal, h as u8, mi as u8, s as u8, us))
}

/// Microseconds of a day → (hour, minute, second, microsecond); the hour may be 24.
fn split_clock(micros: i64) -> (i64, i64, i64, u32) {
    let (rest, us) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (rest, s) = (rest.div_euclid(60), rest.rem_euclid(60));
    let (h, mi) = (rest.div_euclid(60), rest.rem_euclid(60));
    (h, mi, s, us as u32)
}

/// numeric_send's digits → the value's text, at the scale the server gave (`dscale`), which
/// `Decimal()` reads exactly whatever its context's precision.
fn numeric_text(data: &[u8]) -> Option<String> {
    let mut r = Reader::new(data);
    let ndigits = usize::try_from(r.i16()?).ok()?;
    let weight = i64::from(r.i16()?);
    let sign = r.u16()?;
    let dscale = usize::from(r.u16()?);
    match sign {
        NUMERIC_NAN => return Some("NaN".into()),
        NUMERIC_PINF => return Some("Infinity".into()),
        NUMERIC_NINF => return Some("-Infinity".into()),
        _ => {}
    }
    let mut digits = Vec::with_capacity(ndigits);
    for _ in 0..ndigits {
        let d = r.i16()?;
        if !(0..10_000).contains(&d) {
            return None;
        }
        digits.push(d);
    }
    // digits[i] counts 10000^(weight - i).
    let group = |i: i64| -> i16 {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut out = String::with_capacity(8 + 4 * ndigits + dscale);
    if sign == NUMERIC_NEG {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        out.push_str(&group(0).to_string());
        for i in 1..=weight {
            out.push_str(&format!("{:04}", group(i)));
        }
    }
    if dscale > 0 {
        out.push('.');
        let start = out.len();
        let mut i = weight + 1;
        while out.len() - start < dscale {
            out.push_str(&format!("{:04}", group(i)));
            i += 1;
        }
        out.truncate(start + dscale);
    }
    Some(out)
}

/// inet/cidr's binary form (family, bits, is_cidr, length, address) → its text form.
fn inet_text(data: &[u8]) -> Option<String> {
    let mut r = Reader::new(data);
    let family = r.u8()?;
    let bits = r.u8()?;
    let _is_cidr = r.u8()?;
    let len = usize::from(r.u8()?);
    let addr = r.take(len)?;
    let (text, full) = match family {
        2 => {
            let a: [u8; 4] = addr.try_into().ok()?;
            (std::net::Ipv4Addr::from(a).to_string(), 32)
        }
        3 => {
            let a: [u8; 16] = addr.try_into().ok()?;
            (std::net::Ipv6Addr::from(a).to_string(), 128)
        }
        _ => return None,
    };
    Some(if bits == full {
        text
    } else {
        format!("{text}/{bits}")
    })
}

impl<'py> Ctx<'py> {
    fn bad_binary(&self, what: &str, data: &[u8]) -> PyErr {
        data_error(
            self.py,
            format!("can't parse binary {what}: {} bytes", data.len()),
        )
    }

    /// A value that is exactly one int8: microseconds, for the time types.
    fn micros(&self, what: &str, data: &[u8]) -> PyResult<i64> {
        exact::<8>(data)
            .map(i64::from_be_bytes)
            .ok_or_else(|| self.bad_binary(what, data))
    }

    /// One binary-format value, decoded as `dec` says.
    pub fn decode_binary(&mut self, dec: &Dec, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        match dec {
            // Text, JSON and unknown-as-text values are the same bytes in both formats.
            Dec::Str | Dec::Json => self.decode(dec, data),
            Dec::Jsonb => match data.split_first() {
                Some((1, rest)) => self.decode(&Dec::Json, rest),
                Some((version, _)) => Err(data_error(
                    py,
                    format!("unknown jsonb binary format: {version}"),
                )),
                None => Err(self.bad_binary("jsonb", data)),
            },
            Dec::Int => match data.len() {
                2 => i16::from_be_bytes([data[0], data[1]]).into_bound_py_any(py),
                4 => i32::from_be_bytes([data[0], data[1], data[2], data[3]]).into_bound_py_any(py),
                8 => match exact::<8>(data) {
                    Some(b) => i64::from_be_bytes(b).into_bound_py_any(py),
                    None => Err(self.bad_binary("int", data)),
                },
                _ => Err(self.bad_binary("int", data)),
            },
            Dec::Oid => match exact::<4>(data) {
                Some(b) => u32::from_be_bytes(b).into_bound_py_any(py),
                None => Err(self.bad_binary("oid", data)),
            },
            Dec::Float => match data.len() {
                4 => f64::from(f32::from_be_bytes([data[0], data[1], data[2], data[3]]))
                    .into_bound_py_any(py),
                8 => match exact::<8>(data) {
                    Some(b) => f64::from_be_bytes(b).into_bound_py_any(py),
                    None => Err(self.bad_binary("float", data)),
                },
                _ => Err(self.bad_binary("float", data)),
            },
            Dec::Bool => match data {
                [b] => Ok(pyo3::types::PyBool::new(py, *b != 0).to_owned().into_any()),
                _ => Err(self.bad_binary("bool", data)),
            },
            Dec::Bytea => Ok(PyBytes::new(py, data).into_any()),
            Dec::Numeric => {
                let text = numeric_text(data).ok_or_else(|| self.bad_binary("numeric", data))?;
                self.c.decimal.bind(py).call1((text,))
            }
            Dec::Uuid => {
                let bytes = exact::<16>(data).ok_or_else(|| self.bad_binary("uuid", data))?;
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                self.c.uuid.bind(py).call1((hex,))
            }
            Dec::Inet | Dec::Cidr => {
                let text = inet_text(data).ok_or_else(|| self.bad_binary("inet", data))?;
                self.decode(dec, text.as_bytes())
            }
            Dec::Date => {
                let days = exact::<4>(data)
                    .map(i32::from_be_bytes)
                    .ok_or_else(|| self.bad_binary("date", data))?;
                let ordinal = i64::from(days) + PG_EPOCH_ORDINAL;
                if ordinal < 1 {
                    return Err(data_error(py, "date too small (before year 1)".into()));
                }
                if ordinal > MAX_ORDINAL {
                    return Err(data_error(py, "date too large (after year 10K)".into()));
                }
                let (y, m, d) = civil_from_ordinal(ordinal);
                Ok(PyDate::new(py, y, m, d)?.into_any())
            }
            Dec::Time => {
                let micros = self.micros("time", data)?;
                self.time(micros, None)
            }
            Dec::TimeTz => {
                let mut r = Reader::new(data);
                let (Some(micros), Some(west), 0) = (r.i64(), r.i32(), r.remaining()) else {
                    return Err(self.bad_binary("timetz", data));
                };
                // The server counts the offset in seconds west of UTC.
                let tz = self.offset(-west)?;
                self.time(micros, Some(&tz))
            }
            Dec::Timestamp => {
                let micros = self.micros("timestamp", data)?;
                let (ordinal, h, mi, s, us) =
                    split_timestamp(micros).ok_or_else(|| timestamp_range_error(py, micros))?;
                let (y, m, d) = civil_from_ordinal(ordinal);
                Ok(PyDateTime::new(py, y, m, d, h, mi, s, us, None)?.into_any())
            }
            Dec::Timestamptz => {
                let micros = self.micros("timestamptz", data)?;
                self.timestamptz(micros)
            }
            Dec::Interval => {
                let mut r = Reader::new(data);
                let (Some(micros), Some(days), Some(months), 0) =
                    (r.i64(), r.i32(), r.i32(), r.remaining())
                else {
                    return Err(self.bad_binary("interval", data));
                };
                // psycopg's reading: a month is 30 days, a year (12 months) 365.
                let (years, rest) = (i64::from(months) / 12, i64::from(months) % 12);
                let days = i64::from(days) + 30 * rest + 365 * years;
                let secs = micros.div_euclid(1_000_000);
                let us = micros.rem_euclid(1_000_000) as i32;
                let days = days + secs.div_euclid(86_400);
                let secs = secs.rem_euclid(86_400) as i32;
                let delta = i32::try_from(days)
                    .map_err(|_| {
                        data_error(
                            py,
                            format!(
                                "can't parse interval: days={days}; must have magnitude <= 999999999"
                            ),
                        )
                    })
                    .and_then(|days| {
                        PyDelta::new(py, days, secs, us, true)
                            .map_err(|e| data_error(py, format!("can't parse interval: {e}")))
                    })?;
                Ok(delta.into_any())
            }
            Dec::Array(inner, _) => self.binary_array(inner, data),
            Dec::Range(inner) => self.binary_range(inner, data),
            Dec::Multirange(inner) => {
                let (_, multi) = self.range_classes()?;
                let mut r = Reader::new(data);
                let count = r.i32().ok_or_else(|| self.bad_binary("multirange", data))?;
                let items = PyList::empty(py);
                for _ in 0..count.max(0) {
                    let item = match r.element() {
                        Some(Some(item)) => item,
                        _ => return Err(self.bad_binary("multirange", data)),
                    };
                    items.append(self.binary_range(inner, item)?)?;
                }
                if multi.is_none() {
                    Ok(items.into_any())
                } else {
                    multi.call1((items,))
                }
            }
            Dec::Py(load) => load.bind(py).call1((PyBytes::new(py, data),)),
        }
    }

    /// A time of day from microseconds; 24:00:00 is valid in PostgreSQL, not in Python.
    fn time(
        &mut self,
        micros: i64,
        tz: Option<&Bound<'py, pyo3::types::PyTzInfo>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (h, mi, s, us) = split_clock(micros);
        let fields = (u8::try_from(h), u8::try_from(mi), u8::try_from(s));
        match fields {
            (Ok(h8), Ok(mi), Ok(s)) if h8 < 24 && micros >= 0 => {
                Ok(PyTime::new(self.py, h8, mi, s, us, tz)?.into_any())
            }
            _ => Err(data_error(
                self.py,
                format!("time not supported by Python: hour={h}"),
            )),
        }
    }

    /// An aware datetime in the session time zone. A value Python can't hold in UTC but
    /// can in the session zone (`datetime.max` at UTC-6) is shifted by the zone's offset
    /// there, as psycopg does.
    fn timestamptz(&mut self, micros: i64) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        if let Some((ordinal, h, mi, s, us)) = split_timestamp(micros) {
            let (y, m, d) = civil_from_ordinal(ordinal);
            if self.tz_is_utc {
                return Ok(PyDateTime::new(py, y, m, d, h, mi, s, us, Some(&self.tz))?.into_any());
            }
            let utc = self.offset(0)?;
            let dt = PyDateTime::new(py, y, m, d, h, mi, s, us, Some(&utc))?;
            if let Ok(local) = dt.call_method1("astimezone", (&self.tz,)) {
                return Ok(local);
            }
        }
        // Past the edge in UTC (or in the zone): try the zone's own offset at that edge.
        let edge = if micros < 0 { "min" } else { "max" };
        let edge = py.import("datetime")?.getattr("datetime")?.getattr(edge)?;
        let offset = self.tz.call_method1("utcoffset", (edge,))?;
        if !offset.is_none() {
            let seconds: f64 = offset.call_method0("total_seconds")?.extract()?;
            let shifted = micros.checked_add(1_000_000 * seconds as i64);
            if let Some((ordinal, h, mi, s, us)) = shifted.and_then(split_timestamp) {
                let (y, m, d) = civil_from_ordinal(ordinal);
                return Ok(PyDateTime::new(py, y, m, d, h, mi, s, us, Some(&self.tz))?.into_any());
            }
        }
        Err(timestamp_range_error(py, micros))
    }

    /// array_send's format: dimensions, lower bounds, then the elements (NULL as length
    /// -1) in row-major order → nested lists.
    fn binary_array(&mut self, inner: &Dec, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let mut r = Reader::new(data);
        let (Some(ndim), Some(_flags), Some(_element_oid)) = (r.i32(), r.i32(), r.i32()) else {
            return Err(self.bad_binary("array", data));
        };
        if ndim <= 0 {
            return Ok(PyList::empty(self.py).into_any());
        }
        let mut dims = Vec::with_capacity(ndim as usize);
        let mut total: usize = 1;
        for _ in 0..ndim {
            let (Some(size), Some(_lower)) = (r.i32(), r.i32()) else {
                return Err(self.bad_binary("array", data));
            };
            let size = usize::try_from(size).map_err(|_| self.bad_binary("array", data))?;
            total = total.saturating_mul(size);
            dims.push(size);
        }
        // Every element takes at least its 4-byte length: a bigger count is a lie.
        if total > r.remaining() / 4 {
            return Err(self.bad_binary("array", data));
        }
        let list = self.array_level(inner, &dims, &mut r, data)?;
        Ok(list.into_any())
    }

    fn array_level(
        &mut self,
        inner: &Dec,
        dims: &[usize],
        r: &mut Reader<'_>,
        data: &[u8],
    ) -> PyResult<Bound<'py, PyList>> {
        let py = self.py;
        let list = PyList::empty(py);
        for _ in 0..dims[0] {
            if dims.len() > 1 {
                list.append(self.array_level(inner, &dims[1..], r, data)?)?;
                continue;
            }
            match r.element() {
                Some(None) => list.append(py.None())?,
                Some(Some(value)) => list.append(self.decode_binary(inner, value)?)?,
                None => return Err(self.bad_binary("array", data)),
            }
        }
        Ok(list)
    }

    /// range_send's format: a flags byte, then the bounds that are neither infinite nor
    /// absent (an empty range has none), each with its length.
    fn binary_range(&mut self, inner: &Dec, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let (range, _) = self.range_classes()?;
        let mut r = Reader::new(data);
        let flags = r.u8().ok_or_else(|| self.bad_binary("range", data))?;
        if flags & RANGE_EMPTY != 0 {
            let kwargs = PyDict::new(py);
            kwargs.set_item("empty", true)?;
            return range.call((), Some(&kwargs));
        }
        let mut bound = |ctx: &mut Self, infinite: bool| -> PyResult<Bound<'py, PyAny>> {
            if infinite {
                return Ok(py.None().into_bound(py));
            }
            match r.element() {
                Some(Some(value)) => ctx.decode_binary(inner, value),
                Some(None) => Ok(py.None().into_bound(py)),
                None => Err(ctx.bad_binary("range", data)),
            }
        };
        let lower = bound(self, flags & RANGE_LB_INF != 0)?;
        let upper = bound(self, flags & RANGE_UB_INF != 0)?;
        let bounds = format!(
            "{}{}",
            if flags & RANGE_LB_INC != 0 { '[' } else { '(' },
            if flags & RANGE_UB_INC != 0 { ']' } else { ')' }
        );
        range.call1((lower, upper, bounds))
    }
}

fn timestamp_range_error(py: Python<'_>, micros: i64) -> PyErr {
    if micros <= 0 {
        data_error(py, "timestamp too small (before year 1)".into())
    } else {
        data_error(py, "timestamp too large (after year 10K)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals() {
        assert_eq!(civil_from_ordinal(1), (1, 1, 1));
        assert_eq!(civil_from_ordinal(PG_EPOCH_ORDINAL), (2000, 1, 1));
        assert_eq!(civil_from_ordinal(MAX_ORDINAL), (9999, 12, 31));
        assert_eq!(civil_from_ordinal(730_179), (2000, 2, 29));
    }

    #[test]
    fn numerics() {
        // 12345.678: weight 1, digits [1, 2345, 6780], dscale 3
        let mut data = vec![0, 3, 0, 1, 0, 0, 0, 3];
        for d in [1u16, 2345, 6780] {
            data.extend_from_slice(&d.to_be_bytes());
        }
        assert_eq!(numeric_text(&data).as_deref(), Some("12345.678"));
        // 0.0001: weight -1, digits [1], dscale 4
        let data = [0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 1];
        assert_eq!(numeric_text(&data).as_deref(), Some("0.0001"));
        // -0.00000001: weight -2, digits [1], dscale 8
        let data = [0, 1, 0xff, 0xfe, 0x40, 0, 0, 8, 0, 1];
        assert_eq!(numeric_text(&data).as_deref(), Some("-0.00000001"));
        // 10000: weight 1, digits [1], dscale 0
        let data = [0, 1, 0, 1, 0, 0, 0, 0, 0, 1];
        assert_eq!(numeric_text(&data).as_deref(), Some("10000"));
        // 0 with scale 2
        let data = [0, 0, 0, 0, 0, 0, 0, 2];
        assert_eq!(numeric_text(&data).as_deref(), Some("0.00"));
    }
}
