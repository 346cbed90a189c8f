"""Renewals and notice (issue 13, item 3): a contract renews itself on its end date, `contracts
due` lists notice deadlines and ends, the admin page shows them, the helpdesks are told when a
term turns over, and Zammad's organisation shows the notice date."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from adapter.app import create_app
from adapter.cli import main
from adapter.contracts import ContractStatus, Licence, contract_from_licence
from adapter.engine import contract_view
from adapter.licences import CUSTOMER_CHANGED, store_licences
from adapter.renewals import CHECKPOINT, due_within, parse_within, queue_turnovers
from adapter.services import build_services
from adapter.settings import Settings
from adapter.store.models import InboxRow
from adapter.worker import Worker
from connectors.erp.settings import ErpSettings
from connectors.zammad.settings import ZammadSettings
from mappings.plans import load_policy
from standins.erp import ErpStandin
from standins.rig import Rig
from tests.admin_helpers import ADMIN_TOKEN, assert_documented

POLICY = load_policy()
BERLIN = POLICY.calendar.time_zone


def contract(licence_id: str, plan: str, purchased: date, customer: str = "C-1", **more: Any):
    sold = Licence(licence_id, customer, plan, purchased, **more)
    return contract_from_licence(sold, POLICY.plan(plan))


def test_a_contract_renews_itself_on_its_end_date():
    c = contract("LIC-1", "basic", date(2026, 3, 15))
    last_day = contract_view(c, date(2027, 12, 31))
    assert (last_day.status, last_day.valid_until, last_day.notice_by) == (
        ContractStatus.ACTIVE,
        date(2027, 12, 31),
        date(2027, 9, 30),
    )
    renewed = contract_view(c, date(2028, 1, 1))
    assert (renewed.status, renewed.valid_until, renewed.notice_by) == (
        ContractStatus.ACTIVE,
        date(2028, 12, 31),
        date(2028, 9, 30),
    )
    noticed = contract("LIC-2", "basic", date(2026, 3, 15), status="cancelled",
                       cancelled_on=date(2027, 9, 1))  # fmt: skip
    assert noticed.status_on(date(2027, 12, 31)) == ContractStatus.CANCELLED
    assert noticed.status_on(date(2028, 1, 1)) == ContractStatus.EXPIRED


def test_due_lists_notice_deadlines_and_ends_in_the_window_soonest_first():
    basic = contract("LIC-B", "basic", date(2026, 3, 15))
    commissioning = contract("LIC-C", "commissioning", date(2027, 7, 1), customer="C-2")
    ended = contract("LIC-E", "commissioning", date(2027, 1, 4))
    today = date(2027, 8, 1)
    found = due_within([basic, commissioning, ended], today, 90, {"C-2": "Beta Systems AG"})
    assert [(d.what, d.on, d.contract.id) for d in found] == [
        ("end", date(2027, 8, 26), "LIC-C"),  # 8 weeks after purchase
        ("notice", date(2027, 9, 30), "LIC-B"),
    ]
    assert found[0].customer_name == "Beta Systems AG" and found[0].renews_until is None
    assert found[1].renews_until == date(2028, 12, 31)
    wider = due_within([basic], today, parse_within("160d"), None)
    assert [(d.what, d.on) for d in wider] == [
        ("notice", date(2027, 9, 30)),
        ("end", date(2027, 12, 31)),
    ]
    assert parse_within("12w") == 84
    with pytest.raises(ValueError, match="90d"):
        parse_within("three months")


# --- the command and the admin page ---------------------------------------------------------


def _licences(store, *licences: Licence) -> None:
    with store.session() as session:
        now = datetime.now(UTC)
        store_licences(store, session, POLICY, list(licences), "import", now, helpdesks=())


@pytest.fixture
def today() -> date:
    return datetime.now(UTC).astimezone(BERLIN).date()


@pytest.fixture
def due_contracts(store, today):
    """A commissioning contract ending in 10 days, a terminated one ending in 30, one bought
    today (its notice date is more than 9 months away) and one ended."""
    _licences(
        store,
        Licence("LIC-COM", "C-1", "commissioning", today - timedelta(days=46),
                customer_name="Beta Systems AG"),
        Licence("LIC-TERM", "C-2", "basic", today - timedelta(days=400), status="terminated",
                cancelled_on=today + timedelta(days=30)),
        Licence("LIC-NEW", "C-3", "pro", today),
        Licence("LIC-OLD", "C-4", "commissioning", today - timedelta(days=100)),
    )  # fmt: skip


def test_contracts_due_in_text_and_json(database_url, due_contracts, today):
    env = {"ENTITLEMENTS_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, ["contracts", "due", "--within", "90d"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{today + timedelta(days=10)}  end ")
    assert "LIC-COM  C-1 Beta Systems AG  commissioning  ends" in lines[0]
    assert lines[1].startswith(f"{today + timedelta(days=30)}  end ") and "LIC-TERM" in lines[1]
    args = ["contracts", "due", "--within", "90d", "--format", "json"]
    answer = json.loads(CliRunner().invoke(main, args, env=env).output)
    assert answer["today"] == today.isoformat() and answer["within_days"] == 90
    assert [(d["due"], d["on"], d["contract"], d["renews_until"]) for d in answer["due"]] == [
        ("end", (today + timedelta(days=10)).isoformat(), "LIC-COM", None),
        ("end", (today + timedelta(days=30)).isoformat(), "LIC-TERM", None),
    ]
    short = CliRunner().invoke(main, ["contracts", "due", "--within", "5d"], env=env)
    assert short.output == f"nothing due from {today} to {today + timedelta(days=5)}\n"
    bad = CliRunner().invoke(main, ["contracts", "due", "--within", "soon"], env=env)
    assert bad.exit_code == 2 and "90d" in bad.output


@pytest.fixture
def client(database_url, store):
    """The app's test client, with an admin token."""
    settings = Settings(
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        provider_settings={"zammad": ZammadSettings(webhook_secret="s")},
        language="en",
    )
    return create_app(services=build_services(settings, store=store)).test_client()


def test_the_admin_page_shows_the_same_due_contracts(client, due_contracts):
    page = client.get("/admin/sign-in")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    client.post("/admin/sign-in", data={"csrf": csrf, "token": ADMIN_TOKEN})
    text = client.get("/admin/").text
    section = text.split('<section id="contracts-due">')[1].split("</section>")[0]
    assert section.count("<tr data-due=") == 2
    assert 'data-due="end" data-contract="LIC-COM"' in section
    assert 'data-contract="LIC-TERM"' in section and "LIC-NEW" not in section


def test_the_admin_api_answers_what_contracts_due_prints(client, database_url, due_contracts):
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    env = {"ENTITLEMENTS_DATABASE_URL": database_url}
    for query, args in (
        ("", []),
        ("?within=12w&customer=C-2", ["--within", "12w", "--customer", "C-2"]),
    ):
        answer = client.get(f"/api/v1/contracts/due{query}", headers=bearer)
        assert answer.status_code == 200
        printed = CliRunner().invoke(main, ["contracts", "due", *args, "--format", "json"], env=env)
        assert answer.json == json.loads(printed.output)
    document = client.get("/api/v1/openapi.json").json
    assert_documented(document, "ContractsDue", answer.json)
    assert [d["contract"] for d in answer.json["due"]] == ["LIC-TERM"]
    assert answer.json["due"][0]["customer"] == "C-2"
    for bad in ("soon", "0d", "90x"):
        refused = client.get(f"/api/v1/contracts/due?within={bad}", headers=bearer)
        assert refused.status_code == 422
        assert list(refused.json["fields"]) == ["within"] and "90d" in str(refused.json["fields"])


# --- the helpdesks told when a term turns over ---------------------------------------------------


def _inbox(store) -> list[tuple[str, str, str]]:
    with store.session() as session:
        rows = session.scalars(select(InboxRow).order_by(InboxRow.id))
        return [(r.helpdesk, r.delivery_id, r.payload) for r in rows]


def test_a_turnover_queues_the_customer_once_in_each_helpdesk(store):
    _licences(
        store,
        Licence("LIC-R", "C-R", "basic", date(2026, 3, 15)),  # first term ends 31 Dec 2027
        Licence("LIC-S", "C-S", "basic", date(2027, 6, 1)),  # runs on into 2028
    )
    eve = datetime(2027, 12, 31, 12, tzinfo=BERLIN)
    assert queue_turnovers(store, POLICY, ["zammad", "rt"], eve) == 0  # first run: notes the day
    assert _inbox(store) == []
    assert queue_turnovers(store, POLICY, ["zammad", "rt"], eve + timedelta(hours=3)) == 0
    new_year = datetime(2028, 1, 1, 0, 30, tzinfo=BERLIN)
    assert queue_turnovers(store, POLICY, ["zammad", "rt"], new_year) == 1
    payload = json.dumps({CUSTOMER_CHANGED: "C-R"})
    expected = [
        ("zammad", "terms:C-R:2028-01-01", payload),
        ("rt", "terms:C-R:2028-01-01", payload),
    ]
    assert _inbox(store) == expected
    # Another worker that had not seen the checkpoint yet queues nothing twice.
    with store.session() as session:
        store.set_checkpoint(session, CHECKPOINT, {"day": "2027-12-31"}, new_year)
    assert queue_turnovers(store, POLICY, ["zammad", "rt"], new_year) == 1
    assert _inbox(store) == expected


class RecordingHelpdesk:
    """A helpdesk that records what `customer_changed` is told."""

    name = "recording"
    language = "en"

    def __init__(self) -> None:
        self.told: list[tuple[Any, ...]] = []

    def customer_changed(self, customer, plan, valid_until, *, notice_by=None):
        self.told.append((customer, plan, valid_until, notice_by))
        return [], []


def test_the_worker_tells_the_helpdesk_the_notice_date(database_url, store, today):
    services = build_services(Settings(database_url=database_url), store=store)
    helpdesk = RecordingHelpdesk()
    services.helpdesks = {"recording": helpdesk}
    bought = date(today.year, 1, 2) if today >= date(today.year, 1, 2) else today
    _licences(store, Licence("LIC-W", "C-W", "basic", bought))
    with store.session() as session:
        store.accept_inbox(
            session,
            helpdesk="recording",
            delivery_id="terms:C-W:test",
            ticket_id="customer:C-W",
            trigger="terms",
            payload=json.dumps({CUSTOMER_CHANGED: "C-W"}),
            now=datetime.now(UTC),
        )
    Worker(services, periodic_jobs=False).run_once()
    end = date(bought.year + 1, 12, 31)
    assert helpdesk.told == [("C-W", "basic", end, date(bought.year + 1, 9, 30))]


# --- Zammad: the organisation attribute support_notice_by ----------------------------------------


@pytest.fixture
def rig(database_url, store):
    with ErpStandin() as erp:
        settings = Settings(
            database_url=database_url,
            language="en",
            provider_settings={
                "erp": ErpSettings(url=erp.url, token=erp.token, push_token="erp-push-token")
            },
        )
        with Rig(settings, store=store) as rig:
            yield rig


def test_zammad_gets_support_notice_by_on_the_organisation(rig, today):
    names = {(a["object"], a["name"]) for a in rig.zammad.object_attributes()}
    assert ("Organization", "support_notice_by") in names  # created as setup-zammad does
    org = rig.zammad.add_organization("Notice Customer", customer_number="C-NOTICE")
    licence = {
        "licence_id": "LIC-NOTICE",
        "customer_number": "C-NOTICE",
        "plan": "pro",
        "purchased_on": today.isoformat(),
    }
    answer = requests.post(
        f"{rig.url}/erp/licences",
        json=licence,
        timeout=5,
        headers={"Authorization": "Bearer erp-push-token"},
    )
    assert answer.status_code == 202, answer.text
    rig.settle()
    organization = rig.zammad.organization(org)
    assert organization["support_valid_until"] == f"{today.year + 1}-12-31"
    assert organization["support_notice_by"] == f"{today.year + 1}-09-30"
