"""Zammad: webhook payloads and REST records into domain facts, and `zammad.yaml`.

Payload schemas ignore what they do not know (Zammad's payload is large and grows); custom
attributes of tickets, users and organisations are kept as `attributes` because the admin's
mapping may name any of them. The mapping file's schema is strict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from adapter.calendar import BusinessCalendar
from adapter.engine import AccountedTime, TicketFacts
from adapter.policy import CATEGORIES, FLAG_CODES, LANGUAGES, REQUESTERS, WARNING_CODES
from mappings import yamlfile

HELPDESK = "zammad"
Scalar = str | int | float | bool | None

# --- Zammad records -------------------------------------------------------------------------


@dataclass(frozen=True)
class ZammadUser:
    id: int
    login: str | None = None
    organization_id: int | None = None
    roles: frozenset[str] = frozenset()
    attributes: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True)
class ZammadOrganization:
    id: int
    name: str | None = None
    attributes: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True)
class ZammadArticle:
    id: int
    type: str | None = None
    internal: bool = False


@dataclass(frozen=True)
class ZammadTicket:
    id: int
    created_at: datetime
    updated_at: datetime
    number: str | None = None
    title: str | None = None
    group: str | None = None
    state: str | None = None
    priority: str | None = None
    customer_id: int | None = None
    organization_id: int | None = None
    updated_by_id: int | None = None
    attributes: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True)
class ZammadEvent:
    """What one webhook delivery says: the ticket as Zammad serialised it at send time."""

    ticket: ZammadTicket
    organization: ZammadOrganization | None
    customer: ZammadUser | None
    article: ZammadArticle | None


@dataclass(frozen=True)
class TicketSnapshot:
    """Everything the mapping looks at. Tags, articles and time accountings are not in the
    webhook payload: they come from the REST API (None: not known)."""

    ticket: ZammadTicket
    organization: ZammadOrganization | None
    customer: ZammadUser | None
    tags: frozenset[str] = frozenset()
    article_types: tuple[str, ...] = ()
    time_accounting_type_ids: tuple[int, ...] = ()
    time: tuple[AccountedTime, ...] = ()


class _Record(Schema):
    """Zammad records: unknown keys ignored, scalar extras kept as custom attributes."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def keep_attributes(self, data: Any, **_: Any) -> Any:
        if not isinstance(data, dict):
            return data
        extras = {
            k: v
            for k, v in data.items()
            if k not in self.fields and isinstance(v, str | int | float | bool | type(None))
        }
        return {**data, "attributes": extras}

    attributes = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))


def _name(value: Any) -> Any:
    """An association is a nested object in webhooks and a name with `?expand=true`."""
    return value.get("name") if isinstance(value, dict) else value


class UserSchema(_Record):
    id = fields.Integer(required=True)
    login = fields.String(load_default=None, allow_none=True)
    organization_id = fields.Integer(load_default=None, allow_none=True)
    roles = fields.List(fields.String(), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ZammadUser:
        return ZammadUser(**{**data, "roles": frozenset(data["roles"])})


class OrganizationSchema(_Record):
    id = fields.Integer(required=True)
    name = fields.String(load_default=None, allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ZammadOrganization:
        return ZammadOrganization(**data)


class ArticleSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.Integer(required=True)
    type = fields.String(load_default=None, allow_none=True)
    internal = fields.Boolean(load_default=False)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ZammadArticle:
        return ZammadArticle(**data)


# Ruby's Time#to_s, as a custom payload renders `#{ticket.updated_at}`: "2025-01-01 10:00:00 UTC"
# (app/jobs/trigger_webhook_job/custom_payload/parser.rb inserts time values with `to_s`).
RUBY_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) (UTC|[+-]\d{2})(\d{2})?")


class ZammadTime(fields.AwareDateTime):
    """A time with its offset, in ISO 8601 (the default payload, the API) or as Ruby's to_s."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        match = RUBY_TIME.fullmatch(value.strip()) if isinstance(value, str) else None
        if match:
            day, clock, hours, minutes = match.groups()
            offset = "+00:00" if hours == "UTC" else f"{hours}:{minutes or '00'}"
            value = f"{day}T{clock}{offset}"
        return super()._deserialize(value, attr, data, **kwargs)


TICKET_IDS = validate.Range(min=1, max=2**63 - 1)
# A ticket's link, as `#{notification.link}` renders it in the pre-defined (Slack, Mattermost,
# Teams, …) payloads, which carry no ticket id (app/models/webhook/pre_defined/*.rb).
TICKET_LINK = re.compile(r"#ticket/zoom/(\d{1,19})\b")


def ticket_reference(payload: Any) -> int | None:
    """The ticket a webhook names, whatever the shape of its payload: `ticket.id` (the default
    payload; a custom one renders `#{ticket.id}` as a string), a top-level `ticket_id`, or the
    ticket's link anywhere in it. None: it names no ticket."""
    if isinstance(payload, dict):
        ticket = payload.get("ticket")
        for candidate in (ticket.get("id") if isinstance(ticket, dict) else None,
                          payload.get("ticket_id")):  # fmt: skip
            if isinstance(candidate, str) and candidate.strip().isdigit():
                candidate = int(candidate.strip())
            if isinstance(candidate, int) and not isinstance(candidate, bool):
                return candidate if 1 <= candidate <= 2**63 - 1 else None
    for text in _strings(payload):
        if match := TICKET_LINK.search(text):
            number = int(match.group(1))
            return number if 1 <= number <= 2**63 - 1 else None
    return None


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class TicketSchema(_Record):
    id = fields.Integer(required=True, validate=TICKET_IDS)
    created_at = ZammadTime(required=True, default_timezone=None)
    updated_at = ZammadTime(required=True, default_timezone=None)
    number = fields.String(load_default=None, allow_none=True)
    title = fields.String(load_default=None, allow_none=True)
    group = fields.String(load_default=None, allow_none=True)
    state = fields.String(load_default=None, allow_none=True)
    priority = fields.String(load_default=None, allow_none=True)
    customer_id = fields.Integer(load_default=None, allow_none=True)
    organization_id = fields.Integer(load_default=None, allow_none=True)
    updated_by_id = fields.Integer(load_default=None, allow_none=True)

    @pre_load
    def names(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict):
            data = {**data, **{k: _name(data.get(k)) for k in ("group", "state", "priority")}}
        return data

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ZammadTicket:
        return ZammadTicket(**data)


class WebhookSchema(Schema):
    """Zammad's default webhook payload: `{"ticket": {...}, "article": {...}}`; `article` is
    `{}` when no article fired the trigger, and a missing association is `{}` too."""

    class Meta:
        unknown = EXCLUDE

    ticket = fields.Dict(required=True)
    article = fields.Dict(load_default=dict)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ZammadEvent:
        raw = data["ticket"]
        errors: dict[str, Any] = {}
        ticket = _load(_TICKET, raw, "ticket", errors)
        organization = customer = article = None
        # Nested objects in webhooks; names (REST with expand, reconcile) carry nothing more.
        if raw.get("organization") and not isinstance(raw["organization"], str):
            organization = _load(_ORGANIZATION, raw["organization"], "ticket.organization", errors)
        if raw.get("customer") and not isinstance(raw["customer"], str):
            customer = _load(_USER, raw["customer"], "ticket.customer", errors)
        if data["article"]:
            article = _load(_ARTICLE, data["article"], "article", errors)
        if errors:
            raise ValidationError(errors)
        return ZammadEvent(ticket, organization, customer, article)


def _load(schema: Schema, raw: Any, where: str, errors: dict[str, Any]) -> Any:
    """Load a nested record, collecting errors under dotted field names (`ticket.id`)."""
    if not isinstance(raw, dict):
        errors[where] = ["must be an object or a name"]
        return None
    try:
        return schema.load(raw)
    except ValidationError as e:
        for path, message in yamlfile.flatten_messages(e.messages):
            errors.setdefault(".".join((where, *map(str, path))), []).append(message)
        return None


# Schemas hold no per-load state: one instance each (building one costs more than a load).
_TICKET, _ORGANIZATION, _USER, _ARTICLE = (
    TicketSchema(),
    OrganizationSchema(),
    UserSchema(),
    ArticleSchema(),
)
_WEBHOOK = WebhookSchema()


def load_webhook(data: Any) -> ZammadEvent:
    """A webhook payload; raises ValidationError naming each wrong field (`ticket.id`)."""
    return _WEBHOOK.load(data)


def load_ticket(raw: Any) -> ZammadTicket:
    return _TICKET.load(raw)


def load_organization(raw: Any) -> ZammadOrganization:
    return _ORGANIZATION.load(raw)


def load_user(raw: Any) -> ZammadUser:
    return _USER.load(raw)


# --- zammad.yaml ----------------------------------------------------------------------------

Values = Mapping[str, frozenset[str]]


def _text(value: Scalar) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Rule:
    """Recognises something on a ticket: matches when any condition holds."""

    ticket: Values = field(default_factory=dict)
    user: Values = field(default_factory=dict)
    organization: Values = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    priorities: frozenset[str] = frozenset()
    states: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()

    def matches(self, s: TicketSnapshot) -> bool:
        t = s.ticket
        return bool(
            self.tags & s.tags
            or (t.group in self.groups)
            or (t.priority in self.priorities)
            or (t.state in self.states)
            or (s.customer and self.roles & s.customer.roles)
            or _has(self.ticket, t.attributes)
            or (s.customer and _has(self.user, s.customer.attributes))
            or (s.organization and _has(self.organization, s.organization.attributes))
        )

    def holds_for(self, record: str, name: str, value: Scalar) -> bool:
        """Whether this rule's condition on attribute `name` of a `record` ("ticket", "user"
        or "organization") holds for `value`."""
        return _has(getattr(self, record), {name: value})


def _has(wanted: Values, attributes: Mapping[str, Scalar]) -> bool:
    return any(
        name in attributes and _text(attributes[name]) in values for name, values in wanted.items()
    )


@dataclass(frozen=True)
class WriteBack:
    ticket: Mapping[str, str]
    organization: Mapping[str, str]
    tags: Mapping[str, str]
    note: bool


@dataclass(frozen=True)
class ZammadMapping:
    language: str | None  # None: the LANGUAGE setting
    customer_number_organization_attribute: str | None
    customer_number_user_attribute: str | None
    support_groups: frozenset[str]
    categories: Mapping[str, Rule]
    after_hours_priorities: frozenset[str]
    service_attribute: str | None
    service_tags: Mapping[str, str]
    remote_article_types: frozenset[str]
    remote_time_accounting_type_ids: frozenset[int]
    remote_attribute: str | None
    remote_tags: frozenset[str]
    does_not_count: Mapping[str, Rule]
    requesters: Mapping[str, Rule]
    default_requester: str
    untrained: Rule
    write_back: WriteBack


class _Strict(Schema):
    class Meta:
        unknown = RAISE


_names = fields.List(fields.String(), load_default=list)


class _ValuesField(fields.Dict):
    def __init__(self) -> None:
        super().__init__(
            keys=fields.String(),
            values=fields.List(fields.Raw(allow_none=True)),
            load_default=dict,
        )

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Values:
        loaded = super()._deserialize(value, attr, data, **kwargs)
        return {k: frozenset(_text(v) for v in vs) for k, vs in loaded.items()}


class RuleSchema(_Strict):
    ticket = _ValuesField()
    user = _ValuesField()
    organization = _ValuesField()
    tags = _names
    groups = _names
    priorities = _names
    states = _names
    roles = _names

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Rule:
        return Rule(**{k: v if isinstance(v, dict) else frozenset(v) for k, v in data.items()})


# Names Zammad's object manager refuses (`check_name` in Zammad's
# app/models/object_manager/attribute.rb): the union over the versions we support, so that a
# mapping that passes here passes on each. 6.x RESERVED_NAMES, plus `preferences` and `data`
# (added in 7.x), plus `article` for tickets only (RESERVED_NAMES_PER_MODEL).
RESERVED_ATTRIBUTE_NAMES = frozenset({
    "destroy", "true", "false", "integer", "select", "drop", "create", "alter", "index", "table",
    "varchar", "blob", "date", "datetime", "timestamp", "url", "icon", "initials", "avatar",
    "permission", "validate", "subscribe", "unsubscribe", "translate", "search", "_type", "_doc",
    "_id", "id", "action", "scope", "constructor", "preferences", "data",
})  # fmt: skip
RESERVED_ATTRIBUTE_NAMES_PER_OBJECT = {"Ticket": frozenset({"article"})}


def attribute_name_problem(name: str, object_name: str) -> str | None:
    """Why Zammad would refuse `name` as an attribute of `object_name`; None: it would not."""
    if not re.fullmatch(r"[a-z0-9_]+", name) or not re.search(r"[a-z]", name):
        return (
            "Zammad attribute names are lower_snake_case: lowercase letters, digits and _, "
            "at least one letter"
        )
    if re.search(r".+?_(id|ids)$", name):  # Zammad's own pattern: `_id` alone is reserved
        return "Zammad refuses attribute names ending in _id or _ids"
    if name in RESERVED_ATTRIBUTE_NAMES | RESERVED_ATTRIBUTE_NAMES_PER_OBJECT.get(
        object_name, frozenset()
    ):
        return f"{name!r} is a reserved word in Zammad ({object_name} attributes)"
    return None


class AttributeName(validate.Validator):
    """A custom attribute name of `object_name` that Zammad accepts."""

    def __init__(self, object_name: str) -> None:
        self.object_name = object_name

    def __call__(self, value: str) -> str:
        problem = attribute_name_problem(value, self.object_name)
        if problem:
            raise ValidationError(problem)
        return value


def _attribute(object_name: str) -> fields.String:
    return fields.String(load_default=None, allow_none=True, validate=AttributeName(object_name))


class CustomerNumberSchema(_Strict):
    organization_attribute = _attribute("Organization")
    user_attribute = _attribute("User")

    @validates_schema
    def one(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("organization_attribute") or data.get("user_attribute")):
            raise ValidationError("name an organization_attribute or a user_attribute")


class ProjectServicesSchema(_Strict):
    ticket_attribute = _attribute("Ticket")
    tags = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


class RemoteSessionsSchema(_Strict):
    article_types = _names
    time_accounting_type_ids = fields.List(fields.Integer(), load_default=list)
    ticket_attribute = _attribute("Ticket")
    tags = _names


class DoesNotCountSchema(_Strict):
    merged = fields.Nested(RuleSchema, load_default=Rule)
    spam = fields.Nested(RuleSchema, load_default=Rule)
    marker = fields.Nested(RuleSchema, load_default=Rule)


class RequestersSchema(_Strict):
    power_user = fields.Nested(RuleSchema, load_default=Rule)
    end_customer = fields.Nested(RuleSchema, load_default=Rule)
    partner = fields.Nested(RuleSchema, load_default=Rule)
    default = fields.String(required=True, validate=validate.OneOf(REQUESTERS))


TICKET_FIELDS = (
    "plan",
    "valid_until",
    "quota",
    "reaction_due",
    "billable",
    "reasons",
    "billable_time",
)
ORGANIZATION_FIELDS = ("customer_number", "plan", "valid_until", "notice_by")


def _attribute_map(keys: tuple[str, ...], object_name: str) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf(keys)),
        values=fields.String(validate=AttributeName(object_name)),
        required=True,
    )


class WriteBackSchema(_Strict):
    ticket = _attribute_map(TICKET_FIELDS, "Ticket")
    organization = _attribute_map(ORGANIZATION_FIELDS, "Organization")
    tags = fields.Dict(
        keys=fields.String(validate=validate.OneOf(("billable", *FLAG_CODES, *WARNING_CODES))),
        values=fields.String(validate=validate.Length(min=1)),
        load_default=dict,
    )
    note = fields.Boolean(load_default=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> WriteBack:
        return WriteBack(**data)


class ZammadMappingSchema(_Strict):
    version = fields.Integer(required=True, validate=validate.Equal(1))
    language = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LANGUAGES))
    customer_number = fields.Nested(CustomerNumberSchema, required=True)
    support_groups = _names
    categories = fields.Dict(
        keys=fields.String(validate=validate.OneOf(CATEGORIES)),
        values=fields.Nested(RuleSchema),
        load_default=dict,
    )
    after_hours_priorities = _names
    project_services = fields.Nested(
        ProjectServicesSchema, load_default=lambda: {"ticket_attribute": None, "tags": {}}
    )
    remote_sessions = fields.Nested(RemoteSessionsSchema, required=True)
    does_not_count = fields.Nested(DoesNotCountSchema, required=True)
    requesters = fields.Nested(RequestersSchema, required=True)
    untrained = fields.Nested(RuleSchema, load_default=Rule)
    write_back = fields.Nested(WriteBackSchema, required=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ZammadMapping:
        remote, services, requesters = (
            data["remote_sessions"],
            data["project_services"],
            data["requesters"],
        )
        return ZammadMapping(
            language=data["language"],
            customer_number_organization_attribute=data["customer_number"][
                "organization_attribute"
            ],
            customer_number_user_attribute=data["customer_number"]["user_attribute"],
            support_groups=frozenset(data["support_groups"]),
            categories=data["categories"],
            after_hours_priorities=frozenset(data["after_hours_priorities"]),
            service_attribute=services["ticket_attribute"],
            service_tags=services["tags"],
            remote_article_types=frozenset(remote["article_types"]),
            remote_time_accounting_type_ids=frozenset(remote["time_accounting_type_ids"]),
            remote_attribute=remote["ticket_attribute"],
            remote_tags=frozenset(remote["tags"]),
            does_not_count=data["does_not_count"],
            requesters={k: v for k, v in requesters.items() if k != "default"},
            default_requester=requesters["default"],
            untrained=data["untrained"],
            write_back=data["write_back"],
        )


def shipped_path() -> Path:
    return Path(str(resources.files("mappings") / "zammad.yaml"))


def load_mapping(path: Path | None = None) -> ZammadMapping:
    """The mapping in `path` (default: the shipped zammad.yaml); raises yamlfile.FileErrors."""
    mapping, _ = yamlfile.load(path or shipped_path(), ZammadMappingSchema())
    return mapping


# --- facts ----------------------------------------------------------------------------------


def customer_number(s: TicketSnapshot, mapping: ZammadMapping) -> str | None:
    sources = (
        (s.organization, mapping.customer_number_organization_attribute),
        (s.customer, mapping.customer_number_user_attribute),
    )
    for record, attribute in sources:
        if record is not None and attribute:
            value = record.attributes.get(attribute)
            if value not in (None, ""):
                return str(value).strip()
    return None


def to_facts(s: TicketSnapshot, mapping: ZammadMapping, calendar: BusinessCalendar) -> TicketFacts:
    """A Zammad ticket in domain terms, as the admin's mapping says."""
    t = s.ticket
    categories = {name for name, rule in mapping.categories.items() if rule.matches(s)}
    service = _service(s, mapping)
    if service:
        categories.add("project_service")
    if t.priority in mapping.after_hours_priorities and not calendar.is_open(t.created_at):
        categories.add("after_hours")
    return TicketFacts(
        helpdesk=HELPDESK,
        ticket_id=t.id,
        created_at=t.created_at,
        customer_number=customer_number(s, mapping),
        support_queue=not mapping.support_groups or t.group in mapping.support_groups,
        categories=frozenset(categories),
        service=service,
        remote_sessions=_remote_sessions(s, mapping),
        requester=next(
            (kind for kind, rule in mapping.requesters.items() if rule.matches(s)),
            mapping.default_requester,
        ),
        trained=not mapping.untrained.matches(s),
        does_not_count=next(
            (reason for reason, rule in mapping.does_not_count.items() if rule.matches(s)), None
        ),
        time=s.time,
    )


def accounted_time(ticket_id: int, record: Mapping[str, Any]) -> AccountedTime | None:
    """A Zammad time accounting as work. Zammad's time_unit has no unit: it is taken as minutes
    (rounded to whole ones). Zammad keeps no start time, so the time counts from when it was
    accounted. None: nothing to bill (zero or negative time)."""
    minutes = int(Decimal(str(record.get("time_unit") or 0)).quantize(Decimal(1), ROUND_HALF_UP))
    if minutes <= 0:
        return None
    start = datetime.fromisoformat(str(record["created_at"]).replace("Z", "+00:00"))
    type_id = record.get("type_id")
    return AccountedTime(
        accounting_id=f"{HELPDESK}:{ticket_id}:{record['id']}",
        start=start if start.tzinfo else start.replace(tzinfo=UTC),
        minutes=minutes,
        activity=str(type_id) if type_id else None,
    )


def _service(s: TicketSnapshot, mapping: ZammadMapping) -> str | None:
    if mapping.service_attribute:
        value = s.ticket.attributes.get(mapping.service_attribute)
        if value not in (None, ""):
            return str(value)
    return next((name for tag, name in sorted(mapping.service_tags.items()) if tag in s.tags), None)


def _remote_sessions(s: TicketSnapshot, mapping: ZammadMapping) -> int:
    counts: Iterable[int] = (
        sum(1 for kind in s.article_types if kind in mapping.remote_article_types)
        + sum(
            1
            for kind in s.time_accounting_type_ids
            if kind in mapping.remote_time_accounting_type_ids
        ),
        _int(s.ticket.attributes.get(mapping.remote_attribute)) if mapping.remote_attribute else 0,
        1 if mapping.remote_tags & s.tags else 0,
    )
    return max(counts)


def _int(value: Scalar) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0
