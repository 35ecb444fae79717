"""One switch for everything balrog.django changes in a process (idempotent)."""

from __future__ import annotations

import os

from ._aliases import install_psycopg_aliases
from ._async_unsafe import install_green_async_unsafe
from ._connections import install_green_connections
from ._run_back import install_green_async_to_sync

DRIVER_ENV = "BALROG_DJANGO_DRIVER"


def driver() -> str:
    """Which driver ``import psycopg`` means: "balrog" (default), or "psycopg" (the real one).

    "psycopg" exists for developing and comparing against the original driver; green tasks
    then block the event loop on every query.
    """
    value = os.environ.get(DRIVER_ENV, "balrog").strip().lower() or "balrog"
    if value not in ("balrog", "psycopg"):
        raise ValueError(f"{DRIVER_ENV} must be 'balrog' or 'psycopg', not {value!r}")
    return value


def install() -> None:
    """Prepare Django for balrog.

    * ``import psycopg`` / ``psycopg_pool`` resolve to ``balrog.psycopg`` / ``balrog.psycopg_pool``
      (refuses if the real psycopg is already imported);
    * Django's ``@async_unsafe`` lets green tasks through (still strict on the bare loop);
    * ``async_to_sync`` works from green tasks;
    * ``django.db.connections`` keeps one set of connections per green task.

    Runs on import of the ENGINE, of the ``balrog.django`` app config and from
    ``balrog.django.asgi.get_asgi_application()``. With django.contrib.postgres (which
    imports psycopg while apps load), list ``"balrog.django"`` first in INSTALLED_APPS or
    call this at the top of the settings module.
    """
    if driver() == "balrog":
        install_psycopg_aliases()
    install_green_async_unsafe()
    install_green_async_to_sync()
    install_green_connections()
