"""Admin and deployment hardening: sign-out revokes the session server-side, the session cookie
behind a trusted proxy, throttling of wrong tokens (with an injected clock), and secrets too
short to be refused at start."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from adapter import admin_sessions
from adapter.admin_page import SESSION_LIFETIME
from adapter.app import create_app
from adapter.services import Services, build_services
from adapter.settings import MIN_SECRET_LENGTH, Settings
from adapter.store import Store
from adapter.store.models import CheckpointRow
from adapter.web import throttle
from connectors.erp.openapi import LICENCE_EXAMPLE
from connectors.erp.settings import ErpSettings
from mappings.settings import load_settings
from mappings.yamlfile import FileErrors
from tests.admin_helpers import ADMIN_TOKEN, BEARER
from tests.zammad_helpers import SECRET, signed_zammad

PUSH_TOKEN = "erp-push-token-for-the-hardening-tests"
LIMIT, WINDOW = 3, 60
COOKIE = "entitlements_admin"


def settings_for(database_url: str, **more: Any) -> Settings:
    values: dict[str, Any] = {
        "admin_token": ADMIN_TOKEN,
        "language": "en",
        "provider_settings": {**signed_zammad(), "erp": ErpSettings(push_token=PUSH_TOKEN)},
    }
    return Settings(database_url=database_url, **{**values, **more})


@pytest.fixture
def services(database_url: str, store: Store) -> Services:
    return build_services(settings_for(database_url), store=store)


@pytest.fixture
def app(services: Services) -> Flask:
    return create_app(services=services)


class Clock:
    """Monotonic seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: Flask) -> Clock:
    """The app's throttle at LIMIT wrong tokens per WINDOW seconds, on this clock."""
    clock = Clock()
    app.extensions[throttle.EXTENSION] = throttle.FailureThrottle(LIMIT, WINDOW, clock=clock)
    return clock


def csrf_of(page: Any) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def sign_in(client: Any, token: str = ADMIN_TOKEN, **options: Any) -> Any:
    page = client.get("/admin/sign-in", **options)
    return client.post("/admin/sign-in", data={"csrf": csrf_of(page), "token": token}, **options)


def signed_in(client: Any) -> str:
    """Signs `client` in; returns the session's CSRF token."""
    assert sign_in(client).status_code == 302
    return csrf_of(client.get("/admin/"))


def session_cookie(client: Any) -> str:
    return client.get_cookie(COOKIE, path="/admin").value


# --- sign-out ends the session on the server ----------------------------------------------------


def test_after_signing_out_a_copy_of_the_old_cookie_is_refused(app: Flask) -> None:
    client = app.test_client()
    csrf = signed_in(client)
    copied = session_cookie(client)
    assert client.post("/admin/sign-out", data={"csrf": csrf}).status_code == 302

    client.set_cookie(COOKIE, copied, path="/admin")
    assert client.get("/admin/").headers["Location"] == "/admin/sign-in"
    client.set_cookie(COOKIE, copied, path="/admin")
    answer = client.post("/admin/explain", data={"csrf": csrf, "plan": "basic"})
    assert answer.status_code == 400 and "The form has expired" in answer.text


def test_a_session_signed_out_in_one_process_is_refused_by_another(
    services: Services, database_url: str, store: Store
) -> None:
    client = create_app(services=services).test_client()
    csrf = signed_in(client)
    copied = session_cookie(client)
    other = create_app(services=build_services(settings_for(database_url), store=store))
    elsewhere = other.test_client()
    elsewhere.set_cookie(COOKIE, copied, path="/admin")
    assert elsewhere.get("/admin/").status_code == 200

    client.post("/admin/sign-out", data={"csrf": csrf})
    assert elsewhere.get("/admin/").headers["Location"] == "/admin/sign-in"


def test_signing_out_leaves_other_sessions_signed_in(app: Flask) -> None:
    leaving, staying = app.test_client(), app.test_client()
    csrf = signed_in(leaving)
    signed_in(staying)
    leaving.post("/admin/sign-out", data={"csrf": csrf})
    assert staying.get("/admin/").status_code == 200


def test_a_cookie_signed_in_without_a_session_id_is_refused(app: Flask) -> None:
    client = app.test_client()
    signed_in(client)
    with client.session_transaction("/admin/") as session:
        del session["sid"]  # as a cookie issued before sessions had ids
    assert client.get("/admin/").headers["Location"] == "/admin/sign-in"


def test_revocations_older_than_a_session_are_removed_by_the_next_sign_out(store: Store) -> None:
    now = datetime.now(UTC)
    admin_sessions.revoke(store, "old-session", now - SESSION_LIFETIME * 2, SESSION_LIFETIME)
    admin_sessions.revoke(store, "recent-session", now - timedelta(hours=1), SESSION_LIFETIME)
    admin_sessions.revoke(store, "new-session", now, SESSION_LIFETIME)
    with store.session() as session:
        names = set(session.scalars(select(CheckpointRow.name)))
    prefix = admin_sessions.REVOKED
    assert names == {prefix + "recent-session", prefix + "new-session"}
    assert not admin_sessions.is_live(store, "new-session")
    assert admin_sessions.is_live(store, "old-session")  # its cookie has expired by itself


def test_sign_outs_are_not_reported_as_sync_checkpoints(app: Flask) -> None:
    client = app.test_client()
    client.post("/admin/sign-out", data={"csrf": signed_in(client)})
    assert "admin_session" not in client.get("/metrics").text


# --- the session cookie behind a proxy ----------------------------------------------------------

FORWARDED_HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def sign_in_cookie(app: Flask) -> str:
    answer = sign_in(app.test_client(), headers=FORWARDED_HTTPS)
    assert answer.status_code == 302
    return answer.headers["Set-Cookie"]


def test_behind_a_trusted_proxy_the_session_cookie_is_secure_over_https(
    database_url: str, store: Store
) -> None:
    services = build_services(settings_for(database_url, trusted_proxies=1), store=store)
    cookie = sign_in_cookie(create_app(services=services))
    assert "Secure" in cookie.split("; ")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie


def test_without_trusted_proxies_forwarded_headers_are_not_believed(app: Flask) -> None:
    cookie = sign_in_cookie(app)
    assert "Secure" not in cookie.split("; ")
    assert "HttpOnly" in cookie


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_throttled(
    database_url: str, store: Store
) -> None:
    services = build_services(settings_for(database_url, trusted_proxies=1), store=store)
    app = create_app(services=services)
    app.extensions[throttle.EXTENSION] = throttle.FailureThrottle(LIMIT, WINDOW, clock=Clock())
    client = app.test_client()
    guesser = {"Authorization": "Bearer wrong", "X-Forwarded-For": "203.0.113.7"}
    for _ in range(LIMIT):
        assert client.get("/api/v1/dead-letters", headers=guesser).status_code == 403
    assert client.get("/api/v1/dead-letters", headers=guesser).status_code == 429
    admin = {**BEARER, "X-Forwarded-For": "198.51.100.2"}  # through the same proxy
    assert client.get("/api/v1/dead-letters", headers=admin).status_code == 200


# --- throttling wrong tokens ----------------------------------------------------------------------


def assert_throttled(answer: Any, retry_after: int) -> None:
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == str(retry_after)


def test_repeated_wrong_sign_ins_are_throttled_until_the_window_has_passed(
    app: Flask, clock: Clock
) -> None:
    client = app.test_client()
    for _ in range(LIMIT):
        assert sign_in(client, "a guess").status_code == 403
    clock.now += 20
    throttled = sign_in(client)  # even the right token: checking it would reveal it
    assert_throttled(throttled, WINDOW - 20)
    assert "try again in 40 seconds" in throttled.text
    assert client.get("/admin/").headers["Location"] == "/admin/sign-in"

    clock.now += WINDOW - 20
    assert sign_in(client).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_repeated_wrong_admin_bearer_tokens_are_throttled_until_the_window_has_passed(
    app: Flask, clock: Clock
) -> None:
    client = app.test_client()
    wrong = {"Authorization": "Bearer not-the-admin-token"}
    for _ in range(LIMIT):
        assert client.get("/api/v1/dead-letters", headers=wrong).status_code == 403
    answer = client.get("/api/v1/dead-letters", headers=BEARER)
    assert_throttled(answer, WINDOW)
    assert answer.json["error"] == "too_many_attempts" and answer.json["fields"] == {}
    assert set(answer.json) == {"error", "message", "fields"}

    clock.now += WINDOW
    assert client.get("/api/v1/dead-letters", headers=BEARER).status_code == 200


def test_repeated_wrong_erp_push_tokens_are_throttled_until_the_window_has_passed(
    app: Flask, clock: Clock
) -> None:
    client = app.test_client()
    wrong = {"Authorization": "Bearer not-the-push-token"}
    right = {"Authorization": f"Bearer {PUSH_TOKEN}"}
    for _ in range(LIMIT):
        assert client.post("/erp/licences", json=LICENCE_EXAMPLE, headers=wrong).status_code == 401
    answer = client.post("/erp/licences", json=LICENCE_EXAMPLE, headers=right)
    assert_throttled(answer, WINDOW)
    assert set(answer.json) == {"error", "message", "fields"}

    clock.now += WINDOW
    assert client.post("/erp/licences", json=LICENCE_EXAMPLE, headers=right).status_code == 202


def test_the_admin_api_and_the_sign_in_count_wrong_admin_tokens_together(
    app: Flask, clock: Clock
) -> None:
    client = app.test_client()
    for _ in range(LIMIT - 1):
        assert sign_in(client, "a guess").status_code == 403
    wrong = {"Authorization": "Bearer a-guess"}
    assert client.get("/api/v1/dead-letters", headers=wrong).status_code == 403
    assert client.get("/api/v1/dead-letters", headers=BEARER).status_code == 429
    # The ERP push is another token: its guesses are counted apart.
    right = {"Authorization": f"Bearer {PUSH_TOKEN}"}
    assert client.post("/erp/licences", json=LICENCE_EXAMPLE, headers=right).status_code == 202


def test_a_right_token_resets_the_count_of_wrong_ones(app: Flask, clock: Clock) -> None:
    client = app.test_client()
    wrong = {"Authorization": "Bearer stale-token"}
    for _ in range(3):
        for _ in range(LIMIT - 1):
            assert client.get("/api/v1/dead-letters", headers=wrong).status_code == 403
        assert client.get("/api/v1/dead-letters", headers=BEARER).status_code == 200


def test_a_throttled_address_does_not_throttle_another(app: Flask, clock: Clock) -> None:
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "192.0.2.66"
    for _ in range(LIMIT):
        guesser.get("/api/v1/dead-letters", headers={"Authorization": "Bearer guess"})
    assert guesser.get("/api/v1/dead-letters", headers=BEARER).status_code == 429
    admin = app.test_client()
    admin.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    assert admin.get("/api/v1/dead-letters", headers=BEARER).status_code == 200


def test_a_missing_token_is_not_counted_as_a_guess(app: Flask, clock: Clock) -> None:
    client = app.test_client()
    for _ in range(LIMIT * 2):
        assert client.post("/erp/licences", json=LICENCE_EXAMPLE).status_code == 401
        assert client.get("/api/v1/dead-letters").status_code == 401
    right = {"Authorization": f"Bearer {PUSH_TOKEN}"}
    assert client.post("/erp/licences", json=LICENCE_EXAMPLE, headers=right).status_code == 202
    assert client.get("/api/v1/dead-letters", headers=BEARER).status_code == 200


def test_a_limit_of_zero_turns_throttling_off() -> None:
    limiter = throttle.FailureThrottle(0, WINDOW, clock=Clock())
    for _ in range(100):
        limiter.failed("admin", "192.0.2.1")
    assert limiter.retry_after("admin", "192.0.2.1") is None


def test_the_throttle_remembers_a_bounded_number_of_addresses_dropping_the_oldest() -> None:
    clock = Clock()
    limiter = throttle.FailureThrottle(1, WINDOW, clock=clock, max_tracked=2)
    for address in ("192.0.2.1", "192.0.2.2"):
        limiter.failed("admin", address)
        clock.now += 1
    limiter.failed("admin", "192.0.2.3")
    assert limiter.retry_after("admin", "192.0.2.1") is None
    assert limiter.retry_after("admin", "192.0.2.2") == WINDOW - 1
    assert limiter.retry_after("admin", "192.0.2.3") == WINDOW


# --- secrets too short to trust are refused at start ---------------------------------------------

VERIFIED = ("ZAMMAD_WEBHOOK_SECRET", "ADMIN_TOKEN", "ERP_PUSH_TOKEN")
SHORT = "x" * (MIN_SECRET_LENGTH - 1)


def environment(database_url: str, **secrets: str) -> dict[str, str]:
    values = {
        "ZAMMAD_WEBHOOK_SECRET": SECRET,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "ERP_PUSH_TOKEN": PUSH_TOKEN,
        "DATABASE_URL": database_url,
        **secrets,
    }
    return {f"ENTITLEMENTS_{name}": value for name, value in values.items()}


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("CONFIG", *VERIFIED):
        monkeypatch.delenv(f"ENTITLEMENTS_{name}", raising=False)
    return monkeypatch


@pytest.mark.parametrize("name", VERIFIED)
def test_a_secret_we_verify_shorter_than_32_characters_is_refused_naming_it(
    name: str, database_url: str, clean_environment: pytest.MonkeyPatch
) -> None:
    for variable, value in environment(database_url, **{name: SHORT}).items():
        clean_environment.setenv(variable, value)
    with pytest.raises(FileErrors) as refused:
        load_settings()
    assert [e.field for e in refused.value.errors] == [f"ENTITLEMENTS_{name}"]
    assert "shorter than 32 characters" in str(refused.value)
    assert SHORT not in str(refused.value)

    clean_environment.setenv(f"ENTITLEMENTS_{name}", "x" * MIN_SECRET_LENGTH)
    assert load_settings()


def test_a_short_secret_in_the_config_file_is_named_there(
    tmp_path: Any, clean_environment: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "entitlements.yaml"
    config.write_text(f"ADMIN_TOKEN: {SHORT}\n", encoding="utf-8")
    clean_environment.setenv("ENTITLEMENTS_CONFIG", str(config))
    with pytest.raises(FileErrors) as refused:
        load_settings()
    [error] = refused.value.errors
    assert (error.file, error.field) == (str(config), "ADMIN_TOKEN")


def start(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A process that should refuse to start (a timeout, not a hang, if it does start)."""
    return subprocess.run(
        [sys.executable, *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serve_refuses_to_start_with_a_short_admin_token(database_url: str) -> None:
    started = start(
        ["-m", "adapter", "serve", "--port", "0"], environment(database_url, ADMIN_TOKEN=SHORT)
    )
    assert started.returncode == 1
    assert "ENTITLEMENTS_ADMIN_TOKEN: shorter than 32 characters" in started.stderr
    assert SHORT not in started.stderr + started.stdout


def test_the_wsgi_entry_point_refuses_to_start_with_a_short_webhook_secret(
    database_url: str,
) -> None:
    env = environment(database_url, ZAMMAD_WEBHOOK_SECRET=SHORT)
    started = start(["-c", "import adapter.wsgi"], env)
    assert started.returncode != 0
    assert "ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET: shorter than 32 characters" in started.stderr
    assert SHORT not in started.stderr
