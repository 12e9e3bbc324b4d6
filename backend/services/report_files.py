"""The monthly statement and the platform report (services.reports) as files: an XLSX
workbook (a summary sheet and the detail) and an A4 PDF drawn with reportlab's built-in CID
font, as the invoice PDF is."""
import io

from flask_babel import gettext as _, pgettext

from .reports import status_word

def statement_xlsx(data, platform_report=False):
    """The statement (or the platform report) as a workbook: a summary sheet and the detail."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = _("Summary")
    bold = Font(bold=True)
    for row in _summary_rows(data, platform_report):
        ws.append(row)
        if row and isinstance(row[0], str) and row[0].startswith("■"):
            ws.cell(ws.max_row, 1).font = bold
    for r in ws.iter_rows():
        for cell in r:
            if isinstance(cell.value, float):
                cell.number_format = "#,##0.00"
    ws.column_dimensions["A"].width = 34
    for col in "BCDE":
        ws.column_dimensions[col].width = 18
    detail = wb.create_sheet(pgettext("sheet", "Detail"))
    if platform_report:
        detail.append([_("Seller tax ID"), _("Seller"), _("Invoice count"), _("Net amount"), _("Tax amount"),
                       _("Gross amount")])
        for m in data["merchants"]:
            detail.append([m["tax_id"], m["name"], m["count"], m["net"] / 100, m["tax"] / 100, m["gross"] / 100])
    else:
        detail.append([_("Invoice number"), _("Issue date"), _("Buyer"), _("Buyer tax ID"), _("Net amount"),
                       _("Tax amount"), _("Gross amount"), _("Status"), _("Original invoice")])
        for i in data["invoices"]:
            sign = -1 if i["status"] == "RedLetterNote" else 1
            detail.append([i["number"], i["issue_date"], i["buyer_name"], i["buyer_tax_id"], sign * i["net"] / 100,
                           sign * i["tax"] / 100, sign * i["gross"] / 100, status_word(i["status"]),
                           i["original_number"] or ""])
    for r in detail.iter_rows(min_row=2):
        for cell in r:
            if isinstance(cell.value, float):
                cell.number_format = "#,##0.00"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _summary_rows(data, platform_report):
    """The summary's rows; a row starting with ■ opens a section (its title, then its columns'
    headings or the month). Amounts in yuan."""
    t = data["totals"]
    sums = [_("Invoice count"), _("Net amount"), _("Tax amount"), _("Gross amount")]
    totals = [[_("Invoice count"), t["count"]], [_("Net amount"), t["net"] / 100], [_("Tax amount"), t["tax"] / 100],
              [_("Gross amount"), t["gross"] / 100]]
    if platform_report:
        rows = [["■ " + _("Platform monthly report"), data["month"]], [], *totals, [],
                ["■ " + _("By region"), *sums]]
        rows += [[r["region"], r["count"], r["net"] / 100, r["tax"] / 100, r["gross"] / 100] for r in data["by_region"]]
        rows += [[], ["■ " + _("By status"), *sums]]
        rows += [[status_word(r["status"]), r["count"], r["net"] / 100, r["tax"] / 100, r["gross"] / 100]
                 for r in data["by_status"]]
        rows += [[], ["■ " + _("Alerts"), _("Count")]] + [[_alert_kind(a["kind"]), a["count"]] for a in data["alerts"]]
        rec = data["receivables"]
        rows += [[], ["■ " + _("Receivables"), _("Number of receivables"), _("Amount"), _("Advanced")],
                 ["", rec["count"], rec["amount"] / 100, rec["advanced"] / 100]]
        return rows
    rows = [["■ " + _("Monthly statement"), data["month"]],
            [_("Merchant"), data["merchant"]["name"]], [_("Tax ID"), data["merchant"]["tax_id"]], [], *totals,
            [_("Red-letter notes"), t["notes"]], [_("Voided"), t["voided"]], [],
            ["■ " + _("By tax rate"), _("Net amount"), _("Tax amount")]]
    rows += [[f"{r['rate']}%", r["net"] / 100, r["tax"] / 100] for r in data["by_rate"]]
    rows += [[], ["■ " + _("By status"), _("Invoice count"), _("Gross amount")]]
    rows += [[r["label"], r["count"], r["gross"] / 100] for r in data["by_status"]]
    rec = data["receivables"]
    rows += [[], ["■ " + _("Receivables drawn"), _("Number of receivables"), _("Amount")], ["", rec["count"], rec["amount"] / 100]]
    return rows


def _alert_kind(kind):
    from .detector import KIND_LABELS

    return str(KIND_LABELS.get(kind, kind))


def statement_pdf(data, platform_report=False):
    """The statement (or the platform report) as an A4 PDF in the reader's language (reportlab's
    CID font draws both)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, SimpleDocTemplate, Spacer, Table, TableStyle

    from .invoice_pdf import INK, LABEL, TEXT as BODY, TITLE, _p

    buf = io.BytesIO()
    title = _("Platform monthly report") if platform_report else _("Monthly statement")
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm, topMargin=14 * mm,
                            bottomMargin=14 * mm, title=f"{title} {data['month']}", creator="chain-einvoice",
                            invariant=1)
    flow = [_p(title, TITLE), Spacer(1, 4 * mm)]
    table_style = TableStyle([("FONT", (0, 0), (-1, -1), "STSong-Light", 8.5), ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
                              ("TEXTCOLOR", (0, 0), (-1, 0), INK), ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                              ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
    section = []
    for row in _summary_rows(data, platform_report):
        if row and isinstance(row[0], str) and row[0].startswith("■"):
            if section:
                flow += [_table(section, table_style), Spacer(1, 3 * mm)]
            flow.append(_p(row[0][2:] + ("  " + str(row[1]) if len(row) == 2 else ""), LABEL))
            section = [["", *row[1:]]] if len(row) > 2 else []  # the columns' headings
            continue
        if row:
            section.append([_cell(v) for v in row])
    if section:
        flow.append(_table(section, table_style))
    if not platform_report and data["invoices"]:
        flow += [PageBreak(), _p(_("Invoices of the month"), LABEL), Spacer(1, 2 * mm)]
        rows = [[_("Invoice number"), _("Date"), _("Buyer"), _("Net amount"), _("Tax amount"), _("Gross amount"),
                 _("Status")]]
        for i in data["invoices"]:
            sign = -1 if i["status"] == "RedLetterNote" else 1
            rows.append([i["number"], i["issue_date"], _p(i["buyer_name"], BODY), _cell(sign * i["net"] / 100),
                         _cell(sign * i["tax"] / 100), _cell(sign * i["gross"] / 100), status_word(i["status"])])
        flow.append(Table(rows, repeatRows=1, style=table_style, colWidths=[38 * mm, 20 * mm, 50 * mm, 20 * mm,
                                                                            18 * mm, 22 * mm, 14 * mm]))
    doc.build(flow)
    return buf.getvalue()


def _table(rows, style):
    from reportlab.platypus import Table

    width = max(len(r) for r in rows)
    return Table([list(r) + [""] * (width - len(r)) for r in rows], style=style, hAlign="LEFT")


def _cell(value):
    return f"{value:,.2f}" if isinstance(value, float) else ("" if value is None else str(value))
