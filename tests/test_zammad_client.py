"""The Zammad client's faults, with `responses`: typed errors, retries, Retry-After, timeouts."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from adapter import errors
from connectors.zammad.client import TIMEOUT, AttributesDropped, ZammadClient

BASE = "http://127.0.0.1:3000"
TICKET = f"{BASE}/api/v1/tickets/81"
ZAMMAD_422 = {"error": "Unknown attribute 'colour'", "error_human": "Unknown attribute 'colour'"}


@pytest.fixture
def slept():
    return []


@pytest.fixture
def client(slept):
    return ZammadClient(BASE, "token", attempts=3, max_wait=10.0, sleep=slept.append)


@responses.activate
def test_every_call_has_our_timeout_and_the_token(client):
    responses.get(TICKET, json={"id": 81})
    assert client.ticket(81) == {"id": 81}
    call = responses.calls[0]
    assert call.request.req_kwargs["timeout"] == TIMEOUT
    assert call.request.headers["Authorization"] == "Token token=token"
    assert "expand=true" in call.request.url


@responses.activate
def test_server_error_then_success_is_retried(client, slept):
    responses.get(TICKET, status=500, json={"error": "boom"})
    responses.get(TICKET, status=502, body="Bad Gateway")
    responses.get(TICKET, json={"id": 81})
    assert client.ticket(81)["id"] == 81
    assert len(responses.calls) == 3 and len(slept) == 2
    assert all(0 < s <= 10.0 for s in slept)


@responses.activate
def test_server_errors_past_the_attempts_raise_a_typed_error(client):
    responses.get(TICKET, status=503, json={"error": "maintenance"})
    with pytest.raises(errors.ApiServerError) as raised:
        client.ticket(81)
    assert raised.value.status == 503 and raised.value.retriable
    assert len(responses.calls) == 3


@responses.activate
def test_rate_limit_waits_as_long_as_retry_after_says(client, slept):
    responses.put(TICKET, status=429, headers={"Retry-After": "7"}, json={"error": "slow down"})
    responses.put(TICKET, json={"id": 81, "entitlement_plan": "basic"})
    client.update_ticket(81, {"entitlement_plan": "basic"})
    assert slept == [7.0]


@responses.activate
def test_retry_after_beyond_the_maximum_is_capped(client, slept):
    responses.put(TICKET, status=429, headers={"Retry-After": "3600"})
    responses.put(TICKET, json={"id": 81})
    client.update_ticket(81, {})
    assert slept == [10.0]


@pytest.mark.parametrize(
    ("raised", "typed"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), errors.ApiTimeout),
        (requests.exceptions.ConnectTimeout("connect timed out"), errors.ApiTimeout),
        (
            requests.exceptions.ConnectionError("Connection reset by peer"),
            errors.ApiConnectionError,
        ),
    ],
)
@responses.activate
def test_timeouts_and_resets_are_retried_then_typed(client, raised, typed):
    responses.get(TICKET, body=raised)
    responses.get(TICKET, body=raised)
    responses.get(TICKET, json={"id": 81})
    assert client.ticket(81)["id"] == 81
    responses.replace(responses.GET, TICKET, body=raised)
    with pytest.raises(typed):
        client.ticket(81)


@pytest.mark.parametrize(
    ("status", "typed"),
    [
        (401, errors.ApiUnauthorized),
        (403, errors.ApiUnauthorized),
        (404, errors.ApiNotFound),
        (422, errors.ApiRejected),
        (400, errors.ApiRejected),
    ],
)
@responses.activate
def test_other_client_errors_are_not_retried(client, slept, status, typed):
    responses.put(TICKET, status=status, json=ZAMMAD_422)
    with pytest.raises(typed) as raised:
        client.update_ticket(81, {"colour": "red"})
    assert len(responses.calls) == 1 and slept == []
    assert not raised.value.retriable
    assert str(raised.value) == f"HTTP {status} Unknown attribute 'colour'"


@responses.activate
def test_zammad_py_calls_get_the_typed_error_too(client):
    responses.post(f"{BASE}/api/v1/tags/add", status=422, json={"error_human": "Tag not allowed"})
    with pytest.raises(errors.ApiRejected, match="Tag not allowed"):
        client.add_tag(81, "billable")


ARTICLES = f"{BASE}/api/v1/ticket_articles/by_ticket/81"
MARKER = "[entitlement-decision 0123456789ab]"
NOTE = {"subject": "Entitlement check", "body": f"Plan: Basic\n{MARKER}", "marker": MARKER}
PLAN = {"entitlement_plan": "basic"}
ANSWER = {"id": 81, "entitlement_plan": "basic"}


@responses.activate
def test_a_note_goes_with_the_field_update_in_one_put_and_is_internal(client):
    responses.put(TICKET, json=ANSWER)
    assert client.update_ticket(81, PLAN, NOTE) == ANSWER
    (call,) = responses.calls
    article = json.loads(call.request.body)["article"]
    assert article["internal"] is True and article["type"] == "note"
    assert article["body"].endswith(MARKER)


@responses.activate
def test_a_put_with_a_note_that_timed_out_but_was_applied_is_not_sent_twice(client, slept):
    # Zammad stored the note, but its answer came too late: the retry must look first.
    responses.put(TICKET, body=requests.exceptions.ReadTimeout())
    responses.get(ARTICLES, json=[{"id": 5, "body": NOTE["body"]}])
    assert client.update_ticket(81, PLAN, NOTE) is None
    assert [c.request.method for c in responses.calls] == ["PUT", "GET"]
    assert len(slept) == 1


@responses.activate
def test_a_put_with_a_note_that_timed_out_unapplied_is_sent_again(client, slept):
    responses.put(TICKET, body=requests.exceptions.ReadTimeout())
    responses.get(ARTICLES, json=[])
    responses.put(TICKET, json=ANSWER)
    assert client.update_ticket(81, PLAN, NOTE) == ANSWER
    assert [c.request.method for c in responses.calls] == ["PUT", "GET", "PUT"]


@pytest.mark.parametrize("note", [NOTE, None], ids=["with a note", "fields only"])
@responses.activate
def test_the_fence_is_asked_before_each_put_and_can_stop_it(client, note):
    asked: list[float] = []

    class Lost(Exception):
        pass

    def fence(seconds: float) -> None:
        asked.append(seconds)
        raise Lost

    with pytest.raises(Lost):
        client.update_ticket(81, PLAN, note, fence)
    assert asked == [sum(TIMEOUT)]  # as long as the PUT may take
    assert len(responses.calls) == 0


@responses.activate
def test_attributes_zammad_dropped_without_an_error_raise_a_final_error_naming_them(client):
    # can_cleanup_param.rb: keys that are not columns are dropped and the update answers 200
    responses.put(TICKET, json={"id": 81, "entitlement_plan": "basic"})
    with pytest.raises(AttributesDropped) as raised:
        client.update_ticket(81, {**PLAN, "entitlement_quota": "1/4 Nov 2026"})
    assert raised.value.names == ["entitlement_quota"] and not raised.value.retriable
    assert "restart Zammad" in str(raised.value)


@responses.activate
def test_names_by_id_are_read_once_and_again_for_an_unknown_id(client):
    groups = f"{BASE}/api/v1/groups"
    responses.get(groups, json=[{"id": 1, "name": "Users"}])
    responses.get(groups, json=[{"id": 1, "name": "Users"}, {"id": 2, "name": "Support"}])
    assert [client.name("group", 1), client.name("group", 1)] == ["Users", "Users"]
    assert client.name("group", 2) == "Support"
    assert len(responses.calls) == 2


@responses.activate
def test_a_webhook_post_that_timed_out_but_was_applied_is_not_created_twice(client):
    webhooks = f"{BASE}/api/v1/webhooks"
    responses.get(webhooks, json=[])
    responses.post(webhooks, body=requests.exceptions.ReadTimeout())
    responses.get(webhooks, json=[{"id": 3, "name": "Entitlements"}])
    assert client.create_webhook({"name": "Entitlements"}) == {"id": 3, "name": "Entitlements"}
    assert [c.request.method for c in responses.calls] == ["GET", "POST", "GET"]


def test_retry_after_as_an_http_date_is_understood():
    response = requests.Response()
    response.status_code = 429
    response.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert errors.retry_after(response) == 0.0  # in the past: retry now
