"""``import psycopg`` answered by balrog's driver, for code that imports psycopg itself.

Libraries written for psycopg (SQLAlchemy's ``postgresql+psycopg`` dialect, Django's backend,
django.contrib.postgres) import ``psycopg``, ``psycopg.types.json``, ``psycopg_pool`` and so
on by name; ``install_as_psycopg()`` puts balrog's import hook (``balrog._aliases``) first on
``sys.meta_path`` so that every such import gives the matching ``balrog.psycopg*`` module.
"""

from __future__ import annotations

from balrog._aliases import ForeignModuleError, aliases_installed, install_aliases

# alias top-level name -> the balrog module it stands for
ALIASES = {"psycopg": "balrog.psycopg", "psycopg_pool": "balrog.psycopg_pool"}

__all__ = ["ALIASES", "ForeignModuleError", "install_as_psycopg", "installed_as_psycopg"]


def install_as_psycopg() -> None:
    """Make ``import psycopg`` and ``import psycopg_pool`` give balrog's modules; idempotent.

    Call it first thing, before anything imports psycopg (for SQLAlchemy: before
    ``create_engine("postgresql+psycopg://...")``). Raises ``balrog.ForeignModuleError``
    (a RuntimeError) when the real psycopg is already imported: two drivers in one process
    would mix their exception classes and adapters.
    """
    install_aliases(ALIASES, library="psycopg", installer="balrog.psycopg.install_as_psycopg")


def installed_as_psycopg() -> bool:
    """Whether ``import psycopg`` is answered by balrog in this process."""
    return aliases_installed(ALIASES)
