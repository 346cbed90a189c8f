"""The settings schema: strings from the environment or a YAML file into `Settings`, the
core's keys here and each enabled provider's (`<KEY>_*`) with the provider's own schema."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Config
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from adapter.logs import LEVELS
from adapter.policy import LANGUAGES
from adapter.providers import Provider, installed
from adapter.settings import MIN_SECRET_LENGTH, PREFIX, Settings
from mappings import yamlfile
from mappings.yamlfile import FileError, FileErrors


def _log_level(value: str) -> None:
    if value.upper() not in LEVELS:
        raise ValidationError(f"one of {', '.join(LEVELS)}")


def _language(value: str) -> None:
    """One of ours. A locale or a list of them, as the shell's own LANGUAGE variable holds
    (`en_US:en`), is refused with a word on where such a value comes from: the adapter's
    setting is a language code, and the first of a list is not guessed at."""
    if value in LANGUAGES:
        return
    message = f"Must be one of: {', '.join(LANGUAGES)}."
    if any(mark in value for mark in ":_.@"):
        message += (
            " This looks like a locale list, such as the shell's LANGUAGE=en_US:en; "
            "the adapter's setting is a language code alone"
        )
    raise ValidationError(message)


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
    LANGUAGE = fields.String(validate=_language)
    PROVIDERS = fields.String()  # comma-separated keys
    INSECURE_NO_SIGNATURE = fields.Boolean()
    MAX_ATTEMPTS = fields.Integer(validate=validate.Range(min=1))
    DEAD_AFTER = fields.Integer(validate=validate.Range(min=1))
    RECONCILE_INTERVAL = fields.Integer(validate=validate.Range(min=0))
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
    ADMIN_TOKEN = fields.String(validate=SHORT_SECRET)
    DOWNLOAD_TOKEN = fields.String(validate=SHORT_SECRET)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        values = {k.lower(): v for k, v in data.items()}
        if "mappings_dir" in values:
            values["mappings_dir"] = Path(values["mappings_dir"])
        if "log_level" in values:
            values["log_level"] = values["log_level"].upper()
        if "providers" in values:
            keys = (key.strip() for key in values["providers"].split(","))
            values["providers"] = tuple(dict.fromkeys(key for key in keys if key))
        return values


def prefix_of(provider: Provider) -> str:
    """A provider's settings are `<KEY>_*`: ENTITLEMENTS_ZAMMAD_URL, or ZAMMAD_URL in the file."""
    return f"{provider.key.upper()}_"


def parse_settings(environment: dict[str, str], path: str | None) -> Settings:
    """Environment values over the config file's; errors name the setting, never its value."""
    values: dict[str, Any] = {}
    errors: list[FileError] = []
    providers = installed()
    if path:
        try:
            doc = yamlfile.read_yaml(Path(path))
        except FileErrors as e:
            errors.extend(e.errors)
        else:
            data = doc.data if isinstance(doc.data, dict) else {}
            known = [*SettingsSchema().fields, *_provider_keys(providers.values())]
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

    def named(key: str) -> str:  # as the admin wrote it
        return key if path and key not in environment else f"{PREFIX}_{key}"

    def failed(key: str, messages: Any) -> None:
        where = path if path and key not in environment else "environment"
        errors.append(FileError(where, None, named(key), _text(messages)))

    core: dict[str, Any] = {}
    try:
        core = SettingsSchema().load(values)
    except ValidationError as e:
        for key, messages in e.messages.items():
            failed(key, messages)
    if core.get("mappings_dir") and not core["mappings_dir"].is_dir():
        errors.append(FileError("environment", None, f"{PREFIX}_MAPPINGS_DIR", "not a directory"))
    enabled = list(providers.values())
    if core.get("providers") is not None:
        unknown = [key for key in core["providers"] if key not in providers]
        if unknown:
            installed_keys = ", ".join(providers)
            failed("PROVIDERS", f"not installed: {', '.join(unknown)}; installed: {installed_keys}")
        enabled = [p for p in enabled if p.key in core["providers"]]
    loaded: dict[str, Any] = {}
    for provider in enabled:
        if provider.settings is None:
            continue
        prefix = prefix_of(provider)
        own = {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}
        try:
            loaded[provider.key] = provider.settings().load(own)
        except ValidationError as e:
            for key, messages in e.messages.items():
                failed(prefix + key, messages)
    if errors:
        raise FileErrors(errors)
    return Settings(**core, provider_settings=loaded)


def _provider_keys(providers: Iterable[Provider]) -> list[str]:
    return [prefix_of(p) + name for p in providers if p.settings for name in p.settings().fields]


def _text(messages: Any) -> str:
    return " ".join(map(str, messages)) if isinstance(messages, list) else str(messages)


def load_settings() -> Settings:
    """Settings from the environment (and the file it names); raises FileErrors naming each
    bad setting."""
    config = Config(".")
    config.from_prefixed_env(PREFIX, loads=str)  # strings: the schema converts and names errors
    path = config.pop("CONFIG", None)
    return parse_settings(dict(config), path)
