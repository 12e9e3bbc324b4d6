"""Self-service onboarding in a real browser: a visitor finds the sign-up on the login page,
signs up (a mistake is said in words first), applies with a photo of its business licence (in
Chinese), the authority reviews the application with the licence shown and approves it (in
English), and the new merchant issues its first invoice."""
import re
import struct
import zlib

from playwright.sync_api import expect

PASSWORD = "Yunnan-tea-2026"
COMPANY = "昆明自助茶叶有限公司"
TAX_ID = "91530100MA6K0001XT"  # its 18th character is the right check character


def licence_png(width=40, height=24):
    """A small real PNG (grey stripes), as a phone photo of a licence would be uploaded."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([90 if y % 4 < 2 else 200] * width * 3) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_sign_up_apply_approve_and_issue_the_first_invoice(page, new_page, login, screenshot, issue_through_form):
    # the login page leads to the sign-up; a password without digits is explained in words
    page.goto("/auth/login")
    page.get_by_role("link", name="商户注册").click()
    expect(page.get_by_role("heading", name="商户注册")).to_be_visible()
    page.get_by_label("用户名").fill("kmtea")
    page.get_by_label("电子邮箱").fill("boss@kmtea.cn")
    page.get_by_label("密码（").fill("onlyletters")
    page.get_by_label("再次输入密码").fill("onlyletters")
    page.get_by_role("button", name="注册").click()
    expect(page.locator('[data-test="problem-password"]')).to_have_text(
        "密码须包含至少两类字符（小写字母、大写字母、数字、符号）。")
    page.get_by_label("密码（").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="注册").click()
    expect(page.locator(".flash.ok")).to_have_text("注册成功，请填写商户入驻申请。")
    expect(page.locator("header nav")).to_contain_text("kmtea · 商户")

    # the application, with the licence photo
    expect(page.get_by_role("heading", name="商户入驻申请")).to_be_visible()
    page.get_by_label("企业名称").fill(COMPANY)
    page.get_by_label("统一社会信用代码").fill(TAX_ID)
    page.get_by_label("营业执照号").fill("L-530100-0101")
    page.get_by_label("营业执照（").set_input_files(
        files=[{"name": "营业执照.png", "mimeType": "image/png", "buffer": licence_png()}])
    page.get_by_label("联系人").fill("王芳")
    page.get_by_label("联系电话").fill("0871-6500 8888")
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator(".flash.ok")).to_have_text("申请已提交，等待税务机关审核。")
    expect(page.locator('[data-test="application-status"]')).to_contain_text("待审核")
    screenshot(page, "onboarding-application-pending")

    # the authority (an English browser) finds it among the merchants, sees the licence and approves it
    authority = login(new_page(locale="en-US"), "authority")
    authority.locator("#site-nav a[href='/admin/merchants']").click()
    authority.locator("tr", has_text=COMPANY).locator("a[href*='/admin/applications/']").click()
    expect(authority.get_by_role("heading", name=f"Merchant application · {COMPANY}")).to_be_visible()
    facts = authority.locator("dl.facts")
    expect(facts).to_contain_text("王芳")
    expect(facts).to_contain_text("boss@kmtea.cn")
    expect(facts).to_contain_text("Pending review")
    preview = authority.locator("img.licence-preview")
    expect(preview).to_be_visible()
    assert preview.evaluate("img => img.naturalWidth") == 40  # the uploaded image itself
    authority.get_by_label("Per-invoice cap (yuan)").fill("20000")
    authority.get_by_role("button", name="Approve", exact=True).click()
    expect(authority.locator(".flash.ok")).to_contain_text(COMPANY)
    expect(authority.locator("tr", has_text=COMPANY)).to_contain_text("¥20,000.00")
    screenshot(authority, "onboarding-authority-approved")

    # the merchant sees the approval and its limits in yuan, then issues its first invoice
    page.reload()
    status = page.locator('[data-test="application-status"]')
    expect(status).to_contain_text("已批准")
    expect(status).to_contain_text("单张上限 ¥20,000.00")
    number = issue_through_form(page)
    assert re.fullmatch(r"\d{20}", number)
    expect(page.locator("main")).to_contain_text(COMPANY)
    screenshot(page, "onboarding-first-invoice")
