"""balrog.psycopg.errors against psycopg.errors: classes, codes, messages, diag, pickling."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import psycopg
import psycopg.errors as ref
import pytest

from balrog.psycopg import errors as ours
from balrog.psycopg.pq import DiagnosticField

PEP249 = [
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
]  # fmt: skip
EXTRA = ["ConnectionTimeout", "CancellationTimeout", "PipelineAborted"]


def qualname_chain(cls: type) -> list[str]:
    return [klass.__name__ for klass in cls.__mro__]


def test_every_sqlstate_and_name_maps_to_the_same_class() -> None:
    assert sorted(ours._sqlcodes) == sorted(ref._sqlcodes)
    for key, ref_cls in ref._sqlcodes.items():
        cls = ours.lookup(key)
        assert cls.__name__ == ref_cls.__name__, key
        assert cls.sqlstate == ref_cls.sqlstate, key
        assert qualname_chain(cls) == qualname_chain(ref_cls), key
        assert getattr(ours, cls.__name__) is cls
        assert cls.__module__ == "balrog.psycopg.errors"


def test_lookup_is_case_insensitive_and_raises_key_error() -> None:
    assert ours.lookup("unique_violation") is ours.lookup("23505") is ours.UniqueViolation
    assert ours.lookup("42p01") is ours.UndefinedTable
    with pytest.raises(KeyError):
        ours.lookup("XXXXX")


@pytest.mark.parametrize("name", PEP249 + EXTRA)
def test_pep249_hierarchy(name: str) -> None:
    assert qualname_chain(getattr(ours, name)) == qualname_chain(getattr(ref, name))


@pytest.mark.parametrize("code", ["22", "23", "0A", "42", "08", "P0", "XX", "F0", "HV", "99", "ZZ", "", "2B"])
def test_base_exception_by_class(code: str) -> None:
    for state in (code + "999", code):
        assert ours.get_base_exception(state).__name__ == ref.get_base_exception(state).__name__


def test_error_defaults() -> None:
    error = ours.ProgrammingError("boom")
    assert str(error) == "boom"
    assert error.sqlstate is None
    assert error.pgconn is None and error.pgresult is None
    assert error.diag.sqlstate is None and error.diag.message_primary is None
    assert ours.UniqueViolation("x").sqlstate == "23505"


# -- messages and diag from a real server, compared with psycopg's --------------------------

LONG = "select " + ", ".join(f"col_{i}" for i in range(40))
FAILING_QUERIES = [
    "select foo",
    "select 1/0",
    "select 'abc'::int",
    "select 1\n  from\n nothere",
    "select 1\r\n  from\r\n nothere",
    "select 1\r  from\r nothere",
    "select\t1,\tnothere",
    "select '日本語の文字列', nothere",
    "select 'é', nothere",
    LONG,
    LONG + " from pg_class",
    "select 1 from pg_class where " + " and ".join(f"relname <> 'x{i}'" for i in range(20)) + " and nope = 1",
    "select 1 from pg_class where nope = 1 and " + " and ".join(f"relname <> 'x{i}'" for i in range(20)),
    "selec 1",
    "select (",
    "create temp table t_err(id int primary key); insert into t_err values (1), (1)",
    "create temp table t_nn(id int not null); insert into t_nn values (null)",
    "create temp table t_ck(id int check (id > 0)); insert into t_ck values (-1)",
    "do $$ begin raise exception 'boom' using detail = 'd', hint = 'h'; end $$",
    "do $$ begin raise exception using errcode = '12345', message = 'custom code'; end $$",
    "do $$ begin perform nosuch_col from pg_class; end $$",
    "do $$ begin execute 'select 1 +'; end $$",
    "do $$\nbegin\n  perform 1/0;\nend\n$$",
    "create function pg_temp.f() returns int language sql as 'select nothere'",
    "select pg_terminate_backend(-1) from nowhere",
    "select x from generate_series(1, 3) x where x::text::int / (x - 2) > 0",
    "select repeat('x', 10)::varchar(2)::char(1), 'a' || nothere",
    "set statement_timeout = 'abc'",
    "select jsonb '{bad'",
    "select array[1, 'x']",
]


@pytest.fixture(scope="module")
def ref_conn(pg_cluster: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_cluster.conninfo, autocommit=True) as conn:
        yield conn


def server_error(conn: psycopg.Connection[Any], query: str) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as info:
        conn.execute(query.encode())  # bytes: sent as is, no placeholder processing
    return info.value


def fields_of(error: psycopg.Error) -> dict[str, str]:
    diag = error.diag
    fields = {}
    for field in DiagnosticField:
        value = diag._error_message(ref.DiagnosticField(field.value))  # type: ignore[attr-defined]
        if value is not None:
            fields[chr(field.value)] = value
    return fields


DIAG_ATTRS = [
    "severity", "severity_nonlocalized", "sqlstate", "message_primary", "message_detail",
    "message_hint", "statement_position", "internal_position", "internal_query", "context",
    "schema_name", "table_name", "column_name", "datatype_name", "constraint_name",
    "source_file", "source_line", "source_function",
]  # fmt: skip


@pytest.mark.parametrize("query", FAILING_QUERIES)
def test_from_server_matches_psycopg(ref_conn: psycopg.Connection[Any], query: str) -> None:
    expected = server_error(ref_conn, query)
    error = ours._from_server(fields_of(expected), query)
    assert type(error).__name__ == type(expected).__name__
    assert str(error) == str(expected)
    assert error.args == expected.args
    assert error.sqlstate == expected.sqlstate
    for attr in DIAG_ATTRS:
        assert getattr(error.diag, attr) == getattr(expected.diag, attr), attr


def test_unknown_sqlstate_keeps_its_code() -> None:
    error = ours._from_server({"S": "ERROR", "C": "22ZZZ", "M": "odd"})
    assert type(error) is ours.DataError
    assert error.sqlstate == "22ZZZ" and str(error) == "odd"
    error = ours._from_server({"S": "ERROR", "C": "ZZ999", "M": "odder"})
    assert type(error) is ours.DatabaseError


def test_position_without_query_is_reported_in_the_message() -> None:
    error = ours._from_server({"S": "ERROR", "C": "42703", "M": 'column "x" does not exist', "P": "8"})
    assert str(error) == 'column "x" does not exist at character 8'


def test_position_past_the_end_shows_no_excerpt() -> None:
    error = ours._from_server({"C": "42601", "M": "syntax error", "P": "99"}, "select")
    assert str(error) == "syntax error"


def test_missing_message() -> None:
    assert str(ours._from_server({"C": "XX000"})) == "missing error text"


def test_pickle_roundtrip(ref_conn: psycopg.Connection[Any]) -> None:
    expected = server_error(ref_conn, "select 1/0")
    error = ours._from_server(fields_of(expected), "select 1/0")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.args == error.args
    assert copy.sqlstate == "22012"
    assert copy.diag.message_primary == "division by zero"
    assert copy.diag.severity == "ERROR"
    plain = pickle.loads(pickle.dumps(ours.UndefinedTable("no table")))
    assert type(plain) is ours.UndefinedTable and str(plain) == "no table"


def test_pickle_pep249_classes() -> None:
    pytest.importorskip("balrog.psycopg")  # the classes pickle by the package's name
    import balrog.psycopg

    if not hasattr(balrog.psycopg, "OperationalError"):
        pytest.skip("balrog.psycopg does not export the PEP 249 classes yet")
    copy = pickle.loads(pickle.dumps(ours.OperationalError("gone")))
    assert type(copy) is ours.OperationalError and str(copy) == "gone"


def test_diagnostic_accepts_psycopg_style_bytes() -> None:
    diag = ours.Diagnostic(
        {DiagnosticField.MESSAGE_PRIMARY: "café".encode(), DiagnosticField.SQLSTATE: b"23505"}
    )
    assert diag.message_primary == "café" and diag.sqlstate == "23505" and diag.table_name is None
    error = ours.Error("x", info={DiagnosticField.SQLSTATE: b"23505"})
    assert error.sqlstate == "23505"


def _pgresults_of_errors(lib: Any, conninfo: str) -> list[Any]:
    out: list[Any] = []
    fields = [getattr(lib.pq.DiagnosticField, f.name) for f in DiagnosticField]
    with lib.connect(conninfo, autocommit=True) as conn:
        for query in ("select 1 from wat", "select 1/0", "select 'x'::int", "select 1 +"):
            with pytest.raises(lib.Error) as info:
                conn.execute(query)
            res = info.value.pgresult
            out.append((res.status, res.ntuples, res.nfields, res.error_message))
            out.append([res.error_field(field) for field in fields])
            out.append(pickle.loads(pickle.dumps(info.value)).pgresult)
        with pytest.raises(lib.Error) as info:
            conn.execute("select %s", [1, 2])  # a client-side error: no result
        out.append(info.value.pgresult)
    return out


def test_pgresult_of_a_failed_query_like_psycopg(pg_cluster) -> None:
    import balrog.psycopg as bp

    assert _pgresults_of_errors(bp, pg_cluster.conninfo) == _pgresults_of_errors(psycopg, pg_cluster.conninfo)
