"""Settings for Django's own test suite (tests/runtests.py) on the balrog ENGINE.

runtests.py replaces INSTALLED_APPS, so balrog's psycopg is installed explicitly here,
before runtests loads django.contrib.postgres.
"""

import balrog.django

balrog.django.install()

from suite_common import databases  # noqa: E402

DATABASES = databases("balrog.django.db.backends.postgresql")
SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False
