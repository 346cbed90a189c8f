"""An in-process Zammad stand-in that speaks Zammad's REST and webhook wire formats.

Used by the test suite and by ``entitlements demo``. State (users, organisations, groups,
tickets, articles, tags, time accountings, object manager attributes, webhooks, triggers) lives
in memory behind one lock. The REST side answers what the adapter and zammad-py call, with
Zammad's paths, response shapes and error bodies. Triggers send webhooks the way Zammad's
``TriggerWebhookJob`` does: from a background sender, payload built when the attempt is made,
HMAC-SHA1 signed, five attempts with linear back-off. Faults can be injected per request.

Search answers as Zammad 6.x does, with Elasticsearch (``search_index=True``: a query goes to
its ``query_string``, a query it cannot parse is answered 200 ``[]``) or without (SQL: the
condition as a selector, the query as a LIKE); a small query subset is evaluated in memory.

What it does not do: permissions beyond one API token, SLA/escalation computation, the search
index's lag behind the database, trigger actions other than webhooks, custom webhook payloads.
It must stay free of ``adapter``/``webhooks``/``mappings`` imports.

Usage::

    with ZammadStandin(time_scale=0.01) as zammad:
        client = ZammadAPI(url=zammad.api_url, http_token=zammad.token)
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

__all__ = ["ApiError", "Delivery", "RequestRecord", "ZammadStandin", "ruby_json"]


from connectors.standin import LoopbackHandler, LoopbackServer

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"

# app/jobs/trigger_webhook_job.rb: `retry_on RequestError, attempts: 5, wait: executions * 10 s`
# and the request's `open_timeout: 4, read_timeout: 30, total_timeout: 60` (applied in
# lib/user_agent.rb, get_http and make_connection). The 60 s total is not modelled: the read
# timeout counts per read, so a receiver that trickles its answer is never cut off here.
MAX_ATTEMPTS = 5
RETRY_WAIT_S = 10.0
OPEN_TIMEOUT_S = 4.0
READ_TIMEOUT_S = 30.0
MIN_OPEN_TIMEOUT_S = 1.0  # a scaled-down connect timeout would make loopback flaky under load

SYSTEM_USER_ID = 1  # Zammad's "-" user: creator of seed data, owner of unassigned tickets
INTEGRATION_USER_ID = 2  # owner of the API token
AGENT_USER_ID = 3  # a human agent, the default actor of the control API

# Zammad's seed data (ids as in a fresh installation).
ROLES = {1: "Admin", 2: "Agent", 3: "Customer"}
STATES = {
    1: "new",
    2: "open",
    3: "pending reminder",
    4: "closed",
    5: "merged",
    6: "removed",
    7: "pending close",
}
STATE_TYPE_IDS = {1: 1, 2: 2, 3: 3, 4: 5, 5: 6, 6: 7, 7: 4}  # state id -> its state type id
CLOSED_STATES = frozenset({4, 5, 6})
PRIORITIES = {1: "1 low", 2: "2 normal", 3: "3 high"}
DEFAULT_PRIORITY_ID = 2
ARTICLE_TYPES = {
    1: "email",
    2: "sms",
    3: "chat",
    4: "fax",
    5: "phone",
    6: "twitter status",
    7: "twitter direct-message",
    8: "facebook feed post",
    9: "facebook feed comment",
    10: "note",
    11: "web",
    12: "telegram personal-message",
}
ARTICLE_SENDERS = {1: "Agent", 2: "Customer", 3: "System"}

OBJECTS = {"Ticket": 2, "User": 1, "Organization": 4, "Group": 3}  # name -> object_lookup_id
DATA_TYPES = frozenset({
    "input", "user_autocompletion", "checkbox", "select", "tree_select", "datetime", "date",
    "tag", "richtext", "textarea", "integer", "autocompletion_ajax", "boolean",
    "user_permission", "active", "multiselect", "multi_tree_select",
    "autocompletion_ajax_external_data_source",
})  # fmt: skip
# data_type may only change inside this family once created
DATA_TYPE_FAMILY = frozenset({"input", "select", "tree_select", "checkbox"})
INPUT_TYPES = frozenset({"text", "password", "tel", "fax", "email", "url"})
# check_name in app/models/object_manager/attribute.rb (6.x): RESERVED_NAMES and
# RESERVED_NAMES_PER_MODEL. 7.x adds "preferences" and "data"; the stand-in is 6.x.
RESERVED_NAMES = frozenset({
    "destroy", "true", "false", "integer", "select", "drop", "create", "alter", "index", "table",
    "varchar", "blob", "date", "datetime", "timestamp", "url", "icon", "initials", "avatar",
    "permission", "validate", "subscribe", "unsubscribe", "translate", "search", "_type", "_doc",
    "_id", "id", "action", "scope", "constructor",
})  # fmt: skip
RESERVED_NAMES_PER_MODEL = {"Ticket": frozenset({"article"})}
ATTRIBUTE_NAME = re.compile(r"^[a-z0-9_]+$")
# migration_execute (same file) adds these columns with `default: data_option[:default]`, so
# the database fills every existing row with it; the string-like types get no column default.
COLUMN_DEFAULT_TYPES = frozenset(
    {"integer", "user_autocompletion", "boolean", "active", "datetime", "date"}
)
PROTECTED_COLUMNS = frozenset(
    {"id", "login", "created_at", "updated_at", "created_by_id", "updated_by_id"}
)

TICKET_COLUMNS = (
    "id", "group_id", "priority_id", "state_id", "organization_id", "number", "title",
    "owner_id", "customer_id", "note", "first_response_at", "first_response_escalation_at",
    "first_response_in_min", "first_response_diff_in_min", "close_at", "close_escalation_at",
    "close_in_min", "close_diff_in_min", "update_escalation_at", "update_in_min",
    "update_diff_in_min", "last_contact_at", "last_contact_agent_at",
    "last_contact_customer_at", "last_owner_update_at", "create_article_type_id",
    "create_article_sender_id", "article_count", "escalation_at", "pending_time", "type",
    "time_unit", "preferences", "updated_by_id", "created_by_id", "created_at", "updated_at",
)  # fmt: skip
# Keys a PUT may carry that Zammad drops or that only exist in read views.
TICKET_READ_ONLY = frozenset({
    "id", "number", "tags", "created_at", "updated_at", "created_by_id", "updated_by_id",
    "created_by", "updated_by", "article_ids", "article_count", "ticket_time_accounting_ids",
    "ticket_time_accounting", "create_article_type", "create_article_sender",
    "create_article_type_id", "create_article_sender_id",
})  # fmt: skip
TICKET_WRITABLE = frozenset(TICKET_COLUMNS) - TICKET_READ_ONLY
# Saved changes an update event does not carry (TransactionDispatcher.after_update in
# lib/transaction_dispatcher.rb), so selective triggers never see them change.
EVENT_IGNORED = frozenset(
    {"updated_at", "article_count", "create_article_type_id", "create_article_sender_id"}
)
TICKET_TIME_COLUMNS = frozenset(c for c in TICKET_COLUMNS if c.endswith("_at")) | {"pending_time"}
TICKET_ID_COLUMNS = {
    "group_id": "group",
    "priority_id": "priority",
    "state_id": "state",
    "organization_id": "organization",
    "owner_id": "user",
    "customer_id": "user",
}
TICKET_RELATION_NAMES = {
    "state": "state_id",
    "group": "group_id",
    "priority": "priority_id",
    "owner": "owner_id",
    "customer": "customer_id",
    "organization": "organization_id",
}

ORGANIZATION_COLUMNS = (
    "id", "name", "shared", "domain", "domain_assignment", "active", "vip", "note",
    "updated_by_id", "created_by_id", "created_at", "updated_at",
)  # fmt: skip
ORGANIZATION_WRITABLE = frozenset(
    {"name", "shared", "domain", "domain_assignment", "active", "vip"}
)
ORGANIZATION_READ_ONLY = frozenset({
    "id", "created_at", "updated_at", "created_by_id", "updated_by_id", "created_by",
    "updated_by", "member_ids", "members",
})  # fmt: skip

USER_COLUMNS = (
    "id", "organization_id", "login", "firstname", "lastname", "email", "image", "image_source",
    "web", "phone", "fax", "mobile", "department", "street", "zip", "city", "country",
    "address", "vip", "verified", "active", "note", "last_login", "source", "login_failed",
    "out_of_office", "out_of_office_start_at", "out_of_office_end_at",
    "out_of_office_replacement_id", "preferences", "updated_by_id", "created_by_id",
    "created_at", "updated_at",
)  # fmt: skip
# Dropped from nested users in webhook payloads: USER_ATTRIBUTE_FILTER in
# app/jobs/trigger_webhook_job/record_payload/base.rb.
USER_PAYLOAD_HIDDEN = frozenset({
    "last_login", "login_failed", "password", "preferences", "group_ids", "groups",
    "authorization_ids", "authorizations",
})  # fmt: skip

ARTICLE_COLUMNS = (
    "id", "ticket_id", "type_id", "sender_id", "from", "to", "cc", "subject", "reply_to",
    "message_id", "message_id_md5", "in_reply_to", "content_type", "references", "body",
    "internal", "preferences", "updated_by_id", "created_by_id", "origin_by_id", "created_at",
    "updated_at",
)  # fmt: skip


class ApiError(ValueError):
    """A request Zammad would refuse; the control API raises it too (it is a ValueError).
    The body is what humanize_error in app/controllers/application_controller/handles_errors.rb
    renders: `error` and `error_human`, the same text for RecordNotFound (404) and
    UnprocessableEntity or RecordInvalid (422, its first full message)."""

    def __init__(self, status: int, error: str, human: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.human = human or error

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_human": self.human}


def _not_found(model: str, record_id: object) -> ApiError:
    return ApiError(404, f"Couldn't find {model} with 'id'={record_id}")


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, message)


@dataclass(frozen=True)
class RequestRecord:
    """One REST request as the stand-in saw it. ``status`` is None for a reset connection."""

    method: str
    path: str
    query: str
    status: int | None
    body: Any
    fault: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One webhook attempt. ``status`` is the receiver's answer; ``error`` says why it failed."""

    delivery_id: str
    trigger: str
    webhook_id: int
    ticket_id: int
    article_id: int | None
    attempt: int
    status: int | None
    error: str | None
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    started_at: float = field(repr=False)  # time.monotonic(), for back-off checks

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Fault:
    method: str | None
    pattern: re.Pattern[str]
    status: int | None
    times: int
    retry_after: str | None
    delay: float
    reset: bool

    def describe(self) -> str:
        if self.reset:
            return "reset"
        if self.status is not None:
            return f"status {self.status}"
        return f"delay {self.delay}"


@dataclass
class _Job:
    delivery_id: str
    trigger_id: int
    webhook_id: int
    ticket_id: int
    article_id: int | None
    attempt: int = 1


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Req:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    user_id: int

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    @property
    def expand(self) -> bool:
        """response_expand? (has_response_extentions.rb): any Rails true, not only "true"."""
        return self.flag("expand")

    def param(self, name: str) -> Any:
        """Rails' ``params``: a JSON body's keys win over the query string's."""
        if isinstance(self.body, dict) and name in self.body:
            return self.body[name]
        return self.arg(name)

    def flag(self, name: str) -> bool:
        """``ActiveModel::Type::Boolean.new.cast(params[name])``
        (app/controllers/application_controller/has_response_extentions.rb)."""
        value = self.param(name)
        if value is None or value is False or value == "" or value == 0:
            return False
        return str(value) not in FALSE_FLAGS

    def params(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise _unprocessable("Request body must be a JSON object")
        return dict(self.body)


def ruby_json(value: Any) -> bytes:
    """JSON as Ruby's ``to_json`` writes it: compact, UTF-8, ``<>&`` and U+2028/9 escaped.
    Zammad sends webhook bodies as ``params.to_json`` (lib/user_agent.rb, set_params) and
    renders API answers with ``render json:``; the escaping is Rails' (ActiveSupport's JSON
    encoding), not Zammad's own code."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # These characters can only occur inside JSON strings, so plain replacement is safe.
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text.encode("utf-8")


def _iso(moment: datetime) -> str:
    """A time as Zammad's JSON carries it: UTC, milliseconds, Z (Rails' JSON time format)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}.*)?$")


def _parse_time(value: object) -> datetime | None:
    """An ISO 8601 date or date-time as aware UTC; naive values count as UTC (as Rails does)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str) and _ISO_LIKE.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _decimal_string(value: object) -> str:
    """Zammad's decimal columns (time_unit) serialise as strings like "15.0"."""
    try:
        number = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise _unprocessable(f"time_unit {value!r} is not a number") from exc
    text = format(number.normalize(), "f")
    return text if "." in text else text + ".0"


def _as_int(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise _unprocessable(f"{what} must be an id, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise _unprocessable(f"{what} must be an id, not {value!r}")


def _as_bool(value: object, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", 1):
        return True
    if value in ("false", "0", 0):
        return False
    raise _unprocessable(f"{what} must be true or false, not {value!r}")


def _condition_text(value: object) -> str:
    """Trigger condition values are strings in Zammad; render record values the same way."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return list(value)
    return [value]


def _sorted(record: Mapping[str, Any]) -> dict[str, Any]:
    return dict(sorted(record.items()))


# Query tokens: field:[a TO b], field:"quoted", "quoted", or anything without spaces.
# Selector::Sql::VALID_OPERATORS (lib/selector/sql.rb): any other operator raises (HTTP 500).
SELECTOR_OPERATORS = frozenset({
    "after (absolute)", "after (relative)", "before (absolute)", "before (relative)",
    "contains all not", "contains all", "contains not", "contains one not", "contains one",
    "contains", "does not match regex", "ends with one of", "ends with", "from (relative)",
    "has changed", "has reached warning", "has reached", "is any of", "is in working time",
    "is none of", "is not in working time", "is not", "is set", "is", "matches regex",
    "not set", "starts with one of", "starts with", "till (relative)", "today",
    "within last (relative)", "within next (relative)",
})  # fmt: skip
# ActiveModel::Type::Boolean::FALSE_VALUES, how has_response_extentions.rb reads expand & co.
FALSE_FLAGS = frozenset({"0", "f", "F", "false", "FALSE", "off", "OFF"})
RANGE_OPERATORS = (">=", "<=", ">", "<")  # Elasticsearch query_string: field:>=value


class _QuerySyntaxError(ValueError):
    """A query Elasticsearch's query_string parser refuses (HTTP 400 from Elasticsearch)."""


class _InvalidCondition(ValueError):
    """Selector::Base::InvalidCondition (lib/selector/base.rb)."""


class _Handler(LoopbackHandler):
    server_version = "ZammadStandin"

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.send_error(HTTPStatus.BAD_REQUEST)
            return
        raw = self.rfile.read(length) if length else b""
        reply = self.server.standin._handle(self.command, self.path, self.headers, raw)
        if reply is None:
            self.server.mark_reset(self.connection)
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


class ZammadStandin:
    """A small Zammad: REST API on 127.0.0.1, webhooks from triggers, faults on demand.

    ``time_scale`` scales the webhook retry waits (attempt x 10 s) and the read timeout (30 s);
    tests use e.g. 0.01. ``clock`` returns the current time (aware) for record timestamps.
    ``search_index``: whether Zammad has Elasticsearch configured (``search_index`` may be
    changed at any time); it decides how a search with a query is answered.
    """

    system_user_id = SYSTEM_USER_ID
    integration_user_id = INTEGRATION_USER_ID
    agent_user_id = AGENT_USER_ID

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        time_scale: float = 1.0,
        token: str | None = None,
        clock: Callable[[], datetime] | None = None,
        search_index: bool = True,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self.token = token or secrets.token_urlsafe(32)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._last_stamp: datetime | None = None
        self.search_index = search_index

        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._ids: dict[str, itertools.count[int]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._user_roles: dict[int, list[int]] = {}
        self._organizations: dict[int, dict[str, Any]] = {}
        self._groups: dict[int, dict[str, Any]] = {}
        self._priorities: dict[int, dict[str, Any]] = {}
        self._states: dict[int, dict[str, Any]] = {}
        self._tickets: dict[int, dict[str, Any]] = {}
        self._articles: dict[int, dict[str, Any]] = {}
        self._ticket_articles: dict[int, list[int]] = {}
        self._time_accountings: dict[int, dict[str, Any]] = {}
        self._ticket_time: dict[int, list[int]] = {}
        self._tags: dict[int, list[str]] = {}
        self._attributes: dict[int, dict[str, Any]] = {}
        self._stale_columns: set[tuple[str, str]] = set()
        self._webhooks: dict[int, dict[str, Any]] = {}
        self._triggers: dict[int, dict[str, Any]] = {}
        self._faults: list[_Fault] = []
        self._requests: list[RequestRecord] = []
        self._deliveries: list[Delivery] = []
        self._queue: list[tuple[float, int, _Job]] = []
        self._queue_seq = itertools.count()
        self._in_flight = 0
        self._stopping = False
        self._routes = self._build_routes()
        self._seed()

        self._httpd = LoopbackServer((host, port), _Handler, self, "zammad stand-in")
        self._serve_thread: threading.Thread | None = None
        self._sender_thread: threading.Thread | None = None
        self._session: requests.Session | None = None
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """What zammad-py's ``ZammadAPI(url=...)`` takes."""
        return self.url + API_PREFIX

    def start(self) -> ZammadStandin:
        with self._lock:
            if self._stopped:
                raise RuntimeError("a stopped ZammadStandin cannot be restarted")
            if self._serve_thread is not None:
                return self
            session = requests.Session()
            session.trust_env = False  # no proxies from the environment for webhook POSTs
            self._session = session
            self._serve_thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="zammad-standin-http",
                daemon=True,
            )
            self._sender_thread = threading.Thread(
                target=self._sender_loop, name="zammad-standin-webhooks", daemon=True
            )
        self._serve_thread.start()
        self._sender_thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and sending; pending webhook deliveries are dropped."""
        with self._wake:
            if self._stopped:
                return
            self._stopped = True
            self._stopping = True
            self._wake.notify_all()
        if self._serve_thread is not None:
            self._httpd.shutdown()
            self._serve_thread.join()
        self._httpd.close_connections()
        self._httpd.server_close()
        if self._sender_thread is not None:
            self._sender_thread.join(timeout=READ_TIMEOUT_S * self.time_scale + 5)
        if self._session is not None:
            self._session.close()

    def __enter__(self) -> ZammadStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ control API: setup

    def add_group(self, name: str) -> int:
        with self._lock:
            if self._group_by_name(name) is not None:
                raise _unprocessable(f"Group {name!r} already exists")
            return self._insert_group(name)

    def add_organization(self, name: str, **attributes: Any) -> int:
        """Custom attributes (e.g. ``customer_number``) not yet defined are created as
        executed object manager attributes, as an admin would have done beforehand."""
        with self._lock:
            if any(o["name"].lower() == name.lower() for o in self._organizations.values()):
                raise _unprocessable(f"Organization {name!r} already exists")
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
                raise _not_found("Organization", organization_id)
            role_ids = []
            for role in roles:
                role_id = next((i for i, n in ROLES.items() if n == role), None)
                if role_id is None:
                    raise _unprocessable(f"Unknown role {role!r}")
                role_ids.append(role_id)
            columns, custom = self._split_control_attributes("User", attributes)
            user_id = self._insert_user(firstname, lastname, email, organization_id, role_ids)
            self._users[user_id].update(columns)
            self._users[user_id].update(custom)
            return user_id

    def add_object_attribute(
        self,
        object: str,
        name: str,
        data_type: str = "input",
        data_option: Mapping[str, Any] | None = None,
        display: str | None = None,
    ) -> int:
        """An already executed custom attribute (shortcut for POST + execute_migrations)."""
        with self._lock:
            attribute = self._validate_new_attribute(
                {
                    "object": object,
                    "name": name,
                    "display": display or name,
                    "data_type": data_type,
                    "data_option": dict(data_option or _default_data_option(data_type)),
                }
            )
            attribute["to_create"] = False
            self._attributes[attribute["id"]] = attribute
            self._materialise(attribute)
            return attribute["id"]

    def forget_until_restart(self, object: str, name: str) -> None:
        """Answer as a Zammad process that has not reloaded its columns since `name` was
        migrated: param_cleanup keeps only the columns of `Model.new`, from the process's column
        cache, which only the process that ran the migration resets (reset_database_info in
        app/models/object_manager/attribute.rb; can_cleanup_param.rb): writes drop the
        attribute, answered 200, until `restart`."""
        with self._lock:
            self._stale_columns.add((object, name))

    def restart(self) -> None:
        """Zammad restarted: every process knows every migrated column."""
        with self._lock:
            self._stale_columns.clear()

    def add_webhook(
        self,
        endpoint: str,
        signature_token: str | None = None,
        *,
        name: str | None = None,
        ssl_verify: bool = True,
        active: bool = True,
    ) -> int:
        with self._lock:
            record = self._webhook_record(
                {
                    "name": name or f"webhook {len(self._webhooks) + 1}",
                    "endpoint": endpoint,
                    "signature_token": signature_token,
                    "ssl_verify": ssl_verify,
                    "active": active,
                },
                self.integration_user_id,
            )
            return record["id"]

    def add_trigger(
        self,
        name: str,
        condition: Mapping[str, Any],
        webhook_id: int,
        *,
        execution_condition_mode: str = "selective",
        active: bool = True,
    ) -> int:
        with self._lock:
            record = self._trigger_record(
                {
                    "name": name,
                    "condition": dict(condition),
                    "perform": {"notification.webhook": {"webhook_id": webhook_id}},
                    "activator": "action",
                    "execution_condition_mode": execution_condition_mode,
                    "active": active,
                },
                self.integration_user_id,
            )
            return record["id"]

    # ------------------------------------------------------------------ control API: events

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
                raise _not_found("User", customer_id)
            actor = by_user_id or customer_id
            if actor not in self._users:
                raise _not_found("User", actor)
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
                raise _not_found("User", by_user_id)
            self._update_ticket(ticket_id, changes, by_user_id)
            return self._ticket_view(self._ticket(ticket_id), names=True)

    def add_article(
        self,
        ticket_id: int,
        body: str,
        type: str = "note",
        internal: bool = False,
        by_user_id: int = AGENT_USER_ID,
        *,
        sender: str | None = None,
        subject: str | None = None,
        content_type: str = "text/plain",
    ) -> int:
        """An article by a user; counts as a ticket update (runs the "update" triggers)."""
        with self._lock:
            self._ticket(ticket_id)
            if by_user_id not in self._users:
                raise _not_found("User", by_user_id)
            params: dict[str, Any] = {
                "body": body,
                "type": type,
                "internal": internal,
                "content_type": content_type,
            }
            if sender is not None:
                params["sender"] = sender
            if subject is not None:
                params["subject"] = subject
            article = self._article_params(params, by_user_id)
            article_id, changed = self._insert_article(ticket_id, article, by_user_id)
            self._run_triggers(ticket_id, "update", changed, article_id, by_user_id)
            return article_id

    def add_time_accounting(
        self,
        ticket_id: int,
        time_unit: float | str,
        type_id: int | None = None,
        *,
        article_id: int | None = None,
        by_user_id: int = AGENT_USER_ID,
    ) -> int:
        """Accounted time on a ticket: when it changes the ticket's ``time_unit`` total, the
        ticket is saved by ``by_user_id`` and the "update" triggers run (see
        ``_insert_time_accounting``); the event names no article."""
        with self._lock:
            self._ticket(ticket_id)
            if by_user_id not in self._users:
                raise _not_found("User", by_user_id)
            record_id, changed = self._insert_time_accounting(
                ticket_id, time_unit, type_id, article_id, by_user_id
            )
            if changed:
                self._run_triggers(ticket_id, "update", changed, None, by_user_id)
            return record_id

    def merge(self, ticket_id: int, into_id: int, by_user_id: int = AGENT_USER_ID) -> None:
        """Merge a ticket into another as Zammad does (see ``_merge``): the source gets state
        "merged" and an `update.merged_into` event, the target `update.received_merge`."""
        with self._lock:
            self._merge(ticket_id, into_id, by_user_id)

    def add_tag(self, ticket_id: int, tag: str) -> None:
        with self._lock:
            self._ticket(ticket_id)
            self._tag_add(ticket_id, tag)

    def remove_tag(self, ticket_id: int, tag: str) -> None:
        with self._lock:
            self._ticket(ticket_id)
            self._tag_remove(ticket_id, tag)

    # ------------------------------------------------------------------ control API: reading

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        """The ticket as ``GET /tickets/{id}?expand=true`` shows it (ids and names)."""
        with self._lock:
            return self._ticket_view(self._ticket(ticket_id), names=True)

    def tickets(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._ticket_view(t, names=True) for t in self._tickets.values()]

    def organization(self, organization_id: int) -> dict[str, Any]:
        with self._lock:
            return self._organization_view(self._organization(organization_id), names=True)

    def user(self, user_id: int) -> dict[str, Any]:
        with self._lock:
            return self._user_view(self._user(user_id), names=True)

    def tags(self, ticket_id: int) -> list[str]:
        with self._lock:
            return list(self._tags.get(ticket_id, []))

    def articles(self, ticket_id: int) -> list[dict[str, Any]]:
        with self._lock:
            self._ticket(ticket_id)
            return [
                self._article_view(self._articles[a], names=True)
                for a in self._ticket_articles.get(ticket_id, [])
            ]

    def time_accountings(self, ticket_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(self._time_accountings[i])
                for i in self._ticket_time.get(ticket_id, [])
            ]

    def object_attributes(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(a) for a in self._attributes.values()]

    @property
    def requests(self) -> list[RequestRecord]:
        """Every REST request received, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def deliveries(self) -> list[Delivery]:
        """Every webhook attempt made, oldest first."""
        with self._lock:
            return list(self._deliveries)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is queued, waiting for a retry, or in flight.
        Returns False if that did not happen within ``timeout`` seconds."""
        with self._wake:
            return self._wake.wait_for(
                lambda: not self._queue and self._in_flight == 0, timeout=timeout
            )

    # ------------------------------------------------------------------ control API: faults

    def inject_fault(
        self,
        method: str | None,
        path_regex: str,
        *,
        status: int | None = None,
        times: int = 1,
        retry_after: int | str | None = None,
        delay: float = 0.0,
        reset: bool = False,
    ) -> None:
        """The next ``times`` requests whose method matches (None or "*": any) and whose path
        (without query) matches ``path_regex`` (re.search) sleep ``delay`` seconds, then
        either reset the connection, answer ``status`` (with Zammad's error body and
        ``Retry-After`` if given), or, with only a delay, are served normally."""
        if status is None and not reset and delay <= 0:
            raise ValueError("a fault needs a status, a delay or reset=True")
        if status is not None and reset:
            raise ValueError("a fault either answers a status or resets, not both")
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = _Fault(
            method=None if method in (None, "*") else method.upper(),
            pattern=re.compile(path_regex),
            status=status,
            times=times,
            retry_after=None if retry_after is None else str(retry_after),
            delay=delay,
            reset=reset,
        )
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

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
        return _iso(now)

    def _given_time(self, value: datetime | str | None) -> str:
        if value is None:
            return self._stamp()
        moment = _parse_time(value)
        if moment is None:
            raise ValueError(f"not an ISO 8601 time: {value!r}")
        return _iso(moment)

    def _bump(self, ticket: dict[str, Any]) -> str:
        """A new updated_at for a ticket: later than its last one even if a caller gave it a
        created_at in the future (replayed events), so ``(id, updated_at)`` stays unique."""
        now = self._stamp()
        last = _parse_time(ticket["updated_at"])
        if last is not None and _iso(last) >= now:
            now = _iso(last + timedelta(milliseconds=1))
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
            raise _unprocessable(f"Email address '{email}' is already used for another user.")
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
            raise _not_found("Ticket", ticket_id)
        return ticket

    def _organization(self, organization_id: int) -> dict[str, Any]:
        org = self._organizations.get(organization_id)
        if org is None:
            raise _not_found("Organization", organization_id)
        return org

    def _user(self, user_id: int) -> dict[str, Any]:
        user = self._users.get(user_id)
        if user is None:
            raise _not_found("User", user_id)
        return user

    def _group_by_name(self, name: str) -> int | None:
        return next((g["id"] for g in self._groups.values() if g["name"] == name), None)

    def _resolve_group(self, group: str | int) -> int:
        if isinstance(group, int):
            if group not in self._groups:
                raise _unprocessable(f"No such group id {group}")
            return group
        group_id = self._group_by_name(group)
        if group_id is None:
            raise _unprocessable(f"No lookup value found for 'group': {group!r}")
        return group_id

    def _login(self, user_id: int | None) -> str | None:
        user = self._users.get(user_id) if user_id is not None else None
        return user["login"] if user else None

    def _is_agent(self, user_id: int) -> bool:
        return bool({1, 2} & set(self._user_roles.get(user_id, [])))

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
            raise _unprocessable(f"No lookup value found for '{key}': {value!r}")
        return found

    def _check_reference(self, column: str, value: object) -> int | None:
        """An id for a relation: one that names no record is a 422, as param_cleanup raises
        "Invalid value for param" (app/models/application_model/can_cleanup_param.rb); the
        message is the stand-in's."""
        kind = TICKET_ID_COLUMNS[column]
        if value is None:
            if column == "organization_id":
                return None
            raise _unprocessable(f"{column} can't be blank")
        record_id = _as_int(value, column)
        table: Mapping[int, Any] = {
            "group": self._groups,
            "priority": self._priorities,
            "state": self._states,
            "organization": self._organizations,
            "user": self._users,
        }[kind]
        if record_id not in table:
            raise _unprocessable(f"{column} {record_id} does not exist")
        return record_id

    # ------------------------------------------------------------------ custom attributes

    def _writable(self, object_name: str) -> dict[str, dict[str, Any]]:
        """The custom attributes that writes keep: executed, and known to the process that
        answers (see `forget_until_restart`)."""
        return {
            name: attribute
            for name, attribute in self._executed(object_name).items()
            if (object_name, name) not in self._stale_columns
        }

    def _executed(self, object_name: str) -> dict[str, dict[str, Any]]:
        return {
            a["name"]: a
            for a in self._attributes.values()
            if a["object"] == object_name and not a["to_create"]
        }

    def _custom_defaults(self, object_name: str) -> dict[str, Any]:
        """A new record's custom attributes: the column default, then, for active attributes,
        what app/models/object_manager/attribute/set_defaults.rb sets (data_option.default;
        for date and datetime now + data_option.diff days or hours, or nothing)."""
        values = {}
        for name, attribute in self._executed(object_name).items():
            values[name] = _column_default(attribute)
            if attribute["active"]:
                values[name] = self._new_record_default(attribute)
        return values

    def _new_record_default(self, attribute: Mapping[str, Any]) -> Any:
        option = attribute.get("data_option") or {}
        data_type = attribute["data_type"]
        if data_type in ("date", "datetime"):
            diff = option.get("diff")
            if not diff:
                return None
            now = _parse_time(self._stamp()) or datetime.now(UTC)
            if data_type == "date":
                return (now + timedelta(days=diff)).date().isoformat()
            return _iso((now + timedelta(hours=diff)).replace(second=0, microsecond=0))
        return copy.deepcopy(option.get("default"))

    def _records_of(self, object_name: str) -> Iterable[dict[str, Any]]:
        return {
            "Ticket": self._tickets,
            "User": self._users,
            "Organization": self._organizations,
            "Group": self._groups,
        }[object_name].values()

    def _materialise(self, attribute: Mapping[str, Any]) -> None:
        """After a migration the new column exists on every record: with the attribute's
        default where the column has one (COLUMN_DEFAULT_TYPES), else null."""
        value = _column_default(attribute)
        for record in self._records_of(attribute["object"]):
            record.setdefault(attribute["name"], value)

    def _split_control_attributes(
        self, object_name: str, attributes: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split control-API keyword arguments into built-in columns and custom attributes,
        creating missing custom attributes with a data type guessed from the value."""
        builtin = {
            "Ticket": set(TICKET_COLUMNS) | set(TICKET_RELATION_NAMES),
            "User": set(USER_COLUMNS),
            "Organization": set(ORGANIZATION_COLUMNS),
            "Group": set(),
        }[object_name]
        columns: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for key, value in attributes.items():
            if key in builtin:
                columns[key] = value
                continue
            attribute = self._executed(object_name).get(key)
            if attribute is None:
                self.add_object_attribute(object_name, key, _guess_data_type(value))
                attribute = self._executed(object_name)[key]
            custom[key] = self._coerce_custom(attribute, value)
        protected = columns.keys() & PROTECTED_COLUMNS
        if protected and object_name != "Ticket":
            raise ValueError(f"cannot set {', '.join(sorted(protected))}")
        return columns, custom

    def _coerce_custom(self, attribute: Mapping[str, Any], value: Any) -> Any:
        """Cast a value the way the attribute's column type would, or refuse it (422)."""
        name = attribute["name"]
        data_type = attribute["data_type"]
        option = attribute.get("data_option") or {}
        if value is None:
            return None
        if data_type == "boolean":
            return _as_bool(value, name)
        if data_type == "integer":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise _unprocessable(f"{name} must be an integer, not {value!r}")
            try:
                number = int(value)
            except ValueError as exc:
                raise _unprocessable(f"{name} must be an integer, not {value!r}") from exc
            low, high = option.get("min"), option.get("max")
            if (low is not None and number < low) or (high is not None and number > high):
                raise _unprocessable(f"{name} must be between {low} and {high}")
            return number
        if data_type == "date":
            moment = _parse_time(value)
            if moment is None:
                raise _unprocessable(f"{name} must be a date (YYYY-MM-DD), not {value!r}")
            return value[:10] if isinstance(value, str) else moment.date().isoformat()
        if data_type == "datetime":
            moment = _parse_time(value)
            if moment is None:
                raise _unprocessable(f"{name} must be an ISO 8601 time, not {value!r}")
            return _iso(moment)  # stored as a timestamp: read back with ms and Z
        if data_type in ("multiselect", "multi_tree_select"):
            return [str(v) for v in _as_list(value)]
        if isinstance(value, dict | list):
            raise _unprocessable(f"{name} must be a string, not {value!r}")
        text = _condition_text(value)
        maxlength = option.get("maxlength")
        if data_type == "input" and isinstance(maxlength, int) and len(text) > maxlength:
            raise _unprocessable(f"{name} is too long (maximum is {maxlength} characters)")
        return text

    def _validate_new_attribute(self, params: Mapping[str, Any]) -> dict[str, Any]:
        object_name = params.get("object")
        name = params.get("name")
        data_type = params.get("data_type")
        if object_name not in OBJECTS:
            raise _unprocessable(f"Invalid object {object_name!r}")
        if not isinstance(name, str):
            raise _unprocessable("Name can't be blank")
        name = name.lower()  # ObjectManager::Attribute.get and .add downcase the name
        if any(a["object"] == object_name and a["name"] == name for a in self._attributes.values()):
            raise _unprocessable("already exists")  # the controller's create, before check_name
        builtin = {
            "Ticket": TICKET_COLUMNS,
            "User": USER_COLUMNS,
            "Organization": ORGANIZATION_COLUMNS,
            "Group": tuple(self._groups[1]),
        }[object_name]
        problem = _check_name(name, object_name) or (
            f"{name} already exists" if name in builtin else None
        )
        if problem:
            raise _unprocessable(f"Name {problem}")  # RecordInvalid: its first full message
        if data_type not in DATA_TYPES:
            raise _unprocessable(f"Invalid data_type {data_type!r}")
        display = params.get("display")
        if not isinstance(display, str) or not display.strip():
            raise _unprocessable("display can't be blank")
        data_option = self._checked_data_option(data_type, params.get("data_option"))
        now = self._stamp()
        return {
            "id": self._next("attribute"),
            "name": name,
            "object": object_name,
            "object_lookup_id": OBJECTS[object_name],
            "display": display,
            "data_type": data_type,
            "data_option": data_option,
            "data_option_new": {},
            "editable": True,
            "active": bool(params.get("active", True)),
            "screens": copy.deepcopy(params.get("screens") or {}),
            "to_create": True,
            "to_migrate": False,
            "to_delete": False,
            "to_config": False,
            "position": 1550,  # Zammad's controller places API-created attributes here
            "created_by_id": self.integration_user_id,
            "updated_by_id": self.integration_user_id,
            "created_at": now,
            "updated_at": now,
        }

    @staticmethod
    def _checked_data_option(data_type: str, given: object) -> dict[str, Any]:
        """Fill in what Zammad's controller fills in (permitted_params in
        app/controllers/object_manager_attributes_controller.rb), then apply its per-type
        requirements. A boolean sent without a default gets default nil: no column default."""
        if given is not None and not isinstance(given, dict):
            raise _unprocessable("data_option must be an object")
        option = copy.deepcopy(given) if given else {"default": ""}
        if "default" not in option:
            string_like = ("input", "select", "multiselect", "tree_select")
            option["default"] = "" if data_type in string_like else None
        boolean_text = data_type == "boolean" and option["default"] in ("true", "false")
        if boolean_text and option.get("options"):
            option["default"] = option["default"] == "true"
        option.setdefault("null", True)
        if not isinstance(option.get("options"), dict | list):
            option["options"] = {}
        if not isinstance(option.get("relation"), str):
            option["relation"] = ""
        problems: list[str] = []
        if data_type == "input":
            if option.get("type") not in INPUT_TYPES:
                problems.append("data_option.type must be one of " + ", ".join(sorted(INPUT_TYPES)))
            if not isinstance(option.get("maxlength"), int):
                problems.append("data_option.maxlength must be an integer")
        elif data_type == "integer":
            problems += [f"data_option.{k} is required" for k in ("min", "max") if k not in option]
        elif data_type == "datetime":
            problems += [
                f"data_option.{k} is required"
                for k in ("future", "past", "diff")
                if k not in option
            ]
        elif data_type == "date" and "diff" not in option:
            problems.append("data_option.diff is required")
        if problems:
            raise _unprocessable("; ".join(problems))
        return option

    # ------------------------------------------------------------------ views
    #
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
        groups = {str(g): ["full"] for g in self._groups} if self._is_agent(user_id) else {}
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

    # ------------------------------------------------------------------ webhook payload

    def _user_payload(self, user_id: int | None) -> dict[str, Any]:
        user = self._users.get(user_id) if user_id is not None else None
        if user is None:
            return {}
        view = self._user_view(user, names=True)
        return _sorted({k: v for k, v in view.items() if k not in USER_PAYLOAD_HIDDEN})

    def _payload(self, ticket_id: int, article_id: int | None) -> dict[str, Any]:
        """Zammad's default payload (`default_payload` in app/jobs/trigger_webhook_job.rb),
        built when the attempt is made: app/jobs/trigger_webhook_job/record_payload/base.rb
        (attributes_with_association_names sorted by key, an association without a record is
        {}), record_payload/ticket.rb (owner, customer, created_by, updated_by, organization,
        priority and group as nested records) and record_payload/ticket/article.rb
        (created_by, updated_by, and accounted_time as `time_unit.to_f`, 0.0 without one)."""
        ticket = self._tickets[ticket_id]
        view = self._ticket_view(ticket, names=True)
        for key in ("owner", "customer", "created_by", "updated_by"):
            view[key] = self._user_payload(ticket[f"{key}_id"])
        organization = self._organizations.get(ticket["organization_id"])
        view["organization"] = (
            _sorted(self._organization_view(organization, names=True)) if organization else {}
        )
        view["priority"] = _sorted(
            self._simple_view(self._priorities[ticket["priority_id"]], names=True)
        )
        view["group"] = _sorted(self._group_view(self._groups[ticket["group_id"]], names=True))
        article: dict[str, Any] = {}
        if article_id is not None and article_id in self._articles:
            record = self._articles[article_id]
            article = self._article_view(record, names=True)
            article["created_by"] = self._user_payload(record["created_by_id"])
            article["updated_by"] = self._user_payload(record["updated_by_id"])
            accounted = [
                Decimal(t["time_unit"])
                for t in self._time_accountings.values()
                if t["ticket_article_id"] == article_id
            ]
            article["accounted_time"] = float(sum(accounted))  # nil.to_f is 0.0
            article = _sorted(article)
        return {"ticket": _sorted(view), "article": article}

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
                    raise _unprocessable("Title can't be blank")
                changes[key] = value
            elif key == "preferences":
                if not isinstance(value, dict):
                    raise _unprocessable("preferences must be an object")
                changes[key] = value  # merged on apply, as Zammad does
            elif key in TICKET_TIME_COLUMNS:
                moment = _parse_time(value)
                if value is not None and moment is None:
                    raise _unprocessable(f"{key} must be an ISO 8601 time, not {value!r}")
                changes[key] = _iso(moment) if moment else None
            elif key == "time_unit":
                changes[key] = None if value is None else _decimal_string(value)
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
                raise _unprocessable("article must be an object")
            article = self._article_params(params["article"], actor)
        changed = self._apply_changes(ticket, changes, actor)
        article_id = None
        if article is not None:
            article_id, article_changed = self._insert_article(ticket_id, article, actor)
            changed |= article_changed
        if changed or article_id is not None:
            self._run_triggers(ticket_id, "update", changed, article_id, actor)

    def _article_params(self, params: Mapping[str, Any], actor: int) -> dict[str, Any]:
        """Validate an article; returns the fields of the record to insert. Raises 422.
        As article_create (app/controllers/concerns/creates_ticket_articles.rb) fills it in,
        for POST /ticket_articles and for `article` in a ticket create or update alike: no
        body is a 422; type defaults to note, sender to Agent for an agent (else Customer);
        `internal` gets no default there, so the column's false applies: a note sent without
        `"internal": true` is public."""
        if params.get("body") is None:
            raise _unprocessable("Need at least an 'article body' field.")
        type_name = params.get("type")
        if type_name is None and params.get("type_id") is not None:
            type_name = ARTICLE_TYPES.get(_as_int(params["type_id"], "type_id"))
        type_name = type_name or "note"
        type_id = next((i for i, n in ARTICLE_TYPES.items() if n == type_name), None)
        if type_id is None:
            raise _unprocessable(f"No lookup value found for 'type': {type_name!r}")
        sender_name = params.get("sender")
        if sender_name is None and params.get("sender_id") is not None:
            sender_name = ARTICLE_SENDERS.get(_as_int(params["sender_id"], "sender_id"))
        sender_name = sender_name or ("Agent" if self._is_agent(actor) else "Customer")
        sender_id = next((i for i, n in ARTICLE_SENDERS.items() if n == sender_name), None)
        if sender_id is None:
            raise _unprocessable(f"No lookup value found for 'sender': {sender_name!r}")
        body = params.get("body", "")
        if not isinstance(body, str):
            raise _unprocessable("body must be a string")
        author = self._users[actor]
        origin_by_id = params.get("origin_by_id")
        if origin_by_id is not None:
            origin_by_id = _as_int(origin_by_id, "origin_by_id")
            self._user(origin_by_id)
        time_unit = params.get("time_unit")
        return {
            "type_id": type_id,
            "sender_id": sender_id,
            "from": params.get("from")
            or f"{author['firstname']} {author['lastname']}".strip()
            or author["login"],
            "to": params.get("to"),
            "cc": params.get("cc"),
            "subject": params.get("subject"),
            "reply_to": None,
            "message_id": None,
            "message_id_md5": None,
            "in_reply_to": None,
            "content_type": params.get("content_type") or "text/plain",
            "references": None,
            "body": body,
            "internal": _as_bool(params.get("internal", False), "internal"),
            "preferences": {},
            "origin_by_id": origin_by_id,
            "time_unit": None if time_unit in (None, "") else _decimal_string(time_unit),
        }

    def _insert_article(
        self, ticket_id: int, params: Mapping[str, Any], actor: int, when: str | None = None
    ) -> tuple[int, set[str]]:
        """Store an article and update its ticket the way Zammad's article observers do;
        returns the article id and the ticket attributes that changed.
        app/models/ticket/article/has_ticket_contact_attributes_impact.rb (after_create):
        article_count, first_response_at, create_article_type_id/sender_id and last_contact_*,
        then `ticket.save!`, which stamps updated_by_id with the author (notes included,
        checks_user_columns_fillup.rb). Simplified: article_count counts System articles too,
        and a customer's article sets last_contact_* even when internal or a note (Zammad:
        public communication only, and per the ticket_last_contact_behaviour setting)."""
        ticket = self._tickets[ticket_id]
        before = dict(ticket)
        when = when or self._bump(ticket)
        article_id = self._next("article")
        fields = {k: v for k, v in params.items() if k != "time_unit"}
        record: dict[str, Any] = dict.fromkeys(ARTICLE_COLUMNS)
        record.update(fields)
        record.update(
            {
                "id": article_id,
                "ticket_id": ticket_id,
                "created_by_id": actor,
                "updated_by_id": actor,
                "created_at": when,
                "updated_at": when,
            }
        )
        self._articles[article_id] = record
        self._ticket_articles[ticket_id].append(article_id)
        if params.get("time_unit") is not None:
            self._insert_time_accounting(ticket_id, params["time_unit"], None, article_id, actor)

        ticket["article_count"] = (ticket["article_count"] or 0) + 1
        if ticket["create_article_type_id"] is None:
            ticket["create_article_type_id"] = record["type_id"]
            ticket["create_article_sender_id"] = record["sender_id"]
        sender = ARTICLE_SENDERS[record["sender_id"]]
        if sender == "Customer":
            ticket["last_contact_at"] = when
            ticket["last_contact_customer_at"] = when
        elif sender == "Agent" and not record["internal"] and record["type_id"] != 10:
            # an agent's public communication answers the customer (note is no communication)
            ticket["last_contact_at"] = when
            ticket["last_contact_agent_at"] = when
            if ticket["first_response_at"] is None:
                ticket["first_response_at"] = when
        ticket["updated_by_id"] = actor
        changed = {k for k, v in ticket.items() if before.get(k) != v}
        return article_id, changed - EVENT_IGNORED

    def _insert_time_accounting(
        self,
        ticket_id: int,
        time_unit: object,
        type_id: int | None,
        article_id: int | None,
        actor: int,
    ) -> tuple[int, set[str]]:
        """Store a time accounting; returns its id and the ticket attributes that changed.
        app/models/ticket/time_accounting.rb: after_save, update_ticket sums the ticket's
        time units and saves the ticket only if the total differs from its time_unit
        (`return if ticket.time_unit.to_d == time_units`, nil counting as 0). That save is an
        ordinary update (time_unit, updated_by_id = the author, updated_at) and so an update
        event for the triggers; an entry that leaves the total as it was changes nothing."""
        now = self._stamp()
        record_id = self._next("time_accounting")
        self._time_accountings[record_id] = {
            "id": record_id,
            "ticket_id": ticket_id,
            "ticket_article_id": article_id,
            "time_unit": _decimal_string(time_unit),
            "type_id": type_id,
            "created_by_id": actor,
            "created_at": now,
            "updated_at": now,
        }
        self._ticket_time[ticket_id].append(record_id)
        total = sum(
            Decimal(self._time_accountings[i]["time_unit"]) for i in self._ticket_time[ticket_id]
        )
        ticket = self._tickets[ticket_id]
        if Decimal(ticket["time_unit"] or 0) == total:
            return record_id, set()
        return record_id, self._apply_changes(ticket, {"time_unit": _decimal_string(total)}, actor)

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
            raise _unprocessable("It is not possible to merge into an already merged ticket.")
        if ticket_id == into_id:
            raise _unprocessable("A ticket cannot be merged into itself.")
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

    def _normal_tag(self, tag: object) -> str:
        if not isinstance(tag, str) or not tag.strip():
            raise _unprocessable("tag can't be blank")
        return tag.strip()

    def _tag_add(self, ticket_id: int, tag: object, *, touch: bool = True) -> None:
        """Tag.tag_add (app/models/tag.rb): a tag the ticket has is not added again and nothing
        is touched. A new one touches the ticket (touch_reference_by_params,
        app/models/application_model/can_touch_references.rb): Rails' ``touch`` moves
        updated_at only, so updated_by_id stays, and no ticket event is dispatched, so no
        trigger fires."""
        name = self._normal_tag(tag)
        tags = self._tags[ticket_id]
        if name.lower() in (t.lower() for t in tags):
            return
        tags.append(name)
        if touch:
            self._bump(self._tickets[ticket_id])

    def _tag_remove(self, ticket_id: int, tag: object) -> None:
        """Tag.tag_remove (app/models/tag.rb) touches the ticket whether it had the tag or not."""
        name = self._normal_tag(tag).lower()
        self._tags[ticket_id] = [t for t in self._tags[ticket_id] if t.lower() != name]
        self._bump(self._tickets[ticket_id])

    # ------------------------------------------------------------------ triggers

    def _run_triggers(
        self,
        ticket_id: int,
        action: str,
        changed: set[str],
        article_id: int | None,
        actor: int,
    ) -> None:
        """Evaluate action triggers in name order; matching ones enqueue their webhook.
        Transaction::Trigger (app/models/transaction/trigger.rb) takes the active triggers
        with activator "action" (`activated_by`, app/models/trigger.rb), ordered by
        LOWER(name); Ticket.perform_triggers (app/models/ticket.rb) tests each one's condition
        for this ticket and event. The `notification.webhook` action
        (app/models/ticket/perform_changes/action/notification_webhook.rb) enqueues a
        TriggerWebhookJob, whose id is the delivery id of every attempt. A list of webhook ids
        is 7.x (one job each); 6.x reads one id."""
        ticket = self._tickets[ticket_id]
        article = self._articles.get(article_id) if article_id is not None else None
        triggers = sorted(
            (t for t in self._triggers.values() if t["active"] and t["activator"] == "action"),
            key=lambda t: t["name"].lower(),
        )
        for trigger in triggers:
            if not self._condition_matches(trigger, ticket, action, changed, article, actor):
                continue
            perform = trigger.get("perform") or {}
            webhook = perform.get("notification.webhook") or {}
            for webhook_id in _as_list(webhook.get("webhook_id")):
                if str(webhook_id).isdigit():
                    self._enqueue(
                        _Job(
                            delivery_id=str(uuid.uuid4()),
                            trigger_id=trigger["id"],
                            webhook_id=int(webhook_id),
                            ticket_id=ticket_id,
                            article_id=article_id,
                        )
                    )

    def _condition_matches(
        self,
        trigger: Mapping[str, Any],
        ticket: Mapping[str, Any],
        action: str,
        changed: set[str],
        article: Mapping[str, Any] | None,
        actor: int,
    ) -> bool:
        """Whether a trigger's condition holds for this event, as Ticket.selectors does it
        for Ticket.perform_triggers (app/models/ticket.rb): conditions are tested against the
        ticket as saved (so "updated by is not <integration user>" sees the writer of this
        event), current_user is the ticket's (or the article's) updated_by. Selective mode
        (Trigger#condition_changes_required?, app/models/trigger.rb) applies to "update" only
        (static_conditions_ticket_update, lib/selector/base.rb): it needs a changed condition
        attribute or a new article (check_changes counts `article` whenever the event has
        one). Only the flat {name: {operator, value}} form is evaluated; an expert-mode block
        ({operator, conditions}) is not modelled."""
        condition = trigger.get("condition") or {}
        attributes: set[str] = set()
        for key, rule in condition.items():
            if not isinstance(rule, dict):
                continue
            operator = rule.get("operator")
            if key == "ticket.action":
                # lib/selector/sql.rb: `options[:ticket_action] == block_condition[:value]`, so
                # a list never equals the action; "is" needs a hit, anything else a miss.
                hit = rule.get("value") == action
                if hit != (operator == "is"):
                    return False
                continue
            scope, _, name = key.partition(".")
            if scope == "ticket" and name == "tags":
                if not self._tags_condition(operator, rule.get("value"), ticket["id"]):
                    return False
                attributes.add(name)
                continue
            if scope == "ticket" and name in ticket:
                actual = ticket[name]
                attributes.add(name)
            elif scope == "article" and article is None:
                return False  # article conditions need a new article
            elif scope == "article" and name in article:
                actual = article[name]
            else:
                continue  # unknown keys are ignored, as the spec of this stand-in says
            verdict = _rule_matches(operator, rule, actual, actor)
            if verdict is False:
                return False
        if action == "update" and trigger.get("execution_condition_mode") == "selective":
            # selective: a condition attribute changed, or an article was added
            return article is not None or bool(attributes & changed)
        return True

    def _tags_condition(self, operator: object, value: object, ticket_id: int) -> bool:
        wanted = {t.strip().lower() for t in str(value or "").split(",") if t.strip()}
        if isinstance(value, list):
            wanted = {str(t).strip().lower() for t in value}
        have = {t.lower() for t in self._tags.get(ticket_id, [])}
        if operator == "contains all":
            return wanted <= have
        if operator == "contains one":
            return bool(wanted & have)
        if operator == "contains all not":
            return not wanted <= have
        if operator == "contains one not":
            return not wanted & have
        return True

    # ------------------------------------------------------------------ webhook sender

    def _enqueue(self, job: _Job, due: float | None = None) -> None:
        heapq.heappush(self._queue, (due or time.monotonic(), next(self._queue_seq), job))
        self._wake.notify_all()

    def _sender_loop(self) -> None:
        while True:
            with self._wake:
                while not self._stopping:
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    if wait is not None and wait <= 0:
                        break
                    self._wake.wait(wait)
                if self._stopping:
                    return
                _, _, job = heapq.heappop(self._queue)
                self._in_flight += 1
                result = None
                try:
                    request = self._prepare_delivery(job)
                except Exception:
                    log.exception("zammad stand-in: building webhook payload failed")
                    request = None
            try:
                result = self._post(request) if request is not None else None
            finally:
                with self._wake:
                    if result is not None and request is not None and not self._stopping:
                        self._record_delivery(job, request, *result)
                    self._in_flight -= 1
                    self._wake.notify_all()

    def _prepare_delivery(self, job: _Job) -> dict[str, Any] | None:
        """Build the request now, from current state (a retry carries newer ticket data).
        None when Zammad's job would abort: webhook gone or inactive, trigger or ticket gone.
        app/jobs/trigger_webhook_job.rb: `perform` builds the payload when it runs; `abort?`
        finds the webhook by id and `active: true`; a deleted trigger or ticket fails
        deserialisation and the job is discarded; `headers` adds X-Zammad-Trigger (the
        trigger's name) and X-Zammad-Delivery (the job id). lib/user_agent.rb: set_headers
        (User-Agent "Zammad User Agent"), set_params (Content-Type application/json;
        charset=utf-8, body `to_json`), set_basic_auth (only with user and password),
        set_signature (X-Hub-Signature sha1=HMAC-SHA1 of the body, only with a token and a
        body). Bearer is 7.x: the 6.x job passes no bearer_token."""
        webhook = self._webhooks.get(job.webhook_id)
        trigger = self._triggers.get(job.trigger_id)
        if webhook is None or not webhook["active"] or trigger is None:
            log.info("zammad stand-in: delivery %s aborted (webhook inactive)", job.delivery_id)
            return None
        if job.ticket_id not in self._tickets:
            return None
        body = ruby_json(self._payload(job.ticket_id, job.article_id))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Zammad User Agent",
            "X-Zammad-Trigger": trigger["name"],
            "X-Zammad-Delivery": job.delivery_id,
        }
        token = webhook.get("signature_token")
        if token:
            digest = hmac.new(token.encode("utf-8"), body, hashlib.sha1).hexdigest()
            headers["X-Hub-Signature"] = f"sha1={digest}"
        if webhook.get("bearer_token"):
            headers["Authorization"] = f"Bearer {webhook['bearer_token']}"
        auth = None
        if webhook.get("basic_auth_username") and webhook.get("basic_auth_password"):
            auth = (webhook["basic_auth_username"], webhook["basic_auth_password"])
        return {
            "url": webhook["endpoint"],
            "body": body,
            "headers": headers,
            "verify": bool(webhook.get("ssl_verify", True)),
            "auth": auth,
            "trigger": trigger["name"],
        }

    def _post(self, request: Mapping[str, Any]) -> tuple[float, int | None, str | None]:
        """One attempt. lib/user_agent.rb: connect and read timeouts (get_http), verify_ssl,
        and `process`: only Net::HTTPSuccess (2xx) succeeds; a redirect with
        do_not_follow_redirects raises, which make_connection turns into a failed Result, as
        every 4xx, 5xx and connection error; the answer's body is ignored."""
        started = time.monotonic()
        session = self._session
        if session is None:
            return started, None, "stand-in not started"
        # header values as bytes: trigger names may hold non-Latin-1 characters
        headers = {k: v.encode("utf-8") for k, v in request["headers"].items()}
        timeout = (
            max(OPEN_TIMEOUT_S * self.time_scale, MIN_OPEN_TIMEOUT_S),
            READ_TIMEOUT_S * self.time_scale,
        )
        try:
            response = session.post(
                request["url"],
                data=request["body"],
                headers=headers,
                timeout=timeout,
                allow_redirects=False,  # Zammad does not follow redirects: a 3xx is a failure
                verify=request["verify"],
                auth=request["auth"],
            )
        except requests.RequestException as exc:
            return started, None, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # never let the sender thread die
            log.exception("zammad stand-in: webhook POST failed unexpectedly")
            return started, None, f"{type(exc).__name__}: {exc}"
        with response:
            status = response.status_code
        if 200 <= status < 300:
            return started, status, None
        return started, status, f"HTTP {status}"

    def _record_delivery(
        self,
        job: _Job,
        request: Mapping[str, Any],
        started: float,
        status: int | None,
        error: str | None,
    ) -> None:
        self._deliveries.append(
            Delivery(
                delivery_id=job.delivery_id,
                trigger=request["trigger"],
                webhook_id=job.webhook_id,
                ticket_id=job.ticket_id,
                article_id=job.article_id,
                attempt=job.attempt,
                status=status,
                error=error,
                body=request["body"],
                headers=dict(request["headers"]),
                started_at=started,
            )
        )
        # A failure raises TriggerWebhookJob::RequestError; `retry_on` re-enqueues the same job
        # (same job id) after executions * 10 s, five executions in all, then gives up
        # (app/jobs/trigger_webhook_job.rb).
        if error is not None and job.attempt < MAX_ATTEMPTS:
            wait = job.attempt * RETRY_WAIT_S * self.time_scale
            retry = _Job(
                delivery_id=job.delivery_id,
                trigger_id=job.trigger_id,
                webhook_id=job.webhook_id,
                ticket_id=job.ticket_id,
                article_id=job.article_id,
                attempt=job.attempt + 1,
            )
            self._enqueue(retry, time.monotonic() + wait)
        elif error is not None:
            log.warning(
                "zammad stand-in: delivery %s failed %d times, giving up",
                job.delivery_id,
                MAX_ATTEMPTS,
            )

    # ------------------------------------------------------------------ HTTP entry point

    def _handle(self, method: str, target: str, headers: Any, raw: bytes) -> _Reply | None:
        """Answer one request; None means: reset the connection without answering."""
        parts = urlsplit(target)
        path = parts.path
        body: Any = None
        body_error = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body_error = True
        fault = self._take_fault(method, path)
        if fault is not None:
            if fault.delay > 0:
                time.sleep(fault.delay)
            if fault.reset:
                self._log_request(method, parts, None, body, "reset")
                return None
            if fault.status is not None:
                reply = _error_reply(fault.status, fault.retry_after)
                self._log_request(method, parts, fault.status, body, fault.describe())
                return reply
        reply = self._dispatch(method, parts.path, parts.query, headers, body, body_error)
        self._log_request(method, parts, reply.status, body, fault.describe() if fault else None)
        return reply

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method not in (None, method.upper()) or not fault.pattern.search(path):
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _log_request(
        self, method: str, parts: Any, status: int | None, body: Any, fault: str | None
    ) -> None:
        with self._lock:
            self._requests.append(
                RequestRecord(method, parts.path, parts.query, status, copy.deepcopy(body), fault)
            )

    def _dispatch(
        self,
        method: str,
        path: str,
        query: str,
        headers: Any,
        body: Any,
        body_error: bool,
    ) -> _Reply:
        if not path.startswith(API_PREFIX):
            return _json_reply(404, _no_route(method, path))
        expected = f"Token token={self.token}"
        given = headers.get("Authorization") or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return _auth_refused(given)
        if body_error:
            return _json_reply(400, {"error": "Bad Request", "error_human": "Invalid JSON body"})
        relative = path[len(API_PREFIX) :].rstrip("/")
        request = _Req(
            method, path, parse_qs(query, keep_blank_values=True), body, self.integration_user_id
        )
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(relative)
            if match is None or route_method != method:
                continue
            try:
                with self._lock:
                    status, result = handler(request, *match.groups())
            except ApiError as exc:
                return _json_reply(exc.status, exc.body())
            except Exception:
                log.exception("zammad stand-in: %s %s failed", method, path)
                return _json_reply(500, {"error": "Internal Server Error"})
            return _json_reply(status, result)
        return _json_reply(404, _no_route(method, path))

    def _build_routes(
        self,
    ) -> list[tuple[str, re.Pattern[str], Callable[..., tuple[int, Any]]]]:
        # Paths and methods as Zammad routes them: config/routes/user.rb, organization.rb,
        # group.rb, ticket.rb (tickets, time accountings, merge, articles, states,
        # priorities), role.rb, tag.rb, object_manager_attribute.rb, webhook.rb, trigger.rb.
        table: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
            ("GET", r"users/me", self._r_users_me),
            ("GET", r"users", self._r_users_index),
            ("GET", r"users/search", self._r_users_search),
            ("GET", r"users/(\d+)", self._r_users_show),
            ("GET", r"organizations", self._r_organizations_index),
            ("GET", r"organizations/search", self._r_organizations_search),
            ("POST", r"organizations/search", self._r_organizations_search),
            ("GET", r"organizations/(\d+)", self._r_organizations_show),
            ("PUT", r"organizations/(\d+)", self._r_organizations_update),
            ("GET", r"groups", self._r_groups_index),
            ("GET", r"groups/(\d+)", self._r_groups_show),
            ("GET", r"ticket_states", self._r_states_index),
            ("GET", r"ticket_priorities", self._r_priorities_index),
            ("GET", r"roles", self._r_roles_index),
            ("GET", r"tickets", self._r_tickets_index),
            ("POST", r"tickets", self._r_tickets_create),
            ("GET", r"tickets/search", self._r_tickets_search),
            ("POST", r"tickets/search", self._r_tickets_search),
            ("GET", r"tickets/(\d+)", self._r_tickets_show),
            ("PUT", r"tickets/(\d+)", self._r_tickets_update),
            ("GET", r"tickets/(\d+)/time_accountings", self._r_time_index),
            ("POST", r"tickets/(\d+)/time_accountings", self._r_time_create),
            ("PUT", r"ticket_merge/(\d+)/([^/]+)", self._r_ticket_merge),
            ("GET", r"tags", self._r_tags_list),
            ("POST", r"tags/add", self._r_tags_add),
            ("DELETE", r"tags/remove", self._r_tags_remove),
            ("POST", r"ticket_articles", self._r_articles_create),
            ("GET", r"ticket_articles/(\d+)", self._r_articles_show),
            ("GET", r"ticket_articles/by_ticket/(\d+)", self._r_articles_by_ticket),
            ("GET", r"object_manager_attributes", self._r_attributes_index),
            ("POST", r"object_manager_attributes", self._r_attributes_create),
            ("GET", r"object_manager_attributes/(\d+)", self._r_attributes_show),
            ("PUT", r"object_manager_attributes/(\d+)", self._r_attributes_update),
            ("POST", r"object_manager_attributes_execute_migrations", self._r_migrations),
            ("GET", r"webhooks", self._r_webhooks_index),
            ("POST", r"webhooks", self._r_webhooks_create),
            ("GET", r"webhooks/(\d+)", self._r_webhooks_show),
            ("PUT", r"webhooks/(\d+)", self._r_webhooks_update),
            ("GET", r"triggers", self._r_triggers_index),
            ("POST", r"triggers", self._r_triggers_create),
            ("GET", r"triggers/(\d+)", self._r_triggers_show),
            ("PUT", r"triggers/(\d+)", self._r_triggers_update),
        ]
        return [(m, re.compile(p), h) for m, p, h in table]

    # ------------------------------------------------------------------ routes: users & co

    # app/controllers/users_controller.rb: `me` and `show` answer the user with ids
    # (attributes_with_association_ids) or, with expand, names (role and organisation names:
    # attributes_with_association_names, app/models/application_model/can_associations.rb),
    # without `password`; `index` orders by id and pages without paginate_with (100 a page,
    # at most 1000: CanPaginate::Pagination).

    def _r_users_me(self, req: _Req) -> tuple[int, Any]:
        return 200, self._user_view(self._user(req.user_id), names=req.expand)

    def _r_users_index(self, req: _Req) -> tuple[int, Any]:
        users = _page(list(self._users.values()), req, default=100)
        return 200, [self._user_view(u, names=req.expand) for u in users]

    def _r_users_search(self, req: _Req) -> tuple[int, Any]:
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
        found = _page(found, req, default=50, maximum=200)
        return 200, [self._user_view(u, names=req.expand) for u in found]

    def _r_users_show(self, req: _Req, user_id: str) -> tuple[int, Any]:
        return 200, self._user_view(self._user(int(user_id)), names=req.expand)

    def _r_groups_index(self, req: _Req) -> tuple[int, Any]:
        return 200, [self._group_view(g, names=req.expand) for g in self._groups.values()]

    def _r_groups_show(self, req: _Req, group_id: str) -> tuple[int, Any]:
        group = self._groups.get(int(group_id))
        if group is None:
            raise _not_found("Group", group_id)
        return 200, self._group_view(group, names=req.expand)

    def _r_states_index(self, req: _Req) -> tuple[int, Any]:
        return 200, [self._simple_view(s, names=req.expand) for s in self._states.values()]

    def _r_priorities_index(self, req: _Req) -> tuple[int, Any]:
        return 200, [self._simple_view(p, names=req.expand) for p in self._priorities.values()]

    def _r_roles_index(self, req: _Req) -> tuple[int, Any]:
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

    def _r_organizations_index(self, req: _Req) -> tuple[int, Any]:
        # model_index_render (renders_models.rb): sort_by/order_by, default id ASC; 500 per
        # page, at most 1000 (CanPaginate::Pagination).
        order = self._sort_order(req, "Organization", (["id"], ["asc"]))
        orgs = _page(_order(list(self._organizations.values()), order), req, default=500)
        return 200, [self._organization_view(o, names=req.expand) for o in orgs]

    def _r_organizations_show(self, req: _Req, org_id: str) -> tuple[int, Any]:
        return 200, self._organization_view(self._organization(int(org_id)), names=req.expand)

    def _r_organizations_search(self, req: _Req) -> tuple[int, Any]:
        return self._search(req, "Organization")

    def _r_organizations_update(self, req: _Req, org_id: str) -> tuple[int, Any]:
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
                    raise _unprocessable("Name can't be blank")
                changes[key] = value
            elif key == "note":
                changes[key] = value
            elif key in ORGANIZATION_WRITABLE:
                changes[key] = _as_bool(value, key) if key != "domain" else value
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

    # ------------------------------------------------------------------ routes: tickets

    def _r_tickets_index(self, req: _Req) -> tuple[int, Any]:
        # `index` in app/controllers/tickets_controller.rb: id ASC, paginate_with(max: 100)
        tickets = sorted(self._tickets.values(), key=lambda t: t["id"])
        tickets = _page(tickets, req, default=100, maximum=100)
        return 200, [self._ticket_view(t, names=req.expand) for t in tickets]

    def _r_tickets_show(self, req: _Req, ticket_id: str) -> tuple[int, Any]:
        ticket = self._ticket(int(ticket_id))
        # `show` in app/controllers/tickets_controller.rb: expand wins, then all (Rails
        # booleans, has_response_extentions.rb); full is not modelled.
        if not req.expand and req.flag("all"):
            return 200, self._ticket_all(ticket)
        return 200, self._ticket_view(ticket, names=req.expand)

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

    def _r_tickets_create(self, req: _Req) -> tuple[int, Any]:
        """`create` in app/controllers/tickets_controller.rb: the ticket saved, then `tags`
        (a comma-separated string, each stripped), then `article` through article_create;
        201 with the ticket. One transaction, so the triggers see one "create" event."""
        params = req.params()
        title = params.pop("title", None)
        if not isinstance(title, str) or not title.strip():
            raise _unprocessable("Title can't be blank")
        group = params.pop("group", None)
        group_id = params.pop("group_id", None)
        if group_id is not None:
            group_id = self._check_reference("group_id", group_id)
        elif group is not None:
            group_id = self._resolve_group(str(group))
        else:
            raise _unprocessable("Group can't be blank")
        customer = params.pop("customer", None)
        customer_id = params.pop("customer_id", None)
        if customer_id is not None:
            customer_id = self._check_reference("customer_id", customer_id)
        elif customer is not None:
            customer_id = self._lookup_relation("customer", customer)
        else:
            raise _unprocessable("Customer can't be blank")
        article = params.pop("article", None)
        tags = params.pop("tags", None)
        fields = self._ticket_changes(params, for_create=True)
        article_fields = None
        if article:
            if not isinstance(article, dict):
                raise _unprocessable("article must be an object")
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

    def _r_tickets_update(self, req: _Req, ticket_id: str) -> tuple[int, Any]:
        self._update_ticket(int(ticket_id), req.params(), req.user_id)
        return 200, self._ticket_view(self._tickets[int(ticket_id)], names=req.expand)

    def _r_tickets_search(self, req: _Req) -> tuple[int, Any]:
        return self._search(req, "Ticket")

    def _ticket_assets(self, tickets: list[dict[str, Any]]) -> dict[str, Any]:
        assets: dict[str, dict[str, Any]] = {"Ticket": {}, "User": {}, "Organization": {}}
        for ticket in tickets:
            assets["Ticket"][str(ticket["id"])] = self._ticket_view(ticket, names=False)
            for user_id in (ticket["customer_id"], ticket["owner_id"]):
                assets["User"][str(user_id)] = self._user_view(self._users[user_id], names=False)
            org = self._organizations.get(ticket["organization_id"])
            if org is not None:
                assets["Organization"][str(org["id"])] = self._organization_view(org, names=False)
        return assets

    # GET and POST /tickets/{id}/time_accountings (config/routes/ticket.rb):
    # app/controllers/time_accountings_controller.rb, model_index_render and
    # model_create_render (renders_models.rb) on the ticket's time accountings. Permissions
    # (app/policies/controllers/time_accountings_controller_policy.rb) are not modelled; tests
    # inject 403/404 for the versions that refuse.

    def _r_time_index(self, req: _Req, ticket_id: str) -> tuple[int, Any]:
        self._ticket(int(ticket_id))
        records = [self._time_accountings[i] for i in self._ticket_time[int(ticket_id)]]
        return 200, [copy.deepcopy(r) for r in _page(records, req, default=500)]

    def _r_time_create(self, req: _Req, ticket_id: str) -> tuple[int, Any]:
        """201 with the record; a changed total saves the ticket and fires "update"."""
        self._ticket(int(ticket_id))
        params = req.params()
        if params.get("time_unit") in (None, ""):
            raise _unprocessable("time_unit can't be blank")
        type_id = params.get("type_id")
        article_id = params.get("ticket_article_id")
        record_id, changed = self._insert_time_accounting(
            int(ticket_id),
            params["time_unit"],
            None if type_id is None else _as_int(type_id, "type_id"),
            None if article_id is None else _as_int(article_id, "ticket_article_id"),
            req.user_id,
        )
        if changed:
            self._run_triggers(int(ticket_id), "update", changed, None, req.user_id)
        return 201, copy.deepcopy(self._time_accountings[record_id])

    def _r_ticket_merge(self, req: _Req, source_id: str, target_number: str) -> tuple[int, Any]:
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

    # ------------------------------------------------------------------ routes: tags, articles

    def _tag_target(self, params: Mapping[str, Any]) -> int:
        if params.get("object", "Ticket") != "Ticket":
            raise _unprocessable("stand-in: only Ticket tags are supported")
        ticket_id = _as_int(params.get("o_id"), "o_id")
        self._ticket(ticket_id)
        return ticket_id

    # app/controllers/tags_controller.rb: `list` answers {tags: [...]}, `add` 201 true (also
    # for a tag the ticket has), `remove` 200 true; the effects are Tag.tag_add/tag_remove.

    def _r_tags_list(self, req: _Req) -> tuple[int, Any]:
        o_id = req.arg("o_id") or ""
        ticket_id = int(o_id) if o_id.isdigit() else None
        return 200, {"tags": list(self._tags.get(ticket_id, [])) if ticket_id else []}

    def _r_tags_add(self, req: _Req) -> tuple[int, Any]:
        params = req.params()
        self._tag_add(self._tag_target(params), params.get("item"))
        return 201, True

    def _r_tags_remove(self, req: _Req) -> tuple[int, Any]:
        params = req.params()
        self._tag_remove(self._tag_target(params), params.get("item"))
        return 200, True

    def _r_articles_create(self, req: _Req) -> tuple[int, Any]:
        """`create` in app/controllers/ticket_articles_controller.rb: article_create, then
        201 with the article's names (attributes_with_association_names); the article is an
        update of its ticket for the triggers (get_uniq_changes, transaction_dispatcher.rb)."""
        params = req.params()
        if params.get("ticket_id") is None:
            raise _unprocessable("ticket_id can't be blank")
        ticket_id = _as_int(params["ticket_id"], "ticket_id")
        self._ticket(ticket_id)
        article = self._article_params(params, req.user_id)
        article_id, changed = self._insert_article(ticket_id, article, req.user_id)
        self._run_triggers(ticket_id, "update", changed, article_id, req.user_id)
        return 201, self._article_view(self._articles[article_id], names=True)

    def _r_articles_show(self, req: _Req, article_id: str) -> tuple[int, Any]:
        article = self._articles.get(int(article_id))
        if article is None:
            raise _not_found("Ticket::Article", article_id)
        # With names whether expanded or not (app/controllers/ticket_articles_controller.rb
        # `show` and `index_by_ticket`: attributes_with_association_names either way).
        return 200, self._article_view(article, names=True)

    def _r_articles_by_ticket(self, req: _Req, ticket_id: str) -> tuple[int, Any]:
        self._ticket(int(ticket_id))
        return 200, [
            self._article_view(self._articles[a], names=True)
            for a in self._ticket_articles[int(ticket_id)]
        ]

    # ------------------------------------------------------------------ routes: object manager

    # app/controllers/object_manager_attributes_controller.rb. Not modelled: `index`
    # (ObjectManager::Attribute.list_full) lists Zammad's seeded attributes too; the stand-in
    # lists only those created here.

    def _r_attributes_index(self, req: _Req) -> tuple[int, Any]:
        return 200, [copy.deepcopy(a) for a in self._attributes.values()]

    def _attribute(self, attribute_id: str) -> dict[str, Any]:
        attribute = self._attributes.get(int(attribute_id))
        if attribute is None:
            raise _not_found("ObjectManager::Attribute", attribute_id)
        return attribute

    def _r_attributes_show(self, req: _Req, attribute_id: str) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._attribute(attribute_id))

    def _r_attributes_create(self, req: _Req) -> tuple[int, Any]:
        attribute = self._validate_new_attribute(req.params())
        self._attributes[attribute["id"]] = attribute
        return 201, copy.deepcopy(attribute)

    def _r_attributes_update(self, req: _Req, attribute_id: str) -> tuple[int, Any]:
        attribute = self._attribute(attribute_id)
        params = req.params()
        if (params.get("object"), params.get("name")) != (attribute["object"], attribute["name"]):
            raise _unprocessable("does not exist")  # Zammad looks the attribute up by both
        data_type = params.get("data_type", attribute["data_type"])
        if data_type != attribute["data_type"] and not (
            {data_type, attribute["data_type"]} <= DATA_TYPE_FAMILY
        ):
            raise _unprocessable(
                f"Can't be changed data_type of attribute, not allowed to change "
                f"from {attribute['data_type']} to {data_type}"
            )
        for key in ("display", "active", "screens", "position"):
            if key in params:
                attribute[key] = copy.deepcopy(params[key])
        if "data_option" in params:
            option = self._checked_data_option(data_type, params["data_option"])
            if attribute["to_create"]:
                attribute["data_option"] = option
                attribute["data_type"] = data_type
            else:  # staged until execute_migrations, as in Zammad
                attribute["data_option_new"] = option
                attribute["to_config"] = True
                if data_type != attribute["data_type"]:
                    attribute["to_migrate"] = True
                    attribute["data_type_new"] = data_type
        attribute["updated_by_id"] = req.user_id
        attribute["updated_at"] = self._stamp()
        return 200, copy.deepcopy(attribute)

    def _r_migrations(self, req: _Req) -> tuple[int, Any]:
        """`execute_migrations`: ObjectManager::Attribute.migration_execute, then 200 {}
        (the controller); the columns and staged changes as migration_execute applies them
        (app/models/object_manager/attribute.rb). Other processes learn a new column only on
        restart (see `forget_until_restart`)."""
        for attribute in self._attributes.values():
            if attribute["to_create"]:
                attribute["to_create"] = False
                self._materialise(attribute)
            if attribute["to_config"] or attribute["to_migrate"]:
                if attribute["data_option_new"]:
                    attribute["data_option"] = attribute["data_option_new"]
                attribute["data_type"] = attribute.pop("data_type_new", attribute["data_type"])
                attribute["data_option_new"] = {}
                attribute["to_config"] = attribute["to_migrate"] = False
        return 200, {}

    # ------------------------------------------------------------------ routes: webhooks, triggers

    def _webhook_record(self, params: Mapping[str, Any], actor: int) -> dict[str, Any]:
        """POST /webhooks: model_create_render (app/controllers/webhooks_controller.rb) of a
        Webhook (app/models/webhook.rb: name required, endpoint an http(s) URL with a host).
        The stand-in also refuses a second webhook of the same name; Zammad's model does not
        validate that (its database was not checked)."""
        name = params.get("name")
        endpoint = params.get("endpoint")
        if not isinstance(name, str) or not name.strip():
            raise _unprocessable("Name can't be blank")
        if any(w["name"].lower() == name.lower() for w in self._webhooks.values()):
            raise _unprocessable("Name has already been taken")
        _check_endpoint(endpoint)
        now = self._stamp()
        record = {
            "id": self._next("webhook"),
            "name": name,
            "endpoint": endpoint,
            "signature_token": params.get("signature_token") or "",
            "ssl_verify": _as_bool(params.get("ssl_verify", True), "ssl_verify"),
            "basic_auth_username": params.get("basic_auth_username"),
            "basic_auth_password": params.get("basic_auth_password"),
            "bearer_token": params.get("bearer_token"),
            "customized_payload": bool(params.get("customized_payload", False)),
            "custom_payload": params.get("custom_payload"),
            "pre_defined_webhook_type": params.get("pre_defined_webhook_type"),
            "note": params.get("note"),
            "active": _as_bool(params.get("active", True), "active"),
            "created_by_id": actor,
            "updated_by_id": actor,
            "created_at": now,
            "updated_at": now,
        }
        self._webhooks[record["id"]] = record
        return record

    def _r_webhooks_index(self, req: _Req) -> tuple[int, Any]:
        # model_index_render (renders_models.rb): id ASC, 500 a page, at most 1000
        webhooks = _page(list(self._webhooks.values()), req, default=500)
        return 200, [copy.deepcopy(w) for w in webhooks]

    def _r_webhooks_create(self, req: _Req) -> tuple[int, Any]:
        return 201, copy.deepcopy(self._webhook_record(req.params(), req.user_id))

    def _webhook(self, webhook_id: str) -> dict[str, Any]:
        webhook = self._webhooks.get(int(webhook_id))
        if webhook is None:
            raise _not_found("Webhook", webhook_id)
        return webhook

    def _r_webhooks_show(self, req: _Req, webhook_id: str) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._webhook(webhook_id))

    def _r_webhooks_update(self, req: _Req, webhook_id: str) -> tuple[int, Any]:
        # model_update_render (webhooks_controller.rb, renders_models.rb)
        webhook = self._webhook(webhook_id)
        params = req.params()
        if "endpoint" in params:
            _check_endpoint(params["endpoint"])
        for key in ("ssl_verify", "active"):
            if key in params:
                params[key] = _as_bool(params[key], key)
        for key, value in params.items():
            if key in webhook and key not in ("id", "created_at", "created_by_id"):
                webhook[key] = value
        webhook["updated_by_id"] = req.user_id
        webhook["updated_at"] = self._stamp()
        return 200, copy.deepcopy(webhook)

    def _trigger_record(self, params: Mapping[str, Any], actor: int) -> dict[str, Any]:
        """POST /triggers: model_create_render (app/controllers/triggers_controller.rb) of a
        Trigger (app/models/trigger.rb: name required and unique regardless of case,
        activator action|time, execution_condition_mode selective|always)."""
        name = params.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _unprocessable("Name can't be blank")
        if any(t["name"].lower() == name.lower() for t in self._triggers.values()):
            raise _unprocessable("Name has already been taken")
        fields = _trigger_fields(params)
        now = self._stamp()
        record = {
            "id": self._next("trigger"),
            "name": name,
            "condition": {},
            "perform": {},
            "activator": "action",
            "execution_condition_mode": "selective",
            "active": True,
            "disable_notification": True,
            "localization": None,
            "timezone": None,
            "note": params.get("note"),
            "created_by_id": actor,
            "updated_by_id": actor,
            "created_at": now,
            "updated_at": now,
        }
        record.update(fields)
        self._triggers[record["id"]] = record
        return record

    def _r_triggers_index(self, req: _Req) -> tuple[int, Any]:
        # model_index_render (renders_models.rb): id ASC, 500 a page, at most 1000
        triggers = _page(list(self._triggers.values()), req, default=500)
        return 200, [copy.deepcopy(t) for t in triggers]

    def _r_triggers_create(self, req: _Req) -> tuple[int, Any]:
        return 201, copy.deepcopy(self._trigger_record(req.params(), req.user_id))

    def _trigger(self, trigger_id: str) -> dict[str, Any]:
        trigger = self._triggers.get(int(trigger_id))
        if trigger is None:
            raise _not_found("Trigger", trigger_id)
        return trigger

    def _r_triggers_show(self, req: _Req, trigger_id: str) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._trigger(trigger_id))

    def _r_triggers_update(self, req: _Req, trigger_id: str) -> tuple[int, Any]:
        # model_update_render (triggers_controller.rb), Trigger's validations (trigger.rb)
        trigger = self._trigger(trigger_id)
        params = req.params()
        name = params.get("name", trigger["name"])
        if not isinstance(name, str) or not name.strip():
            raise _unprocessable("Name can't be blank")
        if any(
            t["name"].lower() == name.lower() and t["id"] != trigger["id"]
            for t in self._triggers.values()
        ):
            raise _unprocessable("Name has already been taken")
        trigger.update(_trigger_fields(params))
        trigger["name"] = name
        if "note" in params:
            trigger["note"] = params["note"]
        trigger["updated_by_id"] = req.user_id
        trigger["updated_at"] = self._stamp()
        return 200, copy.deepcopy(trigger)

    # ------------------------------------------------------------------ search
    #
    # GET or POST /tickets/search and /organizations/search (config/routes/ticket.rb,
    # config/routes/organization.rb) run model_search_render
    # (app/controllers/application_controller/renders_models.rb): CanSearch#search
    # (app/models/concerns/can_search.rb) with query, condition, sort_by and order_by, 50 per
    # page and at most 200.

    def _search(self, req: _Req, model: str) -> tuple[int, Any]:
        if model == "Ticket":
            records = list(self._tickets.values())
            default = (["updated_at"], ["desc"])  # CanSearch.search_default_sort_by/_order_by
        else:
            records = list(self._organizations.values())
            default = (["active", "updated_at"], ["desc", "desc"])  # organization/search.rb
        order = self._sort_order(req, model, default)
        query = req.param("query") or req.param("term")
        # search_build_params: `params[:query]&.delete('*')`
        query = query.replace("*", "") if isinstance(query, str) else ""
        condition = req.param("condition")
        # Elasticsearch only when it is configured and there is a query; else SQL.
        if self.search_index and query.strip():
            found = self._search_index(model, records, query, condition)
        else:
            found = self._search_sql(model, records, query, condition)
        found = _order(found, order)
        total = len(found)
        found = _page(found, req, default=50, maximum=200)
        if model == "Ticket":
            view: Callable[..., dict[str, Any]] = self._ticket_view
            assets = self._ticket_assets
        else:
            view = self._organization_view
            assets = self._organization_assets
        if req.flag("only_total_count"):
            return 200, {"total_count": total}
        if req.flag("full"):
            return 200, {
                "record_ids": [r["id"] for r in found],
                "assets": assets(found),
                "total_count": total,
            }
        # 6.x answers a plain array, with names (expand) or ids only; the 2022 tickets
        # controller answered {tickets, tickets_count, assets} without expand.
        return 200, [view(r, names=req.flag("expand")) for r in found]

    def _sort_order(
        self, req: _Req, model: str, default: tuple[list[str], list[str]]
    ) -> list[tuple[str, bool]]:
        """(column, descending) pairs as SqlHelper (lib/sql_helper.rb) builds ORDER BY:
        sort_by and order_by are lists or comma-separated; an unknown column or an order other
        than asc/desc raises (HTTP 500, handles_errors.rb); pairs go by position, so a column
        without an order is not sorted by."""
        sort_by = _param_list(req.param("sort_by"))
        order_by = _param_list(req.param("order_by"))
        columns = self._columns(model)
        for name in sort_by:
            if name not in columns:
                raise ApiError(500, f"Found invalid column '{name}' for sorting.")
        for value in order_by:
            if value.lower() not in ("asc", "desc"):
                raise ApiError(
                    500, f"Found invalid order by value {value}. Please use 'asc' or 'desc'."
                )
        orders = [o.lower() for o in order_by] or default[1]
        pairs = zip(sort_by or default[0], orders, strict=False)
        return [(column, order == "desc") for column, order in pairs] or [("updated_at", True)]

    def _columns(self, model: str) -> frozenset[str]:
        builtin = {
            "Ticket": TICKET_COLUMNS,
            "Organization": ORGANIZATION_COLUMNS,
            "User": USER_COLUMNS,
        }[model]
        return frozenset(builtin) | frozenset(self._executed(model))

    def _organization_assets(self, orgs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Organization": {str(o["id"]): self._organization_view(o, names=False) for o in orgs}
        }

    def _search_index(
        self, model: str, records: list[dict[str, Any]], query: str, condition: object
    ) -> list[dict[str, Any]]:
        """With Elasticsearch (search_by_index, lib/search_index_backend.rb) the query goes to
        its query_string as it is. When Elasticsearch answers an error, as for a query its
        parser refuses, Zammad logs it and goes on with no hits: 200 and []. The condition is
        added to the query (Selector::SearchIndex); here it is evaluated like the SQL one."""
        if model == "Ticket":
            field_of, view = self._ticket_field, self._ticket_view
        else:
            field_of, view = self._organization_field, self._organization_view
        try:
            predicates = self._parse_query(query, field_of)
        except _QuerySyntaxError as exc:
            log.warning("zammad stand-in: Elasticsearch refuses %r (%s): no hits", query, exc)
            return []
        match = self._selector(model, condition)
        return [r for r in records if match(r) and all(p(view(r, names=True)) for p in predicates)]

    def _search_sql(
        self, model: str, records: list[dict[str, Any]], query: str, condition: object
    ) -> list[dict[str, Any]]:
        """Without Elasticsearch, or without a query (search_sql, can_search.rb): the condition
        through the selector (lib/selector/sql.rb), and a query, if any, as a
        case-insensitive LIKE '%query%' with no field syntax. Tickets: title and number, and
        through an INNER JOIN the articles' body, from, to and subject
        (app/models/ticket/search.rb), so a ticket without articles is never found by text.
        Organisations: their string columns (CanSearch's search_sql_query_extension)."""
        match = self._selector(model, condition)
        found = [r for r in records if match(r)]
        if not query.strip():  # `return if params[:query].blank?`
            return found
        needle = query.lower()
        return [r for r in found if any(needle in t.lower() for t in self._like_texts(model, r))]

    def _like_texts(self, model: str, record: Mapping[str, Any]) -> list[str]:
        if model == "Ticket":
            articles = [self._articles[a] for a in self._ticket_articles.get(record["id"], [])]
            row = (record["title"], record["number"])
            return [
                str(value)
                for article in articles  # one row per article, none without
                for value in (*row, article["body"], article["from"], article["to"],
                              article["subject"])
                if value is not None
            ]  # fmt: skip
        custom = self._executed("Organization")
        names = ["name", "domain", "note"]
        names += [n for n, a in custom.items() if a["data_type"] in ("input", "select")]
        return [record[n] for n in names if isinstance(record.get(n), str)]

    # The selector (lib/selector/sql.rb, Selector::Base in lib/selector/base.rb) as the SQL
    # search uses it: `condition` is {name: {operator, value}} or a block
    # {operator: AND|OR|NOT, conditions: [...]}, names "<table>.<column>".

    def _selector(self, model: str, condition: object) -> Callable[[Mapping[str, Any]], bool]:
        everything: Callable[[Mapping[str, Any]], bool] = lambda record: True  # noqa: E731
        if condition is None or condition == "":
            return everything  # search_build_params: `params[:condition] ||= {}`
        if not isinstance(condition, dict):
            raise ApiError(500, f"undefined method `deep_symbolize_keys' for {condition!r}")
        try:
            match = self._selector_block(model, _migrate_selector(condition))
        except _InvalidCondition as exc:
            # Selector::Sql#get rescues it, logs and returns nil; search_sql_base then runs
            # `joins(nil).where(nil)`: the condition is dropped and every record matches.
            log.warning("zammad stand-in: Selector::Sql.get->InvalidCondition: %s", exc)
            return everything
        return match or everything

    def _selector_block(
        self, model: str, block: Mapping[str, Any]
    ) -> Callable[[Mapping[str, Any]], bool] | None:
        """A block or a condition; None when it adds nothing to the WHERE clause."""
        if "conditions" not in block:
            return self._selector_condition(model, block)
        conditions = block["conditions"]
        if not isinstance(conditions, list):
            raise ApiError(500, "conditions must be a list")
        if not all(isinstance(c, dict) for c in conditions):
            raise ApiError(500, "a condition must be an object")
        subs = [self._selector_block(model, c) for c in conditions]
        parts = [s for s in subs if s is not None]  # run_block: compact; none: nothing
        if not parts:
            return None
        operator = block.get("operator")
        if operator == "NOT":
            return lambda r: not all(p(r) for p in parts)
        if operator == "OR":
            return lambda r: any(p(r) for p in parts)
        if operator == "AND" or len(parts) == 1:
            return lambda r: all(p(r) for p in parts)
        raise ApiError(422, f"PG::SyntaxError: syntax error at or near {operator!r}")

    def _selector_condition(
        self, model: str, condition: Mapping[str, Any]
    ) -> Callable[[Mapping[str, Any]], bool] | None:
        """Selector::Sql#condition_sql for the operators the stand-in models."""
        if not condition:
            raise _InvalidCondition("No block condition")
        name = condition.get("name")
        if not name:
            raise _InvalidCondition(f"No block condition name {condition!r}")
        table, _, rest = str(name).partition(".")
        column = rest.split(".")[0]
        if not table or not column:
            return None  # `return if !attribute_name`
        row_of, columns, inner = self._selector_table(model, table, column)
        operator = condition.get("operator")
        if not operator or operator not in SELECTOR_OPERATORS:  # validate_operator!
            raise ApiError(500, f"Invalid condition, operator '{operator}' is invalid")
        _validate_pre_condition(condition)
        if column not in columns:  # the database refuses the SQL: StatementInvalid
            raise ApiError(422, f"PG::UndefinedColumn: column {table}.{column} does not exist")
        test = self._selector_test(operator, condition, column)

        def match(record: Mapping[str, Any]) -> bool:
            row = row_of(record)
            if row is None and inner:  # INNER JOIN: no row, no record
                return False
            return test(None if row is None else row.get(column))

        return match

    def _selector_table(
        self, model: str, table: str, column: str
    ) -> tuple[Callable[[Mapping[str, Any]], Mapping[str, Any] | None], frozenset[str], bool]:
        """The row a condition reads, its columns, and whether its join is INNER."""
        own = "ticket" if model == "Ticket" else "organization"
        if table == own:
            return (lambda record: record), self._columns(model), True
        if model == "Ticket" and table == "organization":  # LEFT JOIN organizations
            return (
                lambda t: self._organizations.get(t["organization_id"]),
                self._columns("Organization"),
                False,
            )
        if model == "Ticket" and table in ("customer", "owner"):  # INNER JOIN users
            return (
                lambda t: self._users.get(t[f"{table}_id"]),
                self._columns("User"),
                True,
            )
        if model == "Ticket" and table == "ticket_state":  # INNER JOIN ticket_states
            return (
                lambda t: self._states.get(t["state_id"]),
                frozenset(next(iter(self._states.values()))),
                True,
            )
        if table in ("article", "execution_time", "ticket_owner", "ticket_customer", "ticket"):
            raise _unprocessable(f"stand-in: conditions on {table}.{column} are not modelled")
        raise ApiError(500, f"invalid selector {table}, {column}")

    def _selector_test(
        self, operator: str, condition: Mapping[str, Any], column: str
    ) -> Callable[[Any], bool]:
        pre_condition = condition.get("pre_condition")
        value = condition.get("value")
        if str(pre_condition).startswith("current_user.") and pre_condition != "current_user.id":
            raise _unprocessable(f"stand-in: pre_condition {pre_condition!r} is not modelled")
        if operator in ("is", "is not") and pre_condition in ("not_set", "current_user.id"):
            if pre_condition == "current_user.id":
                wanted: list[Any] = [self.integration_user_id]
            else:  # user columns count the system user (id 1) as not set
                user_column = re.match(r"^(created_by|updated_by|owner|customer|user)_id", column)
                wanted = [None, 1] if user_column else [None]
            if operator == "is":
                return lambda v: any(_sql_equal(v, w) for w in wanted)
            if pre_condition == "current_user.id":  # `IS NULL OR NOT IN (?)`
                return lambda v: v is None or not _sql_equal(v, wanted[0])
            return lambda v: v is not None and not any(_sql_equal(v, w) for w in wanted)
        if operator in ("is", "is not"):
            if value is None:  # `IS NULL` / `IS NOT NULL`
                return (lambda v: v is None) if operator == "is" else (lambda v: v is not None)
            values = _as_list(value)
            with_null = "" in values  # `IN (?) OR IS NULL` / `IS NOT NULL AND NOT IN (?)`
            if operator == "is":
                return lambda v: (v is None and with_null) or _sql_in(v, values)
            if with_null:
                return lambda v: v is not None and not _sql_in(v, values)
            return lambda v: v is None or not _sql_in(v, values)
        if operator in ("is any of", "is none of"):
            values = _as_list(value) or [""]
            if operator == "is any of":
                return lambda v: _sql_in(v, values)
            return lambda v: v is not None and not _sql_in(v, values)
        if operator in ("after (absolute)", "before (absolute)"):
            sign = 1 if operator == "after (absolute)" else -1  # `>= ?` / `<= ?`
            return lambda v: (found := _sql_compare(v, value)) is not None and found * sign >= 0
        if operator in ("contains", "contains not"):  # ILIKE '%value%'
            needle = str(value).lower()
            if operator == "contains":
                return lambda v: v is not None and needle in str(v).lower()
            return lambda v: v is None or needle not in str(v).lower()
        raise _unprocessable(f"stand-in: selector operator {operator!r} is not modelled")

    def _ticket_field(self, view: Mapping[str, Any], name: str) -> Any:
        if name == "tags":
            return list(self._tags.get(view["id"], []))
        head, _, tail = name.partition(".")
        if tail:
            if head in ("customer", "owner", "created_by", "updated_by"):
                user = self._users.get(view[f"{head}_id"])
                return user.get(tail) if user else None
            if head == "organization":
                org = self._organizations.get(view["organization_id"])
                return org.get(tail) if org else None
            if head in ("state", "group", "priority") and tail == "name":
                return view[head]
            return None
        return view.get(name)

    def _organization_field(self, view: Mapping[str, Any], name: str) -> Any:
        return view.get(name)

    def _parse_query(
        self, query: str, field_of: Callable[[Mapping[str, Any], str], Any]
    ) -> list[Callable[[Mapping[str, Any]], bool]]:
        """Elasticsearch's query_string, the subset the stand-in evaluates: terms and phrases,
        ``field:value`` (``?`` wildcards), ``field:>=value`` (also > < <=) and
        ``field:[a TO b]``, joined by spaces or AND (search_by_index: default_operator AND);
        values may be quoted or escaped with ``\\``. What the parser refuses raises
        _QuerySyntaxError; valid syntax beyond the subset is a 422 of the stand-in."""
        predicates: list[Callable[[Mapping[str, Any]], bool]] = []
        for name, kind, text in _query_clauses(query):
            if kind == "operator":
                if text in ("AND", "&&"):
                    continue
                raise _unprocessable(f"stand-in: query operator {text!r} is not supported")
            if kind in ("group", "regex") or text.startswith(("{", "+", "-", "!")):
                raise _unprocessable(f"stand-in: query syntax {text!r} is not supported")
            if kind == "phrase":
                value, op = _unescape(text[1:-1]), None
            elif kind == "range":
                value, op = text, None
            else:
                value = _unescape(text)
                op = next((o for o in RANGE_OPERATORS if name and value.startswith(o)), None)
                value = value[len(op) :] if op else value
                if op and not value:
                    raise _unprocessable(f"stand-in: query syntax {text!r} is not supported")
            if name is None:
                predicates.append(_free_text(value, field_of))
            else:
                predicates.append(_field_predicate(name, op, value, field_of))
        return predicates


# ---------------------------------------------------------------------- module helpers


def _check_name(name: str, object_name: str) -> str | None:
    """The first complaint of check_name (app/models/object_manager/attribute.rb, 6.x), or
    None. Its respond_to?/DangerousAttributeError checks are left to the built-in columns."""
    if re.search(r".+?_(id|ids)$", name, re.IGNORECASE):
        return "can't be used because *_id and *_ids are not allowed"
    if re.search(r"\s", name):
        return "spaces are not allowed"
    if not ATTRIBUTE_NAME.match(name):
        return "only lowercase letters, numbers, and '_' are allowed"
    if not re.search(r"[a-z]", name):
        return "at least one letter is required"
    if name in RESERVED_NAMES | RESERVED_NAMES_PER_MODEL.get(object_name, frozenset()):
        return f"{name} is a reserved word"
    return None


def _column_default(attribute: Mapping[str, Any]) -> Any:
    """What the database puts into a row that does not name the column."""
    if attribute["data_type"] not in COLUMN_DEFAULT_TYPES:
        return None
    default = (attribute.get("data_option") or {}).get("default")
    return None if default == "" else copy.deepcopy(default)  # Rails casts "" to nil here


def _guess_data_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return "input"


def _default_data_option(data_type: str) -> dict[str, Any]:
    return {
        "input": {"type": "text", "maxlength": 255},
        "textarea": {"maxlength": 5000},
        "integer": {"min": -(2**31), "max": 2**31 - 1},
        "boolean": {"default": None, "options": {"true": "yes", "false": "no"}},
        "date": {"diff": None},
        "datetime": {"future": True, "past": True, "diff": None},
    }.get(data_type, {"options": {}})


def _check_endpoint(endpoint: object) -> None:
    """validate_endpoint in app/models/webhook.rb: an http or https URI with a host."""
    if not isinstance(endpoint, str) or not re.match(r"^https?://[^\s/]+", endpoint):
        raise _unprocessable("Endpoint is invalid (http or https URL)")


def _trigger_fields(params: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key in ("condition", "perform"):
        if key in params:
            if not isinstance(params[key], dict):
                raise _unprocessable(f"{key} must be an object")
            fields[key] = copy.deepcopy(params[key])
    if "activator" in params:
        if params["activator"] not in ("action", "time"):
            raise _unprocessable("Activator is not included in the list")
        fields["activator"] = params["activator"]
    if "execution_condition_mode" in params:
        if params["execution_condition_mode"] not in ("selective", "always"):
            raise _unprocessable("Execution condition mode is not included in the list")
        fields["execution_condition_mode"] = params["execution_condition_mode"]
    for key in ("active", "disable_notification"):
        if key in params:
            fields[key] = _as_bool(params[key], key)
    for key in ("localization", "timezone"):
        if key in params:
            fields[key] = params[key]
    return fields


def _rule_matches(
    operator: object, rule: Mapping[str, Any], actual: object, actor: int
) -> bool | None:
    """One trigger condition on a record value; None for operators this stand-in ignores."""
    pre_condition = rule.get("pre_condition", "specific")
    if pre_condition == "current_user.id":
        expected = [str(actor)]
    elif pre_condition == "not_set":
        expected = [""]
    else:
        expected = [_condition_text(v) for v in _as_list(rule.get("value"))]
    text = _condition_text(actual)
    if operator == "is":
        return text in expected
    if operator == "is not":
        return text not in expected
    if operator in ("contains", "contains not"):
        found = any(e.lower() in text.lower() for e in expected if e)
        return found if operator == "contains" else not found
    return None


def _free_text(term: str, field_of: Callable[[Mapping[str, Any], str], Any]) -> Callable[..., bool]:
    needle = term.lower()

    def match(view: Mapping[str, Any]) -> bool:
        for name in ("title", "number", "name", "note"):
            value = view.get(name)
            if isinstance(value, str) and needle in value.lower():
                return True
        # custom attribute values match whole (an ES term, not a substring)
        return any(isinstance(v, str) and v.lower() == needle for v in view.values())

    return match


def _field_predicate(
    name: str,
    op: str | None,
    value: str,
    field_of: Callable[[Mapping[str, Any], str], Any],
) -> Callable[[Mapping[str, Any]], bool]:
    if op is None and value.startswith("[") and value.endswith("]"):
        low, _, high = value[1:-1].partition(" TO ")
        low, high = low.strip(), high.strip()

        def in_range(view: Mapping[str, Any]) -> bool:
            actual = field_of(view, name)
            return (low == "*" or _compare(actual, ">=", low)) and (
                high == "*" or _compare(actual, "<=", high)
            )

        return in_range
    if op is not None:
        return lambda view: _compare(field_of(view, name), op, value)

    def equals(view: Mapping[str, Any]) -> bool:
        actual = field_of(view, name)
        candidates = actual if isinstance(actual, list) else [actual]
        for candidate in candidates:
            text = _condition_text(candidate).lower()
            if "*" in value or "?" in value:
                if fnmatch.fnmatchcase(text, value.lower()):
                    return True
            elif text == value.lower():
                return True
        return False

    return equals


def _compare(actual: object, op: str, expected: str) -> bool:
    if actual is None:
        return False
    left: Any
    right: Any
    left_time, right_time = _parse_time(actual), _parse_time(expected)
    if left_time is not None and right_time is not None:
        left, right = left_time, right_time
    else:
        try:
            left, right = float(str(actual)), float(expected)
        except ValueError:
            left, right = _condition_text(actual).lower(), expected.lower()
    return {
        ">=": left >= right,
        ">": left > right,
        "<=": left <= right,
        "<": left < right,
    }[op]


def _order(records: list[dict[str, Any]], order: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    """ORDER BY (column, descending) pairs, NULLs last ascending and first descending (as
    PostgreSQL sorts them). SQL leaves the order of ties open; here ties come in descending id,
    so a caller that needs one order has to ask for it (e.g. ``sort_by=updated_at,id``)."""
    result = sorted(records, key=lambda r: r["id"], reverse=True)
    for column, descending in reversed(order):
        result.sort(key=lambda r: _sort_key(r.get(column)), reverse=descending)
    return result


def _sort_key(value: object) -> tuple[Any, ...]:
    if value is None:
        return (1,)
    moment = _parse_time(value)
    if moment is not None:
        return (0, 1, moment)
    if isinstance(value, bool | int | float):
        return (0, 0, value)
    return (0, 2, str(value))


def _param_list(value: object) -> list[str]:
    """SqlHelper#get_param_key: a comma-separated string or a list; blank is none."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        return re.split(r"\s*,\s*", value.strip())
    return [str(v) for v in _as_list(value)]


def _page(records: list[Any], req: _Req, *, default: int, maximum: int = 1000) -> list[Any]:
    """Zammad's pagination (app/controllers/concerns/can_paginate/pagination.rb): page counts
    from 1, per_page (else limit, from the query string or a JSON body) capped silently at
    the endpoint's maximum; 100 and 1000 unless the controller's paginate_with says
    otherwise (can_paginate.rb). Zammad reads a non-number as 0; the stand-in as absent."""

    def number(name: str, fallback: int) -> int:
        text = str(req.param(name) or "")
        return int(text) if text.isdigit() and int(text) > 0 else fallback

    page = number("page", 1)
    per_page = min(number("per_page", number("limit", default)), maximum)
    start = (page - 1) * per_page
    return records[start : start + per_page]


def _migrate_selector(value: object) -> dict[str, Any]:
    """Selector::Base.migrate_selector: a flat {name: {operator, value}} hash becomes an AND
    block; a block stays as it is."""
    if not isinstance(value, dict):
        raise ApiError(500, f"undefined method `deep_symbolize_keys' for {value!r}")
    if "conditions" in value:
        return value
    conditions = []
    for name, rule in value.items():
        if not isinstance(rule, dict):
            raise ApiError(500, f"no implicit conversion of {type(rule).__name__} into Hash")
        conditions.append({"name": name, **rule})
    return {"operator": "AND", "conditions": conditions}


def _blank(value: object) -> bool:
    """Ruby's ``blank?``."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or value is False or (isinstance(value, list | dict) and not value)


def _validate_pre_condition(condition: Mapping[str, Any]) -> None:
    """validate_pre_condition_blank! and validate_pre_condition_values! (lib/selector/sql.rb):
    a condition without a value (or with an empty list, or a blank `contains` value) needs a
    pre_condition other than "specific"; a pre_condition must be a known kind."""
    operator = condition["operator"]
    value = condition.get("value")
    pre_condition = condition.get("pre_condition")
    exempt = {"has changed", "has reached", "has reached warning", "is any of", "is none of",
              "is set", "not set"}  # fmt: skip
    valueless = (
        (operator != "today" and "value" not in condition)
        or (isinstance(value, list) and not value)
        or (operator.startswith("contains") and _blank(value))
    )
    unspecific = _blank(pre_condition) or pre_condition == "specific"
    if operator not in exempt and valueless and unspecific:
        raise _InvalidCondition(f"Invalid condition pre_condition {condition!r}")
    if operator in ("has changed", "has reached", "has reached warning") or _blank(pre_condition):
        return
    if not str(pre_condition).startswith(("not_set", "current_user.", "specific")):
        raise _InvalidCondition(f"Invalid condition pre_condition not set {condition!r}")


def _sql_compare(actual: object, bound: object) -> int | None:
    """-1, 0 or 1 as the database compares a column with a bound value; None for NULL or a
    value the column's type cannot take."""
    if actual is None or bound is None:
        return None
    left: Any
    right: Any
    actual_time = _parse_time(actual)
    if actual_time is not None:
        left, right = actual_time, _parse_time(bound)
    elif isinstance(actual, bool):
        left, right = actual, _condition_text(bound).lower() in ("true", "t", "1")
    elif isinstance(actual, int | float):
        try:
            left, right = actual, float(str(bound))
        except ValueError:
            return None
    else:
        left, right = str(actual), str(bound)
    if right is None:
        return None
    return (left > right) - (left < right)


def _sql_equal(actual: object, wanted: object) -> bool:
    if actual is None or wanted is None:
        return actual is None and wanted is None
    return _sql_compare(actual, wanted) == 0


def _sql_in(actual: object, values: list[Any]) -> bool:
    """``column IN (values)``: NULL is in nothing."""
    return actual is not None and any(_sql_equal(actual, v) for v in values if v is not None)


# Elasticsearch's query_string parser (Lucene's classic syntax), as far as the stand-in
# needs to know what it refuses.
_QUERY_SPECIAL = frozenset('"/():[]{}')
_QUERY_CLOSERS = {'"': '"', "/": "/", "[": "]}", "{": "]}"}
_QUERY_KINDS = {'"': "phrase", "/": "regex", "[": "range", "{": "range"}


def _query_tokens(query: str) -> list[tuple[str, str]]:
    """(kind, text) tokens: word, phrase ("…"), regex (/…/), range ([… TO …]), lparen,
    rparen, colon. Raises _QuerySyntaxError for an unclosed phrase, regex or range, a stray
    closing bracket and a trailing backslash."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char in _QUERY_CLOSERS:
            end = _closing(query, i + 1, _QUERY_CLOSERS[char], escapes=char in '"/')
            if end < 0:
                raise _QuerySyntaxError(f"unclosed {char} at {i}")
            tokens.append((_QUERY_KINDS[char], query[i : end + 1]))
            i = end + 1
        elif char in "]}":
            raise _QuerySyntaxError(f"unexpected {char} at {i}")
        elif char in "():":
            tokens.append(({"(": "lparen", ")": "rparen", ":": "colon"}[char], char))
            i += 1
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in _QUERY_SPECIAL:
                if query[i] == "\\":
                    if i + 1 >= n:
                        raise _QuerySyntaxError("a trailing backslash")
                    i += 1
                i += 1
            tokens.append(("word", query[start:i]))
    return tokens


def _closing(text: str, start: int, closers: str, *, escapes: bool) -> int:
    i = start
    while i < len(text):
        if escapes and text[i] == "\\":
            i += 2
            continue
        if text[i] in closers:
            return i
        i += 1
    return -1


def _query_clauses(query: str) -> list[tuple[str | None, str, str]]:
    """(field or None, kind, text) clauses; kind "operator" for AND OR NOT && ||, "group" for
    an opening parenthesis. A ':' must follow a field name and be followed by a value: `a:`,
    `:b` and `a:b:c` (an unescaped ':' in a value, such as a time) raise _QuerySyntaxError,
    as do unbalanced parentheses and an operator at either end."""
    tokens = _query_tokens(query)
    clauses: list[tuple[str | None, str, str]] = []
    depth = 0
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        i += 1
        if kind == "rparen":
            depth -= 1
            if depth < 0:
                raise _QuerySyntaxError("unbalanced )")
            continue
        if kind == "colon":
            raise _QuerySyntaxError("':' without a field name before it")
        if kind == "word" and text in ("AND", "OR", "NOT", "&&", "||"):
            clauses.append((None, "operator", text))
            continue
        name = None
        if kind == "word" and i < len(tokens) and tokens[i][0] == "colon":
            name = _unescape(text)
            i += 1
            if i >= len(tokens) or tokens[i][0] in ("colon", "rparen"):
                raise _QuerySyntaxError(f"nothing after {text}:")
            kind, text = tokens[i]
            i += 1
        if kind == "lparen":
            depth += 1
            clauses.append((name, "group", text))
            continue
        clauses.append((name, kind, text))
    if depth:
        raise _QuerySyntaxError("unbalanced (")
    first, last = (clauses[0], clauses[-1]) if clauses else ((None, "", ""), (None, "", ""))
    if (first[1] == "operator" and first[2] != "NOT") or last[1] == "operator":
        raise _QuerySyntaxError("an operator without an operand")
    return clauses


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _json_reply(status: int, value: Any, headers: list[tuple[str, str]] | None = None) -> _Reply:
    return _Reply(
        status,
        ruby_json(value),
        [("Content-Type", "application/json; charset=utf-8"), *(headers or [])],
    )


def _auth_refused(given: str) -> _Reply:
    """How Zammad refuses a request it cannot authenticate
    (app/controllers/application_controller/authenticates.rb, rendered by handles_errors.rb
    with X-Failure): credentials that match no user raise NotAuthorized, a 401 naming why;
    no credentials at all fail authentication_check with Forbidden, a 403."""
    scheme = given.split(" ", 1)[0].lower()
    status, message = {
        "token": (401, "Can't find User for Token"),
        "bearer": (401, "The provided token is invalid."),  # OAuth2 after the token check
        "basic": (401, "Invalid BasicAuth credentials"),
    }.get(scheme, (403, "Authentication required"))
    body = {"error": message, "error_human": message}
    return _json_reply(status, body, [("X-Failure", message)])


def _error_reply(status: int, retry_after: str | None) -> _Reply:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    headers = [("Retry-After", retry_after)] if retry_after is not None else []
    return _json_reply(status, {"error": phrase, "error_human": phrase}, headers)


def _no_route(method: str, path: str) -> dict[str, str]:
    message = f'No route matches [{method}] "{path}"'
    return {"error": message, "error_human": message}
