"""The store: one SQL database (SQLite file or PostgreSQL), SQLAlchemy 2, Alembic migrations."""

from adapter.store.database import (
    alembic_config,
    downgrade,
    is_migrated,
    make_engine,
    normalise_url,
    upgrade,
)
from adapter.store.models import Base
from adapter.store.repository import Store, UpsertReport, jsonable

__all__ = [
    "Base",
    "Store",
    "UpsertReport",
    "alembic_config",
    "downgrade",
    "is_migrated",
    "jsonable",
    "make_engine",
    "normalise_url",
    "upgrade",
]
