"""An in-process ERP stand-in: the licence pull API on 127.0.0.1, for tests and benchmarks.

`GET /api/licences` answers in the shape the shipped `erp.yaml` describes: the ERP's own item
shape (not ours, so the field mapping is exercised), ordered by (changed_at, id), filtered by
`updated_since` (inclusive), paged either by page number (`?page=2&per_page=100` ->
`{"data": [...], "meta": {...}}`) or by cursor (`?cursor=...&limit=100` ->
`{"data": [...], "next_cursor": ... | null}`), chosen at construction. Bearer token auth.

The first `count` licences are made on demand from their index (licence i changed at
`start + i` seconds), so 100,000 of them cost no memory. `put`/`update` add or change
licences the way the ERP would: the change gets a change time after every other, so the
licence moves to the end of the order. Faults (a status, a delay, a reset before answering or
in the middle of the body) can be injected for the next N requests; every request is logged.

It must stay free of `adapter`/`mappings`/`webhooks` imports: it stands for the outside.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hmac
import json
import logging
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["ErpStandin", "RequestRecord"]


from standins.loopback import LoopbackHandler, LoopbackServer

log = logging.getLogger(__name__)

PATH = "/api/licences"
PAGING_STYLES = ("page", "cursor")
RESETS = ("before", "mid_body")
START = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCTS = ("SP-COM", "SP-BASIC-10", "SP-PRO-10", "SP-BASIC-25", "SP-PRO-25")
PRICES = {"SP-COM": 0, "SP-BASIC-10": 1800, "SP-PRO-10": 2700, "SP-BASIC-25": 3600}
STEP = timedelta(seconds=1)

Key = tuple[datetime, str]


@dataclass(frozen=True)
class RequestRecord:
    """One request as the stand-in saw it; `status` is None for a reset connection."""

    method: str
    path: str
    params: dict[str, str]
    status: int | None
    fault: str | None = None


@dataclass
class _Fault:
    status: int | None
    times: int
    retry_after: str | None
    delay: float
    reset: str | None

    def describe(self) -> str:
        if self.reset:
            return f"reset {self.reset}"
        return f"status {self.status}" if self.status is not None else f"delay {self.delay}"


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]]
    reset_mid_body: bool = False


def generated_item(index: int, start: datetime = START) -> dict[str, Any]:
    """Licence `index` (from 0) as the ERP shows it; three licences per customer."""
    customer = index // 3 + 1
    product = PRODUCTS[index % len(PRODUCTS)]
    ordered = date(2025, 1, 1) + timedelta(days=index % 700)
    state, cancelled = "ACTIVE", None
    if index % 97 == 96:
        state, cancelled = "TERMINATED", ordered + timedelta(days=200)
    elif index % 41 == 40:
        state, cancelled = "NOTICE_GIVEN", date(ordered.year + 1, 9, 1)
    return {
        "id": f"LIC-{index + 1:06d}",
        "version": 1,
        "customer": {"number": f"C-{customer:05d}", "name": f"Kunde {customer} GmbH"},
        "article": {"sku": product, "description": f"smartPerform support {product}"},
        "order_date": ordered.isoformat(),
        "acceptance_date": (
            (ordered + timedelta(days=14)).isoformat() if product == "SP-COM" else None
        ),
        "go_live_date": None,
        "price": {"net": f"{PRICES.get(product, 5400) + index % 10}.00", "currency": "EUR"},
        "state": state,
        "cancellation_date": cancelled.isoformat() if cancelled else None,
        "addons": ["THIRD_PARTY_SUPPORT"] if index % 7 == 0 else [],
        "changed_at": _stamp(start + index * STEP),
    }


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _instant(text: str) -> datetime:
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _Handler(LoopbackHandler):
    server_version = "ErpStandin"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)
        reply = self.server.standin._handle(self.command, self.path, self.headers)
        if reply is None:
            self.server.mark_reset(self.connection)
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.reset_mid_body:
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.server.mark_reset(self.connection)
            self.close_connection = True
            return
        self.wfile.write(reply.body)


class ErpStandin:
    """The ERP's licence pull API on 127.0.0.1 (an ephemeral port unless `port` is given).

    `paging`: "page" (`page`, `per_page`) or "cursor" (`cursor`, `limit`). `auth_header`: the
    token in that header instead of `Authorization: Bearer`. Pages hold at most
    `max_page_size` items, whatever the client asks for.
    """

    def __init__(
        self,
        count: int = 0,
        *,
        paging: str = "page",
        token: str | None = None,
        auth_header: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = PATH,
        max_page_size: int = 1_000,
        start: datetime = START,
    ) -> None:
        if paging not in PAGING_STYLES:
            raise ValueError(f"paging must be one of {PAGING_STYLES}, not {paging!r}")
        if count < 0 or max_page_size < 1:
            raise ValueError("count must be >= 0 and max_page_size >= 1")
        self.count = count
        self.paging = paging
        self.token = token or secrets.token_urlsafe(32)
        self.auth_header = auth_header
        self.path = path
        self.max_page_size = max_page_size
        self.start_time = start
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._replaced: list[int] = []  # sorted indices of generated licences changed since
        self._extras: dict[str, dict[str, Any]] = {}  # id -> item, put or changed licences
        self._extra_keys: list[Key] = []  # their (changed_at, id), sorted
        self._clock = start + count * STEP  # the next change time to hand out
        self._faults: list[_Fault] = []
        self._requests: list[RequestRecord] = []
        self._httpd = LoopbackServer((host, port), _Handler, self, "erp stand-in")
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """What the ERP_URL setting takes."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ErpStandin:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="erp-standin-http",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends injected delays
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.close_connections()
        self._httpd.server_close()

    def __enter__(self) -> ErpStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- control: licences ---------------------------------------------------------------------

    def item(self, licence_id: str) -> dict[str, Any] | None:
        """A licence as the ERP shows it now."""
        with self._lock:
            if licence_id in self._extras:
                return json.loads(json.dumps(self._extras[licence_id]))
            index = self._generated_index(licence_id)
            return None if index is None else generated_item(index, self.start_time)

    def put(self, item: dict[str, Any]) -> dict[str, Any]:
        """Add or replace a licence (by `id`). It gets the next change time, or the one it
        brings if that is later than every generated licence's. Returns the item as stored."""
        if not isinstance(item.get("id"), str) or not item["id"]:
            raise ValueError("an ERP item needs a text id")
        stored = json.loads(json.dumps(item))  # a copy, and JSON-safe
        with self._lock:
            given = stored.get("changed_at")
            instant = _instant(given) if isinstance(given, str) else self._clock
            if instant < self.start_time + self.count * STEP:
                # The order is: generated licences, then changed ones (see _items).
                raise ValueError("changed_at must be later than every generated licence's")
            self._clock = max(self._clock, instant + STEP)
            stored["changed_at"] = _stamp(instant)
            licence_id = stored["id"]
            index = self._generated_index(licence_id)
            at = bisect.bisect_left(self._replaced, index) if index is not None else 0
            if index is not None and self._replaced[at : at + 1] != [index]:
                self._replaced.insert(at, index)
            old = self._extras.get(licence_id)
            if old is not None:
                self._extra_keys.remove((_instant(old["changed_at"]), licence_id))
            self._extras[licence_id] = stored
            bisect.insort(self._extra_keys, (instant, licence_id))
        return json.loads(json.dumps(stored))

    def update(self, licence_id: str, **changes: Any) -> dict[str, Any]:
        """Change a licence as the ERP would: its version goes up by one unless given."""
        current = self.item(licence_id)
        if current is None:
            raise KeyError(licence_id)
        current.pop("changed_at", None)
        version = current.get("version")
        if "version" not in changes and isinstance(version, int):
            changes["version"] = version + 1
        return self.put({**current, **changes})

    # --- control: faults and the log ---------------------------------------------------------

    def inject_fault(
        self,
        status: int | None = None,
        *,
        times: int = 1,
        retry_after: int | str | None = None,
        delay: float = 0.0,
        reset: str | None = None,
    ) -> None:
        """The next `times` requests wait `delay` seconds, then answer `status` (with
        `Retry-After` if given), or reset the connection ("before" answering, or "mid_body":
        headers and half the body, then RST), or, with only a delay, are served normally."""
        if reset is not None and reset not in RESETS:
            raise ValueError(f"reset must be one of {RESETS}")
        if status is None and reset is None and delay <= 0:
            raise ValueError("a fault needs a status, a delay or a reset")
        if status is not None and reset is not None:
            raise ValueError("a fault either answers a status or resets, not both")
        if times < 1:
            raise ValueError("times must be at least 1")
        ra = None if retry_after is None else str(retry_after)
        with self._lock:
            self._faults.append(_Fault(status, times, ra, delay, reset))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # --- HTTP ----------------------------------------------------------------------------------

    def _handle(self, method: str, target: str, headers: Any) -> _Reply | None:
        """Answer one request; None: reset the connection without answering."""
        parts = urlsplit(target)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        fault = self._take_fault()
        described = fault.describe() if fault else None
        if fault is not None:
            if fault.delay > 0:
                self._stopping.wait(fault.delay)
            if fault.reset == "before":
                self._log(method, parts.path, params, None, described)
                return None
            if fault.status is not None:
                extra = [("Retry-After", fault.retry_after)] if fault.retry_after else []
                reply = _error(fault.status, "injected fault", extra)
                self._log(method, parts.path, params, fault.status, described)
                return reply
        reply = self._dispatch(method, parts.path, params, headers)
        if fault is not None and fault.reset == "mid_body":
            reply.reset_mid_body = True
            self._log(method, parts.path, params, None, described)
        else:
            self._log(method, parts.path, params, reply.status, described)
        return reply

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.pop(0)
            return fault

    def _log(
        self, method: str, path: str, params: dict[str, str], status: int | None, fault: str | None
    ) -> None:
        with self._lock:
            self._requests.append(RequestRecord(method, path, params, status, fault))

    def _dispatch(self, method: str, path: str, params: dict[str, str], headers: Any) -> _Reply:
        if path.rstrip("/") != self.path:
            return _error(404, f"no route {path}")
        if method != "GET":
            return _error(405, f"{method} not allowed", [("Allow", "GET")])
        if self.auth_header:
            given, expected = headers.get(self.auth_header) or "", self.token
        else:
            given, expected = headers.get("Authorization") or "", f"Bearer {self.token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return _error(401, "invalid token", [("WWW-Authenticate", 'Bearer realm="erp"')])
        try:
            since = _instant(params["updated_since"]) if params.get("updated_since") else None
            size_name = "per_page" if self.paging == "page" else "limit"
            size = min(int(params.get(size_name) or 50), self.max_page_size)
            if size < 1:
                raise ValueError(f"{size_name} must be at least 1")
            if self.paging == "page":
                page = int(params.get("page") or 1)
                if page < 1:
                    raise ValueError("page must be at least 1")
                return _ok(self._page(since, page, size))
            cursor = _decode_cursor(params["cursor"]) if params.get("cursor") else None
            return _ok(self._cursor_page(since, cursor, size))
        except (ValueError, KeyError, binascii.Error) as e:
            return _error(400, f"bad parameter: {e}")

    # --- the licences in order -----------------------------------------------------------------

    def _page(self, since: datetime | None, page: int, size: int) -> dict[str, Any]:
        with self._lock:
            first_index = self._first_index(since)
            first_extra = self._first_extra(since)
            generated = self.count - first_index - self._replaced_from(first_index)
            total = generated + len(self._extra_keys) - first_extra
            offset = (page - 1) * size
            items = list(self._items(first_index, first_extra, offset, generated, size))
        return {"data": items, "meta": {"page": page, "per_page": size, "total": total}}

    def _cursor_page(self, since: datetime | None, cursor: Key | None, size: int) -> dict[str, Any]:
        with self._lock:
            first_index = self._first_index(since)
            first_extra = self._first_extra(since)
            if cursor is not None:
                # Keyset: strictly after the cursor's (changed_at, id).
                first_index = max(first_index, self._index_after(cursor))
                first_extra = max(first_extra, bisect.bisect_right(self._extra_keys, cursor))
            generated = self.count - first_index - self._replaced_from(first_index)
            items = list(self._items(first_index, first_extra, 0, generated, size + 1))
        more = len(items) > size
        items = items[:size]
        last = items[-1] if items else None
        next_cursor = _encode_cursor(_instant(last["changed_at"]), last["id"]) if more else None
        return {"data": items, "next_cursor": next_cursor}

    def _items(
        self, first_index: int, first_extra: int, offset: int, generated: int, size: int
    ) -> Iterator[dict[str, Any]]:
        """`size` items from `offset` of: the generated licences not changed since (from
        `first_index`), then the changed or added ones (from `first_extra`), which all have
        later change times."""
        index = self._nth_generated(first_index, offset) if offset < generated else self.count
        produced = 0
        replaced = set(self._replaced)
        while index < self.count and produced < size:
            if index not in replaced:
                yield generated_item(index, self.start_time)
                produced += 1
            index += 1
        extra = first_extra + max(offset - generated, 0)
        for _, licence_id in self._extra_keys[extra : extra + size - produced]:
            yield json.loads(json.dumps(self._extras[licence_id]))

    def _first_index(self, since: datetime | None) -> int:
        if since is None or since <= self.start_time:
            return 0
        seconds = (since - self.start_time).total_seconds()
        return min(int(-(-seconds // 1)), self.count)  # ceil: the first at or after `since`

    def _index_after(self, key: Key) -> int:
        instant, licence_id = key
        index = self._first_index(instant)
        at_instant = index < self.count and self.start_time + index * STEP == instant
        if at_instant and f"LIC-{index + 1:06d}" <= licence_id:
            index += 1
        return index

    def _first_extra(self, since: datetime | None) -> int:
        if since is None:
            return 0
        return bisect.bisect_left(self._extra_keys, (since, ""))

    def _replaced_from(self, index: int) -> int:
        return len(self._replaced) - bisect.bisect_left(self._replaced, index)

    def _nth_generated(self, first_index: int, n: int) -> int:
        """The index of the n-th (from 0) generated licence at or after `first_index` that has
        not been changed since."""
        index = first_index + n
        # Each replaced index at or before the candidate pushes it one further.
        skipped = bisect.bisect_left(self._replaced, first_index)
        while True:
            behind = bisect.bisect_right(self._replaced, index) - skipped
            candidate = first_index + n + behind
            if candidate == index:
                return index
            index = candidate

    def _generated_index(self, licence_id: str) -> int | None:
        if not licence_id.startswith("LIC-") or not licence_id[4:].isdigit():
            return None
        index = int(licence_id[4:]) - 1
        if not 0 <= index < self.count or f"LIC-{index + 1:06d}" != licence_id:
            return None
        return index


def _encode_cursor(instant: datetime, licence_id: str) -> str:
    raw = json.dumps([_stamp(instant), licence_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(text: str) -> Key:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    stamp, licence_id = json.loads(raw)
    return _instant(stamp), str(licence_id)


def _ok(body: dict[str, Any]) -> _Reply:
    return _Reply(200, json.dumps(body, separators=(",", ":")).encode(), [])


def _error(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> _Reply:
    body = {"error": HTTPStatus(status).phrase, "message": message}
    return _Reply(status, json.dumps(body).encode(), headers or [])
