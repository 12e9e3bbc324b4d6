"""The buyer's inbox (收票箱) in Chromium: reached through the menu, "select all on this page"
ticks every invoice of the page (and says how many), the export of the selection downloads an
XLSX with a row per line item, unticking one leaves it out of the CSV; the search narrows
the list."""
import csv
import io

import openpyxl
import requests
from playwright.sync_api import expect

BUYER_TAX_ID = "91530100MA6K0002XU"  # the demo buyer's (backend.services.seed.DEMO)


def issue(live_server, items):
    r = requests.post(f"{live_server.url}/api/v1/invoices", timeout=30,
                      headers={"Authorization": f"Bearer {live_server.users['merchant1']['api_token']}"},
                      json={"buyer_name": "昆明示例商贸有限公司", "buyer_tax_id": BUYER_TAX_ID, "items": items})
    assert r.status_code == 201, r.text[:300]
    return r.json()["number"]


def test_buyer_selects_and_exports(page, new_page, login, live_server, screenshot, tmp_path):
    numbers = [issue(live_server, [{"name": "办公用品 Office supplies", "quantity": 10, "unit_price": 12_50,
                                    "tax_rate": 13},
                                   {"name": "咨询服务 Consulting", "unit_price": 500_00, "tax_rate": 6}]),
               issue(live_server, [{"name": "打印纸 Paper", "quantity": 3, "unit_price": 25_00, "tax_rate": 13}]),
               issue(live_server, [{"name": "服务器 Server", "unit_price": 8_000_00, "tax_rate": 13}])]
    login(page, "buyer")
    page.locator("[data-test=nav-inbox]").click()
    expect(page.get_by_role("heading", name="收票箱")).to_be_visible()
    rows = page.locator("#inbox-table tbody tr")
    expect(rows).to_have_count(3)

    page.get_by_label("全选本页").check()
    for number in numbers:
        expect(page.get_by_label(f"选择 {number}")).to_be_checked()
    expect(page.locator("#inbox-selected-count")).to_have_text("（已选 3 张）")
    screenshot(page, "inbox-selected")
    with page.expect_download() as info:
        page.locator("#inbox-export").get_by_role("button", name="Excel (XLSX)").first.click()
    path = tmp_path / "inbox.xlsx"
    info.value.save_as(path)
    sheet = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert sheet[0][0] == "发票号码" and len(sheet) == 1 + 4  # a row per line item
    assert sorted({row[0] for row in sheet[1:]}) == sorted(numbers)

    page.get_by_label(f"选择 {numbers[0]}").uncheck()
    expect(page.get_by_label("全选本页")).not_to_be_checked()
    expect(page.locator("#inbox-selected-count")).to_have_text("（已选 2 张）")
    with page.expect_download() as info:
        page.locator("#inbox-export").get_by_role("button", name="CSV").first.click()
    data = info.value.path().read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    got = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert sorted(row[0] for row in got[1:]) == sorted(numbers[1:])

    page.get_by_label("搜索").fill("打印纸")
    page.get_by_role("button", name="筛选").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(numbers[1])
    expect(rows.first.locator(".badge")).to_have_text("已开具")

    # a browser that asks for English: the page, the count and the file's headers in English
    english = login(new_page(locale="en-US"), "buyer")
    english.locator("[data-test=nav-inbox]").click()
    expect(english.get_by_role("heading", name="Inbox")).to_be_visible()
    english.get_by_label(f"Select {numbers[2]}").check()
    expect(english.locator("#inbox-selected-count")).to_have_text("(1 selected)")
    expect(english.locator(f"tr[data-number='{numbers[2]}'] .badge")).to_have_text("Issued")
    with english.expect_download() as info:
        english.locator("#inbox-export").get_by_role("button", name="CSV").first.click()
    got = list(csv.reader(io.StringIO(info.value.path().read_bytes().decode("utf-8-sig"), newline="")))
    assert got[0][:3] == ["Invoice number", "Line", "Issue date"] and [row[0] for row in got[1:]] == [numbers[2]]
