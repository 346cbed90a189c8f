"""Catch up on tickets changed in RT, with nothing installed in RT: TransactionSQL.

RT's Scrip posts each change once and never retries, so polling is what makes the adapter
whole after it was down. Each changed ticket goes into the inbox keyed
`reconcile:transaction:<id>` (its newest transaction read), through the same pipeline as a
webhook, so a change seen twice is stored once and a ticket counted once stays counted once.

A change is a transaction on a ticket of the support queues by anyone but the adapter's own
RT user. A ticket search on LastUpdated would also find every ticket the adapter has just
written to, and decide it again, once per write-back; and it misses two kinds of change
(checked against RT 5.0.3): a merged ticket keeps its LastUpdated and leaves every search that
does not name EffectiveId (RT/Tickets.pm, the IsMerged limit), and a deleted ticket leaves
every REST 2 ticket search (RT/Tickets.pm FromSQL adds `Status != 'deleted'`). Their
transactions stay, each on its own ticket: the merge's AddLink on both sides, the deletion's
Status change. TicketQueue joins Tickets on the transaction's ObjectId alone
(RT/Transactions.pm `_JoinTickets`), hence `ObjectType = 'RT::Ticket'`.

Pages are read by transaction id (`RtClient.transaction_pages`). The watermark is the newest
transaction's time read; the next run starts OVERLAP before it, for a transaction RT numbered
before one already read but committed after it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.rt.client import RtClient, rt_time
from mappings.rt import HELPDESK, RtMapping

CHECKPOINT = "rt_reconcile"
FIRST_LOOK_BACK = timedelta(days=1)
# A change RT stamped but had not committed when the previous run read past it.
OVERLAP = timedelta(minutes=1)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def queues(mapping: RtMapping) -> str:
    names = " OR ".join(f"Queue = '{quoted(q)}'" for q in sorted(mapping.support_queues))
    return f"({names})"


def quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def changes(
    client: RtClient, mapping: RtMapping, since: datetime
) -> Iterator[list[dict[str, Any]]]:
    """Pages of the transactions on tickets of the support queues made at or after `since` by
    anyone but the adapter, oldest first."""
    ticket_queues = queues(mapping).replace("Queue =", "TicketQueue =")
    query = (
        f"ObjectType = 'RT::Ticket' AND {ticket_queues} AND Created >= '{rt_time(since)}'"
        f" AND Creator != '{quoted(client.user_name())}'"
        # RT's records of mail it sent: no change, and hidden without ShowOutgoingEmail
        " AND Type != 'EmailRecord' AND Type != 'CommentEmailRecord'"
    )
    yield from client.transaction_pages(query, "ObjectId,Created")


def reconcile(
    client: RtClient, mapping: RtMapping, store: Any, now: datetime, since: datetime | None = None
) -> int:
    """Enqueue every ticket changed since `since` (else the watermark less OVERLAP, else a day
    ago), once per page it appears in; returns how many were new to the inbox. The watermark
    moves with each page, in the transaction that stores the page's rows."""
    if since is None:
        with store.session() as session:
            mark = store.checkpoint(session, CHECKPOINT)
        since = (
            datetime.fromisoformat(mark["updated_at"]) - OVERLAP if mark else now - FIRST_LOOK_BACK
        )
    new = 0
    for page in changes(client, mapping, since):
        newest = {str(t["ObjectId"]): t["id"] for t in page}  # oldest first: the last one wins
        with store.session() as session:
            for ticket_id, transaction in newest.items():
                key = f"reconcile:transaction:{transaction}"
                new += _accept(store, session, ticket_id, key, now)
            latest = max(_time(t["Created"]) for t in page)
            mark = store.checkpoint(session, CHECKPOINT)
            if not mark or datetime.fromisoformat(mark["updated_at"]) < latest:
                store.set_checkpoint(session, CHECKPOINT, {"updated_at": latest.isoformat()}, now)
    return new


def _accept(store: Any, session: Any, ticket_id: Any, delivery_id: str, now: datetime) -> bool:
    return store.accept_inbox(
        session,
        helpdesk=HELPDESK,
        delivery_id=delivery_id,
        ticket_id=str(ticket_id),
        trigger="reconcile",
        payload=json.dumps({"ticket_id": int(ticket_id)}),
        now=now,
    )
