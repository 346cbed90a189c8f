"""Licences from the ERP (push, pull after mapping) and from import files, as `Licence`."""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from adapter.contracts import LICENCE_STATUSES, Licence
from adapter.limits import UnacceptableJson, loads
from mappings.bounds import DATES
from mappings.yamlfile import FileError, FileErrors, flatten_messages

OPTIONS = ("third_party_projects",)


class LicenceSchema(Schema):
    """One licence. `plans` are the known plan codes; `product_plans` maps ERP product codes
    to plans so that `plan` may be left out."""

    licence_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    # At most the column's INTEGER (4 bytes on PostgreSQL): a larger one is a 422, not a 500.
    revision = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=0, max=2**31 - 1)
    )
    customer_number = fields.String(required=True, validate=validate.Length(min=1, max=64))
    customer_name = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=255)
    )
    plan = fields.String(load_default=None, allow_none=True)
    product = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    # Within adapter.limits' years: contract terms are computed from these dates.
    purchased_on = fields.Date(required=True, validate=DATES)
    accepted_on = fields.Date(load_default=None, allow_none=True, validate=DATES)
    go_live_on = fields.Date(load_default=None, allow_none=True, validate=DATES)
    list_price = fields.Decimal(  # the column holds 12 digits, 2 of them decimals
        load_default=None,
        allow_none=True,
        places=2,
        validate=validate.Range(min=0, max=Decimal("9999999999.99")),
    )
    currency = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[A-Z]{3}$", error="an ISO 4217 code such as EUR"),
    )
    status = fields.String(load_default="active", validate=validate.OneOf(LICENCE_STATUSES))
    cancelled_on = fields.Date(load_default=None, allow_none=True, validate=DATES)
    options = fields.List(fields.String(validate=validate.OneOf(OPTIONS)), load_default=list)

    def __init__(
        self,
        plans: Collection[str],
        product_plans: Mapping[str, str] | None = None,
        *,
        strict: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(unknown=RAISE if strict else EXCLUDE, **kwargs)
        self.plans = plans
        self.product_plans = product_plans or {}

    @pre_load
    def no_nul(self, data: Any, **_: Any) -> Any:
        """PostgreSQL text cannot hold NUL: name the field rather than fail on storing it."""
        if isinstance(data, dict):
            bad = [k for k, v in data.items() if isinstance(v, str) and "\x00" in v]
            if bad:
                raise ValidationError({k: ["must not contain NUL characters"] for k in bad})
        return data

    @validates_schema(skip_on_field_errors=False, pass_original=True)  # every field at once
    def check(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        plan = data.get("plan") or self.product_plans.get(data.get("product") or "")
        if plan is None:
            errors["plan"] = ["required unless the product is mapped to a plan in erp.yaml"]
        elif plan not in self.plans:
            errors["plan"] = [f"unknown plan {plan!r}; known: {', '.join(self.plans)}"]
        # Given but invalid (out of range, say) has its own error: "required" would mislead.
        raw = original.get("cancelled_on") if isinstance(original, dict) else None
        given = data.get("cancelled_on") or (raw.strip() if isinstance(raw, str) else raw)
        if data.get("status") in ("cancelled", "terminated") and not given:
            errors["cancelled_on"] = [f"required when status is {data['status']}"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Licence:
        data["plan"] = data["plan"] or self.product_plans[data["product"]]
        data["options"] = tuple(sorted(set(data["options"])))
        return Licence(**data)


class CsvLicenceSchema(LicenceSchema):
    """The same fields as CSV columns: empty cells are missing, options separated by `;`."""

    @pre_load
    def cells(self, row: dict[str, Any], **_: Any) -> dict[str, Any]:
        values = {
            k: v.strip() for k, v in row.items() if k is not None and v is not None and v.strip()
        }
        if "options" in values:
            values["options"] = [o.strip() for o in values["options"].split(";") if o.strip()]
        return values


def read_licence_file(
    path: Path, plans: Collection[str], product_plans: Mapping[str, str] | None = None
) -> list[Licence]:
    """All licences of a CSV or JSON file, or FileErrors naming every bad row and field.

    JSON: a list of licences or `{"licences": [...]}`. CSV: a header row with the field names.
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise FileErrors([FileError(name, None, "", f"cannot read: {e.strerror}")]) from e
    except UnicodeDecodeError as e:
        raise FileErrors([FileError(name, None, "", f"not UTF-8 text: {e.reason}")]) from e
    if path.suffix.lower() == ".csv":
        try:
            rows = list(csv.DictReader(text.splitlines()))
        except csv.Error as e:  # e.g. a cell over the csv module's field size limit
            raise FileErrors([FileError(name, None, "", f"not valid CSV: {e}")]) from e
        schema: LicenceSchema = CsvLicenceSchema(plans, product_plans)
        # line of each data row: the header is line 1 (no quoted line breaks in these files)
        located = [(i, i + 1, row) for i, row in enumerate(rows, start=1)]
    else:
        try:
            data = loads(text)
        except json.JSONDecodeError as e:
            raise FileErrors([FileError(name, e.lineno, "", f"not valid JSON: {e.msg}")]) from e
        except UnacceptableJson as e:
            raise FileErrors([FileError(name, None, e.path, f"not accepted: {e}")]) from e
        items = data.get("licences") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise FileErrors(
                [FileError(name, None, "", 'expected a list of licences or {"licences": [...]}')]
            )
        schema = LicenceSchema(plans, product_plans)
        located = [(i, None, item) for i, item in enumerate(items, start=1)]

    licences: list[Licence] = []
    errors: list[FileError] = []
    seen: dict[str, int] = {}
    for row, line, item in located:
        if not isinstance(item, dict):
            errors.append(
                FileError(name, line, f"row {row}", "expected an object with licence fields")
            )
            continue
        try:
            licence = schema.load(item)
        except ValidationError as e:
            errors.extend(
                FileError(name, line, f"row {row} {'.'.join(map(str, field))}", message)
                for field, message in flatten_messages(e.messages)
            )
            continue
        key = f"{licence.licence_id}@{licence.revision}"
        if key in seen:
            errors.append(
                FileError(
                    name,
                    line,
                    f"row {row} licence_id",
                    f"repeats row {seen[key]} ({licence.licence_id}, revision {licence.revision})",
                )
            )
        seen[key] = row
        licences.append(licence)
    if errors:
        raise FileErrors(errors)
    return licences
