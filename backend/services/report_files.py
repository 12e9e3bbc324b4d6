"""The monthly statement and the platform report (services.reports) as files: an XLSX
workbook (a summary sheet and the detail) and an A4 PDF drawn with reportlab's built-in CID
font, as the invoice PDF is."""
import io

def statement_xlsx(data, platform_report=False):
    """The statement (or the platform report) as a workbook: a summary sheet and the detail."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "汇总 Summary"
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
    detail = wb.create_sheet("明细 Detail")
    if platform_report:
        detail.append(["销售方税号 Seller tax ID", "销售方 Seller", "张数 Invoices", "金额 Net", "税额 Tax",
                       "价税合计 Gross"])
        for m in data["merchants"]:
            detail.append([m["tax_id"], m["name"], m["count"], m["net"] / 100, m["tax"] / 100, m["gross"] / 100])
    else:
        detail.append(["发票号码 Number", "开票日期 Issue date", "购买方 Buyer", "购买方税号 Buyer tax ID", "金额 Net",
                       "税额 Tax", "价税合计 Gross", "状态 Status", "原发票 Original"])
        for i in data["invoices"]:
            sign = -1 if i["status"] == "RedLetterNote" else 1
            detail.append([i["number"], i["issue_date"], i["buyer_name"], i["buyer_tax_id"], sign * i["net"] / 100,
                           sign * i["tax"] / 100, sign * i["gross"] / 100, i["status"], i["original_number"] or ""])
    for r in detail.iter_rows(min_row=2):
        for cell in r:
            if isinstance(cell.value, float):
                cell.number_format = "#,##0.00"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _summary_rows(data, platform_report):
    t = data["totals"]
    if platform_report:
        rows = [["■ 平台月度报告 Platform report", data["month"]], [],
                ["张数 Invoices", t["count"]], ["金额 Net", t["net"] / 100], ["税额 Tax", t["tax"] / 100],
                ["价税合计 Gross", t["gross"] / 100], [], ["■ 按地区 By region", "张数", "金额", "税额", "价税合计"]]
        rows += [[r["region"], r["count"], r["net"] / 100, r["tax"] / 100, r["gross"] / 100] for r in data["by_region"]]
        rows += [[], ["■ 按状态 By status", "张数", "金额", "税额", "价税合计"]]
        rows += [[r["status"], r["count"], r["net"] / 100, r["tax"] / 100, r["gross"] / 100] for r in data["by_status"]]
        rows += [[], ["■ 预警 Alerts", "条数 Count"]] + [[a["kind"], a["count"]] for a in data["alerts"]]
        rec = data["receivables"]
        rows += [[], ["■ 应收账款 Receivables", "笔数 Count", "金额 Amount", "融资 Advanced"],
                 ["", rec["count"], rec["amount"] / 100, rec["advanced"] / 100]]
        return rows
    rows = [["■ 月度开票报表 Monthly statement", data["month"]],
            ["商户 Merchant", data["merchant"]["name"]], ["税号 Tax ID", data["merchant"]["tax_id"]], [],
            ["张数 Invoices", t["count"]], ["金额 Net", t["net"] / 100], ["税额 Tax", t["tax"] / 100],
            ["价税合计 Gross", t["gross"] / 100], ["红字发票 Red-letter notes", t["notes"]],
            ["作废 Voided", t["voided"]], [], ["■ 按税率 By rate", "金额 Net", "税额 Tax"]]
    rows += [[f"{r['rate']}%", r["net"] / 100, r["tax"] / 100] for r in data["by_rate"]]
    rows += [[], ["■ 按状态 By status", "张数 Invoices", "价税合计 Gross"]]
    rows += [[r["label"], r["count"], r["gross"] / 100] for r in data["by_status"]]
    rec = data["receivables"]
    rows += [[], ["■ 应收账款 Receivables drawn", "笔数 Count", "金额 Amount"], ["", rec["count"], rec["amount"] / 100]]
    return rows


def statement_pdf(data, platform_report=False):
    """The statement (or the platform report) as an A4 PDF in Chinese (reportlab's CID font)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, SimpleDocTemplate, Spacer, Table, TableStyle

    from .invoice_pdf import INK, LABEL, TEXT as BODY, TITLE, _p

    buf = io.BytesIO()
    title = "平台月度报告 Platform report" if platform_report else "月度开票报表 Monthly statement"
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
        flow += [PageBreak(), _p("发票明细 Invoices", LABEL), Spacer(1, 2 * mm)]
        rows = [["发票号码", "日期", "购买方", "金额", "税额", "价税合计", "状态"]]
        for i in data["invoices"]:
            sign = -1 if i["status"] == "RedLetterNote" else 1
            rows.append([i["number"], i["issue_date"], _p(i["buyer_name"], BODY), _cell(sign * i["net"] / 100),
                         _cell(sign * i["tax"] / 100), _cell(sign * i["gross"] / 100), i["status"] or ""])
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
