"""Catch up on tickets changed in Zammad while the adapter did not hear about them.

Reads the tickets changed since a watermark and puts each change into the inbox, keyed
`reconcile:<ticket>:<updated_at>`, so it goes through the same pipeline as a webhook (a ticket
already counted is not counted again) and a change seen twice is stored once.

How it reads Zammad: POST /tickets/search with a selector condition on `updated_at` and no
query. Without a query Zammad answers from its database even when Elasticsearch is configured
(app/models/concerns/can_search.rb). A query would go to Elasticsearch's query_string, which
refuses an unescaped ':' such as a time's, and Zammad answers a refused query with an empty
list (lib/search_index_backend.rb); without Elasticsearch a query is a LIKE on titles and
articles (app/models/ticket/search.rb), with no field syntax at all.

Paging: ordered by (updated_at, id), 200 a page (the search's maximum), each page starting
after the last ticket of the one before, not at an offset: a ticket that changes during the
run moves behind the bound and is read again, instead of shifting the others so that one is
skipped. The watermark is the newest change read, written in the transaction that stores the
page's inbox rows.

The customer re-check reads the same way: the customer's organisations and their open tickets
by condition, paged by id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.zammad.client import SEARCH_PAGE, ConditionIgnored, ZammadClient
from mappings.zammad import HELPDESK

CHECKPOINT = "zammad_reconcile"
FIRST_LOOK_BACK = timedelta(days=1)  # without a watermark or --since
# Each run reads the last minute before the watermark again: a change Zammad stamped but had
# not committed when the previous run read past its time is found then; the inbox keeps what
# it has stored once.
OVERLAP = timedelta(minutes=1)
# "After" a time, strictly: PostgreSQL and MySQL keep at most microseconds.
TICK = timedelta(microseconds=1)


def reconcile(
    client: ZammadClient, store: Any, now: datetime, since: datetime | None = None
) -> int:
    """Enqueue every ticket changed since `since` (else the watermark, else a day ago);
    returns how many changes were new to the inbox.

    The adapter's own write-backs are enqueued too. Adding or removing a tag only touches the
    ticket: updated_at moves, updated_by_id stays and no trigger fires (app/models/tag.rb,
    app/models/application_model/can_touch_references.rb). So a ticket whose last author is
    the adapter may carry an agent's tag change made after, or while, the adapter wrote, and
    only reading the ticket tells. Deciding such a ticket again is harmless and ends there:
    the decision comes out the same, nothing is written back, updated_at stays, and the next
    run does not see the ticket again. It costs one decision (the worker's reads of the
    ticket) per ticket the adapter wrote since the last run, once: the inbox key
    dedupes repeats."""
    if since is None:
        with store.session() as session:
            mark = store.checkpoint(session, CHECKPOINT)
        if mark:
            since = datetime.fromisoformat(mark["updated_at"]) - OVERLAP
        else:
            since = now - FIRST_LOOK_BACK
    new = 0
    for page in changed_tickets(client, since):
        with store.session() as session:
            for ticket in page:
                new += store.accept_inbox(
                    session,
                    helpdesk=HELPDESK,
                    delivery_id=f"reconcile:{ticket['id']}:{ticket['updated_at']}",
                    ticket_id=str(ticket["id"]),
                    trigger="reconcile",
                    payload=json.dumps({"ticket": ticket, "article": {}}),
                    now=now,
                )
            newest = max(_time(t) for t in page)
            mark = store.checkpoint(session, CHECKPOINT)
            if not mark or newest > datetime.fromisoformat(mark["updated_at"]):
                store.set_checkpoint(session, CHECKPOINT, {"updated_at": newest.isoformat()}, now)
    return new


def changed_tickets(client: ZammadClient, since: datetime) -> Iterator[list[dict[str, Any]]]:
    """Pages of the tickets changed at or after `since`, in (updated_at, id) order.

    The lower bound advances to the last ticket read. The selector's "after (absolute)" is
    `>=` (lib/selector/sql.rb), so after a full page ending at (T, id) come first the rest of
    instant T (`updated_at` after and before T, `id` after id) and then what is after T. A
    condition Zammad did not apply (an invalid one answers every ticket) shows as tickets
    outside the bound or out of order, and raises ConditionIgnored rather than moving the
    watermark on a wrong answer."""
    at = since.astimezone(UTC)
    after_id: int | None = None
    while True:
        if after_id is not None:  # more tickets than a page share the instant `at`
            page = client.search_where(
                "tickets",
                [
                    _on("ticket.updated_at", "after (absolute)", _zammad_time(at)),
                    _on("ticket.updated_at", "before (absolute)", _zammad_time(at)),
                    _on("ticket.id", "after (absolute)", after_id + 1),
                ],
                sort_by="id",
                order_by="asc",
            )
            _check(page, at, at_most=at, after_id=after_id)
            if page:
                yield page
            if len(page) == SEARCH_PAGE:
                after_id = page[-1]["id"]
                continue
            at, after_id = at + TICK, None
        page = client.search_where(
            "tickets",
            [_on("ticket.updated_at", "after (absolute)", _zammad_time(at))],
            sort_by="updated_at,id",
            order_by="asc,asc",
        )
        _check(page, at)
        if page:
            yield page
        if len(page) < SEARCH_PAGE:
            return
        at, after_id = _time(page[-1]), page[-1]["id"]


def organizations_numbered(client: ZammadClient, key: str, number: str) -> list[dict[str, Any]]:
    """The organisations whose attribute `key` is `number`, for the customer re-check: by a
    condition search, so from Zammad's database (see `ZammadClient.search_where`) and bound
    as it is, where Elasticsearch's query_string would refuse or misread a number with
    / : ( or ". Not GET /organizations matched here: that reads every organisation (500 a
    page, at most 1000: model_index_render in renders_models.rb) for each customer whose
    licences change, and an import from the ERP changes thousands at once.

    "contains" (LIKE '%number%', lib/selector/sql.rb), then the number exactly once spaces
    around it are stripped, as deciding strips them (mappings/zammad.py `customer_number`):
    "is" would miss an organisation whose number was typed with a space."""
    found = client.all_where("organizations", [_on(f"organization.{key}", "contains", number)])
    if any(number.lower() not in str(o.get(key)).lower() for o in found):
        raise ConditionIgnored(f"Zammad answered organisations whose {key} lacks {number!r}")
    return [o for o in found if str(o.get(key)).strip() == number]


def open_tickets(
    client: ZammadClient, organization_id: int, closed: Iterable[str]
) -> list[dict[str, Any]]:
    """The organisation's tickets in none of the `closed` states, by condition (the state is
    joined by the selector: ticket_state.name, lib/selector/sql.rb)."""
    found = _open(client, _on("ticket.organization_id", "is", organization_id), closed)
    if any(t.get("organization_id") != organization_id for t in found):
        raise ConditionIgnored(f"Zammad answered tickets not in {organization_id}")
    return found


def open_tickets_of_customers(
    client: ZammadClient, key: str, number: str, closed: Iterable[str]
) -> list[dict[str, Any]]:
    """The open tickets whose customer's (user's) attribute `key` is `number`: the selector
    joins the ticket's customer as `customer` (lib/selector/sql.rb), so one search finds them
    however many users the customer has."""
    return _open(client, _on(f"customer.{key}", "is", number), closed)


def _open(client: ZammadClient, on: dict[str, Any], closed: Iterable[str]) -> list[dict[str, Any]]:
    closed = list(closed)
    found = client.all_where("tickets", [on, _on("ticket_state.name", "is none of", closed)])
    if any(t.get("state") in closed for t in found):
        raise ConditionIgnored("Zammad answered tickets in a closed state")
    return found


def _on(name: str, operator: str, value: Any) -> dict[str, Any]:
    return {"name": name, "operator": operator, "value": value}


def _check(
    page: list[dict[str, Any]],
    at_least: datetime,
    *,
    at_most: datetime | None = None,
    after_id: int = 0,
) -> None:
    """Each ticket within the bound asked for, in (updated_at, id) order."""
    keys = [(_time(t), t["id"]) for t in page]
    inside = all(
        at_least <= at and (at_most is None or at <= at_most) and ticket_id > after_id
        for at, ticket_id in keys
    )
    if keys != sorted(keys) or not inside:
        raise ConditionIgnored(
            "Zammad answered tickets outside the search condition or out of order; "
            "it did not apply the condition"
        )


def _time(ticket: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(ticket["updated_at"]).replace("Z", "+00:00"))


def _zammad_time(at: datetime) -> str:
    """UTC with microseconds: the selector binds it as it is, and the database compares it as a
    time (lib/selector/sql.rb)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
