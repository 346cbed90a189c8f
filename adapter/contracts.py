"""Licences as sold by the ERP, and the support contracts they give."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from adapter.policy import Plan, Term

LICENCE_STATUSES = ("active", "cancelled", "terminated")


def add_months(day: date, months: int) -> date:
    """Calendar months; a day past the target month's end becomes its last (31 Dec - 3 = 30 Sep)."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass(frozen=True)
class Licence:
    licence_id: str
    customer_number: str
    plan: str
    purchased_on: date
    revision: int | None = None
    customer_name: str | None = None
    product: str | None = None
    accepted_on: date | None = None
    go_live_on: date | None = None
    list_price: Decimal | None = None
    currency: str | None = None
    status: str = "active"
    cancelled_on: date | None = None
    options: tuple[str, ...] = ()


class ContractStatus(StrEnum):
    NOT_STARTED = "not_started"
    ACTIVE = "active"
    CANCELLED = "cancelled"  # notice given (or terminated later): runs to its end
    EXPIRED = "expired"
    TERMINATED = "terminated"

    @property
    def covers(self) -> bool:
        return self in (ContractStatus.ACTIVE, ContractStatus.CANCELLED)


@dataclass(frozen=True)
class Contract:
    """One licence's support contract. Dates are calendar dates in the calendar's time zone;
    an end date is the last day covered."""

    id: str
    customer_number: str
    plan: str
    starts_on: date
    first_end_on: date
    renewal_months: int = 0  # 0: does not renew
    notice_months: int = 0
    final_end_on: date | None = None  # set once cancelled or terminated
    terminated: bool = False
    options: frozenset[str] = field(default_factory=frozenset)

    def _term_end(self, k: int) -> date:
        # Offsets from the first end, not repeated additions: 31 Dec stays 31 Dec, 28 Feb stays.
        return add_months(self.first_end_on, self.renewal_months * k)

    def end_on(self, day: date) -> date:
        """Last day of the term that contains `day` (the last term if `day` is past it)."""
        if self.final_end_on is not None:
            return self.final_end_on
        if not self.renewal_months or day <= self.first_end_on:
            return self.first_end_on
        months = (day.year - self.first_end_on.year) * 12 + day.month - self.first_end_on.month
        k = max(months // self.renewal_months, 0)
        while self._term_end(k) < day:
            k += 1
        return self._term_end(k)

    def notice_by(self, day: date) -> date | None:
        """Last day to give notice for the term containing `day`; None if it does not renew."""
        if not self.renewal_months or self.final_end_on is not None:
            return None
        return add_months(self.end_on(day), -self.notice_months)

    def status_on(self, day: date) -> ContractStatus:
        if day < self.starts_on:
            return ContractStatus.NOT_STARTED
        if day > self.end_on(day):
            return ContractStatus.TERMINATED if self.terminated else ContractStatus.EXPIRED
        return ContractStatus.CANCELLED if self.final_end_on else ContractStatus.ACTIVE


def first_end(licence: Licence, term: Term) -> date:
    if term.kind == "weeks_after_latest":
        known = [getattr(licence, name) for name in term.from_dates]
        return max(d for d in known if d is not None) + timedelta(weeks=term.weeks)
    return date(licence.purchased_on.year + term.years_after_purchase, 12, 31)


def contract_from_licence(licence: Licence, plan: Plan) -> Contract:
    term = plan.term
    contract = Contract(
        id=licence.licence_id,
        customer_number=licence.customer_number,
        plan=plan.code,
        starts_on=licence.purchased_on,
        first_end_on=first_end(licence, term),
        renewal_months=term.renewal_months,
        notice_months=term.notice_months,
        options=frozenset(licence.options),
    )
    # The licence schema requires cancelled_on for both statuses.
    if licence.status == "terminated" and licence.cancelled_on:
        return replace(contract, final_end_on=licence.cancelled_on, terminated=True)
    if licence.status == "cancelled" and licence.cancelled_on:
        return replace(contract, final_end_on=_end_after_notice(contract, licence.cancelled_on))
    return contract


def _end_after_notice(contract: Contract, notice_on: date) -> date:
    """A notice ends the first term whose notice deadline it meets; a late notice ends the next."""
    if not contract.renewal_months:
        return contract.first_end_on
    end = contract.end_on(max(notice_on, contract.starts_on))
    while add_months(end, -contract.notice_months) < notice_on:
        end = contract.end_on(end + timedelta(days=1))
    return end
