"""The platform on a phone (375 × 740, issue 14): each role signs in, opens the folded menu,
reaches its main pages — none wider than the screen (no sideways scrolling) — and does its
main job there: a merchant issues an invoice, an auditor opens a flagged one from its home
page and clears it, the authority saves the audit parameters, a buyer accepts a receivable.
Tables are cards then, each value with its column's name. Screenshots of each phone page are
kept in reports/browser/mobile-*.png. Links, fields and buttons are found by their addresses and
names (the pages are in the context's language, Chinese); the home page's words are checked."""
import re
from datetime import date, timedelta

import requests
from playwright.sync_api import expect

PHONE = {"width": 375, "height": 740}
BUYER_NAME = "昆明示例商贸有限公司"
BUYER_TAX_ID = "91530100MA6K0002XU"  # the demo buyer's (backend.services.seed.DEMO)
SELLER_TAX_ID = "91350100M000100Y43"  # merchant1's: an invoice to itself is flagged (self-dealing)


def fits(page, screenshot, name):
    """The page is no wider than the phone and no table on it scrolls sideways in its frame
    (every value and button within reach without scrolling sideways; the dashboards' figure
    tables, under the chart drawn from them and without actions, may); a screenshot of it."""
    page.wait_for_load_state()
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, f"mobile-{name}")
    assert width <= PHONE["width"], f"{name}: {page.url} is {width} px wide; sticking out: {sticking_out(page)}"
    wide = page.evaluate("""() => [...document.querySelectorAll(".table-wrap:not(:has(.dash-table))")]
        .filter(w => w.scrollWidth > w.clientWidth + 1)
        .map(w => (w.querySelector("table").id || w.querySelector("table").className) + " " + w.scrollWidth + "px")""")
    assert not wide, f"{name}: {page.url} has tables wider than the screen: {wide}"


def sticking_out(page):
    """The innermost elements whose right edge is beyond the screen (what to fix)."""
    return page.evaluate("""(w) => [...document.querySelectorAll("body *")]
        .filter(e => e.getBoundingClientRect().right > w && ![...e.children].some(c => c.getBoundingClientRect().right > w))
        .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : "")
                             + " " + Math.round(e.getBoundingClientRect().right) + "px")""", PHONE["width"])


def open_menu(page):
    """The menu is folded behind its button; opening it shows the links."""
    nav = page.locator("#site-nav")
    expect(nav).to_be_hidden()
    page.locator("#menu > summary").click()
    expect(nav).to_be_visible()
    return nav


def go(page, path, screenshot, name):
    """Through the menu to the page at ``path`` (its link found by its address, whatever the
    page's language); checks that it fits the screen."""
    open_menu(page).locator(f'a[href="{path}"]').click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    expect(page.locator("#site-nav")).to_be_hidden()  # a new page: the menu folded again
    fits(page, screenshot, name)


def on_phone(new_page, login, username):
    """A phone's page (touch; its context in Chinese) signed in as ``username`` through the
    conftest ``login`` (at a desktop width, where the header shows who signed in), then narrowed
    to the phone's width on its home page, whose menu shows the user."""
    page = new_page(viewport={"width": 1280, "height": 900}, is_mobile=True, has_touch=True)
    login(page, username)
    page.set_viewport_size(PHONE)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("main h1")).to_have_text("待办")  # the home page
    nav = open_menu(page)
    expect(nav).to_contain_text(f"{username} ·")
    page.locator("#menu > summary").click()  # and folded again
    expect(nav).to_be_hidden()
    return page


def api(live_server, username, path, body):
    r = requests.post(f"{live_server.url}/api/v1{path}", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {live_server.users[username]['api_token']}"})
    assert r.status_code == 201, r.text[:300]
    return r.json()


def home_item(page, key):
    return page.locator(f'#attention li[data-item="{key}"]')


def test_merchant_on_a_phone(new_page, login, screenshot):
    page = on_phone(new_page, login, "merchant1")
    expect(home_item(page, "month")).to_have_attribute("data-count", "0")
    expect(home_item(page, "failed")).to_contain_text("没有开票失败的发票")
    fits(page, screenshot, "merchant-home")
    go(page, "/merchant/invoices", screenshot, "merchant-invoices")
    go(page, "/receivables/", screenshot, "merchant-receivables")
    go(page, "/dashboards/merchant", screenshot, "merchant-dashboard")
    go(page, "/onboarding/apply", screenshot, "merchant-application")

    # issues an invoice on the phone: the line items are a card each, every field reachable
    go(page, "/merchant/issue", screenshot, "merchant-issue")
    form = page.locator("main form")
    form.locator("input[name=buyer_name]").fill(BUYER_NAME)
    form.locator("input[name=buyer_tax_id]").fill(BUYER_TAX_ID)
    form.locator("input[name=item-0-name]").fill("办公用品 Office supplies")
    form.locator("input[name=item-0-quantity]").fill("10")
    form.locator("input[name=item-0-unit_price]").fill("12.50")
    form.locator("select[name=item-0-tax_rate]").select_option("13")
    form.locator("button[name=action][value=preview]").click()
    expect(page.locator(".totals")).to_contain_text("¥141.25")
    fits(page, screenshot, "merchant-issue-totals")
    page.locator("main form button[name=action][value=issue]").click()
    expect(page).to_have_url(re.compile(r"/invoices/\d{20}$"))
    expect(page.locator(".flash.ok")).to_be_visible()
    number = re.search(r"/invoices/(\d{20})$", page.url).group(1)
    fits(page, screenshot, "merchant-invoice")

    # home counts it in this month's invoices; its list shows it as a card with labelled values
    page.locator("header .brand").click()
    expect(home_item(page, "month")).to_have_attribute("data-count", "1")
    expect(home_item(page, "month")).to_contain_text("¥141.25")
    go(page, "/merchant/invoices", screenshot, "merchant-invoices-one")
    cell = page.locator("#invoice-table tbody tr", has_text=number).locator('td[data-label^="价税合计"]')
    expect(cell).to_have_text("¥141.25")
    label = cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert label.startswith('"价税合计'), label


def test_auditor_opens_a_flagged_invoice_on_a_phone(new_page, live_server, login, screenshot):
    flagged = api(live_server, "merchant1", "/invoices",
                  {"buyer_name": "厦门示例贸易有限公司", "buyer_tax_id": SELLER_TAX_ID,
                   "items": [{"name": "咨询服务 Consulting", "unit_price": 500_00, "tax_rate": 6}]})
    assert flagged["status"] == "Flagged"
    page = on_phone(new_page, login, "auditor")
    item = home_item(page, "review_backlog")
    expect(item).to_have_attribute("data-count", "1")
    expect(home_item(page, "alerts_mine_open")).to_contain_text("没有分配给您的待处理预警")
    fits(page, screenshot, "auditor-home")
    go(page, "/audit/invoices", screenshot, "auditor-invoices")
    go(page, "/alerts", screenshot, "auditor-alerts")
    go(page, "/reports", screenshot, "auditor-reports")
    go(page, "/verify/history", screenshot, "auditor-history")

    # from home to the queue (a card per invoice), then the invoice, cleared there
    page.locator("header .brand").click()
    home_item(page, "review_backlog").get_by_role("link").click()
    row = page.locator("#review-queue tbody tr", has_text=flagged["number"])
    expect(row).to_be_visible()
    fits(page, screenshot, "auditor-queue")
    row.get_by_role("link", name=flagged["number"]).click()
    expect(page.locator("h1 .badge.s-flagged")).to_be_visible()
    fits(page, screenshot, "auditor-flagged-invoice")
    page.locator(f'form[action$="/invoices/{flagged["number"]}/clear"] button[type=submit]').click()
    expect(page.locator(".flash.ok")).to_be_visible()
    fits(page, screenshot, "auditor-cleared")
    page.locator("header .brand").click()
    expect(home_item(page, "review_backlog")).to_have_attribute("data-count", "0")
    expect(home_item(page, "review_backlog")).to_contain_text("审核队列为空")


def test_authority_on_a_phone(new_page, login, screenshot):
    page = on_phone(new_page, login, "authority")
    for key in ("applications", "review_backlog", "alerts_open"):
        expect(home_item(page, key)).to_have_attribute("data-count", "0")
    fits(page, screenshot, "authority-home")
    go(page, "/audit/queue", screenshot, "authority-queue")
    go(page, "/alerts", screenshot, "authority-alerts")
    go(page, "/admin/users", screenshot, "authority-users")
    go(page, "/dashboards/authority", screenshot, "authority-dashboard")
    go(page, "/admin/merchants", screenshot, "authority-merchants")
    suspend = page.locator('form[action$="/suspend"] button[type=submit]')
    expect(suspend).to_have_count(3)  # each merchant's, on its card

    go(page, "/admin/parameters", screenshot, "authority-parameters")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".flash.ok")).to_be_visible()
    fits(page, screenshot, "authority-parameters-saved")


def test_buyer_accepts_a_receivable_on_a_phone(new_page, live_server, login, screenshot):
    invoice = api(live_server, "merchant1", "/invoices",
                  {"buyer_name": BUYER_NAME, "buyer_tax_id": BUYER_TAX_ID,
                   "items": [{"name": "服务器 Server", "unit_price": 8_000_00, "tax_rate": 13}]})
    due = (date.today() + timedelta(days=30)).isoformat()
    api(live_server, "merchant1", "/receivables", {"invoice_number": invoice["number"], "amount": 5_000_00,
                                                    "due_date": due})
    page = on_phone(new_page, login, "buyer")
    expect(home_item(page, "new_invoices")).to_have_attribute("data-count", "1")
    expect(home_item(page, "to_accept")).to_have_attribute("data-count", "1")
    fits(page, screenshot, "buyer-home")
    go(page, "/inbox", screenshot, "buyer-inbox")
    expect(page.locator("#inbox-table tbody tr", has_text=invoice["number"])).to_be_visible()
    go(page, "/receivables/payables", screenshot, "buyer-payables")
    go(page, "/reports", screenshot, "buyer-reports")

    # from home to the receivables to accept, accepted on the card
    page.locator("header .brand").click()
    home_item(page, "to_accept").get_by_role("link").click()
    card = page.locator("#to-accept-receivables tbody tr").first
    expect(card.locator('td[data-label^="面值"]')).to_have_text("¥5,000.00")
    fits(page, screenshot, "buyer-to-accept")
    card.locator('[data-test="submit-accept"]').click()
    expect(page.locator(".flash.ok")).to_be_visible()
    fits(page, screenshot, "buyer-accepted")
    page.locator("header .brand").click()
    expect(home_item(page, "to_accept")).to_have_attribute("data-count", "0")
    expect(home_item(page, "payables_week")).to_contain_text("7天内没有到期的应付账款")
