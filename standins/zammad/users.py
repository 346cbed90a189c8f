"""Users, organisations and groups (and the seeded states, priorities and roles): the control
API that sets them up and the routes that read and change them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from standins.zammad.api import Request, paginate
from standins.zammad.refusal import not_found, unprocessable
from standins.zammad.schema import (
    ORGANIZATION_READ_ONLY,
    ORGANIZATION_WRITABLE,
    ROLES,
    SYSTEM_USER_ID,
)
from standins.zammad.search import sort_records
from standins.zammad.values import as_bool


class Users:
    """Users, organisations, groups, states, priorities and roles."""

    # ------------------------------------------------------------------ control API

    def add_group(self, name: str) -> int:
        with self._lock:
            if self._group_by_name(name) is not None:
                raise unprocessable(f"Group {name!r} already exists")
            return self._insert_group(name)

    def set_group_access(self, user_id: int, access: Mapping[str, Iterable[str]]) -> None:
        """Restrict an agent to these groups (name -> accesses such as "read", "change",
        "full"), as an admin does under Users → Group permissions; reading, updating and
        searching its tickets follow TicketPolicy (see `_may`)."""
        with self._lock:
            granted: dict[int, list[str]] = {}
            for name, accesses in access.items():
                group_id = self._group_by_name(name)
                if group_id is None:
                    raise unprocessable(f"no such group: {name}")
                granted[group_id] = list(accesses)
            self._group_access[user_id] = granted

    def add_organization(self, name: str, **attributes: Any) -> int:
        """Custom attributes (e.g. ``customer_number``) not yet defined are created as
        executed object manager attributes, as an admin would have done beforehand."""
        with self._lock:
            if any(o["name"].lower() == name.lower() for o in self._organizations.values()):
                raise unprocessable(f"Organization {name!r} already exists")
            columns, custom = self._split_control_attributes("Organization", attributes)
            now = self._stamp()
            org_id = self._next("organization")
            record: dict[str, Any] = {
                "id": org_id,
                "name": name,
                "shared": True,
                "domain": "",
                "domain_assignment": False,
                "active": True,
                "vip": False,
                "note": "",
                "updated_by_id": self.integration_user_id,
                "created_by_id": self.integration_user_id,
                "created_at": now,
                "updated_at": now,
            }
            record.update(self._custom_defaults("Organization"))
            record.update(columns)
            record.update(custom)
            self._organizations[org_id] = record
            return org_id

    def add_user(
        self,
        firstname: str,
        lastname: str,
        email: str,
        organization_id: int | None = None,
        roles: Iterable[str] = ("Customer",),
        **attributes: Any,
    ) -> int:
        with self._lock:
            if organization_id is not None and organization_id not in self._organizations:
                raise not_found("Organization", organization_id)
            role_ids = []
            for role in roles:
                role_id = next((i for i, n in ROLES.items() if n == role), None)
                if role_id is None:
                    raise unprocessable(f"Unknown role {role!r}")
                role_ids.append(role_id)
            columns, custom = self._split_control_attributes("User", attributes)
            user_id = self._insert_user(firstname, lastname, email, organization_id, role_ids)
            self._users[user_id].update(columns)
            self._users[user_id].update(custom)
            return user_id

    def organization(self, organization_id: int) -> dict[str, Any]:
        with self._lock:
            return self._organization_view(self._organization(organization_id), names=True)

    def user(self, user_id: int) -> dict[str, Any]:
        with self._lock:
            return self._user_view(self._user(user_id), names=True)

    # ------------------------------------------------------------------ routes: users & co

    # app/controllers/users_controller.rb: `me` and `show` answer the user with ids
    # (attributes_with_association_ids) or, with expand, names (role and organisation names:
    # attributes_with_association_names, app/models/application_model/can_associations.rb),
    # without `password`; `index` orders by id and pages without paginate_with (100 a page,
    # at most 1000: CanPaginate::Pagination).

    def _r_users_me(self, req: Request) -> tuple[int, Any]:
        return 200, self._user_view(self._user(req.user_id), names=req.expand)

    def _r_users_index(self, req: Request) -> tuple[int, Any]:
        users = paginate(list(self._users.values()), req, default=100)
        return 200, [self._user_view(u, names=req.expand) for u in users]

    def _r_users_search(self, req: Request) -> tuple[int, Any]:
        """model_search_render (renders_models.rb): 50 a page, at most 200. The matching is
        the stand-in's own (a substring of login, email or name), not CanSearch."""
        term = (req.arg("query") or "").strip().lower()
        found = [
            u
            for u in self._users.values()
            if u["id"] != SYSTEM_USER_ID
            and (
                term in ("", "*")
                or any(
                    term in str(u[k] or "").lower()
                    for k in ("login", "email", "firstname", "lastname")
                )
            )
        ]
        found = paginate(found, req, default=50, maximum=200)
        return 200, [self._user_view(u, names=req.expand) for u in found]

    def _r_users_show(self, req: Request, user_id: str) -> tuple[int, Any]:
        return 200, self._user_view(self._user(int(user_id)), names=req.expand)

    def _r_groups_index(self, req: Request) -> tuple[int, Any]:
        return 200, [self._group_view(g, names=req.expand) for g in self._groups.values()]

    def _r_groups_show(self, req: Request, group_id: str) -> tuple[int, Any]:
        group = self._groups.get(int(group_id))
        if group is None:
            raise not_found("Group", group_id)
        return 200, self._group_view(group, names=req.expand)

    def _r_states_index(self, req: Request) -> tuple[int, Any]:
        return 200, [self._simple_view(s, names=req.expand) for s in self._states.values()]

    def _r_priorities_index(self, req: Request) -> tuple[int, Any]:
        return 200, [self._simple_view(p, names=req.expand) for p in self._priorities.values()]

    def _r_roles_index(self, req: Request) -> tuple[int, Any]:
        """Role records as GET /roles lists them (zammad-documentation api/role.rst); the
        stand-in keeps no permissions, so their id lists are empty."""
        seeded = self._users[SYSTEM_USER_ID]["created_at"]
        notes = {
            "Admin": "To configure your system.",
            "Agent": "To work on Tickets.",
            "Customer": "People who create Tickets ask for help.",
        }
        return 200, [
            {
                "id": role_id,
                "name": name,
                "preferences": {},
                "default_at_signup": name == "Customer",
                "active": True,
                "note": notes[name],
                "updated_by_id": SYSTEM_USER_ID,
                "created_by_id": SYSTEM_USER_ID,
                "created_at": seeded,
                "updated_at": seeded,
                "permission_ids": [],
                "knowledge_base_permission_ids": [],
                "group_ids": {},
            }
            for role_id, name in ROLES.items()
        ]

    # ------------------------------------------------------------------ routes: organisations

    def _r_organizations_index(self, req: Request) -> tuple[int, Any]:
        # model_index_render (renders_models.rb): sort_by/order_by, default id ASC; 500 per
        # page, at most 1000 (CanPaginate::Pagination).
        order = self._sort_order(req, "Organization", (["id"], ["asc"]))
        orgs = paginate(sort_records(list(self._organizations.values()), order), req, default=500)
        return 200, [self._organization_view(o, names=req.expand) for o in orgs]

    def _r_organizations_show(self, req: Request, org_id: str) -> tuple[int, Any]:
        return 200, self._organization_view(self._organization(int(org_id)), names=req.expand)

    def _r_organizations_update(self, req: Request, org_id: str) -> tuple[int, Any]:
        """PUT /organizations/{id}: model_update_render (renders_models.rb) from `update` in
        app/controllers/organizations_controller.rb: param_cleanup drops unknown keys, the
        save stamps updated_by_id (checks_user_columns_fillup.rb, so another user's write of
        unchanged values still moves updated_at). Not modelled: associations_from_param,
        by which `member_ids` or `members` sent along replace the members; they are
        dropped here."""
        org = self._organization(int(org_id))
        custom = self._writable("Organization")
        changes: dict[str, Any] = {}
        for key, value in req.params().items():
            if key in ORGANIZATION_READ_ONLY:
                continue
            if key == "name":
                if not isinstance(value, str) or not value.strip():
                    raise unprocessable("Name can't be blank")
                changes[key] = value
            elif key == "note":
                changes[key] = value
            elif key in ORGANIZATION_WRITABLE:
                changes[key] = as_bool(value, key) if key != "domain" else value
            elif key in custom:
                changes[key] = self._coerce_custom(custom[key], value)
            else:  # dropped, answered 200: param_cleanup keeps only the record's columns
                continue  # (app/models/application_model/can_cleanup_param.rb)
        changed = {k for k, v in changes.items() if org.get(k) != v}
        if changed or org["updated_by_id"] != req.user_id:
            org.update({k: changes[k] for k in changed})
            org["updated_by_id"] = req.user_id
            org["updated_at"] = self._stamp()
        return 200, self._organization_view(org, names=req.expand)
