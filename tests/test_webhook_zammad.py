"""`POST /webhooks/zammad`: signature, dedupe, limits, validation, and the payload's facts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from adapter.app import ConfigError, create_app
from adapter.services import build_services
from adapter.settings import Settings
from adapter.store.models import InboxRow
from mappings.zammad import load_webhook
from standins.zammad import ruby_json
from tests.zammad_helpers import (
    FIXTURES,
    fixture_names,
    load_fixture,
    signed_zammad,
    zammad_body,
    zammad_headers,
)


@pytest.fixture
def services(database_url, store):
    settings = Settings(database_url=database_url, provider_settings=signed_zammad())
    return build_services(settings, store=store)


@pytest.fixture
def client(services):
    return create_app(services=services).test_client()


def inbox_count(store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(InboxRow))


def post(client, payload=None, *, body=None, headers=None, **header_options):
    body = (
        body
        if body is not None
        else zammad_body(payload or load_fixture("ticket_created__default"))
    )
    return client.post(
        "/webhooks/zammad", data=body, headers=headers or zammad_headers(body, **header_options)
    )


# Each fixture file: what the mapping must read from it (payload only, no API re-read).
EXPECTED = {
    "ticket_created__default": {
        "customer_number": "C-100",
        "categories": set(),
        "does_not_count": None,
    },
    "ticket_created__customer_without_organization": {"customer_number": None},
    "ticket_created__custom_attributes": {
        "categories": {"ui_building"},
        "remote_sessions": 2,
        "requester": "end_customer",
        "trained": False,
    },
    "ticket_created__several_organizations": {"customer_number": "C-100", "requester": "partner"},
    "ticket_updated__default": {"customer_number": "C-100", "does_not_count": None},
    "ticket_updated__empty_article": {"customer_number": "C-100"},
    "ticket_updated__merged": {"does_not_count": "merged"},
}


def test_every_fixture_has_expectations():
    assert set(fixture_names()) == set(EXPECTED)


@pytest.mark.parametrize("name", fixture_names())
def test_fixture_is_accepted_into_the_inbox_and_maps_to_facts(name, client, services):
    trigger = name.split("__")[0]
    response = post(client, load_fixture(name), trigger=trigger)
    assert response.status_code == 202, response.json
    assert response.json == {"status": "accepted"}
    with services.store.session() as session:
        row = session.scalars(select(InboxRow)).one()
    assert row.trigger == trigger and row.ticket_id == "81" and row.status == "pending"
    facts = services.helpdesks["zammad"].facts(json.loads(row.payload))
    assert facts.ticket_id == 81 and facts.support_queue
    for field, value in EXPECTED[name].items():
        assert getattr(facts, field) == value, field


def test_inbox_keeps_the_exact_signed_body(client, services):
    body = zammad_body(load_fixture("ticket_created__default"))
    post(client, body=body)
    with services.store.session() as session:
        assert session.scalars(select(InboxRow.payload)).one().encode() == body


# --- signature vectors ---


def test_valid_signature_is_accepted(client):
    assert post(client).status_code == 202


def test_tampered_body_is_refused(client, store):
    body = zammad_body(load_fixture("ticket_created__default"))
    headers = zammad_headers(body)
    response = post(client, body=body.replace(b'"C-100"', b'"C-999"'), headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "invalid_signature"
    assert inbox_count(store) == 0


def test_wrong_secret_is_refused(client, store):
    assert post(client, secret="another-secret").status_code == 401
    assert inbox_count(store) == 0


def test_missing_signature_is_refused(client, store):
    body = zammad_body(load_fixture("ticket_created__default"))
    headers = zammad_headers(body)
    del headers["X-Hub-Signature"]
    response = post(client, body=body, headers=headers)
    assert response.status_code == 401
    assert set(response.json) == {"error", "message", "fields"}
    assert inbox_count(store) == 0


# --- repeats and limits ---


def test_the_same_delivery_three_times_is_stored_once(client, store):
    body = zammad_body(load_fixture("ticket_created__default"))
    headers = zammad_headers(body, delivery="1d3c8a4e-0b7f-4d5e-9a63-2f0c1e9b7a10")
    answers = [post(client, body=body, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 200, 200]
    assert answers[1].json == {"status": "duplicate"}
    assert inbox_count(store) == 1


def test_without_a_delivery_id_the_body_is_the_key(client, store):
    body = zammad_body(load_fixture("ticket_created__default"))
    headers = zammad_headers(body)
    del headers["X-Zammad-Delivery"]
    assert [post(client, body=body, headers=headers).status_code for _ in range(2)] == [202, 200]
    assert inbox_count(store) == 1


def test_a_captured_delivery_replayed_under_a_new_delivery_id_is_a_duplicate(client, store):
    body = zammad_body(load_fixture("ticket_created__default"))
    answers = [post(client, body=body, delivery=f"replay-{n}") for n in range(3)]
    assert [a.status_code for a in answers] == [202, 200, 200]
    assert answers[2].json == {"status": "duplicate"}
    assert inbox_count(store) == 1


def test_a_replayed_body_counts_as_new_once_its_retention_has_passed(client, store):
    body = zammad_body(load_fixture("ticket_created__default"))
    assert post(client, body=body, delivery="first").status_code == 202
    with store.session() as session:
        session.execute(
            update(InboxRow).values(status="done", processed_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
        assert store.purge(session, datetime.now(UTC)) == 1
    assert post(client, body=body, delivery="second").status_code == 202
    assert inbox_count(store) == 2


def test_a_body_over_max_body_bytes_is_refused(database_url, store):
    settings = Settings(
        database_url=database_url, provider_settings=signed_zammad(), max_body_bytes=256 * 1024
    )
    client = create_app(services=build_services(settings, store=store)).test_client()
    payload = load_fixture("ticket_created__default")
    payload["ticket"]["note"] = "x" * (256 * 1024)
    response = post(client, payload)
    assert response.status_code == 413
    assert response.json["error"] == "request_entity_too_large"
    assert inbox_count(store) == 0


def test_a_real_sized_default_payload_is_accepted(client, store):
    # Zammad's default payload embeds the organisation with all its members (logins) and the
    # whole article (app/jobs/trigger_webhook_job.rb; to_json escapes <, >, &):
    # an organisation of 5,000 members and a 1 MB tag-dense HTML mail.
    payload = load_fixture("ticket_updated__default")
    organization = payload["ticket"]["organization"]
    organization["member_ids"] = list(range(10, 5010))
    organization["members"] = [f"user{n}@bigorg-example.com" for n in range(5000)]
    cell = '<td style="font-family:Calibri"><span lang="de">Wert &amp; Text</span></td>'
    payload["article"]["body"] = "<table>" + ("<tr>" + cell * 10 + "</tr>") * 1250 + "</table>"
    body = ruby_json(payload)
    assert len(body) > 1_500_000
    assert post(client, body=body).status_code == 202
    assert inbox_count(store) == 1


def test_not_json_content_type_is_refused(client):
    body = b"ticket=81"
    headers = {**zammad_headers(body), "Content-Type": "application/x-www-form-urlencoded"}
    assert post(client, body=body, headers=headers).status_code == 415


def test_body_that_is_not_json_is_a_400(client):
    response = post(client, body=b"{not json")
    assert response.status_code == 400 and response.json["error"] == "invalid_json"


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (lambda p: p.pop("ticket"), {"ticket"}),
        (lambda p: p["ticket"].pop("id"), {"ticket.id"}),
        (
            lambda p: p["ticket"].update(created_at="yesterday", updated_at=None),
            {"ticket.created_at", "ticket.updated_at"},
        ),
        (lambda p: p["ticket"]["customer"].update(id="eight"), {"ticket.customer.id"}),
        (lambda p: p.update(article={"id": None}), {"article.id"}),
        (lambda p: p["ticket"].update(organization=5), {"ticket.organization"}),
    ],
)
def test_missing_or_wrong_fields_are_a_422_naming_each(client, store, change, fields):
    payload = load_fixture("ticket_created__default")
    change(payload)
    response = post(client, payload)
    assert response.status_code == 422
    assert response.json["error"] == "invalid_payload"
    assert set(response.json["fields"]) == fields
    assert inbox_count(store) == 0


def test_unknown_fields_are_ignored(client):
    payload = load_fixture("ticket_created__default")
    payload["ticket"]["brand_new_zammad_field"] = {"nested": [1, 2]}
    payload["extra"] = True
    assert post(client, payload).status_code == 202


def test_the_app_refuses_to_start_without_a_webhook_secret(database_url):
    with pytest.raises(ConfigError, match="ZAMMAD_WEBHOOK_SECRET"):
        create_app(Settings(database_url=database_url))


def test_health_and_readiness(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ok"}


# --- custom and pre-defined payloads (Zammad 6) ---
# Shapes after Zammad's source: a custom payload renders placeholders, times with Ruby's to_s
# (app/jobs/trigger_webhook_job/custom_payload/parser.rb); the pre-defined Slack payload
# carries the ticket only in its link (app/models/webhook/pre_defined/slack.rb).
CUSTOM = FIXTURES / "custom"
CUSTOM_NAMES = sorted(p.stem for p in CUSTOM.glob("*.json"))


@pytest.fixture
def client_with_api(database_url, store):
    """The adapter with Zammad's API configured (not called on receipt)."""
    settings = Settings(
        database_url=database_url,
        provider_settings=signed_zammad(
            url="http://127.0.0.1:9", token="token-of-the-integration-user"
        ),
    )
    return create_app(services=build_services(settings, store=store)).test_client()


def custom_body(name: str) -> bytes:
    return (CUSTOM / f"{name}.json").read_bytes()


@pytest.mark.parametrize("name", CUSTOM_NAMES)
def test_with_the_api_a_payload_that_names_its_ticket_is_accepted(name, client_with_api, store):
    assert post(client_with_api, body=custom_body(name)).status_code == 202
    with store.session() as session:
        assert session.scalar(select(InboxRow.ticket_id)) == "81"


@pytest.mark.parametrize("name", ["ticket_updated__custom_payload", "ticket_updated__slack"])
def test_without_the_api_only_the_default_payload_will_do(name, client, store):
    response = post(client, body=custom_body(name))
    assert response.status_code == 422 and "ticket" in str(response.json["fields"])
    assert inbox_count(store) == 0


def test_times_as_ruby_writes_them_are_read_with_their_offset(client, services):
    assert post(client, body=custom_body("ticket_updated__ruby_times")).status_code == 202
    event = load_webhook(json.loads(custom_body("ticket_updated__ruby_times")))
    assert event.ticket.created_at == datetime(2025, 1, 1, 9, 58, 12, tzinfo=UTC)
    assert event.ticket.updated_at == datetime(2025, 1, 1, 10, 0, tzinfo=UTC)


def test_a_payload_naming_no_ticket_is_refused_even_with_the_api(client_with_api, store):
    response = post(client_with_api, body=b'{"text": "# Something happened"}')
    assert response.status_code == 422
    assert inbox_count(store) == 0


@pytest.mark.parametrize("client_kind", ["client", "client_with_api"])
def test_an_empty_body_without_signature_is_refused_saying_why(client_kind, request, store):
    # A payload rendering to {} is sent with no body and no X-Hub-Signature (lib/user_agent.rb).
    client = request.getfixturevalue(client_kind)
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Zammad-Delivery": "d-9"}
    response = client.post("/webhooks/zammad", data=b"", headers=headers)
    assert response.status_code == 400 and response.json["error"] == "empty_body"
    assert "names the ticket" in response.json["message"]
    assert inbox_count(store) == 0
