"""What the admin API and the admin page show and do, in one place: customers with their
contracts and quota use, dead letters and their retry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from adapter.engine import best_covering, contract_view
from adapter.forecast import Forecast, forecast
from adapter.limits import MAX_ROW_ID
from adapter.policy import Policy
from adapter.quota import period_label, period_of, period_start
from adapter.store import Store
from adapter.store.queue import QUEUES


@dataclass(frozen=True)
class QuotaUse:
    period: str
    label: str
    used: int
    limit: int


@dataclass(frozen=True)
class ContractUse:
    id: str
    plan: str
    valid_from: date
    valid_until: date
    notice_by: date | None
    status: str
    quota: tuple[QuotaUse, ...]  # the current period first
    # The current period's forecast at today's rate; None: too early to tell, or the contract
    # does not cover today.
    forecast: Forecast | None = None


@dataclass(frozen=True)
class CustomerOverview:
    customer_number: str
    name: str | None
    plan: str | None  # the best covering contract's; None: none covers today
    valid_until: date | None
    notice_by: date | None
    contracts: tuple[ContractUse, ...]


def periods_back(now: datetime, per: str, policy: Policy, count: int) -> list[str]:
    """The period containing `now` and the `count - 1` before it, newest first."""
    tz = policy.calendar.time_zone
    periods = [period_of(now, per, tz)]
    while len(periods) < count:
        day_before = period_start(periods[-1]) - timedelta(days=1)
        periods.append(period_of(datetime.combine(day_before, time(12), tz), per, tz))
    return periods


def customers(
    store: Store,
    policy: Policy,
    now: datetime,
    *,
    periods: int = 3,
    customer_number: str | None = None,
    language: str = "en",
) -> tuple[date, list[CustomerOverview]]:
    """Customers with contracts, as of `now` (the calendar's day), with the quota each
    contract used in its last `periods` periods; and that day."""
    today = now.astimezone(policy.calendar.time_zone).date()
    with store.session() as session:
        customers = store.customers(session, customer_number)
        wanted = {
            c.id: periods_back(now, policy.plan(c.plan).quota.per, policy, periods)
            for customer in customers
            for c in customer.contracts
        }
        used = store.ledger_counts(
            session, [(contract, p) for contract, ps in wanted.items() for p in ps]
        )
    result = []
    for customer in customers:
        uses = []
        for contract in customer.contracts:
            view = contract_view(contract, today)
            limit = policy.plan(contract.plan).quota.tickets
            quota = tuple(
                QuotaUse(p, period_label(p, language), used[contract.id, p], limit)
                for p in wanted[contract.id]
            )
            current = quota[0]
            ahead = (
                forecast(
                    current.used,
                    limit,
                    current.period,
                    today,
                    policy.calendar,
                    policy.forecast,
                )
                if view.status.covers
                else None
            )
            uses.append(
                ContractUse(
                    contract.id,
                    contract.plan,
                    view.valid_from,
                    view.valid_until,
                    view.notice_by,
                    str(view.status),
                    quota,
                    ahead,
                )
            )
        best = best_covering(customer.contracts, today, policy)
        shown = contract_view(best, today) if best else None
        result.append(
            CustomerOverview(
                customer.number,
                customer.name,
                best.plan if best else None,
                shown.valid_until if shown else None,
                shown.notice_by if shown else None,
                tuple(uses),
            )
        )
    return today, result


def parse_dead_letter_key(key: str) -> tuple[str, int] | None:
    """`outbox-7` (as dead letters are listed; `outbox:7` too) as (queue, row id); None for
    anything else, a row id beyond the 64-bit column included."""
    queue, _, number = key.replace(":", "-").partition("-")
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if queue not in QUEUES or not (number.isascii() and number.isdigit()):
        return None
    row = int(number)
    return (queue, row) if row <= MAX_ROW_ID else None


def retry_dead_letter(store: Store, key: str, now: datetime) -> bool:
    """Put a dead letter back in its queue (a fresh budget of attempts, its history kept);
    False if `key` names no dead letter."""
    parsed = parse_dead_letter_key(key)
    if parsed is None:
        return False
    with store.session() as session:
        return store.retry_dead(session, *parsed, now)
