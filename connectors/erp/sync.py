"""`sync_erp`: the ERP's pull API into contracts, one transaction per page.

Each page's licences and the checkpoint after that page commit together, so a run that
stops anywhere (killed, an error after the retries) resumes with the page after the last one
stored: no gap, and no page fetched twice (see `connectors.erp.client` for the checkpoint).
Items that fail validation are reported and counted; they do not stop the run, and they are
not retried (the ERP must change them, which gives them a new change time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapter.contracts import Licence
from adapter.licences import store_licences
from adapter.policy import Policy
from adapter.store import UpsertReport
from adapter.store.models import ContractRow, LicenceRow
from connectors.erp.client import ErpClient, ErpPage
from mappings.erp import ErpMapping, map_item
from mappings.licences import LicenceSchema
from mappings.yamlfile import flatten_messages

logger = logging.getLogger(__name__)

CHECKPOINT = "erp_pull"
MAX_PROBLEMS = 1_000  # kept in the report; every one is logged and counted


@dataclass(frozen=True)
class ItemProblem:
    """One field of one ERP item that failed validation (our field names)."""

    page: int
    index: int  # the item's place in its page, from 0
    licence_id: str | None
    field: str
    message: str

    def __str__(self) -> str:
        who = self.licence_id or f"page {self.page} item {self.index}"
        return f"{who}: {self.field or '(item)'}: {self.message}"


@dataclass(frozen=True)
class PageResult:
    """What one stored page did; given to `on_page` after its transaction committed."""

    page: ErpPage
    upsert: UpsertReport
    invalid: int
    problems: list[ItemProblem]
    changed_customers: frozenset[str]


@dataclass
class SyncReport:
    pages: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    invalid: int = 0  # items, however many fields each had wrong
    problems: list[ItemProblem] = field(default_factory=list)  # the first MAX_PROBLEMS
    conflicts: list[str] = field(default_factory=list)  # same revision, other content: kept
    changed_customers: list[str] = field(default_factory=list)  # sorted, each once
    complete: bool = False  # the run reached the end

    @property
    def fetched(self) -> int:
        return self.created + self.updated + self.unchanged + self.stale + self.invalid


def sync_erp(
    store: Any,
    policy: Policy,
    client: ErpClient,
    mapping: ErpMapping,
    now: datetime,
    *,
    on_page: Callable[[PageResult], None] | None = None,
) -> SyncReport:
    """Pull licences changed since the last run into contracts; returns what it did.

    Changed customers are returned, not acted on. A run that stops half-way returns nothing:
    who needs the customers of pages committed before a failure gets them from `on_page`.
    """
    schema = LicenceSchema(policy.plans, mapping.products, strict=False)
    with store.session() as session:
        position = store.checkpoint(session, CHECKPOINT)
    report = SyncReport()
    customers: set[str] = set()
    for page in client.pages(position):
        licences, invalid, problems = validate_items(page, mapping, schema)
        with store.session() as session:
            upsert, changed = store_tracking_customers(
                store, session, policy, licences, "pull", now
            )
            store.set_checkpoint(session, CHECKPOINT, page.position_after, now)
        for problem in problems:
            logger.warning("erp.sync.invalid-item: %s", problem)
        if upsert.conflicts:
            logger.warning("erp.sync.revision-conflict", extra={"licences": upsert.conflicts})
        report.pages += 1
        report.created += upsert.created
        report.updated += upsert.updated
        report.unchanged += upsert.unchanged
        report.stale += upsert.stale
        report.invalid += invalid
        report.conflicts.extend(upsert.conflicts)
        report.problems.extend(problems[: MAX_PROBLEMS - len(report.problems)])
        customers |= changed
        report.complete = page.last
        if on_page is not None:
            on_page(PageResult(page, upsert, invalid, problems, frozenset(changed)))
    report.changed_customers = sorted(customers)
    return report


def validate_items(
    page: ErpPage, mapping: ErpMapping, schema: LicenceSchema
) -> tuple[list[Licence], int, list[ItemProblem]]:
    """The page's items as licences; the rest as problems (the count is of items)."""
    licences: list[Licence] = []
    problems: list[ItemProblem] = []
    invalid = 0
    for index, item in enumerate(page.items):
        if not isinstance(item, dict):
            invalid += 1
            problems.append(ItemProblem(page.number, index, None, "", "not an object"))
            continue
        data = map_item(item, mapping.pull)
        try:
            licences.append(schema.load(data))
        except ValidationError as e:
            invalid += 1
            licence_id = data.get("licence_id")
            known = str(licence_id) if isinstance(licence_id, str | int) and licence_id else None
            problems.extend(
                ItemProblem(page.number, index, known, ".".join(map(str, path)), message)
                for path, message in flatten_messages(e.messages)
            )
    return licences, invalid, problems


# Columns whose change can change a decision; a revision number alone cannot.
_LICENCE_COLUMNS = tuple(
    c.key for c in LicenceRow.__table__.columns if c.key not in ("revision", "source", "updated_at")
)
_CONTRACT_COLUMNS = tuple(
    c.key for c in ContractRow.__table__.columns if c.key not in ("id", "updated_at")
)


def store_tracking_customers(
    store: Any,
    session: Session,
    policy: Policy,
    licences: Sequence[Licence],
    source: str,
    now: datetime,
) -> tuple[UpsertReport, set[str]]:
    """`store_licences`, and the customer numbers whose licences or contracts it changed
    (both the old and the new one when a licence moved to another customer).

    The store's report has counts only, so the rows are compared before and after. Before:
    plain column values (not ORM objects, which would keep the store's locking select from
    seeing the committed state); after: the objects the store loaded or added.
    """
    ids = sorted({licence.licence_id for licence in licences})
    before: dict[str, tuple[Any, ...]] = {}
    if ids:
        columns = [getattr(LicenceRow, name) for name in _LICENCE_COLUMNS]
        columns += [getattr(ContractRow, name) for name in _CONTRACT_COLUMNS]
        query = (
            select(LicenceRow.licence_id, *columns)
            .outerjoin(ContractRow, ContractRow.id == LicenceRow.licence_id)
            .where(LicenceRow.licence_id.in_(ids))
        )
        before = {row[0]: tuple(row[1:]) for row in session.execute(query)}
    upsert = store_licences(store, session, policy, licences, source, now)
    changed: set[str] = set()
    if not upsert.created and not upsert.updated:
        return upsert, changed
    for licence_id in ids:
        row = session.get(LicenceRow, licence_id)  # in the session already: no query
        if row is None:
            continue
        contract = row.contract
        after = tuple(getattr(row, name) for name in _LICENCE_COLUMNS) + tuple(
            getattr(contract, name) if contract is not None else None for name in _CONTRACT_COLUMNS
        )
        old = before.get(licence_id)
        if old != after:
            changed.add(row.customer_number)
            if old is not None:
                changed.add(old[_LICENCE_COLUMNS.index("customer_number")])
    return upsert, changed
