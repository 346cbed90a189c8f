"""`GET /api/v1/customers/<customer_number>/entitlement`: a customer's software updates
entitlement, for a download platform (`adapter.updates`).

Bearer `DOWNLOAD_TOKEN`, its own setting (the platform gets no admin rights, and the admin
token is not taken here), checked as the admin API checks its token: in constant time, 401
without a bearer token, 403 with a wrong one, wrong tokens throttled per address (realm
`download`), 503 when no token is configured (the endpoint is never open).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint
from flask.typing import ResponseReturnValue

from adapter.updates import updates_entitlement
from adapter.web import services, throttle
from adapter.web.errors import ApiProblem, no_nul_in_path
from mappings.updates import EntitlementSchema

bp = Blueprint("entitlement_api", __name__, url_prefix="/api/v1")
REALM = "download"


@bp.before_request
def authorise() -> ResponseReturnValue | None:
    return throttle.require_bearer(
        services().settings.download_token,
        realm=REALM,
        setting="DOWNLOAD_TOKEN",
        off="the entitlement endpoint is off",
    )


bp.before_request(no_nul_in_path)  # after `authorise`


@bp.get("/customers/<customer_number>/entitlement")
def entitlement(customer_number: str) -> ResponseReturnValue:
    s = services()
    with s.store.session() as session:
        contracts = s.store.contracts_for(session, customer_number)
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
