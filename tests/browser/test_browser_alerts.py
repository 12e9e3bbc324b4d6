"""The anomaly detector's alerts in Chromium: merchant1 issues three invoices just under its
per-invoice cap to one buyer (the API, as its own software would); the authority opens the
alerts page from the menu, finds the split-invoicing alert naming them, opens it (its
evidence, the invoices linked), acknowledges it and resolves it with a note."""
import requests
from playwright.sync_api import expect

BUYER_TAX_ID = "91530100MA6K0002XU"  # the demo buyer's (backend.services.seed.DEMO)


def issue_near_cap(live_server, i):
    net = 858_000_000 + 1_234 * i  # + 13 % tax: ~97 % of the demo cap (seed.LIMITS[0], ¥10,000,000)
    r = requests.post(f"{live_server.url}/api/v1/invoices", timeout=60,
                      headers={"Authorization": f"Bearer {live_server.users['merchant1']['api_token']}"},
                      json={"buyer_name": "昆明示例商贸有限公司", "buyer_tax_id": BUYER_TAX_ID,
                            "items": [{"name": "设备 Equipment", "unit_price": net, "tax_rate": 13}]})
    assert r.status_code == 201, r.text[:300]
    return r.json()["number"]


def test_authority_acknowledges_and_resolves_an_alert(page, login, live_server, screenshot):
    numbers = [issue_near_cap(live_server, i) for i in range(3)]
    login(page, "authority")
    page.get_by_role("link", name="异常预警").click()
    expect(page.get_by_role("heading", name="异常预警")).to_be_visible()
    page.get_by_label("类型").select_option("split_invoicing")
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("#alerts-table tbody tr[data-alert]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("拆分开票")
    expect(rows.first).to_contain_text("91350100M000100Y43")
    expect(rows.first).to_contain_text("待处理")
    expect(rows.first).not_to_contain_text("Split invoicing")
    screenshot(page, "alerts-list")

    rows.first.get_by_role("link").first.click()
    expect(page.locator("#alert-explanation")).to_contain_text("拆分开票")
    expect(page.locator("#alert-evidence")).to_contain_text("¥10,000,000.00")  # the cap, in yuan
    for number in numbers:
        expect(page.locator("#alert-invoices").get_by_role("link", name=number)).to_be_visible()

    page.get_by_role("button", name="确认", exact=True).click()
    expect(page.locator(".flash.ok")).to_contain_text("已确认预警")
    expect(page.locator("#alert-status")).to_have_text("已确认")
    expect(page.get_by_role("button", name="确认", exact=True)).to_have_count(0)

    page.get_by_label("处理说明（必填）").fill("已核实：同一客户分批交货 Verified: deliveries in parts")
    page.get_by_role("button", name="解决", exact=True).click()
    expect(page.locator(".flash.ok")).to_contain_text("已解决预警")
    expect(page.locator("#alert-status")).to_have_text("已解决")
    expect(page.locator("#alert-note")).to_have_text("已核实：同一客户分批交货 Verified: deliveries in parts")
    screenshot(page, "alert-resolved")

    page.get_by_role("link", name="← 全部预警").click()
    page.get_by_label("状态").select_option("resolved")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("#alerts-table tbody tr[data-alert]").first).to_contain_text("已解决")
    page.locator("#alerts-table tbody tr[data-alert]").first.get_by_role("link").first.click()
    page.locator("#alert-invoices").get_by_role("link", name=numbers[0]).click()
    expect(page).to_have_url(f"{live_server.url}/invoices/{numbers[0]}")


def test_an_alert_in_english(new_page, login, live_server, screenshot):
    numbers = [issue_near_cap(live_server, 10 + i) for i in range(3)]
    page = new_page(locale="en-US")
    login(page, "auditor")
    page.get_by_role("link", name="Alerts", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Alerts")).to_be_visible()
    page.get_by_label("Kind").select_option("split_invoicing")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("#alerts-table tbody tr[data-alert]").first
    expect(row).to_contain_text("Split invoicing")
    expect(row).to_contain_text("High")
    expect(row).not_to_contain_text("拆分开票")
    row.get_by_role("link").first.click()
    explanation = page.locator("#alert-explanation")
    expect(explanation).to_contain_text("one sale possibly split to stay under the cap")
    expect(explanation).not_to_contain_text("拆分开票")
    expect(page.locator("#alert-evidence")).to_contain_text("Per-invoice cap")
    expect(page.locator("#alert-evidence")).to_contain_text("¥10,000,000.00")
    expect(page.locator("#alert-invoices").get_by_role("link", name=numbers[-1])).to_be_visible()
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(page.locator(".flash.ok")).to_contain_text("Alert acknowledged")
    expect(page.locator("#alert-status")).to_have_text("Acknowledged")
    screenshot(page, "alert-english")
