"""Alembic migrations of the store; run them with `adapter.store.upgrade`."""
