"""``%s`` sends addresses, interfaces and networks in binary, as psycopg does."""

from __future__ import annotations

import ipaddress as ip
from typing import Any

import psycopg
import pytest
from psycopg.adapt import PyFormat as RefFormat

import balrog.psycopg as bp
from balrog.psycopg.adapt import PyFormat

# Documentation ranges only (RFC 5737, RFC 3849): parameters, never connected to.
VALUES: list[Any] = [
    ip.IPv4Address("192.0.2.3"),
    ip.IPv6Address("::1"),
    ip.IPv6Address("2001:db8::ff00:42:8329"),
    ip.IPv4Interface("192.0.2.3/24"),
    ip.IPv4Interface("198.51.100.4/32"),
    ip.IPv6Interface("2001:db8::1/64"),
    ip.IPv4Network("198.51.100.0/24"),
    ip.IPv6Network("2001:db8::/32"),
    [ip.IPv4Address("203.0.113.1"), None],
    [ip.IPv4Network("203.0.113.0/24")],
]


def _outcome(mod: Any, conninfo: str, value: Any) -> tuple[Any, ...]:
    with mod.connect(conninfo) as conn:
        row = conn.execute("select %s, pg_typeof(%s)::text, %s::text", (value, value, value)).fetchone()
        return tuple(row)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_as_psycopg(pg_cluster, value: Any) -> None:
    got = _outcome(bp, pg_cluster.conninfo, value)
    # Same value, type and text as psycopg (an interface of a whole /32 loads back as an
    # address, in both).
    assert got == _outcome(psycopg, pg_cluster.conninfo, value)


@pytest.mark.parametrize("cls", [type(v) for v in VALUES[:8]], ids=lambda c: c.__name__)
def test_auto_format_is_binary(cls: type) -> None:
    ours = bp.adapters.get_dumper(cls, PyFormat.AUTO)
    ref = psycopg.adapters.get_dumper(cls, RefFormat.AUTO)
    assert (int(ours.format), ours.oid) == (int(ref.format), ref.oid)
