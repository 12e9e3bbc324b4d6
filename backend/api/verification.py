"""/api/v1/verify: one invoice, a batch (JSON or CSV), an invoice document; the history of
verifications. Public (a token is used when sent), rate-limited per client address."""
from flask import Response, current_app, g, jsonify, request
from flask_babel import gettext as _

from ..core.db import get_db
from ..core.models import Verification
from ..schemas import verification as models
from ..services import verification
from ..services.errors import ValidationError
from . import bp
from .inputs import api_auth, body_json, client_address, query
from .openapi import VERIFY_EXAMPLE, operation

LIMITED = "Rate-limited per client address (VERIFY_RATE_LIMIT, shared by all verification routes and pages)."
MULTIPART_FILE = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary"}}}}}


@bp.post("/verify")
@operation("verifyInvoice", json=models.VerifyQuery, ok={200: models.VerifyResult}, errors=(400, 413, 429, 503),
           public=True, extra={"requestBody": {"content": {"application/json": {"example": VERIFY_EXAMPLE}}},
                               "description": LIMITED})
@api_auth(optional=True)
def verify():
    """Verify one invoice: number, issue date, gross amount, check code (public)"""
    body = body_json()
    result = verification.verify_one(body)
    verification.record(g.api_user, "single", result["number"], body, result["result"], result["detail"],
                        client_address())
    return jsonify({k: v for k, v in result.items() if k != "number"})  # + reversed/remaining when red-lettered


@bp.post("/verify/batch")
@operation("verifyBatch", json=models.VerifyBatch, ok={200: models.BatchResult}, errors=(400, 413, 429, 503),
           public=True, extra={
               "requestBody": {"content": {"text/csv": {"schema": {
                   "type": "string", "pattern": models.CSV_BATCH,
                   "description": "columns number,issue_date,gross,check_code: the header line and at least one row, "
                                  "or rows alone (the first starting with a 20-digit number)"}}, **MULTIPART_FILE}},
               "responses": {"200": {"content": {"text/csv": {"schema": {"type": "string"}}}}}})
@api_auth(optional=True)
def verify_batch():
    """Verify many: a JSON list or a CSV (Accept: text/csv for a CSV result; public)

    At least one row and at most VERIFY_BATCH_MAX_ROWS: an empty batch answers 400. A row
    that is not a valid query is not refused: its result is `invalid`, with `fields`. The
    same JSON or CSV is also taken as the file of a multipart/form-data upload (field
    `file`). Rate-limited as /verify.
    """
    upload = request.files.get("file")
    if upload is not None:
        data, ctype = upload.read(), upload.mimetype
    else:
        data, ctype = request.get_data(), request.mimetype
    if not data:
        raise ValidationError({"file": _("Send a JSON list or a CSV, as the request body or the multipart field "
                                         "\"file\".")}, verification.empty_batch())
    rows = verification.parse_batch(data, ctype, current_app.config["VERIFY_BATCH_MAX_ROWS"])
    results = verification.verify_many(rows)
    verification.record_many(g.api_user, "batch", rows, results, client_address())
    summary = {}
    for r in results:
        summary[r["result"]] = summary.get(r["result"], 0) + 1
    if "text/csv" in request.headers.get("Accept", ""):
        return Response(verification.results_csv(results), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=verification-results.csv"})
    return jsonify({"count": len(results), "summary": summary, "results": results})


@bp.post("/verify/document")
@operation("verifyDocument", json=models.DocumentToVerify, ok={200: models.DocumentResult},
           errors=(400, 413, 429, 503), public=True, extra={"requestBody": {"content": MULTIPART_FILE}})
@api_auth(optional=True)
def verify_document():
    """Check an invoice document against its on-chain hash (public)

    The invoice's JSON document as the platform issued it (also taken as the file of a
    multipart/form-data upload, field `file`). Rate-limited as /verify.
    """
    upload = request.files.get("file")
    data = upload.read() if upload is not None else request.get_data()
    result = verification.verify_document(data)
    verification.record(g.api_user, "document", result["number"], {"document_hash": result.get("document_hash")},
                        result["result"], result["detail"], client_address())
    return jsonify(result)


@bp.get("/verifications")
@operation("listVerifications", query=models.VerificationListQuery, ok={200: models.VerificationList},
           errors=(400, 401))
@api_auth()
def history():
    """Verification history (one's own; auditors and the authority: everyone's), a page at a time"""
    args = query(models.VerificationListQuery)
    user = g.api_user
    found = get_db().query(Verification)
    if user.role not in ("auditor", "authority"):
        found = found.filter(Verification.user_id == user.id)
    if args.q:
        found = found.filter(Verification.number.like(f"%{args.q}%"))
    if args.result:
        found = found.filter(Verification.result == args.result)
    total = found.order_by(None).count()
    rows = found.order_by(Verification.id.desc()).offset((args.page - 1) * args.limit).limit(args.limit)
    return jsonify({"total": total, "page": args.page,
                    "verifications": [{"id": v.id, "kind": v.kind, "number": v.number, "result": v.result,
                                       "detail": v.detail, "created_at": v.created_at.isoformat() + "Z"}
                                      for v in rows]})
