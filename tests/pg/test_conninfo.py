"""balrog.psycopg.conninfo against psycopg.conninfo (libpq's own parser) on many inputs."""

from __future__ import annotations

import os
from typing import Any

import psycopg.conninfo as ref
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from balrog.psycopg import conninfo as ours
from balrog.psycopg import errors as e


def outcome(module: Any, func: str, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    try:
        result = getattr(module, func)(*args, **kwargs)
    except Exception as ex:  # compare the failure's kind and wording
        return (type(ex).__name__, str(ex))
    if isinstance(result, dict):
        return ("ok", list(result.items()))  # key order included
    return ("ok", result)


def assert_same(func: str, *args: Any, **kwargs: Any) -> None:
    assert outcome(ours, func, *args, **kwargs) == outcome(ref, func, *args, **kwargs)


KNOWN_CASES = [
    "",
    "host=a",
    "  host = a  port=5 ",
    "host='a b' password='x\\'y'",
    "host=a\\ b",
    "foo=bar",
    "host",
    "host=",
    "host='abc",
    "host=a port=5 host=b",
    "host=a port",
    "host port=5",
    "host='a'port=5",
    "host='' port=''",
    'host="a"',
    "x'y",
    "=a",
    "host=a\\",
    "host='a\\",
    "host=a\tport=5\nuser=u\r\vdbname=d\f",
    "requiressl=1",
    "requiressl=0 sslmode=disable",
    "service=foo",
    "dbname=postgresql://h/d",
    "application_name=été",
    "postgresql://",
    "postgres://",
    "postgres://u:p@h:5/d?sslmode=require",
    "postgresql://h1:1,h2/db",
    "postgresql://h1,h2:2/db",
    "postgresql://h1,h2,h3/db",
    "postgresql://[::1]:5/d",
    "postgresql://[::1],[::2]:6/d",
    "postgresql://h1:5,[::1]:6/d",
    "postgresql://u%20x@h/d%2Fx",
    "postgresql://h/d?ssl=true",
    "postgresql://h?ssl=false",
    "postgresql://h/d?foo=1",
    "postgresql://h/d?a",
    "postgresql://h/d?a=b=c",
    "postgresql://h/d?=b",
    "postgresql://h/d?host=h1&&port=5",
    "postgresql://h/d?port=5&",
    "postgresql://%zz@h",
    "postgresql://%0@h",
    "postgresql://%00@h",
    "postgresql://%C3%A9@h",
    "postgresql://h:abc/d",
    "postgresql://h/d?host=%2Ftmp",
    "postgresql:///d?host=/tmp",
    "postgresql://user@/d",
    "postgresql://:5/d",
    "postgresql://h/d?port=",
    "postgresql://h:5",
    "postgresql://h/",
    "postgresql://h/d?application_name=a%20b&options=-c%20x%3D1",
    "postgresql://[::1/d",
    "postgresql://[]:5",
    "postgresql://[::1]x",
    "postgresql://u:@h",
    "postgresql://@h",
    "postgresql://h1,/d",
    "postgresql://,h/d",
    "postgresql://h/d#frag",
    "postgresql://h/d?dbname=x",
    "postgresql://h/d?sslmode=require&sslmode=disable",
    "postgresql://u:p:q@h",
    "postgresql://u@h@x/d",
    "postgresql://h/d/e",
    "postgresql://h%2C/d",
    "postgresql://[fe80::1%25eth0]:5/d",
    "postgresql://h?requiressl=1",
    "postgresql://h/d@x",
    "POSTGRESQL://h",
    "postgresql:/h",
]


@pytest.mark.parametrize("text", KNOWN_CASES)
def test_conninfo_to_dict_known_cases(text: str) -> None:
    assert_same("conninfo_to_dict", text)


@pytest.mark.parametrize("text", KNOWN_CASES)
def test_make_conninfo_known_cases(text: str) -> None:
    assert_same("make_conninfo", text)
    assert_same("make_conninfo", text, user="it's me", port=5433)
    assert_same("make_conninfo", text, host=None, password="")


FRAGMENTS = [
    "host", "port", "user", "dbname", "password", "sslmode", "options", "application_name",
    "bogus", "requiressl", "ssl", "postgresql://", "postgres://", "=", "'", "\\", " ", "\t", "\n",
    ",", ":", "/", "?", "&", "@", "[", "]", "%", "%2", "%20", "%41", "%zz", "%00", "1", "5432",
    "::1", "a", "b", "true", "é", "-c x=1", "localhost",
]  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join))
# Found by this test: libpq reports positions in bytes and shows one byte of a character.
@example("postgresql://[é]host")
@example("postgresql://[éé]é")
def test_conninfo_to_dict_random(text: str) -> None:
    assert_same("conninfo_to_dict", text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(FRAGMENTS), max_size=10).map("".join),
    st.dictionaries(
        st.sampled_from(["host", "port", "user", "dbname", "password", "options", "application_name"]),
        st.one_of(st.none(), st.integers(0, 70000), st.text(max_size=12)),
        max_size=4,
    ),
)
def test_make_conninfo_random(text: str, kwargs: dict[str, Any]) -> None:
    assert_same("make_conninfo", text, **kwargs)
    assert_same("conninfo_to_dict", text, **kwargs)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_values_survive_a_round_trip(value: str) -> None:
    if "\x00" in value:
        return
    text = ours.make_conninfo(password=value, application_name=value)
    assert text == ref.make_conninfo(password=value, application_name=value)
    assert ours.conninfo_to_dict(text) == {"password": value, "application_name": value}


def test_invalid_string_raises_programming_error() -> None:
    with pytest.raises(e.ProgrammingError, match='invalid connection option "foo"'):
        ours.conninfo_to_dict("foo=bar")
    with pytest.raises(e.ProgrammingError):
        ours.make_conninfo("host=a", port="x y", bogus=1)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"connect_timeout": "0"},
        {"connect_timeout": "1"},
        {"connect_timeout": "1.9"},
        {"connect_timeout": 10},
        {"connect_timeout": "-3"},
        {"connect_timeout": "abc"},
    ],
)
def test_timeout_from_conninfo(params: dict[str, Any]) -> None:
    assert_same("timeout_from_conninfo", params)


def test_timeout_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "7")
    assert ours.timeout_from_conninfo({}) == ref.timeout_from_conninfo({}) == 7


@pytest.mark.parametrize(
    "params",
    [
        {"host": "a,b", "port": "1,2"},
        {"host": "a,b", "port": "1"},
        {"host": "a,b,c"},
        {"host": "a,b", "hostaddr": "127.0.0.1,127.0.0.2", "port": "5"},
        {"host": "a,b", "hostaddr": "127.0.0.1"},
        {"host": "a,b", "port": "1,2,3"},
        {"host": "a"},
    ],
)
def test_conninfo_attempts_split_like_psycopg(params: dict[str, Any]) -> None:
    # Names that need no DNS: IP addresses come back as hostaddr without a lookup.
    def ip_hosts(p: dict[str, Any]) -> dict[str, Any]:
        mapping = {"a": "127.0.0.1", "b": "127.0.0.2", "c": "127.0.0.3"}
        return {**p, "host": ",".join(mapping[h] for h in p["host"].split(","))}

    assert_same("conninfo_attempts", ip_hosts(params))


def test_conninfo_attempts_unix_socket_and_names() -> None:
    assert_same("conninfo_attempts", {"host": "/var/run/postgresql"})
    assert_same("conninfo_attempts", {"host": "localhost", "port": "5"})


@pytest.mark.parametrize(
    "params",
    [
        {"host": "/var/run/postgresql"},
        {"host": "localhost", "port": "5"},
        {"host": "127.0.0.1,localhost", "port": "1,2"},
        {"host": "localhost", "hostaddr": "127.0.0.9"},
        {"host": "localhost,127.0.0.2", "target_session_attrs": "prefer-standby"},
        {},
    ],
)
def test_conninfo_attempts_async_like_psycopg(params: dict[str, Any]) -> None:
    # The async version resolves with the loop's resolver; the same attempts or error.
    import asyncio

    def run(lib: Any) -> Any:
        try:
            return asyncio.run(lib.conninfo_attempts_async(params))
        except Exception as ex:
            return type(ex).__name__

    assert run(ours) == run(ref)


class TestEffectiveParams:
    def test_environment_and_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for var in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGSERVICE", "PGSSLMODE"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("PGPASSFILE", "/nonexistent")
        monkeypatch.setenv("PGHOST", "envhost")
        monkeypatch.setenv("PGUSER", "envuser")
        params = ours.effective_params({"host": "explicit", "port": 6000})
        assert params["host"] == "explicit"  # explicit beats the environment
        assert params["port"] == "6000"
        assert params["user"] == "envuser"
        assert params["dbname"] == "envuser"  # dbname defaults to the user
        assert params["sslmode"] == "prefer"

    def test_service_file(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
        service_file = tmp_path / "services.conf"
        service_file.write_text(
            "# comment\n[other]\nhost=nope\n\n[mine]\nhost=svchost\nport = 7000\ndbname=svcdb\n"
        )
        monkeypatch.setenv("PGSERVICEFILE", str(service_file))
        monkeypatch.setenv("PGPORT", "9999")
        monkeypatch.setenv("PGPASSFILE", "/nonexistent")
        params = ours.effective_params({"service": "mine", "dbname": "explicit"})
        assert (params["host"], params["port"], params["dbname"]) == ("svchost", "7000", "explicit")
        with pytest.raises(e.OperationalError, match='service "missing" not found'):
            ours.effective_params({"service": "missing"})

    def test_password_file(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
        passfile = tmp_path / "pgpass"
        passfile.write_text("# c\nother:*:*:*:nope\nh\\:x:5432:*:bob:s3cr\\:et\n*:*:*:*:fallback\n")
        os.chmod(passfile, 0o600)
        monkeypatch.setenv("PGPASSFILE", str(passfile))
        monkeypatch.delenv("PGPASSWORD", raising=False)
        assert ours.effective_params({"host": "h:x", "user": "bob"})["password"] == "s3cr:et"
        assert ours.effective_params({"host": "h:x", "user": "al"})["password"] == "fallback"
        assert (
            ours.effective_params({"host": "h:x", "user": "bob", "password": "given"})["password"] == "given"
        )
        os.chmod(passfile, 0o644)  # readable by others: ignored, as libpq does
        assert "password" not in ours.effective_params({"host": "h:x", "user": "bob"})
