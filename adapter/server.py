"""`entitlements serve`'s HTTP server: waitress, a production WSGI server, in the one process
that also runs the embedded worker.

Why waitress (docs/operations.md, "Running it: two ways"): pure Python with no C extension and
no dependency of its own, one process with a pool of request threads and no fork, so the
embedded worker's threads share the process (its database pool, its metrics) as they did under
Werkzeug's development server, which `serve` used before. It reads each request whole before
the app sees it, so a slow client holds no request thread. gunicorn stays the scaled-out web
tier (`adapter.wsgi`): it forks, and forking a process that already runs worker threads is what
one process with an embedded worker cannot do.

What `serve` kept from the development server: the app is the same (ProxyFix for
TRUSTED_PROXIES, MAX_BODY_BYTES as Flask's limit, answered 413 in the error shape); waitress
leaves X-Forwarded-* to ProxyFix (its own header handling is off) and refuses, before reading
it, only a body more than `BODY_SLACK` over that limit. SIGTERM and SIGINT stop it gracefully:
the listening socket closes, requests already received are answered (for up to `GRACE`
seconds), idle connections close, then the caller stops the worker. Each request is logged as
the event `http.request` (JSON, no terminal colours), as Werkzeug's request lines were.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

logger = logging.getLogger(__name__)

GRACE = 10.0  # seconds a stopping server keeps answering the requests it has received
BODY_SLACK = 1024 * 1024  # waitress refuses unread beyond MAX_BODY_BYTES + this
REQUEST_THREADS = 8
_POLL = 0.05  # seconds between looks while draining

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ServeError(RuntimeError):
    """The server could not start (e.g. the address is taken)."""


def access_logged(app: WsgiApp) -> WsgiApp:
    """`app`, logging each request as the event `http.request`: client address (ProxyFix has
    set the real one by the time the app returns), method, path with query string, status and
    milliseconds. Query strings carry no credential on any endpoint."""

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        status: list[str] = []

        def recording(code: str, headers: Any, exc_info: Any = None) -> Any:
            status[:] = [code]
            return start_response(code, headers, exc_info)

        try:
            return app(environ, recording)
        finally:
            query = environ.get("QUERY_STRING")
            logger.info(
                "http.request",
                extra={
                    "remote": environ.get("REMOTE_ADDR"),
                    "method": environ.get("REQUEST_METHOD"),
                    "path": environ.get("PATH_INFO", "") + (f"?{query}" if query else ""),
                    "status": int(status[0].split()[0]) if status else 500,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )

    return logged


class WebServer:
    """waitress on `host`:`port` (port 0: any free one) with `threads` request threads. Runs in
    the calling thread until `stop` is set, then drains (see the module's doc)."""

    def __init__(
        self, app: WsgiApp, host: str, port: int, *, max_body_bytes: int, threads: int
    ) -> None:
        self._map: dict[int, Any] = {}
        try:
            self._server = create_server(
                access_logged(app),
                map=self._map,
                host=host,
                port=port,
                threads=threads,
                # ProxyFix (TRUSTED_PROXIES) decides about X-Forwarded-*, as under gunicorn;
                # waitress would otherwise drop them before the app sees them.
                clear_untrusted_proxy_headers=False,
                max_request_body_size=max_body_bytes + BODY_SLACK,
            )
        except OSError as e:
            wasyncore.close_all(self._map)  # the socket that could not bind, and its trigger
            raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
        self._dispatcher = self._server.task_dispatcher

    def _listeners(self) -> list[BaseWSGIServer]:
        return [o for o in self._map.values() if isinstance(o, BaseWSGIServer)]

    def _channels(self) -> list[HTTPChannel]:
        return [o for o in self._map.values() if isinstance(o, HTTPChannel)]

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Where it listens: one (host, port) per socket ("localhost" may give two)."""
        return [(s.effective_host, int(s.effective_port)) for s in self._listeners()]

    def serve_until(self, stop: threading.Event, grace: float = GRACE) -> None:
        adj = self._server.adj
        try:
            while not stop.is_set():
                # One round of waitress's own loop (`run()` is this without the stop).
                wasyncore.loop(
                    timeout=adj.asyncore_loop_timeout,
                    map=self._map,
                    use_poll=adj.asyncore_use_poll,
                    count=1,
                )
            self._drain(grace)
        finally:
            self._dispatcher.shutdown(cancel_pending=True, timeout=1)
            wasyncore.close_all(self._map)

    def _drain(self, grace: float) -> None:
        """No new connections; the requests received are answered and sent, idle connections
        closed; at most `grace` seconds."""
        for listener in self._listeners():
            # The socket only: the server's trigger still wakes this loop for answers.
            wasyncore.dispatcher.close(listener)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            for channel in self._channels():
                # `requests` empties only after the answer is in the buffer (channel.service).
                if not channel.requests and not channel.total_outbufs_len:
                    channel.handle_close()
            if not self._channels():
                return
            wasyncore.loop(timeout=_POLL, map=self._map, use_poll=True, count=1)
        busy = len(self._channels())
        logger.warning("http.stop-timed-out", extra={"connections": busy, "grace": grace})
