"""`entitlements setup-zammad`: the custom fields, webhook and triggers the adapter needs.

Idempotent: what exists (by object and name) is left alone. Zammad stages new attributes until
their migrations are executed, and then must restart before agents see them. What exists is
also checked: an attribute default that would flag every user or ticket is warned about.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from adapter.errors import ApiError
from adapter.policy import Policy
from adapter.settings import Settings
from connectors.zammad.client import ZammadClient
from connectors.zammad.settings import zammad_settings
from mappings.plans import load_policy
from mappings.yamlfile import FileErrors
from mappings.zammad import Rule, ZammadMapping, load_mapping

PLANS = {"commissioning": "Inbetriebnahme Support", "basic": "Basic Support", "pro": "Pro Support"}
WEBHOOK_NAME = "Entitlements"
# Trigger name -> (the `ticket.action` it fires on, whether it carries the loop guard).
# Zammad compares `ticket.action` with `==` against one string (lib/selector/sql.rb), and a
# merge is never an `update`: the merged ticket gets one `update.merged_into` event (with a
# public "merged" note and its state change), the target one `update.received_merge` with no
# changes (app/models/ticket.rb merge_to, lib/transaction_dispatcher.rb). So one trigger per
# action, which needs no expert mode. The guard "updated by is not <integration user>" belongs
# on create and update only: the adapter never merges, and on the target Zammad only touches
# the ticket, so its updated_by stays the last writer, often the adapter itself.
TRIGGERS = {
    "entitlements: ticket created": ("create", True),
    "entitlements: ticket updated": ("update", True),
    "entitlements: ticket merged": ("update.merged_into", False),
    "entitlements: ticket received merge": ("update.received_merge", False),
}

AGENT_READS = {"edit": {"ticket.agent": {"shown": True, "required": False}}}
AGENT_EDITS = {
    "create_middle": {"ticket.agent": {"shown": True, "required": False}},
    "edit": {"ticket.agent": {"shown": True, "required": False}},
}
ADMIN_EDITS = {"edit": {"admin.organization": {"shown": True, "required": False}}}


def _input(maxlength: int = 120) -> tuple[str, dict[str, Any]]:
    return "input", {"type": "text", "maxlength": maxlength, "default": ""}


def _select(options: dict[str, str]) -> tuple[str, dict[str, Any]]:
    return "select", {"default": "", "options": options, "nulloption": True}


def _boolean(default: bool | None = False) -> tuple[str, dict[str, Any]]:
    return "boolean", {"default": default, "options": {"true": "yes", "false": "no"}}


# Written by the adapter: what agents see.
TICKET_FIELDS = {
    "plan": ("Support plan", _select(PLANS)),
    "valid_until": ("Contract valid until", ("date", {"diff": None})),
    "quota": ("Tickets used", _input(60)),
    "reaction_due": ("Reaction due", ("datetime", {"future": True, "past": True, "diff": None})),
    "billable": ("Billable", _boolean()),
    "reasons": ("Billable because", ("textarea", {"maxlength": 4000, "rows": 4, "default": ""})),
    "billable_time": ("Billable time", _input(60)),
}
ORGANIZATION_FIELDS = {
    "customer_number": ("Customer number", _input(64)),
    "plan": ("Support plan", _select(PLANS)),
    "valid_until": ("Support valid until", ("date", {"diff": None})),
    # No `diff`: new organisations get no date (build_value_date in
    # app/models/object_manager/attribute/set_defaults.rb returns nil without one).
    "notice_by": ("Support notice by", ("date", {"diff": None})),
}
# Read by the shipped zammad.yaml: what agents and admins set.
CATEGORY_OPTIONS = {
    "ui_building": "Building user interfaces",
    "usage_question": "Usage question",
    "third_party_project": "Project by a third party",
    "after_hours": "Outside support hours",
    "project_service": "Project service",
}
INPUT_FIELDS: list[tuple[str, str, str, tuple[str, dict[str, Any]], dict[str, Any]]] = [
    ("Ticket", "entitlement_category", "Request category", _select(CATEGORY_OPTIONS), AGENT_EDITS),
    ("Ticket", "entitlement_service", "Project service", _input(), AGENT_EDITS),
    (
        "Ticket",
        "entitlement_remote_sessions",
        "Remote sessions",
        ("integer", {"min": 0, "max": 99, "default": None}),
        AGENT_EDITS,
    ),
    (
        "Organization",
        "entitlement_customer_type",
        "Customer type",
        _select({"partner": "Partner", "end_customer": "End customer"}),
        ADMIN_EDITS,
    ),
    (
        "User",
        "entitlement_requester",
        "Requester role",
        _select({"power_user": "Power user"}),
        {"edit": {"admin.user": {"shown": True}}},
    ),
    (
        "User",
        "entitlement_trained",
        "Trained",
        # No default: Zammad's migration writes a boolean's default into every existing user
        # (a column default, app/models/object_manager/attribute.rb migration_execute), and
        # false would make everyone untrained. A null default is allowed (the key is what
        # Zammad requires); null reads as trained.
        _boolean(default=None),
        {"edit": {"admin.user": {"shown": True}}},
    ),
]


def attributes(mapping: ZammadMapping) -> Iterator[dict[str, Any]]:
    """Every attribute, as the object manager API takes it."""
    position = 1200
    wanted = [
        *(
            ("Ticket", mapping.write_back.ticket[k], *v, AGENT_READS)
            for k, v in TICKET_FIELDS.items()
            if k in mapping.write_back.ticket
        ),
        *(
            ("Organization", mapping.write_back.organization[k], *v, ADMIN_EDITS)
            for k, v in ORGANIZATION_FIELDS.items()
            if k in mapping.write_back.organization
        ),
        *INPUT_FIELDS,
    ]
    for obj, name, display, (data_type, data_option), screens in wanted:
        position += 1
        yield {
            "object": obj,
            "name": name,
            "display": display,
            "data_type": data_type,
            "data_option": data_option,
            "screens": screens,
            "active": True,
            "position": position,
        }


def create_attributes(client: ZammadClient, mapping: ZammadMapping) -> list[str]:
    """Create what is missing and execute the migrations; returns what was created."""
    existing = {(a.get("object"), a.get("name")) for a in client.object_attributes()}
    created = []
    for attribute in attributes(mapping):
        if (attribute["object"], attribute["name"]) not in existing:
            client.create_object_attribute(attribute)
            created.append(f"{attribute['object']}.{attribute['name']}")
    if created:
        client.execute_migrations()
    return created


def create_webhook_and_triggers(client: ZammadClient, url: str, secret: str) -> list[str]:
    """A signed webhook and a trigger per ticket action (see TRIGGERS); those on create and
    update never fire on the adapter's own writes: "updated by is not <the integration user>".
    A trigger missing from an earlier installation is added."""
    created = []
    webhook = next((w for w in client.webhooks() if w.get("name") == WEBHOOK_NAME), None)
    if webhook is None:
        webhook = client.create_webhook(
            {
                "name": WEBHOOK_NAME,
                "endpoint": url,
                "signature_token": secret,
                "ssl_verify": True,
                "active": True,
                "note": "helpdesk-entitlements: contract entitlements on tickets",
            }
        )
        created.append(f"webhook {WEBHOOK_NAME}")
    me = client.me()["id"]
    names = {t.get("name") for t in client.triggers()}
    for name, (action, guarded) in TRIGGERS.items():
        if name in names:
            continue
        condition: dict[str, Any] = {"ticket.action": {"operator": "is", "value": action}}
        if guarded:
            condition["ticket.updated_by_id"] = {
                "operator": "is not",
                "pre_condition": "specific",
                "value": [str(me)],
            }
        client.create_trigger(
            {
                "name": name,
                "activator": "action",
                "execution_condition_mode": "always",
                "condition": condition,
                "perform": {"notification.webhook": {"webhook_id": webhook["id"]}},
                "active": True,
            }
        )
        created.append(f"trigger {name}")
    return created


# --- defaults that would flag everyone ------------------------------------------------------

# Zammad gives an attribute's default to existing records only for these types: their column
# gets a DB default when the migration adds it (migration_execute in
# app/models/object_manager/attribute.rb). Every type's default goes to new records
# (app/models/object_manager/attribute/set_defaults.rb; date and datetime use `diff` instead).
COLUMN_DEFAULT_TYPES = frozenset({"integer", "user_autocompletion", "boolean", "active"})
RULE_FIELDS = {"Ticket": "ticket", "User": "user", "Organization": "organization"}


def _rules_that_flag(mapping: ZammadMapping, policy: Policy) -> Iterator[tuple[str, Rule, str]]:
    """(where in zammad.yaml, rule, what it does to every ticket it holds for)."""
    plans = policy.plans.values()
    if any(plan.requires_trained for plan in plans):
        yield "untrained", mapping.untrained, "requester_not_entitled (not trained)"
    for kind, rule in mapping.requesters.items():
        if any(kind not in plan.may_open_tickets for plan in plans):
            yield (
                f"requesters.{kind}",
                rule,
                f"requester_not_entitled under the plans a {kind} may not open tickets under",
            )
    for category, rule in mapping.categories.items():
        yield (
            f"categories.{category}",
            rule,
            f"as category {category} (billable under the plans that do not include it)",
        )
    for reason, rule in mapping.does_not_count.items():
        yield f"does_not_count.{reason}", rule, f"as not counting ({reason}): no quota is used"


def flagging_defaults(
    attributes: Iterable[Mapping[str, Any]], mapping: ZammadMapping, policy: Policy
) -> list[str]:
    """A warning for each Zammad attribute whose default makes a rule of the mapping hold for
    every record that has it, e.g. a boolean `entitlement_trained` with default false."""
    rules = list(_rules_that_flag(mapping, policy))
    warnings = []
    for attribute in attributes:
        field = RULE_FIELDS.get(str(attribute.get("object")))
        option = attribute.get("data_option") or {}
        default, name = option.get("default"), str(attribute.get("name"))
        if field is None or default is None:
            continue
        existing = attribute.get("data_type") in COLUMN_DEFAULT_TYPES
        if not existing and not attribute.get("active", True):
            continue  # inactive: new records do not get it either
        for where, rule, effect in rules:
            if not rule.holds_for(field, name, default):
                continue
            obj = str(attribute["object"])
            records = f"every {'existing and ' if existing else ''}new {obj.lower()}"
            fix = (
                f"Fix: give {obj}.{name} no default in Zammad (API: PUT "
                f"/api/v1/object_manager_attributes/{attribute.get('id')} with "
                f"data_option.default null, then execute the migrations)"
            )
            if existing:
                fix += (
                    f" and clear the value the migration wrote into existing records (Rails "
                    f"console: {obj}.where({name}: {json.dumps(default)})"
                    f".update_all({name}: nil), if none was set on purpose)"
                )
            warnings.append(
                f"Zammad's {obj} attribute {name} has the default {json.dumps(default)}: "
                f"{records} gets it, so zammad.yaml's rule `{where}` holds for all of them "
                f"and their tickets are flagged {effect}. {fix}; or change `{where}` in "
                "zammad.yaml."
            )
    return warnings


def group_warnings(client: ZammadClient, mapping: ZammadMapping) -> list[str]:
    """A warning for each support group the integration user may not both read and change:
    Zammad refuses it those tickets (TicketPolicy, app/policies/ticket_policy.rb; `full`
    grants every access), and each of their events would end as a dead letter."""
    granted = {
        client.name("group", group_id): set(accesses)
        for group_id, accesses in (client.me().get("group_ids") or {}).items()
    }
    warnings = []
    for group in sorted(mapping.support_groups):
        have = granted.get(group, set())
        if "full" not in have and not {"read", "change"} <= have:
            warnings.append(
                f"the integration user may not read and change tickets of the support group "
                f"{group!r}: each of their events would be a dead letter. Grant it full access "
                "to the group (Users → the user → Group permissions)"
            )
    return warnings


def installed_warnings(settings: Settings) -> list[str]:
    """`flagging_defaults` for the Zammad the settings name; nothing without one. A Zammad
    that cannot be read is a warning, not an error: `check` must work offline."""
    zammad = zammad_settings(settings)
    if not zammad.connected:
        return []
    try:
        mapping = load_mapping(settings.mapping("zammad.yaml"))
        policy = load_policy(settings.mapping("plans.yaml"))
    except FileErrors:
        return []  # reported as errors already
    client = ZammadClient(zammad.url or "", zammad.token or "", attempts=1)
    try:
        attributes = client.object_attributes()
    except ApiError as e:
        return [f"could not read Zammad's object attributes ({e}): their defaults not checked"]
    try:
        groups = group_warnings(client, mapping)
    except ApiError as e:
        groups = [f"could not read the integration user's groups ({e}): not checked"]
    return flagging_defaults(attributes, mapping, policy) + groups
