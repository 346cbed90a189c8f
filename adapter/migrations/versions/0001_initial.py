"""Licences, contracts, the quota ledger and the decision audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain types on purpose: a migration must not change when the models' types do later.
instant = sa.DateTime(timezone=True)
json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "licences",
        sa.Column("licence_id", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("customer_number", sa.String(64), nullable=False),
        sa.Column("customer_name", sa.String(255), nullable=True),
        sa.Column("plan", sa.String(32), nullable=False),
        sa.Column("product", sa.String(64), nullable=True),
        sa.Column("purchased_on", sa.Date(), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("go_live_on", sa.Date(), nullable=True),
        sa.Column("list_price", sa.Numeric(12, 2), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("options", json, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("updated_at", instant, nullable=False),
        sa.CheckConstraint("source IN ('import', 'push', 'pull')", name=op.f("ck_licences_source")),
        sa.PrimaryKeyConstraint("licence_id", name="pk_licences"),
    )
    op.create_index("ix_licences_customer_number", "licences", ["customer_number"])

    op.create_table(
        "contracts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("customer_number", sa.String(64), nullable=False),
        sa.Column("plan", sa.String(32), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("first_end_on", sa.Date(), nullable=False),
        sa.Column("renewal_months", sa.Integer(), nullable=False),
        sa.Column("notice_months", sa.Integer(), nullable=False),
        sa.Column("final_end_on", sa.Date(), nullable=True),
        sa.Column("terminated", sa.Boolean(), nullable=False),
        sa.Column("options", json, nullable=False),
        sa.Column("updated_at", instant, nullable=False),
        sa.ForeignKeyConstraint(
            ["id"],
            ["licences.licence_id"],
            name="fk_contracts_id_licences",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_contracts"),
    )
    op.create_index("ix_contracts_customer_number", "contracts", ["customer_number"])

    op.create_table(
        "ledger_entries",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("helpdesk", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("ticket_created_at", instant, nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("counted_at", instant, nullable=False),
        sa.Column("released_at", instant, nullable=True),
        sa.Column("release_reason", sa.String(64), nullable=True),
        sa.CheckConstraint(
            "(released_at IS NULL) = (release_reason IS NULL)",
            name=op.f("ck_ledger_entries_release_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name="fk_ledger_entries_contract_id_contracts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entries"),
        sa.UniqueConstraint(
            "contract_id", "helpdesk", "ticket_id", name="uq_ledger_entries_ticket"
        ),
    )
    op.create_index(
        "ix_ledger_entries_contract_period", "ledger_entries", ["contract_id", "period"]
    )
    op.create_index("ix_ledger_entries_ticket", "ledger_entries", ["helpdesk", "ticket_id"])

    op.create_table(
        "decisions",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("helpdesk", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("decided_at", instant, nullable=False),
        sa.Column("inputs", json, nullable=False),
        sa.Column("decision", json, nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_ticket", "decisions", ["helpdesk", "ticket_id", "id"])


def downgrade() -> None:
    op.drop_table("decisions")
    op.drop_table("ledger_entries")
    op.drop_table("contracts")
    op.drop_table("licences")
