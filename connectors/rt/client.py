"""Request Tracker's REST 2 API (core in RT 5), one client per RT instance.

Facts it relies on, checked against RT 5.0.3 (Debian 12) and its source
(`lib/RT/REST2/...` under /usr/share/request-tracker5):
- auth: `Authorization: token <token>` (RT/REST2/Middleware/Auth.pm) or basic auth. RT checks
  the password or token with bcrypt on every request, so the session keeps its connection and
  the adapter makes as few calls as it can.
- searches page at most 100 a page (RT/REST2/Resource/Collection.pm); an empty result has
  `pages: 0.0`, and the `next_page` links are malformed, so pages are asked for by number.
- dates in TicketSQL are read in the API user's time zone, and an explicit `Z` or offset is
  misread (RT/Tickets.pm _DateLimit, RT/Date.pm): setup-rt sets the user's time zone to UTC and
  every date is sent as `YYYY-MM-DD HH:MM:SS`.
- a custom field value `""` adds an empty value; `null` clears it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests

from adapter import errors
from adapter.retry import retrying
from mappings.rt import custom_fields

T = TypeVar("T")
TIMEOUT = (5.0, 30.0)  # connect, read: bcrypt makes every RT call cost a few hundred ms
PAGE = 100  # RT's maximum per page


def rt_time(moment: datetime) -> str:
    """A time as TicketSQL and `Due` want it: UTC, without zone (see above)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class RtClient:
    """Every call retries transient failures (5xx, 429, timeouts, resets) a few times;
    anything else raises a typed ApiError."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: tuple[float, float] = TIMEOUT,
        attempts: int = 3,
        first_wait: float = 0.5,
        max_wait: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base = url.rstrip("/") + "/REST/2.0/"
        self.timeout = timeout
        self.timeout_total = sum(timeout)
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"token {token}"
        elif user and password:
            self.session.auth = (user, password)
        else:
            raise ValueError("RT needs a token, or a user and a password")
        self.login = user
        self._retrying = retrying(
            attempts=attempts, initial=first_wait, maximum=max_wait, sleep=sleep
        )

    # --- transport ---

    def _once(self, method: str, path: str, **kwargs: Any) -> Any:
        """One attempt, its failure typed; the answer's JSON (None for 204)."""
        try:
            response = self.session.request(
                method, self.base + path, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as e:
            raise errors.from_exception(e) from e
        if response.status_code >= 400:
            raise errors.from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as e:
            raise errors.ApiError(
                "RT answered with something that is not JSON", status=response.status_code
            ) from e

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """For reads and idempotent writes (PUT of absolute values): retried as they are."""
        return self._retrying(self._once, method, path, **kwargs)

    def _create(self, create: Callable[[], T], existing: Callable[[], T | None]) -> T:
        """For a POST that RT would apply twice (a comment, a custom field): before every
        attempt, the first included, look whether it is there already."""

        def attempt() -> T:
            found = existing()
            return found if found is not None else create()

        return self._retrying(attempt)

    def _pages(
        self, path: str, params: dict[str, Any], body: Any = None, *, form: bool = False
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of a collection: GET, POST with a JSON search `body`, or POST with the
        parameters as a `form`."""
        method = "GET" if body is None and not form else "POST"
        page = 1
        while True:
            paged = {**params, "page": page, "per_page": PAGE}
            answer = (
                self._call(method, path, data=paged)
                if form
                else self._call(method, path, params=paged, json=body)
            )
            items = answer.get("items") or []
            if items:
                yield items
            pages = answer.get("pages")  # RT tells it only where the user may see all
            if len(items) < PAGE or (pages is not None and page >= int(pages)):
                return
            page += 1

    # --- tickets ---

    def ticket(self, ticket_id: int, **params: Any) -> dict[str, Any]:
        """GET /ticket/{id}. For a merged ticket RT answers with the surviving one."""
        return self._call("GET", f"ticket/{ticket_id}", params=params)

    def search(self, query: str, fields: dict[str, str], **params: Any) -> Iterator[dict[str, Any]]:
        """POST /tickets with TicketSQL as a form, every page: RT reads a POST as a GET
        (RT/REST2/Resource/Tickets.pm), and a query naming a customer's many users would
        outgrow the request line a proxy in front of RT accepts (8 KB in Apache and nginx)."""
        for page in self._pages("tickets", {"query": query, **fields, **params}, form=True):
            yield from page

    def transactions(self, query: str, fields: str) -> Iterator[dict[str, Any]]:
        """GET /transactions?query=TransactionSQL, every page, oldest first. (A single link
        transaction cannot be read: GET /transaction/{id} answers 500 for AddLink in 5.0.3.)"""
        for page in self.transaction_pages(query, fields):
            yield from page

    def transaction_pages(self, query: str, fields: str) -> Iterator[list[dict[str, Any]]]:
        """The same, a page at a time, each read after the last id of the one before instead
        of by page number: a transaction committed meanwhile is appended at the end and never
        shifts one still to be read into a page already read. RT drops from a page what the
        user may not see, after reading it (RT/Transactions.pm AddRecord), and tells no total
        but to a superuser (RT/REST2/Resource/Collection.pm): a short page is taken for the
        last, so `query` must select only transactions the user may see."""
        after = 0
        while True:
            params = {
                "query": f"({query}) AND id > {after}",
                "fields": fields,
                "orderby": "id",
                "order": "ASC",
                "page": 1,
                "per_page": PAGE,
            }
            items = self._call("GET", "transactions", params=params).get("items") or []
            if items:
                yield items
            if len(items) < PAGE:
                return
            after = int(items[-1]["id"])

    def update_ticket(self, ticket_id: int, changes: dict[str, Any]) -> list[str]:
        """PUT /ticket/{id} with absolute values: RT's messages, one per change ([] if none)."""
        return self._call("PUT", f"ticket/{ticket_id}", json=changes) or []

    def comment_once(self, ticket_id: int, subject: str, text: str, marker: str) -> bool:
        """A private comment, unless one whose subject holds `marker` is there already (an
        earlier attempt may have been applied before its answer was lost). The subject, not
        the text, because RT keeps a comment's subject in the transaction's Data, which
        TransactionSQL searches; the text lives in attachments. True if it posted."""
        query = (
            f"ObjectType = 'RT::Ticket' AND ObjectId = {int(ticket_id)} AND Type = 'Comment'"
            f" AND Data LIKE '{marker}'"
        )
        body = {"Subject": subject, "Content": text, "ContentType": "text/plain"}
        posted = self._create(
            lambda: self._once("POST", f"ticket/{ticket_id}/comment", json=body) or True,
            lambda: False if next(self.transactions(query, "Data"), None) else None,
        )
        return posted is not False

    # --- setup: queues, custom fields, users ---

    def queue(self, name: str) -> dict[str, Any] | None:
        try:
            return self._call("GET", f"queue/{requests.utils.quote(name, safe='')}")
        except errors.ApiNotFound:
            return None

    def custom_field(self, name: str, lookup_type: str) -> dict[str, Any] | None:
        """The enabled custom field of that name and kind (RT allows two of one name)."""
        answer = self._call(
            "POST",
            "customfields",
            params={"fields": "Name,LookupType,Type,MaxValues,Disabled"},
            json=[
                {"field": "Name", "value": name},
                {"field": "LookupType", "value": lookup_type},
            ],
        )
        return next((cf for cf in answer.get("items") or [] if cf.get("Name") == name), None)

    def create_custom_field(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._create(
            lambda: self._once("POST", "customfield", json=body),
            lambda: self.custom_field(body["Name"], body["LookupType"]),
        )

    def queue_custom_fields(self, queue_id: int | str) -> set[str]:
        """Names of the ticket custom fields that apply to the queue (its own and global)."""
        path = f"queue/{queue_id}/customfields"
        return {cf["Name"] for page in self._pages(path, {"fields": "Name"}) for cf in page}

    def users_with(self, field: str, value: str) -> list[str]:
        """Names of the users whose custom field `field` is `value` (POST /users with a JSON
        search: TicketSQL cannot reach a requestor's custom fields). RT leaves out a condition
        on a field it cannot load and answers every user (RT/REST2/Resource/Collection/
        QueryByJSON.pm): the answer is checked, no extra call."""
        body = [{"field": f"CustomField.{{{field}}}", "value": value}]
        names = []
        for page in self._pages("users", {"fields": "Name,CustomFields"}, body):
            for user in page:
                if str(custom_fields(user.get("CustomFields")).get(field)).lower() != value.lower():
                    raise errors.ApiRejected(
                        f"RT answered users whose {field!r} is not {value!r}: it has no user "
                        f"custom field {field!r} that the adapter's user may see. Create it with "
                        "`entitlements setup-rt`, and grant SeeCustomField globally"
                    )
                names.append(str(user.get("Name") or user["id"]))
        return names

    def user_named(self, name: str, fields: str) -> dict[str, Any] | None:
        """A user by name, through a search (POST /users), not GET /user/{name}: RT shows a
        user's custom fields there only to AdminUsers (RT/REST2/Resource/User.pm), and takes
        a name of digits for an id. (A role member's `id` in a ticket is its name.)"""
        body = [{"field": "Name", "value": name}]
        page = next(self._pages("users", {"fields": f"Name,{fields}"}, body), [])
        return next((u for u in page if u.get("Name") == name), None)

    def update_user(self, name: str, changes: dict[str, Any]) -> list[str]:
        return self._call("PUT", f"user/{requests.utils.quote(name, safe='')}", json=changes) or []

    def me(self) -> dict[str, Any]:
        """The API user's record (its name and time zone)."""
        return self._call("GET", "user/" + requests.utils.quote(self.user_name(), safe=""))

    def user_name(self) -> str:
        if self.login:
            return self.login
        # A token names its user by id: 1-<user id>-<secret> (RT/AuthToken.pm).
        token = self.session.headers["Authorization"].removeprefix("token ")
        return token.split("-")[1]
