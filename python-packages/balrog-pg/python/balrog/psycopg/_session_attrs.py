"""libpq's ``target_session_attrs`` and the checks libpq makes on options before connecting.

With ``target_session_attrs`` other than ``any``, a session that is not of the wanted kind
is closed, as libpq does: ``read-write`` / ``read-only`` look at
``default_transaction_read_only`` and ``in_hot_standby`` (reported by the server since
PostgreSQL 14; older servers are asked), ``primary`` / ``standby`` at ``in_hot_standby``.
Each host is a connection attempt of its own (``Connection.connect``, as psycopg), and
``prefer-standby`` is two rounds of them (``conninfo_attempts``): every host as a standby,
then any.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import errors as e

__all__ = ["TARGET_SESSION_ATTRS", "check_options", "check_session"]

TARGET_SESSION_ATTRS = ("any", "read-write", "read-only", "primary", "standby", "prefer-standby")
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

# What libpq says of a session that is not what was asked for.
_REFUSALS = {
    "read-write": "session is read-only",
    "read-only": "session is not read-only",
    "primary": "server is in hot standby mode",
    "standby": "server is not in hot standby mode",
}


# Options with a fixed set of values, checked (as libpq does) before connecting.
_CHOICES = {
    "sslmode": _SSLMODES,
    "target_session_attrs": TARGET_SESSION_ATTRS,
    "channel_binding": ("disable", "prefer", "require"),
    "gssencmode": ("disable", "prefer", "require"),
    "load_balance_hosts": ("disable", "random"),
    "sslnegotiation": ("postgres", "direct"),
    "sslcertmode": ("disable", "allow", "require"),
}
# Integer options libpq reads when it opens each socket (its error names that socket).
_SOCKET_INTEGERS = (
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
)
REQUIRE_AUTH_METHODS = ("password", "md5", "gss", "sspi", "scram-sha-256", "oauth", "none")
_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")


def _bad(message: str) -> e.OperationalError:
    return e.OperationalError(f"connection is bad: {message}")


def check_options(params: Mapping[str, str]) -> None:
    """The option values libpq refuses before connecting ("connection is bad: ...")."""
    for port in params.get("port", "").split(","):
        port = port.strip()
        if not port:
            continue
        if not _INTEGER.fullmatch(port):
            raise _bad(f'invalid integer value "{port}" for connection option "port"')
        if not 1 <= int(port) <= 65535:
            raise _bad(f'invalid port number: "{port}"')
    for key, allowed in _CHOICES.items():
        value = params.get(key)
        if value and value not in allowed:
            raise _bad(f'invalid {key} value: "{value}"')
    sslmode = params.get("sslmode", "prefer")
    if params.get("sslrootcert") == "system" and sslmode != "verify-full":
        raise _bad(f'weak sslmode "{sslmode}" may not be used with sslrootcert=system (use "verify-full")')
    if params.get("gssencmode") == "require":
        # balrog has no GSSAPI: what a libpq built without it says.
        raise _bad('gssencmode value "require" invalid when GSSAPI support is not compiled in')
    if params.get("sslnegotiation") == "direct" and params.get("sslmode", "prefer") not in (
        "require",
        "verify-ca",
        "verify-full",
    ):
        sslmode = params.get("sslmode", "prefer")
        raise _bad(
            f'weak sslmode "{sslmode}" may not be used with sslnegotiation=direct '
            '(use "require", "verify-ca", or "verify-full")'
        )
    _check_require_auth(params.get("require_auth"))
    # libpq reads these when it sets up a TCP socket: never for a Unix-domain one.
    host = (params.get("host") or "").split(",")[0]
    hostaddr = (params.get("hostaddr") or "").split(",")[0]
    if not hostaddr and (not host or host.startswith("/")):
        return
    for key in _SOCKET_INTEGERS:
        value = params.get(key)
        if value and not _INTEGER.fullmatch(value):
            port = (params.get("port") or "").split(",")[0] or "5432"
            # libpq names the address it was given, else the host name.
            where = f'connection to server at "{hostaddr or host}", port {port} failed'
            raise _bad(f'{where}: invalid integer value "{value}" for connection option "{key}"')


def _check_require_auth(value: str | None) -> None:
    """libpq's checks of a ``require_auth`` list (OperationalError in its words); the
    connection enforces the list (balrog-pg ``connect.rs``, ``AuthRules``)."""
    if not value:
        return
    seen: list[str] = []
    negated: bool | None = None
    for item in value.split(","):
        method = item.removeprefix("!")
        this_negated = item.startswith("!")
        if negated is None:
            negated = this_negated
        elif negated != this_negated:
            word = "negative" if this_negated else "non-negative"
            other = "non-negative" if this_negated else "negative"
            raise _bad(f'{word} require_auth method "{item}" cannot be mixed with {other} methods')
        if method not in REQUIRE_AUTH_METHODS:
            raise _bad(f'invalid require_auth value: "{method}"')
        if method in seen:
            raise _bad(f'require_auth method "{method}" is specified more than once')
        seen.append(method)


def _session_is(conn: Any, attrs: str) -> bool:
    in_hot_standby = conn.info.parameter_status("in_hot_standby")
    if in_hot_standby is None:  # before PostgreSQL 14: ask
        in_hot_standby = (
            "on" if conn.execute("select pg_catalog.pg_is_in_recovery()").fetchone()[0] else "off"
        )
        if not conn.autocommit:
            conn.rollback()
    standby = in_hot_standby == "on"
    if attrs in ("primary", "standby"):
        return standby == (attrs == "standby")
    read_only = standby or conn.info.parameter_status("default_transaction_read_only") == "on"
    return read_only == (attrs == "read-only")


def check_session(conn: Any, params: Mapping[str, str]) -> None:
    """Close ``conn`` and raise OperationalError in libpq's words if its session is not of
    the kind ``target_session_attrs`` asks for (one host: ``prefer-standby`` takes any)."""
    attrs = params.get("target_session_attrs") or "any"
    if attrs in ("any", "prefer-standby") or _session_is(conn, attrs):
        return
    info = conn.info
    # libpq names the socket, or the address it reached (the hostaddr psycopg resolved).
    if info.host.startswith("/"):
        where = f'on socket "{info.host}/.s.PGSQL.{info.port}"'
    else:
        where = f'at "{info.hostaddr or info.host}", port {info.port}'
    conn.close()
    raise e.OperationalError(f"connection failed: connection to server {where} failed: {_REFUSALS[attrs]}")
