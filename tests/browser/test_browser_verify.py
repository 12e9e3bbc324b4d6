"""Verification pages in a real browser (issue 14): the batch page's script shows the result
table (the same as without JavaScript), its errors as sentences, the size limit with its
number and a progress bar over a large batch, and the rows in the user's history; single
verification takes a pasted 20-digit check code and names a partly red-lettered invoice's
reversed and remaining amounts. Chinese by default (the context's locale zh-CN); the script's
own words (progress, size limit) follow the page's language, English in an en-US context."""
import re

import requests
from playwright.sync_api import expect


def api(live_server, username, method, path, **kw):
    r = requests.request(method, f"{live_server.url}/api/v1{path}", timeout=30,
                         headers={"Authorization": f"Bearer {live_server.users[username]['api_token']}"}, **kw)
    assert r.status_code in (200, 201), (path, r.status_code, r.text[:300])
    return r.json()


def issued(live_server):
    """An invoice of ¥226.00 from merchant1 to the demo buyer, with its issue date."""
    inv = api(live_server, "merchant1", "POST", "/invoices", json={
        "buyer_name": "昆明示例商贸有限公司", "buyer_tax_id": "91530100MA6K0002XU",
        "items": [{"name": "办公用品 Office supplies", "quantity": 10, "unit_price": 20_00, "tax_rate": 13}]})
    inv["issue_date"] = api(live_server, "merchant1", "GET", f"/invoices/{inv['number']}")["issue_date"]
    return inv


def choose_file(page, name, data, mime="text/csv"):
    page.locator("#batch-form input[type=file]").set_input_files({"name": name, "mimeType": mime, "buffer": data})


def test_batch_with_javascript_shows_the_table_errors_limits_and_progress(page, login, live_server, screenshot):
    inv = issued(live_server)
    login(page, "buyer")
    page.goto("/verify/batch")
    expect(page.locator("#batch-limits")).to_contain_text("每批最多 20,000 行，文件不超过 2 MB")
    good = f"{inv['number']},{inv['issue_date']},{inv['gross']},{inv['check_code'][-6:]}"
    rows = ["number,issue_date,gross,check_code", good, f"{inv['number']},{inv['issue_date']},1,000000",
            "123,2026-01-01,1,1"]
    choose_file(page, "rows.csv", "\n".join(rows).encode())
    page.get_by_role("button", name="查验").click()
    table = page.locator("#batch-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tbody tr").nth(0)).to_contain_text("真实有效")
    expect(table.locator("tbody tr").nth(1)).to_contain_text("信息不一致")
    expect(table.locator("tbody tr").nth(2)).to_contain_text("第 3 行：发票号码应为 20 位数字")
    expect(page.locator("#batch-summary")).to_contain_text("共 3 行")
    expect(page.locator("#batch-status")).to_have_text("查验完成。")
    assert "{" not in page.locator("#batch-status").inner_text()
    expect(page.locator("main")).not_to_contain_text("Authentic")
    screenshot(page, "verify-batch-table")

    # an error: a sentence in the page's message area, no JSON
    choose_file(page, "wrong.csv", b"a,b\n1,2\n")
    page.get_by_role("button", name="查验").click()
    expect(page.locator(".flash.error")).to_contain_text("CSV 需要 number、issue_date、gross、check_code 四列")
    expect(page.locator("#batch-table")).to_have_count(0)
    assert "{" not in page.locator(".flash.error").inner_text()

    # over the size limit: refused before the upload, with the limit
    choose_file(page, "big.csv", b"x" * (2 * 1024 * 1024 + 1))
    page.get_by_role("button", name="查验").click()
    expect(page.locator("#batch-status")).to_have_text("文件过大：上限为 2 MB，请拆分后分批查验。")

    # a large batch: the bar shows the rows verified so far, then the table
    page.evaluate("""() => {
        window.seen = [];
        const status = document.getElementById("batch-status");
        new MutationObserver(() => window.seen.push(status.textContent)).observe(status, {childList: true,
                                                                                        characterData: true,
                                                                                        subtree: true});
    }""")
    choose_file(page, "large.csv", ("\n".join(["number,issue_date,gross,check_code"] + [good] * 20000)).encode())
    page.get_by_role("button", name="查验").click()
    expect(page.locator("#batch-progress")).to_be_visible()
    expect(page.locator("#batch-summary")).to_contain_text("真实有效: 20000", timeout=120_000)
    expect(page.locator("#batch-table tbody tr")).to_have_count(1000)
    expect(page.locator("#batch-progress")).to_be_hidden()
    seen = page.evaluate("window.seen")
    assert any(re.search(r"^查验中：[\d,]+ / 20,000 行$", s) for s in seen), seen

    # the rows are in the buyer's own history (one entry a row)
    page.goto(f"/verify/history?q={inv['number']}")
    expect(page.locator("#history-total")).to_contain_text("共 20002 条")
    expect(page.locator("#history-table tbody tr").first).to_contain_text("批量查验")
    expect(page.locator("#history-table thead")).to_contain_text("时间（北京时间 UTC+8）")


def test_batch_script_speaks_english_on_an_english_page(new_page, live_server):
    inv = issued(live_server)
    page = new_page(locale="en-US")
    page.goto("/verify/batch")
    expect(page.locator("#batch-limits")).to_have_text("At most 20,000 rows and 2 MB a file.")
    choose_file(page, "big.csv", b"x" * (2 * 1024 * 1024 + 1))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#batch-status")).to_have_text("The file is larger than the limit of 2 MB: split it into "
                                                       "smaller batches.")
    good = f"{inv['number']},{inv['issue_date']},{inv['gross']},{inv['check_code'][-6:]}"
    choose_file(page, "rows.csv", f"number,issue_date,gross,check_code\n{good}\n123,2026-01-01,1,1\n".encode())
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#batch-status")).to_have_text("Verification complete.")
    expect(page.locator("#batch-summary")).to_contain_text("2 rows: Authentic: 1 Invalid query: 1")
    expect(page.locator("#batch-table tbody tr").nth(1)).to_contain_text("Row 2: the invoice number must be 20 digits")
    expect(page.locator("main")).not_to_contain_text("查验")


def test_single_verification_takes_the_20_digit_code_and_names_red_letter_amounts(page, live_server):
    inv = issued(live_server)
    page.goto("/verify/")
    form = page.locator("main form.form")
    form.locator("[name=number]").fill(inv["number"])
    form.locator("[name=issue_date]").fill(inv["issue_date"])
    form.locator("[name=gross]").fill("226.00")
    form.locator("[name=check_code]").fill(inv["check_code"])  # all 20 digits, as pasted from the invoice
    assert form.locator("[name=check_code]").input_value() == inv["check_code"]
    form.get_by_role("button", name="查验").click()
    expect(page.locator("#verify-result")).to_contain_text("真实有效")

    form.locator("[name=check_code]").fill(inv["check_code"][-8:])
    form.get_by_role("button", name="查验").click()
    expect(page.locator(".flash.error")).to_contain_text("校验码请填写后6位数字或完整的20位数字（收到 8 位")
    expect(page.locator("#verify-result")).to_have_count(0)

    api(live_server, "merchant1", "POST", f"/invoices/{inv['number']}/red-letter", json={"reason_code": 1, "items": [
        {"name": "退货 return", "quantity": 1, "unit_price": 50_00, "tax_rate": 13}]})
    form.locator("[name=check_code]").fill(inv["check_code"][-6:])
    form.get_by_role("button", name="查验").click()
    result = page.locator("#verify-result")
    expect(result).to_contain_text("部分红冲")
    expect(result).to_contain_text("已冲减 ¥56.50，未冲销金额 ¥169.50")
    expect(result).not_to_contain_text("全额")
    expect(result).not_to_contain_text("Partly")
