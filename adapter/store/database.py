"""Engines for SQLite and PostgreSQL, and the Alembic migrations, run without an alembic.ini."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Any constant: serialises `upgrade` across instances starting at once on PostgreSQL.
MIGRATION_LOCK_KEY = 0x656E7469746C  # "entitl"


def normalise_url(url: str | URL) -> URL:
    """The URL as the engine needs it: plain `postgresql://` (or `postgres://`) URLs get the
    psycopg 3 driver; SQLAlchemy would otherwise pick psycopg2, which is not installed."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for `url`; `kwargs` go to `create_engine`."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    # Workers hold connections for long; the server may have closed them in between.
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Python's sqlite3 module only opens a transaction before INSERT/UPDATE/DELETE, so a
        # read-then-write is not isolated and SAVEPOINT and DDL escape the transaction. Turn its
        # handling off and begin transactions ourselves (`_on_begin`).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")  # readers do not block the writer
            cursor.execute("PRAGMA foreign_keys = ON")
            # WAL with NORMAL: a commit survives a crash of the process, not of the machine;
            # what an OS crash could take back, reconcile fetches again from the helpdesk.
            cursor.execute("PRAGMA synchronous = NORMAL")
            # What is deleted or overwritten (purged payloads) is zeroed in the file, not just
            # marked free; `erase_wal` then takes the old pages out of the -wal file too.
            cursor.execute("PRAGMA secure_delete = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        # IMMEDIATE takes the write lock up front, waiting up to the busy timeout. A deferred
        # transaction that read first fails at once with "database is locked" when it tries to
        # write after another connection committed; IMMEDIATE turns that into a wait.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def erase_wal(engine: Engine) -> None:
    """SQLite: copy the -wal file into the database and truncate it, so that page versions
    from before a purge are gone from disk. PostgreSQL keeps old row versions until VACUUM
    (see docs/operations.md, "Personal data"); nothing to do here."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, from the installed package rather than an alembic.ini."""
    config = Config()
    location = str(resources.files("adapter") / "migrations")
    config.set_main_option("script_location", location.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@dataclass(frozen=True)
class Migrated:
    """What a migration run did: the revision before and after (None: none of our tables)."""

    before: str | None
    after: str | None


def upgrade(target: str | URL | Engine, revision: str = "head") -> Migrated:
    """Migrate the database to `revision` (default: the newest). An in-memory SQLite database
    must be given as its Engine: a URL gets an engine of its own, disposed afterwards."""
    return _migrate(target, lambda config: command.upgrade(config, revision))


def downgrade(target: str | URL | Engine, revision: str) -> Migrated:
    """Migrate the database back to `revision` ("base": no tables left)."""
    return _migrate(target, lambda config: command.downgrade(config, revision))


def _migrate(target: str | URL | Engine, run: Callable[[Config], None]) -> Migrated:
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                return _migrate_sqlite(connection, run)
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                return _run(connection, run)
    finally:
        if engine is not target:
            engine.dispose()


def _run(connection: Connection, run: Callable[[Config], None]) -> Migrated:
    """`run` on `connection`, in its transaction, and the revisions around it (read in that
    transaction: on PostgreSQL after the lock, so a starter that waited sees the other's)."""
    before = MigrationContext.configure(connection).get_current_revision()
    run(alembic_config(connection))
    return Migrated(before, MigrationContext.configure(connection).get_current_revision())


def _migrate_sqlite(connection: Connection, run: Callable[[Config], None]) -> Migrated:
    # SQLite alters a table by copying it and dropping the old one (Alembic's batch mode); with
    # foreign keys on, that drop fails or cascades. They go off for the migration (a pragma that
    # only works outside a transaction, hence the raw connection) and are checked before commit.
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        with connection.begin():
            migrated = _run(connection, run)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:5]}")
        return migrated
    finally:
        raw.execute("PRAGMA foreign_keys = ON")


@cache
def _heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def is_migrated(engine: Engine) -> bool:
    """True when the database is at the newest revision. Raises if it cannot be reached."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return frozenset(current) == _heads()
