"""The settings schema: strings from the environment or a YAML file into `Settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Config
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from adapter.logs import LEVELS
from adapter.policy import LANGUAGES
from adapter.settings import MIN_SECRET_LENGTH, PREFIX, Settings
from mappings import yamlfile
from mappings.yamlfile import FileError, FileErrors


def _log_level(value: str) -> None:
    if value.upper() not in LEVELS:
        raise ValidationError(f"one of {', '.join(LEVELS)}")


# Never the value itself: errors are printed and logged.
SHORT_SECRET = validate.Length(
    min=MIN_SECRET_LENGTH,
    error="shorter than {min} characters: use a long random string "
    "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')",
)


class SettingsSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # other ENTITLEMENTS_* variables (tests, tools) are not settings

    DATABASE_URL = fields.String(
        validate=validate.Regexp(
            r"^(sqlite|postgresql)(\+\w+)?://", error="a sqlite:/// or postgresql:// URL"
        )
    )
    MAPPINGS_DIR = fields.String()
    LANGUAGE = fields.String(validate=validate.OneOf(LANGUAGES))
    ZAMMAD_URL = fields.Url(require_tld=False)
    ERP_URL = fields.Url(require_tld=False)
    INSECURE_NO_SIGNATURE = fields.Boolean()
    MAX_ATTEMPTS = fields.Integer(validate=validate.Range(min=1))
    DEAD_AFTER = fields.Integer(validate=validate.Range(min=1))
    RECONCILE_INTERVAL = fields.Integer(validate=validate.Range(min=0))
    ERP_SYNC_INTERVAL = fields.Integer(validate=validate.Range(min=0))
    LEASE = fields.Integer(validate=validate.Range(min=1))
    WORKER_THREADS = fields.Integer(validate=validate.Range(min=1, max=64))
    RETENTION_DAYS = fields.Integer(validate=validate.Range(min=0))
    MAX_BODY_BYTES = fields.Integer(validate=validate.Range(min=64 * 1024, max=256 * 1024 * 1024))
    LOG_LEVEL = fields.String(validate=_log_level)
    METRICS_PORT = fields.Integer(validate=validate.Range(min=1, max=65535))
    METRICS_HOST = fields.String(validate=validate.Length(min=1))
    TRUSTED_PROXIES = fields.Integer(validate=validate.Range(min=0, max=10))
    AUTH_FAILURE_LIMIT = fields.Integer(validate=validate.Range(min=0))
    AUTH_FAILURE_WINDOW = fields.Integer(validate=validate.Range(min=1))
    ZAMMAD_TOKEN = fields.String(validate=validate.Length(min=1))
    ZAMMAD_WEBHOOK_SECRET = fields.String(validate=SHORT_SECRET)  # the secrets we verify
    ERP_PUSH_TOKEN = fields.String(validate=SHORT_SECRET)
    ERP_TOKEN = fields.String(validate=validate.Length(min=1))
    ADMIN_TOKEN = fields.String(validate=SHORT_SECRET)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Settings:
        values = {k.lower(): v for k, v in data.items()}
        if "mappings_dir" in values:
            values["mappings_dir"] = Path(values["mappings_dir"])
        if "log_level" in values:
            values["log_level"] = values["log_level"].upper()
        return Settings(**values)


def parse_settings(environment: dict[str, str], path: str | None) -> Settings:
    """Environment values over the config file's; errors name the setting, never its value."""
    values: dict[str, Any] = {}
    errors: list[FileError] = []
    if path:
        try:
            doc = yamlfile.read_yaml(Path(path))
        except FileErrors as e:
            errors.extend(e.errors)
        else:
            data = doc.data if isinstance(doc.data, dict) else {}
            known = SettingsSchema().fields
            errors.extend(
                FileError(
                    path,
                    doc.line_of((key,)),
                    str(key),
                    f"unknown setting; known: {', '.join(known)}",
                )
                for key in data
                if key not in known
            )
            values.update(data)
    values.update({k: v for k, v in environment.items() if v != ""})  # set but empty: not set
    try:
        settings = SettingsSchema().load(values)
    except ValidationError as e:
        for key, messages in e.messages.items():
            where = path if path and key not in environment else "environment"
            name = key if where == path else f"{PREFIX}_{key}"
            errors.append(FileError(where, None, name, " ".join(map(str, messages))))
        settings = None
    if settings and settings.mappings_dir and not settings.mappings_dir.is_dir():
        errors.append(FileError("environment", None, f"{PREFIX}_MAPPINGS_DIR", "not a directory"))
    if errors:
        raise FileErrors(errors)
    return settings


def load_settings() -> Settings:
    """Settings from the environment (and the file it names); raises FileErrors naming each
    bad setting."""
    config = Config(".")
    config.from_prefixed_env(PREFIX, loads=str)  # strings: the schema converts and names errors
    path = config.pop("CONFIG", None)
    return parse_settings(dict(config), path)
