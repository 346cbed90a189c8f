"""Slows down guessing of the tokens we verify by bearer or form (admin token, ERP push token,
download token).

Per client address and realm (`admin`: the admin API and the page's sign-in, one token; `erp`:
the licence push; `download`: the software updates entitlement): after `limit` wrong tokens
within `window` seconds of the first, every attempt from that address, right or wrong, is
answered 429 with `Retry-After` until the window has passed. Checking a right token while
throttled would tell a guesser which guess was right. A right token resets the count, so a
client that sometimes sends a stale token never locks itself out while it also succeeds.

The counts live in each process's memory: with several gunicorn workers an address gets up to
workers × limit tries per window. Behind a proxy, set TRUSTED_PROXIES so that the client's
address, not the proxy's, is counted.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue

from adapter.web.errors import ApiProblem, error_body
from adapter.web.signatures import valid_bearer

logger = logging.getLogger(__name__)
EXTENSION = "entitlements.throttle"  # app.extensions key: this app's throttle
MAX_TRACKED = 10_000  # addresses remembered at once: bounds memory under many addresses


@dataclass
class _Failures:
    first: float
    count: int


class FailureThrottle:
    """Counts wrong tokens per (realm, client) in a fixed window from the first one.
    Thread-safe; `clock` is injectable (monotonic seconds)."""

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = MAX_TRACKED,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_tracked = max_tracked
        self._failures: OrderedDict[tuple[str, str], _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, realm: str, client: str) -> int | None:
        """Whole seconds until `client` may try again in `realm`; None: it may now."""
        if self.limit <= 0:
            return None
        now = self.clock()
        with self._lock:
            entry = self._current((realm, client), now)
            if entry is None or entry.count < self.limit:
                return None
            return max(1, math.ceil(entry.first + self.window - now))

    def failed(self, realm: str, client: str) -> bool:
        """Counts a wrong token; True when this one reached the limit."""
        if self.limit <= 0:
            return False
        now = self.clock()
        key = (realm, client)
        with self._lock:
            entry = self._current(key, now)
            if entry is None:
                self._make_room(now)
                entry = self._failures[key] = _Failures(now, 0)
            entry.count += 1
            return entry.count == self.limit

    def succeeded(self, realm: str, client: str) -> None:
        with self._lock:
            self._failures.pop((realm, client), None)

    def _current(self, key: tuple[str, str], now: float) -> _Failures | None:
        entry = self._failures.get(key)
        if entry is not None and now - entry.first >= self.window:
            del self._failures[key]
            return None
        return entry

    def _make_room(self, now: float) -> None:
        # Entries are in the order of their first failure: expired ones are at the front.
        while self._failures:
            key, oldest = next(iter(self._failures.items()))
            if now - oldest.first < self.window and len(self._failures) < self.max_tracked:
                break
            del self._failures[key]


def throttle() -> FailureThrottle:
    return current_app.extensions[EXTENSION]


def client_address() -> str:
    """The client's address: the peer's, or behind TRUSTED_PROXIES the forwarded one."""
    return request.remote_addr or "unknown"


def retry_after(realm: str) -> int | None:
    return throttle().retry_after(realm, client_address())


def failed(realm: str) -> None:
    client = client_address()
    if throttle().failed(realm, client):
        logger.warning("auth.throttled", extra={"realm": realm, "remote": client})


def succeeded(realm: str) -> None:
    throttle().succeeded(realm, client_address())


def too_many_attempts(seconds: int) -> ResponseReturnValue:
    """The JSON endpoints' 429, in the one error shape."""
    body = error_body(
        "too_many_attempts",
        f"too many wrong tokens from this address; try again in {seconds} s",
    )
    return jsonify(body), 429, {"Retry-After": str(seconds)}


def require_bearer(
    token: str | None, *, realm: str, setting: str, off: str
) -> ResponseReturnValue | None:
    """A blueprint's `before_request` check of `Authorization: Bearer <token>` for `realm`:
    503 when no token is set (`off` says what is off: the endpoints are never open), 401
    without a bearer token, 429 while this address is throttled, 403 with a wrong token
    (counted). None: the request may go on."""
    if not token:
        raise ApiProblem(
            503, f"{realm}_not_configured", f"ENTITLEMENTS_{setting} is not set: {off}"
        )
    header = request.headers.get("Authorization")
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        body = error_body("unauthorized", f"send Authorization: Bearer <{setting}>")
        return jsonify(body), 401, {"WWW-Authenticate": f'Bearer realm="{realm}"'}
    wait = retry_after(realm)
    if wait is not None:
        return too_many_attempts(wait)
    if not valid_bearer(token, header):
        logger.warning(f"{realm}.forbidden", extra={"remote": request.remote_addr})
        failed(realm)
        raise ApiProblem(403, "forbidden", f"the bearer token is not the {realm} token")
    succeeded(realm)
    return None
