"""A licence bought this morning changes what agents see this morning: push and pull, end to
end through the Zammad stand-in and the ERP stand-in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from adapter.settings import Settings
from connectors.erp.cli import pull_once
from connectors.erp.settings import ErpSettings
from mappings.zammad import shipped_path
from standins.erp import ErpStandin
from standins.rig import Rig

PUSH_TOKEN = "erp-push-token"


@pytest.fixture
def erp():
    with ErpStandin() as standin:
        yield standin


def rig_settings(database_url, erp, **more):
    return Settings(
        database_url=database_url,
        language="en",
        provider_settings={
            "erp": ErpSettings(url=erp.url, token=erp.token, push_token=PUSH_TOKEN),
        },
        **more,
    )


@pytest.fixture
def rig(database_url, store, erp):
    with Rig(rig_settings(database_url, erp), store=store) as rig:
        yield rig


def push(rig, licence):
    """The ERP's push of one licence."""
    return requests.post(
        f"{rig.url}/erp/licences",
        json=licence,
        timeout=5,
        headers={"Authorization": f"Bearer {PUSH_TOKEN}"},
    )


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def a_ticket_without_contract(rig, number):
    org = rig.zammad.add_organization(f"New Customer {number}", customer_number=number)
    user = rig.zammad.add_user("Pat", number, f"pat@{number.lower()}.example", organization_id=org)
    ticket = rig.zammad.create_ticket("We just bought a licence", user)
    rig.settle()
    assert rig.zammad.ticket(ticket)["entitlement_billable"] is True
    assert "no-contract" in rig.zammad.tags(ticket)
    return org, ticket


def assert_covered_now(rig, org, ticket, plan):
    rig.settle()
    written = rig.zammad.ticket(ticket)
    assert written["entitlement_plan"] == plan
    assert written["entitlement_billable"] is False
    assert "no-contract" not in rig.zammad.tags(ticket)
    organization = rig.zammad.organization(org)
    assert organization["support_plan"] == plan
    assert organization["support_valid_until"] == f"{datetime.now(UTC).year + 1}-12-31"


def test_a_pushed_licence_clears_todays_no_contract(rig):
    org, ticket = a_ticket_without_contract(rig, "C-PUSH")
    licence = {
        "licence_id": "LIC-PUSH",
        "revision": 1,
        "customer_number": "C-PUSH",
        "product": "SP-BASIC-10",
        "purchased_on": today(),
    }
    answer = push(rig, licence)
    assert answer.status_code == 202, answer.text
    assert_covered_now(rig, org, ticket, "basic")
    # the same push again changes nothing, and writes nothing
    rig.zammad.clear_requests()
    again = push(rig, licence)
    assert again.json()["unchanged"] == 1
    rig.settle()
    assert [r for r in rig.zammad.requests if r.method in ("PUT", "POST", "DELETE")] == []


def test_a_pulled_licence_clears_todays_no_contract(rig, erp):
    org, ticket = a_ticket_without_contract(rig, "C-PULL")
    erp.put(
        {
            "id": "LIC-PULL",
            "version": 1,
            "customer": {"number": "C-PULL", "name": "Pull AG"},
            "article": {"sku": "SP-PRO-10"},
            "order_date": today(),
            "state": "ACTIVE",
            "price": {"net": "9000.00", "currency": "EUR"},
            "addons": [],
        }
    )
    report = pull_once(rig.services, datetime.now(UTC))
    assert (report.created, report.changed_customers) == (1, ["C-PULL"])
    assert_covered_now(rig, org, ticket, "pro")


@pytest.mark.parametrize("search_index", [True, False], ids=["elasticsearch", "sql"])
def test_a_customer_number_with_query_syntax_is_rechecked_after_a_licence(rig, search_index):
    # The re-check finds the organisation by a condition, which Zammad binds as it is
    # (lib/selector/sql.rb). As a query, / : ( " are Elasticsearch syntax and a refused query
    # is answered with [] (lib/search_index_backend.rb); without Elasticsearch a query is a
    # LIKE on the organisations' columns (app/models/concerns/can_search.rb).
    rig.zammad.search_index = search_index
    number = 'C/7:(1)"x'
    org, ticket = a_ticket_without_contract(rig, number)
    near, near_ticket = a_ticket_without_contract(rig, "C/7")
    answer = push(
        rig,
        {
            "licence_id": "LIC-SYNTAX",
            "customer_number": number,
            "plan": "basic",
            "purchased_on": today(),
        },
    )
    assert answer.status_code == 202, answer.text
    assert_covered_now(rig, org, ticket, "basic")
    assert "no-contract" in rig.zammad.tags(near_ticket)  # the number exactly, not a prefix
    assert not rig.zammad.organization(near)["support_plan"]


def test_a_customer_number_typed_with_spaces_is_rechecked_after_a_licence(rig):
    # Deciding strips the spaces (mappings/zammad.py customer_number); the re-check must
    # find the organisation all the same, and only it.
    org, ticket = a_ticket_without_contract(rig, " C-SPACE ")
    near, near_ticket = a_ticket_without_contract(rig, "C-SPACE-2")
    answer = push(
        rig,
        {
            "licence_id": "LIC-SPACE",
            "customer_number": "C-SPACE",
            "plan": "basic",
            "purchased_on": today(),
        },
    )
    assert answer.status_code == 202, answer.text
    assert_covered_now(rig, org, ticket, "basic")
    assert "no-contract" in rig.zammad.tags(near_ticket)
    assert not rig.zammad.organization(near)["support_plan"]


def test_a_termination_takes_the_plan_away(rig):
    org, ticket = a_ticket_without_contract(rig, "C-TERM")
    licence = {
        "licence_id": "LIC-TERM",
        "revision": 1,
        "customer_number": "C-TERM",
        "plan": "pro",
        "purchased_on": "2025-01-10",
    }
    push(rig, licence)
    rig.settle()
    assert rig.zammad.organization(org)["support_plan"] == "pro"
    terminated = {**licence, "revision": 2, "status": "terminated", "cancelled_on": "2025-06-30"}
    push(rig, {"licences": [terminated]})
    rig.settle()
    assert rig.zammad.organization(org)["support_plan"] in (None, "")
    assert rig.zammad.ticket(ticket)["entitlement_billable"] is True


def test_pull_erp_command_reports_and_resumes(database_url, store, erp):
    from click.testing import CliRunner

    from adapter.cli import main

    for n in range(3):
        erp.put(
            {
                "id": f"LIC-CLI-{n}",
                "version": 1,
                "customer": {"number": f"C-CLI-{n}"},
                "article": {"sku": "SP-BASIC-10"},
                "order_date": "2026-02-01",
                "state": "ACTIVE",
            }
        )
    erp.put(
        {
            "id": "LIC-CLI-BAD",
            "version": 1,
            "customer": {"number": "C-CLI-X"},
            "article": {"sku": "SP-UNKNOWN"},
            "order_date": "2026-02-01",
            "state": "ACTIVE",
        }
    )
    env = {
        "ENTITLEMENTS_DATABASE_URL": database_url,
        "ENTITLEMENTS_ERP_URL": erp.url,
        "ENTITLEMENTS_ERP_TOKEN": erp.token,
    }
    first = CliRunner().invoke(main, ["pull-erp"], env=env)
    assert first.exit_code == 0, first.output
    assert "created 3, updated 0, unchanged 0, stale 0, invalid 1" in first.output
    assert "invalid: LIC-CLI-BAD: plan: " in first.output
    assert "3 customer(s) queued to be decided again" in first.output
    # The command's old name still works, and says it is deprecated.
    again = CliRunner().invoke(main, ["sync-erp"], env=env)
    assert "created 0" in again.output and "queued" not in again.output
    assert "'sync-erp' is deprecated" in again.output
    assert "sync-erp" not in CliRunner().invoke(main, ["--help"]).output
    missing = CliRunner().invoke(
        main,
        ["pull-erp"],
        env={
            "ENTITLEMENTS_DATABASE_URL": database_url,
            "ENTITLEMENTS_ERP_URL": "",
            "ENTITLEMENTS_ERP_TOKEN": "",
        },
    )
    assert missing.exit_code == 1 and "ENTITLEMENTS_ERP_URL" in missing.output


def test_a_licence_rechecks_the_tickets_of_customers_known_by_a_user_attribute(
    database_url, store, erp, tmp_path
):
    """Customers without an organisation: the number is on the user (zammad.yaml)."""
    shipped = shipped_path().read_text(encoding="utf-8")
    by_org = "  organization_attribute: customer_number\n  user_attribute: null\n"
    assert by_org in shipped
    by_user = "  organization_attribute: null\n  user_attribute: customer_number\n"
    (tmp_path / "zammad.yaml").write_text(shipped.replace(by_org, by_user), encoding="utf-8")
    settings = rig_settings(database_url, erp, mappings_dir=tmp_path)
    with Rig(settings, store=store) as rig:
        user = rig.zammad.add_user("Pat", "Solo", "pat@solo.example", customer_number="C-SOLO")
        other = rig.zammad.add_user("Sam", "Solo", "sam@solo.example", customer_number="C-SOLO-2")
        ticket = rig.zammad.create_ticket("We just bought a licence", user)
        other_ticket = rig.zammad.create_ticket("Not us", other)
        rig.settle()
        assert "no-contract" in rig.zammad.tags(ticket)
        licence = {
            "licence_id": "LIC-SOLO",
            "customer_number": "C-SOLO",
            "plan": "basic",
            "purchased_on": today(),
        }
        assert push(rig, licence).status_code == 202
        rig.settle()
        assert rig.zammad.ticket(ticket)["entitlement_plan"] == "basic"
        assert "no-contract" not in rig.zammad.tags(ticket)
        assert "no-contract" in rig.zammad.tags(other_ticket)
