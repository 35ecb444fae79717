"""Bad input refused as psycopg refuses it, class and message compared (cases found by a
differential probe of ~700 edge cases)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes


def words(call: Callable[[], Any]) -> tuple[str, str]:
    try:
        return "ok", repr(call())
    except Exception as exc:
        return type(exc).__name__, str(exc).strip()


OPTIONS: list[dict[str, Any]] = [
    {"port": 99999},
    {"port": 0},
    {"port": -1},
    {"port": "5x"},
    {"keepalives": "abc"},
    {"keepalives_idle": "x"},
    {"keepalives_count": "1.5"},
    {"tcp_user_timeout": "x"},
    {"load_balance_hosts": "bogus"},
    {"gssencmode": "bogus"},
    {"channel_binding": "bogus"},
    {"require_auth": "foo"},
    {"require_auth": "none,!md5"},
    {"require_auth": "md5,md5"},
    {"sslnegotiation": "bogus"},
    {"sslnegotiation": "direct"},
    {"sslcertmode": "bogus"},
]


@pytest.mark.parametrize(
    "options", OPTIONS, ids=[",".join(f"{k}={v}" for k, v in o.items()) for o in OPTIONS]
)
def test_connection_options_checked_like_libpq(pg_cluster: Any, options: dict[str, Any]) -> None:
    params = {"host": pg_cluster.host, "port": pg_cluster.port, "user": pg_cluster.user, **options}

    def connect(lib: Any) -> Callable[[], Any]:
        return lambda: lib.connect(**params).close()

    theirs = words(connect(psycopg))
    assert theirs[0] == "OperationalError"
    assert words(connect(bp)) == theirs


def test_up_to_65535_parameters(pg_cluster: Any) -> None:
    # The protocol's count is 16 bits, read unsigned by the server (balrog stopped at 32767).
    def run(lib: Any, count: int) -> Callable[[], Any]:
        def call() -> Any:
            with lib.connect(pg_cluster.conninfo) as conn:
                query = "select array_length(array[" + ",".join(["%s::int"] * count) + "], 1)"
                return conn.execute(query, [1] * count).fetchone()

        return call

    for count in (40_000, 65_535, 65_536):
        assert words(run(bp, count)) == words(run(psycopg, count))


def test_copy_write_takes_bytes_like_objects_only(pg_cluster: Any) -> None:
    def run(lib: Any, data: Any) -> Callable[[], Any]:
        def call() -> Any:
            with lib.connect(pg_cluster.conninfo) as conn:
                conn.execute("create temp table copy_bad (a text)")
                with conn.cursor().copy("copy copy_bad from stdin") as copy:
                    copy.write(data)

        return call

    for data in (123, None, 1.5, b"x\n", bytearray(b"y\n"), memoryview(b"z\n")):
        assert words(run(bp, data)) == words(run(psycopg, data))


@pytest.mark.parametrize("binary", [False, True])
def test_copy_row_length_checked_against_set_types(pg_cluster: Any, binary: bool) -> None:
    def run(lib: Any, row: Any) -> Callable[[], Any]:
        def call() -> Any:
            with lib.connect(pg_cluster.conninfo) as conn:
                conn.execute("create temp table copy_len (a int, b int)")
                fmt = " (format binary)" if binary else ""
                with conn.cursor().copy(f"copy copy_len (a) from stdin{fmt}") as copy:
                    copy.set_types(["int4"])
                    copy.write_row(row)

        return call

    for row in ((1, 2), (), (1,)):
        assert words(run(bp, row)) == words(run(psycopg, row))


@pytest.mark.parametrize("setting", ["+05:30", "-03", "<+0330>-3:30", "+5", "Europe/Paris", "UTC"])
def test_posix_style_timezones_read_as_psycopg(pg_cluster: Any, setting: str) -> None:
    # psycopg cannot read a POSIX-style TimeZone and uses UTC (with a warning); the
    # instants are the same either way, the offsets shown are psycopg's.
    def run(lib: Any) -> Callable[[], Any]:
        def call() -> Any:
            with lib.connect(pg_cluster.conninfo, autocommit=True) as conn:
                conn.execute(f"set timezone to '{setting}'")
                value = conn.execute("select '2020-06-01 12:00+00'::timestamptz").fetchone()[0]
                return str(conn.info.timezone), value.isoformat()

        return call

    logging.disable(logging.WARNING)
    try:
        assert words(run(bp)) == words(run(psycopg))
    finally:
        logging.disable(logging.NOTSET)


BAD_EXECUTES: list[tuple[str, Callable[[Any], Any]]] = [
    ("too few parameters", lambda cur: cur.execute("select %s, %s", [1])),
    ("named with a list", lambda cur: cur.execute("select %(a)s", [1])),
    ("missing key", lambda cur: cur.execute("select %(a)s", {"b": 1})),
    ("NUL in a str", lambda cur: cur.execute("select %s", ["a\x00b"])),
    ("no adapter", lambda cur: cur.execute("select %s", [object()])),
    ("executemany of nothing", lambda cur: cur.executemany("select %s", [])),
    ("executemany, bad first row", lambda cur: cur.executemany("select %s, %s", [[1]])),
]


@pytest.mark.parametrize(("name", "call"), BAD_EXECUTES, ids=[name for name, _ in BAD_EXECUTES])
def test_transaction_opened_before_adapting_like_psycopg(
    pg_cluster: Any, name: str, call: Callable[[Any], Any]
) -> None:
    # psycopg sends BEGIN before it adapts the parameters: the connection is INTRANS after
    # an adaptation error (and after an executemany of no rows).
    def run(lib: Any) -> Callable[[], Any]:
        def go() -> Any:
            with lib.connect(pg_cluster.conninfo) as conn:
                try:
                    call(conn.cursor())
                    outcome = "ok"
                except Exception as exc:
                    outcome = type(exc).__name__
                return outcome, conn.info.transaction_status.name

        return go

    assert words(run(bp)) == words(run(psycopg))


@pytest.mark.parametrize("total", [5, 3000])
def test_stream_yields_the_rows_before_an_error(pg_cluster: Any, total: int) -> None:
    query = f"select case when g < {total} then g else 1 / (g - g) end from generate_series(1, {total}) g"

    def run(lib: Any) -> Callable[[], Any]:
        def go() -> Any:
            seen = 0
            with lib.connect(pg_cluster.conninfo) as conn:
                try:
                    for _ in conn.cursor().stream(query):
                        seen += 1
                except lib.errors.DivisionByZero:
                    return seen, "DivisionByZero", conn.info.transaction_status.name
            return seen, None, None

        return go

    theirs = words(run(psycopg))
    assert theirs == ("ok", repr((total - 1, "DivisionByZero", "INERROR")))
    assert words(run(bp)) == theirs
