"""Records as the API renders them, with ids or with names."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from standins.zammad.schema import ARTICLE_SENDERS, ARTICLE_TYPES, PRIORITIES, ROLES, STATES


class Views:
    """The API's renderings of tickets, users, organisations, groups and articles."""

    # Records as the API renders them (app/models/application_model/can_associations.rb):
    # `names=False` is attributes_with_association_ids (the columns, custom attributes among
    # them, plus `<x>_ids` of each has_many), `names=True` attributes_with_association_names
    # (also each association by login or name, created_by and updated_by as logins).

    def _ticket_view(self, ticket: Mapping[str, Any], *, names: bool) -> dict[str, Any]:
        view = copy.deepcopy(dict(ticket))
        ticket_id = ticket["id"]
        view["article_ids"] = list(self._ticket_articles.get(ticket_id, []))
        view["ticket_time_accounting_ids"] = list(self._ticket_time.get(ticket_id, []))
        if names:
            organization = self._organizations.get(ticket["organization_id"])
            view.update(
                {
                    "state": STATES[ticket["state_id"]],
                    "group": self._groups[ticket["group_id"]]["name"],
                    "priority": PRIORITIES[ticket["priority_id"]],
                    "owner": self._login(ticket["owner_id"]),
                    "customer": self._login(ticket["customer_id"]),
                    "organization": organization["name"] if organization else None,
                    "created_by": self._login(ticket["created_by_id"]),
                    "updated_by": self._login(ticket["updated_by_id"]),
                    "create_article_type": ARTICLE_TYPES.get(ticket["create_article_type_id"]),
                    "create_article_sender": ARTICLE_SENDERS.get(
                        ticket["create_article_sender_id"]
                    ),
                    "ticket_time_accounting": [],  # time accountings have no name
                }
            )
        return view

    def _user_view(self, user: Mapping[str, Any], *, names: bool) -> dict[str, Any]:
        view = copy.deepcopy(dict(user))
        user_id = user["id"]
        role_ids = list(self._user_roles.get(user_id, []))
        groups = {str(g): granted for g, granted in self._groups_of(user_id).items()}
        view.update(
            {
                "role_ids": role_ids,
                # has_many of 6.x users, as GET /users/{id} shows them (zammad-documentation
                # api/user.rst; attributes_with_association_ids in can_associations.rb)
                "two_factor_preference_ids": [],
                "organization_ids": [],
                "group_ids": groups,
                "authorization_ids": [],
                "overview_sorting_ids": [],
            }
        )
        if names:
            organization = self._organizations.get(user["organization_id"])
            view.update(
                {
                    "organization": organization["name"] if organization else None,
                    "two_factor_preferences": [],
                    "organizations": [],
                    "overview_sortings": [],
                    "roles": [ROLES[r] for r in role_ids],
                    "groups": {self._groups[int(g)]["name"]: a for g, a in groups.items()},
                    "authorizations": [],
                    "created_by": self._login(user["created_by_id"]),
                    "updated_by": self._login(user["updated_by_id"]),
                }
            )
        return view

    def _organization_view(self, org: Mapping[str, Any], *, names: bool) -> dict[str, Any]:
        view = copy.deepcopy(dict(org))
        members = [u["id"] for u in self._users.values() if u["organization_id"] == org["id"]]
        view["member_ids"] = members
        # Organization#attributes_with_association_ids (app/models/organization.rb) adds the
        # users whose secondary organisation it is; the stand-in has none.
        view["secondary_member_ids"] = []
        if names:
            view["members"] = [self._login(m) for m in members]
            view["created_by"] = self._login(org["created_by_id"])
            view["updated_by"] = self._login(org["updated_by_id"])
        return view

    def _group_view(self, group: Mapping[str, Any], *, names: bool) -> dict[str, Any]:
        view = copy.deepcopy(dict(group))
        user_ids = [u for u in self._users if self._is_agent(u)]
        view["user_ids"] = user_ids
        if names:
            view["users"] = [self._login(u) for u in user_ids]
            view["created_by"] = self._login(group["created_by_id"])
            view["updated_by"] = self._login(group["updated_by_id"])
        return view

    def _simple_view(self, record: Mapping[str, Any], *, names: bool) -> dict[str, Any]:
        view = copy.deepcopy(dict(record))
        if names:
            view["created_by"] = self._login(record["created_by_id"])
            view["updated_by"] = self._login(record["updated_by_id"])
        return view

    def _article_view(self, article: Mapping[str, Any], *, names: bool) -> dict[str, Any]:
        view = copy.deepcopy(dict(article))
        view["attachments"] = []
        if names:
            view.update(
                {
                    "type": ARTICLE_TYPES[article["type_id"]],
                    "sender": ARTICLE_SENDERS[article["sender_id"]],
                    "created_by": self._login(article["created_by_id"]),
                    "updated_by": self._login(article["updated_by_id"]),
                    "origin_by": self._login(article["origin_by_id"]),
                }
            )
        return view
