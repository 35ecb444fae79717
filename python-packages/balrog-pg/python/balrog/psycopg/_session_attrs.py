"""libpq's ``target_session_attrs`` and the checks libpq makes on options before connecting.

With ``target_session_attrs`` other than ``any``, each host is tried in turn and a session
that is not of the wanted kind is closed, as libpq does: ``read-write`` / ``read-only``
look at ``default_transaction_read_only`` and ``in_hot_standby`` (reported by the server
since PostgreSQL 14; older servers are asked), ``primary`` / ``standby`` at
``in_hot_standby``; ``prefer-standby`` tries every host as a standby first, then any.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from . import errors as e

__all__ = ["TARGET_SESSION_ATTRS", "check_options", "connect_matching"]

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
    for key in _SOCKET_INTEGERS:
        value = params.get(key)
        if value and not _INTEGER.fullmatch(value):
            host = (params.get("host") or "").split(",")[0] or "localhost"
            port = (params.get("port") or "").split(",")[0] or "5432"
            where = (
                f'connection to server on socket "{host}/.s.PGSQL.{port}" failed'
                if host.startswith("/")
                else f'connection to server at "{host}", port {port} failed'
            )
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


def connect_matching(params: Mapping[str, str], connect: Callable[[dict[str, str]], Any]) -> Any:
    """Connect (``connect(params)`` for one attempt) to the first host whose session has
    ``target_session_attrs``; OperationalError in libpq's words if none has."""
    from .conninfo import split_attempts

    wanted = params.get("target_session_attrs", "any") or "any"
    attempts = split_attempts(params)
    rounds = (
        [(a, "standby") for a in attempts] + [(a, "any") for a in attempts]
        if wanted == "prefer-standby"
        else [(a, wanted) for a in attempts]
    )
    last: BaseException | None = None
    for attempt, attrs in rounds:
        single = {k: v for k, v in attempt.items() if k != "target_session_attrs"}
        try:
            conn = connect(single)
        except e.OperationalError as ex:
            last = ex
            continue
        if attrs == "any" or _session_is(conn, attrs):
            return conn
        host, port = conn.info.host, conn.info.port
        where = f'on socket "{host}/.s.PGSQL.{port}"' if host.startswith("/") else f'at "{host}", port {port}'
        conn.close()
        last = e.OperationalError(
            f"connection failed: connection to server {where} failed: {_REFUSALS[attrs]}"
        )
    assert last is not None
    raise last
