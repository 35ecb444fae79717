"""libpq's ``target_session_attrs`` and the checks libpq makes on options before connecting.

With ``target_session_attrs`` other than ``any``, each host is tried in turn and a session
that is not of the wanted kind is closed, as libpq does: ``read-write`` / ``read-only``
look at ``default_transaction_read_only`` and ``in_hot_standby`` (reported by the server
since PostgreSQL 14; older servers are asked), ``primary`` / ``standby`` at
``in_hot_standby``; ``prefer-standby`` tries every host as a standby first, then any.
"""

from __future__ import annotations

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


def check_options(params: Mapping[str, str]) -> None:
    """The option values libpq refuses before connecting ("connection is bad: ...")."""
    for port in params.get("port", "").split(","):
        port = port.strip()
        if port and not port.isdigit():
            raise e.OperationalError(
                f'connection is bad: invalid integer value "{port}" for connection option "port"'
            )
    sslmode = params.get("sslmode")
    if sslmode and sslmode not in _SSLMODES:
        raise e.OperationalError(f'connection is bad: invalid sslmode value: "{sslmode}"')
    attrs = params.get("target_session_attrs")
    if attrs and attrs not in TARGET_SESSION_ATTRS:
        raise e.OperationalError(f'connection is bad: invalid target_session_attrs value: "{attrs}"')


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
