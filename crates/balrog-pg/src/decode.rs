//! PostgreSQL text-format values → the Python objects psycopg returns.
//!
//! Runs on the caller's thread with the GIL (inside a fetch), never on a tokio thread.
//! Values whose loader is a user (or Django) subclass go through that loader's `load()`.

use std::collections::HashMap;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{
    PyBytes, PyDate, PyDateTime, PyDelta, PyList, PyString, PyTime, PyTuple, PyTzInfo,
};
use pyo3::IntoPyObjectExt;

use crate::errors::data_error;

/// How one column (or array element, or range bound) is turned into a Python object.
pub enum Dec {
    Bool,
    Bytea,
    Int,
    Float,
    Numeric,
    Str,
    Json,
    Date,
    Time,
    TimeTz,
    Timestamp,
    Timestamptz,
    Interval,
    Uuid,
    Inet,
    Cidr,
    Array(Box<Dec>, u8),
    Range(Box<Dec>),
    Multirange(Box<Dec>),
    /// A Python loader's bound `load` method, called with the value as bytes.
    Py(PyObject),
}

pub fn builtin(oid: u32) -> Dec {
    use Dec::*;
    let arr = |d: Dec| Array(Box::new(d), b',');
    match oid {
        16 => Bool,
        17 => Bytea,
        20 | 21 | 23 | 26 => Int,
        700 | 701 => Float,
        1700 => Numeric,
        114 | 3802 => Json,
        1082 => Date,
        1083 => Time,
        1266 => TimeTz,
        1114 => Timestamp,
        1184 => Timestamptz,
        1186 => Interval,
        2950 => Uuid,
        869 => Inet,
        650 => Cidr,
        1000 => arr(Bool),
        1001 => arr(Bytea),
        1005 | 1007 | 1016 | 1028 => arr(Int),
        1021 | 1022 => arr(Float),
        1231 => arr(Numeric),
        199 | 3807 => arr(Json),
        1182 => arr(Date),
        1183 => arr(Time),
        1270 => arr(TimeTz),
        1115 => arr(Timestamp),
        1185 => arr(Timestamptz),
        1187 => arr(Interval),
        2951 => arr(Uuid),
        1041 => arr(Inet),
        651 => arr(Cidr),
        1002 | 1003 | 1009 | 1014 | 1015 | 1263 | 143 => arr(Str),
        3904 | 3926 => Range(Box::new(Int)),
        3906 => Range(Box::new(Numeric)),
        3908 => Range(Box::new(Timestamp)),
        3910 => Range(Box::new(Timestamptz)),
        3912 => Range(Box::new(Date)),
        3905 | 3927 => arr(Range(Box::new(Int))),
        3907 => arr(Range(Box::new(Numeric))),
        3909 => arr(Range(Box::new(Timestamp))),
        3911 => arr(Range(Box::new(Timestamptz))),
        3913 => arr(Range(Box::new(Date))),
        4451 | 4536 => Multirange(Box::new(Int)),
        4532 => Multirange(Box::new(Numeric)),
        4533 => Multirange(Box::new(Timestamp)),
        4534 => Multirange(Box::new(Timestamptz)),
        4535 => Multirange(Box::new(Date)),
        _ => Str,
    }
}

/// Build a decoder from the spec the Python side computed for a column:
/// an int (builtin decoder of that oid), a callable (a loader's `load`), or
/// `("array", spec, delimiter)`.
pub fn from_spec(spec: &Bound<'_, PyAny>) -> PyResult<Dec> {
    if let Ok(oid) = spec.extract::<u32>() {
        return Ok(builtin(oid));
    }
    if let Ok(tuple) = spec.downcast::<PyTuple>() {
        let kind: String = tuple.get_item(0)?.extract()?;
        let inner = from_spec(&tuple.get_item(1)?)?;
        return Ok(match kind.as_str() {
            "array" => {
                let delim: String = tuple.get_item(2)?.extract()?;
                Dec::Array(Box::new(inner), delim.bytes().next().unwrap_or(b','))
            }
            "range" => Dec::Range(Box::new(inner)),
            _ => Dec::Multirange(Box::new(inner)),
        });
    }
    Ok(Dec::Py(spec.clone().unbind()))
}

struct Cached {
    decimal: PyObject,
    uuid: PyObject,
    ip_address: PyObject,
    ip_interface: PyObject,
    ip_network: PyObject,
    json_loads: PyObject,
    timezone: PyObject,
}

static CACHED: GILOnceCell<Cached> = GILOnceCell::new();

fn cached(py: Python<'_>) -> PyResult<&Cached> {
    CACHED.get_or_try_init(py, || {
        let ip = py.import("ipaddress")?;
        Ok(Cached {
            decimal: py.import("decimal")?.getattr("Decimal")?.unbind(),
            uuid: py.import("uuid")?.getattr("UUID")?.unbind(),
            ip_address: ip.getattr("ip_address")?.unbind(),
            ip_interface: ip.getattr("ip_interface")?.unbind(),
            ip_network: ip.getattr("ip_network")?.unbind(),
            json_loads: py.import("json")?.getattr("loads")?.unbind(),
            timezone: py.import("datetime")?.getattr("timezone")?.unbind(),
        })
    })
}

/// Per-fetch context: the session time zone and lazily imported classes.
pub struct Ctx<'py> {
    py: Python<'py>,
    c: &'py Cached,
    tz: Bound<'py, PyTzInfo>,
    tz_is_utc: bool,
    offsets: HashMap<i32, Bound<'py, PyTzInfo>>,
    range: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    keys: KeyCache<'py>,
}

impl<'py> Ctx<'py> {
    pub fn new(py: Python<'py>, tz: &Bound<'py, PyAny>, tz_is_utc: bool) -> PyResult<Self> {
        Ok(Ctx {
            py,
            c: cached(py)?,
            tz: tz.downcast::<PyTzInfo>()?.clone(),
            tz_is_utc,
            offsets: HashMap::new(),
            range: None,
            keys: KeyCache::new(),
        })
    }

    fn offset(&mut self, seconds: i32) -> PyResult<Bound<'py, PyTzInfo>> {
        if let Some(tz) = self.offsets.get(&seconds) {
            return Ok(tz.clone());
        }
        let delta = PyDelta::new(self.py, 0, seconds, 0, true)?;
        let tz = self
            .c
            .timezone
            .bind(self.py)
            .call1((delta,))?
            .downcast_into::<PyTzInfo>()?;
        self.offsets.insert(seconds, tz.clone());
        Ok(tz)
    }

    fn range_classes(&mut self) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        if let Some(r) = &self.range {
            return Ok(r.clone());
        }
        let module = self.py.import("balrog.psycopg.types.range")?;
        let range = module.getattr("Range")?;
        let multi = self
            .py
            .import("balrog.psycopg.types.multirange")
            .and_then(|m| m.getattr("Multirange"))
            .unwrap_or_else(|_| self.py.None().into_bound(self.py));
        self.range = Some((range.clone(), multi.clone()));
        Ok((range, multi))
    }

    fn bad(&self, what: &str, data: &[u8]) -> PyErr {
        data_error(
            self.py,
            format!("can't parse {what}: {:?}", String::from_utf8_lossy(data)),
        )
    }

    pub fn decode(&mut self, dec: &Dec, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        match dec {
            Dec::Str => decode_utf8_lossy(py, data),
            Dec::Int => {
                let s = std::str::from_utf8(data).map_err(|_| self.bad("int", data))?;
                match s.parse::<i64>() {
                    Ok(v) => v.into_bound_py_any(py),
                    Err(_) => py.get_type::<pyo3::types::PyInt>().call1((s,)),
                }
            }
            Dec::Float => {
                let s = std::str::from_utf8(data).map_err(|_| self.bad("float", data))?;
                let v: f64 = s.parse().map_err(|_| self.bad("float", data))?;
                v.into_bound_py_any(py)
            }
            Dec::Bool => Ok(pyo3::types::PyBool::new(py, data == b"t")
                .to_owned()
                .into_any()),
            Dec::Numeric => {
                let s = std::str::from_utf8(data).map_err(|_| self.bad("numeric", data))?;
                self.c.decimal.bind(py).call1((s,))
            }
            Dec::Bytea => Ok(PyBytes::new(
                py,
                &unescape_bytea(data).ok_or_else(|| self.bad("bytea", data))?,
            )
            .into_any()),
            Dec::Json => match json_with_keys(py, data, &mut self.keys)? {
                Some(value) => Ok(value),
                None => {
                    // What the native parser declines, json.loads decides: the same
                    // object, or the same error.
                    let s = std::str::from_utf8(data).map_err(|_| self.bad("json", data))?;
                    self.c.json_loads.bind(py).call1((s,))
                }
            },
            Dec::Uuid => {
                let s = std::str::from_utf8(data).map_err(|_| self.bad("uuid", data))?;
                self.c.uuid.bind(py).call1((s,))
            }
            Dec::Inet => {
                let s = std::str::from_utf8(data).map_err(|_| self.bad("inet", data))?;
                if s.contains('/') {
                    self.c.ip_interface.bind(py).call1((s,))
                } else {
                    self.c.ip_address.bind(py).call1((s,))
                }
            }
            Dec::Cidr => {
                let s = std::str::from_utf8(data).map_err(|_| self.bad("cidr", data))?;
                self.c.ip_network.bind(py).call1((s,))
            }
            Dec::Date => {
                let (y, m, d) = self.parse_date(data, "date")?;
                Ok(PyDate::new(py, y, m, d)?.into_any())
            }
            Dec::Time => {
                let (h, mi, s, us, rest) =
                    parse_time(data).ok_or_else(|| self.bad("time", data))?;
                if !rest.is_empty() {
                    return Err(self.bad("time", data));
                }
                let (h, mi, s, us) = clamp24(h, mi, s, us).ok_or_else(|| self.bad("time", data))?;
                Ok(PyTime::new(py, h, mi, s, us, None)?.into_any())
            }
            Dec::TimeTz => {
                let (h, mi, s, us, rest) =
                    parse_time(data).ok_or_else(|| self.bad("timetz", data))?;
                let off = parse_offset(rest).ok_or_else(|| self.bad("timetz", data))?;
                let (h, mi, s, us) =
                    clamp24(h, mi, s, us).ok_or_else(|| self.bad("timetz", data))?;
                let tz = self.offset(off)?;
                Ok(PyTime::new(py, h, mi, s, us, Some(&tz))?.into_any())
            }
            Dec::Timestamp => {
                let (date, rest) = split_space(data);
                let (y, m, d) = self.parse_date(date, "timestamp")?;
                let (h, mi, s, us, tail) =
                    parse_time(rest).ok_or_else(|| self.bad("timestamp", data))?;
                if !tail.is_empty() {
                    return Err(self.bad("timestamp", data));
                }
                Ok(PyDateTime::new(py, y, m, d, h, mi, s, us, None)?.into_any())
            }
            Dec::Timestamptz => {
                let (date, rest) = split_space(data);
                let (y, m, d) = self.parse_date(date, "timestamp")?;
                let (h, mi, s, us, tail) =
                    parse_time(rest).ok_or_else(|| self.bad("timestamptz", data))?;
                let off = parse_offset(tail).ok_or_else(|| self.bad("timestamptz", data))?;
                if off == 0 && self.tz_is_utc {
                    return Ok(
                        PyDateTime::new(py, y, m, d, h, mi, s, us, Some(&self.tz))?.into_any()
                    );
                }
                let tz = self.offset(off)?;
                let dt = PyDateTime::new(py, y, m, d, h, mi, s, us, Some(&tz))?;
                match dt.call_method1("astimezone", (&self.tz,)) {
                    Ok(v) => Ok(v),
                    Err(_) => Ok(dt.into_any()),
                }
            }
            Dec::Interval => {
                let (days, micros) =
                    parse_interval(data).ok_or_else(|| self.bad("interval", data))?;
                let secs = micros.div_euclid(1_000_000);
                let us = micros.rem_euclid(1_000_000) as i32;
                let days = days + secs.div_euclid(86_400);
                let secs = secs.rem_euclid(86_400) as i32;
                let days = i32::try_from(days).map_err(|_| self.bad("interval", data))?;
                PyDelta::new(py, days, secs, us, true)
                    .map(|d| d.into_any())
                    .map_err(|e| data_error(py, format!("can't parse interval: {e}")))
            }
            Dec::Array(inner, delim) => {
                let mut pos = 0usize;
                // An explicit lower bound prefix: "[0:2]={...}".
                if data.first() == Some(&b'[') {
                    match data.iter().position(|&b| b == b'=') {
                        Some(eq) => pos = eq + 1,
                        None => return Err(self.bad("array", data)),
                    }
                }
                let (list, _) = self.parse_array(inner, *delim, data, pos)?;
                Ok(list.into_any())
            }
            Dec::Range(inner) => self.parse_range(inner, data),
            Dec::Multirange(inner) => {
                let (_, multi) = self.range_classes()?;
                let items = PyList::empty(py);
                let body = data
                    .strip_prefix(b"{")
                    .and_then(|d| d.strip_suffix(b"}"))
                    .ok_or_else(|| self.bad("multirange", data))?;
                let mut start = 0usize;
                let mut i = 0usize;
                let mut quoted = false;
                while i < body.len() {
                    match body[i] {
                        b'"' => quoted = !quoted,
                        b'\\' => i += 1,
                        b')' | b']' if !quoted => {
                            items.append(self.parse_range(inner, &body[start..=i])?)?;
                            start = i + 2;
                            i += 1;
                        }
                        b'y' if !quoted && body[start..].starts_with(b"empty") => {
                            items.append(self.parse_range(inner, b"empty")?)?;
                            start = i + 2;
                        }
                        _ => {}
                    }
                    i += 1;
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

    fn parse_date(&self, data: &[u8], what: &str) -> PyResult<(i32, u8, u8)> {
        match parse_ymd(data) {
            Some(v) => Ok(v),
            None => {
                let s = String::from_utf8_lossy(data);
                let msg = if s.starts_with("infinity")
                    || s.len() > 10 && !s.starts_with('-') && !s.ends_with("BC")
                {
                    format!("{what} too large (after year 10K): {s:?}")
                } else if s.starts_with("-infinity") || s.ends_with("BC") {
                    format!("{what} too small (before year 1): {s:?}")
                } else {
                    format!("can't parse {what}: {s:?}")
                };
                Err(data_error(self.py, msg.replace('"', "'")))
            }
        }
    }

    /// Parse `{a,b,{c}}` starting at `pos`; returns the list and the position after it.
    fn parse_array(
        &mut self,
        inner: &Dec,
        delim: u8,
        data: &[u8],
        mut pos: usize,
    ) -> PyResult<(Bound<'py, PyList>, usize)> {
        let py = self.py;
        if data.get(pos) != Some(&b'{') {
            return Err(self.bad("array", data));
        }
        pos += 1;
        let list = PyList::empty(py);
        let mut buf: Vec<u8> = Vec::new();
        loop {
            match data.get(pos) {
                None => return Err(self.bad("array", data)),
                Some(b'}') => return Ok((list, pos + 1)),
                Some(b'{') => {
                    let (sub, next) = self.parse_array(inner, delim, data, pos)?;
                    list.append(sub)?;
                    pos = next;
                }
                Some(b'"') => {
                    buf.clear();
                    pos += 1;
                    loop {
                        match data.get(pos) {
                            None => return Err(self.bad("array", data)),
                            Some(b'\\') => {
                                if let Some(&c) = data.get(pos + 1) {
                                    buf.push(c);
                                }
                                pos += 2;
                            }
                            Some(b'"') => {
                                pos += 1;
                                break;
                            }
                            Some(&c) => {
                                buf.push(c);
                                pos += 1;
                            }
                        }
                    }
                    list.append(self.decode(inner, &buf)?)?;
                }
                Some(&c) if c == delim => pos += 1,
                Some(_) => {
                    buf.clear();
                    while let Some(&c) = data.get(pos) {
                        if c == delim || c == b'}' {
                            break;
                        }
                        if c == b'\\' {
                            pos += 1;
                            if let Some(&e) = data.get(pos) {
                                buf.push(e);
                            }
                        } else {
                            buf.push(c);
                        }
                        pos += 1;
                    }
                    if buf.eq_ignore_ascii_case(b"NULL") {
                        list.append(py.None())?;
                    } else {
                        list.append(self.decode(inner, &buf)?)?;
                    }
                }
            }
        }
    }

    fn parse_range(&mut self, inner: &Dec, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let (range, _) = self.range_classes()?;
        if data == b"empty" {
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("empty", true)?;
            return range.call((), Some(&kwargs));
        }
        let (Some(&open), Some(&close)) = (data.first(), data.last()) else {
            return Err(self.bad("range", data));
        };
        if !(open == b'[' || open == b'(') || !(close == b']' || close == b')') || data.len() < 3 {
            return Err(self.bad("range", data));
        }
        let body = &data[1..data.len() - 1];
        let mut bounds: Vec<Option<Vec<u8>>> = Vec::with_capacity(2);
        let mut pos = 0usize;
        for _ in 0..2 {
            if pos >= body.len() || body[pos] == b',' {
                bounds.push(None);
                pos += 1;
                continue;
            }
            let mut buf = Vec::new();
            let mut quoted = false;
            while pos < body.len() {
                let c = body[pos];
                if quoted {
                    if c == b'\\' && pos + 1 < body.len() {
                        buf.push(body[pos + 1]);
                        pos += 2;
                        continue;
                    }
                    if c == b'"' {
                        if body.get(pos + 1) == Some(&b'"') {
                            buf.push(b'"');
                            pos += 2;
                            continue;
                        }
                        quoted = false;
                        pos += 1;
                        continue;
                    }
                    buf.push(c);
                } else if c == b'"' {
                    quoted = true;
                } else if c == b',' {
                    break;
                } else {
                    buf.push(c);
                }
                pos += 1;
            }
            pos += 1;
            bounds.push(Some(buf));
        }
        let mut values = Vec::with_capacity(2);
        for b in &bounds {
            values.push(match b {
                None => py.None().into_bound(py),
                Some(v) => self.decode(inner, v)?,
            });
        }
        let spec = format!("{}{}", open as char, close as char);
        range.call1((values[0].clone(), values[1].clone(), spec))
    }
}

fn split_space(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b' ') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fn num(data: &[u8]) -> Option<u32> {
    if data.is_empty() || data.len() > 9 || !data.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        data.iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0')),
    )
}

fn parse_ymd(data: &[u8]) -> Option<(i32, u8, u8)> {
    if data.len() != 10 || data[4] != b'-' || data[7] != b'-' {
        return None;
    }
    let y = num(&data[0..4])?;
    let m = num(&data[5..7])?;
    let d = num(&data[8..10])?;
    if y == 0 {
        return None;
    }
    Some((y as i32, m as u8, d as u8))
}

/// `HH:MM:SS[.ffffff]` then whatever follows (an offset, for timetz/timestamptz).
fn parse_time(data: &[u8]) -> Option<(u8, u8, u8, u32, &[u8])> {
    if data.len() < 8 || data[2] != b':' || data[5] != b':' {
        return None;
    }
    let h = num(&data[0..2])?;
    let mi = num(&data[3..5])?;
    let s = num(&data[6..8])?;
    let mut pos = 8;
    let mut us = 0u32;
    if data.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while pos < data.len() && data[pos].is_ascii_digit() {
            pos += 1;
        }
        let digits = &data[start..pos];
        if digits.is_empty() {
            return None;
        }
        let take = digits.len().min(6);
        us = num(&digits[..take])? * 10u32.pow((6 - take) as u32);
    }
    Some((h as u8, mi as u8, s as u8, us, &data[pos..]))
}

/// PostgreSQL prints 24:00:00 for the end of the day; Python's time cannot hold it.
fn clamp24(h: u8, mi: u8, s: u8, us: u32) -> Option<(u8, u8, u8, u32)> {
    if h == 24 && mi == 0 && s == 0 && us == 0 {
        return None;
    }
    Some((h, mi, s, us))
}

/// `+HH`, `-HH:MM`, `+HH:MM:SS` → seconds east of UTC.
fn parse_offset(data: &[u8]) -> Option<i32> {
    let sign = match data.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let mut parts = data[1..].split(|&b| b == b':');
    let h = num(parts.next()?)? as i32;
    let m = parts.next().map(num).unwrap_or(Some(0))? as i32;
    let s = parts.next().map(num).unwrap_or(Some(0))? as i32;
    Some(sign * (h * 3600 + m * 60 + s))
}

/// IntervalStyle "postgres": `1 year 2 mons -3 days +04:05:06.789`. Months count as 30
/// days and years as 365, as psycopg does.
fn parse_interval(data: &[u8]) -> Option<(i64, i64)> {
    let s = std::str::from_utf8(data).ok()?;
    let mut days: i64 = 0;
    let mut micros: i64 = 0;
    let mut months: i64 = 0;
    let mut tokens = s.split_ascii_whitespace().peekable();
    while let Some(tok) = tokens.next() {
        if tok.contains(':') {
            let (neg, body) = match tok.as_bytes()[0] {
                b'-' => (true, &tok[1..]),
                b'+' => (false, &tok[1..]),
                _ => (false, tok),
            };
            let mut parts = body.split(':');
            let h: i64 = parts.next()?.parse().ok()?;
            let m: i64 = parts.next()?.parse().ok()?;
            let sec = parts.next().unwrap_or("0");
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let whole: i64 = whole.parse().ok()?;
            let mut f = 0i64;
            if !frac.is_empty() {
                let digits = &frac[..frac.len().min(6)];
                f = digits.parse::<i64>().ok()? * 10i64.pow((6 - digits.len()) as u32);
            }
            let total = ((h * 60 + m) * 60 + whole) * 1_000_000 + f;
            micros += if neg { -total } else { total };
        } else {
            let value: i64 = tok.parse().ok()?;
            let unit = tokens.next()?;
            match unit.trim_end_matches('s') {
                "year" => months += value * 12,
                "mon" => months += value,
                "day" => days += value,
                _ => return None,
            }
        }
    }
    let years = months / 12;
    let rem = months % 12;
    days += 365 * years + 30 * rem;
    Some((days, micros))
}

fn unescape_bytea(data: &[u8]) -> Option<Vec<u8>> {
    if let Some(hex) = data.strip_prefix(b"\\x") {
        if hex.len() % 2 != 0 {
            return None;
        }
        let val = |c: u8| -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            }
        };
        let mut out = Vec::with_capacity(hex.len() / 2);
        for pair in hex.chunks(2) {
            out.push(val(pair[0])? << 4 | val(pair[1])?);
        }
        return Some(out);
    }
    // bytea_output = escape
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\\' {
            if data.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
            } else {
                let oct = data.get(i + 1..i + 4)?;
                let v = oct.iter().try_fold(0u32, |acc, &d| {
                    (b'0'..=b'7')
                        .contains(&d)
                        .then(|| acc * 8 + u32::from(d - b'0'))
                })?;
                out.push(u8::try_from(v).ok()?);
                i += 4;
            }
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    Some(out)
}

impl<'py> Ctx<'py> {
    pub fn py(&self) -> Python<'py> {
        self.py
    }
}

/// JSON text → the objects `json.loads` returns (dict, list, str, int, float, bool, None),
/// built directly. Returns None for anything it does not handle exactly as `json.loads`
/// (NaN/Infinity literals, lone surrogates, malformed text): the caller then asks
/// `json.loads` itself, for the same result or the same error.
fn json_with_keys<'py>(
    py: Python<'py>,
    text: &[u8],
    keys: &mut KeyCache<'py>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let mut parser = JsonParser {
        py,
        s: text,
        pos: 0,
        keys,
    };
    parser.skip_ws();
    let value = match parser.value(0)? {
        Some(v) => v,
        None => return Ok(None),
    };
    parser.skip_ws();
    Ok(if parser.pos == text.len() {
        Some(value)
    } else {
        None
    })
}

struct JsonParser<'py, 'a, 'k> {
    py: Python<'py>,
    s: &'a [u8],
    pos: usize,
    keys: &'k mut KeyCache<'py>,
}

/// Object keys seen during one fetch, reused as the same `str` objects: the rows of a
/// jsonb column repeat the same few keys, and a reused key costs neither an allocation
/// nor a hash (a str caches its hash). json.loads makes equal, distinct key objects; no
/// program can tell the difference except by `is`. Direct-mapped: a slot holds the last
/// key that hashed to it.
pub struct KeyCache<'py> {
    slots: Vec<Option<CachedKey<'py>>>,
}

/// A key's raw bytes and the str made from them.
type CachedKey<'py> = (Box<[u8]>, Bound<'py, PyString>);

const KEY_CACHE_SLOTS: usize = 256;
/// Longer keys are rare enough not to be worth caching.
const KEY_CACHE_MAX_LEN: usize = 32;

impl<'py> KeyCache<'py> {
    pub fn new() -> Self {
        KeyCache { slots: Vec::new() }
    }

    fn slot(bytes: &[u8]) -> usize {
        // FNV-1a: cheap and good enough to spread short keys over the slots.
        let mut h: u32 = 0x811c_9dc5;
        for &b in bytes {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        (h as usize) % KEY_CACHE_SLOTS
    }

    /// The `str` for an escape-free key's raw bytes (None if not valid UTF-8).
    fn get(&mut self, py: Python<'py>, bytes: &[u8]) -> PyResult<Option<Bound<'py, PyString>>> {
        if bytes.len() > KEY_CACHE_MAX_LEN {
            return new_str(py, bytes);
        }
        if self.slots.is_empty() {
            self.slots.resize_with(KEY_CACHE_SLOTS, || None);
        }
        let i = Self::slot(bytes);
        if let Some((k, v)) = &self.slots[i] {
            if **k == *bytes {
                return Ok(Some(v.clone()));
            }
        }
        let made = new_str(py, bytes)?;
        if let Some(v) = &made {
            self.slots[i] = Some((bytes.into(), v.clone()));
        }
        Ok(made)
    }
}

/// A str from UTF-8 bytes, validated once (by CPython's decoder, which has an ASCII fast
/// path); None if the bytes are not valid UTF-8.
fn new_str<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Option<Bound<'py, PyString>>> {
    // SAFETY: the pointer/length pair describes a live slice; the result is a new
    // reference or NULL with an exception set.
    let ptr = unsafe {
        ffi::PyUnicode_DecodeUTF8(
            bytes.as_ptr().cast(),
            bytes.len() as ffi::Py_ssize_t,
            c"strict".as_ptr(),
        )
    };
    if ptr.is_null() {
        // Invalid UTF-8: drop the UnicodeDecodeError, the caller falls back.
        drop(PyErr::fetch(py));
        return Ok(None);
    }
    // SAFETY: non-NULL new reference to a str.
    Ok(Some(unsafe {
        Bound::from_owned_ptr(py, ptr).downcast_into_unchecked::<PyString>()
    }))
}

/// Text as a str, invalid UTF-8 replaced by U+FFFD (one pass, in CPython's decoder).
fn decode_utf8_lossy<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: as in `new_str`; "replace" cannot fail on bad bytes, only on memory.
    unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyUnicode_DecodeUTF8(
                data.as_ptr().cast(),
                data.len() as ffi::Py_ssize_t,
                c"replace".as_ptr(),
            ),
        )
    }
}

/// Deeper documents go to `json.loads` (which raises RecursionError where it must).
const JSON_MAX_DEPTH: usize = 512;

impl<'py> JsonParser<'py, '_, '_> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> PyResult<Option<Bound<'py, PyAny>>> {
        if depth > JSON_MAX_DEPTH {
            return Ok(None);
        }
        let py = self.py;
        match self.s.get(self.pos) {
            Some(b'{') => {
                self.pos += 1;
                let dict = pyo3::types::PyDict::new(py);
                self.skip_ws();
                if self.s.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Some(dict.into_any()));
                }
                loop {
                    self.skip_ws();
                    if self.s.get(self.pos) != Some(&b'"') {
                        return Ok(None);
                    }
                    let Some(key) = self.string(true)? else {
                        return Ok(None);
                    };
                    self.skip_ws();
                    if self.s.get(self.pos) != Some(&b':') {
                        return Ok(None);
                    }
                    self.pos += 1;
                    self.skip_ws();
                    let Some(item) = self.value(depth + 1)? else {
                        return Ok(None);
                    };
                    dict.set_item(key, item)?;
                    self.skip_ws();
                    match self.s.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Some(dict.into_any()));
                        }
                        _ => return Ok(None),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let list = PyList::empty(py);
                self.skip_ws();
                if self.s.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Some(list.into_any()));
                }
                loop {
                    self.skip_ws();
                    let Some(item) = self.value(depth + 1)? else {
                        return Ok(None);
                    };
                    list.append(item)?;
                    self.skip_ws();
                    match self.s.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Some(list.into_any()));
                        }
                        _ => return Ok(None),
                    }
                }
            }
            Some(b'"') => Ok(self.string(false)?.map(|s| s.into_any())),
            Some(b't') => self.literal(b"true", || {
                pyo3::types::PyBool::new(py, true).to_owned().into_any()
            }),
            Some(b'f') => self.literal(b"false", || {
                pyo3::types::PyBool::new(py, false).to_owned().into_any()
            }),
            Some(b'n') => self.literal(b"null", || py.None().into_bound(py)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Ok(None),
        }
    }

    fn literal(
        &mut self,
        word: &[u8],
        make: impl FnOnce() -> Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.s[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(Some(make()))
        } else {
            Ok(None)
        }
    }

    fn number(&mut self) -> PyResult<Option<Bound<'py, PyAny>>> {
        let start = self.pos;
        if self.s.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let digits_start = self.pos;
        while matches!(self.s.get(self.pos), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        let int_digits = &self.s[digits_start..self.pos];
        // JSON's grammar: no empty integer part, no leading zeros.
        if int_digits.is_empty() || (int_digits.len() > 1 && int_digits[0] == b'0') {
            return Ok(None);
        }
        let mut is_float = false;
        if self.s.get(self.pos) == Some(&b'.') {
            is_float = true;
            self.pos += 1;
            let frac_start = self.pos;
            while matches!(self.s.get(self.pos), Some(b'0'..=b'9')) {
                self.pos += 1;
            }
            if self.pos == frac_start {
                return Ok(None);
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.pos) {
            is_float = true;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.s.get(self.pos) {
                self.pos += 1;
            }
            let exp_start = self.pos;
            while matches!(self.s.get(self.pos), Some(b'0'..=b'9')) {
                self.pos += 1;
            }
            if self.pos == exp_start {
                return Ok(None);
            }
        }
        // Only ASCII digits and signs were accepted above.
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        let py = self.py;
        if is_float {
            return match text.parse::<f64>() {
                Ok(v) => Ok(Some(v.into_bound_py_any(py)?)),
                Err(_) => Ok(None),
            };
        }
        match text.parse::<i64>() {
            Ok(v) => Ok(Some(v.into_bound_py_any(py)?)),
            Err(_) => Ok(Some(py.get_type::<pyo3::types::PyInt>().call1((text,))?)),
        }
    }

    /// A string starting at the opening quote (`key`: an object key, worth caching).
    fn string(&mut self, key: bool) -> PyResult<Option<Bound<'py, PyString>>> {
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes.
        while let Some(&c) = self.s.get(self.pos) {
            match c {
                b'"' => {
                    let raw = &self.s[start..self.pos];
                    self.pos += 1;
                    return if key {
                        self.keys.get(self.py, raw)
                    } else {
                        new_str(self.py, raw)
                    };
                }
                b'\\' => break,
                // Control characters are not allowed raw in JSON strings.
                0..=0x1f => return Ok(None),
                _ => self.pos += 1,
            }
        }
        let mut out = String::new();
        let Ok(head) = std::str::from_utf8(&self.s[start..self.pos]) else {
            return Ok(None);
        };
        out.push_str(head);
        loop {
            let run_start = self.pos;
            while let Some(&c) = self.s.get(self.pos) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            let Ok(run) = std::str::from_utf8(&self.s[run_start..self.pos]) else {
                return Ok(None);
            };
            out.push_str(run);
            match self.s.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Some(PyString::new(self.py, &out)));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let Some(&esc) = self.s.get(self.pos) else {
                        return Ok(None);
                    };
                    self.pos += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let Some(first) = self.hex4() else {
                                return Ok(None);
                            };
                            let code = if (0xD800..0xDC00).contains(&first) {
                                // A high surrogate must pair with a low one; a lone one is
                                // left to json.loads (a Rust string cannot hold it).
                                if self.s.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Ok(None);
                                }
                                self.pos += 2;
                                let Some(second) = self.hex4() else {
                                    return Ok(None);
                                };
                                if !(0xDC00..0xE000).contains(&second) {
                                    return Ok(None);
                                }
                                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                            } else {
                                first
                            };
                            match char::from_u32(code) {
                                Some(ch) => out.push(ch),
                                None => return Ok(None),
                            }
                        }
                        _ => return Ok(None),
                    }
                }
                _ => return Ok(None),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.s.get(self.pos..self.pos + 4)?;
        let text = std::str::from_utf8(digits).ok()?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        u32::from_str_radix(text, 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval(b"1 day 02:00:00"), Some((1, 7_200_000_000)));
        assert_eq!(
            parse_interval(b"-1 days +00:00:01.5"),
            Some((-1, 1_500_000))
        );
        assert_eq!(parse_interval(b"1 year 2 mons"), Some((365 + 60, 0)));
        assert_eq!(parse_interval(b"-00:00:00.000001"), Some((0, -1)));
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset(b"+05:30"), Some(19800));
        assert_eq!(parse_offset(b"-01"), Some(-3600));
    }
}
