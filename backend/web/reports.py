"""The reports page (报表, /reports): the report builder (columns or a grouping with sums,
filters, sort; run, export as CSV or XLSX, save under a name), the saved reports, and the
monthly statement and platform report downloads (PDF, XLSX)."""
import json
from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..core.db import get_db
from ..core.models import Merchant
from ..schemas import reports as models
from ..services import invoices, report_files, reports
from ..services.errors import Refused, ValidationError
from ..services.validation import validated
from .auth import EmptyForm, roles_required
from .helpers import explained_refusals, flash_error, parse_yuan

bp = Blueprint("reports", __name__)
ROLES = ("merchant", "buyer", "authority", "auditor")
GROUP_LABELS = {"seller": _l("By seller"), "buyer": _l("By buyer"), "month": _l("By month"), "issue_date": _l("By day"),
                "region": _l("By region"), "status": _l("By status"), "rate": _l("By top rate")}
STATUS_FILTER = ("Issued", "Flagged", "Cleared", "Rejected", "Voided", "RedLettered")  # the builder's statuses
RED_LETTER = {"include": _l("Red-letter notes: counted, negative"), "exclude": _l("Red-letter notes: left out"),
              "only": _l("Red-letter notes only")}


def definition_from_args(args):
    """The builder form (a GET query) as a report definition dict; amounts typed in yuan."""
    filters = {k: args.get(k, "").strip() or None for k in ("date_from", "date_to", "seller", "buyer", "region")}
    filters["statuses"] = args.getlist("statuses")
    filters["red_letter"] = args.get("red_letter") or "include"
    for name in ("min_gross", "max_gross"):
        text = args.get(name, "").strip()
        if text:
            fen = parse_yuan(text)
            filters[name] = fen if fen is not None else text  # not an amount: refused by the model, named
    d = {"columns": args.getlist("columns") or models.ReportDefinition.model_fields["columns"].default,
         "group_by": args.get("group_by") or None,
         "measures": args.getlist("measures") or ["count", "gross"],
         "filters": {k: v for k, v in filters.items() if v not in (None, [])},
         "descending": args.get("descending", "1") == "1", "limit": args.get("limit", type=int) or 1000}
    if args.get("sort_by"):
        d["sort_by"] = args["sort_by"]
    return d


def _args_of(definition):
    """A definition as the builder form's query (to open a saved report in the form)."""
    f = definition.get("filters") or {}
    out = {"columns": definition["columns"], "measures": definition["measures"], "statuses": f.get("statuses", []),
           "group_by": definition.get("group_by") or "", "sort_by": definition.get("sort_by") or "",
           "descending": "1" if definition.get("descending", True) else "0", "limit": definition.get("limit", 1000),
           "red_letter": f.get("red_letter", "include"), "run": "1"}
    for k in ("date_from", "date_to", "seller", "buyer", "region"):
        if f.get(k):
            out[k] = f[k]
    for k in ("min_gross", "max_gross"):
        if f.get(k) is not None:
            out[k] = f"{f[k] / 100:.2f}"
    return out


@bp.get("/reports")
@roles_required(*ROLES)
def index():
    definition, result = definition_from_args(request.args), None
    if request.args.get("run"):
        try:
            result = reports.run(current_user, definition)
        except (ValidationError, Refused) as exc:
            flash_error(exc)
    merchants = []
    if current_user.role in ("authority", "auditor"):
        merchants = get_db().query(Merchant.tax_id, Merchant.name).order_by(Merchant.name).all()
    return render_template(
        "reports/index.html", d=definition, result=result, saved=reports.saved(current_user), form=EmptyForm(),
        columns=reports.COLUMNS, measures=reports.MEASURES, groups=GROUP_LABELS, statuses={k: invoices.STATUS_NAMES[k] for k in STATUS_FILTER},
        red_letter=RED_LETTER, month=date.today().isoformat()[:7], merchants=merchants,
        definition_json=json.dumps(definition, ensure_ascii=False), query=request.query_string.decode())


@bp.get("/reports/export")
@roles_required(*ROLES)
def export():
    fmt = request.args.get("format")
    if fmt not in ("csv", "xlsx"):
        flash(_("Choose CSV or XLSX."), "error")
        return redirect(url_for("reports.index"))
    try:
        data, content_type, filename = reports.export(reports.run(current_user, definition_from_args(request.args)),
                                                      fmt)
    except (ValidationError, Refused) as exc:
        flash_error(exc)
        return redirect(url_for("reports.index", **request.args.to_dict(flat=False)))
    return _file(data, content_type, filename)


@bp.post("/reports/saved")
@roles_required(*ROLES)
def save():
    form = EmptyForm()
    if not form.validate_on_submit():
        flash(_("The form expired: reload the page and try again."), "error")
        return redirect(url_for("reports.index"))
    try:
        definition = json.loads(request.form.get("definition") or "{}")
    except ValueError:
        definition = None
    with explained_refusals():
        row = reports.save(current_user, {"name": request.form.get("name", ""), "definition": definition})
        flash(_("The report “%(name)s” is saved.", name=row["name"]), "ok")
    return redirect(url_for("reports.index", **request.args.to_dict(flat=False)))


@bp.get("/reports/saved/<int:report_id>")
@roles_required(*ROLES)
def open_saved(report_id):
    with explained_refusals():
        row = reports.saved_dict(reports.find_saved(current_user, report_id))
        return redirect(url_for("reports.index", **_args_of(row["definition"])))
    return redirect(url_for("reports.index"))


@bp.post("/reports/saved/<int:report_id>/delete")
@roles_required(*ROLES)
def delete_saved(report_id):
    if EmptyForm().validate_on_submit():
        with explained_refusals():
            reports.delete_saved(current_user, report_id)
            flash(_("The report is deleted."), "ok")
    return redirect(url_for("reports.index"))


@bp.get("/reports/statement")
@roles_required("merchant", "authority", "auditor")
def statement():
    try:
        args = validated(models.StatementQuery, {k: v for k, v in request.args.items() if v})
        data = reports.statement(current_user, args.month, args.merchant)
    except (ValidationError, Refused) as exc:
        flash_error(exc)
        return redirect(url_for("reports.index"))
    name = f"statement-{data['merchant']['tax_id']}-{args.month}"
    return _statement_file(data, args.format, name, False)


@bp.get("/reports/platform")
@roles_required("authority", "auditor")
def platform():
    try:
        args = validated(models.PlatformQuery, {k: v for k, v in request.args.items() if v})
        data = reports.platform(current_user, args.month)
    except (ValidationError, Refused) as exc:
        flash_error(exc)
        return redirect(url_for("reports.index"))
    return _statement_file(data, args.format, f"platform-report-{args.month}", True)


def _statement_file(data, fmt, name, platform_report):
    if fmt == "xlsx":
        return _file(report_files.statement_xlsx(data, platform_report), reports.files.XLSX_TYPE, f"{name}.xlsx")
    return _file(report_files.statement_pdf(data, platform_report), "application/pdf", f"{name}.pdf")


def _file(data, content_type, filename):
    return Response(data, content_type=content_type, headers={"Content-Disposition": f"attachment; filename={filename}"})
