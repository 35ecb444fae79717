"""``pq.Escaping``: libpq's escaping functions, compared with psycopg (libpq itself)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes

SAMPLES = [b"hello", b"it's", b"back\\slash", b"", b'a"b', "ünï".encode(), b"\xff", bytearray(b"x"), "str"]
BYTEA = [b"\x00\x01ab", b"'\\\x7f\x80 ~", b"", bytes(range(256))]


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def _escapes(lib: Any, conninfo: str) -> list[Any]:
    out: list[Any] = []
    with lib.connect(conninfo) as conn:
        # "on" last: libpq's connection-less escape_bytea follows the last connection seen;
        # balrog's assumes on (the default since PostgreSQL 9.1).
        for scs in ("off", "on"):
            conn.execute(f"set standard_conforming_strings = {scs}")
            esc = lib.pq.Escaping(conn.pgconn)
            for data in SAMPLES:
                for name in ("escape_literal", "escape_identifier", "escape_string"):
                    out.append((scs, name, data, _outcome(getattr(esc, name), data)))
            for data in BYTEA:
                escaped = esc.escape_bytea(data)
                out.append((scs, "bytea", data, escaped))
                # What escape_literal/escape_bytea produce is what the server reads back.
                if scs == "on":
                    literal = escaped.decode()
                    out.append(conn.execute(f"select '{literal}'::bytea").fetchone())
    bare = lib.pq.Escaping()
    for name in ("escape_literal", "escape_identifier", "escape_string"):
        out.append((name, _outcome(getattr(bare, name), b"it's")))
    out.append(bare.escape_bytea(b"\x00\x01ab"))
    out.append(bare.unescape_bytea(b"\\000\\001ab\\\\x"))
    out.append(bare.unescape_bytea(b"\\x00016162"))
    closed = lib.pq.Escaping(conn.pgconn)
    out.append(_outcome(closed.escape_literal, b"x"))
    return out


def test_escaping_like_libpq(pg_cluster):
    assert _escapes(bp, pg_cluster.conninfo) == _escapes(psycopg, pg_cluster.conninfo)
