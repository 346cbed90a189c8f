"""The Zammad stand-in: zammad-py against its REST API, injected faults, and webhooks sent
the way Zammad sends them (signature, headers, compact JSON, retries, payload shape)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from zammad_py import ZammadAPI
from zammad_py.api import Object

from standins.zammad import ZammadStandin

TIME_SCALE = 0.01  # retry waits 0.1/0.2/0.3/0.4 s, read timeout 0.3 s
SECRET = "webhook-secret-for-tests"

# Key groups of Zammad's documented default payload (zammad-webhook-payload.example.json).
# That sample omits null values, so these are the keys every real payload carries too.
EXAMPLE_TICKET_KEYS = {
    "article_count", "article_ids", "create_article_sender", "create_article_sender_id",
    "create_article_type", "create_article_type_id", "created_at", "created_by", "created_by_id",
    "customer", "customer_id", "group", "group_id", "id", "last_contact_at",
    "last_contact_customer_at", "number", "organization", "organization_id", "owner", "owner_id",
    "priority", "priority_id", "state", "state_id", "ticket_time_accounting",
    "ticket_time_accounting_ids", "title", "updated_at", "updated_by", "updated_by_id",
}  # fmt: skip
EXAMPLE_USER_KEYS = {
    "active", "created_at", "created_by", "created_by_id", "email", "firstname", "id", "image",
    "lastname", "login", "organization", "organization_id", "out_of_office", "role_ids", "roles",
    "updated_at", "updated_by", "updated_by_id", "verified", "vip",
}  # fmt: skip
EXAMPLE_ORGANIZATION_KEYS = {
    "active", "created_at", "created_by", "created_by_id", "domain_assignment", "id",
    "member_ids", "members", "name", "note", "shared", "updated_at", "updated_by",
    "updated_by_id", "vip",
}  # fmt: skip
EXAMPLE_GROUP_KEYS = {
    "active", "created_at", "created_by", "created_by_id", "follow_up_assignment",
    "follow_up_possible", "id", "name", "updated_at", "updated_by", "updated_by_id", "user_ids",
    "users",
}  # fmt: skip
EXAMPLE_PRIORITY_KEYS = {
    "active", "created_at", "created_by", "created_by_id", "default_create", "id", "name",
    "updated_at", "updated_by", "updated_by_id",
}  # fmt: skip
EXAMPLE_ARTICLE_KEYS = {
    "accounted_time", "attachments", "body", "content_type", "created_at", "created_by",
    "created_by_id", "from", "id", "internal", "origin_by", "origin_by_id", "sender",
    "sender_id", "ticket_id", "to", "type", "type_id", "updated_at", "updated_by",
    "updated_by_id",
}  # fmt: skip
HIDDEN_USER_KEYS = {"password", "preferences", "last_login", "login_failed", "group_ids"}


class Receiver:
    """A webhook endpoint on 127.0.0.1 that answers scripted statuses (then 200)."""

    def __init__(
        self,
        statuses: tuple[int, ...] = (),
        *,
        delays: tuple[float, ...] = (),
        on_request: Callable[[int], None] | None = None,
    ) -> None:
        self.received: list[tuple[Message, bytes]] = []
        self._statuses = list(statuses)
        self._delays = list(delays)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    receiver.received.append((self.headers, body))
                    count = len(receiver.received)
                    status = receiver._statuses.pop(0) if receiver._statuses else 200
                    delay = receiver._delays.pop(0) if receiver._delays else 0.0
                if on_request is not None:
                    on_request(count)
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the stand-in hanging up after its read timeout is expected

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/zammad"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def zammad() -> Iterator[ZammadStandin]:
    with ZammadStandin(time_scale=TIME_SCALE) as standin:
        yield standin


@pytest.fixture
def client(zammad: ZammadStandin) -> Iterator[ZammadAPI]:
    api = ZammadAPI(url=zammad.api_url, http_token=zammad.token)
    api.session.trust_env = False  # talk to 127.0.0.1 directly, whatever proxy is configured
    yield api
    api.session.close()


@pytest.fixture
def customer(zammad: ZammadStandin) -> int:
    org_id = zammad.add_organization("Awesome Customer Inc.", customer_number="C-100")
    return zammad.add_user("Emily", "Adams", "emily@example.com", organization_id=org_id)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as endpoint:
        yield endpoint


def status_of(error: requests.HTTPError) -> int:
    """zammad-py re-raises HTTPError without a response; the original is the context."""
    context = error.__context__
    assert isinstance(context, requests.HTTPError)
    assert context.response is not None
    return context.response.status_code


def raw_session(zammad: ZammadStandin, token: str | None = None) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Token token={token or zammad.token}"
    return session


def signature_ok(headers: Message, body: bytes, secret: str = SECRET) -> bool:
    expected = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(headers.get("X-Hub-Signature", ""), expected)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- REST via zammad-py


def test_users_me_is_the_integration_user_of_the_token(
    zammad: ZammadStandin, client: ZammadAPI
) -> None:
    me = client.user.me()
    assert me["id"] == zammad.integration_user_id
    assert me["login"].startswith("entitlements@")
    assert {1, 2} <= set(me["role_ids"])  # Admin and Agent
    assert "password" not in me


def test_an_agent_sees_and_changes_only_the_tickets_of_its_groups(
    zammad: ZammadStandin, customer: int
) -> None:
    # TicketPolicy (app/policies/ticket_policy.rb): show? needs read, update? change, and
    # lists and searches hold what ReadScope allows (ticket_policy/base_scope.rb); group_ids
    # in GET /users/me as has_groups.rb renders them; a refusal is 403 "Not authorized".
    sales = zammad.add_group("Sales")
    ours = zammad.create_ticket("Ours", customer)
    theirs = zammad.create_ticket("Theirs", customer, group="Sales")
    zammad.set_group_access(zammad.integration_user_id, {"Support": ["read"]})
    with raw_session(zammad) as session:
        me = session.get(f"{zammad.api_url}users/me", timeout=5).json()
        assert str(sales) not in me["group_ids"] and ["read"] in me["group_ids"].values()
        refused = session.get(f"{zammad.api_url}tickets/{theirs}", timeout=5)
        assert (refused.status_code, refused.json()["error"]) == (403, "Not authorized")
        assert session.get(f"{zammad.api_url}tickets/{ours}", timeout=5).status_code == 200
        update = session.put(f"{zammad.api_url}tickets/{ours}", json={"title": "x"}, timeout=5)
        assert update.status_code == 403  # read is not change
        listed = session.get(f"{zammad.api_url}tickets", timeout=5).json()
        found = session.post(f"{zammad.api_url}tickets/search", json={}, timeout=5).json()
        assert [t["id"] for t in listed] == [t["id"] for t in found] == [ours]


def test_wrong_token_is_401_with_zammad_error_body_and_x_failure(zammad: ZammadStandin) -> None:
    # app/controllers/application_controller/authenticates.rb, handles_errors.rb
    wrong = ZammadAPI(url=zammad.api_url, http_token="not-the-token")
    wrong.session.trust_env = False
    with pytest.raises(requests.HTTPError) as caught:
        wrong.user.me()
    wrong.session.close()
    assert status_of(caught.value) == 401
    with raw_session(zammad, token="not-the-token") as session:
        response = session.get(zammad.api_url + "users/me")
    message = "Can't find User for Token"
    assert response.status_code == 401
    assert response.json() == {"error": message, "error_human": message}
    assert response.headers["X-Failure"] == message


def test_no_credentials_is_403_authentication_required(zammad: ZammadStandin) -> None:
    with requests.Session() as session:
        session.trust_env = False
        response = session.get(zammad.api_url + "users/me")
    message = "Authentication required"
    assert response.status_code == 403
    assert response.json() == {"error": message, "error_human": message}
    assert response.headers["X-Failure"] == message


def test_each_standin_generates_its_own_token() -> None:
    with ZammadStandin() as first, ZammadStandin() as second:
        assert first.token != second.token
        assert len(first.token) >= 32
        assert first.url.startswith("http://127.0.0.1:")
        assert first.api_url == first.url + "/api/v1/"


def test_ticket_find_has_ids_and_expand_adds_names(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    ticket_id = zammad.create_ticket("Printer on fire", customer)
    plain = client.ticket.find(ticket_id)
    assert plain["number"] == str(plain["number"]) and plain["title"] == "Printer on fire"
    assert plain["state_id"] == 1 and plain["customer_id"] == customer
    assert plain["organization_id"] == zammad.user(customer)["organization_id"]
    assert plain["article_ids"] == [zammad.articles(ticket_id)[0]["id"]]
    assert "state" not in plain and "organization" not in plain
    assert plain["created_at"].endswith("Z") and len(plain["created_at"]) == 24  # ms precision

    with raw_session(zammad) as session:
        expanded = session.get(f"{zammad.api_url}tickets/{ticket_id}?expand=true").json()
    assert expanded["state"] == "new"
    assert expanded["group"] == "Support"
    assert expanded["organization"] == "Awesome Customer Inc."
    assert expanded["customer"] == "emily@example.com"
    assert expanded["priority"] == "2 normal"
    assert expanded["owner"] == "-"


def test_users_are_found_with_organization_and_roles(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    user = client.user.find(customer)
    assert user["email"] == "emily@example.com" and user["role_ids"] == [3]
    assert user["organization_id"] == zammad.user(customer)["organization_id"]
    with raw_session(zammad) as session:
        expanded = session.get(f"{zammad.api_url}users/{customer}?expand=true").json()
    assert expanded["organization"] == "Awesome Customer Inc."
    assert expanded["roles"] == ["Customer"]


def test_merge_marks_the_source_ticket_merged(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    target = zammad.create_ticket("Target", customer)
    first = zammad.create_ticket("Duplicate one", customer)
    second = zammad.create_ticket("Duplicate two", customer)
    zammad.merge(first, target)
    assert zammad.ticket(first)["state"] == "merged"
    result = client.ticket.merge(second, zammad.ticket(target)["number"])
    assert result["result"] == "success"
    assert client.ticket.find(second)["state_id"] == zammad.ticket(first)["state_id"]


def test_merge_into_a_merged_ticket_or_into_itself_is_refused(
    zammad: ZammadStandin, customer: int
) -> None:
    # Ticket#merge_to (app/models/ticket.rb) raises UnprocessableEntity for both
    first, second, third = (zammad.create_ticket(t, customer) for t in ("1", "2", "3"))
    zammad.merge(first, second)
    with pytest.raises(ValueError, match="not possible to merge into an already merged ticket"):
        zammad.merge(third, first)
    with pytest.raises(ValueError, match="cannot be merged into itself"):
        zammad.merge(third, third)


def test_updated_at_moves_forward_even_after_a_future_created_at(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    ticket_id = zammad.create_ticket("From the future", customer, created_at="2999-01-01T00:00:00Z")
    updated = client.ticket.update(ticket_id, {"title": "Now"})
    assert updated["updated_at"] == "2999-01-01T00:00:00.001Z"


def test_unknown_ticket_is_404_with_zammad_error_body(
    zammad: ZammadStandin, client: ZammadAPI
) -> None:
    with pytest.raises(requests.HTTPError) as caught:
        client.ticket.find(999)
    assert status_of(caught.value) == 404
    assert json.loads(str(caught.value))["error_human"]


def test_ticket_update_writes_fields_and_records_the_integration_user(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    ticket_id = zammad.create_ticket("Login fails", customer)
    before = zammad.ticket(ticket_id)
    updated = client.ticket.update(ticket_id, {"state": "open", "priority_id": 3})
    assert updated["state_id"] == 2 and updated["priority_id"] == 3
    assert updated["updated_by_id"] == zammad.integration_user_id
    assert updated["updated_at"] > before["updated_at"]
    assert zammad.ticket(ticket_id)["state"] == "open"


def test_ticket_update_drops_an_unknown_attribute_and_answers_200_without_it(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    # app/models/application_model/can_cleanup_param.rb keeps only the record's columns
    ticket_id = zammad.create_ticket("Login fails", customer)
    answer = client.ticket.update(ticket_id, {"no_such_field": "x", "title": "Login fails!"})
    assert "no_such_field" not in answer and answer["title"] == "Login fails!"
    assert "no_such_field" not in zammad.ticket(ticket_id)


def test_ticket_all_gives_tags_articles_time_and_related_records_in_one_answer(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    # app/models/ticket/assets_all.rb, app/models/ticket/assets.rb
    ticket_id = zammad.create_ticket("Login fails", customer)
    zammad.add_tag(ticket_id, "vip")
    zammad.add_time_accounting(ticket_id, 30)
    answer = client.session.get(f"{zammad.api_url}tickets/{ticket_id}?all=true").json()
    ticket = answer["assets"]["Ticket"][str(ticket_id)]
    assert answer["ticket_id"] == ticket_id and answer["tags"] == ["vip"]
    assert ticket["group_id"] and "group" not in ticket  # ids, not names
    assert str(customer) in answer["assets"]["User"]
    assert str(ticket["organization_id"]) in answer["assets"]["Organization"]
    assert set(answer["assets"]["TicketArticle"]) == {str(a) for a in answer["ticket_article_ids"]}
    (accounting,) = answer["time_accountings"]
    assert set(accounting) == {"id", "ticket_id", "ticket_article_id", "time_unit", "type_id"}


def test_ticket_update_ignores_tags_and_an_unchanged_write_changes_nothing(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    ticket_id = zammad.create_ticket("Login fails", customer)
    client.ticket.update(ticket_id, {"title": "Login fails again"})
    after_first = zammad.ticket(ticket_id)
    client.ticket.update(ticket_id, {"title": "Login fails again", "tags": "billable"})
    after_second = zammad.ticket(ticket_id)
    assert zammad.tags(ticket_id) == []  # Zammad ignores tags in an update
    assert after_second["updated_at"] == after_first["updated_at"]


def test_ticket_search_filters_by_an_escaped_updated_at_sorts_and_pages(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    old = zammad.create_ticket("Old", customer, created_at="2026-01-10T08:00:00Z")
    mid = zammad.create_ticket("Mid", customer, created_at="2026-02-10T08:00:00Z")
    new = zammad.create_ticket("New", customer, created_at="2026-03-10T08:00:00+01:00")
    # Elasticsearch refuses an unescaped ':' in the time: tests/test_zammad_search.py
    query = r"updated_at:>=2026-02-01T00\:00\:00Z"

    found = client.ticket.search(query, filters={"sort_by": "updated_at", "order_by": "asc"})
    assert [t["id"] for t in found] == [mid, new]
    assert found[1]["updated_at"] == "2026-03-10T07:00:00.000Z"
    assert found[0]["state"] == "new"  # expand=true: names included

    first = client.ticket.search(
        query, filters={"per_page": 1, "sort_by": "updated_at", "order_by": "asc"}
    )
    assert [t["id"] for t in first] == [mid]
    assert [t["id"] for t in first.next_page()] == [new]

    everything = client.ticket.search("*", filters={"per_page": 50})
    assert {t["id"] for t in everything} == {old, mid, new}

    with raw_session(zammad) as session:
        plain = session.get(zammad.api_url + "tickets/search", params={"query": query}).json()
    assert sorted(t["id"] for t in plain) == [mid, new]  # 6.x: a plain array, ids only
    assert "state" not in plain[0]


def test_ticket_all_pages_and_the_server_caps_per_page_at_100(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    ids = [zammad.create_ticket(f"Ticket {n}", customer) for n in range(103)]
    first = client.ticket.all(filters={"per_page": 200})
    assert [t["id"] for t in first] == ids[:100]  # ordered by id, capped at 100
    assert first[0]["group"] == "Support"  # zammad-py asks for expand=true
    small = client.ticket.all(filters={"per_page": 50, "page": 3})
    assert [t["id"] for t in small] == ids[100:]
    assert small.is_last_page()


def test_tags_add_remove_and_list_through_ticket_tag(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    ticket_id = zammad.create_ticket("Tags", customer)
    assert client.ticket_tag.add(ticket_id, "billable") is True
    assert client.ticket_tag.add(ticket_id, "quota-exceeded") is True
    assert client.ticket_tag.add(ticket_id, "billable") is True  # adding twice is harmless
    assert client.ticket.tags(ticket_id) == {"tags": ["billable", "quota-exceeded"]}
    assert client.ticket_tag.remove(ticket_id, "billable") is True
    assert client.ticket.tags(ticket_id) == {"tags": ["quota-exceeded"]}
    assert zammad.tags(ticket_id) == ["quota-exceeded"]


def test_internal_note_created_through_ticket_article(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    ticket_id = zammad.create_ticket("Notes", customer)
    article = client.ticket_article.create(
        {
            "ticket_id": ticket_id,
            "subject": "Entitlement",
            "body": "<p>Plan: basic</p>",
            "content_type": "text/html",
            "type": "note",
            "internal": True,
        }
    )
    assert article["type"] == "note" and article["internal"] is True
    assert article["sender"] == "Agent"
    assert article["created_by_id"] == zammad.integration_user_id
    listed = client.ticket.articles(ticket_id)
    assert [a["id"] for a in listed][-1] == article["id"]
    assert listed[-1]["body"] == "<p>Plan: basic</p>"
    assert zammad.ticket(ticket_id)["article_count"] == 2


def test_organization_find_update_and_search_by_custom_attribute(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    org_id = zammad.user(customer)["organization_id"]
    org = client.organization.find(org_id)
    assert org["customer_number"] == "C-100"
    assert customer in org["member_ids"]

    zammad.add_object_attribute("Organization", "support_plan")
    updated = client.organization.update(org_id, {"support_plan": "basic"})
    assert updated["support_plan"] == "basic"
    assert updated["updated_by_id"] == zammad.integration_user_id

    # can_cleanup_param.rb: an unknown key is dropped, answered 200
    assert "no_such_field" not in client.organization.update(org_id, {"no_such_field": 1})

    assert [o["id"] for o in client.organization.search("C-100")] == [org_id]
    assert [o["id"] for o in client.organization.search("customer_number:C-100")] == [org_id]
    assert list(client.organization.search("C-999")) == []
    assert [o["id"] for o in client.organization.all()] == [org_id]


def test_object_manager_attribute_is_usable_only_after_execute_migrations(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    ticket_id = zammad.create_ticket("Custom field", customer)
    objects = Object(connection=client)
    created = objects.create(
        {
            "name": "entitlement_plan",
            "object": "Ticket",
            "display": "Plan",
            "data_type": "select",
            "data_option": {"options": {"basic": "Basic", "pro": "Pro"}, "default": ""},
            "active": True,
            "screens": {"edit": {"ticket.agent": {"shown": True, "required": False}}},
        }
    )
    assert created["to_create"] is True
    assert "entitlement_plan" not in client.ticket.find(ticket_id)

    # not a column yet: dropped, answered 200 (can_cleanup_param.rb)
    assert "entitlement_plan" not in client.ticket.update(ticket_id, {"entitlement_plan": "basic"})

    assert objects.execute_migrations() == {}
    assert client.ticket.find(ticket_id)["entitlement_plan"] is None
    assert client.ticket.update(ticket_id, {"entitlement_plan": "basic"})["entitlement_plan"] == (
        "basic"
    )
    assert objects.find(created["id"])["to_create"] is False


def test_object_manager_datetime_values_read_back_with_milliseconds(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    zammad.add_object_attribute("Ticket", "entitlement_reaction_due", "datetime")
    ticket_id = zammad.create_ticket("Due", customer)
    updated = client.ticket.update(
        ticket_id, {"entitlement_reaction_due": "2026-12-02T09:00:00+01:00"}
    )
    assert updated["entitlement_reaction_due"] == "2026-12-02T08:00:00.000Z"


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Bad-Name"},
        {"name": "contract_id"},
        {"name": "contract_ids"},
        {"name": "title"},  # a built-in column
        {"name": "search"},  # a reserved word
        {"object": "Invoice"},
        {"data_type": "money"},
        {"data_type": "integer", "data_option": {"min": 0}},  # max missing
    ],
)
def test_object_manager_rejects_invalid_attributes_with_422(
    client: ZammadAPI, change: dict[str, Any]
) -> None:
    attribute = {
        "name": "entitlement_quota",
        "object": "Ticket",
        "display": "Quota",
        "data_type": "input",
        "data_option": {"type": "text", "maxlength": 120},
    }
    objects = Object(connection=client)
    with pytest.raises(requests.HTTPError) as caught:
        objects.create({**attribute, **change})
    assert status_of(caught.value) == 422


@pytest.mark.parametrize(
    ("object_name", "name", "message"),
    [
        ("Ticket", "contract_id", "Name can't be used because *_id and *_ids are not allowed"),
        ("User", "contract_ids", "Name can't be used because *_id and *_ids are not allowed"),
        ("User", "date", "Name date is a reserved word"),
        ("Organization", "url", "Name url is a reserved word"),
        ("Ticket", "action", "Name action is a reserved word"),
        ("Ticket", "article", "Name article is a reserved word"),
        ("User", "4711", "Name at least one letter is required"),
    ],
)
def test_object_manager_refuses_the_names_zammad_refuses_with_its_message(
    zammad: ZammadStandin, object_name: str, name: str, message: str
) -> None:
    # check_name in app/models/object_manager/attribute.rb; the controller answers 422 with
    # the record's first full message (application_controller/handles_errors.rb)
    with raw_session(zammad) as session:
        answer = session.post(
            zammad.api_url + "object_manager_attributes",
            json={
                "name": name,
                "object": object_name,
                "display": name,
                "data_type": "input",
                "data_option": {"type": "text", "maxlength": 20},
            },
        )
    assert answer.status_code == 422
    assert answer.json() == {"error": message, "error_human": message}


def test_article_is_a_reserved_name_for_tickets_only(zammad: ZammadStandin) -> None:
    # RESERVED_NAMES_PER_MODEL = {'Ticket' => %w[article]} (app/models/object_manager/attribute.rb)
    zammad.add_object_attribute("User", "article")
    with pytest.raises(ValueError, match="article is a reserved word"):
        zammad.add_object_attribute("Ticket", "article")


def test_migration_gives_existing_rows_the_default_of_booleans_and_integers_not_of_strings(
    zammad: ZammadStandin, customer: int
) -> None:
    # migration_execute (app/models/object_manager/attribute.rb) adds boolean, integer, date
    # and datetime columns with `default:`, so the database fills existing rows; string-like
    # columns get none. The controller gives a boolean sent without a default `default: nil`.
    yes_no = {"true": "yes", "false": "no"}
    wanted = {
        "trained_false": ("boolean", {"default": False, "options": yes_no}),
        "trained_unset": ("boolean", {"options": yes_no}),
        "seats": ("integer", {"default": 5, "min": 0, "max": 9}),
        "level": ("input", {"default": "basic", "type": "text", "maxlength": 20}),
    }
    with raw_session(zammad) as session:
        for name, (data_type, option) in wanted.items():
            answer = session.post(
                zammad.api_url + "object_manager_attributes",
                json={
                    "name": name,
                    "object": "User",
                    "display": name,
                    "data_type": data_type,
                    "data_option": option,
                },
            )
            assert answer.status_code == 201, answer.text
        assert answer.json()["data_option"]["default"] == "basic"
        listed = session.get(zammad.api_url + "object_manager_attributes").json()
        unset = next(a for a in listed if a["name"] == "trained_unset")
        assert unset["data_option"]["default"] is None
        session.post(zammad.api_url + "object_manager_attributes_execute_migrations")
        existing = session.get(f"{zammad.api_url}users/{customer}").json()
    names = list(wanted)
    assert [existing[n] for n in names] == [False, None, 5, None]
    # New records get every active attribute's default (object_manager/attribute/set_defaults.rb)
    newcomer = zammad.user(zammad.add_user("Nora", "New", "nora@example.com"))
    assert [newcomer[n] for n in names] == [False, None, 5, "basic"]


def test_object_manager_rejects_an_existing_attribute(client: ZammadAPI) -> None:
    objects = Object(connection=client)
    attribute = {
        "name": "entitlement_billable",
        "object": "Ticket",
        "display": "Billable",
        "data_type": "boolean",
        "data_option": {"default": False, "options": {"true": "yes", "false": "no"}},
    }
    objects.create(attribute)
    with pytest.raises(requests.HTTPError) as caught:
        objects.create(attribute)
    assert status_of(caught.value) == 422


def test_time_accountings_are_listed_with_type_id(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    ticket_id = zammad.create_ticket("Remote session", customer)
    zammad.add_time_accounting(ticket_id, 30, type_id=2)
    zammad.add_time_accounting(ticket_id, "15.5", type_id=3)
    response = client.session.get(f"{client.url}tickets/{ticket_id}/time_accountings")
    entries = response.json()
    assert [(e["time_unit"], e["type_id"]) for e in entries] == [("30.0", 2), ("15.5", 3)]
    assert client.ticket.find(ticket_id)["time_unit"] == "45.5"


def test_concurrent_requests_leave_consistent_state(zammad: ZammadStandin, customer: int) -> None:
    ticket_id = zammad.create_ticket("Busy", customer)

    def work(worker: int) -> None:
        with raw_session(zammad) as session:
            for n in range(10):
                tag = {"item": f"tag-{worker}-{n}", "object": "Ticket", "o_id": ticket_id}
                assert session.post(zammad.api_url + "tags/add", json=tag).status_code == 201
                body = {"title": f"Busy {worker}-{n}"}
                assert session.put(f"{zammad.api_url}tickets/{ticket_id}", json=body).ok

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(8)))
    assert len(zammad.tags(ticket_id)) == 80
    assert len([r for r in zammad.requests if r.status in (200, 201)]) == 160


# --------------------------------------------------------------------------- faults


def test_fault_503_then_success(zammad: ZammadStandin, client: ZammadAPI) -> None:
    zammad.inject_fault("GET", r"/users/me$", status=503, times=2)
    for _ in range(2):
        with pytest.raises(requests.HTTPError) as caught:
            client.user.me()
        assert status_of(caught.value) == 503
        assert set(json.loads(str(caught.value))) == {"error", "error_human"}
    assert client.user.me()["id"] == zammad.integration_user_id
    assert [(r.method, r.path, r.status) for r in zammad.requests] == [
        ("GET", "/api/v1/users/me", 503),
        ("GET", "/api/v1/users/me", 503),
        ("GET", "/api/v1/users/me", 200),
    ]


def test_fault_429_carries_retry_after(zammad: ZammadStandin) -> None:
    zammad.inject_fault(None, r"/tickets", status=429, retry_after=7)
    with raw_session(zammad) as session:
        limited = session.get(zammad.api_url + "tickets")
        after = session.get(zammad.api_url + "tickets")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json()["error"] == "Too Many Requests"
    assert after.status_code == 200


def test_fault_delay_slows_the_answer_then_serves_it(
    zammad: ZammadStandin, client: ZammadAPI
) -> None:
    zammad.inject_fault("GET", r"/users/me$", delay=0.3)
    started = time.monotonic()
    assert client.user.me()["id"] == zammad.integration_user_id
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    client.user.me()
    assert time.monotonic() - started < 0.3


def test_fault_reset_surfaces_as_connection_error(
    zammad: ZammadStandin, client: ZammadAPI, customer: int
) -> None:
    ticket_id = zammad.create_ticket("Reset", customer)
    zammad.inject_fault("PUT", rf"/tickets/{ticket_id}$", reset=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.ticket.update(ticket_id, {"title": "never arrives"})
    assert zammad.requests[-1].status is None and zammad.requests[-1].fault == "reset"
    assert client.ticket.update(ticket_id, {"title": "arrives"})["title"] == "arrives"


def test_clear_faults_removes_pending_faults(zammad: ZammadStandin, client: ZammadAPI) -> None:
    zammad.inject_fault("*", r".*", status=500, times=5)
    zammad.clear_faults()
    assert client.user.me()["id"] == zammad.integration_user_id


# --------------------------------------------------------------------------- webhooks


def wire_webhook(
    zammad: ZammadStandin,
    endpoint: str,
    condition: dict[str, Any],
    *,
    name: str = "entitlements: ticket created",
    mode: str = "selective",
    secret: str | None = SECRET,
) -> int:
    webhook_id = zammad.add_webhook(endpoint, secret, name="entitlements")
    return zammad.add_trigger(name, condition, webhook_id, execution_condition_mode=mode)


ON_CREATE = {"ticket.action": {"operator": "is", "value": "create"}}


def test_webhook_is_signed_and_carries_zammad_headers(
    zammad: ZammadStandin, receiver: Receiver, customer: int
) -> None:
    wire_webhook(zammad, receiver.url, ON_CREATE)
    ticket_id = zammad.create_ticket("Signed", customer)
    assert zammad.wait_for_deliveries(5)

    [(headers, body)] = receiver.received
    assert signature_ok(headers, body)
    assert not signature_ok(headers, body, secret="another secret")
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["User-Agent"] == "Zammad User Agent"
    assert headers["X-Zammad-Trigger"] == "entitlements: ticket created"
    assert uuid.UUID(headers["X-Zammad-Delivery"]).version == 4
    assert json.loads(body)["ticket"]["id"] == ticket_id
    [delivery] = zammad.deliveries
    assert (delivery.attempt, delivery.status, delivery.ok) == (1, 200, True)
    assert delivery.delivery_id == headers["X-Zammad-Delivery"]


def test_webhook_without_token_has_no_signature_header(
    zammad: ZammadStandin, receiver: Receiver, customer: int
) -> None:
    wire_webhook(zammad, receiver.url, ON_CREATE, secret=None)
    zammad.create_ticket("Unsigned", customer)
    assert zammad.wait_for_deliveries(5)
    [(headers, _)] = receiver.received
    assert "X-Hub-Signature" not in headers


def test_webhook_body_is_compact_json_as_ruby_writes_it(
    zammad: ZammadStandin, receiver: Receiver, customer: int
) -> None:
    wire_webhook(zammad, receiver.url, ON_CREATE)
    zammad.create_ticket("Café <b>down</b> & out", customer)
    assert zammad.wait_for_deliveries(5)
    [(_, body)] = receiver.received
    assert b'"title":"Caf\xc3\xa9 \\u003cb\\u003edown\\u003c/b\\u003e \\u0026 out"' in body
    compact = json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        compact = compact.replace(char, escaped)
    assert body == compact.encode()  # no whitespace anywhere, same escaping throughout
    assert json.loads(body)["ticket"]["title"] == "Café <b>down</b> & out"


def test_webhook_payload_matches_the_zammad_example_structure(
    zammad: ZammadStandin, receiver: Receiver, customer: int
) -> None:
    wire_webhook(zammad, receiver.url, ON_CREATE)
    zammad.create_ticket("Structure", customer)
    assert zammad.wait_for_deliveries(5)
    payload = json.loads(receiver.received[0][1])

    assert list(payload) == ["ticket", "article"]
    ticket, article = payload["ticket"], payload["article"]
    assert set(ticket) >= EXAMPLE_TICKET_KEYS
    assert list(ticket) == sorted(ticket)
    assert isinstance(ticket["state"], str) and isinstance(ticket["number"], str)
    for key in ("owner", "customer", "created_by", "updated_by"):
        assert set(ticket[key]) >= EXAMPLE_USER_KEYS, key
        assert not HIDDEN_USER_KEYS & set(ticket[key]), key
    assert set(ticket["organization"]) >= EXAMPLE_ORGANIZATION_KEYS
    assert ticket["organization"]["customer_number"] == "C-100"  # custom attributes included
    assert set(ticket["group"]) >= EXAMPLE_GROUP_KEYS
    assert set(ticket["priority"]) >= EXAMPLE_PRIORITY_KEYS
    assert ticket["priority"]["name"] == "2 normal"
    assert ticket["customer"]["roles"] == ["Customer"]
    assert set(article) >= EXAMPLE_ARTICLE_KEYS
    assert article["type"] == "email" and article["sender"] == "Customer"
    assert set(article["created_by"]) >= EXAMPLE_USER_KEYS
    assert not HIDDEN_USER_KEYS & set(article["created_by"])
    assert ticket["article_ids"] == [article["id"]]


def test_retries_keep_the_delivery_id_and_carry_the_state_at_retry_time(
    zammad: ZammadStandin, customer: int
) -> None:
    ticket_ids: list[int] = []

    def edit_after_first_attempt(count: int) -> None:
        if count == 1:  # the ticket changes while Zammad waits to retry
            zammad.update_ticket(ticket_ids[0], title="Edited before the retry")

    with Receiver((500, 500), on_request=edit_after_first_attempt) as endpoint:
        wire_webhook(zammad, endpoint.url, ON_CREATE)
        ticket_ids.append(zammad.create_ticket("Original title", customer))
        assert zammad.wait_for_deliveries(5)

    assert [d.status for d in zammad.deliveries] == [500, 500, 200]
    assert [d.attempt for d in zammad.deliveries] == [1, 2, 3]
    ids = {headers["X-Zammad-Delivery"] for headers, _ in endpoint.received}
    assert len(ids) == 1
    titles = [json.loads(body)["ticket"]["title"] for _, body in endpoint.received]
    assert titles == ["Original title", "Edited before the retry", "Edited before the retry"]
    assert all(signature_ok(headers, body) for headers, body in endpoint.received)


def test_unreachable_endpoint_is_tried_five_times_with_linear_backoff(
    zammad: ZammadStandin, customer: int
) -> None:
    wire_webhook(zammad, f"http://127.0.0.1:{closed_port()}/webhooks/zammad", ON_CREATE)
    zammad.create_ticket("Nobody listens", customer)
    assert zammad.wait_for_deliveries(10)
    deliveries = zammad.deliveries
    assert [d.attempt for d in deliveries] == [1, 2, 3, 4, 5]
    assert all(d.status is None and "ConnectionError" in (d.error or "") for d in deliveries)
    assert len({d.delivery_id for d in deliveries}) == 1
    for earlier, later in itertools.pairwise(deliveries):
        assert later.started_at - earlier.started_at >= earlier.attempt * 10 * TIME_SCALE


def test_slow_receiver_hits_the_read_timeout_and_is_retried(
    zammad: ZammadStandin, customer: int
) -> None:
    with Receiver(delays=(30 * TIME_SCALE + 0.3,)) as endpoint:
        wire_webhook(zammad, endpoint.url, ON_CREATE)
        zammad.create_ticket("Slow", customer)
        assert zammad.wait_for_deliveries(5)
    first, second = zammad.deliveries
    assert first.status is None and "Timeout" in (first.error or "")
    assert second.ok and second.attempt == 2


def test_trigger_excluding_the_integration_user_ignores_adapter_writes(
    zammad: ZammadStandin, client: ZammadAPI, receiver: Receiver, customer: int
) -> None:
    condition = {
        "ticket.action": {"operator": "is", "value": "update"},
        "ticket.updated_by_id": {
            "operator": "is not",
            "pre_condition": "specific",
            "value": [str(zammad.integration_user_id)],
        },
    }
    wire_webhook(
        zammad, receiver.url, condition, name="entitlements: ticket updated", mode="always"
    )
    ticket_id = zammad.create_ticket("Loop", customer)  # a create: this trigger wants updates

    client.ticket.update(ticket_id, {"title": "Written by the adapter"})
    client.ticket_article.create({"ticket_id": ticket_id, "body": "note", "internal": True})
    assert zammad.wait_for_deliveries(5)
    assert receiver.received == [] and zammad.deliveries == []

    zammad.update_ticket(ticket_id, by_user_id=zammad.agent_user_id, state="open")
    assert zammad.wait_for_deliveries(5)
    [(headers, body)] = receiver.received
    assert headers["X-Zammad-Trigger"] == "entitlements: ticket updated"
    assert json.loads(body)["ticket"]["updated_by_id"] == zammad.agent_user_id
    assert json.loads(body)["article"] == {}


def test_selective_trigger_fires_only_when_a_condition_attribute_changes(
    zammad: ZammadStandin, receiver: Receiver, customer: int
) -> None:
    support = 2
    condition = {
        "ticket.action": {"operator": "is", "value": "update"},
        "ticket.group_id": {"operator": "is", "value": [str(support)]},
    }
    wire_webhook(zammad, receiver.url, condition, name="support updates")
    ticket_id = zammad.create_ticket("Selective", customer, group="Users")

    zammad.update_ticket(ticket_id, title="Still in Users")  # group does not match
    zammad.update_ticket(ticket_id, group_id=support)  # group changed and matches: fires
    zammad.update_ticket(ticket_id, title="Title only")  # condition attribute unchanged
    article_id = zammad.add_article(ticket_id, "A new article counts", internal=True)  # fires
    assert zammad.wait_for_deliveries(5)
    # two deliveries: the group move (no article) and the new article
    assert [d.article_id for d in zammad.deliveries] == [None, article_id]
    payloads = [json.loads(body) for _, body in receiver.received]
    assert [p["article"].get("id") for p in payloads] == [None, article_id]


def test_merge_fires_merged_into_on_the_source_and_received_merge_on_the_target_only(
    zammad: ZammadStandin, receiver: Receiver, customer: int
) -> None:
    # app/models/ticket.rb merge_to and lib/transaction_dispatcher.rb get_uniq_changes: one
    # event per ticket, typed update.merged_into / update.received_merge, never update;
    # lib/selector/sql.rb compares ticket.action with ==, so a list never matches.
    webhook_id = zammad.add_webhook(receiver.url, SECRET, name="entitlements")
    actions: list[Any] = ["update", "update.merged_into", "update.received_merge"]
    for name, value in [*((a, a) for a in actions), ("all three as a list", actions)]:
        condition = {"ticket.action": {"operator": "is", "value": value}}
        zammad.add_trigger(name, condition, webhook_id, execution_condition_mode="always")
    target = zammad.create_ticket("Target", customer)
    source = zammad.create_ticket("Duplicate", customer)
    moved = [a["id"] for a in zammad.articles(source)]
    before = zammad.ticket(target)

    zammad.merge(source, target)
    assert zammad.wait_for_deliveries(5)

    fired = sorted((d.trigger, d.ticket_id) for d in zammad.deliveries)
    assert fired == [("update.merged_into", source), ("update.received_merge", target)]
    payloads = {json.loads(body)["ticket"]["id"]: json.loads(body) for _, body in receiver.received}
    merged = payloads[source]
    assert (merged["ticket"]["state"], merged["ticket"]["owner_id"]) == ("merged", 1)
    note = merged["article"]
    assert (note["body"], note["type"], note["sender"], note["internal"]) == (
        "merged",
        "note",
        "Agent",
        False,
    )
    assert payloads[target]["article"] == {}
    after = zammad.ticket(target)
    assert after["updated_at"] > before["updated_at"]  # touched ...
    assert after["updated_by_id"] == before["updated_by_id"]  # ... not saved
    assert [a["id"] for a in zammad.articles(target)][-len(moved) :] == moved
    assert [a["body"] for a in zammad.articles(source)] == ["merged"]


def test_ticket_action_as_a_list_never_matches_with_is_and_always_with_is_not(
    zammad: ZammadStandin, receiver: Receiver, customer: int
) -> None:
    # lib/selector/sql.rb: `options[:ticket_action] == block_condition[:value]`
    webhook_id = zammad.add_webhook(receiver.url, SECRET, name="entitlements")
    for operator in ("is", "is not"):
        condition = {"ticket.action": {"operator": operator, "value": ["create"]}}
        zammad.add_trigger(f"list, {operator}", condition, webhook_id)
    zammad.create_ticket("Created", customer)
    assert zammad.wait_for_deliveries(5)
    assert [d.trigger for d in zammad.deliveries] == ["list, is not"]


def test_webhook_and_trigger_created_over_rest_fire_on_ticket_create(
    zammad: ZammadStandin, receiver: Receiver, customer: int
) -> None:
    with raw_session(zammad) as session:
        webhook = session.post(
            zammad.api_url + "webhooks",
            json={
                "name": "entitlements",
                "endpoint": receiver.url,
                "signature_token": SECRET,
                "ssl_verify": True,
                "active": True,
            },
        )
        assert webhook.status_code == 201
        trigger = session.post(
            zammad.api_url + "triggers",
            json={
                "name": "entitlements: created",
                "condition": ON_CREATE,
                "perform": {"notification.webhook": {"webhook_id": str(webhook.json()["id"])}},
                "activator": "action",
                "execution_condition_mode": "selective",
                "active": True,
            },
        )
        assert trigger.status_code == 201
        assert [t["name"] for t in session.get(zammad.api_url + "triggers").json()] == [
            "entitlements: created"
        ]
        disabled = session.put(
            f"{zammad.api_url}webhooks/{webhook.json()['id']}", json={"active": False}
        )
        assert disabled.json()["active"] is False
        zammad.create_ticket("Webhook off", customer)
        assert zammad.wait_for_deliveries(5)
        assert receiver.received == []  # an inactive webhook sends nothing

        session.put(f"{zammad.api_url}webhooks/{webhook.json()['id']}", json={"active": True})
        ticket_id = zammad.create_ticket("Webhook on", customer)
        assert zammad.wait_for_deliveries(5)
    [(headers, body)] = receiver.received
    assert signature_ok(headers, body)
    assert json.loads(body)["ticket"]["id"] == ticket_id


ON_UPDATE = {"ticket.action": {"operator": "is", "value": "update"}}


def test_time_accounting_saves_the_ticket_and_fires_update_only_when_the_total_changes(
    zammad: ZammadStandin, receiver: Receiver, customer: int
) -> None:
    # app/models/ticket/time_accounting.rb: update_ticket saves the ticket only if its
    # time_unit total changes; that save is an update event with its author as updated_by.
    wire_webhook(zammad, receiver.url, ON_UPDATE, name="updates", mode="always")
    ticket_id = zammad.create_ticket("Remote session", customer)
    before = zammad.ticket(ticket_id)

    zammad.add_time_accounting(ticket_id, 0)  # total stays 0 (nil counts as 0): no save
    assert zammad.wait_for_deliveries(5) and zammad.deliveries == []
    assert zammad.ticket(ticket_id)["updated_at"] == before["updated_at"]

    zammad.add_time_accounting(ticket_id, 30, by_user_id=zammad.agent_user_id)
    with raw_session(zammad) as session:
        answer = session.post(
            f"{zammad.api_url}tickets/{ticket_id}/time_accountings", json={"time_unit": "15"}
        )
    assert answer.status_code == 201 and answer.json()["time_unit"] == "15.0"
    assert zammad.wait_for_deliveries(5)
    payloads = [json.loads(body) for _, body in receiver.received]
    assert [(p["ticket"]["time_unit"], p["ticket"]["updated_by_id"]) for p in payloads] == [
        ("30.0", zammad.agent_user_id),
        ("45.0", zammad.integration_user_id),
    ]
    assert [p["article"] for p in payloads] == [{}, {}]


def test_triggers_run_in_name_order_regardless_of_case(
    zammad: ZammadStandin, receiver: Receiver, customer: int
) -> None:
    # app/models/transaction/trigger.rb orders by LOWER(name) on case-sensitive databases
    webhook_id = zammad.add_webhook(receiver.url, SECRET, name="entitlements")
    for name in ("Zeta", "alpha", "Beta"):
        zammad.add_trigger(name, ON_CREATE, webhook_id)
    zammad.create_ticket("Ordered", customer)
    assert zammad.wait_for_deliveries(5)
    assert [d.trigger for d in zammad.deliveries] == ["alpha", "Beta", "Zeta"]


def test_an_article_without_body_is_refused_with_422(zammad: ZammadStandin, customer: int) -> None:
    # article_create (app/controllers/concerns/creates_ticket_articles.rb)
    ticket_id = zammad.create_ticket("No body", customer)
    before = zammad.ticket(ticket_id)
    message = "Need at least an 'article body' field."
    with raw_session(zammad) as session:
        created = session.post(
            zammad.api_url + "ticket_articles", json={"ticket_id": ticket_id, "type": "note"}
        )
        updated = session.put(
            f"{zammad.api_url}tickets/{ticket_id}",
            json={"title": "Changed", "article": {"subject": "no body", "internal": True}},
        )
    assert (created.status_code, created.json()["error"]) == (422, message)
    assert (updated.status_code, updated.json()["error"]) == (422, message)
    assert zammad.ticket(ticket_id)["title"] == before["title"]
    assert len(zammad.articles(ticket_id)) == 1


def test_an_unchanged_write_by_another_user_still_stamps_updated_by_and_fires_update(
    zammad: ZammadStandin, client: ZammadAPI, receiver: Receiver, customer: int
) -> None:
    # fill_up_user_update (app/models/application_model/checks_user_columns_fillup.rb) sets
    # updated_by_id on every save, so the write changes it: an update event with that change.
    wire_webhook(zammad, receiver.url, ON_UPDATE, name="updates", mode="always")
    ticket_id = zammad.create_ticket("Same title", customer)
    before = zammad.ticket(ticket_id)
    answer = client.ticket.update(ticket_id, {"title": "Same title"})
    assert answer["updated_by_id"] == zammad.integration_user_id
    assert answer["updated_at"] > before["updated_at"]
    client.ticket.update(ticket_id, {"title": "Same title"})  # same user again: no save
    assert zammad.ticket(ticket_id)["updated_at"] == answer["updated_at"]
    assert zammad.wait_for_deliveries(5)
    assert len(zammad.deliveries) == 1


def test_expand_takes_any_rails_true_and_wins_over_all(
    zammad: ZammadStandin, customer: int
) -> None:
    # has_response_extentions.rb casts with ActiveModel::Type::Boolean; tickets_controller.rb
    # `show` answers expand before all
    ticket_id = zammad.create_ticket("Flags", customer)
    with raw_session(zammad) as session:
        expanded = session.get(f"{zammad.api_url}tickets/{ticket_id}?expand=1").json()
        both = session.get(f"{zammad.api_url}tickets/{ticket_id}?all=t&expand=on").json()
        everything = session.get(f"{zammad.api_url}tickets/{ticket_id}?all=1").json()
        plain = session.get(f"{zammad.api_url}tickets/{ticket_id}?expand=false").json()
    assert expanded["state"] == "new" and both["state"] == "new"
    assert everything["ticket_id"] == ticket_id and "state" not in plain


def test_default_payload_carries_accounted_time_as_a_float(
    zammad: ZammadStandin, receiver: Receiver, customer: int
) -> None:
    # record_payload/ticket/article.rb: `ticket_time_accounting&.time_unit.to_f`, 0.0 for none
    wire_webhook(zammad, receiver.url, ON_CREATE)
    zammad.create_ticket("No time", customer)
    assert zammad.wait_for_deliveries(5)
    [(_, body)] = receiver.received
    assert b'"accounted_time":0.0,' in body


def test_a_request_whose_body_never_arrived_whole_is_not_handled(
    zammad: ZammadStandin, customer: int
) -> None:
    """A worker killed while sending: Puma drops a request whose body ends early and Rails never
    sees it (puma/lib/puma/client.rb, Client#read_body raises EOFError), so the stand-in must not
    record or apply it. (It answered it as an empty PUT, which the soak counted as a write.)"""
    ticket_id = zammad.create_ticket("Cut off", customer)
    before = zammad.ticket(ticket_id)
    body = json.dumps({"title": "never sent whole"}).encode()
    port = int(zammad.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        head = (
            f"PUT /api/v1/tickets/{ticket_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Token token={zammad.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode())
        sock.shutdown(socket.SHUT_WR)  # the body never comes
        assert sock.recv(1024) == b""  # closed without an answer
    assert [r for r in zammad.requests if r.method == "PUT"] == []
    assert zammad.ticket(ticket_id) == before
