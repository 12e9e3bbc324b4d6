"""Expense claims pages (报销, services.claims): an employee submits an invoice (its four
verification elements, or an upload of its JSON document or PDF) and sees the verification
at once, then its claims; the approver (finance) approves or rejects the company's claims,
collects approved ones into payment lists registered on chain and marks them paid; both see
the expense report (by employee, category or month) and download it as CSV or XLSX."""
from datetime import datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..chain.errors import ChainError
from ..core import canonical
from ..core.db import get_db
from ..core.models import ExpenseClaim
from ..schemas import claims as models
from ..services import claims, expense_report, form_tokens
from ..services import payment_lists as payment_list_service
from ..services.errors import Refused, ValidationError
from ..services.validation import validated
from .auth import EmptyForm, roles_required
from .helpers import already_submitted, flash_error, form_int, parse_yuan, submitted_form_token

bp = Blueprint("claims", __name__)

STAFF = ("employee", "approver")
EXPIRED = _l("The form expired: reload the page and try again.")
# each check made at submission (services.claims)
CHECK_LABELS = {"authentic": _l("Authenticity"), "status": _l("Invoice status"),
                "not_claimed": _l("Not claimed before"), "buyer": _l("Addressed to this company")}
SOURCE_LABELS = {"elements": _l("Four elements"), "document": _l("JSON document"), "pdf": _l("PDF")}
GROUP_LABELS = expense_report.GROUP_TITLES
# a refused submission's fields in words (the API keeps the field keys)
FIELD_LABELS = {"number": _l("Invoice number"), "issue_date": _l("Issue date"), "gross": _l("Gross amount"),
                "check_code": _l("Check code"), "category": _l("Category"), "purpose": _l("Purpose"),
                "file": _l("Invoice file"), "document": _l("Invoice file"),
                "document.buyer.tax_id": _l("Buyer's tax ID in the file"), "claim": _l("Invoice")}
REPORT_ARGS = {"group": _l("Group by"), "status": _l("Claims"), "from": _l("from"), "to": _l("to")}
REPORT_STATUS = {"all": _l("Every claim not rejected"), "approved": _l("Approved and paid"),
                 "paid": _l("Paid only")}


# ------------------------------------------------------------------------ template helpers
@bp.app_template_filter("iso_china_time")
def iso_china_time(text):
    """An answer's UTC time ('2026-12-04T14:05:00Z') as China time: '2026-12-04 22:05'."""
    if not text:
        return "—"
    return canonical.china_time(datetime.fromisoformat(text.rstrip("Z")))


@bp.app_template_global("claim_check_label")
def check_label(name):
    return CHECK_LABELS.get(name, name)


# ------------------------------------------------------------------------ common
def _posted():
    """The CSRF check of a posted form (False: flashed that it expired)."""
    if EmptyForm().validate_on_submit():
        return True
    flash(str(EXPIRED), "error")
    return False


def _next(default):
    """Where to go after a form: its ``next`` field when it is a page of this portal."""
    nxt = request.form.get("next", "")
    if nxt.startswith("/claims") and "\\" not in nxt:
        return redirect(nxt)
    return redirect(default)


def _company_or_flash():
    """The user's company; None (flashed) when the account belongs to none."""
    try:
        return claims.company_of(current_user)
    except Refused as exc:
        flash(exc.message, "error")
        return None


def _once(action, run):
    """``run()`` once per rendered form (services.form_tokens); (reference, first time?)."""
    return form_tokens.once(current_user, submitted_form_token(), action, run)


def _problem(exc):
    """A refusal of a submission as the result box shows it: the message, the fields, and
    the verification checks when the refusal carries them."""
    if isinstance(exc, ValidationError):
        return {"code": "invalid", "message": _("Check the fields. %(problem)s", problem=exc.message),
                "fields": exc.fields, "verification": None}
    return {"code": exc.code, "message": exc.message, "fields": exc.fields or {},
            "verification": exc.extra.get("verification")}


# ------------------------------------------------------------------------ the claims page
def _claims_page(problem=None, values=None, status=200):
    status_filter = request.args.get("status", "")
    status_filter = status_filter if status_filter in models.STATUSES else ""
    q = request.args.get("q", "").strip()[:100]
    company = _company_or_flash()
    rows, just = [], None
    if company is not None:
        rows = claims.listing(current_user, status_filter, q)
        submitted = form_int(request.args.get("submitted"), 12)
        if submitted and current_user.role == "employee":
            try:
                just = claims.as_dict(claims.find_visible(current_user, submitted), current_user)
            except Refused:
                just = None
    return render_template("claims/list.html", rows=rows, just=just, problem=problem, values=values or {},
                           status_filter=status_filter, q=q, company=company, categories=models.CATEGORIES,
                           labels=claims.STATUS_LABELS, field_labels=FIELD_LABELS, form=EmptyForm()), status


@bp.get("/claims")
@roles_required(*STAFF)
def index():
    """报销: the employee's submit form and own claims; the approver's: the company's claims."""
    return _claims_page()


def _submit(action, run, values):
    """A submission of the form: once per rendered form; then the claims page with its
    verification (the claim's id in the query), or this page again with the refusal."""
    if not _posted():
        return redirect(url_for("claims.index"))
    try:
        claim_id, first = _once(action, run)
    except (Refused, ValidationError) as exc:
        return _claims_page(_problem(exc), values, exc.status if isinstance(exc, Refused) else 400)
    except ChainError as exc:
        flash_error(exc)
        return _claims_page(None, values, 503)
    if first:
        flash(_("Claim %(id)s submitted and verified; waiting for approval.", id=claim_id), "ok")
    else:
        already_submitted(_("claim %(id)s was submitted then, not again", id=claim_id or ""))
    return redirect(url_for("claims.index", submitted=claim_id) if claim_id else url_for("claims.index"))


@bp.post("/claims/submit")
@roles_required("employee")
def submit():
    """By the four elements typed from the invoice (the gross in yuan)."""
    values = {k: request.form.get(k, "").strip() for k in ("number", "issue_date", "gross", "check_code",
                                                           "category", "purpose")}

    def run():
        gross = parse_yuan(values["gross"])
        if gross is None:
            raise ValidationError({"gross": _("an amount in yuan, e.g. 1234.56")},
                                  _("Enter the gross amount in yuan, e.g. 1234.56."))
        body = {**values, "gross": gross, "category": values["category"] or "other"}
        return claims.submit(current_user, body)["id"]

    return _submit("claim:submit", run, {**values, "way": "elements"})


@bp.post("/claims/upload")
@roles_required("employee")
def upload():
    """By an upload of the invoice's JSON document or PDF."""
    values = {k: request.form.get(k, "").strip() for k in ("category", "purpose")}
    file = request.files.get("file")

    def run():
        data = file.read() if file is not None else b""
        form = {**values, "category": values["category"] or "other"}
        return claims.submit_file(current_user, data, form)["id"]

    return _submit("claim:upload", run, {**values, "way": "upload"})


# ------------------------------------------------------------------------ one claim
def _visible(claim_id):
    try:
        return claims.find_visible(current_user, claim_id)
    except Refused as exc:
        abort(exc.status)


@bp.get("/claims/<int:claim_id>")
@roles_required(*STAFF)
def detail(claim_id):
    """One claim: the invoice, the verification, the decision, the chain's transaction, the payment list."""
    claim = _visible(claim_id)
    return render_template("claims/detail.html", c=claims.as_dict(claim, current_user),
                           sources=SOURCE_LABELS, list_labels=payment_list_service.LIST_LABELS, form=EmptyForm())


DONE = {"approve": _l("Claim %(id)s approved; the invoice is marked claimed on chain."),
        "reject": _l("Claim %(id)s rejected.")}
AGAIN = {"approve": _l("claim %(id)s was approved then, not again"),
         "reject": _l("claim %(id)s was rejected then, not again")}


@bp.post("/claims/<int:claim_id>/<any(approve, reject):action>")
@roles_required("approver")
def decide(claim_id, action):
    """Approve (the invoice marked claimed on chain) or reject (with a reason) a submitted claim."""
    page = url_for("claims.detail", claim_id=claim_id)
    if not _posted():
        return _next(page)

    def run():
        if action == "approve":
            claims.approve(current_user, claim_id)
        else:
            claims.reject(current_user, claim_id, {"reason": request.form.get("reason", "")})
        return claim_id

    try:
        _ref, first = _once(f"claim:{action}", run)
    except Refused as exc:
        if exc.status == 404:
            abort(404)
        flash_error(exc)
        return _next(page)
    except (ValidationError, ChainError) as exc:
        flash_error(exc)
        return _next(page)
    if first:
        flash(str(DONE[action]) % {"id": claim_id}, "ok")
    else:
        already_submitted(str(AGAIN[action]) % {"id": claim_id})
    return _next(page)


# ------------------------------------------------------------------------ payment lists
def _lists():
    """The company's payment lists with the chain's record of each; without it (flashed)
    when the chain cannot be read."""
    try:
        return payment_list_service.listing(current_user)
    except ChainError as exc:
        flash(_("The chain's records are unavailable: %(error)s", error=exc), "error")
    return payment_list_service.listing(current_user, with_chain=False)


@bp.get("/claims/payment-lists")
@roles_required("approver")
def payment_lists():
    """付款清单: the approved claims not yet in a list (to tick), and the lists."""
    company = _company_or_flash()
    payable, lists = [], []
    if company is not None:
        found = (get_db().query(ExpenseClaim).filter_by(company_tax_id=company, status="approved", payment_list_id=None)
                 .order_by(ExpenseClaim.id))
        payable = [claims.as_dict(c, current_user) for c in found]
        lists = _lists()
    return render_template("claims/payment_lists.html", payable=payable, lists=lists, form=EmptyForm())


@bp.post("/claims/payment-lists")
@roles_required("approver")
def create_payment_list():
    """The ticked claims (``claim_ids``) in a new payment list, registered on chain."""
    back = url_for("claims.payment_lists")
    if not _posted():
        return redirect(back)
    picked = [form_int(v, 12) for v in request.form.getlist("claim_ids")]

    def run():
        if not picked:
            raise ValidationError({"claim_ids": _("tick at least one claim")},
                                  _("Tick the claims to put in the payment list."))
        if any(p is None or p < 1 for p in picked):
            raise ValidationError({"claim_ids": _("not claim numbers")}, _("The selection is not valid."))
        return payment_list_service.create(current_user, {"claim_ids": picked})["id"]

    try:
        list_id, first = _once("claim:payment-list", run)
    except (Refused, ValidationError, ChainError) as exc:
        flash_error(exc)
        return redirect(back)
    if first:
        flash(_("Payment list %(id)s created; its hash and total are registered on chain.", id=list_id), "ok")
    else:
        already_submitted(_("payment list %(id)s was created then, not again", id=list_id or ""))
    return redirect(f"{back}#list-{list_id}" if list_id else back)


@bp.post("/claims/payment-lists/<int:list_id>/paid")
@roles_required("approver")
def mark_paid(list_id):
    """Mark a registered list paid with the bank transfer's reference (its hash goes on chain)."""
    back = url_for("claims.payment_lists")
    if not _posted():
        return redirect(back)
    try:
        _ref, first = _once("claim:paid", lambda: payment_list_service.mark_paid(
            current_user, list_id, {"payment_ref": request.form.get("payment_ref", "")})["id"])
    except Refused as exc:
        if exc.status == 404:
            abort(404)
        flash_error(exc)
        return redirect(back)
    except (ValidationError, ChainError) as exc:
        flash_error(exc)
        return redirect(back)
    if first:
        flash(_("Payment list %(id)s marked paid; its claims are paid.", id=list_id), "ok")
    else:
        already_submitted(_("the list was marked paid then, not again"))
    return redirect(f"{back}#list-{list_id}")


# ------------------------------------------------------------------------ the expense report
def _report_args():
    """The report's query (bad parameters flashed and left at their defaults)."""
    data = {k: request.args.get(k, "").strip() for k in ("group", "status", "from", "to")}
    data = {k: v for k, v in data.items() if v}
    try:
        return validated(models.ReportQuery, data)
    except ValidationError as exc:
        flash(_("A report option was not valid and is left out: %(problems)s",
                problems="; ".join(f"{REPORT_ARGS.get(k, k)}{_(': ')}{v}" for k, v in exc.fields.items())), "error")
        return validated(models.ReportQuery, {k: v for k, v in data.items() if k not in exc.fields})


def _report_link(args, fmt):
    query = {"group": args.group, "status": args.status, "from": args.date_from, "to": args.date_to}
    return url_for("claims.report_file", fmt=fmt, **{k: v for k, v in query.items() if v})


@bp.get("/claims/report")
@roles_required(*STAFF)
def report():
    """报销汇总: claims not rejected summed by employee, category or month (an employee: its own)."""
    args = _report_args()
    data = None
    if _company_or_flash() is not None:
        data = expense_report.summary(current_user, args)
    return render_template("claims/report.html", args=args, data=data, groups=GROUP_LABELS, statuses=REPORT_STATUS,
                           csv_url=_report_link(args, "csv"), xlsx_url=_report_link(args, "xlsx"))


@bp.get("/claims/report.<any(csv, xlsx):fmt>")
@roles_required(*STAFF)
def report_file(fmt):
    """The report as a file (as GET /api/v1/claims/report?format=…, for the signed-in user)."""
    args = _report_args()
    try:
        data = expense_report.summary(current_user, args)
    except Refused as exc:
        flash(exc.message, "error")
        return redirect(url_for("claims.report"))
    body, content_type, filename = expense_report.to_file(data, fmt)
    return Response(body, content_type=content_type,
                    headers={"Content-Disposition": f"attachment; filename={filename}"})
