"""``import requests`` answered by balrog.requests, for code that imports requests itself.

SDKs and libraries built on requests import ``requests``, ``requests.adapters``,
``requests.exceptions`` and so on by name; ``install_as_requests()`` puts balrog's import
hook (``balrog._aliases``) first on ``sys.meta_path`` so that every such import gives the
matching ``balrog.requests`` module — their calls then run on reqwest, and suspend only
their green task in green mode.
"""

from __future__ import annotations

from balrog._aliases import aliases_installed, install_aliases

ALIASES = {"requests": "balrog.requests"}


def install_as_requests() -> None:
    """Make ``import requests`` (and its submodules) give balrog.requests; idempotent.

    Call it first thing, before anything imports requests. Raises
    ``balrog.ForeignModuleError`` (a RuntimeError) when the real requests is already
    imported: two of them in one process would mix their exception classes.
    """
    install_aliases(ALIASES, library="requests", installer="balrog.requests.install_as_requests")


def installed_as_requests() -> bool:
    """Whether ``import requests`` is answered by balrog in this process."""
    return aliases_installed(ALIASES)
