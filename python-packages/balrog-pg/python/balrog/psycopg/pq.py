"""The libpq-level enums and helpers of ``psycopg.pq``, without a libpq.

balrog speaks the PostgreSQL protocol itself (tokio-postgres), so there is no libpq to wrap:
this module keeps the names, values and reprs code written for psycopg relies on
(``pq.Format.TEXT``, ``pq.TransactionStatus.INTRANS``, ``pq.version()`` ...).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag
from typing import Any, NamedTuple

__all__ = [
    "ConnStatus",
    "ConninfoOption",
    "DiagnosticField",
    "Escaping",
    "ExecStatus",
    "Format",
    "PGnotify",
    "PGresAttDesc",
    "Ping",
    "PipelineStatus",
    "PollingStatus",
    "Trace",
    "TransactionStatus",
    "version",
    "version_pretty",
]

__impl__ = "balrog"
"""Which implementation of ``psycopg.pq`` is loaded (psycopg says python, c or binary)."""

# The libpq release whose behaviour the protocol implementation follows. Code that gates
# features on ``pq.version()`` (e.g. "libpq >= 17 has PQcancelConn") then takes the modern path.
_LIBPQ_EQUIVALENT_VERSION = 170000

__build_version__ = _LIBPQ_EQUIVALENT_VERSION
"""Same format as ``ConnectionInfo.server_version``."""


def version() -> int:
    """The libpq version balrog's protocol implementation is equivalent to."""
    return _LIBPQ_EQUIVALENT_VERSION


def version_pretty(version: int) -> str:
    """A PostgreSQL version number for humans: 140002 -> "14.2", 90610 -> "9.6.10"."""
    rest, patch = divmod(version, 100)
    major, minor = divmod(rest, 100)
    if major >= 10 and minor == 0:
        return f"{major}.{patch}"
    return f"{major}.{minor}.{patch}"


class ConnStatus(IntEnum):
    """Status of a connection (libpq's ``ConnStatusType``)."""

    __module__ = "balrog.psycopg.pq"

    OK = 0
    BAD = 1
    STARTED = 2
    MADE = 3
    AWAITING_RESPONSE = 4
    AUTH_OK = 5
    SETENV = 6
    SSL_STARTUP = 7
    NEEDED = 8
    CHECK_WRITABLE = 9
    CONSUME = 10
    GSS_STARTUP = 11
    CHECK_TARGET = 12
    CHECK_STANDBY = 13
    ALLOCATED = 14
    AUTHENTICATING = 15


class PollingStatus(IntEnum):
    """Socket status while connecting (libpq's ``PostgresPollingStatusType``)."""

    __module__ = "balrog.psycopg.pq"

    FAILED = 0
    READING = 1
    WRITING = 2
    OK = 3
    ACTIVE = 4


class ExecStatus(IntEnum):
    """Status of a command result (libpq's ``ExecStatusType``)."""

    __module__ = "balrog.psycopg.pq"

    EMPTY_QUERY = 0
    COMMAND_OK = 1
    TUPLES_OK = 2
    COPY_OUT = 3
    COPY_IN = 4
    BAD_RESPONSE = 5
    NONFATAL_ERROR = 6
    FATAL_ERROR = 7
    COPY_BOTH = 8
    SINGLE_TUPLE = 9
    PIPELINE_SYNC = 10
    PIPELINE_ABORTED = 11
    TUPLES_CHUNK = 12


class TransactionStatus(IntEnum):
    """Transaction status of a connection (libpq's ``PGTransactionStatusType``)."""

    __module__ = "balrog.psycopg.pq"

    IDLE = 0
    ACTIVE = 1
    INTRANS = 2
    INERROR = 3
    UNKNOWN = 4


class Ping(IntEnum):
    """Result of a server ping (libpq's ``PGPing``)."""

    __module__ = "balrog.psycopg.pq"

    OK = 0
    REJECT = 1
    NO_RESPONSE = 2
    NO_ATTEMPT = 3


class PipelineStatus(IntEnum):
    """Pipeline mode of a connection (libpq's ``PGpipelineStatus``)."""

    __module__ = "balrog.psycopg.pq"

    OFF = 0
    ON = 1
    ABORTED = 2


class DiagnosticField(IntEnum):
    """Fields of an error report: the protocol's one-letter codes, as their ordinals."""

    __module__ = "balrog.psycopg.pq"

    SEVERITY = ord("S")
    SEVERITY_NONLOCALIZED = ord("V")
    SQLSTATE = ord("C")
    MESSAGE_PRIMARY = ord("M")
    MESSAGE_DETAIL = ord("D")
    MESSAGE_HINT = ord("H")
    STATEMENT_POSITION = ord("P")
    INTERNAL_POSITION = ord("p")
    INTERNAL_QUERY = ord("q")
    CONTEXT = ord("W")
    SCHEMA_NAME = ord("s")
    TABLE_NAME = ord("t")
    COLUMN_NAME = ord("c")
    DATATYPE_NAME = ord("d")
    CONSTRAINT_NAME = ord("n")
    SOURCE_FILE = ord("F")
    SOURCE_LINE = ord("L")
    SOURCE_FUNCTION = ord("R")


class Format(IntEnum):
    """Wire format of a query parameter or of a result column."""

    __module__ = "balrog.psycopg.pq"

    TEXT = 0
    BINARY = 1


class Trace(IntFlag):
    """Flags for protocol tracing (accepted for compatibility)."""

    __module__ = "balrog.psycopg.pq"

    SUPPRESS_TIMESTAMPS = 1
    REGRESS_MODE = 2


class PGnotify(NamedTuple):
    """A notification received on a LISTEN channel."""

    relname: bytes
    be_pid: int
    extra: bytes


class ConninfoOption(NamedTuple):
    """One connection parameter, as libpq's ``PQconndefaults`` describes it."""

    keyword: bytes
    envvar: bytes | None
    compiled: bytes | None
    val: bytes | None
    label: bytes
    dispchar: bytes
    dispsize: int


class PGresAttDesc(NamedTuple):
    """Description of a result column."""

    name: bytes
    tableid: int
    columnid: int
    format: int
    typid: int
    typlen: int
    atttypmod: int


class Escaping:
    """libpq's escaping functions (``PQescapeLiteral`` and friends) for code that builds SQL
    by hand; ``conn`` is a connection's ``pgconn`` (None: the functions that need one raise,
    the others assume ``standard_conforming_strings`` on).

    balrog's connections always speak UTF8, so "valid for the client encoding" means valid
    UTF-8 here.
    """

    def __init__(self, conn: Any = None):
        self.conn = conn

    def escape_literal(self, data: Any) -> bytes:
        """``data`` as a string literal, ``E''`` form when it holds a backslash."""
        raw = self._checked("escape_literal", data)
        quoted = raw.replace(b"'", b"''")
        if b"\\" in raw:
            return b" E'" + quoted.replace(b"\\", b"\\\\") + b"'"
        return b"'" + quoted + b"'"

    def escape_identifier(self, data: Any) -> bytes:
        """``data`` as a quoted identifier."""
        raw = self._checked("escape_identifier", data)
        return b'"' + raw.replace(b'"', b'""') + b'"'

    def escape_string(self, data: Any) -> bytes:
        """``data`` for inside a string literal's quotes (backslashes doubled only when the
        connection has ``standard_conforming_strings`` off)."""
        raw = _bytes_of(data)
        if self.conn is not None:
            self._check_open()
            _check_utf8("escape_string", raw)
        quoted = raw.replace(b"'", b"''")
        return quoted if self._std_strings() else quoted.replace(b"\\", b"\\\\")

    def escape_bytea(self, data: Any) -> bytes:
        """Binary data for a bytea literal: hex format with a connection, else libpq's
        escape format."""
        raw = _bytes_of(data)
        if self.conn is not None:
            self._check_open()
            prefix = b"\\x" if self._std_strings() else b"\\\\x"
            return prefix + raw.hex().encode()
        out = bytearray()
        for byte in raw:
            if byte == 0x27:
                out += b"''"
            elif byte == 0x5C:
                out += b"\\\\"
            elif byte < 0x20 or byte > 0x7E:
                out += b"\\%03o" % byte
            else:
                out.append(byte)
        return bytes(out)

    def unescape_bytea(self, data: Any) -> bytes:
        """The bytes a bytea's text form (hex or escape format) stands for."""
        raw = _bytes_of(data)
        if raw.startswith(b"\\x"):
            return bytes.fromhex(raw[2:].decode("ascii"))
        out = bytearray()
        i = 0
        while i < len(raw):
            byte = raw[i]
            if byte == 0x5C and raw[i + 1 : i + 4].isdigit() and len(raw[i + 1 : i + 4]) == 3:
                out.append(int(raw[i + 1 : i + 4], 8) & 0xFF)
                i += 4
            elif byte == 0x5C and raw[i + 1 : i + 2] == b"\\":
                out.append(0x5C)
                i += 2
            else:
                out.append(byte)
                i += 1
        return bytes(out)

    def _checked(self, name: str, data: Any) -> bytes:
        raw = _bytes_of(data)
        if self.conn is None:
            from .errors import OperationalError

            raise OperationalError(f"{name} failed: no connection provided")
        self._check_open()
        _check_utf8(name, raw)
        return raw

    def _check_open(self) -> None:
        if self.conn.status == ConnStatus.BAD:
            from .errors import OperationalError

            raise OperationalError("the connection is closed")

    def _std_strings(self) -> bool:
        if self.conn is None:
            return True
        return self.conn.parameter_status(b"standard_conforming_strings") != b"off"


def _bytes_of(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"bytes or buffer expected, got {type(data)}")


def _check_utf8(name: str, raw: bytes) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        from .errors import OperationalError

        raise OperationalError(f"{name} failed: invalid multibyte character") from None
