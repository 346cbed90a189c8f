"""The queues' indexes cover the claim: the due rows in id order, and a ticket's earlier rows
with their status, so that choosing rows reads no payload (docs/benchmarks.md, "Claiming from
a backlog").

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE = ["status", "id", "next_attempt_at", "claimed_until", "helpdesk", "ticket_id"]
TICKET = ["helpdesk", "ticket_id", "id", "status"]


def upgrade() -> None:
    _indexes(DUE, TICKET)


def downgrade() -> None:
    _indexes(["status", "next_attempt_at"], ["helpdesk", "ticket_id", "id"])


def _indexes(due: list[str], ticket: list[str]) -> None:
    for table in ("inbox", "outbox"):
        for name, columns in ((f"ix_{table}_due", due), (f"ix_{table}_ticket", ticket)):
            op.drop_index(name, table_name=table)
            op.create_index(name, table, columns)
