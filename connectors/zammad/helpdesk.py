"""Zammad as the pipeline sees it: inbox payloads to facts, decisions to write-backs."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import Any

from adapter.engine import Decision, TicketFacts
from adapter.errors import ApiError, ApiNotFound, ApiUnauthorized, TicketNotReadable
from adapter.policy import Policy
from adapter.providers import Fence
from adapter.settings import Settings
from connectors.zammad import writeback
from connectors.zammad.client import ZammadClient, asset
from connectors.zammad.reconcile import (
    open_tickets,
    open_tickets_of_customers,
    organizations_numbered,
    reconcile,
)
from connectors.zammad.settings import zammad_settings
from mappings.zammad import (
    HELPDESK,
    TicketSnapshot,
    ZammadMapping,
    accounted_time,
    load_mapping,
    load_organization,
    load_ticket,
    load_user,
    load_webhook,
    ticket_reference,
    to_facts,
)

CLOSED_STATES = ("closed", "merged", "removed")
logger = logging.getLogger(__name__)


class NotConfigured(ApiError):
    """Zammad's URL or token is not set; retried, so that fixing the settings is enough."""

    retriable = True


class ZammadHelpdesk:
    name = HELPDESK

    def __init__(
        self, mapping: ZammadMapping, policy: Policy, client: ZammadClient | None, language: str
    ) -> None:
        self.mapping = mapping
        self.policy = policy
        self.client = client
        self.language = mapping.language or language
        self._seen = writeback.Seen()
        self.time_unavailable: str | None = None  # why Zammad refused the time accountings

    @classmethod
    def from_settings(cls, settings: Settings, policy: Policy) -> ZammadHelpdesk:
        zammad = zammad_settings(settings)
        client = ZammadClient(zammad.url or "", zammad.token or "") if zammad.connected else None
        mapping = load_mapping(settings.mapping("zammad.yaml"))
        return cls(mapping, policy, client, settings.language)

    def facts(self, payload: dict[str, Any]) -> TicketFacts:
        """The payload names the ticket; its state is read again from Zammad, because Zammad
        builds the payload at send time and tags are not in it at all."""
        if self.client:
            ticket_id = ticket_reference(payload)  # any payload that names the ticket
            if ticket_id is None:
                raise ValueError("the payload names no ticket")
            try:
                snapshot = self.snapshot(ticket_id)
            except ApiUnauthorized as e:
                raise self._refused(ticket_id, payload, e) from e
        else:  # no API: the default payload, complete
            event = load_webhook(payload)
            snapshot = TicketSnapshot(event.ticket, event.organization, event.customer)
        return to_facts(snapshot, self.mapping, self.policy.calendar)

    def snapshot(self, ticket_id: int) -> TicketSnapshot:
        """One read of the ticket with everything the mapping looks at (`?all=true`); names of
        groups, states, priorities and roles from the client's cached lists. Articles are read
        by type only when the mapping counts remote sessions by article type, and the time
        accountings in full only when there are any (`all=true` gives them without the time
        they were booked, which billing needs)."""
        client = self._client()
        data = client.ticket_all(ticket_id)
        raw = asset(data, "Ticket", ticket_id)
        if not raw:
            raise ApiError(f"Zammad's answer for ticket {ticket_id} does not contain the ticket")
        ticket = load_ticket(
            {
                **raw,
                **{k: client.name(k, raw.get(f"{k}_id")) for k in ("group", "state", "priority")},
            }
        )
        organization = customer = None
        if ticket.organization_id:
            organization = load_organization(asset(data, "Organization", ticket.organization_id))
        if ticket.customer_id:
            user = asset(data, "User", ticket.customer_id)
            roles = [client.name("role", r) for r in user.get("role_ids") or []]
            customer = load_user({**user, "roles": [r for r in roles if r]})
        article_types: tuple[str, ...] = ()
        if self.mapping.remote_article_types:
            article_types = tuple(a.get("type") or "" for a in client.articles(ticket_id))
        # Zammad before 6 answers all=true without time accountings: read them then.
        accountings = data.get("time_accountings")
        if accountings is None or accountings:
            accountings = self._time_accountings(ticket_id)
        names = self.mapping.write_back.ticket.values()
        self._seen.put(ticket_id, writeback.seen(data, ticket_id, names))
        return TicketSnapshot(
            ticket=ticket,
            organization=organization,
            customer=customer,
            tags=frozenset(data.get("tags") or ()),
            article_types=article_types,
            time_accounting_type_ids=tuple(
                int(t["type_id"]) for t in accountings if t.get("type_id")
            ),
            time=tuple(w for t in accountings if (w := accounted_time(ticket_id, t))),
        )

    def _refused(self, ticket_id: int, payload: dict[str, Any], e: ApiUnauthorized) -> ApiError:
        """Zammad refused to read the ticket. With 403 TicketPolicy refuses a ticket outside
        the user's groups (app/policies/ticket_policy.rb); the triggers fire for every group.
        Named by the webhook as in a group that is no support group, it is another team's
        ticket (TicketNotReadable); else the user lacks a group it needs."""
        if e.status != 403:
            return e
        group = (payload.get("ticket") or {}).get("group")
        group = group.get("name") if isinstance(group, dict) else group
        support = self.mapping.support_groups
        where = f"group {group!r}" if isinstance(group, str) else "its group"
        message = (
            f"Zammad does not let the integration user read ticket {ticket_id} in {where} "
            f"({e.args[0]}): give the user read access to that group, then retry this dead letter"
        )
        if support and isinstance(group, str) and group not in support:
            return TicketNotReadable(message, status=e.status, url=e.url)
        return ApiUnauthorized(message, status=e.status, url=e.url)

    def _time_accountings(self, ticket_id: int) -> list[dict[str, Any]]:
        """The ticket's time accountings in full. Refused (403: older versions want
        `admin.time_accounting`; 404: before the endpoint existed), deciding goes on and the
        ticket says that its billable time is unavailable."""
        try:
            accountings = self._client().time_accountings(ticket_id)
        except (ApiUnauthorized, ApiNotFound) as e:
            if self.time_unavailable is None:
                logger.warning("zammad.time-accounting-unavailable", extra={"error": str(e)})
            self.time_unavailable = f"HTTP {e.status}"
            return []
        self.time_unavailable = None
        return accountings

    def write_back(self, decision: Decision, facts: TicketFacts, *, note: bool) -> dict[str, Any]:
        item = writeback.payload(
            decision, facts, self.mapping, self.policy, self.language, note=note
        )
        name = self.mapping.write_back.ticket.get("billable_time")
        if self.time_unavailable and name and not facts.time:
            unavailable = {"de": "nicht verfügbar", "en": "unavailable"}[self.language]
            item["attributes"][name] = f"{unavailable} ({self.time_unavailable})"
        seen = self._seen.take(int(facts.ticket_id))
        return {**item, "seen": seen} if seen else item

    def deliver(self, payload: dict[str, Any], fence: Fence) -> list[str]:
        if payload.get("kind") == "organization":
            return writeback.deliver_organization(self._client(), payload)
        return writeback.deliver(self._client(), payload, fence)

    def customer_changed(
        self,
        customer_number: str,
        plan: str | None,
        valid_until: date | None,
        *,
        notice_by: date | None = None,
    ) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
        """The customer's organisations get their plan fields (plan, valid until, notice by);
        their open tickets, and those of users whose own attribute names the customer, are
        queued to be decided again. Without a Zammad connection there is nothing to bring up
        to date."""
        if self.client is None:
            return [], []
        names = self.mapping.write_back.organization
        key = self.mapping.customer_number_organization_attribute
        user_key = self.mapping.customer_number_user_attribute
        organizations = organizations_numbered(self.client, key, customer_number) if key else []
        values = {
            "customer_number": customer_number,
            "plan": plan,
            "valid_until": valid_until.isoformat() if valid_until else None,
            # A date attribute takes a past day too: Zammad checks past and future only for
            # datetime attributes (app/models/object_manager/attribute/validation/future_past.rb),
            # so a notice date that has passed in the current term is written as it is.
            "notice_by": notice_by.isoformat() if notice_by else None,
        }
        writes = [
            (
                f"organization:{o['id']}",
                {
                    "kind": "organization",
                    "organization_id": o["id"],
                    "attributes": {names[k]: v for k, v in values.items() if k in names},
                },
            )
            for o in organizations
        ]
        client, closed = self.client, CLOSED_STATES
        found = [t for o in organizations for t in open_tickets(client, o["id"], closed)]
        if user_key:
            found += open_tickets_of_customers(client, user_key, customer_number, closed)
        unique = {t["id"]: t for t in found}  # a ticket found both ways
        tickets = [(str(i), json.dumps({"ticket": t, "article": {}})) for i, t in unique.items()]
        return writes, tickets

    def reconcile(self, store: Any, now: datetime, since: datetime | None = None) -> int:
        """Put tickets changed since the watermark (or `since`) into the inbox."""
        return reconcile(self._client(), store, now, since)

    def _client(self) -> ZammadClient:
        if self.client is None:
            raise NotConfigured("set ENTITLEMENTS_ZAMMAD_URL and ENTITLEMENTS_ZAMMAD_TOKEN")
        return self.client
