"""Billable lines from pieces of work: pure domain, no I/O, no clock.

A piece of work (a Zammad time accounting) becomes one or more `BillableLine`s:

- Split: at every local midnight and at the start and end of the night hours, all in the
  calendar's time zone. Durations are elapsed time, so the night of a daylight-saving change is
  an hour longer (or shorter) on the wall clock than on the bill, as it really was.
- Surcharges: a piece has at most one day class, `sunday_or_holiday` (public holidays of the
  calendar's region, Sundays) before `saturday` (a holiday on a Saturday is the higher class),
  and additionally `night` inside the night hours. Night and day class coincide on one line and
  both apply: their percentages add up (the price list names them as separate surcharges).
- Quantity: started half hours, rounded once per piece of work, not per split piece: splitting at
  a boundary must never bill the customer more half hours than the work took (20 minutes across
  midnight is one half hour, not two). The half hours are shared among the split pieces by the
  largest remainder; a tie goes to the piece with fewer surcharges, then to the earlier one.
  A piece whose share is zero yields no line.
- Amounts: only when prices are configured (`mappings/prices.yaml`); a line needs the rate of its
  code and every surcharge percentage it carries, otherwise it carries the quantity only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from adapter.calendar import BusinessCalendar
from adapter.engine import Decision, TicketFacts

__all__ = [
    "SURCHARGES",
    "BillableLine",
    "BillingError",
    "Cancellation",
    "NightHours",
    "Prices",
    "Work",
    "billable_time",
    "by_month",
    "half_hours",
    "line_id",
    "lines_for",
    "month_lines",
    "month_window",
    "priced",
    "work_of",
]

SURCHARGES = ("saturday", "sunday_or_holiday", "night")
HALF_HOUR = 30  # minutes
CENT = Decimal("0.01")


class BillingError(ValueError):
    """A piece of work that cannot be billed as given."""


@dataclass(frozen=True)
class NightHours:
    """[start, end) in local wall-clock time; end before start means the night spans midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise BillingError("night hours must not start and end at the same time")


@dataclass(frozen=True)
class Cancellation:
    """What cancelling a booked on-call day costs; the datasheet says nothing about it, so
    prices.yaml does. A day cancelled at least `free_days_ahead` days before it (in the
    calendar's time zone) is free; one cancelled later costs `late_percent` of its base fee
    per employee. The defaults: free before the booking's own 14-day line, the whole base fee
    after it."""

    free_days_ahead: int = 14
    late_percent: Decimal = Decimal(100)


@dataclass(frozen=True)
class Prices:
    """The price list: every amount is optional (there are no built-in amounts)."""

    currency: str = "EUR"
    night: NightHours | None = None  # None: no night surcharge
    rates: Mapping[str, Decimal | None] = field(default_factory=dict)  # code -> per half hour
    surcharges: Mapping[str, Decimal | None] = field(default_factory=dict)  # class -> percent
    on_call_base_fee: Decimal | None = None  # per booked day and employee
    on_call_cancellation: Cancellation = field(default_factory=Cancellation)


@dataclass(frozen=True)
class Work:
    """One piece of time accounted on a ticket."""

    work_id: str
    ticket: str
    contract: str | None
    code: str  # the billable flag code or the project service's name
    start: datetime  # aware
    minutes: int
    activity: str | None = None  # the helpdesk's activity type, kept for the customer's bill
    customer: str | None = None  # the ticket's customer number, where known


@dataclass(frozen=True)
class BillableLine:
    line_id: str
    ticket: str
    contract: str | None
    code: str
    activity: str | None
    start: datetime  # UTC
    minutes: int  # elapsed minutes of this piece
    quantity: int  # started half hours billed on this line
    surcharges: tuple[str, ...]
    unit_price: Decimal | None = None  # per half hour, before surcharges
    amount: Decimal | None = None
    currency: str | None = None
    customer: str | None = None  # the customer number, where known
    # What `quantity` counts: "half_hour" (work), "day" (an on-call day of one employee: its
    # window is `start` + `minutes`) or "year" (a support fee: `quantity` 1, the share of the
    # year in `amount`, the part of the year it pays for in `period`).
    unit: str = "half_hour"
    period: tuple[date, date] | None = None  # first and last day a support fee pays for


def half_hours(minutes: int) -> int:
    """Started half hours: 1 minute is one, 30 are one, 31 are two."""
    return -(-minutes // HALF_HOUR)


def line_id(*parts: object) -> str:
    """A stable id, so that a repeated export or push names the same line again."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


def lines_for(work: Work, calendar: BusinessCalendar, prices: Prices) -> list[BillableLine]:
    """The billable lines of one piece of work."""
    if work.start.tzinfo is None or work.start.utcoffset() is None:
        raise BillingError(f"work {work.work_id}: start must be timezone-aware")
    if work.minutes <= 0:
        return []
    pieces = _split(work.start.astimezone(UTC), work.minutes, calendar, prices.night)
    classes = [_classes(s, calendar, prices.night) for s, _ in pieces]
    shares = _shares([m for _, m in pieces], [len(c) for c in classes])
    return [
        priced(
            BillableLine(
                line_id=line_id(work.ticket, work.work_id, s.isoformat()),
                ticket=work.ticket,
                contract=work.contract,
                code=work.code,
                activity=work.activity,
                start=s,
                minutes=m,
                quantity=q,
                surcharges=c,
                customer=work.customer,
            ),
            prices,
        )
        for (s, m), c, q in zip(pieces, classes, shares, strict=True)
        if q
    ]


def work_of(decision: Decision, facts: TicketFacts) -> list[Work]:
    """The ticket's accounted time as billable work, none unless the decision is billable.

    All of it is billed under the first flag (flags come in a fixed order): one ticket, one
    reason to pay, the others are explanations."""
    if not decision.billable:
        return []
    contract = decision.contract.id if decision.contract else None
    return [
        Work(
            t.accounting_id,
            str(facts.ticket_id),
            contract,
            decision.flags[0].code,
            t.start,
            t.minutes,
            t.activity,
        )
        for t in facts.time
    ]


def billable_time(work: list[Work]) -> str | None:
    """For people, e.g. "1.5 h (3 × 30 min)": started half hours, rounded per piece of work as
    the lines are. None: no billable work."""
    n = sum(half_hours(w.minutes) for w in work if w.minutes > 0)
    if not n:
        return None
    return f"{n * HALF_HOUR / 60:g} h ({n} × {HALF_HOUR} min)"


def month_window(year: int, month: int, calendar: BusinessCalendar) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month in the calendar's time zone, as UTC instants."""
    tz = calendar.time_zone
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return _at(date(year, month, 1), time(0), tz), _at(nxt, time(0), tz)


def month_lines(
    works: list[Work],
    year: int,
    month: int,
    calendar: BusinessCalendar,
    prices: Prices,
    *,
    more: Iterable[BillableLine] = (),
) -> list[BillableLine]:
    """The lines of a month: those starting in it (local time), by start, then id. Work that
    crosses a month's end bills each piece in its own month. `more`: lines of other kinds
    (on-call base fees, support fees), kept when they start in the month too.

    Every kind of line of a month, read from the store, comes from
    `adapter.month_billing.month_billing_lines`, which calls this."""
    start, end = month_window(year, month, calendar)
    lines = [line for w in works for line in lines_for(w, calendar, prices)]
    return by_month(lines + list(more), start, end)


def by_month(lines: Iterable[BillableLine], start: datetime, end: datetime) -> list[BillableLine]:
    """Those of `lines` starting in [start, end), by start, then id."""
    kept = [line for line in lines if start <= line.start < end]
    return sorted(kept, key=lambda line: (line.start, line.line_id))


def priced(line: BillableLine, prices: Prices) -> BillableLine:
    """`line` with unit price and amount when the price list has every value it needs."""
    rate = prices.rates.get(line.code)
    pcts = [prices.surcharges.get(c) for c in line.surcharges]
    if rate is None or any(p is None for p in pcts):
        return line
    factor = 1 + sum((p for p in pcts if p is not None), Decimal(0)) / 100
    amount = (rate * line.quantity * factor).quantize(CENT, ROUND_HALF_UP)
    return replace(line, unit_price=rate, amount=amount, currency=prices.currency)


def _split(
    start: datetime, minutes: int, calendar: BusinessCalendar, night: NightHours | None
) -> list[tuple[datetime, int]]:
    """(UTC start, elapsed minutes) per piece between consecutive boundaries."""
    tz = calendar.time_zone
    end = start + timedelta(minutes=minutes)
    out: list[tuple[datetime, int]] = []
    cur = start
    while cur < end:
        day = cur.astimezone(tz).date()
        bounds = [_at(day + timedelta(days=1), time(0), tz)]
        if night is not None:
            bounds += [_at(day, night.start, tz), _at(day, night.end, tz)]
        nxt = min([b for b in bounds if cur < b] + [end])
        out.append((cur, _minutes(nxt - cur)))
        cur = nxt
    return [(s, m) for s, m in out if m]


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def _minutes(delta: timedelta) -> int:
    # Zammad accounts whole minutes, but a start with seconds must not lose or gain a minute.
    return round(delta.total_seconds() / 60)


def _classes(
    start: datetime, calendar: BusinessCalendar, night: NightHours | None
) -> tuple[str, ...]:
    local = start.astimezone(calendar.time_zone)
    out: list[str] = []
    if local.weekday() == 6 or calendar.is_holiday(local.date()):
        out.append("sunday_or_holiday")
    elif local.weekday() == 5:
        out.append("saturday")
    if night is not None and _in_night(local.time().replace(tzinfo=None), night):
        out.append("night")
    return tuple(out)


def _in_night(clock: time, night: NightHours) -> bool:
    if night.start < night.end:
        return night.start <= clock < night.end
    return clock >= night.start or clock < night.end


def _shares(minutes: list[int], surcharge_counts: list[int]) -> list[int]:
    """Started half hours of the whole work, shared among its pieces (largest remainder)."""
    total = half_hours(sum(minutes))
    shares = [m // HALF_HOUR for m in minutes]
    left = total - sum(shares)
    # Each piece with a remainder gets at most one more; there are always enough of them.
    order = sorted(
        (i for i, m in enumerate(minutes) if m % HALF_HOUR),
        key=lambda i: (-(minutes[i] % HALF_HOUR), surcharge_counts[i], i),
    )
    for i in order[:left]:
        shares[i] += 1
    return shares
