"""Fixtures of the balrog-django tests: the test project on a real PostgreSQL, and uvicorn.

Django is configured once per session with ``testproject.settings`` (ENGINE
``balrog.django.db.backends.postgresql``); Django's test-database machinery creates and
migrates ``test_balrog_django`` on the session's cluster. Servers are uvicorn subprocesses
serving ``testproject.asgi`` (the green ASGI application) on 127.0.0.1.

BALROG_DJANGO_DRIVER=psycopg runs everything on the real psycopg (development only).
Run this directory in a pytest process of its own: balrog.django refuses to start in a
process that already imported the real psycopg (other packages' differential tests do).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from support.net import free_port, uvicorn_command, wait_for_port  # noqa: E402

TEST_DB_NAME = "test_balrog_django"
# The real psycopg_pool blocks the event loop thread when it is exhausted (a deadlock under
# green tasks), so pools are used only on balrog's driver.
REAL_PSYCOPG = os.environ.get("BALROG_DJANGO_DRIVER", "").strip().lower() == "psycopg"


# What Django 5.2's backend imports from psycopg at module level (postgresql/base.py,
# psycopg_any.py); a driver without one of these cannot load Django at all.
DJANGO_NEEDS = {
    "balrog.psycopg": ("ClientCursor", "IsolationLevel", "adapt", "adapters", "errors", "sql"),
    "balrog.psycopg.postgres": ("types",),
    "balrog.psycopg.pq": ("Format",),
    "balrog.psycopg.types.datetime": ("TimestamptzLoader",),
    "balrog.psycopg.types.json": ("Jsonb",),
    "balrog.psycopg.types.range": ("Range", "RangeDumper"),
    "balrog.psycopg.types.string": ("TextLoader",),
}


def missing_driver_api() -> list[str]:
    """Names Django needs that balrog.psycopg does not have yet (empty: it can load Django)."""
    import importlib

    missing = []
    for module_name, names in DJANGO_NEEDS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            missing.append(module_name)
            continue
        missing += [f"{module_name}.{name}" for name in names if not hasattr(module, name)]
    return missing


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip (loudly, naming the gap) while balrog.psycopg cannot load Django's backend yet."""
    if REAL_PSYCOPG:
        return
    missing = missing_driver_api()
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"balrog.psycopg lacks what Django imports: {', '.join(missing)}")
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(skip)


def database_env(cluster, name: str) -> dict[str, str]:
    return {
        "BALROG_DJANGO_DB_HOST": cluster.host,
        "BALROG_DJANGO_DB_PORT": str(cluster.port),
        "BALROG_DJANGO_DB_USER": cluster.user,
        "BALROG_DJANGO_DB_PASSWORD": cluster.password,
        "BALROG_DJANGO_DB_NAME": name,
    }


@pytest.fixture(scope="session")
def django_project(pg_cluster) -> Iterator[str]:
    """Django set up on the test project; yields the name of the migrated test database."""
    os.environ.update(database_env(pg_cluster, pg_cluster.dbname))
    os.environ["BALROG_DJANGO_TEST_DB_NAME"] = TEST_DB_NAME
    os.environ["DJANGO_SETTINGS_MODULE"] = "testproject.settings"
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        if "already imported" in str(exc):
            pytest.skip(f"run tests/django in a pytest process of its own: {exc}")
        raise
    from django.test.utils import setup_databases, teardown_databases

    old_config = setup_databases(verbosity=0, interactive=False)
    from django.db import connection

    yield connection.settings_dict["NAME"]
    from django.db import connections

    connections.close_all()
    teardown_databases(old_config, verbosity=0)


@dataclass
class Server:
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log: tempfile._TemporaryFileWrapper[bytes]

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output()


@pytest.fixture
def serve(pg_cluster, django_project) -> Iterator[Callable[..., Server]]:
    """serve(app="testproject.asgi:application", pool_max=0, wsgi=False) -> a running Server."""
    servers: list[Server] = []

    def start(
        app: str = "testproject.asgi:application",
        *,
        pool_max: int = 0,
        env: dict | None = None,
        wsgi: bool = False,
    ) -> Server:
        """uvicorn serving ``app``; or, with ``wsgi=True``, Django's threaded WSGI server."""
        port = free_port()
        environment = {
            **os.environ,
            **database_env(pg_cluster, django_project),
            "BALROG_DJANGO_POOL_MAX": str(0 if REAL_PSYCOPG else pool_max),
            **(env or {}),
        }
        log = tempfile.NamedTemporaryFile(prefix="balrog-uvicorn-", suffix=".log")
        if wsgi:
            command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
        else:
            command = uvicorn_command(app, port)
        process = subprocess.Popen(
            command,
            cwd=HERE,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = Server("127.0.0.1", port, process, log)
        servers.append(server)
        try:
            wait_for_port("127.0.0.1", port)
        except TimeoutError:
            raise RuntimeError(f"the server did not start:\n{server.stop()}") from None
        return server

    yield start
    for server in servers:
        server.stop()
        server.log.close()
