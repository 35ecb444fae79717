"""``conn.info.error_message``: libpq's PQerrorMessage, side by side with psycopg."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes


def history(lib: Any, dsn: str) -> list[str]:
    out = []
    conn = lib.connect(dsn)
    out.append(conn.info.error_message)
    steps = [
        "wat",
        "rollback",
        "select 1",
        "select 1/0",
        "rollback",
        "select 1 from nonexist where x = 1",
        "rollback",
        "create temporary table t (id int primary key)",
        "insert into t values (1)",
        "insert into t values (1)",
        "rollback",
        "select 1",
    ]
    for sql in steps:
        try:
            conn.execute(sql)
        except lib.Error:
            pass
        out.append(conn.info.error_message)
    cur = conn.cursor()
    try:
        cur.executemany("insert into nonexist values (%s)", [(1,), (2,)])
    except lib.Error:
        pass
    out.append(conn.info.error_message)
    conn.rollback()
    out.append(conn.info.error_message)
    conn.close()
    out.append(conn.info.error_message)
    return out


def test_error_message_follows_libpq(pg_cluster) -> None:
    assert history(bp, pg_cluster.dsn) == history(psycopg, pg_cluster.dsn)
