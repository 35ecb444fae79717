"""Cursor behaviour, differential against psycopg."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import balrog.psycopg as bp
from balrog.psycopg.rows import dict_row, namedtuple_row

pytestmark = pytest.mark.both_modes


@pytest.fixture
def conns(pg_cluster):
    with (
        bp.connect(pg_cluster.conninfo, autocommit=True) as conn,
        psycopg.connect(pg_cluster.conninfo, autocommit=True) as ref,
    ):
        yield conn, ref


def run_both(conns, fn):
    """Run fn(module, conn) with balrog and psycopg: same results or same error class."""
    outcomes = []
    for mod, conn in zip((bp, psycopg), conns, strict=True):
        try:
            outcomes.append(("ok", fn(mod, conn)))
        except Exception as ex:
            outcomes.append(("error", type(ex).__name__))
    assert outcomes[0] == outcomes[1]
    return outcomes[0]


def test_fetch_methods(conns):
    def fetches(mod, conn):
        cur = conn.cursor()
        cur.execute("select generate_series(1, 10) as n, 'x' || generate_series(1, 10) as s")
        out = [cur.rowcount, cur.rownumber, cur.fetchone(), cur.fetchmany(3), cur.rownumber]
        cur.scroll(-2)
        out.append(cur.fetchone())
        cur.scroll(0, mode="absolute")
        out.append(list(cur))
        out.append(cur.fetchone())
        out.append(cur.fetchall())
        out.append([(d.name, d.type_code, d.internal_size) for d in cur.description])
        out.append(cur.statusmessage)
        return out

    run_both(conns, fetches)


def test_description_details(conns):
    def describe(mod, conn):
        cur = conn.execute(
            "select 1.5::numeric(10, 2) as a, 'x'::varchar(20) as b, now()::timestamp(3) as c, 1 as d"
        )
        return [tuple(d) for d in cur.description] + [d[0] for d in cur.description]

    run_both(conns, describe)


def test_rowcount_and_status(conns):
    def counts(mod, conn):
        cur = conn.cursor()
        out = []
        cur.execute("create temp table rc (x int)")
        out.append((cur.rowcount, cur.statusmessage, cur.description))
        cur.execute("insert into rc select generate_series(1, 5)")
        out.append((cur.rowcount, cur.statusmessage))
        cur.execute("update rc set x = x + 1 where x > 2")
        out.append((cur.rowcount, cur.statusmessage))
        cur.executemany("insert into rc values (%s)", [(i,) for i in range(7)])
        out.append(cur.rowcount)
        cur.execute("delete from rc")
        out.append((cur.rowcount, cur.statusmessage))
        cur.execute("drop table rc")
        return out

    run_both(conns, counts)


def test_executemany_returning(conns):
    def many(mod, conn):
        cur = conn.cursor()
        cur.execute("create temp table er (id serial, v text)")
        cur.executemany(
            "insert into er (v) values (%s) returning id, v", [("a",), ("b",), ("c",)], returning=True
        )
        rows = []
        while True:
            rows.append(cur.fetchone())
            if not cur.nextset():
                break
        cur.execute("drop table er")
        return rows

    run_both(conns, many)


def test_client_cursor_multi_statement(conns):
    def multi(mod, conn):
        cur = mod.ClientCursor(conn)
        cur.execute("select 1; select 'a', 'b'; select %s", ["p"])
        out = [cur.fetchall()]
        while cur.nextset():
            out.append(cur.fetchall())
        return out

    run_both(conns, multi)


def test_row_factories(conns):
    def factories(mod, conn):
        cur = conn.cursor(row_factory=mod.rows.dict_row)
        a = cur.execute("select 1 as x, 'y' as y").fetchall()
        cur.row_factory = mod.rows.namedtuple_row
        b = cur.execute('select 1 as x, 2 as "a b"').fetchone()
        return a, tuple(b), type(b).__name__

    run_both(conns, factories)
    conn, _ = conns
    assert conn.cursor(row_factory=dict_row).execute("select 1 as a").fetchone() == {"a": 1}
    assert conn.cursor(row_factory=namedtuple_row).execute("select 1 as a").fetchone().a == 1


def test_errors_and_recovery(conns):
    def errors(mod, conn):
        cur = conn.cursor()
        out = []
        for q, p in [
            ("select 1/0", None),
            ("select * from nope", None),
            ("select %s::int", ["x"]),
            ("selec 1", None),
            ("select %s, %s", [1]),
            ("select %(a)s", {"b": 1}),
            ("select %d", [1]),
        ]:
            try:
                cur.execute(q, p)
            except Exception as ex:
                out.append((type(ex).__name__, getattr(getattr(ex, "diag", None), "sqlstate", None)))
        out.append(cur.execute("select 42").fetchone())
        return out

    run_both(conns, errors)


def test_errors_diag(conns):
    conn, _ = conns
    conn.execute("create temp table ud (x int primary key)")
    conn.execute("insert into ud values (1)")
    with pytest.raises(bp.IntegrityError) as ex:
        conn.execute("insert into ud values (1)")
    assert isinstance(ex.value, bp.errors.UniqueViolation)
    assert ex.value.diag.sqlstate == "23505"
    assert ex.value.diag.constraint_name == "ud_pkey"
    assert ex.value.diag.table_name == "ud"
    assert "duplicate key" in ex.value.diag.message_primary


def test_fetch_without_result(conns):
    def no_result(mod, conn):
        cur = conn.cursor()
        out = []
        for call in (cur.fetchone, cur.fetchall):
            try:
                call()
            except Exception as ex:
                out.append(type(ex).__name__)
        cur.execute("set search_path to public")
        try:
            cur.fetchone()
        except Exception as ex:
            out.append(type(ex).__name__)
        cur.close()
        try:
            cur.execute("select 1")
        except Exception as ex:
            out.append(type(ex).__name__)
        return out

    run_both(conns, no_result)


def test_server_cursor(pg_cluster):
    with bp.connect(pg_cluster.conninfo) as conn:
        cur = conn.cursor("_django_curs_1", withhold=False)
        cur.execute("select generate_series(1, 1000) as n where 1 = %s", [1])
        assert [d.name for d in cur.description] == ["n"]
        assert conn.execute("select name from pg_cursors").fetchall() == [("_django_curs_1",)]
        assert cur.fetchone() == (1,)
        assert cur.fetchmany(3) == [(2,), (3,), (4,)]
        assert sum(1 for _ in cur) == 996
        cur.close()
        assert conn.execute("select count(*) from pg_cursors").fetchone() == (0,)
        with conn.cursor("scroll", scrollable=True) as sc:
            sc.execute("select generate_series(1, 10)")
            sc.fetchmany(5)
            sc.scroll(-3)
            assert sc.fetchone() == (3,)
            sc.scroll(0, "absolute")
            assert sc.fetchone() == (1,)
        conn.commit()
        with conn.cursor("held", withhold=True) as held:
            held.execute("select 1")
            conn.commit()
            assert held.fetchall() == [(1,)]


class DjangoStyleServerCursor(bp.client_cursor.ClientCursorMixin, bp.ServerCursor):
    """How Django mixes client-side binding into a named cursor."""


def test_server_cursor_client_binding(pg_cluster):
    with bp.connect(pg_cluster.conninfo) as conn:
        cur = DjangoStyleServerCursor(conn, "_django_curs_2")
        cur.execute("select %s::text || n from generate_series(1, 3) n", ["a"])
        assert cur.fetchall() == [("a1",), ("a2",), ("a3",)]
        assert b"'a'" in cur._query.query
        cur.close()


def test_query_objects(pg_cluster):
    from balrog.psycopg import sql

    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        q = sql.SQL("select {}, {}").format(sql.Literal("x'y"), sql.Identifier("n"))
        cur = conn.cursor()
        cur.execute(sql.SQL("select n, {} from (select 1 as n) t").format(sql.Literal("x'y")))
        assert cur.fetchone() == (1, "x'y")
        assert "x''y" in q.as_string(conn)
        cc = bp.ClientCursor(conn)
        cc.execute("select %s", ["z"])
        assert cc._query.query == b"select 'z'"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(alphabet=st.characters(exclude_characters="\x00", codec="utf-8")), blob=st.binary())
def test_quoting_round_trips(pg_cluster, text, blob):
    # Property: whatever the string (quotes, backslashes, unicode, control characters),
    # client-side binding sends it as data and the server hands it back unchanged.
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        for scs in ("on", "off"):
            conn.execute(f"set standard_conforming_strings to {scs}")
            cur = bp.ClientCursor(conn)
            assert cur.execute("select %s, %s, %s::text[]", [text, blob, [text]]).fetchone() == (
                text,
                blob,
                [text],
            )
            literal = cur.mogrify("select %s", [text])
            assert conn.execute(literal).fetchone() == (text,)


def test_client_cursor_refuses_binary_results_like_psycopg(pg_cluster) -> None:
    def run(lib: Any) -> list[Any]:
        out: list[Any] = []
        with lib.connect(pg_cluster.dsn, autocommit=True) as conn:
            for fmt, kwargs in ((0, {"binary": True}), (0, {}), (1, {"binary": False}), (1, {})):
                cur = lib.ClientCursor(conn)
                cur.format = fmt
                try:
                    out.append(cur.execute("select 1", **kwargs).fetchone())
                except lib.Error as ex:
                    out.append((type(ex).__name__, str(ex)))
            cur = lib.ClientCursor(conn)
            cur.format = 1
            for call in (lambda: cur.executemany("select %s", [(1,)]), lambda: list(cur.stream("select 1"))):
                try:
                    call()
                    out.append("ok")
                except lib.Error as ex:
                    out.append((type(ex).__name__, str(ex)))
        return out

    assert run(bp) == run(psycopg)


def test_loader_registered_between_fetches(conns):
    # A loader registered on the cursor applies from the next row fetched, in every
    # result of the execute, as in psycopg; one registered on the connection does not
    # change a cursor made before.
    def fetches(mod, conn):
        def tagged(tag):
            class Tagged(mod.adapt.Loader):
                def load(self, data):
                    return bytes(data).decode() + tag

            return Tagged

        out = []
        cur = conn.cursor()
        cur.execute("values ('a'::text), ('b'), ('c'); values ('d'::text), (null)")
        out.append(cur.fetchone())
        cur.adapters.register_loader("text", tagged("1"))
        out.append(cur.fetchone())
        out.append(list(cur))
        conn.adapters.register_loader("text", tagged("conn"))
        cur.nextset()
        out.append(cur.fetchmany(1))
        cur.scroll(-1)
        cur.adapters.register_loader("text", tagged("2"))
        out.append(cur.fetchall())
        out.append(conn.cursor().execute("select 'e'::text").fetchall())
        return out

    outcome = run_both(conns, fetches)
    assert outcome[0] == "ok", outcome


def test_closing_a_cursor_declared_by_sql(conns):
    # A named cursor opened on a cursor declared elsewhere closes it on the server, so the
    # name can be declared again (psycopg looks it up in pg_cursors).
    def scenario(mod, conn):
        out = []
        with conn.transaction():
            for _ in range(2):
                conn.execute("declare stolen cursor for select generate_series(1, 3)")
                named = conn.cursor("stolen")
                out.append(named.fetchone())
                named.close()
            conn.cursor("never_declared").close()
            out.append(conn.execute("select count(*) from pg_cursors").fetchone())
        return out

    outcome = run_both(conns, scenario)
    assert outcome[0] == "ok", outcome


def test_prepared_max_none_and_generic_enum_binary(conns):
    import enum

    class Color(enum.Enum):
        RED = 1
        GREEN = "g"

    def scenario(mod, conn):
        out = []
        conn.prepared_max = None
        out.append(conn.prepared_max)
        for _ in range(3):
            out.append(conn.execute("select %s::int", [1], prepare=True).fetchone())
        conn.prepared_max = 0
        out.append(conn.prepared_max)
        out.append(conn.execute("select %s::int", [2], prepare=True).fetchone())
        for fmt in ("s", "t", "b"):
            for binary in (False, True):
                out.append(conn.execute(f"select %{fmt}", [Color.GREEN], binary=binary).fetchone())
        return out

    outcome = run_both(conns, scenario)
    assert outcome[0] == "ok", outcome


def test_server_cursor_calls_the_row_factory_once_per_execute(conns):
    # psycopg makes a named cursor's row maker when it describes the cursor (execute, or
    # the first fetch of one declared by SQL) and when row_factory is set, not per FETCH.
    def scenario(mod, conn):
        calls = 0

        def counting(cur):
            nonlocal calls
            calls += 1
            return lambda values: (calls, *values)

        out = []
        with conn.transaction():
            cur = conn.cursor("counted", row_factory=counting, scrollable=True)
            cur.execute("select generate_series(1, 3) as x")
            out += [cur.fetchall(), calls]
            cur.scroll(0, "absolute")
            out += [cur.fetchone(), cur.fetchmany(2), list(cur), calls]
            cur.execute("select 'a' as y, 2 as z")  # new columns: a new maker
            out += [cur.fetchall(), calls]
            cur.row_factory = mod.rows.dict_row
            cur.execute("select 1 as q")
            out += [cur.fetchall()]
            cur.close()
            conn.execute("declare by_sql cursor for select 5 as five")
            stolen = conn.cursor("by_sql", row_factory=mod.rows.dict_row)
            out += [stolen.fetchone(), stolen.fetchall()]
        return out

    outcome = run_both(conns, scenario)
    assert outcome[0] == "ok", outcome
