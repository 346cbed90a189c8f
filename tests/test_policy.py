"""The shipped plans.yaml says exactly what domain.md says: one case per row of its tables."""

from datetime import time

import pytest

from adapter.policy import FLAG_CODES, WARNING_CODES
from mappings.plans import load_policy

POLICY = load_policy()
PLANS = ("commissioning", "basic", "pro")


def plan_values(attribute):
    return tuple(_get(POLICY.plans[code], attribute) for code in PLANS)


def _get(obj, dotted):
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


# (domain.md row, attribute of Plan, commissioning, basic, pro)
PLAN_ROWS = [
    ("audience", "audience", {"partner"}, {"partner"}, {"partner", "end_customer"}),
    ("support levels", "support_levels", {"3rd"}, {"3rd"}, {"2nd", "3rd", "user"}),
    ("software updates", "software_updates", "during_term", "always", "always"),
    ("term kind", "term.kind", "weeks_after_latest", "year_end", "year_end"),
    ("term: 8 weeks", "term.weeks", 8, 0, 0),
    (
        "term: latest known date",
        "term.from_dates",
        ("purchased_on", "accepted_on", "go_live_on"),
        ("purchased_on",),
        ("purchased_on",),
    ),
    ("term: to 31 Dec of the following year", "term.years_after_purchase", 0, 1, 1),
    ("term: renews by 12 months", "term.renewal_months", 0, 12, 12),
    ("term: notice 3 months before the end", "term.notice_months", 0, 3, 3),
    ("ticket quota", "quota.tickets", 1, 4, 8),
    ("quota period", "quota.per", "week", "month", "month"),
    ("remote sessions free per ticket", "free_remote_sessions", 1, 1, 1),
    ("user interface building included", "ui_building", False, False, True),
    ("third-party projects are an option", "third_party_projects", "option", "option", "option"),
    ("max reaction time amount", "reaction.amount", 3, 2, 2),
    ("max reaction time unit", "reaction.unit", "working_days", "working_days", "working_days"),
    (
        "contract partner",
        "contract_partners",
        {"partner"},
        {"partner"},
        {"partner", "end_customer"},
    ),
    (
        "who may open tickets",
        "may_open_tickets",
        {"partner"},
        {"partner"},
        {"partner", "power_user", "end_customer"},
    ),
    ("only trained people open tickets", "requires_trained", True, True, True),
    (
        "fee",
        "fee.kind",
        "included",
        "percent_of_list_price_per_year",
        "percent_of_list_price_per_year",
    ),
    ("fee percentage has no built-in value", "fee.percent", None, None, None),
    ("fee due", "fee.due", "included", "pro_rata_then_january_1", "pro_rata_then_january_1"),
]


@pytest.mark.parametrize(("row", "attribute", *PLANS), PLAN_ROWS, ids=[r[0] for r in PLAN_ROWS])
def test_shipped_plan_row_matches_domain(row, attribute, commissioning, basic, pro):
    assert plan_values(attribute) == (commissioning, basic, pro)


def test_pro_ranks_before_basic_before_commissioning():
    assert plan_values("rank") == tuple(sorted(plan_values("rank")))


def test_support_hours_are_working_days_monday_to_friday_nine_to_four_in_berlin():
    calendar = POLICY.calendar
    assert str(calendar.time_zone) == "Europe/Berlin"
    from datetime import date, datetime

    monday = date(2026, 11, 23)
    for offset, open_ in enumerate([True] * 5 + [False] * 2):
        day = date.fromordinal(monday.toordinal() + offset)
        at = datetime.combine(day, time(9, 0), calendar.time_zone)
        assert calendar.is_open(at) is open_
        assert calendar.is_open(datetime.combine(day, time(15, 59), calendar.time_zone)) is open_
        assert not calendar.is_open(datetime.combine(day, time(16, 0), calendar.time_zone))
        assert not calendar.is_open(datetime.combine(day, time(8, 59), calendar.time_zone))


def test_holidays_are_baden_wuerttemberg():
    from datetime import date

    assert not POLICY.calendar.is_working_day(date(2026, 1, 6))  # Epiphany, BW only
    assert not POLICY.calendar.is_working_day(date(2026, 6, 4))  # Corpus Christi
    assert POLICY.calendar.is_working_day(date(2026, 12, 24))  # not a holiday: a working day


def test_every_paid_service_code_has_german_and_english_text():
    assert set(POLICY.flags) == set(FLAG_CODES)
    assert set(POLICY.warnings) == set(WARNING_CODES)
    for texts in (*POLICY.flags.values(), *POLICY.warnings.values()):
        assert texts.message["de"] != texts.message["en"]
        assert texts.label["de"] and texts.label["en"]


# domain.md: "A request the plan does not cover at all ... is billed on its own and does not
# use up the quota" for ui_building, no_contract, requester_not_entitled; project_service "uses
# no quota"; user_level is the same kind (a level the plan does not include).
@pytest.mark.parametrize(
    ("code", "covered"),
    [
        ("no_contract", False),
        ("over_quota", True),
        ("ui_building", False),
        ("user_level", False),
        ("third_party_project", True),
        ("extra_remote_session", True),
        ("requester_not_entitled", False),
        ("project_service", False),
        ("outside_support_hours", True),
    ],
)
def test_flags_that_mean_not_covered(code, covered):
    assert POLICY.flags[code].covered is covered


def test_every_reading_is_documented_in_the_shipped_file():
    from mappings.plans import shipped_path

    text = shipped_path().read_text(encoding="utf-8")
    for reading in (
        "8 weeks after the latest",
        "16 hours = 2 working days",
        "24 hours = 3 working days",
        "Vertragspartner",
        "Power User",
    ):
        assert reading in text
    assert text.count("READING") >= 5
