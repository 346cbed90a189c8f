"""`POST /webhooks/rt`: every Scrip body of tests/fixtures/rt, the signature, dedupe, a merge's
two rows, and clear 4xx for what cannot be trusted."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from adapter.app import create_app
from adapter.services import build_services
from adapter.store.models import InboxRow
from adapter.web.signatures import hub_signature
from tests.rt_helpers import SECRET, adapter_settings, fixture_names, load_fixture, signed


@pytest.fixture
def client(database_url, store):
    services = build_services(adapter_settings(database_url), store=store)
    return create_app(services=services).test_client()


def inbox(store) -> list[tuple[str, str]]:
    with store.session() as session:
        return session.execute(
            select(InboxRow.ticket_id, InboxRow.delivery_id).order_by(InboxRow.id)
        ).all()


@pytest.mark.parametrize("name", fixture_names())
def test_every_scrip_body_is_accepted_into_the_inbox(client, store, name):
    payload = load_fixture(name)
    body, headers = signed(payload)
    answer = client.post("/webhooks/rt", data=body, headers=headers)
    assert answer.status_code == 202, answer.json
    assert answer.json == {"status": "accepted"}
    assert inbox(store)[0] == (str(payload["ticket_id"]), headers["X-RT-Delivery"])


def test_a_merge_puts_the_merged_ticket_in_the_inbox_too(client, store):
    body, headers = signed(load_fixture("update__merge"))
    assert client.post("/webhooks/rt", data=body, headers=headers).status_code == 202
    delivery = headers["X-RT-Delivery"]
    assert inbox(store) == [("6", delivery), ("8", f"{delivery}:merged:8")]
    with store.session() as session:
        payload = session.scalars(select(InboxRow.payload).where(InboxRow.ticket_id == "8")).one()
    assert json.loads(payload) == {"ticket_id": 8}


def test_a_repeated_delivery_is_stored_once(client, store):
    body, headers = signed(load_fixture("create__ticket"))
    assert client.post("/webhooks/rt", data=body, headers=headers).status_code == 202
    again = client.post("/webhooks/rt", data=body, headers=headers)
    assert (again.status_code, again.json) == (200, {"status": "duplicate"})
    assert len(inbox(store)) == 1


def test_a_wrong_signature_is_refused_and_nothing_stored(client, store):
    body, headers = signed(load_fixture("create__ticket"), secret="x" * 40)
    answer = client.post("/webhooks/rt", data=body, headers=headers)
    assert (answer.status_code, answer.json["error"]) == (401, "invalid_signature")
    assert inbox(store) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"event": "update", "transactions": []}, "ticket_id"),
        ({"event": "closed", "ticket_id": 1}, "event"),
        ({"event": "update", "ticket_id": "1"}, "ticket_id"),
        ({"event": "update", "ticket_id": 1, "transactions": [{"id": 1}]}, "transactions.0.type"),
    ],
)
def test_a_body_that_is_not_the_scrips_names_the_field(client, store, payload, field):
    body, headers = signed(payload)
    answer = client.post("/webhooks/rt", data=body, headers=headers)
    assert (answer.status_code, answer.json["error"]) == (422, "invalid_payload")
    assert field in answer.json["fields"]
    assert inbox(store) == []


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b"", "application/json", 400, "empty_body"),
        (b"[1]", "application/json", 400, "invalid_json"),
        (b"{", "application/json", 400, "invalid_json"),
        (b"{}", "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_what_cannot_be_read_gets_a_clear_4xx(client, body, content_type, status, error):
    _, headers = signed({})
    headers = {
        **headers,
        "Content-Type": content_type,
        "X-Hub-Signature": hub_signature(SECRET, body),
    }
    answer = client.post("/webhooks/rt", data=body, headers=headers)
    assert (answer.status_code, answer.json["error"]) == (status, error)
