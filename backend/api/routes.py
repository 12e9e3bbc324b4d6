"""JSON API /api/v1 (Bearer tokens). Errors: {"error", "message", "fields"?}."""
import functools
import re

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from ..chain.errors import ChainError, ChainUnavailable, jsonable
from ..core import canonical, security
from ..core.db import get_db
from ..core.models import Invoice, Merchant, User, Verification
from ..core.security import csrf, user_from_bearer
from ..services import invoices, issuance, json_input, merchants, validation, verification
from ..services.errors import Refused, ValidationError
from .openapi import ID_MAX, PAGE_MAX, spec

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens only, no cookies: not CSRF-able


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


HTTP_ERRORS = {  # status → (error code, Chinese words put before Werkzeug's English description)
    400: ("bad_request", "请求有误。"), 401: ("unauthorized", "未登录或令牌无效。"), 403: ("forbidden", "无权操作。"),
    404: ("not_found", "未找到。"), 405: ("method_not_allowed", "不支持此请求方法。"),
    406: ("not_acceptable", "无法提供所要求的格式。"), 413: ("payload_too_large", "请求内容过大。"),
    415: ("unsupported_media_type", "不支持的内容类型。"), 429: ("rate_limited", "请求过于频繁。"),
    500: ("internal_error", "内部错误，未做任何更改。"), 501: ("not_implemented", "不支持此请求方法。"),
}


def _http_error_response(exc):
    """An HTTPException as an API error, keeping the headers it carries (Allow of a 405,
    Retry-After of a 429, WWW-Authenticate …)."""
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
    elif exc.code == 500:
        message = f"{cn}Internal error; nothing was changed."
    else:
        message = f"{cn}{exc.description or exc.name}"
    resp = error(code, message, exc.code, **extra)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            resp.headers[name] = value
    if exc.code == 429:
        resp.headers["Retry-After"] = str(extra["retry_after"])
    return resp


def handle(exc):
    """Map service exceptions to API errors (also used by the app-level handler)."""
    if isinstance(exc, ValidationError):
        return error("validation_error", exc.message, 400, exc.fields)
    if isinstance(exc, Refused):
        return error(exc.code, exc.message, exc.status, exc.fields)
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


class NumberConverter(BaseConverter):
    """``<number:…>``: an invoice number in a path is 20 digits. Anything else is no route
    (404), so /invoices/preview is not also "GET an invoice" (its Allow header is POST only)."""
    regex = "[0-9]{20}"


def init_app(app):
    """HTTP errors answer JSON under /api/, an HTML page elsewhere; both keep the headers
    of the error (Allow on a 405, Retry-After on a 429). Registers the ``number`` converter
    (before the blueprint's routes are)."""
    from flask import make_response, render_template

    app.url_map.converters.setdefault("number", NumberConverter)

    def _http_error(exc):
        if request.path.startswith("/api/"):
            return handle(exc)
        if exc.code == 429:
            return security.rate_limited_response(exc)
        resp = make_response(render_template("error.html", code=exc.code, name=exc.name,
                                             description=exc.description), exc.code)
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                resp.headers[name] = value
        return resp

    app.register_error_handler(HTTPException, _http_error)


def api_auth(*roles, optional=False):
    def deco(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = user_from_bearer()
            if user is None and request.headers.get("Authorization"):
                return error("unauthorized", "Invalid or revoked API token.", 401)
            if user is None and not optional:
                return error("unauthorized", "Authorization: Bearer <token> required.", 401)
            if user is not None and roles and user.role not in roles:
                return error("forbidden", f"This needs the role {' or '.join(roles)}.", 403)
            g.api_user = user
            return view(*args, **kwargs)

        return wrapped

    return deco


def body_json(required=True):
    data = request.get_data(cache=True)
    if not data:
        if required:
            raise ValidationError({"body": "a JSON body is required"}, "需要 JSON 请求体。A JSON body is required.")
        return {}
    return json_input.load_json(data, "body")


# Integer query parameters: at most 19 ASCII digits (int() of "²" or of 5000 digits raises). The
# bounds come from backend.openapi: PAGE_MAX (beyond: 400, so offsets stay far inside SQL's
# 64-bit integers) and ID_MAX (ids are 32-bit INTEGER columns: a larger one in a path is 404).
INT_RE = re.compile(r"[+-]?[0-9]{1,19}")


def int_arg(name, default, minimum, maximum):
    """A query parameter that must be an integer in [minimum, maximum] when given (400
    otherwise: "abc", "null", "1.5", "", huge numbers)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if not INT_RE.fullmatch(text) or not minimum <= int(text) <= maximum:
        raise ValidationError({name: f"must be an integer from {minimum} to {maximum}"},
                              f"查询参数 {name} 必须是 {minimum} 到 {maximum} 之间的整数。The query parameter {name} "
                              f"must be an integer from {minimum} to {maximum}.")
    return int(text)


def str_arg(name, max_len=200, pattern=None):
    """A text query parameter: at most ``max_len`` characters, no control characters (a NUL
    would break PostgreSQL), and ``pattern`` when given; None when absent or empty."""
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if len(value) > max_len or any(ord(c) < 32 or ord(c) == 127 for c in value) or \
            (pattern is not None and not pattern.fullmatch(value)):
        raise ValidationError({name: f"at most {max_len} characters, no control characters"
                               + (", format " + pattern.pattern if pattern is not None else "")},
                              f"查询参数 {name} 格式不正确。The query parameter {name} is malformed.")
    return value


def idempotency_key():
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 128 and key.isprintable()):
        raise ValidationError({"Idempotency-Key": "1..128 printable characters"})
    return key


def _client():
    return request.remote_addr or "-"


def issue_payload(inv, created):
    """(payload, status) for a new invoice or note; (None, error response) if it reverted."""
    if inv.state == "failed":
        return None, error("transaction_reverted", inv.error or "The transaction reverted.", 422, number=inv.number)
    out = {"number": inv.number, "key": inv.key, "status": inv.chain_status or inv.state.capitalize(),
           "state": inv.state, "flags": inv.flags, "flag_names": [f["name"] for f in invoices.flag_words(inv.flags)],
           "check_code": inv.check_code, "net": int(inv.net), "tax": int(inv.tax), "gross": int(inv.gross),
           "rates": invoices.rates_of(inv), "tx_hash": inv.outbox.tx_hash if inv.outbox else None}
    return out, 202 if inv.state == "pending" else (201 if created else 200)


@bp.get("/openapi.json")
def openapi():
    return jsonify(spec(current_app.config))


@bp.post("/invoices")
@api_auth("merchant")
def create_invoice():
    inv, created = issuance.issue(g.api_user, body_json(), idempotency_key())
    payload, status = issue_payload(inv, created)
    return status if payload is None else (jsonify(payload), status)


@bp.post("/invoices/preview")
@api_auth("merchant")
def preview_invoice():
    return jsonify(validation.preview(body_json(), current_app.config))


@bp.get("/invoices")
@api_auth()
def list_invoices():
    page = int_arg("page", 1, 1, PAGE_MAX)
    per_page = int_arg("per_page", 50, 1, 200)
    query = invoices.search(get_db().query(Invoice), user=g.api_user if g.api_user.role in ("merchant", "buyer")
                            else None, q=str_arg("q"), status=str_arg("status", 32), buyer=str_arg("buyer"),
                            date_from=str_arg("from", 10, validation.DATE_RE), date_to=str_arg("to", 10, validation.DATE_RE))
    total = query.count()
    rows = query.offset((page - 1) * per_page).limit(per_page).all()
    return jsonify({"total": total, "page": page, "per_page": per_page,
                    "invoices": [invoices.as_dict(i, with_document=False) for i in rows]})


@bp.get("/invoices/<number:number>")
@api_auth()
def get_invoice(number):
    inv = invoices.find(number)
    if inv is None:
        return error("not_found", "No such invoice.", 404)
    if not invoices.can_view(g.api_user, inv):
        return error("forbidden", "You may not see this invoice.", 403)
    chain_data, _ = issuance.up_to_date(inv)
    out = invoices.as_dict(inv)
    out["flags_explained"] = invoices.flag_words(inv.flags or 0)
    out["timeline"] = invoices.timeline(inv)
    if chain_data:
        out["chain"] = jsonable(chain_data)
        out["chain"]["rates"] = canonical.rates_of_mask(int(chain_data.get("rateMask") or 0))
        out["status"] = inv.chain_status
    out["status_text"] = invoices.status_text(inv, chain_data)
    return jsonify(out)


@bp.post("/invoices/<number:number>/void")
@api_auth("merchant")
def void_invoice(number):
    inv, result = issuance.void(g.api_user, number)
    return jsonify({"number": inv.number, "status": inv.chain_status, "tx_hash": result.tx_hash})


@bp.post("/invoices/<number:number>/red-letter")
@api_auth("merchant")
def red_letter(number):
    note, created = issuance.red_letter(g.api_user, number, body_json(), idempotency_key())
    payload, status = issue_payload(note, created)
    if payload is None:
        return status
    original = invoices.find(number)
    payload["original"] = {"number": original.number, "status": original.chain_status}
    return jsonify(payload), status


@bp.post("/invoices/<number:number>/<decision>")
@api_auth("auditor")
def review(number, decision):
    if decision not in ("clear", "reject"):
        return error("not_found", "Unknown action.", 404)
    body = body_json()
    inv, result = issuance.review(g.api_user, number, decision, body.get("reason_code") if isinstance(body, dict)
                                  else None)
    return jsonify({"number": inv.number, "status": inv.chain_status, "tx_hash": result.tx_hash})


@bp.get("/review-queue")
@api_auth("auditor", "authority")
def review_queue():
    rows = (get_db().query(Invoice).filter(Invoice.chain_status == "Flagged")
            .order_by(Invoice.created_at).limit(500).all())
    return jsonify({"invoices": [invoices.as_dict(i, with_document=False) | {
        "flags_explained": invoices.flag_words(i.flags or 0)} for i in rows]})


@bp.post("/verify")
@api_auth(optional=True)
def verify():
    body = body_json()
    result = verification.verify_one(body)
    verification.record(g.api_user, "single", result["number"], body, result["result"], result["detail"], _client())
    get_db().commit()
    return jsonify({"result": result["result"], "label": result["label"], "detail": result["detail"]})


@bp.post("/verify/batch")
@api_auth(optional=True)
def verify_batch():
    upload = request.files.get("file")
    if upload is not None:
        data, ctype = upload.read(), upload.mimetype
    else:
        data, ctype = request.get_data(), request.mimetype
    if not data:
        raise ValidationError({"file": "send a JSON list or a CSV (body or multipart field 'file')"},
                              verification.EMPTY_BATCH)
    max_rows = current_app.config["VERIFY_BATCH_MAX_ROWS"]
    rows = verification.parse_batch(data, ctype, max_rows)
    results = verification.verify_many(rows)
    verification.record_many(g.api_user, "batch", rows, results, _client())
    get_db().commit()
    summary = {}
    for r in results:
        summary[r["result"]] = summary.get(r["result"], 0) + 1
    if "text/csv" in request.headers.get("Accept", ""):
        return Response(verification.results_csv(results), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=verification-results.csv"})
    return jsonify({"count": len(results), "summary": summary, "results": results})


@bp.post("/verify/document")
@api_auth(optional=True)
def verify_document():
    upload = request.files.get("file")
    data = upload.read() if upload is not None else request.get_data()
    result = verification.verify_document(data)
    verification.record(g.api_user, "document", result["number"], {"document_hash": result.get("document_hash")},
                    result["result"], result["detail"], _client())
    get_db().commit()
    return jsonify(result)


@bp.get("/verifications")
@api_auth()
def history():
    user = g.api_user
    query = get_db().query(Verification)
    if user.role not in ("auditor", "authority"):
        query = query.filter(Verification.user_id == user.id)
    q, result, limit = str_arg("q"), str_arg("result", 32), int_arg("limit", 100, 1, 1000)
    if q:
        query = query.filter(Verification.number.like(f"%{q}%"))
    if result:
        query = query.filter(Verification.result == result)
    rows = query.order_by(Verification.id.desc()).limit(limit)
    return jsonify({"verifications": [{"id": v.id, "kind": v.kind, "number": v.number, "result": v.result,
                                       "detail": v.detail, "created_at": v.created_at.isoformat() + "Z"}
                                      for v in rows]})


@bp.route("/merchant/registration", methods=("GET", "POST"))
@api_auth("merchant")
def registration():
    user = g.api_user
    if request.method == "POST":
        m, result = merchants.register(user, body_json())
        return jsonify(merchants.as_dict(m) | {"tx_hash": result.tx_hash}), 201
    if user.merchant is None:
        return error("not_found", "No registration yet.", 404)
    return jsonify(merchants.as_dict(user.merchant))


@bp.get("/merchants")
@api_auth("authority", "auditor")
def list_merchants():
    rows = get_db().query(Merchant).order_by(Merchant.id).all()
    return jsonify({"merchants": [merchants.as_dict(m) for m in rows]})


@bp.post("/merchants/<int:merchant_id>/<action>")
@api_auth("authority")
def decide(merchant_id, action):
    if action not in merchants.ACTIONS or merchant_id > ID_MAX:
        return error("not_found", "Unknown action." if action not in merchants.ACTIONS else "No such merchant.", 404)
    body = body_json(required=False)
    if not isinstance(body, dict):  # approve, limits, numbers: optional fields; the others: a reason
        raise ValidationError({"body": "must be a JSON object"},
                              "请求体必须是 JSON 对象。The body must be a JSON object.")
    m, result = merchants.decide(g.api_user, merchant_id, action, body)
    return jsonify(merchants.as_dict(m) | {"tx_hash": result.tx_hash})


@bp.route("/audit/parameters", methods=("GET", "POST"))
@api_auth("authority", "auditor")
def parameters():
    if request.method == "POST":
        if g.api_user.role != "authority":
            return error("forbidden", "Only the authority sets audit parameters.", 403)
        return jsonify(merchants.set_audit_parameters(g.api_user, body_json()))
    return jsonify(merchants.audit_parameters())


@bp.get("/users")
@api_auth("authority")
def list_users():
    out = []
    for u in get_db().query(User).order_by(User.id):
        info = merchants.chain_role_of(u)
        out.append({"id": u.id, "username": u.username, "role": u.role, "address": u.address, "active": u.active,
                    "chain_role": {"contract": info[0], "role": info[1], "held": info[2]} if info else None})
    return jsonify({"users": out})


@bp.post("/users/<int:user_id>/<action>")
@api_auth("authority")
def user_role(user_id, action):
    if action not in ("grant-role", "revoke-role"):
        return error("not_found", "Unknown action.", 404)
    user = get_db().get(User, user_id) if user_id <= ID_MAX else None
    if user is None:
        return error("not_found", "No such user.", 404)
    info = merchants.set_chain_role(g.api_user, user, action == "grant-role")
    return jsonify({"id": user.id, "username": user.username,
                    "chain_role": {"contract": info[0], "role": info[1], "held": info[2]}})
