"""The quota ledger as `decide` sees it: periods, counts and this ticket's entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

MONTHS = {
    "de": ("Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
WEEK = {"de": "KW", "en": "week"}
DAY_FORMATS = {"de": "{d:02d}.{m:02d}.{y}", "en": "{d} {mon} {y}"}


def day_label(day: date, language: str) -> str:
    """`24.11.2026` / `24 Nov 2026`, for people."""
    mon = MONTHS[language][day.month - 1]
    return DAY_FORMATS[language].format(d=day.day, m=day.month, y=day.year, mon=mon)


def period_of(at: datetime, per: str, time_zone: ZoneInfo) -> str:
    """The quota period containing `at`, in the calendar's time zone: `2026-W01` or `2026-11`."""
    local = at.astimezone(time_zone).date()
    if per == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{local.year}-{local.month:02d}"


def period_label(period: str, language: str) -> str:
    """`Nov 2026` / `week 1 2027` for people; an ISO week belongs to its ISO year."""
    year, _, rest = period.partition("-")
    if rest.startswith("W"):
        return f"{WEEK[language]} {int(rest[1:])} {year}"
    return f"{MONTHS[language][int(rest) - 1]} {year}"


def period_start(period: str) -> date:
    year, _, rest = period.partition("-")
    if rest.startswith("W"):
        return date.fromisocalendar(int(year), int(rest[1:]), 1)
    return date(int(year), int(rest), 1)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One ticket charged to one contract. Released entries gave their count back."""

    contract_id: str
    period: str
    ordinal: int  # the ticket's place in its period when it was counted
    released_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.released_reason is None


@dataclass(frozen=True, slots=True)
class LedgerView:
    """What decide needs from the ledger: active counts per (contract, period), and the
    entries that already exist for the ticket being decided."""

    used: Mapping[tuple[str, str], int] = field(default_factory=dict)
    entries: tuple[LedgerEntry, ...] = ()

    def used_in(self, contract_id: str, period: str) -> int:
        return self.used.get((contract_id, period), 0)

    def entry_for(self, contract_id: str) -> LedgerEntry | None:
        return next((e for e in self.entries if e.contract_id == contract_id), None)


@dataclass(frozen=True, slots=True)
class LedgerChange:
    """What the store must do after a decision: count the ticket or give its count back."""

    action: str  # "count" or "release"
    contract_id: str
    period: str
    ordinal: int = 0
    reason: str | None = None  # why a count was given back
