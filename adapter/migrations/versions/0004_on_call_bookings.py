"""Extended on-call bookings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "on_call_bookings",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("customer_number", sa.String(64), nullable=False),
        sa.Column("days", json, nullable=False),
        sa.Column("window_from", sa.String(5), nullable=False),
        sa.Column("window_to", sa.String(5), nullable=False),
        sa.Column("employees", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("employees >= 1", name=op.f("ck_on_call_bookings_employees")),
        sa.CheckConstraint("minutes > 0", name=op.f("ck_on_call_bookings_minutes")),
        sa.PrimaryKeyConstraint("id", name="pk_on_call_bookings"),
    )
    op.create_index("ix_on_call_bookings_customer_number", "on_call_bookings", ["customer_number"])


def downgrade() -> None:
    op.drop_index("ix_on_call_bookings_customer_number", table_name="on_call_bookings")
    op.drop_table("on_call_bookings")
