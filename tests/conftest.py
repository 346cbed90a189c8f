"""Shared fixtures. The database under test: ENTITLEMENTS_TEST_DATABASE_URL, or a fresh SQLite
file when unset. Tests marked `postgres` skip unless that URL is PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, MetaData, inspect, text
from sqlalchemy.exc import OperationalError

from adapter.logs import configure_logging
from adapter.settings import Settings
from adapter.store import Store, make_engine, normalise_url, upgrade

DATABASE_ENV = "ENTITLEMENTS_TEST_DATABASE_URL"
NEEDS_POSTGRES = f"needs PostgreSQL: set {DATABASE_ENV}=postgresql://…"


def _configured_url() -> str | None:
    return os.environ.get(DATABASE_ENV) or None


def _is_postgres(url: str | None) -> bool:
    return url is not None and normalise_url(url).get_backend_name() == "postgresql"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _is_postgres(_configured_url()):
        return
    skip = pytest.mark.skip(reason=NEEDS_POSTGRES)
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def production_logging() -> None:
    """Every test runs under the logging that `serve` and gunicorn configure (JSON lines at the
    default level, INFO): a log call that fails only when its record is built (an `extra` key
    that `logging` reserves) fails the test instead of hiding below a quieter level."""
    configure_logging(Settings().log_level)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated to head, once per session. A configured one is emptied first,
    tables and alembic_version included, so every run migrates from scratch."""
    url = _configured_url()
    if url is None:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'entitlements.db'}"
    else:
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                existing = MetaData()
                existing.reflect(connection)
                existing.drop_all(connection)
                if connection.dialect.name == "postgresql":  # types outlive their tables
                    for enum in inspect(connection).get_enums():
                        connection.execute(text(f'DROP TYPE "{enum["name"]}"'))
        except OperationalError as error:
            # A configured database that cannot be reached is a broken CI, not a skip.
            pytest.fail(f"cannot reach {DATABASE_ENV} ({error.orig})", pytrace=False)
        finally:
            engine.dispose()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def empty_database(engine: Engine) -> Callable[[], None]:
    """Deletes every row of every migrated table (whichever module defines it)."""
    with engine.connect() as connection:
        existing = MetaData()
        existing.reflect(connection)
    tables = [t for t in reversed(existing.sorted_tables) if t.name != "alembic_version"]

    def empty() -> None:
        if not tables:
            return
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                quote = connection.dialect.identifier_preparer.quote
                names = ", ".join(quote(table.name) for table in tables)
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:  # children first
                    connection.execute(table.delete())

    return empty


@pytest.fixture
def store(engine: Engine, empty_database: Callable[[], None]) -> Store:
    empty_database()
    return Store(engine)
