"""Quota periods in the calendar's time zone, at week, month and year boundaries."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from adapter.quota import period_label, period_of

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("at", "per", "period"),
    [
        # ISO week 53 of 2026 runs Mon 28 Dec 2026 to Sun 3 Jan 2027: two months, two years
        ("2026-12-27T22:59:59Z", "week", "2026-W52"),  # Sun 23:59:59 Berlin
        ("2026-12-27T23:00:00Z", "week", "2026-W53"),  # Mon 00:00 Berlin
        ("2026-12-31T12:00:00Z", "week", "2026-W53"),
        ("2027-01-01T12:00:00Z", "week", "2026-W53"),
        ("2027-01-03T22:59:59Z", "week", "2026-W53"),  # Sun 23:59:59 Berlin
        ("2027-01-03T23:00:00Z", "week", "2027-W01"),  # Mon 00:00 Berlin
        # months follow Berlin's calendar, not UTC's
        ("2026-12-31T22:59:59Z", "month", "2026-12"),
        ("2026-12-31T23:00:00Z", "month", "2027-01"),
        ("2026-03-31T21:59:59Z", "month", "2026-03"),  # CEST: UTC+2
        ("2026-03-31T22:00:00Z", "month", "2026-04"),
    ],
)
def test_period_of(at, per, period):
    assert period_of(datetime.fromisoformat(at), per, BERLIN) == period


@pytest.mark.parametrize(
    ("period", "language", "label"),
    [
        ("2026-11", "en", "Nov 2026"),
        ("2026-03", "de", "Mär 2026"),
        ("2026-W53", "en", "week 53 2026"),
        ("2027-W01", "de", "KW 1 2027"),
    ],
)
def test_period_label(period, language, label):
    assert period_label(period, language) == label
