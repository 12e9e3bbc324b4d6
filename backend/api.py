"""JSON API /api/v1 (Bearer tokens). Errors: {"error", "message", "fields"?}."""
import functools
import json
from decimal import Decimal

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from . import indexer, invoices, merchants
from .auth import user_from_bearer
from .chain import ChainError, ChainUnavailable
from .db import get_db
from .invoices import Refused, ValidationError
from .models import Invoice, Merchant, User, Verification
from .openapi import spec
from .security import csrf, limiter

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
        code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
                429: "rate_limited"}.get(exc.code, "http_error")
        return error(code, exc.description or exc.name, exc.code)
    current_app.logger.exception("API error")
    return error("internal_error", "Internal error; nothing was changed.", 500)


@bp.errorhandler(Exception)
def _errors(exc):
    get_db().rollback()
    return handle(exc)


def init_app(app):
    """HTTP errors answer JSON under /api/, an HTML page elsewhere."""
    from flask import render_template

    def _http_error(exc):
        if request.path.startswith("/api/"):
            return handle(exc)
        return render_template("error.html", code=exc.code, name=exc.name, description=exc.description), exc.code

    for code in (400, 401, 403, 404, 405, 413, 429):
        app.register_error_handler(code, _http_error)


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


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


def body_json(required=True):
    data = request.get_data(cache=True)
    if not data:
        if required:
            raise ValidationError({"body": "a JSON body is required"})
        return {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError({"body": "the body is not UTF-8"}) from None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ValidationError({"body": f"malformed JSON: {exc}"}) from None


def _client():
    return request.remote_addr or "-"


def _rate_limited():
    return not limiter.allow(("verify", _client()), current_app.config["VERIFY_RATE_LIMIT"])


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
    return jsonify(spec())


@bp.post("/invoices")
@api_auth("merchant")
def create_invoice():
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 128 and key.isprintable()):
        raise ValidationError({"Idempotency-Key": "1..128 printable characters"})
    inv, created = invoices.issue(g.api_user, body_json(), key)
    payload, status = issue_payload(inv, created)
    return status if payload is None else (jsonify(payload), status)


@bp.post("/invoices/preview")
@api_auth("merchant")
def preview_invoice():
    return jsonify(invoices.preview(body_json(), current_app.config))


@bp.get("/invoices")
@api_auth()
def list_invoices():
    args = request.args
    page = max(1, args.get("page", 1, type=int) or 1)
    per_page = min(200, max(1, args.get("per_page", 50, type=int) or 50))
    query = invoices.search(get_db().query(Invoice), user=g.api_user if g.api_user.role in ("merchant", "buyer")
                            else None, q=args.get("q"), status=args.get("status"), buyer=args.get("buyer"),
                            date_from=args.get("from"), date_to=args.get("to"))
    total = query.count()
    rows = query.offset((page - 1) * per_page).limit(per_page).all()
    return jsonify({"total": total, "page": page, "per_page": per_page,
                    "invoices": [invoices.as_dict(i, with_document=False) for i in rows]})


@bp.get("/invoices/<number>")
@api_auth()
def get_invoice(number):
    inv = invoices.find(number)
    if inv is None:
        return error("not_found", "No such invoice.", 404)
    if not invoices.can_view(g.api_user, inv):
        return error("forbidden", "You may not see this invoice.", 403)
    if inv.state == "pending":
        invoices.settle(inv)
    _index_quietly()
    out = invoices.as_dict(inv)
    out["flags_explained"] = invoices.flag_words(inv.flags or 0)
    out["timeline"] = indexer.timeline(inv)
    try:
        chain_data = invoices.refresh(inv)
        get_db().commit()
    except ChainError:
        chain_data = None
    if chain_data:
        out["chain"] = {k: (("0x" + bytes(v).hex()) if isinstance(v, (bytes, bytearray)) else
                            (str(v) if isinstance(v, int) and not isinstance(v, bool) and v > 2**53 else v))
                        for k, v in chain_data.items()}
        out["chain"]["rates"] = invoices.canonical.rates_of_mask(int(chain_data.get("rateMask") or 0))
        out["status"] = inv.chain_status
    out["status_text"] = invoices.status_text(inv, chain_data)
    return jsonify(out)


def _index_quietly():
    try:
        indexer.run_once(blocking=False)
    except Exception as exc:  # noqa: BLE001 - the timeline may lag; the page still answers
        current_app.logger.warning("indexer: %s", exc)


@bp.post("/invoices/<number>/void")
@api_auth("merchant")
def void_invoice(number):
    inv, result = invoices.void(g.api_user, number)
    return jsonify({"number": inv.number, "status": inv.chain_status, "tx_hash": result.tx_hash})


@bp.post("/invoices/<number>/red-letter")
@api_auth("merchant")
def red_letter(number):
    note, created = invoices.red_letter(g.api_user, number, body_json(), request.headers.get("Idempotency-Key"))
    payload, status = issue_payload(note, created)
    if payload is None:
        return status
    original = invoices.find(number)
    payload["original"] = {"number": original.number, "status": original.chain_status}
    return jsonify(payload), status


@bp.post("/invoices/<number>/<decision>")
@api_auth("auditor")
def review(number, decision):
    if decision not in ("clear", "reject"):
        return error("not_found", "Unknown action.", 404)
    body = body_json()
    inv, result = invoices.review(g.api_user, number, decision, body.get("reason_code") if isinstance(body, dict)
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
    if _rate_limited():
        return error("rate_limited", "Too many verifications; try again in a minute.", 429)
    body = body_json()
    result = invoices.verify_one(body)
    invoices.record(g.api_user, "single", result["number"], body, result["result"], result["detail"], _client())
    get_db().commit()
    return jsonify({"result": result["result"], "label": result["label"], "detail": result["detail"]})


@bp.post("/verify/batch")
@api_auth(optional=True)
def verify_batch():
    if _rate_limited():
        return error("rate_limited", "Too many verifications; try again in a minute.", 429)
    upload = request.files.get("file")
    if upload is not None:
        data, ctype = upload.read(), upload.mimetype
    else:
        data, ctype = request.get_data(), request.mimetype
    if not data:
        raise ValidationError({"file": "send a JSON list or a CSV (body or multipart field 'file')"})
    max_rows = current_app.config["VERIFY_BATCH_MAX_ROWS"]
    rows = invoices.parse_batch(data, ctype, max_rows)
    results = invoices.verify_many(rows)
    invoices.record_many(g.api_user, "batch", rows, results, _client())
    get_db().commit()
    summary = {}
    for r in results:
        summary[r["result"]] = summary.get(r["result"], 0) + 1
    if "text/csv" in request.headers.get("Accept", ""):
        return Response(invoices.results_csv(results), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=verification-results.csv"})
    return jsonify({"count": len(results), "summary": summary, "results": results})


@bp.post("/verify/document")
@api_auth(optional=True)
def verify_document():
    if _rate_limited():
        return error("rate_limited", "Too many verifications; try again in a minute.", 429)
    upload = request.files.get("file")
    data = upload.read() if upload is not None else request.get_data()
    result = invoices.verify_document(data)
    invoices.record(g.api_user, "document", result["number"], {"document_hash": result.get("document_hash")},
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
    if request.args.get("q"):
        query = query.filter(Verification.number.like(f"%{request.args['q']}%"))
    if request.args.get("result"):
        query = query.filter(Verification.result == request.args["result"])
    rows = query.order_by(Verification.id.desc()).limit(min(1000, request.args.get("limit", 100, type=int) or 100))
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
    if action not in merchants.ACTIONS:
        return error("not_found", "Unknown action.", 404)
    m, result = merchants.decide(g.api_user, merchant_id, action, body_json(required=False))
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
    user = get_db().get(User, user_id)
    if user is None:
        return error("not_found", "No such user.", 404)
    info = merchants.set_chain_role(g.api_user, user, action == "grant-role")
    return jsonify({"id": user.id, "username": user.username,
                    "chain_role": {"contract": info[0], "role": info[1], "held": info[2]}})
