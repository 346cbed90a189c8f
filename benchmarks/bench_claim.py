"""Claiming from a backlog: what one claim of ten inbox rows costs while a backlog of large
payloads waits (after an outage of the worker, or a burst of events with big mails).

Run: python benchmarks/bench_claim.py [--backlog 5000] [--payload-kb 20] [--database-url URL]
Fills an empty database's inbox with `backlog` pending rows of `payload-kb` each, then claims
ten at a time and finishes them, as the worker does, until the inbox is empty. Prints the
milliseconds per claim at the start (whole backlog waiting), in the middle and at the end.
Default: a SQLite file in a temporary directory. With PostgreSQL, give a database of its own:
its tables are emptied.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapter.store import upgrade
from adapter.store.database import make_engine
from adapter.store.models import Base
from adapter.store.repository import Store

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--payload-kb", type=int, default=20)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/claim.db"
        upgrade(url)
        store = Store(make_engine(url))
        with store.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
        filler = "x" * (args.payload_kb * 1024)
        with store.session() as session:
            store.accept_inbox_many(
                session,
                [
                    {
                        "helpdesk": "zammad",
                        "delivery_id": f"d-{n}",
                        "ticket_id": str(n % 1000),
                        "trigger": None,
                        "payload": f'{{"n": {n}, "filler": "{filler}"}}',
                    }
                    for n in range(args.backlog)
                ],
                NOW,
            )
        timings = []
        while True:
            began = time.perf_counter()
            rows = store.claim("inbox", NOW, limit=10, lease=timedelta(minutes=5), owner="bench")
            timings.append(time.perf_counter() - began)
            if not rows:
                break
            with store.session() as session:
                for row in rows:
                    store.finish(session, row, NOW)
        store.engine.dispose()
    tenth = max(1, len(timings) // 10)
    parts = {
        "start": timings[:tenth],
        "middle": timings[len(timings) // 2 : len(timings) // 2 + tenth],
        "end": timings[-tenth:],
    }
    print(
        f"{args.backlog:,} pending rows of {args.payload_kb} KB on "
        f"{store.engine.dialect.name}: {len(timings) - 1} claims of ten, "
        + ", ".join(
            f"{name} {1000 * statistics.median(values):.2f} ms" for name, values in parts.items()
        )
        + " per claim (median)"
    )


if __name__ == "__main__":
    main()
