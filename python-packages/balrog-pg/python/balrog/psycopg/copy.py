"""``Cursor.copy()``: COPY FROM STDIN / TO STDOUT, text or binary format.

Rows written with ``write_row`` are formatted natively (``balrog._pg.CopyBuffer``): the
builtin types without any per-value Python work, other types through their dumpers. Rows
read with ``rows``/``read_row`` are parsed and decoded natively too (``balrog._pg``'s
``CopyTextParser`` and ``CopyBinaryParser``), a batch of them read per native call.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from .. import _pg
from . import errors as e
from . import pq
from ._copy_checks import Check as ColumnCheck
from ._copy_checks import column_check, dumps_every_value
from ._encodings import codec_for, foreign_encoding
from ._enums import PyFormat

if TYPE_CHECKING:
    from .cursor import BaseCursor

__all__ = ["Copy", "FileWriter", "LibpqWriter", "QueuedLibpqWriter", "Writer"]

_COPY_OUT = 3
_COPY_IN = 4

# Small enough that the server parses one chunk while the next is being formatted.
_FLUSH_SIZE = 32 * 1024

# int2, int4, int8, oid, float4, float8, numeric: the columns a bool goes to as 1/0.
_NUMBER_OIDS = frozenset((21, 23, 20, 26, 700, 701, 1700))

# COPY TO: at most this many rows read ahead per native call (those the socket already
# delivered; see PgConn.copy_read_many).
_READ_AHEAD = 1024


class Writer(ABC):
    """Where ``Copy`` sends the COPY FROM data it formats (psycopg's ``copy.Writer``)."""

    @abstractmethod
    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Take a chunk of COPY data."""

    def finish(self, exc: BaseException | None = None) -> None:  # noqa: B027 - optional hook
        """The COPY is over (``exc``: the error that ended it, if any)."""


def _no_len(buffer: Any) -> bytes:
    """psycopg's error for a COPY buffer that is not bytes-like (an int, None...)."""
    raise TypeError(f"object of type '{type(buffer).__name__}' has no len()")


def _as_bytes(buffer: Any) -> bytes:
    """A bytes-like COPY buffer as bytes; psycopg's TypeErrors for the others (libpq's
    copy call takes their len(), then their buffer)."""
    if not hasattr(buffer, "__len__"):
        _no_len(buffer)
    try:
        return bytes(memoryview(buffer))
    except TypeError:
        raise TypeError(f"bytes or buffer expected, got {type(buffer)}") from None


class LibpqWriter(Writer):
    """Writes to the cursor's connection (the default; ``Copy`` then takes the native path
    itself, without going through this object)."""

    def __init__(self, cursor: BaseCursor):
        self.cursor = cursor
        self.connection = cursor.connection
        self._native = cursor.connection._native

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if data:
            self.cursor._wait(self._native.copy_write(data if type(data) is bytes else bytes(data)))

    def finish(self, exc: BaseException | None = None) -> None:
        if exc is None:
            self.cursor._set_results(self.cursor._wait(self._native.copy_end(None)))
            return
        try:
            self.cursor._wait(self._native.copy_end(_copy_fail_message(exc)))
        except e.QueryCanceled:  # type: ignore[attr-defined]
            pass  # the expected answer to our CopyFail


class QueuedLibpqWriter(LibpqWriter):
    """psycopg's writer that sends from a worker thread. The native side already writes
    without holding the GIL and overlaps with formatting, so this is the same writer."""


class FileWriter(Writer):
    """Writes the COPY data to a binary file (to load later with ``COPY ... FROM``)."""

    def __init__(self, file: IO[bytes]):
        self.file = file

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.file.write(data)


# The Python types a binary COPY row may format natively when no set_types() names the
# column's type (the native side picks the PostgreSQL type from the value's type).
_BINARY_NATIVE_CANDIDATES = (bool, int, float, str, bytes, dt.datetime, dt.date, dt.time, dt.timedelta)


def _native_binary_types(adapters: Any) -> dict[type, int]:
    """Those of the candidates whose binary dumper is still balrog's own: a type given
    another one with ``register_dumper`` goes through that dumper, as in psycopg."""
    native: dict[type, int] = {}
    builtin_package = f"{__package__}.types"
    for cls in _BINARY_NATIVE_CANDIDATES:
        try:
            dumper = adapters.get_dumper(cls, PyFormat.BINARY)
        except e.ProgrammingError:
            continue
        if dumper.__module__.startswith(builtin_package):
            native[cls] = 1
    return native


def _is_builtin(dumper: type | None) -> bool:
    """Whether ``dumper`` is one of balrog's own (not registered by the application); None
    (no dumper) counts as one."""
    return dumper is None or str(dumper.__module__).startswith(f"{__package__}.")


class _Dumped:
    """A value already dumped by its column's dumper (text COPY after set_types)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes | None) -> None:
        self.data = data


def _copy_fail_message(exc: BaseException) -> str:
    return f"error from Python: {type(exc).__qualname__} - {exc}"


class Copy:
    """A COPY operation in progress (psycopg's ``Copy``).

    ``Copy(cursor, binary=..., writer=...)`` can also be made directly with a writer such
    as :class:`FileWriter`, to produce COPY data without a COPY statement.
    """

    __module__ = "psycopg"

    def __init__(self, cursor: BaseCursor, *, binary: bool | None = None, writer: Writer | None = None):
        self.cursor = cursor
        self.connection = cursor.connection
        self._native = cursor.connection._native
        res = cursor._pgresult
        status = res.status if res is not None else None
        # COPY TO reads; anything else (COPY FROM, or a writer without a COPY statement) writes.
        self._is_in = status != _COPY_OUT
        # The columns the server announced: the fields of a text row read back.
        self._nfields = res.nfields if status == _COPY_OUT else 0
        if binary is None:
            binary = bool(getattr(res, "copy_binary", False)) if status in (_COPY_IN, _COPY_OUT) else False
        self._binary = bool(binary)  # a bool or a pq.Format
        # The native path serves the connection's own writer; any other gets the bytes.
        own = writer is None or (type(writer) in (LibpqWriter, QueuedLibpqWriter) and writer.cursor is cursor)
        self.writer: Writer = LibpqWriter(cursor) if writer is None else writer
        self._custom_writer: Writer | None = None if own else writer
        self._buffer = _pg.CopyBuffer(self._binary)
        # COPY data is in the client encoding (the native layer converts everything else).
        codec = codec_for(self._native.parameter_status("client_encoding"))
        # SQL_ASCII: the server converts nothing; text is returned as bytes, as psycopg does.
        self._sql_ascii = codec == "ascii"
        self._codec = "utf-8" if self._sql_ascii else codec
        self._foreign = self._codec != "utf-8"
        self._finished = False
        # The connection's lock, held since cursor.copy() (not by a Copy made directly).
        self._holds_lock = False
        self._tx = cursor._transformer()
        adapters = self._tx.adapters
        # Text: the native encoders' map; binary: the types formatted natively (see there).
        if self._binary:
            self._text_encoders = _native_binary_types(adapters)
        else:
            self._text_encoders = adapters.native_encoders()[1]
        self._dump_oids: list[int] | None = None
        # Text COPY after set_types: per (column, value type), the column type's dumper, or
        # None where the value's own dumper serves (_dumped_by_column).
        self._by_column: dict[tuple[int, type], Any] = {}
        # Text COPY after set_types: per column, psycopg's acceptance rule for the column's
        # type (_copy_checks), or None.
        self._column_checks: list[ColumnCheck | None] = []
        # ... and the column type's dumper when it must dump every value of the column, as
        # psycopg's pinned dumpers do: one the application registered, or json's.
        self._pinned_dumpers: list[Any] = []
        self._set_row_args()
        self._load_specs: list[Any] | None = None
        self._rows_done = False
        # Binary COPY data written whole with write() (signature included, and, unless rows
        # follow, the trailer): finish() then adds nothing, as psycopg.
        self._raw_only = False
        self._row_mode = False
        # write_row's short way, once a row has taken the long one (None: take the long one).
        self._put_row_fast: Callable[[Sequence[Any]], bool] | None = None
        self._fast_width = -1
        self._entered = False
        # COPY TO: CopyData messages read ahead (served first by read() and read_row()) and
        # the native row parser (made at the first row; set_types replaces it).
        self._ahead: deque[bytes] = deque()
        self._parser: _pg.CopyTextParser | _pg.CopyBinaryParser | None = None
        # Binary COPY TO: whether a parser already took the header (psycopg checks it once,
        # on the first row parsed: its replacement after set_types must not look for it).
        self._header_seen = False

    def __repr__(self) -> str:
        from ._connection_info import connection_summary

        summary = connection_summary(self.connection)
        if not self._finished and summary.startswith("[") and not self.connection.closed:
            # The server is in COPY mode until finish(): the connection is busy (ACTIVE).
            summary = "[ACTIVE]" + summary[summary.index("]") + 1 :]
        return f"<{type(self).__module__}.{type(self).__qualname__} {summary} at 0x{id(self):x}>"

    def __enter__(self) -> Copy:
        if self._entered:
            raise TypeError("copy blocks can be used only once")
        self._entered = True
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
        # The cursor's registry, as psycopg: a type registered on the cursor only (e.g.
        # `register_hstore(info, cur)`) is known by name.
        registry = self.cursor.adapters.types
        oids = [t if isinstance(t, int) else registry.get_oid(t) for t in types]
        self._put_row_fast = None
        self._dump_oids = oids
        self._by_column = {}
        dumpers = [self._text_dumper_class(oid) for oid in oids]
        # The checks stand for psycopg's builtin dumpers: only where the column's is one.
        builtin = [dumper is not None and _is_builtin(dumper) for dumper in dumpers]
        self._column_checks = [
            column_check(oid) if own else None for oid, own in zip(oids, builtin, strict=True)
        ]
        self._pinned_dumpers = [
            dumper if not _is_builtin(dumper) or (own and dumps_every_value(oid)) else None
            for oid, dumper, own in zip(oids, dumpers, builtin, strict=True)
        ]
        self._set_row_args()
        self._load_specs = [self._tx.loader_spec(oid) for oid in oids]
        if isinstance(self._parser, _pg.CopyBinaryParser):
            self._header_seen = self._parser.started
        self._parser = None

    # -- writing --------------------------------------------------------------------------------

    def write(self, buffer: bytes | bytearray | memoryview | str) -> None:
        """Write data in the COPY format (str is encoded)."""
        if not self._is_in:
            raise e.ProgrammingError("copy.write() can be used only with COPY ... FROM STDIN")
        if not buffer:
            return  # psycopg writes nothing for a falsy buffer (None, b"", "")
        if isinstance(buffer, str):
            if self._binary:
                raise TypeError("cannot copy str data in binary mode: use bytes instead")
            buffer = buffer.encode(self._codec)
        elif type(buffer) is not bytes:
            # Bytes-like objects only, as psycopg (which takes their len()): bytes(123) would
            # be 123 NUL bytes.
            buffer = _as_bytes(buffer)
        if buffer:
            self._raw_only = True
        self._buffer.write(buffer)
        if len(self._buffer) >= _FLUSH_SIZE:
            self._flush()

    def write_row(self, row: Sequence[Any]) -> None:
        """Write one record: text format, or binary for ``COPY ... (FORMAT BINARY)`` (the
        types given to ``set_types``, else each value's own type)."""
        # The rows after the first, when every check below reduces to the row's width: the
        # buffer's own method, saving a dozen attribute reads per row (see _write_row_checked).
        put = self._put_row_fast
        if put is not None:
            width = self._fast_width
            if width < 0 or len(row) == width:
                if put(row):
                    self._flush()
                return
        self._write_row_checked(row)

    def _write_row_checked(self, row: Sequence[Any]) -> None:
        if not self._is_in:
            raise e.ProgrammingError("copy.write_row() can be used only with COPY ... FROM STDIN")
        self._row_mode = True
        if self._dump_oids and (row or self._binary) and len(row) != len(self._dump_oids):
            # psycopg's Transformer checks a row against the types set_types() gave (an
            # empty text row goes out as it is, and the server judges it).
            raise e.DataError(f"expected {len(self._dump_oids)} values in row, got {len(row)}")
        if self._dump_oids and not self._binary:
            row = self._dumped_by_column(row)
        if self._foreign and not self._binary:
            self._put_row_converted(row)
            return
        if self._binary or not self._dump_oids:
            # Nothing but the width left to check for the next rows (until set_types or
            # the end of the COPY).
            self._put_row_fast = self._buffer.put_row
            self._fast_width = len(self._dump_oids) if self._binary and self._dump_oids else -1
        if self._buffer.put_row(row):
            self._flush()

    def _put_row_converted(self, row: Sequence[Any]) -> None:
        # Formatted natively (UTF-8) on the side, then converted to the client encoding.
        side = _pg.CopyBuffer(False)
        side.configure(self._text_encoders, self._dump_oids or [], self._dump_text, _FLUSH_SIZE)
        side.put_row(row)
        self._buffer.write(bytes(side.take()).decode().encode(self._codec))
        if len(self._buffer) >= _FLUSH_SIZE:
            self._flush()

    def _dumped_by_column(self, row: Sequence[Any]) -> list[Any]:
        """Text COPY after ``set_types``: psycopg dumps every value with its column type's
        dumper, so a dict can go to a jsonb column and a list's elements take the array's
        element type. Here that dumper serves every value of a column whose dumper the
        application registered (and of json columns), lists, values without a builtin
        dumper of their own, and values of other types than the column's natural ones
        after psycopg's check (_copy_checks); the others keep their builtin dumper, whose
        text is the same (and numpy scalars keep working)."""
        width = len(self._dump_oids or ())
        cache = self._by_column
        out = list(row)
        oids = self._dump_oids or ()
        checks = self._column_checks
        pinned = self._pinned_dumpers
        for i, value in enumerate(out):
            if value is None or i >= width:
                continue
            if pinned[i] is None:  # else the column's dumper takes every value, as is
                if type(value) is bool and oids[i] in _NUMBER_OIDS:
                    # psycopg's number dumpers write a bool as the int it is (1), not as "t".
                    out[i] = int(value)
                    continue
                check = checks[i]
                if check is not None and type(value) not in check[0]:
                    # What psycopg's dumper for the column refuses at write_row, or converts.
                    value = out[i] = check[1](value)
                if type(value) in self._text_encoders:
                    continue  # the column's dumper would write the same text
            key = (i, type(value))
            try:
                dumper = cache[key]
            except KeyError:
                dumper = cache[key] = self._column_dumper(i, value)
            if dumper is not None:
                data = dumper.dump(value)
                out[i] = _Dumped(None if data is None else bytes(data))
        return out

    def _text_dumper_class(self, oid: int) -> Any:
        """The text dumper class for ``oid`` (None: there is none)."""
        try:
            return self._tx.adapters.get_dumper_by_oid(oid, pq.Format.TEXT)
        except e.ProgrammingError:
            return None

    def _column_dumper(self, index: int, value: Any) -> Any:
        """For ``_dumped_by_column``: the dumper of column ``index``'s type for values of
        ``value``'s type, or None to leave them to their own dumper (what decides depends
        only on the type, so the answer is cached)."""
        oids = self._dump_oids or []
        pinned = self._pinned_dumpers[index]
        if pinned is not None:
            return pinned(type(value), self._tx)
        if type(value) is not list:
            try:
                own = self._tx.get_dumper(value, PyFormat.TEXT)
                if _is_builtin(type(own)):
                    return None  # dumped by _dump_text as without set_types: the same text
            except e.ProgrammingError:
                pass
        try:
            return self._tx.adapters.get_dumper_by_oid(oids[index], pq.Format.TEXT)(type(value), self._tx)
        except e.ProgrammingError:
            return None  # no dumper for the column type: the value's own type decides

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
        if type(value) is _Dumped:
            return value.data
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
            if self._custom_writer is not None:
                self._custom_writer.write(self._buffer.take())
                return
            self.cursor._wait(self._native.copy_write(self._buffer))

    # -- reading --------------------------------------------------------------------------------

    def read(self) -> memoryview:
        """The next chunk of COPY data; empty at the end."""
        if self._is_in:
            raise e.ProgrammingError("copy.read() can be used only with COPY ... TO STDOUT")
        if self._ahead:
            return memoryview(self._ahead.popleft())
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
        """The next record as a tuple (values loaded by ``set_types``' types, else str in
        text and bytes in binary); None at the end (and at binary data's trailer)."""
        # One CopyData message is one row (the server sends them so): as psycopg, parsed on
        # its own, whatever a CSV field's quotes hold.
        if not self._ahead and not self._read_ahead():
            return None
        return self._parse_row(self._ahead.popleft())

    def _read_ahead(self) -> bool:
        """Fill ``_ahead`` with the next rows (one native call for as many as arrived);
        False at the end of the data."""
        if self._is_in:
            raise e.ProgrammingError("copy.read() can be used only with COPY ... TO STDOUT")
        if self._finished or self._rows_done:
            return False
        chunks = self.cursor._wait(self._native.copy_read_many(_READ_AHEAD))
        if chunks is None:
            self._rows_done = True
            self._finish_results()
            return False
        self._ahead.extend(chunks)
        return True

    def rows(self) -> Iterator[tuple[Any, ...]]:
        # read_row's steps, without two Python calls per row. set_types between two rows
        # replaces the parser: the next row then takes the new one.
        ahead = self._ahead
        while ahead or self._read_ahead():
            parse = self._row_parser()
            parser = self._parser
            while ahead and self._parser is parser:
                row = parse(ahead.popleft())
                if row is None:
                    return  # binary data's trailer: psycopg's rows() stops at it
                yield row

    def _parse_row(self, line: bytes) -> tuple[Any, ...] | None:
        return self._row_parser()(line)

    def _row_parser(self) -> Callable[[bytes], tuple[Any, ...] | None]:
        """What turns one row into its tuple: the native parser (text: split, unescape and
        decode as psycopg, with set_types' loaders or str, after the conversion to UTF-8
        when the client encoding is another; binary: see _binary_parser)."""
        if self._binary:
            return self._binary_parser().parse_row
        parser = self._parser
        if not isinstance(parser, _pg.CopyTextParser):
            from .types.datetime import _session_styles

            tz, utc = self.connection._timezone()
            datestyle, intervalstyle = _session_styles(self.connection)
            parser = self._parser = _pg.CopyTextParser(
                # As many fields as the COPY has columns (psycopg's rule, whatever set_types says).
                self._nfields,
                self._load_specs,
                tz,
                utc,
                datestyle,
                intervalstyle,
                self._sql_ascii,
            )
        if not self._foreign:
            return parser.parse_row
        codec, parse = self._codec, parser.parse_row

        def parse_converted(line: bytes) -> tuple[Any, ...]:
            # Before splitting: in some encodings (SJIS) a character's second byte can be a
            # backslash, which the server does not escape.
            return parse(line.decode(codec).encode())

        return parse_converted

    def _binary_parser(self) -> _pg.CopyBinaryParser:
        """The native binary row parser: header, field lengths and psycopg's errors for
        malformed data, values by set_types' binary loaders (native for the builtin types,
        the registered ones get the bytes) or bytes; text inside values is converted from
        the client encoding natively, as the wire layer does for query results."""
        parser = self._parser
        if isinstance(parser, _pg.CopyBinaryParser):
            return parser
        tz, utc = self.connection._timezone()
        oids = self._dump_oids
        specs = None if oids is None else [self._tx.loader_spec(oid, pq.Format.BINARY) for oid in oids]
        parser = self._parser = _pg.CopyBinaryParser(
            self._nfields,
            specs,
            oids,
            tz,
            utc,
            foreign_encoding(self.connection),
            self._sql_ascii,
            self._header_seen,
        )
        return parser

    # -- end ------------------------------------------------------------------------------------

    def _finish_results(self) -> None:
        # COPY TO's CommandComplete was collected by the native read; rowcount is its count,
        # as psycopg's.
        self._finished = True
        rows = self._native.copy_out_rows
        self.cursor._rowcount = rows if rows is not None else -1
        if self._native.copy_out_mixed:
            # "copy ... to stdout; select 1": the other statements ran, but psycopg refuses
            # the query when it sees their results.
            raise e.ProgrammingError("you cannot mix COPY with other operations")

    def finish(self, exc: BaseException | None = None) -> None:
        """End the COPY: send the rest (or the error) and read the server's verdict."""
        try:
            self._finish(exc)
        finally:
            if self._holds_lock:  # taken by cursor.copy() for the whole block
                self._holds_lock = False
                self.connection.lock.release()

    def _finish(self, exc: BaseException | None) -> None:
        self._put_row_fast = None
        if self._is_in:
            if self._finished:
                return
            self._finished = True
            if self._custom_writer is not None:
                if exc is None:
                    if self._binary and (self._row_mode or not self._raw_only):
                        self._buffer.finish()
                    self._flush()
                else:
                    self._buffer.take()
                self._custom_writer.finish(exc)
                return
            if exc is None:
                if self._binary and (self._row_mode or not self._raw_only):
                    self._buffer.finish()
                self._flush()
                results = self.cursor._wait(self._native.copy_end(None))
                self.cursor._set_results(results)
                return
            self._buffer.take()
            try:
                self.cursor._wait(self._native.copy_end(_copy_fail_message(exc)))
            except e.QueryCanceled:  # type: ignore[attr-defined]
                pass  # the expected answer to our CopyFail
            return
        # COPY TO ended by an error in the block: cancel it rather than read what is left (a
        # million rows, maybe), as psycopg; the transaction is then failed (INERROR).
        if exc is not None and not self._rows_done and not self._finished:
            try:
                self.connection.cancel()
            except e.Error:
                pass  # then the rest is read, as below
            try:
                while self.read():
                    pass
            except e.QueryCanceled:  # type: ignore[attr-defined]
                self._finished = self._rows_done = True
                self.cursor._rowcount = -1
            return
        # COPY TO: read what the user left unread so the connection leaves COPY mode.
        while not self._rows_done:
            if not self.read():
                break


def __getattr__(name: str) -> Any:
    # psycopg.copy also offers the async classes; they live in copy_async (which imports
    # this module), so they are looked up on first use.
    if name in ("AsyncCopy", "AsyncWriter", "AsyncLibpqWriter", "AsyncQueuedLibpqWriter"):
        from . import copy_async

        return getattr(copy_async, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
