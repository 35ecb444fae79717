"""How ``psycopg`` resolves: balrog's driver under both names, never mixed with the real one."""

from __future__ import annotations

import pytest
from conftest import REAL_PSYCOPG

from support.proc import run_python

pytestmark = pytest.mark.skipif(REAL_PSYCOPG, reason="BALROG_DJANGO_DRIVER=psycopg uses the real driver")


def test_psycopg_and_its_submodules_are_balrogs():
    done = run_python(
        """
        import balrog.django
        balrog.django.install()
        import sys
        import psycopg, psycopg.types.range, psycopg_pool
        from psycopg.types.json import Jsonb
        from psycopg.pq import Format
        assert psycopg is sys.modules["balrog.psycopg"]
        assert psycopg.types.range is sys.modules["balrog.psycopg.types.range"]
        assert psycopg_pool is sys.modules["balrog.psycopg_pool"]
        assert Jsonb is sys.modules["balrog.psycopg.types.json"].Jsonb
        print("ok")
        """
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_the_engine_alone_installs_the_alias():
    done = run_python(
        """
        import sys
        from django.conf import settings
        settings.configure(DATABASES={"default": {"ENGINE": "balrog.django.db.backends.postgresql"}})
        import django
        django.setup()
        from django.db import connection
        assert connection.vendor == "postgresql"
        print(sys.modules["psycopg"].__name__)
        """
    )
    assert done.stdout.strip() == "balrog.psycopg", done.stderr


def test_refuses_when_the_real_psycopg_is_already_imported():
    done = run_python(
        """
        import psycopg
        import balrog.django
        from django.core.exceptions import ImproperlyConfigured
        try:
            balrog.django.install()
        except ImproperlyConfigured as exc:
            print("refused:", exc)
        """
    )
    assert done.stdout.startswith("refused:"), done.stderr
    assert "already imported" in done.stdout
