"""Server-side sign-out for the admin page's signed-cookie sessions.

Flask's session lives in the cookie, so clearing it on sign-out does not stop a copy of the old
cookie from working. Each signed-in session therefore carries a random id, and signing out
records that id as revoked in the database (a row of the checkpoints table), where every web
process checks it on each signed-in request. Rows older than the session lifetime are removed:
by then the cookie's own signed timestamp refuses it anyway.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from adapter.store import Store
from adapter.store.models import CheckpointRow

REVOKED = "admin_session_revoked:"  # + the session id; the checkpoints table's name is 64 long
ID_BYTES = 24  # 32 characters


def new_session_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def is_live(store: Store, session_id: object) -> bool:
    """A session id of ours that was not signed out."""
    if not isinstance(session_id, str) or not 0 < len(session_id) <= 2 * ID_BYTES:
        return False  # a cookie from before sessions had ids, or not ours
    with store.session() as db:
        return store.checkpoint(db, REVOKED + session_id) is None


def revoke(store: Store, session_id: str, now: datetime, lifetime: timedelta) -> None:
    try:
        with store.session() as db:
            db.execute(
                delete(CheckpointRow).where(
                    CheckpointRow.name.startswith(REVOKED, autoescape=True),
                    CheckpointRow.updated_at < now - lifetime,
                )
            )
            store.set_checkpoint(db, REVOKED + session_id, {}, now)
    except IntegrityError:
        pass  # signed out twice at once: the other request recorded it


def is_revocation(checkpoint: str) -> bool:
    """Not a sync position (metrics report only those)."""
    return checkpoint.startswith(REVOKED)
