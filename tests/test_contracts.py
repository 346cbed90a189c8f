"""Contract terms from licences: ends, notice dates and status, as domain.md says."""

from datetime import date

import pytest

from adapter.contracts import ContractStatus, Licence, contract_from_licence
from mappings.plans import load_policy

POLICY = load_policy()


def contract(plan, purchased, **licence):
    lic = Licence("LIC-1", "C-1", plan, date.fromisoformat(purchased), **licence)
    return contract_from_licence(lic, POLICY.plan(plan))


@pytest.mark.parametrize(
    ("plan", "purchased", "on", "valid_until", "notice_by"),
    [
        # basic and pro: purchase to 31 Dec of the following year, notice by 30 Sep
        ("basic", "2026-01-15", "2026-01-15", "2027-12-31", "2027-09-30"),
        ("basic", "2026-12-20", "2026-12-20", "2027-12-31", "2027-09-30"),
        ("pro", "2028-02-29", "2028-02-29", "2029-12-31", "2029-09-30"),
        # renews by 12 months unless cancelled
        ("basic", "2026-01-15", "2028-01-01", "2028-12-31", "2028-09-30"),
        ("pro", "2026-12-20", "2031-06-30", "2031-12-31", "2031-09-30"),
        # commissioning: 8 weeks (56 days) after purchase, no renewal, no notice
        ("commissioning", "2026-01-15", "2026-01-15", "2026-03-12", None),
        ("commissioning", "2026-12-20", "2026-12-20", "2027-02-14", None),
        ("commissioning", "2028-02-29", "2028-02-29", "2028-04-25", None),
    ],
)
def test_end_and_notice_dates(plan, purchased, on, valid_until, notice_by):
    c = contract(plan, purchased)
    day = date.fromisoformat(on)
    assert c.end_on(day) == date.fromisoformat(valid_until)
    assert c.notice_by(day) == (date.fromisoformat(notice_by) if notice_by else None)


@pytest.mark.parametrize(
    ("dates", "valid_until"),
    [
        ({"accepted_on": date(2026, 2, 1)}, date(2026, 3, 29)),
        ({"go_live_on": date(2026, 3, 2), "accepted_on": date(2026, 2, 1)}, date(2026, 4, 27)),
        # an acceptance recorded before the purchase: the purchase is the latest known date
        ({"accepted_on": date(2026, 1, 1)}, date(2026, 3, 12)),
    ],
)
def test_commissioning_ends_8_weeks_after_latest_known_date(dates, valid_until):
    c = contract("commissioning", "2026-01-15", **dates)
    assert c.end_on(date(2026, 1, 20)) == valid_until


@pytest.mark.parametrize(
    ("on", "status"),
    [
        ("2026-03-14", ContractStatus.NOT_STARTED),
        ("2026-03-15", ContractStatus.ACTIVE),
        ("2027-12-31", ContractStatus.ACTIVE),
        ("2028-01-01", ContractStatus.ACTIVE),  # renewed
    ],
)
def test_status_of_a_running_basic_contract(on, status):
    assert contract("basic", "2026-03-15").status_on(date.fromisoformat(on)) is status


def test_commissioning_expires_after_its_last_day():
    c = contract("commissioning", "2026-01-15")
    assert c.status_on(date(2026, 3, 12)) is ContractStatus.ACTIVE
    assert c.status_on(date(2026, 3, 13)) is ContractStatus.EXPIRED


@pytest.mark.parametrize(
    ("notice_on", "ends"),
    [
        ("2027-09-30", "2027-12-31"),  # in time: the current term is the last
        ("2027-10-01", "2028-12-31"),  # too late: runs one more term
        ("2026-04-01", "2027-12-31"),
    ],
)
def test_cancelled_contract_runs_to_the_end_its_notice_reaches(notice_on, ends):
    c = contract(
        "basic", "2026-03-15", status="cancelled", cancelled_on=date.fromisoformat(notice_on)
    )
    end = date.fromisoformat(ends)
    assert c.end_on(date(2026, 6, 1)) == end
    assert c.notice_by(date(2026, 6, 1)) is None
    assert c.status_on(end) is ContractStatus.CANCELLED
    assert c.status_on(date.fromordinal(end.toordinal() + 1)) is ContractStatus.EXPIRED


def test_terminated_contract_ends_at_cancelled_on():
    c = contract("pro", "2026-03-15", status="terminated", cancelled_on=date(2027, 3, 31))
    assert c.end_on(date(2027, 1, 1)) == date(2027, 3, 31)
    assert c.status_on(date(2027, 3, 31)) is ContractStatus.CANCELLED  # running to its end
    assert c.status_on(date(2027, 4, 1)) is ContractStatus.TERMINATED
    assert not ContractStatus.TERMINATED.covers


def test_covering_statuses_are_active_and_cancelled():
    assert {s for s in ContractStatus if s.covers} == {
        ContractStatus.ACTIVE,
        ContractStatus.CANCELLED,
    }
