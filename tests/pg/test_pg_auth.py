"""Password authentication (cleartext, MD5, SCRAM-SHA-256) and libpq's rules on it
(``require_auth``, ``channel_binding``), side by side with psycopg against one cluster
whose pg_hba.conf asks each test user for a different method."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp
from support.pg import PgCluster

PASSWORD = "s3cret 'quoted' é"
USERS = {"scram_user": "scram-sha-256", "md5_user": "md5", "pw_user": "password"}


@pytest.fixture(scope="module")
def auth_cluster() -> Iterator[PgCluster]:
    cluster = PgCluster()
    cluster.init()
    cluster.prepend_hba_rules(*(f"host all {user} 127.0.0.1/32 {method}" for user, method in USERS.items()))
    cluster.start()
    try:
        with psycopg.connect(cluster.conninfo, autocommit=True) as admin:
            for user, method in USERS.items():
                admin.execute(f"set password_encryption = '{'md5' if method == 'md5' else 'scram-sha-256'}'")
                admin.execute(
                    psycopg.sql.SQL("create role {} login password {}").format(
                        psycopg.sql.Identifier(user), psycopg.sql.Literal(PASSWORD)
                    )
                )
        yield cluster
    finally:
        cluster.destroy()


def attempt(lib: Any, cluster: PgCluster, **kwargs: Any) -> tuple[str, str]:
    """("ok", the server's user) or (error class, message)."""
    params = {"host": cluster.host, "port": cluster.port, "dbname": cluster.dbname, **kwargs}
    try:
        with lib.connect(**params) as conn:
            return "ok", conn.execute("select current_user").fetchone()[0]
    except lib.Error as exc:
        return type(exc).__name__, str(exc).strip()


CASES: list[dict[str, Any]] = [
    *({"user": user, "password": PASSWORD} for user in USERS),
    *({"user": user, "password": "wrong"} for user in USERS),
    *({"user": user} for user in USERS),
    # require_auth: what the server asks for must be on the list (or off a "!" list).
    {"user": "scram_user", "password": PASSWORD, "require_auth": "scram-sha-256"},
    {"user": "scram_user", "password": PASSWORD, "require_auth": "md5,password"},
    {"user": "scram_user", "password": PASSWORD, "require_auth": "!scram-sha-256"},
    {"user": "md5_user", "password": PASSWORD, "require_auth": "md5"},
    {"user": "md5_user", "password": PASSWORD, "require_auth": "scram-sha-256"},
    {"user": "pw_user", "password": PASSWORD, "require_auth": "!password"},
    {"user": "pw_user", "password": PASSWORD, "require_auth": "password,md5"},
    {"user": "postgres", "require_auth": "scram-sha-256"},  # trust: no authentication at all
    {"user": "postgres", "require_auth": "none"},
    {"user": "postgres", "require_auth": "!none"},
    {"user": "postgres", "require_auth": "!md5"},
    # channel_binding=require: only SCRAM with channel binding, which needs TLS.
    {"user": "postgres", "channel_binding": "require"},
    {"user": "md5_user", "password": PASSWORD, "channel_binding": "require"},
    {"user": "pw_user", "password": PASSWORD, "channel_binding": "require"},
    {"user": "scram_user", "password": PASSWORD, "channel_binding": "disable"},
]


@pytest.mark.parametrize("kwargs", CASES, ids=[",".join(f"{k}={v}" for k, v in c.items()) for c in CASES])
def test_authentication_like_psycopg(auth_cluster: PgCluster, kwargs: dict[str, Any]) -> None:
    theirs = attempt(psycopg, auth_cluster, sslmode="disable", **kwargs)
    ours = attempt(bp, auth_cluster, sslmode="disable", **kwargs)
    assert ours == theirs


def test_channel_binding_required_is_never_granted_without_it(auth_cluster: PgCluster) -> None:
    # Without TLS there is nothing to bind: refused before any password is sent, whatever
    # the method (psycopg's wording varies with the method; the refusal does not).
    for user in USERS:
        outcome = attempt(
            bp, auth_cluster, user=user, password=PASSWORD, sslmode="disable", channel_binding="require"
        )
        assert outcome[0] == "OperationalError"
        assert "channel binding" in outcome[1]
