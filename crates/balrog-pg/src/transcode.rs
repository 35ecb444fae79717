//! Client encodings other than UTF-8.
//!
//! Inside balrog all text is UTF-8: the Python side encodes queries and dumps parameters as
//! UTF-8, and the decoders read UTF-8. When the session's `client_encoding` is something
//! else (`connect(client_encoding="latin1")`, `SET client_encoding`), the conversion happens
//! here, at the edge of the wire:
//!
//! * incoming messages that carry text (rows, column names, errors and notices, parameter
//!   statuses, command tags, notifications) are converted to UTF-8 as they are read
//!   ([`Transcoder::incoming`]), before `postgres-protocol` parses them;
//! * outgoing query text and parameters are converted when an op is built, with the GIL
//!   held, by Python's codec for the encoding ([`Transcoder::outgoing`]): a character the
//!   encoding cannot represent raises psycopg's `UnicodeEncodeError` before anything is
//!   sent. Incoming text is converted without the GIL, on the connection's runtime, by
//!   encoding_rs's tables (the server only sends text valid in its client encoding).
//!
//! COPY data is left as the server sends it (psycopg's `read()` returns those bytes); the
//! Python side converts COPY rows itself.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use encoding_rs::Encoding;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::encode::Values;
use crate::errors::not_supported_error;

/// How text is converted for one client encoding.
pub struct Transcoder {
    /// The Python codec name of the encoding (what `UnicodeEncodeError` names).
    codec: &'static str,
    kind: Kind,
}

enum Kind {
    /// SQL_ASCII: the server converts nothing, so values pass through as they are and
    /// only the protocol's own strings are read (as UTF-8, lossily).
    SqlAscii,
    /// A single-byte encoding: a table each way.
    Single { decode: Box<[char; 256]> },
    /// A multi-byte encoding, by encoding_rs.
    Multi(&'static Encoding),
    /// An encoding Python has no codec for (EUC_TW, MULE_INTERNAL...): as psycopg, every
    /// query then fails with NotSupportedError; what arrives is read as SQL_ASCII's.
    Unsupported(String),
}

/// Marks a byte a single-byte table does not define (the server never sends one).
const UNDEFINED: char = '\u{FFFD}';

/// Type oids whose binary form is the text itself: `%b` strings are converted too.
const TEXT_OIDS: [u32; 5] = [25, 1043, 19, 1042, 18];
/// Arrays of those: in binary, each element is converted.
const TEXT_ARRAY_OIDS: [u32; 5] = [1009, 1015, 1003, 1014, 1002];

impl Transcoder {
    /// The transcoder for a `client_encoding` the server reports: None for UTF-8.
    pub fn for_client_encoding(name: &str) -> Option<Arc<Transcoder>> {
        let folded: String = name
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .flat_map(char::to_uppercase)
            .collect();
        use encoding_rs as e;
        // (Python codec, encoding_rs table, whether bytes 0x80-0x9F are the C1 controls, as
        // in the ISO 8859 encodings; WHATWG's tables for latin1 and latin5 are windows-125x).
        let single = |codec, table: &'static Encoding, c1| Some((codec, Some((table, c1)), None));
        let multi = |codec, table: &'static Encoding| Some((codec, None, Some(table)));
        let found = match folded.as_str() {
            "UTF8" | "UNICODE" => return None,
            "SQLASCII" => {
                return Some(Arc::new(Transcoder {
                    codec: "ascii",
                    kind: Kind::SqlAscii,
                }))
            }
            "LATIN1" => single("iso8859-1", e::WINDOWS_1252, true),
            "LATIN2" => single("iso8859-2", e::ISO_8859_2, true),
            "LATIN3" => single("iso8859-3", e::ISO_8859_3, true),
            "LATIN4" => single("iso8859-4", e::ISO_8859_4, true),
            "LATIN5" => single("iso8859-9", e::WINDOWS_1254, true),
            "LATIN6" => single("iso8859-10", e::ISO_8859_10, true),
            "LATIN7" => single("iso8859-13", e::ISO_8859_13, true),
            "LATIN8" => single("iso8859-14", e::ISO_8859_14, true),
            "LATIN9" => single("iso8859-15", e::ISO_8859_15, true),
            "LATIN10" => single("iso8859-16", e::ISO_8859_16, true),
            "ISO88595" => single("iso8859-5", e::ISO_8859_5, true),
            "ISO88596" => single("iso8859-6", e::ISO_8859_6, true),
            "ISO88597" => single("iso8859-7", e::ISO_8859_7, true),
            "ISO88598" => single("iso8859-8", e::ISO_8859_8, true),
            "WIN1250" => single("cp1250", e::WINDOWS_1250, false),
            "WIN1251" => single("cp1251", e::WINDOWS_1251, false),
            "WIN1252" => single("cp1252", e::WINDOWS_1252, false),
            "WIN1253" => single("cp1253", e::WINDOWS_1253, false),
            "WIN1254" => single("cp1254", e::WINDOWS_1254, false),
            "WIN1255" => single("cp1255", e::WINDOWS_1255, false),
            "WIN1256" => single("cp1256", e::WINDOWS_1256, false),
            "WIN1257" => single("cp1257", e::WINDOWS_1257, false),
            "WIN1258" => single("cp1258", e::WINDOWS_1258, false),
            "WIN866" => single("cp866", e::IBM866, false),
            "WIN874" => single("cp874", e::WINDOWS_874, false),
            "KOI8R" => single("koi8-r", e::KOI8_R, false),
            "KOI8U" => single("koi8-u", e::KOI8_U, false),
            "EUCJP" => multi("euc_jp", e::EUC_JP),
            "SJIS" => multi("shift_jis", e::SHIFT_JIS),
            "EUCKR" => multi("euc_kr", e::EUC_KR),
            "UHC" => multi("cp949", e::EUC_KR),
            // GB2312's two-byte codes are GBK's too.
            "EUCCN" => multi("gb2312", e::GBK),
            "GBK" => multi("gbk", e::GBK),
            "GB18030" => multi("gb18030", e::GB18030),
            "BIG5" => multi("big5", e::BIG5),
            _ => None,
        };
        let kind = match found {
            Some((_, Some((table, c1)), _)) => single_byte(table, c1),
            Some((_, None, Some(table))) => Kind::Multi(table),
            _ => Kind::Unsupported(name.to_owned()),
        };
        let codec = found.map_or("ascii", |(codec, _, _)| codec);
        Some(Arc::new(Transcoder { codec, kind }))
    }

    /// SQL_ASCII: values are left as the server stores them (and psycopg returns text as
    /// bytes).
    pub fn is_sql_ascii(&self) -> bool {
        matches!(self.kind, Kind::SqlAscii)
    }

    /// `data` (text in the client encoding) as UTF-8. Never fails: the server only sends
    /// text valid in its client encoding; anything else becomes U+FFFD.
    pub fn decode<'a>(&self, data: &'a [u8]) -> Cow<'a, [u8]> {
        if data.is_ascii() {
            return Cow::Borrowed(data);
        }
        match &self.kind {
            Kind::SqlAscii | Kind::Unsupported(_) => match String::from_utf8_lossy(data) {
                Cow::Borrowed(_) => Cow::Borrowed(data),
                Cow::Owned(text) => Cow::Owned(text.into_bytes()),
            },
            Kind::Single { decode } => {
                let mut out = String::with_capacity(data.len() * 2);
                out.extend(data.iter().map(|b| decode[usize::from(*b)]));
                Cow::Owned(out.into_bytes())
            }
            Kind::Multi(table) => {
                let (text, _) = table.decode_without_bom_handling(data);
                Cow::Owned(text.into_owned().into_bytes())
            }
        }
    }

    /// `data` (UTF-8) in the client encoding, by Python's codec for it, the one psycopg
    /// encodes with (and so the same characters refused, with the same error). Bytes
    /// that are not UTF-8 were made for the wire by a dumper of the user's and go as they
    /// are, as psycopg sends a dumper's output.
    pub fn encode<'a>(&self, py: Python<'_>, data: &'a [u8]) -> PyResult<Cow<'a, [u8]>> {
        if let Kind::Unsupported(name) = &self.kind {
            return Err(not_supported_error(
                py,
                format!("codec not available in Python: '{name}'"),
            ));
        }
        if data.is_ascii() || matches!(self.kind, Kind::SqlAscii) {
            return Ok(Cow::Borrowed(data));
        }
        let Ok(text) = std::str::from_utf8(data) else {
            return Ok(Cow::Borrowed(data));
        };
        let encoded = PyString::new(py, text).call_method1("encode", (self.codec,))?;
        Ok(Cow::Owned(
            encoded.downcast::<PyBytes>()?.as_bytes().to_vec(),
        ))
    }

    /// Parameter values converted for the wire: text-format values, and binary ones of the
    /// text types (whose binary form is the text). `types` and `formats` are per column of
    /// rows `width` wide (`formats` may also be empty, all text, or one format for all).
    /// None when nothing needs converting (all ASCII, the common case).
    pub fn outgoing(
        &self,
        py: Python<'_>,
        values: &Values,
        width: usize,
        types: &[u32],
        formats: &[i16],
    ) -> PyResult<Option<Values>> {
        if values.data.is_ascii() && !matches!(self.kind, Kind::Unsupported(_)) {
            return Ok(None);
        }
        let form = |column: usize| {
            let format = match formats.len() {
                0 => 0,
                1 => formats[0],
                _ => formats.get(column).copied().unwrap_or(0),
            };
            let oid = types.get(column).copied().unwrap_or(0);
            if format == 0 || TEXT_OIDS.contains(&oid) {
                Form::Text
            } else if TEXT_ARRAY_OIDS.contains(&oid) {
                Form::TextArray
            } else {
                Form::Other
            }
        };
        let mut out = Values::default();
        for (index, span) in values.spans.iter().enumerate() {
            let value = span.map(|(a, b)| &values.data[a..b]);
            let column = if width == 0 { index } else { index % width };
            match (value, form(column)) {
                (Some(value), Form::Text) => out.push(Some(&self.encode(py, value)?)),
                (Some(value), Form::TextArray) => {
                    out.push(Some(&self.encode_binary_array(py, value)?));
                }
                (other, _) => out.push(other),
            }
        }
        Ok(Some(out))
    }

    /// A binary array of text with its elements converted; left as it is if it does not
    /// parse.
    fn encode_binary_array<'a>(&self, py: Python<'_>, data: &'a [u8]) -> PyResult<Cow<'a, [u8]>> {
        let converted = map_array(data, |_, element| self.encode(py, element))?;
        Ok(converted.map_or(Cow::Borrowed(data), Cow::Owned))
    }

    /// A backend message (tag, length, body) with its text converted to UTF-8; None when
    /// it needs no conversion (no text in it, or only ASCII).
    ///
    /// `binary_columns`: the (type oid, format) of the columns of the rows being read,
    /// when some are in binary format (see [`binary_columns`]).
    pub fn incoming(
        &self,
        message: &[u8],
        binary_columns: Option<&[(u32, i16)]>,
    ) -> Option<BytesMut> {
        let (&tag, rest) = message.split_first()?;
        let body = rest.get(4..)?;
        if body.is_ascii() {
            return None;
        }
        let mut out = BytesMut::with_capacity(message.len() * 2);
        out.put_u8(tag);
        out.put_i32(0);
        let mut reader = Reader { data: body };
        let converted = match tag {
            // Rows: text values are converted whole, binary ones where their type holds
            // text; nothing under SQL_ASCII, where values are whatever bytes were stored.
            b'D' if matches!(self.kind, Kind::SqlAscii | Kind::Unsupported(_)) => return None,
            b'D' => self.data_row(&mut reader, &mut out, binary_columns),
            b'T' => self.row_description(&mut reader, &mut out),
            // Error and notice fields, each a code byte and a string; a 0 ends them.
            b'E' | b'N' => loop {
                match reader.u8() {
                    Some(0) => {
                        out.put_u8(0);
                        break Some(());
                    }
                    Some(code) => {
                        out.put_u8(code);
                        if self.cstring(&mut reader, &mut out).is_none() {
                            break None;
                        }
                    }
                    None => break None,
                }
            },
            b'S' => self
                .cstring(&mut reader, &mut out)
                .and_then(|()| self.cstring(&mut reader, &mut out)),
            b'C' => self.cstring(&mut reader, &mut out),
            b'A' => reader.take(4).and_then(|pid| {
                out.put_slice(pid);
                self.cstring(&mut reader, &mut out)?;
                self.cstring(&mut reader, &mut out)
            }),
            _ => return None,
        };
        // A malformed message is left to the parser to report.
        converted?;
        out.put_slice(reader.data);
        let len = i32::try_from(out.len() - 1).ok()?;
        out[1..5].copy_from_slice(&len.to_be_bytes());
        Some(out)
    }

    fn cstring(&self, reader: &mut Reader<'_>, out: &mut BytesMut) -> Option<()> {
        let text = reader.cstring()?;
        out.put_slice(&self.decode(text));
        out.put_u8(0);
        Some(())
    }

    fn data_row(
        &self,
        reader: &mut Reader<'_>,
        out: &mut BytesMut,
        binary_columns: Option<&[(u32, i16)]>,
    ) -> Option<()> {
        let count = reader.take(2)?;
        out.put_slice(count);
        for column in 0..i16::from_be_bytes([count[0], count[1]]) {
            let len = reader.take(4)?;
            let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
            match usize::try_from(len) {
                Err(_) => out.put_i32(len), // NULL
                Ok(len) => {
                    let raw = reader.take(len)?;
                    let value = match binary_columns.and_then(|c| c.get(column as usize)) {
                        Some(&(oid, 1)) => self.decode_binary(oid, raw, 0),
                        _ => self.decode(raw),
                    };
                    out.put_i32(i32::try_from(value.len()).ok()?);
                    out.put_slice(&value);
                }
            }
        }
        Some(())
    }

    /// A binary value of type `oid` that did not come through the wire layer (COPY data),
    /// its text converted to UTF-8 as `decode_binary` does; as it is where the server
    /// converts nothing (SQL_ASCII) or Python has no codec for the encoding.
    pub(crate) fn binary_value_to_utf8<'a>(&self, oid: u32, value: &'a [u8]) -> Cow<'a, [u8]> {
        match self.kind {
            Kind::SqlAscii | Kind::Unsupported(_) => Cow::Borrowed(value),
            _ => self.decode_binary(oid, value, 0),
        }
    }

    /// A binary-format value with the text inside it converted: the value itself for the
    /// text types, after jsonb's version byte, element by element in arrays of them and
    /// field by field in anonymous records (whose fields carry their types). Values of
    /// other types (numbers, dates, user-defined types) are left as they are.
    fn decode_binary<'a>(&self, oid: u32, value: &'a [u8], depth: usize) -> Cow<'a, [u8]> {
        // Records and arrays nest; a value nested deeper than this is left alone.
        if depth > 16 {
            return Cow::Borrowed(value);
        }
        let converted = match oid {
            25 | 1043 | 19 | 1042 | 18 | 114 | 705 | 142 => return self.decode(value),
            3802 => value.split_first().map(|(version, text)| {
                let mut out = vec![*version];
                out.extend_from_slice(&self.decode(text));
                out
            }),
            2249 => infallible(map_record(value, |oid, field| {
                Ok(self.decode_binary(oid, field, depth + 1))
            })),
            1009 | 1015 | 1003 | 1014 | 1002 | 199 | 3807 | 143 | 2287 => {
                infallible(map_array(value, |oid, element| {
                    Ok(self.decode_binary(oid, element, depth + 1))
                }))
            }
            _ => None,
        };
        converted.map_or(Cow::Borrowed(value), Cow::Owned)
    }

    fn row_description(&self, reader: &mut Reader<'_>, out: &mut BytesMut) -> Option<()> {
        let count = reader.take(2)?;
        out.put_slice(count);
        for _ in 0..i16::from_be_bytes([count[0], count[1]]) {
            self.cstring(reader, out)?;
            // table oid, column number, type oid, size, modifier, format
            out.put_slice(reader.take(18)?);
        }
        Some(())
    }
}

/// A query for the wire: converted when the session has a transcoder.
/// What converts one element of a binary array or one field of a record: its type oid and
/// value in, the converted value out.
type Convert<'c, E> = dyn for<'e> FnMut(u32, &'e [u8]) -> Result<Cow<'e, [u8]>, E> + 'c;

/// `array_send`'s format (header with the element type, dimensions, then each element with
/// its length, -1 for NULL) with every element converted; Ok(None) if it does not parse.
fn map_array<E>(
    data: &[u8],
    mut convert: impl for<'e> FnMut(u32, &'e [u8]) -> Result<Cow<'e, [u8]>, E>,
) -> Result<Option<Vec<u8>>, E> {
    let mut reader = Reader { data };
    let Some(head) = reader.take(12) else {
        return Ok(None);
    };
    let element_oid = u32::from_be_bytes([head[8], head[9], head[10], head[11]]);
    let dims = usize::try_from(i32::from_be_bytes([head[0], head[1], head[2], head[3]]))
        .ok()
        .and_then(|ndim| ndim.checked_mul(8))
        .and_then(|size| reader.take(size));
    let Some(dims) = dims else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(head);
    out.extend_from_slice(dims);
    Ok(map_elements(&mut reader, &mut out, Some(element_oid), &mut convert)?.map(|()| out))
}

/// `record_send`'s format (a count, then each field's type oid, length and value) with
/// every field converted; Ok(None) if it does not parse.
fn map_record<E>(
    data: &[u8],
    mut convert: impl for<'e> FnMut(u32, &'e [u8]) -> Result<Cow<'e, [u8]>, E>,
) -> Result<Option<Vec<u8>>, E> {
    let mut reader = Reader { data };
    let Some(count) = reader.take(4) else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(count);
    Ok(map_elements(&mut reader, &mut out, None, &mut convert)?.map(|()| out))
}

/// The rest of `reader` as length-prefixed values, each converted as its type says:
/// `element_oid` for an array's, or the oid before each value (a record's fields).
fn map_elements<E>(
    reader: &mut Reader<'_>,
    out: &mut Vec<u8>,
    element_oid: Option<u32>,
    convert: &mut Convert<'_, E>,
) -> Result<Option<()>, E> {
    while !reader.data.is_empty() {
        let oid = match element_oid {
            Some(oid) => oid,
            None => {
                let Some(field) = reader.take(4) else {
                    return Ok(None);
                };
                out.extend_from_slice(field);
                u32::from_be_bytes([field[0], field[1], field[2], field[3]])
            }
        };
        let Some(len) = reader.take(4) else {
            return Ok(None);
        };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        let Ok(size) = usize::try_from(len) else {
            out.extend_from_slice(&len.to_be_bytes()); // NULL
            continue;
        };
        let Some(value) = reader.take(size) else {
            return Ok(None);
        };
        let value = convert(oid, value)?;
        let Ok(size) = i32::try_from(value.len()) else {
            return Ok(None);
        };
        out.extend_from_slice(&size.to_be_bytes());
        out.extend_from_slice(&value);
    }
    Ok(Some(()))
}

/// The value of a conversion that cannot fail.
fn infallible<T>(result: Result<T, std::convert::Infallible>) -> T {
    match result {
        Ok(value) => value,
        Err(never) => match never {},
    }
}

/// The (type oid, format) of each column a RowDescription body describes, when some are in
/// binary format (their values need [`Transcoder::incoming`] to know their types); None
/// when all are text, or the message does not parse.
pub fn binary_columns(body: &[u8]) -> Option<Vec<(u32, i16)>> {
    let mut reader = Reader { data: body };
    let count = reader.take(2)?;
    let count = usize::try_from(i16::from_be_bytes([count[0], count[1]])).ok()?;
    let mut columns = Vec::with_capacity(count);
    for _ in 0..count {
        reader.cstring()?;
        let field = reader.take(18)?;
        let oid = u32::from_be_bytes([field[6], field[7], field[8], field[9]]);
        columns.push((oid, i16::from_be_bytes([field[16], field[17]])));
    }
    columns
        .iter()
        .any(|&(_, format)| format == 1)
        .then_some(columns)
}

/// A binary value of type `oid` as a session in `client_encoding` receives it, with its
/// text converted to UTF-8: what the wire layer does for the types it knows, for the
/// loaders of user-defined types whose binary form holds text (enum labels: `oid` 25;
/// composites: 2249, whose fields carry their types). Returned as is in UTF-8 sessions.
#[pyfunction]
pub fn binary_to_utf8<'py>(
    py: Python<'py>,
    client_encoding: &str,
    oid: u32,
    data: &[u8],
) -> Bound<'py, PyBytes> {
    match Transcoder::for_client_encoding(client_encoding) {
        Some(t) => PyBytes::new(py, &t.binary_value_to_utf8(oid, data)),
        None => PyBytes::new(py, data),
    }
}

pub fn wire_query(transcoder: Option<&Transcoder>, query: Cow<'_, [u8]>) -> PyResult<Vec<u8>> {
    match transcoder {
        None => Ok(query.into_owned()),
        Some(t) => Python::with_gil(|py| t.encode(py, &query).map(Cow::into_owned)),
    }
}

/// Parameters for the wire (see [`Transcoder::outgoing`]).
pub fn wire_values(
    transcoder: Option<&Transcoder>,
    values: Arc<Values>,
    width: usize,
    types: &[u32],
    formats: &[i16],
) -> PyResult<Arc<Values>> {
    let Some(t) = transcoder else {
        return Ok(values);
    };
    Python::with_gil(|py| match t.outgoing(py, &values, width, types, formats)? {
        None => Ok(values),
        Some(converted) => Ok(Arc::new(converted)),
    })
}

/// What a parameter's bytes are, for the conversion.
enum Form {
    Text,
    TextArray,
    Other,
}

/// The single-byte tables for an encoding_rs encoding.
fn single_byte(table: &'static Encoding, c1_controls: bool) -> Kind {
    let mut decode = Box::new([UNDEFINED; 256]);
    for byte in 0..=255u8 {
        // ASCII, and the C1 controls of the ISO 8859 encodings, are their own code points.
        let c = if byte < 0x80 || (c1_controls && byte < 0xA0) {
            char::from(byte)
        } else {
            let one = [byte];
            let (text, had_errors) = table.decode_without_bom_handling(&one);
            match text.chars().next() {
                Some(c) if !had_errors => c,
                _ => continue,
            }
        };
        decode[usize::from(byte)] = c;
    }
    Kind::Single { decode }
}

/// Reads a backend message body front to back.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.data.len() < n {
            return None;
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn cstring(&mut self) -> Option<&'a [u8]> {
        let end = self.data.iter().position(|b| *b == 0)?;
        let text = &self.data[..end];
        self.data = &self.data[end + 1..];
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcoder(name: &str) -> Arc<Transcoder> {
        Transcoder::for_client_encoding(name).expect("not UTF-8")
    }

    #[test]
    fn latin1_is_iso_8859_1() {
        // Not windows-1252 (WHATWG's "latin1"): 0x80-0x9F are the C1 controls.
        let t = transcoder("LATIN1");
        let all: Vec<u8> = (0..=255).collect();
        let text: String = all.iter().map(|b| char::from(*b)).collect();
        assert_eq!(t.decode(&all).as_ref(), text.as_bytes());
    }

    #[test]
    fn latin9_has_the_euro() {
        assert_eq!(
            transcoder("latin9").decode(b"\xa4").as_ref(),
            "€".as_bytes()
        );
    }

    #[test]
    fn multi_byte_decodes() {
        let euc_jp = [0xc6, 0xfc, 0xcb, 0xdc];
        assert_eq!(
            transcoder("EUC_JP").decode(&euc_jp).as_ref(),
            "日本".as_bytes()
        );
    }

    #[test]
    fn utf8_and_unknown_names() {
        assert!(Transcoder::for_client_encoding("UTF8").is_none());
        assert!(matches!(
            transcoder("MULE_INTERNAL").kind,
            Kind::Unsupported(_)
        ));
    }

    fn message(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut msg = vec![tag];
        msg.extend_from_slice(&i32::try_from(body.len() + 4).expect("small").to_be_bytes());
        msg.extend_from_slice(body);
        msg
    }

    #[test]
    fn data_row_values_are_converted() {
        let t = transcoder("LATIN1");
        let mut body = vec![0, 2];
        body.extend_from_slice(&2i32.to_be_bytes());
        body.extend_from_slice(b"\xe9a");
        body.extend_from_slice(&(-1i32).to_be_bytes());
        let mut expected = vec![0, 2];
        expected.extend_from_slice(&3i32.to_be_bytes());
        expected.extend_from_slice("éa".as_bytes());
        expected.extend_from_slice(&(-1i32).to_be_bytes());
        let out = t.incoming(&message(b'D', &body), None).expect("converted");
        assert_eq!(&out[..], &message(b'D', &expected)[..]);
    }

    #[test]
    fn error_fields_are_converted_and_ascii_left_alone() {
        let t = transcoder("LATIN1");
        let out = t
            .incoming(&message(b'E', b"SERROR\0Mcaf\xe9\0\0"), None)
            .expect("converted");
        assert_eq!(&out[..], &message(b'E', "SERROR\0Mcafé\0\0".as_bytes())[..]);
        assert!(t
            .incoming(&message(b'E', b"SERROR\0Mcafe\0\0"), None)
            .is_none());
        // A malformed message is left to the parser.
        assert!(t.incoming(&message(b'E', b"Mcaf\xe9"), None).is_none());
    }

    #[test]
    fn binary_values_are_converted_by_type() {
        let t = transcoder("LATIN1");
        // A text[] of one element, an int4 that happens to hold 0xe9, a record (text, int4).
        let mut array = Vec::new();
        for word in [1i32, 0, 25, 1, 1] {
            array.extend_from_slice(&word.to_be_bytes());
        }
        array.extend_from_slice(&1i32.to_be_bytes());
        array.push(0xe9);
        let mut record = 2i32.to_be_bytes().to_vec();
        record.extend_from_slice(&25u32.to_be_bytes());
        record.extend_from_slice(&1i32.to_be_bytes());
        record.push(0xe9);
        record.extend_from_slice(&23u32.to_be_bytes());
        record.extend_from_slice(&4i32.to_be_bytes());
        record.extend_from_slice(&[0, 0, 0, 0xe9]);
        let mut body = vec![0, 3];
        for value in [&array[..], &[0, 0, 0, 0xe9], &record[..]] {
            body.extend_from_slice(&(value.len() as i32).to_be_bytes());
            body.extend_from_slice(value);
        }
        let columns = [(1009, 1), (23, 1), (2249, 1)];
        let out = t
            .incoming(&message(b'D', &body), Some(&columns))
            .expect("converted");
        let text = |raw: &[u8]| -> Vec<u8> {
            let mut v = raw.to_vec();
            let at = v.iter().position(|&b| b == 0xe9).expect("the byte");
            v.splice(at..at + 1, "é".bytes());
            v
        };
        let mut array_out = text(&array);
        array_out[20..24].copy_from_slice(&2i32.to_be_bytes());
        let mut record_out = record.clone();
        record_out.splice(12..13, "é".bytes());
        record_out[8..12].copy_from_slice(&2i32.to_be_bytes());
        let mut expected = vec![0, 3];
        for value in [&array_out[..], &[0, 0, 0, 0xe9], &record_out[..]] {
            expected.extend_from_slice(&(value.len() as i32).to_be_bytes());
            expected.extend_from_slice(value);
        }
        assert_eq!(&out[..], &message(b'D', &expected)[..]);
    }
}
