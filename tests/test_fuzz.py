"""Fuzzing the HTTP surface: schemathesis against the app's own OpenAPI document, and
hypothesis-generated Zammad webhook and ERP licence bodies, header values (non-ASCII, control
characters, over-long), JSON nested up to 100,000 levels, extreme dates and integers. Never a
5xx; every rejection a documented 4xx in the one error shape; nothing stored for a rejected
request.

All traffic goes through the WSGI app in-process. Hypothesis runs derandomized (the same
cases on every run), so a CI failure reproduces locally."""

from __future__ import annotations

import copy
import ipaddress
import itertools
import json
from datetime import date
from typing import Any
from urllib.parse import quote

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

from adapter.app import create_app
from adapter.limits import MAX_JSON_DEPTH, date_problem
from adapter.services import Services, build_services
from adapter.settings import Settings
from adapter.store import Store
from adapter.store.models import (
    ContractRow,
    DecisionRow,
    InboxRow,
    LedgerEntryRow,
    LicenceRow,
    OnCallBookingRow,
    OnCallCancellationRow,
    OutboxRow,
)
from adapter.web.signatures import hub_signature
from connectors.erp.openapi import LICENCE_EXAMPLE
from connectors.erp.settings import ErpSettings
from connectors.rt.settings import RtSettings
from tests.admin_helpers import ADMIN_TOKEN, licence
from tests.rt_helpers import SECRET as RT_SECRET
from tests.zammad_helpers import SECRET, fixture_names, load_fixture, signed_zammad

ERP_TOKEN = "erp-push-token-for-fuzzing"
DOWNLOAD_TOKEN = "download-token-for-fuzzing-32-chars-or-more"
ENTITLEMENT = "/api/v1/customers/{customer_number}/entitlement"
ERROR_KEYS = {"error", "message", "fields"}
WEBHOOK_REJECTIONS = {400, 401, 413, 415, 422}
PUSH_REJECTIONS = {400, 401, 413, 415, 422}
TABLES = (
    InboxRow,
    LicenceRow,
    ContractRow,
    DecisionRow,
    LedgerEntryRow,
    OutboxRow,
    OnCallBookingRow,
    OnCallCancellationRow,
)

# Per documented operation: how many schemathesis cases (positive and negative data mixed).
# The whole file runs in about a minute on a 2-core machine: more cases find little more.
OPERATIONS = {
    ("POST", "/erp/licences"): 60,
    ("POST", "/webhooks/zammad"): 60,
    ("POST", "/webhooks/rt"): 60,
    ("GET", "/api/v1/openapi.json"): 10,
    ("GET", "/api/v1/customers"): 40,
    ("GET", "/api/v1/customers/{customer_number}"): 50,
    ("GET", "/api/v1/contracts/due"): 40,
    ("GET", ENTITLEMENT): 50,
    ("GET", "/api/v1/tickets/{helpdesk}/{ticket_id}/decisions"): 50,
    ("GET", "/api/v1/dead-letters"): 10,
    ("POST", "/api/v1/dead-letters/{id}/retry"): 50,
    ("POST", "/api/v1/explain"): 100,
    ("POST", "/api/v1/replay"): 70,
    ("POST", "/api/v1/on-call-bookings"): 30,
    ("POST", "/api/v1/on-call-bookings/{booking_id}/cancel"): 30,
}
HYPOTHESIS_CASES = 300  # each for webhook bodies and licence pushes
EXTREME_CASES = 150  # each for headers, nesting, dates and integers, ids in paths


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
        "provider_settings": {
            **signed_zammad(),
            "erp": ErpSettings(push_token=ERP_TOKEN),
            # RT configured (a closed port: its webhook never calls RT) so that it takes posts.
            "rt": RtSettings(url="http://127.0.0.1:9", token="1-1-x", webhook_secret=RT_SECRET),
        },
        "admin_token": ADMIN_TOKEN,
        "download_token": DOWNLOAD_TOKEN,
        "language": "en",
        "max_body_bytes": MAX_BODY,  # the limit's edges, without 8 MiB bodies by the hundred
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
    counts = [select(func.count()).select_from(t).scalar_subquery() for t in TABLES]
    with store.session() as session:
        row = session.execute(select(*counts)).one()  # one query: it runs for every case
    return {table.__tablename__: n for table, n in zip(TABLES, row, strict=True)}


def assert_error_shape(status: int, body: Any) -> None:
    assert isinstance(body, dict) and set(body) == ERROR_KEYS, (status, body)
    assert isinstance(body["error"], str) and isinstance(body["message"], str)
    assert isinstance(body["fields"], dict)


class Addresses:
    """A fresh loopback client address per case, so that no case is answered for an earlier
    one's wrong credentials (wrong tokens are limited per address)."""

    def __init__(self) -> None:
        self.used = itertools.count(1)

    def next(self) -> dict[str, str]:
        return {"REMOTE_ADDR": str(ipaddress.IPv4Address("127.0.0.0") + next(self.used))}


# --- schemathesis: every documented operation ---------------------------------------------------


def test_the_fuzzed_operations_are_every_documented_one(app: Flask) -> None:
    document = app.test_client().get("/api/v1/openapi.json").json
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert documented == set(OPERATIONS)
    assert sum(OPERATIONS.values()) >= 500


# Header values as a server may hand them over: any byte as a latin-1 character (WSGI), any
# other character, a lone surrogate (a server decoding with surrogateescape), control
# characters, and lengths past any column.
ODD_TEXT = st.one_of(
    st.text(st.characters(max_codepoint=0xFF, exclude_characters="\r\n"), min_size=1, max_size=40),
    st.text(st.characters(exclude_characters="\r\n"), min_size=1, max_size=20),
    st.sampled_from(["é", "\xff", "\x00", "\x7f", "€", "😀", "\udcff", "\ud800x", "\t", " "]),
    st.builds(
        lambda char, n: char * n, st.sampled_from("aé\x00€"), st.sampled_from([121, 8_192, 65_536])
    ),
)
ODD_HEADERS = st.one_of(
    ODD_TEXT,
    st.builds("sha1={}".format, ODD_TEXT),  # a signature's shape around odd characters
    st.builds(
        lambda scheme, text: scheme + text, st.sampled_from(["Bearer ", "bearer "]), ODD_TEXT
    ),
)
AUTH_MODES = st.sampled_from(["valid"] * 6 + ["missing", "wrong", "odd"])


def auth_headers(case: Any, mode: str, body: bytes | None, odd: str) -> dict[str, str]:
    """The operation's credentials: valid, missing, wrong, or an odd header value."""
    if mode == "missing":
        return {}
    path = case.operation.path
    if path in ("/webhooks/zammad", "/webhooks/rt"):
        if mode == "odd":
            return {"X-Hub-Signature": odd}
        valid = SECRET if path == "/webhooks/zammad" else RT_SECRET
        secret = valid if mode == "valid" else "not-the-secret"
        return {"X-Hub-Signature": hub_signature(secret, body or b"")}
    if path == "/erp/licences":
        token = ERP_TOKEN
    elif path == ENTITLEMENT:
        token = DOWNLOAD_TOKEN
    elif path.startswith("/api/v1/") and path != "/api/v1/openapi.json":
        token = ADMIN_TOKEN
    else:
        return {}
    return {"Authorization": {"valid": f"Bearer {token}", "wrong": "Bearer wrong"}.get(mode, odd)}


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
    @given(case=strategy, mode=AUTH_MODES, odd=ODD_HEADERS)
    def answers_as_documented(case: Any, mode: str, odd: str) -> None:
        # The generated credentials are replaced by ours: valid, missing, wrong or odd.
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
            headers=auth_headers(case, mode, body, odd), checks=checks, **extra
        )
        statuses.append(response.status_code)
        if response.status_code >= 400:
            assert_error_shape(response.status_code, response.json())
            assert row_counts(services.store) == before, "a rejected request stored something"

    answers_as_documented()
    # Hypothesis stops early only when an operation has few distinct cases (openapi.json).
    assert len(statuses) >= OPERATIONS[(method, path)] * 3 // 4, len(statuses)


# --- hypothesis: the Zammad webhook ------------------------------------------------------------

# Dates at and past the ends of what the adapter computes with (1970 to 2200) and of what
# Python's dates hold (years 1 to 9999); date-times with every kind of offset.
EXTREME_DATES = st.sampled_from(
    ["0001-01-01", "9999-12-31", "1969-12-31", "1970-01-01", "2200-12-31", "2201-01-01"]
)
EXTREME_DATE_TIMES = st.builds(
    "{}T{}{}".format,
    EXTREME_DATES | st.dates().map(str),
    st.sampled_from(["00:00:00", "23:59:59", "12:00:00.999999"]),
    st.sampled_from(["Z", "+00:00", "+14:00", "-12:00", "+23:59", "-23:59", "+05:30"]),
)
# Integers at and past the 32- and 64-bit limits of columns and drivers, either sign.
EXTREME_INTEGERS = st.sampled_from(
    [2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**30, -1, -(2**63) - 1]
) | st.integers(min_value=-(2**80), max_value=2**80)

SCALARS = st.none() | st.booleans() | st.integers() | EXTREME_INTEGERS | st.floats() | st.text()
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
# Now and then: JSON's type with odd parameters, which must not upset the media type parser.
ODD_CONTENT_TYPES = st.builds("application/json; charset={}".format, ODD_TEXT) | ODD_TEXT
MAX_BODY = 1024 * 1024
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
    signature = draw(st.sampled_from(["valid"] * 8 + ["wrong", "missing", "odd"]))
    headers = {
        "Content-Type": draw(CONTENT_TYPES | ODD_CONTENT_TYPES),
        "X-Zammad-Trigger": draw(st.sampled_from(["ticket_created", "ticket_updated"]) | ODD_TEXT),
    }
    if draw(st.booleans()):
        delivery = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=300)
        headers["X-Zammad-Delivery"] = draw(delivery | ODD_TEXT)
    if signature == "odd":
        headers["X-Hub-Signature"] = draw(ODD_HEADERS)
    elif signature != "missing":
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
        after = row_counts(store)
        assert after == before, f"a rejected request ({status}) stored something: {before} {after}"


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
    "revision": st.none() | EXTREME_INTEGERS | st.floats(),
    "customer_number": st.text(max_size=80),
    "customer_name": st.none() | st.text(max_size=300),
    "plan": st.none() | st.sampled_from(["basic", "pro", "commissioning", "gold", ""]),
    "product": st.none() | st.sampled_from(["SP-PRO-10", "SP-BASIC", "nope"]) | st.text(),
    "purchased_on": st.none()
    | st.dates().map(str)
    | EXTREME_DATES
    | st.sampled_from(["2026-02-30", "2026-13-01", "0000-01-01", "2026-03-15T10:00:00Z"])
    | st.text(max_size=12),
    "accepted_on": st.none() | st.dates().map(str) | EXTREME_DATES | st.text(max_size=12),
    "go_live_on": st.none() | st.dates().map(str) | EXTREME_DATES | st.text(max_size=12),
    "list_price": st.none()
    | st.decimals(allow_nan=True, allow_infinity=True).map(str)
    | st.floats()
    | st.integers(min_value=-(10**30), max_value=10**30),
    "currency": st.none() | st.sampled_from(["EUR", "USD", "eur", "EURO", ""]) | st.text(),
    "status": st.none() | st.sampled_from(["active", "cancelled", "terminated", "ACTIVE", ""]),
    "cancelled_on": st.none() | st.dates().map(str) | EXTREME_DATES | st.text(max_size=12),
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
    auth = draw(st.sampled_from(["valid"] * 8 + ["wrong", "missing", "odd"]))
    headers = {"Content-Type": draw(CONTENT_TYPES | ODD_CONTENT_TYPES)}
    if auth == "odd":
        headers["Authorization"] = draw(ODD_HEADERS)
    elif auth != "missing":
        headers["Authorization"] = f"Bearer {ERP_TOKEN if auth == 'valid' else 'wrong'}"
    return body, headers


def test_fuzzed_licence_pushes_are_accepted_or_refused_as_documented(
    client: FlaskClient, services: Services
) -> None:
    seen: dict[int, int] = {}
    addresses = Addresses()

    @fuzz_settings(HYPOTHESIS_CASES)
    @given(request=push_requests())
    def answers_as_documented(request: tuple[bytes, dict[str, str]]) -> None:
        body, headers = request
        before = row_counts(services.store)
        response = client.post(
            "/erp/licences", data=body, headers=headers, environ_base=addresses.next()
        )
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert_answered_as_documented(response, {202}, PUSH_REJECTIONS, services.store, before)

    answers_as_documented()
    assert sum(seen.values()) >= HYPOTHESIS_CASES
    assert {202, 400, 401, 415, 422} <= set(seen), seen


# --- hypothesis: header values -----------------------------------------------------------------

# Per endpoint: what a request sends (valid credentials and body) and what it may be answered.
HEADER_ENDPOINTS = ("/webhooks/zammad", "/erp/licences", "/api/v1/explain", "/api/v1/dead-letters")
HEADER_ANSWERS = {
    "/webhooks/zammad": ({200, 202}, WEBHOOK_REJECTIONS),
    "/erp/licences": ({202}, PUSH_REJECTIONS),
    "/api/v1/explain": ({200}, {400, 401, 403, 415, 422}),
    "/api/v1/dead-letters": ({200}, {401, 403}),
}
HEADER_NAMES = (
    "X-Hub-Signature",
    "X-Zammad-Delivery",
    "X-Zammad-Trigger",
    "Authorization",
    "Content-Type",
)


def valid_request(path: str) -> tuple[str, bytes, dict[str, str]]:
    """Method, body and headers of a request that `path` accepts."""
    if path == "/webhooks/zammad":
        body = json.dumps(FIXTURES["ticket_created__default"]).encode()
        headers = {"X-Hub-Signature": hub_signature(SECRET, body), "X-Zammad-Delivery": "d-1"}
        return "POST", body, {**headers, "X-Zammad-Trigger": "ticket_created"}
    if path == "/erp/licences":
        return (
            "POST",
            json.dumps(LICENCE_EXAMPLE).encode(),
            {"Authorization": f"Bearer {ERP_TOKEN}"},
        )
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if path == "/api/v1/explain":
        return "POST", b'{"plan": "basic", "purchased": "2026-03-15"}', bearer
    return "GET", b"", bearer


def test_odd_header_values_are_answered_as_documented(
    client: FlaskClient, services: Services
) -> None:
    addresses = Addresses()

    @fuzz_settings(EXTREME_CASES)
    @given(
        path=st.sampled_from(HEADER_ENDPOINTS),
        name=st.sampled_from(HEADER_NAMES),
        value=ODD_HEADERS,
    )
    def answers_as_documented(path: str, name: str, value: str) -> None:
        method, body, headers = valid_request(path)
        headers = {"Content-Type": "application/json", **headers, name: value}
        before = row_counts(services.store)
        response = client.open(
            path, method=method, data=body, headers=headers, environ_base=addresses.next()
        )
        assert_answered_as_documented(response, *HEADER_ANSWERS[path], services.store, before)
        credential = {"/webhooks/zammad": "X-Hub-Signature"}.get(path, "Authorization")
        if name == credential:  # no odd value is the secret or the signature
            assert response.status_code in (401, 403), response.get_data()[:300]

    answers_as_documented()


# --- hypothesis: JSON nested up to 100,000 levels ----------------------------------------------

DEPTHS = st.sampled_from(
    [1, MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 1_000, 100_000]
) | st.integers(min_value=1, max_value=100_000)


@st.composite
def nested_json(draw: st.DrawFn) -> tuple[str, int]:
    """JSON text nesting arrays and objects around a scalar (all arrays, all objects, or a
    repeating mix), and its depth: the number of arrays and objects around the scalar."""
    arrays, objects = draw(st.sampled_from([(1, 0), (0, 1), (1, 1), (2, 1), (1, 3)]))
    repeats = -(-draw(DEPTHS) // (arrays + objects))
    opening = ("[" * arrays + '{"k":' * objects) * repeats
    closing = ("}" * objects + "]" * arrays) * repeats
    scalar = draw(st.sampled_from(["1", '"x"', "null"]))
    return opening + scalar + closing, repeats * (arrays + objects)


PLACEHOLDER = "__nested__"


def nested_body(path: str, where: str) -> tuple[str, int]:
    """A valid body of `path` (where: "root") or one with a field holding the placeholder,
    as JSON text; and how many arrays and objects enclose the placeholder."""
    if where == "root":
        return json.dumps(PLACEHOLDER), 0
    if path == "/webhooks/zammad":
        payload = copy.deepcopy(FIXTURES["ticket_created__default"])
        payload["ticket"]["nested"] = PLACEHOLDER
        return json.dumps(payload), 2
    if path == "/erp/licences":
        return json.dumps({"licences": [dict(LICENCE_EXAMPLE, options=PLACEHOLDER)]}), 3
    fields = {
        "/api/v1/explain": {"plan": "basic", "purchased": "2026-03-15", "categories": PLACEHOLDER},
        "/api/v1/replay": {"customer": PLACEHOLDER},
        "/api/v1/on-call-bookings": {"customer": "C-100", "days": PLACEHOLDER},
    }
    return json.dumps(fields[path]), 1


NESTED_ENDPOINTS = (
    "/webhooks/zammad",
    "/erp/licences",
    "/api/v1/explain",
    "/api/v1/replay",
    "/api/v1/on-call-bookings",
)


def test_json_nested_past_the_limit_is_refused_with_400_at_any_depth(
    client: FlaskClient, services: Services
) -> None:
    deepest: list[int] = []

    @fuzz_settings(EXTREME_CASES)
    @given(
        path=st.sampled_from(NESTED_ENDPOINTS),
        where=st.sampled_from(["root", "field"]),
        nested=nested_json(),
    )
    def refused_past_the_limit(path: str, where: str, nested: tuple[str, int]) -> None:
        text, depth = nested
        outer, enclosing = nested_body(path, where)
        body = outer.replace(json.dumps(PLACEHOLDER), text).encode()
        _, _, headers = valid_request(path)
        if path == "/webhooks/zammad":
            headers = {"X-Hub-Signature": hub_signature(SECRET, body)}
        before = row_counts(services.store)
        response = client.post(
            path, data=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code < 500, response.get_data()[:300]
        answer = response.get_json(silent=True) or {}
        if depth + enclosing > MAX_JSON_DEPTH:
            assert response.status_code == 400, (depth + enclosing, answer)
            assert_error_shape(400, answer)
            assert f"nested deeper than {MAX_JSON_DEPTH} levels" in answer["message"]
            assert row_counts(services.store) == before
            deepest.append(depth)
        else:
            assert "nested deeper" not in answer.get("message", ""), answer

    refused_past_the_limit()
    assert max(deepest) >= 100_000


# --- hypothesis: extreme dates and integers in the admin API -----------------------------------


def written_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@st.composite
def admin_requests(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """An explain, replay or on-call booking whose dates and integers are drawn from the
    extremes (and from anywhere in between)."""
    dates = EXTREME_DATES | st.dates().map(str)
    maybe = st.booleans()
    kind = draw(st.sampled_from(["explain", "explain-customer", "replay", "on-call"]))
    body: dict[str, Any]
    if kind == "explain":
        body = {"plan": draw(st.sampled_from(["basic", "commissioning"])), "purchased": draw(dates)}
        for name in ("accepted", "go_live", "cancelled"):
            if draw(maybe):
                body[name] = draw(dates)
    elif kind == "explain-customer":
        body = {"customer": "C-100"}
    elif kind == "replay":
        body = {"since": draw(EXTREME_DATE_TIMES)} if draw(maybe) else {}
        if draw(maybe):
            body["until"] = draw(EXTREME_DATE_TIMES)
        return "/api/v1/replay", body
    else:
        body = {
            "customer": "C-100",
            "days": draw(st.lists(dates, min_size=1, max_size=3)),
            "start": "18:00",
            "end": "22:00",
            "employees": draw(st.just(1) | EXTREME_INTEGERS),
            "hours": 2,
        }
        return "/api/v1/on-call-bookings", body
    if draw(maybe):
        body["created"] = draw(EXTREME_DATE_TIMES)
    for name in ("used", "remote_sessions"):
        if draw(maybe):
            body[name] = draw(EXTREME_INTEGERS)
    return "/api/v1/explain", body


def dates_out_of_range(body: dict[str, Any]) -> set[str]:
    """The fields (as the error names them) whose date lies outside the years 1970 to 2200."""
    named = {f"days.{i}": day for i, day in enumerate(body.get("days", []))}
    named.update({k: v for k, v in body.items() if isinstance(v, str) and k != "customer"})
    return {
        name
        for name, value in named.items()
        if (day := written_date(value)) is not None and date_problem(day)
    }


def test_extreme_dates_and_integers_are_refused_naming_the_field(
    client: FlaskClient, services: Services
) -> None:
    @fuzz_settings(EXTREME_CASES)
    @given(request=admin_requests())
    def refused_per_field(request: tuple[str, dict[str, Any]]) -> None:
        path, body = request
        before = row_counts(services.store)
        response = client.post(path, json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert_answered_as_documented(response, {200}, {422}, services.store, before)
        wrong = dates_out_of_range(body)
        if wrong:
            assert response.status_code == 422, (body, response.get_json())
            assert wrong <= set(response.get_json()["fields"]), (body, response.get_json())

    refused_per_field()


# --- hypothesis: ids and numbers in paths and queries ------------------------------------------

ODD_DIGITS = st.sampled_from(["²", "٣", "𝟗", "0" * 100 + "1", "-0", "+1", " 1", "1_000"])


@st.composite
def admin_paths(draw: st.DrawFn) -> tuple[str, str, set[int]]:
    """Method, path (with query) and the answers it may get."""
    number = draw(EXTREME_INTEGERS.map(str) | ODD_DIGITS)
    text = draw(ODD_TEXT | st.just(number))[:300]  # past any column; routing longer ones is slow
    text = quote(text.encode("utf-8", "surrogatepass"), safe="")
    kind = draw(st.sampled_from(["retry", "decisions", "customer", "periods"]))
    if kind == "retry":
        queue = draw(st.sampled_from(["inbox", "outbox", "inbox:", "nothing"]))
        return "POST", f"/api/v1/dead-letters/{queue}-{quote(number)}/retry", {404}
    if kind == "decisions":
        return "GET", f"/api/v1/tickets/zammad/{text}/decisions", {404}
    if kind == "customer":
        return "GET", f"/api/v1/customers/{text}", {404}
    return "GET", f"/api/v1/customers?periods={quote(number)}", {200, 422}


def test_extreme_ids_in_paths_and_queries_are_not_found_or_refused(
    client: FlaskClient, services: Services
) -> None:
    @fuzz_settings(EXTREME_CASES)
    @given(request=admin_paths())
    def not_found_or_refused(request: tuple[str, str, set[int]]) -> None:
        method, path, answers = request
        before = row_counts(services.store)
        response = client.open(
            path, method=method, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert_answered_as_documented(
            response, answers & {200}, answers - {200}, services.store, before
        )

    not_found_or_refused()


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


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ERP = {"Authorization": f"Bearer {ERP_TOKEN}"}
# Each regression test below tries its cases on one app: an app per case costs more than
# the cases themselves.


def test_non_ascii_signature_header_is_refused_with_401(
    client: FlaskClient, services: Services
) -> None:
    body = json.dumps(FIXTURES["ticket_created__default"]).encode()
    before = row_counts(services.store)
    for signature in ["é", "\xff", "\udcff", "sha1=" + "é" * 40, "sha1=\x00"]:
        headers = {"Content-Type": "application/json", "X-Hub-Signature": signature}
        response = client.post("/webhooks/zammad", data=body, headers=headers)
        assert response.status_code == 401, (signature, response.get_data()[:300])
        assert response.json["error"] == "invalid_signature"
    assert row_counts(services.store) == before


def test_non_ascii_bearer_tokens_are_refused_as_wrong_tokens(client: FlaskClient) -> None:
    addresses = Addresses()
    for token in ["é", "\xff" * 64, "\udcff", "\x00", "€" * 1000]:
        for header in (token, f"Bearer {token}"):
            push = client.post(
                "/erp/licences",
                json=LICENCE_EXAMPLE,
                headers={"Authorization": header},
                environ_base=addresses.next(),
            )
            assert push.status_code == 401 and push.json["error"] == "unauthorized", header
        admin = client.get(
            "/api/v1/dead-letters",
            headers={"Authorization": f"Bearer {token}"},
            environ_base=addresses.next(),
        )
        assert admin.status_code == 403 and admin.json["error"] == "forbidden", token


def deep(depth: int, opening: str, closing: str) -> str:
    return opening * depth + "1" + closing * depth


def test_json_nested_past_the_limit_is_refused_with_400_on_every_json_endpoint(
    client: FlaskClient, services: Services
) -> None:
    before = row_counts(services.store)
    for path, depth, (opening, closing) in itertools.product(
        ["/webhooks/zammad", "/erp/licences", "/api/v1/explain", "/api/v1/replay"],
        [MAX_JSON_DEPTH + 1, 100_000],
        [("[", "]"), ('{"a":', "}")],
    ):
        body = ('{"ticket": ' + deep(depth - 1, opening, closing) + "}").encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature": hub_signature(SECRET, body),
            "Authorization": (ERP if path == "/erp/licences" else ADMIN)["Authorization"],
        }
        response = client.post(path, data=body, headers=headers)
        assert response.status_code == 400, (path, depth, response.get_data()[:300])
        too_deep = f"the body has arrays and objects nested deeper than {MAX_JSON_DEPTH} levels"
        assert response.json == {"error": "invalid_json", "message": too_deep, "fields": {}}
    assert row_counts(services.store) == before


def test_a_webhook_nested_to_the_limit_is_accepted(client: FlaskClient) -> None:
    payload = copy.deepcopy(FIXTURES["ticket_created__default"])
    payload["ticket"]["nested"] = PLACEHOLDER  # two levels in: the body and its ticket
    text = deep(MAX_JSON_DEPTH - 2, "[", "]")
    body = json.dumps(payload).replace(json.dumps(PLACEHOLDER), text).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature": hub_signature(SECRET, body)}
    assert client.post("/webhooks/zammad", data=body, headers=headers).status_code == 202


def test_an_unpaired_surrogate_escape_is_refused_with_400_naming_the_field(
    client: FlaskClient, services: Services
) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/erp/licences", {**LICENCE_EXAMPLE, "customer_name": "Ö\udc9f"}, "customer_name"),
        (
            "/erp/licences",
            {"licences": [{**LICENCE_EXAMPLE, "licence_id": "\ud800"}]},
            "licences[0].licence_id",
        ),
        ("/api/v1/explain", {"customer": "C-\udfff"}, "customer"),
        ("/api/v1/on-call-bookings", {"customer": "\ud800", "days": ["2027-06-01"]}, "customer"),
    ]
    before = row_counts(services.store)
    for path, body, field in cases:
        headers = {
            **(ERP if path == "/erp/licences" else ADMIN),
            "Content-Type": "application/json",
        }
        response = client.post(path, data=json.dumps(body), headers=headers)
        assert response.status_code == 400, (path, response.get_data()[:300])
        assert response.json["error"] == "invalid_json"
        assert set(response.json["fields"]) == {field}
        message = f"unpaired surrogate escape (not Unicode text) at {field}"
        assert message in response.json["message"]
    assert row_counts(services.store) == before


def test_a_dead_letter_id_no_row_can_have_is_not_found(client: FlaskClient) -> None:
    for key in [f"outbox-{2**63}", "outbox-99999999999999999999999", f"inbox-{2**64}", "outbox-²"]:
        response = client.post(f"/api/v1/dead-letters/{quote(key)}/retry", headers=ADMIN)
        assert response.status_code == 404, (key, response.get_data()[:300])
        assert response.json == {
            "error": "not_found",
            "message": f"{key} is not a dead letter",
            "fields": {},
        }


EXPLAIN = {"plan": "commissioning", "purchased": "2026-03-15"}
ON_CALL = {"customer": "C-100", "start": "18:00", "end": "22:00", "employees": 1, "hours": 2}
OUT_OF_RANGE: list[tuple[str, dict[str, Any], str]] = [
    ("/api/v1/explain", {**EXPLAIN, "purchased": "9999-12-31"}, "purchased"),
    ("/api/v1/explain", {**EXPLAIN, "purchased": "0001-01-01"}, "purchased"),
    ("/api/v1/explain", {**EXPLAIN, "accepted": "9999-12-31"}, "accepted"),
    ("/api/v1/explain", {**EXPLAIN, "go_live": "9999-12-31"}, "go_live"),
    ("/api/v1/explain", {**EXPLAIN, "cancelled": "9999-12-31"}, "cancelled"),
    ("/api/v1/explain", {**EXPLAIN, "created": "9999-12-31T23:59:59-12:00"}, "created"),
    ("/api/v1/explain", {"customer": "C-100", "created": "0001-01-01T00:00+14:00"}, "created"),
    ("/api/v1/replay", {"since": "0001-01-01T00:00:00+14:00"}, "since"),
    ("/api/v1/replay", {"until": "9999-12-31T23:59:59-12:00"}, "until"),
    ("/api/v1/on-call-bookings", {**ON_CALL, "days": ["9999-12-31"]}, "days.0"),
    ("/erp/licences", {**LICENCE_EXAMPLE, "purchased_on": "9999-12-31"}, "purchased_on"),
    ("/erp/licences", {**LICENCE_EXAMPLE, "purchased_on": "0001-01-01"}, "purchased_on"),
    ("/erp/licences", {**LICENCE_EXAMPLE, "accepted_on": "9999-12-31"}, "accepted_on"),
    ("/erp/licences", {**LICENCE_EXAMPLE, "go_live_on": "2201-01-01"}, "go_live_on"),
    (
        "/erp/licences",
        {**LICENCE_EXAMPLE, "status": "cancelled", "cancelled_on": "9999-12-31"},
        "cancelled_on",
    ),
]


def test_dates_outside_1970_to_2200_are_refused_with_422_naming_the_field(
    client: FlaskClient, services: Services
) -> None:
    before = row_counts(services.store)
    for path, body, field in OUT_OF_RANGE:
        response = client.post(path, json=body, headers=ERP if path == "/erp/licences" else ADMIN)
        assert response.status_code == 422, (path, body, response.get_data()[:300])
        assert set(response.json["fields"]) == {field}, (path, response.json)
        message = response.json["fields"][field]
        assert message.startswith("must lie between 1970-01-01 and 2200-12-31"), message
    assert row_counts(services.store) == before


def test_the_first_and_last_days_of_the_range_are_taken(client: FlaskClient) -> None:
    body = {"plan": "basic", "purchased": "1970-01-01", "created": "2200-12-31T23:59:59-12:00"}
    response = client.post("/api/v1/explain", json=body, headers=ADMIN)
    assert response.status_code == 200 and response.json["contract"]["valid_from"] == "1970-01-01"
    licence = {**LICENCE_EXAMPLE, "purchased_on": "2200-12-31"}
    assert client.post("/erp/licences", json=licence, headers=ERP).status_code == 202


def test_a_nul_in_a_path_parameter_is_not_found(client: FlaskClient) -> None:
    for path in [
        "/api/v1/customers/C-100%00",
        "/api/v1/tickets/zammad/1%00/decisions",
        "/api/v1/tickets/zam%00mad/1/decisions",
    ]:
        response = client.get(path, headers=ADMIN)
        assert response.status_code == 404 and response.json["error"] == "not_found", path
        assert response.json["message"].endswith("must not contain NUL characters")


def test_a_nul_in_a_customer_field_is_refused_with_422_naming_it(
    client: FlaskClient, services: Services
) -> None:
    before = row_counts(services.store)
    for path, body in [
        ("/api/v1/explain", {"customer": "C-100\x00"}),
        ("/api/v1/replay", {"customer": "\x00"}),
        ("/api/v1/on-call-bookings", {**ON_CALL, "customer": "C\x00", "days": ["2200-01-02"]}),
    ]:
        response = client.post(path, json=body, headers=ADMIN)
        assert response.status_code == 422, (path, response.get_data()[:300])
        assert response.json["fields"] == {"customer": "must not contain NUL characters"}
    assert row_counts(services.store) == before


def test_a_delivery_id_or_trigger_with_control_characters_is_stored_without_them(
    client: FlaskClient, services: Services
) -> None:
    payload = FIXTURES["ticket_created__default"]
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature": hub_signature(SECRET, body),
        "X-Zammad-Delivery": "d\x00é",
        "X-Zammad-Trigger": "ticket\x00 created\x7f",
    }
    assert client.post("/webhooks/zammad", data=body, headers=headers).status_code == 202
    with services.store.session() as session:
        ticket = str(payload["ticket"]["id"])
        row = session.scalars(select(InboxRow).where(InboxRow.ticket_id == ticket)).one()
        assert row.delivery_id.startswith("sha256:")  # keyed by the id's hash, as a long one
        assert row.trigger == "ticket created"
