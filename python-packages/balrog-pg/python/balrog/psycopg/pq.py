"""The libpq-level enums and helpers of ``psycopg.pq``, without a libpq.

balrog speaks the PostgreSQL protocol itself (tokio-postgres), so there is no libpq to wrap:
this module keeps the names, values and reprs code written for psycopg relies on
(``pq.Format.TEXT``, ``pq.TransactionStatus.INTRANS``, ``pq.version()`` ...).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag
from typing import NamedTuple

__all__ = [
    "ConnStatus",
    "ConninfoOption",
    "DiagnosticField",
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
