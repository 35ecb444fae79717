"""The DATABASES both suite settings use: the cluster run_suite.py started (env variables)."""

import os


def databases(engine: str) -> dict[str, dict[str, object]]:
    common = {
        "ENGINE": engine,
        "HOST": os.environ["DJANGO_SUITE_DB_HOST"],
        "PORT": os.environ["DJANGO_SUITE_DB_PORT"],
        "USER": os.environ.get("DJANGO_SUITE_DB_USER", "postgres"),
    }
    if os.environ.get("DJANGO_SUITE_SERVER_SIDE_BINDING") == "1":
        # Django's psycopg option: server-side parameters (Cursor) instead of ClientCursor.
        common["OPTIONS"] = {"server_side_binding": True}
    return {
        "default": {**common, "NAME": "django_default", "TEST": {"NAME": "test_django_default"}},
        "other": {**common, "NAME": "django_other", "TEST": {"NAME": "test_django_other"}},
    }
