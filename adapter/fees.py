"""Support fees (Gebühren): a percentage of the licence's list price per year. Pure.

The datasheet: basic and pro cost a "Prozentsatz vom Lizenzlistenpreis / Jahr", due
"unterjährig bei Vertragsabschluss, danach zum 1.1. des Folgejahres"; commissioning is
"Inklusive bei Kauf / Miete" (no line). So a contract whose plan's fee is
`percent_of_list_price_per_year` gets a `support_fee` line on its first day for the rest of
that year (pro rata, `Fee.pro_rata`), then one each 1 January for the whole year, as long as the
contract covers that day: none after it ended (expired after notice, or terminated). A
termination later in the year does not shorten a fee already due.

The list price is the licence's as the adapter held it before the fee's day began (in the
calendar's time zone): a change from the ERP applies from the next fee, never to one already
due. A fee due before the first price was known takes that first price (the ERP tells the
adapter about a purchase after it happened).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from adapter.billing import CENT, BillableLine, line_id
from adapter.contracts import Contract
from adapter.policy import Fee

__all__ = ["SUPPORT_FEE_CODE", "ListPrice", "due_days", "share_of_year", "support_fee_lines"]

SUPPORT_FEE_CODE = "support_fee"
PER_YEAR = "percent_of_list_price_per_year"


@dataclass(frozen=True)
class ListPrice:
    """A licence's list price from the time the adapter stored it."""

    recorded_at: datetime  # aware
    amount: Decimal | None
    currency: str | None


def due_days(contract: Contract, first: date, last: date) -> list[date]:
    """The days in [first, last] on which the contract's support fee falls due: its first day,
    then each 1 January it still covers."""
    days = []
    if first <= contract.starts_on <= last and contract.status_on(contract.starts_on).covers:
        days.append(contract.starts_on)
    for year in range(max(first.year, contract.starts_on.year + 1), last.year + 1):
        day = date(year, 1, 1)
        if first <= day <= last and contract.status_on(day).covers:
            days.append(day)
    return days


def share_of_year(due: date, pro_rata: str) -> Fraction:
    """The part of its year a fee due on `due` pays for, from `due` to 31 December."""
    if pro_rata == "started_months":
        return Fraction(13 - due.month, 12)
    days_in_year = 366 if calendar.isleap(due.year) else 365
    return Fraction((date(due.year, 12, 31) - due).days + 1, days_in_year)


def price_on(prices: Sequence[ListPrice], due: date, time_zone: ZoneInfo) -> ListPrice | None:
    """The list price held before `due` began; the first one known if none was held yet."""
    begins = datetime.combine(due, time(0), tzinfo=time_zone)
    ordered = sorted(prices, key=lambda p: p.recorded_at)
    before = [p for p in ordered if p.recorded_at < begins]
    return before[-1] if before else (ordered[0] if ordered else None)


def support_fee_lines(
    contract: Contract,
    fee: Fee,
    prices: Sequence[ListPrice],
    first: date,
    last: date,
    time_zone: ZoneInfo,
    currency: str,
) -> list[BillableLine]:
    """The contract's support-fee lines due in [first, last]. Priced when both the plan's
    percentage and the list price are known; `currency`: the one to use when the licence
    names none."""
    if fee.kind != PER_YEAR:
        return []
    lines = []
    for due in due_days(contract, first, last):
        share = share_of_year(due, fee.pro_rata) if due == contract.starts_on else Fraction(1)
        price = price_on(prices, due, time_zone)
        yearly = amount = None
        if fee.percent is not None and price is not None and price.amount is not None:
            exact = price.amount * fee.percent / 100
            yearly = exact.quantize(CENT, ROUND_HALF_UP)
            amount = (exact * share.numerator / share.denominator).quantize(CENT, ROUND_HALF_UP)
        lines.append(
            BillableLine(
                line_id=line_id("support-fee", contract.id, due.isoformat()),
                ticket="",
                contract=contract.id,
                code=SUPPORT_FEE_CODE,
                activity=None,
                start=datetime.combine(due, time(0), tzinfo=time_zone).astimezone(UTC),
                minutes=0,
                quantity=1,
                surcharges=(),
                unit_price=yearly,
                amount=amount,
                currency=((price and price.currency) or currency) if amount is not None else None,
                customer=contract.customer_number,
                unit="year",
                period=(due, date(due.year, 12, 31)),
            )
        )
    return lines
