"""Delivery of an invoice: the PDF laid out like a Chinese e-invoice (its text read back with
pypdf), the gross in Chinese capitals (a table of cases), the QR code (taken out of the PDF
and decoded with zxing-cpp) that opens the public verification page with the four elements
filled in and verifies at once; who may download it; the QR code on the invoice page."""
import html
import io
import json
import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import pypdf
import pytest
import zxingcpp
from backendutil import login, make_app, sample_invoice

from backend.api.openapi import spec
from backend.core import canonical
from backend.core.capitals import MAX_FEN, capitals
from backend.services import invoice_pdf
from backend.services.errors import Refused

# fen → words: 零 between digits and groups, 元…整, 角 without 整, 元零…分, the 万/亿/万亿 groups
CAPITALS = [
    (0, "零元整"),
    (1, "壹分"),
    (7, "柒分"),
    (10, "壹角"),
    (50, "伍角"),
    (57, "伍角柒分"),
    (100, "壹元整"),
    (107, "壹元零柒分"),
    (150, "壹元伍角"),
    (1000, "壹拾元整"),
    (1615, "壹拾陆元壹角伍分"),
    (10100, "壹佰零壹元整"),
    (22600, "贰佰贰拾陆元整"),
    (101000, "壹仟零壹拾元整"),
    (100100, "壹仟零壹元整"),
    (113000, "壹仟壹佰叁拾元整"),
    (168032, "壹仟陆佰捌拾元叁角贰分"),
    (1000507, "壹万零伍元零柒分"),
    (2000000, "贰万元整"),
    (2000100, "贰万零壹元整"),
    (10000500, "壹拾万零伍元整"),
    (10700053, "壹拾万柒仟元伍角叁分"),
    (100000000, "壹佰万元整"),
    (100001000, "壹佰万零壹拾元整"),
    (100100000, "壹佰万壹仟元整"),
    (1000000500, "壹仟万零伍元整"),
    (10000000000, "壹亿元整"),
    (10000000500, "壹亿零伍元整"),
    (10005000000, "壹亿零伍万元整"),
    (12345678912, "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元壹角贰分"),
    (10**14, "壹万亿元整"),
    (100010000000000, "壹万零壹亿元整"),
    (123450000000000, "壹万贰仟叁佰肆拾伍亿元整"),
    (100000001000000, "壹万亿零壹万元整"),
    (10**15, "壹拾万亿元整"),
    (MAX_FEN, "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    (-11300, "负壹佰壹拾叁元整"),
    (-5, "负伍分"),
]


@pytest.mark.parametrize("fen,words", CAPITALS)
def test_capitals(fen, words):
    assert capitals(fen) == words


@pytest.mark.parametrize("bad,kind", [(1.5, TypeError), ("100", TypeError), (True, TypeError), (None, TypeError),
                                      (MAX_FEN + 1, ValueError), (-MAX_FEN - 1, ValueError)])
def test_capitals_refuses(bad, kind):
    with pytest.raises(kind):
        capitals(bad)


def pdf_text(data):
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def qr_of(data):
    """The text of the QR code(s) in the PDF's first page, decoded from the embedded image."""
    images = pypdf.PdfReader(io.BytesIO(data)).pages[0].images
    return [code.text for image in images for code in zxingcpp.read_barcodes(image.image)]


def verify_path(url):
    """What a test client opens for the absolute ``url``."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def two_rate_invoice():
    return sample_invoice(items=[
        {"name": "办公用品 Office supplies", "spec": "A4", "unit": "箱", "quantity": 10, "unit_price": 12_50,
         "tax_rate": 13},
        {"name": "咨询服务 Consulting", "quantity": 1, "unit_price": 500_00, "tax_rate": 6}],
        remarks="合同号 HT-2026-001")


def test_pdf_of_an_invoice_and_its_qr_code_verifies(api, chain_app):
    """The PDF has the number, date, parties, lines, totals per rate, the gross in figures and
    capitals, the check code; its QR code is the verification link, and opening the link
    shows the result at once."""
    merchant = api("merchant1")
    inv = merchant.post("/invoices", json=two_rate_invoice()).get_json()
    number = inv["number"]
    assert inv["gross"] == 671_25  # 125 + 16.25 + 500 + 30
    detail = merchant.get(f"/invoices/{number}").get_json()
    r = merchant.get(f"/invoices/{number}/pdf")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "application/pdf" and r.data.startswith(b"%PDF-")
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"filename=\"einvoice_{number}.pdf\"" in disposition
    assert "filename*=UTF-8''%E7%94%B5%E5%AD%90%E5%8F%91%E7%A5%A8_" in disposition  # 电子发票_
    text = pdf_text(r.data)
    flat = re.sub(r"\s+", "", text)
    assert "电子发票（普通发票）" in text and number in text
    assert inv["check_code"] in flat and len(inv["check_code"]) == 20
    assert "陆佰柒拾壹元贰角伍分" in text and "¥671.25" in flat
    y, m, d = detail["issue_date"].split("-")
    assert f"{y}年{m}月{d}日" in text
    for value in (detail["seller"]["name"], detail["seller"]["tax_id"], detail["buyer"]["name"],
                  detail["buyer"]["tax_id"], "办公用品", "咨询服务", "合同号 HT-2026-001", "A4", "箱"):
        assert value in text, value
    assert "其中税率6%" in flat and "其中税率13%" in flat  # totals per rate
    assert "¥625.00" in flat and "¥46.25" in flat  # net and tax
    assert "价税合计（大写）" in text and detail["document_hash"] in flat
    # the QR code in the PDF: the verification link with the four elements
    url = f"http://localhost/verify/?number={number}&issue_date={detail['issue_date']}&gross=671.25" \
          f"&check_code={inv['check_code'][-6:]}"
    assert qr_of(r.data) == [url]
    assert url in flat  # printed under the invoice too
    page = chain_app.test_client().get(verify_path(url))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'class="result r-authentic"' in body and "真实有效" in body and "查验链接" in body
    assert f'value="{number}"' in body and 'value="671.25"' in body
    # the same PDF again: the same bytes (invariant mode, dated the issue date)
    assert merchant.get(f"/invoices/{number}/pdf").data == r.data
    assert pypdf.PdfReader(io.BytesIO(r.data)).metadata["/CreationDate"].startswith(f"D:{y}{m}{d}")
    # the JSON document travels inside the PDF: the PDF verifies as a document
    reader = pypdf.PdfReader(io.BytesIO(r.data))
    assert json.loads(reader.attachments[f"einvoice_{number}.json"][0]) == detail["document"]
    checked = api().post("/verify/document", data={"file": (io.BytesIO(r.data), "invoice.pdf")},
                         content_type="multipart/form-data").get_json()
    assert checked["result"] == "authentic" and checked["number"] == number


def test_who_may_download_the_pdf(api, chain_app):
    number = api("merchant1").post("/invoices", json=sample_invoice()).get_json()["number"]
    assert api("merchant2").get(f"/invoices/{number}/pdf").status_code == 403
    assert api("merchant2").get(f"/invoices/{number}").status_code == 403  # as the invoice itself
    r = api("merchant1").get("/invoices/26539999999999999999/pdf")
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"
    assert api("merchant1").get("/invoices/123/pdf").status_code == 404
    assert api().get(f"/invoices/{number}/pdf").status_code == 401
    for user in ("buyer", "auditor", "authority", "financier"):  # the buyer by its tax ID
        r = api(user).get(f"/invoices/{number}/pdf")
        assert r.status_code == 200 and r.mimetype == "application/pdf", user


def test_red_letter_note_pdf_names_the_original(api):
    merchant = api("merchant1")
    original = merchant.post("/invoices", json=sample_invoice()).get_json()["number"]
    note = merchant.post(f"/invoices/{original}/red-letter", json={"reason_code": 1, "items": [
        {"name": "退货 return", "quantity": 1, "unit_price": 100_00, "tax_rate": 13}]}).get_json()
    r = merchant.get(f"/invoices/{note['number']}/pdf")
    assert r.status_code == 200
    assert "%E7%BA%A2%E5%AD%97%E5%8F%91%E7%A5%A8_" in r.headers["Content-Disposition"]  # 红字发票_
    text = pdf_text(r.data)
    flat = re.sub(r"\s+", "", text)
    assert "红字发票" in text and f"reverses invoice {original}" in text
    assert "被红冲蓝字发票号码" in text and original in flat and "销货退回" in text
    assert "（负数）壹佰壹拾叁元整" in text and "¥-113.00" in flat and "-100.00" in flat
    assert qr_of(r.data)[0].endswith(f"number={note['number']}&issue_date={note_date(merchant, note)}&gross=113.00"
                                     f"&check_code={note['check_code'][-6:]}")
    # the original, partly red-lettered: its status on the PDF
    assert "部分红冲" in pdf_text(merchant.get(f"/invoices/{original}/pdf").data)


def note_date(merchant, note):
    return merchant.get(f"/invoices/{note['number']}").get_json()["issue_date"]


def test_voided_invoice_pdf_carries_a_stamp(api):
    merchant = api("merchant1")
    number = merchant.post("/invoices", json=sample_invoice()).get_json()["number"]
    assert merchant.post(f"/invoices/{number}/void").status_code == 200
    text = pdf_text(merchant.get(f"/invoices/{number}/pdf").data)
    assert "已作废 VOIDED" in text and "已作废 — 销售方已作废" in text
    # the document is Chinese whatever the language of the request (its status too)
    english = pdf_text(merchant.get(f"/invoices/{number}/pdf", headers={"Accept-Language": "en"}).data)
    assert "已作废 — 销售方已作废" in english and "voided by the seller" not in english


def test_public_base_url_setting(api, chain_app):
    number = api("merchant1").post("/invoices", json=sample_invoice()).get_json()["number"]
    chain_app.config["PUBLIC_BASE_URL"] = "https://einvoice.example.cn/portal/"
    [url] = qr_of(api("merchant1").get(f"/invoices/{number}/pdf").data)
    assert url.startswith(f"https://einvoice.example.cn/portal/verify/?number={number}&")


def test_invoice_page_shows_qr_code_and_pdf_link(chain_app, api):
    number = api("merchant1").post("/invoices", json=sample_invoice()).get_json()["number"]
    detail = api("merchant1").get(f"/invoices/{number}").get_json()
    url = f"http://localhost/verify/?number={number}&issue_date={detail['issue_date']}&gross=226.00" \
          f"&check_code={detail['check_code'][-6:]}"
    client = chain_app.test_client()
    assert login(client, "merchant1").status_code == 302
    page = client.get(f"/invoices/{number}")
    body = page.get_data(as_text=True)
    # an <img> with a data: URI, which the page's Content-Security-Policy allows (img-src 'self' data:)
    assert "img-src 'self' data:" in page.headers["Content-Security-Policy"]
    src = re.search(r'<figure class="verify-qr" id="invoice-verify-qr">\s*<img src="([^"]+)"', body).group(1)
    assert html.unescape(src) == invoice_pdf.qr_data_uri(url) and src.startswith("data:image/svg+xml")
    assert html.escape(url) in body and "扫码查验" in body
    link = re.search(r'<a href="([^"]+)" id="invoice-pdf-link"', body).group(1)
    r = client.get(link)
    assert r.status_code == 200 and r.mimetype == "application/pdf" and qr_of(r.data) == [url]
    assert f"{number}.pdf" in r.headers["Content-Disposition"]
    other = chain_app.test_client()
    assert login(other, "merchant2").status_code == 302
    assert other.get(link).status_code == 403 and other.get(f"/invoices/{number}").status_code == 403
    assert other.get("/invoices/26539999999999999999/invoice.pdf").status_code == 404
    assert chain_app.test_client().get(link).status_code == 302  # to the login page


def test_verification_link_mismatch_and_bad_fields(api, chain_app):
    inv = api("merchant1").post("/invoices", json=sample_invoice()).get_json()
    date = api("merchant1").get(f"/invoices/{inv['number']}").get_json()["issue_date"]
    anon = chain_app.test_client()
    body = anon.get(f"/verify/?number={inv['number']}&issue_date={date}&gross=226.01"
                    f"&check_code={inv['check_code'][-6:]}").get_data(as_text=True)
    assert "信息不一致" in body
    body = anon.get("/verify/?number=123&issue_date=x").get_data(as_text=True)
    assert "请检查输入项" in body and 'class="result' not in body
    body = anon.get("/verify/").get_data(as_text=True)  # the form alone
    assert 'class="result' not in body and "请检查输入项" not in body


def test_verification_links_count_against_the_rate_limit(tmp_path):
    """A link verifies, so it spends the verification budget; the bare form does not."""
    app = make_app(tmp_path, VERIFY_RATE_LIMIT=2)
    c = app.test_client()
    for _ in range(4):
        assert c.get("/verify/").status_code == 200
    assert c.get("/verify/?number=1").status_code == 200
    assert c.get("/verify/?check_code=1").status_code == 200
    r = c.get("/verify/?number=1")
    assert r.status_code == 429 and "查验请求过于频繁" in r.get_data(as_text=True)
    assert c.get("/verify/").status_code == 200


def test_invalid_public_base_url_refuses_to_start(tmp_path):
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL"):
        make_app(tmp_path, PUBLIC_BASE_URL="einvoice.example.cn")


def fake_invoice(**over):
    items = [{"name": "咖啡 <Coffee> & tea", "spec": "", "unit": "", "quantity": "2.5", "unit_price": 1000,
              "amount": 2500, "tax_rate": 13}]
    net, tax, gross = canonical.compute_totals(items)
    doc = canonical.build_document(
        number="26531000000000000001", invoice_type=1, issue_date="2026-01-05",
        seller={"name": "云南示例科技有限公司", "tax_id": "91530100MA6K0002XU", "address": ""},
        buyer={"name": "昆明示例商贸有限公司", "tax_id": "91530100MA6K0001XT", "salt": "0x00", "tag": "0x00"},
        items=items, net=net, tax=tax, gross=gross)
    values = {"number": "26531000000000000001", "issue_date": "2026-01-05", "invoice_type": 1, "is_red_letter": False,
              "original_number": None, "check_code": "01234567890123456789", "net": net, "tax": tax, "gross": gross,
              "state": "issued", "document": json.dumps(doc, ensure_ascii=False), "chain_status": "Issued",
              "document_hash": "0x" + "ab" * 32, "seller_name": "云南示例科技有限公司"}
    return SimpleNamespace(**{**values, **over})


def test_render_without_chain_special_invoice_and_markup_in_names():
    """No app needed: a special VAT invoice, a fractional quantity, markup characters in a
    name printed as text; refusals for an invoice not on chain or without a document."""
    data = invoice_pdf.render(fake_invoice(), "https://einvoice.example.cn")
    text = pdf_text(data)
    assert "电子发票（增值税专用发票）" in text and "咖啡 <Coffee> & tea" in text and "2.5" in text
    assert "贰拾捌元贰角伍分" in text  # 25.00 + 3.25
    assert qr_of(data) == [("https://einvoice.example.cn/verify/?number=26531000000000000001&issue_date=2026-01-05"
                            "&gross=28.25&check_code=456789")]
    for over, status in (({"state": "pending", "check_code": None}, 409), ({"state": "failed"}, 409),
                         ({"document": ""}, 404)):
        with pytest.raises(Refused) as refused:
            invoice_pdf.render(fake_invoice(**over), "https://einvoice.example.cn")
        assert refused.value.status == status


def test_many_lines_run_over_pages():
    items = [{"name": f"项目 {i}", "spec": "", "unit": "个", "quantity": 1, "unit_price": 100, "amount": 100,
              "tax_rate": 13} for i in range(120)]
    net, tax, gross = canonical.compute_totals(items)
    inv = fake_invoice(net=net, tax=tax, gross=gross)
    doc = json.loads(inv.document)
    inv.document = json.dumps({**doc, "items": items, "net": net, "tax": tax, "gross": gross})
    data = invoice_pdf.render(inv, "https://einvoice.example.cn")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 3
    assert "项目 119" in pdf_text(data) and capitals(gross) in reader.pages[-1].extract_text()
    assert "项目名称" in reader.pages[1].extract_text()  # the header row repeated


def test_openapi_documents_the_pdf_route():
    op = spec()["paths"]["/invoices/{number}/pdf"]["get"]
    assert op["operationId"] == "getInvoicePdf"
    assert list(op["responses"]["200"]["content"]) == ["application/pdf"]
    assert {"401", "403", "404", "409"} <= set(op["responses"])
