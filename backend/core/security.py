"""CSRF on every form, security headers, rate limits (Flask-Limiter).

Rate limits live in the store ``RATELIMIT_STORAGE_URI`` names: ``memory://`` (the default)
counts per process; a shared store such as ``redis://host:6379/0`` makes a limit hold across
every process and machine serving the app. Each app gets its own ``Limiter`` (tests build
many apps in one process), applied to the endpoints of ``LIMITED`` once the blueprints are
registered (``init_limits``):

- public verification (pages and API: single, batch, document; a POST, or a GET of a
  verification link with its query), one shared budget per client address, ``VERIFY_RATE_LIMIT`` (a number = per minute, or a limits string such as
  ``"120/minute;2000/hour"``; 0 = off);
- login: ``LOGIN_RATE_LIMIT`` failed attempts per client address and, separately, per
  username (a successful login costs nothing).

A breach raises ``RateLimitExceeded`` (429): the API answers JSON ``rate_limited`` with
Retry-After (backend.api), pages a friendly page (``rate_limited_response``).
"""
import math
import time

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter, RateLimitExceeded
from flask_wtf.csrf import CSRFProtect
from limits import parse_many

from .db import get_db
from .models import User, token_digest

csrf = CSRFProtect()

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)

# pages that show secrets (API token, TOTP secret, recovery codes) or take them: never cached
NO_STORE_ENDPOINTS = {"auth.login", "auth.token", "auth.account", "two_factor.code", "two_factor.enrol",
                      "two_factor.recovery_codes"}

# What a person reads when a limit is hit, per kind (translated: docs/i18n.md).
LIMIT_TEXT = {
    "verify": _l("Too many verification requests."),
    "login": _l("Too many failed sign-in attempts."),
}
LIMIT_TEXT_OTHER = _l("Too many requests.")


def init_app(app):
    csrf.init_app(app)

    @app.after_request
    def headers(response):
        h = response.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.path.startswith("/api/") or request.endpoint in NO_STORE_ENDPOINTS:
            h.setdefault("Cache-Control", "no-store")
        return response


# ---------------------------------------------------------------- rate limits
def limit_string(value):
    """A rate-limit setting as a limits string: 120 → "120/minute"; 0, None, "" → "" (off)."""
    if value is None or value == "" or value == 0:
        return ""
    if isinstance(value, bool):
        raise ValueError("a rate limit is a number or a string such as 120/minute")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a rate limit cannot be negative")
        return f"{value}/minute"
    text = str(value).strip()
    if text.isascii() and text.isdigit():
        return limit_string(int(text))
    return text


def _setting(name):
    return lambda: limit_string(current_app.config.get(name))


def client_address():
    return request.remote_addr or "-"


def login_username():
    name = request.form.get("username", "").strip().lower()[:64]
    return "user:" + name if name else ""  # an empty key skips the limit (the form refuses it anyway)


def _failed_login(response):
    """A login POST that did not log in: the form is shown again (200). A success redirects
    and a refused (429) attempt is not counted again."""
    return response.status_code == 200


VERIFY_LINK_FIELDS = ("number", "issue_date", "gross", "check_code")


def _no_verification():
    """A GET that only shows a verification form (no verification link's query: an invoice's
    QR code opens GET /verify/?number=…&issue_date=…&gross=…&check_code=…, which verifies)."""
    return request.method == "GET" and not any(k in request.args for k in VERIFY_LINK_FIELDS)


def _limits(limiter):
    """endpoint → the RouteLimits applied to it."""
    verify = limiter.shared_limit(_setting("VERIFY_RATE_LIMIT"), scope="verify", methods=["GET", "POST"],
                                  exempt_when=_no_verification, error_message="verify")
    login_by_address = limiter.shared_limit(_setting("LOGIN_RATE_LIMIT"), scope="login-address", methods=["POST"],
                                            deduct_when=_failed_login, error_message="login")
    login_by_name = limiter.shared_limit(_setting("LOGIN_RATE_LIMIT"), scope="login-username", methods=["POST"],
                                         key_func=login_username, deduct_when=_failed_login, error_message="login")
    return {
        "verify.single": [verify], "verify.batch": [verify], "verify.document": [verify],
        "api.verify": [verify], "api.verify_batch": [verify], "api.verify_document": [verify],
        "auth.login": [login_by_address, login_by_name],
    }


def init_limits(app):
    """A Limiter for ``app`` on the store of RATELIMIT_STORAGE_URI; call after the blueprints
    are registered. Refuses to start on a malformed limit setting."""
    for name in ("VERIFY_RATE_LIMIT", "LOGIN_RATE_LIMIT"):
        try:
            text = limit_string(app.config.get(name))
            if text:
                parse_many(text)
        except ValueError as exc:
            raise RuntimeError(f"限流设置 {name} 无效：{app.config.get(name)!r}。{name} is not a rate limit "
                               f"(a number per minute, or e.g. \"10/minute;100/hour\"; 0 = off): {exc}") from None
    limiter = Limiter(key_func=client_address, app=app)
    app.extensions["einvoice_limiter"] = limiter
    for endpoint, limits in _limits(limiter).items():
        view = app.view_functions[endpoint]
        for limit in limits:
            view = limit(view)
        app.view_functions[endpoint] = view
    return limiter


def get_limiter(app=None):
    return (app or current_app).extensions["einvoice_limiter"]


def retry_after(exc=None):
    """Whole seconds until the breached limit lets the client in again (at least 1)."""
    try:
        current = get_limiter().current_limit
        if current is not None and current.breached:
            return max(1, math.ceil(current.window[0] - time.time()))
    except Exception:  # noqa: BLE001 - the store may be unreachable: a minute is a fair guess
        pass
    return 60


def limit_message(exc, seconds):
    """A 429's message in the request's language, naming when to retry."""
    kind = exc.description if isinstance(exc, RateLimitExceeded) else None
    return _("%(what)s Please try again in %(seconds)s seconds.", what=LIMIT_TEXT.get(kind, LIMIT_TEXT_OTHER),
             seconds=seconds)


def rate_limited_response(exc):
    """The friendly 429 page of the HTML routes."""
    seconds = retry_after(exc)
    kind = exc.description if isinstance(exc, RateLimitExceeded) else None
    body = render_template("rate_limited.html", seconds=seconds, what=LIMIT_TEXT.get(kind, LIMIT_TEXT_OTHER), kind=kind)
    return body, 429, {"Retry-After": str(seconds)}


def user_from_bearer():
    """The active user whose API token is in ``Authorization: Bearer …``, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = get_db().query(User).filter_by(api_token_hash=token_digest(token.strip())).first()
    return user if user and user.active else None
