"""One language at a time: the admin page and explain, rendered in German and in English, hold
no word of the other language; the page follows the browser or the switch.

The words of each language come from every text the two render, in both languages: the admin
page's catalogue (adapter/i18n.py), explain's labels, weekdays, months and weeks, and the
policy's plan names, flags and warnings. A word found in one language's texts and not in the
other's belongs to it alone (`Okt`, `KW`, `Vertrag`; `Oct`, `week`, `Contract`); `Plan`,
`Ticket` or `Support`, found in both, belong to neither. A template word outside `_()` or a
text without its German would put such words on the other page; the first two tests catch
those where they are written."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from adapter import admin_page, explain, quota
from adapter.app import create_app
from adapter.cli import main
from adapter.i18n import CATEGORY_NAMES, FIELD_NAMES, GERMAN, REQUESTER_NAMES, STATUS_NAMES
from adapter.services import build_services
from adapter.settings import Settings
from connectors.zammad.settings import ZammadSettings
from mappings.plans import load_policy
from tests.admin_helpers import ADMIN_TOKEN, count_tickets, licence

TEMPLATES = Path(admin_page.__file__).parent / "templates" / "admin"
POLICY = load_policy()
LANGUAGES = ("de", "en")
# Visible text: what is left of a template outside Jinja's tags and HTML's tags.
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
TEXT_ATTRIBUTES = re.compile(r'\b(?:aria-label|title|placeholder|alt)="([^"]*)"')


def words(text: str) -> set[str]:
    """Its words, lowercased: runs of letters between non-word characters (`3be4` of a digest
    or `LIC-C-100`'s digits are not words; `C` is)."""
    return {w.lower() for w in re.findall(r"\w+", text) if w.isalpha()}


def texts(language: str) -> list[str]:
    """Every text the page and explain render in `language`."""
    english = [*GERMAN, *CATEGORY_NAMES.values(), *REQUESTER_NAMES.values()]
    english += [*STATUS_NAMES.values(), *FIELD_NAMES.values()]
    found = list(english) if language == "en" else [GERMAN[t] for t in english if t in GERMAN]
    found += explain.LABELS[language].values()
    found += [*explain.WEEKDAYS[language], *quota.MONTHS[language], quota.WEEK[language]]
    for plan in POLICY.plans.values():
        found += [plan.name[language], plan.covers[language]]
    for table in (POLICY.flags, POLICY.warnings):
        for entry in table.values():
            found += [entry.label[language], entry.message[language]]
    return found


VOCABULARY = {language: set().union(*map(words, texts(language))) for language in LANGUAGES}
ONLY = {
    "de": VOCABULARY["de"] - VOCABULARY["en"],
    "en": VOCABULARY["en"] - VOCABULARY["de"],
}
OTHER = {"de": "en", "en": "de"}


def foreign(text: str, language: str) -> set[str]:
    """The words of `text` that belong to the other language alone."""
    return words(text) & ONLY[OTHER[language]]


def visible(page: str) -> str:
    """A rendered page's text for a reader: no style sheet, no tags, but the labels a screen
    reader says; entities resolved."""
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.DOTALL)
    labels = " ".join(TEXT_ATTRIBUTES.findall(page))
    return html.unescape(re.sub(r"<[^>]+>", " ", page) + " " + labels)


def test_the_word_lists_hold_what_the_issue_saw_so_the_check_can_fail():
    assert {"okt", "kw", "vertrag", "kunden", "kostenpflichtig", "gründe"} <= ONLY["de"]
    assert {"oct", "week", "contract", "customers", "billable", "reasons"} <= ONLY["en"]
    assert {"plan", "ticket", "support"}.isdisjoint(ONLY["de"] | ONLY["en"])
    assert foreign("Tickets per period: Okt 2026 · KW 47 2026", "en") == {"okt", "kw"}
    assert foreign("Angenommener Vertrag: gültig (active)", "de") == {"active"}


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_no_template_holds_a_word_outside_the_translation(path: Path):
    source = path.read_text(encoding="utf-8")
    source = re.sub(r"<style.*?</style>", "", source, flags=re.DOTALL)
    bare = JINJA.sub(" ", " ".join([*TEXT_ATTRIBUTES.findall(source), source]))
    bare = re.sub(r"<[^>]+>", " ", re.sub(r"<!--.*?-->", " ", bare, flags=re.DOTALL))
    # `Z` stands after UTC times (`2026-12-01 09:30Z`), as in the API.
    assert words(html.unescape(bare)) <= {"z"}, f"{path.name}: words outside _()"


def test_every_text_given_to_translation_has_its_german():
    sources = [p.read_text(encoding="utf-8") for p in TEMPLATES.glob("*.html")]
    sources.append(Path(admin_page.__file__).read_text(encoding="utf-8"))
    asked = {m[1] for s in sources for m in re.findall(r"\b_\(\s*(['\"])(.+?)\1", s)}
    asked |= {*CATEGORY_NAMES.values(), *REQUESTER_NAMES.values(), *STATUS_NAMES.values()}
    asked |= set(FIELD_NAMES.values())
    assert asked, "no text found: the pattern no longer matches how templates translate"
    assert sorted(asked - set(GERMAN)) == []


# The pages, rendered


def settings(database_url: str, **more: Any) -> Settings:
    zammad = ZammadSettings(webhook_secret="s" * 32)
    options = {"admin_token": ADMIN_TOKEN, "language": "en", **more}
    return Settings(database_url=database_url, provider_settings={"zammad": zammad}, **options)


@pytest.fixture
def client(database_url, store):
    """Customers of each plan (the commissioning one counts by ISO week), tickets this and last
    month, and a dead letter whose error has no words."""
    services = build_services(settings(database_url), store=store)
    policy, now = services.policy, datetime.now(UTC)
    licence(store, policy, "C-100", "basic", "Nordwerk 100")
    licence(store, policy, "C-200", "pro", "Nordwerk 200")
    licence(store, policy, "C-300", "commissioning", "Nordwerk 300")
    count_tickets(store, policy, "LIC-C-100", now, 5)
    count_tickets(store, policy, "LIC-C-100", now - timedelta(days=31), 2)
    with store.session() as session:
        store.add_outbox(session, "zammad", "42", {"ticket_id": 42}, now)
    [row] = store.claim("outbox", now, limit=1, lease=timedelta(seconds=30), owner="test")
    assert store.fail(row, "HTTP 422", now, retry_in=None, max_attempts=8)
    client = create_app(services=services).test_client()
    client.dead_letter = f"outbox-{row.id}"
    return client


def csrf_of(page: Any) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def pages(client: Any, language: str) -> dict[str, str]:
    """Every page an admin meets, from signing in to explain's answer, as the browser asking
    for `language` gets them."""
    browser = {"Accept-Language": f"{language}-XX,{language};q=0.9"}
    seen = {"sign-in": client.get("/admin/sign-in", headers=browser).text}
    token = {"csrf": csrf_of(client.get("/admin/sign-in", headers=browser)), "token": "wrong"}
    seen["wrong token"] = client.post("/admin/sign-in", data=token, headers=browser).text
    token["token"] = ADMIN_TOKEN
    client.post("/admin/sign-in", data=token, headers=browser)
    index = client.get("/admin/", headers=browser)
    csrf = csrf_of(index)
    seen["index"] = index.text
    question = {
        "csrf": csrf,
        "plan": "basic",
        "purchased": "2026-03-15",
        "created": "2026-12-25T17:30",  # a public holiday, after hours
        "used": "4",
        "remote_sessions": "2",
        "categories": ["ui_building", "project_service"],
        "service": "Workshop",
        "requester": "end_customer",
    }
    seen["explain"] = client.post("/admin/explain", data=question, headers=browser).text
    wrong = {**question, "purchased": "2500-01-01", "used": "x"}
    seen["explain errors"] = client.post("/admin/explain", data=wrong, headers=browser).text
    both = {**question, "customer": "C-100"}
    seen["explain either"] = client.post("/admin/explain", data=both, headers=browser).text
    retried = f"/admin/dead-letters/{client.dead_letter}/retry"
    assert client.post(retried, data={"csrf": csrf}, headers=browser).status_code == 302
    seen["flash"] = client.get("/admin/", headers=browser).text
    seen["expired form"] = client.post(retried, data={}, headers=browser).text
    return seen


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_admin_page_speaks_one_language(client, language):
    seen = pages(client, language)
    assert f'<html lang="{language}">' in seen["index"]
    for name, page in seen.items():
        assert foreign(visible(page), language) == set(), f"{name} ({language})"
    # What the issue saw, and that the page says something in its language at all.
    index = visible(seen["index"])
    if language == "de":
        assert "KW " in index and "Kunden" in index and "Feiertag" in seen["explain"]
    else:
        assert "week " in index and "Customers" in index and "public holiday" in seen["explain"]
    assert client.dead_letter in visible(seen["flash"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_page_when_the_admin_token_is_not_set_speaks_one_language(
    database_url, store, language
):
    services = build_services(settings(database_url, admin_token=None), store=store)
    client = create_app(services=services).test_client()
    page = client.get("/admin/sign-in", headers={"Accept-Language": language})
    assert page.status_code == 503
    assert foreign(visible(page.text), language) == set()
    assert "ENTITLEMENTS_ADMIN_TOKEN" in page.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_explain_speaks_one_language(language):
    result = CliRunner().invoke(
        main,
        [
            "explain",
            *("--plan", "commissioning", "--purchased", "2026-10-01", "--go-live", "2026-11-02"),
            *("--created", "2026-12-25T17:30:00+01:00", "--used", "1", "--remote-sessions", "3"),
            *("--category", "after_hours", "--category", "usage_question"),
            *("--requester", "end_customer", "--untrained", "--language", language),
        ],
    )
    assert result.exit_code == 0, result.output
    assert foreign(result.output, language) == set(), result.output
    assert words(result.output) & ONLY[language]


def test_the_browser_chooses_unless_the_switch_did(client):
    german = {"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"}
    assert '<html lang="de">' in client.get("/admin/sign-in", headers=german).text
    assert '<html lang="en">' in client.get("/admin/sign-in").text  # none asked: LANGUAGE
    french = {"Accept-Language": "fr"}
    assert '<html lang="en">' in client.get("/admin/sign-in", headers=french).text
    # The switch wins over the browser, for the rest of the session, signing in included.
    assert '<html lang="en">' in client.get("/admin/sign-in?lang=en", headers=german).text
    page = client.get("/admin/sign-in", headers=german)
    assert '<html lang="en">' in page.text
    client.post("/admin/sign-in", data={"csrf": csrf_of(page), "token": ADMIN_TOKEN})
    assert '<html lang="en">' in client.get("/admin/", headers=german).text
    assert '<html lang="de">' in client.get("/admin/?lang=de").text


def test_an_unknown_language_is_refused_naming_the_field(client):
    answer = client.get("/admin/sign-in?lang=fr")
    assert answer.status_code == 400
    assert answer.json["error"] == "invalid_language" and "lang" in answer.json["fields"]


def test_month_and_week_labels_follow_the_language():
    assert quota.period_label("2026-10", "de") == "Okt 2026"
    assert quota.period_label("2026-10", "en") == "Oct 2026"
    assert quota.period_label("2026-W47", "de") == "KW 47 2026"
    assert quota.period_label("2026-W47", "en") == "week 47 2026"
