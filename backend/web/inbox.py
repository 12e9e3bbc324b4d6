"""The buyer's inbox page (收票箱, /inbox): search, filters, paging, each invoice's status and
red-letter notes in words, its JSON document and its PDF (served by merchant_portal.pdf); the
export of the selected invoices or of everything the filters match as CSV or XLSX."""
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..core.i18n import current_language
from ..schemas.inbox import EXPORT_MAX_NUMBERS, STATUS_KEYS, InboxFilters, InboxQuery
from ..services import inbox
from ..services.errors import Refused, ValidationError
from ..services.invoices import NUMBER_RE
from ..services.validation import validated
from .auth import roles_required
from .helpers import page_args, parse_yuan

bp = Blueprint("inbox", __name__)
FILTERS = ("q", "status", "seller", "from", "to", "amount_min", "amount_max")  # as the page's form names them
EXPORTS = {"selected-csv": (True, "csv"), "selected-xlsx": (True, "xlsx"), "all-csv": (False, "csv"),
           "all-xlsx": (False, "xlsx")}
FIELD_WORDS = {"q": _l("Search"), "status": _l("Status"), "seller": _l("Seller"), "from": _l("Issued from"),
               "to": _l("Issued until"), "amount_min": _l("Minimum amount"), "amount_max": _l("Maximum amount"),
               "date_from": _l("Issued from"), "date_to": _l("Issued until"), "page": _l("Page"),
               "per_page": _l("Invoices per page")}


def _filters(model, extra=None):
    """The page's filters as ``model`` (amounts typed in yuan, taken in fen); a filter that
    is not valid is flashed and left out."""
    args = {k: request.args.get(k, "").strip() for k in FILTERS}
    data, problems = {**{k: v for k, v in args.items() if k not in ("amount_min", "amount_max")}, **(extra or {})}, {}
    for name in ("amount_min", "amount_max"):
        if args[name]:
            fen = parse_yuan(args[name])
            if fen is None:
                problems[name] = _("an amount in yuan, e.g. 1234.56")
            else:
                data[name] = fen
    try:
        found = validated(model, data)
    except ValidationError as exc:
        problems.update(exc.fields)
        found = validated(model, {k: v for k, v in data.items() if k not in exc.fields})
    if problems:
        separator, unnamed = "；" if current_language() == "zh" else "; ", _("a filter")
        details = separator.join(_("%(field)s: %(problem)s", field=FIELD_WORDS.get(k, unnamed), problem=v)
                                 for k, v in problems.items())
        flash(_("A filter was not valid and is left out: %(details)s", details=details), "error")
    return found, {k: v for k, v in args.items() if v and k not in problems}


@bp.route("/inbox")
@roles_required("buyer")
def index():
    page, per = page_args()
    f, kept = _filters(InboxQuery, {"page": page, "per_page": per})
    try:
        found = inbox.page(current_user, f)
    except Refused as exc:
        flash(exc.message, "error")
        found = {"total": 0, "invoices": []}
        sellers = []
    else:
        sellers = inbox.sellers(current_user)
    statuses = [(key, inbox.status_label(key)) for key in STATUS_KEYS]
    return render_template("inbox/list.html", entries=found["invoices"], total=found["total"], page=page,
                           pages=max(1, -(-found["total"] // per)), args=request.args, f=f, kept=kept,
                           statuses=statuses, sellers=sellers, tax_id=(current_user.buyer_tax_id or "").upper(),
                           max_export=int(current_app.config["INBOX_EXPORT_MAX_INVOICES"]))


@bp.get("/inbox/export")
@roles_required("buyer")
def export():
    """The file of the selected invoices (``numbers``, repeated) or, for ``all-…``, of
    everything the filters match; back to the page with a message when there is nothing to
    export or it is refused."""
    choice = EXPORTS.get(request.args.get("export", ""))
    f, kept = _filters(InboxFilters)
    back = redirect(url_for("inbox.index", **kept))
    if choice is None:
        flash(_("Choose an export format."), "error")
        return back
    only_selected, fmt = choice
    numbers = [n for n in request.args.getlist("numbers") if n]
    if only_selected and not numbers:
        flash(_("Select the invoices to export first."), "error")
        return back
    if only_selected and (len(numbers) > EXPORT_MAX_NUMBERS or not all(NUMBER_RE.match(n) for n in numbers)):
        flash(_("The selected invoice numbers are not valid."), "error")
        return back
    try:
        data, content_type, filename, _count = inbox.export(
            current_user, f, numbers if only_selected else [], fmt,
            max_invoices=int(current_app.config["INBOX_EXPORT_MAX_INVOICES"]))
    except Refused as exc:
        flash(exc.message, "error")
        return back
    return Response(data, content_type=content_type,
                    headers={"Content-Disposition": f"attachment; filename={filename}"})
