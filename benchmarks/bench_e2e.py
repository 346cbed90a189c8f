"""End to end: events from acceptance to write-back into the Zammad stand-in.

Run: python benchmarks/bench_e2e.py [--events 10000]
Each event is a new ticket of one of 50 organisations (pro contracts), posted signed to the
adapter's web tier; one embedded worker decides and writes back (ticket fields, tags, a note).
The stand-in runs in its own process so that its CPU is not counted as the adapter's.
Prints events/s, the calls to Zammad per event, and the share of the worker's time spent outside
HTTP calls to Zammad.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import multiprocessing
import os
import pstats
import re
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
from sqlalchemy import event
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapter.app import create_app
from adapter.contracts import Licence
from adapter.licences import store_licences
from adapter.logs import configure_logging
from adapter.services import build_services
from adapter.settings import Settings
from adapter.store import upgrade
from adapter.store.models import InboxRow, OutboxRow
from adapter.web.signatures import hub_signature
from adapter.worker import Worker, start_threads
from connectors.zammad.settings import ZammadSettings

SECRET = "bench-webhook-secret-of-32-characters-or-more"
ID = re.compile(r"/\d+")
ORGS = 50


def zammad_process(
    events: int,
    out: multiprocessing.Queue,
    contracts_loaded: multiprocessing.Event,
    stop: multiprocessing.Event,
) -> None:
    from connectors.zammad.client import ZammadClient
    from connectors.zammad.setup import create_attributes
    from mappings.zammad import load_mapping
    from standins.zammad import ZammadStandin

    with ZammadStandin() as zammad:
        create_attributes(ZammadClient(zammad.url, zammad.token), load_mapping())
        users = []
        for n in range(ORGS):
            org = zammad.add_organization(f"Org {n}", customer_number=f"C-{n}")
            users.append(
                zammad.add_user("Pat", f"{n}", f"pat{n}@bench.example", organization_id=org)
            )
        out.put((zammad.url, zammad.token))
        # The tickets come after the contracts, as in production: otherwise loading the
        # contracts re-checks every ticket and the run measures those re-checks as well.
        contracts_loaded.wait()
        payloads = []
        for i in range(events):
            ticket = zammad.create_ticket(f"Ticket {i}", users[i % ORGS])
            payloads.append(
                json.dumps({"ticket": zammad.ticket(ticket), "article": {}}, separators=(",", ":"))
            )
        out.put(payloads)
        stop.wait()


def pending(store) -> int:
    from sqlalchemy import func, select

    with store.session() as session:
        return sum(
            session.scalar(select(func.count()).select_from(m).where(m.status == "pending"))
            for m in (InboxRow, OutboxRow)
        )


def main() -> None:
    # Logging as `serve` configures it, JSON lines at INFO, written nowhere: its cost counts.
    configure_logging("INFO", open(os.devnull, "w"))  # noqa: SIM115 - open while the run lasts
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the web tier here, not serve's
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=4, help="worker threads (WORKER_THREADS)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="one worker in this thread under cProfile; prints where its time goes",
    )
    args = parser.parse_args()
    out: multiprocessing.Queue = multiprocessing.Queue()
    contracts_loaded, stop = multiprocessing.Event(), multiprocessing.Event()
    child = multiprocessing.Process(
        target=zammad_process, args=(args.events, out, contracts_loaded, stop)
    )
    child.start()
    url, token = out.get(timeout=600)
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{tmp}/e2e.db"
        upgrade(database)
        settings = Settings(
            database_url=database,
            provider_settings={
                "zammad": ZammadSettings(url=url, token=token, webhook_secret=SECRET)
            },
            reconcile_interval=0,
            language="en",
        )
        services = build_services(settings)
        with services.store.session() as session:
            licences = [Licence(f"LIC-{n}", f"C-{n}", "pro", date(2026, 1, 1)) for n in range(ORGS)]
            store_licences(
                services.store,
                session,
                services.policy,
                licences,
                "import",
                datetime.now(UTC),
                helpdesks=services.helpdesks,
            )
        Worker(services, periodic_jobs=False).drain()  # the organisations' fields
        contracts_loaded.set()
        payloads = out.get(timeout=600)
        client = services.helpdesks["zammad"].client
        http_seconds = 0.0
        send = client.api.session.request

        kinds: Counter[str] = Counter()  # calls by method and path, ids left out

        def timed(*a, **kw):
            nonlocal http_seconds
            method, url = [*a, kw.get("method"), kw.get("url")][:2]
            kinds[method + " " + ID.sub("/{id}", urlsplit(url).path)] += 1
            began = time.perf_counter()
            try:
                return send(*a, **kw)
            finally:
                http_seconds += time.perf_counter() - began

        client.api.session.request = timed
        sql = {"statements": 0, "commits": 0}

        def in_worker() -> bool:  # a worker thread, not the web tier, the renewer or this one
            name = threading.current_thread().name
            return args.profile or re.fullmatch(r"worker-\d+", name) is not None

        @event.listens_for(services.store.engine, "before_cursor_execute")
        def statement(*_args) -> None:
            sql["statements"] += in_worker()

        @event.listens_for(services.store.engine, "commit")
        def commit(*_args) -> None:
            sql["commits"] += in_worker()

        server = make_server("127.0.0.1", 0, create_app(services=services), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        endpoint = f"http://127.0.0.1:{server.port}/webhooks/zammad"

        def post(body: str) -> None:
            data = body.encode()
            headers = {
                "Content-Type": "application/json",
                "X-Zammad-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature": hub_signature(SECRET, data),
            }
            assert (
                requests.post(endpoint, data=data, headers=headers, timeout=30).status_code == 202
            )

        began = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(post, payloads))
        accepted = time.perf_counter()
        if args.profile:
            args.threads = 1
            profiler = cProfile.Profile()
            profiler.runcall(Worker(services, periodic_jobs=False).drain, 3600)
            done = time.perf_counter()
        else:
            stop_workers = threading.Event()
            threads = start_threads(services, stop_workers, args.threads)
            while pending(services.store):
                time.sleep(0.05)
            done = time.perf_counter()
            stop_workers.set()
            for thread in threads:
                thread.join(timeout=10)
        server.shutdown()
        stop.set()
        child.join(timeout=30)
    total, work = done - began, done - accepted
    n = len(payloads)
    print(
        f"{n:,} events: accepted in {accepted - began:.1f} s ({n / (accepted - began):,.0f}/s), "
        f"decided and written back in {work:.1f} s ({n / work:,.0f}/s); "
        f"end to end {n / total:,.0f} events/s"
    )
    busy = work * args.threads  # the thread-seconds the workers had
    calls = sum(kinds.values())
    print(f"calls to Zammad: {calls:,}, {calls / n:.2f} per event")
    for kind, count in kinds.most_common():
        print(f"  {count / n:5.2f} per event  {kind}")
    print(
        f"worker transactions: {sql['commits'] / n:.2f} per event, SQL statements "
        f"{sql['statements'] / n:.1f} per event (with SQLite's BEGIN IMMEDIATE; COMMIT not counted)"
    )
    print(
        f"{args.threads} worker threads; in HTTP calls to Zammad: {http_seconds:.1f} of "
        f"{busy:.1f} thread-seconds; outside them: {100 * (1 - http_seconds / busy):.0f}%"
    )
    if args.profile:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(45)


if __name__ == "__main__":
    main()
