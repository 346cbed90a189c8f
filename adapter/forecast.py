"""Quota forecast: from a period's use so far, the tickets to expect by its end and the day the
quota will run out at that rate. Pure: no I/O, no clock (the day is passed in).

The rate is the tickets counted so far over the days of the period passed so far, the given day
included. Days are the calendar's working days (tickets come in on working days; a weekend
does not slow the rate down) or, with `ForecastRule.days: calendar_days`, every day. The
forecast stays silent (None) until `min_days` of those days have passed and `min_tickets` were
counted: the first ticket of a period, or two on its first morning, say little about the rest.

- `expected`: used × days in the period / days passed, rounded half up.
- `runs_out`: the day the quota's last free ticket is expected at that rate; None when the quota
  lasts the period at that rate, or is used up already.
- `warns`: more tickets than the quota are expected by the period's end while some are still
  free: the quota will run out before the period ends (the ticket's `quota_forecast` warning).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from adapter.calendar import BusinessCalendar
from adapter.policy import ForecastRule
from adapter.quota import day_label, period_start


@dataclass(frozen=True, slots=True)
class Forecast:
    period: str
    used: int  # tickets counted so far in the period
    limit: int
    elapsed: int  # days of the period counted so far, the day of the forecast included
    total: int  # days of the period counted
    expected: int  # tickets expected by the period's end at the rate so far
    runs_out: date | None  # the day the last free ticket is expected; None: not in this period
    last_day: date  # the period's last counted day

    @property
    def warns(self) -> bool:
        return self.used < self.limit < self.expected


def period_end(period: str) -> date:
    """The last day of a quota period (`2026-W53`, `2026-11`)."""
    start = period_start(period)
    if "W" in period:
        return start + timedelta(days=6)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - timedelta(days=1)


@lru_cache(maxsize=256)
def counted_days(period: str, calendar: BusinessCalendar, days: str) -> tuple[date, ...]:
    """The days of `period` the forecast counts, in order."""
    start, end = period_start(period), period_end(period)
    every = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    if days == "calendar_days":
        return tuple(every)
    return tuple(d for d in every if calendar.is_working_day(d))


def forecast(
    used: int,
    limit: int,
    period: str,
    day: date,
    calendar: BusinessCalendar,
    rule: ForecastRule,
) -> Forecast | None:
    """The forecast for `period` on `day` (a local date in it) with `used` tickets counted so
    far; None while it is too early to tell (see the module's description)."""
    days = counted_days(period, calendar, rule.days)
    elapsed = bisect_right(days, day)
    if not days or elapsed < max(rule.min_days, 1) or used < max(rule.min_tickets, 1):
        return None
    total = len(days)
    expected = (2 * used * total + elapsed) // (2 * elapsed)  # used * total / elapsed, half up
    runs_out = None
    if used < limit:
        # The (limit - used) tickets still free take (limit - used) * elapsed / used days more.
        more = -(-(limit - used) * elapsed // used)
        if elapsed + more <= total:
            runs_out = days[elapsed + more - 1]
    return Forecast(period, used, limit, elapsed, total, expected, runs_out, days[-1])


# For the admin page: one table per language.
TEXTS = {
    "de": {
        "expected": "Prognose: etwa {expected} von {limit} bis {end}",
        "runs_out": "aufgebraucht am {day}",
    },
    "en": {
        "expected": "Forecast: about {expected} of {limit} by {end}",
        "runs_out": "used up on {day}",
    },
}


def describe(ahead: Forecast, language: str) -> str:
    """`Forecast: about 9 of 8 by 30 Nov 2026; used up on 24 Nov 2026`, for people."""
    t = TEXTS[language]
    end = day_label(ahead.last_day, language)
    text = t["expected"].format(expected=ahead.expected, limit=ahead.limit, end=end)
    if ahead.runs_out is not None:
        text += "; " + t["runs_out"].format(day=day_label(ahead.runs_out, language))
    return text
