"""The crash scenario of the system tests and of `benchmarks/soak_sigkill.py`: real processes
(`entitlements serve`, or gunicorn with two `entitlements worker`s), the Zammad stand-in and
the database under test, all on loopback; 1,000 events for 200 tickets, one process SIGKILLed
after 300 accepted. `run_sigkill` returns what went wrong, nothing when every promise held."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import func, select

from adapter.contracts import Licence
from adapter.licences import store_licences
from adapter.store import Store
from adapter.store.models import InboxRow, LedgerEntryRow, OutboxRow
from mappings.plans import load_policy
from standins.zammad import ZammadStandin
from tests.processes import Process, entitlements, free_port, gunicorn, wait_until
from tests.zammad_helpers import SECRET, zammad_body, zammad_headers

POLICY = load_policy()
DEPLOYMENTS = ("serve", "gunicorn_and_two_workers")


def customer(zammad: ZammadStandin, store: Store, number: str, plan: str = "basic") -> int:
    """An organisation with `number`, one user of it, and its licence; returns the user."""
    org = zammad.add_organization(f"Org {number}", customer_number=number)
    user = zammad.add_user("Pat", number, f"pat@{number.lower()}.example", organization_id=org)
    with store.session() as session:
        licence = Licence(f"LIC-{number}", number, plan, date(2026, 1, 10))
        store_licences(
            store, session, POLICY, [licence], "import", datetime.now(UTC), helpdesks=("zammad",)
        )
    return user


def count(store: Store, model, **where) -> int:
    with store.session() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query)


def notes(zammad: ZammadStandin, ticket_id: int) -> list[dict]:
    return [a for a in zammad.articles(ticket_id) if a["type"] == "note" and a["internal"]]


def events(zammad: ZammadStandin, tickets: list[int], per_ticket: int) -> list[tuple[str, bytes]]:
    """Zammad's deliveries for these tickets: `per_ticket` distinct events each, in order (a
    create, then updates that change the title: identical bodies would be duplicates)."""
    out = []
    for round_ in range(per_ticket):
        for ticket in tickets:
            if round_:
                zammad.update_ticket(ticket, title=f"{zammad.ticket(ticket)['title']} ({round_})")
            body = zammad_body({"ticket": zammad.ticket(ticket), "article": {}})
            out.append((f"{ticket}-{round_}-{uuid.uuid4()}", body))
    return out


def send(url, deliveries, *, workers=8, on_accepted=None, deadline=120.0) -> dict[str, int]:
    """POST each delivery until it is answered 2xx, as Zammad retries (same id, same body)."""
    answered: dict[str, int] = {}
    lock = threading.Lock()
    stop_at = datetime.now(UTC) + timedelta(seconds=deadline)

    def one(delivery: tuple[str, bytes]) -> None:
        delivery_id, body = delivery
        while datetime.now(UTC) < stop_at:
            try:
                r = requests.post(
                    url, data=body, headers=zammad_headers(body, delivery=delivery_id), timeout=10
                )
            except requests.RequestException:
                threading.Event().wait(0.05)
                continue
            if r.status_code < 300:
                with lock:
                    answered[delivery_id] = r.status_code
                    if on_accepted:
                        on_accepted(len(answered))
                return
            threading.Event().wait(0.05)
        raise AssertionError(f"{delivery_id} never accepted")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, deliveries))
    return answered


def settled(store: Store, accepted: int) -> bool:
    return (
        count(store, InboxRow) >= accepted
        and count(store, InboxRow, status="pending") == 0
        and count(store, OutboxRow, status="pending") == 0
    )


def wait_for_progress(store: Store, accepted: int, stalled_after: float = 90.0) -> None:
    """Until everything is processed, however long that takes on a busy machine, as long as
    rows keep moving; rows that stop moving for `stalled_after` seconds are a bug, reported
    with their state."""
    last, since = None, time.monotonic()
    while not settled(store, accepted):
        with store.session() as session:
            pending = [
                (model.__tablename__, r.id, r.attempts, r.claimed_by, r.claimed_until, r.last_error)
                for model in (InboxRow, OutboxRow)
                for r in session.scalars(select(model).where(model.status == "pending"))
            ]
        state = (count(store, InboxRow), [row[:3] for row in pending])  # rows and attempts
        if state != last:
            last, since = state, time.monotonic()
        elif time.monotonic() - since > stalled_after:
            raise AssertionError(f"stalled for {stalled_after:.0f} s: pending {pending[:5]}")
        time.sleep(0.2)


def written_back_once(zammad: ZammadStandin, store: Store, tickets: list[int]) -> list[str]:
    """What broke the promise: each ticket counted once (no ordinal twice), one PUT of its
    fields and one internal note; empty when all held."""
    problems = []
    with store.session() as session:
        rows = session.execute(select(LedgerEntryRow.ticket_id, LedgerEntryRow.ordinal)).all()
    counted = Counter(int(t) for t, _ in rows)
    if sorted(counted) != sorted(tickets) or set(counted.values()) != {1}:
        problems.append(f"counted: {sum(counted.values())} ledger entries for {len(tickets)}")
    if sorted(o for _, o in rows) != list(range(1, len(rows) + 1)):
        problems.append("an ordinal twice or missing")
    puts = Counter(r.path for r in zammad.requests if r.method == "PUT" and r.status == 200)
    for ticket in tickets:
        if len(notes(zammad, ticket)) != 1:
            problems.append(f"ticket {ticket}: {len(notes(zammad, ticket))} notes")
        if puts[f"/api/v1/tickets/{ticket}"] != 1:
            # What each PUT carried, for finding out why: its fields, and whether a note.
            carried = [
                ("note + " if "article" in (r.body or {}) else "")
                + (",".join(sorted(set(r.body) - {"article"})) if r.body else "no body")
                for r in zammad.requests
                if r.method == "PUT" and r.path == f"/api/v1/tickets/{ticket}" and r.status == 200
            ]
            problems.append(f"ticket {ticket}: {len(carried)} PUTs ({'; '.join(carried)})")
        if not zammad.ticket(ticket)["entitlement_quota"]:
            problems.append(f"ticket {ticket}: no quota written")
    return problems


def deploy(kind: str, zammad: ZammadStandin, database_url: str, logs: Path):
    """`serve` alone, or gunicorn with two `entitlements worker` processes; ready to take
    webhooks. Returns the webhook URL and the processes (the first is the web tier)."""
    port = free_port()
    env = {
        "ENTITLEMENTS_ZAMMAD_URL": zammad.url,
        "ENTITLEMENTS_ZAMMAD_TOKEN": zammad.token,
        "ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET": SECRET,
        "ENTITLEMENTS_DATABASE_URL": database_url,
        "ENTITLEMENTS_LANGUAGE": "en",
        "ENTITLEMENTS_LEASE": "2",  # a killed worker's rows come back quickly
        "ENTITLEMENTS_RECONCILE_INTERVAL": "0",
    }
    if kind == "serve":
        processes = [
            Process(entitlements("serve", "--port", str(port)), env, str(logs / "serve.log"))
        ]
    else:
        processes = [
            Process(gunicorn(port, workers=2), env, str(logs / "web.log")),
            *(Process(entitlements("worker"), env, str(logs / f"worker{i}.log")) for i in range(2)),
        ]
    for process in processes:
        process.start()
    wait_until(
        lambda: requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok, what=f"{kind} ready"
    )
    return f"http://127.0.0.1:{port}/webhooks/zammad", processes


def run_sigkill(
    deployment: str, zammad: ZammadStandin, database_url: str, store: Store, logs: Path
) -> list[str]:
    """1,000 events (a create and four updates for each of 200 tickets); after 300 accepted,
    SIGKILL: `serve` is brought back as by its supervisor; of gunicorn + two workers, one
    worker dies for good and the other takes its rows once their lease ends. Returns what
    broke a promise: an accepted event lost or not decided, a ticket counted twice, a second
    PUT or note."""
    victim = 0 if deployment == "serve" else 1
    user = customer(zammad, store, "C-60", plan="pro")
    tickets = [zammad.create_ticket(f"Stream {n}", user) for n in range(200)]
    deliveries = events(zammad, tickets, 5)
    url, processes = deploy(deployment, zammad, database_url, logs)
    killed = threading.Event()

    def crash_once(accepted: int) -> None:
        if accepted >= 300 and not killed.is_set():
            killed.set()
            processes[victim].kill()
            if deployment == "serve":
                processes[victim].start()

    try:
        answered = send(url, deliveries, on_accepted=crash_once)
        accepted = [d for d, status in answered.items() if status == 202]
        wait_for_progress(store, len(accepted))
    finally:
        for process in processes:
            if process.proc and process.proc.poll() is None:
                process.stop()
    problems = [] if killed.is_set() else ["the process was never killed"]
    if len(answered) != len(deliveries):
        problems.append(f"{len(deliveries) - len(answered)} events never answered")
    with store.session() as session:
        stored = set(session.scalars(select(InboxRow.delivery_id)))
    if count(store, InboxRow, status="done") != len(stored):
        problems.append("an inbox row not decided")
    if not set(accepted) <= stored:
        problems.append(f"{len(set(accepted) - stored)} accepted events lost")
    return problems + written_back_once(zammad, store, tickets)
