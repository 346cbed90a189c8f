"""`entitlements import-licences`: all or nothing, idempotent, every bad row named."""

import json
from datetime import date

import pytest
from click.testing import CliRunner

from adapter.cli import main

HEADER = (
    "licence_id,revision,customer_number,customer_name,plan,purchased_on,"
    "status,cancelled_on,options\n"
)


@pytest.fixture
def run(database_url, store):
    def invoke(*args):
        return CliRunner().invoke(main, list(args), env={"ENTITLEMENTS_DATABASE_URL": database_url})

    return invoke


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_csv_import_creates_contracts_and_a_repeat_changes_nothing(tmp_path, run, store):
    path = write(
        tmp_path,
        "licences.csv",
        HEADER
        + "LIC-1,1,C-100,Awesome Inc.,basic,2026-03-15,active,,third_party_projects\n"
        + "LIC-2,1,C-200,Other GmbH,commissioning,2026-10-01,active,,\n",
    )
    first = run("import-licences", path)
    assert first.exit_code == 0, first.output
    assert "created 2, updated 0, unchanged 0, stale 0" in first.output
    with store.session() as session:
        [contract] = store.contracts_for(session, "C-100")
    assert contract.plan == "basic" and contract.first_end_on == date(2027, 12, 31)
    assert contract.options == frozenset({"third_party_projects"})
    again = run("import-licences", path)
    assert "created 0, updated 0, unchanged 2, stale 0" in again.output


def test_json_import_with_higher_and_lower_revisions(tmp_path, run, store):
    licence = {
        "licence_id": "LIC-1",
        "revision": 2,
        "customer_number": "C-100",
        "plan": "pro",
        "purchased_on": "2026-03-15",
    }
    assert run("import-licences", write(tmp_path, "a.json", json.dumps([licence]))).exit_code == 0
    cancelled = {**licence, "revision": 3, "status": "cancelled", "cancelled_on": "2026-09-01"}
    newer = run("import-licences", write(tmp_path, "b.json", json.dumps({"licences": [cancelled]})))
    assert "updated 1" in newer.output
    older = run(
        "import-licences", write(tmp_path, "c.json", json.dumps([{**licence, "revision": 1}]))
    )
    assert "stale 1" in older.output
    with store.session() as session:
        [contract] = store.contracts_for(session, "C-100")
    assert contract.final_end_on == date(2027, 12, 31)


def test_file_with_bad_rows_imports_nothing_and_names_each_row_and_field(tmp_path, run, store):
    path = write(
        tmp_path,
        "licences.csv",
        HEADER
        + "LIC-1,1,C-100,Awesome Inc.,basic,2026-03-15,active,,\n"
        + "LIC-2,1,C-200,Other,basic,2026-02-30,active,,\n"
        + "LIC-3,x,C-300,Third,gold,2026-01-01,cancelled,,\n",
    )
    result = run("import-licences", path)
    assert result.exit_code == 1
    assert f"{path}:3: row 2 purchased_on: Not a valid date." in result.output
    assert f"{path}:4: row 3 revision: Not a valid integer." in result.output
    assert f"{path}:4: row 3 plan: unknown plan 'gold'" in result.output
    assert f"{path}:4: row 3 cancelled_on: required when status is cancelled" in result.output
    assert "nothing was imported" in result.output
    with store.session() as session:
        assert store.contracts_for(session, "C-100") == []


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.json", "{not json", "not valid JSON"),
        ("bad.json", '{"items": []}', 'expected a list of licences or {"licences": [...]}'),
        (
            "bad.json",
            '[{"licence_id": "L", "customer_number": "C", "plan": "basic", '
            '"purchased_on": "2026-01-01", "colour": "red"}]',
            "row 1 colour: Unknown field.",
        ),
        (
            "dup.json",
            '[{"licence_id": "L", "revision": 1, "customer_number": "C", "plan": "basic", '
            '"purchased_on": "2026-01-01"}, {"licence_id": "L", "revision": 1, '
            '"customer_number": "C", "plan": "pro", "purchased_on": "2026-01-01"}]',
            "row 2 licence_id: repeats row 1",
        ),
    ],
)
def test_malformed_files_are_named(tmp_path, run, name, text, message):
    result = run("import-licences", write(tmp_path, name, text))
    assert result.exit_code == 1
    assert message in result.output


def test_unmigrated_database_is_refused_with_advice(tmp_path):
    path = write(tmp_path, "l.json", "[]")
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = CliRunner().invoke(
        main, ["import-licences", path], env={"ENTITLEMENTS_DATABASE_URL": url}
    )
    assert result.exit_code == 1
    assert "run `entitlements db upgrade` first" in result.output
    upgraded = CliRunner().invoke(main, ["db", "upgrade"], env={"ENTITLEMENTS_DATABASE_URL": url})
    assert upgraded.exit_code == 0 and "database created at revision" in upgraded.output


def test_explain_for_a_customer_uses_the_stored_contracts(tmp_path, run):
    run(
        "import-licences",
        write(
            tmp_path,
            "l.json",
            json.dumps(
                [
                    {
                        "licence_id": "LIC-9",
                        "customer_number": "C-900",
                        "plan": "pro",
                        "purchased_on": "2026-03-15",
                    }
                ]
            ),
        ),
    )
    result = run(
        "explain",
        "--customer",
        "C-900",
        "--created",
        "2026-11-18T10:00:00+01:00",
        "--category",
        "ui_building",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert decision["plan"] == "pro" and decision["contract"]["id"] == "LIC-9"
    assert decision["billable"] is False
    unknown = run("explain", "--customer", "C-404", "--created", "2026-11-18T10:00:00+01:00")
    assert "  - Kein Vertrag: " in unknown.output  # the no_contract flag, by its label
