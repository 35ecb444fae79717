"""Make ``import psycopg`` / ``import psycopg_pool`` resolve to balrog's driver.

Django's PostgreSQL backend and django.contrib.postgres import ``psycopg`` (and its
submodules) at module level, and ``psycopg_pool`` when ``OPTIONS["pool"]`` is set. The import
hook is balrog.psycopg's (``install_as_psycopg()``); this module only turns its refusals into
Django's ImproperlyConfigured with advice that fits a Django project.
"""

from __future__ import annotations

import importlib

from django.core.exceptions import ImproperlyConfigured


def install_psycopg_aliases() -> None:
    """Route ``psycopg`` and ``psycopg_pool`` imports to balrog; idempotent.

    Raises ImproperlyConfigured when the real psycopg is already imported (the two must
    never be mixed in one process) or when balrog.psycopg is not installed.
    """
    try:
        alias = importlib.import_module("balrog.psycopg._alias")
    except ImportError as exc:
        raise ImproperlyConfigured("balrog.django needs balrog.psycopg: pip install balrog-pg") from exc
    try:
        alias.install_as_psycopg()
    except alias.ForeignModuleError as exc:
        raise ImproperlyConfigured(
            "balrog.django: the real psycopg is already imported in this process "
            f"({exc.shown}); Django would mix two "
            "PostgreSQL drivers. Make balrog's alias the first thing that happens: list "
            "'balrog.django' first in INSTALLED_APPS, or call balrog.django.install() at the top "
            "of your settings module, before anything imports psycopg."
        ) from None


def psycopg_aliases_installed() -> bool:
    try:
        alias = importlib.import_module("balrog.psycopg._alias")
    except ImportError:
        return False
    return bool(alias.installed_as_psycopg())
