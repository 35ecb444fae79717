"""Settings of the test project: the balrog ENGINE, a pool, contrib.postgres, sync + async middleware.

The database comes from BALROG_DJANGO_DB_* environment variables (set by the fixtures in
tests/django/conftest.py, which also pass them to the uvicorn subprocess).
"""

import os

import balrog.django

# Explicit, before anything can import psycopg (listing "balrog.django" first in
# INSTALLED_APPS would do as well).
balrog.django.install()

SECRET_KEY = "balrog-django-tests"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGES = [("en", "English"), ("de", "German"), ("fr", "French")]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ROOT_URLCONF = "testproject.urls"
WSGI_APPLICATION = "testproject.wsgi.application"

INSTALLED_APPS = [
    "balrog.django",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.postgres",
    "testproject.shop",
]

MIDDLEWARE = [
    "testproject.shop.middleware.SyncStampMiddleware",
    "testproject.shop.middleware.AsyncStampMiddleware",
]

_pool_max = int(os.environ.get("BALROG_DJANGO_POOL_MAX", "0"))
_options: dict[str, object] = {}
if _pool_max:
    _options["pool"] = {"min_size": 1, "max_size": _pool_max, "timeout": 120}

DATABASES = {
    "default": {
        "ENGINE": "balrog.django.db.backends.postgresql",
        "NAME": os.environ.get("BALROG_DJANGO_DB_NAME", "postgres"),
        "USER": os.environ.get("BALROG_DJANGO_DB_USER", "postgres"),
        "PASSWORD": os.environ.get("BALROG_DJANGO_DB_PASSWORD", ""),
        "HOST": os.environ.get("BALROG_DJANGO_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("BALROG_DJANGO_DB_PORT", "5432"),
        "CONN_MAX_AGE": int(os.environ.get("BALROG_DJANGO_CONN_MAX_AGE", "0")),
        "OPTIONS": _options,
        "TEST": {"NAME": os.environ.get("BALROG_DJANGO_TEST_DB_NAME", "test_balrog_django")},
    }
}

# Server errors go to stderr (the uvicorn fixtures keep it in their log).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}
