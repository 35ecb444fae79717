"""Settings for Django's own test suite on Django's stock backend and the real psycopg."""

from suite_common import databases

DATABASES = databases("django.db.backends.postgresql")
SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False
