"""Extended on-call (Erweiterte Rufbereitschaft): bookings, their rules and base fees. Pure.

The datasheet's rules: booked per day and per employee at least two weeks ahead; reachable at
most 10 hours a day; at most 8 working hours a day per employee (more needs a further employee,
who brings another base fee). The window is wall-clock time on each booked local date, so a
window on the day of a daylight-saving change keeps its clock times.

Cancelling (the datasheet is silent; prices.yaml's `on_call.cancellation` says what it costs):
a day can be cancelled until its window begins. A cancelled day covers no ticket; it is free
when cancelled at least `free_days_ahead` days before it, else each of its employees costs
`late_percent` of the base fee, as a line `on_call_cancellation_fee` that takes the place (and
the id) of that base-fee line: a base fee already pushed to the ERP is never billed twice.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP
from zoneinfo import ZoneInfo

from adapter.billing import CENT, BillableLine, Prices, line_id
from adapter.limits import DATE_RANGE, date_problem

__all__ = [
    "BASE_FEE_CODE",
    "CANCELLATION_FEE_CODE",
    "MAX_EMPLOYEES",
    "MAX_HOURS_PER_EMPLOYEE",
    "MAX_WINDOW_HOURS",
    "MIN_DAYS_AHEAD",
    "Booking",
    "base_fee_lines",
    "cancellation_is_free",
    "covers",
    "days_to_cancel",
    "validate_booking",
]

MIN_DAYS_AHEAD = 14
MAX_WINDOW_HOURS = 10
MAX_HOURS_PER_EMPLOYEE = 8
MAX_EMPLOYEES = 100  # a base fee line per day and employee is built for every booking
BASE_FEE_CODE = "on_call_base_fee"
CANCELLATION_FEE_CODE = "on_call_cancellation_fee"


@dataclass(frozen=True)
class Booking:
    customer: str
    days: tuple[date, ...]
    start: time  # window start, local wall clock
    end: time  # window end, after start on the same date
    employees: int
    hours: float  # working hours booked per day, all employees together
    booking_id: str | None = None  # set once stored
    cancelled: tuple[tuple[date, datetime], ...] = ()  # (day, when it was cancelled), by day

    @property
    def window_hours(self) -> float:
        return (_clock_minutes(self.end) - _clock_minutes(self.start)) / 60

    @property
    def cancelled_on(self) -> dict[date, datetime]:
        """Cancelled days, each with the instant it was cancelled."""
        return dict(self.cancelled)

    def window(self, day: date, time_zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The window on `day` as UTC instants."""
        start = datetime.combine(day, self.start, tzinfo=time_zone).astimezone(UTC)
        end = datetime.combine(day, self.end, tzinfo=time_zone).astimezone(UTC)
        return start, end


def _clock_minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def validate_booking(booking: Booking, today: date) -> list[str]:
    """Every rule the booking breaks, as a message for the person booking; empty if valid."""
    errors: list[str] = []
    if not booking.days:
        errors.append("name at least one day to book")
    too_soon = sorted(d for d in set(booking.days) if (d - today).days < MIN_DAYS_AHEAD)
    if too_soon:
        earliest = today + timedelta(days=MIN_DAYS_AHEAD)
        errors.append(
            f"on-call must be booked at least {MIN_DAYS_AHEAD} days ahead: "
            f"{', '.join(map(str, too_soon))} is too soon (earliest {earliest})"
        )
    out_of_range = sorted(d for d in set(booking.days) if date_problem(d))
    if out_of_range:
        errors.append(f"days {DATE_RANGE}: {', '.join(map(str, out_of_range))}")
    span = f"{booking.start:%H:%M}–{booking.end:%H:%M}"
    if booking.end <= booking.start:
        errors.append(f"the window {span} must end after it starts, on the same day")
    elif booking.window_hours > MAX_WINDOW_HOURS:
        errors.append(
            f"the window {span} is {booking.window_hours:g} hours; "
            f"on-call covers at most {MAX_WINDOW_HOURS} hours a day"
        )
    if booking.employees < 1:
        errors.append("book at least one employee")
    elif booking.employees > MAX_EMPLOYEES:
        errors.append(f"book at most {MAX_EMPLOYEES} employees")
    if not math.isfinite(booking.hours) or booking.hours > 24:
        errors.append("book a number of working hours a day of at most 24")
    elif booking.hours < 0.5:  # work is billed in started half hours; stored in whole minutes
        errors.append("book at least half an hour of working hours a day")
    elif booking.employees >= 1 and booking.hours / booking.employees > MAX_HOURS_PER_EMPLOYEE:
        needed = math.ceil(booking.hours / MAX_HOURS_PER_EMPLOYEE)
        errors.append(
            f"{booking.hours:g} working hours a day with {booking.employees} employee(s) is more "
            f"than {MAX_HOURS_PER_EMPLOYEE} hours per employee and day; book {needed} employees"
        )
    return errors


def covers(booking: Booking, at: datetime, time_zone: ZoneInfo) -> bool:
    """Whether the instant `at` lies inside the booked window of one of the booked days."""
    local = at.astimezone(time_zone)
    if local.date() not in booking.days or local.date() in booking.cancelled_on:
        return False
    start = datetime.combine(local.date(), booking.start, tzinfo=time_zone)
    end = datetime.combine(local.date(), booking.end, tzinfo=time_zone)
    return start <= at < end


def cancellation_is_free(
    day: date, cancelled_at: datetime, time_zone: ZoneInfo, prices: Prices
) -> bool:
    """Whether cancelling `day` at `cancelled_at` costs nothing (prices.yaml's line)."""
    notice = (day - cancelled_at.astimezone(time_zone).date()).days
    terms = prices.on_call_cancellation
    return notice >= terms.free_days_ahead or terms.late_percent == 0


def days_to_cancel(
    booking: Booking, days: Collection[date], now: datetime, time_zone: ZoneInfo
) -> tuple[list[date], list[str]]:
    """The days a cancellation cancels, and every reason to refuse it (then nothing is
    cancelled). No `days`: every day whose window has not begun. A day already cancelled is
    left as it is (a repeat changes nothing)."""
    booked = sorted(set(booking.days))
    begun = {d for d in booked if now >= booking.window(d, time_zone)[0]}
    cancelled = booking.cancelled_on
    if not days:
        left = [d for d in booked if d not in begun and d not in cancelled]
        return left, [] if left or cancelled else ["every booked day has begun: nothing to cancel"]
    errors = []
    unknown = sorted(set(days) - set(booked))
    if unknown:
        errors.append(f"not booked in {booking.booking_id}: {', '.join(map(str, unknown))}")
    late = sorted((set(days) & begun) - set(cancelled))
    if late:
        errors.append(f"the window has begun, too late to cancel: {', '.join(map(str, late))}")
    wanted = sorted(set(days) & (set(booked) - begun - set(cancelled)))
    return ([] if errors else wanted), errors


def base_fee_lines(booking: Booking, time_zone: ZoneInfo, prices: Prices) -> list[BillableLine]:
    """One base-fee line per booked day and employee, priced when the base fee is set. A
    cancelled day gives none when it was cancelled in time, else an `on_call_cancellation_fee`
    line with the same id, at the configured share of the base fee."""
    fee = prices.on_call_base_fee
    share = prices.on_call_cancellation.late_percent / 100
    lines = []
    for day in sorted(set(booking.days)):
        code, amount = BASE_FEE_CODE, None if fee is None else fee.quantize(CENT, ROUND_HALF_UP)
        cancelled_at = booking.cancelled_on.get(day)
        if cancelled_at is not None:
            if cancellation_is_free(day, cancelled_at, time_zone, prices):
                continue
            code = CANCELLATION_FEE_CODE
            amount = None if fee is None else (fee * share).quantize(CENT, ROUND_HALF_UP)
        start, end = booking.window(day, time_zone)
        lines += [
            BillableLine(
                line_id=line_id("on-call", booking.booking_id, day.isoformat(), employee),
                ticket="",
                contract=None,
                code=code,
                activity=f"employee {employee}",
                start=start,
                minutes=round((end - start).total_seconds() / 60),
                quantity=1,
                surcharges=(),
                unit_price=fee,
                amount=amount,
                currency=prices.currency if amount is not None else None,
                customer=booking.customer,
                unit="day",
            )
            for employee in range(1, booking.employees + 1)
        ]
    return lines
