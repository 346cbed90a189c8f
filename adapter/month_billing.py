"""A month's billing lines of every kind, read from the store: the one place that gathers
them, for the export, the push to the ERP and whatever else shows a month's lines.

- work: accounted time on billable tickets (`adapter.billing`), with surcharges;
- `on_call_base_fee` per booked on-call day and employee, or `on_call_cancellation_fee` for a
  day cancelled late (`adapter.oncall`);
- `support_fee` of basic and pro contracts, due at the start and each 1 January
  (`adapter.fees`).

Lines are computed, not stored: their ids depend on what they bill, never on prices, so a
month exported or pushed again names the same lines.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from adapter.billing import BillableLine, Prices, month_lines, month_window
from adapter.fees import support_fee_lines
from adapter.oncall import base_fee_lines
from adapter.policy import Policy


def month_billing_lines(
    store: Any,
    session: Any,
    policy: Policy,
    prices: Prices,
    year: int,
    month: int,
    *,
    customer: str | None = None,
) -> list[BillableLine]:
    """Every line of the month (of one customer), by start, then id. A work line's customer
    is the one its ticket's latest decision names, else its contract's."""
    calendar = policy.calendar
    tz = calendar.time_zone
    start, end = month_window(year, month, calendar)
    first = date(year, month, 1)
    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    # A day earlier: work begun before the month can run into it.
    works = store.work(session, start - timedelta(days=1), end)
    contracts = store.contracts(session)
    owners = {c.id: c.customer_number for c in contracts}
    numbers = store.work_customers(session, [w.work_id for w in works])
    works = [
        replace(w, customer=numbers.get(w.work_id) or owners.get(w.contract or "")) for w in works
    ]
    if customer is not None:
        works = [w for w in works if w.customer == customer]
        contracts = [c for c in contracts if c.customer_number == customer]
    on_call = [
        line for b in store.bookings(session, customer) for line in base_fee_lines(b, tz, prices)
    ]
    list_prices = store.list_prices(session, [c.id for c in contracts])
    fees = [
        line
        for c in contracts
        if (plan := policy.plans.get(c.plan)) is not None
        for line in support_fee_lines(
            c, plan.fee, list_prices.get(c.id, []), first, last, tz, prices.currency
        )
    ]
    return month_lines(works, year, month, calendar, prices, more=[*on_call, *fees])
