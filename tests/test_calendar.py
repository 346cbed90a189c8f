"""Tests for the business calendar (support hours, holidays, reaction due).

Expected values in the tables are worked out by hand from the rules in domain.md ("Reaction
time") and written as literal UTC timestamps. Default calendar: Europe/Berlin, holidays of
Baden-Württemberg, Mon-Fri 09:00-16:00, i.e. 7 open hours per working day. DST changes: 2026-03-29,
2026-10-25, 2027-03-28, 2027-10-31 (CET = UTC+1, CEST = UTC+2).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.calendar import BusinessCalendar, CalendarError

BERLIN = ZoneInfo("Europe/Berlin")
US = timedelta(microseconds=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# Calendars used by the tables, by name. Keyword arguments for BusinessCalendar.
CALENDARS: dict[str, dict[str, Any]] = {
    "default": {},
    "closed_24_31": {"closed_days": [date(2026, 12, 24), date(2026, 12, 31)]},
    "half_days_24_31": {
        "special_hours": {
            date(2026, 12, 24): [(time(9), time(12))],
            date(2026, 12, 31): [(time(9), time(12))],
        }
    },
    # 26 Dec 2026 is a Saturday and a public holiday; special hours win over both.
    "open_26_dec": {"special_hours": {date(2026, 12, 26): [(time(10), time(14))]}},
    "closed_15_jul": {"special_hours": {date(2026, 7, 15): []}},
    "gap_16_jul": {
        "special_hours": {date(2026, 7, 16): [(time(9), time(11)), (time(13), time(16))]}
    },
    "late_16_jul": {"special_hours": {date(2026, 7, 16): [(time(11), time(16))]}},
}
_BUILT: dict[str, BusinessCalendar] = {}


def calendar(name: str) -> BusinessCalendar:
    if name not in _BUILT:
        _BUILT[name] = BusinessCalendar(**CALENDARS[name])
    return _BUILT[name]


# (case, calendar, start with its local offset, N working days -> due, hours -> due).
# Each case lists N=2 / 16 h (basic, pro) and N=3 / 24 h (commissioning).
WD, BH = "working_days", "business_hours"
CASES: list[tuple[str, str, str, dict[tuple[str, int], str]]] = [
    (
        "friday after 16:00 -> counting starts Mon 09:00",
        "default",
        "2026-01-09T17:00+01:00",
        {
            (WD, 2): "2026-01-14T08:00Z",
            (WD, 3): "2026-01-15T08:00Z",
            (BH, 16): "2026-01-14T10:00Z",
            (BH, 24): "2026-01-15T11:00Z",
        },
    ),
    (
        "friday exactly 16:00 is closed",
        "default",
        "2026-01-09T16:00+01:00",
        {(WD, 2): "2026-01-14T08:00Z", (BH, 16): "2026-01-14T10:00Z"},
    ),
    (
        "friday 15:59 keeps its clock time / one minute counts",
        "default",
        "2026-01-09T15:59+01:00",
        {
            (WD, 2): "2026-01-13T14:59Z",
            (WD, 3): "2026-01-14T14:59Z",
            (BH, 16): "2026-01-14T09:59Z",
            (BH, 24): "2026-01-15T10:59Z",
        },
    ),
    (
        "saturday -> counting starts Mon 09:00",
        "default",
        "2026-02-07T11:00+01:00",
        {
            (WD, 2): "2026-02-11T08:00Z",
            (WD, 3): "2026-02-12T08:00Z",
            (BH, 16): "2026-02-11T10:00Z",
            (BH, 24): "2026-02-12T11:00Z",
        },
    ),
    (
        "monday 09:00 + 7 h ends on the closing instant",
        "default",
        "2026-01-12T09:00+01:00",
        {(BH, 7): "2026-01-12T15:00Z", (BH, 14): "2026-01-13T15:00Z", (WD, 0): "2026-01-12T08:00Z"},
    ),
    (
        "before DST spring 2026 (Fri 27 Mar, CET) into CEST",
        "default",
        "2026-03-27T10:00+01:00",
        {
            (WD, 2): "2026-03-31T08:00Z",
            (WD, 3): "2026-04-01T08:00Z",
            (BH, 16): "2026-03-31T10:00Z",
            (BH, 24): "2026-04-01T11:00Z",
        },
    ),
    (
        "on the DST spring 2026 night (Sun 29 Mar 01:30 CET)",
        "default",
        "2026-03-29T01:30+01:00",
        {(WD, 0): "2026-03-30T07:00Z", (WD, 2): "2026-04-01T07:00Z", (BH, 16): "2026-04-01T09:00Z"},
    ),
    (
        "after DST spring 2026 (Mon 30 Mar, CEST)",
        "default",
        "2026-03-30T09:30+02:00",
        {
            (WD, 2): "2026-04-01T07:30Z",
            (WD, 3): "2026-04-02T07:30Z",
            (BH, 16): "2026-04-01T09:30Z",
            (BH, 24): "2026-04-02T10:30Z",
        },
    ),
    (
        "before DST autumn 2026 (Fri 23 Oct, CEST) into CET; 16 h ends on a close",
        "default",
        "2026-10-23T14:00+02:00",
        {
            (WD, 2): "2026-10-27T13:00Z",
            (WD, 3): "2026-10-28T13:00Z",
            (BH, 16): "2026-10-27T15:00Z",
            (BH, 24): "2026-10-29T09:00Z",
        },
    ),
    (
        "after DST autumn 2026 (Mon 26 Oct, CET)",
        "default",
        "2026-10-26T09:00+01:00",
        {
            (WD, 2): "2026-10-28T08:00Z",
            (WD, 3): "2026-10-29T08:00Z",
            (BH, 16): "2026-10-28T10:00Z",
            (BH, 24): "2026-10-29T11:00Z",
        },
    ),
    (
        "before DST spring 2027 (Thu 25 Mar), skipping Good Friday and Easter Monday",
        "default",
        "2027-03-25T11:00+01:00",
        {
            (WD, 2): "2027-03-31T09:00Z",
            (WD, 3): "2027-04-01T09:00Z",
            (BH, 16): "2027-03-31T11:00Z",
            (BH, 24): "2027-04-01T12:00Z",
        },
    ),
    (
        "after DST spring 2027 (Tue 30 Mar, CEST)",
        "default",
        "2027-03-30T15:00+02:00",
        {
            (WD, 2): "2027-04-01T13:00Z",
            (WD, 3): "2027-04-02T13:00Z",
            (BH, 16): "2027-04-02T08:00Z",
            (BH, 24): "2027-04-05T09:00Z",
        },
    ),
    (
        "before DST autumn 2027 (Fri 29 Oct, CEST), skipping All Saints (Mon 1 Nov)",
        "default",
        "2027-10-29T12:00+02:00",
        {
            (WD, 2): "2027-11-03T11:00Z",
            (WD, 3): "2027-11-04T11:00Z",
            (BH, 16): "2027-11-03T13:00Z",
            (BH, 24): "2027-11-04T14:00Z",
        },
    ),
    (
        "after DST autumn 2027 (Tue 2 Nov 08:00 CET, before opening)",
        "default",
        "2027-11-02T08:00+01:00",
        {
            (WD, 2): "2027-11-04T08:00Z",
            (WD, 3): "2027-11-05T08:00Z",
            (BH, 16): "2027-11-04T10:00Z",
            (BH, 24): "2027-11-05T11:00Z",
        },
    ),
    (
        "24 Dec is a working day by default",
        "default",
        "2026-12-23T10:00+01:00",
        {
            (WD, 2): "2026-12-28T09:00Z",
            (WD, 3): "2026-12-29T09:00Z",
            (BH, 16): "2026-12-28T11:00Z",
            (BH, 24): "2026-12-29T12:00Z",
        },
    ),
    (
        "24 Dec closed when listed in closed_days",
        "closed_24_31",
        "2026-12-23T10:00+01:00",
        {
            (WD, 2): "2026-12-29T09:00Z",
            (WD, 3): "2026-12-30T09:00Z",
            (BH, 16): "2026-12-29T11:00Z",
            (BH, 24): "2026-12-30T12:00Z",
        },
    ),
    (
        "ticket on 24 Dec, a working day by default",
        "default",
        "2026-12-24T11:00+01:00",
        {(WD, 2): "2026-12-29T10:00Z", (BH, 16): "2026-12-29T12:00Z"},
    ),
    (
        "ticket on a closed 24 Dec waits for Mon 28 Dec 09:00",
        "closed_24_31",
        "2026-12-24T11:00+01:00",
        {(WD, 2): "2026-12-30T08:00Z", (BH, 16): "2026-12-30T10:00Z"},
    ),
    (
        "31 Dec is a working day by default; 1 Jan is not",
        "default",
        "2026-12-30T10:00+01:00",
        {
            (WD, 2): "2027-01-04T09:00Z",
            (WD, 3): "2027-01-05T09:00Z",
            (BH, 16): "2027-01-04T11:00Z",
            (BH, 24): "2027-01-05T12:00Z",
        },
    ),
    (
        "31 Dec closed when listed; then 1 Jan and 6 Jan 2027 are skipped too",
        "closed_24_31",
        "2026-12-30T10:00+01:00",
        {
            (WD, 2): "2027-01-05T09:00Z",
            (WD, 3): "2027-01-07T09:00Z",
            (BH, 16): "2027-01-05T11:00Z",
            (BH, 24): "2027-01-07T12:00Z",
        },
    ),
    (
        "year end: 30 Dec 16:30 -> 31 Dec, then January 2027 skipping 1 Jan and 6 Jan",
        "default",
        "2026-12-30T16:30+01:00",
        {
            (WD, 2): "2027-01-05T08:00Z",
            (WD, 3): "2027-01-07T08:00Z",
            (BH, 16): "2027-01-05T10:00Z",
            (BH, 24): "2027-01-07T11:00Z",
        },
    ),
    (
        "6 Jan 2026 (Epiphany, BW) is skipped",
        "default",
        "2026-01-05T12:00+01:00",
        {
            (WD, 2): "2026-01-08T11:00Z",
            (WD, 3): "2026-01-09T11:00Z",
            (BH, 16): "2026-01-08T13:00Z",
            (BH, 24): "2026-01-09T14:00Z",
        },
    ),
    (
        "ticket on 6 Jan 2026 waits for Wed 7 Jan 09:00",
        "default",
        "2026-01-06T10:00+01:00",
        {(WD, 2): "2026-01-09T08:00Z", (BH, 16): "2026-01-09T10:00Z"},
    ),
    (
        "Corpus Christi 2026 (Thu 4 Jun, BW) is skipped",
        "default",
        "2026-06-03T15:00+02:00",
        {
            (WD, 2): "2026-06-08T13:00Z",
            (WD, 3): "2026-06-09T13:00Z",
            (BH, 16): "2026-06-09T08:00Z",
            (BH, 24): "2026-06-10T09:00Z",
        },
    ),
    (
        "Corpus Christi 2027 (Thu 27 May, BW) is skipped",
        "default",
        "2027-05-26T09:00+02:00",
        {
            (WD, 2): "2027-05-31T07:00Z",
            (WD, 3): "2027-06-01T07:00Z",
            (BH, 16): "2027-05-31T09:00Z",
            (BH, 24): "2027-06-01T10:00Z",
        },
    ),
    (
        "special hours: half day on 24 Dec clamps 14:00 to its 12:00 close",
        "half_days_24_31",
        "2026-12-22T14:00+01:00",
        {
            (WD, 2): "2026-12-24T11:00Z",
            (WD, 3): "2026-12-28T13:00Z",
            (BH, 16): "2026-12-28T12:00Z",
            (BH, 24): "2026-12-29T13:00Z",
        },
    ),
    (
        "special hours open a Saturday holiday (26 Dec 10:00-14:00)",
        "open_26_dec",
        "2026-12-25T10:00+01:00",
        {(WD, 0): "2026-12-26T09:00Z", (WD, 2): "2026-12-29T09:00Z", (BH, 16): "2026-12-29T13:00Z"},
    ),
    (
        "special hours: empty sequence closes Wed 15 Jul",
        "closed_15_jul",
        "2026-07-14T10:00+02:00",
        {(WD, 2): "2026-07-17T08:00Z", (BH, 16): "2026-07-17T10:00Z"},
    ),
    (
        "special hours with a gap: 12:00 clamps to the next frame; 16 h ends on a close",
        "gap_16_jul",
        "2026-07-14T12:00+02:00",
        {(WD, 2): "2026-07-16T11:00Z", (BH, 16): "2026-07-16T14:00Z"},
    ),
    (
        "special hours starting late: 10:00 clamps to the day's first start 11:00",
        "late_16_jul",
        "2026-07-14T10:00+02:00",
        {(WD, 2): "2026-07-16T09:00Z", (BH, 16): "2026-07-16T12:00Z"},
    ),
]

DUE_ROWS = [
    pytest.param(cal, start, unit, amount, expected, id=f"{case} [{amount} {unit}]")
    for case, cal, start, dues in CASES
    for (unit, amount), expected in dues.items()
]


@pytest.mark.parametrize(("cal", "start", "unit", "amount", "expected"), DUE_ROWS)
def test_due_matches_hand_computed_utc(
    cal: str, start: str, unit: str, amount: int, expected: str
) -> None:
    result = calendar(cal).due(datetime.fromisoformat(start), amount, unit)
    assert result == utc(expected)
    assert result.tzinfo is UTC


def test_due_in_utc_input_gives_the_same_instant() -> None:
    cal = calendar("default")
    start = datetime(2026, 1, 9, 14, 59, tzinfo=UTC)  # Fri 15:59 Berlin
    assert cal.due(start, 2, WD) == utc("2026-01-13T14:59Z")


def test_due_working_days_truncates_amount_to_int() -> None:
    cal = calendar("default")
    assert cal.due(datetime.fromisoformat("2026-01-09T17:00+01:00"), 2.0, WD) == utc(
        "2026-01-14T08:00Z"
    )


def test_due_business_hours_accepts_fractions() -> None:
    cal = calendar("default")
    start = datetime.fromisoformat("2026-01-12T09:00+01:00")
    assert cal.due(start, 1.5, BH) == utc("2026-01-12T09:30Z")


def test_due_unknown_unit_raises() -> None:
    with pytest.raises(CalendarError, match="unit"):
        calendar("default").due(datetime(2026, 1, 12, 9, tzinfo=UTC), 2, "weeks")


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.due(t, 2, WD),
        lambda c, t: c.due(t, 16, BH),
        lambda c, t: c.is_open(t),
        lambda c, t: c.next_opening(t),
        lambda c, t: c.add_business_time(t, timedelta(hours=1)),
        lambda c, t: c.add_working_days(t, 1),
    ],
    ids=["due_wd", "due_bh", "is_open", "next_opening", "add_business_time", "add_working_days"],
)
def test_naive_datetime_raises(call: Any) -> None:
    with pytest.raises(CalendarError, match="timezone-aware"):
        call(calendar("default"), datetime(2026, 1, 12, 10, 0))


def test_negative_amounts_raise() -> None:
    cal, t = calendar("default"), datetime(2026, 1, 12, 10, tzinfo=UTC)
    with pytest.raises(CalendarError):
        cal.add_business_time(t, timedelta(seconds=-1))
    with pytest.raises(CalendarError):
        cal.add_working_days(t, -1)


def test_add_business_time_zero_returns_start_in_utc() -> None:
    start = datetime.fromisoformat("2026-01-10T11:00+01:00")  # Saturday: closed
    result = calendar("default").add_business_time(start, timedelta(0))
    assert result == start
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 24), True),
        (date(2026, 12, 31), True),
        (date(2026, 12, 25), False),
        (date(2027, 1, 1), False),
        (date(2026, 1, 6), False),
        (date(2026, 6, 4), False),
        (date(2027, 5, 27), False),
        (date(2026, 1, 10), False),  # Saturday
        (date(2026, 1, 12), True),
    ],
)
def test_is_working_day_default(day: date, expected: bool) -> None:
    assert calendar("default").is_working_day(day) is expected


def test_closed_days_and_special_hours_change_working_days() -> None:
    assert not calendar("closed_24_31").is_working_day(date(2026, 12, 24))
    assert calendar("open_26_dec").is_working_day(date(2026, 12, 26))
    assert not calendar("closed_15_jul").is_working_day(date(2026, 7, 15))


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-01-12T09:00+01:00", True),  # opening instant is open
        ("2026-01-12T15:59:59.999999+01:00", True),
        ("2026-01-12T16:00+01:00", False),  # closing instant is not
        ("2026-01-12T08:59:59+01:00", False),
        ("2026-06-04T10:00+02:00", False),  # Corpus Christi
        ("2026-03-30T09:00+02:00", True),
    ],
)
def test_is_open(at: str, expected: bool) -> None:
    assert calendar("default").is_open(datetime.fromisoformat(at)) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-01-12T10:00+01:00", "2026-01-12T09:00Z"),  # open: itself
        ("2026-01-12T16:00+01:00", "2026-01-13T08:00Z"),
        ("2026-03-27T17:00+01:00", "2026-03-30T07:00Z"),  # over the spring DST change
        ("2026-12-31T16:00+01:00", "2027-01-04T08:00Z"),  # into the next, unbuilt year
    ],
)
def test_next_opening(at: str, expected: str) -> None:
    assert calendar("default").next_opening(datetime.fromisoformat(at)) == utc(expected)


def test_weekly_hours_with_lunch_break() -> None:
    week = {day: [(time(8), time(12)), (time(13), time(17))] for day in range(5)}
    cal = BusinessCalendar(weekly_hours=week, country=None, subdivision=None)
    start = datetime.fromisoformat("2026-01-12T11:00+01:00")
    # 1 h before lunch, 1 h after: 14:00 local.
    assert cal.add_business_time(start, timedelta(hours=2)) == utc("2026-01-12T13:00Z")
    # 1 h exhausts exactly at 12:00, the closing instant before lunch.
    assert cal.add_business_time(start, timedelta(hours=1)) == utc("2026-01-12T11:00Z")
    # 12:30 is in the break (closed): counting starts at 13:00, so due Tue 13:00.
    lunch = datetime.fromisoformat("2026-01-12T12:30+01:00")
    assert cal.add_working_days(lunch, 1) == utc("2026-01-13T12:00Z")
    # No holidays: 1 Jan 2026 (Thursday) is a working day.
    assert cal.is_working_day(date(2026, 1, 1))


def test_overlapping_timeframes_count_once() -> None:
    week = {0: [(time(12), time(16)), (time(9), time(13))]}  # Mondays only, 09:00-16:00 in all
    cal = BusinessCalendar(weekly_hours=week, country=None, subdivision=None)
    start = datetime.fromisoformat("2026-01-12T11:00+01:00")
    assert cal.add_business_time(start, timedelta(hours=5)) == utc("2026-01-12T15:00Z")
    assert cal.add_business_time(start, timedelta(hours=6)) == utc("2026-01-19T09:00Z")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"country": "XX"},
        {"subdivision": "ZZ"},
        {"country": None, "subdivision": "BW"},
        {"time_zone": "Mars/Olympus"},
        {"weekly_hours": {0: [(time(16), time(9))]}},
        {"weekly_hours": {0: [(time(9), time(9))]}},
        {"weekly_hours": {7: [(time(9), time(16))]}},
        {"weekly_hours": {0: [("09:00", "16:00")]}},
        {"special_hours": {datetime(2026, 1, 1, tzinfo=UTC): []}},
    ],
    ids=[
        "unknown_country",
        "unknown_subdivision",
        "subdivision_without_country",
        "unknown_time_zone",
        "end_before_start",
        "empty_frame",
        "weekday_out_of_range",
        "strings_not_times",
        "special_hours_datetime_key",
    ],
)
def test_bad_configuration_raises(kwargs: dict[str, Any]) -> None:
    with pytest.raises(CalendarError):
        BusinessCalendar(**kwargs)


def test_unknown_region_error_names_it() -> None:
    with pytest.raises(CalendarError, match="XX"):
        BusinessCalendar(country="XX", subdivision=None)
    with pytest.raises(CalendarError, match="DE-ZZ"):
        BusinessCalendar(subdivision="ZZ")


def test_calendar_without_any_open_time_raises_instead_of_looping() -> None:
    cal = BusinessCalendar(weekly_hours={}, country=None, subdivision=None)
    with pytest.raises(CalendarError, match="no open time"):
        cal.next_opening(datetime(2026, 1, 1, tzinfo=UTC))


def test_queries_far_apart_in_time_extend_both_ways() -> None:
    cal = BusinessCalendar()
    later = datetime.fromisoformat("2030-01-02T10:00+01:00")  # Wednesday
    earlier = datetime.fromisoformat("2020-01-02T10:00+01:00")  # Thursday
    assert cal.due(later, 2, WD) == utc("2030-01-04T09:00Z")
    assert cal.due(earlier, 2, WD) == utc("2020-01-07T09:00Z")  # Mon 6 Jan is Epiphany
    assert cal.due(later, 2, WD) == utc("2030-01-04T09:00Z")


def test_large_amount_spans_years() -> None:
    # 2027 in BW: 261 weekdays, 8 holidays on weekdays (1 May, 3 Oct, 25 and 26 Dec fall on a
    # weekend) -> 253 working days, the first being Mon 4 Jan. 253 working days after it is the
    # first working day of 2028, Mon 3 Jan (1 Jan 2028 is a Saturday); 253 * 7 business hours
    # from Mon 4 Jan 09:00 end on the close of the year's last working day, Fri 31 Dec 2027.
    cal = calendar("default")
    start = datetime.fromisoformat("2027-01-04T09:00+01:00")
    assert cal.due(start, 253, WD) == utc("2028-01-03T08:00Z")
    assert cal.due(start, 253 * 7, BH) == utc("2027-12-31T15:00Z")


# ----------------------------------------------------------------- property tests

# Instants from mid-2025 to early 2029, at microsecond resolution.
_LO = int(datetime(2025, 7, 1, tzinfo=UTC).timestamp())
_HI = int(datetime(2029, 1, 1, tzinfo=UTC).timestamp())
instants = st.builds(
    lambda s, us: datetime.fromtimestamp(s, UTC) + timedelta(microseconds=us),
    st.integers(_LO, _HI),
    st.sampled_from([0, 0, 0, 1, 999_999]) | st.integers(0, 999_999),
)
deltas = st.builds(
    lambda s, us: timedelta(seconds=s, microseconds=us),
    st.integers(0, 60 * 3600) | st.sampled_from([0, 3600, 7 * 3600, 16 * 3600, 24 * 3600]),
    st.sampled_from([0, 0, 0, 1]) | st.integers(0, 999_999),
)
property_calendars = st.sampled_from(
    [
        calendar("default"),
        calendar("half_days_24_31"),
        BusinessCalendar(
            weekly_hours={
                **{day: [(time(8), time(12)), (time(13), time(17))] for day in range(4)},
                4: [(time(8), time(13))],
                6: [(time(2), time(3, 30))],  # Sundays: touches the DST gap and fold
            },
            special_hours={date(2027, 3, 28): [(time(1), time(4))]},  # the spring DST night
        ),
    ]
)
PROPS = settings(max_examples=150, deadline=None)


def _open_just_before(cal: BusinessCalendar, t: datetime) -> bool:
    return cal.is_open(t - US)


@PROPS
@given(property_calendars, instants, instants, deltas)
def test_business_time_is_monotonic_in_start(
    cal: BusinessCalendar, a: datetime, b: datetime, d: timedelta
) -> None:
    a, b = min(a, b), max(a, b)
    assert cal.add_business_time(a, d) <= cal.add_business_time(b, d)


@PROPS
@given(property_calendars, instants, deltas, deltas)
def test_business_time_is_monotonic_in_delta(
    cal: BusinessCalendar, t: datetime, d1: timedelta, d2: timedelta
) -> None:
    d1, d2 = min(d1, d2), max(d1, d2)
    assert cal.add_business_time(t, d1) <= cal.add_business_time(t, d2)


@PROPS
@given(property_calendars, instants, deltas)
def test_business_time_never_lands_on_closed_time(
    cal: BusinessCalendar, t: datetime, d: timedelta
) -> None:
    result = cal.add_business_time(t, d)
    if d > timedelta(0):
        # Inside (open_start, open_end]: open now, or exactly the closing instant.
        assert _open_just_before(cal, result)
        assert result > t
    else:
        assert result == t


@PROPS
@given(property_calendars, instants, deltas, deltas)
def test_business_time_is_additive(
    cal: BusinessCalendar, t: datetime, a: timedelta, b: timedelta
) -> None:
    assert cal.add_business_time(cal.add_business_time(t, a), b) == cal.add_business_time(t, a + b)


def _reference_add_hours(start: datetime, delta: timedelta) -> datetime:
    """Slow, independent walk over the default calendar's days, for comparison."""
    de_bw = holidays.country_holidays("DE", subdiv="BW")
    local = start.astimezone(BERLIN)
    day, remaining = local.date(), delta
    while True:
        if day.weekday() < 5 and day not in de_bw:
            opens = datetime.combine(day, time(9), tzinfo=BERLIN)
            closes = datetime.combine(day, time(16), tzinfo=BERLIN)
            begin = max(opens, start)
            if begin < closes:
                if remaining <= closes - begin:
                    return (begin + remaining).astimezone(UTC)
                remaining -= closes - begin
        day += timedelta(days=1)


@settings(max_examples=100, deadline=None)
@given(instants, deltas.filter(lambda d: d > timedelta(0)))
def test_business_time_agrees_with_a_simple_day_walk(t: datetime, d: timedelta) -> None:
    assert calendar("default").add_business_time(t, d) == _reference_add_hours(t, d)


@PROPS
@given(property_calendars, instants, instants, st.integers(0, 10))
def test_working_days_is_monotonic_in_start(
    cal: BusinessCalendar, a: datetime, b: datetime, n: int
) -> None:
    a, b = min(a, b), max(a, b)
    assert cal.add_working_days(a, n) <= cal.add_working_days(b, n)


@PROPS
@given(property_calendars, instants, st.integers(0, 10))
def test_working_days_lands_on_a_working_day_inside_open_time_or_at_a_frame_end(
    cal: BusinessCalendar, t: datetime, n: int
) -> None:
    result = cal.add_working_days(t, n)
    assert result >= t
    assert cal.is_working_day(result.astimezone(cal.time_zone).date())
    assert cal.is_open(result) or _open_just_before(cal, result)
    if n == 0:
        assert result == cal.next_opening(t)


def test_concurrent_first_queries_agree_with_sequential_ones() -> None:
    # Threads that extend a fresh calendar to different years at once must see consistent
    # indexes (a web worker may share one calendar across threads).
    starts = [
        datetime(year, 1 + m, 1 + d, 15, tzinfo=UTC)
        for year in range(2024, 2032)
        for m in (0, 6, 11)
        for d in (0, 29)
    ]
    expected = [BusinessCalendar().due(s, 16, BH) for s in starts]
    shared = BusinessCalendar()
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda s: shared.due(s, 16, BH), starts))
    assert got == expected
