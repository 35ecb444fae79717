//! PostgreSQL text-format values → the Python objects psycopg returns (binary-format
//! values: the `binary` submodule).
//!
//! Runs on the caller's thread with the GIL (inside a fetch), never on a tokio thread.
//! Values whose loader is a user (or Django) subclass go through that loader's `load()`.

use std::collections::HashMap;
use std::sync::Arc;

use pyo3::exceptions::PyNotImplementedError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{
    PyBytes, PyDate, PyDateTime, PyDelta, PyList, PyString, PyTime, PyTuple, PyTzInfo,
};
use pyo3::IntoPyObjectExt;

use crate::errors::{data_error, interface_error};

mod binary;

/// How one column (or array element, or range bound) is turned into a Python object.
pub enum Dec {
    Bool,
    Bytea,
    Int,
    /// `oid`: read as Int in text; unsigned in binary.
    Oid,
    Float,
    Numeric,
    Str,
    Json,
    /// `jsonb`: read as Json in text; binary values start with a version byte.
    Jsonb,
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
        20 | 21 | 23 => Int,
        26 => Oid,
        700 | 701 => Float,
        1700 => Numeric,
        114 => Json,
        3802 => Jsonb,
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
        1005 | 1007 | 1016 => arr(Int),
        1028 => arr(Oid),
        1021 | 1022 => arr(Float),
        1231 => arr(Numeric),
        199 => arr(Json),
        3807 => arr(Jsonb),
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

/// The session settings that change how text values are read, kept only when one of them
/// is not what the decoders' fast paths read: DateStyle (`ISO, ...`) and IntervalStyle
/// (`postgres`) as ParameterStatus reports them, and the SQL_ASCII client encoding, in
/// which psycopg returns text as bytes (the server converts nothing, so they may be in
/// any encoding).
#[derive(Debug, PartialEq, Eq)]
pub struct Styles {
    pub datestyle: String,
    pub intervalstyle: String,
    pub text_as_bytes: bool,
}

impl Styles {
    /// None for the defaults (an empty string counts as the default, as before the server
    /// has told).
    pub fn new(datestyle: &str, intervalstyle: &str, text_as_bytes: bool) -> Option<Arc<Styles>> {
        let iso = datestyle.is_empty() || datestyle.starts_with("ISO");
        let postgres = intervalstyle.is_empty() || intervalstyle == "postgres";
        if iso && postgres && !text_as_bytes {
            return None;
        }
        Some(Arc::new(Styles {
            datestyle: datestyle.to_owned(),
            intervalstyle: intervalstyle.to_owned(),
            text_as_bytes,
        }))
    }
}

/// How a DateStyle orders dates (psycopg's reading of it: German is day first, SQL and
/// Postgres are month first unless they end with DMY).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Ymd,
    Dmy,
    Mdy,
    /// Postgres style timestamps: `Tue 02 Jan 03:04:05 2024` / `Tue Jan 02 03:04:05 2024`.
    PgDmy,
    PgMdy,
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
    styles: Option<Arc<Styles>>,
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
            styles: None,
        })
    }

    /// DateStyle/IntervalStyle when not the defaults (see [`Styles`]).
    pub fn set_styles(&mut self, styles: Option<Arc<Styles>>) {
        self.styles = styles;
    }

    fn datestyle(&self) -> &str {
        match self.styles.as_deref() {
            Some(st) if !st.datestyle.is_empty() => &st.datestyle,
            _ => "ISO, DMY",
        }
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
            Dec::Str if self.styles.as_ref().is_some_and(|s| s.text_as_bytes) => {
                Ok(PyBytes::new(py, data).into_any())
            }
            Dec::Str => decode_utf8_lossy(py, data),
            Dec::Int | Dec::Oid => {
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
            // The server writes `t`/`f`; other text (a COPY column read as bool with
            // set_types) is true when it starts with `t`, as psycopg's C loader reads it.
            Dec::Bool => Ok(pyo3::types::PyBool::new(py, data.first() == Some(&b't'))
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
            Dec::Json | Dec::Jsonb => match json_with_keys(py, data, &mut self.keys)? {
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
            Dec::Date => match parse_ymd(data) {
                Some((y, m, d)) => match PyDate::new(py, y, m, d) {
                    Ok(v) => Ok(v.into_any()),
                    Err(e) => Err(self.date_error(data, &e.value(py).to_string())),
                },
                // Other DateStyles, BC, infinity, years past 9999.
                None => self.date_other(data),
            },
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
                // The ISO fast path; anything else (other DateStyles, BC, infinity, years
                // past 9999) goes to `timestamp_other`.
                let (date, rest) = split_space(data);
                let Some((y, m, d)) = parse_ymd(date) else {
                    return self.timestamp_other(data);
                };
                match parse_time(rest) {
                    Some((h, mi, s, us, b"")) => {
                        match PyDateTime::new(py, y, m, d, h, mi, s, us, None) {
                            Ok(v) => Ok(v.into_any()),
                            Err(e) => Err(self.timestamp_error(data, &e.value(py).to_string())),
                        }
                    }
                    _ => self.timestamp_other(data),
                }
            }
            Dec::Timestamptz => {
                let (date, rest) = split_space(data);
                let Some((y, m, d)) = parse_ymd(date) else {
                    return self.timestamptz_other(data);
                };
                let Some((h, mi, s, us, tail)) = parse_time(rest) else {
                    return self.timestamptz_other(data);
                };
                let Some(off) = parse_offset(tail) else {
                    return self.timestamptz_other(data);
                };
                let fields = (y as u64, m.into(), d.into(), h.into(), mi.into(), s.into());
                self.make_timestamptz(data, fields, us.into(), off)
            }
            Dec::Interval => {
                if let Some(st) = self.styles.as_deref() {
                    if !st.intervalstyle.is_empty() && st.intervalstyle != "postgres" {
                        // As psycopg: only the postgres style is read.
                        return Err(PyNotImplementedError::new_err(format!(
                            "can't parse interval with IntervalStyle {}: {}",
                            py_repr(py, &st.intervalstyle),
                            py_repr(py, &String::from_utf8_lossy(data)),
                        )));
                    }
                }
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

    /// How the session's DateStyle orders a date (psycopg's reading of it).
    fn order(&self, timestamp: bool) -> PyResult<Order> {
        let ds = self.datestyle();
        let dmy = ds.ends_with("DMY");
        Ok(match ds.as_bytes().first() {
            Some(b'I') => Order::Ymd,
            Some(b'G') => Order::Dmy,
            Some(b'P') if timestamp => {
                if dmy {
                    Order::PgDmy
                } else {
                    Order::PgMdy
                }
            }
            Some(b'S' | b'P') => {
                if dmy {
                    Order::Dmy
                } else {
                    Order::Mdy
                }
            }
            _ => {
                return Err(interface_error(
                    self.py,
                    format!("unexpected DateStyle: {ds}"),
                ))
            }
        })
    }

    /// A date the ISO fast path did not take: by position in the session's DateStyle
    /// (`02/01/2024`, `02.01.2024`, `01-02-2024`), or the error psycopg gives.
    fn date_other(&self, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let len = data.len();
        let part = |a: usize, b: usize| data.get(a.min(len)..b.min(len)).and_then(num);
        let (y, m, d) = match self.order(false)? {
            Order::Ymd => (part(0, 4), part(5, 7), part(8, len)),
            Order::Dmy | Order::PgDmy => (part(6, len), part(3, 5), part(0, 2)),
            Order::Mdy | Order::PgMdy => (part(6, len), part(0, 2), part(3, 5)),
        };
        let (Some(y), Some(m), Some(d)) = (y, m, d) else {
            return Err(self.date_error(data, "unexpected format"));
        };
        match PyDate::new(
            self.py,
            clamp_i32(y.into()),
            clamp_u8(m.into()),
            clamp_u8(d.into()),
        ) {
            Ok(v) => Ok(v.into_any()),
            Err(e) => Err(self.date_error(data, &e.value(self.py).to_string())),
        }
    }

    /// psycopg's words for a date it cannot load: out of Python's range, or unparsable.
    fn date_error(&self, data: &[u8], why: &str) -> PyErr {
        let s = String::from_utf8_lossy(data);
        let r = py_repr(self.py, &s);
        let long = s
            .split_whitespace()
            .next()
            .is_some_and(|t| t.chars().count() > 10);
        let msg = if s == "infinity" || long {
            format!("date too large (after year 10K): {r}")
        } else if s == "-infinity" || s.contains("BC") {
            format!("date too small (before year 1): {r}")
        } else {
            format!("can't parse date {r}: {why}")
        };
        data_error(self.py, msg)
    }

    /// psycopg's words for a timestamp (with or without time zone) it cannot load.
    fn timestamp_error(&self, data: &[u8], why: &str) -> PyErr {
        let s = String::from_utf8_lossy(data);
        let r = py_repr(self.py, &s);
        let overflow = if self.datestyle().starts_with('P') {
            // Postgres style: the year comes last.
            s.split_whitespace()
                .next_back()
                .is_some_and(|t| t.chars().count() > 4)
        } else {
            s.split_whitespace()
                .next()
                .is_some_and(|t| t.chars().count() > 10)
        };
        let msg = if s == "-infinity" || s.ends_with("BC") {
            format!("timestamp too small (before year 1): {r}")
        } else if s == "infinity" || overflow {
            format!("timestamp too large (after year 10K): {r}")
        } else {
            format!("can't parse timestamp {r}: {why}")
        };
        data_error(self.py, msg)
    }

    /// A timestamp the ISO fast path did not take: any DateStyle, or the error psycopg gives.
    fn timestamp_other(&self, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let order = self.order(true)?;
        let fields = match order {
            Order::PgDmy | Order::PgMdy => match scan_postgres_timestamp(data) {
                Some((first, second, [h, mi, s], frac, y)) => {
                    let (day, month) = if order == Order::PgDmy {
                        (first, second)
                    } else {
                        (second, first)
                    };
                    let Some(m) = month_number(month) else {
                        let month = String::from_utf8_lossy(month);
                        let msg = format!("can't parse month: {}", py_repr(self.py, &month));
                        return Err(data_error(self.py, msg));
                    };
                    let Some(d) = big_num(day) else {
                        let why = format!(
                            "invalid literal for int() with base 10: b'{}'",
                            String::from_utf8_lossy(day)
                        );
                        return Err(self.timestamp_error(data, &why));
                    };
                    Some(([y, m, d, h, mi, s], frac))
                }
                None => None,
            },
            _ => scan_timestamp(data, false)
                .or_else(|| scan_timestamp_lenient(data, false))
                .map(|([a, b, c, h, mi, s], frac, _)| {
                    let ymd = match order {
                        Order::Dmy => [c, b, a],
                        Order::Mdy => [c, a, b],
                        _ => [a, b, c],
                    };
                    ([ymd[0], ymd[1], ymd[2], h, mi, s], frac)
                }),
        };
        let Some(([y, m, d, h, mi, s], frac)) = fields else {
            return Err(self.timestamp_error(data, "(unknown)"));
        };
        let us = micros(frac);
        let py = self.py;
        let (m, d, h, mi, s) = (
            clamp_u8(m),
            clamp_u8(d),
            clamp_u8(h),
            clamp_u8(mi),
            clamp_u8(s),
        );
        match PyDateTime::new(py, clamp_i32(y), m, d, h, mi, s, clamp_u32(us), None) {
            Ok(v) => Ok(v.into_any()),
            Err(e) => Err(self.timestamp_error(data, &e.value(py).to_string())),
        }
    }

    /// A timestamptz the ISO fast path did not take. Other DateStyles write zone names
    /// (`CET`) that cannot be read back reliably: NotImplementedError, as psycopg.
    fn timestamptz_other(&mut self, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let ds = self.datestyle();
        if !ds.starts_with('I') {
            let s = String::from_utf8_lossy(data);
            return Err(PyNotImplementedError::new_err(format!(
                "can't parse timestamptz with DateStyle {}: {}",
                py_repr(self.py, ds),
                py_repr(self.py, &s)
            )));
        }
        let fields = scan_timestamp(data, true).or_else(|| scan_timestamp_lenient(data, true));
        let Some(([y, m, d, h, mi, s], frac, Some(off))) = fields else {
            return Err(self.timestamp_error(data, "(unknown)"));
        };
        let Ok(off) = i32::try_from(off) else {
            return Err(self.timestamp_error(data, "(unknown)"));
        };
        self.make_timestamptz(data, (y, m, d, h, mi, s), micros(frac), off)
    }

    /// An aware datetime in the session time zone from UTC offset `off` (seconds); one past
    /// Python's range there keeps its fixed offset, as psycopg does.
    fn make_timestamptz(
        &mut self,
        data: &[u8],
        (y, m, d, h, mi, s): (u64, u64, u64, u64, u64, u64),
        us: u64,
        off: i32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let (y, us) = (clamp_i32(y), clamp_u32(us));
        let (m, d, h, mi, s) = (
            clamp_u8(m),
            clamp_u8(d),
            clamp_u8(h),
            clamp_u8(mi),
            clamp_u8(s),
        );
        if off == 0 && self.tz_is_utc {
            return match PyDateTime::new(py, y, m, d, h, mi, s, us, Some(&self.tz)) {
                Ok(v) => Ok(v.into_any()),
                Err(e) => Err(self.timestamp_error(data, &e.value(py).to_string())),
            };
        }
        let tz = self.offset(off)?;
        let dt = match PyDateTime::new(py, y, m, d, h, mi, s, us, Some(&tz)) {
            Ok(v) => v,
            Err(e) => return Err(self.timestamp_error(data, &e.value(py).to_string())),
        };
        match dt.call_method1("astimezone", (&self.tz,)) {
            Ok(v) => Ok(v),
            Err(_) => Ok(dt.into_any()),
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

/// `repr()` of a str, for error messages worded as psycopg's.
fn py_repr(py: Python<'_>, s: &str) -> String {
    PyString::new(py, s)
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| format!("'{s}'"))
}

fn clamp_i32(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn clamp_u8(v: u64) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Digits as a number (saturating: too large a value fails later, with Python's message).
fn big_num(data: &[u8]) -> Option<u64> {
    if data.is_empty() || !data.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(data.iter().fold(0u64, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// A fraction of second (its digits) in microseconds.
fn micros(frac: Option<&[u8]>) -> u64 {
    match frac {
        None => 0,
        Some(f) => {
            let v = big_num(f).unwrap_or(0);
            if f.len() < 6 {
                v * 10u64.pow((6 - f.len()) as u32)
            } else {
                v
            }
        }
    }
}

fn month_number(name: &[u8]) -> Option<u64> {
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    MONTHS.iter().position(|&m| m == name).map(|i| i as u64 + 1)
}

/// A cursor over a value, for the shapes psycopg accepts: runs of digits or letters
/// between single separators (any byte but an ASCII letter or digit).
struct Scan<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Scan<'a> {
    fn run(&mut self, pred: fn(&u8) -> bool) -> Option<&'a [u8]> {
        let start = self.pos;
        while self.data.get(self.pos).is_some_and(pred) {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.data[start..self.pos])
    }

    fn digits(&mut self) -> Option<&'a [u8]> {
        self.run(u8::is_ascii_digit)
    }

    fn number(&mut self) -> Option<u64> {
        big_num(self.digits()?)
    }

    fn sep(&mut self) -> Option<()> {
        let c = self.data.get(self.pos)?;
        if c.is_ascii_alphanumeric() {
            return None;
        }
        self.pos += 1;
        Some(())
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.data.get(self.pos) == Some(&c) {
            self.pos += 1;
            return true;
        }
        false
    }

    /// `h sep m sep s`: the clock part of both timestamp styles.
    fn clock(&mut self) -> Option<(u64, u64, u64)> {
        let h = self.number()?;
        self.sep()?;
        let m = self.number()?;
        self.sep()?;
        Some((h, m, self.number()?))
    }

    /// `(\.\d+)?`
    fn fraction(&mut self) -> Option<&'a [u8]> {
        let save = self.pos;
        if self.eat(b'.') {
            if let Some(f) = self.digits() {
                return Some(f);
            }
        }
        self.pos = save;
        None
    }

    fn at_end(&self) -> bool {
        self.pos == self.data.len()
    }
}

type Fields<'a> = ([u64; 6], Option<&'a [u8]>, Option<i64>);

/// `d sep d sep d (T|sep) h sep m sep s [.frac]`, then with `offset` `±h[:m[:s]]`: the
/// three date numbers in the order written, the time, fraction and offset in seconds.
fn scan_timestamp(data: &[u8], offset: bool) -> Option<Fields<'_>> {
    let mut sc = Scan { data, pos: 0 };
    let a = sc.number()?;
    sc.sep()?;
    let b = sc.number()?;
    sc.sep()?;
    let c = sc.number()?;
    if !(sc.eat(b'T') || sc.eat(b't')) {
        sc.sep()?;
    }
    let (h, mi, s) = sc.clock()?;
    let frac = sc.fraction();
    let mut off = None;
    if offset {
        let sign: i64 = if sc.eat(b'+') {
            1
        } else if sc.eat(b'-') {
            -1
        } else {
            return None;
        };
        let oh = sc.number()?;
        let om = if sc.eat(b':') { sc.number()? } else { 0 };
        let os = if sc.eat(b':') { sc.number()? } else { 0 };
        let total = oh
            .checked_mul(3600)?
            .checked_add(om.checked_mul(60)?)?
            .checked_add(os)?;
        off = Some(sign * i64::try_from(total).ok()?);
    }
    sc.at_end().then_some(([a, b, c, h, mi, s], frac, off))
}

/// psycopg's C loaders' reading of a timestamp that is not the server's own output (a COPY
/// column read with `set_types` as another type, a value from elsewhere): up to six groups
/// of digits, every other byte a separator, missing groups 0 (`2024-01-02` is midnight);
/// then `.micros`, and with `offset` a sign and up to three groups (`+02:30`). Whatever
/// follows is ignored, as there. None where a group overflows, and for BC dates (which
/// psycopg refuses before reading anything).
fn scan_timestamp_lenient(data: &[u8], offset: bool) -> Option<Fields<'_>> {
    if data.ends_with(b"C") {
        return None;
    }
    let (vals, mut pos) = digit_groups::<6>(data)?;
    let mut frac = None;
    if data.get(pos) == Some(&b'.') {
        let start = pos + 1;
        let len = data[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        frac = Some(&data[start..start + len]);
        pos = start + len;
    }
    let mut off = None;
    if offset {
        let sign: i64 = if data.get(pos) == Some(&b'-') { -1 } else { 1 };
        let ([h, m, s], _) = digit_groups::<3>(data.get(pos + 1..).unwrap_or_default())?;
        let total = h
            .checked_mul(3600)?
            .checked_add(m.checked_mul(60)?)?
            .checked_add(s)?;
        off = Some(sign * i64::try_from(total).ok()?);
    }
    Some((vals, frac, off))
}

/// Up to `N` groups of digits, each non-digit byte moving to the next group (psycopg's
/// `_parse_date_values`); the groups and the position of the byte that ended the last.
fn digit_groups<const N: usize>(data: &[u8]) -> Option<([u64; N], usize)> {
    let mut vals = [0u64; N];
    let mut group = 0;
    let mut pos = 0;
    while let Some(&byte) = data.get(pos) {
        if byte.is_ascii_digit() {
            vals[group] = vals[group]
                .checked_mul(10)?
                .checked_add(u64::from(byte - b'0'))?;
        } else {
            group += 1;
            if group >= N {
                break;
            }
        }
        pos += 1;
    }
    Some((vals, pos))
}

type PgFields<'a> = (&'a [u8], &'a [u8], [u64; 3], Option<&'a [u8]>, u64);

/// Postgres style: `Dow sep (day|Mon) sep (Mon|day) sep h sep m sep s [.frac] sep year`.
fn scan_postgres_timestamp(data: &[u8]) -> Option<PgFields<'_>> {
    let mut sc = Scan { data, pos: 0 };
    sc.run(u8::is_ascii_alphabetic)?;
    sc.sep()?;
    let first = sc.digits().or_else(|| sc.run(u8::is_ascii_alphabetic))?;
    sc.sep()?;
    let second = sc.digits().or_else(|| sc.run(u8::is_ascii_alphabetic))?;
    sc.sep()?;
    let (h, mi, s) = sc.clock()?;
    let save = sc.pos;
    for with_fraction in [true, false] {
        sc.pos = save;
        let frac = if with_fraction {
            match sc.fraction() {
                Some(f) => Some(f),
                None => continue,
            }
        } else {
            None
        };
        if sc.sep().is_none() {
            continue;
        }
        if let Some(y) = sc.number() {
            if sc.at_end() {
                return Some((first, second, [h, mi, s], frac, y));
            }
        }
    }
    None
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
