"""Client encodings: PostgreSQL's names → Python codecs, and which ones balrog converts.

Inside balrog all text is UTF-8; in a session whose ``client_encoding`` is another, the
native layer converts text on the wire (``balrog-pg``'s ``transcode.rs``). What Python still
converts itself is COPY data, which psycopg hands over as the server sends it.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

__all__ = [
    "codec_for",
    "conninfo_encoding",
    "foreign_codec",
    "foreign_encoding",
    "is_sql_ascii",
    "pg2pyenc",
    "py2pgenc",
    "startup_encoding",
    "wire_codec",
]

# The names the server reports (its canonical ones) → the codec psycopg uses for each.
_CODECS = {
    "UTF8": "utf-8",
    "SQL_ASCII": "ascii",
    "LATIN1": "iso8859-1",
    "LATIN2": "iso8859-2",
    "LATIN3": "iso8859-3",
    "LATIN4": "iso8859-4",
    "LATIN5": "iso8859-9",
    "LATIN6": "iso8859-10",
    "LATIN7": "iso8859-13",
    "LATIN8": "iso8859-14",
    "LATIN9": "iso8859-15",
    "LATIN10": "iso8859-16",
    "ISO_8859_5": "iso8859-5",
    "ISO_8859_6": "iso8859-6",
    "ISO_8859_7": "iso8859-7",
    "ISO_8859_8": "iso8859-8",
    "WIN866": "cp866",
    "WIN874": "cp874",
    "WIN1250": "cp1250",
    "WIN1251": "cp1251",
    "WIN1252": "cp1252",
    "WIN1253": "cp1253",
    "WIN1254": "cp1254",
    "WIN1255": "cp1255",
    "WIN1256": "cp1256",
    "WIN1257": "cp1257",
    "WIN1258": "cp1258",
    "KOI8R": "koi8-r",
    "KOI8U": "koi8-u",
    "EUC_JP": "euc_jp",
    "EUC_CN": "gb2312",
    "EUC_KR": "euc_kr",
    "SJIS": "shift_jis",
    "UHC": "cp949",
    "GBK": "gbk",
    "GB18030": "gb18030",
    "BIG5": "big5",
}


# psycopg's names for the same table (code reaching into psycopg._encodings finds them):
# the codecs by server name, by folded server name (bytes), and the server names by codec.
_py_codecs = _CODECS
py_codecs = {name.replace("_", "").encode(): codec for name, codec in _CODECS.items()}
pg_codecs = {codec: name.encode() for name, codec in reversed(list(_CODECS.items()))}


def _folded(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", name).upper()


def py2pgenc(name: str) -> bytes:
    """The server's name of a Python codec (psycopg's helper); LookupError for a codec
    Python does not know, KeyError for one PostgreSQL has no encoding for."""
    return pg_codecs[codecs.lookup(name).name]


def pg2pyenc(name: bytes) -> str:
    """The Python codec of a server encoding name (psycopg's helper); NotSupportedError
    for those Python has no codec for."""
    return codec_for(name.decode("utf-8", "replace"))


def conninfo_encoding(conninfo: str) -> str:
    """The Python codec of the ``client_encoding`` a conninfo string asks for; UTF-8 when
    it names none, or one unknown (psycopg's helper)."""
    from .conninfo import conninfo_to_dict

    requested = conninfo_to_dict(conninfo).get("client_encoding")
    if requested:
        try:
            return codec_for(str(requested))
        except Exception:
            pass
    return "utf-8"


def codec_for(pg_name: str | None) -> str:
    """The Python codec of a client encoding the server reported; NotSupportedError for
    those balrog has none for (EUC_TW, MULE_INTERNAL...), as psycopg."""
    if not pg_name:
        return "utf-8"
    codec = _CODECS.get(pg_name.upper())
    if codec is None:
        folded = _folded(pg_name)
        codec = next((c for n, c in _CODECS.items() if _folded(n) == folded), None)
    if codec is None:
        from .errors import NotSupportedError

        raise NotSupportedError(f"codec not available in Python: {pg_name!r}")
    return codec


def _client_encoding(connection: Any) -> str | None:
    """The client encoding the server reported for ``connection`` (None without a
    connection, or before the server said)."""
    native = getattr(connection, "_native", None)
    if native is None:
        return None
    try:
        return native.parameter_status("client_encoding")  # type: ignore[no-any-return]
    except Exception:
        return None


def wire_codec(connection: Any) -> str:
    """The codec a binary dumper whose binary form holds text (enum labels, hstore
    strings) encodes with, as psycopg's do: the client encoding's ("utf-8" without a
    connection, and for SQL_ASCII, whose server takes bytes as they come)."""
    try:
        codec = codec_for(_client_encoding(connection))
    except Exception:
        return "utf-8"
    return "utf-8" if codec == "ascii" else codec


def is_sql_ascii(connection: Any) -> bool:
    """The session is in SQL_ASCII: text is returned as bytes (the server converts
    nothing, so they may be in any encoding), as psycopg does."""
    return _client_encoding(connection) == "SQL_ASCII"


def foreign_encoding(connection: Any) -> str | None:
    """The session's client encoding when text in binary values of user-defined types
    arrives in it unconverted (anything but UTF8 and SQL_ASCII), else None."""
    name = _client_encoding(connection)
    return None if not name or name in ("UTF8", "SQL_ASCII") else name


def foreign_codec(connection: Any) -> str | None:
    """The Python codec of ``connection``'s client encoding when balrog converts text on
    the wire for it (see `foreign_encoding`), else None: what psycopg encodes query text
    and ``sql`` objects with, so where its UnicodeEncodeError comes from."""
    name = foreign_encoding(connection)
    return None if name is None else codec_for(name)


def startup_encoding(requested: str | None) -> str:
    """What to send as ``client_encoding`` at startup for the one asked for. libpq's
    ``auto`` would follow the locale; balrog asks for UTF-8, its own encoding. Any other
    name goes to the server as given: it knows the aliases (latin-1, iso_8859_1...) and
    refuses the names it does not know."""
    if not requested or _folded(requested) in ("AUTO", "UTF8", "UNICODE"):
        return "UTF8"
    return requested
