"""TLS (rustls) with libpq's sslmode semantics, differential against psycopg (libpq/OpenSSL).

A private cluster runs with ``ssl=on`` and a server certificate issued by a trustme CA for
127.0.0.1 and localhost; its pg_hba.conf also has a ``cert``-authenticated user. Every case
runs through psycopg and balrog on the same server, and ``pg_stat_ssl`` tells whether the
session is really encrypted.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import trustme

import balrog.psycopg as bp
from support.pg import PgCluster

pytestmark = pytest.mark.both_modes

_CERT_USER = "certuser"
_SCRAM_USER = "scramuser"
_SCRAM_PASSWORD = "scram secret"


class TlsServer:
    def __init__(self, cluster: PgCluster, ca_file: str, other_ca_file: str, client: tuple[str, str]):
        self.cluster = cluster
        self.ca_file = ca_file
        self.other_ca_file = other_ca_file
        self.client_cert, self.client_key = client

    def conninfo(self, **extra: str) -> str:
        base = f"host=127.0.0.1 port={self.cluster.port} user=postgres dbname=postgres"
        return " ".join([base, *(f"{k}={v}" for k, v in extra.items())])


def _write(path: str, data: bytes, mode: int, owner: str | None) -> str:
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    if owner:
        shutil.chown(path, owner, owner)
    return path


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    if os.environ.get("BALROG_TEST_DSN"):
        pytest.skip("needs a cluster of its own (BALROG_TEST_DSN points at a shared server)")
    ca = trustme.CA()
    other_ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert(_CERT_USER, common_name=_CERT_USER)  # cert auth matches the CN
    cluster = PgCluster()
    cluster.init()
    owner = "postgres" if os.geteuid() == 0 else None
    server_dir = cluster.directory
    # The server checks that its key is private to it (0600, owned by the server's user).
    crt = _write(os.path.join(server_dir, "server.crt"), server_cert.cert_chain_pems[0].bytes(), 0o644, owner)
    key = _write(os.path.join(server_dir, "server.key"), server_cert.private_key_pem.bytes(), 0o600, owner)
    ca_for_server = _write(os.path.join(server_dir, "ca.crt"), ca.cert_pem.bytes(), 0o644, owner)
    with open(os.path.join(cluster.data_dir, "postgresql.conf"), "a") as conf:
        conf.write(f"\nssl = on\nssl_cert_file = '{crt}'\nssl_key_file = '{key}'\n")
        conf.write(f"ssl_ca_file = '{ca_for_server}'\n")
    cluster.prepend_hba_rules(
        f"hostssl all {_CERT_USER} 127.0.0.1/32 cert",
        f"host all {_CERT_USER} 127.0.0.1/32 reject",
        # SCRAM over TLS and over plain TCP (channel binding needs TLS).
        f"host all {_SCRAM_USER} 127.0.0.1/32 scram-sha-256",
    )
    cluster.start()
    client_dir = tmp_path_factory.mktemp("tls-client")
    ca_file = str(client_dir / "ca.crt")
    ca.cert_pem.write_to_path(ca_file)
    other_ca_file = str(client_dir / "other-ca.crt")
    other_ca.cert_pem.write_to_path(other_ca_file)
    client_crt = str(client_dir / "client.crt")
    client_cert.cert_chain_pems[0].write_to_path(client_crt)
    client_key = _write(str(client_dir / "client.key"), client_cert.private_key_pem.bytes(), 0o600, None)
    try:
        with psycopg.connect(cluster.conninfo, autocommit=True, sslmode="disable") as admin:
            admin.execute(f"create role {_CERT_USER} login")
            admin.execute(f"create role {_SCRAM_USER} login password '{_SCRAM_PASSWORD}'")
        yield TlsServer(cluster, ca_file, other_ca_file, (client_crt, client_key))
    finally:
        cluster.destroy()


def _encrypted(conn: Any) -> bool:
    row = conn.execute("select ssl from pg_stat_ssl where pid = pg_backend_pid()").fetchone()
    return bool(row[0])


def _result(module: Any, conninfo: str) -> tuple[str, bool | None, str | None]:
    """("ok", encrypted, None) or (error class name, None, message)."""
    try:
        conn = module.connect(conninfo)
    except module.Error as ex:
        return type(ex).__name__, None, str(ex)
    with conn:
        encrypted = _encrypted(conn)
        assert conn.pgconn.ssl_in_use == encrypted
        return "ok", encrypted, None


def _outcome(module: Any, conninfo: str) -> tuple[str, bool | None]:
    """("ok", encrypted) or (error class name, None)."""
    return _result(module, conninfo)[:2]


def _same(conninfo: str) -> tuple[str, bool | None]:
    """The outcome through psycopg, after checking that balrog's is the same (an error's
    message too: libpq's words)."""
    expected = _result(psycopg, conninfo)
    assert _result(bp, conninfo) == expected
    return expected[:2]


def test_require(tls_server):
    assert _same(tls_server.conninfo(sslmode="require")) == ("ok", True)


def test_prefer_uses_tls_when_offered(tls_server):
    assert _same(tls_server.conninfo(sslmode="prefer")) == ("ok", True)
    assert _same(tls_server.conninfo()) == ("ok", True)  # prefer is the default


def test_disable_and_allow_stay_plain(tls_server):
    assert _same(tls_server.conninfo(sslmode="disable")) == ("ok", False)
    assert _same(tls_server.conninfo(sslmode="allow")) == ("ok", False)


def test_verify_full_with_ca(tls_server):
    assert _same(tls_server.conninfo(sslmode="verify-full", sslrootcert=tls_server.ca_file)) == ("ok", True)
    info = tls_server.conninfo(sslmode="verify-full", sslrootcert=tls_server.ca_file).replace(
        "host=127.0.0.1", "host=localhost"
    )
    assert _same(info) == ("ok", True)


def test_verify_ca_with_ca(tls_server):
    assert _same(tls_server.conninfo(sslmode="verify-ca", sslrootcert=tls_server.ca_file)) == ("ok", True)


def test_wrong_ca_is_refused(tls_server):
    for mode in ("verify-ca", "verify-full", "require"):
        # require with a root certificate file verifies the chain (libpq).
        info = tls_server.conninfo(sslmode=mode, sslrootcert=tls_server.other_ca_file)
        assert _same(info) == ("OperationalError", None)
    with pytest.raises(bp.OperationalError, match="certificate"):
        bp.connect(tls_server.conninfo(sslmode="verify-full", sslrootcert=tls_server.other_ca_file))


def test_host_name_mismatch(tls_server):
    # The certificate names 127.0.0.1 and localhost; hostaddr reaches the server while the
    # name checked is `host`.
    info = tls_server.conninfo(sslrootcert=tls_server.ca_file, hostaddr="127.0.0.1").replace(
        "host=127.0.0.1", "host=db.invalid"
    )
    assert _same(info + " sslmode=verify-full") == ("OperationalError", None)
    assert _same(info + " sslmode=verify-ca") == ("ok", True)


def test_missing_root_file(tls_server, tmp_path):
    missing = str(tmp_path / "nope.crt")
    info = tls_server.conninfo(sslmode="verify-full", sslrootcert=missing)
    assert _same(info) == ("OperationalError", None)


def test_sslrootcert_system_needs_verify_full(tls_server):
    info = tls_server.conninfo(sslmode="require", sslrootcert="system")
    assert _same(info) == ("OperationalError", None)
    with pytest.raises(bp.OperationalError, match="weak sslmode"):
        bp.connect(info)
    # The system store does not know the test CA.
    assert _same(tls_server.conninfo(sslrootcert="system")) == ("OperationalError", None)


def test_client_certificate(tls_server):
    with_cert = tls_server.conninfo(
        sslmode="require", sslcert=tls_server.client_cert, sslkey=tls_server.client_key
    ).replace("user=postgres", f"user={_CERT_USER}")
    assert _same(with_cert) == ("ok", True)
    without = tls_server.conninfo(sslmode="require").replace("user=postgres", f"user={_CERT_USER}")
    assert _same(without) == ("OperationalError", None)


def test_queries_over_tls(tls_server):
    """Big results, executemany and COPY through the TLS stream."""
    info = tls_server.conninfo(sslmode="verify-full", sslrootcert=tls_server.ca_file)
    with bp.connect(info) as conn:
        rows = conn.execute("select i, repeat('x', 100) from generate_series(1, 20000) i").fetchall()
        assert len(rows) == 20000 and rows[-1][0] == 20000
        conn.execute("create temp table t (a int, b text)")
        cur = conn.cursor()
        cur.executemany("insert into t values (%s, %s)", [(i, "y" * 50) for i in range(5000)])
        assert conn.execute("select count(*) from t").fetchone() == (5000,)
        chunks = []
        with cur.copy("copy t to stdout") as copy:
            while chunk := copy.read():
                chunks.append(bytes(chunk))
        data = b"".join(chunks)
        assert data.count(b"\n") == 5000


def test_require_against_plain_server(pg_cluster):
    info = pg_cluster.conninfo
    assert _same(info + " sslmode=require") == ("OperationalError", None)
    with pytest.raises(bp.OperationalError, match="server does not support SSL, but SSL was required"):
        bp.connect(info + " sslmode=require")


def test_prefer_against_plain_server(pg_cluster):
    assert _same(pg_cluster.conninfo + " sslmode=prefer") == ("ok", False)
    assert _same(pg_cluster.conninfo + " sslmode=allow") == ("ok", False)


def test_cancel_over_tls(tls_server):
    """Cancel requests go on their own (plain) connection, as libpq's PQcancel."""
    import threading

    conn = bp.connect(tls_server.conninfo(sslmode="require"), autocommit=True)
    canceller = threading.Timer(0.3, conn.cancel)
    canceller.start()
    try:
        with pytest.raises(bp.errors.QueryCanceled):
            conn.execute("select pg_sleep(30)")
    finally:
        canceller.join()
    assert conn.execute("select 1").fetchone() == (1,)
    conn.close()


@pytest.fixture(scope="module")
def self_signed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    """PostgreSQL's documented set-up: a self-signed server certificate (CA:TRUE, as
    `openssl req -new -x509` makes it) that clients use as their root certificate."""
    if os.environ.get("BALROG_TEST_DSN"):
        pytest.skip("needs a cluster of its own (BALROG_TEST_DSN points at a shared server)")
    from support.certs import self_signed

    cert_pem, key_pem = self_signed("localhost", "127.0.0.1")
    cluster = PgCluster()
    cluster.init()
    owner = "postgres" if os.geteuid() == 0 else None
    crt = _write(os.path.join(cluster.directory, "server.crt"), cert_pem, 0o644, owner)
    key = _write(os.path.join(cluster.directory, "server.key"), key_pem, 0o600, owner)
    with open(os.path.join(cluster.data_dir, "postgresql.conf"), "a") as conf:
        conf.write(f"\nssl = on\nssl_cert_file = '{crt}'\nssl_key_file = '{key}'\n")
    cluster.start()
    root = str(tmp_path_factory.mktemp("self-signed") / "root.crt")
    _write(root, cert_pem, 0o644, None)
    try:
        # The client certificate fields are unused here.
        yield TlsServer(cluster, root, root, ("", ""))
    finally:
        cluster.destroy()


def test_self_signed_server_certificate_as_root(self_signed_server):
    # libpq (OpenSSL) accepts a server certificate that is itself the trusted root; webpki
    # alone refuses it as a CA used as an end entity (balrog_tls::TrustedCertificates).
    root = self_signed_server.ca_file
    for mode in ("verify-full", "verify-ca", "require"):
        assert _same(self_signed_server.conninfo(sslmode=mode, sslrootcert=root)) == ("ok", True)
    by_name = self_signed_server.conninfo(sslmode="verify-full", sslrootcert=root)
    assert _same(by_name.replace("host=127.0.0.1", "host=localhost")) == ("ok", True)
    # The name is still checked in verify-full, not in verify-ca.
    other_name = self_signed_server.conninfo(sslrootcert=root, hostaddr="127.0.0.1").replace(
        "host=127.0.0.1", "host=db.invalid"
    )
    assert _same(other_name + " sslmode=verify-full") == ("OperationalError", None)
    assert _same(other_name + " sslmode=verify-ca") == ("ok", True)


def test_self_signed_server_refused_with_another_root(self_signed_server, tls_server):
    # A root file that does not hold the server's own certificate: refused by both.
    info = self_signed_server.conninfo(sslmode="verify-full", sslrootcert=tls_server.ca_file)
    assert _same(info) == ("OperationalError", None)


_BINDING_CASES = [
    ("require", "channel_binding=require"),
    ("require", "channel_binding=prefer"),
    ("require", "channel_binding=disable"),
    ("require", "channel_binding=require require_auth=scram-sha-256"),
    ("verify-full", "channel_binding=require"),
    ("disable", "channel_binding=require"),
    ("disable", "channel_binding=prefer"),
]


@pytest.mark.parametrize(("sslmode", "extra"), _BINDING_CASES)
def test_scram_channel_binding_like_psycopg(tls_server: TlsServer, sslmode: str, extra: str) -> None:
    # SCRAM-SHA-256-PLUS with tls-server-end-point over TLS: the server checks the binding
    # data (a wrong certificate hash fails authentication), so "require" connecting at
    # all shows the exchange was bound to this TLS connection.
    conninfo = (
        f"{tls_server.cluster.conninfo} user={_SCRAM_USER} password='{_SCRAM_PASSWORD}' "
        f"sslmode={sslmode} sslrootcert={tls_server.ca_file} {extra}"
    )
    theirs = _outcome(psycopg, conninfo)
    assert _outcome(bp, conninfo) == theirs
    if sslmode != "disable" and "require" in extra:
        assert theirs == ("ok", True)
