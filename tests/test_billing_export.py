"""`entitlements billing export`: a month's billable lines from the stored work items."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from adapter.billing import Work
from adapter.billing_cli import EXPORT_COLUMNS, lines_csv
from adapter.cli import main
from adapter.csv_cells import neutralise


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
    assert text.split("\n")[2] == ",8" + "," * 9  # rows without a CR are quoted as before
