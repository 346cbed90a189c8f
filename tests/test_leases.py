"""Leases with an owner (fencing): only the worker holding a row may finish, fail, renew or
fence it; a worker whose lease ran out and whose row another took changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from adapter.store.models import OutboxRow
from adapter.store.queue import LeaseLost

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


@pytest.fixture
def row_taken_over(store):
    """Worker A's claim ran out; worker B claimed the row after it. Returns (A's, B's)."""
    with store.session() as session:
        store.add_outbox(session, "zammad", "81", {"ticket_id": 81}, NOW)
    [a] = store.claim("outbox", NOW, limit=1, lease=LEASE, owner="worker-a")
    assert store.claim("outbox", NOW + LEASE / 2, limit=1, lease=LEASE, owner="worker-b") == []
    [b] = store.claim("outbox", NOW + LEASE, limit=1, lease=LEASE, owner="worker-b")
    return a, b


def status(store) -> tuple[str, int, str | None]:
    with store.session() as session:
        row = session.scalars(select(OutboxRow)).one()
        return row.status, row.attempts, row.claimed_by


def test_a_worker_whose_row_was_taken_over_cannot_finish_it(store, row_taken_over):
    a, _ = row_taken_over
    with pytest.raises(LeaseLost), store.session() as session:
        store.finish(session, a, NOW + LEASE)
    assert status(store) == ("pending", 0, "worker-b")


def test_a_late_failure_cannot_turn_a_row_another_worker_finished_into_a_dead_letter(
    store, row_taken_over
):
    a, b = row_taken_over
    with store.session() as session:
        store.finish(session, b, NOW + LEASE)
    with pytest.raises(LeaseLost):
        store.fail(a, "timed out", NOW + 2 * LEASE, retry_in=None, max_attempts=8)
    assert status(store) == ("done", 0, None)


def test_a_fence_refuses_a_worker_that_lost_its_row_and_keeps_it_for_the_holder(
    store, row_taken_over
):
    a, b = row_taken_over
    with pytest.raises(LeaseLost):
        store.fence(a, NOW + 2 * LEASE)
    store.fence(b, NOW + 10 * LEASE)  # B is about to post: no one may take the row meanwhile
    assert store.claim("outbox", NOW + 9 * LEASE, limit=1, lease=LEASE, owner="worker-c") == []


def test_a_lease_that_ran_out_unclaimed_is_still_its_holders(store):
    with store.session() as session:
        store.add_outbox(session, "zammad", "81", {"ticket_id": 81}, NOW)
    [a] = store.claim("outbox", NOW, limit=1, lease=LEASE, owner="worker-a")
    store.fence(a, NOW + 3 * LEASE)
    with store.session() as session:
        store.finish(session, a, NOW + 2 * LEASE)
    assert status(store) == ("done", 0, None)


def test_renewal_extends_only_the_owners_pending_rows(store):
    with store.session() as session:
        for ticket in ("81", "82"):
            store.add_outbox(session, "zammad", ticket, {"ticket_id": int(ticket)}, NOW)
    assert len(store.claim("outbox", NOW, limit=1, lease=LEASE, owner="worker-a")) == 1
    [b] = store.claim("outbox", NOW, limit=1, lease=LEASE, owner="worker-b")
    assert store.extend("worker-a", NOW + 3 * LEASE) == 1
    later = NOW + 2 * LEASE
    [taken] = store.claim("outbox", later, limit=2, lease=LEASE, owner="worker-c")
    assert taken.id == b.id  # A's row is still A's; B's ran out


def test_a_row_taken_after_its_holder_died_is_not_its_first_attempt(store, row_taken_over):
    # A write-back may spare its read only on a row's first attempt: the holder that died may
    # have written to the helpdesk before it could record anything.
    a, b = row_taken_over
    assert a.first and not b.first


def test_a_row_retried_after_a_failure_is_not_its_first_attempt(store):
    with store.session() as session:
        store.add_outbox(session, "zammad", "81", {"ticket_id": 81}, NOW)
    [a] = store.claim("outbox", NOW, limit=1, lease=LEASE, owner="worker-a")
    store.fail(a, "HTTP 503", NOW, retry_in=1, max_attempts=8)
    [again] = store.claim("outbox", NOW + LEASE, limit=1, lease=LEASE, owner="worker-a")
    assert a.first and not again.first and again.attempts == 1


def test_a_write_back_held_by_the_worker_that_decided_it_waits_out_its_lease(store):
    with store.session() as session:
        held = store.add_outbox(
            session, "zammad", "81", {"ticket_id": 81}, NOW, hold=("worker-a", NOW + LEASE)
        )
    assert held is not None and held.owner == "worker-a" and held.first
    assert store.claim("outbox", NOW + LEASE / 2, limit=1, lease=LEASE, owner="worker-b") == []
    [taken] = store.claim("outbox", NOW + LEASE, limit=1, lease=LEASE, owner="worker-b")
    assert taken.id == held.id and not taken.first  # worker-a may have written before it died


def test_a_write_back_queues_behind_a_pending_one_of_its_record_instead_of_being_held(store):
    hold = ("worker-a", NOW + LEASE)
    with store.session() as session:
        store.add_outbox(session, "zammad", "81", {"n": 1}, NOW)
        assert store.add_outbox(session, "zammad", "81", {"n": 2}, NOW, hold=hold) is None
        assert store.add_outbox(session, "zammad", "82", {"n": 3}, NOW, hold=hold) is not None
    [first] = store.claim("outbox", NOW, limit=10, lease=LEASE, owner="worker-b")
    assert first.payload == {"n": 1}  # 82's is held; 81's second waits for its first
