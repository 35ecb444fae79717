"""Text and bytea adaptation."""

from __future__ import annotations

from typing import Any

from .. import errors as e
from .. import pq
from .._encodings import is_sql_ascii
from ..adapt import Buffer, Dumper, Loader, _escape_literal, _scs
from ._native import NativeLoader

__all__ = [
    "ByteaLoader",
    "BytesBinaryDumper",
    "BytesDumper",
    "StrBinaryDumper",
    "StrDumper",
    "StrDumperName",
    "StrDumperUnknown",
    "StrDumperVarchar",
    "TextBinaryLoader",
    "TextLoader",
]

_NUL_MESSAGE = "PostgreSQL text fields cannot contain NUL (0x00) bytes"


class _BaseStrDumper(Dumper):
    def dump(self, obj: str) -> bytes:
        if not isinstance(obj, str):  # e.g. a non-str enum in a list of str ones
            # What psycopg's C dumper raises for it (not obj.encode's AttributeError).
            raise TypeError("bad argument type for built-in operation")
        data = obj.encode()
        if b"\x00" in data:
            raise e.DataError(_NUL_MESSAGE)
        return data

    def quote(self, obj: str) -> bytes:
        _check_open(self.connection)
        data = self.dump(obj)  # a subclass may dump some strings as NULL
        return b"NULL" if data is None else _escape_literal(data)


def _check_open(conn: Any) -> None:
    """psycopg quotes strings and identifiers with libpq's escaping functions on the
    connection given, which refuse a closed one: so do we, with its error."""
    if conn is not None and getattr(conn, "closed", False):
        raise e.OperationalError("the connection is closed")


class StrDumper(_BaseStrDumper):
    oid = 25
    _balrog_enc = 31


class StrDumperVarchar(_BaseStrDumper):
    oid = 1043
    _balrog_enc = 32


class StrDumperName(_BaseStrDumper):
    oid = 19
    _balrog_enc = 33


class StrDumperUnknown(_BaseStrDumper):
    """The default for ``%s``: the server infers the type from the context."""

    oid = 0
    _balrog_enc = 30


class StrBinaryDumper(_BaseStrDumper):
    format = pq.Format.BINARY
    oid = 25
    _balrog_enc = 34


class StrBinaryDumperVarchar(StrBinaryDumper):
    oid = 1043
    _balrog_enc = None  # the native code for str says text; by oid only


class StrBinaryDumperName(StrBinaryDumper):
    oid = 19
    _balrog_enc = None


class TextLoader(NativeLoader):
    _balrog_dec = 25

    def __init__(self, oid: int, context: Any = None):
        super().__init__(oid, context)
        # Text reaches Python as UTF-8 (converted on the wire), except under SQL_ASCII.
        self._as_bytes = is_sql_ascii(self.connection)

    def load(self, data: Buffer) -> str | bytes:
        return bytes(data) if self._as_bytes else bytes(data).decode()


class TextBinaryLoader(TextLoader):
    """Text in binary format: the same bytes as in text format."""

    format = pq.Format.BINARY
    _balrog_dec = 25


def _hex_bytea(data: bytes) -> bytes:
    return b"\\x" + data.hex().encode()


# bytea's escape format, byte by byte: printable ASCII as is, a backslash doubled, anything
# else as a backslash and three octal digits.
_ESCAPE_BYTEA = [b"\\%03o" % byte if byte < 0x20 or byte > 0x7E else bytes([byte]) for byte in range(256)]
_ESCAPE_BYTEA[0x5C] = b"\\\\"


def _escape_bytea(data: bytes) -> bytes:
    return b"".join([_ESCAPE_BYTEA[byte] for byte in data])


def _buffer_bytes(obj: Any) -> bytes:
    """``obj``'s bytes if it is bytes or supports the buffer protocol; psycopg's TypeError
    otherwise (``bytes(5)`` would be five zero bytes, ``bytes([1, 2])`` two)."""
    if type(obj) is bytes:
        return obj
    try:
        return bytes(memoryview(obj))
    except TypeError:
        raise TypeError(f"bytes or buffer expected, got {type(obj)!r}") from None


class BytesDumper(Dumper):
    """bytes in text format: the hex form ``\\x...``, or the escape form without a connection.

    psycopg escapes bytea with libpq: PQescapeByteaConn writes hex, PQescapeBytea (no
    connection, e.g. ``sql.Literal(b"..").as_string(None)``, meant for a script that may be
    run against an old server) the escape format. The literals match psycopg's; inside arrays
    and records this writes the escape format as the server does (libpq's, without a
    connection, may double backslashes and quotes depending on earlier connections).
    """

    oid = 17
    _balrog_enc = 40

    def dump(self, obj: Any) -> bytes:
        if self.connection is None:
            return _escape_bytea(_buffer_bytes(obj))
        return _hex_bytea(_buffer_bytes(obj))

    def quote(self, obj: Any) -> bytes:
        data = self.dump(obj)
        if data is None:
            return b"NULL"
        escaped = bytes(data)
        if self.connection is not None and _scs(self.connection):
            return b"'" + escaped + b"'"
        # E'' with backslashes doubled reads the same whatever standard_conforming_strings
        # is; a quote (left as is by the escape format) is doubled.
        return b" E'" + escaped.replace(b"\\", b"\\\\").replace(b"'", b"''") + b"'"


class BytesBinaryDumper(Dumper):
    """bytes as they are (binary format): no escaping on the way out."""

    format = pq.Format.BINARY
    oid = 17
    _balrog_enc = 41

    def dump(self, obj: Any) -> Buffer:
        return _buffer_bytes(obj)

    def quote(self, obj: Any) -> bytes:
        return BytesDumper(self.cls, self.connection).quote(obj)


class ByteaLoader(NativeLoader):
    _balrog_dec = 17


class ByteaBinaryLoader(Loader):
    format = pq.Format.BINARY
    _balrog_dec = 17

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def register_default_adapters(context: Any) -> None:
    adapters = context.adapters
    # By oid only (get_dumper_by_oid, COPY set_types): varchar and name, text and binary.
    for by_oid in (StrBinaryDumperVarchar, StrBinaryDumperName, StrDumperVarchar, StrDumperName):
        adapters.register_dumper(None, by_oid)
    adapters.register_dumper(str, StrBinaryDumper)
    adapters.register_dumper(str, StrDumper)
    adapters.register_dumper(str, StrDumperUnknown)
    for oid in (0, 18, 19, 25, 705, 1042, 1043, 142):
        adapters.register_loader(oid, TextLoader)
    # In binary, as psycopg: the text types as str, any other type without a loader as bytes.
    for oid in (18, 19, 25, 1042, 1043):
        adapters.register_loader(oid, TextBinaryLoader)
    adapters.register_loader(0, ByteaBinaryLoader)
    adapters.register_dumper(bytes, BytesDumper)
    adapters.register_dumper(bytearray, BytesDumper)
    adapters.register_dumper(memoryview, BytesDumper)
    adapters.register_dumper(bytes, BytesBinaryDumper)
    adapters.register_dumper(bytearray, BytesBinaryDumper)
    adapters.register_dumper(memoryview, BytesBinaryDumper)
    adapters.register_loader(17, ByteaLoader)
    adapters.register_loader(17, ByteaBinaryLoader)
