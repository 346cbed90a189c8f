"""`erp.yaml`: product codes to plans, and how the ERP's pull API and its items look.

`map_item` turns one raw ERP item into the fields of our licence shape; `LicenceSchema`
validates them afterwards, so that every problem is reported by our field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from mappings import yamlfile
from mappings.licences import LicenceSchema

SHIPPED = "erp.yaml"
PAGING_STYLES = ("page", "cursor")
AUTH_STYLES = ("bearer", "header")
SINCE_FORMATS = ("iso8601", "epoch")
LICENCE_FIELDS = tuple(LicenceSchema(()).fields)
NEEDED_FIELDS = ("licence_id", "customer_number", "purchased_on")

ItemPath = tuple[str, ...]


class Missing:
    """What `lookup` gives for a path an item does not have (None is a value: JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


@dataclass(frozen=True)
class FieldRule:
    path: ItemPath
    values: Mapping[str, Any] | None = None  # ERP value (as text) -> ours


@dataclass(frozen=True)
class Auth:
    style: str  # bearer | header
    header: str | None = None  # with style header


@dataclass(frozen=True)
class Paging:
    style: str  # page | cursor
    size_param: str
    page_size: int
    items: ItemPath  # () = the answer is the list
    page_param: str | None = None
    first_page: int = 1
    cursor_param: str | None = None
    next_cursor: ItemPath | None = None


@dataclass(frozen=True)
class UpdatedSince:
    param: str
    format: str  # iso8601 | epoch

    def render(self, value: datetime) -> str:
        if self.format == "epoch":
            return str(int(value.timestamp()))
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ErpPull:
    path: str
    auth: Auth
    paging: Paging
    updated_since: UpdatedSince
    changed_at: ItemPath
    fields: Mapping[str, FieldRule]


@dataclass(frozen=True)
class ErpBilling:
    """Where billing lines are POSTed (relative to ERP_URL), and how many per request."""

    path: str = "/api/billing-lines"
    batch_size: int = 100


@dataclass(frozen=True)
class ErpMapping:
    products: Mapping[str, str]  # product code -> plan
    pull: ErpPull
    billing: ErpBilling = ErpBilling()


# --- the file ---------------------------------------------------------------------------------


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class DottedPath(fields.String):
    """`customer.number` as ("customer", "number"); "" is the root (only where allowed)."""

    def __init__(self, *, root: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = root

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> ItemPath:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            if self.root:
                return ()
            raise ValidationError("must name a field, e.g. customer.number")
        parts = tuple(part.strip() for part in text.split("."))
        if not all(parts):
            raise ValidationError(f"{text!r} has an empty step")
        return parts


_name = fields.String(required=True, validate=validate.Length(min=1))


class FieldRuleField(fields.Field):
    """A path, or `{path: ..., values: {ERP value: ours}}`."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> FieldRule:
        if isinstance(value, dict):
            return _FieldRuleSchema().load(value)
        return FieldRule(DottedPath().deserialize(value))


class _FieldRuleSchema(_Strict):
    path = DottedPath(required=True)
    values = fields.Dict(  # keys of any scalar type: YAML reads `1:` or `true:` as non-text
        keys=fields.Raw(), values=fields.Raw(allow_none=True), load_default=None
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> FieldRule:
        values = data["values"]
        return FieldRule(
            data["path"],
            None if values is None else MappingProxyType({_text(k): v for k, v in values.items()}),
        )


class _AuthSchema(_Strict):
    style = fields.String(required=True, validate=validate.OneOf(AUTH_STYLES))
    header = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1))

    @validates_schema
    def needs(self, data: dict[str, Any], **_: Any) -> None:
        if data["style"] == "header" and not data.get("header"):
            raise ValidationError("required with style header", "header")
        if data["style"] == "bearer" and data.get("header"):
            raise ValidationError("only with style header", "header")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Auth:
        return Auth(**data)


class _PagingSchema(_Strict):
    style = fields.String(required=True, validate=validate.OneOf(PAGING_STYLES))
    size_param = _name
    page_size = fields.Integer(required=True, validate=validate.Range(min=1, max=10_000))
    items = DottedPath(root=True, required=True)
    page_param = fields.String(load_default=None, allow_none=True)
    first_page = fields.Integer(load_default=1, validate=validate.Range(min=0))
    cursor_param = fields.String(load_default=None, allow_none=True)
    next_cursor = DottedPath(load_default=None, allow_none=True)

    @validates_schema
    def needs(self, data: dict[str, Any], **_: Any) -> None:
        wanted = ("page_param",) if data["style"] == "page" else ("cursor_param", "next_cursor")
        errors = {name: [f"required with style {data['style']}"] for name in wanted}
        errors = {name: message for name, message in errors.items() if not data.get(name)}
        if errors:
            raise ValidationError(errors)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Paging:
        return Paging(**data)


class _UpdatedSinceSchema(_Strict):
    param = _name
    format = fields.String(load_default="iso8601", validate=validate.OneOf(SINCE_FORMATS))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> UpdatedSince:
        return UpdatedSince(**data)


class _PullSchema(_Strict):
    path = fields.String(required=True, validate=validate.Length(min=1))
    auth = fields.Nested(_AuthSchema, load_default=lambda: Auth("bearer"))
    paging = fields.Nested(_PagingSchema, required=True)
    updated_since = fields.Nested(_UpdatedSinceSchema, required=True)
    changed_at = DottedPath(required=True)
    field_map = fields.Dict(
        keys=fields.String(validate=validate.OneOf(LICENCE_FIELDS)),
        values=FieldRuleField(),
        required=True,
        data_key="fields",  # `fields` would shadow the Schema's own attribute
    )

    @validates_schema(skip_on_field_errors=True)
    def needs(self, data: dict[str, Any], **_: Any) -> None:
        mapped = data["field_map"]
        missing = [name for name in NEEDED_FIELDS if name not in mapped]
        if "plan" not in mapped and "product" not in mapped:
            missing.append("plan or product")
        if missing:
            raise ValidationError(f"must map {', '.join(missing)}", "fields")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ErpPull:
        rules = MappingProxyType(data.pop("field_map"))
        return ErpPull(**data, fields=rules)


class _BillingSchema(_Strict):
    path = fields.String(load_default=ErpBilling.path, validate=validate.Length(min=1))
    batch_size = fields.Integer(
        load_default=ErpBilling.batch_size, validate=validate.Range(min=1, max=10_000)
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ErpBilling:
        return ErpBilling(**data)


class ErpMappingSchema(_Strict):
    version = fields.Integer(required=True, validate=validate.Equal(1))
    products = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1)),
        values=fields.String(validate=validate.Length(min=1)),
        load_default=dict,
    )
    pull = fields.Nested(_PullSchema, required=True)
    billing = fields.Nested(_BillingSchema, load_default=ErpBilling)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ErpMapping:
        products = MappingProxyType(dict(data["products"]))
        return ErpMapping(products, data["pull"], data["billing"])


def shipped_path() -> Path:
    return Path(str(resources.files("mappings") / SHIPPED))


def load_erp_mapping(path: Path | None = None) -> ErpMapping:
    """The mapping in `path` (default: the shipped erp.yaml); raises yamlfile.FileErrors."""
    mapping, _ = yamlfile.load(path or shipped_path(), ErpMappingSchema())
    return mapping


def load_erp_mapping_for(settings: Any) -> ErpMapping:
    """The admin's erp.yaml if the mappings directory has one, else the shipped file (as
    `entitlements check` reads it): a directory set up before erp.yaml existed still works."""
    path = settings.mapping(SHIPPED)
    return load_erp_mapping(path if path is not None and path.exists() else None)


# --- items ------------------------------------------------------------------------------------


def lookup(data: Any, path: ItemPath) -> Any:
    """The value at a dotted path, or MISSING; a number steps into a list."""
    for step in path:
        if isinstance(data, Mapping):
            if step not in data:
                return MISSING
            data = data[step]
        elif isinstance(data, list) and step.isdigit() and int(step) < len(data):
            data = data[int(step)]
        else:
            return MISSING
    return data


def _translate(value: Any, values: Mapping[str, Any]) -> Any:
    if value is None:
        return None
    if isinstance(value, list):  # e.g. option codes: each entry on its own
        return [_translate(entry, values) for entry in value]
    return values.get(_text(value), value)


def _text(value: Any) -> str:
    """Compared as text, so that YAML's `true` and the ERP's "true" are the same."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def map_item(item: Mapping[str, Any], pull: ErpPull) -> dict[str, Any]:
    """One raw ERP item as licence fields (our names), ready for `LicenceSchema`."""
    licence: dict[str, Any] = {}
    for name, rule in pull.fields.items():
        value = lookup(item, rule.path)
        if value is MISSING:
            continue
        licence[name] = value if rule.values is None else _translate(value, rule.values)
    return licence


def changed_at(item: Any, pull: ErpPull) -> datetime | None:
    """An item's change time (aware), or None if it has none that can be read."""
    return parse_instant(lookup(item, pull.changed_at))


def parse_instant(value: Any) -> datetime | None:
    """ISO 8601 text or epoch seconds as an aware datetime; no offset means UTC."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        parsed = datetime.fromisoformat(str(value).strip())
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
