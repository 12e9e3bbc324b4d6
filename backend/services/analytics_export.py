"""The dashboards' tables: every chart's numbers as a table (the page shows it beside the
chart, and the chart is drawn from it), and the same tables as CSV (UTF-8 with a BOM) and
XLSX, in the manner of the inbox export (services.inbox_export): headers in the reader's
language, money in yuan with 2 decimals, ratios as percentages.

A table is {"name", "title", "sheet", "columns": [(header, kind)], "rows": [[value]],
"chart": {...} | None, "note"?}; a row's values are raw (fen, counts, fractions), each
written by its column's kind, or by the row's own ``kinds`` when a table lists measures of
different kinds (a row is then {"values": [...], "kinds": [...]})."""
import csv
import io
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
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
MEASURE = (_l("Measure"), TEXT)


def _text(value):
    """A translated text as str (lazy strings are not str: CSV, XLSX and JSON want str)."""
    return str(value) if isinstance(value, LazyString) else value


def _row(values, kinds=None):
    values = [_text(v) for v in values]
    return {"values": values, "kinds": kinds} if kinds else values


def row_values(row):
    return row["values"] if isinstance(row, dict) else row


def row_kinds(table, row):
    if isinstance(row, dict) and row.get("kinds"):
        return row["kinds"]
    return [kind for _, kind in table["columns"]]


def _table(name, title, sheet, columns, rows, chart=None, note=None):
    return {"name": name, "title": str(title), "sheet": str(sheet), "columns": [(str(h), k) for h, k in columns],
            "rows": [_row(r["values"], r["kinds"]) if isinstance(r, dict) else _row(r) for r in rows],
            "chart": chart, "note": None if note is None else str(note)}


def _chart(kind, series, label=0, rows=None, horizontal=False, stacked=False):
    """What the page's script draws from the table: ``kind`` bar|line|doughnut, the label
    column, the series columns (money in yuan on the left axis; counts on the right one),
    ``rows``: which rows (all when None)."""
    return {"type": kind, "label": label, "series": series, "rows": rows, "horizontal": horizontal,
            "stacked": stacked}


FIGURES = [(_l("Invoice count"), INT), (_l("Red-letter note count"), INT), (_l("Net amount"), MONEY),
           (_l("Tax amount"), MONEY), (_l("Gross amount"), MONEY)]


def _figures(t):
    return [t["count"], t["notes"], t["net"], t["tax"], t["gross"]]


def series_table(d):
    return _table(
        "series", _("Sales trend (%(buckets)s)", buckets=PERIOD_LABELS[d["period"]]), _("Trend"),
        [(_("Period"), TEXT), (_("Period start"), DATE), (_("Period end"), DATE), *FIGURES],
        [[s["bucket"], s["from"], s["to"], *_figures(s)] for s in d["series"]],
        _chart("bar", [5, 6], stacked=True),
        note=_("Red-letter notes reduce the amounts; voided, rejected and unregistered invoices are not counted."))


COMPARED = (("count", _l("Invoice count"), INT), ("notes", _l("Red-letter note count"), INT),
            ("net", _l("Net amount"), MONEY),
            ("tax", _l("Tax amount"), MONEY), ("gross", _l("Gross amount"), MONEY),
            ("average", _l("Average gross per invoice"), MONEY))


def comparison_table(d):
    c = d["comparison"]
    rows = [_row([label, c["current"][k], c["previous"][k],
                  None if c["change"][k] is None else c["change"][k] / 100], [TEXT, kind, kind, CHANGE])
            for k, label, kind in COMPARED]
    prev = d["previous"]
    return _table("comparison", _("This period vs the previous one"), _("Comparison"),
                  [MEASURE, (_("This period (%(start)s – %(end)s)", start=d["from"], end=d["to"]), TEXT),
                   (_("Previous (%(start)s – %(end)s)", start=prev["from"], end=prev["to"]), TEXT),
                   (_("Change"), CHANGE)],
                  rows, _chart("bar", [1, 2], rows=[2, 3, 4]),
                  note=_("The previous period: as many days just before this one."))


def status_table(d):
    return _table("status_mix", _("Status mix"), _("Statuses"),
                  [(_("Status"), TEXT), (_("Count"), INT), (_("Face gross"), MONEY)],
                  [[s["label"], s["count"], s["gross"]] for s in d["status_mix"]], _chart("doughnut", [1]))


def ratios_table(d):
    r = d["ratios"]
    rows = [
        _row([_("Invoices on chain (not notes)"), r["invoices"]], [TEXT, INT]),
        _row([_("Voided"), r["voided"]], [TEXT, INT]),
        _row([_("Void ratio"), r["void_ratio"]], [TEXT, PERCENT]),
        _row([_("Fully red-lettered invoices"), r["red_lettered"]], [TEXT, INT]),
        _row([_("Red-letter notes"), r["red_letter_notes"]], [TEXT, INT]),
        _row([_("Red-letter ratio (notes per invoice)"), r["red_letter_ratio"]], [TEXT, PERCENT]),
        _row([_("Notes' gross"), r["red_letter_gross"]], [TEXT, MONEY]),
        _row([_("Red-letter ratio (by amount)"), r["red_letter_amount_ratio"]], [TEXT, PERCENT]),
    ]
    return _table("ratios", _("Voids and red-letter notes"), _("Voids and red-letter"), [MEASURE, (_("Value"), TEXT)],
                  rows, _chart("bar", [1], rows=[2, 5, 7]))


def rate_table(d):
    return _table("by_rate", _("By tax rate"), _("Tax rates"),
                  [(_("Tax rate"), RATE), (_("Invoices with lines at it"), INT), (_("Net amount"), MONEY),
                   (_("Tax amount"), MONEY), (_("Gross amount"), MONEY), (_("Share"), PERCENT)],
                  [[r["rate"], r["count"], r["net"], r["tax"], r["gross"], r["share"]] for r in d["by_rate"]],
                  _chart("doughnut", [4]),
                  note=_("Summed by the line items' rates (an invoice may have several)."))


def buyers_table(d):
    return _table("top_buyers", _("Top %(count)s buyers", count=len(d["top_buyers"])), _("Buyers"),
                  [(_("Buyer"), TEXT), (_("Tax ID"), TEXT), (_("Invoice count"), INT), (_("Gross amount"), MONEY),
                   (_("Share of these"), PERCENT)],
                  [[b["name"], b["tax_id"], b["count"], b["gross"], b["share"]] for b in d["top_buyers"]],
                  _chart("bar", [3], horizontal=True))


def receivables_tables(d):
    r = d["receivables"]
    summary = [
        _row([_("Receivables drawn"), r["drawn"]], [TEXT, INT]),
        _row([_("Face value drawn"), r["drawn_amount"]], [TEXT, MONEY]),
        _row([_("Financed (receivables)"), r["financed"]], [TEXT, INT]),
        _row([_("Advanced by financiers"), r["financed_advance"]], [TEXT, MONEY]),
        _row([_("Financing fees"), r["financed_fee"]], [TEXT, MONEY]),
        _row([_("Paid by debtors"), r["paid"]], [TEXT, MONEY]),
        _row([_("Outstanding"), r["outstanding"]], [TEXT, MONEY]),
    ]
    return [
        _table("receivables", _("Receivables drawn and financed"), _("Receivables"),
               [MEASURE, (_("Value"), TEXT)], summary, _chart("bar", [1], rows=[1, 3, 5, 6]),
               note=_("Receivables drawn in the period (by the ledger's date), with their parts.")),
        _table("receivables_status", _("Receivables by status"), _("Receivable statuses"),
               [(_("Status"), TEXT), (_("Number of receivables"), INT), (_("Face value"), MONEY)],
               [[s["label"], s["count"], s["amount"]] for s in r["by_status"]], _chart("doughnut", [2])),
    ]


def merchant_tables(d):
    return [series_table(d), comparison_table(d), rate_table(d), buyers_table(d), status_table(d), ratios_table(d),
            *receivables_tables(d)]


REVIEW_ROWS = (("registered", None, _l("Invoices on chain (not notes)")),
               ("flagged", "flagged_rate", _l("Flagged at issuance")),
               ("cleared", "cleared_rate", _l("Cleared by audit")), ("rejected", "rejected_rate", _l("Rejected by audit")),
               ("waiting", "waiting_rate", _l("Waiting for review")))


def authority_tables(d):
    rv, b, a = d["review"], d["backlog"], d["alerts"]
    o = d["other_merchants"]
    merchants = [[m["name"], m["tax_id"] or "", m["count"], m["notes"], m["gross"], m["share"]]
                 for m in d["by_merchant"]]
    if o["merchants"]:
        merchants.append([_("%(count)s other merchants", count=o["merchants"]), "", o["count"], o["notes"],
                          o["gross"], None if not d["totals"]["gross"] else round(o["gross"] / d["totals"]["gross"],
                                                                                   4)])
    return [
        series_table(d),
        comparison_table(d),
        _table("by_region", _("By region (the number's region digits)"), _("Regions"),
               [(_("Region code"), TEXT), (_("Region"), TEXT), *FIGURES, (_("Share"), PERCENT)],
               [[r["region"], r["name"], *_figures(r), r["share"]] for r in d["by_region"]],
               _chart("bar", [6], label=1)),
        _table("by_merchant", _("Top %(count)s merchants", count=len(d["by_merchant"])), _("By merchant"),
               [(_("Merchant"), TEXT), (_("Tax ID"), TEXT), (_("Invoice count"), INT),
                (_("Red-letter note count"), INT), (_("Gross amount"), MONEY), (_("Share"), PERCENT)],
               merchants, _chart("bar", [4], horizontal=True, rows=list(range(len(d["by_merchant"]))))),
        status_table(d),
        _table("review", _("Review: flagged, cleared, rejected"), _("Review"),
               [MEASURE, (_("Count"), INT), (_("Rate"), PERCENT)],
               [[label, rv[k], rv[rate] if rate else None] for k, rate, label in REVIEW_ROWS],
               _chart("doughnut", [1], rows=[2, 3, 4]),
               note=_("Flagged rate = flagged / on chain; cleared, rejected, waiting = each / flagged (by their "
                      "status now).")),
        _table("backlog", _("Review backlog by age"), _("Backlog"),
               [(_("Waiting"), TEXT), (_("Count"), INT), (_("Gross amount"), MONEY)],
               [[x["age"], x["count"], x["gross"]] for x in b["ages"]], _chart("bar", [1]),
               note=_("%(count)s flagged invoices waiting for review; the oldest recorded %(oldest)s (not limited "
                      "to the period).", count=b["count"], oldest=b["oldest"] or "—")),
        ratios_table(d),
        _table("alerts_by_kind", _("Open alerts by severity and kind"),
               _("Alert counts"),
               [(_("Severity"), TEXT), (_("Kind"), TEXT), (_("Number of alerts"), INT)],
               [[x["severity_label"], _kind(x["kind"]), x["count"]] for x in a["by_kind"]], _chart("bar", [2], label=1)),
        _table("alerts", _("Top alerts (most severe, most recent first)"), _("Alerts"),
               [(_("ID"), INT), (_("Severity"), TEXT), (_("Kind"), TEXT), (_("Status"), TEXT),
                (_("Merchants' tax IDs"), TEXT), (_("Invoice count"), INT), (_("Raised"), TEXT),
                (_("Explanation"), TEXT)],
               [[x["id"], x["severity_label"], _kind(x["kind"]), x["status_label"], "、".join(map(str, x["merchants"])),
                 x["invoices"], x["created_at"], x["explanation"]] for x in a["top"]]),
    ]


def _kind(kind):
    """An alert's kind in words (the detector's labels)."""
    from .detector import KIND_LABELS

    return str(KIND_LABELS.get(kind, kind))


def financier_tables(d):
    t = d["totals"]
    totals = [
        _row([_("Financed, not settled"), t["financed"]], [TEXT, INT]),
        _row([_("Owed to you"), t["owed"]], [TEXT, MONEY]),
        _row([_("Past due (receivables)"), t["overdue"]], [TEXT, INT]),
        _row([_("Past due, owed"), t["overdue_owed"]], [TEXT, MONEY]),
        _row([_("Advanced in all"), t["advanced"]], [TEXT, MONEY]),
        _row([_("Fees in all"), t["fees"]], [TEXT, MONEY]),
        _row([_("Repaid to you"), t["repaid"]], [TEXT, MONEY]),
        _row([_("Offers waiting"), t["offers"]], [TEXT, INT]),
    ]
    return [
        _table("totals", _("Book as of %(date)s", date=d["as_of"]), _("Book"),
               [MEASURE, (_("Value"), TEXT)], totals),
        _table("by_debtor", _("Exposure by debtor"), _("Debtors"),
               [(_("Debtor"), TEXT), (_("Address"), TEXT), (_("Number of receivables"), INT), (_("Owed"), MONEY),
                (_("Share"), PERCENT)],
               [[x["name"], x["debtor"], x["count"], x["owed"], x["share"]] for x in d["by_debtor"]],
               _chart("bar", [3], horizontal=True)),
        _table("maturities", _("Maturities (days to the due date)"), _("Maturities"),
               [(_("Due in"), TEXT), (_("Number of receivables"), INT), (_("Owed"), MONEY), (_("Share"), PERCENT)],
               [[x["bucket"], x["count"], x["owed"], x["share"]] for x in d["maturities"]], _chart("bar", [2])),
        _table("overdue", _("Past due"), _("Overdue"),
               [(_("Receivable"), TEXT), (_("Invoice number"), TEXT), (_("Debtor"), TEXT),
                (_("Status"), TEXT), (_("Due date"), DATE), (_("Days past due"), INT),
                (_("Owed"), MONEY)],
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
        for title_, _kind in t["columns"]:
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
