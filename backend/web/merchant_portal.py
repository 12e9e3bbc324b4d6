"""Merchant portal: registration, issue form, lists, invoice detail and actions.
The invoice detail page is shared by every role allowed to see the invoice."""
import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import pgettext
from flask_login import current_user, login_required

from ..core.config import public_base_url
from ..core.i18n import Translated, current_language
from ..core.db import get_db
from ..core.models import Invoice
from ..schemas.invoices import VAT_RATES
from ..services import (form_tokens, invoice_pdf, invoices, issuance, merchants, public_links, receivable_views,
                        reviews, validation)
from ..services.errors import Refused, ValidationError
from .audit import CLEAR_REASONS, REASONS, REJECT_REASONS
from .auth import EmptyForm, roles_required
from .helpers import (already_submitted, explained_refusals, flash_error, form_int, new_form_token, page_args,
                      parse_yuan, submitted_form_token)

bp = Blueprint("merchant", __name__)
MAX_FORM_ROWS = 50
# a merchant's status (the platform's and the chain's, lower-cased) on the registration page
MERCHANT_STATUS = Translated({
    "none": lambda: pgettext("merchant status", "Not registered"),
    "pending": lambda: pgettext("merchant status", "Pending review"),
    "approved": lambda: pgettext("merchant status", "Approved"),
    "rejected": lambda: pgettext("merchant status", "Not approved"),
    "suspended": lambda: pgettext("merchant status", "Suspended")})
# the line of a partial red-letter note: the document's text (hashed, printed on the PDF), in
# Chinese like the rest of the official document whatever the page's language
REDUCTION_LINE = "红字冲销"


@bp.app_template_filter("status_name")
def status_name(inv):
    """An invoice's status in a word or two, in the page's language (the status badges);
    ``inv``: an invoice, or a status key ('Issued', 'pending', …)."""
    if isinstance(inv, str):
        return invoices.STATUS_NAMES.get(inv, inv)
    return invoices.status_name(inv)


@bp.app_template_filter("event_words")
def event_words(event):
    """A chain event of an invoice's timeline in words (its name when it has none)."""
    return invoices.EVENT_WORDS.get(event, event)


@bp.app_template_filter("rate_list")
def rate_list(rates):
    """Tax rates as a list of percentages: 6%、13% in Chinese, 6%, 13% in English."""
    return ("、" if current_language() == "zh" else ", ").join(f"{r}%" for r in rates)


@bp.route("/merchant/registration", methods=("GET", "POST"))
@roles_required("merchant")
def registration():
    form = EmptyForm()
    m = current_user.merchant
    if form.validate_on_submit():
        body = {k: request.form.get(k, "") for k in ("name", "tax_id", "licence_number")}
        try:
            merchants.register(current_user, body)
            flash(_("Registration submitted; waiting for the authority's approval."), "ok")
            return redirect(url_for("merchant.registration"))
        except Exception as exc:  # noqa: BLE001
            if not flash_error(exc):
                raise
    return render_template("merchant/registration.html", form=form, merchant=m, status_words=MERCHANT_STATUS,
                           profile=merchants.chain_profile(m) if m else None)


def _rows_from_form(form):
    rows = []
    for i in range(MAX_FORM_ROWS):
        if f"item-{i}-name" not in form:
            continue
        rows.append({k: form.get(f"item-{i}-{k}", "").strip()
                     for k in ("name", "spec", "unit", "quantity", "unit_price", "tax_rate")})
    return rows


def _body_from_form(form, rows):
    items, errors = [], {}
    for i, r in enumerate(rows):
        price = parse_yuan(r["unit_price"])
        if price is None:
            errors[f"items[{i}].unit_price"] = _("Enter the unit price in yuan, e.g. 12.50.")
        rate = r["tax_rate"]
        items.append({"name": r["name"], "spec": r["spec"], "unit": r["unit"], "quantity": r["quantity"] or "1",
                      "unit_price": price if price is not None else 0,
                      "tax_rate": form_int(rate) if form_int(rate) is not None else -1})
    body = {"buyer_name": form.get("buyer_name", ""), "buyer_tax_id": form.get("buyer_tax_id", ""),
            "invoice_type": 1 if form.get("invoice_type") == "1" else 0,
            "remarks": form.get("remarks", ""), "items": items}
    if form.get("buyer_email", "").strip():
        body["buyer_email"] = form["buyer_email"].strip()
    if form.get("issue_date", "").strip():
        body["issue_date"] = form["issue_date"].strip()
    return body, errors


@bp.route("/merchant/issue", methods=("GET", "POST"))
@roles_required("merchant")
def issue():
    form = EmptyForm()
    rows = [{"name": "", "spec": "", "unit": "", "quantity": "1", "unit_price": "", "tax_rate": "13"}]
    values = {}
    totals = None
    errors = {}
    token = None  # kept while the form is previewed and edited: one rendered form, one invoice
    if request.method == "POST" and form.validate_on_submit():
        values = request.form
        token = submitted_form_token()
        rows = _rows_from_form(request.form) or rows
        action = request.form.get("action", "preview")
        if action == "add_row" and len(rows) < MAX_FORM_ROWS:
            rows.append({"name": "", "spec": "", "unit": "", "quantity": "1", "unit_price": "",
                         "tax_rate": rows[-1]["tax_rate"]})
        elif action.startswith("remove_") and len(rows) > 1:
            idx = action[len("remove_"):]
            if form_int(idx) is not None and int(idx) < len(rows):
                rows.pop(int(idx))
        elif action in ("preview", "issue"):
            body, errors = _body_from_form(request.form, rows)
            try:
                if errors:
                    raise ValidationError(errors)
                totals = validation.preview(body, current_app.config)
                if action == "issue":
                    inv, created = issuance.issue(current_user, body, form_tokens.idempotency_key(token))
                    if inv.state == "failed":
                        flash(_("The chain refused the invoice: %(reason)s", reason=inv.error), "error")
                    else:
                        if created:
                            flash(_("Invoice %(number)s issued.", number=inv.number), "ok")
                        else:
                            already_submitted(_("invoice %(number)s was issued then, not again", number=inv.number))
                        return redirect(url_for("merchant.detail", number=inv.number))
            except Refused as exc:
                if exc.code == "idempotency_key_reused":
                    token = _changed_after_issue(token)
                else:
                    flash_error(exc)
            except ValidationError as exc:
                errors = exc.fields
                flash_error(exc)
            except Exception as exc:  # noqa: BLE001
                if not flash_error(exc):
                    raise
    return render_template("merchant/issue.html", form=form, rows=rows, values=values, totals=totals,
                           errors=errors, rates=_allowed_rates(), token=token or new_form_token())


def _allowed_rates():
    """The rates the issue form offers: those the authority allows on chain (issue 14, defect 7),
    the statutory list when the chain cannot be read."""
    try:
        return merchants.audit_parameters()["allowed_rates"] or list(VAT_RATES)
    except Exception as exc:  # noqa: BLE001 - the form still works; the chain refuses a rate it does not allow
        current_app.logger.warning("allowed rates: %s", exc)
        return list(VAT_RATES)


def _changed_after_issue(token):
    """The form was issued, then changed and sent again: say so, and give the form a fresh
    token so that pressing Issue again issues the changed invoice deliberately."""
    first = issuance.keyed(current_user, form_tokens.idempotency_key(token))
    number = first.number if first is not None else ""
    already_submitted(_("invoice %(number)s was issued from it; the changed invoice is not issued yet: press Issue "
                        "again to issue it as another invoice", number=number))
    return new_form_token()


def _list(template, user_filter):
    args = request.args
    page, per = page_args()
    query = invoices.search(get_db().query(Invoice), user=user_filter, q=args.get("q"), status=args.get("status"),
                            buyer=args.get("buyer"), date_from=args.get("from"), date_to=args.get("to"))
    total = query.order_by(None).count()  # a count needs no ORDER BY (it sorted every row: bench-scale)
    rows = query.offset((page - 1) * per).limit(per).all()
    return render_template(template, rows=rows, total=total, page=page, pages=max(1, -(-total // per)),
                           args=args)


@bp.route("/merchant/invoices", endpoint="invoices")
@roles_required("merchant")
def list_own():
    return _list("merchant/list.html", current_user)


@bp.route("/buyer/invoices")
@roles_required("buyer")
def received():
    return _list("merchant/list.html", current_user)


def _viewable_invoice(number):
    """The invoice, or 404 when unknown / 403 when the user may not see it."""
    inv = invoices.find(number)
    if inv is None:
        abort(404)
    if not invoices.can_view(current_user, inv):
        abort(403)
    return inv


@bp.route("/invoices/<number>")
@login_required
def detail(number):
    inv = _viewable_invoice(number)
    chain_data, trouble = issuance.up_to_date(inv)
    if trouble is not None:
        flash(_("The chain's data is unavailable for now: %(reason)s", reason=trouble), "error")
    notes = get_db().query(Invoice).filter_by(original_number=inv.number).all()
    verify_url = invoice_pdf.verification_url(inv, public_base_url()) if inv.check_code else None
    own = inv.user_id == current_user.id and inv.state == "issued" and bool(inv.document)
    return render_template("merchant/detail.html", inv=inv, chain=chain_data, verify_url=verify_url,
                           public_url=public_links.url(inv, public_base_url()) if own else None,
                           verify_qr=invoice_pdf.qr_data_uri(verify_url) if verify_url else None,
                           doc=json.loads(inv.document) if inv.document else {"items": []},
                           flags=invoices.flag_words(inv.flags or 0), timeline=invoices.timeline(inv),
                           status_text=invoices.status_text(inv, chain_data), rates=invoices.rates_of(inv),
                           form=EmptyForm(), notes=notes, receivables=receivable_views.on_invoice(inv.key),
                           clear_reasons=CLEAR_REASONS, reject_reasons=REJECT_REASONS, reasons=REASONS,
                           reviews=reviews.of_invoice(inv))


@bp.post("/invoices/<number>/void")
@roles_required("merchant")
def void(number):
    if EmptyForm().validate_on_submit():
        token = submitted_form_token()
        with explained_refusals(abort_statuses=(403, 404)):
            first = form_tokens.once(current_user, token, "void",
                                     lambda: issuance.void(current_user, number)[0].number)[1]
            if first:
                flash(_("Invoice %(number)s voided.", number=number), "ok")
            else:
                already_submitted(_("the invoice is voided, not again"))
    return redirect(url_for("merchant.detail", number=number))


@bp.post("/invoices/<number>/red-letter")
@roles_required("merchant")
def red_letter(number):
    if EmptyForm().validate_on_submit():
        token = submitted_form_token()
        code = request.form.get("reason_code", "")
        body = {"reason_code": form_int(code) if form_int(code) is not None else request.form.get("reason_code")}
        partial = request.form.get("amount", "").strip()
        with explained_refusals(abort_statuses=(403, 404)):
            if partial:
                amount = parse_yuan(partial)
                original = invoices.owned(current_user, number)
                if amount is None:
                    raise ValidationError({"amount": _("Enter the net amount to reverse in yuan, e.g. 100.00.")})
                rates = invoices.rates_of(original)
                rate = request.form.get("tax_rate", "")
                rate = form_int(rate) if form_int(rate) in rates else max(rates, default=original.rate)
                body["items"] = [{"name": REDUCTION_LINE, "quantity": 1, "unit_price": amount, "tax_rate": rate}]
            try:
                note, created = issuance.red_letter(current_user, number, body, form_tokens.idempotency_key(token))
            except Refused as exc:
                if exc.code != "idempotency_key_reused":
                    raise
                already_submitted(_("a note was issued from it; the changed note is not issued: fill in the form "
                                    "on this page again"))
                return redirect(url_for("merchant.detail", number=number))
            if created:
                flash(_("Red-letter note %(number)s issued.", number=note.number), "ok")
            else:
                already_submitted(_("red-letter note %(number)s was issued then, not again", number=note.number))
            return redirect(url_for("merchant.detail", number=note.number))
    return redirect(url_for("merchant.detail", number=number))


@bp.get("/invoices/<number>/document.json")
@login_required
def document(number):
    inv = _viewable_invoice(number)
    if not inv.document:
        abort(404)
    return current_app.response_class(inv.document, mimetype="application/json",
                                      headers={"Content-Disposition": f"attachment; filename={number}.json"})


@bp.get("/invoices/<number>/invoice.pdf")
@login_required
def pdf(number):
    """The invoice's PDF (as GET /api/v1/invoices/{number}/pdf), as a download."""
    inv = _viewable_invoice(number)
    chain_data = issuance.up_to_date(inv)[0]  # the chain unreadable: the row's status is printed
    try:
        data = invoice_pdf.render(inv, public_base_url(), chain_data)
    except Refused as exc:  # not on chain (yet), or no document held: said on the invoice page
        flash_error(exc)
        return redirect(url_for("merchant.detail", number=inv.number))
    return current_app.response_class(data, mimetype="application/pdf",
                                      headers={"Content-Disposition": invoice_pdf.content_disposition(inv)})
