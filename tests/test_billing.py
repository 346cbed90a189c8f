"""Billable lines: started half hours, splits at midnight and night hours, surcharge classes."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapter.billing import BillingError, Work, half_hours, lines_for
from adapter.calendar import BusinessCalendar
from mappings.prices import load_prices
from mappings.yamlfile import FileErrors

BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = BusinessCalendar()  # Europe/Berlin, DE-BW holidays
NO_PRICES = load_prices()  # the shipped file: night 22:00-06:00, no amounts


def work(start: str, minutes: int, code: str = "over_quota") -> Work:
    return Work(
        work_id="w1",
        ticket="42",
        contract="c1",
        code=code,
        start=datetime.fromisoformat(start).replace(tzinfo=BERLIN),
        minutes=minutes,
        activity="Remote",
    )


def local(line) -> str:
    return line.start.astimezone(BERLIN).strftime("%a %Y-%m-%d %H:%M")


@pytest.mark.parametrize(("minutes", "expected"), [(1, 1), (30, 1), (31, 2), (60, 2), (61, 3)])
def test_quantity_is_started_half_hours(minutes, expected):
    assert half_hours(minutes) == expected
    (line,) = lines_for(work("2026-11-25T10:00", minutes), CALENDAR, NO_PRICES)
    assert (line.minutes, line.quantity, line.surcharges) == (minutes, expected, ())


CASES = [
    # (case, local start, minutes, [(local start, minutes, quantity, surcharges)])
    (
        "Fri 23:30 to Sat 00:30 splits at midnight into a Friday night and a Saturday night",
        "2026-11-27T23:30",
        60,
        [
            ("Fri 2026-11-27 23:30", 30, 1, ("night",)),
            ("Sat 2026-11-28 00:00", 30, 1, ("saturday", "night")),
        ],
    ),
    (
        "a BW public holiday (Corpus Christi) on a Thursday",
        "2026-06-04T10:00",
        45,
        [("Thu 2026-06-04 10:00", 45, 2, ("sunday_or_holiday",))],
    ),
    (
        "a half hour split evenly at the night start is billed on the piece without surcharge",
        "2026-06-03T21:45",
        30,
        [("Wed 2026-06-03 21:45", 15, 1, ())],
    ),
    (
        "the DST change night is nine elapsed hours from 22:00 to 06:00",
        "2026-10-24T21:00",
        11 * 60,
        [
            ("Sat 2026-10-24 21:00", 60, 2, ("saturday",)),
            ("Sat 2026-10-24 22:00", 120, 4, ("saturday", "night")),
            ("Sun 2026-10-25 00:00", 7 * 60, 14, ("sunday_or_holiday", "night")),
            ("Sun 2026-10-25 06:00", 60, 2, ("sunday_or_holiday",)),
        ],
    ),
    (
        "20 minutes across midnight is one half hour, not one per side",
        "2026-11-25T23:50",
        20,
        [("Wed 2026-11-25 23:50", 10, 1, ("night",))],
    ),
    (
        "a Sunday morning splits where the night ends; the tie goes to the cheaper piece",
        "2026-11-29T05:45",
        30,
        [("Sun 2026-11-29 06:00", 15, 1, ("sunday_or_holiday",))],
    ),
    (
        "40 minutes split 20/20 at the night end is one half hour per piece",
        "2026-11-29T05:40",
        40,
        [
            ("Sun 2026-11-29 05:40", 20, 1, ("sunday_or_holiday", "night")),
            ("Sun 2026-11-29 06:00", 20, 1, ("sunday_or_holiday",)),
        ],
    ),
]


@pytest.mark.parametrize(("case", "start", "minutes", "expected"), CASES, ids=[c[0] for c in CASES])
def test_work_is_split_and_classified(case, start, minutes, expected):
    lines = lines_for(work(start, minutes), CALENDAR, NO_PRICES)
    assert [(local(x), x.minutes, x.quantity, x.surcharges) for x in lines] == expected
    assert sum(x.quantity for x in lines) == half_hours(minutes)
    assert all(x.amount is None and x.unit_price is None for x in lines)


def test_line_ids_are_stable_and_distinct_per_piece():
    first = lines_for(work("2026-11-27T23:30", 60), CALENDAR, NO_PRICES)
    again = lines_for(work("2026-11-27T23:30", 60), CALENDAR, NO_PRICES)
    assert [x.line_id for x in first] == [x.line_id for x in again]
    assert len({x.line_id for x in first}) == 2


def test_naive_start_is_refused():
    with pytest.raises(BillingError, match="timezone-aware"):
        lines_for(
            Work("w", "1", None, "over_quota", datetime(2026, 11, 25, 10), 5), CALENDAR, NO_PRICES
        )


def write_prices(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(text, encoding="utf-8")
    return path


PRICED = """\
version: 1
currency: EUR
night: {from: "22:00", to: "06:00"}
rates: {over_quota: 50}
surcharges: {saturday: 25, sunday_or_holiday: 50, night: 25}
on_call: {base_fee: 100}
"""


def test_priced_lines_add_night_and_day_surcharges(tmp_path):
    prices = load_prices(write_prices(tmp_path, PRICED))
    friday, saturday = lines_for(work("2026-11-27T23:30", 60), CALENDAR, prices)
    assert (friday.unit_price, friday.amount, friday.currency) == (
        Decimal(50),
        Decimal("62.50"),
        "EUR",
    )
    assert saturday.amount == Decimal("75.00")  # 50 * (1 + 25% + 25%)


def test_a_missing_price_leaves_the_line_unpriced(tmp_path):
    prices = load_prices(write_prices(tmp_path, PRICED.replace("night: 25}", "night: null}")))
    (line,) = lines_for(work("2026-11-25T10:00", 10), CALENDAR, prices)
    assert line.amount == Decimal("50.00")
    (night,) = lines_for(work("2026-11-25T23:00", 10), CALENDAR, prices)
    assert night.amount is None and night.quantity == 1


def test_utc_start_is_classified_in_the_calendar_time_zone():
    start = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # Sat 00:30 in Berlin
    (line,) = lines_for(Work("w", "1", None, "x", start, 10), CALENDAR, NO_PRICES)
    assert line.surcharges == ("saturday", "night")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("currency: EUR", "currency: euro", "currency"),
        ("saturday: 25", "saturdy: 25", "surcharges.saturdy.key"),
        ("over_quota: 50", "over_quota: -1", "rates.over_quota"),
        ('to: "06:00"', 'to: "22:00"', "night"),
        ("base_fee: 100", "base_fee: 100, fee: 1", "on_call.fee"),
    ],
)
def test_price_file_errors_name_file_line_and_field(tmp_path, old, new, field):
    with pytest.raises(FileErrors) as e:
        load_prices(write_prices(tmp_path, PRICED.replace(old, new)))
    (error,) = e.value.errors
    assert error.field == field and error.line is not None
