"""`entitlements serve` on waitress: the process answers from the production server, logs JSON
without terminal codes and stops on SIGTERM; the server (in this process) keeps what Werkzeug's
development server did: ProxyFix for TRUSTED_PROXIES, the body limit in the error shape, and
a stop that answers the requests it has."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from adapter.app import create_app
from adapter.cli import main
from adapter.server import BODY_SLACK, WebServer
from adapter.services import build_services
from adapter.settings import Settings
from connectors.zammad.settings import ZammadSettings
from tests.processes import Process, entitlements, free_port, wait_until
from tests.zammad_helpers import SECRET

JSON_TYPE = {"Content-Type": "application/json"}


def test_serve_answers_from_waitress_logs_json_lines_without_colour_and_stops_on_sigterm(
    database_url, store, tmp_path
):
    port = free_port()
    env = {
        "ENTITLEMENTS_DATABASE_URL": database_url,
        "ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET": SECRET,
        "ENTITLEMENTS_RECONCILE_INTERVAL": "0",
        "ENTITLEMENTS_LANGUAGE": "en",
    }
    serve = Process(entitlements("serve", "--port", str(port)), env, str(tmp_path / "serve.log"))
    url = f"http://127.0.0.1:{port}"
    serve.start()
    try:
        wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).ok, what="serve ready")
        health = requests.get(f"{url}/healthz", timeout=5)
        # Werkzeug's development server said "Werkzeug/3.1.9 Python/3.11.7" here.
        assert health.headers["Server"] == "waitress"
        unsigned = requests.post(
            f"{url}/webhooks/zammad?from=test",
            data=b'{"ticket": {"id": 1}}',
            headers=JSON_TYPE,
            timeout=5,
        )
        assert unsigned.status_code == 401  # the app's answer, in the error shape
        assert unsigned.json()["error"] == "invalid_signature"
        assert requests.get(f"{url}/no-such-page", timeout=5).status_code == 404
    finally:
        code = serve.stop()
    output = serve.output()
    assert code == 0, output
    assert f"serving on {url} with an embedded worker" in output
    assert "\x1b" not in output  # Werkzeug coloured its 4xx request lines
    logged = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert logged
    requests_logged = [entry for entry in logged if entry["event"] == "http.request"]
    assert {
        "method": "POST",
        "path": "/webhooks/zammad?from=test",
        "status": 401,
        "remote": "127.0.0.1",
    }.items() <= next(e for e in requests_logged if e["method"] == "POST").items()
    assert any(e["path"] == "/no-such-page" and e["status"] == 404 for e in requests_logged)


def test_serve_says_when_its_address_is_taken(database_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            "ENTITLEMENTS_DATABASE_URL": database_url,
            "ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET": SECRET,
        }
        result = CliRunner().invoke(main, ["serve", "--port", str(port)], env=env)
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.output


# The server in this process


@contextmanager
def serving(app: Any, max_body_bytes: int = 8 * 1024 * 1024) -> Iterator[tuple[str, Any]]:
    server = WebServer(app, "127.0.0.1", 0, max_body_bytes=max_body_bytes, threads=2)
    [(_, port)] = server.addresses
    stop = threading.Event()
    thread = threading.Thread(target=server.serve_until, args=(stop,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", stop
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive(), "the server did not stop"


def app_for(database_url: str, store: Any, **settings: Any) -> Any:
    zammad = ZammadSettings(webhook_secret=SECRET)
    options = {"provider_settings": {"zammad": zammad}, **settings}
    services = build_services(Settings(database_url=database_url, **options), store=store)
    return create_app(services=services)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_a_stopping_server_answers_the_request_it_has_and_takes_no_new_one():
    entered, release = threading.Event(), threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/slow":
            entered.set()
            release.wait(30)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"answered"]

    answers: list[requests.Response] = []
    with serving(app) as (url, stop):
        port = int(url.rsplit(":", 1)[1])
        slow = threading.Thread(
            target=lambda: answers.append(requests.get(f"{url}/slow", timeout=30))
        )
        slow.start()
        assert entered.wait(10)
        stop.set()  # as SIGTERM does
        wait_until(lambda: refused(port), timeout=20, what="no new connections")
        release.set()
        slow.join(30)
    assert [(a.status_code, a.text) for a in answers] == [(200, "answered")]


@pytest.mark.parametrize(("hops", "client"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_x_forwarded_for_reaches_proxyfix_as_trusted_proxies_says(
    database_url, store, caplog, hops, client
):
    app = app_for(database_url, store, trusted_proxies=hops)
    with serving(app) as (url, _):
        forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        page = requests.get(f"{url}/admin/sign-in", headers=forwarded, timeout=5)
    assert page.status_code == 503  # no ADMIN_TOKEN: the page says it is off
    [record] = [
        r for r in caplog.records if r.getMessage() == "http.request" and r.path == "/admin/sign-in"
    ]
    assert record.remote == client


def test_a_body_over_max_body_bytes_is_answered_413_in_the_error_shape(database_url, store):
    limit = 64 * 1024
    app = app_for(database_url, store, max_body_bytes=limit)
    with serving(app, max_body_bytes=limit) as (url, _):
        body = b" " * (limit + 1)
        over = requests.post(f"{url}/webhooks/zammad", data=body, headers=JSON_TYPE, timeout=10)
        assert over.status_code == 413
        assert over.json()["error"] == "request_entity_too_large"
        # Far beyond it, waitress refuses on the Content-Length alone, before any body byte.
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(
                b"POST /webhooks/zammad HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {limit + BODY_SLACK}\r\n\r\n".encode()
            )
            answer = raw.makefile("rb").readline()
        assert answer.startswith(b"HTTP/1.1 413")
