"""Fuzzing the HTTP surface: schemathesis against the app's own OpenAPI document, and
hypothesis-generated Zammad webhook and ERP licence bodies. Never a 5xx; every rejection a
documented 4xx in the one error shape; nothing stored for a rejected request.

All traffic goes through the WSGI app in-process. Hypothesis runs derandomized (the same
cases on every run), so a CI failure reproduces locally."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from adapter.app import MAX_BODY, create_app
from adapter.services import Services, build_services
from adapter.settings import Settings
from adapter.store import Store
from adapter.store.models import (
    ContractRow,
    DecisionRow,
    InboxRow,
    LedgerEntryRow,
    LicenceRow,
    OutboxRow,
)
from tests.admin_helpers import ADMIN_TOKEN, licence
from tests.zammad_helpers import SECRET, fixture_names, load_fixture
from webhooks.openapi import LICENCE_EXAMPLE
from webhooks.signatures import hub_signature

ERP_TOKEN = "erp-push-token-for-fuzzing"
ERROR_KEYS = {"error", "message", "fields"}
WEBHOOK_REJECTIONS = {400, 401, 413, 415, 422}
PUSH_REJECTIONS = {400, 401, 413, 415, 422}
TABLES = (InboxRow, LicenceRow, ContractRow, DecisionRow, LedgerEntryRow, OutboxRow)

# Per documented operation: how many schemathesis cases (positive and negative data mixed).
OPERATIONS = {
    ("POST", "/erp/licences"): 250,
    ("POST", "/webhooks/zammad"): 150,
    ("GET", "/api/v1/openapi.json"): 10,
    ("GET", "/api/v1/organisations"): 100,
    ("GET", "/api/v1/organisations/{customer_number}"): 100,
    ("GET", "/api/v1/tickets/{helpdesk}/{ticket_id}/decisions"): 80,
    ("GET", "/api/v1/dead-letters"): 20,
    ("POST", "/api/v1/dead-letters/{id}/retry"): 80,
    ("POST", "/api/v1/explain"): 250,
    ("POST", "/api/v1/replay"): 150,
    ("POST", "/api/v1/on-call-bookings"): 100,
}
HYPOTHESIS_CASES = 1000


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture
def services(database_url: str, store: Store) -> Services:
    options = {
        "zammad_webhook_secret": SECRET,
        "erp_push_token": ERP_TOKEN,
        "admin_token": ADMIN_TOKEN,
        "language": "en",
    }
    return build_services(Settings(database_url=database_url, **options), store=store)


@pytest.fixture
def app(services: Services) -> Flask:
    # One customer with a contract, so that the admin API has something to answer with.
    licence(services.store, services.policy, "C-100", "basic", "Org C-100")
    return create_app(services=services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def row_counts(store: Store) -> dict[str, int]:
    with store.session() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in TABLES
        }


def assert_error_shape(status: int, body: Any) -> None:
    assert isinstance(body, dict) and set(body) == ERROR_KEYS, (status, body)
    assert isinstance(body["error"], str) and isinstance(body["message"], str)
    assert isinstance(body["fields"], dict)


# --- schemathesis: every documented operation ---------------------------------------------------


def test_the_fuzzed_operations_are_every_documented_one(app: Flask) -> None:
    document = app.test_client().get("/api/v1/openapi.json").json
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert documented == set(OPERATIONS)
    assert sum(OPERATIONS.values()) >= 1000


AUTH_MODES = st.sampled_from(["valid"] * 6 + ["missing", "wrong"])


def auth_headers(case: Any, mode: str, body: bytes | None) -> dict[str, str]:
    """The operation's credentials: valid, missing or wrong."""
    if mode == "missing":
        return {}
    path = case.operation.path
    if path == "/webhooks/zammad":
        secret = SECRET if mode == "valid" else "not-the-secret"
        return {"X-Hub-Signature": hub_signature(secret, body or b"")}
    if path == "/erp/licences":
        return {"Authorization": f"Bearer {ERP_TOKEN if mode == 'valid' else 'wrong'}"}
    if path.startswith("/api/v1/") and path != "/api/v1/openapi.json":
        return {"Authorization": f"Bearer {ADMIN_TOKEN if mode == 'valid' else 'wrong'}"}
    return {}


@pytest.mark.parametrize(
    ("method", "path"), list(OPERATIONS), ids=[f"{m} {p}" for m, p in OPERATIONS]
)
def test_every_documented_operation_answers_only_as_documented(
    method: str, path: str, app: Flask, services: Services
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]

    statuses: list[int] = []

    @fuzz_settings(OPERATIONS[(method, path)])
    @given(case=strategy, mode=AUTH_MODES)
    def answers_as_documented(case: Any, mode: str) -> None:
        # The generated credentials are replaced by ours: valid, missing or wrong.
        case.headers = {
            name: value
            for name, value in (case.headers or {}).items()
            if name.lower() not in ("authorization", "x-hub-signature")
        }
        extra: dict[str, Any] = {}
        body: bytes | None = None
        if not isinstance(case.body, NotSet) and case.media_type == "application/json":
            # Signed as sent (a negative case may be raw bytes).
            raw = case.body if isinstance(case.body, bytes) else None
            body = raw if raw is not None else json.dumps(case.body).encode()
            extra["data"] = body
        before = row_counts(services.store)
        response = case.call_and_validate(
            headers=auth_headers(case, mode, body), checks=checks, **extra
        )
        statuses.append(response.status_code)
        if response.status_code >= 400:
            assert_error_shape(response.status_code, response.json())
            assert row_counts(services.store) == before, "a rejected request stored something"

    answers_as_documented()
    # Hypothesis stops early only when an operation has few distinct cases (openapi.json).
    assert len(statuses) >= OPERATIONS[(method, path)] * 3 // 4, len(statuses)


# --- hypothesis: the Zammad webhook ------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text()
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIXTURES = {name: load_fixture(name) for name in fixture_names()}
CONTENT_TYPES = st.sampled_from(
    ["application/json"] * 8
    + [
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/jsonl",
        "",
    ]
)
HUGE = st.sampled_from([2_000, 200_000, MAX_BODY - 64, MAX_BODY + 1])


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a nested value (keys and list indexes), the root excluded."""
    found: list[tuple[Any, ...]] = []
    children: Any = []
    if isinstance(value, dict):
        children = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    for key, child in children:
        found.append((*prefix, key))
        found.extend(paths_in(child, (*prefix, key)))
    return found


def retyped(value: Any) -> Any:
    """The same content as another JSON type."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return dict(enumerate(map(str, value))) if value else {}
    if isinstance(value, dict):
        return list(value.values())
    return 0


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]]) -> Any:
    """A payload with one to three nested fields dropped, replaced, retyped or made huge."""
    payload = copy.deepcopy(draw(base))
    for _ in range(draw(st.integers(1, 3))):
        paths = paths_in(payload)
        if not paths:
            break
        *parents, key = draw(st.sampled_from(paths))
        parent = payload
        for step in parents:
            parent = parent[step]
        how = draw(st.sampled_from(["drop", "replace", "retype", "huge", "unicode"]))
        if how == "drop":
            del parent[key]
        elif how == "replace":
            parent[key] = draw(JSON_VALUES)
        elif how == "retype":
            parent[key] = retyped(parent[key])
        elif how == "huge":
            parent[key] = draw(st.sampled_from("xé€😀")) * draw(HUGE)
        else:
            parent[key] = draw(st.text(st.characters(codec=None), min_size=1, max_size=40))
    return payload


def encoded(draw: st.DrawFn, value: Any) -> bytes:
    """JSON as a sender could write it: compact or not, UTF-8 or escaped, now and then in
    another encoding, with a byte-order mark, or cut short."""
    ascii_only = draw(st.booleans())
    text = json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":"))
    how = draw(st.sampled_from(["utf-8"] * 12 + ["utf-16", "utf-32", "utf-8-sig", "truncated"]))
    if how == "truncated":
        raw = text.encode("utf-8", "surrogatepass")
        return raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    return text.encode(how, "surrogatepass")


@st.composite
def webhook_requests(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    kind = draw(st.sampled_from(["fixture"] * 6 + ["json"] * 2 + ["bytes"]))
    if kind == "fixture":
        body = encoded(draw, draw(mutated(st.sampled_from(list(FIXTURES.values())))))
    elif kind == "json":
        body = encoded(draw, draw(JSON_VALUES))
    else:
        body = draw(st.binary(max_size=200))
    signature = draw(st.sampled_from(["valid"] * 8 + ["wrong", "missing"]))
    headers = {
        "Content-Type": draw(CONTENT_TYPES),
        "X-Zammad-Trigger": draw(st.sampled_from(["ticket_created", "ticket_updated"])),
    }
    if draw(st.booleans()):
        delivery = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=300)
        headers["X-Zammad-Delivery"] = draw(delivery)
    if signature != "missing":
        headers["X-Hub-Signature"] = hub_signature(
            SECRET if signature == "valid" else "wrong", body
        )
    return body, headers


def assert_answered_as_documented(
    response: Any, accepted: set[int], rejected: set[int], store: Store, before: dict[str, int]
) -> None:
    status = response.status_code
    assert status < 500, (status, response.get_data()[:500])
    assert status in accepted | rejected, (status, response.get_data()[:500])
    if status in rejected:
        assert_error_shape(status, response.get_json(silent=True))
        assert row_counts(store) == before, f"a rejected request ({status}) stored something"


def test_fuzzed_webhook_bodies_are_accepted_or_refused_as_documented(
    client: FlaskClient, services: Services
) -> None:
    seen: dict[int, int] = {}

    @fuzz_settings(HYPOTHESIS_CASES)
    @given(request=webhook_requests())
    def answers_as_documented(request: tuple[bytes, dict[str, str]]) -> None:
        body, headers = request
        before = row_counts(services.store)
        response = client.post("/webhooks/zammad", data=body, headers=headers)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert_answered_as_documented(
            response, {200, 202}, WEBHOOK_REJECTIONS, services.store, before
        )

    answers_as_documented()
    # The generator reaches both sides: stored deliveries and every kind of refusal.
    assert sum(seen.values()) >= HYPOTHESIS_CASES
    assert {202, 400, 401, 415, 422} <= set(seen), seen


# --- hypothesis: the ERP licence push ----------------------------------------------------------

LICENCE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "licence_id": st.text(max_size=80),
    "revision": st.none() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(),
    "customer_number": st.text(max_size=80),
    "customer_name": st.none() | st.text(max_size=300),
    "plan": st.none() | st.sampled_from(["basic", "pro", "commissioning", "gold", ""]),
    "product": st.none() | st.sampled_from(["SP-PRO-10", "SP-BASIC", "nope"]) | st.text(),
    "purchased_on": st.none()
    | st.dates().map(str)
    | st.sampled_from(["2026-02-30", "2026-13-01", "0000-01-01", "2026-03-15T10:00:00Z"])
    | st.text(max_size=12),
    "accepted_on": st.none() | st.dates().map(str) | st.text(max_size=12),
    "go_live_on": st.none() | st.dates().map(str) | st.text(max_size=12),
    "list_price": st.none()
    | st.decimals(allow_nan=True, allow_infinity=True).map(str)
    | st.floats()
    | st.integers(min_value=-(10**30), max_value=10**30),
    "currency": st.none() | st.sampled_from(["EUR", "USD", "eur", "EURO", ""]) | st.text(),
    "status": st.none() | st.sampled_from(["active", "cancelled", "terminated", "ACTIVE", ""]),
    "cancelled_on": st.none() | st.dates().map(str) | st.text(max_size=12),
    "options": st.none()
    | st.lists(st.sampled_from(["third_party_projects", "nope"]) | JSON_VALUES, max_size=3),
}


@st.composite
def licence_objects(draw: st.DrawFn) -> dict[str, Any]:
    """The example licence with some fields dropped, replaced by a plausible or wrong value,
    or retyped; now and then an unknown field."""
    item = dict(LICENCE_EXAMPLE, licence_id=f"LIC-{draw(st.integers(1, 40))}")
    for name in draw(st.lists(st.sampled_from(sorted(LICENCE_VALUES)), max_size=4)):
        how = draw(st.sampled_from(["value"] * 4 + ["drop", "retype", "json"]))
        if how == "drop":
            item.pop(name, None)
        elif how == "retype":
            item[name] = retyped(item.get(name))
        elif how == "json":
            item[name] = draw(JSON_VALUES)
        else:
            item[name] = draw(LICENCE_VALUES[name])
    if draw(st.integers(0, 9)) == 0:
        item[draw(st.text(min_size=1, max_size=10))] = draw(JSON_VALUES)
    return item


@st.composite
def push_requests(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    kind = draw(st.sampled_from(["one"] * 4 + ["batch"] * 3 + ["json", "mutated", "bytes"]))
    if kind == "one":
        value: Any = draw(licence_objects())
    elif kind == "batch":
        items = st.lists(licence_objects() | JSON_VALUES.filter(bool), max_size=6)
        value = {"licences": draw(items)}
        if draw(st.integers(0, 9)) == 0:
            value[draw(st.text(max_size=8))] = draw(JSON_VALUES)
    elif kind == "json":
        value = draw(JSON_VALUES)
    else:
        value = draw(mutated(st.just({"licences": [LICENCE_EXAMPLE, LICENCE_EXAMPLE]})))
    body = draw(st.binary(max_size=200)) if kind == "bytes" else encoded(draw, value)
    auth = draw(st.sampled_from(["valid"] * 8 + ["wrong", "missing"]))
    headers = {"Content-Type": draw(CONTENT_TYPES)}
    if auth != "missing":
        headers["Authorization"] = f"Bearer {ERP_TOKEN if auth == 'valid' else 'wrong'}"
    return body, headers


def test_fuzzed_licence_pushes_are_accepted_or_refused_as_documented(
    client: FlaskClient, services: Services
) -> None:
    seen: dict[int, int] = {}

    @fuzz_settings(HYPOTHESIS_CASES)
    @given(request=push_requests())
    def answers_as_documented(request: tuple[bytes, dict[str, str]]) -> None:
        body, headers = request
        before = row_counts(services.store)
        response = client.post("/erp/licences", data=body, headers=headers)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert_answered_as_documented(response, {202}, PUSH_REJECTIONS, services.store, before)

    answers_as_documented()
    assert sum(seen.values()) >= HYPOTHESIS_CASES
    assert {202, 400, 401, 415, 422} <= set(seen), seen


# --- what the fuzzing found --------------------------------------------------------------------


def test_a_signed_webhook_in_utf_16_is_refused_as_not_json(
    client: FlaskClient, services: Services
) -> None:
    body = json.dumps(FIXTURES["ticket_created__default"]).encode("utf-16")
    headers = {"Content-Type": "application/json", "X-Hub-Signature": hub_signature(SECRET, body)}
    before = row_counts(services.store)
    response = client.post("/webhooks/zammad", data=body, headers=headers)
    assert response.status_code == 400 and response.json["error"] == "invalid_json"
    assert row_counts(services.store) == before


def test_a_revision_beyond_the_column_is_refused_per_field(
    client: FlaskClient, services: Services
) -> None:
    before = row_counts(services.store)
    response = client.post(
        "/erp/licences",
        json=dict(LICENCE_EXAMPLE, revision=2**63),
        headers={"Authorization": f"Bearer {ERP_TOKEN}"},
    )
    assert response.status_code == 422 and set(response.json["fields"]) == {"revision"}
    assert row_counts(services.store) == before
