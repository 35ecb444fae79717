"""``Cursor.copy()``: COPY FROM STDIN / TO STDOUT, text or binary format.

Rows written with ``write_row`` are formatted natively (``balrog._pg.CopyBuffer``): the
builtin types without any per-value Python work, other types through their dumpers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .. import _pg
from . import errors as e
from . import pq
from ._copy_binary import parse_binary_rows
from ._enums import PyFormat

if TYPE_CHECKING:
    from .cursor import BaseCursor

__all__ = ["Copy"]

# Small enough that the server parses one chunk while the next is being formatted.
_FLUSH_SIZE = 32 * 1024

_UNESCAPE_RE = re.compile(rb"\\([0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)")
_UNESCAPES = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


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
        res = cursor._pgresult
        self._binary = bool(getattr(res, "copy_binary", False))
        self._buffer = _pg.CopyBuffer(self._binary)
        self._finished = False
        self._tx = cursor._transformer()
        self._text_encoders = self._tx.adapters.native_encoders()[1]
        self._dump_oids: list[int] | None = None
        self._set_row_args()
        self._load_specs: list[Any] | None = None
        self._pending = b""
        self._binary_rows: list[tuple[Any, ...]] = []
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
        self._set_row_args()
        self._load_specs = [self._tx.loader_spec(oid) for oid in oids]

    # -- writing --------------------------------------------------------------------------------

    def write(self, buffer: bytes | bytearray | memoryview | str) -> None:
        """Write data in the COPY format (str is encoded)."""
        if not self._is_in:
            raise e.ProgrammingError("copy.write() can be used only with COPY ... FROM STDIN")
        if isinstance(buffer, str):
            buffer = buffer.encode()
        elif type(buffer) is not bytes:
            buffer = bytes(buffer)
        self._buffer.write(buffer)
        if len(self._buffer) >= _FLUSH_SIZE:
            self._flush()

    def write_row(self, row: Sequence[Any]) -> None:
        """Write one record: text format, or binary for ``COPY ... (FORMAT BINARY)`` (the
        types given to ``set_types``, else each value's own type)."""
        if not self._is_in:
            raise e.ProgrammingError("copy.write_row() can be used only with COPY ... FROM STDIN")
        if self._buffer.put_row(row):
            self._flush()

    def _set_row_args(self) -> None:
        # What every write_row formats with, handed to the native buffer once.
        self._buffer.configure(
            self._text_encoders,
            self._dump_oids or [],
            self._dump_binary if self._binary else self._dump_text,
            _FLUSH_SIZE,
        )

    def _dump_text(self, value: Any) -> bytes | None:
        # A value the native formatter leaves to its Python dumper.
        data = self._tx.get_dumper(value, PyFormat.TEXT).dump(value)
        return None if data is None else bytes(data)

    def _dump_binary(self, value: Any, oid: int) -> bytes | None:
        if oid:
            dcls = self._tx.adapters.get_dumper_by_oid(oid, pq.Format.BINARY)
            dumper = dcls(type(value), self._tx)
        else:
            dumper = self._tx.get_dumper(value, PyFormat.BINARY)
        data = dumper.dump(value)
        return None if data is None else bytes(data)

    def _flush(self) -> None:
        if len(self._buffer):
            self.cursor._wait(self._native.copy_write(self._buffer))

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
        if self._binary:
            return self._read_binary_row()
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

    def _read_binary_row(self) -> tuple[Any, ...] | None:
        rows = self._binary_rows
        while not rows:
            data = self.read()
            if not data:
                return None
            self._pending += bytes(data)
            tz, utc = self.connection._timezone()
            parsed, used = parse_binary_rows(
                self._pending, self._load_specs, self._dump_oids, tz, utc, self._array_oids()
            )
            self._pending = self._pending[used:]
            rows.extend(parsed)
        return rows.pop(0)

    def _array_oids(self) -> frozenset[int]:
        """Which of the types given to ``set_types`` are arrays (their rows hold lists)."""
        registry = self.connection.adapters.types
        found = set()
        for oid in self._dump_oids or ():
            info = registry.get(oid)
            if info is not None and info.array_oid == oid:
                found.add(oid)
        return frozenset(found)

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
        # COPY TO's CommandComplete was collected by the native read; rowcount is its count,
        # as psycopg's.
        self._finished = True
        rows = self._native.copy_out_rows
        self.cursor._rowcount = rows if rows is not None else -1

    def finish(self, exc: BaseException | None = None) -> None:
        """End the COPY: send the rest (or the error) and read the server's verdict."""
        if self._is_in:
            if self._finished:
                return
            self._finished = True
            if exc is None:
                if self._binary:
                    self._buffer.finish()
                self._flush()
                results = self.cursor._wait(self._native.copy_end(None))
                self.cursor._set_results(results)
                return
            self._buffer.take()
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
