"""Personal data: processed webhook payloads are purged after the retention; pending and dead
rows keep theirs; a purged delivery is still a duplicate; `entitlements purge`; the worker's job."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from adapter.app import create_app
from adapter.cli import main
from adapter.services import build_services
from adapter.settings import Settings
from adapter.store import Store, make_engine, upgrade
from adapter.store.models import DecisionRow, InboxRow, LedgerEntryRow, OutboxRow
from adapter.store.queue import PURGED, Claimed
from adapter.worker import PURGE_INTERVAL, Worker
from connectors.zammad.settings import ZammadSettings
from mappings.settings import parse_settings
from mappings.yamlfile import FileErrors
from tests.zammad_helpers import SECRET, load_fixture, zammad_body, zammad_headers

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BODY = zammad_body(load_fixture("ticket_created__default")).decode()


def add_row(
    store, delivery: str, *, status: str, processed_days_ago: float = 0, now: datetime = NOW
) -> int:
    """An inbox row with the fixture's raw body, received 30 days before `now`, in `status`."""
    received = now - timedelta(days=30)
    with store.session() as session:
        store.accept_inbox(
            session,
            helpdesk="zammad",
            delivery_id=delivery,
            ticket_id="81",
            trigger="ticket_created",
            payload=BODY,
            now=received,
        )
        row_id = session.scalar(select(InboxRow.id).where(InboxRow.delivery_id == delivery))
    if status == "pending":
        return row_id
    with store.session() as session:  # held by this test, as a worker would hold it
        session.get(InboxRow, row_id).claimed_by = "test"
    row = Claimed("inbox", row_id, "zammad", "81", BODY, 0, "test")
    if status == "done":
        with store.session() as session:
            store.finish(session, row, now - timedelta(days=processed_days_ago))
    elif status == "dead":
        store.fail(row, "ValidationError", received, retry_in=None, max_attempts=8)
    return row_id


def payloads(store) -> dict[str, str]:
    with store.session() as session:
        return dict(session.execute(select(InboxRow.delivery_id, InboxRow.payload)).all())


def purge(store, before: datetime) -> int:
    with store.session() as session:
        return store.purge(session, before)


def test_processed_rows_older_than_the_retention_lose_their_payloads_and_keep_their_ids(store):
    add_row(store, "old", status="done", processed_days_ago=8)
    add_row(store, "recent", status="done", processed_days_ago=6)
    assert purge(store, NOW - timedelta(days=7)) == 1
    assert payloads(store) == {"old": PURGED, "recent": BODY}
    with store.session() as session:
        row = session.scalars(select(InboxRow).where(InboxRow.delivery_id == "old")).one()
    assert (row.status, row.ticket_id, row.trigger) == ("done", "81", "ticket_created")
    assert "emily@example.com" in BODY  # what was there: the customer's e-mail, and more


def test_pending_and_dead_rows_keep_their_payloads_however_old(store):
    add_row(store, "pending", status="pending")
    add_row(store, "dead", status="dead")
    assert purge(store, NOW + timedelta(days=365)) == 0
    assert payloads(store) == {"pending": BODY, "dead": BODY}


def test_on_sqlite_a_purged_payload_is_gone_from_the_database_file_and_its_wal(tmp_path):
    # Its own file: what is on disk is the point, and the shared test database holds others'.
    url = f"sqlite:///{tmp_path / 'erase.db'}"
    upgrade(url)
    engine = make_engine(url)
    store = Store(engine)
    personal = "karla.kolumna@private-mail.example"
    body = BODY.replace("emily@example.com", personal)
    assert personal in body
    with store.session() as session:
        store.accept_inbox(
            session,
            helpdesk="zammad",
            delivery_id="d-1",
            ticket_id="81",
            trigger="ticket_created",
            payload=body,
            now=NOW - timedelta(days=30),
        )
        session.execute(
            update(InboxRow).values(status="done", processed_at=NOW - timedelta(days=8))
        )

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.glob("erase.db*"))

    assert personal.encode() in on_disk()
    assert store.purge_payloads(NOW - timedelta(days=7)) == 1
    assert personal.encode() not in on_disk()
    engine.dispose()


def test_a_second_purge_finds_nothing_more(store):
    add_row(store, "old", status="done", processed_days_ago=30)
    assert purge(store, NOW) == 1
    assert purge(store, NOW) == 0


@pytest.fixture
def client(database_url, store):
    services = build_services(
        Settings(
            database_url=database_url,
            provider_settings={"zammad": ZammadSettings(webhook_secret=SECRET)},
        ),
        store=store,
    )
    return create_app(services=services).test_client(), services


def deliver(client, delivery: str):
    body = BODY.encode()
    return client.post(
        "/webhooks/zammad", data=body, headers=zammad_headers(body, delivery=delivery)
    )


def test_a_repeat_after_the_purge_job_within_the_retention_is_still_a_duplicate(client, store):
    web, services = client
    assert deliver(web, "delivery-1").status_code == 202
    Worker(services, periodic_jobs=False).run_once()  # decided: the row is done
    worker = Worker(services)  # its periodic jobs include the purge, on the real clock
    worker.run_once()
    assert payloads(store)["delivery-1"] == BODY  # processed just now: within the retention
    repeat = deliver(web, "delivery-1")
    assert (repeat.status_code, repeat.json) == (200, {"status": "duplicate"})


def test_a_repeat_of_a_delivery_whose_payload_was_purged_is_still_a_duplicate(client, store):
    web, services = client
    assert deliver(web, "delivery-1").status_code == 202
    Worker(services, periodic_jobs=False).run_once()
    assert purge(store, datetime.now(UTC) + timedelta(seconds=1)) == 1
    repeat = deliver(web, "delivery-1")
    assert (repeat.status_code, repeat.json) == (200, {"status": "duplicate"})
    assert payloads(store) == {"delivery-1": PURGED}


PERSONAL = (
    "emily@example.com",
    "Emily",
    "Adams",
    "chris@chrispresso.com",
    "Christopher",
    "0061 2 1234 7777",
    "Bennelong Point",
    "café au lait",
    "simple Webhook Test",
)


def test_decisions_ledger_and_write_backs_keep_nothing_personal_of_the_payload(client, store):
    web, services = client
    assert all(text in BODY for text in PERSONAL)  # the payload has it all
    for name in ("ticket_created__default", "ticket_created__custom_attributes"):
        body = zammad_body(load_fixture(name))
        response = web.post("/webhooks/zammad", data=body, headers=zammad_headers(body))
        assert response.status_code == 202
    Worker(services, periodic_jobs=False).drain()  # both of ticket 81, in order
    with store.session() as session:
        kept = [
            *session.execute(select(DecisionRow.inputs, DecisionRow.decision)).all(),
            *session.scalars(select(OutboxRow.payload)).all(),
            *session.execute(select(LedgerEntryRow.ticket_id, LedgerEntryRow.period)).all(),
        ]
    assert len(kept) >= 3  # two decisions and a write-back at least
    text = json.dumps([row if isinstance(row, dict) else list(row) for row in kept])
    assert "C-100" in text  # the customer number is what decisions key on
    for personal in PERSONAL:
        assert personal not in text


def test_the_worker_purges_hourly_after_retention_days(database_url, store):
    services = build_services(Settings(database_url=database_url, retention_days=3), store=store)
    add_row(store, "four-days", status="done", processed_days_ago=4)
    add_row(store, "two-days", status="done", processed_days_ago=2)
    clock = [NOW]
    worker = Worker(services, clock=lambda: clock[0])
    (job,) = [(name, every) for name, every, _ in worker.jobs if name == "store.purge"]
    assert job == ("store.purge", timedelta(hours=1))

    worker.run_once()
    assert payloads(store) == {"four-days": PURGED, "two-days": BODY}
    clock[0] = NOW + timedelta(days=1, minutes=30)  # "two-days" is now past 3 days
    worker.run_once()
    assert payloads(store)["two-days"] == PURGED


def test_the_purge_job_waits_for_its_interval(database_url, store):
    services = build_services(Settings(database_url=database_url, retention_days=0), store=store)
    clock = [NOW]
    worker = Worker(services, clock=lambda: clock[0])
    worker.run_once()
    add_row(store, "just-done", status="done", processed_days_ago=0.01)
    clock[0] = NOW + PURGE_INTERVAL - timedelta(minutes=1)
    worker.run_once()
    assert payloads(store)["just-done"] == BODY
    clock[0] = NOW + PURGE_INTERVAL
    worker.run_once()
    assert payloads(store)["just-done"] == PURGED


def test_entitlements_purge_prints_how_many_were_purged(database_url, store):
    add_row(store, "old", status="done", processed_days_ago=1)
    add_row(store, "pending", status="pending")
    env = {"ENTITLEMENTS_DATABASE_URL": database_url}
    before = (NOW + timedelta(days=1)).isoformat()
    result = CliRunner().invoke(main, ["purge", "--before", before], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("purged 1 payload(s) processed before 2026-11-21T12:00:00")
    assert payloads(store) == {"old": PURGED, "pending": BODY}


def test_entitlements_purge_keeps_retention_days_by_default(database_url, store):
    today = datetime.now(UTC)
    add_row(store, "eight-days", status="done", processed_days_ago=8, now=today)
    add_row(store, "six-days", status="done", processed_days_ago=6, now=today)
    env = {"ENTITLEMENTS_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, ["purge"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("purged 1 payload(s)")
    assert payloads(store) == {"eight-days": PURGED, "six-days": BODY}
    shorter = CliRunner().invoke(main, ["purge"], env={**env, "ENTITLEMENTS_RETENTION_DAYS": "5"})
    assert shorter.output.startswith("purged 1 payload(s)")
    assert payloads(store) == {"eight-days": PURGED, "six-days": PURGED}


def test_purge_before_needs_an_offset(database_url):
    env = {"ENTITLEMENTS_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, ["purge", "--before", "2026-11-20T12:00:00"], env=env)
    assert result.exit_code == 2 and "UTC offset" in result.output


def test_retention_days_is_a_setting_with_a_default_of_seven():
    assert Settings().retention_days == 7
    assert parse_settings({"RETENTION_DAYS": "30"}, None).retention_days == 30
    assert parse_settings({"RETENTION_DAYS": "0"}, None).retention_days == 0
    with pytest.raises(FileErrors, match="ENTITLEMENTS_RETENTION_DAYS"):
        parse_settings({"RETENTION_DAYS": "-1"}, None)
