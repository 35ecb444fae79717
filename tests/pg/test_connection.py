"""Connection behaviour, compared with psycopg where it matters."""

from __future__ import annotations

import psycopg
import pytest

import balrog.psycopg as bp
from balrog.psycopg import errors as be

pytestmark = pytest.mark.both_modes


def test_connect_conninfo_and_kwargs(pg_cluster):
    with bp.connect(pg_cluster.conninfo) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    with bp.connect(**pg_cluster.connect_kwargs()) as conn:
        assert conn.info.dbname == pg_cluster.dbname
        assert conn.info.user == pg_cluster.user
    with bp.connect(pg_cluster.dsn, application_name="balrog-test") as conn:
        assert conn.execute("show application_name").fetchone() == ("balrog-test",)


def test_connect_unix_socket(pg_cluster):
    if pg_cluster.external:
        pytest.skip("socket dir unknown for an external server")
    with bp.connect(
        host=pg_cluster.socket_dir, port=pg_cluster.port, user=pg_cluster.user, dbname="postgres"
    ) as c:
        assert c.execute("select 2").fetchone() == (2,)
        assert c.info.host == pg_cluster.socket_dir


def test_connect_env(pg_cluster, monkeypatch):
    monkeypatch.setenv("PGHOST", pg_cluster.host)
    monkeypatch.setenv("PGPORT", str(pg_cluster.port))
    monkeypatch.setenv("PGUSER", pg_cluster.user)
    monkeypatch.setenv("PGDATABASE", pg_cluster.dbname)
    with bp.connect() as conn:
        assert conn.execute("select current_user").fetchone() == (pg_cluster.user,)


def test_connect_errors(pg_cluster):
    with pytest.raises(bp.OperationalError) as ex:
        bp.connect(pg_cluster.conninfo, dbname="no_such_db")
    assert "no_such_db" in str(ex.value)
    with pytest.raises(bp.OperationalError):
        bp.connect(host="127.0.0.1", port=1, user="x", dbname="x")


def test_info(pg_cluster):
    with bp.connect(pg_cluster.conninfo) as conn, psycopg.connect(pg_cluster.conninfo) as ref:
        assert conn.info.server_version == ref.info.server_version
        assert conn.info.encoding == ref.info.encoding == "utf-8"
        assert conn.info.parameter_status("TimeZone") == ref.info.parameter_status("TimeZone")
        assert conn.info.timezone == ref.info.timezone
        assert conn.info.backend_pid > 0
        assert conn.info.port == ref.info.port
        assert conn.info.transaction_status == bp.pq.TransactionStatus.IDLE


def test_transactions_like_psycopg(pg_cluster):
    for mod in (bp, psycopg):
        with mod.connect(pg_cluster.conninfo) as conn:
            assert not conn.autocommit
            conn.execute("create temp table t (x int)")
            assert conn.info.transaction_status == mod.pq.TransactionStatus.INTRANS
            conn.commit()
            assert conn.info.transaction_status == mod.pq.TransactionStatus.IDLE
            conn.execute("insert into t values (1)")
            conn.rollback()
            assert conn.execute("select count(*) from t").fetchone() == (0,)
            with pytest.raises(mod.errors.UndefinedTable):
                conn.execute("select * from nosuchtable")
            assert conn.info.transaction_status == mod.pq.TransactionStatus.INERROR
            with pytest.raises(mod.errors.InFailedSqlTransaction):
                conn.execute("select 1")
            conn.rollback()
            assert conn.execute("select 1").fetchone() == (1,)


def test_autocommit_and_isolation(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.execute("select 1")
        assert conn.info.transaction_status == bp.pq.TransactionStatus.IDLE
        conn.autocommit = False
        conn.isolation_level = bp.IsolationLevel.SERIALIZABLE
        conn.read_only = True
        assert conn.execute("show transaction_isolation").fetchone() == ("serializable",)
        assert conn.execute("show transaction_read_only").fetchone() == ("on",)
        with pytest.raises(bp.ProgrammingError):
            conn.autocommit = True
        conn.rollback()
        conn.autocommit = True
    with pytest.raises(ValueError):
        bp.IsolationLevel(-1)


def test_transaction_blocks(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.execute("create temp table t (x int)")
        with conn.transaction():
            conn.execute("insert into t values (1)")
            with pytest.raises(bp.errors.UniqueViolation):
                with conn.transaction():
                    conn.execute("insert into t values (2)")
                    conn.execute("create unique index on t (x)")
                    conn.execute("insert into t values (2)")
            with conn.transaction() as tx:
                conn.execute("insert into t values (3)")
                raise bp.Rollback(tx)
        assert conn.execute("select x from t order by x").fetchall() == [(1,)]
        with pytest.raises(ZeroDivisionError), conn.transaction():
            conn.execute("insert into t values (4)")
            1 / 0  # noqa: B018
        assert conn.execute("select count(*) from t").fetchone() == (1,)


def test_context_manager_semantics(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True) as setup:
        setup.execute("drop table if exists cm_test")
        setup.execute("create table cm_test (x int)")
    with bp.connect(pg_cluster.conninfo) as conn:
        conn.execute("insert into cm_test values (1)")
    assert conn.closed
    with pytest.raises(RuntimeError), bp.connect(pg_cluster.conninfo) as conn:
        conn.execute("insert into cm_test values (2)")
        raise RuntimeError
    with bp.connect(pg_cluster.conninfo, autocommit=True) as check:
        assert check.execute("select x from cm_test").fetchall() == [(1,)]
        check.execute("drop table cm_test")


def test_closed_connection(pg_cluster):
    conn = bp.connect(pg_cluster.conninfo)
    conn.close()
    conn.close()
    assert conn.closed and not conn.broken
    with pytest.raises(bp.OperationalError, match="closed"):
        conn.execute("select 1")
    with pytest.raises(bp.OperationalError):
        conn.cursor()


def test_notices(pg_cluster):
    got = []
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.add_notice_handler(lambda diag: got.append((diag.severity, diag.message_primary)))
        conn.execute("do $$ begin raise notice 'hello %', 42; end $$")
    assert got == [("NOTICE", "hello 42")]


def test_listen_notify(pg_cluster):
    with (
        bp.connect(pg_cluster.conninfo, autocommit=True) as conn,
        bp.connect(pg_cluster.conninfo, autocommit=True) as other,
    ):
        conn.execute("listen chan")
        other.execute("notify chan, 'one'")
        other.execute("select pg_notify('chan', 'two')")
        got = list(conn.notifies(timeout=5, stop_after=2))
        assert [(n.channel, n.payload) for n in got] == [("chan", "one"), ("chan", "two")]
        assert got[0].pid == other.info.backend_pid
        assert list(conn.notifies(timeout=0.05)) == []
        seen = []
        conn.add_notify_handler(seen.append)
        other.execute("notify chan, 'three'")
        conn.execute("select 1")
        assert [n.payload for n in seen] == ["three"]


def test_statement_timeout(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True, options="-c statement_timeout=100") as conn:
        with pytest.raises(be.QueryCanceled):
            conn.execute("select pg_sleep(5)")
        assert conn.execute("select 1").fetchone() == (1,)


def test_prepared_statements(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True, prepare_threshold=2) as conn:
        for i in range(5):
            assert conn.execute("select %s::int * 2", [i]).fetchone() == (i * 2,)
        names = conn.execute("select name from pg_prepared_statements").fetchall()
        assert len(names) >= 1
        conn.execute("select 1", prepare=True)
        conn.execute("deallocate all")
        assert conn.execute("select %s::int * 2", [3]).fetchone() == (6,)
        conn.prepare_threshold = None
        assert conn.execute("select %s::int", [7]).fetchone() == (7,)
