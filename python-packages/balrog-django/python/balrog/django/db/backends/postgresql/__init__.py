"""ENGINE ``balrog.django.db.backends.postgresql``: Django's PostgreSQL backend on balrog.psycopg."""

from balrog.django._install import install

# Before Django's backend module runs its module-level ``import psycopg``.
install()
