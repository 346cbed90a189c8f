"""`POST /erp/licences`: the token, one licence or a batch, idempotency and revision order,
cancellation and termination, 422 per item and field, and the change hook."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import date

import pytest
from sqlalchemy import func, select

from adapter.app import create_app
from adapter.services import build_services
from adapter.settings import Settings
from adapter.store.models import LicenceRow
from connectors.erp.openapi import LICENCE_EXAMPLE
from connectors.erp.settings import ErpSettings
from connectors.zammad.settings import ZammadSettings
from mappings import erp as erp_mapping
from mappings.plans import shipped_path as shipped_plans
from mappings.zammad import shipped_path as shipped_zammad
from webhooks import erp as erp_webhook

TOKEN = "push-token-for-tests"
SECRET = "zammad-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LICENCE = LICENCE_EXAMPLE  # the example the OpenAPI document shows: it must be accepted


def licence(**changes):
    return {**LICENCE, **changes}


def make_services(database_url, store, push_token=TOKEN, **settings):
    erp = ErpSettings(push_token=push_token)
    zammad = ZammadSettings(webhook_secret=SECRET)
    options = {"provider_settings": {"zammad": zammad, "erp": erp}, **settings}
    return build_services(Settings(database_url=database_url, **options), store=store)


@pytest.fixture
def services(database_url, store):
    return make_services(database_url, store)


@pytest.fixture
def client(services):
    return create_app(services=services).test_client()


def push(client, body, headers=AUTH):
    return client.post("/erp/licences", json=body, headers=headers)


def stored(store, licence_id):
    with store.session() as session:
        return store.licence(session, licence_id)


def licence_count(store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(LicenceRow))


# --- the token ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
    ids=["none", "wrong", "not bearer", "empty", "longer"],
)
def test_a_push_without_the_right_bearer_token_is_401_and_stores_nothing(client, store, headers):
    response = push(client, LICENCE, headers)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized" and response.json["fields"] == {}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert licence_count(store) == 0


def test_without_a_configured_token_every_push_is_refused(database_url, store):
    services = make_services(database_url, store, push_token=None)
    client = create_app(services=services).test_client()
    for headers in ({}, {"Authorization": "Bearer "}, AUTH):
        response = push(client, LICENCE, headers)
        assert response.status_code == 503
        assert "ERP_PUSH_TOKEN" in response.json["message"]
    assert licence_count(store) == 0


def test_the_token_is_checked_before_the_body_is_read(client):
    response = client.post("/erp/licences", data=b"not json", content_type="text/plain")
    assert response.status_code == 401


# --- storing -----------------------------------------------------------------------------------


def test_one_licence_is_stored_with_its_contract_and_its_product_plan(client, store):
    response = push(client, LICENCE)
    assert response.status_code == 202
    assert response.json == {
        "status": "accepted",
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "stale": 0,
        "conflicts": [],
    }
    with store.session() as session:
        (contract,) = store.contracts_for(session, "C-100")
        source = session.get(LicenceRow, "LIC-1001").source
    assert stored(store, "LIC-1001").plan == "pro" and source == "push"
    assert contract.plan == "pro" and contract.options == {"third_party_projects"}


def test_an_accepted_push_is_logged_at_info_with_its_counts(client, caplog):
    caplog.set_level(logging.INFO)
    assert push(client, LICENCE).status_code == 202
    (record,) = [r for r in caplog.records if r.getMessage() == "erp.push.accepted"]
    assert (record.licences, record.licences_created, record.licences_updated) == (1, 1, 0)


def test_a_batch_is_stored_in_one_go(client, store):
    batch = [licence(licence_id=f"LIC-{n}", customer_number=f"C-{n}") for n in range(5)]
    response = push(client, {"licences": batch})
    assert response.status_code == 202 and response.json["created"] == 5
    assert licence_count(store) == 5


def test_the_same_push_twice_changes_nothing(client, store):
    batch = {"licences": [LICENCE, licence(licence_id="LIC-1002", revision=None)]}
    assert push(client, batch).json["created"] == 2
    again = push(client, batch)
    assert again.status_code == 202
    assert (again.json["created"], again.json["updated"], again.json["unchanged"]) == (0, 0, 2)


def test_an_older_revision_after_a_newer_is_ignored(client, store):
    push(client, licence(revision=5, customer_name="Neu"))
    older = push(client, licence(revision=4, customer_name="Alt"))
    assert older.status_code == 202 and older.json["stale"] == 1
    newer = push(client, licence(revision=6, customer_name="Neuer"))
    assert newer.json["updated"] == 1
    assert stored(store, "LIC-1001").customer_name == "Neuer"


def test_a_batch_with_two_revisions_of_one_licence_keeps_the_higher(client, store):
    batch = [
        licence(revision=7, customer_name="Sieben"),
        licence(revision=6, customer_name="Sechs"),
    ]
    assert push(client, {"licences": batch}).json["created"] == 1
    assert stored(store, "LIC-1001").revision == 7


def test_the_same_revision_with_other_content_is_kept_as_stored_and_reported(client, store):
    push(client, LICENCE)
    response = push(client, licence(customer_name="Someone else"))
    assert response.status_code == 202 and response.json["conflicts"] == ["LIC-1001"]
    assert stored(store, "LIC-1001").customer_name == "Awesome Customer Inc."


def test_a_cancellation_lets_the_term_run_out_and_a_termination_ends_it(client, store):
    push(client, licence(product="SP-BASIC-10", purchased_on="2026-03-15"))
    cancelled = licence(
        product="SP-BASIC-10", revision=4, status="cancelled", cancelled_on="2027-06-01"
    )
    assert push(client, cancelled).json["updated"] == 1
    with store.session() as session:
        (contract,) = store.contracts_for(session, "C-100")
    # Notice on 1 Jun 2027 meets the 30 Sep deadline: the term ends 31 Dec 2027.
    assert contract.final_end_on == date(2027, 12, 31) and not contract.terminated
    terminated = {**cancelled, "revision": 5, "status": "terminated", "cancelled_on": "2027-02-28"}
    assert push(client, terminated).json["updated"] == 1
    with store.session() as session:
        (contract,) = store.contracts_for(session, "C-100")
    assert contract.final_end_on == date(2027, 2, 28) and contract.terminated


# --- 422 ---------------------------------------------------------------------------------------


def test_a_batch_with_bad_items_names_each_item_and_field_and_stores_nothing(client, store):
    batch = [
        LICENCE,
        licence(licence_id="LIC-2", purchased_on="15.03.2026"),
        licence(licence_id="LIC-3", options=["extras"], colour="blue"),
        "LIC-4",
        licence(licence_id="LIC-5", status="cancelled"),
    ]
    response = push(client, {"licences": batch})
    assert response.status_code == 422
    assert response.json == {
        "error": "invalid_licences",
        "message": "4 of 5 licence(s) invalid; nothing was stored",
        "fields": {
            "licences[1].purchased_on": "Not a valid date.",
            "licences[2].options[0]": "Must be one of: third_party_projects.",
            "licences[2].colour": "Unknown field.",
            "licences[3]": "Not a licence object.",
            "licences[4].cancelled_on": "required when status is cancelled",
        },
    }
    assert licence_count(store) == 0


def test_a_bad_single_licence_names_its_fields_without_a_prefix(client, store):
    body = licence(purchased_on="2026-02-30", product="NOT-SOLD", status="paused")
    response = push(client, body)
    assert response.status_code == 422
    assert response.json["fields"] == {
        "purchased_on": "Not a valid date.",
        "status": "Must be one of: active, cancelled, terminated.",
        "plan": "required unless the product is mapped to a plan in erp.yaml",
    }
    assert licence_count(store) == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ([LICENCE], {}),
        ({"licences": LICENCE}, {"licences": "Not a valid list."}),
        ({"licences": [LICENCE], "source": "erp"}, {"source": "Unknown field."}),
        ("LIC-1001", {}),
        (
            {"licence_id": "", "customer_number": "C-1", "purchased_on": "2026-01-01"},
            {
                "licence_id": "Length must be between 1 and 64.",
                "plan": "required unless the product is mapped to a plan in erp.yaml",
            },
        ),
    ],
    ids=["bare list", "licences not a list", "extra key", "a string", "empty id, no plan"],
)
def test_other_shapes_are_422_with_the_error_body(client, body, fields):
    response = push(client, body)
    assert response.status_code == 422
    assert set(response.json) == {"error", "message", "fields"}
    assert response.json["error"] == "invalid_licences" and response.json["fields"] == fields


def test_a_body_that_is_not_json_is_400_and_another_content_type_415(client):
    bad = client.post("/erp/licences", data=b"{", content_type="application/json", headers=AUTH)
    assert bad.status_code == 400 and bad.json["error"] == "invalid_json"
    text = client.post("/erp/licences", data=b"{}", content_type="text/plain", headers=AUTH)
    assert text.status_code == 415


# --- the mapping and the change hook -----------------------------------------------------------


def test_the_admins_erp_yaml_maps_products(database_url, store, tmp_path):
    for shipped in (shipped_plans(), shipped_zammad()):
        shutil.copy(shipped, tmp_path / shipped.name)
    text = erp_mapping.shipped_path().read_text(encoding="utf-8")
    (tmp_path / "erp.yaml").write_text(text.replace("  SP-COM: commissioning\n", "  X-9: basic\n"))
    services = make_services(database_url, store, mappings_dir=tmp_path)
    client = create_app(services=services).test_client()
    assert push(client, licence(product="X-9")).status_code == 202
    assert stored(store, "LIC-1001").plan == "basic"
    assert push(client, licence(licence_id="LIC-2", product="SP-COM")).status_code == 422


def test_the_erp_mapping_is_loaded_once_per_app(services, monkeypatch):
    calls = []
    real = erp_webhook.load_erp_mapping_for

    def counting(settings):
        calls.append(settings)
        return real(settings)

    monkeypatch.setattr(erp_webhook, "load_erp_mapping_for", counting)
    client = create_app(services=services).test_client()
    for n in range(3):
        push(client, licence(licence_id=f"LIC-{n}"))
    assert calls == [services.settings]


def test_changed_customers_are_handed_to_the_change_hook(services, client):
    seen = []
    services.on_licences_changed = seen.append
    batch = [licence(licence_id="A", customer_number="C-2"), licence(customer_number="C-1")]
    push(client, {"licences": batch})
    push(client, {"licences": batch})  # unchanged: no call
    push(client, licence(revision=9, customer_number="C-3"))  # moved from C-1 to C-3
    assert seen == [["C-1", "C-2"], ["C-1", "C-3"]]


def test_a_failing_change_hook_does_not_fail_a_stored_push(services, client, store):
    def broken(customers):
        raise RuntimeError("re-decide failed")

    services.on_licences_changed = broken
    assert push(client, LICENCE).status_code == 202
    assert stored(store, "LIC-1001") is not None


def test_a_batch_of_a_thousand_fits_in_one_push(client, store):
    batch = [licence(licence_id=f"LIC-{n:04d}", customer_number=f"C-{n}") for n in range(1_000)]
    assert len(json.dumps({"licences": batch})) < 1024 * 1024
    assert push(client, {"licences": batch}).json["created"] == 1_000
