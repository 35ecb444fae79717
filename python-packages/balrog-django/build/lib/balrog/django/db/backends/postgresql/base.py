"""The DatabaseWrapper of the ENGINE: Django's own, with balrog's test expectations."""

from __future__ import annotations

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper

from .features import DatabaseFeatures

__all__ = ["DatabaseWrapper"]


class DatabaseWrapper(PostgresDatabaseWrapper):
    features_class = DatabaseFeatures
