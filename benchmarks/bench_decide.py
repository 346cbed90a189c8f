"""`decide` in-process: decisions per second over a mix of realistic tickets.

Run: python benchmarks/bench_decide.py [--n 200000]. Target: at least 50,000 decisions/s.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, date, datetime, timedelta

from adapter.contracts import Licence, contract_from_licence
from adapter.engine import TicketFacts, decide, ledger_keys
from adapter.quota import LedgerEntry, LedgerView
from mappings.plans import load_policy

CATEGORIES = ("ui_building", "usage_question", "after_hours")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200_000)
    args = parser.parse_args()
    policy = load_policy()
    rng = random.Random(7)
    plans = ("commissioning", "basic", "pro")
    customers = []
    for i in range(50):
        licences = [
            Licence(f"LIC-{i}-{k}", f"C-{i}", rng.choice(plans), date(2026, rng.randint(1, 10), 1))
            for k in range(rng.choice((1, 1, 2)))
        ]
        customers.append([contract_from_licence(x, policy.plan(x.plan)) for x in licences])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cases = []
    for t in range(2_000):
        contracts = rng.choice(customers)
        facts = TicketFacts(
            helpdesk="zammad",
            ticket_id=t,
            created_at=start + timedelta(seconds=rng.randrange(365 * 86400)),
            customer_number=contracts[0].customer_number,
            categories=frozenset(
                rng.sample(("ui_building", "usage_question", "after_hours"), rng.randint(0, 1))
            ),
            remote_sessions=rng.randint(0, 2),
        )
        keys = ledger_keys(facts, contracts, policy)
        used = {key: rng.randint(0, 9) for key in keys}
        entries = (LedgerEntry(keys[0][0], keys[0][1], 2),) if rng.random() < 0.3 else ()
        cases.append((facts, contracts, LedgerView(used, entries)))
    now = datetime(2026, 12, 1, tzinfo=UTC)

    for facts, contracts, ledger in cases:  # warm the calendar's caches
        decide(facts, contracts, ledger, now, policy=policy)
    began = time.perf_counter()
    for i in range(args.n):
        facts, contracts, ledger = cases[i % len(cases)]
        decide(facts, contracts, ledger, now, policy=policy)
    elapsed = time.perf_counter() - began
    rate = args.n / elapsed
    verdict = "met" if rate >= 50_000 else "MISSED"
    print(
        f"decide: {args.n:,} decisions in {elapsed:.2f} s = {rate:,.0f} decisions/s "
        f"({1e6 / rate:.1f} µs each); target >= 50,000/s: {verdict}"
    )


if __name__ == "__main__":
    main()
