"""System tests: the Zammad path under repeats, reordering, crashes, outages and concurrency.

Real processes (`entitlements serve`, gunicorn, `entitlements worker`), the Zammad stand-in and
the database under test, all on loopback.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests

from adapter.settings import Settings
from adapter.store.models import DecisionRow, InboxRow, LedgerEntryRow, OutboxRow
from connectors.zammad.client import ZammadClient
from connectors.zammad.settings import zammad_settings
from connectors.zammad.setup import create_attributes
from mappings.zammad import load_mapping
from standins.rig import Rig
from standins.zammad import ZammadStandin
from tests.crash_scenario import (
    POLICY,
    count,
    customer,
    deploy,
    events,
    notes,
    run_sigkill,
    send,
    settled,
    written_back_once,
)
from tests.processes import wait_until
from tests.zammad_helpers import zammad_body, zammad_headers

# --- in-process: the rig -----------------------------------------------------------------


@pytest.fixture
def rig(database_url, store):
    with Rig(Settings(database_url=database_url, language="en"), store=store) as rig:
        yield rig


def test_same_ticket_through_create_update_and_reconcile_counts_once(rig):
    user = customer(rig.zammad, rig.store, "C-10")
    ticket = rig.zammad.create_ticket("Question", user)
    rig.settle()
    rig.zammad.update_ticket(ticket, title="Question, again")
    rig.settle()
    helpdesk = rig.services.helpdesks["zammad"]
    assert (
        helpdesk.reconcile(
            rig.store, datetime.now(UTC), since=datetime.now(UTC) - timedelta(hours=1)
        )
        == 1
    )
    rig.settle()
    assert count(rig.store, LedgerEntryRow) == 1
    assert count(rig.store, DecisionRow, changed=True) == 1
    assert len(notes(rig.zammad, ticket)) == 1
    assert rig.zammad.ticket(ticket)["entitlement_quota"] == "1/4 Nov 2026".replace(
        "Nov 2026", datetime.now(UTC).astimezone(POLICY.calendar.time_zone).strftime("%b %Y")
    )


def test_reordered_and_repeated_events_end_in_the_state_of_in_order_events(rig):
    for trigger in requests.get(
        f"{rig.zammad.api_url}triggers", headers=_auth(rig.zammad), timeout=5
    ).json():
        requests.put(
            f"{rig.zammad.api_url}triggers/{trigger['id']}",
            json={"active": False},
            headers=_auth(rig.zammad),
            timeout=5,
        )
    user = customer(rig.zammad, rig.store, "C-11")
    ticket = rig.zammad.create_ticket("Screens", user)
    states = [rig.zammad.ticket(ticket)]
    rig.zammad.update_ticket(ticket, entitlement_category="ui_building")
    states.append(rig.zammad.ticket(ticket))
    rig.zammad.update_ticket(ticket, title="Screens for the new line")
    states.append(rig.zammad.ticket(ticket))
    # Zammad's deliveries, reordered and repeated; each payload is a snapshot of its moment
    deliveries = [(i, zammad_body({"ticket": s, "article": {}})) for i, s in enumerate(states)]
    for i in (2, 0, 1, 0, 2):
        n, body = deliveries[i]
        headers = zammad_headers(
            body, secret=zammad_settings(rig.settings).webhook_secret, delivery=f"d-{n}"
        )
        requests.post(f"{rig.url}/webhooks/zammad", data=body, headers=headers, timeout=5)
    rig.settle()
    written = rig.zammad.ticket(ticket)
    # the state after all changes, whatever the order: UI building under basic, not counted
    assert written["entitlement_billable"] is True
    assert written["entitlement_reasons"].startswith("User interface building:")
    assert count(rig.store, LedgerEntryRow, release_reason=None) == 0
    assert count(rig.store, InboxRow, trigger="ticket_created") == 3  # the repeats were not stored


def _auth(zammad):
    return {"Authorization": f"Token token={zammad.token}"}


def test_zammad_answering_503_then_recovering_gets_every_write_back_once_in_order(rig):
    user = customer(rig.zammad, rig.store, "C-12", plan="pro")
    rig.zammad.inject_fault("*", r"^/api/v1/", status=503, times=60)
    tickets = [rig.zammad.create_ticket(f"Outage {n}", user) for n in range(5)]
    rig.zammad.wait_for_deliveries(20)
    for _ in range(40):  # the worker retries with backoff until Zammad is back
        rig.worker.drain()
        if (
            count(rig.store, OutboxRow, status="done") == 5
            and count(rig.store, InboxRow, status="done") == 5
        ):
            break
        threading.Event().wait(0.1)
    rig.zammad.update_ticket(
        tickets[0], entitlement_category="project_service", entitlement_service="Workshop"
    )
    rig.settle()
    assert count(rig.store, OutboxRow, status="dead") == 0
    for ticket in tickets:
        assert rig.zammad.ticket(ticket)["entitlement_plan"] == "pro"
    assert [len(notes(rig.zammad, t)) for t in tickets] == [2, 1, 1, 1, 1]
    first, second = notes(rig.zammad, tickets[0])
    assert "Billable: no" in first["body"] and "Project service (Workshop)" in second["body"]
    assert rig.zammad.ticket(tickets[0])["entitlement_billable"] is True


def test_adapter_down_while_zammads_five_tries_run_out_then_reconcile_brings_every_ticket_in(rig):
    user = customer(rig.zammad, rig.store, "C-13")
    rig._server.shutdown()  # the adapter's web tier is down
    rig._server.server_close()
    tickets = [rig.zammad.create_ticket(f"Missed {n}", user) for n in range(3)]
    assert rig.zammad.wait_for_deliveries(30)
    failed = Counter(d.ticket_id for d in rig.zammad.deliveries if not d.ok)
    assert failed == dict.fromkeys(tickets, 5)  # Zammad gave up on each after five tries
    assert count(rig.store, InboxRow, trigger="entitlements: ticket created") == 0
    helpdesk = rig.services.helpdesks["zammad"]
    assert (
        helpdesk.reconcile(
            rig.store, datetime.now(UTC), since=datetime.now(UTC) - timedelta(hours=1)
        )
        == 3
    )
    rig.worker.drain()
    assert [rig.zammad.ticket(t)["entitlement_plan"] for t in tickets] == ["basic"] * 3
    assert count(rig.store, LedgerEntryRow) == 3
    # The write-backs are changes too (a tag changed with them would not show otherwise):
    # decided once more they write nothing, and the run after finds nothing new.
    assert helpdesk.reconcile(rig.store, datetime.now(UTC)) == 3
    rig.worker.drain()
    assert helpdesk.reconcile(rig.store, datetime.now(UTC)) == 0


# --- processes ---------------------------------------------------------------------------


@pytest.fixture
def zammad():
    with ZammadStandin(time_scale=0.01) as standin:
        create_attributes(ZammadClient(standin.url, standin.token), load_mapping())
        yield standin


@pytest.mark.parametrize(
    "deployment", ["serve", pytest.param("gunicorn_and_two_workers", marks=pytest.mark.postgres)]
)
def test_fifty_concurrent_events_for_one_organisation_are_counted_exactly(
    deployment, zammad, database_url, store, tmp_path
):
    user = customer(zammad, store, "C-50", plan="pro")
    tickets = [zammad.create_ticket(f"Concurrent {n}", user) for n in range(50)]
    url, processes = deploy(deployment, zammad, database_url, tmp_path)
    try:
        answered = send(url, events(zammad, tickets, 1), workers=50)
        assert Counter(answered.values()) == {202: 50}
        wait_until(lambda: settled(store, 50), what="all processed")
    finally:
        for process in processes:
            process.stop()
    assert written_back_once(zammad, store, tickets) == []


@pytest.mark.parametrize(
    "deployment", ["serve", pytest.param("gunicorn_and_two_workers", marks=pytest.mark.postgres)]
)
def test_sigkill_during_1000_events_loses_nothing_and_counts_nothing_twice(
    deployment, zammad, database_url, store, tmp_path
):
    # benchmarks/soak_sigkill.py runs this scenario many times over
    assert run_sigkill(deployment, zammad, database_url, store, tmp_path) == []
