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


def review_on_page(client, number, decision, **form):
    path = f"/invoices/{number}"
    token = csrf_token(client, path)
    return client.post(f"/audit/invoices/{number}/{decision}", data={"csrf_token": token, "next": path, **form},
                       follow_redirects=True)


def test_auditor_reviews_from_the_invoice_page_with_its_own_words(api, chain_app):
    inv = flagged(api)
    client = chain_app.test_client()
    login(client, "auditor")
    page = client.get(f"/invoices/{inv['number']}").get_data(as_text=True)
    assert "<h2>审核</h2>" in page and page.count('name="note"') == 2  # clear and reject, each with a reason
    # "Other" says nothing alone: refused before any transaction
    r = review_on_page(client, inv["number"], "reject", reason_code="5", note="  ")
    text = r.get_data(as_text=True)
    assert "选择“其他”原因时请填写审核意见" in text and r.request.path == f"/invoices/{inv['number']}"
    assert text.count("选择“其他”原因时请填写审核意见") == 1 and "note:" not in text  # said once, no field name
    assert api("auditor").get(f"/invoices/{inv['number']}").get_json()["status"] == "Flagged"
    r = review_on_page(client, inv["number"], "clear", reason_code="5", note="买方为关联门店，已电话核实 verified by phone")
    text = r.get_data(as_text=True)
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
