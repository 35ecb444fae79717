"""Identifier quoting for the statements the driver writes itself (savepoints, cursors)."""

from __future__ import annotations

__all__ = ["quote_identifier"]


def quote_identifier(name: str) -> bytes:
    """``name`` as a double-quoted SQL identifier."""
    if "\x00" in name:
        from . import errors as e

        raise e.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    return b'"' + name.replace('"', '""').encode() + b'"'
