"""The quota forecast: the pure function at the start, middle and end of a period, and the
ticket's `quota_forecast` warning (not billable, silent early in a period)."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from adapter.contracts import Licence, contract_from_licence
from adapter.engine import TicketFacts, decide
from adapter.forecast import counted_days, forecast, period_end
from adapter.policy import ForecastRule
from adapter.quota import LedgerEntry, LedgerView
from mappings.plans import load_policy, shipped_path
from mappings.yamlfile import FileErrors

POLICY = load_policy()
CALENDAR = POLICY.calendar
RULE = POLICY.forecast  # the shipped one: working days, from 5 days and 2 tickets
NOVEMBER = "2026-11"  # 21 working days in Baden-Württemberg: 2-6, 9-13, 16-20, 23-27, 30
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_shipped_rule_counts_working_days_from_five_days_and_two_tickets():
    assert ForecastRule(days="working_days", min_days=5, min_tickets=2) == RULE
    days = counted_days(NOVEMBER, CALENDAR, "working_days")
    assert len(days) == 21 and days[0] == date(2026, 11, 2) and days[-1] == date(2026, 11, 30)
    assert len(counted_days(NOVEMBER, CALENDAR, "calendar_days")) == 30
    assert period_end("2026-W53") == date(2027, 1, 3) and period_end("2028-02") == date(2028, 2, 29)


def test_at_the_start_of_a_period_there_is_no_forecast():
    # Tue 3 Nov: two working days passed, three tickets already: too early to tell.
    assert forecast(3, 4, NOVEMBER, date(2026, 11, 3), CALENDAR, RULE) is None
    # Fri 6 Nov: five working days, but only one ticket.
    assert forecast(1, 4, NOVEMBER, date(2026, 11, 6), CALENDAR, RULE) is None


def test_in_the_middle_of_a_period_the_rate_so_far_runs_on():
    # Fri 13 Nov, 10 of 21 working days passed, 3 of 4 tickets used: 6.3 expected, and the
    # fourth ticket after 10/3 more working days, on the 14th working day.
    ahead = forecast(3, 4, NOVEMBER, date(2026, 11, 13), CALENDAR, RULE)
    assert (ahead.elapsed, ahead.total, ahead.expected) == (10, 21, 6)
    assert ahead.runs_out == date(2026, 11, 19)
    assert ahead.warns
    # The weekend does not count: Saturday's forecast is Friday's.
    assert forecast(3, 4, NOVEMBER, date(2026, 11, 14), CALENDAR, RULE) == ahead


def test_in_the_middle_of_a_period_a_slow_rate_lasts_the_period():
    # Pro, 2 of 8 by Fri 13 Nov: about 4 expected, the quota outlasts November.
    ahead = forecast(2, 8, NOVEMBER, date(2026, 11, 13), CALENDAR, RULE)
    assert (ahead.expected, ahead.runs_out, ahead.warns) == (4, None, False)


def test_at_the_end_of_a_period_what_was_used_is_what_is_expected():
    ahead = forecast(3, 4, NOVEMBER, date(2026, 11, 30), CALENDAR, RULE)
    assert (ahead.elapsed, ahead.total, ahead.expected) == (21, 21, 3)
    assert (ahead.runs_out, ahead.warns) == (None, False)
    # Used up already: no day to run out on, and nothing to warn about (quota_exceeded does).
    over = forecast(6, 4, NOVEMBER, date(2026, 11, 30), CALENDAR, RULE)
    assert (over.expected, over.runs_out, over.warns) == (6, None, False)


def test_calendar_days_count_every_day():
    rule = ForecastRule(days="calendar_days", min_days=5, min_tickets=2)
    ahead = forecast(3, 4, NOVEMBER, date(2026, 11, 13), CALENDAR, rule)
    # 13 of 30 days, 3 used: 6.9 expected; the fourth after 13/3 more days.
    assert (ahead.elapsed, ahead.total, ahead.expected) == (13, 30, 7)
    assert ahead.runs_out == date(2026, 11, 18)


def test_a_week_period_counts_its_working_days():
    # ISO week 53 of 2026: Mon 28 Dec to Sun 3 Jan, New Year's Day a holiday: 4 working days.
    rule = ForecastRule(min_days=2, min_tickets=2)
    ahead = forecast(2, 3, "2026-W53", date(2026, 12, 29), CALENDAR, rule)
    assert (ahead.elapsed, ahead.total, ahead.expected, ahead.runs_out) == (
        2,
        4,
        4,
        date(2026, 12, 30),
    )


# --- the ticket's warning ------------------------------------------------------------------


def basic() -> list:
    licence = Licence("LIC-1", "C-100", "basic", date(2026, 3, 15))
    return [contract_from_licence(licence, POLICY.plan("basic"))]


def ticket(day: int, used: int, language: str = "en", entries=(), **facts):
    created = datetime(2026, 11, day, 9, 0, tzinfo=UTC)  # 10:00 Berlin
    ledger = LedgerView(used={("LIC-1", NOVEMBER): used}, entries=tuple(entries))
    fact = TicketFacts("zammad", 7, created, "C-100", **facts)
    return decide(fact, basic(), ledger, NOW, policy=POLICY, language=language)


def codes(items):
    return [i.code for i in items]


def test_a_ticket_that_runs_the_quota_out_early_warns_and_is_not_billable():
    decision = ticket(13, used=2)  # the third of four on Fri 13 Nov
    assert decision.quota.label == "3/4 Nov 2026"
    assert codes(decision.warnings) == ["quota_forecast"]
    assert not decision.billable and decision.flags == ()
    assert decision.warnings[0].message == (
        "At the rate so far about 6 tickets are expected in Nov 2026; "
        "the quota of 4 will likely be used up on 19 Nov 2026."
    )
    german = ticket(13, used=2, language="de").warnings[0]
    assert german.label == "Kontingent-Prognose"
    assert german.message == (
        "Bei der bisherigen Rate sind im Zeitraum Nov 2026 etwa 6 Tickets zu erwarten; "
        "das Kontingent von 4 ist voraussichtlich am 19.11.2026 aufgebraucht."
    )


def test_early_in_a_period_a_ticket_gets_no_forecast():
    assert ticket(3, used=2).warnings == ()  # Tue 3 Nov: the third ticket in two days


def test_at_the_end_of_a_period_a_ticket_gets_no_forecast():
    assert ticket(30, used=2).warnings == ()  # Mon 30 Nov: three of four, and the month is over


def test_the_last_free_ticket_and_tickets_past_the_quota_keep_their_own_warnings():
    assert codes(ticket(13, used=3).warnings) == ["quota_last"]
    assert codes(ticket(13, used=4).warnings) == ["quota_exceeded"]


def test_a_ticket_that_does_not_count_gets_no_forecast():
    assert ticket(13, used=2, does_not_count="spam").warnings == ()


def test_a_counted_ticket_keeps_its_forecast_when_later_tickets_come():
    first = ticket(13, used=2)
    # Decided again later, with four counted: its own place (3) and day decide, as before.
    again = ticket(13, used=4, entries=[LedgerEntry("LIC-1", NOVEMBER, 3)])
    assert again.warnings == first.warnings and again.quota.label == "3/4 Nov 2026"


def test_an_admins_forecast_rule_is_read_from_plans_yaml(tmp_path: Path):
    text = shipped_path().read_text(encoding="utf-8")
    path = tmp_path / "plans.yaml"
    path.write_text(text.replace("  min_days: 5\n", "  min_days: 1\n"), encoding="utf-8")
    assert load_policy(path).forecast == ForecastRule(
        days="working_days", min_days=1, min_tickets=2
    )


def test_a_policy_without_the_forecast_section_takes_the_defaults(tmp_path: Path):
    text = shipped_path().read_text(encoding="utf-8")
    path = tmp_path / "plans.yaml"
    path.write_text(text.split("\nforecast:\n")[0] + "\n", encoding="utf-8")
    assert load_policy(path).forecast == ForecastRule()


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("  days: working_days\n", "  days: business_days\n", "days"),
        ("  min_tickets: 2\n", "  min_tickets: 0\n", "min_tickets"),
    ],
)
def test_a_wrong_forecast_rule_is_named(tmp_path: Path, old: str, new: str, field: str):
    text = shipped_path().read_text(encoding="utf-8")
    path = tmp_path / "plans.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(FileErrors) as refused:
        load_policy(path)
    assert [e.field for e in refused.value.errors] == [f"forecast.{field}"]


def test_a_policy_without_the_forecast_warnings_text_is_refused_naming_it(tmp_path: Path):
    text = shipped_path().read_text(encoding="utf-8")
    start = text.index("  quota_forecast:\n")
    end = text.index("\n\n", start)
    path = tmp_path / "plans.yaml"
    path.write_text(text[:start] + text[end + 1 :], encoding="utf-8")
    with pytest.raises(FileErrors) as refused:
        load_policy(path)
    assert "missing code(s): quota_forecast" in str(refused.value)
