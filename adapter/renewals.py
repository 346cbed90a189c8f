"""Renewals and notice: contracts whose notice deadline or end comes soon, and the helpdesks
told when a term turns over.

A contract renews itself on its end date: `Contract.end_on(day)` and `status_on(day)` follow
the day they are asked about, so every decision, the admin API and page, and `contracts due`
see the new term the day after the old one ended, without anyone acting. What a helpdesk
holds (Zammad's organisation fields `support_valid_until`, `support_notice_by`, the tickets'
`entitlement_valid_until`) was written when something changed; the worker's job
`contracts.terms` queues the re-decision a licence change would (`customer_changed`) for every
customer one of whose contracts started, renewed or ended since its last run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from adapter.contracts import Contract, ContractStatus
from adapter.licences import recheck_rows
from adapter.policy import Policy

logger = logging.getLogger(__name__)

CHECKPOINT = "contract_terms"  # {"day": the last local day whose turnovers were queued}
TERMS_INTERVAL = timedelta(hours=1)  # the day is looked at hourly: a new one is queued soon
MOST_DAYS_BACK = 400  # a worker down for longer catches up on this many days only
ENDED = (ContractStatus.EXPIRED, ContractStatus.TERMINATED)
WITHIN = re.compile(r"^\s*([0-9]{1,4})\s*([dw]?)\s*$")
WINDOW = "90d"  # what `contracts due`, the admin API and the admin page show by default


@dataclass(frozen=True)
class Due:
    """A notice deadline (`what` "notice") or a contract end ("end") on `on`."""

    what: str
    on: date
    contract: Contract
    customer_name: str | None
    valid_until: date  # the current term's last day
    notice_by: date | None
    status: str
    renews_until: date | None  # an end after which the contract goes on: the next term's end


def parse_within(text: str) -> int:
    """`90d`, `90` (days) or `12w` (weeks) as days; ValueError otherwise."""
    found = WITHIN.match(text)
    if not found or int(found[1]) < 1:
        raise ValueError(f"not a window such as 90d or 12w: {text!r}")
    return int(found[1]) * (7 if found[2] == "w" else 1)


def due_within(
    contracts: Iterable[Contract],
    today: date,
    days: int,
    names: dict[str, str | None] | None = None,
) -> list[Due]:
    """Notice deadlines and ends in [today, today + days], by day, then contract; contracts
    that have ended are left out. `names`: customer names by number."""
    last = today + timedelta(days=days)
    found = []
    for contract in contracts:
        status = contract.status_on(today)
        if status in ENDED:
            continue
        end, notice = contract.end_on(today), contract.notice_by(today)
        nxt = contract.end_on(end + timedelta(days=1))
        renews = nxt if nxt != end and contract.final_end_on is None else None
        name = (names or {}).get(contract.customer_number)
        common = {
            "contract": contract,
            "customer_name": name,
            "valid_until": end,
            "notice_by": notice,
            "status": str(status),
            "renews_until": renews,
        }
        if notice is not None and today <= notice <= last:
            found.append(Due("notice", notice, **common))
        if today <= end <= last:
            found.append(Due("end", end, **common))
    order = {"notice": 0, "end": 1}
    return sorted(found, key=lambda d: (d.on, order[d.what], d.contract.id))


def turns_over(contract: Contract, day: date) -> bool:
    """Whether the contract's standing changes on `day`: it starts, or a term ended the day
    before (renewed, or ended for good)."""
    before = day - timedelta(days=1)
    return day == contract.starts_on or (
        before >= contract.starts_on and contract.end_on(before) == before
    )


def customers_turning_over(contracts: Sequence[Contract], first: date, last: date) -> set[str]:
    """Customers one of whose contracts turns over on a day in [first, last]."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return {c.customer_number for c in contracts if any(turns_over(c, d) for d in days)}


def queue_turnovers(store: Any, policy: Policy, helpdesks: Iterable[str], now: datetime) -> int:
    """Queue a re-decision (`customer_changed`) in each helpdesk for the customers whose
    contracts turned over since the last run; how many customers. The first run only notes
    the day. Two workers at once queue each row once (the delivery id names customer and day)."""
    today = now.astimezone(policy.calendar.time_zone).date()
    with store.session() as session:
        mark = store.checkpoint(session, CHECKPOINT)
        last = date.fromisoformat(mark["day"]) if mark else None
        if last is not None and last >= today:
            return 0
        customers: set[str] = set()
        if last is not None:
            first = max(last + timedelta(days=1), today - timedelta(days=MOST_DAYS_BACK))
            customers = customers_turning_over(store.contracts(session), first, today)
        rows = recheck_rows(customers, helpdesks, "terms", today.isoformat())
        store.accept_inbox_many(session, rows, now)
        store.set_checkpoint(session, CHECKPOINT, {"day": today.isoformat()}, now)
    if customers:
        logger.info("contracts.turned-over", extra={"customers": len(customers)})
    return len(customers)


def terms_job(services: Any, now: datetime) -> int:
    """The worker's job `contracts.terms`."""
    return queue_turnovers(services.store, services.policy, services.helpdesks, now)


def contracts_due(
    store: Any, policy: Policy, now: datetime, days: int, customer: str | None = None
) -> tuple[date, list[Due]]:
    """`due_within` over the stored contracts (of a customer), as of `now`'s calendar day;
    and that day. What `contracts due` prints and the admin page shows."""
    today = now.astimezone(policy.calendar.time_zone).date()
    with store.session() as session:
        customers = store.customers(session, customer)
    names = {c.number: c.name for c in customers}
    return today, due_within((k for c in customers for k in c.contracts), today, days, names)
