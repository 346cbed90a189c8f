"""`/healthz` (the process answers) and `/readyz` (the database is reachable and migrated; with
a warning while dead letters wait for someone)."""

from __future__ import annotations

from flask import Blueprint, current_app
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from adapter.store import is_migrated

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    store = current_app.extensions["entitlements"].store
    try:
        ready = is_migrated(store.engine)
    except SQLAlchemyError:
        return {"status": "unavailable", "reason": "database unreachable"}, 503
    if not ready:
        return {"status": "unavailable", "reason": "database not migrated"}, 503
    with store.session() as session:
        dead, newest = store.dead_letter_summary(session)
    if dead:
        # Ready all the same (the web tier still accepts), but someone must look: a dead letter
        # says what could not be done and, where it can, what fixes it.
        warning = f"{dead} dead letter(s); the newest, {newest}. See `entitlements dead-letters`."
        return {"status": "ok", "warnings": [warning]}
    return {"status": "ok"}
