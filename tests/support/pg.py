"""A throwaway PostgreSQL cluster: initdb + pg_ctl in a temp dir, on a free port.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system
user (created by Debian's postgresql package). Set BALROG_TEST_DSN to use an existing
server instead (nothing is started then, and tests that stop the server are skipped).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

from .net import free_port, wait_for_port

SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "300",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "128MB",
    "max_prepared_transactions": "10",
    "TimeZone": "UTC",
}


def _bindir() -> str:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "pg_ctl")):
            return candidate
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return os.path.dirname(os.path.realpath(pg_ctl))
    raise RuntimeError("PostgreSQL server binaries not found: run scripts/setup (apt-get install postgresql)")


@dataclass
class PgCluster:
    """One running cluster; `dsn`/`conninfo` reach it over TCP as a superuser."""

    host: str = "127.0.0.1"
    port: int = 0
    user: str = "postgres"
    dbname: str = "postgres"
    password: str = ""
    directory: str = ""
    external: bool = False
    _as_postgres: list[str] = field(default_factory=list)

    @property
    def socket_dir(self) -> str:
        return os.path.join(self.directory, "sock")

    @property
    def data_dir(self) -> str:
        return os.path.join(self.directory, "data")

    @property
    def conninfo(self) -> str:
        parts = f"host={self.host} port={self.port} user={self.user} dbname={self.dbname}"
        return parts + (f" password={self.password}" if self.password else "")

    @property
    def dsn(self) -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.dbname}"

    def connect_kwargs(self) -> dict[str, object]:
        kwargs: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": self.dbname,
        }
        if self.password:
            kwargs["password"] = self.password
        return kwargs

    # -- lifecycle -------------------------------------------------------------------------

    def _run(self, *argv: str) -> None:
        subprocess.run(
            [*self._as_postgres, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def _pg_ctl(self, *argv: str) -> None:
        self._run(os.path.join(_bindir(), "pg_ctl"), "-D", self.data_dir, *argv)

    def init(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="balrog-pg-")
        os.makedirs(self.socket_dir)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        self._run(
            os.path.join(_bindir(), "initdb"), "-D", self.data_dir, "-U", self.user,
            "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        self.port = free_port()

    def prepend_hba_rules(self, *rules: str) -> None:
        """Put ``rules`` (pg_hba.conf lines) before initdb's trust rules, which would
        otherwise match first; call between ``init()`` and ``start()``."""
        hba = os.path.join(self.data_dir, "pg_hba.conf")
        with open(hba) as f:
            existing = f.read()
        with open(hba, "w") as f:
            f.write("".join(f"{rule}\n" for rule in rules) + existing)

    def start(self) -> None:
        options = " ".join(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())
        options += f" -p {self.port} -k {self.socket_dir}"
        self._pg_ctl(
            "-o", options, "-l", os.path.join(self.directory, "server.log"), "-w", "-t", "60", "start"
        )
        wait_for_port(self.host, self.port)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; mode "immediate" kills it like a crash."""
        if not self.external:
            self._pg_ctl("-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.start()

    def destroy(self) -> None:
        if self.external:
            return
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.directory, ignore_errors=True)

    def server_log(self) -> str:
        try:
            with open(os.path.join(self.directory, "server.log"), encoding="utf-8", errors="replace") as log:
                return log.read()
        except OSError:
            return ""


def cluster_from_env() -> PgCluster | None:
    """The server BALROG_TEST_DSN points at, if set (a libpq URI)."""
    dsn = os.environ.get("BALROG_TEST_DSN")
    if not dsn:
        return None
    from urllib.parse import unquote, urlsplit

    url = urlsplit(dsn)
    return PgCluster(
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=unquote(url.username or "postgres"),
        password=unquote(url.password or ""),
        dbname=(url.path or "/postgres").lstrip("/") or "postgres",
        external=True,
    )


def start_cluster() -> PgCluster:
    """A new throwaway cluster, running."""
    cluster = PgCluster()
    cluster.init()
    cluster.start()
    return cluster
