"""Adapters written against psycopg's protocols, compared with psycopg.

A dumper need not inherit from ``adapt.Dumper`` (psycopg.abc.Dumper is a Protocol); a
dumper may dump some values as NULL, which ``quote`` must then spell ``NULL``; None has a
dumper that quotes (for SQL composition).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes


def _protocol_dumper(lib: Any) -> type:
    class DoublingDumper:
        # Only what the protocol asks for: no base class, no ``cls`` attribute.
        oid = 25
        format = lib.pq.Format.TEXT

        def __init__(self, cls: type, context: Any = None):
            self._cls = cls

        def dump(self, obj: str) -> bytes:
            return (obj * 2).encode()

        def quote(self, obj: str) -> bytes:
            return b"'" + (obj * 2).replace("'", "''").encode() + b"'"

        def get_key(self, obj: str, format: Any) -> type:
            return self._cls

        def upgrade(self, obj: str, format: Any) -> DoublingDumper:
            return self

    return DoublingDumper


def _with_protocol_dumper(lib: Any, conninfo: str) -> list[Any]:
    with lib.connect(conninfo) as conn:
        conn.adapters.register_dumper(str, _protocol_dumper(lib))
        return [
            conn.execute("select %s", ["ab"]).fetchone(),
            conn.execute("select %s", [["x", "y"]]).fetchone(),
            lib.sql.Literal("it's").as_string(conn),
            lib.ClientCursor(conn).mogrify("select %s", ["q"]),
        ]


def test_protocol_only_dumper_like_psycopg(pg_cluster):
    want = _with_protocol_dumper(psycopg, pg_cluster.conninfo)
    assert _with_protocol_dumper(bp, pg_cluster.conninfo) == want


def _null_dumping(lib: Any, conninfo: str) -> list[Any]:
    from_string = __import__(f"{lib.__name__}.types.string", fromlist=["StrDumper"])
    from_adapt = __import__(f"{lib.__name__}.adapt", fromlist=["Transformer"])

    class EmptyIsNullDumper(from_string.StrDumper):
        def dump(self, obj: str) -> Any:
            return super().dump(obj) if obj else None

    with lib.connect(conninfo) as conn:
        conn.adapters.register_dumper(str, EmptyIsNullDumper)
        tx = from_adapt.Transformer(conn)
        text = from_adapt.PyFormat.TEXT
        return [
            tx.get_dumper("", text).quote(""),
            tx.get_dumper("a'b", text).quote("a'b"),
            tx.get_dumper(None, text).quote(None),
            lib.sql.Literal("").as_string(conn),
            lib.sql.Literal(None).as_string(conn),
            lib.ClientCursor(conn).mogrify("select %s, %s", ["", None]),
            conn.execute("select %s::text is null, %s::text", ["", "x"]).fetchone(),
            lib.ClientCursor(conn).execute("select %s::text is null", [""]).fetchone(),
        ]


def test_dumper_returning_null_like_psycopg(pg_cluster):
    want = _null_dumping(psycopg, pg_cluster.conninfo)
    assert _null_dumping(bp, pg_cluster.conninfo) == want
    assert want[0] == b"NULL"


def test_none_dumper():
    from balrog.psycopg.adapt import PyFormat, Transformer

    dumper = Transformer().get_dumper(None, PyFormat.TEXT)
    assert dumper.quote(None) == b"NULL"
    with pytest.raises(NotImplementedError):
        dumper.dump(None)
