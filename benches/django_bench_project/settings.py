"""Settings shared by every contender of benches/django_bench.py (environment decides the rest)."""

import os

if os.environ["BENCH_ENGINE"].startswith("balrog."):
    import balrog.django

    balrog.django.install()

SECRET_KEY = "balrog-django-bench"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ROOT_URLCONF = "urls"
INSTALLED_APPS = ["bench"]
MIDDLEWARE: list[str] = []
_pool_max = int(os.environ.get("BENCH_POOL_MAX", "20"))
_pool = {"min_size": _pool_max, "max_size": _pool_max, "timeout": 60}
DATABASES = {
    "default": {
        "ENGINE": os.environ["BENCH_ENGINE"],
        "NAME": os.environ.get("BENCH_DB_NAME", "postgres"),
        "USER": os.environ.get("BENCH_DB_USER", "postgres"),
        "HOST": os.environ.get("BENCH_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("BENCH_DB_PORT", "5432"),
        "OPTIONS": {"pool": {"min_size": _pool_max, "max_size": _pool_max, "timeout": 60}}
        if _pool_max
        else {},
    }
}

# Server errors go to stderr (the bench prints the server's log when a run had errors).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}
