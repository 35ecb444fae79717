"""The version of psycopg this package stands in for (``psycopg.version.__version__``)."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "3.3.9"
