"""Mixed into `Store`: work items (accounted time on billable tickets), as domain `Work`, and
the ids of billing lines already pushed to the ERP."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from adapter.billing import Work
from adapter.store.models import DecisionRow, PushedLineRow, WorkItemRow


class WorkStore:
    def add_work(
        self, session: Session, helpdesk: str, items: Iterable[Work], now: datetime
    ) -> int:
        """Store work items not stored yet (by id: a repeat adds nothing); how many were new."""
        by_id = {w.work_id: w for w in items}
        if not by_id:
            return 0
        have = set(session.scalars(select(WorkItemRow.id).where(WorkItemRow.id.in_(by_id))))
        new = [w for i, w in by_id.items() if i not in have]
        session.add_all(
            WorkItemRow(
                id=w.work_id,
                helpdesk=helpdesk,
                ticket_id=w.ticket,
                contract_id=w.contract,
                code=w.code,
                started_at=w.start,
                minutes=w.minutes,
                activity=w.activity,
                recorded_at=now,
            )
            for w in new
        )
        session.flush()
        return len(new)

    def work(
        self, session: Session, start: datetime | None = None, end: datetime | None = None
    ) -> list[Work]:
        """Work items starting in [start, end), oldest first."""
        query = select(WorkItemRow).order_by(WorkItemRow.started_at, WorkItemRow.id)
        if start is not None:
            query = query.where(WorkItemRow.started_at >= start)
        if end is not None:
            query = query.where(WorkItemRow.started_at < end)
        return [
            Work(
                work_id=r.id,
                ticket=r.ticket_id,
                contract=r.contract_id,
                code=r.code,
                start=r.started_at,
                minutes=r.minutes,
                activity=r.activity,
            )
            for r in session.scalars(query)
        ]

    def work_customers(self, session: Session, work_ids: Collection[str]) -> dict[str, str]:
        """The customer number of each work item's ticket, as its latest decision took it
        from the helpdesk; work on a ticket that named no customer is left out."""
        same_ticket = and_(
            WorkItemRow.helpdesk == DecisionRow.helpdesk,
            WorkItemRow.ticket_id == DecisionRow.ticket_id,
        )
        number = DecisionRow.inputs["facts"]["customer_number"].as_string()
        ids, found = sorted(work_ids), {}
        for i in range(0, len(ids), 500):  # bounded: SQLite limits bound parameters
            chunk = ids[i : i + 500]
            latest = (
                select(func.max(DecisionRow.id))
                .join(WorkItemRow, same_ticket)
                .where(WorkItemRow.id.in_(chunk))
                .group_by(DecisionRow.helpdesk, DecisionRow.ticket_id)
            )
            query = (
                select(WorkItemRow.id, number)
                .join(DecisionRow, same_ticket)
                .where(WorkItemRow.id.in_(chunk), DecisionRow.id.in_(latest))
            )
            found.update({work_id: n for work_id, n in session.execute(query) if n})
        return found

    def pushed_lines(self, session: Session, line_ids: Collection[str]) -> set[str]:
        """Those of `line_ids` already pushed to the ERP."""
        ids, found = sorted(line_ids), set()
        for i in range(0, len(ids), 500):  # bounded: SQLite limits bound parameters
            chunk = ids[i : i + 500]
            query = select(PushedLineRow.line_id).where(PushedLineRow.line_id.in_(chunk))
            found.update(session.scalars(query))
        return found

    def mark_pushed(self, session: Session, line_ids: Iterable[str], now: datetime) -> int:
        """Record lines as pushed (a repeat adds nothing); how many were new."""
        ids = set(line_ids)
        new = ids - self.pushed_lines(session, ids)
        session.add_all(PushedLineRow(line_id=i, pushed_at=now) for i in sorted(new))
        session.flush()
        return len(new)
