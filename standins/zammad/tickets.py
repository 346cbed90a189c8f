"""Tickets: created, updated and merged from the control API and over REST, as Zammad's
controllers and model callbacks do it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from standins.zammad.api import Request, paginate
from standins.zammad.refusal import ZammadRefusal, not_found, unprocessable
from standins.zammad.schema import (
    AGENT_USER_ID,
    CLOSED_STATES,
    DEFAULT_PRIORITY_ID,
    SYSTEM_USER_ID,
    TICKET_COLUMNS,
    TICKET_ID_COLUMNS,
    TICKET_READ_ONLY,
    TICKET_RELATION_NAMES,
    TICKET_TIME_COLUMNS,
    TICKET_WRITABLE,
)
from standins.zammad.values import decimal_string, iso, parse_time


class Tickets:
    """Ticket writes (create, update, merge) and the ticket routes."""

    # ------------------------------------------------------------------ control API

    def create_ticket(
        self,
        title: str,
        customer_id: int,
        group: str | int = "Support",
        article_body: str = "Hello, we need help.",
        article_type: str = "email",
        created_at: datetime | str | None = None,
        *,
        by_user_id: int | None = None,
        tags: Iterable[str] = (),
        **attributes: Any,
    ) -> int:
        """A ticket with its first article, as a customer's email would create it; runs the
        "create" triggers. ``attributes`` are ticket columns, relation names (``state``,
        ``priority``) or custom attributes (created as executed attributes if unknown)."""
        with self._lock:
            group_id = self._resolve_group(group)
            if customer_id not in self._users:
                raise not_found("User", customer_id)
            actor = by_user_id or customer_id
            if actor not in self._users:
                raise not_found("User", actor)
            when = self._given_time(created_at)
            _, custom = self._split_control_attributes("Ticket", attributes)
            fields = self._ticket_changes(
                {k: v for k, v in attributes.items() if k not in custom}, for_create=True
            )
            fields.update(custom)
            article = self._article_params(
                {
                    "body": article_body,
                    "type": article_type,
                    "sender": "Customer",
                    "subject": title,
                    "internal": False,
                },
                actor,
            )
            ticket_id = self._create_ticket(title, customer_id, group_id, actor, when, fields)
            article_id = self._insert_article(ticket_id, article, actor, when)[0]
            for tag in tags:
                self._tag_add(ticket_id, tag, touch=False)
            self._run_triggers(ticket_id, "create", set(), article_id, actor)
            return ticket_id

    def update_ticket(
        self, ticket_id: int, by_user_id: int = AGENT_USER_ID, **changes: Any
    ) -> dict[str, Any]:
        """An agent's edit (runs the "update" triggers if anything changed)."""
        with self._lock:
            if by_user_id not in self._users:
                raise not_found("User", by_user_id)
            self._update_ticket(ticket_id, changes, by_user_id)
            return self._ticket_view(self._ticket(ticket_id), names=True)

    def merge(self, ticket_id: int, into_id: int, by_user_id: int = AGENT_USER_ID) -> None:
        """Merge a ticket into another as Zammad does (see ``_merge``): the source gets state
        "merged" and an `update.merged_into` event, the target `update.received_merge`."""
        with self._lock:
            self._merge(ticket_id, into_id, by_user_id)

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        """The ticket as ``GET /tickets/{id}?expand=true`` shows it (ids and names)."""
        with self._lock:
            return self._ticket_view(self._ticket(ticket_id), names=True)

    def tickets(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._ticket_view(t, names=True) for t in self._tickets.values()]

    # ------------------------------------------------------------------ ticket writes

    def _ticket_changes(
        self, params: Mapping[str, Any], *, for_create: bool = False
    ) -> dict[str, Any]:
        """Validate a partial ticket update; returns column -> new value. Raises 422.
        As `update` in app/controllers/tickets_controller.rb prepares it: relation names
        become ids or a 422 "No lookup value found" (association_name_to_id_convert,
        app/models/application_model/can_associations.rb), keys that are no column are
        dropped (param_cleanup, can_cleanup_param.rb), `number` is deleted and `preferences`
        merged (param_preferences_merge). Not modelled: Zammad lets a given `*_id` win over
        its name and refuses an id given as a name."""
        changes: dict[str, Any] = {}
        custom = self._writable("Ticket")
        for key, value in params.items():
            if key in TICKET_RELATION_NAMES and not isinstance(value, int):
                changes[TICKET_RELATION_NAMES[key]] = self._lookup_relation(key, value)
            elif key in TICKET_READ_ONLY:
                continue  # Zammad drops these (number, tags, timestamps, read-only names)
            elif key in TICKET_ID_COLUMNS or key in TICKET_RELATION_NAMES:
                column = TICKET_RELATION_NAMES.get(key, key)
                changes[column] = self._check_reference(column, value)
            elif key == "title":
                if not isinstance(value, str) or not value.strip():
                    raise unprocessable("Title can't be blank")
                changes[key] = value
            elif key == "preferences":
                if not isinstance(value, dict):
                    raise unprocessable("preferences must be an object")
                changes[key] = value  # merged on apply, as Zammad does
            elif key in TICKET_TIME_COLUMNS:
                moment = parse_time(value)
                if value is not None and moment is None:
                    raise unprocessable(f"{key} must be an ISO 8601 time, not {value!r}")
                changes[key] = iso(moment) if moment else None
            elif key == "time_unit":
                changes[key] = None if value is None else decimal_string(value)
            elif key in TICKET_WRITABLE:
                changes[key] = value
            elif key in custom:
                changes[key] = self._coerce_custom(custom[key], value)
            elif key == "article" and not for_create:
                continue  # handled by the caller
            else:  # dropped, answered 200: param_cleanup keeps only the record's columns
                continue  # (app/models/application_model/can_cleanup_param.rb)
        return changes

    def _create_ticket(
        self,
        title: str,
        customer_id: int,
        group_id: int,
        actor: int,
        when: str,
        fields: Mapping[str, Any],
    ) -> int:
        """A new ticket as app/models/ticket.rb's callbacks complete it: default state and
        priority (set_default_state, set_default_priority: default_create), owner 1 and the
        customer's organisation (check_defaults). The number is the stand-in's own."""
        ticket_id = self._next("ticket")
        ticket: dict[str, Any] = dict.fromkeys(TICKET_COLUMNS)
        ticket.update(self._custom_defaults("Ticket"))
        ticket.update(
            {
                "id": ticket_id,
                "number": str(10000 + ticket_id),
                "title": title,
                "group_id": group_id,
                "priority_id": DEFAULT_PRIORITY_ID,
                "state_id": 1,
                "owner_id": SYSTEM_USER_ID,
                "customer_id": customer_id,
                "organization_id": self._users[customer_id]["organization_id"],
                "article_count": 0,
                "preferences": {},
                "created_by_id": actor,
                "updated_by_id": actor,
                "created_at": when,
                "updated_at": when,
            }
        )
        for key, value in fields.items():
            if key == "preferences":
                ticket["preferences"].update(value)
            else:
                ticket[key] = value
        if "customer_id" in fields and "organization_id" not in fields:
            ticket["organization_id"] = self._users[ticket["customer_id"]]["organization_id"]
        if ticket["state_id"] in CLOSED_STATES:
            ticket["close_at"] = when
        self._tickets[ticket_id] = ticket
        self._ticket_articles[ticket_id] = []
        self._ticket_time[ticket_id] = []
        self._tags[ticket_id] = []
        return ticket_id

    def _apply_changes(
        self, ticket: dict[str, Any], changes: Mapping[str, Any], actor: int
    ) -> set[str]:
        """Write validated changes; returns the attributes that actually changed, as the
        update event carries them. Every save sets updated_by_id to the acting user
        (fill_up_user_update, app/models/application_model/checks_user_columns_fillup.rb,
        before_validation), so a write of unchanged values by another user still changes
        updated_by_id, moves updated_at and is an update event; by the same user it saves
        nothing. The event's changes leave out updated_at (TransactionDispatcher.after_update,
        lib/transaction_dispatcher.rb), so a selective trigger never counts it as changed."""
        changes = dict(changes)
        if "preferences" in changes:
            changes["preferences"] = {**ticket["preferences"], **changes["preferences"]}
        if (
            "customer_id" in changes
            and "organization_id" not in changes
            and changes["customer_id"] != ticket["customer_id"]
        ):
            changes["organization_id"] = self._users[changes["customer_id"]]["organization_id"]
        changed = {k for k, v in changes.items() if ticket.get(k) != v}
        if ticket["updated_by_id"] != actor:
            changed.add("updated_by_id")
        if not changed:
            return changed  # Rails saves nothing: no updated_at bump, no triggers
        now = self._bump(ticket)
        for key in changed & changes.keys():
            ticket[key] = changes[key]
        if "state_id" in changed and ticket["state_id"] in CLOSED_STATES and not ticket["close_at"]:
            ticket["close_at"] = now
            changed.add("close_at")
        if "owner_id" in changed:
            ticket["last_owner_update_at"] = now
        ticket["updated_by_id"] = actor
        return changed

    def _update_ticket(self, ticket_id: int, params: Mapping[str, Any], actor: int) -> None:
        """PUT /tickets/{id} (`update`, app/controllers/tickets_controller.rb): `update!` and,
        if `article` is present, article_create in one `with_lock`; no check of updated_at,
        the last write wins. The request's events collapse into one update event with the
        article's id (get_uniq_changes, lib/transaction_dispatcher.rb)."""
        ticket = self._ticket(ticket_id)
        changes = self._ticket_changes(params)
        article = None
        if params.get("article"):
            if not isinstance(params["article"], dict):
                raise unprocessable("article must be an object")
            article = self._article_params(params["article"], actor)
        changed = self._apply_changes(ticket, changes, actor)
        article_id = None
        if article is not None:
            article_id, article_changed = self._insert_article(ticket_id, article, actor)
            changed |= article_changed
        if changed or article_id is not None:
            self._run_triggers(ticket_id, "update", changed, article_id, actor)

    def _merge(self, ticket_id: int, into_id: int, actor: int) -> None:
        """Ticket#merge_to (app/models/ticket.rb) and how lib/transaction_dispatcher.rb
        collapses its events: the source's articles move to the target without callbacks, the
        source gets a public "merged" note, state merged and owner 1 (one save), the target is
        only touched (updated_by_id unchanged). Triggers see one `update.merged_into` event on
        the source (with the note and the changes) and one `update.received_merge` on the
        target (no changes, no article); never an `update`. Links and mentions are not kept."""
        target = self._ticket(into_id)
        ticket = self._ticket(ticket_id)
        if target["state_id"] == 5:
            raise unprocessable("It is not possible to merge into an already merged ticket.")
        if ticket_id == into_id:
            raise unprocessable("A ticket cannot be merged into itself.")
        when = self._stamp()
        for article_id in self._ticket_articles[ticket_id]:
            self._articles[article_id].update(ticket_id=into_id, updated_at=when)
        self._ticket_articles[into_id] += self._ticket_articles[ticket_id]
        self._ticket_articles[ticket_id] = []
        note = self._article_params(
            {"body": "merged", "type": "note", "sender": "Agent", "internal": False}, actor
        )
        note_id, changed = self._insert_article(ticket_id, note, actor)
        changed |= self._apply_changes(ticket, {"state_id": 5, "owner_id": SYSTEM_USER_ID}, actor)
        self._bump(target)
        self._run_triggers(ticket_id, "update.merged_into", changed, note_id, actor)
        self._run_triggers(into_id, "update.received_merge", set(), None, actor)

    # ------------------------------------------------------------------ routes

    def _r_tickets_index(self, req: Request) -> tuple[int, Any]:
        # `index` in app/controllers/tickets_controller.rb: id ASC, paginate_with(max: 100),
        # of the tickets TicketPolicy::ReadScope allows (ticket_policy/base_scope.rb)
        readable = (t for t in self._tickets.values() if self._may(req.user_id, t, "read"))
        tickets = sorted(readable, key=lambda t: t["id"])
        tickets = paginate(tickets, req, default=100, maximum=100)
        return 200, [self._ticket_view(t, names=req.expand) for t in tickets]

    def _r_tickets_show(self, req: Request, ticket_id: str) -> tuple[int, Any]:
        ticket = self._ticket(int(ticket_id))
        self._authorize(req, ticket, "read")  # authorize!(ticket): TicketPolicy#show?
        # `show` in app/controllers/tickets_controller.rb: expand wins, then all (Rails
        # booleans, has_response_extentions.rb); full is not modelled.
        if not req.expand and req.flag("all"):
            return 200, self._ticket_all(ticket)
        return 200, self._ticket_view(ticket, names=req.expand)

    def _authorize(self, req: Request, ticket: Mapping[str, Any], access: str) -> None:
        """A policy's refusal: Pundit::NotAuthorizedError, rendered 403 "Not authorized"
        (app/controllers/application_controller/handles_errors.rb)."""
        if not self._may(req.user_id, ticket, access):
            raise ZammadRefusal(403, "Not authorized")

    def _ticket_all(self, ticket: Mapping[str, Any]) -> dict[str, Any]:
        """`?all=true` as Zammad 6 answers it (app/models/ticket/assets_all.rb): ids, tags and
        time accountings sliced to five keys (no created_at), and `assets` keyed by model and
        by id as a JSON string: the ticket and its articles with ids, not names; the
        organisation (Organization#assets, with member_ids) and the ticket's users
        (Ticket#assets_user: created_by, updated_by, owner, customer)."""
        ticket_id = ticket["id"]
        article_ids = list(self._ticket_articles.get(ticket_id, []))
        assets: dict[str, dict[str, Any]] = {
            "Ticket": {str(ticket_id): self._ticket_view(ticket, names=False)},
            "TicketArticle": {
                str(a): self._article_view(self._articles[a], names=False) for a in article_ids
            },
            "User": {},
        }
        organization = self._organizations.get(ticket["organization_id"])
        if organization:
            assets["Organization"] = {
                str(organization["id"]): self._organization_view(organization, names=False)
            }
        for column in ("created_by_id", "updated_by_id", "owner_id", "customer_id"):
            user = self._users.get(ticket[column])
            if user:
                assets["User"][str(user["id"])] = self._user_view(user, names=False)
        slice_keys = ("id", "ticket_id", "ticket_article_id", "time_unit", "type_id")
        return {
            "ticket_id": ticket_id,
            "ticket_article_ids": article_ids,
            "assets": assets,
            "links": [],
            "tags": list(self._tags.get(ticket_id, [])),
            "mentions": [],
            "time_accountings": [
                {k: self._time_accountings[i].get(k) for k in slice_keys}
                for i in self._ticket_time.get(ticket_id, [])
            ],
            "form_meta": {},
        }

    def _r_tickets_create(self, req: Request) -> tuple[int, Any]:
        """`create` in app/controllers/tickets_controller.rb: the ticket saved, then `tags`
        (a comma-separated string, each stripped), then `article` through article_create;
        201 with the ticket. One transaction, so the triggers see one "create" event."""
        params = req.params()
        title = params.pop("title", None)
        if not isinstance(title, str) or not title.strip():
            raise unprocessable("Title can't be blank")
        group = params.pop("group", None)
        group_id = params.pop("group_id", None)
        if group_id is not None:
            group_id = self._check_reference("group_id", group_id)
        elif group is not None:
            group_id = self._resolve_group(str(group))
        else:
            raise unprocessable("Group can't be blank")
        customer = params.pop("customer", None)
        customer_id = params.pop("customer_id", None)
        if customer_id is not None:
            customer_id = self._check_reference("customer_id", customer_id)
        elif customer is not None:
            customer_id = self._lookup_relation("customer", customer)
        else:
            raise unprocessable("Customer can't be blank")
        article = params.pop("article", None)
        tags = params.pop("tags", None)
        fields = self._ticket_changes(params, for_create=True)
        article_fields = None
        if article:
            if not isinstance(article, dict):
                raise unprocessable("article must be an object")
            article_fields = self._article_params(article, req.user_id)
        when = self._stamp()
        ticket_id = self._create_ticket(title, customer_id, group_id, req.user_id, when, fields)
        article_id = None
        if article_fields is not None:
            article_id = self._insert_article(ticket_id, article_fields, req.user_id, when)[0]
        if isinstance(tags, str):  # tags only work on create, as a comma-separated string
            for tag in tags.split(","):
                if tag.strip():
                    self._tag_add(ticket_id, tag, touch=False)
        self._run_triggers(ticket_id, "create", set(), article_id, req.user_id)
        return 201, self._ticket_view(self._tickets[ticket_id], names=req.expand)

    def _r_tickets_update(self, req: Request, ticket_id: str) -> tuple[int, Any]:
        self._authorize(req, self._ticket(int(ticket_id)), "change")  # TicketPolicy#update?
        self._update_ticket(int(ticket_id), req.params(), req.user_id)
        return 200, self._ticket_view(self._tickets[int(ticket_id)], names=req.expand)

    def _r_ticket_merge(self, req: Request, source_id: str, target_number: str) -> tuple[int, Any]:
        # `ticket_merge` in app/controllers/tickets_controller.rb: 200 with result "failed"
        # and a message when a ticket is not found, else the merge and both tickets.
        target = next((t for t in self._tickets.values() if t["number"] == target_number), None)
        if target is None:
            return 200, {
                "result": "failed",
                "message": "The target ticket number could not be found.",
            }
        if int(source_id) not in self._tickets:
            return 200, {"result": "failed", "message": "The source ticket could not be found."}
        self._merge(int(source_id), target["id"], req.user_id)
        return 200, {
            "result": "success",
            "target_ticket": self._ticket_view(target, names=False),
            "source_ticket": self._ticket_view(self._tickets[int(source_id)], names=False),
        }
