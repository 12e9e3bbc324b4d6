"""/api/v1/reports: the report builder (run a definition, save it, run a saved one), the
merchant's monthly statement and the platform's monthly report (PDF, XLSX or JSON)."""
from flask import Response, g, jsonify

from ..schemas import reports as models
from ..services import report_files, reports
from ..services.validation import validated
from . import bp
from .inputs import api_auth, body_json, query
from .openapi import operation

ROLES = ("merchant", "buyer", "authority", "auditor")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILES = {"csv": "text/csv", "xlsx": XLSX, "pdf": "application/pdf"}
RUN_EXAMPLE = {"definition": {"group_by": "buyer", "measures": ["count", "gross"],
                              "filters": {"date_from": "2026-11-01", "date_to": "2026-11-30"}}, "format": "json"}


def _file_content(*formats):
    return {"responses": {"200": {"description": "the report (JSON) or its file", "content": {
        "application/json": {"schema": {"type": "object"}},
        **{FILES[f]: {"schema": {"type": "string", "format": "binary"}} for f in formats}}}}}


def _send(data, content_type, filename):
    return Response(data, content_type=content_type, headers={"Content-Disposition": f"attachment; filename={filename}"})


def _result(user, definition, fmt):
    result = reports.run(user, definition)
    if fmt == "json":
        return jsonify(result)
    return _send(*reports.export(result, fmt))


@bp.post("/reports/run")
@operation("runReport", json=models.RunReport, ok={200: models.ReportResult}, errors=(400, 401, 403),
           extra={"requestBody": {"content": {"application/json": {"example": RUN_EXAMPLE}}},
                  **_file_content("csv", "xlsx")})
@api_auth(*ROLES)
def run_report():
    """Run a report definition: columns of each invoice, or groups with sums (定制化报表)

    Over the invoices the caller may see (a merchant its own, a buyer those addressed to it,
    the authority and auditors all), registered on chain. A red-letter note counts negative.
    At most `limit` rows (`truncated` says when there were more); `totals` are over all.
    """
    req = validated(models.RunReport, body_json())
    return _result(g.api_user, req.definition, req.format)


@bp.get("/reports/saved")
@operation("listSavedReports", ok={200: models.SavedReportList}, errors=(401, 403))
@api_auth(*ROLES)
def list_saved_reports():
    """The caller's saved reports"""
    return jsonify({"reports": reports.saved(g.api_user)})


@bp.post("/reports/saved")
@operation("saveReport", json=models.SaveReport, ok={201: models.SavedReportOut}, errors=(400, 401, 403, 409))
@api_auth(*ROLES)
def save_report():
    """Save a report definition under a name (the same name again replaces it)"""
    return jsonify(reports.save(g.api_user, body_json())), 201


@bp.get("/reports/saved/<int:report_id>")
@operation("runSavedReport", query=models.SavedQuery, ok={200: models.ReportResult}, errors=(400, 401, 403, 404),
           extra=_file_content("csv", "xlsx"))
@api_auth(*ROLES)
def run_saved_report(report_id):
    """Run a saved report (format json, csv or xlsx)"""
    args = query(models.SavedQuery)
    row = reports.find_saved(g.api_user, report_id)
    return _result(g.api_user, reports.saved_dict(row)["definition"], args.format)


@bp.delete("/reports/saved/<int:report_id>")
@operation("deleteSavedReport", ok={204: None}, errors=(401, 403, 404))
@api_auth(*ROLES)
def delete_saved_report(report_id):
    """Delete a saved report"""
    reports.delete_saved(g.api_user, report_id)
    return "", 204


@bp.get("/reports/statement")
@operation("monthlyStatement", query=models.StatementQuery, ok={200: None}, errors=(400, 401, 403, 404),
           extra=_file_content("pdf", "xlsx"))
@api_auth("merchant", "authority", "auditor")
def monthly_statement():
    """A merchant's monthly statement (月度开票报表): totals, per rate, per status, receivables, every invoice

    A merchant its own; the authority and auditors any merchant's (`merchant` = its tax ID).
    """
    args = query(models.StatementQuery)
    data = reports.statement(g.api_user, args.month, args.merchant)
    return _statement_file(data, args, f"statement-{data['merchant']['tax_id']}-{args.month}", False)


@bp.get("/reports/platform")
@operation("platformReport", query=models.PlatformQuery, ok={200: None}, errors=(400, 401, 403),
           extra=_file_content("pdf", "xlsx"))
@api_auth("authority", "auditor")
def platform_report():
    """The platform's monthly report (平台月度报告): totals, regions, top merchants, statuses, alerts, receivables"""
    args = query(models.PlatformQuery)
    data = reports.platform(g.api_user, args.month)
    return _statement_file(data, args, f"platform-report-{args.month}", True)


def _statement_file(data, args, name, platform):
    if args.format == "json":
        return jsonify(data)
    if args.format == "xlsx":
        return _send(report_files.statement_xlsx(data, platform), XLSX, f"{name}.xlsx")
    return _send(report_files.statement_pdf(data, platform), "application/pdf", f"{name}.pdf")
