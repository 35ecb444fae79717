"""inet/cidr ↔ ipaddress objects."""

from __future__ import annotations

import ipaddress
from typing import Any

from ..adapt import Dumper
from ._native import NativeLoader

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
