"""Each role's main journey in Chromium, in Chinese and in English, on a desktop (1280 px) and a
phone (375 px) (issue 14): a merchant issues an invoice through the form and finds it in its
list; the public verifies one; the buyer finds one in its inbox; the auditor opens the review
queue and a flagged invoice; the authority opens the merchants, parameters and users pages; the
financier its offers and portfolio. Every page visited is in the browser's language only
(journeys_util.speaks: <html lang>, the catalog's words, nothing of the other language but
data); on a phone the menu is folded behind its button, tables are cards and no page scrolls
sideways. Also: the login page follows the browser's Accept-Language, the header's language
switch sticks after signing in (and across devices, saved on the user), and an authority
without a second factor reaches no authority page. A failed test leaves a screenshot of each
of its pages in reports/browser/ (conftest's new_page)."""
import re

import pytest
import requests
from journeys_util import (BUYER_NAME, BUYER_TAX_ID, HTML_LANG, ITEM, LOCALES, SELLER_NAME, SELLER_TAX_ID,
                           WIDTHS, fits, go, header_speaks, issue, mixed, one_language, sign_in, speaks, tr)
from playwright.sync_api import expect

NAMES = [SELLER_NAME, BUYER_NAME, ITEM]  # data: shown as they are in either language


@pytest.fixture(params=[(locale, width) for locale in LOCALES for width in WIDTHS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def journey_page(request, new_page):
    """A page in the parameter's language (the context's locale: its Accept-Language) and width;
    what is not in its language is gathered on the way and reported by one_language(page)."""
    locale, width = request.param
    phone = {"is_mobile": True, "has_touch": True} if width == "mobile" else {}
    page = new_page(locale=locale, viewport=WIDTHS[width], **phone)
    page.locale, page.language_problems = locale, []
    page.test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    yield page
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.passed and page.language_problems is not None:
        pytest.fail("a journey ends with one_language(page): its pages' language went unchecked")


def test_merchant_issues_an_invoice_and_finds_it(journey_page, live_server):
    page, locale = journey_page, journey_page.locale
    sign_in(page, live_server, "merchant1")
    speaks(page, locale, NAMES)
    go(page, "/merchant/issue")
    speaks(page, locale, NAMES)
    form = page.locator("main form")
    form.locator("input[name=buyer_name]").fill(BUYER_NAME)
    form.locator("input[name=buyer_tax_id]").fill(BUYER_TAX_ID)
    form.locator("input[name=item-0-name]").fill(ITEM)
    form.locator("input[name=item-0-quantity]").fill("10")
    form.locator("input[name=item-0-unit_price]").fill("12.50")
    form.locator("select[name=item-0-tax_rate]").select_option("13")
    form.locator("button[name=action][value=preview]").click()
    expect(page.locator(".totals")).to_contain_text("¥141.25")  # 10 × ¥12.50 + 13 % tax
    speaks(page, locale, NAMES)
    fits(page)
    page.locator("main form button[name=action][value=issue]").click()
    expect(page).to_have_url(re.compile(r"/invoices/\d{20}$"))
    number = page.url.rsplit("/", 1)[1]
    expect(page.locator(".flash.ok")).to_contain_text(number)
    expect(page.locator("main h1")).to_contain_text(number)
    expect(page.locator("main dl.facts").first).to_contain_text("¥141.25")
    speaks(page, locale, NAMES)
    fits(page)

    go(page, "/merchant/invoices")
    row = page.locator("#invoice-table tbody tr", has_text=number)
    expect(row).to_be_visible()
    expect(row).to_contain_text("¥141.25")
    speaks(page, locale, NAMES)
    one_language(page)


def test_public_verifies_an_invoice(journey_page, live_server):
    inv = issue(live_server)
    page, locale = journey_page, journey_page.locale
    page.goto("/")
    go(page, "/verify/")
    speaks(page, locale, NAMES)
    form = page.locator("main form")
    form.locator("input[name=number]").fill(inv["number"])
    form.locator("input[name=issue_date]").fill(inv["issue_date"])
    form.locator("input[name=gross]").fill("226.00")
    form.locator("input[name=check_code]").fill(inv["check_code"][-6:])
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    result = page.locator("#verify-result")
    expect(result).to_have_class(re.compile(r"\br-authentic\b"))
    speaks(page, locale, NAMES)
    fits(page)

    # a wrong amount: a mismatch, said in the same language
    form.locator("input[name=gross]").fill("225.00")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(result).not_to_have_class(re.compile(r"\br-authentic\b"))
    speaks(page, locale, NAMES)
    one_language(page)


def test_buyer_finds_an_invoice_in_the_inbox(journey_page, live_server):
    inv = issue(live_server)
    page, locale = journey_page, journey_page.locale
    sign_in(page, live_server, "buyer")
    go(page, "/inbox")
    row = page.locator(f"#inbox-table tbody tr[data-number='{inv['number']}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text("¥226.00")
    expect(row).to_contain_text(SELLER_NAME)
    speaks(page, locale, NAMES)
    with page.expect_navigation():
        row.locator(f"a[href$='/invoices/{inv['number']}']").click()
    expect(page.locator("main h1")).to_contain_text(inv["number"])
    expect(page.locator("main dl.facts").first).to_contain_text("¥226.00")
    speaks(page, locale, NAMES)
    fits(page)
    one_language(page)


def test_auditor_opens_the_review_queue_and_a_flagged_invoice(journey_page, live_server):
    # merchant1 invoicing itself is flagged (self-dealing): it waits in the review queue
    inv = issue(live_server, buyer_name=SELLER_NAME, buyer_tax_id=SELLER_TAX_ID)
    assert inv["status"] == "Flagged", inv
    page, locale = journey_page, journey_page.locale
    sign_in(page, live_server, "auditor")
    go(page, "/audit/queue")
    row = page.locator("#review-queue tbody tr", has_text=inv["number"])
    expect(row).to_be_visible()
    expect(row).to_contain_text("¥226.00")
    expect(row.locator("form button").first).to_be_visible()  # the decisions, within reach
    speaks(page, locale, NAMES)
    with page.expect_navigation():
        row.locator(f"a[href$='/invoices/{inv['number']}']").click()
    expect(page.locator("main h1")).to_contain_text(inv["number"])
    expect(page.locator("main .flags")).to_be_visible()  # why it was flagged
    speaks(page, locale, NAMES)
    fits(page)
    one_language(page)


def test_authority_opens_merchants_parameters_and_users(journey_page, live_server):
    page, locale = journey_page, journey_page.locale
    sign_in(page, live_server, "authority")
    go(page, "/admin/merchants")
    expect(page.locator("#merchants-table tbody tr", has_text=SELLER_NAME)).to_be_visible()
    speaks(page, locale, NAMES + ["北京示例科技有限公司", "广州示例商贸有限公司"])
    go(page, "/admin/parameters")
    expect(page.locator("main form input[name=backdating_window]")).to_be_visible()
    expect(page.locator("main form button[type=submit]")).to_be_visible()
    speaks(page, locale, NAMES)
    go(page, "/admin/users")
    expect(page.locator("#users-table tbody tr", has_text="merchant1")).to_be_visible()
    speaks(page, locale, NAMES)
    one_language(page)


def test_financier_opens_offers_and_portfolio(journey_page, live_server):
    page, locale = journey_page, journey_page.locale
    sign_in(page, live_server, "financier")
    go(page, "/receivables/offers")
    expect(page.locator("#page-title")).to_be_visible()
    speaks(page, locale, NAMES)
    go(page, "/receivables/portfolio")
    expect(page.locator("#portfolio-total")).to_have_text("¥0.00")
    speaks(page, locale, NAMES)
    one_language(page)


# --- languages and the second factor --------------------------------------------------------

def login_page_speaks(page, locale):
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[locale])
    expect(page.locator("main h1")).to_have_text(tr("Log in", locale))
    expect(page.locator("main form button[type=submit]")).to_have_text(tr("Log in", locale))
    expect(page.locator("main form label", has=page.locator("input[name=username]"))).to_have_text(
        tr("Username", locale))
    expect(page.locator("main form label", has=page.locator("input[name=password]"))).to_have_text(
        tr("Password", locale))
    assert not mixed(page, locale), mixed(page, locale)


def test_login_page_follows_the_browsers_language(new_page, live_server):
    for locale in LOCALES:
        page = new_page(locale=locale)
        page.goto("/auth/login")
        login_page_speaks(page, locale)
    # the same by the Accept-Language header alone, and Chinese without one
    for header, lang in (("zh-CN,zh;q=0.9", "zh-CN"), ("en", "en"), ("en-GB,en;q=0.8", "en"), (None, "zh-CN")):
        r = requests.get(f"{live_server.url}/auth/login", timeout=30,
                         headers={"Accept-Language": header} if header else {})
        assert f'<html lang="{lang}">' in r.text, (header, r.text[:200])
        assert f"<h1>{tr('Log in', lang)}</h1>" in r.text


def test_language_switch_sticks_after_signing_in(new_page, live_server):
    page = new_page(locale="zh-CN")
    page.goto("/auth/login")
    login_page_speaks(page, "zh-CN")
    with page.expect_navigation():
        page.locator("[data-test=language-switch] button[value=en]").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))  # back to the page it was pressed on
    login_page_speaks(page, "en-US")
    sign_in(page, live_server, "merchant1")
    header_speaks(page, "en-US")  # the visitor's choice kept through signing in
    go(page, "/merchant/invoices")
    header_speaks(page, "en-US")

    # switched back to Chinese while signed in: saved on the user, so another browser (English
    # by its Accept-Language) shows Chinese once signed in, and English before
    with page.expect_navigation():
        page.locator("[data-test=language-switch] button[value=zh]").click()
    expect(page).to_have_url(re.compile(r"/merchant/invoices$"))
    header_speaks(page, "zh-CN")
    other = new_page(locale="en-US")
    other.goto("/auth/login")
    login_page_speaks(other, "en-US")
    sign_in(other, live_server, "merchant1")
    header_speaks(other, "zh-CN")


AUTHORITY_PAGES = ["/admin/merchants", "/admin/parameters", "/admin/users", "/audit/queue", "/audit/invoices",
                   "/alerts", "/alerts/settings", "/dashboards/authority", "/dashboards", "/reports", "/"]


def test_authority_without_second_factor_reaches_no_authority_page(new_page, live_server):
    from backend.cli import create_user

    with live_server.app.app_context():
        create_user("authority2", "authority", live_server.password)
    page = new_page(locale="en-US")
    page.goto("/auth/login")
    form = page.locator("main form")
    form.locator("input[name=username]").fill("authority2")
    form.locator("input[name=password]").fill(live_server.password)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/auth/two-factor/enrol$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-test=totp-secret]")).to_be_visible()
    for path in AUTHORITY_PAGES:
        page.goto(path)
        assert page.url.endswith("/auth/two-factor/enrol"), f"{path} reached without a second factor: {page.url}"
    # nor through a form: a POST to an authority page (with the session's CSRF token) is turned away too
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    r = page.request.post("/admin/parameters", form={"csrf_token": token, "backdating_window": "1"},
                          max_redirects=0)
    assert r.status in (302, 303) and r.headers["location"].endswith("/auth/two-factor/enrol"), r.status
    # the enrolment page itself can be read in the other language: the header's switch works there
    with page.expect_navigation():
        page.locator("[data-test=language-switch] button[value=zh]").click()
    expect(page).to_have_url(re.compile(r"/auth/two-factor/enrol$"))
    header_speaks(page, "zh-CN")


def test_the_one_language_check_finds_the_other_language(browser):
    """journeys_util.mixed, on pages made up here: what the journeys above rely on to fail."""
    page = browser.new_page()
    try:
        def found(locale, main, role=None):
            header = f"<nav><a href='/auth/account'>buyer · {role or tr('Buyer', locale)}</a></nav>"
            page.set_content(f"<html><body><header>{header}</header><main>{main}</main></body></html>")
            return mixed(page, locale, data=[BUYER_NAME])

        chinese = ("<h1>发票 <span class='mono'>12345678901234567890</span></h1><p>导出 PDF、CSV 或 Excel 文件。</p>"
                   "<table><tr><th>价税合计</th></tr><tr><td data-label='价税合计'>¥141.25 Office supplies</td></tr>"
                   "</table><label>税号 <input value='Tax ID'></label><button>查验</button>")
        assert found("zh-CN", chinese) == []
        assert found("zh-CN", "<h1>发票 Invoice</h1>") == ["h1: 发票 Invoice"]  # a bilingual pair
        assert found("zh-CN", "<table><tr><th>发票号码 Number</th></tr></table>") == ["th: 发票号码 Number"]
        assert found("zh-CN", "<table><tr><td data-label='状态 Status'>已开具</td></tr></table>") == ["td[data-label]: 状态 Status"]
        assert found("zh-CN", "<p>本页列出全部发票。All invoices addressed to you.</p>") != []
        english = (f"<h1>Invoice <span class='mono'>1234</span></h1><p>Issued to {BUYER_NAME}.</p>"
                   "<table><tr><th>Item</th></tr><tr><td data-label='Item'>办公用品</td></tr></table>"
                   "<form data-test='language-switch'><button lang='zh-CN'>中文</button></form>")
        assert found("en-US", english) == []
        assert found("en-US", english, role="购买方") == ["a: buyer · 购买方"]  # the header's words too
        assert found("en-US", "<p>All invoices. 全部发票</p>") == ["p: All invoices. 全部发票"]
        assert found("en-US", "<table><tr><td data-label='状态 Status'>Issued</td></tr></table>") == ["td[data-label]: 状态 Status"]
        assert found("en-US", "<div>Reduced ¥1.00，open ¥2.00</div>") == ["div: Reduced ¥1.00，open ¥2.00"]
    finally:
        page.close()
