"""The download platform's call: GET /api/v1/customers/<customer_number>/entitlement, with
its own bearer token; each plan before and after its end."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from adapter.app import create_app
from adapter.contracts import Licence, contract_from_licence
from adapter.licences import store_licences
from adapter.services import Services, build_services
from adapter.settings import MIN_SECRET_LENGTH, Settings
from adapter.updates import updates_entitlement
from connectors.zammad.settings import ZammadSettings
from mappings.plans import load_policy
from mappings.settings import load_settings
from mappings.yamlfile import FileErrors
from tests.admin_helpers import ADMIN_TOKEN, assert_documented

POLICY = load_policy()
DOWNLOAD_TOKEN = "download-token-for-tests-only-32-chars-or-more"
BEARER = {"Authorization": f"Bearer {DOWNLOAD_TOKEN}"}
PATH = "/api/v1/customers/{}/entitlement"


def contract(plan: str, purchased: date, **licence):
    sold = Licence(f"LIC-{plan}", "C-1", plan, purchased, **licence)
    return contract_from_licence(sold, POLICY.plan(plan))


# --- the rule, on fixed days -------------------------------------------------------------------

# (plan, licence, its last day covered): commissioning ends 8 weeks after purchase; basic and
# pro at a termination, or at the end of the term a notice ended.
ENDS = [
    ("commissioning", {"purchased": date(2026, 9, 1)}, date(2026, 10, 27)),
    (
        "basic",
        {"purchased": date(2026, 3, 15), "status": "cancelled", "cancelled_on": date(2027, 6, 1)},
        date(2027, 12, 31),
    ),
    (
        "pro",
        {"purchased": date(2026, 3, 15), "status": "terminated", "cancelled_on": date(2026, 11, 5)},
        date(2026, 11, 5),
    ),
]


@pytest.mark.parametrize(("plan", "licence", "last_day"), ENDS, ids=[e[0] for e in ENDS])
def test_each_plan_grants_updates_until_its_end_and_not_after(plan, licence, last_day):
    terms = dict(licence)
    purchased = terms.pop("purchased")
    contracts = [contract(plan, purchased, **terms)]
    on_last_day = updates_entitlement("C-1", contracts, last_day, POLICY)
    assert on_last_day.updates and on_last_day.plan == plan and on_last_day.until == last_day
    a_week_before = updates_entitlement("C-1", contracts, last_day - timedelta(days=7), POLICY)
    assert a_week_before.updates and a_week_before.until == last_day
    after = updates_entitlement("C-1", contracts, last_day + timedelta(days=1), POLICY)
    assert (after.updates, after.plan, after.until) == (False, None, None)


def test_before_a_contract_starts_there_are_no_updates():
    contracts = [contract("basic", date(2026, 3, 15))]
    before = updates_entitlement("C-1", contracts, date(2026, 3, 14), POLICY)
    assert (before.updates, before.plan, before.until) == (False, None, None)


def test_a_basic_contract_that_renews_grants_updates_in_its_next_term():
    contracts = [contract("basic", date(2026, 3, 15))]  # first term to 31 Dec 2027
    renewed = updates_entitlement("C-1", contracts, date(2028, 1, 1), POLICY)
    assert renewed.updates and renewed.until == date(2028, 12, 31)


def test_several_contracts_give_the_best_plan_and_the_longest_term():
    contracts = [
        contract("basic", date(2026, 3, 15)),
        contract("commissioning", date(2026, 11, 2)),  # to 28 Dec 2026
    ]
    both = updates_entitlement("C-1", contracts, date(2026, 12, 1), POLICY)
    assert (both.plan, both.until) == ("basic", date(2027, 12, 31))


# --- over HTTP ---------------------------------------------------------------------------------


def settings_for(database_url: str, **more) -> Settings:
    values = {
        "admin_token": ADMIN_TOKEN,
        "download_token": DOWNLOAD_TOKEN,
        "language": "en",
        "provider_settings": {"zammad": ZammadSettings(webhook_secret="s")},
        **more,
    }
    return Settings(database_url=database_url, **values)


@pytest.fixture
def services(database_url, store) -> Services:
    return build_services(settings_for(database_url), store=store)


@pytest.fixture
def client(services):
    return create_app(services=services).test_client()


def today(services: Services) -> date:
    return datetime.now(UTC).astimezone(services.policy.calendar.time_zone).date()


def sell(services: Services, number: str, plan: str, purchased: date, **licence) -> None:
    sold = Licence(f"LIC-{number}", number, plan, purchased, **licence)
    with services.store.session() as session:
        store_licences(
            services.store,
            session,
            services.policy,
            [sold],
            "import",
            datetime.now(UTC),
            helpdesks=(),
        )


def test_each_plan_answers_updates_on_its_last_day_and_none_the_day_after(client, services):
    day = today(services)
    # Commissioning: 8 weeks from purchase; basic and pro: terminated on a day.
    sell(services, "C-COM-ON", "commissioning", day - timedelta(weeks=8))
    sell(services, "C-COM-OFF", "commissioning", day - timedelta(weeks=8, days=1))
    for plan in ("basic", "pro"):
        start = day - timedelta(days=200)
        sell(services, f"C-{plan}-ON", plan, start, status="terminated", cancelled_on=day)
        yesterday = day - timedelta(days=1)
        sell(services, f"C-{plan}-OFF", plan, start, status="terminated", cancelled_on=yesterday)
    for plan, number in (
        ("commissioning", "C-COM"),
        ("basic", "C-basic"),
        ("pro", "C-pro"),
    ):
        on = client.get(PATH.format(f"{number}-ON"), headers=BEARER)
        assert on.status_code == 200, on.json
        assert on.json == {
            "customer": f"{number}-ON",
            "updates": True,
            "plan": plan,
            "until": day.isoformat(),
        }
        off = client.get(PATH.format(f"{number}-OFF"), headers=BEARER)
        assert off.status_code == 200, off.json
        assert off.json == {
            "customer": f"{number}-OFF",
            "updates": False,
            "plan": None,
            "until": None,
        }


def test_the_answer_is_as_documented(client, services):
    sell(services, "C-1", "basic", today(services) - timedelta(days=30))
    answer = client.get(PATH.format("C-1"), headers=BEARER)
    assert answer.status_code == 200 and answer.json["updates"] is True
    document = client.get("/api/v1/openapi.json").json
    assert_documented(document, "Entitlement", answer.json)
    operation = document["paths"]["/api/v1/customers/{customer_number}/entitlement"]["get"]
    assert operation["security"] == [{"downloadToken": []}]
    assert set(operation["responses"]) == {"200", "401", "403", "404", "429", "503"}


def test_an_unknown_customer_is_a_404_naming_it(client):
    for number in ("C-NONE", "C%00"):
        answer = client.get(PATH.format(number), headers=BEARER)
        assert answer.status_code == 404
        assert answer.json["error"] == "not_found"
        assert set(answer.json) == {"error", "message", "fields"}
        assert set(answer.json["fields"]) == {"customer_number"}


def test_without_a_bearer_token_the_answer_is_401(client):
    answer = client.get(PATH.format("C-1"))
    assert answer.status_code == 401 and answer.json["error"] == "unauthorized"
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="download"'


def test_a_wrong_token_and_the_admin_token_are_refused_with_403(client):
    for token in ("wrong", DOWNLOAD_TOKEN[:-1], ADMIN_TOKEN):
        answer = client.get(PATH.format("C-1"), headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 403 and answer.json["error"] == "forbidden", token


def test_the_download_token_opens_nothing_of_the_admin_api(client):
    assert client.get("/api/v1/customers", headers=BEARER).status_code == 403


def test_wrong_tokens_are_throttled_per_address(database_url, store):
    services = build_services(settings_for(database_url, auth_failure_limit=2), store=store)
    client = create_app(services=services).test_client()
    wrong = {"Authorization": "Bearer wrong"}
    assert [client.get(PATH.format("C-1"), headers=wrong).status_code for _ in range(2)] == [
        403,
        403,
    ]
    throttled = client.get(PATH.format("C-1"), headers=BEARER)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1


def test_without_a_download_token_the_endpoint_is_off(database_url, store):
    services = build_services(settings_for(database_url, download_token=None), store=store)
    answer = create_app(services=services).test_client().get(PATH.format("C-1"), headers=BEARER)
    assert answer.status_code == 503 and answer.json["error"] == "download_not_configured"
    assert "ENTITLEMENTS_DOWNLOAD_TOKEN" in answer.json["message"]


def test_the_download_token_has_no_default_and_a_short_one_is_refused_naming_it(monkeypatch):
    assert Settings().download_token is None
    monkeypatch.delenv("ENTITLEMENTS_CONFIG", raising=False)
    short = "x" * (MIN_SECRET_LENGTH - 1)
    monkeypatch.setenv("ENTITLEMENTS_DOWNLOAD_TOKEN", short)
    with pytest.raises(FileErrors) as refused:
        load_settings()
    assert [e.field for e in refused.value.errors] == ["ENTITLEMENTS_DOWNLOAD_TOKEN"]
    assert "shorter than 32 characters" in str(refused.value) and short not in str(refused.value)
    monkeypatch.setenv("ENTITLEMENTS_DOWNLOAD_TOKEN", "x" * MIN_SECRET_LENGTH)
    assert load_settings().download_token == "x" * MIN_SECRET_LENGTH
    assert DOWNLOAD_TOKEN not in repr(Settings(download_token=DOWNLOAD_TOKEN))
