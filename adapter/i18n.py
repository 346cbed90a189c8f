"""The admin page in one language at a time: German or English, every label and sentence.

The English text is the key, as with gettext: a template writes `{{ _("Customers") }}` and
reads `Kunden` in German; `GERMAN` holds the translations, and a text missing from it shows
in English (`tests/test_languages.py` fails on that: every text the templates give `_` must
be here, and no template may hold words outside `_`). Values are put in after translating:
`_("Retry {key}", key=d.key)`, escaped unless they are markup.

Which language: the one chosen with `?lang=de` or `?lang=en` (kept in the session), else the
browser's (Accept-Language), else the LANGUAGE setting. Month names, weeks, plan names and
explain's text follow it; they have their own tables (adapter.quota, plans.yaml,
adapter.explain).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from adapter.policy import LANGUAGES

# How codes read in English; `_` translates them like any text.
CATEGORY_NAMES = {
    "ui_building": "user interface building",
    "usage_question": "usage question",
    "third_party_project": "third-party project",
    "after_hours": "after hours",
    "project_service": "project service",
}
REQUESTER_NAMES = {"partner": "partner", "power_user": "power user", "end_customer": "end customer"}
STATUS_NAMES = {
    "not_started": "not yet started",
    "active": "active",
    "cancelled": "cancelled",
    "expired": "expired",
    "terminated": "terminated",
}
# The explain form's fields by their labels, for its error messages.
FIELD_NAMES = {
    "customer": "Customer number",
    "plan": "Plan",
    "purchased": "Purchased",
    "accepted": "Accepted",
    "go_live": "Go-live",
    "cancelled": "Notice given on",
    "options": "third-party projects booked",
    "created": "Created",
    "categories": "Categories",
    "service": "Project service",
    "remote_sessions": "Remote sessions",
    "requester": "Requester",
    "untrained": "requester not trained",
    "used": "Tickets already counted in its period",
}

GERMAN: Mapping[str, str] = {
    # every page
    "Entitlements admin": "Entitlements-Verwaltung",
    "Sign in": "Anmelden",
    "Sign out": "Abmelden",
    "Language": "Sprache",
    # sign-in, off, expired
    "Admin token ({variable})": "Admin-Token ({variable})",
    "That is not the admin token.": "Das ist nicht das Admin-Token.",
    "Too many wrong tokens from this address: try again in {seconds} seconds.": (
        "Zu viele falsche Tokens von dieser Adresse: in {seconds} Sekunden erneut versuchen."
    ),
    "The admin page is off": "Die Verwaltungsseite ist ausgeschaltet",
    "Set {variable} (a long random string) and restart to turn it on.": (
        "{variable} setzen (eine lange Zufallszeichenkette) und neu starten, um sie einzuschalten."
    ),
    "The form has expired": "Das Formular ist abgelaufen",
    "Nothing was done.": "Es wurde nichts ausgeführt.",
    "Reload the page and try again.": "Seite neu laden und erneut versuchen.",
    # customers
    "Customers": "Kunden",
    "Customer": "Kunde",
    "Plan": "Plan",
    "Contract end": "Vertragsende",
    "Notice by": "Kündigung bis",
    "Contract": "Vertrag",
    "Tickets per period": "Tickets je Zeitraum",
    "none": "keiner",
    "{used} of {limit} tickets": "{used} von {limit} Tickets",
    "No contracts yet: import licences or let the ERP push them.": (
        "Noch keine Verträge: Lizenzen importieren oder vom ERP übermitteln lassen."
    ),
    "not yet started": "noch nicht begonnen",
    "active": "aktiv",
    "cancelled": "gekündigt",
    "expired": "abgelaufen",
    "terminated": "beendet",
    # contracts due
    "Due in the next {days} days": "Fällig in den nächsten {days} Tagen",
    "Day": "Tag",
    "Due": "Fällig",
    "Then": "Danach",
    "notice deadline": "Kündigungsfrist",
    "contract end": "Vertragsende",
    "renews until {day}": "verlängert sich bis {day}",
    "ends": "endet",
    "No notice deadline and no contract end in the next {days} days.": (
        "Keine Kündigungsfrist und kein Vertragsende in den nächsten {days} Tagen."
    ),
    # dead letters
    "Dead letters": "Unzustellbare Vorgänge",
    "ID": "ID",
    "Ticket": "Ticket",
    "Attempts": "Versuche",
    "Last failure": "Letzter Fehlschlag",
    "Last error": "Letzter Fehler",
    "Retry": "Erneut versuchen",
    "Retry {key}": "{key} erneut versuchen",
    "No dead letters.": "Keine unzustellbaren Vorgänge.",
    "{key} is queued again": "{key} ist wieder eingereiht",
    # explain
    "Explain a ticket": "Ein Ticket erklären",
    "Contract: a customer's, or one described here": (
        "Vertrag: der eines Kunden oder ein hier beschriebener"
    ),
    "Customer number": "Kundennummer",
    "or plan": "oder Plan",
    "Purchased": "Gekauft am",
    "Accepted": "Abgenommen am",
    "Go-live": "Produktivstart",
    "Notice given on": "Gekündigt am",
    "third-party projects booked": "Fremdprojekte gebucht",
    "Created": "Erstellt",
    "Created ({zone}; empty: now)": "Erstellt ({zone}; leer: jetzt)",
    "Tickets already counted in its period": "Bereits gezählte Tickets im Zeitraum",
    "Remote sessions": "Fernwartungssitzungen",
    "Project service": "Projektleistung",
    "Requester": "Anfragende Person",
    "requester not trained": "Anfragende Person nicht geschult",
    "Categories": "Kategorien",
    "Decide": "Entscheiden",
    "Billable": "Kostenpflichtig",
    "yes": "ja",
    "no": "nein",
    "Policy {digest} · the same data as the admin API under /api/v1": (
        "Richtlinie {digest} · dieselben Daten wie die Admin-API unter /api/v1"
    ),
    # codes
    "user interface building": "Benutzeroberflächen",
    "usage question": "Anwenderfrage",
    "third-party project": "Fremderstelltes Projekt",
    "after hours": "Außerhalb der Supportzeiten",
    "project service": "Projektleistung",
    "partner": "Partner",
    "power user": "Power User",
    "end customer": "Endkunde",
    # the explain form's errors (explain's own, and the schema's that the form can cause)
    "Give either a customer number or a plan with its purchase date.": (
        "Entweder eine Kundennummer oder einen Plan mit Kaufdatum angeben."
    ),
    "A plan needs its purchase date.": "Ein Plan braucht sein Kaufdatum.",
    "Not a valid date.": "Kein gültiges Datum.",
    "Not a valid datetime.": "Kein gültiger Zeitpunkt.",
    "Not a valid integer.": "Keine gültige ganze Zahl.",
    "Must be greater than or equal to 0.": "Muss mindestens 0 sein.",
    "must lie between {earliest} and {latest}, not {value}": (
        "muss zwischen {earliest} und {latest} liegen, nicht {value}"
    ),
}
CATALOGUES: Mapping[str, Mapping[str, str]] = {"de": GERMAN, "en": {}}


def translate(language: str, text: str, **values: Any) -> Markup:
    """`text` in `language` (English when the catalogue lacks it), with `values` put in and
    escaped (Markup values stay as they are)."""
    template = escape(CATALOGUES[language].get(text, text))
    return template.format(**values) if values else template


def page_language(chosen: object, accepted: Any, default: str) -> str:
    """The page's language: `chosen` (the session's, from ?lang=) when it is one of ours, else
    the best of the browser's `accepted` (werkzeug's LanguageAccept; `de-AT` counts as `de`),
    else `default` (the LANGUAGE setting)."""
    if chosen in LANGUAGES:
        return str(chosen)
    return accepted.best_match(LANGUAGES) or default
