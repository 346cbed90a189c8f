"""System tests: the Zammad path under repeats, reordering, crashes, outages and concurrency.

Real processes (`entitlements serve`, gunicorn, `entitlements worker`), the Zammad stand-in and
the database under test, all on loopback.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from adapter.contracts import Licence
from adapter.licences import store_licences
from adapter.settings import Settings
from adapter.store.models import DecisionRow, InboxRow, LedgerEntryRow, OutboxRow
from connectors.zammad.client import ZammadClient
from connectors.zammad.rig import Rig
from connectors.zammad.setup import create_attributes
from connectors.zammad.standin import ZammadStandin
from mappings.plans import load_policy
from mappings.zammad import load_mapping
from tests.processes import Process, entitlements, free_port, gunicorn, wait_until
from tests.zammad_helpers import SECRET, zammad_body, zammad_headers

POLICY = load_policy()


# --- in-process: the rig -----------------------------------------------------------------


@pytest.fixture
def rig(database_url, store):
    with Rig(Settings(database_url=database_url, language="en"), store=store) as rig:
        yield rig


def _customer(zammad, store, number, plan="basic"):
    org = zammad.add_organization(f"Org {number}", customer_number=number)
    user = zammad.add_user("Pat", number, f"pat@{number.lower()}.example", organization_id=org)
    with store.session() as session:
        licence = Licence(f"LIC-{number}", number, plan, date(2026, 1, 10))
        store_licences(store, session, POLICY, [licence], "import", datetime.now(UTC))
    return user


def _count(store, model, **where):
    with store.session() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query)


def _notes(zammad, ticket_id):
    return [a for a in zammad.articles(ticket_id) if a["type"] == "note" and a["internal"]]


def test_same_ticket_through_create_update_and_reconcile_counts_once(rig):
    user = _customer(rig.zammad, rig.store, "C-10")
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
    assert _count(rig.store, LedgerEntryRow) == 1
    assert _count(rig.store, DecisionRow, changed=True) == 1
    assert len(_notes(rig.zammad, ticket)) == 1
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
    user = _customer(rig.zammad, rig.store, "C-11")
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
        headers = zammad_headers(body, secret=rig.settings.zammad_webhook_secret, delivery=f"d-{n}")
        requests.post(f"{rig.url}/webhooks/zammad", data=body, headers=headers, timeout=5)
    rig.settle()
    written = rig.zammad.ticket(ticket)
    # the state after all changes, whatever the order: UI building under basic, not counted
    assert written["entitlement_billable"] is True
    assert written["entitlement_reasons"].startswith("User interface building:")
    assert _count(rig.store, LedgerEntryRow, release_reason=None) == 0
    assert _count(rig.store, InboxRow, trigger="ticket_created") == 3  # the repeats were not stored


def _auth(zammad):
    return {"Authorization": f"Token token={zammad.token}"}


def test_zammad_answering_503_then_recovering_gets_every_write_back_once_in_order(rig):
    user = _customer(rig.zammad, rig.store, "C-12", plan="pro")
    rig.zammad.inject_fault("*", r"^/api/v1/", status=503, times=60)
    tickets = [rig.zammad.create_ticket(f"Outage {n}", user) for n in range(5)]
    rig.zammad.wait_for_deliveries(20)
    for _ in range(40):  # the worker retries with backoff until Zammad is back
        rig.worker.drain()
        if (
            _count(rig.store, OutboxRow, status="done") == 5
            and _count(rig.store, InboxRow, status="done") == 5
        ):
            break
        threading.Event().wait(0.1)
    rig.zammad.update_ticket(
        tickets[0], entitlement_category="project_service", entitlement_service="Workshop"
    )
    rig.settle()
    assert _count(rig.store, OutboxRow, status="dead") == 0
    for ticket in tickets:
        assert rig.zammad.ticket(ticket)["entitlement_plan"] == "pro"
    assert [len(_notes(rig.zammad, t)) for t in tickets] == [2, 1, 1, 1, 1]
    first, second = _notes(rig.zammad, tickets[0])
    assert "Billable: no" in first["body"] and "Project service (Workshop)" in second["body"]
    assert rig.zammad.ticket(tickets[0])["entitlement_billable"] is True


def test_adapter_down_while_zammads_five_tries_run_out_then_reconcile_brings_every_ticket_in(rig):
    user = _customer(rig.zammad, rig.store, "C-13")
    rig._server.shutdown()  # the adapter's web tier is down
    rig._server.server_close()
    tickets = [rig.zammad.create_ticket(f"Missed {n}", user) for n in range(3)]
    assert rig.zammad.wait_for_deliveries(30)
    failed = Counter(d.ticket_id for d in rig.zammad.deliveries if not d.ok)
    assert failed == dict.fromkeys(tickets, 5)  # Zammad gave up on each after five tries
    assert _count(rig.store, InboxRow, trigger="entitlements: ticket created") == 0
    helpdesk = rig.services.helpdesks["zammad"]
    assert (
        helpdesk.reconcile(
            rig.store, datetime.now(UTC), since=datetime.now(UTC) - timedelta(hours=1)
        )
        == 3
    )
    rig.worker.drain()
    assert [rig.zammad.ticket(t)["entitlement_plan"] for t in tickets] == ["basic"] * 3
    assert _count(rig.store, LedgerEntryRow) == 3
    # the watermark: a second run finds nothing new
    assert helpdesk.reconcile(rig.store, datetime.now(UTC)) == 0


# --- processes ---------------------------------------------------------------------------


@pytest.fixture
def zammad():
    with ZammadStandin(time_scale=0.01) as standin:
        create_attributes(ZammadClient(standin.url, standin.token), load_mapping())
        yield standin


def _env(zammad, database_url):
    return {
        "ENTITLEMENTS_ZAMMAD_URL": zammad.url,
        "ENTITLEMENTS_ZAMMAD_TOKEN": zammad.token,
        "ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET": SECRET,
        "ENTITLEMENTS_DATABASE_URL": database_url,
        "ENTITLEMENTS_LANGUAGE": "en",
        "ENTITLEMENTS_LEASE": "2",
        "ENTITLEMENTS_RECONCILE_INTERVAL": "0",
    }


def _events(zammad, tickets, per_ticket):
    """Zammad's deliveries for these tickets: `per_ticket` distinct events each, in order (a
    create, then updates that change the title: identical bodies would be duplicates)."""
    events = []
    for round_ in range(per_ticket):
        for ticket in tickets:
            if round_:
                zammad.update_ticket(ticket, title=f"{zammad.ticket(ticket)['title']} ({round_})")
            body = zammad_body({"ticket": zammad.ticket(ticket), "article": {}})
            events.append((f"{ticket}-{round_}-{uuid.uuid4()}", body))
    return events


def _send(url, events, *, workers=8, on_accepted=None, deadline=120.0):
    """POST each event until it is answered 2xx, as Zammad retries (same id, same body)."""
    answered: dict[str, int] = {}
    lock = threading.Lock()
    stop_at = datetime.now(UTC) + timedelta(seconds=deadline)

    def one(event):
        delivery, body = event
        while datetime.now(UTC) < stop_at:
            try:
                r = requests.post(
                    url, data=body, headers=zammad_headers(body, delivery=delivery), timeout=10
                )
            except requests.RequestException:
                threading.Event().wait(0.05)
                continue
            if r.status_code < 300:
                with lock:
                    answered[delivery] = r.status_code
                    if on_accepted:
                        on_accepted(len(answered))
                return
            threading.Event().wait(0.05)
        raise AssertionError(f"{delivery} never accepted")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, events))
    return answered


def _settled(store, accepted: int):
    return (
        _count(store, InboxRow) >= accepted
        and _count(store, InboxRow, status="pending") == 0
        and _count(store, OutboxRow, status="pending") == 0
    )


def _assert_each_ticket_counted_once_and_written_back_once(zammad, store, tickets):
    with store.session() as session:
        rows = session.execute(select(LedgerEntryRow.ticket_id, LedgerEntryRow.ordinal)).all()
    assert sorted(int(t) for t, _ in rows) == sorted(tickets)  # once each, none twice
    assert sorted(o for _, o in rows) == list(range(1, len(tickets) + 1))  # no ordinal twice
    puts = Counter(r.path for r in zammad.requests if r.method == "PUT" and r.status == 200)
    for ticket in tickets:
        assert len(_notes(zammad, ticket)) == 1, ticket
        assert puts[f"/api/v1/tickets/{ticket}"] == 1, ticket
        assert zammad.ticket(ticket)["entitlement_quota"]


def _deploy(kind: str, zammad, database_url, tmp_path) -> tuple[str, list[Process]]:
    """`serve` alone, or gunicorn with two `entitlements worker` processes; ready to take
    webhooks. Returns the webhook URL and the processes (the first is the web tier)."""
    port, env = free_port(), _env(zammad, database_url)
    if kind == "serve":
        processes = [
            Process(entitlements("serve", "--port", str(port)), env, str(tmp_path / "serve.log"))
        ]
    else:
        processes = [
            Process(gunicorn(port, workers=2), env, str(tmp_path / "web.log")),
            *(
                Process(entitlements("worker"), env, str(tmp_path / f"worker{i}.log"))
                for i in range(2)
            ),
        ]
    for process in processes:
        process.start()
    wait_until(
        lambda: requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok, what=f"{kind} ready"
    )
    return f"http://127.0.0.1:{port}/webhooks/zammad", processes


@pytest.mark.parametrize(
    "deployment", ["serve", pytest.param("gunicorn_and_two_workers", marks=pytest.mark.postgres)]
)
def test_fifty_concurrent_events_for_one_organisation_are_counted_exactly(
    deployment, zammad, database_url, store, tmp_path
):
    user = _customer(zammad, store, "C-50", plan="pro")
    tickets = [zammad.create_ticket(f"Concurrent {n}", user) for n in range(50)]
    url, processes = _deploy(deployment, zammad, database_url, tmp_path)
    try:
        answered = _send(url, _events(zammad, tickets, 1), workers=50)
        assert Counter(answered.values()) == {202: 50}
        wait_until(lambda: _settled(store, 50), what="all processed")
    finally:
        for process in processes:
            process.stop()
    _assert_each_ticket_counted_once_and_written_back_once(zammad, store, tickets)


@pytest.mark.parametrize(
    ("deployment", "victim"),
    [
        ("serve", 0),  # the one process: killed, then brought back by its supervisor
        # a worker: not brought back; the other takes its rows once their lease ends
        pytest.param("gunicorn_and_two_workers", 1, marks=pytest.mark.postgres),
    ],
)
def test_sigkill_during_1000_events_loses_nothing_and_counts_nothing_twice(
    deployment, victim, zammad, database_url, store, tmp_path
):
    user = _customer(zammad, store, "C-60", plan="pro")
    tickets = [zammad.create_ticket(f"Stream {n}", user) for n in range(200)]
    events = _events(zammad, tickets, 5)  # 1,000 events: a create and four updates per ticket
    url, processes = _deploy(deployment, zammad, database_url, tmp_path)
    killed = threading.Event()

    def crash_once(accepted: int) -> None:
        if accepted >= 300 and not killed.is_set():
            killed.set()
            processes[victim].kill()
            if deployment == "serve":
                processes[victim].start()

    try:
        answered = _send(url, events, on_accepted=crash_once)
        assert killed.is_set() and len(answered) == 1000
        accepted = [d for d, status in answered.items() if status == 202]
        wait_until(lambda: _settled(store, len(accepted)), timeout=180, what="all processed")
    finally:
        for process in processes:
            if process.proc and process.proc.poll() is None:
                process.stop()
    with store.session() as session:
        stored = set(session.scalars(select(InboxRow.delivery_id)))
    assert _count(store, InboxRow, status="done") == len(stored)
    assert set(accepted) <= stored  # every event answered 202 was kept
    _assert_each_ticket_counted_once_and_written_back_once(zammad, store, tickets)
