"""`pull_erp`: the ERP's pull API into contracts, one transaction per page.

Each page's licences and the checkpoint after that page commit together, so a run that
stops anywhere (killed, an error after the retries) resumes with the page after the last one
stored: no gap, and no page fetched twice (see `connectors.erp.client` for the checkpoint).
Items that fail validation are reported and counted; they do not stop the run, and they are
not retried (the ERP must change them, which gives them a new change time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import ValidationError

from adapter import metrics
from adapter.contracts import Licence
from adapter.licences import store_licences
from adapter.policy import Policy
from adapter.store import UpsertReport
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
class PullReport:
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


def pull_erp(
    store: Any,
    policy: Policy,
    client: ErpClient,
    mapping: ErpMapping,
    now: datetime,
    *,
    helpdesks: Iterable[str],
    on_page: Callable[[PageResult], None] | None = None,
) -> PullReport:
    """Pull licences changed since the last run into contracts; returns what it did.

    The customers whose contracts changed are returned for the record: `store_licences`
    queues their re-decisions in `helpdesks` in each page's own transaction, so a crash loses
    none. A run
    that stops half-way returns no report; `on_page` sees each page once it is committed.
    """
    schema = LicenceSchema(policy.plans, mapping.products, strict=False)
    with store.session() as session:
        position = store.checkpoint(session, CHECKPOINT)
    report = PullReport()
    customers: set[str] = set()
    for page in client.pages(position):
        licences, invalid, problems = validate_items(page, mapping, schema)
        with store.session() as session:
            # The store also queues the re-decisions of changed customers in this transaction.
            upsert = store_licences(
                store, session, policy, licences, "pull", now, helpdesks=helpdesks
            )
            store.set_checkpoint(session, CHECKPOINT, page.position_after, now)
        changed = set(upsert.customers)
        metrics.count_licences(
            "pull",
            created=upsert.created,
            updated=upsert.updated,
            unchanged=upsert.unchanged,
            stale=upsert.stale,
            invalid=invalid,
        )
        for problem in problems:
            # A fixed event name; the problem (licence id, field, message) as a field.
            logger.warning("erp.pull.invalid-item", extra={"problem": str(problem)})
        if upsert.conflicts:
            logger.warning("erp.pull.revision-conflict", extra={"licences": upsert.conflicts})
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
