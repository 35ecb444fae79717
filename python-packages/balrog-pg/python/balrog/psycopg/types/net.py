"""inet/cidr ↔ ipaddress objects."""

from __future__ import annotations

import ipaddress
from typing import Any

from ..adapt import Dumper
from ._native import NativeBinaryLoader, NativeLoader

__all__ = ["CidrLoader", "InetDumper", "InetLoader", "NetworkDumper"]


class InetDumper(Dumper):
    oid = 869

    def dump(self, obj: Any) -> bytes:
        return str(obj).encode()


class NetworkDumper(Dumper):
    oid = 650

    def dump(self, obj: Any) -> bytes:
        return str(obj).encode()


class InetLoader(NativeLoader):
    _balrog_dec = 869


class CidrLoader(NativeLoader):
    _balrog_dec = 650


class InetBinaryLoader(NativeBinaryLoader):
    _balrog_dec = 869


class CidrBinaryLoader(NativeBinaryLoader):
    _balrog_dec = 650


def register_default_adapters(context: Any) -> None:
    adapters = context.adapters
    for cls in (
        ipaddress.IPv4Address,
        ipaddress.IPv6Address,
        ipaddress.IPv4Interface,
        ipaddress.IPv6Interface,
    ):
        adapters.register_dumper(cls, InetDumper)
    for cls in (ipaddress.IPv4Network, ipaddress.IPv6Network):
        adapters.register_dumper(cls, NetworkDumper)
    adapters.register_loader(869, InetLoader)
    adapters.register_loader(650, CidrLoader)
    adapters.register_loader(869, InetBinaryLoader)
    adapters.register_loader(650, CidrBinaryLoader)


# psycopg keeps the binary dumpers next to the text ones; balrog's live in ``_binary`` (one
# module for every %b dumper), found here on first use.
_BINARY_DUMPERS = frozenset({"InetBinaryDumper", "NetworkBinaryDumper"})


def __getattr__(name: str) -> object:
    if name in _BINARY_DUMPERS:
        from . import _binary

        return getattr(_binary, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
