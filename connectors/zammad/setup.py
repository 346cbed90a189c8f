"""`entitlements setup-zammad`: the custom fields, webhook and triggers the adapter needs.

Idempotent: what exists (by object and name) is left alone. Zammad stages new attributes until
their migrations are executed, and then must restart before agents see them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connectors.zammad.client import ZammadClient
from mappings.zammad import ZammadMapping

PLANS = {"commissioning": "Inbetriebnahme Support", "basic": "Basic Support", "pro": "Pro Support"}
WEBHOOK_NAME = "Entitlements"
TRIGGERS = {"create": "entitlements: ticket created", "update": "entitlements: ticket updated"}

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


def _boolean() -> tuple[str, dict[str, Any]]:
    return "boolean", {"default": False, "options": {"true": "yes", "false": "no"}}


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
        _boolean(),
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
    """A signed webhook and two triggers that never fire on the adapter's own writes:
    condition "updated by is not <the integration user>"."""
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
    for action, name in TRIGGERS.items():
        if name in names:
            continue
        client.create_trigger(
            {
                "name": name,
                "activator": "action",
                "execution_condition_mode": "always",
                "condition": {
                    "ticket.action": {"operator": "is", "value": action},
                    "ticket.updated_by_id": {
                        "operator": "is not",
                        "pre_condition": "specific",
                        "value": [str(me)],
                    },
                },
                "perform": {"notification.webhook": {"webhook_id": webhook["id"]}},
                "active": True,
            }
        )
        created.append(f"trigger {name}")
    return created
