"""The files of an inbox export, all formats in one place: one row per line item, column
headers in the requester's language, amounts in yuan with 2 decimals (a red-letter note's quantities and
amounts negative); CSV in UTF-8 with a BOM, XLSX through openpyxl with number cells.

Rows are built from the invoice rows and their documents (amounts still in fen); each format
turns a cell into what it writes by the column's kind."""
import csv
import io
import json
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

TEXT, INT, DATE, QUANTITY, MONEY, RATE = "text", "int", "date", "quantity", "money", "rate"

# (header, lazy: in the requester's language; kind of the cell; column width in XLSX)
COLUMNS = (
    (_l("Invoice number"), TEXT, 22),
    (_l("Line"), INT, 8),
    (_l("Issue date"), DATE, 12),
    (_l("Invoice type"), TEXT, 18),
    (_l("Seller name"), TEXT, 28),
    (_l("Seller tax ID"), TEXT, 22),
    (_l("Buyer name"), TEXT, 28),
    (_l("Buyer tax ID"), TEXT, 22),
    (_l("Item name"), TEXT, 28),
    (_l("Specification"), TEXT, 14),
    (_l("Unit"), TEXT, 8),
    (_l("Quantity"), QUANTITY, 10),
    (_l("Unit price"), MONEY, 14),
    (_l("Amount"), MONEY, 14),
    (_l("Tax rate"), RATE, 8),
    (_l("Tax"), MONEY, 14),
    (_l("Gross"), MONEY, 14),
    (_l("Invoice gross"), MONEY, 16),
    (_l("Status"), TEXT, 20),
    (_l("Check code"), TEXT, 22),
    (_l("Red-letter note of"), TEXT, 22),
)
HEADERS = tuple(c[0] for c in COLUMNS)  # lazy: str() each where it is written
INVOICE_TYPES = {0: _l("Ordinary invoice"), 1: _l("Special VAT invoice")}
NO_LINES = _l("(lines not held by the platform)")

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_TITLE = _l("Inbox")
XLSX_FORMATS = {TEXT: "@", INT: "0", DATE: "yyyy-mm-dd", QUANTITY: "General", MONEY: "#,##0.00", RATE: "0%"}
# a text cell that a spreadsheet would run as a formula (CSV only: XLSX cells are typed)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _quantity(value):
    """A document's quantity (an integer, or a decimal string) as a Decimal; None if absent."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def invoice_rows(inv, status_label):
    """The rows of one invoice (an ``Invoice`` row): one per line item of its document, or
    one row of its totals when the platform does not hold the document. Amounts in fen; a
    red-letter note's quantities and amounts are negative (its unit prices are not)."""
    sign = -1 if inv.is_red_letter else 1
    doc = json.loads(inv.document) if inv.document else {}
    head = [inv.number]
    invoice = [inv.issue_date, str(INVOICE_TYPES.get(inv.invoice_type, inv.invoice_type)),
               inv.seller_name, inv.seller_tax_id, inv.buyer_name, inv.buyer_tax_id]
    tail = [sign * int(inv.gross), status_label or "", inv.check_code or "", inv.original_number or ""]
    rows = []
    for i, item in enumerate(doc.get("items") or [], start=1):
        amount, rate = int(item["amount"]), int(item["tax_rate"])
        tax = int(item["tax"]) if item.get("tax") is not None else (amount * rate + 50) // 100
        quantity = _quantity(item.get("quantity"))
        rows.append(head + [i] + invoice + [
            item.get("name") or "", item.get("spec") or "", item.get("unit") or "",
            sign * quantity if quantity is not None else None, int(item["unit_price"]), sign * amount, rate,
            sign * tax, sign * (amount + tax)] + tail)
    if not rows:
        rows.append(head + [1] + invoice + [str(NO_LINES), "", "", None, None, sign * int(inv.net), inv.rate,
                                            sign * int(inv.tax), sign * int(inv.gross)] + tail)
    return rows


# ---------------------------------------------------------------- CSV
def _yuan_text(fen):
    """Fen → '1234.56' / '-1234.56': no currency sign, no thousands separator (for import)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def csv_cell(value, kind):
    if value is None:
        return ""
    if kind == MONEY:
        return _yuan_text(value)
    if kind == RATE:
        return f"{value}%"
    if kind == QUANTITY:
        return format(value, "f")
    text = str(value)
    if kind == TEXT and text.startswith(FORMULA_START):
        return "'" + text
    return text


def to_csv(rows, columns=COLUMNS, title=None) -> bytes:
    """UTF-8 with a byte order mark (Excel then reads the Chinese right), CRLF line ends.
    ``columns``: (header, kind, width) of each cell (the inbox's by default)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([str(c[0]) for c in columns])
    for row in rows:
        w.writerow([csv_cell(v, kind) for v, (_, kind, _) in zip(row, columns)])
    return buf.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------- XLSX
def xlsx_value(value, kind):
    """What the XLSX cell holds: yuan and quantities as exact decimals (number cells), a rate
    as a fraction (13 → 0.13, shown 13%), the issue date as a date, text as text."""
    if value is None:
        return None
    if kind == MONEY:
        return Decimal(value) / 100
    if kind == RATE:
        return Decimal(value) / 100
    if kind == DATE:
        return date.fromisoformat(value)
    if kind in (INT, QUANTITY):
        return value
    return str(value) or None


def to_xlsx(rows, columns=COLUMNS, title=SHEET_TITLE) -> bytes:
    """One sheet: a bold header row (frozen, with filters), then the rows; each cell with its
    column's number format. Written in openpyxl's write-only mode (memory stays flat)."""
    wb = Workbook(write_only=True)
    wb.properties.creator = str(_l("E-Invoice Chain"))
    ws = wb.create_sheet(str(title))
    for i, (_, _, width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    bold = Font(bold=True)
    header = []
    for heading, _, _ in columns:
        cell = WriteOnlyCell(ws, value=str(heading))
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in rows:
        cells = []
        for value, (_, kind, _) in zip(row, columns):
            cell = WriteOnlyCell(ws, value=xlsx_value(value, kind))
            if kind == TEXT and cell.value is not None:
                cell.data_type = "s"  # a text starting with "=" stays text, never a formula
            cell.number_format = XLSX_FORMATS[kind]
            cells.append(cell)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# format → (writer, content type, file extension)
FORMATS = {"csv": (to_csv, CSV_TYPE, "csv"), "xlsx": (to_xlsx, XLSX_TYPE, "xlsx")}


def render(fmt, rows, columns=COLUMNS, title=SHEET_TITLE):
    """(file bytes, content type, extension) of ``rows`` in ``fmt`` (a key of FORMATS), each
    row's cells as ``columns`` say (the inbox's by default; the reports have their own)."""
    writer, content_type, ext = FORMATS[fmt]
    return writer(rows, columns, title), content_type, ext
