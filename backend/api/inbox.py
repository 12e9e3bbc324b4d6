"""/api/v1/inbox: the buyer's inbox (invoices addressed to its tax ID), filtered and paged,
and its export as CSV or XLSX (one row per line item)."""
from flask import Response, current_app, g, jsonify, request

from ..schemas import inbox as models
from ..services import inbox, inbox_export
from . import bp
from .inputs import api_auth, query
from .openapi import operation

EXPORT_CONTENT = {
    "description": "the export file, one row per line item; column headers in the language of Accept-Language "
                   "(Chinese by default); amounts in yuan with 2 decimals (a red-letter note's negative); CSV in UTF-8 with a BOM. Content-Disposition names the "
                   "file; X-Invoice-Count says how many invoices it holds",
    "content": {"text/csv": {"schema": {"type": "string"}},
                inbox_export.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    "headers": {"X-Invoice-Count": {"description": "invoices in the file", "schema": {"type": "integer"}}}}


@bp.get("/inbox")
@operation("listInbox", query=models.InboxQuery, ok={200: models.InboxList}, errors=(400, 401, 403))
@api_auth("buyer")
def list_inbox():
    """The buyer's inbox: invoices addressed to its tax ID (role: buyer)

    Newest issue date first. `q` searches the number, the seller's name and tax ID and the
    line items' names and specs; `status` is a status key (PartlyRedLettered: valid, with
    red-letter notes against it; RedLetterNote: the notes themselves); amounts in fen. Each
    invoice comes with its status in words and the red-letter notes against it. A buyer
    account not linked to a tax ID: 403 `no_buyer_tax_id`.
    """
    args = query(models.InboxQuery)
    return jsonify(inbox.page(g.api_user, args))


@bp.get("/inbox/export")
@operation("exportInbox", query=models.InboxExportQuery, ok={200: None}, errors=(400, 401, 403, 404),
           extra={"responses": {"200": EXPORT_CONTENT}})
@api_auth("buyer")
def export_inbox():
    """Export invoices of the inbox as CSV or XLSX, one row per line item (role: buyer)

    `numbers`: the selected invoices, comma-separated (the parameter may also be repeated);
    each must be in the caller's inbox, else 404 naming it (the filters do not apply then).
    Without `numbers`: every invoice the filters match, at most INBOX_EXPORT_MAX_INVOICES
    (more: 400 `too_many_invoices`).
    """
    args = request.args.to_dict()
    numbers = [n for value in request.args.getlist("numbers") for n in value.split(",") if n]
    if len(request.args.getlist("numbers")) > 1:
        args["numbers"] = ",".join(numbers)
    f = query(models.InboxExportQuery, args)
    data, content_type, filename, count = inbox.export(
        g.api_user, f, f.numbers.split(",") if f.numbers else [], f.format,
        max_invoices=int(current_app.config["INBOX_EXPORT_MAX_INVOICES"]))
    return Response(data, content_type=content_type, headers={
        "Content-Disposition": f"attachment; filename={filename}", "X-Invoice-Count": str(count)})

