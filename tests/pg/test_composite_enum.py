"""Composite and enum types through TypeInfo, differential against psycopg.

Both libraries fetch the type information, register it, load the same values and dump the
same Python objects on the same server; the results must be equal.
"""

from __future__ import annotations

import dataclasses
import logging
from enum import Enum
from typing import Any

import psycopg
import psycopg.types.composite as pcomposite
import psycopg.types.enum as penum
import pytest

import balrog.psycopg as bp
import balrog.psycopg.types.composite as bcomposite
import balrog.psycopg.types.enum as benum

pytestmark = pytest.mark.both_modes

SCHEMA = """
drop type if exists card, inner_t, outer_t, mood, odd, keyword_field cascade;
create type card as (value int, suit text);
create type inner_t as (a int, b text[], c numeric);
create type outer_t as (x inner_t, y card[], z date, w jsonb, v bytea);
create type odd as ("my field" int, "Select" text, "_x" int, "1a" int);
create type keyword_field as (id int, "class" text);
create type mood as enum ('sad', 'ok', 'happy', 'with space', 'quo"te');
"""

LOADED = [
    "select (1,'hearts')::card",
    "select null::card",
    "select (null,null)::card",
    "select (2, 'a \"b\" \\c, (d)')::card",
    "select (2, '')::card",
    "select array[(1,'x')::card, null, (3,null)::card]",
    "select ((1, array['a','b,c',null], 1.50)::inner_t, array[(1,'s')::card], '2024-01-01',"
    " '{\"k\": [1]}', '\\x00ff')::outer_t",
    "select (1, 'x', 2, 3)::odd",
    "select row(1, 'a', null)",
    "select row(null), row(null, null), row(''), row(), row(null, '')",
    "select 'sad'::mood, array['happy','with space', 'quo\"te']::mood[]",
    "select null::mood",
]


@pytest.fixture(scope="module")
def schema(pg_cluster):
    with psycopg.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.execute(SCHEMA)
    return pg_cluster


def _outcome(run: Any, *args: Any) -> Any:
    try:
        return repr(run(*args))
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def _fetch_one(cur: Any, query: str, params: Any = None) -> Any:
    return cur.execute(query, params).fetchone()


def _describe(info: Any) -> Any:
    return info and (type(info).__name__, info.name, getattr(info, "field_names", None), info.regtype)


def _register_all(lib: Any, conn: Any) -> dict[str, Any]:
    composite, enum = (pcomposite, penum) if lib is psycopg else (bcomposite, benum)
    infos: dict[str, Any] = {}
    for name in ("card", "inner_t", "outer_t", "odd"):
        info = infos[name] = composite.CompositeInfo.fetch(conn, name)
        composite.register_composite(info, conn)
    infos["mood"] = enum.EnumInfo.fetch(conn, "mood")
    enum.register_enum(infos["mood"], conn)
    return infos


def test_keyword_field_name_like_psycopg(schema):
    # A field named like a Python keyword cannot be a namedtuple field: DataError.
    outcomes = []
    for lib, composite in ((psycopg, pcomposite), (bp, bcomposite)):
        with lib.connect(schema.conninfo) as conn:
            info = composite.CompositeInfo.fetch(conn, "keyword_field")
            outcomes.append(_outcome(composite.register_composite, info, conn))
    assert outcomes[1] == outcomes[0]
    assert outcomes[0][:2] == ("error", "DataError")


def _session(lib: Any, conninfo: str, cursor_class: str) -> list[Any]:
    seen: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        infos = _register_all(lib, conn)
        for info in infos.values():
            seen.append((type(info).__name__, info.name, getattr(info, "field_names", None), info.regtype))
        seen.append(list(infos["mood"].labels))
        cur = getattr(lib, cursor_class)(conn)
        for query in LOADED:
            seen.append((query, _outcome(_fetch_one, cur, query)))
        card = infos["card"].python_type
        mood = infos["mood"].enum
        dumped = [
            ("select %s", (card(5, "spades"),)),
            ("select %s::card", (card(5, 'sp,a"des'),)),
            ("select (%s::card).suit", (card(None, ""),)),
            ("select %s", ([card(1, "a"), card(2, None)],)),
            ("select %s", (mood["happy"],)),
            ("select %s::text", (mood["happy"],)),
            ("select %s", ([mood["sad"], mood['quo"te']],)),
            ("select %s::card", ((1, "x"),)),
        ]
        for query, params in dumped:
            seen.append((query, repr(params), _outcome(_fetch_one, cur, query, params)))
    return seen


@pytest.mark.parametrize("cursor_class", ["Cursor", "ClientCursor"])
def test_composites_and_enums_like_psycopg(schema, cursor_class):
    want = _session(psycopg, schema.conninfo, cursor_class)
    got = _session(bp, schema.conninfo, cursor_class)
    for expected, value in zip(want, got, strict=True):
        assert value == expected


def test_same_python_types_across_connections(schema):
    # Registering on two connections gives one namedtuple class and one Enum: values loaded
    # by either compare equal, as in psycopg.
    with bp.connect(schema.conninfo) as a, bp.connect(schema.conninfo) as b:
        infos_a, infos_b = _register_all(bp, a), _register_all(bp, b)
        assert infos_a["card"].python_type is infos_b["card"].python_type
        assert infos_a["mood"].enum is infos_b["mood"].enum
        assert a.execute("select 'ok'::mood").fetchone() == b.execute("select 'ok'::mood").fetchone()


@dataclasses.dataclass
class Card:
    value: int
    suit: str


def _custom_factories(lib: Any, conninfo: str) -> list[Any]:
    composite = pcomposite if lib is psycopg else bcomposite
    seen: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        info = composite.CompositeInfo.fetch(conn, "card")
        # A class that is not a sequence: make_object/make_sequence convert.
        composite.register_composite(
            info,
            conn,
            Card,
            make_object=lambda values, info: Card(*values),
            make_sequence=lambda obj, info: (obj.value, obj.suit),
        )
        seen.append(info.python_type is Card)
        seen.append(_outcome(lambda: conn.execute("select (3, 'clubs')::card").fetchone()))
        seen.append(_outcome(lambda: conn.execute("select %s", [Card(4, "x y")]).fetchone()))
        seen.append(_outcome(lambda: conn.execute("select (%s).suit", [Card(4, "x y")]).fetchone()))
        # A plain function as factory: loads, no dumper, python_type left alone.
        other = composite.CompositeInfo.fetch(conn, "card")
        composite.register_composite(other, conn, lambda value, suit: f"{value} of {suit}")
        seen.append(other.python_type)
        seen.append(_outcome(lambda: conn.execute("select (5, 'cups')::card").fetchone()))
        # (psycopg's message has a placeholder left unformatted: compare the class only)
        not_a_type = lambda *fields: fields  # noqa: E731
        refused = _outcome(lambda: composite.register_composite(other, conn, not_a_type, make_sequence=tuple))
        seen.append(refused[:2])
        seen.append(_outcome(lambda: composite.register_composite(None, conn)))
    return seen


def test_custom_factories_like_psycopg(schema):
    assert _custom_factories(bp, schema.conninfo) == _custom_factories(psycopg, schema.conninfo)


def test_class_not_a_sequence_warns_and_refuses_to_dump(schema, caplog):
    outcomes = []
    for lib, composite in ((psycopg, pcomposite), (bp, bcomposite)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="psycopg"), lib.connect(schema.conninfo) as conn:
            info = composite.CompositeInfo.fetch(conn, "card")
            composite.register_composite(info, conn, Card)
            warned = [r.getMessage() for r in caplog.records]
            outcomes.append((warned, _outcome(lambda: conn.execute("select %s", [Card(1, "a")]).fetchone())))
    assert outcomes[1] == outcomes[0]
    assert outcomes[0][0]


class Mood(Enum):
    SAD = 1
    OK = 2
    HAPPY = 3


def _enum_mappings(lib: Any, conninfo: str) -> list[Any]:
    enum = penum if lib is psycopg else benum
    seen: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        for mapping in (
            {Mood.SAD: "sad", Mood.OK: "ok", Mood.HAPPY: "happy"},
            [(Mood.SAD, "sad"), (Mood.OK, "ok"), (Mood.HAPPY, "with space"), (Mood.HAPPY, "happy")],
            {Mood.SAD: "sad"},
        ):
            info = enum.EnumInfo.fetch(conn, "mood")
            enum.register_enum(info, conn, Mood, mapping=mapping)
            for query in ("select 'sad'::mood", "select 'with space'::mood", "select 'happy'::mood"):
                seen.append(_outcome(_fetch_one, conn, query))
            for member in Mood:
                seen.append(_outcome(_fetch_one, conn, "select %s::text", [member]))
    return seen


def test_enum_mappings_like_psycopg(schema):
    assert _enum_mappings(bp, schema.conninfo) == _enum_mappings(psycopg, schema.conninfo)


NAMES = ["card", "public.card", "card[]", "int4", "nope", 's2."Odd Name"', "a b c", ""]


def _fetches(lib: Any, conninfo: str, autocommit: bool) -> list[Any]:
    composite = pcomposite if lib is psycopg else bcomposite
    seen: list[Any] = []
    with lib.connect(conninfo, autocommit=autocommit) as conn:
        conn.execute('create schema if not exists s2; drop type if exists s2."Odd Name"')
        conn.execute('create type s2."Odd Name" as ("my field" int, "class" text)')
        conn.commit()
        names = [*NAMES, lib.sql.Identifier("s2", "Odd Name")]
        # Unprepared, so that the excerpt of an error does not depend on statement reuse.
        conn.prepare_threshold = None
        for name in names:
            for cls in (lib.types.TypeInfo, composite.CompositeInfo):
                outcome = _outcome(lambda c, n: _describe(c.fetch(conn, n)), cls, name)
                # The fetch leaves the connection in the state it found it.
                seen.append((str(name), cls.__name__, outcome, conn.info.transaction_status.name))
                if conn.info.transaction_status != 0:
                    conn.rollback()
        if not autocommit:
            conn.execute("select 1")
            seen.append(("in transaction", lib.types.TypeInfo.fetch(conn, "card") is not None))
            seen.append(conn.info.transaction_status.name)
            with pytest.raises(lib.errors.DivisionByZero):
                conn.execute("select 1/0")
            seen.append(_outcome(lambda: lib.types.TypeInfo.fetch(conn, "card")))
            conn.rollback()
        seen.append(_outcome(lambda: lib.types.TypeInfo.fetch(conn.cursor(), "card")))
    return seen


@pytest.mark.parametrize("autocommit", [False, True])
def test_typeinfo_fetch_like_psycopg(schema, autocommit):
    want = _fetches(psycopg, schema.conninfo, autocommit)
    got = _fetches(bp, schema.conninfo, autocommit)
    for expected, value in zip(want, got, strict=True):
        if (
            len(expected) == 4
            and isinstance(expected[2], tuple)
            and expected[2][:2] == ("error", "SyntaxError")
        ):
            # The excerpt of an invalid type name depends on the text of the catalog query.
            assert value[2][:2] == expected[2][:2] and value[3] == expected[3]
            continue
        assert value == expected


def _record_fields_with_user_loader(lib: Any, conninfo: str) -> list[Any]:
    adapt = __import__(f"{lib.__name__}.adapt", fromlist=["Loader"])

    class Marked(adapt.Loader):
        def load(self, data: Any) -> str:
            return bytes(data).decode() + "!"

    with lib.connect(conninfo) as conn:
        query = "select '{hello}'::text[], row('hello'::text, null, 1), 'x'::text"
        cur = conn.cursor()
        cur.adapters.register_loader("text", Marked)
        return [cur.execute(query).fetchone(), conn.execute(query).fetchone()]


def test_record_fields_use_the_text_loader_like_psycopg(pg_cluster):
    want = _record_fields_with_user_loader(psycopg, pg_cluster.conninfo)
    assert _record_fields_with_user_loader(bp, pg_cluster.conninfo) == want


def test_composites_dumped_in_binary_like_psycopg(schema):
    # `%b` sends record_recv's binary form (each field in binary by its type's dumper),
    # `%s` and `%t` the text literal.
    import datetime as dt
    from decimal import Decimal

    def run(lib: Any) -> list[Any]:
        with lib.connect(schema.conninfo, autocommit=True) as conn:
            infos = _register_all(lib, conn)
            card, inner, outer = (infos[n].python_type for n in ("card", "inner_t", "outer_t"))
            values = [
                card(1, "hearts"),
                card(None, None),
                card(2, 'a "b" \\c, (d)'),
                inner(1, ["a", "b,c", None], Decimal("1.50")),
                outer(inner(2, [], None), [card(1, "s"), None], dt.date(2024, 1, 1), {"k": [1]}, b"\x00\xff"),
            ]
            out = []
            for value in values:
                for fmt in ("%s", "%t", "%b"):
                    query = f"select {fmt}, pg_typeof({fmt})::text"
                    out.append(_outcome(_fetch_one, conn.cursor(), query, [value, value]))
            # The binary dumper is registered, and `%s` still picks the text one.
            adapt = psycopg.adapt if lib is psycopg else bp.adapt
            out.append(conn.adapters.get_dumper(card, adapt.PyFormat.BINARY).format)
            out.append(conn.adapters.get_dumper(card, adapt.PyFormat.AUTO).format)
            return out

    assert run(bp) == run(psycopg)
