"""Business calendar: support hours, public holidays and reaction-due arithmetic.

Open time is the union of the timeframes of each local date in the calendar's time zone. A date is
closed if it is a public holiday or one of `closed_days`, unless `special_hours` lists it: per-date
hours override weekday hours and holidays alike (an empty sequence closes the date).

Design, for speed: per local year we build, lazily, the open intervals as UTC epoch microseconds
together with the local date each belongs to. The built years are flattened into sorted arrays
(starts, ends, prefix sum of open time, working-day index), so every query is a few `bisect`
calls. Integer microseconds keep the arithmetic exact, so that
`add(add(t, a), b) == add(t, a + b)` holds to the microsecond. Wall-clock times are converted
with `zoneinfo`, which makes daylight-saving changes come out right.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta
from threading import Lock
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = ["BusinessCalendar", "CalendarError", "Timeframe"]

Timeframe = tuple[time, time]
"""[start, end) in local wall-clock time; end must be later than start on the same date."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_DEFAULT_HOURS: tuple[Timeframe, ...] = ((time(9), time(16)),)
_DEFAULT_WEEK: dict[int, tuple[Timeframe, ...]] = dict.fromkeys(range(5), _DEFAULT_HOURS)
UNITS = ("working_days", "business_hours")


class CalendarError(ValueError):
    """A calendar was configured or queried with invalid input."""


def _to_us(at: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact, unlike `timestamp()`)."""
    d = at - _EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _frames(value: object, where: str) -> tuple[Timeframe, ...]:
    """Validate timeframes and return them sorted, with overlapping or touching ones merged."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise CalendarError(f"{where}: expected a sequence of (start, end) times, got {value!r}")
    out: list[list[time]] = []
    for frame in sorted(_frame(f, where) for f in value):
        if out and frame[0] <= out[-1][1]:
            out[-1][1] = max(out[-1][1], frame[1])
        else:
            out.append(list(frame))
    return tuple((s, e) for s, e in out)


def _frame(frame: object, where: str) -> Timeframe:
    if not (isinstance(frame, Sequence) and len(frame) == 2):
        raise CalendarError(f"{where}: a timeframe is a (start, end) pair, got {frame!r}")
    start, end = frame
    if not (isinstance(start, time) and isinstance(end, time)):
        raise CalendarError(f"{where}: timeframe bounds must be datetime.time, got {frame!r}")
    if start.tzinfo is not None or end.tzinfo is not None:
        raise CalendarError(f"{where}: timeframe times are local wall-clock times, without tzinfo")
    if not start < end:
        raise CalendarError(f"{where}: timeframe end must be after its start, got {start}-{end}")
    return start, end


def _aware_us(at: object, name: str) -> int:
    if not isinstance(at, datetime):
        raise CalendarError(f"{name} must be a datetime, got {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise CalendarError(f"{name} must be timezone-aware, got naive datetime {at.isoformat()}")
    return _to_us(at)


class BusinessCalendar:
    """Support hours in one time zone, with the public holidays of one region.

    All datetime arguments must be timezone-aware; all results are aware datetimes in UTC.
    """

    time_zone: ZoneInfo

    def __init__(
        self,
        *,
        time_zone: str = "Europe/Berlin",
        weekly_hours: Mapping[int, Sequence[Timeframe]] | None = None,
        country: str | None = "DE",
        subdivision: str | None = "BW",
        closed_days: Iterable[date] = (),
        special_hours: Mapping[date, Sequence[Timeframe]] | None = None,
    ) -> None:
        try:
            self.time_zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise CalendarError(f"unknown time zone {time_zone!r}") from exc

        week = _DEFAULT_WEEK if weekly_hours is None else weekly_hours
        self._week: list[tuple[Timeframe, ...]] = [()] * 7
        for weekday, frames in week.items():
            if not (isinstance(weekday, int) and 0 <= weekday <= 6):
                raise CalendarError(f"weekly_hours: weekday must be 0 (Mon)..6 (Sun): {weekday!r}")
            self._week[weekday] = _frames(frames, f"weekly_hours[{weekday}]")

        self._closed = frozenset(closed_days)
        self._special: dict[date, tuple[Timeframe, ...]] = {}
        for day, frames in (special_hours or {}).items():
            if isinstance(day, datetime) or not isinstance(day, date):
                raise CalendarError(f"special_hours: keys must be dates, got {day!r}")
            self._special[day] = _frames(frames, f"special_hours[{day}]")
        for day in self._closed:
            if isinstance(day, datetime) or not isinstance(day, date):
                raise CalendarError(f"closed_days: expected dates, got {day!r}")

        if subdivision is not None and country is None:
            raise CalendarError(f"subdivision {subdivision!r} given without a country")
        self._country = country
        self._subdivision = subdivision
        self._holiday_cache: dict[int | None, Mapping[date, str]] = {}
        self._names: dict[tuple[int, str | None], Mapping[date, str]] = {}  # holiday_name's
        if country is not None:
            self._holidays_of(None)  # fail now, not at the first query, on unknown regions

        # The last year that can have open time; beyond it, searching forward is pointless.
        if any(self._week):
            self._last_year = MAXYEAR - 1
        else:
            open_days = [d.year for d, frames in self._special.items() if frames]
            self._last_year = max(open_days, default=MINYEAR)

        self._years: dict[int, list[tuple[int, int, int]]] = {}
        self._lock = Lock()  # serialises builds; queries read the current `_Index` unlocked
        self._ix = _Index.build(self, 0, 0)

    # ----------------------------------------------------------------- public API

    def is_working_day(self, day: date) -> bool:
        """Whether `day` (a local date) has any open hours."""
        if isinstance(day, datetime) or not isinstance(day, date):
            raise CalendarError(f"day must be a date, got {day!r}")
        return bool(self._local_frames(day, self._holidays_of(day.year)))

    def is_holiday(self, day: date) -> bool:
        """Whether `day` (a local date) is a public holiday of the calendar's region."""
        if isinstance(day, datetime) or not isinstance(day, date):
            raise CalendarError(f"day must be a date, got {day!r}")
        return day in self._holidays_of(day.year)

    def holiday_name(self, day: date, language: str) -> str | None:
        """The name of the public holiday on `day` (a local date) in `language` (`de`, `en`, or
        a locale such as `en_US`: the nearest one the `holidays` package has for the region);
        None on any other day."""
        if not self.is_holiday(day):
            return None
        supported = getattr(self._holidays_of(day.year), "supported_languages", ())
        locale = next((s for s in supported if s == language or s.startswith(f"{language}_")), None)
        key = (day.year, locale)
        names = self._names.get(key)
        if names is None:
            assert self._country is not None  # is_holiday found one
            names = holidays.country_holidays(
                self._country, subdiv=self._subdivision, years=day.year, language=locale
            )
            self._names[key] = names
        return names.get(day)

    def is_open(self, at: datetime) -> bool:
        """Whether `at` lies inside [start, end) of a timeframe."""
        t = _aware_us(at, "at")
        ix = self._index_for(t)
        i = bisect_right(ix.ends, t)
        return i < len(ix.starts) and ix.starts[i] <= t

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself (in UTC) if open, else the start of the next timeframe."""
        t = _aware_us(at, "at")
        ix, i = self._next_interval(t)
        return _from_us(max(t, ix.starts[i]))

    def add_business_time(self, start: datetime, delta: timedelta) -> datetime:
        """`start` plus `delta` of open time.

        Counting begins at the next opening if `start` is closed. A result that exhausts `delta`
        exactly at a closing instant is that closing instant (Mon 09:00 + 7 h = Mon 16:00).
        A zero `delta` returns `start` unchanged (in UTC).
        """
        t = _aware_us(start, "start")
        if not isinstance(delta, timedelta) or delta < timedelta(0):
            raise CalendarError(f"delta must be a non-negative timedelta, got {delta!r}")
        d = delta // _US
        if d == 0:
            return _from_us(t)
        ix, i = self._next_interval(t)
        while True:
            target = ix.cum[i] + max(t - ix.starts[i], 0) + d  # open µs from the index start
            if target <= ix.cum[-1]:
                break
            ix = self._grow(ix)
            i = bisect_right(ix.ends, t)  # positions shift if an earlier year was built meanwhile
        # Interval j with cum[j] < target <= cum[j + 1]: ending on a close stays on that close.
        j = bisect_left(ix.cum, target) - 1
        return _from_us(ix.starts[j] + target - ix.cum[j])

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same local clock time `days` working days after the next opening of `start`.

        Inside support hours the clock time of `start` is kept; outside, the next opening's is.
        `days == 0` is `next_opening(start)`. If the target day's hours do not contain that clock
        time it is clamped: before the day's first timeframe -> that frame's start; in a gap
        between timeframes -> the next frame's start; after the last frame -> the last frame's end.
        """
        t = _aware_us(start, "start")
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise CalendarError(f"days must be a non-negative integer, got {days!r}")
        ix, i = self._next_interval(t)
        t0 = max(t, ix.starts[i])
        if days == 0:
            return _from_us(t0)
        while (k := ix.iv_day[i] + days) >= len(ix.days):
            ix = self._grow(ix)
            i = bisect_right(ix.ends, t)
        clock = _from_us(t0).astimezone(self.time_zone).time()
        target_day = date.fromordinal(ix.days[k])
        x = _to_us(datetime.combine(target_day, clock, tzinfo=self.time_zone))
        lo, hi = ix.day_first[k], ix.day_first[k + 1]
        j = bisect_right(ix.ends, x, lo, hi)  # first frame of that day still open after x
        if j == hi:
            return _from_us(ix.ends[hi - 1])
        return _from_us(max(x, ix.starts[j]))

    def due(self, start: datetime, amount: float, unit: str) -> datetime:
        """Reaction due: `amount` working days or business hours after `start`, in UTC."""
        if unit == "working_days":
            return self.add_working_days(start, int(amount))
        if unit == "business_hours":
            return self.add_business_time(start, timedelta(hours=amount))
        raise CalendarError(f"unknown reaction unit {unit!r}; expected one of {', '.join(UNITS)}")

    # ------------------------------------------------------------------ internals

    def _holidays_of(self, year: int | None) -> Mapping[date, str]:
        if self._country is None:
            return {}
        cached = self._holiday_cache.get(year)
        if cached is not None:
            return cached
        try:
            found = holidays.country_holidays(
                self._country, subdiv=self._subdivision, years=() if year is None else year
            )
        except NotImplementedError as exc:  # how `holidays` reports unknown regions
            region = self._country + (f"-{self._subdivision}" if self._subdivision else "")
            raise CalendarError(f"unknown holiday region {region!r}: {exc}") from exc
        self._holiday_cache[year] = found
        return found

    def _local_frames(self, day: date, holiday_dates: Mapping[date, str]) -> tuple[Timeframe, ...]:
        special = self._special.get(day)
        if special is not None:
            return special
        if day in self._closed or day in holiday_dates:
            return ()
        return self._week[day.weekday()]

    def _year_intervals(self, year: int) -> list[tuple[int, int, int]]:
        """Open intervals (start µs, end µs, date ordinal) of the local dates of `year`, cached."""
        if year in self._years:
            return self._years[year]
        tz = self.time_zone
        hol = self._holidays_of(year)
        out: list[tuple[int, int, int]] = []
        for ordinal in range(date(year, 1, 1).toordinal(), date(year + 1, 1, 1).toordinal()):
            day = date.fromordinal(ordinal)
            merged: list[list[int]] = []
            for s, e in self._local_frames(day, hol):
                a = _to_us(datetime.combine(day, s, tzinfo=tz))
                b = _to_us(datetime.combine(day, e, tzinfo=tz))
                # A frame inside a DST gap can shrink to nothing; frames can touch after DST.
                if b <= a:
                    continue
                if merged and a <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], b)
                else:
                    merged.append([a, b])
            out.extend((a, b, ordinal) for a, b in merged)
        self._years[year] = out
        return out

    def _rebuild(self, first: int, end: int) -> _Index:
        """Publish an index covering the built years and [first, end), contiguously."""
        with self._lock:
            cur = self._ix
            if cur.end_year:
                first, end = min(first, cur.first_year), max(end, cur.end_year)
            if first < MINYEAR + 1 or end > MAXYEAR:
                raise CalendarError("date outside the range this calendar can compute")
            if (first, end) != (cur.first_year, cur.end_year):
                self._ix = _Index.build(self, first, end)
            return self._ix

    def _index_for(self, t: int) -> _Index:
        """The current index, built out to cover instant `t`."""
        ix = self._ix
        if ix.lo <= t < ix.hi:
            return ix
        try:
            year = _from_us(t).astimezone(self.time_zone).year
        except OverflowError as exc:
            raise CalendarError("date outside the range this calendar can compute") from exc
        return self._rebuild(year, year + 1)

    def _grow(self, ix: _Index) -> _Index:
        """An index with at least one more year after `ix`'s last one."""
        if ix.end_year > self._last_year:
            raise CalendarError("the calendar has no open time after this instant")
        return self._rebuild(ix.first_year, ix.end_year + 1)

    def _next_interval(self, t: int) -> tuple[_Index, int]:
        """An index and in it the first open interval that ends after `t`."""
        ix = self._index_for(t)
        while (i := bisect_right(ix.ends, t)) == len(ix.starts):
            ix = self._grow(ix)
        return ix, i


class _Index:
    """Immutable search arrays over the contiguous local years [first_year, end_year).

    Replaced as a whole when years are added, so concurrent readers always see one consistent
    snapshot.
    """

    __slots__ = (
        "cum",
        "day_first",
        "days",
        "end_year",
        "ends",
        "first_year",
        "hi",
        "iv_day",
        "lo",
        "starts",
    )

    def __init__(self, first_year: int, end_year: int, lo: int, hi: int) -> None:
        self.first_year, self.end_year = first_year, end_year
        self.lo, self.hi = lo, hi  # UTC µs covered: [local midnight 1 Jan first, ... end)
        self.starts: list[int] = []  # open intervals, sorted and disjoint
        self.ends: list[int] = []
        self.cum: list[int] = [0]  # cum[i] = open µs before interval i; one longer than starts
        self.iv_day: list[int] = []  # interval -> index of its working day in `days`
        self.days: list[int] = []  # working days as date ordinals
        self.day_first: list[int] = []  # working day k owns intervals [first[k], first[k + 1])

    @classmethod
    def build(cls, cal: BusinessCalendar, first: int, end: int) -> _Index:
        if first == end:  # nothing built yet
            return cls(0, 0, 0, 0)
        tz = cal.time_zone
        lo = _to_us(datetime(first, 1, 1, tzinfo=tz))
        ix = cls(first, end, lo, _to_us(datetime(end, 1, 1, tzinfo=tz)))
        starts, ends, cum, iv_day, days = ix.starts, ix.ends, ix.cum, ix.iv_day, ix.days
        for year in range(first, end):
            for a, b, ordinal in cal._year_intervals(year):
                if not days or days[-1] != ordinal:
                    days.append(ordinal)
                    ix.day_first.append(len(starts))
                starts.append(a)
                ends.append(b)
                cum.append(cum[-1] + b - a)
                iv_day.append(len(days) - 1)
        ix.day_first.append(len(starts))
        return ix
