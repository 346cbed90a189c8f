"""`entitlements billing export`: a month's billable lines from the stored work items."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from adapter.billing import Work
from adapter.cli import main


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
