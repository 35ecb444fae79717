"""Differential: the cursor's visible state (rowcount, statusmessage, rownumber,
description, pgresult, what fetchone and nextset do) after each step of a session, through
balrog.psycopg and psycopg side by side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:
        return ("raises", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")


def _state(cur: Any) -> dict[str, Any]:
    description = cur.description
    return {
        "rowcount": cur.rowcount,
        "statusmessage": cur.statusmessage,
        "rownumber": cur.rownumber,
        "description": None if description is None else [tuple(column) for column in description],
        "pgresult is None": cur.pgresult is None,
        "fetchone": _outcome(cur.fetchone),
        "nextset": _outcome(cur.nextset),
    }


def _copy_out(cur: Any) -> None:
    with cur.copy("copy (select 1, 'a') to stdout") as copy:
        for _ in copy:
            pass


def _copy_in(cur: Any) -> None:
    with cur.copy("copy sd (v) from stdin") as copy:
        copy.write_row(("h",))
        copy.write_row(("i",))


STEPS: list[tuple[str, Callable[[Any], Any] | None]] = [
    ("new cursor", None),
    ("create", lambda c: c.execute("create temp table sd (id serial primary key, v text)")),
    ("insert", lambda c: c.execute("insert into sd (v) values ('a'), ('b')")),
    ("insert returning", lambda c: c.execute("insert into sd (v) values ('c') returning id, v")),
    ("select", lambda c: c.execute("select id, v from sd order by id")),
    ("select nothing", lambda c: c.execute("select id from sd where false")),
    ("update", lambda c: c.execute("update sd set v = v || 'x' where id > 1")),
    ("delete nothing", lambda c: c.execute("delete from sd where id < 0")),
    ("executemany", lambda c: c.executemany("insert into sd (v) values (%s)", [("d",), ("e",)])),
    (
        "executemany returning",
        lambda c: c.executemany(
            "insert into sd (v) values (%s) returning v", [("f",), ("g",)], returning=True
        ),
    ),
    ("executemany of nothing", lambda c: c.executemany("insert into sd (v) values (%s)", [])),
    ("bad parameters", lambda c: c.execute("select %s, %s", (1,))),
    ("set", lambda c: c.execute("set timezone to 'UTC'")),
    ("show", lambda c: c.execute("show timezone")),
    ("two statements", lambda c: c.execute("select 1; select 2, 3")),
    ("empty query", lambda c: c.execute("")),
    ("only a comment", lambda c: c.execute("-- nothing")),
    ("copy to stdout", _copy_out),
    ("copy from stdin", _copy_in),
    ("server error", lambda c: c.execute("select 1/0")),
    ("rollback", lambda c: c.connection.rollback()),
    ("select after the error", lambda c: c.execute("select 42")),
    ("close", lambda c: c.close()),
]


def _session(mod: Any, conninfo: str, cursor_class: str) -> list[tuple[str, Any, dict[str, Any]]]:
    with mod.connect(conninfo) as conn:
        cur = conn.cursor() if cursor_class == "Cursor" else mod.ClientCursor(conn)
        seen = []
        for name, step in STEPS:
            error = None if step is None else _outcome(lambda step=step: step(cur) and None)
            seen.append((name, error, _state(cur)))
        conn.rollback()
    return seen


Run = Callable[[Any, str, str], list[Any]]


def _assert_same_as_psycopg(run: Run, conninfo: str, cursor_class: str) -> None:
    # Step by step, so that a failure names the first step that differs.
    ours = run(bp, conninfo, cursor_class)
    theirs = run(psycopg, conninfo, cursor_class)
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine == reference


@pytest.mark.parametrize("cursor_class", ["Cursor", "ClientCursor"])
def test_cursor_state_after_each_step_matches_psycopg(pg_cluster, cursor_class):
    _assert_same_as_psycopg(_session, pg_cluster.conninfo, cursor_class)


# (query, parameters): each either runs, or fails with psycopg's exception and message.
# Not here: "%" before a line break, which psycopg's ClientCursor hands to Python's bytes
# formatting (ValueError: unsupported format character) and its Cursor keeps as text;
# balrog keeps it as text in both.
PARAMETER_CASES: list[tuple[str, Any]] = [
    ("select %s, %s", (1,)),
    ("select %s", (1, 2)),
    ("select %s", []),
    ("select 1", (1,)),
    ("select %s", {"a": 1}),
    ("select %(a)s", (1,)),
    ("select %(a)s", {"b": 1}),
    ("select %(a)s, %(b)s, %(c)s", {"b": 1}),
    ("select %(a)s", []),
    ("select %s", "ab"),
    ("select %s %(a)s", (1,)),
    ("select %x", (1,)),
    ("select %", (1,)),
    ("select 5 % 2, %s", (1,)),
    ("select 5 %% 2, %s", (1,)),
    ("select %(a", {"a": 1}),
    ("select %()s", {"a": 1}),
    ("select %(a)s, %(a)b", {"a": 1}),
    ("select %(a)%", {"a": 1}),
    ("select %s, '%%'", ("x",)),
    ("select %(a)s, %(a)s", {"a": "twice"}),
]


def _parameter_outcomes(mod: Any, conninfo: str, cursor_class: str) -> list[Any]:
    with mod.connect(conninfo) as conn:
        cur = conn.cursor() if cursor_class == "Cursor" else mod.ClientCursor(conn)
        out = []
        for query, params in PARAMETER_CASES:
            result = _outcome(lambda query=query, params=params: cur.execute(query, params).fetchall())
            out.append((query, params, result))
            conn.rollback()
        return out


@pytest.mark.parametrize("cursor_class", ["Cursor", "ClientCursor"])
def test_parameter_errors_match_psycopg(pg_cluster, cursor_class):
    _assert_same_as_psycopg(_parameter_outcomes, pg_cluster.conninfo, cursor_class)
