"""Zammad's REST API through zammad-py, with what zammad-py lacks: timeouts, typed errors and
retries. API reference: https://docs.zammad.org/en/latest/api/intro.html"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import requests
from zammad_py import ZammadAPI
from zammad_py.api import Object

from adapter import errors
from adapter.retry import retrying

T = TypeVar("T")
TIMEOUT = (3.05, 15.0)  # connect, read: seconds; zammad-py sets none
# Lists of names by id that the API gives only as ids in `?all=true` assets; they rarely change.
LOOKUPS = {
    "group": "groups",
    "state": "ticket_states",
    "priority": "ticket_priorities",
    "role": "roles",
}
LOOKUP_TTL = 300.0  # seconds; an id not in the list reads it again at once


class AttributesDropped(errors.ApiError):
    """Zammad answered 200 but left attributes out: it drops keys that are not columns of the
    record (app/models/application_model/can_cleanup_param.rb), as it does for an attribute
    created but not yet known to its running processes (no restart after the migration)."""

    def __init__(self, record: str, names: list[str]) -> None:
        super().__init__(
            f"Zammad dropped the {record} attribute(s) {', '.join(names)} without an error: "
            "it does not know them. Run `entitlements setup-zammad` and restart Zammad, then "
            "retry this dead letter."
        )
        self.names = names


class ZammadClient:
    """One client per Zammad instance. Every call retries transient failures (5xx, 429 after
    its Retry-After, timeouts, resets) a few times; anything else raises a typed ApiError."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: tuple[float, float] = TIMEOUT,
        attempts: int = 3,
        first_wait: float = 0.5,
        max_wait: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = ZammadAPI(url=url.rstrip("/") + "/api/v1/", http_token=token)
        self.timeout_total = sum(timeout)  # how long one attempt may wait on a silent Zammad
        session = self.api.session
        session.request = functools.partial(session.request, timeout=timeout)  # type: ignore[method-assign]
        # Raise our typed error before zammad-py turns the response into a bare HTTPError.
        session.hooks["response"].append(_raise_for_status)
        self._retrying = retrying(
            attempts=attempts, initial=first_wait, maximum=max_wait, sleep=sleep
        )
        self._names: dict[str, tuple[float, dict[int, str]]] = {}
        self._names_lock = threading.Lock()

    @staticmethod
    def _once(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One attempt, its failure typed."""
        try:
            return fn(*args, **kwargs)
        except errors.ApiError:
            raise
        except requests.RequestException as e:
            raise errors.from_exception(e) from e

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """For reads and idempotent writes (PUT of absolute values, tags): retried as they are."""
        return self._retrying(self._once, fn, *args, **kwargs)

    def _create(self, create: Callable[[], T], existing: Callable[[], T | None]) -> T:
        """For a POST that Zammad would apply twice. Before every attempt, the first included,
        look whether it is there already: an attempt that timed out may have been applied."""

        def attempt() -> T:
            found = existing()
            return found if found is not None else self._once(create)

        return self._retrying(attempt)

    def _read(self, path: str, **params: Any) -> Any:
        return self._once(lambda: self.api.session.get(self.api.url + path, params=params).json())

    def _get(self, path: str, **params: Any) -> Any:
        return self._retrying(self._read, path, **params)

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        return self.api.session.post(self.api.url + path, json=body).json()

    def _named(self, path: str, name: str) -> dict[str, Any] | None:
        # Within `_create`'s retries: one read each, not retried again.
        items = self._index(path, self._read)
        return next((item for item in items if item.get("name") == name), None)

    def _index(self, path: str, read: Callable[..., Any] | None = None) -> list[dict[str, Any]]:
        """Every record of an index (triggers, webhooks): Zammad answers 500 a page unless
        asked for a page (model_index_render, renders_models.rb), in id order."""
        read = read or self._get
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = list(read(path, page=page, per_page=INDEX_PAGE))
            found += batch
            if len(batch) < INDEX_PAGE:
                return found
            page += 1

    # --- users, tickets, organisations (API: api/user, api/ticket, api/organization) ---

    def me(self) -> dict[str, Any]:
        """The integration user: GET /users/me."""
        return self._call(self.api.user.me)

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        """GET /tickets/{id}?expand=true: with group, state and priority names."""
        return self._get(f"tickets/{ticket_id}", expand="true")

    def ticket_all(self, ticket_id: int) -> dict[str, Any]:
        """GET /tickets/{id}?all=true: in one call the ticket, its tags, article ids and (6.x)
        time accountings, and in `assets` the records by model: the ticket, its articles, its
        organisation and users, all with ids, not names (app/controllers/tickets_controller.rb
        `show`, app/models/ticket/assets_all.rb, app/models/ticket/assets.rb)."""
        return self._get(f"tickets/{ticket_id}", all="true")

    def name(self, kind: str, record_id: Any) -> str | None:
        """The name of a group, state, priority or role by its id (see LOOKUPS)."""
        if record_id is None:
            return None
        with self._names_lock:
            read_at, names = self._names.get(kind, (0.0, {}))
            known = int(record_id) in names
            if not known or time.monotonic() - read_at > LOOKUP_TTL:
                names = {int(r["id"]): r.get("name") for r in self._get(LOOKUPS[kind])}
                self._names[kind] = (time.monotonic(), names)
            return names.get(int(record_id))

    def update_ticket(
        self,
        ticket_id: int,
        attributes: dict[str, Any],
        note: dict[str, str] | None = None,
        fence: Callable[[float], None] = lambda seconds: None,
    ) -> dict[str, Any] | None:
        """PUT /tickets/{id}: a partial update. With `note` ({subject, body, marker}) an internal
        note is added in the same request and transaction (tickets_controller.rb `update` →
        article_create in `ticket.with_lock`; `internal` has no default there, so it is sent).
        `fence(seconds)` is called before each attempt with the longest it may take, so that
        only the worker holding the write-back writes. A note would be added twice by a repeat:
        before each retry, a look whether its marker is there already (the caller has looked
        before the first). Returns the ticket as Zammad answered, or None when a retry found the
        earlier attempt applied. Attributes that Zammad dropped raise AttributesDropped."""
        if note is None:

            def put() -> dict[str, Any]:
                fence(self.timeout_total)  # a stale worker must not write over the holder's
                return self._once(self.api.ticket.update, ticket_id, attributes)

            answer = self._retrying(put)
            _check_kept("ticket", attributes, answer)
            return answer
        body = {
            **attributes,
            "article": {
                "subject": note["subject"],
                "body": note["body"],
                "content_type": "text/plain",
                "type": "note",
                "internal": True,
                "sender": "Agent",
            },
        }
        tried = False

        def attempt() -> dict[str, Any] | None:
            nonlocal tried
            if tried and self.note_with(ticket_id, note["marker"]) is not None:
                return None  # the attempt that timed out was applied after all
            tried = True
            fence(self.timeout_total)
            return self._once(self.api.ticket.update, ticket_id, body)

        answer = self._retrying(attempt)
        if answer is not None:
            _check_kept("ticket", attributes, answer)
        return answer

    def note_with(self, ticket_id: int, marker: str) -> dict[str, Any] | None:
        """The ticket's article that carries `marker`, if any."""
        articles = self._read(f"ticket_articles/by_ticket/{ticket_id}")
        return next((a for a in articles if marker in (a.get("body") or "")), None)

    def search_where(
        self, resource: str, conditions: list[dict[str, Any]], *, sort_by: str, order_by: str
    ) -> list[dict[str, Any]]:
        """The first SEARCH_PAGE records, with names, of POST /{resource}/search with a
        selector condition (`conditions` joined by AND) and no query. Without a query Zammad
        answers from its database even with Elasticsearch configured (CanSearch#search,
        app/models/concerns/can_search.rb): no query_string syntax, so values need no escaping
        (the selector binds them: lib/selector/sql.rb), and no index lag. `sort_by` and
        `order_by` are comma-separated lists (lib/sql_helper.rb)."""
        body = {
            "condition": {"operator": "AND", "conditions": conditions},
            "sort_by": sort_by,
            "order_by": order_by,
            "page": 1,
            "per_page": SEARCH_PAGE,
        }
        url = f"{self.api.url}{resource}/search"
        answer = self._retrying(
            self._once,
            lambda: self.api.session.post(url, params={"expand": "true"}, json=body).json(),
        )
        if not isinstance(answer, list):  # 6.x answers a plain array (renders_models.rb)
            raise errors.ApiRejected(f"{resource}/search answered {answer!r:.200}, not a list")
        return answer

    def all_where(self, resource: str, conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every record matching `conditions` (see `search_where`), read by id: each page asks
        for the ids after the last one read (`<model>.id` "after (absolute)", which the
        selector turns into `>=`), not for an offset, so a record that changes or leaves
        meanwhile does not shift the pages. Ids out of that order raise ConditionIgnored."""
        model = resource.removesuffix("s")
        found: list[dict[str, Any]] = []
        after = 0
        while True:
            bound = {"name": f"{model}.id", "operator": "after (absolute)", "value": after + 1}
            page = self.search_where(resource, [*conditions, bound], sort_by="id", order_by="asc")
            ids = [int(r["id"]) for r in page]
            if ids != sorted(set(ids)) or (ids and ids[0] <= after):
                raise ConditionIgnored(f"{resource}/search answered ids {ids[:5]}… after {after}")
            found += page
            if len(page) < SEARCH_PAGE:
                return found
            after = ids[-1]

    def organization(self, organization_id: int) -> dict[str, Any]:
        return self._call(self.api.organization.find, organization_id)

    def update_organization(
        self, organization_id: int, attributes: dict[str, Any]
    ) -> dict[str, Any]:
        """PUT /organizations/{id}: only the attributes given (members sent along would replace
        the organisation's members: renders_models.rb `model_update_render`)."""
        answer = self._call(self.api.organization.update, organization_id, attributes)
        _check_kept("organization", attributes, answer)
        return answer

    def user(self, user_id: int) -> dict[str, Any]:
        """GET /users/{id}?expand=true: with role names."""
        return self._get(f"users/{user_id}", expand="true")

    # --- tags, articles, time accounting (API: api/ticket/tags, …/articles, …/timeaccounting) ---

    def tags(self, ticket_id: int) -> list[str]:
        return list(self._get("tags", object="Ticket", o_id=ticket_id).get("tags") or [])

    def add_tag(self, ticket_id: int, tag: str) -> None:
        self._call(self.api.ticket_tag.add, ticket_id, tag)

    def remove_tag(self, ticket_id: int, tag: str) -> None:
        self._call(self.api.ticket_tag.remove, ticket_id, tag)

    def articles(self, ticket_id: int) -> list[dict[str, Any]]:
        return list(self._get(f"ticket_articles/by_ticket/{ticket_id}", expand="true"))

    def time_accountings(self, ticket_id: int) -> list[dict[str, Any]]:
        return list(self._get(f"tickets/{ticket_id}/time_accountings"))

    # --- setup (API: api/object; webhooks and triggers have no zammad-py resource) ---

    def object_attributes(self) -> list[dict[str, Any]]:
        return list(self._get("object_manager_attributes"))

    def create_object_attribute(self, attribute: dict[str, Any]) -> dict[str, Any]:
        def existing() -> dict[str, Any] | None:
            key = (attribute["object"], attribute["name"])
            return next(
                (
                    a
                    for a in self._read("object_manager_attributes")
                    if (a["object"], a["name"]) == key
                ),
                None,
            )

        return self._create(lambda: Object(connection=self.api).create(attribute), existing)

    def execute_migrations(self) -> None:
        self._call(Object(connection=self.api).execute_migrations)

    def webhooks(self) -> list[dict[str, Any]]:
        return self._index("webhooks")

    def create_webhook(self, webhook: dict[str, Any]) -> dict[str, Any]:
        return self._create(
            lambda: self._post("webhooks", webhook),
            lambda: self._named("webhooks", webhook["name"]),
        )

    def triggers(self) -> list[dict[str, Any]]:
        return self._index("triggers")

    def create_trigger(self, trigger: dict[str, Any]) -> dict[str, Any]:
        return self._create(
            lambda: self._post("triggers", trigger),
            lambda: self._named("triggers", trigger["name"]),
        )


def assets(answer: dict[str, Any], model: str) -> list[dict[str, Any]]:
    """The records of one model in a `?all=true` answer (keyed by id, as JSON strings)."""
    return list(((answer.get("assets") or {}).get(model) or {}).values())


def asset(answer: dict[str, Any], model: str, record_id: Any) -> dict[str, Any]:
    """One record of a `?all=true` answer; empty if it is not there."""
    if record_id is None:
        return {}
    return ((answer.get("assets") or {}).get(model) or {}).get(str(record_id)) or {}


def same_value(current: Any, wanted: Any) -> bool:
    """Zammad echoes values in its own forms: datetimes with milliseconds, '' for empty."""
    if current == wanted or (current in (None, "") and wanted in (None, "")):
        return True
    if isinstance(current, str) and isinstance(wanted, str):
        try:
            return _instant(current) == _instant(wanted)
        except ValueError:
            return False
    return False


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _check_kept(record: str, sent: dict[str, Any], answer: Any) -> None:
    """Zammad answers an update with the record as stored: a value sent and not there was
    dropped (can_cleanup_param.rb). The key may still be in the answer, with its old value,
    when the column exists but the answering process does not know it yet."""
    if isinstance(answer, dict):
        dropped = sorted(k for k in sent if k not in answer or not same_value(answer[k], sent[k]))
        if dropped:
            raise AttributesDropped(record, dropped)


# A search answers 50 records a page, at most 200 (renders_models.rb: model_search_render).
SEARCH_PAGE = 200
INDEX_PAGE = 500  # model_index_render's default page; its maximum is 1000


class ConditionIgnored(errors.ApiError):
    """Zammad answered records outside a search's condition, or out of the order asked for:
    the condition was not applied. (Selector::Sql drops an invalid condition, and the search
    then answers every record the user may read: lib/selector/sql.rb `get`,
    app/models/concerns/can_search.rb `search_sql_base`.) Not retried: the answer would be
    the same."""


def _raise_for_status(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    if response.status_code >= 300:
        raise errors.from_response(response)
