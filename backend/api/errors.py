"""API errors: every refusal is ``{"error", "message", "fields"?}`` with its HTTP status;
service exceptions and HTTP errors are mapped here."""
from flask import current_app, jsonify
from werkzeug.exceptions import HTTPException

from ..chain.errors import ChainError, ChainUnavailable
from ..core import security
from ..core.config import too_large_message
from ..core.db import get_db
from ..services.errors import Refused, ValidationError
from . import bp

HTTP_ERRORS = {  # status → (error code, Chinese words put before Werkzeug's English description)
    400: ("bad_request", "请求有误。"), 401: ("unauthorized", "未登录或令牌无效。"), 403: ("forbidden", "无权操作。"),
    404: ("not_found", "未找到。"), 405: ("method_not_allowed", "不支持此请求方法。"),
    406: ("not_acceptable", "无法提供所要求的格式。"), 413: ("payload_too_large", "请求内容过大。"),
    415: ("unsupported_media_type", "不支持的内容类型。"), 429: ("rate_limited", "请求过于频繁。"),
    500: ("internal_error", "内部错误，未做任何更改。"), 501: ("not_implemented", "不支持此请求方法。"),
}


def error(code, message, status, fields=None, **extra):
    body = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
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
    code, cn = HTTP_ERRORS.get(exc.code, ("http_error", ""))
    extra = {}
    if exc.code == 429:
        seconds = security.retry_after(exc)
        message = security.limit_message(exc, seconds)
        extra["retry_after"] = seconds
    elif exc.code == 405:
        allowed = ", ".join(getattr(exc, "valid_methods", None) or ())
        message = f"{cn}允许的方法：{allowed}。Method not allowed; allowed: {allowed}." if allowed else \
            f"{cn}{exc.description or exc.name}"
    elif exc.code == 413:
        message = too_large_message()
    elif exc.code == 500:
        message = f"{cn}Internal error; nothing was changed."
    else:
        message = f"{cn}{exc.description or exc.name}"
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
        return error("chain_unavailable", str(exc), 503)
    if isinstance(exc, ChainError):
        return error("chain_error", str(exc), 502)
    if isinstance(exc, HTTPException):
        return _http_error_response(exc)
    current_app.logger.exception("API error")
    return error("internal_error", "内部错误，未做任何更改。Internal error; nothing was changed.", 500)


@bp.errorhandler(Exception)
def _errors(exc):
    get_db().rollback()
    return handle(exc)
