"""The stand-in's search and tags as Zammad 6.x has them, each behaviour from Zammad's source:
search with Elasticsearch (query_string) or without (SQL), condition-only search by POST,
sorting, paging and the answer's shape; tags touching a ticket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from standins.zammad import ZammadStandin
from tests.test_zammad_standin import Receiver


@pytest.fixture
def zammad() -> Iterator[ZammadStandin]:
    with ZammadStandin(time_scale=0.01) as standin:
        yield standin


@pytest.fixture
def session(zammad: ZammadStandin) -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.trust_env = False
        http.headers["Authorization"] = f"Token token={zammad.token}"
        yield http


@pytest.fixture
def customer(zammad: ZammadStandin) -> int:
    org = zammad.add_organization("Slash & Colon AG", customer_number='C/7:(1)"x')
    return zammad.add_user("Emily", "Adams", "emily@example.com", organization_id=org)


def search(
    zammad: ZammadStandin, session: requests.Session, what: str = "tickets", **params: Any
) -> Any:
    answer = session.get(f"{zammad.api_url}{what}/search", params=params, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def post_search(
    zammad: ZammadStandin, session: requests.Session, body: dict[str, Any], what: str = "tickets"
) -> requests.Response:
    return session.post(f"{zammad.api_url}{what}/search?expand=true", json=body, timeout=5)


def ids(records: list[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in records]


# --------------------------------------------------------------------------- with Elasticsearch


def test_elasticsearch_refuses_an_unescaped_colon_and_zammad_answers_an_empty_list(
    zammad: ZammadStandin, session: requests.Session, customer: int
) -> None:
    # lib/search_index_backend.rb search_by_index: the query goes to query_string as it is;
    # an error from Elasticsearch is logged and the search goes on with no hits: 200 [].
    zammad.create_ticket("Old", customer, created_at="2026-01-10T08:00:00Z")
    new = zammad.create_ticket("New", customer, created_at="2026-03-10T08:00:00Z")
    assert search(zammad, session, query="updated_at:>=2026-02-01T00:00:00Z") == []
    escaped = search(zammad, session, query=r"updated_at:>=2026-02-01T00\:00\:00Z")
    assert ids(escaped) == [new]
    assert search(zammad, session, query='title:"New') == []  # unclosed quote
    assert search(zammad, session, query="title:(New") == []  # unbalanced parenthesis


def test_elasticsearch_refuses_a_customer_number_with_a_slash_unless_quoted(
    zammad: ZammadStandin, session: requests.Session, customer: int
) -> None:
    org = zammad.user(customer)["organization_id"]
    # '/' opens a regular expression, ':' a field, '"' a phrase: the bare number is refused
    assert search(zammad, session, "organizations", query='customer_number:C/7:(1)"x') == []
    quoted = search(zammad, session, "organizations", query=r'customer_number:"C/7:(1)\"x"')
    assert ids(quoted) == [org]


# --------------------------------------------------------------------------- without it: SQL


def test_without_elasticsearch_a_query_is_a_like_on_title_number_and_articles(
    zammad: ZammadStandin, session: requests.Session, customer: int
) -> None:
    # app/models/ticket/search.rb: LIKE '%query%' (case-insensitive) on title and number and,
    # through an INNER JOIN, the articles' body, from, to and subject; no field syntax.
    zammad.search_index = False
    printer = zammad.create_ticket("Printer jams", customer, article_body="Tray 2 is stuck")
    zammad.create_ticket("Login fails", customer, created_at="2026-03-10T08:00:00Z")
    bare = session.post(
        f"{zammad.api_url}tickets",
        json={"title": "Printer without articles", "group": "Support", "customer_id": customer},
        timeout=5,
    ).json()
    assert ids(search(zammad, session, query="PRINTER")) == [printer]  # no article: not found
    assert ids(search(zammad, session, query="tray 2")) == [printer]
    assert search(zammad, session, query="updated_at:>=2026-02-01T00:00:00Z") == []
    assert search(zammad, session, query="title:Printer") == []  # field syntax is text here
    assert bare["id"] not in ids(search(zammad, session, query="without"))


# --------------------------------------------------------------------------- condition only


def test_a_condition_without_a_query_is_answered_from_sql_even_with_elasticsearch(
    zammad: ZammadStandin, session: requests.Session, customer: int
) -> None:
    # can_search.rb: Elasticsearch only `if ... params[:query].present?`; the condition goes
    # through lib/selector/sql.rb, where "after (absolute)" is `>=` and "is" is `IN (?)`.
    assert zammad.search_index
    zammad.create_ticket("Old", customer, created_at="2026-01-10T08:00:00Z")
    mid = zammad.create_ticket("Mid", customer, created_at="2026-02-01T00:00:00Z")
    new = zammad.create_ticket("New", customer, created_at="2026-03-10T08:00:00Z")
    org = zammad.user(customer)["organization_id"]
    body = {
        "condition": {
            "ticket.updated_at": {"operator": "after (absolute)", "value": "2026-02-01T00:00:00Z"},
            "ticket.organization_id": {"operator": "is", "value": org},
        },
        "sort_by": "updated_at",
        "order_by": "asc",
    }
    answer = post_search(zammad, session, body)
    assert answer.status_code == 200
    assert ids(answer.json()) == [mid, new]  # inclusive, oldest first
    assert answer.json()[0]["state"] == "new"  # expand: with names

    numbered = post_search(
        zammad,
        session,
        {"condition": {"organization.customer_number": {"operator": "is", "value": 'C/7:(1)"x'}}},
        "organizations",
    )
    assert ids(numbered.json()) == [org]  # bound as it is: no syntax to escape


def test_a_block_condition_joins_the_state_and_bounds_ids(
    zammad: ZammadStandin, session: requests.Session, customer: int
) -> None:
    first, second, third = (zammad.create_ticket(f"T{n}", customer) for n in range(3))
    zammad.update_ticket(second, state="closed")
    body = {
        "condition": {
            "operator": "AND",
            "conditions": [
                {"name": "ticket_state.name", "operator": "is none of", "value": ["closed"]},
                {"name": "ticket.id", "operator": "after (absolute)", "value": first + 1},
            ],
        },
        "sort_by": "id",
        "order_by": "asc",
    }
    assert ids(post_search(zammad, session, body).json()) == [third]


def test_an_invalid_condition_is_dropped_and_every_ticket_matches(
    zammad: ZammadStandin, session: requests.Session, customer: int
) -> None:
    # Selector::Sql#get rescues InvalidCondition (here: no value) and returns nil;
    # search_sql_base then runs `where(nil)`: every ticket the user may read.
    tickets = [zammad.create_ticket(f"T{n}", customer) for n in range(3)]
    body = {"condition": {"ticket.updated_at": {"operator": "after (absolute)"}}}
    assert sorted(ids(post_search(zammad, session, body).json())) == tickets
    unknown = {"condition": {"ticket.updated_at": {"operator": "newer than", "value": "x"}}}
    assert post_search(zammad, session, unknown).status_code == 500  # validate_operator!


def test_sort_by_and_order_by_pair_by_position_and_ties_need_a_second_column(
    zammad: ZammadStandin, session: requests.Session, customer: int
) -> None:
    # lib/sql_helper.rb: comma-separated lists; get_order skips a column without an order;
    # SQL leaves ties in any order (the stand-in answers them by descending id).
    same = "2026-02-01T00:00:00Z"
    tickets = [zammad.create_ticket(f"T{n}", customer, created_at=same) for n in range(3)]
    both = {"sort_by": "updated_at,id", "order_by": "asc,asc"}
    assert ids(post_search(zammad, session, both).json()) == tickets
    one_order = {"sort_by": "updated_at,id", "order_by": "asc"}
    assert ids(post_search(zammad, session, one_order).json()) == tickets[::-1]
    unknown = post_search(zammad, session, {"sort_by": "nonsense", "order_by": "asc"})
    assert unknown.status_code == 500
    assert "Found invalid column 'nonsense' for sorting." in unknown.text


def test_search_pages_by_50_and_caps_per_page_at_200(
    zammad: ZammadStandin, session: requests.Session, customer: int
) -> None:
    # renders_models.rb model_search_render: paginate_with(max: 200, default: 50)
    for n in range(205):
        zammad.create_ticket(f"T{n}", customer)
    assert len(post_search(zammad, session, {}).json()) == 50
    assert len(post_search(zammad, session, {"per_page": 500}).json()) == 200
    assert len(post_search(zammad, session, {"per_page": 200, "page": 2}).json()) == 5


def test_the_organisation_list_pages_by_500_up_to_1000(
    zammad: ZammadStandin, session: requests.Session
) -> None:
    # model_index_render: paginate_with(default: 500); CanPaginate::Pagination max 1000
    for n in range(1001):
        zammad.add_organization(f"Org {n}")
    url = f"{zammad.api_url}organizations"
    assert len(session.get(url, timeout=10).json()) == 500
    assert len(session.get(url, params={"per_page": 5000}, timeout=10).json()) == 1000


def test_search_answers_a_plain_array_with_ids_or_with_names(
    zammad: ZammadStandin, session: requests.Session, customer: int
) -> None:
    # Zammad 6.x renders_models.rb: attributes_with_association_ids (plain), _names (expand);
    # full: record_ids, assets and total_count.
    ticket = zammad.create_ticket("Shape", customer)
    plain = search(zammad, session, query="Shape")
    assert isinstance(plain, list) and plain[0]["id"] == ticket and "state" not in plain[0]
    assert search(zammad, session, query="Shape", expand="true")[0]["state"] == "new"
    full = search(zammad, session, query="Shape", full="1")
    assert full["record_ids"] == [ticket] and full["total_count"] == 1
    assert str(ticket) in full["assets"]["Ticket"]


# --------------------------------------------------------------------------- tags


def test_a_tag_touches_updated_at_only_and_fires_no_trigger(
    zammad: ZammadStandin, customer: int
) -> None:
    # app/models/tag.rb tag_add/tag_remove → touch_reference_by_params
    # (app/models/application_model/can_touch_references.rb): Rails' touch moves updated_at,
    # runs no update callbacks: updated_by_id stays, no transaction event, no trigger.
    with Receiver() as receiver:
        webhook = zammad.add_webhook(receiver.url)
        zammad.add_trigger(
            "any update",
            {"ticket.action": {"operator": "is", "value": "update"}},
            webhook,
            execution_condition_mode="always",
        )
        ticket = zammad.create_ticket("Tagged", customer)
        zammad.update_ticket(ticket, title="Tagged by the agent", by_user_id=zammad.agent_user_id)
        assert zammad.wait_for_deliveries(5)
        before = zammad.ticket(ticket)
        delivered = len(zammad.deliveries)
        zammad.add_tag(ticket, "vendor-bug")
        assert zammad.wait_for_deliveries(5)
        after = zammad.ticket(ticket)
    assert after["updated_at"] > before["updated_at"]
    assert after["updated_by_id"] == before["updated_by_id"] == zammad.agent_user_id
    assert len(zammad.deliveries) == delivered


def test_adding_a_tag_the_ticket_has_changes_nothing_and_removing_always_touches(
    zammad: ZammadStandin, session: requests.Session, customer: int
) -> None:
    # Tag.tag_add: `return true if current_tags.include?(data[:item])`, before the touch;
    # Tag.tag_remove touches whether or not the tag was there.
    ticket = zammad.create_ticket("Tagged", customer)
    zammad.add_tag(ticket, "billable")
    tagged = zammad.ticket(ticket)["updated_at"]
    added = session.post(
        f"{zammad.api_url}tags/add",
        json={"object": "Ticket", "o_id": ticket, "item": "billable"},
        timeout=5,
    )
    assert (added.status_code, added.json()) == (201, True)
    assert zammad.ticket(ticket)["updated_at"] == tagged
    removed = session.delete(
        f"{zammad.api_url}tags/remove",
        data=json.dumps({"object": "Ticket", "o_id": ticket, "item": "absent"}),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert removed.status_code == 200
    assert zammad.ticket(ticket)["updated_at"] > tagged
    assert zammad.tags(ticket) == ["billable"]
