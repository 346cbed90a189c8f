"""Claiming queue rows: due rows in id order, one per ticket, and at a cost that does not
grow with the payloads waiting behind them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapter.store.queue import _claimable

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def accept(store, *tickets: str, payload: str = "{}") -> None:
    with store.session() as session:
        store.accept_inbox_many(
            session,
            [
                {
                    "helpdesk": "zammad",
                    "delivery_id": f"d-{n}",
                    "ticket_id": ticket,
                    "trigger": None,
                    "payload": payload,
                }
                for n, ticket in enumerate(tickets)
            ],
            NOW,
        )


def claim(store, limit: int = 10, at: datetime = NOW) -> list[tuple[int, str]]:
    return [
        (row.id, row.ticket_id)
        for row in store.claim("inbox", at, limit=limit, lease=LEASE, owner="worker-a")
    ]


def test_a_claim_takes_the_oldest_pending_row_of_each_ticket_in_id_order(store):
    accept(store, "1", "1", "2", "3", "2")
    first = claim(store)
    assert [ticket for _, ticket in first] == ["1", "2", "3"]
    assert [row for row, _ in first] == sorted(row for row, _ in first)
    # The later rows of tickets 1 and 2 wait while the earlier ones are pending, even once
    # the leases on the earlier ones have run out and those are claimable again.
    assert claim(store) == []
    assert claim(store, at=NOW + LEASE) == first


def test_a_claim_from_a_backlog_takes_at_most_its_limit_oldest_first(store):
    accept(store, *(str(n) for n in range(40)), payload="x" * 20_000)
    assert [ticket for _, ticket in claim(store, limit=7)] == [str(n) for n in range(7)]
    assert [ticket for _, ticket in claim(store, limit=7)] == [str(n) for n in range(7, 14)]


def test_a_later_row_of_a_ticket_is_claimed_once_the_earlier_one_is_done(store):
    accept(store, "1", "1")
    [first] = store.claim("inbox", NOW, limit=10, lease=LEASE, owner="worker-a")
    with store.session() as session:
        store.finish(session, first, NOW)
    [(second, ticket)] = claim(store)
    assert (second, ticket) == (first.id + 1, "1")


@pytest.mark.parametrize("queue", ["inbox", "outbox"])
def test_sqlite_chooses_the_rows_to_claim_from_its_indexes_and_reads_only_those(store, queue):
    """Choosing among whole rows read every due payload (up to megabytes each) and sorted
    them, so that each claim cost the whole backlog. SQLite's plan for the claim must read
    the table only by primary key, for the rows it takes."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL claims in one locking statement")
    compiled = _claimable(queue, False, False).compile(store.engine)
    values = {"now": NOW.isoformat(), "limit": 10}
    params = tuple(values.get(name, compiled.params[name]) for name in compiled.positiontup)
    with store.engine.connect() as connection:
        plan = [
            row[3]
            for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled.string}", params)
        ]
    reads = [step for step in plan if step.startswith(("SCAN", "SEARCH"))]
    assert reads, plan
    assert all(
        "USING INTEGER PRIMARY KEY" in step or "USING COVERING INDEX" in step for step in reads
    ), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan
