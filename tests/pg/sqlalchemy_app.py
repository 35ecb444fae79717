"""SQLAlchemy 2.0 over ``postgresql+psycopg`` / ``postgresql+psycopg_async``, as an application
would use it; prints what it saw as JSON. Run by test_sqlalchemy.py in a fresh interpreter:

    python sqlalchemy_app.py balrog|psycopg SCENARIO DSN SCHEMA

With ``balrog`` the script calls ``balrog.psycopg.install_as_psycopg()`` first, so the
dialect's own ``import psycopg`` lines get balrog's driver; with ``psycopg`` it runs on the
real one. The test compares the two outputs. Each scenario works in its own schema.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import ipaddress
import json
import sys
import threading
import uuid
from typing import Any

DRIVER, SCENARIO, DSN, SCHEMA = sys.argv[1:5]
if DRIVER == "balrog":
    import balrog.psycopg

    balrog.psycopg.install_as_psycopg()

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import exc, orm  # noqa: E402
from sqlalchemy.dialects import postgresql as pg  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # noqa: E402

assert (psycopg.__name__ == "balrog.psycopg") == (DRIVER == "balrog"), psycopg.__name__


def url(driver: str) -> str:
    return DSN.replace("postgresql://", f"postgresql+{driver}://", 1)


def plain(value: Any) -> Any:
    """A JSON-comparable rendering of what the driver returned (types included)."""
    if isinstance(value, (list, tuple, sa.Row)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, str, float)):
        return value
    if isinstance(value, (decimal.Decimal, dt.date, dt.time, dt.timedelta, uuid.UUID)):
        return f"{type(value).__name__}:{value}"
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network)):
        return f"{type(value).__name__}:{value}"
    if isinstance(value, pg.Range):
        return f"Range:{value.lower}:{value.upper}:{value.bounds}:{value.empty}"
    return f"{type(value).__name__}:{value!r}"


def error(err: BaseException) -> dict[str, Any]:
    orig = getattr(err, "orig", None)
    return {
        "sa": type(err).__name__,
        "driver": type(orig).__name__ if orig is not None else None,
        "sqlstate": getattr(orig, "sqlstate", None),
        "constraint": getattr(getattr(orig, "diag", None), "constraint_name", None),
    }


metadata = sa.MetaData(schema=SCHEMA)
items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
    sa.Column("name", sa.String(50), unique=True, nullable=False),
    sa.Column("data", pg.JSONB),
    sa.Column("tags", pg.ARRAY(sa.Text)),
    sa.Column("span", pg.INT4RANGE),
    sa.Column("amount", sa.Numeric(12, 3)),
    sa.Column("at", sa.DateTime(timezone=True)),
    sa.Column("uid", sa.Uuid),
    sa.Column("ip", pg.INET),
    sa.Column("flag", sa.Boolean),
)

ROWS = [
    {
        "name": f"item{i}",
        "data": {"k": f"v{i % 3}", "n": i, "nested": [i, {"x": None}]},
        "tags": ["a", f"t{i}"] if i % 2 else [],
        "span": pg.Range(i, i + 10),
        "amount": decimal.Decimal(f"{i}.125"),
        "at": dt.datetime(2024, 1, 1 + i, 12, 30, tzinfo=dt.UTC),
        "uid": uuid.UUID(int=i + 1),
        "ip": f"10.0.0.{i}",
        "flag": i % 2 == 0,
    }
    for i in range(7)
]


def core() -> dict[str, Any]:
    out: dict[str, Any] = {}
    engine = sa.create_engine(url("psycopg"), pool_pre_ping=True)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        metadata.create_all(conn)
        # insertmanyvalues: one INSERT ... RETURNING for many parameter sets
        returned = conn.execute(items.insert().returning(items.c.id, items.c.name), ROWS).all()
        out["returned"] = plain(returned)
    with engine.connect() as conn:
        out["rows"] = plain(conn.execute(sa.select(items).order_by(items.c.id)).all())
        out["json_path"] = plain(
            conn.execute(sa.select(items.c.name).where(items.c.data["k"].astext == "v1").order_by(items.c.id))
            .scalars()
            .all()
        )
        out["array_any"] = plain(
            conn.execute(sa.select(items.c.name).where(items.c.tags.any("t3"))).scalars().all()
        )
        out["range_contains"] = plain(
            conn.execute(sa.select(items.c.name).where(items.c.span.contains(12)).order_by(items.c.id))
            .scalars()
            .all()
        )
        out["text"] = plain(
            conn.execute(
                sa.text("SELECT :a + :b AS s, CAST(:c AS TEXT) AS c"), {"a": 1, "b": 2, "c": "x'y"}
            ).all()
        )
        out["driver_sql"] = plain(
            conn.exec_driver_sql("SELECT %(a)s::int * 2, %(b)s", {"a": 21, "b": "ok"}).all()
        )
        updated = conn.execute(items.update().where(items.c.id > 4).values(flag=None))
        out["update_rowcount"] = updated.rowcount
        try:
            conn.execute(items.insert().values(name="item1"))
        except exc.IntegrityError as err:
            out["duplicate"] = error(err)
        conn.rollback()
        out["after_rollback"] = plain(conn.execute(sa.select(sa.func.count()).select_from(items)).scalar())
        conn.rollback()
        with conn.begin():
            conn.execute(items.insert().values(name="kept"))
            try:
                with conn.begin_nested():
                    conn.execute(items.insert().values(name="gone"))
                    conn.execute(sa.text("SELECT 1/0"))
            except exc.DataError as err:
                out["division"] = error(err)
        out["names_after_savepoint"] = plain(
            conn.execute(sa.select(items.c.name).where(items.c.name.in_(["kept", "gone"]))).scalars().all()
        )
        conn.commit()
        # a server-side cursor, read in partitions
        streamed = conn.execution_options(stream_results=True, yield_per=3).execute(
            sa.select(items.c.id).order_by(items.c.id)
        )
        out["partitions"] = [plain(list(p)) for p in streamed.partitions()]
        conn.commit()
        serial = conn.execution_options(isolation_level="SERIALIZABLE")
        out["isolation"] = serial.get_isolation_level()
        serial.rollback()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        out["autocommit_isolation"] = conn.get_isolation_level()
        out["server_version_major"] = conn.dialect.server_version_info[0] >= 10
    inspector = sa.inspect(engine)
    out["columns"] = [
        (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns("items", SCHEMA)
    ]
    out["unique"] = [u["column_names"] for u in inspector.get_unique_constraints("items", SCHEMA)]
    engine.dispose()
    return out


class Base(orm.DeclarativeBase):
    metadata = sa.MetaData(schema=SCHEMA)


class User(Base):
    __tablename__ = "users"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(30), unique=True)
    prefs: orm.Mapped[dict[str, Any] | None] = orm.mapped_column(pg.JSONB)
    addresses: orm.Mapped[list[Address]] = orm.relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Address.id"
    )


class Address(Base):
    __tablename__ = "addresses"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    email: orm.Mapped[str]
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey(User.id))
    user: orm.Mapped[User] = orm.relationship(back_populates="addresses")


def orm_scenario() -> dict[str, Any]:
    out: dict[str, Any] = {}
    engine = sa.create_engine(url("psycopg"))
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with orm.Session(engine) as session:
        for i in range(5):
            session.add(
                User(
                    name=f"u{i}",
                    prefs={"theme": "dark" if i % 2 else "light", "i": i},
                    addresses=[Address(email=f"u{i}-{j}@example.org") for j in range(i % 3)],
                )
            )
        session.commit()
        users = session.scalars(
            sa.select(User).options(orm.selectinload(User.addresses)).order_by(User.id)
        ).all()
        out["users"] = [(u.id, u.name, u.prefs, [a.email for a in u.addresses]) for u in users]
        joined = session.execute(
            sa.select(User.name, sa.func.count(Address.id))
            .outerjoin(Address)
            .group_by(User.name)
            .order_by(User.name)
        ).all()
        out["counts"] = plain(joined)
        user = session.get(User, 2)
        assert user is not None
        user.name = "renamed"
        user.addresses.pop()
        session.commit()
        out["after_update"] = plain(
            session.execute(sa.select(User.name, sa.func.count(Address.id)).join(Address).group_by(User.name)
                            .order_by(User.name)).all()
        )  # fmt: skip
        session.add(User(name="u0"))
        try:
            session.commit()
        except exc.IntegrityError as err:
            out["duplicate"] = error(err)
            session.rollback()
        out["total"] = session.scalar(sa.select(sa.func.count()).select_from(User))
        session.delete(session.get(User, 3))
        session.commit()
        out["addresses_left"] = session.scalar(sa.select(sa.func.count()).select_from(Address))
        out["dark"] = session.scalars(
            sa.select(User.name).where(User.prefs["theme"].astext == "dark").order_by(User.id)
        ).all()
    engine.dispose()
    return out


async def async_scenario() -> dict[str, Any]:
    out: dict[str, Any] = {}
    engine = create_async_engine(url("psycopg_async"))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
        out["returned"] = plain(
            (await conn.execute(items.insert().returning(items.c.id, items.c.name), ROWS)).all()
        )
    async with engine.connect() as conn:
        out["rows"] = plain((await conn.execute(sa.select(items).order_by(items.c.id))).all())
        result = await conn.stream(sa.select(items.c.name).order_by(items.c.id))
        out["streamed"] = [row.name async for row in result]
        try:
            await conn.execute(items.insert().values(name="item2"))
        except exc.IntegrityError as err:
            out["duplicate"] = error(err)
        await conn.rollback()
        out["count"] = (await conn.execute(sa.select(sa.func.count()).select_from(items))).scalar()
    async with AsyncSession(engine) as session:
        row = (await session.execute(sa.select(items.c.data).where(items.c.name == "item4"))).scalar_one()
        out["session_json"] = row

    async def one(i: int) -> Any:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text("SELECT :i * 10"), {"i": i})).scalar()

    out["gathered"] = await asyncio.gather(*(one(i) for i in range(8)))
    await engine.dispose()
    return out


def green_scenario(pooled_by: str) -> dict[str, Any]:
    """Sync SQLAlchemy code in green tasks: sessions wait on the server at once, one thread.

    SQLAlchemy guards its first connect (dialect initialisation, which does I/O) and its
    QueuePool with ``threading`` locks and conditions, which a green task cannot wait on
    without stopping the thread (docs/pg.md, "SQLAlchemy"). So: connect once before fanning
    out, and either give the QueuePool room for every task or let balrog's pool (whose
    waits suspend only the task) hand out the connections.
    """
    from sqlalchemy.pool import NullPool

    import balrog

    if pooled_by == "sqlalchemy":
        engine = sa.create_engine(url("psycopg"), pool_size=10, max_overflow=0)
        pool = None
    else:
        from psycopg_pool import ConnectionPool

        class PooledConnection(psycopg.Connection[Any]):
            # SQLAlchemy's recipe for an external pool: NullPool closes what it checked
            # out, and close() gives a pool's connection back.
            def close(self) -> None:
                if (owner := getattr(self, "_pool", None)) is not None:
                    owner.putconn(self)
                else:
                    super().close()

        pool = ConnectionPool(DSN, min_size=0, max_size=5, open=True, connection_class=PooledConnection)
        engine = sa.create_engine("postgresql+psycopg://", poolclass=NullPool, creator=pool.getconn)
    state = {"in_flight": 0, "max": 0}
    threads: set[int] = set()

    def one(i: int) -> int:
        threads.add(threading.get_ident())
        with engine.connect() as conn:
            state["in_flight"] += 1
            state["max"] = max(state["max"], state["in_flight"])
            value = conn.execute(sa.text("SELECT :i FROM pg_sleep(0.3)"), {"i": i}).scalar()
            state["in_flight"] -= 1
            return int(value)

    def main() -> list[int]:
        with engine.connect():
            pass  # the first connect initialises the dialect, under a threading.Lock
        return balrog.gather(*(lambda i=i: one(i) for i in range(10)))

    values = balrog.run(main)
    engine.dispose()
    if pool is not None:
        out_stats = pool.get_stats()
        pool.close()
        assert out_stats["connections_num"] <= 5, out_stats
    return {"values": values, "max_in_flight": state["max"], "threads": len(threads)}


SCENARIOS = {
    "core": core,
    "orm": orm_scenario,
    "async": lambda: asyncio.run(async_scenario()),
    "green": lambda: green_scenario("sqlalchemy"),
    "green_pool": lambda: green_scenario("balrog"),
}

if __name__ == "__main__":
    engine = sa.create_engine(url("psycopg"))
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{SCHEMA}"'))
    engine.dispose()
    print(json.dumps(SCENARIOS[SCENARIO](), default=plain, sort_keys=True))
