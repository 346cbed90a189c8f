"""The support policy as domain objects: plans, flag texts and the business calendar.

Built by `mappings.plans` from `plans.yaml`; nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from adapter.calendar import BusinessCalendar

LANGUAGES = ("de", "en")
REQUESTERS = ("partner", "power_user", "end_customer")
CATEGORIES = (
    "ui_building",
    "usage_question",
    "third_party_project",
    "after_hours",
    "project_service",
)
PERIODS = ("week", "month")
REACTION_UNITS = ("working_days", "business_hours")

# Paid-service flags (domain.md) and the quota warnings. The texts live in plans.yaml.
FLAG_CODES = (
    "no_contract",
    "over_quota",
    "ui_building",
    "user_level",
    "third_party_project",
    "extra_remote_session",
    "requester_not_entitled",
    "project_service",
    "outside_support_hours",
)
WARNING_CODES = ("quota_last", "quota_exceeded", "quota_forecast")
FORECAST_DAYS = ("working_days", "calendar_days")

Text = Mapping[str, str]  # language -> text


@dataclass(frozen=True)
class Quota:
    tickets: int
    per: str  # "week" (ISO week) or "month"


@dataclass(frozen=True)
class Reaction:
    amount: float
    unit: str  # "working_days" or "business_hours"


@dataclass(frozen=True)
class Term:
    """How long a contract runs.

    `weeks_after_latest`: ends `weeks` after the latest known of `from_dates` (commissioning).
    `year_end`: ends 31 Dec of the purchase year + `years_after_purchase`, renews by
    `renewal_months` unless cancelled `notice_months` before the end (basic, pro).
    """

    kind: str
    weeks: int = 0
    from_dates: tuple[str, ...] = ("purchased_on",)
    years_after_purchase: int = 0
    renewal_months: int = 0
    notice_months: int = 0


PRO_RATA = ("days", "started_months")


@dataclass(frozen=True)
class Fee:
    kind: str  # "included" or "percent_of_list_price_per_year"
    percent: Decimal | None = None  # from the vendor's price list; no built-in value
    due: str = "included"
    # The first fee's share of its year: "days" (the days left of the year, the start day
    # included, of the year's 365 or 366) or "started_months" (the months left, the start's
    # month included, of 12).
    pro_rata: str = "days"


@dataclass(frozen=True)
class Plan:
    code: str
    name: Text
    rank: int  # higher is better: a ticket is charged to the best plan first
    audience: frozenset[str]
    contract_partners: frozenset[str]
    support_levels: frozenset[str]
    covers: Text
    ui_building: bool
    software_updates: str
    third_party_projects: str
    quota: Quota
    free_remote_sessions: int
    reaction: Reaction
    may_open_tickets: frozenset[str]
    requires_trained: bool
    term: Term
    fee: Fee


@dataclass(frozen=True)
class FlagText:
    label: Text
    message: Text
    covered: bool = True  # False: the plan does not cover the request, billed alone, no quota


@dataclass(frozen=True)
class ForecastRule:
    """When the quota forecast (`adapter.forecast`) speaks: the days it counts (`working_days`
    of the calendar, or `calendar_days`), and not before `min_days` of them have passed in the
    period and `min_tickets` tickets were counted in it."""

    days: str = "working_days"
    min_days: int = 5
    min_tickets: int = 2


@dataclass(frozen=True)
class Policy:
    plans: Mapping[str, Plan]
    flags: Mapping[str, FlagText]
    warnings: Mapping[str, FlagText]
    calendar: BusinessCalendar = field(repr=False)
    digest: str = ""  # hash of the source file, kept with every decision
    forecast: ForecastRule = field(default_factory=ForecastRule)

    def plan(self, code: str) -> Plan:
        try:
            return self.plans[code]
        except KeyError:
            raise KeyError(f"unknown plan {code!r}; known: {', '.join(self.plans)}") from None
