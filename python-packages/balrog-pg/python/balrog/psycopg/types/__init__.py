"""PostgreSQL types: information about them and their adaptation modules."""

from __future__ import annotations

from .._typeinfo import TypeInfo, TypesRegistry

__all__ = ["TypeInfo", "TypesRegistry"]
