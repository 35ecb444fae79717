"""Management commands with the ENGINE: test runner, migrate, inspectdb, dbshell."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import HERE, database_env

pytestmark = pytest.mark.usefixtures("django_project")


def manage(
    pg_cluster, dbname: str, *argv: str, test_db: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **database_env(pg_cluster, dbname)}
    if test_db:
        env["BALROG_DJANGO_TEST_DB_NAME"] = test_db
    return subprocess.run(
        [sys.executable, "manage.py", *argv], cwd=HERE, env=env, capture_output=True, text=True, timeout=300
    )


def test_test_runner(pg_cluster):
    done = manage(
        pg_cluster,
        pg_cluster.dbname,
        "test",
        "testproject.shop",
        "--noinput",
        "-v",
        "2",
        test_db="test_balrog_django_runner",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Ran 3 tests" in done.stderr
    assert "OK" in done.stderr


def test_migrate_is_up_to_date(pg_cluster, django_project):
    done = manage(pg_cluster, django_project, "migrate", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    done = manage(pg_cluster, django_project, "makemigrations", "--check", "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr


def test_inspectdb(pg_cluster, django_project):
    done = manage(pg_cluster, django_project, "inspectdb", "shop_order")
    assert done.returncode == 0, done.stderr
    assert "class ShopOrder(models.Model):" in done.stdout
    assert "tags = ArrayField(" in done.stdout or "tags = models.TextField" in done.stdout


def test_dbshell(pg_cluster, django_project):
    done = manage(pg_cluster, django_project, "dbshell", "--", "-At", "-c", "SELECT 6 * 7")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"
