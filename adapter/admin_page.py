"""`/admin`: the admin page, for people who would rather look than read the API.

Server-rendered (Jinja, no scripts): customers with plan, contract end, notice date and a
quota bar per period; dead letters with a retry button; the explain form. It shows what the
admin API gives (`adapter.admin`, `adapter.explain`), through the same functions.

Signing in takes the ADMIN_TOKEN once; the session cookie then says "signed in" (it does not
carry the token). Flask signs it with a key derived from ADMIN_TOKEN, so changing the token
signs everyone out, and no other secret is needed. The cookie is HttpOnly, SameSite=Strict,
limited to /admin and to 12 hours, and Secure over HTTPS; every form carries a per-session CSRF
token as well. Signing out revokes the session in the database (`adapter.admin_sessions`), so
a copy of the old cookie no longer works; wrong tokens are throttled (`adapter.web.throttle`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from adapter import admin_sessions
from adapter.admin import customers, retry_dead_letter
from adapter.explain import ExplainError, explain_ticket, render_text
from adapter.forecast import describe as describe_forecast
from adapter.i18n import (
    CATEGORY_NAMES,
    FIELD_NAMES,
    REQUESTER_NAMES,
    STATUS_NAMES,
    page_language,
    translate,
)
from adapter.limits import DATE_RANGE, EARLIEST, LATEST
from adapter.policy import CATEGORIES, LANGUAGES, REQUESTERS
from adapter.renewals import WINDOW, contracts_due, parse_within
from adapter.statement import LABELS as STATEMENT_LABELS
from adapter.statement import (
    StatementError,
    build_statement,
    month_name,
    parse_month,
    render_html,
)
from adapter.web import services, throttle
from adapter.web.errors import ApiProblem
from adapter.web.signatures import same_secret
from mappings.admin import ExplainRequestSchema
from mappings.prices import load_prices
from mappings.yamlfile import FileErrors, flatten_messages

logger = logging.getLogger(__name__)
bp = Blueprint("admin_page", __name__, url_prefix="/admin", template_folder="templates")

SESSION_KEY_LABEL = b"helpdesk-entitlements admin page session v1"
SESSION_LIFETIME = timedelta(hours=12)
OPEN = ("admin_page.sign_in",)  # the only views that need no sign-in
QUOTA_PERIODS = 3
DUE_DAYS = parse_within(WINDOW)  # notice deadlines and contract ends shown


def session_key(admin_token: str) -> bytes:
    """The session cookie's signing key: HMAC of a fixed label under ADMIN_TOKEN."""
    return hmac.new(admin_token.encode(), SESSION_KEY_LABEL, hashlib.sha256).digest()


class AdminSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure whenever the request came over HTTPS (behind a
    proxy: as X-Forwarded-Proto says, with TRUSTED_PROXIES set), so plain-HTTP trials still
    work."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or super().get_cookie_secure(app)


@bp.record_once
def _configure(state: BlueprintSetupState) -> None:
    app = state.app
    token = app.extensions["entitlements"].settings.admin_token
    if token:
        app.secret_key = session_key(token)
    app.session_interface = AdminSessions()
    app.config.update(
        SESSION_COOKIE_NAME="entitlements_admin",
        SESSION_COOKIE_PATH=bp.url_prefix,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )


@bp.before_request
def guard() -> ResponseReturnValue | None:
    g.csp_nonce = secrets.token_urlsafe(16)
    asked = request.args.get("lang")
    if asked is not None and asked not in LANGUAGES:
        wanted = f"one of {', '.join(LANGUAGES)}"
        raise ApiProblem(400, "invalid_language", f"lang: {wanted}", {"lang": wanted})
    if asked and services().settings.admin_token:  # without it there is no session to keep it
        session["lang"] = asked  # the switch: kept for the session
    g.language = page_language(
        asked or session.get("lang"), request.accept_languages, services().settings.language
    )
    if not services().settings.admin_token:
        return render_template("admin/off.html"), 503
    if session.get("admin") and not admin_sessions.is_live(services().store, session.get("sid")):
        session.clear()  # signed out (maybe by another process): the old cookie is refused
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    if request.method == "POST" and not same_secret(session["csrf"], request.form.get("csrf", "")):
        return render_template("admin/expired.html"), 400
    if request.endpoint not in OPEN and not session.get("admin"):
        return redirect(url_for(".sign_in"))
    return None


@bp.after_request
def headers(response: Response) -> Response:
    nonce = g.get("csp_nonce", "")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("admin/sign_in.html", failed=False)
    wait = throttle.retry_after("admin")  # shared with the admin API's bearer checks
    if wait is not None:
        page = render_template("admin/sign_in.html", failed=False, retry_after=wait)
        return page, 429, {"Retry-After": str(wait)}
    token = services().settings.admin_token or ""
    if not same_secret(token, request.form.get("token", "")):
        logger.warning("admin.sign-in-failed", extra={"remote": request.remote_addr})
        throttle.failed("admin")
        return render_template("admin/sign_in.html", failed=True), 403
    throttle.succeeded("admin")
    _new_session()  # a new session (and CSRF token) for the signed-in admin
    session.permanent = True
    session["admin"] = True
    session["sid"] = admin_sessions.new_session_id()
    session["csrf"] = secrets.token_urlsafe(32)
    return redirect(url_for(".index"))


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    sid = session.get("sid")
    if isinstance(sid, str):
        now = datetime.now(UTC)
        admin_sessions.revoke(services().store, sid, now, SESSION_LIFETIME)
    _new_session()
    return redirect(url_for(".sign_in"))


def _new_session() -> None:
    """An empty session, but for the language chosen with the switch."""
    chosen = session.get("lang")
    session.clear()
    if chosen in LANGUAGES:
        session["lang"] = chosen


@bp.get("/")
def index() -> ResponseReturnValue:
    return _page(explain_form(MultiDict()), None)


@bp.post("/explain")
def run_explain() -> ResponseReturnValue:
    form = explain_form(request.form)
    return _page(form, form.answer())


@bp.post("/dead-letters/<key>/retry")
def retry(key: str) -> ResponseReturnValue:
    if not retry_dead_letter(services().store, key, datetime.now(UTC)):
        abort(404)
    services().wake_worker()
    logger.info("admin.dead-letter-retried", extra={"dead_letter": key})
    flash(_("{key} is queued again", key=key))
    return redirect(url_for(".index", _anchor="dead-letters"))


@bp.get("/customers/<customer_number>/statement")
def statement(customer_number: str) -> ResponseReturnValue:
    """The customer's statement for `?month=YYYY-MM` (default: this month), as the command
    `entitlements statement` writes it in HTML, in the page's language."""
    s = services()
    today = datetime.now(UTC).astimezone(s.policy.calendar.time_zone).date()
    try:
        month = parse_month(request.args.get("month") or f"{today:%Y-%m}")
    except ValueError as e:
        raise ApiProblem(422, "invalid_query", f"month: {e}", {"month": str(e)}) from e
    language = page_language_or_setting()
    try:
        prices = load_prices(s.settings.mapping("prices.yaml"))
    except FileErrors as e:
        raise ApiProblem(503, "prices_invalid", f"prices.yaml is not valid: {e}") from e
    try:
        if "\x00" in customer_number:  # nothing stored is named with a NUL
            raise StatementError(f"no contracts and no tickets for customer {customer_number!r}")
        built = build_statement(s.store, s.policy, prices, customer_number, *month, language, today)
    except StatementError as e:
        raise ApiProblem(404, "not_found", str(e), {"customer_number": str(e)}) from e
    html = render_html(built, s.policy, nonce=g.get("csp_nonce"))
    return Response(html, mimetype="text/html")


def page_language_or_setting() -> str:
    """The page's language (chosen, or the browser's), else the LANGUAGE setting."""
    return g.get("language") or services().settings.language


def statement_months(today: date) -> list[tuple[int, int]]:
    """The months the page links statements for: last month and this one."""
    last = today.replace(day=1) - timedelta(days=1)
    return [(last.year, last.month), (today.year, today.month)]


def _page(form: ExplainForm, answer: dict[str, Any] | None) -> ResponseReturnValue:
    s = services()
    language = page_language_or_setting()
    today, found = customers(
        s.store,
        s.policy,
        datetime.now(UTC),
        periods=QUOTA_PERIODS,
        language=language,
    )
    with s.store.session() as db:
        letters = s.store.dead_letters(db)
    _, due = contracts_due(s.store, s.policy, datetime.now(UTC), DUE_DAYS)
    status = 422 if answer and answer.get("errors") else 200
    return render_template(
        "admin/index.html",
        today=today,
        customers=found,
        plan_names={code: plan.name[language] for code, plan in s.policy.plans.items()},
        dead_letters=letters,
        due=due,
        due_days=DUE_DAYS,
        form=form,
        answer=answer,
        policy_digest=s.policy.digest,
        forecast_text=lambda ahead: describe_forecast(ahead, language),
        statement_title=STATEMENT_LABELS[language]["title"],
        statement_months=[
            (f"{y}-{m:02d}", month_name(y, m, language)) for y, m in statement_months(today)
        ],
    ), status


class ExplainForm:
    """The explain form's values, and its answer through the API's schema and function."""

    TEXT = ("customer", "plan", "purchased", "accepted", "go_live", "cancelled", "service")
    NUMBERS = ("remote_sessions", "used")

    def __init__(self, values: MultiDict[str, str], language: str, time_zone: Any) -> None:
        self.values = values
        self.language = language  # the page's: explain answers in it too
        self.time_zone = time_zone

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def checked(self, name: str, value: str) -> bool:
        return value in self.values.getlist(name)

    def request_data(self) -> dict[str, Any]:
        """The form as the body of POST /api/v1/explain. The created time is the calendar's
        local time: a date-time input has no offset."""
        data: dict[str, Any] = {
            name: self.value(name).strip()
            for name in (*self.TEXT, *self.NUMBERS, "requester")
            if self.value(name).strip()
        }
        data["language"] = self.language
        data["categories"] = self.values.getlist("categories")
        data["options"] = self.values.getlist("options")
        data["untrained"] = "untrained" in self.values
        created = self.value("created").strip()
        if created:
            try:
                data["created"] = (
                    datetime.fromisoformat(created).replace(tzinfo=self.time_zone).isoformat()
                )
            except ValueError:
                data["created"] = created  # the schema names it
        return data

    def answer(self) -> dict[str, Any]:
        s = services()
        try:
            asked = ExplainRequestSchema(s.policy.plans).load(self.request_data())
            decision, facts = explain_ticket(
                asked.question,
                s.policy,
                lambda: s.store,
                default_language=s.settings.language,
            )
        except ValidationError as e:
            named = flatten_messages(e.messages)
            return {"errors": [_form_error(path, text) for path, text in named]}
        except ExplainError as e:
            return {"errors": [_explain_error(e)]}
        return {
            "decision": decision,
            "text": render_text(decision, facts, s.policy, self.language),
        }


def _form_error(path: tuple[Any, ...], text: str) -> Markup:
    """A schema's message on the form, in the page's language, naming the field by its label."""
    field = str(path[0]) if path else ""
    message = _(text)
    if text.startswith(f"{DATE_RANGE}, not "):  # adapter.limits.date_problem's
        value = text.removeprefix(f"{DATE_RANGE}, not ")
        between = "must lie between {earliest} and {latest}, not {value}"
        message = _(between, earliest=EARLIEST, latest=LATEST, value=value)
    return Markup("{}: {}").format(_(FIELD_NAMES.get(field, field)), message)


def _explain_error(e: ExplainError) -> str:
    if "customer" in e.fields:
        return _("Give either a customer number or a plan with its purchase date.")
    if e.fields == ("purchased",):
        return _("A plan needs its purchase date.")
    return str(e)  # an unknown plan: the form offers only known ones


def explain_form(values: MultiDict[str, str]) -> ExplainForm:
    s = services()
    return ExplainForm(values, g.language, s.policy.calendar.time_zone)


def _(text: str, **values: Any) -> Markup:
    """`text` in the page's language (adapter.i18n)."""
    return translate(g.get("language", "en"), text, **values)


@bp.context_processor
def choices() -> dict[str, Any]:
    return {
        "categories": CATEGORIES,
        "requesters": REQUESTERS,
        "languages": LANGUAGES,
        "language": g.get("language", "en"),
        "category_names": CATEGORY_NAMES,
        "requester_names": REQUESTER_NAMES,
        "status_names": STATUS_NAMES,
        "_": _,
        "code": lambda text: Markup("<code>{}</code>").format(text),
        "csrf_token": lambda: session.get("csrf", ""),
        "csp_nonce": lambda: g.get("csp_nonce", ""),
    }
