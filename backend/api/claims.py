"""/api/v1/claims and /api/v1/payment-lists: expense claims in the buyer company (employees
submit, the approver approves or rejects, approved claims are paid through payment lists
registered on chain) and the expense report."""
from flask import Response, g, jsonify, request

from ..schemas import claims as models
from ..services import claims, expense_report, payment_lists
from . import bp
from .inputs import api_auth, body_json, query
from .openapi import operation

CLAIM_ERRORS = (400, 401, 403, 404, 409, 422, 503)
CLAIM_EXAMPLE = {"number": "26530100000000000001", "issue_date": "2026-12-01", "gross": 113000,
                 "check_code": "123456", "category": "travel", "purpose": "北京出差 Business trip to Beijing"}
UPLOAD = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary", "description": "the invoice's JSON document or its PDF"},
    "category": {"type": "string", "enum": list(models.CATEGORIES)},
    "purpose": {"type": "string", "maxLength": 200}}}}}
REPORT_CONTENT = {"description": "the report; CSV in UTF-8 with a BOM, amounts in yuan", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/Report"}},
    "text/csv": {"schema": {"type": "string"}},
    expense_report.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}}


@bp.post("/claims")
@operation("submitClaim", json=models.ClaimRequest, ok={201: models.ClaimOut}, errors=CLAIM_ERRORS,
           extra={"requestBody": {"content": {"application/json": {"example": CLAIM_EXAMPLE}}}})
@api_auth("employee")
def submit_claim():
    """Submit an expense claim of one invoice (role: employee)

    The invoice is verified on chain at once: authentic (the four elements match, or the
    document's hash is the registered one), addressed to the employee's company, Issued or
    Cleared (partly red-lettered: its open amount is claimed), not claimed before. Refusals:
    422 `verification_failed`, `invoice_not_claimable`, `not_addressed_to_company`,
    `buyer_unproven` (with `verification`); 409 `AlreadyClaimed` (on chain, by any company)
    or `already_submitted` (a live claim on this platform).
    """
    return jsonify(claims.submit(g.api_user, body_json())), 201


@bp.post("/claims/upload")
@operation("uploadClaim", ok={201: models.ClaimOut}, errors=CLAIM_ERRORS + (413,),
           extra={"requestBody": {"required": True, "content": UPLOAD}})
@api_auth("employee")
def upload_claim():
    """Submit an expense claim by uploading the invoice's JSON document or PDF (role: employee)

    A PDF of this platform carries the JSON document inside (an attachment); any other PDF
    is read through its verification QR code (the four elements). Verified as POST /claims.
    """
    upload = request.files.get("file")
    data = upload.read() if upload is not None else b""
    return jsonify(claims.submit_file(g.api_user, data, request.form.to_dict())), 201


@bp.get("/claims")
@operation("listClaims", query=models.ClaimQuery, ok={200: models.ClaimList}, errors=(400, 401, 403))
@api_auth("employee", "approver")
def list_claims():
    """Expense claims: an employee's own; the approver's: every claim of the company"""
    args = query(models.ClaimQuery)
    return jsonify({"claims": claims.listing(g.api_user, args.status, args.q)})


@bp.get("/claims/<int:claim_id>")
@operation("getClaim", ok={200: models.ClaimOut}, errors=(401, 403, 404))
@api_auth("employee", "approver")
def get_claim(claim_id):
    """One expense claim with its verification, decision and payment list"""
    return jsonify(claims.as_dict(claims.find_visible(g.api_user, claim_id), g.api_user))


@bp.post("/claims/<int:claim_id>/approve")
@operation("approveClaim", ok={200: models.ClaimOut}, errors=CLAIM_ERRORS)
@api_auth("approver")
def approve_claim(claim_id):
    """Approve a submitted claim: the company's account marks the invoice claimed on chain (role: approver)

    409 `AlreadyClaimed` when the chain shows the invoice claimed already (the claim is
    rejected with that reason), `claim_decided` when it is no longer submitted.
    """
    return jsonify(claims.approve(g.api_user, claim_id))


@bp.post("/claims/<int:claim_id>/reject")
@operation("rejectClaim", json=models.RejectRequest, ok={200: models.ClaimOut}, errors=CLAIM_ERRORS)
@api_auth("approver")
def reject_claim(claim_id):
    """Reject a submitted claim with a reason (role: approver); its invoice may be claimed again"""
    return jsonify(claims.reject(g.api_user, claim_id, body_json()))


@bp.get("/claims/report")
@operation("claimReport", query=models.ReportQuery, ok={200: models.Report}, errors=(400, 401, 403),
           extra={"responses": {"200": REPORT_CONTENT}})
@api_auth("employee", "approver")
def claim_report():
    """Expense report by employee, category or month, as JSON, CSV or XLSX (an employee: its own claims)"""
    args = query(models.ReportQuery)
    data = expense_report.summary(g.api_user, args)
    if args.format == "json":
        return jsonify(data)
    body, content_type, filename = expense_report.to_file(data, args.format)
    return Response(body, content_type=content_type, headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.get("/payment-lists")
@operation("listPaymentLists", ok={200: models.PaymentListList}, errors=(401, 403, 503))
@api_auth("approver")
def list_payment_lists():
    """The company's payment lists, newest first, with the chain's record of each (role: approver)"""
    return jsonify({"payment_lists": payment_lists.listing(g.api_user)})


@bp.post("/payment-lists")
@operation("createPaymentList", json=models.PaymentListRequest, body_required=False,
           ok={201: models.PaymentListOut}, errors=CLAIM_ERRORS)
@api_auth("approver")
def create_payment_list():
    """Collect approved claims into a payment list and register its hash and total on chain (role: approver)

    All approved claims not yet in a list, or `claim_ids`. The list's document (JSON) is in
    the answer: its keccak-256 is `list_hash`, so anyone can check it against the chain.
    """
    return jsonify(payment_lists.create(g.api_user, body_json(required=False))), 201


@bp.get("/payment-lists/<int:list_id>")
@operation("getPaymentList", ok={200: models.PaymentListOut}, errors=(401, 403, 404, 503))
@api_auth("approver")
def get_payment_list(list_id):
    """One payment list, its document and the chain's record (role: approver)"""
    return jsonify(payment_lists.list_dict(payment_lists.find(g.api_user, list_id)))


@bp.post("/payment-lists/<int:list_id>/paid")
@operation("markPaymentListPaid", json=models.PaidRequest, ok={200: models.PaymentListOut}, errors=CLAIM_ERRORS)
@api_auth("approver")
def mark_payment_list_paid(list_id):
    """Record that the list was paid: the payment reference's hash on chain; its claims become paid (role: approver)"""
    return jsonify(payment_lists.mark_paid(g.api_user, list_id, body_json()))
