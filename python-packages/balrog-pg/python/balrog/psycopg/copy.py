"""``Cursor.copy()``: COPY FROM STDIN / TO STDOUT in text format."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import errors as e
from ._enums import PyFormat

if TYPE_CHECKING:
    from .cursor import BaseCursor

__all__ = ["Copy"]

_FLUSH_SIZE = 128 * 1024

_ESCAPE_RE = re.compile(rb"[\\\t\n\r\b\f\v]")
_ESCAPES = {
    b"\\": b"\\\\",
    b"\t": b"\\t",
    b"\n": b"\\n",
    b"\r": b"\\r",
    b"\b": b"\\b",
    b"\f": b"\\f",
    b"\v": b"\\v",
}
_UNESCAPE_RE = re.compile(rb"\\([0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)")
_UNESCAPES = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


def _escape(value: bytes) -> bytes:
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], value)


def _unescape_one(m: re.Match[bytes]) -> bytes:
    code = m.group(1)
    if code in _UNESCAPES:
        return _UNESCAPES[code]
    if code[:1].isdigit():
        return bytes([int(code, 8) & 0xFF])
    if code[:1] == b"x" and len(code) > 1:
        return bytes([int(code[1:], 16)])
    return code


def _unescape(value: bytes) -> bytes:
    return _UNESCAPE_RE.sub(_unescape_one, value) if b"\\" in value else value


class Copy:
    """A COPY operation in progress (psycopg's ``Copy``)."""

    __module__ = "psycopg"

    def __init__(self, cursor: BaseCursor, is_in: bool, writer: Any = None):
        self.cursor = cursor
        self.connection = cursor.connection
        self._native = cursor.connection._native
        self._is_in = is_in
        self._buffer = bytearray()
        self._finished = False
        self._tx = cursor._transformer()
        self._dump_oids: list[int] | None = None
        self._load_specs: list[Any] | None = None
        self._pending = b""
        self._rows_done = False

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__qualname__} at 0x{id(self):x}>"

    def __enter__(self) -> Copy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.finish(exc_val)

    # -- types ----------------------------------------------------------------------------------

    def set_types(self, types: Sequence[int | str]) -> None:
        """The types of the columns, for ``write_row`` and ``rows``/``read_row``."""
        registry = self.connection.adapters.types
        oids = [t if isinstance(t, int) else registry.get_oid(t) for t in types]
        self._dump_oids = oids
        self._load_specs = [self._tx.loader_spec(oid) for oid in oids]

    # -- writing --------------------------------------------------------------------------------

    def write(self, buffer: bytes | bytearray | memoryview | str) -> None:
        """Write data in the COPY format (str is encoded)."""
        if not self._is_in:
            raise e.ProgrammingError("copy.write() can be used only with COPY ... FROM STDIN")
        if isinstance(buffer, str):
            buffer = buffer.encode()
        self._buffer += buffer
        if len(self._buffer) >= _FLUSH_SIZE:
            self._flush()

    def write_row(self, row: Sequence[Any]) -> None:
        """Write one record, each value dumped in text format."""
        if not self._is_in:
            raise e.ProgrammingError("copy.write_row() can be used only with COPY ... FROM STDIN")
        out = self._buffer
        tx = self._tx
        first = True
        for value in row:
            if not first:
                out += b"\t"
            first = False
            if value is None:
                out += b"\\N"
                continue
            data = tx.get_dumper(value, PyFormat.TEXT).dump(value)
            if data is None:
                out += b"\\N"
                continue
            data = bytes(data)
            out += _escape(data) if _ESCAPE_RE.search(data) else data
        out += b"\n"
        if len(out) >= _FLUSH_SIZE:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            data = bytes(self._buffer)
            self._buffer.clear()
            self.cursor._wait(self._native.copy_write(data))

    # -- reading --------------------------------------------------------------------------------

    def read(self) -> memoryview:
        """The next chunk of COPY data; empty at the end."""
        if self._is_in:
            raise e.ProgrammingError("copy.read() can be used only with COPY ... TO STDOUT")
        if self._finished or self._rows_done:
            return memoryview(b"")
        data = self.cursor._wait(self._native.copy_read())
        if data is None:
            self._rows_done = True
            self._finish_results()
            return memoryview(b"")
        return memoryview(data)

    def __iter__(self) -> Iterator[memoryview]:
        while data := self.read():
            yield data

    def read_row(self) -> tuple[Any, ...] | None:
        """The next record as a tuple (values loaded by ``set_types``' types, else str)."""
        while b"\n" not in self._pending:
            data = self.read()
            if not data:
                if self._pending:
                    line, self._pending = self._pending, b""
                    return self._parse_row(line)
                return None
            self._pending += bytes(data)
        line, _, self._pending = self._pending.partition(b"\n")
        return self._parse_row(line)

    def rows(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.read_row()) is not None:
            yield row

    def _parse_row(self, line: bytes) -> tuple[Any, ...]:
        from .. import _pg

        fields = line.split(b"\t")
        specs = self._load_specs
        tz, utc = self.connection._timezone()
        out: list[Any] = []
        for i, raw in enumerate(fields):
            if raw == b"\\N":
                out.append(None)
                continue
            value = _unescape(raw)
            spec = specs[i] if specs is not None and i < len(specs) else 25
            out.append(_pg.decode_value(spec, value, tz, utc))
        return tuple(out)

    # -- end ------------------------------------------------------------------------------------

    def _finish_results(self) -> None:
        # COPY TO's CommandComplete was collected by the native read.
        self._finished = True
        self.cursor._rowcount = -1

    def finish(self, exc: BaseException | None = None) -> None:
        """End the COPY: send the rest (or the error) and read the server's verdict."""
        if self._is_in:
            if self._finished:
                return
            self._finished = True
            if exc is None:
                self._flush()
                results = self.cursor._wait(self._native.copy_end(None))
                self.cursor._set_results(results)
                return
            self._buffer.clear()
            try:
                self.cursor._wait(
                    self._native.copy_end(f"error from Python: {type(exc).__qualname__} - {exc}")
                )
            except e.QueryCanceled:  # type: ignore[attr-defined]
                pass  # the expected answer to our CopyFail
            return
        # COPY TO: read what the user left unread so the connection leaves COPY mode.
        while not self._rows_done:
            if not self.read():
                break
