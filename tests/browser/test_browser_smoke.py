"""Smoke test in a real browser: a merchant signs in, issues an invoice through the issue
form, finds it on its invoice list and page (status, the indexed chain event), and the
public verification page, with no one signed in, finds it authentic; voiding it asks first.
The pages are in Chinese (the browser's zh-CN): the Chinese must be rendered with a CJK font,
not as empty boxes."""
import base64
import re
import subprocess

from playwright.sync_api import expect

BUYER_NAME = "昆明示例商贸有限公司"
BUYER_TAX_ID = "91530100MA6K0002XU"  # the demo buyer's (backend.services.seed.DEMO)
CJK = re.compile(r"[\u4e00-\u9fff]")


def fact(page, term):
    """The <dd> after the <dt> ``term`` on the invoice page."""
    return page.locator("dl.facts dt", has_text=re.compile(f"^{re.escape(term)}$")).locator(
        "xpath=following-sibling::dd[1]")


def cjk_fonts(page, selector):
    """The platform fonts Chromium used for the text of ``selector`` (DevTools protocol):
    [{"familyName": …, "glyphCount": …}]."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        cdp.detach()


def ink(page, png):
    """(share of pixels unlike the top-left one, number of distinct colours) of a PNG,
    counted on a canvas in ``page``: a blank one (the app's pages forbid data: images)."""
    data = "data:image/png;base64," + base64.b64encode(png).decode()
    return page.evaluate("""async (src) => {
        const img = new Image(); img.src = src; await img.decode();
        const c = document.createElement("canvas"); c.width = img.width; c.height = img.height;
        const g = c.getContext("2d"); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        let unlike = 0; const colours = new Set();
        for (let i = 0; i < d.length; i += 4) {
            if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) unlike++;
            colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        }
        return [unlike / (d.length / 4), colours.size];
    }""", data)


def test_merchant_issues_and_the_public_verifies(page, new_page, login, screenshot, reload_until_visible,
                                                 issue_through_form):
    login(page, "merchant1")

    # the issue form, reached through the menu; the invoice page, issued on chain, with its status in words
    number = issue_through_form(page)
    expect(page.locator(".flash.ok")).to_contain_text(f"开票成功：发票 {number} 已开具。")
    expect(page.locator("h1 .badge")).to_have_text("已开具")
    expect(page.locator("p.explain").first).to_have_text("已开具 — 已登记且有效")
    expect(fact(page, "购买方")).to_contain_text(BUYER_TAX_ID)
    expect(fact(page, "价税合计")).to_have_text("¥141.25")
    # the background indexer brings the chain event to the timeline, in words
    reload_until_visible(page, page.locator("ol.timeline li[data-event=InvoiceIssued]"))
    expect(page.locator("ol.timeline li[data-event=InvoiceIssued] strong")).to_have_text("登记上链")
    issue_date = fact(page, "开票日期").inner_text().strip()
    check_code = fact(page, "校验码").inner_text().strip()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", issue_date) and re.fullmatch(r"\d{20}", check_code)
    # its verification QR code: a data: image the page's Content-Security-Policy lets load
    qr = page.locator("#invoice-verify-qr img")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    verify_link = page.locator("#invoice-verify-link").get_attribute("href")
    assert f"number={number}" in verify_link and f"check_code={check_code[-6:]}" in verify_link
    expect(page.locator("#invoice-pdf-link")).to_be_visible()
    screenshot(page, "smoke-invoice-page")

    # the merchant's list shows it with its status
    page.get_by_role("link", name="发票", exact=True).click()
    row = page.locator("tbody tr", has_text=number)
    expect(row).to_contain_text(BUYER_NAME)
    expect(row.locator(".badge")).to_have_text("已开具")
    assert "Issued" not in page.locator("main").inner_text()  # one language

    # the public verification page, with no one signed in
    public = new_page()
    public.goto("/verify/")
    expect(public.get_by_role("link", name="登录")).to_be_visible()
    public.locator("input[name=number]").fill(number)
    public.locator("input[name=issue_date]").fill(issue_date)
    public.locator("input[name=gross]").fill("141.25")
    public.locator("input[name=check_code]").fill(check_code[-6:])
    public.locator("main form button[type=submit]").click()
    result = public.locator(".result")
    expect(result).to_have_class(re.compile(r"\br-authentic\b"))
    expect(result).to_contain_text("真实有效")
    # the QR code's link verifies at once, with no form to fill in
    link_page = new_page()
    link_page.goto(verify_link)
    expect(link_page.locator(".result")).to_have_class(re.compile(r"\br-authentic\b"))
    expect(link_page.locator(".result")).to_contain_text("真实有效")
    screenshot(link_page, "smoke-verify-link")

    # Chinese on the page, drawn with a CJK font, and a screenshot that is not blank
    assert CJK.search(public.locator("body").inner_text())
    assert subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False).stdout.strip(), \
        "no Chinese font: apt-get install fonts-noto-cjk (scripts/ensure_system.sh)"
    fonts = cjk_fonts(public, ".result strong")
    assert any("CJK" in f["familyName"] and f["glyphCount"] >= 4 for f in fonts), fonts
    path = screenshot(public, "smoke-verify-authentic")
    assert path.stat().st_size > 10_000
    scratch = public.context.new_page()  # about:blank
    unlike, colours = ink(scratch, path.read_bytes())
    assert unlike > 0.01 and colours > 20, (unlike, colours)
    heading_unlike, _ = ink(scratch, public.locator("main h1").first.screenshot())
    assert heading_unlike > 0.02, "发票查验 drew (almost) nothing"  # four glyphs across the page's width

    # voiding asks first (issue 14): dismissed, nothing happens; accepted, the invoice is voided
    page.goto(f"/invoices/{number}")
    void = page.locator("form[action$='/void'] button[type=submit]")
    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    void.click()
    expect(page.locator("h1 .badge")).to_have_text("已开具")
    assert dialogs == [f"确定作废发票 {number}？作废不可撤销。"], dialogs
    page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    void.click()
    expect(page.locator(".flash.ok")).to_have_text(f"发票 {number} 已作废。")
    expect(page.locator("h1 .badge")).to_have_text("已作废")
    expect(page.locator("form[action$='/void']")).to_have_count(0)  # a voided invoice offers no void form
    expect(page.locator("form[action$='/red-letter']")).to_have_count(0)
