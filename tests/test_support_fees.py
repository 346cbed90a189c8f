"""Support fees: a percentage of the licence's list price per year, pro rata at the start, then
each 1 January while the contract runs (issue 13, item 2)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from click.testing import CliRunner

from adapter.cli import main
from adapter.contracts import Licence, contract_from_licence
from adapter.fees import ListPrice, share_of_year, support_fee_lines
from adapter.licences import store_licences
from adapter.month_billing import month_billing_lines
from mappings.plans import load_policy, shipped_path
from mappings.prices import load_prices

POLICY = load_policy()
BERLIN = POLICY.calendar.time_zone
PRICE = ListPrice(datetime(2026, 3, 1, tzinfo=UTC), Decimal("12000.00"), "EUR")


def fee(plan: str = "basic", percent: str | None = "20", pro_rata: str = "days"):
    spec = POLICY.plan(plan).fee
    return replace(spec, percent=None if percent is None else Decimal(percent), pro_rata=pro_rata)


def contract(purchased: date, plan: str = "basic", **more):
    return contract_from_licence(
        Licence("LIC-1", "C-1", plan, purchased, **more), POLICY.plan(plan)
    )


def lines(c, first: date, last: date, f=None, prices=(PRICE,)):
    return support_fee_lines(c, f or fee(), list(prices), first, last, BERLIN, "EUR")


def test_a_purchase_on_15_march_pays_the_rest_of_that_year_by_days():
    c = contract(date(2026, 3, 15))
    [line] = lines(c, date(2026, 3, 1), date(2026, 3, 31))
    assert line.code == "support_fee" and line.contract == "LIC-1" and line.customer == "C-1"
    assert line.period == (date(2026, 3, 15), date(2026, 12, 31))
    assert line.start == datetime(2026, 3, 15, tzinfo=BERLIN)  # the day, local midnight
    # 12000 x 20 % = 2400 a year; 15 Mar to 31 Dec 2026 is 292 of 365 days: 1920.00
    assert (line.unit_price, line.amount, line.currency) == (
        Decimal("2400.00"),
        Decimal("1920.00"),
        "EUR",
    )


def test_by_started_months_15_march_pays_ten_twelfths():
    c = contract(date(2026, 3, 15))
    [line] = lines(c, date(2026, 3, 1), date(2026, 3, 31), fee(pro_rata="started_months"))
    assert line.amount == Decimal("2000.00")
    assert share_of_year(date(2026, 3, 31), "started_months") == Fraction(10, 12)


def test_a_purchase_on_1_january_pays_the_whole_year_once():
    c = contract(date(2027, 1, 1))
    found = lines(c, date(2027, 1, 1), date(2027, 12, 31))
    assert [(x.period, x.amount) for x in found] == [
        ((date(2027, 1, 1), date(2027, 12, 31)), Decimal("2400.00"))
    ]


def test_a_purchase_on_29_february_counts_the_leap_year_days():
    c = contract(date(2028, 2, 29))
    [line] = lines(c, date(2028, 2, 1), date(2028, 2, 29))
    # 29 Feb to 31 Dec 2028 is 307 of 366 days: 2400 x 307 / 366 = 2013.11
    assert line.period == (date(2028, 2, 29), date(2028, 12, 31))
    assert line.amount == Decimal("2013.11")
    assert share_of_year(date(2028, 2, 29), "started_months") == Fraction(11, 12)


def test_each_1_january_pays_the_year_across_the_first_term_and_a_renewal():
    c = contract(date(2026, 3, 15))  # first term to 31 Dec 2027, then renews by 12 months
    found = lines(c, date(2026, 1, 1), date(2029, 12, 31))
    assert [(x.start.astimezone(BERLIN).date(), x.amount) for x in found] == [
        (date(2026, 3, 15), Decimal("1920.00")),
        (date(2027, 1, 1), Decimal("2400.00")),
        (date(2028, 1, 1), Decimal("2400.00")),  # the renewed term
        (date(2029, 1, 1), Decimal("2400.00")),
    ]
    assert len({x.line_id for x in found}) == 4


def test_no_fee_after_notice_ended_the_contract_or_a_termination():
    cancelled = contract(date(2026, 3, 15), status="cancelled", cancelled_on=date(2027, 10, 2))
    # Notice after 30 Sep 2027 missed the first term's deadline: it ends 31 Dec 2028.
    found = lines(cancelled, date(2026, 1, 1), date(2030, 12, 31))
    assert [x.start.astimezone(BERLIN).date() for x in found] == [
        date(2026, 3, 15),
        date(2027, 1, 1),
        date(2028, 1, 1),
    ]
    terminated = contract(date(2026, 3, 15), status="terminated", cancelled_on=date(2027, 6, 30))
    found = lines(terminated, date(2026, 1, 1), date(2030, 12, 31))
    assert [x.start.astimezone(BERLIN).date() for x in found] == [
        date(2026, 3, 15),
        date(2027, 1, 1),  # due while it ran; not shortened by the termination
    ]


def test_commissioning_has_no_support_fee():
    c = contract(date(2026, 3, 15), plan="commissioning")
    assert lines(c, date(2026, 1, 1), date(2027, 12, 31), fee("commissioning", None)) == []


def test_without_a_percentage_or_a_list_price_the_line_carries_no_amount():
    c = contract(date(2026, 3, 15))
    [line] = lines(c, date(2026, 3, 1), date(2026, 3, 31), fee(percent=None))
    assert (line.unit_price, line.amount, line.currency) == (None, None, None)
    unpriced = ListPrice(PRICE.recorded_at, None, None)
    [line] = lines(c, date(2026, 3, 1), date(2026, 3, 31), prices=[unpriced])
    assert line.amount is None


def test_a_list_price_change_applies_from_the_next_fee():
    c = contract(date(2026, 3, 15))
    raised = ListPrice(datetime(2026, 12, 31, 22, 30, tzinfo=UTC), Decimal("15000.00"), "EUR")
    late = ListPrice(datetime(2027, 1, 1, 8, tzinfo=UTC), Decimal("18000.00"), "EUR")
    found = lines(c, date(2026, 1, 1), date(2028, 12, 31), prices=[PRICE, late])
    # Changed on 1 Jan 2027 (09:00 Berlin): the fee due that day keeps the old price.
    assert [x.amount for x in found] == [
        Decimal("1920.00"),
        Decimal("2400.00"),
        Decimal("3600.00"),
    ]
    found = lines(c, date(2026, 1, 1), date(2027, 12, 31), prices=[PRICE, raised])
    # 31 Dec 2026 23:30 Berlin: before 1 Jan began, so that fee takes it.
    assert [x.amount for x in found] == [Decimal("1920.00"), Decimal("3000.00")]


# --- stored licences: the price history, the month's lines, the export ---------------------------


def _store(store, *licences: Licence, now: datetime) -> None:
    with store.session() as session:
        store_licences(store, session, POLICY, list(licences), "push", now, helpdesks=())


def test_the_erp_changing_a_list_price_keeps_the_old_one_for_fees_already_due(store):
    sold = Licence(
        "LIC-9", "C-9", "basic", date(2026, 3, 15), revision=1, list_price=Decimal("12000.00")
    )
    _store(store, sold, now=datetime(2026, 3, 16, 9, tzinfo=UTC))
    raised = replace(sold, revision=2, list_price=Decimal("15000.00"))
    _store(store, raised, now=datetime(2027, 2, 1, 9, tzinfo=UTC))
    _store(store, raised, now=datetime(2027, 3, 1, 9, tzinfo=UTC))  # a repeat: no new price
    with store.session() as session:
        history = store.list_prices(session, ["LIC-9"])["LIC-9"]
    assert [p.amount for p in history] == [Decimal("12000.00"), Decimal("15000.00")]

    policy = replace(
        POLICY, plans={**POLICY.plans, "basic": replace(POLICY.plan("basic"), fee=fee())}
    )
    prices = load_prices()

    def amounts(year: int, month: int) -> list[Decimal | None]:
        with store.session() as session:
            found = month_billing_lines(store, session, policy, prices, year, month)
        return [x.amount for x in found if x.code == "support_fee"]

    assert amounts(2026, 3) == [Decimal("1920.00")]
    assert amounts(2027, 1) == [Decimal("2400.00")]  # due before the change arrived
    assert amounts(2028, 1) == [Decimal("3000.00")]
    assert amounts(2026, 4) == []


@pytest.fixture
def run(database_url, store, tmp_path, monkeypatch):
    text = shipped_path().read_text(encoding="utf-8")
    shipped = "      percent: null\n"
    assert text.count(shipped) == 2  # basic and pro
    (tmp_path / "plans.yaml").write_text(text.replace(shipped, "      percent: 20\n"))
    monkeypatch.setenv("ENTITLEMENTS_MAPPINGS_DIR", str(tmp_path))

    def invoke(*args: str) -> str:
        env = {"ENTITLEMENTS_DATABASE_URL": database_url}
        result = CliRunner().invoke(main, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def test_the_export_has_the_support_fee_of_the_month_with_its_period(run, store):
    sold = Licence(
        "LIC-5", "C-5", "pro", date(2026, 3, 15), list_price=Decimal("12000.00"), currency="EUR"
    )
    _store(store, sold, now=datetime.now(UTC) - timedelta(days=1))
    [line] = json.loads(run("billing", "export", "--month", "2026-03", "--format", "json"))
    assert line | {"line_id": ""} == {
        "line_id": "",
        "ticket": "",
        "contract": "LIC-5",
        "code": "support_fee",
        "date": "2026-03-15",
        "start": "",
        "end": "",
        "surcharges": [],
        "half_hours": None,
        "amount": "1920.00",
        "currency": "EUR",
        "customer": "C-5",
        "unit_price": "2400.00",
        "period_from": "2026-03-15",
        "period_to": "2026-12-31",
    }
    assert json.loads(run("billing", "export", "--month", "2026-04", "--format", "json")) == []
