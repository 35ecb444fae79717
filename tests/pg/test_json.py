"""balrog.psycopg.types.json: wrappers, dumpers, loaders and the dumps/loads hooks."""

from __future__ import annotations

import json
from typing import Any

import psycopg.types.json as ref
import pytest

from balrog.psycopg import _sql_literal
from balrog.psycopg import errors as e
from balrog.psycopg.types import json as ours


@pytest.mark.parametrize("obj", [{"a": 1}, [1, 2], "x" * 100, None, 3.5])
def test_repr_like_psycopg(obj: Any) -> None:
    assert repr(ours.Json(obj)) == repr(ref.Json(obj))
    assert repr(ours.Jsonb(obj)) == repr(ref.Jsonb(obj))


def test_dumpers() -> None:
    assert ours.JsonDumper(ours.Json).dump(ours.Json({"a": 1})) == b'{"a": 1}'
    assert ours.JsonbDumper(ours.Jsonb).oid == 3802 and ours.JsonDumper(ours.Json).oid == 114
    assert ours.JsonbBinaryDumper(ours.Jsonb).dump(ours.Jsonb([1])) == b"\x01[1]"
    custom = ours.Jsonb({"a": 1}, dumps=lambda obj: json.dumps(obj, separators=(",", ":")))
    assert ours.JsonbDumper(ours.Jsonb).dump(custom) == b'{"a":1}'


def test_loaders() -> None:
    assert ours.JsonLoader(114).load(b'{"a": [1, null]}') == {"a": [1, None]}
    assert ours.JsonbLoader(3802).load(memoryview(b"[1]")) == [1]
    assert ours.JsonbBinaryLoader(3802).load(b"\x01{}") == {}
    with pytest.raises(e.DataError, match="unknown jsonb binary format"):
        ours.JsonbBinaryLoader(3802).load(b"\x02{}")


def test_set_json_dumps_and_loads_globally() -> None:
    try:
        ours.set_json_dumps(lambda obj: "global")
        ours.set_json_loads(lambda data: "loaded")
        assert ours.JsonDumper(ours.Json).dump(ours.Json(1)) == b"global"
        assert _sql_literal.literal(ours.Jsonb(1)) == b"'global'::jsonb"
        assert (
            ours.Jsonb(1, dumps=lambda obj: "mine")
            and ours.JsonbDumper(ours.Jsonb).dump(ours.Jsonb(1, dumps=lambda obj: "mine")) == b"mine"
        )
        assert ours.JsonLoader(114).load(b"1") == "loaded"
    finally:
        ours.set_json_dumps(json.dumps)
        ours.set_json_loads(json.loads)
    assert ours.JsonDumper(ours.Json).dump(ours.Json(1)) == b"1"


def test_set_json_dumps_on_a_context() -> None:
    from balrog.psycopg._typeinfo import TypesRegistry, register_default_types
    from balrog.psycopg.adapt import AdaptersMap, PyFormat

    types = TypesRegistry()
    register_default_types(types)

    class Context:
        adapters = AdaptersMap(types=types)
        connection = None

    context = Context()
    ours.set_json_dumps(lambda obj: "ctx", context)
    ours.set_json_loads(lambda data: "ctx-loaded", context)
    dumper_cls = context.adapters.get_dumper(ours.Jsonb, PyFormat.TEXT)
    assert dumper_cls.__name__ == "CustomJsonbDumper"
    assert dumper_cls.__module__ == "balrog.psycopg.types.json"
    assert dumper_cls(ours.Jsonb).dump(ours.Jsonb(1)) == b"ctx"
    assert ours.JsonDumper(ours.Json).dump(ours.Json(1)) == b"1"  # global unchanged
    # the same function code gives the same class: no new class (leak) per call
    made = {ours._subclass_with(ours.JsonbDumper, "_dumps", lambda o: "x", ours._dumpers_cache) for _ in "ab"}
    assert len(made) == 1
    loader_cls = context.adapters.get_loader(3802, 0)
    assert loader_cls is not None and loader_cls(3802).load(b"1") == "ctx-loaded"
