"""The dashboards' tables: every chart's numbers as a table (the page shows it beside the
chart, and the chart is drawn from it), and the same tables as CSV (UTF-8 with a BOM) and
XLSX, in the manner of the inbox export (services.inbox_export): headers Chinese then
English, money in yuan with 2 decimals, ratios as percentages.

A table is {"name", "title", "sheet", "columns": [(header, kind)], "rows": [[value]],
"chart": {...} | None, "note"?}; a row's values are raw (fen, counts, fractions), each
written by its column's kind, or by the row's own ``kinds`` when a table lists measures of
different kinds (a row is then {"values": [...], "kinds": [...]})."""
import csv
import io
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from . import inbox_export
from .analytics import PERIOD_LABELS

TEXT, INT, DATE, MONEY, RATE, PERCENT, CHANGE = "text", "int", "date", "money", "rate", "percent", "change"
CSV_TYPE, XLSX_TYPE = inbox_export.CSV_TYPE, inbox_export.XLSX_TYPE
XLSX_FORMATS = {TEXT: "@", INT: "#,##0", DATE: "yyyy-mm-dd", MONEY: "#,##0.00", RATE: "0%", PERCENT: "0.00%",
                CHANGE: "+0.0%;-0.0%;0.0%"}
MEASURE = ("指标 Measure", TEXT)


def _row(values, kinds=None):
    return {"values": list(values), "kinds": kinds} if kinds else list(values)


def row_values(row):
    return row["values"] if isinstance(row, dict) else row


def row_kinds(table, row):
    if isinstance(row, dict) and row.get("kinds"):
        return row["kinds"]
    return [kind for _, kind in table["columns"]]


def _table(name, title, sheet, columns, rows, chart=None, note=None):
    return {"name": name, "title": title, "sheet": sheet, "columns": columns, "rows": rows, "chart": chart,
            "note": note}


def _chart(kind, series, label=0, rows=None, horizontal=False, stacked=False):
    """What the page's script draws from the table: ``kind`` bar|line|doughnut, the label
    column, the series columns (money in yuan on the left axis; counts on the right one),
    ``rows``: which rows (all when None)."""
    return {"type": kind, "label": label, "series": series, "rows": rows, "horizontal": horizontal,
            "stacked": stacked}


FIGURES = [("发票数 Invoices", INT), ("红字发票数 Red-letter notes", INT), ("金额 Net", MONEY), ("税额 Tax", MONEY),
           ("价税合计 Gross", MONEY)]


def _figures(t):
    return [t["count"], t["notes"], t["net"], t["tax"], t["gross"]]


def series_table(d):
    return _table(
        "series", f"开票趋势（{PERIOD_LABELS[d['period']]}）Sales trend", "趋势 series",
        [("期间 Period", TEXT), ("起 From", DATE), ("止 To", DATE), *FIGURES],
        [[s["bucket"], s["from"], s["to"], *_figures(s)] for s in d["series"]],
        _chart("bar", [5, 6], stacked=True),
        note="红字发票冲减金额；作废、驳回及未上链的发票不计入。Red-letter notes reduce the amounts; voided, rejected "
             "and unregistered invoices are not counted.")


COMPARED = (("count", "发票数 Invoices", INT), ("notes", "红字发票数 Red-letter notes", INT),
            ("net", "金额 Net", MONEY),
            ("tax", "税额 Tax", MONEY), ("gross", "价税合计 Gross", MONEY),
            ("average", "平均每张价税合计 Average gross per invoice", MONEY))


def comparison_table(d):
    c = d["comparison"]
    rows = [_row([label, c["current"][k], c["previous"][k],
                  None if c["change"][k] is None else c["change"][k] / 100], [TEXT, kind, kind, CHANGE])
            for k, label, kind in COMPARED]
    prev = d["previous"]
    return _table("comparison", "本期与上期对比 This period vs the previous one", "对比 comparison",
                  [MEASURE, (f"本期 This period ({d['from']} – {d['to']})", TEXT),
                   (f"上期 Previous ({prev['from']} – {prev['to']})", TEXT), ("变化 Change", CHANGE)],
                  rows, _chart("bar", [1, 2], rows=[2, 3, 4]),
                  note="上期：紧接本期之前、天数相同的期间。The previous period: as many days just before this one.")


def status_table(d):
    return _table("status_mix", "状态分布 Status mix", "状态 status_mix",
                  [("状态 Status", TEXT), ("张数 Count", INT), ("票面价税合计 Face gross", MONEY)],
                  [[s["label"], s["count"], s["gross"]] for s in d["status_mix"]], _chart("doughnut", [1]))


def ratios_table(d):
    r = d["ratios"]
    rows = [
        _row(["上链发票 Invoices on chain (not notes)", r["invoices"]], [TEXT, INT]),
        _row(["作废 Voided", r["voided"]], [TEXT, INT]),
        _row(["作废率 Void ratio", r["void_ratio"]], [TEXT, PERCENT]),
        _row(["全额红冲的发票 Fully red-lettered invoices", r["red_lettered"]], [TEXT, INT]),
        _row(["红字发票 Red-letter notes", r["red_letter_notes"]], [TEXT, INT]),
        _row(["红冲率（张数）Red-letter ratio (notes per invoice)", r["red_letter_ratio"]], [TEXT, PERCENT]),
        _row(["红字发票价税合计 Notes' gross", r["red_letter_gross"]], [TEXT, MONEY]),
        _row(["红冲率（金额）Red-letter ratio (by amount)", r["red_letter_amount_ratio"]], [TEXT, PERCENT]),
    ]
    return _table("ratios", "作废与红冲 Voids and red-letter notes", "作废红冲 ratios", [MEASURE, ("数值 Value", TEXT)],
                  rows, _chart("bar", [1], rows=[2, 5, 7]))


def rate_table(d):
    return _table("by_rate", "按税率 By tax rate", "税率 by_rate",
                  [("税率 Rate", RATE), ("含该税率的发票 Invoices with lines at it", INT), ("金额 Net", MONEY),
                   ("税额 Tax", MONEY), ("价税合计 Gross", MONEY), ("占比 Share", PERCENT)],
                  [[r["rate"], r["count"], r["net"], r["tax"], r["gross"], r["share"]] for r in d["by_rate"]],
                  _chart("doughnut", [4]),
                  note="按明细行的税率汇总（一张发票可有多个税率）。Summed by the line items' rates (an invoice may "
                       "have several).")


def buyers_table(d):
    return _table("top_buyers", f"主要购买方（前{len(d['top_buyers'])}）Top buyers", "购买方 top_buyers",
                  [("购买方 Buyer", TEXT), ("税号 Tax ID", TEXT), ("发票数 Invoices", INT), ("价税合计 Gross", MONEY),
                   ("占前列合计 Share of these", PERCENT)],
                  [[b["name"], b["tax_id"], b["count"], b["gross"], b["share"]] for b in d["top_buyers"]],
                  _chart("bar", [3], horizontal=True))


def receivables_tables(d):
    r = d["receivables"]
    summary = [
        _row(["开立应收账款 Receivables drawn", r["drawn"]], [TEXT, INT]),
        _row(["开立面值 Face value drawn", r["drawn_amount"]], [TEXT, MONEY]),
        _row(["已融资（笔）Financed (receivables)", r["financed"]], [TEXT, INT]),
        _row(["融资放款 Advanced by financiers", r["financed_advance"]], [TEXT, MONEY]),
        _row(["融资手续费 Financing fees", r["financed_fee"]], [TEXT, MONEY]),
        _row(["已收款 Paid by debtors", r["paid"]], [TEXT, MONEY]),
        _row(["未收款 Outstanding", r["outstanding"]], [TEXT, MONEY]),
    ]
    return [
        _table("receivables", "应收账款：开立与融资 Receivables drawn and financed", "应收 receivables",
               [MEASURE, ("数值 Value", TEXT)], summary, _chart("bar", [1], rows=[1, 3, 5, 6]),
               note="本期内开立的应收账款（按链上开立日），含其拆分部分。Receivables drawn in the period (by the "
                    "ledger's date), with their parts."),
        _table("receivables_status", "应收账款状态 Receivables by status", "应收状态 receivables_status",
               [("状态 Status", TEXT), ("笔数 Count", INT), ("面值 Face value", MONEY)],
               [[s["label"], s["count"], s["amount"]] for s in r["by_status"]], _chart("doughnut", [2])),
    ]


def merchant_tables(d):
    return [series_table(d), comparison_table(d), rate_table(d), buyers_table(d), status_table(d), ratios_table(d),
            *receivables_tables(d)]


REVIEW_ROWS = (("registered", None, "上链发票 Invoices on chain (not notes)"),
               ("flagged", "flagged_rate", "开票时被标记 Flagged at issuance"),
               ("cleared", "cleared_rate", "审核通过 Cleared"), ("rejected", "rejected_rate", "审核驳回 Rejected"),
               ("waiting", "waiting_rate", "待审核 Waiting for review"))


def authority_tables(d):
    rv, b, a = d["review"], d["backlog"], d["alerts"]
    o = d["other_merchants"]
    merchants = [[m["name"], m["tax_id"] or "", m["count"], m["notes"], m["gross"], m["share"]]
                 for m in d["by_merchant"]]
    if o["merchants"]:
        merchants.append([f"其他 {o['merchants']} 家商户 {o['merchants']} other merchants", "", o["count"], o["notes"],
                          o["gross"], None if not d["totals"]["gross"] else round(o["gross"] / d["totals"]["gross"],
                                                                                   4)])
    return [
        series_table(d),
        comparison_table(d),
        _table("by_region", "按地区（发票号码地区码）By region (the number's region digits)", "地区 by_region",
               [("地区码 Code", TEXT), ("地区 Region", TEXT), *FIGURES, ("占比 Share", PERCENT)],
               [[r["region"], r["name"], *_figures(r), r["share"]] for r in d["by_region"]],
               _chart("bar", [6], label=1)),
        _table("by_merchant", f"按商户（前{len(d['by_merchant'])}）By merchant (top)", "商户 by_merchant",
               [("商户 Merchant", TEXT), ("税号 Tax ID", TEXT), ("发票数 Invoices", INT),
                ("红字发票数 Red-letter notes", INT), ("价税合计 Gross", MONEY), ("占比 Share", PERCENT)],
               merchants, _chart("bar", [4], horizontal=True, rows=list(range(len(d["by_merchant"]))))),
        status_table(d),
        _table("review", "审核：标记、通过、驳回 Review: flagged, cleared, rejected", "审核 review",
               [MEASURE, ("张数 Count", INT), ("比率 Rate", PERCENT)],
               [[label, rv[k], rv[rate] if rate else None] for k, rate, label in REVIEW_ROWS],
               _chart("doughnut", [1], rows=[2, 3, 4]),
               note="标记率 = 被标记 / 上链发票；通过率、驳回率、待审率 = 各自 / 被标记（按当前状态）。Flagged rate = "
                    "flagged / on chain; cleared, rejected, waiting = each / flagged (by their status now)."),
        _table("backlog", "待审核积压及等待时长 Review backlog by age", "积压 backlog",
               [("等待时长 Waiting", TEXT), ("张数 Count", INT), ("价税合计 Gross", MONEY)],
               [[x["age"], x["count"], x["gross"]] for x in b["ages"]], _chart("bar", [1]),
               note=f"共 {b['count']} 张待审核，最早记录于 {b['oldest'] or '—'}。{b['count']} flagged invoices waiting "
                    f"for review; the oldest recorded {b['oldest'] or '—'}. （不限期间 Not limited to the period.）"),
        ratios_table(d),
        _table("alerts_by_kind", "未解决预警（按严重程度、类型）Open alerts by severity and kind",
               "预警统计 alerts_by_kind",
               [("严重程度 Severity", TEXT), ("类型 Kind", TEXT), ("条数 Count", INT)],
               [[x["severity_label"], x["kind"], x["count"]] for x in a["by_kind"]], _chart("bar", [2], label=1)),
        _table("alerts", "主要预警（最严重、最新在前）Top alerts (most severe, most recent first)", "预警 alerts",
               [("编号 ID", INT), ("严重程度 Severity", TEXT), ("类型 Kind", TEXT), ("状态 Status", TEXT),
                ("商户税号 Merchants", TEXT), ("发票数 Invoices", INT), ("时间 Raised", TEXT),
                ("说明 Explanation", TEXT)],
               [[x["id"], x["severity_label"], x["kind"], x["status_label"], "、".join(map(str, x["merchants"])),
                 x["invoices"], x["created_at"], x["explanation"]] for x in a["top"]]),
    ]


def financier_tables(d):
    t = d["totals"]
    totals = [
        _row(["融资中（笔）Financed, not settled", t["financed"]], [TEXT, INT]),
        _row(["应收回合计 Owed to you", t["owed"]], [TEXT, MONEY]),
        _row(["逾期（笔）Past due (receivables)", t["overdue"]], [TEXT, INT]),
        _row(["逾期应收回 Past due, owed", t["overdue_owed"]], [TEXT, MONEY]),
        _row(["累计放款 Advanced in all", t["advanced"]], [TEXT, MONEY]),
        _row(["累计手续费 Fees in all", t["fees"]], [TEXT, MONEY]),
        _row(["已偿还 Repaid to you", t["repaid"]], [TEXT, MONEY]),
        _row(["待处理融资申请 Offers waiting", t["offers"]], [TEXT, INT]),
    ]
    return [
        _table("totals", f"融资概况（截至 {d['as_of']}）Book as of {d['as_of']}", "概况 totals",
               [MEASURE, ("数值 Value", TEXT)], totals),
        _table("by_debtor", "按债务人风险敞口 Exposure by debtor", "债务人 by_debtor",
               [("债务人 Debtor", TEXT), ("地址 Address", TEXT), ("笔数 Receivables", INT), ("应收回 Owed", MONEY),
                ("占比 Share", PERCENT)],
               [[x["name"], x["debtor"], x["count"], x["owed"], x["share"]] for x in d["by_debtor"]],
               _chart("bar", [3], horizontal=True)),
        _table("maturities", "到期分布（距到期日天数）Maturities (days to the due date)", "到期 maturities",
               [("距到期 Due in", TEXT), ("笔数 Receivables", INT), ("应收回 Owed", MONEY), ("占比 Share", PERCENT)],
               [[x["bucket"], x["count"], x["owed"], x["share"]] for x in d["maturities"]], _chart("bar", [2])),
        _table("overdue", "逾期 Past due", "逾期 overdue",
               [("应收账款 Receivable", TEXT), ("发票号码 Invoice", TEXT), ("债务人 Debtor", TEXT),
                ("状态 Status", TEXT), ("到期日 Due date", DATE), ("逾期天数 Days past due", INT),
                ("应收回 Owed", MONEY)],
               [[x["id"], x["invoice_number"] or "", x["debtor_name"], x["status_label"], x["due_date"],
                 x["days_overdue"], x["owed"]] for x in d["overdue"]]),
    ]


TABLES = {"merchant": merchant_tables, "authority": authority_tables, "financier": financier_tables}


def tables_of(dashboard, only=None):
    tables = TABLES[dashboard["role"]](dashboard)
    return [t for t in tables if t["name"] == only] if only else tables


# ---------------------------------------------------------------- cells
def text_cell(value, kind):
    """A value as the page and the CSV show it: yuan with 2 decimals, percentages, dates."""
    if value is None:
        return ""
    if kind == MONEY:
        return inbox_export.csv_cell(int(value), inbox_export.MONEY)
    if kind == RATE:
        return f"{value}%"
    if kind == PERCENT:
        return f"{Decimal(str(value)) * 100:.2f}%"
    if kind == CHANGE:
        return f"{Decimal(str(value)) * 100:+.1f}%"
    return inbox_export.csv_cell(value, inbox_export.TEXT if kind == TEXT else inbox_export.INT)


def xlsx_value(value, kind):
    if value is None:
        return None
    if kind == MONEY:
        return Decimal(int(value)) / 100
    if kind == RATE:
        return Decimal(value) / 100
    if kind in (PERCENT, CHANGE):
        return Decimal(str(value))
    if kind == DATE:
        return date.fromisoformat(value)
    if kind == INT:
        return int(value)
    return str(value) or None


# ---------------------------------------------------------------- files
def to_csv(tables) -> bytes:
    """One table: its header and rows. Several: each as its title row, header, rows and an
    empty row. UTF-8 with a BOM, CRLF line ends."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    for t in tables:
        if len(tables) > 1:
            w.writerow([t["title"]])
        w.writerow([h for h, _ in t["columns"]])
        for row in t["rows"]:
            w.writerow([text_cell(v, k) for v, k in zip(row_values(row), row_kinds(t, row))])
        if len(tables) > 1:
            w.writerow([])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(tables, title="E-Invoice Chain 链上电子发票") -> bytes:
    """A sheet per table: a bold header row (frozen), then the rows as number cells."""
    wb = Workbook(write_only=True)
    wb.properties.creator = title
    bold = Font(bold=True)
    for t in tables:
        ws = wb.create_sheet(t["sheet"][:31])
        for i, (header, kind) in enumerate(t["columns"], start=1):
            ws.column_dimensions[get_column_letter(i)].width = 40 if kind == TEXT and i == 1 else 18
        ws.freeze_panes = "A2"
        header = []
        for title_, _ in t["columns"]:
            cell = WriteOnlyCell(ws, value=title_)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for row in t["rows"]:
            cells = []
            for value, kind in zip(row_values(row), row_kinds(t, row)):
                cell = WriteOnlyCell(ws, value=xlsx_value(value, kind))
                if kind == TEXT and cell.value is not None:
                    cell.data_type = "s"  # text stays text, never a formula
                cell.number_format = XLSX_FORMATS[kind]
                cells.append(cell)
            ws.append(cells)
    if not tables:
        wb.create_sheet("empty")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def filename(dashboard, table=None, ext="csv"):
    if dashboard["role"] == "financier":
        scope = f"financier-{dashboard['as_of']}"
    else:
        who = dashboard.get("merchant", {}).get("tax_id") if dashboard["role"] == "merchant" else None
        scope = "-".join(x for x in (dashboard["role"], who, dashboard["period"], dashboard["from"],
                                     dashboard["to"]) if x)
    return f"dashboard-{scope}{'-' + table if table else ''}.{ext}"


def render(dashboard, fmt, table=None):
    """(bytes, content type, file name) of the dashboard's tables (``table``: that one) in
    ``fmt`` (csv | xlsx)."""
    tables = tables_of(dashboard, table)
    if fmt == "xlsx":
        return to_xlsx(tables), XLSX_TYPE, filename(dashboard, table, "xlsx")
    return to_csv(tables), CSV_TYPE, filename(dashboard, table, "csv")
