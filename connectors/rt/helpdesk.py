"""Request Tracker as the pipeline sees it: inbox payloads to facts, decisions to write-backs."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from adapter.engine import AccountedTime, Decision, TicketFacts
from adapter.errors import ApiError
from adapter.policy import Policy
from adapter.providers import Fence
from adapter.settings import Settings
from connectors.rt import writeback
from connectors.rt.client import RtClient
from connectors.rt.reconcile import queues, quoted, reconcile
from connectors.rt.settings import rt_settings
from mappings.rt import (
    HELPDESK,
    TICKET_FIELDS,
    RtMapping,
    RtTicket,
    accounted_time,
    load_mapping,
    load_ticket,
    to_facts,
)

ACTIVE = "__Active__"  # TicketSQL: the statuses of the lifecycle's active set


class NotConfigured(ApiError):
    """RT's URL or credentials are not set; retried, so that fixing the settings is enough."""

    retriable = True


class RtHelpdesk:
    name = HELPDESK

    def __init__(
        self, mapping: RtMapping, policy: Policy, client: RtClient | None, language: str
    ) -> None:
        self.mapping = mapping
        self.policy = policy
        self.client = client
        self.language = mapping.language or language

    @classmethod
    def from_settings(cls, settings: Settings, policy: Policy) -> RtHelpdesk | None:
        """None without RT configured: every decision reads RT, so there is no helpdesk to
        decide in (no polling, no re-checks; its webhook answers 503)."""
        rt = rt_settings(settings)
        if not rt.configured:
            return None
        mapping = load_mapping(settings.mapping("rt.yaml"))
        return cls(mapping, policy, rt.client(), settings.language)

    def facts(self, payload: dict[str, Any]) -> TicketFacts:
        """The payload names the ticket; everything else is read from RT: one search, which
        also gives the requestor's customer number (and finds a merged ticket's own record),
        and the ticket's time transactions when it has time worked."""
        ticket_id = payload.get("ticket_id")
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or ticket_id < 1:
            raise ValueError("the payload names no ticket (ticket_id)")
        ticket = self.ticket(ticket_id)
        return to_facts(ticket, self._time(ticket), self.mapping)

    def ticket(self, ticket_id: int) -> RtTicket:
        client = self._client()
        found = next(client.search(f"id = {ticket_id} AND EffectiveId > 0", TICKET_FIELDS), None)
        if found is None:  # deleted: no search shows it; the record and its requestors
            found = client.ticket(ticket_id, **{"fields[Queue]": "Name"})
            fields = TICKET_FIELDS["fields[Requestor]"]
            found["Requestor"] = [
                client.user_named(str(r.get("id")), fields) or {}
                for r in found.get("Requestor") or []
            ]
        return load_ticket(found, self.mapping)

    def _time(self, ticket: RtTicket) -> tuple[AccountedTime, ...]:
        """Work from the ticket's TimeTaken transactions, when RT says there is any."""
        if not ticket.time_worked:
            return ()
        query = f"ObjectType = 'RT::Ticket' AND ObjectId = {ticket.id} AND TimeTaken != 0"
        return tuple(
            work
            for t in self._client().transactions(query, "TimeTaken,Type,Created")
            if (work := accounted_time(ticket.id, t))
        )

    def write_back(self, decision: Decision, facts: TicketFacts, *, note: bool) -> dict[str, Any]:
        return writeback.payload(
            decision, facts, self.mapping, self.policy, self.language, note=note
        )

    def deliver(self, payload: dict[str, Any], fence: Fence) -> list[str]:
        return writeback.deliver(self._client(), payload, fence)

    def customer_changed(
        self,
        customer_number: str,
        plan: str | None,
        valid_until: date | None,
        *,
        notice_by: date | None = None,
    ) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
        """The customer's open tickets in the support queues are decided again. RT keeps no
        record of the customer besides its users, so nothing else is written."""
        if self.client is None:
            return [], []
        users = self.client.users_with(self.mapping.customer_number_field, customer_number)
        if not users:
            return [], []
        # By name: a plain `Requestor = '…'` looks the user up by email address
        # (RT/SearchBuilder/Role/Roles.pm RoleLimit), and a name need not be one.
        requestors = " OR ".join(f"Requestor.Name = '{quoted(u)}'" for u in users)
        query = f"{queues(self.mapping)} AND Status = '{ACTIVE}' AND ({requestors})"
        tickets = [
            (str(t["id"]), json.dumps({"ticket_id": int(t["id"])}))
            for t in self.client.search(query, {"fields": "id"})
        ]
        return [], tickets

    def reconcile(self, store: Any, now: datetime, since: datetime | None = None) -> int:
        return reconcile(self._client(), self.mapping, store, now, since)

    def _client(self) -> RtClient:
        if self.client is None:
            raise NotConfigured(
                "set ENTITLEMENTS_RT_URL and ENTITLEMENTS_RT_TOKEN "
                "(or ENTITLEMENTS_RT_USER and ENTITLEMENTS_RT_PASSWORD)"
            )
        return self.client
