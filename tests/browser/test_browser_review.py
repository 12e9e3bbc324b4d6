"""The auditor clears a flagged invoice from the invoice's own page with a reason in its own
words; the financier's menu leads to its offers, portfolio and dashboard (issue 14)."""
import re

import requests
from playwright.sync_api import expect

SELF = "91350100M000100Y43"  # merchant1's own tax ID as the buyer: self-dealing, flagged


def test_auditor_reviews_on_the_invoice_page_with_a_free_text_reason(page, login, live_server, screenshot):
    r = requests.post(f"{live_server.url}/api/v1/invoices", timeout=30, json={
        "buyer_name": "厦门示例贸易有限公司", "buyer_tax_id": SELF,
        "items": [{"name": "咨询服务 Consulting", "quantity": 1, "unit_price": 500_00, "tax_rate": 6}]},
        headers={"Authorization": f"Bearer {live_server.users['merchant1']['api_token']}"})
    assert r.status_code == 201 and r.json()["status"] == "Flagged", r.text[:300]
    number = r.json()["number"]
    login(page, "auditor")
    page.goto(f"/invoices/{number}")
    clear = page.locator("form", has=page.get_by_role("button", name="通过", exact=True))
    clear.get_by_label("通过原因").select_option(label="其他")
    clear.get_by_role("button", name="通过", exact=True).click()
    expect(page.locator(".flash.error")).to_contain_text("选择“其他”原因时请填写审核意见")
    clear = page.locator("form", has=page.get_by_role("button", name="通过", exact=True))
    clear.get_by_label("通过原因").select_option(label="其他")
    clear.get_by_label("通过意见").fill("关联门店内部结算，已电话核实")
    clear.get_by_role("button", name="通过", exact=True).click()
    expect(page.locator(".flash.ok")).to_contain_text(f"审核完成：发票 {number} 审核通过。")
    expect(page).to_have_url(f"{live_server.url}/invoices/{number}")
    expect(page.locator("#invoice-reviews")).to_contain_text("关联门店内部结算，已电话核实")
    expect(page.locator("input[name=note]")).to_have_count(0)  # cleared: no more review forms
    reviews = page.locator("#invoice-reviews")
    expect(reviews).to_contain_text("审核通过")
    expect(reviews).to_contain_text("关联门店内部结算，已电话核实")
    expect(page.locator("h1 .badge")).to_have_text("审核通过")
    screenshot(page, "review-on-invoice-page")


def test_auditor_rejects_from_the_queue_in_english(new_page, login, live_server, screenshot):
    r = requests.post(f"{live_server.url}/api/v1/invoices", timeout=30, json={
        "buyer_name": "厦门示例贸易有限公司", "buyer_tax_id": SELF,
        "items": [{"name": "咨询服务 Consulting", "quantity": 1, "unit_price": 600_00, "tax_rate": 6}]},
        headers={"Authorization": f"Bearer {live_server.users['merchant1']['api_token']}"})
    assert r.status_code == 201 and r.json()["status"] == "Flagged", r.text[:300]
    number = r.json()["number"]
    page = new_page(locale="en-US")
    login(page, "auditor")
    page.goto("/audit/queue")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Flagged invoices to review")).to_be_visible()
    row = page.locator("#review-queue tr", has=page.get_by_role("link", name=number))
    reject = row.locator("form", has=page.get_by_role("button", name="Reject", exact=True))
    reject.get_by_label("Reason to reject", exact=True).select_option(label="Fictitious transaction")
    page.once("dialog", lambda d: d.accept() if d.message.startswith(f"Reject invoice {number}?") else d.dismiss())
    reject.get_by_role("button", name="Reject", exact=True).click()
    expect(page.locator(".flash.ok")).to_have_text(f"Review done: invoice {number} rejected.")
    expect(page.get_by_role("link", name=number)).to_have_count(0)
    screenshot(page, "review-queue-en")


def test_financier_menu(page, login):
    login(page, "financier")
    nav = page.locator("header nav")
    for name in ("融资申请", "融资组合", "数据看板", "查验", "查验记录"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    nav.get_by_role("link", name="融资申请").click()
    expect(page).to_have_url(re.compile(r"/receivables/offers$"))
