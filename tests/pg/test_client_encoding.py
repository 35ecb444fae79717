"""Client encodings other than UTF-8, side by side with psycopg.

The cluster's database is UTF8; a session in another client encoding gets every text
converted by the server, and balrog converts it back (and its own text out) on the wire.
Each scenario runs through psycopg and balrog.psycopg and must give the same values,
exceptions and messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp
from balrog.psycopg.types.json import Jsonb

pytestmark = pytest.mark.both_modes

# (client encoding, text it can represent, a character it cannot)
ENCODINGS = [
    ("LATIN1", "café ñandú ß", "€"),
    ("latin9", "10 € à l'œil", "☃"),
    ("WIN1252", "“quoted” – € …", "☃"),
    ("WIN1251", "Привет, мир", "é"),
    ("KOI8R", "съешь же ещё", "é"),
    ("ISO_8859_7", "Καλημέρα", "é"),
    ("EUC_JP", "日本語のテキスト", "€"),
    ("SJIS", "日本語のテキスト", "€"),
    ("EUC_KR", "한국어 텍스트", "€"),
    ("GBK", "中文文本", "😀"),
    ("BIG5", "繁體中文", "€"),
    ("GB18030", "中文 € ☃ 😀", None),
]


def observe(f: Callable[[], Any]) -> Any:
    try:
        return ("ok", f())
    except Exception as ex:
        return ("error", type(ex).__name__, str(ex))


def session(lib: Any, dsn: str, encoding: str, text: str, foreign: str | None) -> list[Any]:
    """Everything that carries text, in one session of ``lib`` in ``encoding``."""
    client_cursor = psycopg.ClientCursor if lib is psycopg else bp.ClientCursor
    out: list[Any] = []
    notices: list[str] = []
    with lib.connect(dsn, autocommit=True, client_encoding=encoding) as conn:
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary))
        out.append(conn.info.encoding)
        out.append(observe(lambda: conn.execute("show client_encoding").fetchone()))
        # Literals in the query, parameters in every format, and the server's view of them.
        out.append(observe(lambda: conn.execute(f"select '{text}', length('{text}')").fetchone()))
        out.append(
            observe(
                lambda: conn.execute(
                    "select %s, %t, %b, length(%s), %s::text[]",
                    [text, text, text, text, [text, None, "a"]],
                ).fetchone()
            )
        )
        out.append(observe(lambda: conn.execute("select %s", [text], prepare=True).fetchone()))
        out.append(observe(lambda: client_cursor(conn).execute("select %s, %s", [text, 1]).fetchone()))
        out.append(observe(lambda: client_cursor(conn).mogrify("select %s", [text])))
        # Names and messages that come from the server.
        out.append(observe(lambda: [c.name for c in conn.execute(f'select 1 as "{text}"').description]))
        out.append(observe(lambda: conn.execute(f'select * from "{text}"').fetchall()))
        out.append(
            observe(lambda: conn.execute(f"do $$begin raise notice '%', '{text}'; end$$").statusmessage)
        )
        out.append(notices)
        # A character the encoding lacks: refused by the client (UnicodeEncodeError) when
        # it is sent, by the server (UntranslatableCharacter) when it is returned.
        if foreign is not None:
            for fmt in ("%s", "%t", "%b"):
                out.append(observe(lambda fmt=fmt: conn.execute(f"select {fmt}", [foreign]).fetchall()))
            out.append(observe(lambda: conn.execute(f"select '{foreign}'").fetchall()))
            out.append(observe(lambda: conn.execute("select chr(%s)", [ord(foreign)]).fetchall()))
            out.append(observe(lambda: conn.execute("select 1").fetchone()))
        # executemany, a named cursor, a pipeline, and COPY both ways.
        conn.execute("create temporary table t (id int, v text)")
        cur = conn.cursor()
        cur.executemany("insert into t values (%s, %s)", [(1, text), (2, text[::-1])])
        out.append(cur.rowcount)
        with conn.transaction(), conn.cursor(name="named") as named:
            named.execute("select v from t order by id")
            out.append(observe(named.fetchall))
        with conn.pipeline():
            first = conn.execute("select %s || 'x'", [text])
            second = conn.execute("select upper(%s)", [text])
        out.append(observe(lambda: (first.fetchone(), second.fetchone())))
        with cur.copy("copy t (id, v) from stdin") as copy:
            copy.write_row((3, text))
            copy.write(f"4\t{text}\n")
        out.append(observe(lambda: conn.execute("select id, v from t where id > 2 order by id").fetchall()))
        with cur.copy("copy (select id, v from t order by id) to stdout") as copy:
            out.append(b"".join(bytes(chunk) for chunk in copy))
        with cur.copy("copy (select id, v from t order by id) to stdout") as copy:
            copy.set_types(["int4", "text"])
            out.append(list(copy.rows()))
        with cur.copy("copy (select id, v from t order by id) to stdout (format binary)") as copy:
            copy.set_types(["int4", "text"])
            out.append(list(copy.rows()))
        # Notifications: channel and payload.
        conn.execute(f'listen "{text}"')
        conn.execute("select pg_notify(%s, %s)", [text, text[::-1]])
        out.append([(n.channel, n.payload) for n in conn.notifies(timeout=5, stop_after=1)])
        # Back to UTF-8 in SQL: the session goes on in the new encoding.
        conn.execute("set client_encoding to 'UTF8'")
        out.append(conn.info.encoding)
        out.append(observe(lambda: conn.execute("select %s, '😀'", [text]).fetchone()))
    return out


@pytest.mark.parametrize(("encoding", "text", "foreign"), ENCODINGS, ids=[e[0] for e in ENCODINGS])
def test_session_in_a_client_encoding(pg_cluster, encoding: str, text: str, foreign: str | None) -> None:
    expected = session(psycopg, pg_cluster.dsn, encoding, text, foreign)
    got = session(bp, pg_cluster.dsn, encoding, text, foreign)
    assert got == expected


def test_sjis_second_bytes_that_look_like_a_backslash(pg_cluster) -> None:
    # "ソ" is 0x83 0x5C in Shift-JIS: its second byte is an ASCII backslash. psycopg escapes
    # COPY rows after encoding them and so corrupts it ("bad copy data"); balrog formats
    # rows in UTF-8 and converts them whole.
    text = "ソース表示\\"
    with bp.connect(pg_cluster.dsn, autocommit=True, client_encoding="SJIS") as conn:
        assert conn.execute("select %s, length(%s)", [text, text]).fetchone() == (text, 6)
        conn.execute("create temporary table t (v text)")
        cur = conn.cursor()
        with cur.copy("copy t from stdin") as copy:
            copy.write_row((text,))
        with cur.copy("copy t to stdout") as copy:
            copy.set_types(["text"])
            assert list(copy.rows()) == [(text,)]
        assert conn.execute("select v from t").fetchall() == [(text,)]


def test_binary_parameters_holding_text(pg_cluster) -> None:
    # Binary text arrays, enums and hstore carry text inside: in the client encoding.
    import enum

    class Mood(enum.Enum):
        happy = "happy"
        señor = "señor"

    def run(lib: Any) -> list[Any]:
        import importlib

        base = "psycopg" if lib is psycopg else "balrog.psycopg"
        enum_types = importlib.import_module(f"{base}.types.enum")
        hstore_types = importlib.import_module(f"{base}.types.hstore")
        type_info = importlib.import_module(f"{base}.types").TypeInfo
        with lib.connect(pg_cluster.dsn, autocommit=True, client_encoding="LATIN1") as conn:
            conn.execute("drop type if exists mood_enc; create type mood_enc as enum ('happy', 'señor')")
            conn.execute("create extension if not exists hstore")
            enum_types.register_enum(enum_types.EnumInfo.fetch(conn, "mood_enc"), conn, Mood)
            hstore_types.register_hstore(type_info.fetch(conn, "hstore"), conn)
            out = []
            for fmt in ("%s", "%t", "%b"):
                out.append(
                    observe(
                        lambda fmt=fmt: conn.execute(f"select {fmt}::text[]", [["é", None, "ñ"]]).fetchone()
                    )
                )
                out.append(
                    observe(
                        lambda fmt=fmt: conn.execute(
                            f"select {fmt}, {fmt}::text", [Mood.señor, Mood.señor]
                        ).fetchone()
                    )
                )
                out.append(
                    observe(
                        lambda fmt=fmt: conn.execute(
                            f"select {fmt}::hstore", [{"clé": "valé", "k": None}]
                        ).fetchone()
                    )
                )
            return out

    assert run(bp) == run(psycopg)


def test_json_in_a_client_encoding(pg_cluster) -> None:
    # psycopg decodes json results as UTF-8 whatever the client encoding (a UnicodeDecodeError
    # for non-ASCII text in LATIN1); balrog converts them like every other text.
    with bp.connect(pg_cluster.dsn, autocommit=True, client_encoding="LATIN1") as conn:
        value = {"café": ["ñandú", 1]}
        assert conn.execute("select %s::jsonb, %s::json", [Jsonb(value), Jsonb(value)]).fetchone() == (
            value,
            value,
        )
        assert conn.execute("""select '{"café": "ñ"}'::jsonb""").fetchone() == ({"café": "ñ"},)


def test_set_client_encoding_midway(pg_cluster) -> None:
    def run(lib: Any) -> list[Any]:
        with lib.connect(pg_cluster.dsn, autocommit=True) as conn:
            out = [conn.execute("select %s", ["€"]).fetchone()]
            conn.execute("set client_encoding to latin1")
            out.append(conn.info.encoding)
            out.append(observe(lambda: conn.execute("select %s", ["€"])))
            out.append(conn.execute("select %s, 'ÿ'", ["é"]).fetchone())
            conn.execute("reset client_encoding")
            out.append(conn.execute("select %s", ["€"]).fetchone())
            return out

    assert run(bp) == run(psycopg)


def test_client_encoding_from_the_environment(pg_cluster, monkeypatch) -> None:
    monkeypatch.setenv("PGCLIENTENCODING", "LATIN2")
    with bp.connect(pg_cluster.dsn) as conn:
        assert conn.info.encoding == "iso8859-2"
        assert conn.execute("select %s", ["łódź"]).fetchone() == ("łódź",)


def test_encoding_aliases_are_left_to_the_server(pg_cluster) -> None:
    for alias in ("iso-8859-1", "Latin_1", "win1252"):
        with (
            bp.connect(pg_cluster.dsn, client_encoding=alias) as conn,
            psycopg.connect(pg_cluster.dsn, client_encoding=alias) as ref,
        ):
            assert conn.info.encoding == ref.info.encoding
            assert (
                conn.execute("show client_encoding").fetchone()
                == ref.execute("show client_encoding").fetchone()
            )


def test_unknown_encoding_name_is_the_servers_error(pg_cluster) -> None:
    with pytest.raises(psycopg.OperationalError) as ref:
        psycopg.connect(pg_cluster.dsn, client_encoding="klingon")
    with pytest.raises(bp.OperationalError) as got:
        bp.connect(pg_cluster.dsn, client_encoding="klingon")
    assert "klingon" in str(got.value) and "klingon" in str(ref.value)


def test_encodings_without_a_codec(pg_cluster) -> None:
    # As psycopg: the session may switch to an encoding Python has no codec for, and every
    # query after that fails with NotSupportedError.
    def run(lib: Any, how: str) -> list[Any]:
        conn = lib.connect(
            pg_cluster.dsn, autocommit=True, **({"client_encoding": "EUC_TW"} if how == "connect" else {})
        )
        try:
            if how == "set":
                conn.execute("set client_encoding to 'EUC_TW'")
            return [
                observe(lambda: conn.info.encoding),
                observe(lambda: conn.execute("select 'x'").fetchone()),
                observe(lambda: conn.execute("select %s", ["x"]).fetchone()),
            ]
        finally:
            conn.close()

    for how in ("connect", "set"):
        assert run(bp, how) == run(psycopg, how)


@pytest.mark.parametrize(("encoding", "text", "foreign"), ENCODINGS, ids=[e[0] for e in ENCODINGS])
def test_sql_objects_and_mogrify_in_a_client_encoding(
    pg_cluster, encoding: str, text: str, foreign: str | None
) -> None:
    # As psycopg: `as_bytes()` gives the client encoding's bytes, `as_string()` and
    # mogrify() raise UnicodeEncodeError for what it cannot hold; queries composed of them
    # still reach the server right. Errors compared by class (psycopg encodes value by
    # value, so the position in its message differs).
    def run(lib: Any) -> list[Any]:
        sql = lib.sql
        client_cursor = lib.ClientCursor
        out: list[Any] = []
        with lib.connect(pg_cluster.dsn, autocommit=True, client_encoding=encoding) as conn:
            for value in (text, *([foreign] if foreign else [])):
                objects = [
                    sql.SQL(value),
                    sql.Identifier("s", value),
                    sql.Literal(value),
                    sql.Literal(b"\xff"),
                    sql.Placeholder(value),
                    sql.SQL("select {}, {}").format(sql.Literal(value), sql.Identifier(value)),
                ]
                for obj in objects:
                    for how in ("as_bytes", "as_string"):
                        outcome = observe(lambda obj=obj, how=how: getattr(obj, how)(conn))
                        out.append(outcome[:2])
                out.append(observe(lambda v=value: client_cursor(conn).mogrify("select %s", [v]))[:2])
                out.append(observe(lambda v=value: client_cursor(conn).mogrify(f"select '{v}'"))[:2])
                query = sql.SQL("select {} as {}").format(sql.Literal(value), sql.Identifier(value))
                out.append(observe(lambda q=query: conn.execute(q).fetchone())[:2])
        return out

    assert run(bp) == run(psycopg)


def test_sql_ascii_returns_text_as_bytes(pg_cluster) -> None:
    # SQL_ASCII asks the server for no conversion: text comes back as the bytes stored, and
    # psycopg returns it as bytes (rows, arrays, COPY); other types load as usual.
    def run(lib: Any) -> list[Any]:
        with lib.connect(pg_cluster.dsn, autocommit=True, client_encoding="SQL_ASCII") as conn:
            out: list[Any] = [conn.info.encoding]
            # (Query text stays ASCII: psycopg encodes it with the ascii codec there.)
            query = "select %s, length(%s), %s::text[], %s::varchar, 'x'::name, 1, %s::jsonb"
            out.append(conn.execute(query, ["é€", "é€", ["é", None], "é", '{"k": "é"}']).fetchone())
            cur = conn.cursor()
            for fmt in ("text", "binary"):
                with cur.copy(f"copy (select chr(233)::text, 1) to stdout (format {fmt})") as copy:
                    copy.set_types(["text", "int4"])
                    out.append(list(copy.rows()))
            conn.execute("set client_encoding to 'UTF8'")
            out.append(conn.execute("select chr(233)").fetchone())
            return out

    assert run(bp) == run(psycopg)


@pytest.mark.parametrize("name", ["UTF8", "utf-8", "unicode"])
def test_utf8_spellings(pg_cluster, name: str) -> None:
    with bp.connect(pg_cluster.dsn, autocommit=True) as conn:
        conn.execute(f"SET client_encoding TO '{name}'")
        assert conn.execute("SELECT 'é☃'").fetchone() == ("é☃",)
        assert conn.info.encoding == "utf-8"


def test_psycopg_encoding_helpers() -> None:
    # psycopg._encodings' helpers, which code reaching into psycopg uses: same answers.
    from psycopg import _encodings as ref

    from balrog.psycopg import _encodings as ours

    def outcome(f: Callable[[], Any]) -> Any:
        try:
            return f()
        except Exception as ex:
            return type(ex).__name__

    for py in ("ascii", "utf8", "UTF-8", "latin9", "iso8859-15", "cp1251", "euc-jp", "shift_jis", "nope"):
        assert outcome(lambda py=py: ours.py2pgenc(py)) == outcome(lambda py=py: ref.py2pgenc(py)), py
    server_names = (b"SQL_ASCII", b"UTF8", b"LATIN1", b"latin-9", b"WIN1252", b"EUC_JP", b"EUC_TW")
    for pg in (*server_names, b"MULE_INTERNAL"):
        assert outcome(lambda pg=pg: ours.pg2pyenc(pg)) == outcome(lambda pg=pg: ref.pg2pyenc(pg)), pg
    conninfos = ("", "dbname=x", "client_encoding=EUC_JP", "client_encoding=euc-jp", "client_encoding=WAT")
    for conninfo in conninfos:
        assert ours.conninfo_encoding(conninfo) == ref.conninfo_encoding(conninfo), conninfo
