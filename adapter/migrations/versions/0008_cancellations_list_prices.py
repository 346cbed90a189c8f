"""On-call cancellations (a booked day, cancelled) and the history of licences' list prices
(support fees take the price held before their day). Existing licences get their current
price as their first.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "on_call_cancellations",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("booking_id", big_id, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["on_call_bookings.id"],
            name="fk_on_call_cancellations_booking_id_on_call_bookings",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_on_call_cancellations"),
        sa.UniqueConstraint("booking_id", "day", name="uq_on_call_cancellations_day"),
    )
    op.create_table(
        "licence_prices",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("licence_id", sa.String(64), nullable=False),
        sa.Column("list_price", sa.Numeric(12, 2), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["licence_id"],
            ["licences.licence_id"],
            name="fk_licence_prices_licence_id_licences",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_licence_prices"),
    )
    op.create_index("ix_licence_prices_licence", "licence_prices", ["licence_id", "recorded_at"])
    op.execute(
        "INSERT INTO licence_prices (licence_id, list_price, currency, recorded_at) "
        "SELECT licence_id, list_price, currency, updated_at FROM licences"
    )


def downgrade() -> None:
    op.drop_index("ix_licence_prices_licence", table_name="licence_prices")
    op.drop_table("licence_prices")
    op.drop_table("on_call_cancellations")
