"""Extended on-call: every booking rule, coverage of the window, base fees, the CLI."""

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from adapter.billing import Prices
from adapter.cli import main
from adapter.contracts import Licence, contract_from_licence
from adapter.decisions import decide_ticket
from adapter.engine import TicketFacts, decide
from adapter.oncall import Booking, base_fee_lines, covers, validate_booking
from adapter.quota import LedgerView
from mappings.plans import load_policy

BERLIN = ZoneInfo("Europe/Berlin")
TODAY = date(2026, 11, 25)
DAY = date(2026, 12, 12)  # 17 days ahead, a Saturday


def booking(**changes) -> Booking:
    values = {
        "customer": "C-1",
        "days": (DAY,),
        "start": time(8),
        "end": time(18),
        "employees": 1,
        "hours": 8.0,
    }
    return Booking(**{**values, **changes})


def test_a_booking_within_every_rule_is_valid():
    assert validate_booking(booking(), TODAY) == []
    assert validate_booking(booking(days=(TODAY + timedelta(days=14),)), TODAY) == []


INVALID = [
    # (case, changes, message part)
    ("fewer than 14 days ahead", {"days": (TODAY + timedelta(days=13),)}, "at least 14 days ahead"),
    ("a day in the past", {"days": (date(2026, 11, 1), DAY)}, "2026-11-01 is too soon"),
    ("no day", {"days": ()}, "at least one day"),
    ("window longer than 10 hours", {"end": time(18, 1)}, "at most 10 hours a day"),
    ("window ending before it starts", {"start": time(22), "end": time(6)}, "must end after"),
    ("more than 8 hours per employee", {"hours": 8.5}, "more than 8 hours per employee"),
    ("16 hours need two employees", {"hours": 17, "employees": 2}, "book 3 employees"),
    ("no employee", {"employees": 0}, "at least one employee"),
    ("no hours", {"hours": 0}, "at least half an hour"),
    ("too few hours to bill", {"hours": 0.25}, "at least half an hour"),
]


@pytest.mark.parametrize(("case", "changes", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_each_broken_rule_is_named(case, changes, message):
    (error,) = validate_booking(booking(**changes), TODAY)
    assert message in error


def test_all_broken_rules_are_named_together():
    bad = booking(days=(TODAY,), end=time(20), hours=9)
    assert len(validate_booking(bad, TODAY)) == 3


def test_covers_only_the_window_of_booked_days():
    b = booking()
    assert covers(b, datetime(2026, 12, 12, 8, tzinfo=BERLIN), BERLIN)
    assert covers(b, datetime(2026, 12, 12, 16, 59, tzinfo=UTC), BERLIN)  # 17:59 local
    assert not covers(b, datetime(2026, 12, 12, 18, tzinfo=BERLIN), BERLIN)
    assert not covers(b, datetime(2026, 12, 13, 9, tzinfo=BERLIN), BERLIN)


def test_one_base_fee_line_per_day_and_employee():
    b = booking(days=(DAY, DAY + timedelta(days=1)), employees=2, hours=16, booking_id="7")
    lines = base_fee_lines(b, BERLIN, Prices())
    assert [(x.start.astimezone(BERLIN).date(), x.activity) for x in lines] == [
        (DAY, "employee 1"),
        (DAY, "employee 2"),
        (DAY + timedelta(days=1), "employee 1"),
        (DAY + timedelta(days=1), "employee 2"),
    ]
    assert len({x.line_id for x in lines}) == 4
    assert all(x.quantity == 1 and x.amount is None and x.customer == "C-1" for x in lines)
    priced = base_fee_lines(b, BERLIN, Prices(on_call_base_fee=Decimal("120")))
    assert [x.amount for x in priced] == [Decimal("120")] * 4


@pytest.fixture
def run(database_url, store):
    def invoke(*args):
        return CliRunner().invoke(main, list(args), env={"ENTITLEMENTS_DATABASE_URL": database_url})

    return invoke


def test_cli_books_and_lists(run):
    day = (date.today() + timedelta(days=30)).isoformat()  # relative: the CLI checks real today
    result = run(
        "on-call", "book", "--customer", "C-1", "--day", day, "--from", "08:00", "--to", "18:00",
        "--employees", "2", "--hours", "12",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 base fee(s)" in result.output
    listed = run("on-call", "list", "--format", "json")
    assert json.loads(listed.output) == [
        {"id": "1", "customer": "C-1", "days": [day], "from": "08:00", "to": "18:00",
         "employees": 2, "hours": 12.0, "cancelled": {}}
    ]  # fmt: skip
    assert day in run("on-call", "list").output


def test_cli_refuses_a_booking_with_every_error_and_stores_nothing(run):
    day = date.today().isoformat()
    result = run(
        "on-call", "book", "--customer", "C-1", "--day", day, "--from", "06:00", "--to", "18:00",
        "--employees", "1", "--hours", "9",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "at least 14 days ahead" in result.output
    assert "at most 10 hours a day" in result.output
    assert "more than 8 hours per employee" in result.output
    assert run("on-call", "list", "--format", "json").output.strip() == "[]"


def test_cli_names_a_bad_day(run):
    result = run(
        "on-call", "book", "--customer", "C-1", "--day", "12.12.2026", "--from", "08:00",
        "--to", "18:00", "--employees", "1", "--hours", "8",
    )  # fmt: skip
    assert result.exit_code == 2 and "not a date YYYY-MM-DD" in result.output


# --- inside a booked window: 15 minutes to react, after-hours work is not billable as such ---

POLICY = load_policy()
SATURDAY_10 = datetime(2026, 12, 12, 9, 0, tzinfo=UTC)  # Sat 10:00 Berlin, inside 08:00-18:00


def pro_contract():
    lic = Licence("LIC-pro", "C-1", "pro", date(2026, 3, 15))
    return lic, contract_from_licence(lic, POLICY.plan("pro"))


def ticket(on_call=False):
    return TicketFacts(
        helpdesk="zammad",
        ticket_id=5,
        created_at=SATURDAY_10,
        customer_number="C-1",
        categories=frozenset({"after_hours"}),
        on_call=on_call,
    )


def test_on_call_ticket_is_due_in_15_minutes_and_not_outside_support_hours():
    ledger = LedgerView(used={}, entries=())
    _, contract = pro_contract()
    off = decide(ticket(), [contract], ledger, SATURDAY_10, policy=POLICY)
    on = decide(ticket(on_call=True), [contract], ledger, SATURDAY_10, policy=POLICY)
    assert [f.code for f in off.flags] == ["outside_support_hours"]
    assert off.reaction_due > SATURDAY_10 + timedelta(days=1)
    assert on.flags == () and on.reaction_due == SATURDAY_10 + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("created", "on_call"),
    [(SATURDAY_10, True), (SATURDAY_10 + timedelta(hours=9), False)],  # 19:00: window closed
    ids=["inside the window", "after the window"],
)
def test_a_stored_booking_covering_creation_sets_on_call(store, created, on_call):
    with store.session() as session:
        store.upsert_licences(session, [pro_contract()], "import", SATURDAY_10)
        store.add_booking(session, booking(customer="C-1"), SATURDAY_10)
    helpdesk = SimpleNamespace(name="zammad", language="en")
    with store.session() as session:
        decided = decide_ticket(
            store, session, POLICY, helpdesk, replace(ticket(), created_at=created), SATURDAY_10
        )
    assert decided.inputs.facts.on_call is on_call
    assert ("outside_support_hours" in [f.code for f in decided.decision.flags]) is not on_call
