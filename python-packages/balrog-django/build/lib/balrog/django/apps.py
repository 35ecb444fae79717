"""``"balrog.django"`` in INSTALLED_APPS (first): installs balrog's psycopg before other apps load."""

from __future__ import annotations

from django.apps import AppConfig

from ._install import install

# Django imports this module while it creates the app configs, in INSTALLED_APPS order:
# listed first, this runs before django.contrib.postgres imports psycopg.
install()


class BalrogConfig(AppConfig):
    name = "balrog.django"
    label = "balrog_django"
    verbose_name = "balrog"
