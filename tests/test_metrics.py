"""Metrics: counters at the places where things happen, gauges read from the database, the
`/metrics` endpoint, multiprocess mode and the worker's own port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from adapter import metrics
from adapter.app import create_app
from adapter.contracts import Licence
from adapter.licences import store_licences
from adapter.services import build_services
from adapter.settings import Settings
from adapter.store import Store, make_engine
from adapter.worker import Worker
from connectors.erp.client import ErpClient
from connectors.erp.pull import pull_erp
from connectors.erp.settings import ErpSettings
from mappings.erp import load_erp_mapping
from mappings.settings import parse_settings
from mappings.yamlfile import FileErrors
from standins.erp import ErpStandin
from tests.zammad_helpers import load_fixture, signed_zammad, zammad_body, zammad_headers

ROOT = Path(__file__).resolve().parent.parent
ERP_TOKEN = "erp-push-token-for-metrics"


def value(name: str, **labels: str) -> float:
    """A sample of this process's registry; 0 for a series not yet counted."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """How much each of some samples grew since it was made (counters are process-wide)."""

    def __init__(self, *samples: tuple[str, dict[str, str]]) -> None:
        self.samples = samples
        self.before = [value(name, **labels) for name, labels in samples]

    def __call__(self) -> list[float]:
        return [value(n, **lb) - b for (n, lb), b in zip(self.samples, self.before, strict=True)]


def webhook(outcome: str) -> tuple[str, dict[str, str]]:
    return "entitlements_webhook_events_total", {"helpdesk": "zammad", "outcome": outcome}


@pytest.fixture
def services(database_url, store):
    settings = Settings(
        database_url=database_url,
        provider_settings={**signed_zammad(), "erp": ErpSettings(push_token=ERP_TOKEN)},
        max_body_bytes=1024 * 1024,  # a 413 without a body of the default 8 MiB
    )
    return build_services(settings, store=store)  # no Zammad URL: facts from the payload


@pytest.fixture
def client(services):
    return create_app(services=services).test_client()


def post(client, body: bytes | None = None, **header_options):
    body = body if body is not None else zammad_body(load_fixture("ticket_created__default"))
    return client.post(
        "/webhooks/zammad", data=body, headers=zammad_headers(body, **header_options)
    )


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }


# --- counters ---------------------------------------------------------------------------------


def test_accepted_and_duplicate_deliveries_are_counted_per_helpdesk(client):
    delta = Delta(webhook("accepted"), webhook("duplicate"))
    assert post(client, delivery="d-1").status_code == 202
    assert post(client, delivery="d-1").status_code == 200
    other = load_fixture("ticket_created__default")
    other["ticket"]["title"] = "Another ticket"
    assert post(client, zammad_body(other), delivery="d-2").status_code == 202
    assert post(client, delivery="d-3").status_code == 200  # the first body, replayed
    assert delta() == [2, 2]


def test_refused_deliveries_are_counted_by_reason(client):
    reasons = ["invalid_json", "invalid_signature", "too_large"]
    reasons += ["unsupported_media_type", "invalid_payload"]
    delta = Delta(*(webhook(f"rejected_{r}") for r in reasons), webhook("accepted"))
    assert post(client, b"{not json").status_code == 400
    assert post(client, secret="wrong").status_code == 401
    assert post(client, b'{"x": "' + b"a" * (1024 * 1024) + b'"}').status_code == 413
    body = zammad_body(load_fixture("ticket_created__default"))
    headers = {**zammad_headers(body), "Content-Type": "text/plain"}
    assert client.post("/webhooks/zammad", data=body, headers=headers).status_code == 415
    assert post(client, zammad_body({"ticket": {}})).status_code == 422
    assert delta() == [1, 1, 1, 1, 1, 0]


def test_errors_of_other_endpoints_are_not_counted_as_webhook_rejections(client):
    delta = Delta(webhook("rejected_invalid_json"), webhook("rejected_404"))
    assert client.get("/no-such-page").status_code == 404
    headers = {"Authorization": f"Bearer {ERP_TOKEN}", "Content-Type": "application/json"}
    assert client.post("/erp/licences", data=b"{nope", headers=headers).status_code == 400
    assert delta() == [0, 0]


def licences(outcome: str, source: str = "push") -> tuple[str, dict[str, str]]:
    return "entitlements_erp_licences_total", {"source": source, "outcome": outcome}


def test_erp_pushes_count_licences_by_outcome_and_refused_batches_as_rejected(client):
    auth = {"Authorization": f"Bearer {ERP_TOKEN}"}
    item = {
        "licence_id": "LIC-1",
        "customer_number": "C-100",
        "plan": "basic",
        "purchased_on": "2026-03-15",
    }
    delta = Delta(*(licences(o) for o in ("created", "unchanged", "updated", "rejected")))
    assert client.post("/erp/licences", json=item, headers=auth).status_code == 202
    assert client.post("/erp/licences", json=item, headers=auth).status_code == 202
    changed = {**item, "plan": "pro"}
    batch = {"licences": [{**item, "licence_id": "LIC-2"}, changed]}
    assert client.post("/erp/licences", json=batch, headers=auth).status_code == 202
    bad = {"licences": [item, {**item, "plan": "gold"}, {**item, "purchased_on": "x"}]}
    assert client.post("/erp/licences", json=bad, headers=auth).status_code == 422
    assert delta() == [2, 1, 1, 3]


def test_erp_pulls_count_licences_by_outcome_and_invalid_items(store):
    services = build_services(Settings(), store=store)
    mapping = load_erp_mapping()
    erp = ErpStandin(5).start()
    try:
        erp.update("LIC-000002", order_date="15.03.2026")  # invalid: skipped and counted
        delta = Delta(*(licences(o, "pull") for o in ("created", "invalid", "unchanged")))
        with ErpClient(erp.url, erp.token, mapping, sleep=lambda _: None) as erp_client:
            report = pull_erp(
                store,
                services.policy,
                erp_client,
                mapping,
                datetime.now(UTC),
                helpdesks=services.helpdesks,
            )
    finally:
        erp.stop()
    assert (report.created, report.invalid) == (4, 1)
    assert delta() == [4, 1, 0]


def test_the_worker_counts_decisions_by_plan_flags_retries_and_dead_letters(
    client, services, store
):
    with store.session() as session:
        licence = Licence("LIC-B", "C-100", "basic", date(2026, 3, 15))
        store_licences(
            store,
            session,
            services.policy,
            [licence],
            "import",
            datetime.now(UTC),
            helpdesks=services.helpdesks,
        )
    decisions = "entitlements_decisions_total"
    delta = Delta(
        (decisions, {"helpdesk": "zammad", "plan": "basic", "billable": "false"}),
        (decisions, {"helpdesk": "zammad", "plan": "none", "billable": "false"}),
        ("entitlements_retries_total", {"queue": "outbox"}),
        ("entitlements_dead_letters_total", {"queue": "inbox"}),
    )
    flags_before = {
        s.labels["code"]: s.value
        for family in REGISTRY.collect()
        if family.name == "entitlements_flags"
        for s in family.samples
    }
    assert post(client).status_code == 202
    # A delivery whose payload the worker cannot read becomes a dead letter at once.
    with store.session() as session:
        store.accept_inbox(
            session,
            helpdesk="zammad",
            delivery_id="broken",
            ticket_id="9",
            trigger="ticket_created",
            payload=json.dumps({"ticket": {"id": "nine"}}),
            now=datetime.now(UTC),
        )
    Worker(services, periodic_jobs=False).run_once()  # no Zammad: the write-back is retried
    assert delta() == [1, 0, 1, 1]
    flags_now = {
        s.labels["code"]: s.value
        for family in REGISTRY.collect()
        if family.name == "entitlements_flags"
        for s in family.samples
    }
    grown = {c for c, v in flags_now.items() if v > flags_before.get(c, 0)}
    with store.session() as session:
        shown = store.last_decision(session, "zammad", "81")
    codes = {f["code"] for f in (*shown["flags"], *shown["warnings"])}
    assert grown == codes


def test_periodic_job_runs_are_counted_by_outcome(services):
    worker = Worker(services)  # periodic jobs: the purge, and reconcile without Zammad (fails)
    delta = Delta(
        ("entitlements_job_runs_total", {"job": "store.purge", "outcome": "ok"}),
        ("entitlements_job_runs_total", {"job": "zammad.reconcile", "outcome": "failed"}),
    )
    worker.run_once()
    assert delta() == [1, 1]


# --- gauges from the database ----------------------------------------------------------------


def test_metrics_shows_queue_depths_ages_dead_letters_and_sync_lag_from_the_database(
    client, services, store
):
    now = datetime.now(UTC)
    with store.session() as session:
        for n, age in enumerate((300, 60, 10)):
            store.accept_inbox(
                session,
                helpdesk="zammad",
                delivery_id=f"q-{n}",
                ticket_id=str(n),
                trigger="ticket_created",
                payload="{}",
                now=now - timedelta(seconds=age),
            )
        store.add_outbox(session, "zammad", "1", {"ticket_id": 1}, now - timedelta(seconds=120))
        store.set_checkpoint(session, "erp_pull", {"page": 1}, now - timedelta(seconds=900))
    (oldest,) = store.claim("inbox", now, limit=1, lease=timedelta(seconds=60), owner="test")
    store.fail(oldest, "broken", now, retry_in=None, max_attempts=8)

    samples = scrape(client)
    assert samples[("entitlements_database_up", ())] == 1
    assert samples[("entitlements_queue_pending", (("queue", "inbox"),))] == 2
    assert samples[("entitlements_queue_pending", (("queue", "outbox"),))] == 1
    assert samples[("entitlements_queue_dead", (("queue", "inbox"),))] == 1
    assert samples[("entitlements_queue_dead", (("queue", "outbox"),))] == 0
    inbox_age = samples[("entitlements_queue_oldest_pending_age_seconds", (("queue", "inbox"),))]
    outbox_age = samples[("entitlements_queue_oldest_pending_age_seconds", (("queue", "outbox"),))]
    assert 60 <= inbox_age < 300  # the 300 s one is dead, not pending
    assert 120 <= outbox_age < 3600
    erp_lag = samples[("entitlements_sync_lag_seconds", (("checkpoint", "erp_pull"),))]
    assert 900 <= erp_lag < 3600
    assert ("entitlements_sync_lag_seconds", (("checkpoint", "zammad_reconcile"),)) not in samples
    # The process's counters are there too.
    assert any(name == "entitlements_webhook_events_total" for name, _ in samples)


def test_empty_queues_read_zero_and_no_sync_lag_before_a_first_sync(client):
    samples = scrape(client)
    for queue in ("inbox", "outbox"):
        labels = (("queue", queue),)
        assert samples[("entitlements_queue_pending", labels)] == 0
        assert samples[("entitlements_queue_oldest_pending_age_seconds", labels)] == 0
        assert samples[("entitlements_queue_dead", labels)] == 0
    assert not [name for name, _ in samples if name == "entitlements_sync_lag_seconds"]


def test_an_unreachable_database_gives_database_up_0_not_a_failed_scrape(tmp_path):
    store = Store(make_engine(f"sqlite:///{tmp_path / 'missing' / 'entitlements.db'}"))
    families = {f.name: f for f in metrics.DatabaseCollector(store).collect()}
    assert list(families) == ["entitlements_database_up"]
    assert families["entitlements_database_up"].samples[0].value == 0


def test_metrics_speaks_openmetrics_when_asked(client):
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.content_type.startswith("application/openmetrics-text")
    assert response.get_data(as_text=True).rstrip().endswith("# EOF")


# --- processes --------------------------------------------------------------------------------


def test_with_a_multiprocess_dir_metrics_adds_up_the_counters_of_every_process(
    tmp_path, database_url
):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = "from adapter import metrics; metrics.count_webhook('zammad', 'accepted')"
    for _ in range(2):  # two gunicorn workers, say
        subprocess.run([sys.executable, "-c", count], env=env, cwd=ROOT, check=True)
    show = (
        "import sys\n"
        "from prometheus_client import generate_latest\n"
        "from adapter import metrics\n"
        "from adapter.store import Store, make_engine\n"
        "store = Store(make_engine(sys.argv[1]))\n"
        "print(generate_latest(metrics.registry_for(store)).decode())\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", show, database_url],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert 'entitlements_webhook_events_total{helpdesk="zammad",outcome="accepted"} 2.0' in shown
    assert "entitlements_queue_pending" in shown


def test_the_worker_serves_its_own_counters_on_its_metrics_port():
    server = metrics.serve_worker_metrics("127.0.0.1", 0)
    try:
        metrics.count_failure("outbox", dead=False)
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert 'entitlements_retries_total{queue="outbox"}' in text
    assert "entitlements_queue_pending" not in text  # the gauges are /metrics' alone


def test_metrics_settings_are_validated():
    settings = parse_settings({"METRICS_PORT": "9108"}, None)
    assert (settings.metrics_port, settings.metrics_host) == (9108, "127.0.0.1")
    assert Settings().metrics_port is None
    with pytest.raises(FileErrors, match="ENTITLEMENTS_METRICS_PORT"):
        parse_settings({"METRICS_PORT": "70000"}, None)
