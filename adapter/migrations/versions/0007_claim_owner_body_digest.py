"""Queue rows name who holds their lease; inbox rows keep the digest of their signed body.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("inbox", "outbox"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("claimed_by", sa.String(36), nullable=True))
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("body_digest", sa.String(64), nullable=True))
        # NULLs are distinct: rows the adapter queues itself (re-checks, reconcile) carry none.
        batch.create_unique_constraint("uq_inbox_body", ["helpdesk", "body_digest"])


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_constraint("uq_inbox_body", type_="unique")
        batch.drop_column("body_digest")
    for table in ("inbox", "outbox"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("claimed_by")
