"""Settings of the demo: what a project changes to run on balrog (see the two marked lines)."""

import os

SECRET_KEY = "balrog-django-demo"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ROOT_URLCONF = "demo.urls"

INSTALLED_APPS = [
    "balrog.django",  # balrog: first, so that psycopg means balrog.psycopg for every app
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "orders",
]

_pool_max = int(os.environ.get("DEMO_POOL_MAX", "20"))

DATABASES = {
    "default": {
        "ENGINE": "balrog.django.db.backends.postgresql",  # balrog: the ENGINE
        "NAME": os.environ.get("DEMO_DB_NAME", "postgres"),
        "USER": os.environ.get("DEMO_DB_USER", "postgres"),
        "HOST": os.environ.get("DEMO_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("DEMO_DB_PORT", "5432"),
        # Django's own pool option; balrog.psycopg_pool lends one connection per request.
        "OPTIONS": {"pool": {"min_size": 2, "max_size": _pool_max, "timeout": 60}} if _pool_max else {},
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}
