//! Parameters in PostgreSQL's binary wire format: what psycopg's `%s` sends for numbers,
//! bools, dates and times, intervals and UUIDs (its AUTO dumpers for those types are the
//! binary ones). The Python side picks these codes through the `_balrog_enc` of
//! `balrog/psycopg/types/_binary.py`'s dumpers; their `dump` methods are the reference
//! the tests compare with.
//!
//! Each encoder answers `None` for a value it leaves to its Python dumper (an out-of-range
//! wrapped int, a zone with no offset), which then raises psycopg's error.

use pyo3::prelude::*;
use pyo3::types::{
    PyDate, PyDateAccess, PyDateTime, PyDelta, PyDeltaAccess, PyTime, PyTimeAccess, PyTzInfoAccess,
};

use crate::encode::code::*;
use crate::encode::encode_text;

/// An encoded value's (oid, wire format), or None to use its Python dumper.
type Encoded = Option<(u32, i16)>;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Encode `obj` with binary code `code` into `out`. `Ok(None)` if `code` is not a binary
/// code (the caller encodes text), else `Ok(Some(answer))`.
pub fn encode(code: u8, obj: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<Option<Encoded>> {
    let answer = match code {
        INT_BINARY => match obj.extract::<i64>() {
            Ok(v) => Some(if let Ok(v) = i16::try_from(v) {
                out.extend_from_slice(&v.to_be_bytes());
                (21, 1)
            } else if let Ok(v) = i32::try_from(v) {
                out.extend_from_slice(&v.to_be_bytes());
                (23, 1)
            } else {
                out.extend_from_slice(&v.to_be_bytes());
                (20, 1)
            }),
            // Beyond int8: numeric, sent as text (psycopg sends it in binary: same value).
            Err(_) => encode_text(INT_NUMERIC, obj, out)?,
        },
        INT2_BINARY => fixed_int::<i16>(obj, out, 21),
        INT4_BINARY => fixed_int::<i32>(obj, out, 23),
        INT8_BINARY => fixed_int::<i64>(obj, out, 20),
        OID_BINARY => fixed_int::<u32>(obj, out, 26),
        FLOAT8_BINARY => {
            let v: f64 = obj.extract()?;
            out.extend_from_slice(&v.to_be_bytes());
            Some((701, 1))
        }
        FLOAT4_BINARY => {
            let v: f64 = obj.extract()?;
            // Narrowed as psycopg's C dumper does: rounded, infinity beyond float4's range.
            #[allow(clippy::cast_possible_truncation)]
            let narrow = v as f32;
            out.extend_from_slice(&narrow.to_be_bytes());
            Some((700, 1))
        }
        BOOL_BINARY => {
            out.push(u8::from(obj.is_truthy()?));
            Some((16, 1))
        }
        DATE_BINARY => {
            let d = obj.downcast::<PyDate>()?;
            let days = days_since_2000(d.get_year(), d.get_month(), d.get_day());
            // Python's years 1..9999 are well inside int4 days.
            out.extend_from_slice(&i32::try_from(days).unwrap_or(i32::MAX).to_be_bytes());
            Some((1082, 1))
        }
        DATETIME_BINARY => datetime(obj, out)?,
        TIME_BINARY => time(obj, out)?,
        TIMEDELTA_BINARY => {
            let d = obj.downcast::<PyDelta>()?;
            let micros = i64::from(d.get_seconds()) * 1_000_000 + i64::from(d.get_microseconds());
            out.extend_from_slice(&micros.to_be_bytes());
            out.extend_from_slice(&d.get_days().to_be_bytes());
            out.extend_from_slice(&0i32.to_be_bytes()); // months
            Some((1186, 1))
        }
        UUID_BINARY => {
            let value: u128 = obj.getattr(pyo3::intern!(obj.py(), "int"))?.extract()?;
            out.extend_from_slice(&value.to_be_bytes());
            Some((2950, 1))
        }
        _ => return Ok(None),
    };
    Ok(Some(answer))
}

/// timestamp (naive: microseconds since 2000-01-01) or timestamptz (aware: the same
/// instant in UTC).
fn datetime(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<Encoded> {
    let d = obj.downcast::<PyDateTime>()?;
    let local = days_since_2000(d.get_year(), d.get_month(), d.get_day()) * MICROS_PER_DAY
        + micros_of_day(
            d.get_hour(),
            d.get_minute(),
            d.get_second(),
            d.get_microsecond(),
        );
    if d.get_tzinfo().is_none() {
        out.extend_from_slice(&local.to_be_bytes());
        return Ok(Some((1114, 1)));
    }
    // utcoffset() honours fold and the zone's rules; None leaves it to the Python dumper.
    let Some(offset) = utc_offset(obj)? else {
        return Ok(None);
    };
    out.extend_from_slice(&(local - offset).to_be_bytes());
    Ok(Some((1184, 1)))
}

/// time (microseconds since midnight) or timetz (the same, and the zone in seconds west of
/// UTC, as psycopg computes it).
fn time(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<Encoded> {
    let t = obj.downcast::<PyTime>()?;
    let micros = micros_of_day(
        t.get_hour(),
        t.get_minute(),
        t.get_second(),
        t.get_microsecond(),
    );
    if t.get_tzinfo().is_none() {
        out.extend_from_slice(&micros.to_be_bytes());
        return Ok(Some((1083, 1)));
    }
    // A zone with rules has no offset without a date: the Python dumper raises DataError.
    let Some(offset) = utc_offset(obj)? else {
        return Ok(None);
    };
    // psycopg: -int(offset.total_seconds()), truncated towards zero.
    let west = i32::try_from(-(offset / 1_000_000)).unwrap_or(0);
    out.extend_from_slice(&micros.to_be_bytes());
    out.extend_from_slice(&west.to_be_bytes());
    Ok(Some((1266, 1)))
}

/// `obj.utcoffset()` in microseconds, or None.
fn utc_offset(obj: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    let offset = obj.call_method0(pyo3::intern!(obj.py(), "utcoffset"))?;
    if offset.is_none() {
        return Ok(None);
    }
    let delta = offset.downcast::<PyDelta>()?;
    Ok(Some(
        i64::from(delta.get_days()) * MICROS_PER_DAY
            + i64::from(delta.get_seconds()) * 1_000_000
            + i64::from(delta.get_microseconds()),
    ))
}

fn micros_of_day(hour: u8, minute: u8, second: u8, micro: u32) -> i64 {
    ((i64::from(hour) * 60 + i64::from(minute)) * 60 + i64::from(second)) * 1_000_000
        + i64::from(micro)
}

/// Days from 2000-01-01 (PostgreSQL's epoch) to the proleptic Gregorian date given
/// (Howard Hinnant's days-from-civil).
fn days_since_2000(year: i32, month: u8, day: u8) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // Days from 1970-01-01, then moved to 2000-01-01 (10,957 days later).
    era * 146_097 + day_of_era - 719_468 - 10_957
}

/// An int sent as a fixed-size binary integer (`Int4(5)` ...): None if it does not fit,
/// so that the Python dumper raises psycopg's DataError.
fn fixed_int<T>(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>, oid: u32) -> Encoded
where
    T: TryFrom<i64> + ToBeBytes,
{
    let v = obj.extract::<i64>().ok()?;
    let v = T::try_from(v).ok()?;
    v.put_be(out);
    Some((oid, 1))
}

/// Big-endian bytes of the fixed-size integers `fixed_int` sends.
trait ToBeBytes {
    fn put_be(self, out: &mut Vec<u8>);
}

macro_rules! to_be_bytes {
    ($($t:ty),*) => {$(
        impl ToBeBytes for $t {
            fn put_be(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
        }
    )*};
}

to_be_bytes!(i16, i32, i64, u32);

#[cfg(test)]
mod tests {
    use super::days_since_2000;

    #[test]
    fn days_from_postgres_epoch() {
        assert_eq!(days_since_2000(2000, 1, 1), 0);
        assert_eq!(days_since_2000(1999, 12, 31), -1);
        assert_eq!(days_since_2000(2000, 3, 1), 60);
        assert_eq!(days_since_2000(1970, 1, 1), -10_957);
        assert_eq!(days_since_2000(1, 1, 1), -730_119);
        assert_eq!(days_since_2000(9999, 12, 31), 2_921_939);
    }
}
