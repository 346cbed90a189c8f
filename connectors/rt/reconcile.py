"""Catch up on tickets changed in RT, with nothing installed in RT: TicketSQL on LastUpdated.

RT's Scrip posts each change once and never retries, so polling is what makes the adapter
whole after it was down. Each change goes into the inbox keyed `reconcile:<ticket>:<time>`,
through the same pipeline as a webhook, so a change seen twice is stored once and a ticket
counted once stays counted once.

Two kinds of change do not show in a ticket search (checked against RT 5.0.3): a merged
ticket keeps its LastUpdated and leaves every search that does not name EffectiveId
(RT/Tickets.pm, the IsMerged limit), and a deleted ticket leaves every REST 2 search
(RT/Tickets.pm FromSQL adds `Status != 'deleted'`). Both are found by their transactions.

Paging: ordered by (LastUpdated, id) and read from the newest time seen, not by page number,
so a ticket that changes during the run moves behind the bound and is read again instead of
shifting the others so that one is skipped. RT's times are whole seconds and `=` on a date
means the whole day, so the bound is `>=` that second and what was read is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.rt.client import PAGE, RtClient, rt_time
from mappings.rt import HELPDESK, RtMapping

CHECKPOINT = "rt_reconcile"
FIRST_LOOK_BACK = timedelta(days=1)
# A change RT stamped but had not committed when the previous run read past its second.
OVERLAP = timedelta(minutes=1)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def queues(mapping: RtMapping) -> str:
    names = " OR ".join(f"Queue = '{quoted(q)}'" for q in sorted(mapping.support_queues))
    return f"({names})"


def quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def changed_tickets(
    client: RtClient, mapping: RtMapping, since: datetime
) -> Iterator[list[dict[str, Any]]]:
    """Pages of tickets of the support queues changed at or after `since`, oldest first."""
    bound, seen_at_bound, page = since.replace(microsecond=0), set[str](), 1
    while True:
        query = f"{queues(mapping)} AND LastUpdated >= '{rt_time(bound)}'"
        answer = client.search_page(
            query, page, fields="LastUpdated", orderby=["LastUpdated", "id"], order=["ASC", "ASC"]
        )
        items = answer.get("items") or []
        fresh = [
            t for t in items if not (_time(t["LastUpdated"]) == bound and t["id"] in seen_at_bound)
        ]
        if fresh:
            yield fresh
        if len(items) < PAGE:
            return
        newest = _time(items[-1]["LastUpdated"])
        if newest == bound:  # a whole page within one second: on by number
            page += 1
        else:
            bound, page = newest, 1
        seen_at_bound = {t["id"] for t in items if _time(t["LastUpdated"]) == bound}


def merged_and_deleted(
    client: RtClient, mapping: RtMapping, since: datetime
) -> Iterator[dict[str, Any]]:
    """Transactions since `since` that merged a ticket away or deleted one: for a merge RT
    writes one on each side, both naming the survivor; the merged ticket is the other."""
    ticket_queues = queues(mapping).replace("Queue =", "TicketQueue =")
    query = (
        f"{ticket_queues} AND Created >= '{rt_time(since)}' AND ("
        "(Type = 'AddLink' AND Field = 'MergedInto') OR (Type = 'Status' AND NewValue = 'deleted'))"
    )
    for t in client.transactions(query, "ObjectId,Type,Field,NewValue,Created"):
        survivor = str(t.get("NewValue") or "").rsplit("/", 1)[-1]
        if t.get("Type") == "AddLink" and str(t.get("ObjectId")) == survivor:
            continue
        yield t


def reconcile(
    client: RtClient, mapping: RtMapping, store: Any, now: datetime, since: datetime | None = None
) -> int:
    """Enqueue every change since `since` (else the watermark less OVERLAP, else a day ago);
    returns how many were new to the inbox. The watermark moves with each page, in the
    transaction that stores the page's rows."""
    if since is None:
        with store.session() as session:
            mark = store.checkpoint(session, CHECKPOINT)
        since = (
            datetime.fromisoformat(mark["updated_at"]) - OVERLAP if mark else now - FIRST_LOOK_BACK
        )
    new = 0
    for t in merged_and_deleted(client, mapping, since):
        with store.session() as session:
            new += _accept(store, session, t["ObjectId"], f"reconcile:transaction:{t['id']}", now)
    for page in changed_tickets(client, mapping, since):
        with store.session() as session:
            for ticket in page:
                key = f"reconcile:{ticket['id']}:{ticket['LastUpdated']}"
                new += _accept(store, session, ticket["id"], key, now)
            newest = max(_time(t["LastUpdated"]) for t in page)
            mark = store.checkpoint(session, CHECKPOINT)
            if not mark or datetime.fromisoformat(mark["updated_at"]) < newest:
                store.set_checkpoint(session, CHECKPOINT, {"updated_at": newest.isoformat()}, now)
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
