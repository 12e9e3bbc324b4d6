"""/api/v1/invoices: issue (and preview), list, detail, void, red-letter; the auditor's
review queue and decisions."""
from flask import current_app, g, jsonify, request
from flask_babel import gettext as _

from ..chain.errors import jsonable
from ..core import canonical
from ..core.config import public_base_url
from ..core.db import get_db
from ..core.models import Invoice
from ..schemas import batch as batch_models
from ..schemas import invoices as models
from ..services import bulk, invoice_pdf, invoices, issuance, reviews, validation
from . import bp
from .errors import error
from .inputs import IdempotencyHeaders, api_auth, body_json, idempotency_key, query
from .openapi import INVOICE_LINKS, ISSUE_EXAMPLE, operation

ISSUED = {"links": INVOICE_LINKS}


def issue_payload(inv, created):
    """(payload, status) for a new invoice or note; (None, error response) if it reverted."""
    if inv.state == "failed":
        return None, error("transaction_reverted", inv.error or _("The transaction reverted."), 422, number=inv.number)
    out = {"number": inv.number, "key": inv.key, "status": inv.chain_status or inv.state.capitalize(),
           "state": inv.state, "flags": inv.flags, "flag_names": [f["name"] for f in invoices.flag_words(inv.flags)],
           "check_code": inv.check_code, "net": int(inv.net), "tax": int(inv.tax), "gross": int(inv.gross),
           "rates": invoices.rates_of(inv), "tx_hash": inv.outbox.tx_hash if inv.outbox else None}
    return out, 202 if inv.state == "pending" else (201 if created else 200)


@bp.post("/invoices")
@operation("createInvoice", json=models.IssueRequest, headers=IdempotencyHeaders,
           ok={201: models.IssueResult, 200: models.IssueResult, 202: models.IssueResult},
           errors=(400, 401, 403, 409, 413, 422, 503),
           extra={"requestBody": {"content": {"application/json": {"example": ISSUE_EXAMPLE}}},
                  "responses": {"201": ISSUED, "200": ISSUED, "202": ISSUED}})
@api_auth("merchant")
def create_invoice():
    """Issue an invoice (role: merchant)

    201 mined, 202 journaled but not yet mined, 200 an idempotent replay. Each line's amount
    is quantity × unit price (rounded half up, ±1 fen), its tax amount × rate; net, tax,
    gross and rate, when sent, must equal what the server computes; the gross total may not
    exceed INVOICE_MAX_AMOUNT; issue_date not in the future (China time). Otherwise 400.
    """
    inv, created = issuance.issue(g.api_user, body_json(), idempotency_key())
    payload, status = issue_payload(inv, created)
    return status if payload is None else (jsonify(payload), status)


@bp.post("/invoices/batch")
@operation("createInvoiceBatch", json=batch_models.IssueBatchRequest,
           ok={201: batch_models.IssueBatchResult, 207: batch_models.IssueBatchResult},
           errors=(400, 401, 403, 409, 413, 422, 503),
           extra={"requestBody": {"content": {"application/json": {"example": {"invoices": [
               {**ISSUE_EXAMPLE, "idempotency_key": "order-1001"}]}}}}})
@api_auth("merchant")
def create_invoice_batch():
    """Issue many invoices (role: merchant)

    Up to INVOICE_BATCH_MAX_ROWS rows (more: 413; body up to INVOICE_BATCH_MAX_BYTES), each
    a POST /invoices body with an optional `idempotency_key`. Every row is validated first:
    one invalid row answers 422 with its fields (`invoices[i].field`) and nothing is issued.
    A row whose key was used before is `replayed` (another body under that key: `refused`,
    `idempotency_key_reused`, 409). The rest are sent through the registry's issueBatch, at
    most INVOICE_BATCH_CHUNK per transaction; a row the chain refuses is `refused` with its
    custom error and the others are issued. Results are per row, in order; 201 when every
    row is issued or replayed, else 207.
    """
    request.max_content_length = int(current_app.config["INVOICE_BATCH_MAX_BYTES"])
    results, totals = bulk.issue_batch(g.api_user, body_json())
    done = totals["issued"] + totals["replayed"] == totals["rows"]
    return jsonify({"totals": totals, "results": results}), 201 if done else 207


@bp.post("/invoices/preview")
@operation("previewInvoice", json=models.IssueRequest, ok={200: models.Preview}, errors=(400, 401, 403, 413),
           extra={"requestBody": {"content": {"application/json": {"example": ISSUE_EXAMPLE}}}})
@api_auth("merchant")
def preview_invoice():
    """Totals and rate groups computed server-side (role: merchant)"""
    return jsonify(validation.preview(body_json(), current_app.config))


@bp.get("/invoices")
@operation("listInvoices", query=models.InvoiceListQuery, ok={200: models.InvoiceList}, errors=(400, 401))
@api_auth()
def list_invoices():
    """List invoices (a merchant's or a buyer's own)"""
    args = query(models.InvoiceListQuery)
    user = g.api_user if g.api_user.role in ("merchant", "buyer") else None
    found = invoices.search(get_db().query(Invoice), user=user, q=args.q, status=args.status, buyer=args.buyer,
                            date_from=args.date_from, date_to=args.date_to)
    total = found.order_by(None).count()  # no ORDER BY in the count: SQLite sorted every row for it (bench-scale)
    rows = found.offset((args.page - 1) * args.per_page).limit(args.per_page).all()
    return jsonify({"total": total, "page": args.page, "per_page": args.per_page,
                    "invoices": [invoices.as_dict(i, with_document=False) for i in rows]})


@bp.get("/invoices/<number:number>")
@operation("getInvoice", ok={200: models.InvoiceDetail}, errors=(401, 403, 404))
@api_auth()
def get_invoice(number):
    """The invoice: document, chain status, flags explained, timeline of its events"""
    inv = invoices.find(number)
    if inv is None:
        return error("not_found", _("No such invoice."), 404)
    if not invoices.can_view(g.api_user, inv):
        return error("forbidden", _("You may not see this invoice."), 403)
    chain_data = issuance.up_to_date(inv)[0]
    out = invoices.as_dict(inv)
    out["flags_explained"] = invoices.flag_words(inv.flags or 0)
    out["timeline"] = invoices.timeline(inv)
    out["reviews"] = reviews.of_invoice(inv)
    if chain_data:
        out["chain"] = jsonable(chain_data)
        out["chain"]["rates"] = canonical.rates_of_mask(int(chain_data.get("rateMask") or 0))
        out["status"] = inv.chain_status
    out["status_text"] = invoices.status_text(inv, chain_data)
    return jsonify(out)


PDF = {"200": {"description": "The invoice as a PDF (电子发票版式文件), as an attachment named 电子发票_<number>.pdf "
                               "(红字发票_<number>.pdf for a red-letter note)",
               "headers": {"Content-Disposition": {"description": "attachment; filename=…", "schema": {
                   "type": "string"}}},
               "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}


@bp.get("/invoices/<number:number>/pdf")
@operation("getInvoicePdf", ok={200: None}, errors=(401, 403, 404, 409), extra={"responses": PDF})
@api_auth()
def get_invoice_pdf(number):
    """The invoice as a PDF laid out like a Chinese e-invoice (who may see the invoice)

    Title and type, number, issue date, check code, seller and buyer, the lines, totals per
    rate, the gross in figures and in Chinese capitals (价税合计大写), remarks, a red-letter
    note's original, and a QR code: the public verification page with the invoice's number,
    issue date, gross and check code filled in (base URL: PUBLIC_BASE_URL). 404 unknown or
    no document held, 403 not the caller's to see, 409 not registered on chain (pending or
    failed: no check code yet).
    """
    inv = invoices.find(number)
    if inv is None:
        return error("not_found", _("No such invoice."), 404)
    if not invoices.can_view(g.api_user, inv):
        return error("forbidden", _("You may not see this invoice."), 403)
    chain_data = issuance.up_to_date(inv)[0]  # the chain unreadable: the row's status is printed
    data = invoice_pdf.render(inv, public_base_url(), chain_data)
    return current_app.response_class(data, mimetype="application/pdf",
                                      headers={"Content-Disposition": invoice_pdf.content_disposition(inv)})


@bp.post("/invoices/<number:number>/void")
@operation("voidInvoice", ok={200: models.StatusResult}, errors=(401, 403, 404, 409, 422, 503))
@api_auth("merchant")
def void_invoice(number):
    """Void an invoice (role: merchant; within the void window, no receivable on it)"""
    inv, result = issuance.void(g.api_user, number)
    return jsonify({"number": inv.number, "status": inv.chain_status, "tx_hash": result.tx_hash})


@bp.post("/invoices/<number:number>/red-letter")
@operation("redLetterInvoice", json=models.RedLetterRequest, headers=IdempotencyHeaders,
           ok={201: models.IssueResult, 200: models.IssueResult, 202: models.IssueResult},
           errors=(400, 401, 403, 404, 409, 413, 422, 503))
@api_auth("merchant")
def red_letter(number):
    """A red-letter note against the invoice (role: merchant)

    Items left out: a full reversal. The note may only have rates the original has.
    """
    note, created = issuance.red_letter(g.api_user, number, body_json(), idempotency_key())
    payload, status = issue_payload(note, created)
    if payload is None:
        return status
    original = invoices.find(number)
    payload["original"] = {"number": original.number, "status": original.chain_status}
    return jsonify(payload), status


def _review(number, decision):
    inv, result = issuance.review(g.api_user, number, decision, body_json())
    return jsonify({"number": inv.number, "status": inv.chain_status, "tx_hash": result.tx_hash})


@bp.post("/invoices/<number:number>/clear")
@operation("clearInvoice", json=models.ReviewRequest, ok={200: models.StatusResult},
           errors=(400, 401, 403, 404, 409, 503))
@api_auth("auditor")
def clear_invoice(number):
    """Clear a flagged invoice (role: auditor)"""
    return _review(number, "clear")


@bp.post("/invoices/<number:number>/reject")
@operation("rejectInvoice", json=models.ReviewRequest, ok={200: models.StatusResult},
           errors=(400, 401, 403, 404, 409, 503))
@api_auth("auditor")
def reject_invoice(number):
    """Reject a flagged invoice (role: auditor)"""
    return _review(number, "reject")


@bp.get("/review-queue")
@operation("reviewQueue", ok={200: models.ReviewQueue}, errors=(401, 403))
@api_auth("auditor", "authority")
def review_queue():
    """Flagged invoices waiting for review, oldest first (role: auditor, authority)"""
    rows = (get_db().query(Invoice).filter(Invoice.chain_status == "Flagged")
            .order_by(Invoice.created_at).limit(500).all())
    return jsonify({"invoices": [invoices.as_dict(i, with_document=False) | {
        "flags_explained": invoices.flag_words(i.flags or 0)} for i in rows]})
