"""/api/v1/analytics: the dashboards' figures as JSON, or their tables as CSV / XLSX (the
same numbers as the pages of backend/web/dashboards.py): a merchant's sales, the
authority's platform view, a financier's book."""
from flask import Response, g, jsonify

from ..schemas import analytics as models
from ..services import analytics, analytics_export, analytics_platform
from . import bp
from .inputs import api_auth, query
from .openapi import operation


def _content(model):
    return {"200": {
        "description": "the figures (JSON), or with `format` csv / xlsx the dashboard's tables as a file (amounts in "
                       "yuan; CSV: UTF-8 with a BOM, each table under its title when there are several; XLSX: a sheet "
                       "per table). Content-Disposition names the file",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}},
                    "text/csv": {"schema": {"type": "string"}},
                    analytics_export.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}}}


def _answer(data, args):
    if args.format == "json":
        return jsonify(data)
    body, content_type, filename = analytics_export.render(data, args.format, args.table or None)
    return Response(body, content_type=content_type,
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


def _period(args):
    return analytics.period_of(args.period, args.date_from, args.date_to)


@bp.get("/analytics/merchant")
@operation("merchantDashboard", query=models.MerchantQuery, ok={200: models.MerchantDashboard},
           errors=(400, 401, 403, 404), extra={"responses": _content("MerchantDashboard")})
@api_auth("merchant", "authority")
def merchant_dashboard():
    """A merchant's sales dashboard (role: merchant, its own; authority: any, with `merchant`)

    By day, week or month; by tax rate; top buyers; status mix; voids and red-letter notes;
    receivables drawn and financed; the period against the previous one. Counted by issue
    date: invoices on chain that are not voided or rejected, minus their red-letter notes
    (see docs/analytics.md). A bad parameter: 400 naming it; another merchant's tax ID asked
    by a merchant: 403; an unknown one asked by the authority: 404.
    """
    args = query(models.MerchantQuery)
    return _answer(analytics.merchant_dashboard(g.api_user, _period(args), args.merchant or None), args)


@bp.get("/analytics/authority")
@operation("authorityDashboard", query=models.AuthorityQuery, ok={200: models.AuthorityDashboard},
           errors=(400, 401, 403), extra={"responses": _content("AuthorityDashboard")})
@api_auth("authority")
def authority_dashboard():
    """The platform's dashboard (role: authority)

    Totals and trend; by region (the invoice number's region digits) and by merchant;
    flagged, cleared and rejected rates; the review backlog and its age; the top open alerts.
    """
    args = query(models.AuthorityQuery)
    return _answer(analytics_platform.authority_dashboard(g.api_user, _period(args)), args)


@bp.get("/analytics/financier")
@operation("financierDashboard", query=models.FinancierQuery, ok={200: models.FinancierDashboard},
           errors=(400, 401, 403), extra={"responses": _content("FinancierDashboard")})
@api_auth("financier")
def financier_dashboard():
    """A financier's book now (role: financier, its own)

    What it is owed (advance + fee − repaid of what it financed) by debtor and by days to the
    due date (the chain's clock), and what is past due.
    """
    args = query(models.FinancierQuery)
    return _answer(analytics_platform.financier_dashboard(g.api_user), args)
