"""The HTML portals through the Flask test client, with CSRF tokens: merchant issue
form, list, detail, void/red-letter; auditor queue; authority merchants and
parameters; public verification pages; history export."""
import io
import json
import re

import pytest
from backendutil import Browser, sample_invoice, token_of

from backend.core.db import db
from backend.core.models import Invoice


@pytest.fixture
def browser(chain_app, seeded):
    return lambda username=None: Browser(chain_app).login(username) if username else Browser(chain_app)


def issue_form(**over):
    data = {"buyer_name": "昆明示例商贸有限公司", "buyer_tax_id": "91530100MA6K0002XU", "issue_date": "",
            "invoice_type": "0", "remarks": "",
            "item-0-name": "咖啡 Coffee", "item-0-spec": "", "item-0-unit": "袋", "item-0-quantity": "2",
            "item-0-unit_price": "12.50", "item-0-tax_rate": "13"}
    data.update(over)
    return data


def test_issue_form_preview_add_row_and_issue(browser, chain_app):
    b = browser("merchant1")
    page = b.get("/merchant/issue").get_data(as_text=True)
    assert "开具发票" in page and "Issue an invoice" not in page and 'name="viewport"' in b.get("/").get_data(as_text=True)
    r = b.post("/merchant/issue", {**issue_form(), "action": "add_row"}, page=page)
    assert 'name="item-1-name"' in r.get_data(as_text=True)
    r = b.post("/merchant/issue", {**issue_form(), "action": "preview"}, page=page)
    text = r.get_data(as_text=True)
    assert "¥25.00" in text and "¥3.25" in text and "¥28.25" in text  # net, tax, gross computed server-side
    r = b.post("/merchant/issue", {**issue_form(), "action": "issue"}, page=page)
    assert r.status_code == 302, r.get_data(as_text=True)[-2000:]
    detail = b.get(r.headers["Location"]).get_data(as_text=True)
    assert ">已开具</span>" in detail and 'data-event="InvoiceIssued"><strong>登记上链' in detail and "作废发票" in detail
    assert "InvoiceIssued</strong>" not in detail and "Void invoice" not in detail  # words, one language
    with chain_app.app_context():
        assert db.session.query(Invoice).count() == 1


def test_issue_form_lines_with_different_rates(browser, chain_app):
    """Goods at 13 % and a service at 6 % on one invoice: the preview shows one row per
    rate, the invoice is issued with both rates; a partial red-letter note picks its rate."""
    b = browser("merchant1")
    page = b.get("/merchant/issue").get_data(as_text=True)
    assert "每行可用不同税率" in page and "one tax rate per invoice" not in page
    form = {**issue_form(), "item-1-name": "安装服务 Installation", "item-1-spec": "", "item-1-unit": "次",
            "item-1-quantity": "1", "item-1-unit_price": "100.00", "item-1-tax_rate": "6"}
    text = b.post("/merchant/issue", {**form, "action": "preview"}, page=page).get_data(as_text=True)
    assert "¥125.00" in text and "¥9.25" in text and "¥134.25" in text  # 25 + 100 net; 3.25 + 6 tax
    assert re.search(r">6%</td><td class=\"num\">1</td><td class=\"num\">¥100.00</td><td class=\"num\">¥6.00<", text)
    assert re.search(r">13%</td><td class=\"num\">1</td><td class=\"num\">¥25.00</td><td class=\"num\">¥3.25<", text)
    r = b.post("/merchant/issue", {**form, "action": "issue"}, page=page)
    assert r.status_code == 302, r.get_data(as_text=True)[-2000:]
    number = r.headers["Location"].rsplit("/", 1)[-1]
    detail = b.get(r.headers["Location"]).get_data(as_text=True)
    assert "税额（6%、13%）" in detail and "已开具 — 已登记且有效" in detail
    r = b.post(f"/invoices/{number}/red-letter", {"reason_code": "4", "amount": "50.00", "tax_rate": "6"},
               page=detail)
    assert r.status_code == 302, r.get_data(as_text=True)[-2000:]
    note = b.get(r.headers["Location"]).get_data(as_text=True)
    assert "红字发票 — 负数发票" in note and "¥53.00" in note  # 50 + 6 % tax
    page = b.get(f"/invoices/{number}").get_data(as_text=True)
    assert "部分红冲 — 红字发票冲减了部分金额" in page and "Partly red-lettered" not in page
    english = b.get(f"/invoices/{number}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Tax (6%, 13%)" in english and "Partly red-lettered — red-letter notes reduced part of it" in english
    assert "部分红冲" not in english and "税额" not in english
    with chain_app.app_context():
        row = db.session.query(Invoice).filter_by(number=number).one()
        assert row.rate_mask == 1 << 6 | 1 << 13
        assert db.session.query(Invoice).filter_by(original_number=number).one().rate_mask == 1 << 6


def test_verify_page_says_partly_red_lettered_and_note(browser, api):
    inv = api("merchant1").post("/invoices", json=sample_invoice()).get_json()
    note = api("merchant1").post(f"/invoices/{inv['number']}/red-letter", json={"reason_code": 1, "items": [
        {"name": "退货 return", "quantity": 1, "unit_price": 100_00, "tax_rate": 13}]}).get_json()
    date = api("merchant1").get(f"/invoices/{inv['number']}").get_json()["issue_date"]
    anon = browser()
    r = anon.post("/verify/", {"number": inv["number"], "issue_date": date, "gross": "226.00",
                               "check_code": inv["check_code"][-6:]}).get_data(as_text=True)
    assert "部分红冲" in r and "按未冲销金额有效" in r
    r = anon.post("/verify/", {"number": note["number"], "issue_date": date, "gross": "113.00",
                               "check_code": note["check_code"][-6:]}).get_data(as_text=True)
    assert "红字发票" in r and "负数发票" in r


def test_issue_form_errors_shown_not_500(browser):
    b = browser("merchant1")
    r = b.post("/merchant/issue", {**issue_form(**{"item-0-unit_price": "abc", "buyer_tax_id": ""}),
                                   "action": "issue"})
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "请以元为单位填写单价，例如 12.50。" in text
    assert re.search(r'name="item-0-unit_price" value="abc"[^>]*class="short invalid"', text)


def test_list_filters_detail_void_and_red_letter(browser, api, chain_app):
    numbers = [api("merchant1").post("/invoices", json=sample_invoice()).get_json()["number"] for _ in range(3)]
    b = browser("merchant1")
    page = b.get("/merchant/invoices").get_data(as_text=True)
    assert all(n in page for n in numbers)
    page = b.get(f"/merchant/invoices?q={numbers[1]}").get_data(as_text=True)
    assert numbers[1] in page and numbers[0] not in page
    page = b.get("/merchant/invoices?status=Voided").get_data(as_text=True)
    assert numbers[0] not in page
    # merchant B cannot see or act on merchant A's invoice
    other = browser("merchant2")
    assert other.get(f"/invoices/{numbers[0]}").status_code == 403
    assert other.post(f"/invoices/{numbers[0]}/void", page=other.get("/merchant/invoices").get_data(
        as_text=True)).status_code == 403
    assert numbers[0] not in other.get("/merchant/invoices").get_data(as_text=True)
    # void
    detail = b.get(f"/invoices/{numbers[0]}").get_data(as_text=True)
    r = b.post(f"/invoices/{numbers[0]}/void", page=detail)
    assert r.status_code == 302
    page = b.get(f"/invoices/{numbers[0]}").get_data(as_text=True)
    assert ">已作废</span>" in page and 'data-event="InvoiceVoided"><strong>销售方作废' in page
    # voiding again is refused with the chain's reason
    r = b.post(f"/invoices/{numbers[0]}/void", page=page, follow_redirects=True)
    assert "发票状态（已作废）不允许此操作" in r.get_data(as_text=True)  # in words, no error code
    assert "InvalidInvoiceStatus" not in r.get_data(as_text=True)
    # partial red-letter note
    detail = b.get(f"/invoices/{numbers[1]}").get_data(as_text=True)
    r = b.post(f"/invoices/{numbers[1]}/red-letter", {"reason_code": "1", "amount": "50.00"}, page=detail)
    assert r.status_code == 302
    note = b.get(r.headers["Location"]).get_data(as_text=True)
    assert "<h1>红字发票" in note and numbers[1] in note
    # the document download is the canonical JSON
    doc = b.get(f"/invoices/{numbers[2]}/document.json")
    assert json.loads(doc.data)["number"] == numbers[2]
    assert browser("buyer").get(f"/invoices/{numbers[2]}").status_code == 200
    assert numbers[2] in browser("buyer").get("/buyer/invoices").get_data(as_text=True)


def test_auditor_queue_clear(browser, api):
    inv = api("merchant1").post("/invoices", json=sample_invoice(buyer_tax_id="91350100M000100Y43")).get_json()
    assert inv["status"] == "Flagged"
    a = browser("auditor")
    page = a.get("/audit/queue").get_data(as_text=True)
    assert inv["number"] in page and "购销双方相同" in page
    r = a.post(f"/audit/invoices/{inv['number']}/clear", {"reason_code": "1"}, page=page)
    assert r.status_code == 302
    assert "<small>(0)</small>" in a.get("/audit/queue").get_data(as_text=True)
    assert ">审核通过</span>" in a.get(f"/invoices/{inv['number']}").get_data(as_text=True)
    # the authority sees the queue but cannot review (no AUDITOR_ROLE)
    auth = browser("authority")
    assert auth.get("/audit/queue").status_code == 200
    assert auth.post(f"/audit/invoices/{inv['number']}/reject", {"reason_code": "1"},
                     page=auth.get("/audit/queue").get_data(as_text=True)).status_code == 403


def test_issue_form_offers_the_allowed_rates(browser, api):
    """Issue 14, defect 7: the rate list follows the authority's allowed rates on chain."""
    b = browser("merchant1")
    offered = lambda: re.findall(r'<option value="(\d+)"[^>]*>\d+%</option>',  # noqa: E731
                                 b.get("/merchant/issue").get_data(as_text=True))
    assert set(offered()) == {"0", "1", "3", "5", "6", "9", "13"}
    assert api("authority").post("/audit/parameters", json={"allowed_rates": [6, 13]}).status_code == 200
    assert set(offered()) == {"6", "13"}


def test_review_and_seller_forms_fit_the_state(browser, api):
    """Issue 14, defects 4 and 5: a rejection offers rejection reasons only and asks for
    confirmation, as voiding does; a flagged or voided invoice offers no void or red-letter
    form."""
    flagged = api("merchant1").post("/invoices", json=sample_invoice(buyer_tax_id="91350100M000100Y43")).get_json()
    page = browser("auditor").get(f"/invoices/{flagged['number']}").get_data(as_text=True)
    reject = re.search(r'(<form[^>]*action="/audit/invoices/\d+/reject"[^>]*>)(.*?)</form>', page, re.S)
    assert reject and "data-confirm=" in reject.group(1)
    assert "已核实" not in reject.group(2) and "虚开" in reject.group(2)
    assert 'required><option value="">' in reject.group(2)
    seller = browser("merchant1")
    text = seller.get(f"/invoices/{flagged['number']}").get_data(as_text=True)
    assert 'id="no-seller-actions"' in text and "/void" not in text
    issued = api("merchant1").post("/invoices", json=sample_invoice()).get_json()
    text = seller.get(f"/invoices/{issued['number']}").get_data(as_text=True)
    void = re.search(r'<form[^>]*action="/invoices/\d+/void"[^>]*>', text)
    assert void and "data-confirm=" in void.group(0) and 'id="no-seller-actions"' not in text
    assert api("merchant1").post(f"/invoices/{issued['number']}/void").status_code == 200
    text = seller.get(f"/invoices/{issued['number']}").get_data(as_text=True)
    assert 'id="no-seller-actions"' in text and "/void" not in text and "/red-letter" not in text


def test_authority_merchants_and_parameters(browser, chain_app):
    from backend.cli import create_user

    with chain_app.app_context():
        create_user("shop3", "merchant", "pw-test-123", dev_account=6)
    shop = Browser(chain_app).login("shop3")
    r = shop.post("/merchant/registration", {"name": "福州示例", "tax_id": "91350100M000100Y43",
                                             "licence_number": "L-3"}, follow_redirects=True)
    assert "操作被拒绝" in r.get_data(as_text=True)  # refused before the chain is asked
    assert "TaxIdAlreadyRegistered" not in r.get_data(as_text=True)  # in words, no error code
    # the issue form refuses an unregistered merchant with the reason
    r = shop.post("/merchant/issue", {**issue_form(), "action": "issue"})
    assert "请先进行商户登记。" in r.get_data(as_text=True)
    assert "操作被拒绝" in r.get_data(as_text=True) and "MerchantNotActive" not in r.get_data(as_text=True)
    auth = browser("authority")
    page = auth.get("/admin/merchants").get_data(as_text=True)
    assert "厦门示例贸易有限公司" in page
    # each approved merchant shows its number range and can get a new one
    first = re.search(r"(\d{20}) –<br>", page).group(1)
    assert first[2:5] == "351" and "分配新号段" in page
    mid = re.findall(r'/admin/merchants/(\d+)/numbers', page)[0]
    r = auth.post(f"/admin/merchants/{mid}/numbers", {"count": "500"}, page=page, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert "已分配新号段" in text and "剩余 500" in text
    page = auth.get("/admin/parameters").get_data(as_text=True)
    assert 'name="per_item_tolerance"' in page
    tol = int(re.search(r'name="per_item_tolerance" value="(\d+)"', page).group(1))
    form = {"allowed_rates": ["0", "1", "3", "5", "6", "9", "13"], "backdating_window": re.search(
        r'name="backdating_window" value="(\d+)"', page).group(1), "future_skew": re.search(
        r'name="future_skew" value="(\d+)"', page).group(1), "per_item_tolerance": str(tol + 2),
        "void_window": re.search(r'name="void_window" value="(\d+)"', page).group(1)}
    r = auth.post("/admin/parameters", form, page=page, follow_redirects=True)
    assert f'name="per_item_tolerance" value="{tol + 2}"' in r.get_data(as_text=True)
    # suspend merchant2 from the page
    mid = re.findall(r'/admin/merchants/(\d+)/suspend', auth.get("/admin/merchants").get_data(as_text=True))[1]
    r = auth.post(f"/admin/merchants/{mid}/suspend", {"reason": "review"},
                  page=auth.get("/admin/merchants").get_data(as_text=True), follow_redirects=True)
    assert "suspended" in r.get_data(as_text=True)


def test_public_verification_pages(browser, api):
    inv = api("merchant1").post("/invoices", json=sample_invoice()).get_json()
    date = api("merchant1").get(f"/invoices/{inv['number']}").get_json()["issue_date"]
    anon = browser()
    r = anon.post("/verify/", {"number": inv["number"], "issue_date": date, "gross": "226.00",
                               "check_code": inv["check_code"][-6:]})
    assert "真实有效" in r.get_data(as_text=True)
    r = anon.post("/verify/", {"number": "123", "issue_date": date, "gross": "1", "check_code": "1"})
    assert "请检查输入项" in r.get_data(as_text=True)
    csv_data = f"number,issue_date,gross,check_code\n{inv['number']},{date},{inv['gross']},{inv['check_code'][-6:]}\n"
    page = anon.get("/verify/batch").get_data(as_text=True)
    r = anon.c.post("/verify/batch", data={"csrf_token": token_of(page), "file": (io.BytesIO(csv_data.encode()),
                                                                                    "rows.csv")},
                    content_type="multipart/form-data")
    assert "真实有效: 1" in r.get_data(as_text=True)
    r = anon.c.post("/verify/batch", data={"csrf_token": token_of(page), "download": "1",
                                           "file": (io.BytesIO(csv_data.encode()), "rows.csv")},
                    content_type="multipart/form-data")
    assert r.mimetype == "text/csv" and ",真实有效," in r.get_data(as_text=True)
    r = anon.c.post("/verify/batch", data={"csrf_token": token_of(page), "file": (io.BytesIO(b"\xff\x00"), "x.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and "不是 UTF-8" in r.get_data(as_text=True)
    doc = api("merchant1").get(f"/invoices/{inv['number']}").get_json()["document"]
    page = anon.get("/verify/document").get_data(as_text=True)
    r = anon.c.post("/verify/document", data={"csrf_token": token_of(page), "file": (
        io.BytesIO(json.dumps(doc).encode()), "inv.json")}, content_type="multipart/form-data")
    assert "真实有效" in r.get_data(as_text=True)
    doc["gross"] += 1
    r = anon.c.post("/verify/document", data={"csrf_token": token_of(page), "file": (
        io.BytesIO(json.dumps(doc).encode()), "inv.json")}, content_type="multipart/form-data")
    assert "文件已被篡改" in r.get_data(as_text=True)
    # history for a logged-in verifier, with export
    buyer = browser("buyer")
    buyer.post("/verify/", {"number": inv["number"], "issue_date": date, "gross": "226.00",
                            "check_code": inv["check_code"][-6:]})
    page = buyer.get("/verify/history").get_data(as_text=True)
    assert inv["number"] in page
    r = buyer.get(f"/verify/history?q={inv['number']}&export=csv")
    assert r.mimetype == "text/csv" and inv["number"] in r.get_data(as_text=True)
    assert anon.get("/verify/history").status_code == 302


@pytest.mark.parametrize("path", ["/auth/login", "/auth/logout", "/auth/account", "/merchant/issue",
                                  "/merchant/registration", "/invoices/26531000000000000001/void",
                                  "/invoices/26531000000000000001/red-letter",
                                  "/audit/invoices/26531000000000000001/clear", "/admin/merchants/1/approve",
                                  "/admin/parameters", "/verify/", "/verify/batch", "/verify/document"])
def test_every_form_needs_csrf(browser, path):
    b = browser("authority")
    assert b.c.post(path, data={"x": "1"}).status_code == 400


def test_authority_users_page_grants_role(browser):
    auth = browser("authority")
    page = auth.get("/admin/users").get_data(as_text=True)
    assert "发票登记合约上的审计员角色" in page and "已授权" in page and "AUDITOR_ROLE" not in page
    uid = re.search(r'/admin/users/(\d+)/revoke', page).group(1)
    r = auth.post(f"/admin/users/{uid}/revoke", page=page, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert "未授权" in text
    assert "链上角色已撤销。" in text  # issue 14, defect 6
    assert browser("auditor").get("/admin/users").status_code == 403
