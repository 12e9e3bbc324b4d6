"""Two-factor sign-in in Chromium, as an official would meet it: an authority account without a
second factor signs in, cannot open an authority page, enrols by reading the secret from the
page (the code computed with pyotp, as an authenticator app would), is shown its recovery codes
once and reaches the authority pages; signing in again asks for a code. The seeded auditor signs
in through the ``login`` fixture's second step."""
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
    form.get_by_label("Username").fill("authority2")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/auth/two-factor/enrol$"))
    expect(page.locator('[data-test="enrol-required"]')).to_contain_text("必须开启二次验证")
    page.goto("/admin/merchants")  # no authority page before the second factor
    expect(page).to_have_url(re.compile(r"/auth/two-factor/enrol$"))
    qr = page.locator('[data-test="totp-qr"]')
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0  # the data: SVG passed the CSP and was drawn
    secret = page.locator('[data-test="totp-secret"]').inner_text().strip()
    screenshot(page, "two-factor-enrol")
    page.get_by_label("验证码 Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="确认并开启").click()
    expect(page.locator('[data-test="recovery-codes"] li')).to_have_count(10)
    page.locator('[data-test="recovery-continue"]').click()
    page.get_by_role("link", name="Merchants 商户管理").click()
    expect(page.get_by_role("heading", name="Merchants 商户管理")).to_be_visible()

    # signing in again: the password, then a code (the next 30-second step's: the current one was used)
    page.locator("header nav").get_by_role("button", name="Log out").click()
    page.goto("/auth/login")
    page.get_by_label("Username").fill("authority2")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/auth/two-factor/code$"))
    page.get_by_label("验证码 Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="验证并登录").click()
    expect(page.locator("header nav")).to_contain_text("authority2 ·")
    page.goto("/admin/users")
    expect(page.get_by_role("heading", name="Users and on-chain roles")).to_be_visible()

    auditor = login(new_page(), "auditor")  # the seeded auditor: enrolled, its code from the seed's secret
    auditor.goto("/audit/queue")
    expect(auditor.get_by_role("heading", name="Review queue")).to_be_visible()
