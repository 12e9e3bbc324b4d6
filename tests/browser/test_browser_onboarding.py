"""Self-service onboarding in a real browser: a visitor finds the sign-up on the login page,
signs up (a mistake is said in words first), applies with a photo of its business licence,
the authority reviews the application with the licence shown and approves it, and the new
merchant issues its first invoice."""
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
    page.get_by_role("link", name="商户注册 Sign up as a merchant").click()
    expect(page.get_by_role("heading", name="商户注册 Sign up as a merchant")).to_be_visible()
    page.get_by_label("用户名 Username").fill("kmtea")
    page.get_by_label("电子邮箱 E-mail").fill("boss@kmtea.cn")
    page.get_by_label("密码 Password（").fill("onlyletters")
    page.get_by_label("再次输入密码 Password again").fill("onlyletters")
    page.get_by_role("button", name="注册 Sign up").click()
    expect(page.locator('[data-test="problem-password"]')).to_contain_text("密码须包含至少两类字符")
    page.get_by_label("密码 Password（").fill(PASSWORD)
    page.get_by_label("再次输入密码 Password again").fill(PASSWORD)
    page.get_by_role("button", name="注册 Sign up").click()
    expect(page.locator(".flash.ok")).to_contain_text("注册成功")
    expect(page.locator("header nav")).to_contain_text("kmtea ·")

    # the application, with the licence photo
    expect(page.get_by_role("heading", name="商户入驻申请 Merchant application")).to_be_visible()
    page.get_by_label("企业名称 Company name").fill(COMPANY)
    page.get_by_label("统一社会信用代码 Tax ID").fill(TAX_ID)
    page.get_by_label("营业执照号 Business licence number").fill("L-530100-0101")
    page.get_by_label("营业执照 Business licence（").set_input_files(
        files=[{"name": "营业执照.png", "mimeType": "image/png", "buffer": licence_png()}])
    page.get_by_label("联系人 Contact person").fill("王芳")
    page.get_by_label("联系电话 Contact phone").fill("0871-6500 8888")
    page.get_by_role("button", name="提交申请 Send the application").click()
    expect(page.locator(".flash.ok")).to_contain_text("申请已提交")
    expect(page.locator('[data-test="application-status"]')).to_contain_text("待审核 Pending review")
    screenshot(page, "onboarding-application-pending")

    # the authority finds it among the merchants, sees the licence and approves it
    authority = login(new_page(), "authority")
    authority.get_by_role("link", name="Merchants 商户管理").click()
    row = authority.locator("tr", has_text=COMPANY)
    row.get_by_role("link", name="申请材料 Application").click()
    expect(authority.locator("dl.facts")).to_contain_text("王芳")
    expect(authority.locator("dl.facts")).to_contain_text("boss@kmtea.cn")
    preview = authority.locator("img.licence-preview")
    expect(preview).to_be_visible()
    assert preview.evaluate("img => img.naturalWidth") == 40  # the uploaded image itself
    authority.get_by_label("单张发票上限 Per-invoice cap").fill("20000")
    authority.get_by_role("button", name="批准 Approve").click()
    expect(authority.locator(".flash.ok")).to_contain_text(COMPANY)
    expect(authority.locator("tr", has_text=COMPANY)).to_contain_text("¥20,000.00")
    screenshot(authority, "onboarding-authority-approved")

    # the merchant sees the approval and its limits in yuan, then issues its first invoice
    page.reload()
    status = page.locator('[data-test="application-status"]')
    expect(status).to_contain_text("已批准 Approved")
    expect(status).to_contain_text("¥20,000.00")
    number = issue_through_form(page)
    assert re.fullmatch(r"\d{20}", number)
    expect(page.locator("main")).to_contain_text(COMPANY)
    screenshot(page, "onboarding-first-invoice")
