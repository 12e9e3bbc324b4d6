"""API errors: every refusal is ``{"error", "message", "fields"?}`` with its HTTP status;
service exceptions and HTTP errors are mapped here. ``message`` and the texts of ``fields``
are in the request's language (Accept-Language; Chinese by default); ``error`` and the
field keys are codes for programs."""
from flask import current_app, jsonify
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from ..chain.errors import ChainError, ChainUnavailable
from ..core import security
from ..core.config import too_large_message
from ..core.db import get_db
from ..services.errors import Refused, ValidationError
from . import bp

HTTP_ERRORS = {  # status → error code
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited",
    500: "internal_error", 501: "not_implemented",
}


def _http_words():
    """status → (title, what it means), in the request's language."""
    return {
        400: (_("Bad request"), _("The request could not be understood: check what was sent.")),
        401: (_("Not signed in"), _("Sign in first, or send a valid API token.")),
        403: (_("Not allowed"), _("Your account may not do this.")),
        404: (_("Not found"), _("There is nothing at this address: check the link.")),
        405: (_("Method not allowed"), _("This address does not take this kind of request.")),
        406: (_("Not acceptable"), _("The format asked for cannot be provided.")),
        413: (_("Too large"), _("The file or request is too large.")),
        415: (_("Unsupported content type"), _("This kind of content is not taken here.")),
        429: (_("Too many requests"), _("Too many requests: please wait a moment and try again.")),
        500: (_("Internal error"), _("Something went wrong on our side; nothing was changed.")),
        501: (_("Not supported"), _("This kind of request is not supported.")),
    }


def http_error_words(exc):
    """(title, description) of an HTTP error in the request's language: our words for the
    status, or the description the code raising it gave (Werkzeug's own English ones are
    replaced)."""
    title, description = _http_words().get(exc.code, (None, None))
    own = exc.description if exc.description and exc.description != type(exc).description else None
    if exc.code == 413:
        own = too_large_message()
    if title is None:
        title, description = _("Error %(code)s", code=exc.code), _("The request could not be completed.")
    return title, own or description


def error(code, message, status, fields=None, **extra):
    """The JSON refusal: ``message`` and the ``fields`` texts in the request's language
    (lazy texts made strings); ``error`` and the field keys stay language-free."""
    body = {"error": code, "message": str(message)}
    if fields:
        body["fields"] = {key: text if isinstance(text, (dict, list)) else str(text) for key, text in fields.items()}
    body.update(extra)
    resp = jsonify(body)
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="einvoice"'
    return resp


def with_headers_of(exc, resp):
    """``resp`` with the headers ``exc`` carries (Allow of a 405, WWW-Authenticate …)."""
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            resp.headers[name] = value
    return resp


def _http_error_response(exc):
    code = HTTP_ERRORS.get(exc.code, "http_error")
    extra = {}
    if exc.code == 429:
        seconds = security.retry_after(exc)
        message = security.limit_message(exc, seconds)
        extra["retry_after"] = seconds
    elif exc.code == 405 and getattr(exc, "valid_methods", None):
        message = _("This address does not take this kind of request; it takes: %(methods)s.",
                    methods=", ".join(exc.valid_methods))
    else:
        message = http_error_words(exc)[1]
    resp = with_headers_of(exc, error(code, message, exc.code, **extra))
    if exc.code == 429:
        resp.headers["Retry-After"] = str(extra["retry_after"])
    return resp


def handle(exc):
    """Map service exceptions and HTTP errors to API errors (also used by the app-level
    handler for HTTP errors under /api/)."""
    if isinstance(exc, ValidationError):
        return error("validation_error", exc.message, 400, exc.fields)
    if isinstance(exc, Refused):
        return error(exc.code, exc.message, exc.status, exc.fields, **exc.extra)
    if isinstance(exc, ChainUnavailable):
        return error("chain_unavailable", _("The blockchain cannot be reached at the moment; please try again "
                                            "later."), 503, detail=str(exc))
    if isinstance(exc, ChainError):
        return error("chain_error", _("The blockchain answered with an error; please try again later."), 502,
                     detail=str(exc))
    if isinstance(exc, HTTPException):
        return _http_error_response(exc)
    current_app.logger.exception("API error")
    return error("internal_error", _("Something went wrong on our side; nothing was changed."), 500)


@bp.errorhandler(Exception)
def _errors(exc):
    get_db().rollback()
    return handle(exc)
