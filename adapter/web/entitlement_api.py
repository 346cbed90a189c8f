"""`GET /api/v1/customers/<customer_number>/entitlement`: a customer's software updates
entitlement, for a download platform (`adapter.updates`).

Bearer `DOWNLOAD_TOKEN`, its own setting (the platform gets no admin rights, and the admin
token is not taken here), checked as the admin API checks its token: in constant time, 401
without a bearer token, 403 with a wrong one, wrong tokens throttled per address (realm
`download`), 503 when no token is configured (the endpoint is never open).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from adapter.services import Services
from adapter.updates import updates_entitlement
from adapter.web import throttle
from adapter.web.errors import ApiProblem, error_body
from adapter.web.signatures import valid_bearer
from mappings.updates import EntitlementSchema

logger = logging.getLogger(__name__)
bp = Blueprint("entitlement_api", __name__, url_prefix="/api/v1")
REALM = "download"


def services() -> Services:
    return current_app.extensions["entitlements"]


@bp.before_request
def authorise() -> ResponseReturnValue | None:
    token = services().settings.download_token
    if not token:
        raise ApiProblem(
            503,
            "download_not_configured",
            "ENTITLEMENTS_DOWNLOAD_TOKEN is not set: the entitlement endpoint is off",
        )
    header = request.headers.get("Authorization")
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        body = error_body("unauthorized", "send Authorization: Bearer <DOWNLOAD_TOKEN>")
        return jsonify(body), 401, {"WWW-Authenticate": 'Bearer realm="download"'}
    wait = throttle.retry_after(REALM)
    if wait is not None:
        return throttle.too_many_attempts(wait)
    if not valid_bearer(token, header):
        logger.warning("download.forbidden", extra={"remote": request.remote_addr})
        throttle.failed(REALM)
        raise ApiProblem(403, "forbidden", "the bearer token is not the download token")
    throttle.succeeded(REALM)
    return None


@bp.get("/customers/<customer_number>/entitlement")
def entitlement(customer_number: str) -> ResponseReturnValue:
    s = services()
    # Nothing stored is named with a NUL (PostgreSQL text cannot hold one).
    if "\x00" not in customer_number:
        with s.store.session() as session:
            contracts = s.store.contracts_for(session, customer_number)
    else:
        contracts = []
    if not contracts:
        raise ApiProblem(
            404,
            "not_found",
            f"no contracts for customer {customer_number!r}",
            {"customer_number": "no contracts for this customer number"},
        )
    today = datetime.now(UTC).astimezone(s.policy.calendar.time_zone).date()
    answer = updates_entitlement(customer_number, contracts, today, s.policy)
    return EntitlementSchema().dump(answer)
