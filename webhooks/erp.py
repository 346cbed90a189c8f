"""`POST /erp/licences`: the ERP pushes licences (one, or `{"licences": [...]}`).

Bearer `ERP_PUSH_TOKEN`, compared in constant time; without a configured token every push is
refused. All items are validated before anything is stored: one bad item rejects the push
(422, errors keyed `licences[3].purchased_on`), so the ERP can resend it whole. A valid push
is stored in one transaction, with the re-decisions of the customers it changed (see
`adapter.licences.store_licences`); repeats and older revisions change nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from adapter import metrics
from adapter.contracts import Licence
from adapter.licences import store_licences
from adapter.limits import UnacceptableJson, loads
from adapter.web import throttle
from adapter.web.errors import ApiProblem, error_body, refused_json
from adapter.web.signatures import valid_bearer
from connectors.erp.settings import erp_settings
from mappings.erp import ErpMapping, load_erp_mapping_for
from mappings.licences import LicenceSchema

logger = logging.getLogger(__name__)
bp = Blueprint("erp", __name__, url_prefix="/erp")
MAPPING = "entitlements.erp_mapping"  # app.extensions key: erp.yaml, loaded once per app


@bp.record_once
def _load_mapping(state: BlueprintSetupState) -> None:
    # At registration, so that a broken erp.yaml stops the app from starting.
    mapping_of(state.app)


def mapping_of(app: Flask) -> ErpMapping:
    """This app's erp.yaml, loaded once."""
    if MAPPING not in app.extensions:
        app.extensions[MAPPING] = load_erp_mapping_for(app.extensions["entitlements"].settings)
    return app.extensions[MAPPING]


@bp.post("/licences")
def receive() -> ResponseReturnValue:
    services = current_app.extensions["entitlements"]
    token = erp_settings(services.settings).push_token
    if not token:
        raise ApiProblem(
            503,
            "push_not_configured",
            "ENTITLEMENTS_ERP_PUSH_TOKEN is not set: licence pushes are refused",
        )
    wait = throttle.retry_after("erp")
    if wait is not None:
        return throttle.too_many_attempts(wait)
    header = request.headers.get("Authorization")
    if not valid_bearer(token, header):
        logger.warning("erp.push.unauthorized", extra={"remote": request.remote_addr})
        if header:  # a guess; a missing token is not
            throttle.failed("erp")
        body = error_body("unauthorized", "send Authorization: Bearer <ERP_PUSH_TOKEN>")
        return jsonify(body), 401, {"WWW-Authenticate": 'Bearer realm="erp"'}
    throttle.succeeded("erp")
    if request.mimetype != "application/json":
        raise ApiProblem(415, "unsupported_media_type", "send Content-Type: application/json")
    try:
        data = loads(request.get_data(cache=False))  # 413 past MAX_CONTENT_LENGTH
    except UnacceptableJson as e:
        raise refused_json(e) from e
    except ValueError as e:
        raise ApiProblem(400, "invalid_json", f"the body is not JSON: {e}") from e

    mapping = mapping_of(current_app)
    try:
        licences = parse_push(data, LicenceSchema(services.policy.plans, mapping.products))
    except ApiProblem:
        batch = data.get("licences") if isinstance(data, dict) else None
        metrics.count_licences("push", rejected=len(batch) if isinstance(batch, list) else 1)
        raise
    with services.store.session() as session:
        # The store also queues the re-decisions of changed customers in this transaction.
        report = store_licences(
            services.store,
            session,
            services.policy,
            licences,
            "push",
            datetime.now(UTC),
            helpdesks=services.helpdesks,
        )
    changed = sorted(report.customers)
    metrics.count_licences(
        "push",
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        stale=report.stale,
    )
    logger.info(
        "erp.push.accepted",
        # Not "created": LogRecord has an attribute of that name, and logging refuses it.
        extra={
            "licences": len(licences),
            "licences_created": report.created,
            "licences_updated": report.updated,
        },
    )
    if report.conflicts:
        # Same revision, other content: the stored one stays; the ERP should raise revisions.
        logger.warning("erp.push.revision-conflict", extra={"licences": report.conflicts})
    if changed:
        services.wake_worker()  # re-decisions the store queued need not wait for a poll
    notify = getattr(services, "on_licences_changed", None)
    if changed and notify is not None:
        try:
            notify(changed)
        except Exception:
            # Stored is stored: a 5xx would only make the ERP resend what is now unchanged.
            logger.exception("erp.push.on-licences-changed-failed")
    return {
        "status": "accepted",
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "stale": report.stale,
        "conflicts": report.conflicts,
    }, 202


def parse_push(data: Any, schema: LicenceSchema) -> list[Licence]:
    """One licence object or `{"licences": [...]}` as licences; ApiProblem 422 naming every
    bad item and field otherwise."""
    if isinstance(data, dict) and "licences" in data:
        items, prefix = data["licences"], "licences"
        others = sorted(set(data) - {"licences"})
        if others:
            fields = {name: "Unknown field." for name in others}
            raise _invalid(fields, "a batch has only the key licences")
        if not isinstance(items, list):
            raise _invalid({"licences": "Not a valid list."}, "licences must be a list")
    elif isinstance(data, dict):
        items, prefix = [data], None
    else:
        raise _invalid({}, 'expected a licence object or {"licences": [...]}')

    licences: list[Licence] = []
    fields: dict[str, str] = {}
    for index, item in enumerate(items):
        where = f"{prefix}[{index}]" if prefix else ""
        if not isinstance(item, dict):
            fields[where] = "Not a licence object."
            continue
        try:
            licences.append(schema.load(item))
        except ValidationError as e:
            for name, messages in _messages(e.messages).items():
                fields[".".join(p for p in (where, name) if p) or "_schema"] = messages
    if fields:
        bad = len(items) - len(licences)
        raise _invalid(fields, f"{bad} of {len(items)} licence(s) invalid; nothing was stored")
    return licences


def _messages(messages: Any, path: str = "") -> dict[str, str]:
    """marshmallow's nested messages as `name` / `options[1]` -> "message; message"."""
    if isinstance(messages, dict):
        flat: dict[str, str] = {}
        for key, value in messages.items():
            if key == "_schema":
                step = path
            elif isinstance(key, int):
                step = f"{path}[{key}]"
            else:
                step = f"{path}.{key}" if path else str(key)
            for name, text in _messages(value, step).items():
                flat[name] = f"{flat[name]} {text}" if name in flat else text
        return flat
    if isinstance(messages, list) and not all(isinstance(m, str) for m in messages):
        return _messages(dict(enumerate(messages)), path)
    texts = messages if isinstance(messages, list) else [messages]
    return {path: " ".join(str(t) for t in texts)}


def _invalid(fields: dict[str, str], message: str) -> ApiProblem:
    return ApiProblem(422, "invalid_licences", message, fields)
