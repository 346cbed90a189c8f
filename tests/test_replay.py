"""`entitlements replay`: the admin API's replay on the command line, against decisions made
through the Zammad stand-in under the shipped policy, replayed under an admin's edited one."""

from __future__ import annotations

import json
import re

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from adapter import cli
from adapter.settings import Settings
from adapter.store.models import DecisionRow
from standins.rig import Rig
from tests.admin_helpers import (
    ADMIN_TOKEN,
    assert_documented,
    november,
    policy_with_ui_building_in_basic,
    snapshot,
    written_tickets,
)


@pytest.fixture
def rig(database_url, store):
    settings = Settings(database_url=database_url, language="en", admin_token=ADMIN_TOKEN)
    with Rig(settings, store=store) as rig:
        yield rig


@pytest.fixture
def replay(rig, database_url, tmp_path):
    """`entitlements replay ARGS` as run after the admin edited plans.yaml: basic now covers
    building user interfaces."""
    env = {
        "ENTITLEMENTS_DATABASE_URL": database_url,
        "ENTITLEMENTS_MAPPINGS_DIR": str(policy_with_ui_building_in_basic(tmp_path)),
        "ENTITLEMENTS_LANGUAGE": "en",
    }

    def run(*args: str):
        return CliRunner().invoke(cli.main, ["replay", *args], env=env)

    return run


def test_a_dry_run_prints_what_would_change_and_writes_nothing(rig, replay):
    tickets = november(rig)
    before = snapshot(rig.store)
    rig.zammad.clear_requests()

    result = replay()
    assert result.exit_code == 0, result.output
    changed, summary = result.stdout.splitlines()
    assert re.fullmatch(
        rf"zammad #{tickets['ui']} \(C-100\): quota \d/4 2026-11 not counted → 3/4 2026-11; "
        r"billable yes → no; flags ui_building → -",
        changed,
    )
    assert summary == (
        "4 ticket(s) decided again; 1 would change "
        "(dry run: nothing written; --apply to record and write back)"
    )
    assert snapshot(rig.store) == before
    assert rig.zammad.requests == []


def test_apply_records_the_changed_decision_and_the_worker_writes_it_back(rig, replay):
    tickets = november(rig)
    rig.zammad.clear_requests()

    result = replay("--apply")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "4 ticket(s) decided again; 1 changed, recorded and queued for write-back "
        "(the worker delivers them)"
    )
    with rig.store.session() as session:
        last = session.scalars(select(DecisionRow).order_by(DecisionRow.id.desc())).first()
    assert (last.ticket_id, last.inputs["replay"]) == (str(tickets["ui"]), "cli")

    rig.settle()
    assert written_tickets(rig) == {tickets["ui"]}
    assert rig.zammad.ticket(tickets["ui"])["entitlement_billable"] is False
    assert replay().stdout.splitlines()[-1].startswith("4 ticket(s) decided again; 0 would")


def test_json_is_the_admin_apis_report(rig, replay):
    november(rig)
    result = replay("--format", "json", "--customer", "C-100")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    document = requests.get(f"{rig.url}/api/v1/openapi.json", timeout=10).json()
    assert_documented(document, "ReplayReport", report)
    assert (report["customer"], report["tickets"], report["changed"]) == ("C-100", 3, 1)


@pytest.mark.parametrize(
    ("args", "tickets", "changed"),
    [
        (["--customer", "C-200"], 1, 0),
        (["--customer", "C-100", "--since", "2026-11-04T00:00:00+01:00"], 1, 0),
        (["--since", "2026-11-03T00:00:00Z", "--until", "2026-11-04T00:00:00Z"], 2, 1),
        (["--until", "2026-11-01T00:00:00Z"], 0, 0),
    ],
)
def test_tickets_are_chosen_by_customer_and_creation_time(rig, replay, args, tickets, changed):
    november(rig)
    result = replay(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith(
        f"{tickets} ticket(s) decided again; {changed} would change"
    )


def test_long_runs_show_a_progress_bar_on_stderr(rig, replay, monkeypatch):
    november(rig)
    quiet = replay()
    assert "deciding again" not in quiet.stderr  # four tickets: over at once
    monkeypatch.setattr(cli, "PROGRESS_FROM", 4)
    shown = replay()
    assert shown.exit_code == 0
    assert "deciding again" in shown.stderr  # off a terminal, click prints only the label
    assert "deciding again" not in shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-11-03T00:00:00"], "needs a UTC offset"),
        (["--since", "yesterday"], "not an ISO 8601 date and time"),
        (
            ["--since", "2026-11-03T00:00:00Z", "--until", "2026-11-03T00:00:00Z"],
            "must be after --since",
        ),
    ],
)
def test_bad_options_are_named(replay, args, message):
    result = replay(*args)
    assert result.exit_code == 2
    assert message in result.output
