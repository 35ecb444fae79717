"""Native core of balrog.psycopg (crates/balrog-pg)."""

from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Any

from balrog._bridge import NativeOp

class PgResult:
    @property
    def status(self) -> int: ...
    @property
    def ntuples(self) -> int: ...
    @property
    def nfields(self) -> int: ...
    @property
    def command_status(self) -> str | None: ...
    @property
    def command_tuples(self) -> int | None: ...
    @property
    def copy_binary(self) -> bool: ...
    @property
    def drops_prepared(self) -> bool: ...
    def slice(self, start: int, stop: int) -> PgResult:
        """Rows ``start:stop`` as a result of their own (shared buffers and loaders)."""
        ...
    def summary(self) -> tuple[int, int, int | None, tuple[int, ...], bool, bool]:
        """(status, ntuples, command_tuples, type_oids, drops_prepared, binary) in one call
        (``binary``: the rows are in binary format)."""
        ...
    def type_oids(self) -> tuple[int, ...]: ...
    def columns(self) -> list[tuple[str, int, int, int, int, int, int]]: ...
    def set_loaders(self, specs: list[Any], tz: tzinfo, tz_is_utc: bool) -> None: ...
    def use_loaders(self, loaders: LoaderSet) -> None: ...
    def fetch(self, start: int, stop: int | None, maker: Any = None) -> list[Any]: ...
    def fetch_one(self, index: int, maker: Any = None) -> Any: ...
    def get_value(self, row: int, column: int) -> bytes | None: ...
    def fformat(self, column: int) -> int | None: ...
    def ftype(self, column: int) -> int | None: ...
    def fname(self, column: int) -> bytes | None: ...
    def fmod(self, column: int) -> int | None: ...
    def fsize(self, column: int) -> int | None: ...

class LoaderSet:
    """Column decoders built once and shared by results of the same row type."""

    def __init__(self, specs: list[Any], tz: tzinfo, tz_is_utc: bool) -> None: ...

class Params:
    """One execute's parameters encoded natively (``encode_params``)."""

    @property
    def types(self) -> tuple[int, ...]: ...
    @property
    def formats(self) -> tuple[int, ...]: ...
    def __len__(self) -> int: ...

class ParamBatch:
    """executemany rows sharing their types (``encode_many``)."""

    @property
    def types(self) -> list[int]: ...
    @property
    def formats(self) -> list[int]: ...
    def __len__(self) -> int: ...

class CopyBuffer:
    """COPY FROM STDIN data formatted natively (text or binary)."""

    def __init__(self, binary: bool) -> None: ...
    def __len__(self) -> int: ...
    def write(self, data: bytes) -> None: ...
    def take(self) -> bytes: ...
    def finish(self) -> None: ...
    def write_row(
        self, row: Any, text_map: dict[type, int], oids: list[int], fallback: Callable[..., bytes | None]
    ) -> int: ...
    def configure(
        self,
        text_map: dict[type, int],
        oids: list[int],
        fallback: Callable[..., bytes | None],
        flush_size: int,
    ) -> None: ...
    def put_row(self, row: Any) -> bool:
        """Append a row with the configured format; True when the buffer should be flushed."""
        ...

class CopyTextParser:
    """The rows of one text-format COPY TO STDOUT as tuples: split and unescaped as psycopg
    does (its DataErrors for a row of the wrong width), each field decoded by ``specs``
    (``PgResult.set_loaders``' specs; None: str everywhere)."""

    def __init__(
        self,
        nfields: int,
        specs: Sequence[Any] | None,
        tz: tzinfo,
        tz_is_utc: bool = False,
        datestyle: str | None = None,
        intervalstyle: str | None = None,
        text_as_bytes: bool = False,
    ) -> None: ...
    def parse_row(self, data: bytes) -> tuple[Any, ...]: ...

class CopyBinaryParser:
    """The tuples of one binary-format COPY TO STDOUT as Python tuples, one CopyData message
    each: header checked on the first one (unless ``started``), psycopg's DataErrors for
    malformed data and ProgrammingError for a tuple of another width than the loaders;
    each field decoded by ``specs`` (``PgResult.set_loaders``' binary specs, with the
    columns' type ``oids``; None: bytes for each of the ``nfields`` columns), its text
    first converted from ``client_encoding`` (None: UTF-8 or SQL_ASCII)."""

    def __init__(
        self,
        nfields: int,
        specs: Sequence[Any] | None,
        oids: Sequence[int] | None,
        tz: tzinfo,
        tz_is_utc: bool = False,
        client_encoding: str | None = None,
        text_as_bytes: bool = False,
        started: bool = False,
    ) -> None: ...
    @property
    def started(self) -> bool:
        """Whether the header was seen."""
        ...
    def parse_row(self, data: bytes) -> tuple[Any, ...] | None:
        """One tuple; None for the trailer."""
        ...

def encode_params(
    values: Sequence[Any],
    fmts: Sequence[int],
    maps: Sequence[dict[type, int]],
    fallback: Callable[[Any, int], tuple[bytes | None, int, int]],
) -> Params: ...
def encode_many(
    rows: list[Any],
    width: int,
    fmts: Sequence[int],
    maps: list[dict[type, int]],
    fallback: Callable[[Any, int], tuple[bytes | None, int, int]],
) -> tuple[int | None, BaseException | None, list[ParamBatch]]:
    """Encode an executemany chunk: ``(index of the first row that could not be encoded,
    the exception it raised, batches of the rows before it)``."""
    ...

class PgStream:
    def next(self, size: int) -> NativeOp: ...
    @property
    def finished(self) -> bool: ...
    @property
    def returns_rows(self) -> bool: ...

class ConnectionLock:
    """A reentrant lock for threads and green tasks (crates/balrog-pg/src/conn_lock.rs)."""

    def __init__(self) -> None: ...
    @staticmethod
    def _configure(getcurrent: Callable[[], Any], holder: Any, wakeup: Callable[[], Any]) -> None: ...
    def acquire(self) -> bool: ...
    def __enter__(self) -> bool: ...
    def hold_for_block(self) -> None: ...
    def release(self) -> None: ...
    def __exit__(self, *exc: object) -> None: ...
    def locked(self) -> bool: ...
    @property
    def _waiters(self) -> list[Any]: ...

class Lane:
    """A cursor's native path for a prepared query run again (crates/balrog-pg/src/lane.rs)."""

    def __init__(self, conn: PgConn, lock: ConnectionLock) -> None: ...
    @staticmethod
    def _configure(
        getcurrent: Callable[[], Any],
        green_task: type,
        get_running_loop: Callable[[], Any],
        registry_version: list[int],
    ) -> None: ...
    def arm(
        self,
        query: Any,
        name: str,
        types: Sequence[int],
        width: int,
        fmts: Sequence[int],
        encoders: list[dict[type, int]],
        result: PgResult,
        loaders: LoaderSet | None,
        version: int,
    ) -> None: ...
    def disarm(self) -> None: ...
    @property
    def armed(self) -> Any: ...
    @property
    def runs(self) -> int: ...
    def execute(
        self, query: Any, params: Any, last: Any, autocommit: bool
    ) -> tuple[list[PgResult], PgResult | None, PgResult | None, int, bool] | None: ...

class PgConn:
    def simple(self, query: bytes, copy: bool = False) -> NativeOp: ...
    def run(
        self,
        query: bytes,
        name: str,
        parse: bool,
        params: Params | None = None,
        deallocate: Sequence[str] | None = None,
        result_format: int = 0,
    ) -> NativeOp: ...
    def extended(
        self,
        query: bytes,
        name: str,
        parse: bool,
        types: list[int],
        params: Params | list[bytes | None],
        formats: list[int],
        result_format: int = 0,
        deallocate: list[str] = ...,
    ) -> NativeOp: ...
    def many(
        self,
        query: bytes,
        name: str,
        parse: bool,
        types: list[int],
        rows: ParamBatch | list[list[bytes | None]],
        formats: list[int],
        returning: bool = False,
        summarize: bool = False,
        first: bool = True,
        last: bool = True,
        deallocate: Sequence[str] = (),
        result_format: int = 0,
    ) -> NativeOp:
        """One chunk of an executemany: Close ``deallocate``, Parse ``name`` if ``parse``,
        then one Bind/Execute per row. The last chunk resolves to the list of results; with
        ``summarize``, to ``(row count of the earlier results, [the last result])``; the
        others to None."""
        ...
    @property
    def unsynced(self) -> bool:
        """An executemany stopped between two chunks (rows sent without their Sync)."""
        ...
    def many_sync(self, summarize: bool = False) -> NativeOp:
        """End an executemany stopped before its last chunk; resolves as a last chunk."""
        ...
    def stream(
        self,
        query: bytes,
        types: list[int],
        params: list[bytes | None],
        formats: list[int],
        result_format: int = 0,
    ) -> NativeOp: ...
    def pipeline(
        self,
        # (query, types, params, formats, result format, statement name, parse, deallocate)
        statements: list[
            tuple[bytes, list[int], Params | list[bytes | None], list[int], int, str, bool, list[str]]
        ],
    ) -> NativeOp: ...
    def describe_portal(self, name: bytes) -> NativeOp:
        """Describe the portal (server-side cursor) ``name``: resolves to a one-result list,
        status COMMAND_OK with the cursor's columns and no command tag."""
        ...
    def copy_write(self, data: bytes | CopyBuffer) -> NativeOp: ...
    def copy_end(self, error: str | None = None) -> NativeOp: ...
    def copy_read(self) -> NativeOp: ...
    def copy_read_many(self, limit: int) -> NativeOp:
        """Resolves to a list of the next CopyData messages (the first waited for, the
        others already received), or None at the end of the COPY."""
        ...
    def wait_notifies(self, timeout: float | None = None) -> NativeOp: ...
    def cancel(self) -> NativeOp: ...
    def recover(self, timeout: float = 5.0) -> NativeOp: ...
    def close(self) -> NativeOp: ...
    def forget(self) -> None: ...
    @property
    def socket(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    @property
    def broken(self) -> bool: ...
    @property
    def ssl_in_use(self) -> bool: ...
    @property
    def copy_out_rows(self) -> int | None: ...
    @property
    def copy_out_mixed(self) -> bool: ...
    @property
    def transaction_status(self) -> int: ...
    def parameter_status(self, name: str) -> str | None: ...
    def parameters(self) -> list[tuple[str, str]]: ...
    @property
    def backend_pid(self) -> int: ...
    def target(self) -> tuple[str, int, bool]: ...
    def take_notices(self) -> list[list[tuple[str, str]]]: ...
    def take_notifies(self) -> list[tuple[int, str, str]]: ...
    @property
    def has_pending(self) -> bool: ...

def connect_op(
    hosts: list[str],
    hostaddrs: list[str],
    ports: list[int],
    user: str,
    password: str | None,
    dbname: str,
    connect_timeout: float | None,
    startup: list[tuple[str, str]],
    sslmode: str,
    ssl_options: list[tuple[str, str]] = ...,
    channel_binding: str = ...,
    require_auth: str = ...,
    password_file: str | None = ...,
) -> NativeOp: ...
def decode_value(
    spec: Any,
    data: bytes,
    tz: tzinfo,
    tz_is_utc: bool = False,
    datestyle: str | None = None,
    intervalstyle: str | None = None,
    text_as_bytes: bool = False,
    binary: bool = False,
) -> Any: ...
def binary_to_utf8(client_encoding: str, oid: int, data: bytes) -> bytes:
    """A binary value of type ``oid`` received in ``client_encoding`` with its text
    converted to UTF-8 (25: text; 2249: any record or composite, by its fields' types)."""
    ...

def eager_read_counts() -> tuple[int, int]:
    """``(tries, hits)`` of the calling thread: socket ops whose first poll read the answer
    at once, and those of them that found it there (balrog-core's eager.rs)."""
    ...

def set_eager_reads(on: bool) -> bool:
    """Turn eager reads on or off for this wheel's socket ops (for tests and comparisons;
    ``BALROG_EAGER_READ=0`` at start does the same); returns whether they were on."""
    ...
