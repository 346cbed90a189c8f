"""The records' ids and timestamps, the seed data and the lookups every concern uses.

The state itself is set up in `ZammadStandin.__init__` (standin.py); every method of the mixins
expects the stand-in's lock held (the control API takes it, `_dispatch` holds it for a route)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from standins.zammad.refusal import not_found, unprocessable
from standins.zammad.schema import (
    DEFAULT_PRIORITY_ID,
    PRIORITIES,
    STATE_TYPE_IDS,
    STATES,
    SYSTEM_USER_ID,
    TICKET_ID_COLUMNS,
    TICKET_RELATION_NAMES,
    USER_COLUMNS,
)
from standins.zammad.values import as_int, iso, parse_time


class Records:
    """Ids, timestamps, seed data and lookups of the stand-in's records."""

    # ------------------------------------------------------------------ seed data and ids

    def _next(self, kind: str) -> int:
        counter = self._ids.setdefault(kind, itertools.count(1))
        return next(counter)

    def _stamp(self) -> str:
        """Now, strictly later than every earlier stamp, so updated_at always moves."""
        now = self._clock()
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        now = now.astimezone(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last_stamp is not None and now <= self._last_stamp:
            now = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = now
        return iso(now)

    def _given_time(self, value: datetime | str | None) -> str:
        if value is None:
            return self._stamp()
        moment = parse_time(value)
        if moment is None:
            raise ValueError(f"not an ISO 8601 time: {value!r}")
        return iso(moment)

    def _bump(self, ticket: dict[str, Any]) -> str:
        """A new updated_at for a ticket: later than its last one even if a caller gave it a
        created_at in the future (replayed events), so ``(id, updated_at)`` stays unique."""
        now = self._stamp()
        last = parse_time(ticket["updated_at"])
        if last is not None and iso(last) >= now:
            now = iso(last + timedelta(milliseconds=1))
        ticket["updated_at"] = now
        return now

    def _seed(self) -> None:
        now = self._stamp()
        for state_id, name in STATES.items():
            self._states[state_id] = {
                "id": state_id,
                # state types and follow-up state as seeded (zammad-documentation
                # api/ticket/states.rst): pending close goes to closed
                "state_type_id": STATE_TYPE_IDS[state_id],
                "name": name,
                "next_state_id": 4 if state_id == 7 else None,
                "active": True,
                "default_create": state_id == 1,
                "default_follow_up": state_id == 2,
                "ignore_escalation": state_id != 1 and state_id != 2,
                "note": None,
                "created_by_id": SYSTEM_USER_ID,
                "updated_by_id": SYSTEM_USER_ID,
                "created_at": now,
                "updated_at": now,
            }
        for priority_id, name in PRIORITIES.items():
            self._priorities[priority_id] = {
                "id": priority_id,
                "name": name,
                "default_create": priority_id == DEFAULT_PRIORITY_ID,
                "ui_icon": None,
                "ui_color": None,
                "note": None,
                "active": True,
                "updated_by_id": SYSTEM_USER_ID,
                "created_by_id": SYSTEM_USER_ID,
                "created_at": now,
                "updated_at": now,
            }
        self._insert_user("-", "", "", None, [])
        self._users[SYSTEM_USER_ID]["login"] = "-"
        self._insert_user("Entitlements", "Integration", "entitlements@example.com", None, [1, 2])
        self._insert_user("Alex", "Agent", "agent@example.com", None, [2])
        self._insert_group("Users")
        self._insert_group("Support")

    def _insert_user(
        self,
        firstname: str,
        lastname: str,
        email: str,
        organization_id: int | None,
        role_ids: list[int],
    ) -> int:
        login = email.lower()
        if login and any(u["login"] == login for u in self._users.values()):
            raise unprocessable(f"Email address '{email}' is already used for another user.")
        now = self._stamp()
        user_id = self._next("user")
        record: dict[str, Any] = dict.fromkeys(USER_COLUMNS)
        record.update(
            {
                "id": user_id,
                "organization_id": organization_id,
                "login": login,
                "firstname": firstname,
                "lastname": lastname,
                "email": email,
                "image": None,
                "vip": False,
                "verified": False,
                "active": True,
                "note": "",
                "login_failed": 0,
                "out_of_office": False,
                "preferences": {},
                "source": None,
                "created_by_id": SYSTEM_USER_ID,
                "updated_by_id": SYSTEM_USER_ID,
                "created_at": now,
                "updated_at": now,
            }
        )
        record.update(self._custom_defaults("User"))
        self._users[user_id] = record
        self._user_roles[user_id] = list(role_ids)
        return user_id

    def _insert_group(self, name: str) -> int:
        now = self._stamp()
        group_id = self._next("group")
        self._groups[group_id] = {
            "id": group_id,
            "signature_id": None,
            "email_address_id": None,
            "name": name,
            "assignment_timeout": None,
            "follow_up_possible": "yes",
            "follow_up_assignment": True,
            "active": True,
            "note": None,
            "updated_by_id": SYSTEM_USER_ID,
            "created_by_id": SYSTEM_USER_ID,
            "created_at": now,
            "updated_at": now,
            **self._custom_defaults("Group"),
        }
        return group_id

    # ------------------------------------------------------------------ lookups

    def _ticket(self, ticket_id: int) -> dict[str, Any]:
        ticket = self._tickets.get(ticket_id)
        if ticket is None:
            raise not_found("Ticket", ticket_id)
        return ticket

    def _organization(self, organization_id: int) -> dict[str, Any]:
        org = self._organizations.get(organization_id)
        if org is None:
            raise not_found("Organization", organization_id)
        return org

    def _user(self, user_id: int) -> dict[str, Any]:
        user = self._users.get(user_id)
        if user is None:
            raise not_found("User", user_id)
        return user

    def _group_by_name(self, name: str) -> int | None:
        return next((g["id"] for g in self._groups.values() if g["name"] == name), None)

    def _resolve_group(self, group: str | int) -> int:
        if isinstance(group, int):
            if group not in self._groups:
                raise unprocessable(f"No such group id {group}")
            return group
        group_id = self._group_by_name(group)
        if group_id is None:
            raise unprocessable(f"No lookup value found for 'group': {group!r}")
        return group_id

    def _login(self, user_id: int | None) -> str | None:
        user = self._users.get(user_id) if user_id is not None else None
        return user["login"] if user else None

    def _is_agent(self, user_id: int) -> bool:
        return bool({1, 2} & set(self._user_roles.get(user_id, [])))

    def _groups_of(self, user_id: int) -> dict[int, list[str]]:
        """An agent's group access as GET /users/{id} shows it in `group_ids`."""
        if not self._is_agent(user_id):
            return {}
        restricted = self._group_access.get(user_id)
        return dict(restricted) if restricted is not None else {g: ["full"] for g in self._groups}

    def _may(self, user_id: int, ticket: Mapping[str, Any], access: str) -> bool:
        """TicketPolicy (app/policies/ticket_policy.rb): an agent by its access to the ticket's
        group (`group_access?`, where `full` grants every access). Only restricted agents are
        refused; the customer side of the policy is not modelled."""
        if user_id not in self._group_access:
            return True
        granted = self._group_access[user_id].get(ticket["group_id"], [])
        return "full" in granted or access in granted

    def _lookup_relation(self, key: str, value: object) -> int | None:
        """Zammad accepts names for relations (``"state": "open"``); unknown names are 422
        (association_name_to_id_convert, app/models/application_model/can_associations.rb:
        users by login or email, the rest by name)."""
        column = TICKET_RELATION_NAMES[key]
        if value is None and column == "organization_id":
            return None
        found: int | None = None
        if key == "state":
            found = next((i for i, n in STATES.items() if n == value), None)
        elif key == "priority":
            found = next((i for i, n in PRIORITIES.items() if n == value), None)
        elif key == "group":
            found = self._group_by_name(str(value))
        elif key == "organization":
            found = next(
                (o["id"] for o in self._organizations.values() if o["name"] == value), None
            )
        else:
            text = str(value).lower()
            found = next(
                (u["id"] for u in self._users.values() if text in (u["login"], u["email"])),
                None,
            )
        if found is None:
            raise unprocessable(f"No lookup value found for '{key}': {value!r}")
        return found

    def _check_reference(self, column: str, value: object) -> int | None:
        """An id for a relation: one that names no record is a 422, as param_cleanup raises
        "Invalid value for param" (app/models/application_model/can_cleanup_param.rb); the
        message is the stand-in's."""
        kind = TICKET_ID_COLUMNS[column]
        if value is None:
            if column == "organization_id":
                return None
            raise unprocessable(f"{column} can't be blank")
        record_id = as_int(value, column)
        table: Mapping[int, Any] = {
            "group": self._groups,
            "priority": self._priorities,
            "state": self._states,
            "organization": self._organizations,
            "user": self._users,
        }[kind]
        if record_id not in table:
            raise unprocessable(f"{column} {record_id} does not exist")
        return record_id
