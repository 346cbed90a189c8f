"""JSON logs: one object per line, fixed event names, no secrets and no payloads."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest
import requests
from werkzeug.serving import make_server

from adapter.app import create_app
from adapter.logs import configure_logging
from adapter.services import build_services
from adapter.settings import Settings
from mappings.settings import parse_settings
from mappings.yamlfile import FileErrors
from tests.zammad_helpers import SECRET, load_fixture, signed_zammad, zammad_body, zammad_headers


@pytest.fixture
def log_lines():
    """Configures logging into a buffer; returns a function giving the lines so far as dicts.
    The root logger's handlers and level are put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_record_is_one_json_line_with_time_level_event_logger_and_its_extra_fields(log_lines):
    logging.getLogger("webhooks.zammad").info(
        "zammad.webhook.accepted", extra={"delivery_id": "d-1", "ticket_id": 81}
    )
    (line,) = log_lines()
    assert line["event"] == "zammad.webhook.accepted"
    assert line["level"] == "INFO"
    assert line["logger"] == "webhooks.zammad"
    assert line["time"].endswith("Z") and line["time"][10] == "T"
    assert line["delivery_id"] == "d-1" and line["ticket_id"] == 81
    assert "message" not in line


def test_secret_named_fields_are_masked_and_payload_and_body_fields_dropped(log_lines):
    logging.getLogger("tests").warning(
        "worker.retry",
        extra={
            "zammad_token": "t0ken-value",
            "Authorization": "Bearer abc",
            "x_hub_signature": "sha1=00",
            "db_password": "pw",
            "payload": '{"customer": {"email": "emily@example.com"}}',
            "body": "Dear support, ...",
            "details": {"api_secret": "s3", "body": "text", "items": [{"token": "x", "ok": 1}]},
        },
    )
    (line,) = log_lines()
    for name in ("zammad_token", "Authorization", "x_hub_signature", "db_password"):
        assert line[name] == "***"
    assert "payload" not in line and "body" not in line
    assert line["details"] == {"api_secret": "***", "items": [{"token": "***", "ok": 1}]}
    text = json.dumps(line)
    for value in ("t0ken-value", "abc", "pw", "emily@example.com", "Dear support", "s3"):
        assert value not in text


def test_an_exception_is_logged_with_its_traceback_in_exc(log_lines):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("adapter.worker").exception("worker.unexpected", extra={"row": 7})
    (line,) = log_lines()
    assert line["event"] == "worker.unexpected" and line["level"] == "ERROR" and line["row"] == 7
    assert "Traceback" in line["exc"] and "RuntimeError: boom" in line["exc"]


def test_free_text_of_other_libraries_is_a_message_under_the_event_log(log_lines):
    # As werkzeug writes its request lines (its own logger's level is the demo's business).
    other = logging.getLogger("tests.other-library")
    other.info('127.0.0.1 - - "%s" %s -', "GET /readyz HTTP/1.1", 200)
    (line,) = log_lines()
    assert line["event"] == "log" and line["logger"] == "tests.other-library"
    assert line["message"] == '127.0.0.1 - - "GET /readyz HTTP/1.1" 200 -'


@pytest.fixture
def werkzeug_at_info():
    """The level werkzeug gives its logger when none is set; whatever ran before may have set
    another (the demo silences it while it runs)."""
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.INFO)
    yield
    werkzeug.setLevel(level)


def test_werkzeugs_coloured_request_lines_come_out_plain(log_lines, werkzeug_at_info):
    """Werkzeug still serves the demo's rig and the tests' apps; it colours its request lines
    for a terminal whatever stderr is. The JSON carries them without the colour codes."""

    def missing(environ, start_response):
        start_response("404 NOT FOUND", [("Content-Length", "0")])
        return [b""]

    server = make_server("127.0.0.1", 0, missing)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        answer = requests.get(f"http://127.0.0.1:{server.port}/missing", timeout=5)
        thread.join(10)
    finally:
        server.server_close()
    assert answer.status_code == 404
    [line] = [entry for entry in log_lines() if entry["logger"] == "werkzeug"]
    assert '"GET /missing HTTP/1.1" 404' in line["message"]
    assert "\x1b" not in line["message"] and "[33m" not in line["message"]


def test_a_bearer_token_in_free_text_or_a_traceback_is_masked(log_lines):
    try:
        raise ValueError("sent Authorization: Bearer s3cr3t-token")
    except ValueError:
        logging.getLogger("tests").exception("Request failed with Bearer s3cr3t-token")
    (line,) = log_lines()
    assert "s3cr3t-token" not in json.dumps(line)
    assert "Bearer ***" in line["message"] and "Bearer ***" in line["exc"]


def test_configure_logging_replaces_its_own_handler_and_sets_the_level(log_lines):
    root = logging.getLogger()
    before = len(root.handlers)
    configure_logging("warning", stream=io.StringIO())
    assert len(root.handlers) == before  # replaced, not added
    assert root.level == logging.WARNING
    with pytest.raises(ValueError, match="DEBUG, INFO"):
        configure_logging("verbose")


def test_log_level_setting_is_validated_and_named_without_its_value():
    assert parse_settings({"LOG_LEVEL": "debug"}, None).log_level == "DEBUG"
    assert Settings().log_level == "INFO"
    with pytest.raises(FileErrors) as caught:
        parse_settings({"LOG_LEVEL": "chatty"}, None)
    assert "ENTITLEMENTS_LOG_LEVEL" in str(caught.value)
    assert "chatty" not in str(caught.value)


def test_an_accepted_webhook_logs_ids_but_nothing_of_the_payload_or_the_secret(
    log_lines, database_url, store
):
    settings = Settings(database_url=database_url, provider_settings=signed_zammad())
    client = create_app(services=build_services(settings, store=store)).test_client()
    body = zammad_body(load_fixture("ticket_created__default"))
    headers = zammad_headers(body, delivery="delivery-for-the-log")
    assert client.post("/webhooks/zammad", data=body, headers=headers).status_code == 202
    bad = client.post("/webhooks/zammad", data=body, headers={**headers, "X-Hub-Signature": "x"})
    assert bad.status_code == 401

    lines = log_lines()
    events = [line["event"] for line in lines]
    assert "zammad.webhook.accepted" in events and "zammad.webhook.invalid-signature" in events
    accepted = next(line for line in lines if line["event"] == "zammad.webhook.accepted")
    assert accepted["delivery_id"] == "delivery-for-the-log" and accepted["ticket_id"] == 81
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    for personal in ("emily@example.com", "Emily", "Adams", "0061 2 1234 7777", "café"):
        assert personal not in text
    assert SECRET not in text and headers["X-Hub-Signature"] not in text
