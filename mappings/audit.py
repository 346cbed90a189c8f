"""The audit trail's inputs (`adapter.decisions.DecisionInputs`), stored as JSON with each
decision and loaded back into domain objects: replay decides a ticket again from them, and the
admin API shows them."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, pre_dump, pre_load, validate

from adapter.contracts import Contract
from adapter.decisions import DecisionInputs
from adapter.engine import AccountedTime, TicketFacts
from adapter.policy import CATEGORIES, REQUESTERS
from adapter.quota import LedgerEntry, LedgerView


class TicketId(fields.Field):
    """A helpdesk's ticket id as the helpdesk gives it: an integer or a string."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationError("Not an integer or string.")
        return value


class SetField(fields.List):
    """A set as a sorted array (as the audit trail stores one): loads into a frozenset."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        items = super()._serialize(value, attr, obj, **kwargs)
        return None if items is None else sorted(items)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return frozenset(super()._deserialize(value, attr, data, **kwargs))


class AccountedTimeSchema(Schema):
    accounting_id = fields.String(required=True)
    start = fields.AwareDateTime(required=True)
    minutes = fields.Integer(required=True)
    activity = fields.String(load_default=None)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> AccountedTime:
        return AccountedTime(**data)


class TicketFactsSchema(Schema):
    helpdesk = fields.String(required=True)
    ticket_id = TicketId(required=True)
    created_at = fields.AwareDateTime(required=True)
    customer_number = fields.String(load_default=None)
    support_queue = fields.Boolean(load_default=True)
    categories = SetField(fields.String(validate=validate.OneOf(CATEGORIES)), load_default=list)
    service = fields.String(load_default=None)
    remote_sessions = fields.Integer(load_default=0, validate=validate.Range(min=0))
    requester = fields.String(load_default="partner", validate=validate.OneOf(REQUESTERS))
    trained = fields.Boolean(load_default=True)
    does_not_count = fields.String(load_default=None)
    on_call = fields.Boolean(load_default=False)
    time = fields.List(fields.Nested(AccountedTimeSchema), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> TicketFacts:
        return TicketFacts(**{**data, "time": tuple(data["time"])})


class ContractTermsSchema(Schema):
    id = fields.String(required=True)
    customer_number = fields.String(required=True)
    plan = fields.String(required=True)
    starts_on = fields.Date(required=True)
    first_end_on = fields.Date(required=True)
    renewal_months = fields.Integer(required=True)
    notice_months = fields.Integer(required=True)
    final_end_on = fields.Date(load_default=None)
    terminated = fields.Boolean(required=True)
    options = SetField(fields.String(), required=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Contract:
        return Contract(**data)


class LedgerCountSchema(Schema):
    key = fields.List(
        fields.String(),
        required=True,
        validate=validate.Length(equal=2),
        metadata={"description": "[contract id, period]"},
    )
    value = fields.Integer(required=True, metadata={"description": "Active entries."})


class LedgerEntrySchema(Schema):
    contract_id = fields.String(required=True)
    period = fields.String(required=True)
    ordinal = fields.Integer(required=True)
    released_reason = fields.String(load_default=None)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> LedgerEntry:
        return LedgerEntry(**data)


class LedgerSchema(Schema):
    """The ledger as the decision saw it: counts per contract and period, and the ticket's
    own entries."""

    used = fields.List(fields.Nested(LedgerCountSchema), required=True)
    entries = fields.List(fields.Nested(LedgerEntrySchema), required=True)

    @pre_load
    def no_counts(self, data: Any, **_: Any) -> Any:
        """Decisions without a contract were once stored with `used` as {} (issue 10): no
        counts. Read as such rather than rewritten, for the audit trail is append-only."""
        if isinstance(data, dict) and data.get("used") == {}:
            return {**data, "used": []}
        return data

    @pre_dump
    def pairs(self, ledger: LedgerView, **_: Any) -> dict[str, Any]:
        used = [{"key": list(key), "value": n} for key, n in ledger.used.items()]
        return {"used": used, "entries": ledger.entries}

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> LedgerView:
        used = {tuple(item["key"]): item["value"] for item in data["used"]}
        return LedgerView(used=used, entries=tuple(data["entries"]))


class DecisionInputsSchema(Schema):
    """What a decision was made from."""

    facts = fields.Nested(TicketFactsSchema, required=True)
    contracts = fields.List(fields.Nested(ContractTermsSchema), required=True)
    ledger = fields.Nested(LedgerSchema, required=True)
    now = fields.AwareDateTime(required=True, metadata={"description": "When it was decided."})
    policy = fields.String(required=True, metadata={"description": "Digest of the policy file."})
    inbox = fields.Integer(
        load_default=None, metadata={"description": "The inbox row that asked for it."}
    )
    replay = fields.String(
        load_default=None,
        validate=validate.OneOf(("api", "cli")),
        metadata={"description": "Or the replay that did."},
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> DecisionInputs:
        return DecisionInputs(**{**data, "contracts": tuple(data["contracts"])})


def load_decision_inputs(stored: dict[str, Any]) -> DecisionInputs:
    """A decision's stored inputs as domain objects; raises ValidationError."""
    return DecisionInputsSchema().load(stored)
