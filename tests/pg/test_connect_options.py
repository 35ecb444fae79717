"""Connection options libpq checks or acts on, side by side with psycopg: bad values,
``target_session_attrs`` against a primary and against a read-only session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes

READ_ONLY = "-c default_transaction_read_only=on"


def _cases(conninfo: str, port: int) -> list[Callable[[Any], Any]]:
    two_hosts = f"host=127.0.0.1,127.0.0.1 port=1,{port} user=postgres dbname=postgres"
    return [
        lambda lib: lib.connect(conninfo + " foo=bar"),
        lambda lib: lib.connect("host=127.0.0.1 port=notaport"),
        lambda lib: lib.connect(conninfo, sslmode="bogus"),
        lambda lib: lib.connect(conninfo, connect_timeout="x"),
        lambda lib: lib.connect(conninfo, target_session_attrs="nonsense"),
        *(
            (
                lambda lib, attrs=attrs, options=options: lib.connect(
                    conninfo, target_session_attrs=attrs, **options
                )
            )
            for attrs in ("any", "read-write", "read-only", "primary", "standby", "prefer-standby")
            for options in ({}, {"options": READ_ONLY})
        ),
        lambda lib: lib.connect(two_hosts, target_session_attrs="read-write"),
        lambda lib: lib.connect(two_hosts, target_session_attrs="standby"),
    ]


def _outcomes(lib: Any, conninfo: str, port: int) -> list[Any]:
    seen: list[Any] = []
    for case in _cases(conninfo, port):
        try:
            conn = case(lib)
        except Exception as exc:
            seen.append((type(exc).__name__, str(exc).split("\n")[0]))
            continue
        seen.append(
            ("connected", conn.info.port, conn.execute("show default_transaction_read_only").fetchone())
        )
        conn.close()
    return seen


def test_connect_options_like_psycopg(pg_cluster):
    got = _outcomes(bp, pg_cluster.conninfo, pg_cluster.port)
    want = _outcomes(psycopg, pg_cluster.conninfo, pg_cluster.port)
    for index, (value, expected) in enumerate(zip(got, want, strict=True)):
        assert value == expected, index
