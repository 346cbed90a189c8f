"""RT's REST 2 records and Scrip bodies into facts, and rt.yaml's checks. The record shapes are
those RT 5.0.3 answered to `GET /tickets?query=…&fields[Requestor]=CustomFields` here."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from marshmallow import ValidationError

from mappings import yamlfile
from mappings.rt import accounted_time, load_mapping, load_ticket, load_webhook, to_facts

FIXTURES = Path(__file__).parent / "fixtures" / "rt"
MAPPING = load_mapping()


def record(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "2",
        "type": "ticket",
        "Created": "2026-12-02T00:39:56Z",
        "LastUpdated": "2026-12-02T00:40:01Z",
        "Queue": {"Name": "Support", "id": "3", "type": "queue"},
        "Status": "new",
        "EffectiveId": "2",
        "Due": "1970-01-01T00:00:00Z",
        "TimeWorked": "0",
        "Requestor": [
            {
                "id": "bob@example.com",
                "EmailAddress": "bob@example.com",
                "CustomFields": [{"id": "4", "name": "Customer Number", "values": [" C-100 "]}],
            }
        ],
        "CustomFields": [
            {"id": "2", "name": "Entitlement Plan", "values": []},
            {"id": "7", "name": "Entitlement Category", "values": ["ui_building"]},
        ],
    }
    return {**base, **changes}


def test_a_ticket_record_becomes_facts_with_the_requestors_customer_number() -> None:
    ticket = load_ticket(record(), MAPPING)
    facts = to_facts(ticket, (), MAPPING)
    assert facts.helpdesk == "rt"
    assert facts.ticket_id == 2
    assert facts.created_at == datetime(2026, 12, 2, 0, 39, 56, tzinfo=UTC)
    assert facts.customer_number == "C-100"
    assert facts.support_queue is True
    assert facts.categories == frozenset({"ui_building"})
    assert facts.does_not_count is None
    assert ticket.due is None


def test_a_requestor_without_applied_user_fields_has_no_customer_number() -> None:
    # RT shows "CustomFields": "" for a user whose custom fields are not applied.
    requestor = {"id": "eve@example.com", "CustomFields": ""}
    facts = to_facts(load_ticket(record(Requestor=[requestor]), MAPPING), (), MAPPING)
    assert facts.customer_number is None


def test_the_first_requestor_with_a_number_gives_it() -> None:
    requestors = [
        {"id": "a@example.com", "CustomFields": [{"name": "Customer Number", "values": []}]},
        {"id": "b@example.com", "CustomFields": [{"name": "Customer Number", "values": ["C-7"]}]},
    ]
    facts = to_facts(load_ticket(record(Requestor=requestors), MAPPING), (), MAPPING)
    assert facts.customer_number == "C-7"


def test_a_ticket_outside_the_support_queues_does_not_count() -> None:
    ticket = load_ticket(record(Queue={"Name": "General", "id": "1"}), MAPPING)
    assert to_facts(ticket, (), MAPPING).support_queue is False


def test_a_category_value_that_is_no_category_code_is_ignored() -> None:
    fields = [{"name": "Entitlement Category", "values": ["something else"]}]
    ticket = load_ticket(record(CustomFields=fields), MAPPING)
    assert to_facts(ticket, (), MAPPING).categories == frozenset()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"EffectiveId": "1"}, "merged"),  # RT's search shows a merged ticket's survivor here
        ({"EffectiveId": {"id": "1", "type": "ticket"}}, "merged"),  # GET /ticket's shape
        ({"Status": "rejected"}, "spam"),
        ({"Status": "deleted"}, "marker"),
        ({"Status": "resolved"}, None),
    ],
)
def test_merged_rejected_and_deleted_tickets_do_not_count(
    changes: dict[str, object], reason: str | None
) -> None:
    ticket = load_ticket(record(**changes), MAPPING)
    assert to_facts(ticket, (), MAPPING).does_not_count == reason


def test_a_set_due_date_is_kept_as_rt_shows_it() -> None:
    ticket = load_ticket(record(Due="2026-12-05T17:00:00Z"), MAPPING)
    assert ticket.due == "2026-12-05T17:00:00Z"


def test_a_record_without_its_creation_time_names_the_field() -> None:
    raw = record()
    del raw["Created"]
    with pytest.raises(ValidationError) as refused:
        load_ticket(raw, MAPPING)
    assert "Created" in refused.value.messages


def test_time_taken_is_billable_minutes_and_a_negative_correction_is_not() -> None:
    work = accounted_time(2, {"id": "58", "TimeTaken": "15", "Created": "2026-12-02T00:28:57Z"})
    assert work is not None
    assert (work.accounting_id, work.minutes) == ("rt:2:58", 15)
    assert work.start == datetime(2026, 12, 2, 0, 28, 57, tzinfo=UTC)
    assert (
        accounted_time(2, {"id": "59", "TimeTaken": "-10", "Created": "2026-12-02T00:29Z"}) is None
    )


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_scrip_body_loads(fixture: Path) -> None:
    event_name = fixture.stem.split("__")[0]
    event = load_webhook(json.loads(fixture.read_text()))
    assert event.event == event_name
    assert event.ticket_id >= 1


def test_a_merge_names_the_merged_ticket_besides_the_survivor() -> None:
    event = load_webhook(json.loads((FIXTURES / "update__merge.json").read_text()))
    assert (event.ticket_id, event.merged) == (6, (8,))


def test_a_scrip_body_without_ticket_id_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError) as refused:
        load_webhook({"event": "update", "transactions": []})
    assert "ticket_id" in refused.value.messages


def test_the_shipped_mapping_names_the_issues_custom_fields() -> None:
    assert MAPPING.support_queues == frozenset({"Support"})
    assert MAPPING.customer_number_field == "Customer Number"
    assert MAPPING.ticket_fields == [
        "Entitlement Plan",
        "Entitlement Valid Until",
        "Entitlement Quota",
        "Entitlement Billable",
        "Entitlement Reasons",
        "Entitlement Category",
    ]


def test_a_mapping_with_an_unknown_key_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "rt.yaml"
    text = (Path(__file__).parent.parent / "mappings" / "rt.yaml").read_text()
    path.write_text(text + "support_queue: [Typo]\n")
    with pytest.raises(yamlfile.FileErrors) as refused:
        load_mapping(path)
    assert "support_queue" in str(refused.value)
