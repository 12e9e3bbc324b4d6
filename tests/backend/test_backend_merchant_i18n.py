"""Issue 14 for the merchant portal and the invoices: the issue form, the invoice list, an
invoice's page, the registration page, the public link's pages, their flashes and the
invoice API's messages are in one language: Chinese by default, English with
Accept-Language: en (the API's error codes stay as they are)."""
import re

import pytest
from backendutil import csrf_token, login, sample_invoice

EN = {"Accept-Language": "en"}


def client_in(app, language=None, username=None):
    """A test client whose every request asks for ``language`` (None: no Accept-Language,
    Chinese), signed in as ``username``."""
    client = app.test_client()
    if language:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    if username:
        assert login(client, username).status_code == 302
    return client


def post_form(client, path, data, page_path=None):
    """POST ``data`` with the CSRF token and the one-time form token of the page at ``page_path``."""
    page = client.get(page_path or path).get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page)
    data = {**data, "csrf_token": csrf_token(client, page_path or path), **({"form_token": token.group(1)} if token
                                                                             else {})}
    return client.post(path, data=data)


def issue_form(**over):
    return {"buyer_name": "昆明示例商贸有限公司", "buyer_tax_id": "91530100MA6K0002XU", "issue_date": "",
            "invoice_type": "0", "remarks": "", "item-0-name": "咖啡", "item-0-spec": "", "item-0-unit": "袋",
            "item-0-quantity": "2", "item-0-unit_price": "12.50", "item-0-tax_rate": "13", "action": "issue", **over}


def text_of(html):
    """What a person reads of a page: its text without tags (attributes hold codes)."""
    return re.sub(r"<[^>]+>", " ", html)


def flashes(html):
    return re.findall(r'<div class="flash (?:ok|error)">(.*?)</div>', html, re.S)


def test_the_issue_form_its_flashes_and_the_invoice_page_in_chinese(chain_app, seeded):
    c = client_in(chain_app, username="merchant1")
    form = c.get("/merchant/issue").get_data(as_text=True)
    assert "<h1>开具发票</h1>" in form and "项目明细" in form and "计算合计" in form and "开具并上链" in form
    assert "Line items" not in form and "Compute totals" not in form and 'aria-label="unit price"' not in form
    bad = post_form(c, "/merchant/issue", issue_form(**{"item-0-unit_price": "abc"})).get_data(as_text=True)
    assert any("请以元为单位填写单价，例如 12.50。" in f for f in flashes(bad))
    r = post_form(c, "/merchant/issue", issue_form())
    assert r.status_code == 302
    number = r.headers["Location"].rsplit("/", 1)[-1]
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert f"开票成功：发票 {number} 已开具。" in flashes(page)
    assert ">已开具</span>" in page and "已开具 — 已登记且有效" in page and "<h2>时间线</h2>" in page
    assert "<dt>价税合计</dt><dd><strong>¥28.25</strong>" in page and "登记上链" in page
    assert 'data-confirm="确定作废发票 ' in page and "作废发票" in page
    for english in ("Issued", "Timeline", "Void invoice", "Gross", "Scan to verify", "InvoiceIssued"):
        assert english not in text_of(page), english
    r = post_form(c, f"/invoices/{number}/void", {}, f"/invoices/{number}")
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert f"发票 {number} 已作废。" in flashes(page) and ">已作废</span>" in page and "销售方作废" in page


def test_the_issue_form_its_flashes_and_the_invoice_page_in_english(chain_app, seeded):
    c = client_in(chain_app, "en", "merchant1")
    form = c.get("/merchant/issue").get_data(as_text=True)
    assert "<h1>Issue an invoice</h1>" in form and "Line items" in form and "goods 13%, services 6%" in form
    assert "开具发票" not in form and "项目明细" not in form
    bad = post_form(c, "/merchant/issue", issue_form(**{"item-0-unit_price": "abc"})).get_data(as_text=True)
    assert any("Enter the unit price in yuan, e.g. 12.50." in f for f in flashes(bad))
    r = post_form(c, "/merchant/issue", issue_form())
    number = r.headers["Location"].rsplit("/", 1)[-1]
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert f"Invoice {number} issued." in flashes(page)
    assert ">Issued</span>" in page and "Issued — registered and valid" in page and "<h2>Timeline</h2>" in page
    assert "<dt>Gross</dt><dd><strong>¥28.25</strong>" in page and "Registered on chain" in page
    assert f'data-confirm="Void invoice {number}? This cannot be undone."' in page
    for chinese in ("已开具", "时间线", "作废", "价税合计", "扫码查验", "登记上链"):
        assert chinese not in text_of(page), chinese
    r = post_form(c, f"/invoices/{number}/void", {}, f"/invoices/{number}")
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert f"Invoice {number} voided." in flashes(page) and ">Voided</span>" in page and "Voided by the seller" in page
    # the same form sent again: said in words, in English
    assert "/void" not in c.get(f"/invoices/{number}").get_data(as_text=True)  # voided: no void form
    page = c.get("/merchant/issue").get_data(as_text=True)
    sent = {**issue_form(), "csrf_token": csrf_token(c, "/merchant/issue"),
            "form_token": re.search(r'name="form_token" value="([^"]+)"', page).group(1)}
    first, again = c.post("/merchant/issue", data=sent), c.post("/merchant/issue", data=sent)
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    other = first.headers["Location"].rsplit("/", 1)[-1]
    shown = flashes(c.get(again.headers["Location"]).get_data(as_text=True))
    assert f"This form was already submitted: invoice {other} was issued then, not again." in shown, shown


@pytest.mark.parametrize("language, words, absent", [
    (None, ["<h1>发票 <small>", ">全部状态</option>", '<option value="Voided" >已作废</option>', ">已开具</span>"],
     ["Any status", "Issued"]),
    ("en", ["<h1>Invoices <small>", ">Any status</option>", '<option value="Voided" >Voided</option>',
            ">Issued</span>"], ["全部状态", "已开具"]),
])
def test_the_invoice_list_in_each_language(chain_app, api, language, words, absent):
    api("merchant1").post("/invoices", json=sample_invoice())
    page = client_in(chain_app, language, "merchant1").get("/merchant/invoices").get_data(as_text=True)
    for word in words:
        assert word in page, word
    for word in absent:
        assert word not in text_of(page), word


@pytest.mark.parametrize("language, words, absent", [
    (None, ["<h1>商户登记</h1>", ">已批准</span>", "<dt>发票号段</dt>", "月度限额 ¥"], ["Approved", "Number range"]),
    ("en", ["<h1>Merchant registration</h1>", ">Approved</span>", "<dt>Number range</dt>", "monthly quota ¥"],
     ["已批准", "发票号段"]),
])
def test_the_registration_page_in_each_language(chain_app, seeded, language, words, absent):
    page = client_in(chain_app, language, "merchant1").get("/merchant/registration").get_data(as_text=True)
    for word in words:
        assert word in page, word
    for word in absent:
        assert word not in text_of(page), word


def test_the_public_link_pages_in_each_language(chain_app, api):
    number = api("merchant1").post("/invoices", json=sample_invoice()).get_json()["number"]
    detail = client_in(chain_app, username="merchant1").get(f"/invoices/{number}").get_data(as_text=True)
    link = re.search(r'id="invoice-public-link" class="mono small">([^<]+)<', detail).group(1)
    path = "/" + link.split("/", 3)[3]
    zh = client_in(chain_app).get(path).get_data(as_text=True)
    assert "<h1>电子发票 " in zh and "本页面由开票方分享的链接打开" in zh and "已开具 — 已登记且有效" in zh
    assert "Electronic invoice" not in zh and "Download the PDF" not in zh
    en = client_in(chain_app, "en").get(path).get_data(as_text=True)
    assert "<h1>Electronic invoice " in en and "This page was opened with a link the seller shared" in en
    assert "Issued — registered and valid" in en and "电子发票" not in en and "下载" not in en
    broken = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    r = client_in(chain_app).get(broken)
    assert r.status_code == 403 and "链接无效（可能被修改或不完整）。" in r.get_data(as_text=True)
    r = client_in(chain_app, "en").get(broken)
    text = r.get_data(as_text=True)
    assert r.status_code == 403 and "403 · Link not valid" in text and "链接" not in text
    assert "This link is not valid (altered or incomplete)." in text


def test_the_invoice_api_answers_in_the_requests_language(api):
    m = api("merchant1")
    unknown = "26351000009999999999"
    r = m.get(f"/invoices/{unknown}")
    assert r.status_code == 404 and r.get_json()["error"] == "not_found" and r.get_json()["message"] == "查无此票。"
    r = m.get(f"/invoices/{unknown}", headers=EN)
    assert r.get_json() == {**r.get_json(), "error": "not_found", "message": "No such invoice."}
    flagged = m.post("/invoices", json=sample_invoice(buyer_tax_id="91350100M000100Y43")).get_json()
    zh = m.get(f"/invoices/{flagged['number']}").get_json()
    assert zh["status"] == "Flagged" and zh["status_text"] == "待审核 — 已登记，等待审计员审核"
    assert [f["text"] for f in zh["flags_explained"]] == ["购销双方相同"] and zh["flag_names"] == ["SelfDealing"]
    en = m.get(f"/invoices/{flagged['number']}", headers=EN).get_json()
    assert en["status_text"] == "Flagged — recorded, waiting for an auditor's review"
    assert [f["text"] for f in en["flags_explained"]] == ["Buyer and seller are the same taxpayer"]
    # a refusal of the service: a red-letter note cannot itself be red-lettered
    inv = m.post("/invoices", json=sample_invoice()).get_json()
    note = m.post(f"/invoices/{inv['number']}/red-letter", json={"reason_code": 1, "items": [
        {"name": "退货", "quantity": 1, "unit_price": 10_00, "tax_rate": 13}]}).get_json()
    r = m.post(f"/invoices/{note['number']}/red-letter", json={"reason_code": 1})
    assert r.status_code == 409 and r.get_json()["error"] == "IsRedLetterNote"
    assert r.get_json()["message"] == "红字发票本身不能再开具红字发票。"
    r = m.post(f"/invoices/{note['number']}/red-letter", json={"reason_code": 1}, headers=EN)
    assert r.get_json()["message"] == "A red-letter note cannot itself be red-lettered."
