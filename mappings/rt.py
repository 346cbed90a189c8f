"""Request Tracker: REST 2 records and Scrip webhooks into domain facts, and `rt.yaml`.

RT has no organisations: the customer number is a custom field of the ticket's requestor.
Record schemas ignore what they do not know; the mapping file's schema is strict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate

from adapter.engine import AccountedTime, TicketFacts
from adapter.policy import CATEGORIES, LANGUAGES
from mappings import yamlfile

HELPDESK = "rt"
WRITTEN = ("plan", "valid_until", "quota", "billable", "reasons")
# What a ticket search asks for: everything a decision reads, in one call (REST 2 expands the
# requestors' custom fields only in searches: RT/REST2/Resource/Tickets.pm, expand_field).
TICKET_FIELDS = {
    "fields": "Created,LastUpdated,Queue,Status,Requestor,CustomFields,EffectiveId,TimeWorked,Due",
    "fields[Queue]": "Name",
    "fields[Requestor]": "CustomFields,EmailAddress",
}
NO_DUE = "1970-01-01T00:00:00Z"  # how RT shows an unset date


# --- RT records -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RtTicket:
    id: int
    created_at: datetime
    updated_at: datetime
    queue: str
    status: str
    merged_into: int | None  # RT's EffectiveId, when it is another ticket
    customer_number: str | None
    custom_fields: Mapping[str, str | None]  # name: the first value
    due: str | None  # as RT shows it, None when unset
    time_worked: int  # minutes


class RtTime(fields.DateTime):
    """RT's `2026-12-02T00:39:56Z`, always UTC."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _first(values: Any) -> str | None:
    return str(values[0]) if isinstance(values, list) and values and values[0] is not None else None


def custom_fields(records: Any) -> dict[str, str | None]:
    """REST 2's `[{"name": ..., "values": [...]}]` as name: first value. A user whose custom
    fields are not applied shows `""` instead of a list."""
    if not isinstance(records, list):
        return {}
    return {
        str(r["name"]): _first(r.get("values"))
        for r in records
        if isinstance(r, dict) and r.get("name")
    }


class _Ref(fields.Field):
    """A REST 2 reference, `{"id": "3", ...}` or a bare id, as the text of its id."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if isinstance(value, dict):
            value = value.get("id")
        if value in (None, ""):
            raise ValidationError("missing id")
        return str(value)


class TicketSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.Integer(required=True, strict=False)
    Created = RtTime(required=True)
    LastUpdated = RtTime(required=True)
    Queue = fields.Raw(required=True)
    Status = fields.String(required=True)
    EffectiveId = _Ref(load_default=None)
    Requestor = fields.List(fields.Dict(), load_default=list)
    CustomFields = fields.Raw(load_default=list)
    Due = fields.String(load_default=None, allow_none=True)
    TimeWorked = fields.Integer(load_default=0, strict=False)

    def __init__(self, customer_number_field: str) -> None:
        super().__init__()
        self.customer_number_field = customer_number_field

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RtTicket:
        queue = data["Queue"]
        effective = int(data["EffectiveId"]) if data["EffectiveId"] else data["id"]
        return RtTicket(
            id=data["id"],
            created_at=data["Created"],
            updated_at=data["LastUpdated"],
            queue=str(queue.get("Name") or queue.get("id"))
            if isinstance(queue, dict)
            else str(queue),
            status=data["Status"],
            merged_into=effective if effective != data["id"] else None,
            customer_number=next(
                (
                    number.strip()
                    for requestor in data["Requestor"]
                    if (
                        number := custom_fields(requestor.get("CustomFields")).get(
                            self.customer_number_field
                        )
                    )
                    and number.strip()
                ),
                None,
            ),
            custom_fields=custom_fields(data["CustomFields"]),
            due=None if data["Due"] in (None, "", NO_DUE) else data["Due"],
            time_worked=data["TimeWorked"],
        )


def load_ticket(raw: Any, mapping: RtMapping) -> RtTicket:
    """One ticket of a REST 2 search or read; raises ValidationError naming the fields."""
    return TicketSchema(mapping.customer_number_field).load(raw)


def accounted_time(ticket_id: int, transaction: Mapping[str, Any]) -> AccountedTime | None:
    """A transaction's TimeTaken (minutes) as work. RT records a correction of TimeWorked as a
    transaction with the difference, which may be negative: that is not billable work, so it
    is left out rather than netted against other work."""
    try:
        minutes = int(transaction.get("TimeTaken") or 0)
    except (TypeError, ValueError):
        return None
    if minutes <= 0:
        return None
    start = datetime.fromisoformat(str(transaction["Created"]).replace("Z", "+00:00"))
    return AccountedTime(
        accounting_id=f"{HELPDESK}:{ticket_id}:{transaction['id']}",
        start=start if start.tzinfo else start.replace(tzinfo=UTC),
        minutes=minutes,
        activity=str(transaction.get("Type") or "") or None,
    )


# --- webhook --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RtEvent:
    """What the Scrip posts: the ticket, and the tickets merged into it by this change (RT
    posts a merge for the surviving ticket only; the merged one is in its transactions)."""

    event: str
    ticket_id: int
    actor: str | None
    merged: tuple[int, ...]
    transactions: tuple[Mapping[str, Any], ...]


class _TransactionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.Integer(required=True, strict=True)
    type = fields.String(required=True)
    field = fields.String(load_default=None, allow_none=True)
    object_id = fields.Integer(load_default=None, allow_none=True, strict=True)
    creator = fields.String(load_default=None, allow_none=True)


class WebhookSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    event = fields.String(required=True, validate=validate.OneOf(("create", "update")))
    ticket_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    actor = fields.String(load_default=None, allow_none=True)
    transactions = fields.List(fields.Nested(_TransactionSchema), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RtEvent:
        merged = {
            t["object_id"]
            for t in data["transactions"]
            if t["type"] == "AddLink"
            and t["field"] == "MergedInto"
            and t["object_id"] not in (None, data["ticket_id"])
        }
        return RtEvent(
            data["event"],
            data["ticket_id"],
            data["actor"],
            tuple(sorted(merged)),
            tuple(data["transactions"]),
        )


def load_webhook(data: Any) -> RtEvent:
    return WebhookSchema().load(data)


# --- rt.yaml --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RtWriteBack:
    custom_fields: Mapping[str, str]  # plan, valid_until, ...: the custom field's name
    due: bool
    comment: bool


@dataclass(frozen=True)
class RtMapping:
    language: str | None
    support_queues: frozenset[str]
    customer_number_field: str
    category_field: str | None
    categories: frozenset[str]
    does_not_count: Mapping[str, frozenset[str]]  # reason: statuses
    write_back: RtWriteBack

    @property
    def ticket_fields(self) -> list[str]:
        """The ticket custom fields setup-rt creates: those written, and the agents' one."""
        names = list(self.write_back.custom_fields.values())
        return [*names, self.category_field] if self.category_field else names


class _Strict(Schema):
    class Meta:
        unknown = RAISE


_name = fields.String(validate=validate.Length(min=1, max=200))


class _WriteBackSchema(_Strict):
    custom_fields = fields.Dict(
        keys=fields.String(validate=validate.OneOf(WRITTEN)), values=_name, required=True
    )
    due = fields.Boolean(load_default=True)
    comment = fields.Boolean(load_default=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RtWriteBack:
        return RtWriteBack(**data)


class RtMappingSchema(_Strict):
    version = fields.Integer(required=True, validate=validate.Equal(1))
    language = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LANGUAGES))
    support_queues = fields.List(_name, required=True, validate=validate.Length(min=1))
    customer_number_field = fields.String(
        load_default="Customer Number", validate=validate.Length(min=1, max=200)
    )
    category_field = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=200)
    )
    categories = fields.List(fields.String(validate=validate.OneOf(CATEGORIES)), load_default=list)
    does_not_count = fields.Dict(
        keys=fields.String(validate=validate.OneOf(("spam", "marker"))),
        values=fields.List(_name),
        load_default=dict,
    )
    write_back = fields.Nested(_WriteBackSchema, required=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RtMapping:
        return RtMapping(
            language=data["language"],
            support_queues=frozenset(data["support_queues"]),
            customer_number_field=data["customer_number_field"],
            category_field=data["category_field"],
            categories=frozenset(data["categories"]),
            does_not_count={k: frozenset(v) for k, v in data["does_not_count"].items()},
            write_back=data["write_back"],
        )


def shipped_path() -> Path:
    return Path(str(resources.files("mappings") / "rt.yaml"))


def load_mapping(path: Path | None = None) -> RtMapping:
    """The mapping in `path` (default: the shipped rt.yaml); raises yamlfile.FileErrors."""
    mapping, _ = yamlfile.load(path or shipped_path(), RtMappingSchema())
    return mapping


# --- facts ----------------------------------------------------------------------------------


def to_facts(ticket: RtTicket, time: tuple[AccountedTime, ...], mapping: RtMapping) -> TicketFacts:
    """An RT ticket in domain terms, as the admin's mapping says. A ticket merged into
    another does not count; the other counts (once) for both."""
    category = ticket.custom_fields.get(mapping.category_field) if mapping.category_field else None
    does_not_count = (
        "merged"
        if ticket.merged_into
        else next(
            (
                reason
                for reason, statuses in mapping.does_not_count.items()
                if ticket.status in statuses
            ),
            None,
        )
    )
    return TicketFacts(
        helpdesk=HELPDESK,
        ticket_id=ticket.id,
        created_at=ticket.created_at,
        customer_number=ticket.customer_number,
        support_queue=ticket.queue in mapping.support_queues,
        categories=frozenset({category} & mapping.categories) if category else frozenset(),
        does_not_count=does_not_count,
        time=time,
    )
