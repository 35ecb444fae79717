"""``psycopg.capabilities``: which optional features this driver has.

psycopg answers from the libpq it loaded; balrog has no libpq, so the answers are about
balrog itself: every feature psycopg gates on a libpq version is available, except those
that need a libpq object balrog does not have (tracing, GSSAPI, password encryption).
"""

from __future__ import annotations

from .errors import NotSupportedError

__all__ = ["Capabilities", "capabilities"]

# feature → why it is missing ("" when it is available)
_MISSING = {
    "pq.PGconn.full_protocol_version()": "",
    "pq.PGconn.encrypt_password()": "balrog has no libpq connection object to encrypt passwords with",
    "Connection.info.hostaddr": "",
    "Connection.pipeline()": "",
    "PGconn.set_trace_flags()": "balrog has no libpq tracing",
    "PGconn.used_gssapi": "balrog does not support GSSAPI",
    "Connection.cancel_safe()": "",
    "Cursor.stream() with 'size' parameter greater than 1": "",
    "PGconn.send_close_prepared()": "",
}


class Capabilities:
    """Whether a feature is available; with ``check=True`` a missing one raises
    NotSupportedError saying why."""

    __module__ = "psycopg"

    def has_full_protocol_version(self, check: bool = False) -> bool:
        return self._has("pq.PGconn.full_protocol_version()", check)

    def has_encrypt_password(self, check: bool = False) -> bool:
        return self._has("pq.PGconn.encrypt_password()", check)

    def has_hostaddr(self, check: bool = False) -> bool:
        return self._has("Connection.info.hostaddr", check)

    def has_pipeline(self, check: bool = False) -> bool:
        return self._has("Connection.pipeline()", check)

    def has_set_trace_flags(self, check: bool = False) -> bool:
        return self._has("PGconn.set_trace_flags()", check)

    def has_used_gssapi(self, check: bool = False) -> bool:
        return self._has("PGconn.used_gssapi", check)

    def has_cancel_safe(self, check: bool = False) -> bool:
        return self._has("Connection.cancel_safe()", check)

    def has_stream_chunked(self, check: bool = False) -> bool:
        return self._has("Cursor.stream() with 'size' parameter greater than 1", check)

    def has_send_close_prepared(self, check: bool = False) -> bool:
        return self._has("PGconn.send_close_prepared()", check)

    def _has(self, feature: str, check: bool) -> bool:
        why = _MISSING[feature]
        if not why:
            return True
        if check:
            raise NotSupportedError(f"the feature '{feature}' is not available: {why}")
        return False


capabilities = Capabilities()
