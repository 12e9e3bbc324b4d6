"""Auditor / authority: the flagged-invoice review queue, all invoices."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..core.db import get_db
from ..core.models import Invoice
from ..services import form_tokens, invoices, issuance
from .auth import EmptyForm, roles_required
from .helpers import already_submitted, explained_refusals, form_int, page_args, submitted_form_token

bp = Blueprint("audit", __name__, url_prefix="/audit")
# the preset reasons of a review: the chain records the code (reviews.OTHER needs the auditor's own words)
REASONS = {1: _l("Verified with the merchant"), 2: _l("Legitimate volume"), 3: _l("Duplicate confirmed"),
           4: _l("Fictitious transaction"), 5: _l("Other")}
# what each decision offers (a rejection is never "verified with the merchant"; issue 14, defect 5)
CLEAR_REASONS = {code: REASONS[code] for code in (1, 2, 5)}
REJECT_REASONS = {code: REASONS[code] for code in (3, 4, 5)}


@bp.route("/queue")
@roles_required("auditor", "authority")
def queue():
    rows = (get_db().query(Invoice).filter(Invoice.chain_status == "Flagged")
            .order_by(Invoice.created_at).limit(500).all())
    return render_template("audit/queue.html", rows=rows, form=EmptyForm(), clear_reasons=CLEAR_REASONS,
                           reject_reasons=REJECT_REASONS,
                           flag_words=invoices.flag_words)


@bp.route("/invoices", endpoint="invoices")
@roles_required("auditor", "authority", "financier")
def invoices_all():
    args = request.args
    page, per = page_args()
    query = invoices.search(get_db().query(Invoice), q=args.get("q"), status=args.get("status"),
                            buyer=args.get("buyer"), date_from=args.get("from"), date_to=args.get("to"))
    total = query.order_by(None).count()  # a count needs no ORDER BY (it sorted every row: bench-scale)
    rows = query.offset((page - 1) * per).limit(per).all()
    return render_template("merchant/list.html", rows=rows, total=total, page=page,
                           pages=max(1, -(-total // per)), args=args)



@bp.post("/invoices/<number>/<decision>")
@roles_required("auditor")
def review(number, decision):
    if decision not in ("clear", "reject"):
        abort(404)
    if EmptyForm().validate_on_submit():
        code = request.form.get("reason_code", "")
        body = {"reason_code": form_int(code) if form_int(code) is not None else code,
                "note": request.form.get("note", "")}
        with explained_refusals():  # one review per rendered form, whichever button
            done, first = form_tokens.once(current_user, submitted_form_token(), "review",
                                           lambda: issuance.review(current_user, number, decision, body) and decision)
            if first:
                flash(_("Review done: invoice %(number)s cleared.", number=number) if decision == "clear"
                      else _("Review done: invoice %(number)s rejected.", number=number), "ok")
            else:
                already_submitted(_("invoice %(number)s was cleared then, not again", number=number)
                                  if (done or decision) == "clear"
                                  else _("invoice %(number)s was rejected then, not again", number=number))
    return redirect(request.form.get("next") if request.form.get("next", "").startswith("/")
                    and not request.form.get("next", "").startswith("//") else url_for("audit.queue"))
