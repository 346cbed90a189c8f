"""The audit trail and replay of tickets decided without a contract: the ledger the decision
saw has no counts, stored as an empty list of pairs (rows stored before the fix hold `{}`)."""

from __future__ import annotations

import pytest
import requests
from marshmallow import ValidationError
from sqlalchemy import select, update

from adapter.settings import Settings
from adapter.store.models import DecisionRow
from mappings.audit import load_decision_inputs
from standins.rig import Rig
from tests.admin_helpers import ADMIN_TOKEN, BEARER, assert_documented, licence, rig_ticket


@pytest.fixture
def rig(database_url, store):
    settings = Settings(database_url=database_url, language="en", admin_token=ADMIN_TOKEN)
    with Rig(settings, store=store) as rig:
        yield rig


def api(rig, method, path, **kwargs):
    return requests.request(method, f"{rig.url}{path}", headers=BEARER, timeout=10, **kwargs)


def uncovered_ticket(rig) -> int:
    """A ticket of customer C-900, who has no contract, decided and written back."""
    org = rig.zammad.add_organization("Org C-900", customer_number="C-900")
    user = rig.zammad.add_user("Sam", "C-900", "sam@c-900.example", organization_id=org)
    ticket = rig_ticket(rig, user, 5)
    rig.settle()
    return ticket


def stored_inputs(rig, ticket: int) -> list[dict]:
    with rig.store.session() as session:
        query = select(DecisionRow.inputs).where(DecisionRow.ticket_id == str(ticket))
        return list(session.scalars(query.order_by(DecisionRow.id)))


def store_used_as_an_empty_object(rig, ticket: int) -> None:
    """Rewrite the ticket's stored inputs as the writer stored them before the fix."""
    with rig.store.session() as session:
        for row in session.scalars(select(DecisionRow).where(DecisionRow.ticket_id == str(ticket))):
            inputs = {**row.inputs, "ledger": {**row.inputs["ledger"], "used": {}}}
            session.execute(
                update(DecisionRow).where(DecisionRow.id == row.id).values(inputs=inputs)
            )


def test_a_decision_without_a_contract_stores_the_ledger_counts_as_an_empty_list(rig):
    [inputs] = stored_inputs(rig, uncovered_ticket(rig))
    assert inputs["contracts"] == []
    assert inputs["ledger"] == {"used": [], "entries": []}


def test_the_audit_trail_shows_a_ticket_decided_without_a_contract(rig):
    ticket = uncovered_ticket(rig)
    answer = api(rig, "GET", f"/api/v1/tickets/zammad/{ticket}/decisions")
    assert answer.status_code == 200, answer.text
    history = answer.json()
    document = requests.get(f"{rig.url}/api/v1/openapi.json", timeout=10).json()
    assert_documented(document, "DecisionHistory", history)
    [record] = history["decisions"]
    assert history["ticket"] == {"helpdesk": "zammad", "id": ticket}
    assert [f["code"] for f in record["decision"]["flags"]] == ["no_contract"]
    assert record["decision"]["contract"] is None
    assert record["inputs"]["facts"]["customer_number"] == "C-900"
    assert record["inputs"]["contracts"] == []
    assert record["inputs"]["ledger"] == {"used": [], "entries": []}


def test_the_audit_trail_reads_rows_stored_with_used_as_an_empty_object(rig):
    ticket = uncovered_ticket(rig)
    store_used_as_an_empty_object(rig, ticket)
    assert stored_inputs(rig, ticket)[0]["ledger"]["used"] == {}

    answer = api(rig, "GET", f"/api/v1/tickets/zammad/{ticket}/decisions")
    assert answer.status_code == 200, answer.text
    [record] = answer.json()["decisions"]
    assert record["inputs"]["ledger"] == {"used": [], "entries": []}
    assert [f["code"] for f in record["decision"]["flags"]] == ["no_contract"]


@pytest.mark.parametrize("old_shape", [False, True], ids=["list", "empty-object"])
def test_replay_decides_a_ticket_without_a_contract_again(rig, old_shape):
    ticket = uncovered_ticket(rig)
    if old_shape:
        store_used_as_an_empty_object(rig, ticket)
    # The customer's licence arrives; its re-check is left in the inbox, so only replay
    # decides the ticket under the new contract.
    licence(rig.store, rig.services.policy, "C-900", "basic")

    answer = api(rig, "POST", "/api/v1/replay", json={"customer": "C-900"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["skipped"] == []
    assert (report["tickets"], report["changed"]) == (1, 1)
    [result] = report["results"]
    assert result["ticket"] == {"helpdesk": "zammad", "id": str(ticket)}
    assert [f["code"] for f in result["before"]["flags"]] == ["no_contract"]
    assert result["after"]["contract"]["id"] == "LIC-C-900"
    assert result["after"]["plan"] == "basic"


def test_a_ledger_of_the_old_shape_loads_as_no_counts_and_other_objects_are_refused(rig):
    [inputs] = stored_inputs(rig, uncovered_ticket(rig))
    old = {**inputs, "ledger": {"used": {}, "entries": []}}
    assert load_decision_inputs(old) == load_decision_inputs(inputs)
    assert load_decision_inputs(old).ledger.used == {}
    with pytest.raises(ValidationError) as refused:
        load_decision_inputs({**inputs, "ledger": {"used": {"LIC-1": 1}, "entries": []}})
    assert "used" in refused.value.messages["ledger"]
