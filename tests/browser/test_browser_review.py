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
    clear = page.locator("form", has=page.get_by_role("button", name="通过 Clear"))
    clear.get_by_label("通过原因 Reason to clear").select_option(label="Other 其他")
    clear.get_by_role("button", name="通过 Clear").click()
    expect(page.locator(".flash.error")).to_contain_text("选择“其他”原因时请填写审核意见")
    clear = page.locator("form", has=page.get_by_role("button", name="通过 Clear"))
    clear.get_by_label("通过原因 Reason to clear").select_option(label="Other 其他")
    clear.get_by_label("通过意见 Reason to clear, in your words").fill("关联门店内部结算，已电话核实")
    clear.get_by_role("button", name="通过 Clear").click()
    expect(page.locator(".flash.ok")).to_contain_text("审核完成")
    expect(page).to_have_url(f"{live_server.url}/invoices/{number}")
    reviews = page.locator("#invoice-reviews")
    expect(reviews).to_contain_text("审核通过")
    expect(reviews).to_contain_text("关联门店内部结算，已电话核实")
    expect(page.locator("h1 .badge")).to_have_text("审核通过")
    screenshot(page, "review-on-invoice-page")


def test_financier_menu(page, login):
    login(page, "financier")
    nav = page.locator("header nav")
    for name in ("融资申请 Offers", "融资组合 Portfolio", "数据看板 Dashboard", "Verify 查验", "History 查验记录"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    nav.get_by_role("link", name="融资申请 Offers").click()
    expect(page).to_have_url(re.compile(r"/receivables/offers$"))
