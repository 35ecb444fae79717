"""``Connection.info``: what is known about the server and the session."""

from __future__ import annotations

import datetime as dt
import logging
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import pq
from ._encodings import codec_for

if TYPE_CHECKING:
    from .connection import Connection

logger = logging.getLogger("psycopg")

__all__ = ["ConnectionInfo", "connection_summary", "timezone_from_name"]


@lru_cache(maxsize=64)
def timezone_from_name(name: str | None) -> tuple[dt.tzinfo, bool]:
    """The tzinfo for a TimeZone setting, and whether it is UTC."""
    if not name or name == "UTC":
        # psycopg's choice: the stdlib's UTC, not ZoneInfo("UTC").
        return dt.UTC, True
    try:
        tz: dt.tzinfo = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # A POSIX-style setting ("+05:30", "<+03>-03") too: psycopg does not read them (its
        # offsets have the sign reversed from ISO's, and differ with the form), UTC it is.
        _warn_unknown_timezone(name)
        tz = dt.UTC
    key = getattr(tz, "key", "")
    return tz, key in ("UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu")


def _warn_unknown_timezone(name: str) -> None:
    # Once per name, as psycopg: timezone_from_name is cached by name.
    logger.warning("unknown PostgreSQL timezone: %r; will use UTC", name)


def connection_summary(conn: Connection) -> str:
    """``[STATUS] (host=... port=... database=...)`` as psycopg's reprs show a connection:
    the host unless a socket directory, the port unless 5432, the user unless it is the
    database's name."""
    if conn.closed:
        return "[BAD]"
    status = pq.TransactionStatus(conn._native.transaction_status).name
    if conn._pipeline is not None:
        status += f", pipeline={conn._pipeline.status.name}"
    info = conn.info
    parts = []
    if not info.host.startswith("/"):
        parts.append(f"host={info.host}")
    if str(info.port) != "5432":
        parts.append(f"port={info.port}")
    if info.user != info.dbname:
        parts.append(f"user={info.user}")
    parts.append(f"database={info.dbname}")
    return f"[{status}] ({' '.join(parts)})"


def visible_transaction_status(conn: Any) -> pq.TransactionStatus:
    """The transaction status as psycopg shows it: ACTIVE while pipeline statements wait
    for their results. balrog queues them until a sync point, where libpq has sent them
    (the server's own status is still the one before them)."""
    pipeline = conn._pipeline
    if pipeline is not None and pipeline._queue:
        return pq.TransactionStatus.ACTIVE
    return pq.TransactionStatus(conn._native.transaction_status)


class ConnectionInfo:
    """Information about a connection (psycopg's ``ConnectionInfo``)."""

    __module__ = "psycopg"

    def __init__(self, conn: Connection, params: dict[str, str]):
        self._conn = conn
        self._params = params

    def _check_open(self) -> None:
        # As psycopg: what the session knows is gone with it (status, transaction_status,
        # pipeline_status, encoding and vendor still answer).
        if self._conn.closed:
            from .errors import OperationalError

            raise OperationalError("the connection is closed")

    @property
    def vendor(self) -> str:
        return "PostgreSQL"

    @property
    def host(self) -> str:
        self._check_open()
        native = self._conn._native
        target, _port, is_socket = native.target()
        if is_socket:
            return str(target).rsplit("/", 1)[0]
        return self._params.get("host", target).split(",")[0] if "hostaddr" in self._params else str(target)

    @property
    def hostaddr(self) -> str:
        self._check_open()
        target, _port, is_socket = self._conn._native.target()
        return "" if is_socket else str(target)

    @property
    def port(self) -> int:
        self._check_open()
        target, port, is_socket = self._conn._native.target()
        if is_socket:
            return int(str(target).rsplit(".", 1)[-1])
        return int(port)

    @property
    def dbname(self) -> str:
        self._check_open()
        return self._params.get("dbname", "")

    @property
    def user(self) -> str:
        self._check_open()
        return self._params.get("user", "")

    @property
    def password(self) -> str:
        self._check_open()
        return self._params.get("password", "")

    @property
    def options(self) -> str:
        self._check_open()
        return self._params.get("options", "")

    @property
    def dsn(self) -> str:
        """The parameters of ``get_parameters()`` as a connection string (no password)."""
        from .conninfo import make_conninfo

        return make_conninfo("", **self.get_parameters())

    def get_parameters(self) -> dict[str, str]:
        """The connection parameters that differ from libpq's defaults (no password),
        whether given, from a service or from the environment, in libpq's order."""
        self._check_open()
        from .conninfo import connection_parameters

        return connection_parameters(self._params)

    @property
    def status(self) -> pq.ConnStatus:
        return pq.ConnStatus.BAD if self._conn.closed else pq.ConnStatus.OK

    @property
    def transaction_status(self) -> pq.TransactionStatus:
        return visible_transaction_status(self._conn)

    @property
    def pipeline_status(self) -> pq.PipelineStatus:
        pipeline = self._conn._pipeline
        return pq.PipelineStatus.OFF if pipeline is None else pipeline.status

    def parameter_status(self, param_name: str) -> str | None:
        """A server parameter (``TimeZone``, ``server_version`` ...), as last reported."""
        self._check_open()
        return self._conn._native.parameter_status(param_name)  # type: ignore[no-any-return]

    @property
    def full_protocol_version(self) -> int:
        """The protocol version in libpq 18's format (30000 for 3.0): balrog speaks 3.0."""
        self._check_open()
        return 30000

    @property
    def server_version(self) -> int:
        """The server version as an int, e.g. 150004 for 15.4."""
        self._check_open()
        raw = self.parameter_status("server_version") or ""
        m = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", raw)
        if not m:
            return 0
        major = int(m.group(1))
        minor = int(m.group(2) or 0)
        if major >= 10:
            return major * 10000 + minor
        return major * 10000 + minor * 100 + int(m.group(3) or 0)

    @property
    def backend_pid(self) -> int:
        self._check_open()
        return self._conn._native.backend_pid  # type: ignore[no-any-return]

    @property
    def error_message(self) -> str:
        """The error of the last command, worded as libpq's PQerrorMessage ("" once a
        command has succeeded since)."""
        conn = self._conn
        if conn.closed:
            return "connection pointer is NULL\n"
        error = conn._last_error
        if error is None:
            return ""
        diag = getattr(error, "diag", None)
        severity = getattr(diag, "severity", None)
        # Read now, not when it was raised: the message gets its LINE excerpt afterwards.
        return f"{severity}:  {error}\n" if severity else f"{error}\n"

    @property
    def timezone(self) -> dt.tzinfo:
        """The session TimeZone as a tzinfo."""
        self._check_open()
        return timezone_from_name(self.parameter_status("TimeZone"))[0]

    @property
    def encoding(self) -> str:
        """The Python codec of the client encoding ("utf-8")."""
        # Read past the closed check: psycopg answers this one on a closed connection too.
        name = self._conn._native.parameter_status("client_encoding") or "UTF8"
        return codec_for(name)
