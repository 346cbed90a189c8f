"""Catch up on tickets changed in Zammad while the adapter did not hear about them.

Searches tickets by `updated_at` from a watermark and puts each change into the inbox, keyed
`reconcile:<ticket>:<updated_at>`, so the change goes through the same pipeline as a webhook
(a ticket already counted is not counted again) and a change seen twice is stored once. The
watermark advances page by page, in the transaction that stores the page's inbox rows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.zammad.client import ZammadClient
from mappings.zammad import HELPDESK

CHECKPOINT = "zammad_reconcile"
FIRST_LOOK_BACK = timedelta(days=1)  # without a watermark or --since
PAGE = 100


def reconcile(
    client: ZammadClient, store: Any, now: datetime, since: datetime | None = None
) -> int:
    """Enqueue every ticket changed since `since` (else the watermark, else a day ago);
    returns how many changes were new to the inbox."""
    if since is None:
        with store.session() as session:
            mark = store.checkpoint(session, CHECKPOINT)
        since = datetime.fromisoformat(mark["updated_at"]) if mark else now - FIRST_LOOK_BACK
    query = f"updated_at:>={_zammad_time(since)}"
    # A change whose last author is the adapter itself is its own write-back: the change it
    # answered was decided on already (the worker re-reads the ticket before deciding).
    own = client.me()["id"]
    new = 0
    page = 1
    while True:
        tickets = client.search_tickets(query, page=page, per_page=PAGE)
        with store.session() as session:
            for ticket in (t for t in tickets if t.get("updated_by_id") != own):
                new += store.accept_inbox(
                    session,
                    helpdesk=HELPDESK,
                    delivery_id=f"reconcile:{ticket['id']}:{ticket['updated_at']}",
                    ticket_id=str(ticket["id"]),
                    trigger="reconcile",
                    payload=json.dumps({"ticket": ticket, "article": {}}),
                    now=now,
                )
            if tickets:
                newest = max(_parse(t["updated_at"]) for t in tickets)
                mark = store.checkpoint(session, CHECKPOINT)
                if not mark or newest > datetime.fromisoformat(mark["updated_at"]):
                    store.set_checkpoint(
                        session, CHECKPOINT, {"updated_at": newest.isoformat()}, now
                    )
        if len(tickets) < PAGE:
            return new
        page += 1


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _zammad_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
