"""Prometheus metrics: counters where things happen, gauges read from the database.

Counters live in the process that counts: the web tier counts webhook answers and ERP
pushes, workers count decisions, retries, dead letters and ERP pulls. Under gunicorn with
several processes, `PROMETHEUS_MULTIPROC_DIR` (prometheus-client's own variable, read when
it is imported) makes them write to files there, which `GET /metrics` adds up. A separate
`entitlements worker` serves its own counters on `METRICS_PORT` (`serve_worker_metrics`).

The gauges (queue depths and ages, dead letters, sync lags) are read from the database at
scrape time, so they are right whichever process answers and however many there are.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from wsgiref.simple_server import WSGIServer

import prometheus_client
from flask import Blueprint, Response, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from adapter.admin_sessions import is_revocation
from adapter.engine import Decision
from adapter.store.queue import QUEUES

logger = logging.getLogger(__name__)

# `*_created` series double the output and no dashboard of ours reads them.
prometheus_client.disable_created_metrics()

WEBHOOK_EVENTS = Counter(
    "entitlements_webhook_events",
    "Helpdesk webhook deliveries by answer: accepted, duplicate, rejected_<reason>, error",
    ["helpdesk", "outcome"],
)
ERP_LICENCES = Counter(
    "entitlements_erp_licences",
    "Licences from the ERP by source (push, pull) and outcome (created, updated, unchanged, "
    "stale; invalid: skipped by a pull; rejected: in a push refused as invalid)",
    ["source", "outcome"],
)
DECISIONS = Counter(
    "entitlements_decisions",
    "Decisions made (every event, re-decisions included) by plan (none: no contract) and billable",
    ["helpdesk", "plan", "billable"],
)
FLAGS = Counter("entitlements_flags", "Flag and warning codes on the decisions made", ["code"])
RETRIES = Counter(
    "entitlements_retries", "Failed attempts that will be retried, by queue", ["queue"]
)
DEAD_LETTERS = Counter(
    "entitlements_dead_letters", "Rows that became dead letters, by queue", ["queue"]
)
JOB_RUNS = Counter(
    "entitlements_job_runs",
    "The worker's periodic job runs by job and outcome (ok, failed)",
    ["job", "outcome"],
)

# The statuses `POST /webhooks/<helpdesk>` answers when it refuses a delivery.
REJECTIONS = {
    400: "invalid_json",
    401: "invalid_signature",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_payload",
}


def count_webhook(helpdesk: str, outcome: str) -> None:
    WEBHOOK_EVENTS.labels(helpdesk, outcome).inc()


def count_webhook_refused(helpdesk: str, status: int) -> None:
    """A delivery answered with an error; the reason follows from the status."""
    if status >= 500:
        count_webhook(helpdesk, "error")
    else:
        count_webhook(helpdesk, f"rejected_{REJECTIONS.get(status, status)}")


def count_licences(source: str, **outcomes: int) -> None:
    """`count_licences("pull", created=3, stale=1)`."""
    for outcome, count in outcomes.items():
        if count:
            ERP_LICENCES.labels(source, outcome).inc(count)


def count_decision(helpdesk: str, decision: Decision) -> None:
    billable = "true" if decision.billable else "false"
    DECISIONS.labels(helpdesk, decision.plan or "none", billable).inc()
    for flag in (*decision.flags, *decision.warnings):
        FLAGS.labels(flag.code).inc()


def count_failure(queue: str, dead: bool) -> None:
    (DEAD_LETTERS if dead else RETRIES).labels(queue).inc()


def count_job(job: str, ok: bool) -> None:
    JOB_RUNS.labels(job, "ok" if ok else "failed").inc()


def prime(helpdesks: list[str] | tuple[str, ...] = ()) -> None:
    """Series that should read 0 before their first event (rates and alerts need them)."""
    for helpdesk in helpdesks:
        for outcome in ("accepted", "duplicate"):
            WEBHOOK_EVENTS.labels(helpdesk, outcome)
    for queue in QUEUES:
        RETRIES.labels(queue)
        DEAD_LETTERS.labels(queue)


class DatabaseCollector:
    """Gauges read from the store at each scrape. A database that does not answer gives
    `entitlements_database_up 0` rather than a failed scrape."""

    def __init__(self, store: Any, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "entitlements_database_up", "1 when the database answered this scrape"
        )
        try:
            # Autocommit: plain reads, so a scrape never takes SQLite's write lock.
            with (
                self.store.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                ) as connection,
                Session(bind=connection) as session,
            ):
                stats = self.store.queue_stats(session)
                checkpoints = self.store.checkpoint_times(session)
        except SQLAlchemyError as e:
            logger.warning("metrics.database-unavailable", extra={"error": type(e).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        now = self.clock()
        pending = GaugeMetricFamily(
            "entitlements_queue_pending", "Rows waiting in a queue (due or not)", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "entitlements_queue_oldest_pending_age_seconds",
            "Age of the oldest pending row of a queue; 0 when none is pending",
            labels=["queue"],
        )
        dead = GaugeMetricFamily(
            "entitlements_queue_dead", "Dead letters in a queue now", labels=["queue"]
        )
        for queue, stat in stats.items():
            pending.add_metric([queue], stat.pending)
            oldest = stat.oldest_pending_at
            age.add_metric([queue], max((now - oldest).total_seconds(), 0) if oldest else 0)
            dead.add_metric([queue], stat.dead)
        lag = GaugeMetricFamily(
            "entitlements_sync_lag_seconds",
            "Seconds since a sync last wrote its checkpoint (erp_pull, zammad_reconcile); "
            "absent until its first run",
            labels=["checkpoint"],
        )
        for name, written in sorted(checkpoints.items()):
            if is_revocation(name):  # the admin page's sign-outs share the table
                continue
            lag.add_metric([name], max((now - written).total_seconds(), 0))
        yield from (pending, age, dead, lag)


class _ThisProcess:
    """The default registry's metrics (our counters, process and GC figures)."""

    def collect(self) -> Iterator[Metric]:
        return REGISTRY.collect()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def registry_for(store: Any) -> CollectorRegistry:
    """What `GET /metrics` shows: the counters of this process (or of every process sharing
    PROMETHEUS_MULTIPROC_DIR) and the database's gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector(store))
    return registry


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    # No authentication: counts and fixed labels only, nothing personal or secret. Keep the
    # path off the public internet at the proxy (see docs/operations.md, "Observability").
    store = current_app.extensions["entitlements"].store
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encoder(registry_for(store)), content_type=content_type)


def serve_worker_metrics(host: str, port: int) -> WSGIServer:
    """This process's counters on http://host:port/metrics, served by a daemon thread, for
    `worker` (whose decisions, retries and pulls no web process sees)."""
    prime()
    server, _ = prometheus_client.start_http_server(port, addr=host)
    logger.info("metrics.serving", extra={"host": host, "port": server.server_port})
    return server
