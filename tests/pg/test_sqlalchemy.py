"""SQLAlchemy 2.0's ``postgresql+psycopg`` and ``postgresql+psycopg_async`` dialects on balrog's
driver (``balrog.psycopg.install_as_psycopg()``), differential against the real psycopg.

Each run is a fresh interpreter (sqlalchemy_app.py): the alias is process-wide, and this
test process has the real psycopg imported for the other differential tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from support.proc import run_python

pytest.importorskip("sqlalchemy")

APP = os.path.join(os.path.dirname(__file__), "sqlalchemy_app.py")


def run_app(driver: str, scenario: str, pg_cluster: Any) -> Any:
    schema = f"sa_{scenario}_{driver}"
    done = subprocess.run(
        [sys.executable, APP, driver, scenario, pg_cluster.dsn, schema],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("scenario", ["core", "orm", "async"])
def test_same_results_as_on_psycopg(pg_cluster, scenario):
    ours = run_app("balrog", scenario, pg_cluster)
    theirs = run_app("psycopg", scenario, pg_cluster)
    # The schema name differs by design; everything else must match.
    assert json.loads(json.dumps(ours).replace("_balrog", "_X")) == json.loads(
        json.dumps(theirs).replace("_psycopg", "_X")
    )
    if scenario == "core":
        assert ours["duplicate"] == {
            "sa": "IntegrityError",
            "driver": "UniqueViolation",
            "sqlstate": "23505",
            "constraint": "items_name_key",
        }
        assert ours["division"]["driver"] == "DivisionByZero"
        assert ours["names_after_savepoint"] == ["kept"]
        # ids: 1-7, 8 spent by the duplicate, 9 "kept", 10 rolled back with its savepoint
        assert ours["partitions"] == [[[1], [2], [3]], [[4], [5], [6]], [[7], [9]]]


def test_sync_sessions_run_as_green_tasks(pg_cluster):
    # Ten engine.connect() + a 0.3 s query each, from ten green tasks on one thread: all ten
    # are on the server at once (each suspends only its own task).
    seen = run_app("balrog", "green", pg_cluster)
    assert seen == {"values": list(range(10)), "max_in_flight": 10, "threads": 1}


def test_green_tasks_wait_for_balrogs_pool_behind_sqlalchemy(pg_cluster):
    # NullPool + creator=pool.getconn (SQLAlchemy's recipe for psycopg_pool): ten tasks share
    # five connections, the other five wait in the pool without stopping the thread.
    seen = run_app("balrog", "green_pool", pg_cluster)
    assert seen == {"values": list(range(10)), "max_in_flight": 5, "threads": 1}


def test_install_as_psycopg_aliases_every_submodule():
    done = run_python(
        """
        import importlib, sys
        import balrog.psycopg
        assert not balrog.psycopg.installed_as_psycopg()
        balrog.psycopg.install_as_psycopg()
        balrog.psycopg.install_as_psycopg()  # idempotent
        import psycopg, psycopg.types.json, psycopg_pool
        from psycopg.pq import TransactionStatus
        from psycopg.types.range import Range
        assert psycopg is balrog.psycopg
        assert psycopg.types.json is sys.modules["balrog.psycopg.types.json"]
        assert psycopg_pool is sys.modules["balrog.psycopg_pool"]
        assert Range is sys.modules["balrog.psycopg.types.range"].Range
        assert TransactionStatus is balrog.psycopg.pq.TransactionStatus
        # the modules keep their own spec (the import system set the alias's)
        assert psycopg.__spec__.name == "balrog.psycopg", psycopg.__spec__
        assert psycopg.types.json.__spec__.name == "balrog.psycopg.types.json"
        importlib.reload(psycopg.types.json)
        assert balrog.psycopg.installed_as_psycopg()
        assert "install_as_psycopg" not in balrog.psycopg.__all__
        print("ok")
        """
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_install_as_psycopg_refuses_after_the_real_psycopg():
    done = run_python(
        """
        import psycopg
        import balrog, balrog.psycopg
        try:
            balrog.psycopg.install_as_psycopg()
        except RuntimeError as err:
            assert isinstance(err, balrog.ForeignModuleError)
            assert "psycopg" in err.modules, err.modules
            print("refused:", err)
        assert not balrog.psycopg.installed_as_psycopg()
        """
    )
    assert done.stdout.startswith("refused: the real psycopg is already imported"), done.stderr
    assert "call balrog.psycopg.install_as_psycopg() before anything imports psycopg" in done.stdout
