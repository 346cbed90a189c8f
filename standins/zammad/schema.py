"""Zammad's seed data (ids as in a fresh installation) and the columns of its records."""

from __future__ import annotations

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


ARTICLE_COLUMNS = (
    "id", "ticket_id", "type_id", "sender_id", "from", "to", "cc", "subject", "reply_to",
    "message_id", "message_id_md5", "in_reply_to", "content_type", "references", "body",
    "internal", "preferences", "updated_by_id", "created_by_id", "origin_by_id", "created_at",
    "updated_at",
)  # fmt: skip
