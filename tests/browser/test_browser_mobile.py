"""The platform on a phone (375 × 740, issue 14): each role signs in, opens the folded menu,
reaches its main pages — none wider than the screen (no sideways scrolling) — and does its
main job there: a merchant issues an invoice, an auditor opens a flagged one from its home
page and clears it, the authority saves the audit parameters, a buyer accepts a receivable.
Tables are cards then, each value with its column's name. Screenshots of each phone page are
kept in reports/browser/mobile-*.png."""
import re
from datetime import date, timedelta

import requests
from playwright.sync_api import expect

PHONE = {"width": 375, "height": 740}
BUYER_NAME = "昆明示例商贸有限公司"
BUYER_TAX_ID = "91530100MA6K0002XU"  # the demo buyer's (backend.services.seed.DEMO)
SELLER_TAX_ID = "91350100M000100Y43"  # merchant1's: an invoice to itself is flagged (self-dealing)


def phone(new_page):
    return new_page(viewport=PHONE, is_mobile=True, has_touch=True)


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


def go(page, link_name, screenshot, name):
    """Through the menu to the page of ``link_name``; checks that it fits the screen."""
    open_menu(page).get_by_role("link", name=link_name, exact=True).click()
    expect(page.locator("#site-nav")).to_be_hidden()  # a new page: the menu folded again
    fits(page, screenshot, name)


def sign_in(page, username, password, app):
    page.goto("/auth/login")
    form = page.locator("main form")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password").fill(password)
    with page.expect_navigation():
        form.get_by_role("button", name="Log in").click()
    if page.url.endswith("/auth/two-factor/code"):  # officials: the authenticator's code
        from backendutil import second_factor_code

        page.locator("main form").get_by_label("Code").fill(second_factor_code(app, username))
        page.locator("main form").get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name=re.compile("待办"))).to_be_visible()  # the home page
    nav = open_menu(page)
    expect(nav).to_contain_text(f"{username} ·")
    page.locator("#menu > summary").click()  # and folded again
    expect(nav).to_be_hidden()


def api(live_server, username, path, body):
    r = requests.post(f"{live_server.url}/api/v1{path}", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {live_server.users[username]['api_token']}"})
    assert r.status_code == 201, r.text[:300]
    return r.json()


def home_item(page, key):
    return page.locator(f'#attention li[data-item="{key}"]')


def test_merchant_on_a_phone(new_page, live_server, screenshot):
    page = phone(new_page)
    sign_in(page, "merchant1", live_server.password, live_server.app)
    expect(home_item(page, "month")).to_have_attribute("data-count", "0")
    expect(home_item(page, "failed")).to_contain_text("没有开票失败的发票")
    fits(page, screenshot, "merchant-home")
    go(page, "Invoices 发票", screenshot, "merchant-invoices")
    go(page, "应收账款 Receivables", screenshot, "merchant-receivables")
    go(page, "数据看板 Dashboard", screenshot, "merchant-dashboard")
    go(page, "入驻申请 Application", screenshot, "merchant-application")

    # issues an invoice on the phone: the line items are a card each, every field reachable
    go(page, "Issue 开票", screenshot, "merchant-issue")
    page.get_by_label("名称", exact=True).first.fill(BUYER_NAME)
    page.get_by_label("纳税人识别号").fill(BUYER_TAX_ID)
    page.locator("input[name=item-0-name]").fill("办公用品 Office supplies")
    page.get_by_label("数量").fill("10")
    page.get_by_label("单价").fill("12.50")
    page.get_by_label("税率", exact=True).select_option("13")
    page.get_by_role("button", name="计算合计").click()
    expect(page.locator(".totals")).to_contain_text("价税合计 ¥141.25")
    fits(page, screenshot, "merchant-issue-totals")
    page.get_by_role("button", name="开具并上链").click()
    expect(page.locator(".flash.ok")).to_contain_text("开票成功")
    number = re.search(r"/invoices/(\d{20})$", page.url).group(1)
    fits(page, screenshot, "merchant-invoice")

    # home counts it in this month's invoices; its list shows it as a card with labelled values
    page.locator("header .brand").click()
    expect(home_item(page, "month")).to_have_attribute("data-count", "1")
    expect(home_item(page, "month")).to_contain_text("¥141.25")
    go(page, "Invoices 发票", screenshot, "merchant-invoices-one")
    cell = page.locator("#invoice-table tbody tr", has_text=number).locator('td[data-label="价税合计"]')
    expect(cell).to_have_text("¥141.25")
    label = cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"价税合计"'


def test_auditor_opens_a_flagged_invoice_on_a_phone(new_page, live_server, screenshot):
    flagged = api(live_server, "merchant1", "/invoices",
                  {"buyer_name": "厦门示例贸易有限公司", "buyer_tax_id": SELLER_TAX_ID,
                   "items": [{"name": "咨询服务 Consulting", "unit_price": 500_00, "tax_rate": 6}]})
    assert flagged["status"] == "Flagged"
    page = phone(new_page)
    sign_in(page, "auditor", live_server.password, live_server.app)
    item = home_item(page, "review_backlog")
    expect(item).to_have_attribute("data-count", "1")
    expect(home_item(page, "alerts_mine_open")).to_contain_text("没有分配给您的待处理预警")
    fits(page, screenshot, "auditor-home")
    go(page, "All invoices 全部发票", screenshot, "auditor-invoices")
    go(page, "异常预警 Alerts", screenshot, "auditor-alerts")
    go(page, "报表 Reports", screenshot, "auditor-reports")
    go(page, "History 查验记录", screenshot, "auditor-history")

    # from home to the queue (a card per invoice), then the invoice, cleared there
    page.locator("header .brand").click()
    home_item(page, "review_backlog").get_by_role("link").click()
    row = page.locator("#review-queue tbody tr", has_text=flagged["number"])
    expect(row).to_be_visible()
    fits(page, screenshot, "auditor-queue")
    row.get_by_role("link", name=flagged["number"]).click()
    expect(page.locator("h1 .badge")).to_have_text("待审核")
    fits(page, screenshot, "auditor-flagged-invoice")
    page.get_by_role("button", name="通过 Clear").click()
    expect(page.locator(".flash.ok")).to_contain_text("审核完成")
    fits(page, screenshot, "auditor-cleared")
    page.locator("header .brand").click()
    expect(home_item(page, "review_backlog")).to_have_attribute("data-count", "0")
    expect(home_item(page, "review_backlog")).to_contain_text("审核队列为空")


def test_authority_on_a_phone(new_page, live_server, screenshot):
    page = phone(new_page)
    sign_in(page, "authority", live_server.password, live_server.app)
    for key in ("applications", "review_backlog", "alerts_open"):
        expect(home_item(page, key)).to_have_attribute("data-count", "0")
    fits(page, screenshot, "authority-home")
    go(page, "Review queue 审核", screenshot, "authority-queue")
    go(page, "异常预警 Alerts", screenshot, "authority-alerts")
    go(page, "Users 用户角色", screenshot, "authority-users")
    go(page, "数据看板 Dashboard", screenshot, "authority-dashboard")
    go(page, "Merchants 商户管理", screenshot, "authority-merchants")
    expect(page.get_by_role("button", name="Suspend 暂停")).to_have_count(3)  # each merchant's, on its card

    go(page, "Parameters 审计参数", screenshot, "authority-parameters")
    page.get_by_role("button", name="Save on chain 保存上链").click()
    expect(page.locator(".flash.ok")).to_contain_text("审计参数已更新")
    fits(page, screenshot, "authority-parameters-saved")


def test_buyer_accepts_a_receivable_on_a_phone(new_page, live_server, screenshot):
    invoice = api(live_server, "merchant1", "/invoices",
                  {"buyer_name": BUYER_NAME, "buyer_tax_id": BUYER_TAX_ID,
                   "items": [{"name": "服务器 Server", "unit_price": 8_000_00, "tax_rate": 13}]})
    due = (date.today() + timedelta(days=30)).isoformat()
    api(live_server, "merchant1", "/receivables", {"invoice_number": invoice["number"], "amount": 5_000_00,
                                                    "due_date": due})
    page = phone(new_page)
    sign_in(page, "buyer", live_server.password, live_server.app)
    expect(home_item(page, "new_invoices")).to_have_attribute("data-count", "1")
    expect(home_item(page, "to_accept")).to_have_attribute("data-count", "1")
    fits(page, screenshot, "buyer-home")
    go(page, "收票箱 Inbox", screenshot, "buyer-inbox")
    expect(page.locator("#inbox-table tbody tr", has_text=invoice["number"])).to_be_visible()
    go(page, "应付账款 Payables", screenshot, "buyer-payables")
    go(page, "报表 Reports", screenshot, "buyer-reports")

    # from home to the receivables to accept, accepted on the card
    page.locator("header .brand").click()
    home_item(page, "to_accept").get_by_role("link").click()
    card = page.locator("#to-accept-receivables tbody tr").first
    expect(card.locator('td[data-label="面值 Amount"]')).to_have_text("¥5,000.00")
    fits(page, screenshot, "buyer-to-accept")
    card.get_by_role("button", name="确认 Accept").click()
    expect(page.locator(".flash.ok")).to_contain_text("已确认应收账款")
    fits(page, screenshot, "buyer-accepted")
    page.locator("header .brand").click()
    expect(home_item(page, "to_accept")).to_have_attribute("data-count", "0")
    expect(home_item(page, "payables_week")).to_contain_text("7天内没有到期的应付账款")
