"""The inbox of accepted webhook deliveries and the outbox of write-backs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

instant = sa.DateTime(timezone=True)
json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATUS = "status IN ('pending', 'done', 'dead')"


def queue_columns() -> list[sa.Column]:
    return [
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", instant, nullable=False),
        sa.Column("claimed_until", instant, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("history", json, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("helpdesk", sa.String(32), nullable=False),
        sa.Column("delivery_id", sa.String(128), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(255), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", instant, nullable=False),
        sa.Column("processed_at", instant, nullable=True),
        *queue_columns(),
        sa.CheckConstraint(STATUS, name=op.f("ck_inbox_status")),
        sa.PrimaryKeyConstraint("id", name="pk_inbox"),
        sa.UniqueConstraint("helpdesk", "delivery_id", name="uq_inbox_delivery"),
    )
    op.create_index("ix_inbox_due", "inbox", ["status", "next_attempt_at"])
    op.create_index("ix_inbox_ticket", "inbox", ["helpdesk", "ticket_id", "id"])

    op.create_table(
        "outbox",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("helpdesk", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("payload", json, nullable=False),
        sa.Column("created_at", instant, nullable=False),
        sa.Column("done_at", instant, nullable=True),
        *queue_columns(),
        sa.CheckConstraint(STATUS, name=op.f("ck_outbox_status")),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_ticket", "outbox", ["helpdesk", "ticket_id", "id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("inbox")
