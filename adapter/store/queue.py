"""The inbox and the outbox: rows claimed under a lease, retried with their state in the row.

Rows of one ticket are taken in order: a row waits while an earlier one of the same ticket is
still pending. On PostgreSQL several workers claim with `FOR UPDATE SKIP LOCKED`; on SQLite
`BEGIN IMMEDIATE` serialises the claims.

A claim is a lease with an owner (fencing): only the worker named in `claimed_by` may extend,
finish or fail the row. A worker whose lease ended and whose row another worker took gets
`LeaseLost` instead, and its transaction (the decision, the outbox rows) is rolled back.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    Select,
    Update,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from adapter.store.database import erase_wal
from adapter.store.models import CheckpointRow, InboxRow, OutboxRow

QUEUES: dict[str, type[InboxRow] | type[OutboxRow]] = {"inbox": InboxRow, "outbox": OutboxRow}
PURGED = ""  # the payload of a processed inbox row once its retention has passed

# The statements every event runs are built once, against the tables, and executed with their
# parameters only: SQLAlchemy then neither builds them nor computes their cache key again, and
# no ORM objects are made (about 80 µs a statement instead of 300 µs; docs/benchmarks.md).
_OUTBOX = OutboxRow.__table__
_RECORD_PENDING = select(
    exists().where(
        _OUTBOX.c.helpdesk == bindparam("helpdesk"),
        _OUTBOX.c.ticket_id == bindparam("ticket_id"),
        _OUTBOX.c.status == "pending",
    )
)
_NEW_OUTBOX = insert(_OUTBOX)
_LATEST_OUTBOX = (
    select(_OUTBOX.c.id, _OUTBOX.c.payload)
    .where(_OUTBOX.c.helpdesk == bindparam("helpdesk"), _OUTBOX.c.ticket_id == bindparam("ticket"))
    .order_by(_OUTBOX.c.id.desc())
    .limit(1)
)
_WRITTEN_SINCE = select(
    exists().where(
        _OUTBOX.c.helpdesk == bindparam("helpdesk"),
        _OUTBOX.c.ticket_id == bindparam("ticket"),
        _OUTBOX.c.done_at >= bindparam("since"),
    )
)


@cache
def _claimable(queue: str, postgres: bool, filtered: bool) -> Select[Any]:
    """Due rows, each the oldest pending one of its ticket (parameters: now, limit, and
    helpdesks when `filtered`)."""
    table = QUEUES[queue].__table__
    due, earlier = table.alias("due"), table.alias("earlier")
    waiting = (
        select(literal_column("1"))
        .where(earlier.c.helpdesk == due.c.helpdesk, earlier.c.ticket_id == due.c.ticket_id)
        .where(earlier.c.id < due.c.id, earlier.c.status == "pending")
        .exists()
    )
    now = bindparam("now", type_=table.c.next_attempt_at.type)
    chosen = (
        select(due.c.id)
        .where(due.c.status == "pending", due.c.next_attempt_at <= now)
        .where(or_(due.c.claimed_until.is_(None), due.c.claimed_until <= now))
        .where(~waiting)
        .order_by(due.c.id)
        .limit(bindparam("limit"))
    )
    if filtered:
        chosen = chosen.where(due.c.helpdesk.in_(bindparam("helpdesks", expanding=True)))
    columns = ("id", "helpdesk", "ticket_id", "payload", "attempts", "claimed_until")
    if postgres:
        # One statement that locks what it returns: a row changed since the statement began
        # is tested again and returned as it is now. Large payloads are stored out of line
        # (TOAST), so choosing among the due rows does not read them.
        return chosen.with_only_columns(*(due.c[c] for c in columns)).with_for_update(
            skip_locked=True, of=due
        )
    # SQLite (claims are serialised by BEGIN IMMEDIATE): the ids are chosen from the indexes
    # alone (`ix_<queue>_due` in id order, `ix_<queue>_ticket` for earlier rows of the ticket)
    # and only the chosen rows are read. Choosing among whole rows read every due payload,
    # each up to megabytes, and sorted them: a claim cost the whole backlog
    # (docs/benchmarks.md, "Claiming from a backlog").
    return (
        select(*(table.c[c] for c in columns))
        .where(table.c.id.in_(chosen.scalar_subquery()))
        .order_by(table.c.id)
    )


@cache
def _lease(queue: str) -> Update:
    table = QUEUES[queue].__table__
    return (
        update(table)
        .where(table.c.id.in_(bindparam("ids", expanding=True)))
        .values(claimed_until=bindparam("until"), claimed_by=bindparam("owner"))
    )


@cache
def _finish(queue: str) -> Update:
    """The row done, if `owner` still holds it (parameters: row, owner, at)."""
    table = QUEUES[queue].__table__
    done = "processed_at" if queue == "inbox" else "done_at"
    return (
        update(table)
        .where(table.c.id == bindparam("row"), table.c.claimed_by == bindparam("owner"))
        .where(table.c.status == "pending")
        .values(
            {done: bindparam("at"), "status": "done", "claimed_until": None, "claimed_by": None}
        )
    )


class LeaseLost(Exception):
    """The row is no longer held by this worker: its lease ended and another took it, or it
    was finished, failed or put back meanwhile."""


@dataclass(frozen=True)
class Claimed:
    queue: str
    id: int
    helpdesk: str
    ticket_id: str
    payload: Any
    attempts: int
    owner: str
    # No attempt before this one, not even one that died unrecorded (a worker killed while
    # it held the row leaves its lease behind): nothing of it can have reached the helpdesk.
    first: bool = False
    # The lease's end as this worker set it when it took the row; renewals only extend it.
    until: datetime | None = None


@dataclass(frozen=True)
class QueueStats:
    pending: int
    oldest_pending_at: datetime | None  # when the oldest pending row was received or created
    dead: int


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    id: int
    helpdesk: str
    ticket_id: str
    attempts: int
    last_error: str | None
    since: datetime
    history: list[Any]

    @property
    def key(self) -> str:
        return f"{self.queue}-{self.id}"


class QueueStore:
    """Mixed into `Store`; needs its `session()`."""

    engine: Any  # provided by Store

    def session(self) -> Any:  # provided by Store
        raise NotImplementedError

    def accept_inbox(
        self,
        session: Session,
        *,
        helpdesk: str,
        delivery_id: str,
        ticket_id: str,
        trigger: str | None,
        payload: str,
        now: datetime,
        body_digest: str | None = None,
    ) -> bool:
        """Store a delivery once: False if its id, or the digest of its body, is already stored
        (a repeat, or a captured delivery replayed under a new id). One statement, so two
        concurrent twins cannot both get in and neither waits for a savepoint."""
        row = {
            "helpdesk": helpdesk,
            "delivery_id": delivery_id,
            "ticket_id": ticket_id,
            "trigger": trigger,
            "payload": payload,
            "body_digest": body_digest,
        }
        statement = self._new_inbox_rows(session, now).values(row).returning(InboxRow.id)
        return session.execute(statement).scalar() is not None

    def accept_inbox_many(
        self, session: Session, rows: list[dict[str, Any]], now: datetime
    ) -> None:
        """Several at once (helpdesk, delivery_id, ticket_id, trigger, payload each); repeats
        are skipped."""
        if rows:
            session.execute(self._new_inbox_rows(session, now), rows)

    def _new_inbox_rows(self, session: Session, now: datetime) -> Any:
        insert = sqlite_insert if session.bind.dialect.name == "sqlite" else postgresql_insert
        return (
            insert(InboxRow)
            .values(received_at=now, next_attempt_at=now, status="pending", attempts=0, history=[])
            .on_conflict_do_nothing()  # on either key: the delivery id or the body's digest
        )

    def add_outbox(
        self,
        session: Session,
        helpdesk: str,
        ticket_id: str,
        payload: dict[str, Any],
        now: datetime,
        *,
        hold: tuple[str, datetime] | None = None,
    ) -> Claimed | None:
        """Queue a write-back. With `hold` (owner, lease end) the row is inserted already
        leased to that worker, which writes it right after its transaction commits, and
        returned; unless a write-back of the same record is still pending: then it queues
        behind that one like any other row (None)."""
        values = {
            "helpdesk": helpdesk,
            "ticket_id": ticket_id,
            "payload": payload,
            "created_at": now,
            "next_attempt_at": now,
            "status": "pending",
            "attempts": 0,
            "history": [],
        }
        if hold is None or session.scalar(
            _RECORD_PENDING, {"helpdesk": helpdesk, "ticket_id": ticket_id}
        ):
            session.execute(_NEW_OUTBOX, values)
            return None
        owner, until = hold
        result = session.execute(
            _NEW_OUTBOX, {**values, "claimed_by": owner, "claimed_until": until}
        )
        row_id = result.inserted_primary_key[0]
        return Claimed("outbox", row_id, helpdesk, ticket_id, payload, 0, owner, True, until)

    def latest_outbox(self, session: Session, helpdesk: str, ticket_id: str) -> tuple[int, Any]:
        """The newest write-back of a ticket, id and payload: the state it must converge to."""
        return session.execute(_LATEST_OUTBOX, {"helpdesk": helpdesk, "ticket": ticket_id}).one()

    def written_since(
        self, session: Session, helpdesk: str, ticket_id: str, since: datetime
    ) -> bool:
        """Whether a write-back of the ticket was delivered at or after `since`."""
        params = {"helpdesk": helpdesk, "ticket": ticket_id, "since": since}
        return bool(session.scalar(_WRITTEN_SINCE, params))

    def claim(
        self,
        queue: str,
        now: datetime,
        *,
        limit: int,
        lease: timedelta,
        owner: str,
        helpdesks: Collection[str] | None = None,
    ) -> list[Claimed]:
        """Due rows, each the oldest pending one of its ticket, leased to `owner`; only those of
        `helpdesks` if given (the rows of a helpdesk that is not enabled wait)."""
        with self.session() as session:
            postgres = session.bind.dialect.name == "postgresql"
            query = _claimable(queue, postgres, helpdesks is not None)
            params: dict[str, Any] = {"now": now, "limit": limit}
            if helpdesks is not None:
                params["helpdesks"] = list(helpdesks)
            rows = session.execute(query, params).all()
            if rows:
                session.execute(
                    _lease(queue),
                    {"ids": [row.id for row in rows], "until": now + lease, "owner": owner},
                )
            return [
                Claimed(
                    queue, row.id, row.helpdesk, row.ticket_id, row.payload, row.attempts, owner,
                    row.attempts == 0 and row.claimed_until is None, now + lease,
                )
                for row in rows
            ]  # fmt: skip

    def extend(self, owner: str, until: datetime) -> int:
        """Renew every lease `owner` still holds, in both queues; returns how many."""
        with self.session() as session:
            return sum(
                session.execute(
                    update(model)
                    .where(model.claimed_by == owner, model.status == "pending")
                    .values(claimed_until=until)
                ).rowcount
                for model in QUEUES.values()
            )

    def fence(self, row: Claimed, until: datetime) -> None:
        """Before a write that must not happen twice: `LeaseLost` unless this worker still
        holds the row, else its lease runs at least to `until` (no one else can take it)."""
        model = QUEUES[row.queue]
        with self.session() as session:
            self._update_held(
                session,
                row,
                claimed_until=case((model.claimed_until > until, model.claimed_until), else_=until),
            )

    def finish(self, session: Session, row: Claimed, now: datetime) -> None:
        """Mark the row done in the caller's transaction; `LeaseLost` rolls that back."""
        result = session.execute(_finish(row.queue), {"row": row.id, "owner": row.owner, "at": now})
        _require_held(result.rowcount, row)

    def _update_held(self, session: Session, row: Claimed, **values: Any) -> None:
        """Set `values` on the row if `row.owner` still holds it, else `LeaseLost`. One
        conditional UPDATE: on PostgreSQL it waits for a concurrent writer of the row and then
        tests the condition again, so no other holder can slip in between test and write."""
        model = QUEUES[row.queue]
        result = session.execute(
            update(model)
            .where(model.id == row.id, model.claimed_by == row.owner, model.status == "pending")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        _require_held(result.rowcount, row)

    def _held(self, session: Session, row: Claimed) -> InboxRow | OutboxRow:
        """The row, locked, if `row.owner` still holds it; else `LeaseLost`."""
        model = QUEUES[row.queue]
        held = session.scalars(
            select(model)
            .where(model.id == row.id, model.claimed_by == row.owner, model.status == "pending")
            .with_for_update()
        ).first()
        if held is None:
            raise LeaseLost(f"{row.queue}-{row.id} is no longer held by this worker")
        return held

    def fail(
        self,
        claimed: Claimed,
        error: str,
        now: datetime,
        *,
        retry_in: float | None,
        max_attempts: int,
        max_age: timedelta | None = None,
    ) -> bool:
        """Record a failed attempt; returns True when the row became a dead letter: no retry
        wanted, the attempts used up, or failing for longer than `max_age` (counted from the
        first failure since it was last put back). `LeaseLost` if the row is no longer held."""
        with self.session() as session:
            row = self._held(session, claimed)
            row.attempts += 1
            row.last_error = error[:2000]
            row.history = [*row.history, {"at": now.isoformat(), "error": row.last_error}]
            row.claimed_until = None
            row.claimed_by = None
            retried = [i for i, h in enumerate(row.history) if h.get("retried")]
            failing_since = datetime.fromisoformat(
                row.history[retried[-1] + 1 if retried else 0]["at"]
            )
            dead = (
                retry_in is None
                or row.attempts >= max_attempts
                or (max_age is not None and now - failing_since >= max_age)
            )
            if dead:
                row.status = "dead"
            else:
                row.next_attempt_at = now + timedelta(seconds=retry_in)
            return dead

    def dead_letter_summary(self, session: Session) -> tuple[int, str | None]:
        """How many dead letters there are, and the newest one's key and last error."""
        total, newest = 0, None
        for queue, model in QUEUES.items():
            total += session.scalar(select(func.count()).where(model.status == "dead")) or 0
            row = session.execute(
                select(model.id, model.last_error, model.next_attempt_at)
                .where(model.status == "dead")
                .order_by(model.next_attempt_at.desc())
                .limit(1)
            ).first()
            if row and (newest is None or row.next_attempt_at > newest[2]):
                newest = (f"{queue}-{row.id}", row.last_error, row.next_attempt_at)
        return total, f"{newest[0]}: {newest[1]}" if newest else None

    def dead_letters(self, session: Session) -> list[DeadLetter]:
        letters = []
        for queue, model in QUEUES.items():
            for row in session.scalars(
                select(model).where(model.status == "dead").order_by(model.id)
            ):
                since = row.history[-1]["at"] if row.history else None
                letters.append(
                    DeadLetter(
                        queue,
                        row.id,
                        row.helpdesk,
                        row.ticket_id,
                        row.attempts,
                        row.last_error,
                        datetime.fromisoformat(since) if since else row.next_attempt_at,
                        list(row.history),
                    )
                )
        return letters

    def purge_payloads(self, before: datetime) -> int:
        """`purge` in its own transaction, then the old page versions erased from disk."""
        with self.session() as session:
            count = self.purge(session, before)
        if count:
            erase_wal(self.engine)
        return count

    def purge(self, session: Session, before: datetime) -> int:
        """Blank the payloads of inbox rows processed before `before`; returns how many.

        The payload is the webhook body as Zammad signed it, with names, e-mail addresses and
        message text; once decided on it has no use. The row stays, without personal data: its
        delivery id keeps answering repeats as duplicates, and decisions name it as their
        source. The body's digest goes too: a replayed body is a duplicate within the retention.
        Pending and dead rows keep their payloads: they are still to be processed.
        """
        result = session.execute(
            update(InboxRow)
            .where(InboxRow.status == "done", InboxRow.processed_at < before)
            .where(InboxRow.payload != PURGED)
            .values(payload=PURGED, body_digest=None)
        )
        return result.rowcount

    def queue_stats(self, session: Session) -> dict[str, QueueStats]:
        """Per queue: pending rows, when the oldest of them arrived, dead letters."""
        stats = {}
        for queue, model in QUEUES.items():
            arrived = model.received_at if model is InboxRow else model.created_at
            rows = session.execute(
                select(model.status, func.count(), func.min(arrived))
                .where(model.status.in_(("pending", "dead")))
                .group_by(model.status)
            ).all()
            by_status = {status: (count, oldest) for status, count, oldest in rows}
            pending, oldest = by_status.get("pending", (0, None))
            stats[queue] = QueueStats(pending, oldest, by_status.get("dead", (0, None))[0])
        return stats

    def retry_dead(self, session: Session, queue: str, row_id: int, now: datetime) -> bool:
        """Put a dead letter back: a fresh budget of attempts, its history kept."""
        row = session.get(QUEUES[queue], row_id)
        if row is None or row.status != "dead":
            return False
        row.status = "pending"
        row.attempts = 0
        row.next_attempt_at = now
        row.claimed_until = None
        row.claimed_by = None
        row.history = [*row.history, {"at": now.isoformat(), "error": None, "retried": True}]
        return True


def _require_held(rowcount: int, row: Claimed) -> None:
    if rowcount != 1:
        raise LeaseLost(f"{row.queue}-{row.id} is no longer held by this worker")


class CheckpointStore:
    """Mixed into `Store`: named sync positions, read and written in the caller's transaction."""

    def checkpoint(self, session: Session, name: str) -> dict[str, Any] | None:
        row = session.get(CheckpointRow, name)
        return dict(row.value) if row else None

    def checkpoint_times(self, session: Session) -> dict[str, datetime]:
        """When each checkpoint was last written: how far behind its sync is."""
        return dict(session.execute(select(CheckpointRow.name, CheckpointRow.updated_at)).all())

    def set_checkpoint(
        self, session: Session, name: str, value: dict[str, Any], now: datetime
    ) -> None:
        row = session.get(CheckpointRow, name)
        if row is None:
            session.add(CheckpointRow(name=name, value=value, updated_at=now))
        else:
            row.value = value
            row.updated_at = now
