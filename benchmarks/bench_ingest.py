"""Ingest: `POST /webhooks/zammad` under gunicorn on loopback, beside a bare Flask endpoint
that only checks the HMAC and answers 202, in the same run and with the same load generator.

Run: python benchmarks/bench_ingest.py [--seconds 10] [--clients 16] [--workers 2]
Targets: at least half the baseline's throughput; p99 under 25 ms at 200 requests/s offered.
The adapter stores every accepted event in its inbox (SQLite file by default, or
ENTITLEMENTS_DATABASE_URL); nothing processes the inbox during the run, as in a web-only tier.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapter.web.signatures import hub_signature  # noqa: E402
from tests.processes import free_port, wait_until  # noqa: E402

SECRET = "bench-webhook-secret-of-32-characters-or-more"
PAYLOAD = json.loads((ROOT / "tests/fixtures/zammad/ticket_created__default.json").read_text())


def body_for(i: int) -> bytes:
    PAYLOAD["ticket"]["id"] = i
    return json.dumps(PAYLOAD, separators=(",", ":")).encode()


def headers_for(body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-Zammad-Trigger": "bench",
        "X-Zammad-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature": hub_signature(SECRET, body),
    }


def start(
    app: str, port: int, workers: int, threads: int, env: dict[str, str], cwd: Path
) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/webhooks/zammad"
    wait_until(lambda: requests.post(url, data=b"{}", timeout=1).status_code in (401, 415), 30, app)
    return proc


def throughput(url: str, seconds: float, clients: int) -> float:
    """Closed loop: `clients` keep-alive connections, each sending as fast as answers come."""
    stop = time.monotonic() + seconds
    counts = [0] * clients
    prepared = [(b, headers_for(b)) for b in (body_for(i) for i in range(2000))]

    def client(k: int) -> None:
        session = requests.Session()
        n = k
        while time.monotonic() < stop:
            body, _ = prepared[n % len(prepared)]
            r = session.post(url, data=body, headers=headers_for(body), timeout=10)
            assert r.status_code == 202, r.status_code
            counts[k] += 1
            n += clients

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - began)


def latency_at(url: str, rate: float, seconds: float, clients: int = 32) -> list[float]:
    """Open loop: requests are due at a fixed rate; latency counts from when each was due,
    so a slow answer cannot hide the queue behind it."""
    total = int(rate * seconds)
    start_at = time.monotonic() + 0.2
    latencies: list[float] = []
    lock = threading.Lock()
    next_index = iter(range(total))

    def client() -> None:
        session = requests.Session()
        for i in next_index:
            due = start_at + i / rate
            time.sleep(max(0.0, due - time.monotonic()))
            body = body_for(100_000 + i)
            r = session.post(url, data=body, headers=headers_for(body), timeout=10)
            assert r.status_code == 202, r.status_code
            with lock:
                latencies.append(time.monotonic() - due)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = os.environ.get("ENTITLEMENTS_DATABASE_URL", f"sqlite:///{tmp}/bench.db")
        env = {
            "ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET": SECRET,
            "ENTITLEMENTS_DATABASE_URL": database,
            "ENTITLEMENTS_RECONCILE_INTERVAL": "0",
        }
        subprocess.run(
            [sys.executable, "-m", "adapter", "db", "upgrade"],
            env={**os.environ, **env},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        results = {}
        for name, app, cwd in (
            ("bare Flask + HMAC", "bare_app:app", ROOT / "benchmarks"),
            ("adapter", "adapter.wsgi:app", ROOT),
        ):
            port = free_port()
            proc = start(app, port, args.workers, args.threads, env, cwd)
            url = f"http://127.0.0.1:{port}/webhooks/zammad"
            try:
                throughput(url, 1.0, args.clients)  # warm up
                rps = throughput(url, args.seconds, args.clients)
                lat = latency_at(url, args.rate, args.seconds)
            finally:
                proc.terminate()
                proc.wait(timeout=20)
            results[name] = (rps, p(lat, 0.5), p(lat, 0.99))
            _, p50, p99 = results[name]
            print(
                f"{name:18} {rps:8,.0f} req/s (closed loop, {args.clients} clients); at "
                f"{args.rate:.0f} req/s offered: p50 {p50:.1f} ms, p99 {p99:.1f} ms"
            )
    ratio = results["adapter"][0] / results["bare Flask + HMAC"][0]
    p99 = results["adapter"][2]
    verdicts = ("met" if ratio >= 0.5 else "MISSED", "met" if p99 < 25 else "MISSED")
    print(
        f"adapter/baseline throughput: {ratio:.2f} (target >= 0.5: {verdicts[0]}); "
        f"adapter p99 {p99:.1f} ms (target < 25 ms: {verdicts[1]})"
    )
    print(
        f"database: {database.split(':')[0]}; gunicorn: {args.workers} worker(s) x "
        f"{args.threads} thread(s)"
    )


if __name__ == "__main__":
    main()
