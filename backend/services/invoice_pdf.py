"""The invoice as a PDF laid out like a Chinese e-invoice (电子发票), and its QR code: the
public verification link with the four verification elements filled in.

reportlab draws it with its built-in CID font STSong-Light (Adobe's Song face, which PDF
readers supply: no font file is shipped or embedded); segno makes the QR code, embedded as
an image. Why these two: docs/delivery.md. The PDF is made with reportlab's ``invariant``
mode (its dates are the issue date): the same invoice in the same state gives the same bytes.
"""
import io
import json
from urllib.parse import parse_qs, quote, urlencode, urlsplit
from xml.sax.saxutils import escape

import segno
from flask_babel import force_locale
from flask_babel import gettext as _
from pypdf import PdfWriter
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..core import canonical
from ..core.capitals import capitals
from .errors import Refused, ValidationError
from .invoices import status_text
from .json_input import load_json

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

VERIFY_PATH = "verify/"  # the public verification page (backend.web.verification), under the site's root
TYPE_TITLES = {0: ("电子发票（普通发票）", "Electronic invoice (ordinary)"),
               1: ("电子发票（增值税专用发票）", "Electronic invoice (special VAT)")}
REASONS = {1: "销货退回 Sales return", 2: "开票有误 Billing error", 3: "服务中止 Service stopped",
           4: "销售折让 Sales discount"}
# statuses in which the invoice is no longer valid: the PDF carries a stamp saying so
STAMPS = {"Voided": "已作废 VOIDED", "Rejected": "审核驳回 REJECTED", "RedLettered": "已全额红冲 REVERSED"}

INK = colors.HexColor("#9c4a2f")  # the brown-red of the printed frame and labels
RED = colors.HexColor("#c62828")
PAGE = landscape(A4)
MARGIN = 12 * mm
WIDTH = PAGE[0] - 2 * MARGIN


def _style(name, size=9, leading=None, color=colors.black, align=0):
    return ParagraphStyle(name, fontName=FONT, fontSize=size, leading=leading or size * 1.35, textColor=color,
                          alignment=align, wordWrap="CJK")


TITLE = _style("title", 20, 26, INK, TA_CENTER)
SUBTITLE = _style("subtitle", 9, 12, INK, TA_CENTER)
MARK = _style("mark", 12, 16, RED, TA_CENTER)
TEXT = _style("text")
SMALL = _style("small", 7, 9.5)
LABEL = _style("label", 9, 12, INK)
LABEL_CENTER = _style("label-center", 9, 11, INK, TA_CENTER)
NUM = _style("num", 9, 12, align=TA_RIGHT)
CENTER = _style("center", 9, 12, align=TA_CENTER)


def _p(text, style=TEXT):
    """A paragraph of plain text (escaped: names and remarks are the merchant's)."""
    return Paragraph(escape(str(text)), style)


def _label(zh, en, style=LABEL):
    return Paragraph(f"{escape(zh)} <font size=6.5>{escape(en)}</font>", style)


# ---------------------------------------------------------------- verification link and QR code
def plain_yuan(fen):
    """Fen as the yuan a verifier types: 22600 → '226.00'."""
    return f"{fen // 100}.{fen % 100:02d}"


def verification_url(inv, base_url):
    """The public verification page with the invoice's four elements filled in: number,
    issue date, gross (yuan) and the check code's last six digits. Opening it verifies."""
    if not inv.check_code:
        raise Refused("not_issued", _("The invoice is not registered on chain yet: it has no check code."), 409)
    query = urlencode({"number": inv.number, "issue_date": inv.issue_date, "gross": plain_yuan(int(inv.gross)),
                       "check_code": inv.check_code[-6:]})
    return f"{base_url.rstrip('/')}/{VERIFY_PATH}?{query}"


def qr_code(url):
    return segno.make(url, error="m", micro=False)


def qr_png(url, scale=8):
    """The QR code as PNG bytes (black on white, the standard 4-module quiet zone)."""
    buf = io.BytesIO()
    qr_code(url).save(buf, kind="png", scale=scale, border=4, dark="black", light="white")
    return buf.getvalue()


def qr_data_uri(url, scale=4):
    """The QR code as an SVG data: URI, for an <img> (the pages' CSP allows data: images)."""
    return qr_code(url).svg_data_uri(scale=scale, border=4, dark="black", light="white")


# ---------------------------------------------------------------- the PDF
def _money(fen, negative=False):
    """'1,234.56' (the columns), '-1,234.56' on a red-letter note."""
    text = canonical.yuan(fen).replace("¥", "")
    return "-" + text if negative and fen else text


def _date_zh(iso):
    y, m, d = iso.split("-")
    return f"{y}年{m}月{d}日"


def _check_code(code):
    return " ".join(code[i:i + 5] for i in range(0, len(code), 5)) if code else "—"


def _header(inv, doc, qr_png_bytes):
    title, title_en = TYPE_TITLES.get(inv.invoice_type, TYPE_TITLES[0])
    middle = [Paragraph(escape(title), TITLE), Paragraph(escape(title_en), SUBTITLE)]
    if inv.is_red_letter:
        middle += [Spacer(1, 2 * mm), Paragraph(
            f"红字发票 Red-letter note — 冲销发票 reverses invoice {escape(inv.original_number or '')}", MARK)]
    qr = Image(io.BytesIO(qr_png_bytes), width=30 * mm, height=30 * mm)
    left = [qr, Paragraph("扫码查验 <font size=6>Scan to verify</font>", _style("qr", 7, 9, INK, TA_CENTER))]
    right = [Paragraph(f"发票号码 <font size=6.5>No.</font>：{inv.number}", TEXT),
             Paragraph(f"开票日期 <font size=6.5>Date</font>：{_date_zh(inv.issue_date)}", TEXT),
             Paragraph(f"校验码 <font size=6.5>Check code</font>：{_check_code(inv.check_code)}", TEXT)]
    table = Table([[left, middle, right]], colWidths=[36 * mm, WIDTH - 36 * mm - 86 * mm, 86 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (0, 0), (0, 0), "CENTER")]))
    return table


def _party(zh, en, party, address=None):
    lines = [f"名称 <font size=6.5>Name</font>：{escape(party.get('name', ''))}",
             f"统一社会信用代码/纳税人识别号 <font size=6.5>Tax ID</font>：{escape(party.get('tax_id', ''))}"]
    if address:
        lines.append(f"地址 <font size=6.5>Address</font>：{escape(address)}")
    side = Paragraph("<br/>".join(zh) + f"<br/><font size=5.5>{en}</font>", LABEL_CENTER)
    return [side, [Paragraph(line, TEXT) for line in lines]]


def _parties(doc):
    seller = doc.get("seller") or {}
    half = WIDTH / 2
    row = (_party("购买方信息", "Buyer", doc.get("buyer") or {})
           + _party("销售方信息", "Seller", seller, seller.get("address")))
    table = Table([row], colWidths=[12 * mm, half - 12 * mm, 12 * mm, half - 12 * mm])
    table.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, INK), ("LINEAFTER", (0, 0), (2, 0), 0.6, INK),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


ITEM_COLUMNS = [("项目名称", "Item"), ("规格型号", "Spec"), ("单位", "Unit"), ("数量", "Qty"),
                ("单价", "Unit price"), ("金额", "Amount"), ("税率/征收率", "Rate"), ("税额", "Tax")]
ITEM_WIDTHS = [x * mm for x in (30, 16, 22, 30, 32, 24, 29)]
ITEM_WIDTHS.insert(0, WIDTH - sum(ITEM_WIDTHS))  # the item's name takes the rest of the width


def _items(inv, doc):
    neg = bool(inv.is_red_letter)
    rows = [[_label(zh, en, LABEL_CENTER) for zh, en in ITEM_COLUMNS]]
    for it in doc.get("items", []):
        qty = str(it.get("quantity", ""))
        rows.append([_p(it.get("name", "")), _p(it.get("spec") or ""), _p(it.get("unit") or ""),
                     Paragraph(escape(("-" if neg else "") + qty), NUM), Paragraph(_money(it["unit_price"]), NUM),
                     Paragraph(_money(it["amount"], neg), NUM), _p(f"{it['tax_rate']}%", CENTER),
                     Paragraph(_money(it["tax"], neg), NUM)])
    body = len(rows)
    rows.append([_label("合计", "Total"), "", "", "", "", Paragraph("¥" + _money(inv.net, neg), NUM), "",
                 Paragraph("¥" + _money(inv.tax, neg), NUM)])
    for rate, count, net, tax in canonical.rate_groups(doc.get("items", [])):
        rows.append([_label(f"其中 税率 {rate}%", f"at {rate}%, {count} line(s)"), "", "", "", "",
                     Paragraph(_money(net, neg), NUM), _p(f"{rate}%", CENTER), Paragraph(_money(tax, neg), NUM)])
    words = ("（负数）" if neg else "") + capitals(int(inv.gross))
    rows.append([_label("价税合计（大写）", "Total in words"),
                 Paragraph(f"<b>{escape(words)}</b>", _style("words", 11, 14)), "", "",
                 _label("（小写）", "In figures", _style("fig", 9, 12, INK, TA_RIGHT)),
                 Paragraph(f"<b>¥{_money(inv.gross, neg)}</b>", _style("gross", 11, 14, align=TA_RIGHT)), "", ""])
    last = len(rows) - 1
    style = [("BOX", (0, 0), (-1, -1), 0.8, INK), ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
             ("LINEABOVE", (0, body), (-1, body), 0.6, INK), ("LINEABOVE", (0, last), (-1, last), 0.6, INK),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("SPAN", (1, last), (3, last)), ("SPAN", (5, last), (7, last))]
    style += [("SPAN", (0, r), (4, r)) for r in range(body, last)]
    table = Table(rows, colWidths=ITEM_WIDTHS, repeatRows=1)
    table.setStyle(TableStyle(style))
    return table


def _remarks(inv, doc, status):
    lines = []
    if doc.get("remarks"):
        lines.append(escape(doc["remarks"]))
    red = doc.get("red_letter") or {}
    if inv.is_red_letter:
        reason = REASONS.get(red.get("reason_code"), str(red.get("reason_code") or ""))
        lines.append(f"被红冲蓝字发票号码 <font size=6.5>Reverses invoice</font>：{escape(inv.original_number or '')}"
                     f"；冲红原因 <font size=6.5>Reason</font>：{escape(reason)}")
    if status:
        lines.append(f"链上状态（生成本文件时）<font size=6.5>On-chain status when this file was made</font>："
                     f"{escape(status)}")
    lines.append(f"区块链登记 <font size=6.5>Registered on chain</font>，文件哈希 <font size=6.5>document hash</font>："
                 f"<font size=7>{escape(inv.document_hash or '')}</font>")
    table = Table([[_label("备注", "Remarks", LABEL_CENTER), Paragraph("<br/>".join(lines), TEXT)]],
                  colWidths=[20 * mm, WIDTH - 20 * mm])
    table.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, INK), ("LINEAFTER", (0, 0), (0, 0), 0.6, INK),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def _footer(doc, url):
    drawer = doc.get("drawer") or ""
    table = Table([[Paragraph(f"开票人 <font size=6.5>Drawer</font>：{escape(drawer)}", TEXT),
                    Paragraph(f"查验 <font size=6>Verify</font>：{escape(url)}", _style("url", 7, 9, align=TA_RIGHT))]],
                  colWidths=[WIDTH * 0.35, WIDTH * 0.65])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _page(inv, stamp):
    number, day = inv.number, inv.issue_date.replace("-", "")

    def draw(canvas, template):
        # the file's creation date is the issue date (China time), not the time of the download
        canvas.setDateFormatter(lambda *_: f"D:{day}000000+08'00'")
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(INK)
        canvas.drawRightString(PAGE[0] - MARGIN, 6 * mm, f"发票号码 {number}  第 {template.page} 页 Page {template.page}")
        if stamp:
            canvas.setFillColor(RED)
            canvas.setFillAlpha(0.25)
            canvas.setFont(FONT, 48)
            canvas.translate(PAGE[0] / 2, PAGE[1] / 2)
            canvas.rotate(20)
            canvas.drawCentredString(0, 0, stamp)
        canvas.restoreState()
    return draw


def render(inv, base_url, chain_data=None):
    """The PDF of an issued invoice (bytes). ``base_url`` is the site's public root, where
    the QR code and the printed link send a verifier; ``chain_data`` the chain's view of it
    (``issuance.up_to_date``), for its status in words. Refused (409) while the invoice is
    not registered on chain (no check code), 404 when the platform holds no document."""
    if inv.state != "issued" or not inv.check_code:
        raise Refused("not_issued", _("The invoice is not registered on chain (pending or failed): there is no PDF "
                                      "of it."), 409)
    if not inv.document:
        raise Refused("not_found", _("The platform does not hold this invoice's document (registered by another "
                                     "client): there is no PDF of it."), 404)
    doc = json.loads(inv.document)
    url = verification_url(inv, base_url)
    with force_locale("zh"):  # the document is Chinese whatever the page's language
        status = status_text(inv, chain_data) or ""
    buf = io.BytesIO()
    title = f"{TYPE_TITLES.get(inv.invoice_type, TYPE_TITLES[0])[0]} {inv.number}"
    pdf = SimpleDocTemplate(buf, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=title, author=inv.seller_name, subject=inv.number,
                            creator="chain-einvoice", invariant=1)
    flow = [_header(inv, doc, qr_png(url, scale=6)), Spacer(1, 3 * mm), _parties(doc), _items(inv, doc),
            _remarks(inv, doc, status), Spacer(1, 2 * mm), _footer(doc, url)]
    stamp = STAMPS.get(inv.chain_status)
    pdf.build(flow, onFirstPage=_page(inv, stamp), onLaterPages=_page(inv, stamp))
    return with_document(buf.getvalue(), inv)


def with_document(pdf_bytes, inv):
    """The PDF with the invoice's canonical JSON document attached (an embedded file, as
    OFD and PDF e-invoices carry their data): a finance system or the expense claims read it
    back and verify it against the chain without retyping anything."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf_bytes))
    writer.add_attachment(f"{'red-letter-note' if inv.is_red_letter else 'einvoice'}_{inv.number}.json",
                          inv.document.encode("utf-8"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def read_pdf(data):
    """What an uploaded PDF says about its invoice: (document, None) from the JSON document
    attached to it (``with_document``), else (None, the four verification elements) from
    the verification link in its QR code. ValidationError when it is not a readable PDF or
    holds neither."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        for name, contents in reader.attachments.items():
            if name.endswith(".json"):
                try:
                    return load_json(contents[0], "file", decimals=False), None
                except ValidationError:
                    continue
        for page in reader.pages[:2]:
            for image in page.images:
                elements = _elements_from_qr(image.image)
                if elements:
                    return None, elements
    except (PdfReadError, ValueError, KeyError, OSError):
        problem = _("The PDF cannot be read.")
        raise ValidationError({"file": problem}, problem) from None
    problem = _("The PDF holds neither the invoice's document nor a verification QR code.")
    raise ValidationError({"file": problem}, problem)


def _elements_from_qr(image):
    """The four elements of a verification link in a QR code of ``image`` (gross in fen)."""
    import zxingcpp

    for barcode in zxingcpp.read_barcodes(image):
        query = parse_qs(urlsplit(barcode.text).query)
        try:
            number, day, gross, code = (query[k][0] for k in ("number", "issue_date", "gross", "check_code"))
            yuan, cents = gross.partition(".")[::2]
            return {"number": number, "issue_date": day, "gross": int(yuan) * 100 + int((cents + "00")[:2]),
                    "check_code": code}
        except (KeyError, ValueError):
            continue
    return None


def filename(inv):
    """The download's name: 电子发票_<number>.pdf (red-letter notes: 红字发票_…)."""
    return f"{'红字发票' if inv.is_red_letter else '电子发票'}_{inv.number}.pdf"


def content_disposition(inv):
    """The download's Content-Disposition: the Chinese name as RFC 6266 ``filename*`` (UTF-8),
    an ASCII ``filename`` for older clients (einvoice_<number>.pdf, red-letter-note_…)."""
    ascii_name = f"{'red-letter-note' if inv.is_red_letter else 'einvoice'}_{inv.number}.pdf"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename(inv))}"
