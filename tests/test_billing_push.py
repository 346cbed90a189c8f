"""`entitlements billing export --push`: the month's lines POSTed to the ERP, retried, once."""

import json
from datetime import UTC, datetime

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import select

from adapter.billing import Work
from adapter.cli import main
from adapter.store.models import PushedLineRow
from connectors.erp import billing as billing_module
from mappings.erp import shipped_path

BASE = "http://127.0.0.1:8069"
LINES = BASE + "/api/billing-lines"


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def _add(store, *items: Work) -> None:
    with store.session() as session:
        store.add_work(session, "zammad", items, datetime.now(UTC))


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The retry waits, recorded instead of slept."""
    seen: list[float] = []
    monkeypatch.setattr(billing_module, "pause", seen.append)
    return seen


@pytest.fixture
def push(database_url, store, waits):
    _add(
        store,
        Work("zammad:7:1", "7", "LIC-1", "ui_building", _utc(2026, 11, 28, 21, 40), 45),
        Work("zammad:7:2", "7", "LIC-1", "ui_building", _utc(2026, 11, 3, 9), 20, "3"),
        Work("zammad:8:3", "8", None, "no_contract", _utc(2026, 12, 1, 9), 30),
    )
    env = {
        "ENTITLEMENTS_DATABASE_URL": database_url,
        "ENTITLEMENTS_ERP_URL": BASE + "/",
        "ENTITLEMENTS_ERP_TOKEN": "secret-token",
    }

    def run(month: str = "2026-11", exit_code: int = 0) -> str:
        args = ["billing", "export", "--month", month, "--push"]
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code == exit_code, result.output
        return result.output

    return run


def _sent() -> list[list[dict]]:
    return [json.loads(call.request.body)["lines"] for call in responses.calls]


def _pushed(store) -> set[str]:
    with store.session() as session:
        return set(session.scalars(select(PushedLineRow.line_id)))


@responses.activate
def test_server_errors_are_retried_and_the_accepted_lines_recorded(push, store, waits):
    for status in (500, 500, 200):
        responses.post(LINES, status=status, json={})
    assert "pushed 2 line(s), 0 already pushed" in push()
    first, *_ = _sent()
    assert len(_sent()) == 3 and all(batch == first for batch in _sent())
    assert [line["ticket"] for line in first] == ["7", "7"]
    assert first[1]["surcharges"] == ["saturday", "night"] and first[1]["half_hours"] == 2
    assert responses.calls[0].request.headers["Authorization"] == "Bearer secret-token"
    assert len(waits) == 2
    assert _pushed(store) == {line["line_id"] for line in first}


@responses.activate
def test_rate_limiting_waits_as_long_as_retry_after_says(push, store, waits):
    responses.post(LINES, status=429, headers={"Retry-After": "7"}, json={})
    responses.post(LINES, status=200, json={})
    assert "pushed 2 line(s)" in push()
    assert waits == [7.0]
    assert len(_pushed(store)) == 2


@responses.activate
def test_a_rejected_batch_is_not_retried_records_nothing_and_fails(push, store, waits):
    responses.post(LINES, status=400, json={"error": "unknown contract LIC-1"})
    output = push(exit_code=1)
    assert "HTTP 400" in output and "unknown contract LIC-1" in output
    assert len(responses.calls) == 1 and waits == []
    assert _pushed(store) == set()


@responses.activate
def test_pushing_a_month_again_sends_nothing(push):
    responses.post(LINES, status=200, json={})
    push()
    assert "pushed 0 line(s), 2 already pushed" in push()
    assert len(responses.calls) == 1


@responses.activate
def test_lines_added_after_a_push_are_pushed_alone(push, store):
    responses.post(LINES, status=200, json={})
    push()
    _add(store, Work("zammad:9:4", "9", "LIC-2", "ui_building", _utc(2026, 11, 10, 9), 50))
    assert "pushed 1 line(s), 2 already pushed" in push()
    [_, later] = _sent()
    assert [(line["ticket"], line["half_hours"]) for line in later] == [("9", 2)]


@responses.activate
def test_each_batch_is_recorded_once_the_erp_accepted_it(push, store, tmp_path, monkeypatch):
    text = shipped_path().read_text().replace("batch_size: 100", "batch_size: 1")
    (tmp_path / "erp.yaml").write_text(text)  # the other mapping files: the shipped ones
    monkeypatch.setenv("ENTITLEMENTS_MAPPINGS_DIR", str(tmp_path))
    responses.post(LINES, status=200, json={})
    responses.post(LINES, status=422, json={"error": "closed period"})
    assert "1 line(s) pushed" in push(exit_code=1)
    [first, _] = _sent()
    assert _pushed(store) == {first[0]["line_id"]}
