"""`entitlements billing export`: a month's billable lines from the stored work items."""

import csv
import io
import json
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from click.testing import CliRunner

from adapter.billing import Work
from adapter.billing_cli import EXPORT_COLUMNS, lines_csv
from adapter.cli import main
from adapter.contracts import Licence
from adapter.csv_cells import neutralise
from adapter.licences import store_licences
from adapter.oncall import Booking
from mappings.plans import load_policy
from mappings.plans import shipped_path as shipped_plans
from mappings.prices import shipped_path as shipped_prices


@pytest.fixture
def export(database_url, store):
    with store.session() as session:
        store.add_work(
            session,
            "zammad",
            [
                # Sat 28 Nov 2026, 22:40-23:25 Berlin: Saturday night, two half hours.
                Work("zammad:7:1", "7", "LIC-1", "ui_building", _utc(2026, 11, 28, 21, 40), 45),
                Work("zammad:7:2", "7", "LIC-1", "ui_building", _utc(2026, 11, 3, 9), 20, "3"),
                Work("zammad:8:3", "8", None, "no_contract", _utc(2026, 12, 1, 9), 30),
            ],
            datetime.now(UTC),
        )

    def run(*args: str) -> str:
        env = {"ENTITLEMENTS_DATABASE_URL": database_url}
        result = CliRunner().invoke(main, ["billing", "export", *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    return run


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_csv_export_has_the_months_lines_in_start_order_and_no_other_month(export):
    rows = list(csv.DictReader(io.StringIO(export("--month", "2026-11"))))
    assert [(r["ticket"], r["date"], r["start"], r["end"]) for r in rows] == [
        ("7", "2026-11-03", "10:00", "10:20"),
        ("7", "2026-11-28", "22:40", "23:25"),
    ]
    assert rows[1] | {"line_id": ""} == {
        "line_id": "",
        "ticket": "7",
        "contract": "LIC-1",
        "code": "ui_building",
        "date": "2026-11-28",
        "start": "22:40",
        "end": "23:25",
        "surcharges": "saturday+night",
        "half_hours": "2",
        "amount": "",  # the shipped price list has no amounts
        "currency": "",
        "customer": "",  # no decision names the ticket's customer, and LIC-1 is not stored
        "unit_price": "",
        "period_from": "",
        "period_to": "",
    }


def test_json_export_has_the_same_lines_as_the_csv(export):
    lines = json.loads(export("--month", "2026-12", "--format", "json"))
    [line] = lines
    assert line["ticket"] == "8" and line["contract"] == "" and line["surcharges"] == []
    assert line["half_hours"] == 1
    [row] = csv.DictReader(io.StringIO(export("--month", "2026-12")))
    assert row["line_id"] == line["line_id"]


def test_exporting_a_month_twice_gives_identical_output(export):
    for fmt in ("csv", "json"):
        assert export("--month", "2026-11", "--format", fmt) == export(
            "--month", "2026-11", "--format", fmt
        )


def test_storing_the_same_work_item_again_adds_nothing(store):
    item = Work("zammad:9:1", "9", None, "over_quota", _utc(2026, 11, 2, 9), 30)
    with store.session() as session:
        assert store.add_work(session, "zammad", [item], datetime.now(UTC)) == 1
    with store.session() as session:
        assert store.add_work(session, "zammad", [item, item], datetime.now(UTC)) == 0
        assert store.work(session) == [item]


def test_a_month_that_is_not_yyyy_mm_is_refused(database_url):
    env = {"ENTITLEMENTS_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, ["billing", "export", "--month", "11/2026"], env=env)
    assert result.exit_code == 2 and "YYYY-MM" in result.output


FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\tLIC-9",
    "\rLIC-9",
]


def test_csv_cells_a_spreadsheet_would_run_as_formulas_get_a_quote_and_json_keeps_them(
    export, store
):
    # One ticket per licence id, on 4 to 9 January 2027 (the ticket's order is the line's).
    works = []
    for i, contract in enumerate(FORMULAS):
        ticket, start = str(20 + i), _utc(2027, 1, 4 + i, 9)
        works.append(Work(f"zammad:{ticket}:1", ticket, contract, "ui_building", start, 30))
    with store.session() as session:
        store.add_work(session, "zammad", works, datetime.now(UTC))

    rows = list(csv.DictReader(io.StringIO(export("--month", "2027-01"), newline="")))
    assert [r["contract"] for r in rows] == ["'" + f for f in FORMULAS]
    assert [r["ticket"] for r in rows] == [str(20 + i) for i in range(len(FORMULAS))]
    lines = json.loads(export("--month", "2027-01", "--format", "json"))
    assert [line["contract"] for line in lines] == FORMULAS


def test_negative_amounts_stay_numbers_in_the_csv():
    line = {
        "line_id": "0a1b",
        "ticket": "-7",
        "contract": "-LIC-7",
        "code": "ui_building",
        "date": "2026-11-03",
        "start": "10:00",
        "end": "10:30",
        "surcharges": [],
        "half_hours": -1,
        "amount": "-12.50",
        "currency": "EUR",
    }
    [row] = csv.DictReader(io.StringIO(lines_csv([line])))
    assert (row["amount"], row["half_hours"], row["ticket"]) == ("-12.50", "-1", "-7")
    assert row["contract"] == "'-LIC-7"


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("-12.50", "-12.50"),
        ("-12", "-12"),
        ("12.50", "12.50"),
        ("-1e3", "'-1e3"),
        ("-12.50+1", "'-12.50+1"),
        ("-", "'-"),
        ("=1", "'=1"),
        ("LIC-1", "LIC-1"),
        ("", ""),
        (3, 3),
    ],
)
def test_only_text_that_is_not_a_plain_number_is_neutralised(cell, safe):
    assert neutralise(cell) == safe


def test_a_carriage_return_inside_a_cell_does_not_start_a_row_of_its_own():
    line = {name: "" for name in EXPORT_COLUMNS} | {"surcharges": [], "ticket": "7"}
    text = lines_csv([{**line, "contract": "LIC-9\r=1+1"}, {**line, "ticket": "8"}])
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [(r["ticket"], r["contract"]) for r in rows] == [("7", "LIC-9\r=1+1"), ("8", "")]
    # rows without a CR are quoted as before
    assert text.split("\n")[2] == ",8" + "," * (len(EXPORT_COLUMNS) - 2)


def test_every_kind_of_line_in_one_export_with_the_same_columns(store, database_url, tmp_path):
    """Work, an on-call base fee, a late cancellation and a support fee in March 2027: the
    CSV and the JSON name the same lines with the same columns (docs/billing.md shows it)."""
    prices = shipped_prices().read_text(encoding="utf-8")
    prices = prices.replace("  base_fee: null  # per booked day and employee", "  base_fee: 150")
    prices = prices.replace("  ui_building: null", "  ui_building: 45")
    (tmp_path / "prices.yaml").write_text(prices, encoding="utf-8")
    plans = shipped_plans().read_text(encoding="utf-8")
    (tmp_path / "plans.yaml").write_text(
        plans.replace("      percent: null\n", "      percent: 18\n")
    )
    now = datetime(2027, 2, 25, 9, tzinfo=UTC)
    sold = Licence("LIC-1", "C-100", "basic", date(2027, 3, 15), list_price=Decimal("12000.00"))
    with store.session() as session:
        store_licences(store, session, load_policy(), [sold], "push", now, helpdesks=())
        store.add_work(
            session,
            "zammad",
            [Work("zammad:4711:1", "4711", "LIC-1", "ui_building", _utc(2027, 3, 16, 9), 20)],
            now,
        )
        booked = store.add_booking(
            session,
            Booking("C-100", (date(2027, 3, 13), date(2027, 3, 20)), time(8), time(18), 1, 8),
            now,
        )
        store.cancel_days(session, booked.booking_id, [date(2027, 3, 20)], _utc(2027, 3, 10, 9))
    env = {
        "ENTITLEMENTS_DATABASE_URL": database_url,
        "ENTITLEMENTS_MAPPINGS_DIR": str(tmp_path),
    }

    def export(*args: str) -> str:
        result = CliRunner().invoke(
            main, ["billing", "export", "--month", "2027-03", *args], env=env
        )
        assert result.exit_code == 0, result.output
        return result.output

    text = export()
    assert text.splitlines()[0] == ",".join(EXPORT_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [
        (r["code"], r["date"], r["start"], r["end"], r["half_hours"], r["amount"], r["customer"])
        for r in rows
    ] == [
        ("on_call_base_fee", "2027-03-13", "08:00", "18:00", "", "150.00", "C-100"),
        ("support_fee", "2027-03-15", "", "", "", "1728.00", "C-100"),
        ("ui_building", "2027-03-16", "10:00", "10:20", "1", "45.00", "C-100"),
        ("on_call_cancellation_fee", "2027-03-20", "08:00", "18:00", "", "150.00", "C-100"),
    ]
    assert (rows[1]["unit_price"], rows[1]["period_from"], rows[1]["period_to"]) == (
        "2160.00",
        "2027-03-15",
        "2027-12-31",
    )
    lines = json.loads(export("--format", "json"))
    assert [set(line) for line in lines] == [set(EXPORT_COLUMNS)] * 4
    assert [line["line_id"] for line in lines] == [r["line_id"] for r in rows]
