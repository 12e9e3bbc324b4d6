"""The auditor reviews a flagged invoice from the invoice's own page with a reason in its own
words (kept by the platform: the chain has the preset code only); the financier's menu leads
to its offers, portfolio, dashboard and verification (issue 14)."""
import re

from backendutil import csrf_token, login, sample_invoice

from backend.core.db import db
from backend.core.models import ReviewNote

SELF = "91350100M000100Y43"  # merchant1's own tax ID as the buyer: self-dealing, flagged


def flagged(api):
    inv = api("merchant1").post("/invoices", json=sample_invoice(buyer_tax_id=SELF)).get_json()
    assert inv["status"] == "Flagged", inv
    return inv


def review_on_page(client, number, decision, headers=None, **form):
    path = f"/invoices/{number}"
    token = csrf_token(client, path)
    return client.post(f"/audit/invoices/{number}/{decision}", data={"csrf_token": token, "next": path, **form},
                       follow_redirects=True, headers=headers or {})


def test_the_review_queue_in_chinese_and_in_english(api, chain_app):
    inv = flagged(api)
    client = chain_app.test_client()
    login(client, "auditor")
    zh = client.get("/audit/queue").get_data(as_text=True)
    assert inv["number"] in zh and "待审核发票" in zh and "标记原因" in zh and "驳回原因" in zh and "虚开" in zh
    assert f"确定驳回发票 {inv['number']}？" in zh
    assert "Why flagged" not in zh and "Fictitious transaction" not in zh and "Reason to reject" not in zh
    en = client.get("/audit/queue", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert inv["number"] in en and "Flagged invoices to review" in en and "Why flagged" in en
    assert "Fictitious transaction" in en and f"Reject invoice {inv['number']}?" in en
    assert "标记原因" not in en and "虚开" not in en and "驳回" not in en
    token = csrf_token(client, "/audit/queue")
    r = client.post(f"/audit/invoices/{inv['number']}/reject", data={"csrf_token": token, "reason_code": "4"},
                    headers={"Accept-Language": "en"}, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert f"Review done: invoice {inv['number']} rejected." in text and "审核完成" not in text


def test_auditor_reviews_from_the_invoice_page_with_its_own_words(api, chain_app):
    inv = flagged(api)
    client = chain_app.test_client()
    login(client, "auditor")
    page = client.get(f"/invoices/{inv['number']}").get_data(as_text=True)
    assert page.count('name="note"') == 2  # clear and reject, each with a reason
    assert "通过原因" in page and "审核意见（选“其他”时必填）" in page and "已核实" in page  # Chinese by default
    assert "Reason to clear" not in page and "Verified with the merchant" not in page
    assert "<h2>审核</h2>" in page and page.count('name="note"') == 2  # clear and reject, each with a reason
    # "Other" says nothing alone: refused before any transaction
    r = review_on_page(client, inv["number"], "reject", reason_code="5", note="  ")
    text = r.get_data(as_text=True)
    assert "选择“其他”原因时请填写审核意见" in text and r.request.path == f"/invoices/{inv['number']}"
    assert text.count("选择“其他”原因时请填写审核意见") == 1 and "note:" not in text  # said once, no field name
    r = review_on_page(client, inv["number"], "reject", reason_code="5", note="", headers={"Accept-Language": "en"})
    text = r.get_data(as_text=True)
    assert "With the reason “Other”, write the reason in your own words." in text and "选择“其他”" not in text
    assert api("auditor").get(f"/invoices/{inv['number']}").get_json()["status"] == "Flagged"
    r = review_on_page(client, inv["number"], "clear", reason_code="5", note="买方为关联门店，已电话核实 verified by phone")
    text = r.get_data(as_text=True)
    assert r.request.path == f"/invoices/{inv['number']}" and f"审核完成：发票 {inv['number']} 审核通过。" in text
    assert 'id="invoice-reviews"' in text and "已电话核实 verified by phone" in text
    assert 'name="note"' not in text  # no more forms: it is cleared
    assert r.request.path == f"/invoices/{inv['number']}" and "审核完成" in text
    assert 'id="invoice-reviews"' in text and "<strong>审核通过</strong>" in text and "已电话核实 verified by phone" in text
    assert "<h2>审核</h2>" not in text  # no more forms: it is cleared
    detail = api("auditor").get(f"/invoices/{inv['number']}").get_json()
    assert detail["status"] == "Cleared"
    (review,) = detail["reviews"]
    assert review["decision"] == "clear" and review["reason_code"] == 5 and review["auditor"] == "auditor"
    assert review["note"] == "买方为关联门店，已电话核实 verified by phone" and re.fullmatch(r"0x[0-9a-f]{64}", review["tx_hash"])


def test_review_api_takes_a_note_and_refuses_other_without_one(api, chain_app):
    inv = flagged(api)
    r = api("auditor").post(f"/invoices/{inv['number']}/reject", json={"reason_code": 5})
    assert r.status_code == 400 and "note" in r.get_json()["fields"]
    r = api("auditor").post(f"/invoices/{inv['number']}/reject", json={"reason_code": 4, "note": "x" * 501})
    assert r.status_code == 400 and "note" in r.get_json()["fields"]
    r = api("auditor").post(f"/invoices/{inv['number']}/reject", json={"reason_code": 4, "note": "虚开：无真实交易"})
    assert r.status_code == 200 and r.get_json()["status"] == "Rejected"
    with chain_app.app_context():
        notes = db.session.query(ReviewNote).all()
        assert [(n.decision, n.reason_code, n.note) for n in notes] == [("reject", 4, "虚开：无真实交易")]


def test_financier_menu_leads_to_its_work(chain_app, seeded):
    client = chain_app.test_client()
    login(client, "financier")
    nav = re.search(r"<nav[^>]*>(.*?)</nav>", client.get("/").get_data(as_text=True), re.S).group(1)
    for path in ("/receivables/offers", "/receivables/portfolio", "/dashboards/financier", "/verify/",
                 "/verify/history"):
        assert f'href="{path}"' in nav, path
        assert client.get(path).status_code == 200, path


def test_the_authority_pages_in_chinese_and_in_english(chain_app, seeded):
    """Merchants (statuses, limits in yuan), parameters and users (on-chain roles in words, no
    role constants): one language per page; a decision's message in each language."""
    client = chain_app.test_client()
    login(client, "authority")
    en = {"Accept-Language": "en"}
    zh = client.get("/admin/merchants").get_data(as_text=True)
    assert "商户管理" in zh and "已批准" in zh and "单张" in zh and "¥" in zh and "分配新号段" in zh
    assert "Approved" not in zh and "Per invoice" not in zh and "Allocate a new range" not in zh
    english = client.get("/admin/merchants", headers=en).get_data(as_text=True)
    assert "Approved" in english and "Per invoice" in english and "Allocate a new range" in english
    assert "已批准" not in english and "单张" not in english and "分配新号段" not in english
    assert re.search(r"Per invoice <b>¥[\d,]+\.\d\d</b>", english)  # limits in yuan

    zh = client.get("/admin/parameters").get_data(as_text=True)
    assert "审计参数" in zh and "允许税率" in zh and "保存上链" in zh and "Allowed tax rates" not in zh
    english = client.get("/admin/parameters", headers=en).get_data(as_text=True)
    assert "Allowed tax rates" in english and "Save on chain" in english and "允许税率" not in english

    zh = client.get("/admin/users").get_data(as_text=True)
    assert "发票登记合约上的审计员角色" in zh and "已授权" in zh and "撤销" in zh
    english = client.get("/admin/users", headers=en).get_data(as_text=True)
    assert "the auditor role on the invoice registry" in english and "granted" in english
    assert "发票登记合约" not in english and "已授权" not in english
    for page in (zh, english):
        assert "AUDITOR_ROLE" not in page and "FINANCIER_ROLE" not in page and "InvoiceRegistry" not in page

    uid = re.search(r'/admin/users/(\d+)/revoke', english).group(1)
    token = csrf_token(client, "/admin/users")
    r = client.post(f"/admin/users/{uid}/revoke", data={"csrf_token": token}, headers=en, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert ": the on-chain role was revoked." in text and "not granted" in text and "链上角色" not in text
    r = client.post(f"/admin/users/{uid}/grant", data={"csrf_token": token}, follow_redirects=True)
    assert "：链上角色已授予。" in r.get_data(as_text=True) and "was granted" not in r.get_data(as_text=True)

    page = client.get("/admin/merchants").get_data(as_text=True)
    mid = re.findall(r'/admin/merchants/(\d+)/suspend', page)[0]
    r = client.post(f"/admin/merchants/{mid}/suspend", data={"csrf_token": token, "reason": "核查中"},
                    headers=en, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert ": suspended." in text and "Suspended" in text and "已暂停" not in text
    r = client.post(f"/admin/merchants/{mid}/numbers", data={"csrf_token": token, "count": "10"},
                    follow_redirects=True)  # a suspended merchant gets no range: said in words, in Chinese
    text = r.get_data(as_text=True)
    assert "只能为已批准的商户分配号段（该商户当前：已暂停）" in text and "suspended)" not in text
    r = client.post(f"/admin/merchants/{mid}/reinstate", data={"csrf_token": token}, follow_redirects=True)
    assert "：已恢复。" in r.get_data(as_text=True)
