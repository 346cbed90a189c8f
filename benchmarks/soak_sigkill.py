"""Proof by repetition: the SIGKILL scenario of the system tests, N times over.

Run: python benchmarks/soak_sigkill.py --runs 20 [--deployment serve|gunicorn_and_two_workers]
     [--database-url postgresql://…]
Each run: a fresh Zammad stand-in and an emptied database, 1,000 events for 200 tickets, one
process SIGKILLed after 300 accepted (tests/crash_scenario.py). A run passes when every accepted
event was decided once, every ticket counted once, with one PUT of its fields and one note.
Prints each run's outcome and, per deployment, how many of the runs passed. `serve` runs on
SQLite (a small installation), gunicorn with workers on PostgreSQL (`--database-url`, or
ENTITLEMENTS_TEST_DATABASE_URL), as they are deployed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import MetaData

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapter.store import Store, make_engine, upgrade
from connectors.zammad.client import ZammadClient
from connectors.zammad.setup import create_attributes
from mappings.zammad import load_mapping
from standins.zammad import ZammadStandin
from tests.crash_scenario import DEPLOYMENTS, run_sigkill


def empty(url: str) -> Store:
    """A database at head with no rows in it."""
    upgrade(url)
    engine = make_engine(url)
    tables = MetaData()
    tables.reflect(engine)
    with engine.begin() as connection:
        for table in reversed(tables.sorted_tables):
            if table.name != "alembic_version":
                connection.execute(table.delete())
    return Store(engine)


def one_run(deployment: str, url: str, logs: Path) -> list[str]:
    store = empty(url)
    try:
        with ZammadStandin(time_scale=0.01) as zammad:
            create_attributes(ZammadClient(zammad.url, zammad.token), load_mapping())
            return run_sigkill(deployment, zammad, url, store, logs)
    except AssertionError as e:  # the scenario itself gave up (an event never accepted, …)
        return [f"scenario failed: {e}"]
    finally:
        store.engine.dispose()


def main() -> int:
    # Stopped from outside, still stop the processes of the run (its `finally`): a worker left
    # behind would take rows of the next run's database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--deployment", choices=DEPLOYMENTS, action="append")
    parser.add_argument("--database-url", default=os.environ.get("ENTITLEMENTS_TEST_DATABASE_URL"))
    args = parser.parse_args()
    deployments = args.deployment or list(DEPLOYMENTS)
    passed = dict.fromkeys(deployments, 0)
    with tempfile.TemporaryDirectory() as tmp:
        for deployment in deployments:
            url = f"sqlite:///{Path(tmp) / 'soak.db'}"
            if deployment != "serve":
                if not args.database_url:
                    print(f"{deployment}: skipped, needs PostgreSQL (--database-url)")
                    continue
                url = args.database_url
            for run in range(1, args.runs + 1):
                logs = Path(tmp) / f"{deployment}-{run}"
                logs.mkdir()
                started = time.monotonic()
                problems = one_run(deployment, url, logs)
                took = time.monotonic() - started
                verdict = "ok" if not problems else "FAILED: " + "; ".join(problems[:5])
                print(f"{deployment} run {run}/{args.runs} ({took:.0f} s): {verdict}", flush=True)
                passed[deployment] += not problems
    for deployment in deployments:
        print(f"{deployment}: {passed[deployment]} of {args.runs} runs kept every promise")
    return 0 if all(passed[d] == args.runs for d in deployments) else 1


if __name__ == "__main__":
    sys.exit(main())
