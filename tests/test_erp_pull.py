"""The ERP pull: erp.yaml, the client (faults with `responses`), the stand-in on loopback, and
`pull_erp` (checkpoints, resuming a killed pull, invalid items, changed customers)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
import requests
import responses
from click.testing import CliRunner
from sqlalchemy import func, select

from adapter import errors
from adapter.cli import main
from adapter.settings import Settings
from adapter.store.models import LicenceRow
from connectors.erp.client import TIMEOUT, ErpClient, ErpNotConfigured
from connectors.erp.pull import CHECKPOINT, pull_erp
from connectors.erp.settings import ErpSettings
from mappings.erp import (
    MISSING,
    Paging,
    load_erp_mapping,
    lookup,
    map_item,
    shipped_path,
)
from mappings.licences import LicenceSchema
from mappings.plans import load_policy
from mappings.yamlfile import FileErrors
from standins.erp import ErpStandin, generated_item

BASE = "http://127.0.0.1:8069"
PULL = f"{BASE}/api/licences"
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
HELPDESKS = ("zammad",)  # where a pull queues the re-decisions of changed customers


@pytest.fixture(scope="module")
def policy():
    return load_policy()


@pytest.fixture(scope="module")
def mapping():
    return load_erp_mapping()


def with_paging(mapping, **changes):
    return replace(
        mapping, pull=replace(mapping.pull, paging=replace(mapping.pull.paging, **changes))
    )


def cursor_mapping(mapping, page_size=100):
    paging = Paging(
        style="cursor",
        size_param="limit",
        page_size=page_size,
        items=("data",),
        cursor_param="cursor",
        next_cursor=("next_cursor",),
    )
    return replace(mapping, pull=replace(mapping.pull, paging=paging))


@pytest.fixture
def slept():
    return []


@pytest.fixture
def standin():
    started: list[ErpStandin] = []

    def start(count: int = 0, **options) -> ErpStandin:
        erp = ErpStandin(count, **options).start()
        started.append(erp)
        return erp

    yield start
    for erp in started:
        erp.stop()


def client_for(erp, mapping, slept, **options):
    options.setdefault("timeout", (2.0, 5.0))
    return ErpClient(erp.url, erp.token, mapping, sleep=slept.append, **options)


def licence_count(store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(LicenceRow))


def checkpoint(store):
    with store.session() as session:
        return store.checkpoint(session, CHECKPOINT)


# --- erp.yaml ---------------------------------------------------------------------------------


def test_shipped_mapping_maps_products_to_plans_and_every_needed_field(mapping, policy):
    assert set(mapping.products.values()) <= set(policy.plans)
    assert {"licence_id", "customer_number", "purchased_on", "product"} <= set(mapping.pull.fields)
    assert mapping.pull.paging.style == "page" and mapping.pull.auth.style == "bearer"


def test_a_generated_erp_item_maps_to_a_valid_licence(mapping, policy):
    data = map_item(generated_item(40), mapping.pull)
    assert data["customer_number"] == "C-00014" and data["status"] == "cancelled"
    licence = LicenceSchema(policy.plans, mapping.products, strict=False).load(data)
    assert licence.licence_id == "LIC-000041" and licence.cancelled_on is not None
    assert licence.plan == mapping.products[data["product"]]


def test_map_item_follows_dotted_paths_list_indexes_and_value_maps(mapping):
    pull = mapping.pull
    lines = {"licence_id": replace(pull.fields["licence_id"], path=("lines", "1", "ref"))}
    item = {"lines": [{"ref": "A"}, {"ref": "B"}], "state": "TERMINATED", "addons": ["X"]}
    assert map_item(item, replace(pull, fields=lines)) == {"licence_id": "B"}
    mapped = map_item({**item, "addons": ["THIRD_PARTY_SUPPORT", "OTHER"]}, pull)
    assert mapped["status"] == "terminated"
    assert mapped["options"] == ["third_party_projects", "OTHER"]  # unlisted: passed on


def test_map_item_leaves_out_missing_paths_and_keeps_nulls(mapping):
    mapped = map_item({"id": "L1", "customer": None, "acceptance_date": None}, mapping.pull)
    assert mapped == {"licence_id": "L1", "accepted_on": None}
    assert lookup({"a": [1]}, ("a", "5")) is MISSING and lookup({"a": 1}, ("a", "b")) is MISSING


def test_the_cursor_paging_documented_in_the_shipped_file_loads(tmp_path):
    text = shipped_path().read_text(encoding="utf-8")
    page_block = (
        "    style: page\n    page_param: page\n    first_page: 1\n    size_param: per_page\n"
        "    page_size: 100\n    items: data\n"
    )
    assert page_block in text
    cursor = text.replace(page_block, "    page_size: 100\n    items: data\n").replace(
        "    # style: cursor\n    # cursor_param: cursor\n    # size_param: limit\n"
        "    # next_cursor: next_cursor\n",
        "    style: cursor\n    cursor_param: cursor\n    size_param: limit\n"
        "    next_cursor: next_cursor\n",
    )
    (tmp_path / "erp.yaml").write_text(cursor, encoding="utf-8")
    paging = load_erp_mapping(tmp_path / "erp.yaml").pull.paging
    assert (paging.style, paging.cursor_param, paging.next_cursor) == (
        "cursor",
        "cursor",
        ("next_cursor",),
    )


BROKEN = [
    # (case, old text, new text, field named, message part)
    (
        "unknown licence field",
        "    licence_id: id\n",
        "    licence_ident: id\n",
        "pull.fields",
        "Must be one of",
    ),
    (
        "cursor without next cursor",
        "    style: page\n",
        "    style: cursor\n    cursor_param: c\n",
        "pull.paging.next_cursor",
        "required with style cursor",
    ),
    (
        "header auth without a header",
        "    style: bearer\n",
        "    style: header\n",
        "pull.auth.header",
        "required with style header",
    ),
    (
        "bad page size",
        "    page_size: 100\n",
        "    page_size: 0\n",
        "pull.paging.page_size",
        "greater than or equal to 1",
    ),
    (
        "a needed field unmapped",
        "    purchased_on: order_date\n",
        "",
        "pull.fields",
        "must map purchased_on",
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "field", "message"), BROKEN, ids=[b[0] for b in BROKEN]
)
def test_broken_erp_yaml_names_file_line_and_field(tmp_path, case, old, new, field, message):
    text = shipped_path().read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "erp.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(FileErrors) as raised:
        load_erp_mapping(tmp_path / "erp.yaml")
    found = [e for e in raised.value.errors if e.field.startswith(field)]
    assert found and message in found[0].message, raised.value
    assert found[0].file.endswith("erp.yaml") and found[0].line


def test_entitlements_check_reports_a_broken_erp_yaml(tmp_path, monkeypatch):
    text = shipped_path().read_text(encoding="utf-8")
    (tmp_path / "erp.yaml").write_text(text.replace("format: iso8601", "format: rfc822"), "utf-8")
    monkeypatch.setenv("ENTITLEMENTS_MAPPINGS_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code != 0
    assert "erp.yaml" in result.output and "pull.updated_since.format" in result.output


# --- the client, with `responses` -------------------------------------------------------------


def erp_page(*ids, changed="2026-01-01T00:00:00Z"):
    return {"data": [{"id": i, "changed_at": changed} for i in ids], "meta": {}}


@pytest.fixture
def client(mapping, slept):
    return ErpClient(BASE, "erp-token", mapping, attempts=3, max_wait=10.0, sleep=slept.append)


@responses.activate
def test_pages_send_token_timeout_and_page_numbers_until_an_empty_page(client):
    responses.get(PULL, json=erp_page("L1", "L2", changed="2026-02-01T10:00:00Z"))
    responses.get(PULL, json=erp_page("L3", changed="2026-02-03T10:00:00+01:00"))
    responses.get(PULL, json=erp_page())
    pages = list(client.pages())
    assert [len(p.items) for p in pages] == [2, 1, 0]
    assert [p.last for p in pages] == [False, False, True]
    sent = [call.request for call in responses.calls]
    assert all(r.headers["Authorization"] == "Bearer erp-token" for r in sent)
    assert all(r.req_kwargs["timeout"] == TIMEOUT for r in sent)
    assert [r.params for r in sent] == [{"per_page": "100", "page": str(n)} for n in (1, 2, 3)]
    assert pages[0].position_after == {
        "style": "page",
        "updated_since": None,
        "page": 2,
        "page_size": 100,
        "newest": "2026-02-01T10:00:00+00:00",
    }
    # At the end: the next run starts at page 1, from the newest change time seen.
    assert pages[-1].position_after == {
        "style": "page",
        "updated_since": "2026-02-03T09:00:00+00:00",
        "page": 1,
        "page_size": 100,
        "newest": None,
    }


@responses.activate
def test_a_resumed_run_asks_for_the_next_page_with_the_original_filter(client):
    responses.get(PULL, json=erp_page("L9"))
    responses.get(PULL, json=erp_page())
    position = {
        "style": "page",
        "updated_since": "2026-01-01T00:00:00+00:00",
        "page": 4,
        "page_size": 50,
        "newest": "2026-01-02T00:00:00+00:00",
    }
    pages = list(client.pages(position))
    first = responses.calls[0].request.params
    assert first == {"updated_since": "2026-01-01T00:00:00Z", "page": "4", "per_page": "50"}
    assert responses.calls[1].request.params["page"] == "5"
    # Nothing newer was seen after the resume: the newest from before the crash counts.
    assert pages[-1].position_after["updated_since"] == "2026-01-02T00:00:00+00:00"


@responses.activate
def test_updated_since_starts_a_new_run_in_the_configured_format(mapping, slept):
    epoch = replace(
        mapping,
        pull=replace(
            mapping.pull, updated_since=replace(mapping.pull.updated_since, format="epoch")
        ),
    )
    client = ErpClient(BASE, "t", epoch, sleep=slept.append)
    responses.get(PULL, json=erp_page())
    list(client.pages({"style": "page", "page": 9}, updated_since=datetime(2026, 1, 1, tzinfo=UTC)))
    assert responses.calls[0].request.params == {
        "updated_since": "1767225600",
        "page": "1",
        "per_page": "100",
    }


@responses.activate
def test_header_auth_sends_the_token_in_the_named_header(mapping, slept):
    keyed = replace(
        mapping,
        pull=replace(
            mapping.pull, auth=replace(mapping.pull.auth, style="header", header="X-Api-Key")
        ),
    )
    responses.get(PULL, json=erp_page())
    list(ErpClient(BASE, "k3y", keyed, sleep=slept.append).pages())
    headers = responses.calls[0].request.headers
    assert headers["X-Api-Key"] == "k3y" and "Authorization" not in headers


@responses.activate
def test_server_errors_then_success_are_retried(client, slept):
    responses.get(PULL, status=500, json={"error": "boom"})
    responses.get(PULL, status=500, body="Internal Server Error")
    responses.get(PULL, json=erp_page())
    assert [p.last for p in client.pages()] == [True]
    assert len(responses.calls) == 3 and len(slept) == 2
    assert all(0 < s <= 10.0 for s in slept)


@responses.activate
def test_rate_limit_waits_as_long_as_retry_after_says(client, slept):
    responses.get(PULL, status=429, headers={"Retry-After": "7"}, json={"error": "slow down"})
    responses.get(PULL, json=erp_page())
    list(client.pages())
    assert slept == [7.0]


@responses.activate
def test_timeouts_are_retried_then_raise_a_typed_error(client, slept):
    for _ in range(3):
        responses.get(PULL, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(errors.ApiTimeout):
        list(client.pages())
    assert len(responses.calls) == 3 and len(slept) == 2


@responses.activate
def test_a_connection_broken_mid_body_is_retried(client, slept):
    responses.get(PULL, body=requests.exceptions.ChunkedEncodingError("IncompleteRead"))
    responses.get(PULL, body=requests.ConnectionError("reset by peer"))
    responses.get(PULL, json=erp_page())
    assert len(list(client.pages())) == 1 and len(slept) == 2


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, errors.ApiRejected),
        (401, errors.ApiUnauthorized),
        (403, errors.ApiUnauthorized),
        (404, errors.ApiNotFound),
        (422, errors.ApiRejected),
    ],
)
@responses.activate
def test_client_errors_are_not_retried(client, slept, status, kind):
    responses.get(PULL, status=status, json={"message": "no"})
    with pytest.raises(kind) as raised:
        list(client.pages())
    assert raised.value.status == status and not raised.value.retriable
    assert len(responses.calls) == 1 and slept == []


@pytest.mark.parametrize("body", [{"items": []}, {"data": {"id": 1}}, "<html>"])
@responses.activate
def test_an_answer_without_a_list_of_items_is_an_error_that_is_not_retried(client, body):
    if isinstance(body, str):
        responses.get(PULL, body=body, content_type="text/html")
    else:
        responses.get(PULL, json=body)
    with pytest.raises(errors.ApiError) as raised:
        list(client.pages())
    assert not raised.value.retriable and len(responses.calls) == 1


@responses.activate
def test_an_erp_that_ignores_the_page_parameter_is_not_read_forever(client):
    responses.get(PULL, json=erp_page("L1", "L2"))
    with pytest.raises(errors.ApiError, match="repeats the previous page"):
        list(client.pages())
    assert len(responses.calls) == 2


@responses.activate
def test_cursor_paging_follows_the_next_cursor_until_there_is_none(mapping, slept):
    client = ErpClient(BASE, "t", cursor_mapping(mapping, 2), sleep=slept.append)
    responses.get(PULL, json={"data": [{"id": "L1"}, {"id": "L2"}], "next_cursor": "c1"})
    responses.get(PULL, json={"data": [{"id": "L3"}], "next_cursor": None})
    pages = list(client.pages())
    assert [r.request.params for r in responses.calls] == [
        {"limit": "2"},
        {"limit": "2", "cursor": "c1"},
    ]
    assert pages[0].position_after["cursor"] == "c1" and not pages[0].last
    assert pages[1].last and pages[1].position_after["cursor"] is None


def test_from_settings_needs_the_erp_url_and_token(mapping):
    with pytest.raises(ErpNotConfigured, match="ENTITLEMENTS_ERP_URL and ENTITLEMENTS_ERP_TOKEN"):
        ErpClient.from_settings(Settings(), mapping)
    erp = ErpSettings(url=BASE + "/", token="t")
    client = ErpClient.from_settings(Settings(provider_settings={"erp": erp}), mapping)
    assert client.url == PULL


# --- the stand-in on loopback -----------------------------------------------------------------


def test_the_standin_wants_the_bearer_token(standin):
    erp = standin(3)
    assert requests.get(erp.url + "/api/licences", timeout=5).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert requests.get(erp.url + "/api/licences", headers=wrong, timeout=5).status_code == 401
    right = {"Authorization": f"Bearer {erp.token}"}
    answer = requests.get(erp.url + "/api/licences", headers=right, timeout=5)
    assert answer.status_code == 200 and len(answer.json()["data"]) == 3


def test_the_standin_pages_in_a_stable_order_and_filters_by_change_time(standin, mapping, slept):
    erp = standin(25)
    client = client_for(erp, with_paging(mapping, page_size=10), slept)
    ids = [item["id"] for page in client.pages() for item in page.items]
    assert ids == [f"LIC-{n:06d}" for n in range(1, 26)]
    since = datetime.fromisoformat(generated_item(20)["changed_at"])
    later = [i["id"] for p in client.pages(updated_since=since) for i in p.items]
    assert later == [f"LIC-{n:06d}" for n in range(21, 26)]  # inclusive: 21 changed at `since`


def test_a_changed_licence_moves_to_the_end_of_the_order(standin, mapping, slept):
    erp = standin(5)
    changed = erp.update("LIC-000002", state="TERMINATED", cancellation_date="2026-06-30")
    assert changed["version"] == 2 and changed["changed_at"] > generated_item(4)["changed_at"]
    template = {k: v for k, v in generated_item(0).items() if k != "changed_at"}
    added = erp.put({**template, "id": "LIC-NEW"})
    client = client_for(erp, with_paging(mapping, page_size=2), slept)
    ids = [item["id"] for page in client.pages() for item in page.items]
    assert ids == ["LIC-000001", "LIC-000003", "LIC-000004", "LIC-000005", "LIC-000002", "LIC-NEW"]
    assert erp.item("LIC-NEW") == added


def test_the_standin_cursor_pages_cover_every_licence_once(standin, mapping, slept):
    erp = standin(23, paging="cursor")
    erp.update("LIC-000007", version=5)
    client = client_for(erp, cursor_mapping(mapping, 5), slept)
    pages = list(client.pages())
    ids = [item["id"] for page in pages for item in page.items]
    assert sorted(ids) == sorted(f"LIC-{n:06d}" for n in range(1, 24)) and len(ids) == 23
    assert ids[-1] == "LIC-000007" and pages[-1].last


def test_a_reset_in_the_middle_of_a_page_is_retried(standin, mapping, slept):
    erp = standin(30)
    erp.inject_fault(reset="mid_body")
    client = client_for(erp, with_paging(mapping, page_size=20), slept)
    pages = list(client.pages())
    assert sum(len(p.items) for p in pages) == 30 and len(slept) == 1
    log = erp.requests
    assert log[0].fault == "reset mid_body" and log[0].status is None
    assert log[1].params["page"] == "1" and log[1].status == 200


def test_a_reset_before_the_answer_is_retried(standin, mapping, slept):
    erp = standin(3)
    erp.inject_fault(reset="before")
    assert sum(len(p.items) for p in client_for(erp, mapping, slept).pages()) == 3
    assert len(slept) == 1


def test_a_slow_answer_times_out_and_is_retried(standin, mapping, slept):
    erp = standin(3)
    erp.inject_fault(delay=2.0)  # stop() ends the wait; the test does not sleep it out
    client = client_for(erp, mapping, slept, timeout=(2.0, 0.2))
    assert sum(len(p.items) for p in client.pages()) == 3
    assert len(slept) == 1 and erp.requests[-1].fault is None


def test_server_errors_and_rate_limits_from_the_standin_are_retried(standin, mapping, slept):
    erp = standin(3)
    erp.inject_fault(500, times=2)
    erp.inject_fault(429, retry_after=3)
    assert sum(len(p.items) for p in client_for(erp, mapping, slept).pages()) == 3
    assert [r.status for r in erp.requests] == [500, 500, 429, 200, 200]
    assert len(slept) == 3 and slept[2] == 3.0


def test_retries_are_bounded(standin, mapping, slept):
    erp = standin(3)
    erp.inject_fault(503, times=10)
    with pytest.raises(errors.ApiServerError):
        list(client_for(erp, mapping, slept, attempts=4).pages())
    assert len(erp.requests) == 4


# --- pull_erp -----------------------------------------------------------------------------------


def test_a_first_pull_stores_every_licence_once_with_its_contract(
    store, policy, mapping, standin, slept
):
    erp = standin(250)
    report = pull_erp(
        store, policy, client_for(erp, mapping, slept), mapping, NOW, helpdesks=HELPDESKS
    )
    assert (report.pages, report.created, report.invalid, report.complete) == (4, 250, 0, True)
    assert licence_count(store) == 250
    assert len(report.changed_customers) == 84 and report.changed_customers[0] == "C-00001"
    with store.session() as session:
        licence = store.licence(session, "LIC-000002")
        contracts = {c.id: c for c in store.contracts_for(session, "C-00001")}
        source = session.get(LicenceRow, "LIC-000002").source
    assert licence.plan == "basic" and licence.product == "SP-BASIC-10" and source == "pull"
    assert set(contracts) == {"LIC-000001", "LIC-000002", "LIC-000003"}
    assert contracts["LIC-000002"].plan == "basic"
    assert checkpoint(store) == {
        "style": "page",
        "updated_since": "2026-01-01T00:04:09+00:00",  # licence 250's change time
        "page": 1,
        "page_size": 100,
        "newest": None,
    }


def test_the_next_pull_reads_only_what_changed_since(store, policy, mapping, standin, slept):
    erp = standin(150)
    client = client_for(erp, mapping, slept)
    pull_erp(store, policy, client, mapping, NOW, helpdesks=HELPDESKS)
    erp.clear_requests()
    again = pull_erp(store, policy, client, mapping, NOW, helpdesks=HELPDESKS)
    # The newest licence is read again (the filter is inclusive); it changes nothing.
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert again.changed_customers == []
    erp.update("LIC-000004", state="TERMINATED", cancellation_date="2026-03-31")
    third = pull_erp(store, policy, client, mapping, NOW, helpdesks=HELPDESKS)
    assert (third.updated, third.unchanged, third.changed_customers) == (1, 1, ["C-00002"])
    with store.session() as session:
        (contract,) = [c for c in store.contracts_for(session, "C-00002") if c.id == "LIC-000004"]
    assert contract.terminated and contract.final_end_on == date(2026, 3, 31)


def test_cancellations_and_terminations_from_the_erp_end_contracts(
    store, policy, mapping, standin, slept
):
    erp = standin(100)  # licence 41 has notice given, 97 is terminated (see generated_item)
    pull_erp(store, policy, client_for(erp, mapping, slept), mapping, NOW, helpdesks=HELPDESKS)
    with store.session() as session:
        cancelled = store.licence(session, "LIC-000041")
        terminated = store.licence(session, "LIC-000097")
        contracts = {c.id: c for c in store.contracts_for(session, terminated.customer_number)}
    assert cancelled.status == "cancelled" and cancelled.cancelled_on == date(2026, 9, 1)
    assert terminated.status == "terminated"
    assert contracts["LIC-000097"].final_end_on == terminated.cancelled_on


def test_a_repeat_changes_nothing_and_an_older_revision_is_ignored(
    store, policy, mapping, standin, slept
):
    erp = standin(3)
    client = client_for(erp, mapping, slept)
    pull_erp(store, policy, client, mapping, NOW, helpdesks=HELPDESKS)
    erp.update("LIC-000001", version=3, customer={"number": "C-00001", "name": "Neu GmbH"})
    assert pull_erp(store, policy, client, mapping, NOW, helpdesks=HELPDESKS).updated == 1
    erp.update("LIC-000001", version=2, customer={"number": "C-00001", "name": "Alt GmbH"})
    stale = pull_erp(store, policy, client, mapping, NOW, helpdesks=HELPDESKS)
    assert (stale.stale, stale.updated, stale.changed_customers) == (1, 0, [])
    with store.session() as session:
        licence = store.licence(session, "LIC-000001")
    assert (licence.revision, licence.customer_name) == (3, "Neu GmbH")


def test_a_licence_moved_to_another_customer_reports_both(store, policy, mapping, standin, slept):
    erp = standin(3)
    client = client_for(erp, mapping, slept)
    pull_erp(store, policy, client, mapping, NOW, helpdesks=HELPDESKS)
    erp.update("LIC-000002", customer={"number": "C-00777", "name": "Käufer AG"})
    report = pull_erp(store, policy, client, mapping, NOW, helpdesks=HELPDESKS)
    assert report.changed_customers == ["C-00001", "C-00777"]


def test_invalid_items_are_reported_and_counted_and_the_rest_is_stored(
    store, policy, mapping, standin, slept
):
    erp = standin(10)
    erp.update("LIC-000002", state="ON_HOLD")  # not in the value map: passed on, rejected
    erp.update("LIC-000003", order_date="15.03.2026")
    erp.update("LIC-000004", article={"sku": "UNKNOWN-SKU"})
    erp.put({"id": "BROKEN", "customer": None})
    report = pull_erp(
        store, policy, client_for(erp, mapping, slept), mapping, NOW, helpdesks=HELPDESKS
    )
    assert (report.invalid, report.created, licence_count(store)) == (4, 7, 7)
    found = {(p.licence_id, p.field) for p in report.problems}
    assert {
        ("LIC-000002", "status"),
        ("LIC-000003", "purchased_on"),
        ("LIC-000004", "plan"),
        ("BROKEN", "customer_number"),
        ("BROKEN", "purchased_on"),
    } <= found
    assert all(p.page == 1 and p.message for p in report.problems)
    assert checkpoint(store)["page"] == 1  # the run completed: invalid items do not stop it


@pytest.mark.parametrize("style", ["page", "cursor"])
def test_a_pull_killed_half_way_resumes_with_no_gap_and_no_page_twice(
    store, policy, mapping, standin, slept, style
):
    erp = standin(1_000, paging=style)
    pull = with_paging(mapping, page_size=100) if style == "page" else cursor_mapping(mapping)
    client = client_for(erp, pull, slept)

    class Killed(Exception):
        pass

    def kill_after_page_3(result):
        if result.page.number == 3:
            raise Killed

    with pytest.raises(Killed):
        pull_erp(store, policy, client, pull, NOW, on_page=kill_after_page_3, helpdesks=HELPDESKS)
    assert licence_count(store) == 300
    resumed = pull_erp(store, policy, client, pull, NOW, helpdesks=HELPDESKS)
    assert (resumed.created, resumed.unchanged, resumed.complete) == (700, 0, True)
    assert licence_count(store) == 1_000
    key = "page" if style == "page" else "cursor"
    fetched = [r.params.get(key) for r in erp.requests]
    assert len(fetched) == len(set(fetched)) == (11 if style == "page" else 10)


def test_a_page_that_fails_after_its_retries_is_fetched_again_on_the_next_run(
    store, policy, mapping, standin, slept
):
    erp = standin(50)
    pull = with_paging(mapping, page_size=10)
    client = client_for(erp, pull, slept, attempts=2)

    def fail_the_next_page_after_page_2(result):
        if result.page.number == 2:
            erp.inject_fault(500, times=2)  # both attempts at page 3

    with pytest.raises(errors.ApiServerError):
        pull_erp(
            store,
            policy,
            client,
            pull,
            NOW,
            on_page=fail_the_next_page_after_page_2,
            helpdesks=HELPDESKS,
        )
    assert licence_count(store) == 20 and checkpoint(store)["page"] == 3
    report = pull_erp(store, policy, client, pull, NOW, helpdesks=HELPDESKS)
    assert (report.created, report.unchanged) == (30, 0)
    pages = [r.params["page"] for r in erp.requests if r.status == 200]
    assert pages == ["1", "2", "3", "4", "5", "6"]


def test_a_page_and_its_checkpoint_commit_together(
    store, policy, mapping, standin, slept, monkeypatch
):
    erp = standin(30)
    pull = with_paging(mapping, page_size=10)
    calls = []
    original = store.set_checkpoint

    def broken_on_page_2(session, name, value, now):
        calls.append(value)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        original(session, name, value, now)

    monkeypatch.setattr(store, "set_checkpoint", broken_on_page_2)
    with pytest.raises(RuntimeError):
        pull_erp(store, policy, client_for(erp, pull, slept), pull, NOW, helpdesks=HELPDESKS)
    assert licence_count(store) == 10 and checkpoint(store)["page"] == 2


def test_a_resumed_run_keeps_the_page_size_it_started_with(store, policy, mapping, standin, slept):
    erp = standin(40)
    small = with_paging(mapping, page_size=10)

    class Stopped(Exception):
        pass

    def stop_after_page_1(result):
        raise Stopped

    with pytest.raises(Stopped):
        pull_erp(
            store,
            policy,
            client_for(erp, small, slept),
            small,
            NOW,
            on_page=stop_after_page_1,
            helpdesks=HELPDESKS,
        )
    large = with_paging(mapping, page_size=25)  # erp.yaml edited before the resume
    report = pull_erp(store, policy, client_for(erp, large, slept), large, NOW, helpdesks=HELPDESKS)
    assert (report.created, report.unchanged) == (30, 0)
    assert [r.params["per_page"] for r in erp.requests] == ["10"] * 5
    assert checkpoint(store)["page_size"] == 25


def test_a_paging_style_switch_restarts_the_run_from_its_filter_time(
    store, policy, mapping, standin, slept
):
    erp = standin(5, paging="cursor")
    with store.session() as session:
        position = {"style": "page", "updated_since": None, "page": 7, "page_size": 10}
        store.set_checkpoint(session, CHECKPOINT, position, NOW)
    pull = cursor_mapping(mapping)
    report = pull_erp(store, policy, client_for(erp, pull, slept), pull, NOW, helpdesks=HELPDESKS)
    assert report.created == 5 and checkpoint(store)["style"] == "cursor"


def test_on_page_gets_each_pages_changed_customers(store, policy, mapping, standin, slept):
    erp = standin(6)
    pull = with_paging(mapping, page_size=3)
    seen = []
    pull_erp(
        store,
        policy,
        client_for(erp, pull, slept),
        pull,
        NOW,
        on_page=lambda r: seen.append((r.page.number, sorted(r.changed_customers))),
        helpdesks=HELPDESKS,
    )
    assert seen == [(1, ["C-00001"]), (2, ["C-00002"]), (3, [])]


def test_pull_report_lists_problems_as_text(store, policy, mapping, standin, slept):
    erp = standin(0)
    erp.put({"id": "X-1", "customer": {"number": "C-1"}, "article": {"sku": "SP-COM"}})
    report = pull_erp(
        store, policy, client_for(erp, mapping, slept), mapping, NOW, helpdesks=HELPDESKS
    )
    assert [str(p) for p in report.problems] == [
        "X-1: purchased_on: Missing data for required field."
    ]
    assert json.dumps(checkpoint(store))  # the checkpoint is JSON
