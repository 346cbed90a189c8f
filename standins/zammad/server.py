"""The HTTP entry point: one request in, token authentication, a route (from the table in
standin.py) under the stand-in's lock, and the request log."""

from __future__ import annotations

import copy
import hmac
import json
import logging
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from standins.loopback import LoopbackHandler
from standins.zammad.api import Reply, Request, json_reply
from standins.zammad.faults import error_reply
from standins.zammad.refusal import ZammadRefusal

log = logging.getLogger(__name__)


API_PREFIX = "/api/v1/"


@dataclass(frozen=True)
class RequestRecord:
    """One REST request as the stand-in saw it. ``status`` is None for a reset connection."""

    method: str
    path: str
    query: str
    status: int | None
    body: Any
    fault: str | None = None


class Handler(LoopbackHandler):
    server_version = "ZammadStandin"

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.send_error(HTTPStatus.BAD_REQUEST)
            return
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            # The client went away before its body was complete (a killed worker). Puma, which
            # serves Zammad, never hands such a request to Rails: its Client#read_body raises
            # EOFError on a socket closed mid-body (puma/lib/puma/client.rb). Answering it as an
            # empty request would record a PUT that Zammad never saw.
            self.close_connection = True
            return
        reply = self.server.standin._handle(self.command, self.path, self.headers, raw)
        if reply is None:
            self.server.mark_reset(self.connection)
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


class Server:
    """Answers the REST requests the HTTP server hands over and logs them."""

    # ------------------------------------------------------------------ control API

    @property
    def requests(self) -> list[RequestRecord]:
        """Every REST request received, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # ------------------------------------------------------------------ HTTP entry point

    def _handle(self, method: str, target: str, headers: Any, raw: bytes) -> Reply | None:
        """Answer one request; None means: reset the connection without answering."""
        parts = urlsplit(target)
        path = parts.path
        body: Any = None
        body_error = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body_error = True
        fault = self._take_fault(method, path)
        if fault is not None:
            if fault.delay > 0:
                time.sleep(fault.delay)
            if fault.reset:
                self._log_request(method, parts, None, body, "reset")
                return None
            if fault.status is not None:
                reply = error_reply(fault.status, fault.retry_after)
                self._log_request(method, parts, fault.status, body, fault.describe())
                return reply
        reply = self._dispatch(method, parts.path, parts.query, headers, body, body_error)
        self._log_request(method, parts, reply.status, body, fault.describe() if fault else None)
        return reply

    def _log_request(
        self, method: str, parts: Any, status: int | None, body: Any, fault: str | None
    ) -> None:
        with self._lock:
            self._requests.append(
                RequestRecord(method, parts.path, parts.query, status, copy.deepcopy(body), fault)
            )

    def _dispatch(
        self,
        method: str,
        path: str,
        query: str,
        headers: Any,
        body: Any,
        body_error: bool,
    ) -> Reply:
        if not path.startswith(API_PREFIX):
            return json_reply(404, _no_route(method, path))
        expected = f"Token token={self.token}"
        given = headers.get("Authorization") or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return _auth_refused(given)
        if body_error:
            return json_reply(400, {"error": "Bad Request", "error_human": "Invalid JSON body"})
        relative = path[len(API_PREFIX) :].rstrip("/")
        request = Request(
            method, path, parse_qs(query, keep_blank_values=True), body, self.integration_user_id
        )
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(relative)
            if match is None or route_method != method:
                continue
            try:
                with self._lock:
                    status, result = handler(request, *match.groups())
            except ZammadRefusal as exc:
                return json_reply(exc.status, exc.body())
            except Exception:
                log.exception("zammad stand-in: %s %s failed", method, path)
                return json_reply(500, {"error": "Internal Server Error"})
            return json_reply(status, result)
        return json_reply(404, _no_route(method, path))


def _auth_refused(given: str) -> Reply:
    """How Zammad refuses a request it cannot authenticate
    (app/controllers/application_controller/authenticates.rb, rendered by handles_errors.rb
    with X-Failure): credentials that match no user raise NotAuthorized, a 401 naming why;
    no credentials at all fail authentication_check with Forbidden, a 403."""
    scheme = given.split(" ", 1)[0].lower()
    status, message = {
        "token": (401, "Can't find User for Token"),
        "bearer": (401, "The provided token is invalid."),  # OAuth2 after the token check
        "basic": (401, "Invalid BasicAuth credentials"),
    }.get(scheme, (403, "Authentication required"))
    body = {"error": message, "error_human": message}
    return json_reply(status, body, [("X-Failure", message)])


def _no_route(method: str, path: str) -> dict[str, str]:
    message = f'No route matches [{method}] "{path}"'
    return {"error": message, "error_human": message}
