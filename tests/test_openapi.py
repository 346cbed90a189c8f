"""`GET /api/v1/openapi.json`: a valid OpenAPI 3.1 document whose Licence schema is the
push's `LicenceSchema`, field for field and rule for rule."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from marshmallow import Schema, ValidationError, fields, validate

from adapter.app import create_app
from adapter.limits import EARLIEST, LATEST, date_problem
from adapter.services import build_services
from adapter.settings import Settings
from adapter.web.openapi import new_spec
from connectors.erp.openapi import LICENCE_EXAMPLE
from connectors.erp.settings import ErpSettings
from connectors.zammad.settings import ZammadSettings
from mappings.bounds import InDateRange
from mappings.erp import load_erp_mapping
from mappings.licences import LicenceSchema

ERRORS = ("400", "401", "413", "415", "422", "503")


@pytest.fixture
def services(database_url, store):
    zammad, erp = ZammadSettings(webhook_secret="s"), ErpSettings(push_token="t")
    settings = Settings(database_url=database_url, provider_settings={"zammad": zammad, "erp": erp})
    return build_services(settings, store=store)


@pytest.fixture
def document(services):
    response = create_app(services=services).test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.json


@pytest.fixture
def licence_schema(services):
    return LicenceSchema(services.policy.plans, load_erp_mapping().products)


def test_the_document_is_valid_openapi_3_1(document):
    import openapi_spec_validator as validator

    validator.validate(document)
    assert document["openapi"].startswith("3.1")


def test_the_licence_properties_and_required_fields_are_those_of_licence_schema(
    document, licence_schema
):
    licence = document["components"]["schemas"]["Licence"]
    assert set(licence["properties"]) == set(licence_schema.fields)
    required = [name for name, field in licence_schema.fields.items() if field.required]
    assert licence["required"] == required == ["licence_id", "customer_number", "purchased_on"]
    assert licence["additionalProperties"] is False


def test_status_options_and_plan_are_enums(document, services):
    properties = document["components"]["schemas"]["Licence"]["properties"]
    assert properties["status"]["enum"] == ["active", "cancelled", "terminated"]
    assert properties["status"]["default"] == "active"
    assert properties["options"]["items"]["enum"] == ["third_party_projects"]
    assert properties["plan"]["enum"] == [*services.policy.plans, None]
    assert properties["purchased_on"] == {
        "type": "string",
        "format": "date",
        "pattern": InDateRange.pattern,
        "description": properties["purchased_on"]["description"],
    }
    assert properties["cancelled_on"]["type"] == ["string", "null"]


def test_the_push_is_described_with_bearer_auth_both_body_shapes_and_its_answers(document):
    push = document["paths"]["/erp/licences"]["post"]
    assert push["security"] == [{"erpPushToken": []}]
    assert document["components"]["securitySchemes"]["erpPushToken"]["scheme"] == "bearer"
    body = push["requestBody"]["content"]["application/json"]["schema"]
    assert body == {
        "oneOf": [
            {"$ref": "#/components/schemas/Licence"},
            {"$ref": "#/components/schemas/LicenceBatch"},
        ]
    }
    assert {"202", *ERRORS} <= set(push["responses"])
    for status in ERRORS:
        schema = push["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "message", "fields"]
    assert "post" in document["paths"]["/webhooks/zammad"]


# Licences on both sides of LicenceSchema's rules: the JSON Schema must agree on each.
SAMPLES = [
    LICENCE_EXAMPLE,
    {"licence_id": "L", "customer_number": "C", "purchased_on": "2026-01-01", "plan": "pro"},
    {"licence_id": "L", "customer_number": "C", "purchased_on": "2026-01-01"},
    {"licence_id": "L", "customer_number": "C", "purchased_on": "2026-01-01", "product": "NONE"},
    {**LICENCE_EXAMPLE, "plan": None},
    {**LICENCE_EXAMPLE, "status": "terminated"},
    {**LICENCE_EXAMPLE, "status": "terminated", "cancelled_on": "2026-09-30"},
    {**LICENCE_EXAMPLE, "status": "cancelled", "cancelled_on": None},
    {**LICENCE_EXAMPLE, "status": "paused"},
    {**LICENCE_EXAMPLE, "options": ["nope"]},
    {**LICENCE_EXAMPLE, "currency": "eur"},
    {**LICENCE_EXAMPLE, "revision": -1},
    {**LICENCE_EXAMPLE, "purchased_on": "2026-02-30"},
    {**LICENCE_EXAMPLE, "purchased_on": "9999-12-31"},
    {**LICENCE_EXAMPLE, "purchased_on": "1969-12-31"},
    {**LICENCE_EXAMPLE, "purchased_on": "1970-01-01", "accepted_on": "2200-12-31"},
    {**LICENCE_EXAMPLE, "status": "cancelled", "cancelled_on": "2201-01-01"},
    {**LICENCE_EXAMPLE, "list_price": "-1.00"},
    {**LICENCE_EXAMPLE, "list_price": -1},
    {**LICENCE_EXAMPLE, "list_price": "12,00"},
    {**LICENCE_EXAMPLE, "list_price": 99.5},
    {**LICENCE_EXAMPLE, "licence_id": ""},
    {**LICENCE_EXAMPLE, "colour": "blue"},
    {k: v for k, v in LICENCE_EXAMPLE.items() if k != "customer_number"},
]


@pytest.mark.parametrize("sample", SAMPLES, ids=range(len(SAMPLES)))
def test_the_licence_json_schema_accepts_what_licence_schema_accepts(
    document, licence_schema, sample
):
    import jsonschema

    schema = document["components"]["schemas"]["Licence"]
    try:
        licence_schema.load(sample)
        accepted = True
    except ValidationError:
        accepted = False
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER  # dates, as LicenceSchema
    validator = jsonschema.Draft202012Validator(schema, format_checker=checker)
    assert validator.is_valid(sample) == accepted


class Custom(fields.Field):
    """A field class of its own: apispec alone would describe it as `{}`."""


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        (fields.Dict(), "no JSON Schema for Dict"),
        (Custom(), "no JSON Schema for Custom"),
        (fields.List(fields.Time()), "no JSON Schema for Time"),
        (fields.String(validate=validate.ContainsOnly("ab")), "validator ContainsOnly"),
    ],
)
def test_a_field_type_without_a_json_schema_is_an_error_not_a_guess(field, problem):
    odd = Schema.from_dict({"data": field})
    with pytest.raises(TypeError, match=problem):
        new_spec().components.schema("Odd", schema=odd)


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        (EARLIEST, True),
        (LATEST, True),
        (EARLIEST - timedelta(days=1), False),
        (LATEST + timedelta(days=1), False),
        (date(1, 1, 1), False),
        (date(9999, 12, 31), False),
    ],
)
def test_the_documented_date_pattern_is_the_range_the_schemas_enforce(day, inside):
    assert bool(re.match(InDateRange.pattern, day.isoformat())) is inside
    assert (date_problem(day) is None) is inside
