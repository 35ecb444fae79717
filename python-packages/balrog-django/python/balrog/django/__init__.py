"""balrog for Django: the ``balrog.django.db.backends.postgresql`` ENGINE (Django's own
PostgreSQL backend on ``balrog.psycopg``) and ``balrog.django.asgi``, an ASGI application
that serves sync views as green tasks on the event loop.
"""

from __future__ import annotations

from ._install import install

__version__ = "0.1.0"

__all__ = ["__version__", "install"]
