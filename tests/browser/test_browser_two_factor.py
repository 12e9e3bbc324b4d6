"""Two-factor sign-in in Chromium, as an official would meet it: an authority account without a
second factor signs in (a Chinese browser), cannot open an authority page, enrols by reading the
secret from the page (the code computed with pyotp, as an authenticator app would), is shown its
recovery codes once and reaches the authority pages; signing in again, from an English browser,
asks for a code on a page in English. The seeded auditor signs in through the ``login``
fixture's second step."""
import re
import time

import pyotp
from playwright.sync_api import expect

PASSWORD = "pw-browser-123"


def test_authority_enrols_then_reaches_the_authority_pages(page, new_page, live_server, login, screenshot):
    from backend.cli import create_user

    with live_server.app.app_context():
        create_user("authority2", "authority", PASSWORD)
    page.goto("/auth/login")
    form = page.locator("main form")
    form.get_by_label("用户名").fill("authority2")
    form.get_by_label("密码").fill(PASSWORD)
    form.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/auth/two-factor/enrol$"))
    expect(page.locator('[data-test="enrol-required"]')).to_have_text(
        "您的角色（税务机关）必须开启二次验证后才能使用平台。")
    page.goto("/admin/merchants")  # no authority page before the second factor
    expect(page).to_have_url(re.compile(r"/auth/two-factor/enrol$"))
    qr = page.locator('[data-test="totp-qr"]')
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0  # the data: SVG passed the CSP and was drawn
    secret = page.locator('[data-test="totp-secret"]').inner_text().strip()
    screenshot(page, "two-factor-enrol")
    page.get_by_label("验证码").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="确认并开启").click()
    expect(page.locator(".flash.ok").first).to_have_text("二次验证已开启。")
    expect(page.locator('[data-test="recovery-codes"] li')).to_have_count(10)
    page.locator('[data-test="recovery-continue"]').click()
    page.locator("header nav").get_by_role("link", name="商户管理").click()
    expect(page).to_have_url(re.compile(r"/admin/merchants$"))
    expect(page.locator("main h1")).to_contain_text("商户管理")

    # signing in again from an English browser: the password, then a code (the next 30-second
    # step's: the current one was used), the pages in English
    english = new_page(locale="en-US")
    english.goto("/auth/login")
    english.get_by_label("Username").fill("authority2")
    english.get_by_label("Password").fill(PASSWORD)
    english.get_by_role("button", name="Log in").click()
    expect(english).to_have_url(re.compile(r"/auth/two-factor/code$"))
    expect(english.locator("main h1")).to_have_text("Second step")
    english.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    english.get_by_role("button", name="Verify and log in").click()
    expect(english.locator("header nav")).to_contain_text("authority2 · Authority")
    english.goto("/admin/users")
    expect(english).to_have_url(re.compile(r"/admin/users$"))

    auditor = login(new_page(), "auditor")  # the seeded auditor: enrolled, its code from the seed's secret
    auditor.goto("/audit/queue")
    expect(auditor).to_have_url(re.compile(r"/audit/queue$"))
    expect(auditor.locator("#review-queue")).to_be_attached()  # the queue, not the enrolment
