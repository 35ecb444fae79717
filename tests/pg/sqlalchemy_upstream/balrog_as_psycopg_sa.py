"""pytest plugin: SQLAlchemy's own suite on balrog's driver.

Loaded with ``-p balrog_as_psycopg_sa`` before SQLAlchemy's testing plugin imports the
dialect: ``balrog.psycopg.install_as_psycopg()`` makes every ``import psycopg`` /
``psycopg_pool`` in SQLAlchemy give balrog's modules. Nothing is stubbed.
"""

from __future__ import annotations

import balrog.psycopg

balrog.psycopg.install_as_psycopg()
