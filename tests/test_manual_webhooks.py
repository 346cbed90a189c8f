"""The webhook and the ERP push sent by hand, exactly as docs/zammad.md and docs/erp.md show
them: each documented shell block runs in bash (openssl, curl) against the app on loopback and
must print the documented answer, so the examples cannot drift from what the adapter does."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapter.app import create_app
from adapter.server import WebServer
from adapter.services import build_services
from adapter.settings import Settings
from adapter.web.signatures import hub_signature
from connectors.erp.settings import ErpSettings
from connectors.zammad.settings import ZammadSettings

ROOT = Path(__file__).resolve().parent.parent
SECRET = "a-webhook-secret-typed-by-hand-of-32-chars"
PUSH_TOKEN = "an-erp-push-token-typed-by-hand-of-32-chars"
ENVIRONMENT = {
    "ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET": SECRET,
    "ENTITLEMENTS_ERP_PUSH_TOKEN": PUSH_TOKEN,
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}


def documented(page: str, name: str) -> tuple[str, str | None]:
    """The shell block after `<!-- by-hand: NAME … -->` on `page`, and the plain block after
    it (the answer), if the next block is one."""
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    marker = re.search(rf"<!-- by-hand: {re.escape(name)}(?:\s[^>]*)?-->", text)
    assert marker, f"docs/{page} has no example marked by-hand: {name}"
    blocks = re.findall(r"^```(\w*)\n(.*?)^```$", text[marker.end() :], re.M | re.S)
    (kind, script), *rest = blocks
    assert kind == "sh"
    answer = rest[0][1] if rest and rest[0][0] == "" else None
    return script, answer


def run(script: str, **more: str) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={**ENVIRONMENT, **more},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def adapter(database_url, store) -> Iterator[str]:
    """The app with Zammad's API configured (nothing is called while accepting) and the ERP's
    push token, served on loopback by `serve`'s server."""
    for tool in ("bash", "curl", "openssl"):
        if shutil.which(tool) is None:
            pytest.skip(f"the documented examples need {tool}")
    zammad = ZammadSettings(url="http://127.0.0.1:9", token="t", webhook_secret=SECRET)
    erp = ErpSettings(push_token=PUSH_TOKEN)
    settings = Settings(database_url=database_url, provider_settings={"zammad": zammad, "erp": erp})
    app = create_app(services=build_services(settings, store=store))
    server = WebServer(app, "127.0.0.1", 0, max_body_bytes=settings.max_body_bytes, threads=2)
    [(_, port)] = server.addresses
    stop = threading.Event()
    thread = threading.Thread(target=server.serve_until, args=(stop,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    stop.set()
    thread.join(30)


def test_the_documented_zammad_webhook_is_accepted_as_documented(adapter):
    script, answer = documented("zammad.md", "zammad")
    assert answer is not None and "curl" in script and "openssl" in script
    assert run(script, ADAPTER=adapter) == answer
    assert run(script, ADAPTER=adapter) == '{"status":"duplicate"}\n200\n'  # sent again


def test_a_wrong_secret_gets_the_documented_refusal(adapter):
    script, _ = documented("zammad.md", "zammad")
    page = (ROOT / "docs" / "zammad.md").read_text(encoding="utf-8")
    refusal = re.search(r'`(\{"error":"invalid_signature".*?\})`', page).group(1)
    wrong = run(script, ADAPTER=adapter, ENTITLEMENTS_ZAMMAD_WEBHOOK_SECRET="not-" + SECRET)
    assert wrong == f"{refusal}\n401\n"


def test_the_documented_signature_is_the_adapters_in_openssl_and_in_python():
    script, _ = documented("zammad.md", "zammad")
    body = re.search(r"^BODY='(.*)'$", script, re.M).group(1)
    openssl = re.search(r"^SIGNATURE=.*$", script, re.M).group(0)
    python, _ = documented("zammad.md", "zammad-python")
    for way in (openssl, python.strip()):
        signed = run(f"BODY='{body}'\n{way}\nprintf '%s' \"$SIGNATURE\"")
        assert signed == hub_signature(SECRET, body.encode()), way


def test_the_documented_erp_push_is_accepted_as_documented(adapter, store):
    script, answer = documented("erp.md", "erp")
    assert answer is not None and "curl" in script
    assert run(script, ADAPTER=adapter) == answer
    with store.session() as session:
        assert store.licence(session, "LIC-1001") is not None
    again = answer.replace('"created":1', '"created":0').replace('"unchanged":0', '"unchanged":1')
    assert run(script, ADAPTER=adapter) == again  # as the docs say of sending it again
