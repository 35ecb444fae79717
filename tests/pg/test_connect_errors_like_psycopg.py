"""Failed connections and ``conn.info.dsn``, side by side with psycopg.

The error of a failed connection is compared as ``str(exc)`` (libpq's words through
psycopg: the server named, strerror's text and libpq's hint, the server's FATAL with its
DETAIL, psycopg's list when several attempts failed), against local servers only: a
cluster of this module's own (its pg_hba.conf asks some users for passwords and rejects
one), closed ports, missing or refusing Unix sockets, and Python sockets that close at
once, answer nonsense or never answer. Successful connections compare ``info.dsn`` and
``info.get_parameters()`` (the parameters that differ from libpq's defaults).
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp
from support.net import free_port
from support.pg import PgCluster
from support.servers import ThreadedServer

PASSWORD = "s3cret"
HBA_RULES = [
    "host all rejected_user 127.0.0.1/32 reject",
    "host all scram_user 127.0.0.1/32 scram-sha-256",
    "host all md5_user 127.0.0.1/32 md5",
    "local all scram_user scram-sha-256",
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    cluster = PgCluster()
    cluster.init()
    cluster.prepend_hba_rules(*HBA_RULES)
    cluster.start()
    try:
        with psycopg.connect(cluster.conninfo, autocommit=True) as admin:
            admin.execute(f"create role scram_user login password '{PASSWORD}'")
            admin.execute("set password_encryption = 'md5'")
            admin.execute(f"create role md5_user login password '{PASSWORD}'")
            admin.execute("create role rejected_user login")
            admin.execute("create role nologin_user nologin")
            admin.execute("create role limited_user login connection limit 0")
            admin.execute("create database closed_db")
            admin.execute("revoke connect on database closed_db from public")
            admin.execute("create database frozen_db allow_connections false")
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PG* variable of the machine's: both libraries read them alike, but the cases
    must not depend on them."""
    for name in list(os.environ):
        if name.startswith("PG"):
            monkeypatch.delenv(name)


def outcome(lib: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """("ok", dsn, parameters, host, hostaddr, port) or (error class name, message)."""
    try:
        conn = lib.connect(*args, **kwargs)
    except lib.Error as exc:
        return type(exc).__name__, str(exc)
    with conn:
        info = conn.info
        return "ok", info.dsn, info.get_parameters(), info.host, info.hostaddr, info.port


def assert_like_psycopg(*args: Any, **kwargs: Any) -> tuple[Any, ...]:
    theirs = outcome(psycopg, *args, **kwargs)
    assert outcome(bp, *args, **kwargs) == theirs
    return theirs


# -- local servers that are not PostgreSQL -------------------------------------------------


class Misbehaving(ThreadedServer):
    """A TCP server on 127.0.0.1 that, to each connection: "close" closes it at once,
    "read-close" reads the first packet then closes, "nonsense" answers the first packet
    with an HTTP error, "refuse-tls" refuses an SSLRequest and closes after the startup
    packet, "silent" accepts and never answers."""

    def __init__(self, behaviour: str):
        super().__init__()
        self.behaviour = behaviour
        self.held: list[socket.socket] = []

    def _serve(self, conn: socket.socket) -> None:
        if self.behaviour == "silent":
            self.held.append(conn)  # kept open, unanswered, until the server closes
            return
        with conn:
            if self.behaviour == "close":
                return
            first = conn.recv(1024)
            if self.behaviour == "nonsense":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            elif self.behaviour == "refuse-tls" and first[4:8] == b"\x04\xd2\x16\x2f":
                conn.sendall(b"N")
                conn.recv(1024)

    def close(self) -> None:
        super().close()
        for conn in self.held:
            conn.close()


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, int]]:
    running = {
        name: Misbehaving(name).start()
        for name in ("close", "read-close", "nonsense", "refuse-tls", "silent")
    }
    try:
        yield {name: server.port for name, server in running.items()}
    finally:
        for server in running.values():
            server.close()


@pytest.fixture(scope="module")
def socket_dir() -> Iterator[str]:
    """A directory with a Unix socket file nobody listens on (port 7001) and none for any
    other port."""
    with tempfile.TemporaryDirectory(prefix="balrog-sock-") as directory:
        bound = socket.socket(socket.AF_UNIX)
        bound.bind(os.path.join(directory, ".s.PGSQL.7001"))  # bound, not listening: refused
        try:
            yield directory
        finally:
            bound.close()


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


# -- failures before any server answers ----------------------------------------------------


NO_SERVER = [
    "host=127.0.0.1 port={closed}",
    "postgresql://someone@127.0.0.1:{closed}/somedb",
    "host=localhost port={closed}",
    "hostaddr=127.0.0.1 port={closed}",
    "host=localhost hostaddr=127.0.0.1 port={closed}",
    "host=127.0.0.1 hostaddr=127.0.0.1 port={closed} sslmode=disable",
    "host=127.0.0.1 port={closed} sslmode=require",
    "host={sockets} port=5999",
    "host={sockets} port=7001",
    "host={sockets} port=7001 sslmode=require",
    # Several hosts, all failing: psycopg lists every attempt under the last error.
    "host=127.0.0.1,127.0.0.1 port={closed},{closed2}",
    "host=127.0.0.1,{sockets} port={closed},7001",
    "host={sockets},127.0.0.1 port=5999,{closed}",
    "host={sockets},{sockets} port=5999,7001",
    "postgresql://127.0.0.1:{closed},127.0.0.1:{closed2}/db",
    "host=localhost,127.0.0.1 port={closed}",
    # libpq refuses these options per attempt: one line per host again.
    "host=127.0.0.1,{sockets} port={closed} sslmode=bogus",
    "host=127.0.0.1 port={closed} keepalives=x",
    "host=127.0.0.1 port={closed} keepalives_idle=1.5",
]


@pytest.mark.both_modes
@pytest.mark.parametrize("template", NO_SERVER)
def test_no_server_like_psycopg(template: str, socket_dir: str) -> None:
    conninfo = template.format(closed=free_port(), closed2=free_port(), sockets=socket_dir)
    result = assert_like_psycopg(conninfo, user="someone", dbname="somedb")
    assert result[0] != "ok"


@pytest.mark.both_modes
def test_refused_kwargs_like_psycopg() -> None:
    # A port given as an int shows as one in psycopg's list of attempts.
    assert_like_psycopg(host="127.0.0.1", port=free_port(), user="u")
    assert_like_psycopg(host="127.0.0.1,127.0.0.1", port=free_port(), user="u")
    assert_like_psycopg(host="localhost", port=free_port(), user="u", dbname="d")


@pytest.mark.both_modes
def test_refused_ipv6_like_psycopg() -> None:
    if not ipv6_loopback():
        pytest.skip("no IPv6 loopback")
    port = free_port("::1")
    assert_like_psycopg(f"host=::1 port={port} user=u")
    assert_like_psycopg(f"postgresql://u@[::1]:{port},127.0.0.1:{port}/d")


# -- servers that misbehave ----------------------------------------------------------------


@pytest.mark.both_modes
@pytest.mark.parametrize("sslmode", ["", "disable", "allow", "prefer", "require"])
@pytest.mark.parametrize("behaviour", ["close", "read-close", "nonsense", "refuse-tls"])
def test_misbehaving_server_like_psycopg(behaviour: str, sslmode: str, servers: dict[str, int]) -> None:
    conninfo = f"host=127.0.0.1 port={servers[behaviour]} user=u dbname=d"
    assert_like_psycopg(conninfo + (f" sslmode={sslmode}" if sslmode else ""))


@pytest.mark.both_modes
def test_silent_server_times_out_like_psycopg(servers: dict[str, int]) -> None:
    # connect_timeout=1 counts as 2 seconds (libpq's and psycopg's minimum).
    result = assert_like_psycopg(f"host=127.0.0.1 port={servers['silent']} user=u connect_timeout=1")
    assert result == ("ConnectionTimeout", "connection timeout expired")


def test_silent_server_among_others_like_psycopg(servers: dict[str, int]) -> None:
    silent, closed = servers["silent"], free_port()
    assert_like_psycopg(f"host=127.0.0.1,127.0.0.1 port={silent},{closed} user=u connect_timeout=2")
    assert_like_psycopg(f"host=127.0.0.1,127.0.0.1 port={closed},{silent} user=u connect_timeout=2")


# -- a real server that refuses --------------------------------------------------------------


REFUSED = [
    {"user": "scram_user", "password": "wrong"},
    {"user": "md5_user", "password": "wrong"},
    {"user": "scram_user"},  # no password supplied
    {"user": "scram_user", "password": "wrong", "sslmode": "allow"},  # then tried with TLS
    {"user": "scram_user", "password": "wrong", "sslmode": "disable"},
    {"user": "no_such_user"},
    {"user": "no_such_user", "sslmode": "allow"},
    {"user": "postgres", "dbname": "no_such_db"},
    {"user": "md5_user", "password": PASSWORD, "dbname": "closed_db"},  # with a DETAIL line
    {"user": "postgres", "dbname": "frozen_db"},
    {"user": "nologin_user"},
    {"user": "limited_user"},
    {"user": "rejected_user"},
    {"user": "rejected_user", "sslmode": "allow"},
    {"user": "postgres", "options": "-c no_such_setting=1"},
    {"user": "postgres", "options": "-c work_mem=lots"},
    {
        "user": "postgres",
        "application_name": "x",
        "options": "-c search_path=a -c default_transaction_isolation=z",
    },
]


@pytest.mark.both_modes
@pytest.mark.parametrize("params", REFUSED, ids=lambda p: " ".join(f"{k}={v}" for k, v in p.items()))
def test_server_refuses_like_psycopg(params: dict[str, str], cluster: PgCluster) -> None:
    params = {"dbname": "postgres", **params}
    result = assert_like_psycopg(host="127.0.0.1", port=cluster.port, **params)
    assert result[0] == "OperationalError"


@pytest.mark.both_modes
def test_server_refuses_over_unix_socket_like_psycopg(cluster: PgCluster) -> None:
    base = f"host={cluster.socket_dir} port={cluster.port} dbname=postgres"
    assert_like_psycopg(base + " user=scram_user password=wrong")
    assert_like_psycopg(base + " user=scram_user")
    assert_like_psycopg(base + " user=no_such_user")


@pytest.mark.both_modes
def test_several_hosts_refuse_like_psycopg(cluster: PgCluster, socket_dir: str) -> None:
    closed = free_port()
    assert_like_psycopg(f"host=127.0.0.1,127.0.0.1 port={closed},{cluster.port} user=scram_user password=x")
    assert_like_psycopg(f"host={socket_dir},127.0.0.1 port=7001,{cluster.port} user=postgres dbname=nope")
    assert_like_psycopg(
        f"postgresql://no_such_user@127.0.0.1:{cluster.port},{closed}/postgres?target_session_attrs=any"
    )


def test_password_from_the_password_file_like_psycopg(
    cluster: PgCluster, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # libpq names the file when the server refuses the password it took from there.
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:scram_user:wrong\n*:*:*:md5_user:{PASSWORD}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    base = f"host=127.0.0.1 port={cluster.port} dbname=postgres"
    assert_like_psycopg(base + " user=scram_user")
    assert_like_psycopg(base + " user=scram_user sslmode=allow")
    assert_like_psycopg(base + " user=scram_user password=also-wrong")  # given: not from the file
    assert assert_like_psycopg(base + " user=md5_user")[0] == "ok"


@pytest.mark.both_modes
def test_target_session_attrs_refused_like_psycopg(cluster: PgCluster) -> None:
    base = f"port={cluster.port} user=postgres"
    assert_like_psycopg(f"host=localhost {base} target_session_attrs=standby")
    assert_like_psycopg(f"host=127.0.0.1,{cluster.socket_dir} {base} target_session_attrs=read-only")
    assert assert_like_psycopg(f"host=127.0.0.1 {base} target_session_attrs=prefer-standby")[0] == "ok"


# -- conn.info.dsn -----------------------------------------------------------------------------


DSNS = [
    "host=127.0.0.1 port={port} user=postgres dbname=postgres",
    "host={sockets} port={port} user=postgres",
    "host={sockets} port={port} user=postgres dbname=''",
    "postgresql://postgres@127.0.0.1:{port}/postgres",
    "postgresql://postgres:secret@localhost:{port}/postgres?application_name=uri&connect_timeout=5",
    "postgresql://postgres@127.0.0.1:{closed},127.0.0.1:{port}/postgres",
    "host=localhost port={port} user=postgres",
    "hostaddr=127.0.0.1 port={port} user=postgres",
    "host=localhost hostaddr=127.0.0.1 port={port} user=postgres password=never-shown",
    "host=127.0.0.1 hostaddr=127.0.0.1 port={port} user=postgres",
    "host=127.0.0.1,127.0.0.1 port={closed},{port} user=postgres",
    "host=127.0.0.1,{sockets} port={closed},{port} user=postgres keepalives=x",
    "host=127.0.0.1 port={port} user=postgres application_name='' options=''",
    "host=127.0.0.1 port={port} user=postgres options='-c search_path=a,b -c work_mem=8MB'",
    "host=127.0.0.1 port={port} user=postgres sslmode=disable sslcertmode=disable",
    "host=127.0.0.1 port={port} user=postgres sslmode=allow",
    "host=127.0.0.1 port={port} user=postgres sslmode=prefer channel_binding=prefer gssencmode=disable",
    "host=127.0.0.1 port={port} user=postgres channel_binding=disable sslnegotiation=postgres",
    "host=127.0.0.1 port={port} user=postgres connect_timeout=10",
    "host=127.0.0.1 port={port} user=postgres connect_timeout=1.5",
    "host=127.0.0.1 port={port} user=postgres keepalives=1 keepalives_idle=30 keepalives_interval=5 "
    "keepalives_count=3 tcp_user_timeout=9000",
    "host=127.0.0.1 port={port} user=postgres client_encoding=latin1",
    "host=127.0.0.1 port={port} user=postgres fallback_application_name=fallback",
    "host=127.0.0.1 port={port} user=postgres target_session_attrs=read-write",
    "host=127.0.0.1 port={port} user=postgres target_session_attrs=prefer-standby",
    "host=127.0.0.1 port={port} user=postgres target_session_attrs=any load_balance_hosts=random",
    "host=127.0.0.1 port={port} user=postgres passfile=/nonexistent/pgpass",
    "host=127.0.0.1 port={port} user=postgres sslmode=prefer sslrootcert=/nonexistent/root.crt",
    "host=127.0.0.1 port={port} user=postgres port=5432 port={port} dbname=postgres dbname=template1",
]


@pytest.mark.both_modes
@pytest.mark.parametrize("template", DSNS)
def test_dsn_like_psycopg(template: str, cluster: PgCluster) -> None:
    conninfo = template.format(port=cluster.port, closed=free_port(), sockets=cluster.socket_dir)
    result = assert_like_psycopg(conninfo)
    assert result[0] == "ok"
    assert "password" not in result[1]


@pytest.mark.both_modes
def test_dsn_from_kwargs_like_psycopg(cluster: PgCluster) -> None:
    assert_like_psycopg(
        host="127.0.0.1", port=cluster.port, user="postgres", password="x", application_name="kw"
    )
    assert_like_psycopg("host=127.0.0.1 user=nobody", port=cluster.port, user="postgres", dbname="template1")
    assert_like_psycopg(hostaddr="127.0.0.1", host="localhost", port=str(cluster.port), user="postgres")
    assert_like_psycopg(host=cluster.socket_dir, port=cluster.port, user="postgres", options=None)


ENVIRONMENTS = [
    {"PGHOST": "127.0.0.1", "PGPORT": "{port}", "PGUSER": "postgres"},
    {"PGHOST": "{sockets}", "PGPORT": "{port}", "PGUSER": "postgres", "PGDATABASE": "template1"},
    {"PGHOSTADDR": "127.0.0.1", "PGPORT": "{port}", "PGUSER": "postgres", "PGAPPNAME": "from-env"},
    {"PGHOST": "localhost", "PGPORT": "{port}", "PGUSER": "postgres", "PGOPTIONS": "-c work_mem=8MB"},
    {"PGHOST": "127.0.0.1", "PGPORT": "{port}", "PGUSER": "postgres", "PGSSLMODE": "disable"},
    {"PGHOST": "127.0.0.1", "PGPORT": "{port}", "PGUSER": "postgres", "PGCONNECT_TIMEOUT": "7"},
    {"PGHOST": "127.0.0.1", "PGPORT": "{port}", "PGUSER": "postgres", "PGTARGETSESSIONATTRS": "read-write"},
    {"PGHOST": "127.0.0.1,127.0.0.1", "PGPORT": "{closed},{port}", "PGUSER": "postgres"},
]


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=lambda env: ",".join(env))
def test_dsn_from_environment_like_psycopg(
    environment: dict[str, str], cluster: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(
            name, value.format(port=cluster.port, closed=free_port(), sockets=cluster.socket_dir)
        )
    assert assert_like_psycopg("")[0] == "ok"
    assert assert_like_psycopg("dbname=postgres application_name=given")[0] == "ok"


def test_dsn_from_service_like_psycopg(
    cluster: PgCluster, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = tmp_path / "services.conf"
    services.write_text(f"[mine]\nhost=127.0.0.1\nport={cluster.port}\nuser=postgres\napplication_name=svc\n")
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    assert assert_like_psycopg("service=mine")[0] == "ok"
    assert assert_like_psycopg("service=mine application_name=given dbname=template1")[0] == "ok"


def test_dsn_of_a_closed_connection_like_psycopg(cluster: PgCluster) -> None:
    def closed_dsn(lib: Any) -> tuple[str, str]:
        conn = lib.connect(cluster.conninfo)
        conn.close()
        try:
            return "ok", conn.info.dsn
        except lib.Error as exc:
            return type(exc).__name__, str(exc)

    assert closed_dsn(bp) == closed_dsn(psycopg)
