"""The admin API under /api/v1: bearer ADMIN_TOKEN, each endpoint's answer as documented, the
explain as the CLI's, replay (dry run and apply, through the Zammad stand-in), dead letters."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from marshmallow import Schema
from sqlalchemy import func, select

import mappings.admin
from adapter.app import create_app
from adapter.cli import main
from adapter.contracts import ContractStatus
from adapter.services import build_services
from adapter.settings import Settings
from adapter.store.models import DecisionRow, LedgerEntryRow, OutboxRow
from adapter.worker import Worker
from connectors.zammad.settings import ZammadSettings
from mappings.audit import DecisionInputsSchema, load_decision_inputs
from standins.rig import Rig
from tests.admin_helpers import (
    ADMIN_TOKEN,
    BEARER,
    assert_documented,
    count_tickets,
    licence,
    november,
    policy_with_ui_building_in_basic,
    snapshot,
    written_tickets,
)

ENDPOINTS = [
    ("get", "/api/v1/customers"),
    ("get", "/api/v1/customers/C-100"),
    ("get", "/api/v1/contracts/due"),
    ("get", "/api/v1/tickets/zammad/1/decisions"),
    ("get", "/api/v1/dead-letters"),
    ("post", "/api/v1/dead-letters/outbox-1/retry"),
    ("post", "/api/v1/explain"),
    ("post", "/api/v1/replay"),
    ("post", "/api/v1/on-call-bookings"),
    ("post", "/api/v1/on-call-bookings/1/cancel"),
]


def settings_for(database_url: str, secret: str | None = "s", **core: Any) -> Settings:
    values = {"admin_token": ADMIN_TOKEN, "language": "en", **core}
    zammad = ZammadSettings(webhook_secret=secret)
    return Settings(database_url=database_url, provider_settings={"zammad": zammad}, **values)


@pytest.fixture
def services(database_url, store):
    return build_services(settings_for(database_url), store=store)


@pytest.fixture
def client(services):
    return create_app(services=services).test_client()


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").json


@pytest.fixture
def rig(database_url, store):
    with Rig(settings_for(database_url, secret=None), store=store) as rig:
        yield rig


def api(rig, method, path, **kwargs):
    """A request to the rig's adapter over loopback HTTP."""
    return requests.request(method, f"{rig.url}{path}", headers=BEARER, timeout=10, **kwargs)


# Authorisation


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_without_a_bearer_token_every_endpoint_answers_401(client, method, path):
    answer = client.open(path, method=method, json={})
    assert answer.status_code == 401
    assert answer.json["error"] == "unauthorized"
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="admin"'
    basic = client.open(path, method=method, headers={"Authorization": "Basic YWRtaW46eA=="})
    assert basic.status_code == 401


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_wrong_bearer_token_is_forbidden(client, method, path):
    for token in ("wrong", ADMIN_TOKEN + "x", ADMIN_TOKEN[:-1]):
        answer = client.open(path, method=method, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 403
        assert answer.json == {
            "error": "forbidden",
            "message": "the bearer token is not the admin token",
            "fields": {},
        }


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_without_an_admin_token_configured_the_api_is_off_not_open(
    database_url, store, method, path
):
    services = build_services(settings_for(database_url, admin_token=None), store=store)
    answer = create_app(services=services).test_client().open(path, method=method, headers=BEARER)
    assert answer.status_code == 503
    assert answer.json["error"] == "admin_not_configured"


def test_the_openapi_document_stays_public(client):
    assert client.get("/api/v1/openapi.json").status_code == 200


# Customers


def test_customers_show_contracts_with_quota_use_in_the_current_and_earlier_periods(
    client, services, document
):
    now = datetime.now(UTC)
    licence(services.store, services.policy, "C-100", "basic", "Awesome Customer Inc.")
    licence(services.store, services.policy, "C-200", "pro")
    count_tickets(services.store, services.policy, "LIC-C-100", now, 3)

    answer = client.get("/api/v1/customers", headers=BEARER)
    assert answer.status_code == 200
    assert_documented(document, "Customers", answer.json)
    today = now.astimezone(services.policy.calendar.time_zone).date()
    assert answer.json["today"] == today.isoformat()
    first, second = answer.json["customers"]
    assert (first["customer_number"], first["name"], first["plan"]) == (
        "C-100",
        "Awesome Customer Inc.",
        "basic",
    )
    assert second["customer_number"] == "C-200" and second["name"] is None
    [contract] = first["contracts"]
    assert contract["id"] == "LIC-C-100" and contract["status"] == str(ContractStatus.ACTIVE)
    assert contract["valid_from"] == "2026-01-10"
    assert first["valid_until"] == contract["valid_until"] >= today.isoformat()
    assert first["notice_by"] == contract["notice_by"]
    current, before, earliest = contract["quota"]
    assert (current["used"], current["limit"]) == (3, 4)
    assert current["period"] == f"{today.year}-{today.month:02d}"
    assert (before["used"], earliest["used"]) == (0, 0)
    assert before["period"] < current["period"] and earliest["period"] < before["period"]

    six = client.get("/api/v1/customers?periods=6", headers=BEARER).json
    assert len(six["customers"][0]["contracts"][0]["quota"]) == 6


def test_one_customer_by_customer_number(client, services, document):
    licence(services.store, services.policy, "C-100", "basic")
    answer = client.get("/api/v1/customers/C-100?periods=1", headers=BEARER)
    assert answer.status_code == 200
    assert_documented(document, "Customer", answer.json)
    assert answer.json["customer_number"] == "C-100"
    assert len(answer.json["contracts"][0]["quota"]) == 1
    missing = client.get("/api/v1/customers/C-999", headers=BEARER)
    assert missing.status_code == 404 and missing.json["error"] == "not_found"


@pytest.mark.parametrize("periods", ["0", "25", "many"])
def test_a_bad_number_of_periods_is_named(client, periods):
    answer = client.get(f"/api/v1/customers?periods={periods}", headers=BEARER)
    assert answer.status_code == 422
    assert set(answer.json["fields"]) == {"periods"}


# Decision history


def test_a_tickets_decision_history_is_its_audit_trail(rig):
    tickets = november(rig)
    rig.zammad.update_ticket(tickets["ui"], entitlement_category="")  # no longer UI building
    rig.settle()
    document = requests.get(f"{rig.url}/api/v1/openapi.json", timeout=10).json()

    answer = api(rig, "GET", f"/api/v1/tickets/zammad/{tickets['ui']}/decisions")
    assert answer.status_code == 200
    history = answer.json()
    assert_documented(document, "DecisionHistory", history)
    assert history["ticket"] == {"helpdesk": "zammad", "id": tickets["ui"]}
    # Created, decided again when the customer's licence was processed, updated.
    first, *between, second = history["decisions"]
    assert [d["decided_at"] for d in history["decisions"]] == sorted(
        d["decided_at"] for d in history["decisions"]
    )
    assert first["changed"] and second["changed"]
    assert all(d["decision"]["billable"] for d in between)
    assert first["policy"] == second["policy"] == rig.services.policy.digest
    assert first["decision"]["billable"] is True and second["decision"]["billable"] is False
    facts = first["inputs"]["facts"], second["inputs"]["facts"]
    assert [f["categories"] for f in facts] == [["ui_building"], []]
    assert all(f["customer_number"] == "C-100" for f in facts)
    assert first["inputs"]["contracts"][0]["id"] == "LIC-C-100"
    assert first["inputs"]["inbox"] is not None and first["inputs"]["replay"] is None

    missing = api(rig, "GET", "/api/v1/tickets/zammad/999999/decisions")
    assert missing.status_code == 404


def test_stored_inputs_load_and_dump_back_unchanged(rig):
    """The schema describes the audit trail exactly: what the worker stores, it reads."""
    november(rig)
    schema = DecisionInputsSchema()
    with rig.store.session() as session:
        stored = session.scalars(select(DecisionRow.inputs)).all()
    assert stored
    for inputs in stored:
        dumped = schema.dump(load_decision_inputs(inputs))
        assert {k: v for k, v in dumped.items() if v is not None} == inputs


# Dead letters


def test_dead_letters_are_listed_and_a_retry_delivers_the_write_back(rig):
    rig.zammad.inject_fault("PUT", r"/tickets/\d+$", status=422, times=1)
    tickets = november(rig)
    document = requests.get(f"{rig.url}/api/v1/openapi.json", timeout=10).json()
    listed = api(rig, "GET", "/api/v1/dead-letters")
    assert listed.status_code == 200
    assert_documented(document, "DeadLetters", listed.json())
    [letter] = listed.json()["dead_letters"]
    assert letter["id"].startswith("outbox-") and letter["queue"] == "outbox"
    assert letter["attempts"] == 1 and "HTTP 422" in letter["last_error"]
    assert letter["history"][0]["retried"] is False
    ticket = int(letter["ticket_id"])
    assert ticket in tickets.values()

    answer = api(rig, "POST", f"/api/v1/dead-letters/{letter['id']}/retry")
    assert answer.status_code == 200
    assert_documented(document, "Retried", answer.json())
    assert answer.json() == {"id": letter["id"], "status": "queued"}
    rig.settle()
    assert rig.zammad.ticket(ticket)["entitlement_quota"].endswith("/4 Nov 2026")
    assert api(rig, "GET", "/api/v1/dead-letters").json() == {"dead_letters": []}
    again = api(rig, "POST", f"/api/v1/dead-letters/{letter['id']}/retry")
    assert again.status_code == 404 and again.json()["error"] == "not_found"


@pytest.mark.parametrize("key", ["outbox-999", "outbox", "mailbox-1", "inbox-x"])
def test_retrying_what_is_not_a_dead_letter_is_404(client, key):
    answer = client.post(f"/api/v1/dead-letters/{key}/retry", headers=BEARER)
    assert answer.status_code == 404
    assert answer.json["error"] == "not_found"


# Explain


QUESTIONS = [
    (
        {"plan": "basic", "purchased": "2026-03-15", "used": 4},
        ["--plan", "basic", "--purchased", "2026-03-15", "--used", "4"],
    ),
    (
        {
            "plan": "pro",
            "purchased": "2026-03-15",
            "categories": ["third_party_project", "after_hours"],
            "remote_sessions": 2,
            "requester": "end_customer",
            "untrained": True,
            "options": ["third_party_projects"],
        },
        [
            "--plan",
            "pro",
            "--purchased",
            "2026-03-15",
            "--category",
            "third_party_project",
            "--category",
            "after_hours",
            "--remote-sessions",
            "2",
            "--requester",
            "end_customer",
            "--untrained",
            "--option",
            "third_party_projects",
        ],
    ),
    (
        {
            "plan": "commissioning",
            "purchased": "2026-10-01",
            "accepted": "2026-10-20",
            "go_live": "2026-11-02",
            "cancelled": "2026-11-10",
            "categories": ["project_service"],
            "service": "Planungsworkshop",
            "language": "de",
        },
        [
            "--plan",
            "commissioning",
            "--purchased",
            "2026-10-01",
            "--accepted",
            "2026-10-20",
            "--go-live",
            "2026-11-02",
            "--cancelled",
            "2026-11-10",
            "--category",
            "project_service",
            "--service",
            "Planungsworkshop",
            "--language",
            "de",
        ],
    ),
    ({"customer": "C-100"}, ["--customer", "C-100"]),
]
CREATED = "2026-11-27T17:30:00+01:00"


@pytest.mark.parametrize(
    ("body", "options"), QUESTIONS, ids=["basic", "pro", "commissioning", "customer"]
)
def test_explain_answers_what_the_cli_prints_for_the_same_inputs(
    client, services, database_url, document, body, options
):
    licence(services.store, services.policy, "C-100", "basic")
    count_tickets(services.store, services.policy, "LIC-C-100", datetime.fromisoformat(CREATED), 2)
    env = {"ENTITLEMENTS_DATABASE_URL": database_url, "ENTITLEMENTS_LANGUAGE": "en"}
    cli = [*options, "--created", CREATED]
    for fmt in ("json", "text"):
        printed = CliRunner().invoke(main, ["explain", *cli, "--format", fmt], env=env)
        assert printed.exit_code == 0, printed.output
        answer = client.post(
            "/api/v1/explain", headers=BEARER, json={**body, "created": CREATED, "format": fmt}
        )
        assert answer.status_code == 200, answer.json
        if fmt == "json":
            assert answer.json == json.loads(printed.output)
            assert_documented(document, "Decision", answer.json)
        else:
            assert answer.mimetype == "text/plain"
            assert answer.text == printed.output


def test_explain_without_created_is_now(client):
    answer = client.post(
        "/api/v1/explain", headers=BEARER, json={"plan": "basic", "purchased": "2026-01-01"}
    )
    assert answer.status_code == 200
    assert answer.json["quota"]["used"] == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"created": CREATED}, {"customer", "plan"}),
        ({"customer": "C-1", "plan": "basic", "purchased": "2026-01-01"}, {"customer", "plan"}),
        ({"plan": "basic"}, {"purchased"}),
        ({"plan": "gold", "purchased": "2026-01-01"}, {"plan"}),
        ({"plan": "basic", "purchased": "2026-13-01"}, {"purchased"}),
        ({"plan": "basic", "purchased": "2026-01-01", "created": "2026-11-27T17:30"}, {"created"}),
        (
            {"plan": "basic", "purchased": "2026-01-01", "categories": ["hardware"]},
            {"categories.0"},
        ),
        ({"plan": "basic", "purchased": "2026-01-01", "used": -1}, {"used"}),
        ({"plan": "basic", "purchased": "2026-01-01", "colour": "blue"}, {"colour"}),
    ],
)
def test_explain_names_each_bad_input(client, body, fields):
    answer = client.post("/api/v1/explain", headers=BEARER, json=body)
    assert answer.status_code == 422, answer.json
    assert answer.json["error"] == "invalid_request"
    assert set(answer.json["fields"]) == fields


def test_explain_wants_a_json_object(client):
    text = client.post("/api/v1/explain", headers=BEARER, data="plan=basic")
    assert text.status_code == 415
    broken = client.post(
        "/api/v1/explain", headers=BEARER, data="{", content_type="application/json"
    )
    assert broken.status_code == 400 and broken.json["error"] == "invalid_json"
    array = client.post("/api/v1/explain", headers=BEARER, json=[])
    assert array.status_code == 400


# Replay


@pytest.fixture
def restarted(rig, tmp_path):
    """The adapter restarted with an admin's plans.yaml in which basic covers building user
    interfaces: what was billable under the shipped policy is not any more."""
    settings = replace(rig.settings, mappings_dir=policy_with_ui_building_in_basic(tmp_path))
    services = build_services(settings, store=rig.store)
    assert services.policy.digest != rig.services.policy.digest
    return services


def test_replay_dry_run_reports_what_would_change_and_writes_nothing(rig, restarted):
    tickets = november(rig)
    client = create_app(services=restarted).test_client()
    document = client.get("/api/v1/openapi.json").json
    before = snapshot(rig.store)
    rig.zammad.clear_requests()

    answer = client.post("/api/v1/replay", headers=BEARER, json={})
    assert answer.status_code == 200, answer.json
    report = answer.json
    assert_documented(document, "ReplayReport", report)
    assert (report["apply"], report["tickets"], report["changed"]) == (False, 4, 1)
    [result] = report["results"]
    assert result["ticket"] == {"helpdesk": "zammad", "id": str(tickets["ui"])}
    assert result["customer_number"] == "C-100" and result["applied"] is False
    assert result["changed_fields"] == ["quota", "billable", "flags"]
    assert [f["code"] for f in result["before"]["flags"]] == ["ui_building"]
    assert result["after"]["flags"] == [] and result["after"]["billable"] is False
    # It counts now, after the two tickets already counted in November.
    assert result["before"]["quota"]["counted"] is False
    assert result["after"]["quota"] == {"period": "2026-11", "used": 3, "limit": 4, "counted": True}

    assert snapshot(rig.store) == before
    assert rig.zammad.requests == []


def test_replay_apply_records_and_writes_back_only_the_changed_ticket(rig, restarted):
    tickets = november(rig)
    client = create_app(services=restarted).test_client()
    dry = client.post("/api/v1/replay", headers=BEARER, json={}).json
    with rig.store.session() as session:
        decisions = session.scalar(select(func.count()).select_from(DecisionRow))
        outbox = session.scalar(select(func.count()).select_from(OutboxRow))
    rig.zammad.clear_requests()

    applied = client.post("/api/v1/replay", headers=BEARER, json={"apply": True}).json
    assert applied["apply"] is True and applied["changed"] == 1
    [result] = applied["results"]
    assert result["applied"] is True
    assert {k: v for k, v in result.items() if k != "applied"} == {
        k: v for k, v in dry["results"][0].items() if k != "applied"
    }
    with rig.store.session() as session:
        new = session.scalars(select(DecisionRow).where(DecisionRow.id > decisions)).all()
        queued = session.scalars(select(OutboxRow).where(OutboxRow.id > outbox)).all()
        entry = session.scalars(
            select(LedgerEntryRow).where(LedgerEntryRow.ticket_id == str(tickets["ui"]))
        ).one()
    assert [(d.ticket_id, d.changed, d.inputs["replay"]) for d in new] == [
        (str(tickets["ui"]), True, "api")
    ]
    assert new[0].inputs["policy"] == restarted.policy.digest
    assert [q.ticket_id for q in queued] == [str(tickets["ui"])]
    assert (entry.ordinal, entry.released_at) == (3, None)  # counted as the worker would

    Worker(restarted).drain()  # the restarted adapter's worker delivers to the stand-in
    assert written_tickets(rig) == {tickets["ui"]}
    written = rig.zammad.ticket(tickets["ui"])
    assert written["entitlement_billable"] is False
    assert written["entitlement_quota"] == "3/4 Nov 2026"
    assert "billable-ui-building" not in rig.zammad.tags(tickets["ui"])

    again = client.post("/api/v1/replay", headers=BEARER, json={"apply": True}).json
    assert (again["tickets"], again["changed"]) == (4, 0)


def test_replay_selects_by_customer_and_by_creation_time(rig, restarted):
    tickets = november(rig)
    client = create_app(services=restarted).test_client()

    def replayed(**body):
        report = client.post("/api/v1/replay", headers=BEARER, json=body).json
        return report["tickets"], [r["ticket"]["id"] for r in report["results"]]

    ui = str(tickets["ui"])
    assert replayed(customer="C-100") == (3, [ui])
    assert replayed(customer="C-200") == (1, [])
    assert replayed(customer="C-404") == (0, [])
    assert replayed(since="2026-11-03T00:00:00+01:00") == (3, [ui])
    assert replayed(since="2026-11-03T10:31:00+01:00") == (1, [])  # after 09:30Z on the 3rd
    assert replayed(until="2026-11-03T10:30:00+01:00") == (1, [])  # before it
    assert replayed(since="2026-11-03T10:30:00+01:00", until="2026-11-04T00:00:00Z") == (
        2,
        [ui],
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"since": "2026-11-03T00:00:00Z", "until": "2026-11-02T00:00:00Z"}, "until"),
        ({"since": "2026-11-03"}, "since"),
        ({"since": "2026-11-03T00:00:00"}, "since"),
        ({"apply": "perhaps"}, "apply"),
        ({"customer": ""}, "customer"),
        ({"everything": True}, "everything"),
    ],
)
def test_replay_names_each_bad_input(client, body, field):
    answer = client.post("/api/v1/replay", headers=BEARER, json=body)
    assert answer.status_code == 422
    assert set(answer.json["fields"]) == {field}


# The OpenAPI document


def test_the_document_describes_every_admin_schema_and_endpoint_with_the_bearer_scheme(
    document,
):
    import openapi_spec_validator

    openapi_spec_validator.validate(document)
    assert document["components"]["securitySchemes"]["adminToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The ENTITLEMENTS_ADMIN_TOKEN setting",
    }
    components = set(document["components"]["schemas"])
    parameters = {
        p["name"]
        for path in document["paths"].values()
        for operation in path.values()
        for p in operation.get("parameters", [])
    }
    for name, value in vars(mappings.admin).items():
        if isinstance(value, type) and issubclass(value, Schema) and value is not Schema:
            if name.endswith("QuerySchema"):  # query parameters, not a body
                assert set(value().fields) <= parameters, name
            else:
                assert name.removesuffix("Schema") in components, name
    not_admin = ("/api/v1/openapi.json", "/api/v1/customers/{customer_number}/entitlement")
    admin_paths = {
        path for path in document["paths"] if path.startswith("/api/v1/") and path not in not_admin
    }
    documented = {
        (method, path.replace("{", "<").replace("}", ">"))
        for path in admin_paths
        for method in document["paths"][path]
    }
    assert documented == {
        ("get", "/api/v1/customers"),
        ("get", "/api/v1/customers/<customer_number>"),
        ("get", "/api/v1/contracts/due"),
        ("get", "/api/v1/tickets/<helpdesk>/<ticket_id>/decisions"),
        ("get", "/api/v1/dead-letters"),
        ("post", "/api/v1/dead-letters/<id>/retry"),
        ("post", "/api/v1/explain"),
        ("post", "/api/v1/replay"),
        ("post", "/api/v1/on-call-bookings"),
        ("post", "/api/v1/on-call-bookings/<booking_id>/cancel"),
    }
    for path in admin_paths:
        for operation in document["paths"][path].values():
            assert operation["security"] == [{"adminToken": []}]
            assert {"200", "401", "403", "503"} <= set(operation["responses"])


def test_on_call_is_booked_through_the_api_and_refused_with_every_broken_rule(client, services):
    from datetime import date, timedelta

    ahead = date.today() + timedelta(days=20)
    booking = {
        "customer": "C-100",
        "days": [ahead.isoformat(), (ahead + timedelta(days=1)).isoformat()],
        "start": "08:00",
        "end": "18:00",
        "employees": 1,
        "hours": 8,
    }
    booked = client.post("/api/v1/on-call-bookings", json=booking, headers=BEARER)
    assert booked.status_code == 200, booked.json
    assert booked.json["base_fees"] == 2 and booked.json["customer"] == "C-100"
    too_soon = {
        **booking,
        "days": [(date.today() + timedelta(days=3)).isoformat()],
        "end": "19:00",
        "hours": 12,
    }
    refused = client.post("/api/v1/on-call-bookings", json=too_soon, headers=BEARER)
    assert refused.status_code == 422 and refused.json["error"] == "booking_refused"
    reasons = refused.json["fields"]["booking"]  # too soon, window over 10 h, over 8 h: each named
    assert "14 days ahead" in reasons and "at most 10 hours" in reasons
    assert "8 hours per employee" in reasons
    with services.store.session() as session:
        assert len(services.store.bookings(session, "C-100")) == 1
    assert client.post("/api/v1/on-call-bookings", json=booking).status_code == 401
