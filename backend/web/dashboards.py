"""Dashboards (数据看板, issue 13): a merchant's sales, the authority's platform view, a
financier's book. Each chart is drawn (Chart.js, served by the app from node_modules, no CDN)
from the table beside it, which holds its numbers; every table exports as CSV or XLSX. The
figures are services.analytics's, as the API's (/api/v1/analytics/…)."""
from pathlib import Path

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request,
                   send_from_directory, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..core.canonical import yuan
from ..core.db import get_db
from ..core.models import Merchant, User
from ..schemas import analytics as models
from ..services import analytics, analytics_export, analytics_platform
from ..services.errors import Refused, ValidationError
from ..services.validation import validated
from .auth import roles_required

bp = Blueprint("dashboards", __name__)
PAGE_CELL = {analytics_export.MONEY: yuan, analytics_export.INT: "{:,}".format}
HOME = {"merchant": "dashboards.merchant", "authority": "dashboards.authority", "financier": "dashboards.financier"}
QUERIES = {"merchant": models.MerchantQuery, "authority": models.AuthorityQuery, "financier": models.FinancierQuery}
# the query parameters in words (a flashed problem names them so)
PARAM_LABELS = {"period": _l("Buckets"), "from": _l("from"), "to": _l("to"), "merchant": _l("Merchant"),
                "format": _l("Format"), "table": _l("Table")}
ARGS = ("period", "from", "to", "merchant")  # what the pages' forms send (and the export links keep)


def _query(which):
    """The page's query as its model; a parameter that is not valid is flashed and left out."""
    model = QUERIES[which]
    data = {k: request.args.get(k, "").strip() for k in ARGS if request.args.get(k, "").strip()}
    data.update({k: request.args[k] for k in ("format", "table") if k in request.args})
    try:
        return validated(model, data), data
    except ValidationError as exc:
        flash(_("An option was not valid and is left out: %(problems)s",
                problems="; ".join(f"{PARAM_LABELS.get(k, k)}{_(': ')}{v}" for k, v in exc.fields.items())), "error")
        kept = {k: v for k, v in data.items() if k not in exc.fields}
        return validated(model, {k: v for k, v in kept.items() if k not in ("format", "table")}), kept


def _period(args):
    try:
        return analytics.period_of(args.period, args.date_from, args.date_to)
    except ValidationError as exc:
        flash(_("%(problem)s The default period is shown instead.", problem=exc.message), "error")
        return analytics.period_of(args.period)


def _dashboard(which):
    """(figures, query, the query's kept parameters) of the page ``which``."""
    args, kept = _query(which)
    if which == "financier":
        return analytics_platform.financier_dashboard(current_user), args, {}
    period = _period(args)
    kept = {k: v for k, v in kept.items() if k in ARGS}
    if which == "authority":
        return analytics_platform.authority_dashboard(current_user, period), args, kept
    try:
        return analytics.merchant_dashboard(current_user, period, args.merchant or None), args, kept
    except Refused as exc:
        abort(exc.status)
    except ValidationError:  # the authority's export without a merchant
        abort(400)


@bp.app_template_global("dash_cells")
def cells(table, row):
    """[(raw value, kind, text)] of a table row, as the page shows them (yuan with ¥ and
    thousands separators, percentages)."""
    out = []
    for value, kind in zip(analytics_export.row_values(row), analytics_export.row_kinds(table, row)):
        if value is None:
            text = "—"
        elif kind in PAGE_CELL:
            text = PAGE_CELL[kind](int(value))
        else:
            text = analytics_export.text_cell(value, kind)
        out.append((value, kind, text))
    return out


@bp.get("/dashboards")
@login_required
def home():
    if current_user.role not in HOME:
        abort(403)
    return redirect(url_for(HOME[current_user.role]))


def _merchant_choices():
    """The authority's merchant picker: approved and suspended merchants."""
    return (get_db().query(Merchant.name, Merchant.tax_id).join(User)
            .filter(Merchant.status.in_(("approved", "suspended")), User.address.isnot(None))
            .order_by(Merchant.name).all())


@bp.get("/dashboards/merchant")
@roles_required("merchant", "authority")
def merchant():
    if current_user.role == "authority" and not request.args.get("merchant"):
        choices = _merchant_choices()
        return render_template("dashboards/pick_merchant.html", choices=choices)
    data, args, kept = _dashboard("merchant")
    return _page("merchant", data, args, kept)


@bp.get("/dashboards/authority")
@roles_required("authority")
def authority():
    data, args, kept = _dashboard("authority")
    return _page("authority", data, args, kept)


@bp.get("/dashboards/financier")
@roles_required("financier")
def financier():
    data, args, kept = _dashboard("financier")
    return _page("financier", data, args, kept)


def _page(which, data, args, kept):
    tables = analytics_export.tables_of(data)
    return render_template(f"dashboards/{which}.html", d=data, tables={t["name"]: t for t in tables},
                           args=args, kept=kept, periods=analytics.PERIOD_LABELS, which=which,
                           export=lambda **kw: url_for("dashboards.export", which=which, **kept, **kw),
                           chart_js=chart_js_url())


@bp.get("/dashboards/<which>/export")
@login_required
def export(which):
    """A dashboard's tables (``table``: one of them) as CSV or XLSX (``format``)."""
    roles = {"merchant": ("merchant", "authority"), "authority": ("authority",), "financier": ("financier",)}
    if which not in roles:
        abort(404)
    if current_user.role not in roles[which]:
        abort(403)
    data, args, _kept = _dashboard(which)
    fmt = args.format if args.format in ("csv", "xlsx") else "csv"
    body, content_type, filename = analytics_export.render(data, fmt, args.table or None)
    return Response(body, content_type=content_type,
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


# ---------------------------------------------------------------- Chart.js, from node_modules
def chart_js_path():
    return Path(current_app.config["CHARTJS_FILE"])


def chart_js_url():
    """The script's URL with its version (a new version is a new URL: cached for a year), or
    None when node_modules has no Chart.js (the pages show the tables without charts)."""
    path = chart_js_path()
    if not path.is_file():
        return None
    return url_for("dashboards.chart_js", version=_version(path))


def _version(path):
    import json

    try:
        return json.loads((path.parents[1] / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "0"


@bp.get("/vendor/chart.js/<version>/chart.umd.min.js")
def chart_js(version):
    """Chart.js's UMD bundle from node_modules (package.json pins it; `make run` installs it)."""
    path = chart_js_path()
    if not path.is_file() or version != _version(path):
        abort(404)
    return send_from_directory(path.parent, path.name, mimetype="text/javascript", max_age=365 * 24 * 3600)
