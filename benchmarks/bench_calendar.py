"""Benchmark: reaction-due times from `adapter.calendar` against `businesstimedelta`.

Computes `due(start, 16, "business_hours")` for random starts (fixed seed) spread over 2026-2028
with our calendar (Europe/Berlin, DE-BW holidays, Mon-Fri 09:00-16:00) and with
`businesstimedelta` configured the same way, checks that both agree on every start, and prints
the rates. Not a test: run it by hand, `python benchmarks/bench_calendar.py [--n 100000]`.

Exit status: 0 if both agree and the speed targets hold (median <= 20 µs per due, >= 10x the rate
of businesstimedelta); 1 if they disagree on any start; 2 if only the speed targets are missed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time as clock
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import businesstimedelta
import holidays
import pytz

# Let the script run from a plain checkout (`python benchmarks/bench_calendar.py`).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapter.calendar import BusinessCalendar

SEED = 20260101
FIRST, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC)
HOURS = 16
TARGET_MEDIAN_US = 20.0
TARGET_RATIO = 10.0


def random_starts(n: int) -> list[datetime]:
    rng = random.Random(SEED)
    span = int((END - FIRST).total_seconds())
    return [FIRST + timedelta(seconds=rng.randrange(span)) for _ in range(n)]


def reference_delta() -> businesstimedelta.BusinessTimeDelta:
    """businesstimedelta with the same hours; it wants pytz time zones."""
    tz = pytz.timezone("Europe/Berlin")
    workdays = businesstimedelta.WorkDayRule(
        start_time=time(9), end_time=time(16), working_days=[0, 1, 2, 3, 4], tz=tz
    )
    # The same holiday definition our calendar uses (holidays.country_holidays, DE-BW). The
    # object expands to later years on lookup, which dues from late 2028 need.
    de_bw = holidays.country_holidays("DE", subdiv="BW", years=range(2026, 2030))
    rules = businesstimedelta.Rules([workdays, businesstimedelta.HolidayRule(de_bw, tz=tz)])
    return businesstimedelta.BusinessTimeDelta(rules, hours=HOURS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of random starts")
    args = parser.parse_args()
    starts = random_starts(args.n)

    # Ours, cold: the lazy per-year build happens inside the timed loop.
    cal = BusinessCalendar()
    t0 = clock.perf_counter()
    ours = [cal.due(s, HOURS, "business_hours") for s in starts]
    ours_s = clock.perf_counter() - t0

    # Per-call latency, warm calendar.
    per_call_ns = []
    for s in starts:
        t = clock.perf_counter_ns()
        cal.due(s, HOURS, "business_hours")
        per_call_ns.append(clock.perf_counter_ns() - t)
    median_us = statistics.median(per_call_ns) / 1000

    delta = reference_delta()
    t0 = clock.perf_counter()
    theirs = [s + delta for s in starts]
    theirs_s = clock.perf_counter() - t0

    # Both return aware datetimes (ours in UTC, theirs pytz Europe/Berlin); `==` compares the
    # instants. businesstimedelta also returns the closing instant when the time runs out
    # exactly at a close (`period_delta >= td_left`), and its 09:00-16:00 blocks never contain
    # a DST change, so no normalisation is needed.
    diffs = [(s, a, b) for s, a, b in zip(starts, ours, theirs, strict=True) if a != b]

    ours_rate, theirs_rate = args.n / ours_s, args.n / theirs_s
    ratio = ours_rate / theirs_rate
    print(f"starts: {args.n} random over {FIRST:%Y-%m-%d}..{END:%Y-%m-%d} (seed {SEED})")
    print(f"unit: business_hours, {HOURS} h; calendar Europe/Berlin DE-BW Mon-Fri 09:00-16:00")
    print(f"disagreements: {len(diffs)}")
    for s, a, b in diffs[:5]:
        print(f"  start {s.isoformat()}: ours {a.isoformat()}, businesstimedelta {b.isoformat()}")
    print(f"ours:              {ours_rate:12,.0f} due/s  (median {median_us:.2f} µs per due)")
    print(f"businesstimedelta: {theirs_rate:12,.0f} due/s")
    print(f"ratio:             {ratio:12,.1f}x")

    if diffs:
        return 1
    fast = median_us <= TARGET_MEDIAN_US and ratio >= TARGET_RATIO
    print(
        f"speed targets (median <= {TARGET_MEDIAN_US:g} µs, >= {TARGET_RATIO:g}x):",
        "met" if fast else "MISSED",
    )
    return 0 if fast else 2


if __name__ == "__main__":
    sys.exit(main())
