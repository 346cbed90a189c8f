"""`prices.yaml`: the strict schema of the price list for paid services and on-call."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate

from adapter.billing import SURCHARGES, Cancellation, NightHours, Prices
from mappings import yamlfile
from mappings.plans import ClockTime

SHIPPED = "prices.yaml"

# An amount of the price list: never a built-in value, so null is allowed everywhere.
_amount = fields.Decimal(load_default=None, allow_none=True, validate=validate.Range(min=0))


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class NightSchema(_Strict):
    start = ClockTime(required=True, data_key="from")
    end = ClockTime(required=True, data_key="to")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> NightHours:
        if data["start"] == data["end"]:
            raise ValidationError("night hours must not start and end at the same time")
        return NightHours(**data)


class CancellationSchema(_Strict):
    free_days_ahead = fields.Integer(required=True, validate=validate.Range(min=0, max=366))
    late_percent = fields.Decimal(required=True, validate=validate.Range(min=0, max=100))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Cancellation:
        return Cancellation(**data)


class OnCallSchema(_Strict):
    base_fee = _amount
    # Missing: free before the 14-day line, the whole base fee after it (Cancellation's).
    cancellation = fields.Nested(CancellationSchema, load_default=Cancellation)


class PricesSchema(_Strict):
    version = fields.Integer(required=True, validate=validate.Equal(1))
    currency = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Z]{3}$", error="an ISO 4217 code such as EUR"),
    )
    night = fields.Nested(NightSchema, load_default=None, allow_none=True)
    rates = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1)), values=_amount, load_default=dict
    )
    surcharges = fields.Dict(
        keys=fields.String(validate=validate.OneOf(SURCHARGES)), values=_amount, load_default=dict
    )
    on_call = fields.Nested(
        OnCallSchema, load_default=lambda: {"base_fee": None, "cancellation": Cancellation()}
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Prices:
        return Prices(
            currency=data["currency"],
            night=data["night"],
            rates=data["rates"],
            surcharges=data["surcharges"],
            on_call_base_fee=data["on_call"]["base_fee"],
            on_call_cancellation=data["on_call"]["cancellation"],
        )


def shipped_path() -> Path:
    return Path(str(resources.files("mappings") / SHIPPED))


def load_prices(path: Path | None = None) -> Prices:
    """The price list in `path` (default: the shipped prices.yaml); raises yamlfile.FileErrors."""
    prices, _ = yamlfile.load(path or shipped_path(), PricesSchema())
    return prices
