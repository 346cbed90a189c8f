"""On-call base fees billed, and bookings cancelled (issue 13, item 1)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from adapter.app import create_app
from adapter.billing import Cancellation, Prices
from adapter.cli import main
from adapter.contracts import Licence
from adapter.licences import store_licences
from adapter.oncall import Booking, base_fee_lines, covers, days_to_cancel
from adapter.services import build_services
from adapter.settings import Settings
from connectors.erp import billing as billing_module
from connectors.zammad.settings import ZammadSettings
from mappings.plans import load_policy
from mappings.plans import shipped_path as shipped_plans
from mappings.prices import shipped_path as shipped_prices
from tests.admin_helpers import ADMIN_TOKEN, BEARER

POLICY = load_policy()
BERLIN = POLICY.calendar.time_zone
DAY = date(2026, 12, 12)  # a Saturday
PRICED = Prices(on_call_base_fee=Decimal("120"))


def booking(**changes) -> Booking:
    values = {
        "customer": "C-1",
        "days": (DAY, DAY + timedelta(days=1)),
        "start": time(8),
        "end": time(18),
        "employees": 2,
        "hours": 16,
        "booking_id": "7",
    }
    return Booking(**{**values, **changes})


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BERLIN)


def test_two_employees_on_two_days_are_four_base_fee_lines():
    lines = base_fee_lines(booking(), BERLIN, PRICED)
    assert [(x.code, x.start.astimezone(BERLIN), x.activity) for x in lines] == [
        ("on_call_base_fee", at(DAY, 8), "employee 1"),
        ("on_call_base_fee", at(DAY, 8), "employee 2"),
        ("on_call_base_fee", at(DAY + timedelta(days=1), 8), "employee 1"),
        ("on_call_base_fee", at(DAY + timedelta(days=1), 8), "employee 2"),
    ]
    assert all(x.minutes == 600 and x.unit == "day" and x.customer == "C-1" for x in lines)
    assert [x.amount for x in lines] == [Decimal("120.00")] * 4
    assert len({x.line_id for x in lines}) == 4


def test_a_day_cancelled_14_days_ahead_is_free_and_covers_nothing():
    cancelled = booking(cancelled=((DAY, at(DAY - timedelta(days=14), 23)),))
    lines = base_fee_lines(cancelled, BERLIN, PRICED)
    assert [x.start.astimezone(BERLIN).date() for x in lines] == [DAY + timedelta(days=1)] * 2
    assert not covers(cancelled, at(DAY, 9), BERLIN)
    assert covers(cancelled, at(DAY + timedelta(days=1), 9), BERLIN)


def test_a_day_cancelled_later_costs_its_base_fee_under_the_same_line_id():
    booked = base_fee_lines(booking(), BERLIN, PRICED)
    late = booking(cancelled=((DAY, at(DAY - timedelta(days=13), 0)),))
    lines = base_fee_lines(late, BERLIN, PRICED)
    assert [(x.line_id, x.code, x.amount) for x in lines[:2]] == [
        (booked[0].line_id, "on_call_cancellation_fee", Decimal("120.00")),
        (booked[1].line_id, "on_call_cancellation_fee", Decimal("120.00")),
    ]
    assert [x.code for x in lines[2:]] == ["on_call_base_fee"] * 2
    half = replace(PRICED, on_call_cancellation=Cancellation(14, Decimal(50)))
    assert base_fee_lines(late, BERLIN, half)[0].amount == Decimal("60.00")
    free = replace(PRICED, on_call_cancellation=Cancellation(14, Decimal(0)))
    assert len(base_fee_lines(late, BERLIN, free)) == 2


def test_cancelling_refuses_days_not_booked_or_begun_and_takes_all_days_to_come():
    b = booking()
    assert days_to_cancel(b, [], at(DAY - timedelta(days=3)), BERLIN) == (list(b.days), [])
    # On the first day at 09:00 its window (from 08:00) has begun: only the second is left.
    assert days_to_cancel(b, [], at(DAY, 9), BERLIN) == ([DAY + timedelta(days=1)], [])
    wanted, errors = days_to_cancel(b, [DAY, date(2026, 12, 20)], at(DAY, 9), BERLIN)
    assert wanted == [] and len(errors) == 2
    assert "not booked in 7: 2026-12-20" in errors[0] and "2026-12-12" in errors[1]
    again = booking(cancelled=((DAY, at(DAY - timedelta(days=20))),))
    assert days_to_cancel(again, [DAY], at(DAY - timedelta(days=3)), BERLIN) == ([], [])


# --- the store, the CLI, the admin API and the export -------------------------------------------


def _mappings(tmp_path: Path, base_fee: str = "120") -> Path:
    prices = shipped_prices().read_text(encoding="utf-8")
    shipped = "  base_fee: null  # per booked day and employee"
    assert prices.count(shipped) == 1
    (tmp_path / "prices.yaml").write_text(prices.replace(shipped, f"  base_fee: {base_fee}"))
    plans = shipped_plans().read_text(encoding="utf-8")
    (tmp_path / "plans.yaml").write_text(
        plans.replace("      percent: null\n", "      percent: 20\n")
    )
    return tmp_path


@pytest.fixture
def run(database_url, store, tmp_path, monkeypatch):
    monkeypatch.setenv("ENTITLEMENTS_MAPPINGS_DIR", str(_mappings(tmp_path)))
    env = {"ENTITLEMENTS_DATABASE_URL": database_url}

    def invoke(*args: str, exit_code: int = 0) -> str:
        result = CliRunner().invoke(main, list(args), env=env)
        assert result.exit_code == exit_code, result.output
        return result.output

    return invoke


def _book(store, days: tuple[date, ...], employees: int = 2) -> str:
    with store.session() as session:
        stored = store.add_booking(
            session,
            Booking("C-1", days, time(8), time(18), employees, 8.0 * employees),
            datetime.now(UTC),
        )
    assert stored.booking_id is not None
    return stored.booking_id


def test_the_export_has_a_base_fee_per_day_and_employee_in_the_bookings_month(run, store):
    _book(store, (date(2026, 11, 30), date(2026, 12, 1)))
    november = json.loads(run("billing", "export", "--month", "2026-11", "--format", "json"))
    assert [(x["code"], x["date"], x["start"], x["end"]) for x in november] == [
        ("on_call_base_fee", "2026-11-30", "08:00", "18:00")
    ] * 2
    line = november[0]
    assert (line["customer"], line["half_hours"], line["amount"], line["currency"]) == (
        "C-1",
        None,
        "120.00",
        "EUR",
    )
    december = json.loads(run("billing", "export", "--month", "2026-12", "--format", "json"))
    assert [x["date"] for x in december] == ["2026-12-01"] * 2
    assert not {x["line_id"] for x in november} & {x["line_id"] for x in december}


def test_cancelling_through_the_cli_frees_days_ahead_and_bills_late_ones(run, store):
    today = datetime.now(UTC).astimezone(BERLIN).date()
    far, near = today + timedelta(days=20), today + timedelta(days=5)
    booking_id = _book(store, (near, far))
    output = run("on-call", "cancel", booking_id)
    assert f"cancelled on-call {booking_id} on {near}, {far}" in output
    assert "1 day(s) free, 2 cancellation fee(s)" in output
    assert "nothing left to cancel" in run("on-call", "cancel", booking_id)
    [listed] = json.loads(run("on-call", "list", "--format", "json"))
    assert sorted(listed["cancelled"]) == [near.isoformat(), far.isoformat()]
    month = f"{near:%Y-%m}"
    rows = json.loads(run("billing", "export", "--month", month, "--format", "json"))
    assert [(x["code"], x["date"], x["amount"]) for x in rows] == [
        ("on_call_cancellation_fee", near.isoformat(), "120.00")
    ] * 2
    refused = run("on-call", "cancel", booking_id, "--day", "2001-01-01", exit_code=1)
    assert "not booked" in refused
    assert "no on-call booking 999" in run("on-call", "cancel", "999", exit_code=1)


@pytest.fixture
def client(database_url, store, tmp_path):
    settings = Settings(
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        mappings_dir=_mappings(tmp_path),
        provider_settings={"zammad": ZammadSettings(webhook_secret="s")},
    )
    return create_app(services=build_services(settings, store=store)).test_client()


def test_cancelling_through_the_admin_api(client, store):
    today = datetime.now(UTC).astimezone(BERLIN).date()
    far, near = today + timedelta(days=30), today + timedelta(days=3)
    booking_id = _book(store, (near, far), employees=3)
    url = f"/api/v1/on-call-bookings/{booking_id}/cancel"
    answer = client.post(url, json={"days": [far.isoformat()]}, headers=BEARER)
    assert answer.status_code == 200, answer.json
    assert answer.json == {
        "booking_id": booking_id,
        "cancelled": [far.isoformat()],
        "free": [far.isoformat()],
        "cancellation_fees": 0,
    }
    answer = client.post(url, json={}, headers=BEARER)  # the rest: the late day
    assert answer.json["cancelled"] == [near.isoformat()] and answer.json["cancellation_fees"] == 3
    refused = client.post(url, json={"days": ["2001-01-01"]}, headers=BEARER)
    assert refused.status_code == 422 and refused.json["error"] == "cancellation_refused"
    assert "not booked" in refused.json["fields"]["days"]
    missing = client.post("/api/v1/on-call-bookings/99999/cancel", json={}, headers=BEARER)
    assert missing.status_code == 404
    assert (
        client.post("/api/v1/on-call-bookings/x/cancel", json={}, headers=BEARER).status_code == 404
    )
    assert client.post(url, json={}).status_code == 401
    with store.session() as session:
        assert store.booking(session, booking_id).cancelled_on.keys() == {near, far}


# --- the push: new kinds of line, once each ------------------------------------------------------

ERP = "http://127.0.0.1:8069"


@responses.activate
def test_the_push_sends_base_fees_and_support_fees_once(run, store, monkeypatch, database_url):
    monkeypatch.setattr(billing_module, "pause", lambda seconds: None)
    monkeypatch.setenv("ENTITLEMENTS_ERP_URL", ERP)
    monkeypatch.setenv("ENTITLEMENTS_ERP_TOKEN", "secret-token")
    responses.post(ERP + "/api/billing-lines", status=200, json={})
    _book(store, (date(2027, 3, 2),), employees=1)
    sold = Licence("LIC-3", "C-1", "basic", date(2027, 3, 15), list_price=Decimal("6000.00"))
    with store.session() as session:
        store_licences(store, session, POLICY, [sold], "push", datetime.now(UTC), helpdesks=())
    assert "pushed 2 line(s), 0 already pushed" in run(
        "billing", "export", "--month", "2027-03", "--push"
    )
    assert "pushed 0 line(s), 2 already pushed" in run(
        "billing", "export", "--month", "2027-03", "--push"
    )
    [sent] = [json.loads(call.request.body)["lines"] for call in responses.calls]
    assert [(x["code"], x["date"], x["amount"]) for x in sent] == [
        ("on_call_base_fee", "2027-03-02", "120.00"),
        ("support_fee", "2027-03-15", "960.00"),  # 6000 x 20 % x 292 / 365
    ]
