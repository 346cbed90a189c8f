"""ERP licences in: the pull from the stand-in over loopback, and the push through the app.

Run: python benchmarks/bench_erp.py [--licences 100000] [--page-size 100] [--batches 100]
     [--batch-size 1000] [--database-url URL] [--tracemalloc]
Targets: the pull stores at least 5,000 licences/s on SQLite, with peak memory growth under
100 MB; the push is reported in licences/s.

The stand-in runs in a child process: its item generation and JSON encoding would otherwise
compete with the pull for this process's GIL, and its memory would count as the pull's.
Memory is the growth of peak RSS over the RSS before the pull (no tracing overhead);
`--tracemalloc` adds a second, traced run that reports Python's own peak allocation.
The push goes through Flask's test client: the app's work (auth, validation, one
transaction per batch) without an HTTP server's, which is not the adapter's code.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from adapter.app import create_app
from adapter.services import build_services
from adapter.settings import Settings
from adapter.store import Store, make_engine, upgrade
from connectors.erp.client import ErpClient
from connectors.erp.pull import pull_erp
from connectors.erp.settings import ErpSettings
from connectors.zammad.settings import ZammadSettings
from mappings.erp import load_erp_mapping
from mappings.plans import load_policy
from standins.erp import ErpStandin

PUSH_TOKEN = "bench-push-token"


def serve(count: int, max_page_size: int, conn: Connection) -> None:
    """The child process: a stand-in until the parent says stop."""
    with ErpStandin(count, max_page_size=max_page_size) as erp:
        conn.send((erp.url, erp.token))
        conn.recv()
        conn.send(len(erp.requests))


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def fresh_store(url: str | None, directory: Path, name: str) -> tuple[str, Store]:
    url = url or f"sqlite:///{directory / name}"
    upgrade(url)
    return url, Store(make_engine(url))


def bench_pull(args: argparse.Namespace, directory: Path, traced: bool) -> None:
    context = multiprocessing.get_context("spawn")  # a clean child: no copy of our heap
    parent, child = context.Pipe()
    process = context.Process(target=serve, args=(args.licences, args.page_size, child))
    process.start()
    try:
        erp_url, token = parent.recv()
        _, store = fresh_store(args.database_url, directory, f"pull-{traced}.db")
        policy, mapping = load_policy(), load_erp_mapping()
        if args.page_size != mapping.pull.paging.page_size:
            from dataclasses import replace

            paging = replace(mapping.pull.paging, page_size=args.page_size)
            mapping = replace(mapping, pull=replace(mapping.pull, paging=paging))
        client = ErpClient(erp_url, token, mapping)
        before = rss_mib()
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        report = pull_erp(store, policy, client, mapping, datetime.now(UTC), helpdesks=("zammad",))
        elapsed = time.perf_counter() - started
        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
        if traced:
            tracemalloc.stop()
        growth = peak_rss_mib() - before
        parent.send("stop")
        requests = parent.recv()
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
    stored = report.created + report.updated
    label = "pull (traced)" if traced else "pull"
    print(
        f"{label}: {stored:,} licences stored from {report.pages:,} pages (the last, empty, "
        f"ends the run; {requests:,} requests) in {elapsed:.1f} s: "
        f"{stored / elapsed:,.0f} licences/s; "
        f"invalid {report.invalid}; peak RSS growth {growth:.1f} MiB"
        + (f"; tracemalloc peak {traced_peak:.1f} MiB" if traced_peak is not None else "")
    )


def push_bodies(batches: int, size: int) -> list[bytes]:
    products = ("SP-COM", "SP-BASIC-10", "SP-PRO-10")
    bodies = []
    for b in range(batches):
        licences = [
            {
                "licence_id": f"PUSH-{b:04d}-{i:05d}",
                "revision": 1,
                "customer_number": f"C-{(b * size + i) // 3:06d}",
                "customer_name": "Kunde GmbH",
                "product": products[i % 3],
                "purchased_on": f"2026-{i % 12 + 1:02d}-15",
                "list_price": "12000.00",
                "currency": "EUR",
                "status": "active",
                "options": ["third_party_projects"] if i % 7 == 0 else [],
            }
            for i in range(size)
        ]
        bodies.append(json.dumps({"licences": licences}).encode())
    return bodies


def bench_push(args: argparse.Namespace, directory: Path) -> None:
    url, store = fresh_store(args.database_url, directory, "push.db")
    zammad, erp = ZammadSettings(webhook_secret="unused"), ErpSettings(push_token=PUSH_TOKEN)
    settings = Settings(database_url=url, provider_settings={"zammad": zammad, "erp": erp})
    app = create_app(services=build_services(settings, store=store))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {PUSH_TOKEN}", "Content-Type": "application/json"}
    bodies = push_bodies(args.batches, args.batch_size)
    created = 0
    started = time.perf_counter()
    for body in bodies:
        response = client.post("/erp/licences", data=body, headers=headers)
        if response.status_code != 202:
            raise SystemExit(f"push failed: {response.status_code} {response.get_data()[:500]!r}")
        created += response.get_json()["created"]
    elapsed = time.perf_counter() - started
    total = args.batches * args.batch_size
    print(
        f"push: {args.batches} batches of {args.batch_size:,} ({created:,} created, "
        f"body {len(bodies[0]) / 1024:.0f} KiB) in {elapsed:.1f} s: "
        f"{total / elapsed:,.0f} licences/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--licences", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--batches", type=int, default=100, help="0: no push")
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file per part")
    parser.add_argument("--tracemalloc", action="store_true", help="also a traced pull run")
    args = parser.parse_args()
    if args.database_url and args.tracemalloc:
        parser.error("--tracemalloc needs fresh databases: leave out --database-url")
    if args.database_url:
        print("note: with --database-url, both parts write to that one (empty) database")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        bench_pull(args, directory, traced=False)
        if args.tracemalloc:
            bench_pull(args, directory, traced=True)
        if args.batches:
            bench_push(args, directory)


if __name__ == "__main__":
    main()
