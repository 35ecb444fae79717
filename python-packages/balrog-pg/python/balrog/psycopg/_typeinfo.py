"""Information about PostgreSQL types: TypeInfo and its kin, and the registry of known ones."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["CompositeInfo", "EnumInfo", "MultirangeInfo", "RangeInfo", "TypeInfo", "TypesRegistry"]

T = TypeVar("T", bound="TypeInfo")


class TypeInfo:
    """A PostgreSQL type: name, oid, array oid."""

    __module__ = "psycopg.types"

    def __init__(self, name: str, oid: int, array_oid: int, *, regtype: str = "", delimiter: str = ","):
        self.name = name
        self.oid = oid
        self.array_oid = array_oid
        self.regtype = regtype or name
        self.delimiter = delimiter

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__}: {self.name} (oid: {self.oid}, array oid: {self.array_oid})>"

    _QUERY = (
        "SELECT typname AS name, oid, typarray AS array_oid, oid::regtype::text AS regtype, "
        "typdelim AS delimiter FROM pg_type t WHERE t.oid = to_regtype(%(name)s)"
    )

    @classmethod
    def fetch(cls: type[T], conn: Connection, name: Any) -> T | None:
        """Query the database for the type ``name``; None if it doesn't exist.

        As psycopg: the query runs in a transaction block of its own (a savepoint inside
        a transaction), so the connection is left in the state it was found in.
        """
        from . import errors as e
        from .connection import Connection
        from .cursor import Cursor
        from .rows import dict_row

        if not isinstance(conn, Connection) and hasattr(conn, "_sync"):
            # An AsyncConnection: as psycopg, the call returns a coroutine.
            from balrog import green_call

            return green_call(cls.fetch, conn._sync, name)  # type: ignore[return-value]
        if not isinstance(name, str):
            name = name.as_string(conn)
        if not isinstance(conn, Connection):
            raise TypeError(f"expected Connection or AsyncConnection, got {type(conn).__name__}")
        try:
            # psycopg's server-side binding cursor, whatever the connection's cursor_factory.
            with conn.transaction(), Cursor(conn, row_factory=dict_row) as cur:
                if conn.info.encoding == "ascii":
                    cur.execute("set local client_encoding to utf8")
                cur.execute(cls._QUERY, {"name": name})
                records = cur.fetchall()
        except e.UndefinedObject:
            return None
        if not records:
            return None
        if len(records) > 1:
            raise e.ProgrammingError(f"found {len(records)} different types named {name}")
        return cls._from_record(conn, records[0])

    @classmethod
    def _has_to_regtype_function(cls, conn: Any) -> bool:
        """Whether the server has ``to_regtype()`` (PostgreSQL 9.4, CockroachDB 22.2), which
        the queries use: an unknown name gives NULL instead of an error (no rollback, no
        trace in the server's log)."""
        info = conn.info
        if info.vendor == "PostgreSQL":
            return info.server_version >= 90400  # type: ignore[no-any-return]
        if info.vendor == "CockroachDB":
            return info.server_version >= 220200  # type: ignore[no-any-return]
        return False

    @classmethod
    def _from_record(cls: type[T], conn: Connection, rec: dict[str, Any]) -> T | None:
        return cls(
            rec["name"], rec["oid"], rec["array_oid"], regtype=rec["regtype"], delimiter=rec["delimiter"]
        )

    def register(self, context: Any = None) -> None:
        """Make the type known (globally, or to a connection or cursor) and load its arrays."""
        if context is not None:
            types = context.adapters.types
        else:
            from .postgres import types

        types.add(self)
        if self.array_oid:
            from .types.array import register_array

            register_array(self, context)

    def _added(self, registry: TypesRegistry) -> None:
        pass

    def get_type_display(self, oid: int | None = None, fmod: int | None = None) -> str:
        """The type as psycopg shows it: name, modifiers, brackets for an array
        (``varchar(42)``, ``numeric(10,2)``, ``timestamptz(3)[]``)."""
        modifiers = type_modifiers(self.oid, fmod) if fmod is not None else None
        display = self.name + (f"({','.join(map(str, modifiers))})" if modifiers else "")
        return display + ("[]" if oid == self.array_oid else "")


class RangeInfo(TypeInfo):
    """A range type and its subtype."""

    __module__ = "psycopg.types.range"

    def __init__(self, name: str, oid: int, array_oid: int, *, regtype: str = "", subtype_oid: int):
        super().__init__(name, oid, array_oid, regtype=regtype)
        self.subtype_oid = subtype_oid

    _QUERY = (
        "SELECT t.typname AS name, t.oid AS oid, t.typarray AS array_oid, t.oid::regtype::text AS regtype, "
        "r.rngsubtype AS subtype_oid FROM pg_type t JOIN pg_range r ON t.oid = r.rngtypid "
        "WHERE t.oid = to_regtype(%(name)s)"
    )

    @classmethod
    def _from_record(cls, conn: Connection, rec: dict[str, Any]) -> RangeInfo:  # type: ignore[override]
        return cls(
            rec["name"], rec["oid"], rec["array_oid"], regtype=rec["regtype"], subtype_oid=rec["subtype_oid"]
        )

    def _added(self, registry: TypesRegistry) -> None:
        registry._registry[RangeInfo, self.subtype_oid] = self


class MultirangeInfo(TypeInfo):
    """A multirange type, its range and subtype."""

    __module__ = "psycopg.types.multirange"

    def __init__(
        self, name: str, oid: int, array_oid: int, *, regtype: str = "", range_oid: int, subtype_oid: int
    ):
        super().__init__(name, oid, array_oid, regtype=regtype)
        self.range_oid = range_oid
        self.subtype_oid = subtype_oid

    _QUERY = (
        "SELECT t.typname AS name, t.oid AS oid, t.typarray AS array_oid, t.oid::regtype::text AS regtype, "
        "r.rngtypid AS range_oid, r.rngsubtype AS subtype_oid FROM pg_type t "
        "JOIN pg_range r ON t.oid = r.rngmultitypid WHERE t.oid = to_regtype(%(name)s)"
    )

    @classmethod
    def _from_record(cls, conn: Connection, rec: dict[str, Any]) -> MultirangeInfo:  # type: ignore[override]
        return cls(
            rec["name"],
            rec["oid"],
            rec["array_oid"],
            regtype=rec["regtype"],
            range_oid=rec["range_oid"],
            subtype_oid=rec["subtype_oid"],
        )

    def _added(self, registry: TypesRegistry) -> None:
        registry._registry[MultirangeInfo, self.subtype_oid] = self


class CompositeInfo(TypeInfo):
    """A composite type and its fields."""

    __module__ = "psycopg.types.composite"

    def __init__(
        self,
        name: str,
        oid: int,
        array_oid: int,
        *,
        regtype: str = "",
        field_names: Sequence[str],
        field_types: Sequence[int],
    ):
        super().__init__(name, oid, array_oid, regtype=regtype)
        self.field_names = tuple(field_names)
        self.field_types = tuple(field_types)
        # Set by register_composite() when its factory is a type.
        self.python_type: type | None = None

    def __hash__(self) -> int:
        return hash((self.name, self.field_names, self.field_types))

    _QUERY = (
        "SELECT t.typname AS name, t.oid AS oid, t.typarray AS array_oid, t.oid::regtype::text AS regtype, "
        "coalesce(a.fnames, '{}') AS field_names, coalesce(a.ftypes, '{}') AS field_types "
        "FROM pg_type t LEFT JOIN (SELECT attrelid, array_agg(attname::text) AS fnames, "
        "array_agg(atttypid::int8) AS ftypes FROM (SELECT a.attrelid, a.attname, a.atttypid "
        "FROM pg_attribute a JOIN pg_type t ON t.typrelid = a.attrelid "
        "WHERE t.oid = to_regtype(%(name)s) AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum) x GROUP BY attrelid) a ON a.attrelid = t.typrelid "
        "WHERE t.oid = to_regtype(%(name)s)"
    )

    @classmethod
    def _from_record(cls, conn: Connection, rec: dict[str, Any]) -> CompositeInfo:  # type: ignore[override]
        return cls(
            rec["name"],
            rec["oid"],
            rec["array_oid"],
            regtype=rec["regtype"],
            field_names=rec["field_names"],
            field_types=[int(t) for t in rec["field_types"]],
        )


class EnumInfo(TypeInfo):
    """An enum type and its labels."""

    __module__ = "psycopg.types.enum"

    def __init__(self, name: str, oid: int, array_oid: int, labels: Sequence[str], *, regtype: str = ""):
        super().__init__(name, oid, array_oid, regtype=regtype)
        self.labels = labels
        # Set by register_enum().
        self.enum: type | None = None

    _QUERY = (
        "SELECT name, oid, array_oid, regtype, array_agg(label) AS labels FROM (SELECT t.typname AS name, "
        "t.oid AS oid, t.typarray AS array_oid, t.oid::regtype::text AS regtype, e.enumlabel AS label "
        "FROM pg_type t LEFT JOIN pg_enum e ON e.enumtypid = t.oid WHERE t.oid = to_regtype(%(name)s) "
        "ORDER BY e.enumsortorder) x GROUP BY name, oid, array_oid, regtype"
    )

    @classmethod
    def _from_record(cls, conn: Connection, rec: dict[str, Any]) -> EnumInfo:  # type: ignore[override]
        labels = [label for label in rec["labels"] if label is not None]
        return cls(rec["name"], rec["oid"], rec["array_oid"], labels, regtype=rec["regtype"])


class TypesRegistry:
    """Known types, by oid, array oid, name and regtype."""

    __module__ = "psycopg.types"

    def __init__(self, template: TypesRegistry | None = None):
        if template is not None:
            self._registry: dict[Any, TypeInfo] = template._registry
            self._own_state = False
            template._own_state = False
        else:
            self.clear()

    def clear(self) -> None:
        self._registry = {}
        self._own_state = True

    def add(self, info: TypeInfo) -> None:
        if not self._own_state:
            self._registry = dict(self._registry)
            self._own_state = True
        if info.oid:
            self._registry[info.oid] = info
        if info.array_oid:
            self._registry[info.array_oid] = info
        self._registry[info.name] = info
        if info.regtype and info.regtype not in self._registry:
            self._registry[info.regtype] = info
        info._added(self)

    def __iter__(self) -> Iterator[TypeInfo]:
        seen: set[int] = set()
        for t in self._registry.values():
            if id(t) not in seen:
                seen.add(id(t))
                yield t

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key.endswith("[]"):
                key = key[:-2]
        elif not isinstance(key, int | tuple):
            raise TypeError(f"the key must be an oid or a name, got {type(key)}")
        try:
            return self._registry[key]
        except KeyError:
            raise KeyError(f"couldn't find the type {key!r} in the types registry") from None

    def get(self, key: Any) -> Any:
        try:
            return self[key]
        except KeyError:
            return None

    def get_oid(self, name: str) -> int:
        t = self[name]
        return t.array_oid if name.endswith("[]") else t.oid

    def get_by_subtype(self, cls: type[T], subtype: int | str) -> T | None:
        info = self.get(subtype)
        if info is None:
            return None
        found = self._registry.get((cls, info.oid))
        return found if isinstance(found, cls) else None


BUILTIN_TYPES: list[tuple[str, int, int, str, str]] = [
    # name, oid, array oid, regtype, delimiter
    ('"char"', 18, 1002, "", ","),
    ("aclitem", 1033, 1034, "", ","),
    ("bit", 1560, 1561, "", ","),
    ("bool", 16, 1000, "boolean", ","),
    ("box", 603, 1020, "", ";"),
    ("bpchar", 1042, 1014, "character", ","),
    ("bytea", 17, 1001, "", ","),
    ("cid", 29, 1012, "", ","),
    ("cidr", 650, 651, "", ","),
    ("circle", 718, 719, "", ","),
    ("date", 1082, 1182, "", ","),
    ("float4", 700, 1021, "real", ","),
    ("float8", 701, 1022, "double precision", ","),
    ("gtsvector", 3642, 3644, "", ","),
    ("inet", 869, 1041, "", ","),
    ("int2", 21, 1005, "smallint", ","),
    ("int2vector", 22, 1006, "", ","),
    ("int4", 23, 1007, "integer", ","),
    ("int8", 20, 1016, "bigint", ","),
    ("interval", 1186, 1187, "", ","),
    ("json", 114, 199, "", ","),
    ("jsonb", 3802, 3807, "", ","),
    ("jsonpath", 4072, 4073, "", ","),
    ("line", 628, 629, "", ","),
    ("lseg", 601, 1018, "", ","),
    ("macaddr", 829, 1040, "", ","),
    ("macaddr8", 774, 775, "", ","),
    ("money", 790, 791, "", ","),
    ("name", 19, 1003, "", ","),
    ("numeric", 1700, 1231, "", ","),
    ("oid", 26, 1028, "", ","),
    ("oidvector", 30, 1013, "", ","),
    ("path", 602, 1019, "", ","),
    ("pg_lsn", 3220, 3221, "", ","),
    ("point", 600, 1017, "", ","),
    ("polygon", 604, 1027, "", ","),
    ("record", 2249, 2287, "", ","),
    ("refcursor", 1790, 2201, "", ","),
    ("regclass", 2205, 2210, "", ","),
    ("regcollation", 4191, 4192, "", ","),
    ("regconfig", 3734, 3735, "", ","),
    ("regdictionary", 3769, 3770, "", ","),
    ("regnamespace", 4089, 4090, "", ","),
    ("regoper", 2203, 2208, "", ","),
    ("regoperator", 2204, 2209, "", ","),
    ("regproc", 24, 1008, "", ","),
    ("regprocedure", 2202, 2207, "", ","),
    ("regrole", 4096, 4097, "", ","),
    ("regtype", 2206, 2211, "", ","),
    ("text", 25, 1009, "", ","),
    ("tid", 27, 1010, "", ","),
    ("time", 1083, 1183, "time without time zone", ","),
    ("timestamp", 1114, 1115, "timestamp without time zone", ","),
    ("timestamptz", 1184, 1185, "timestamp with time zone", ","),
    ("timetz", 1266, 1270, "time with time zone", ","),
    ("tsquery", 3615, 3645, "", ","),
    ("tsvector", 3614, 3643, "", ","),
    ("txid_snapshot", 2970, 2949, "", ","),
    ("uuid", 2950, 2951, "", ","),
    ("varbit", 1562, 1563, "bit varying", ","),
    ("varchar", 1043, 1015, "character varying", ","),
    ("xid", 28, 1011, "", ","),
    ("xid8", 5069, 271, "", ","),
    ("xml", 142, 143, "", ","),
]

BUILTIN_RANGES: list[tuple[str, int, int, int]] = [
    ("daterange", 3912, 3913, 1082),
    ("int4range", 3904, 3905, 23),
    ("int8range", 3926, 3927, 20),
    ("numrange", 3906, 3907, 1700),
    ("tsrange", 3908, 3909, 1114),
    ("tstzrange", 3910, 3911, 1184),
]

BUILTIN_MULTIRANGES: list[tuple[str, int, int, int, int]] = [
    ("datemultirange", 4535, 6155, 3912, 1082),
    ("int4multirange", 4451, 6150, 3904, 23),
    ("int8multirange", 4536, 6157, 3926, 20),
    ("nummultirange", 4532, 6151, 3906, 1700),
    ("tsmultirange", 4533, 6152, 3908, 1114),
    ("tstzmultirange", 4534, 6153, 3910, 1184),
]


def register_default_types(types: TypesRegistry) -> None:
    for name, oid, array_oid, regtype, delim in BUILTIN_TYPES:
        types.add(TypeInfo(name, oid, array_oid, regtype=regtype, delimiter=delim))
    for name, oid, array_oid, sub in BUILTIN_RANGES:
        types.add(RangeInfo(name, oid, array_oid, subtype_oid=sub))
    for name, oid, array_oid, rng, sub in BUILTIN_MULTIRANGES:
        types.add(MultirangeInfo(name, oid, array_oid, range_oid=rng, subtype_oid=sub))


# -- type modifiers (the atttypmod of a column: lengths, precisions, scales) -----------------

_NUMERIC = 1700
_CHAR_TYPES = frozenset((1042, 1043))  # bpchar, varchar
_BIT_TYPES = frozenset((1560, 1562))  # bit, varbit
_TIME_TYPES = frozenset((1083, 1114, 1184, 1266))  # time, timestamp, timestamptz, timetz
_INTERVAL = 1186


def numeric_scale(fmod: int) -> int:
    """The scale packed in a numeric typmod (negative since PostgreSQL 15: 11-bit signed)."""
    scale = (fmod - 4) & 0xFFFF
    return scale - 0x800 if scale >= 0x400 else scale


def type_modifiers(oid: int, fmod: int) -> tuple[int, ...] | None:
    """The modifiers a type was declared with, from its typmod (None: none, or unknown)."""
    if fmod < 0:
        return None
    if oid == _NUMERIC:
        return (fmod >> 16, numeric_scale(fmod))
    if oid in _CHAR_TYPES:
        return (fmod - 4,) if fmod - 4 else None
    if oid in _BIT_TYPES:
        return (fmod,) if fmod else None
    if oid in _TIME_TYPES:
        return (fmod & 0xFFFF,)
    if oid == _INTERVAL:
        precision = fmod & 0xFFFF
        return None if precision == 0xFFFF else (precision,)
    return None
