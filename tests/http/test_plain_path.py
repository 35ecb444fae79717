"""The fused path of ``Session.request`` (``balrog/requests/_plain.py``) against the general
one: a plain request (nothing per request) must give the very same Response, and any change
to the session must be seen by the next request.

A request with ``params={}`` takes the general path (same wire request): each plain response
is compared attribute by attribute with a general one for the same URL.
"""

from __future__ import annotations

import os
import pickle
import socket
from collections import OrderedDict
from typing import Any

import pytest

import balrog.requests as requests
from balrog.requests import sessions

pytestmark = pytest.mark.both_modes


def _plain(response: Any) -> bool:
    """Whether the response came from the fused path."""
    return "_balrog_plain" in vars(response)


def _general_and_plain(session: Any, url: str, **kwargs: Any) -> tuple[Any, Any]:
    general = session.get(url, params={}, **kwargs)
    plain = session.get(url, **kwargs)
    assert not _plain(general)
    assert _plain(plain), "a plain request on a default session takes the fused path"
    return general, plain


def _same_response(general: Any, plain: Any) -> None:
    assert type(plain) is type(general)
    for name in ("status_code", "reason", "url", "encoding", "content", "text", "ok", "is_redirect", "links"):
        assert getattr(plain, name) == getattr(general, name), name
    assert plain.next is None and general.next is None
    assert plain.history == [] and general.history == []
    plain_headers = {k: v for k, v in plain.headers.items() if k.lower() != "date"}
    general_headers = {k: v for k, v in general.headers.items() if k.lower() != "date"}
    assert plain_headers == general_headers
    assert type(plain.headers) is type(general.headers)
    assert plain.cookies.get_dict() == general.cookies.get_dict()
    assert type(plain.elapsed) is type(general.elapsed) and plain.elapsed.total_seconds() > 0
    assert plain.connection is general.connection
    assert plain.raw.status == general.raw.status
    assert dict(plain.raw.headers).keys() == dict(general.raw.headers).keys()
    request, expected = plain.request, general.request
    assert request is plain.request, "made once"
    assert type(request) is type(expected)
    assert (request.method, request.url, request.body) == (expected.method, expected.url, expected.body)
    assert dict(request.headers) == dict(expected.headers)
    assert type(request.headers) is type(expected.headers)
    assert request.hooks == expected.hooks
    assert type(request._cookies) is type(expected._cookies) and len(request._cookies) == len(
        expected._cookies
    )
    assert request._body_position == expected._body_position
    assert request.path_url == expected.path_url


@pytest.mark.parametrize(
    "path",
    [
        "/get",
        "/small",
        "/encoding/utf-8",
        "/html",
        "/bytes/3000",
        "/bytes/300000",
        "/large/1000000",
        "/status/404",
    ],
)
def test_plain_response_equals_general(httpbin: Any, path: str) -> None:
    with requests.Session() as session:
        general, plain = _general_and_plain(session, httpbin(path))
        _same_response(general, plain)


def test_plain_head_and_timeout(httpbin: Any) -> None:
    with requests.Session() as session:
        url = httpbin("/get")
        session.head(url, params={})
        plain = session.head(url, timeout=(5, 5))
        assert _plain(plain) and plain.content == b"" and plain.request.method == "HEAD"
        with pytest.raises(ValueError):
            session.get(url, timeout=(1, 2, 3))


def test_plain_pickle(httpbin: Any) -> None:
    with requests.Session() as session:
        _, plain = _general_and_plain(session, httpbin("/get"))
        clone = pickle.loads(pickle.dumps(plain))
        assert clone.content == plain.content and clone.url == plain.url
        assert clone.request.url == plain.request.url and clone.encoding == plain.encoding


def test_session_header_changes_are_seen(httpbin: Any) -> None:
    with requests.Session() as session:
        url = httpbin("/headers")
        _general_and_plain(session, url)
        session.headers["X-Team"] = "balrog"
        response = session.get(url)
        assert _plain(response)
        assert response.json()["headers"]["X-Team"] == "balrog"
        assert response.request.headers["X-Team"] == "balrog"
        session.headers["X-Team"] = "other"
        assert session.get(url).json()["headers"]["X-Team"] == "other"
        del session.headers["X-Team"]
        assert "X-Team" not in session.get(url).json()["headers"]
        session.headers.update({"User-Agent": "agent/1"})
        assert session.get(url).json()["headers"]["User-Agent"] == "agent/1"
        session.headers = requests.structures.CaseInsensitiveDict({"Accept": "text/plain"})
        echoed = session.get(url).json()["headers"]
        assert echoed["Accept"] == "text/plain" and "agent" not in echoed.get("User-Agent", "")
        # A plain dict (requests allows it) goes the general way, with the same result.
        session.headers = {"X-Plain": "dict"}
        response = session.get(url)
        assert response.json()["headers"]["X-Plain"] == "dict"


def test_invalid_session_header_raises_as_requests(httpbin: Any) -> None:
    with requests.Session() as session:
        url = httpbin("/get")
        session.get(url)
        session.headers["X-Bad"] = "a\nb"
        with pytest.raises(requests.exceptions.InvalidHeader):
            session.get(url)


def test_cookies_set_by_plain_response_are_kept(httpbin: Any) -> None:
    with requests.Session() as session:
        url = httpbin("/set-cookie-plain?flavour=oat")
        session.get(url, params={})
        session.cookies.clear()
        response = session.get(url)
        assert _plain(response)
        assert response.cookies.get_dict() == {"flavour": "oat"}
        assert session.cookies.get_dict() == {"flavour": "oat"}
        # The session now holds a cookie: it is sent (by the general path).
        assert session.get(httpbin("/cookies")).json()["cookies"] == {"flavour": "oat"}
        session.cookies.clear()
        assert session.get(httpbin("/cookies")).json()["cookies"] == {}


def test_session_settings_turn_the_fused_path_off(httpbin: Any) -> None:
    with requests.Session() as session:
        url = httpbin("/headers")
        _general_and_plain(session, url)
        session.auth = ("u", "p")
        response = session.get(url)
        assert not _plain(response) and response.json()["headers"]["Authorization"].startswith("Basic ")
        session.auth = None
        assert _plain(session.get(url))
        seen: list[Any] = []
        session.hooks["response"].append(lambda r, **kw: seen.append(r))
        assert not _plain(session.get(url)) and len(seen) == 1
        session.hooks["response"].clear()
        session.params = {"q": "1"}
        assert session.get(url).url.endswith("?q=1")
        session.params = {}
        session.cookies.set("c", "1")
        assert session.get(url).json()["headers"]["Cookie"] == "c=1"


def test_redirects_from_the_fused_path(httpbin: Any) -> None:
    with requests.Session() as session:
        url = httpbin("/redirect/2")
        general = session.get(url, params={})
        plain = session.get(url)
        assert (
            [r.status_code for r in plain.history] == [r.status_code for r in general.history] == [302, 302]
        )
        assert plain.url == general.url and plain.json() == general.json()
        assert [r.url for r in plain.history] == [r.url for r in general.history]
        assert plain.history[0].request.url == url
        stopped = session.get(url, allow_redirects=False)
        assert stopped.status_code == 302 and stopped.next is not None
        assert stopped.next.url == general.history[1].url


def test_failure_from_the_fused_path(httpbin: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with requests.Session() as session:
        with pytest.raises(requests.exceptions.ConnectionError) as general:
            session.get(url, params={})
        with pytest.raises(requests.exceptions.ConnectionError) as plain:
            session.get(url)
    assert type(plain.value) is type(general.value)
    assert str(plain.value) == str(general.value)
    assert plain.value.request is not None and plain.value.request.url == general.value.request.url


def test_environment_is_read_per_request(
    httpbin: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with requests.Session() as session:
        url = httpbin("/basic-auth/user/pass")
        assert session.get(url, params={}).status_code == 401
        assert session.get(url).status_code == 401
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login user password pass\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        assert session.get(url).status_code == 200
        monkeypatch.delenv("NETRC")
        assert session.get(url).status_code == 401
        # A patched netrc lookup (requests' own tests do this) is honoured.
        monkeypatch.setattr(sessions, "get_netrc_auth", lambda url, raise_errors=False: ("user", "pass"))
        assert session.get(url).status_code == 200


def test_subclass_overriding_send_is_honoured(httpbin: Any) -> None:
    class Counting(requests.Session):
        sent = 0

        def send(self, request: Any, **kwargs: Any) -> Any:
            Counting.sent += 1
            return super().send(request, **kwargs)

    with Counting() as session:
        url = httpbin("/get")
        session.get(url)
        session.get(url)
    assert Counting.sent == 2


def test_netrc_appearing_later_is_seen(httpbin: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The absence of a netrc file is remembered only while its directory is unchanged."""
    import time

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("NETRC", str(home / ".netrc"))
    url = httpbin("/basic-auth/user/pass")
    with requests.Session() as session:
        assert session.get(url, params={}).status_code == 401
        # ctime cannot be backdated: wait until the directory's times are old enough to trust.
        time.sleep(2.2)
        assert _plain(session.get(url)) and session.get(url).status_code == 401
        (home / ".netrc").write_text("machine 127.0.0.1 login user password pass\n")
        (home / ".netrc").chmod(0o600)
        assert session.get(url).status_code == 200
        (home / ".netrc").unlink()
        assert session.get(url).status_code == 401


def test_netrc_dangling_symlink_is_not_cached(
    httpbin: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    home = tmp_path / "home"
    home.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (home / ".netrc").symlink_to(elsewhere / "netrc")
    monkeypatch.setenv("NETRC", str(home / ".netrc"))
    url = httpbin("/basic-auth/user/pass")
    with requests.Session() as session:
        assert session.get(url, params={}).status_code == 401
        time.sleep(2.2)
        assert session.get(url).status_code == 401
        # The symlink's target appears: the home directory itself does not change.
        (elsewhere / "netrc").write_text("machine 127.0.0.1 login user password pass\n")
        (elsewhere / "netrc").chmod(0o600)
        assert session.get(url).status_code == 200


def test_netrc_rewritten_is_read_again(httpbin: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A parsed netrc file is reused only while its identity, size and times are the same."""
    import time

    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login user password nope\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    url = httpbin("/basic-auth/user/pass")
    with requests.Session() as session:
        time.sleep(2.2)
        assert session.get(url).status_code == 401
        assert session.get(url).status_code == 401
        # Same size, new contents: the mtime (and ctime) tell the difference.
        netrc.write_text("machine 127.0.0.1 login user password pass\n")
        assert session.get(url).status_code == 200
        assert session.get(url, params={}).status_code == 200


def test_adapter_changes_are_seen(httpbin: Any) -> None:
    """The plain path's remembered adapter follows mount() and direct edits of adapters."""

    class Counting(requests.adapters.HTTPAdapter):
        sent = 0

        def send(self, request: Any, **kwargs: Any) -> Any:
            Counting.sent += 1
            return super().send(request, **kwargs)

    with requests.Session() as session:
        url = httpbin("/get")
        _general_and_plain(session, url)
        session.adapters["http://"] = Counting()  # same keys, another adapter
        session.get(url)
        assert Counting.sent == 1
        session.adapters["http://"] = requests.adapters.HTTPAdapter()
        assert _plain(session.get(url))
        session.mount(url.rsplit("/", 1)[0] + "/", Counting())  # a longer prefix
        session.get(url)
        assert Counting.sent == 2
        adapters = [("https://", requests.adapters.HTTPAdapter()), ("http://", Counting())]
        session.adapters = OrderedDict(adapters)
        session.get(url)
        assert Counting.sent == 3


def test_request_replaced_on_the_instance_is_honoured(httpbin: Any) -> None:
    with requests.Session() as session:
        url = httpbin("/get")
        calls: list[str] = []
        original = session.request

        def request(method: str, url: str, **kwargs: Any) -> Any:
            calls.append(method)
            return original(method, url, **kwargs)

        session.request = request  # type: ignore[method-assign]
        session.get(url)
        session.get(url)
        assert calls == ["GET", "GET"]


@pytest.mark.parametrize(
    "owner,name",
    [
        (requests.adapters.HTTPAdapter, "send"),  # what `responses` patches
        (requests.adapters.HTTPAdapter, "build_response"),
        (requests.Session, "get_adapter"),  # what `requests_mock` patches
        (requests.Session, "send"),
        (requests.Session, "prepare_request"),
        (requests.Session, "merge_environment_settings"),
    ],
)
def test_methods_patched_on_the_class_are_honoured(httpbin: Any, owner: type, name: str) -> None:
    """A patch applied after the class served plain requests, and taken away again."""
    from unittest import mock

    url = httpbin("/get")
    with requests.Session() as session:
        assert _plain(session.get(url))
        original = getattr(owner, name)
        calls: list[str] = []

        def spy(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return original(*args, **kwargs)

        with mock.patch.object(owner, name, autospec=True, side_effect=spy):
            response = session.get(url)
            assert not _plain(response) and response.status_code == 200
            session.get(url)
        assert calls == [name, name]
        assert _plain(session.get(url)), "back on the fused path once the patch is gone"


@pytest.mark.parametrize("name", ["send", "get_adapter", "prepare_request", "merge_environment_settings"])
def test_methods_replaced_on_the_instance_are_honoured(httpbin: Any, name: str) -> None:
    url = httpbin("/get")
    with requests.Session() as session:
        original = getattr(session, name)
        calls: list[str] = []

        def spy(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return original(*args, **kwargs)

        setattr(session, name, spy)
        assert not _plain(session.get(url))
        assert calls == [name]


def test_adapter_send_replaced_on_the_instance_is_honoured(httpbin: Any) -> None:
    url = httpbin("/get")
    with requests.Session() as session:
        adapter = session.get_adapter(url)
        original = adapter.send
        calls: list[str] = []

        def send(request: Any, **kwargs: Any) -> Any:
            calls.append(request.url)
            return original(request, **kwargs)

        adapter.send = send  # type: ignore[method-assign]
        assert not _plain(session.get(url))
        assert calls == [url]


def test_type_version_moves_with_class_changes() -> None:
    from balrog._http import type_version

    class Probe:
        def method(self) -> None: ...

    Probe.method  # noqa: B018 - a lookup gives the class a tag
    first = type_version(Probe)
    assert first is not None and type_version(Probe) == first
    Probe.method = lambda self: None  # type: ignore[method-assign]
    assert type_version(Probe) is None  # invalidated until the next lookup
    Probe.method  # noqa: B018
    second = type_version(Probe)
    assert second is not None and second != first

    class Child(Probe):
        pass

    Child.method  # noqa: B018
    child = type_version(Child)
    Probe.other = 1  # type: ignore[attr-defined]
    Child.method  # noqa: B018
    assert type_version(Child) not in (None, child), "a base's change moves its subclasses' tags"


@pytest.mark.parametrize("path", ["/close-mid-body", "/close-mid-chunked", "/unknown-length", "/gzip"])
def test_bodies_read_whole_alike(httpbin: Any, path: str) -> None:
    """Bodies written straight into their ``bytes`` object (known length, no coding) and
    gathered ones fail or succeed as the general path's do."""
    with requests.Session() as session:
        url = httpbin(path)
        try:
            general = session.get(url, params={})
        except requests.exceptions.RequestException as exc:
            with pytest.raises(type(exc)) as failure:
                session.get(url)
            assert type(failure.value) is type(exc) and str(failure.value) == str(exc)
            return
        plain = session.get(url)
        assert _plain(plain) and plain.content == general.content


def test_dict_version_moves_with_every_change() -> None:
    from balrog._http import dict_version

    d: dict[str, Any] = {}
    seen = [dict_version(d)]
    if seen[0] is None:
        pytest.skip("this interpreter keeps no dict version tags")
    assert dict_version(d) == seen[0], "reading does not change it"
    value = ("a", "1")
    for change in (
        lambda: d.__setitem__("a", value),
        lambda: d.__setitem__("a", tuple(["a", "1"])),  # an equal value, another object
        lambda: d.update(b=2),
        lambda: d.pop("a"),
        lambda: d.clear(),
    ):
        change()
        assert dict_version(d) not in seen
        seen.append(dict_version(d))
    # PEP 509: storing the very object already there is no change (nor is it one).
    d["a"] = value
    before = dict_version(d)
    d["a"] = value
    assert dict_version(d) == before
    assert dict_version({}) not in seen, "another dict never shares a tag"


def test_environment_snapshot_follows_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    from balrog._http import dict_version
    from balrog.requests._environ import snapshot_of

    monkeypatch.setenv("BALROG_TEST_A", "1")
    snapshot = snapshot_of(("BALROG_TEST_A", "BALROG_TEST_B"))
    first = snapshot()
    assert first == (b"1", None)
    if dict_version({}) is not None:
        assert snapshot() is first, "the same tuple while nothing changed"
    monkeypatch.setenv("BALROG_TEST_OTHER", "x")
    assert snapshot() == (b"1", None)
    monkeypatch.setenv("BALROG_TEST_A", "1")
    assert snapshot() == (b"1", None)
    monkeypatch.setenv("BALROG_TEST_B", "2")
    assert snapshot() == (b"1", b"2")
    os.environ.pop("BALROG_TEST_A")
    assert snapshot() == (None, b"2")
    os.environ.update(BALROG_TEST_A="3")
    assert snapshot() == (b"3", b"2")


def test_proxy_environment_changes_between_plain_requests(
    httpbin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proxy variables set, set again to the same value, or removed between two plain
    requests take effect at once, as they do in requests (checked side by side)."""
    import requests as upstream

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{sock.getsockname()[1]}"
    url = httpbin("/get")

    def outcome(session: Any) -> str:
        try:
            return str(session.get(url).status_code)
        except Exception as exc:  # the class is what is compared
            return type(exc).__name__

    with requests.Session() as session, upstream.Session() as reference:
        _general_and_plain(session, url)
        steps = [
            lambda: monkeypatch.setenv("HTTP_PROXY", refused),
            lambda: monkeypatch.setenv("NO_PROXY", "127.0.0.1"),
            lambda: os.environ.__setitem__("NO_PROXY", "127.0.0.1"),
            lambda: monkeypatch.setenv("NO_PROXY", "example.org"),
            lambda: monkeypatch.delenv("HTTP_PROXY"),
        ]
        expected = ["ProxyError", "200", "200", "ProxyError", "200"]
        for step, want in zip(steps, expected, strict=True):
            step()
            assert outcome(session) == outcome(reference) == want
        # (A non-empty NO_PROXY alone is a "proxy" entry to getproxies(): general path.)
        monkeypatch.setenv("NO_PROXY", "")
        assert _plain(session.get(url))


def test_session_header_order_and_rewrites_are_seen(httpbin: Any) -> None:
    with requests.Session() as session:
        url = httpbin("/headers")
        _general_and_plain(session, url)
        session.headers["X-A"] = "1"
        session.headers["X-B"] = "2"
        first = session.get(url)
        session.headers["X-A"] = "1"  # the same value again: the same request
        again = session.get(url)
        assert _plain(again) and list(again.request.headers.items()) == list(first.request.headers.items())
        del session.headers["X-A"]
        session.headers["X-A"] = "1"  # now after X-B
        general, plain = _general_and_plain(session, url)
        assert list(plain.request.headers) == list(general.request.headers)
        assert list(plain.request.headers)[-2:] == ["X-B", "X-A"]
        sent = [name for name in plain.json()["headers"] if name.startswith("X-")]
        assert sent == [name for name in general.json()["headers"] if name.startswith("X-")]
        session.headers.clear()
        assert "X-A" not in session.get(url).json()["headers"]


def test_netrc_directory_replaced_is_seen(
    httpbin: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remembered absence belongs to one directory: another one at the same path (new
    inode) holding a netrc file is looked into."""
    import time

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("NETRC", str(home / ".netrc"))
    url = httpbin("/basic-auth/user/pass")
    with requests.Session() as session:
        assert session.get(url, params={}).status_code == 401
        time.sleep(2.2)
        assert session.get(url).status_code == 401
        other = tmp_path / "other"
        other.mkdir()
        (other / ".netrc").write_text("machine 127.0.0.1 login user password pass\n")
        (other / ".netrc").chmod(0o600)
        home.rename(tmp_path / "old-home")
        other.rename(home)
        assert session.get(url).status_code == 200
