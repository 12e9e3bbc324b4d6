"""The receivables journey (issue 11) in a real browser, each user in a browser context of
its own: merchant1 issues an invoice to the demo buyer (through the API: the issue form has
its own tests) and draws a receivable on it from the invoice's page (a refused amount first, and a small one cancelled through its confirm()),
the buyer accepts it from 待确认 (a dismissed confirm() on 拒绝 first), merchant1 splits it
with the split form's live sum check and transfers part 2 to merchant2, merchant2 pledges
part 2 to the financier, the financier finances it from its offers with an advance and a
fee, the buyer settles both parts (one from its page, one from its payables' row). At the
end: both parts settled, the root split with its lineage, the financed part's timeline (the
financier repaid before the holder) and the settlement-token balances read through the API
(the financier +fee, merchant2 part 2 − fee, merchant1 part 1, the buyer −gross)."""
import re
from datetime import date, timedelta

import requests
from playwright.sync_api import expect

MERCHANT1_NAME = "厦门示例贸易有限公司"
MERCHANT2_NAME = "北京示例科技有限公司"
USERS = ("merchant1", "merchant2", "financier", "buyer")
CJK = re.compile(r"[\u4e00-\u9fff]")

GROSS = 141_25  # 10 × ¥12.50 + 13 % tax, fen
PART1, PART2 = 50_00, 91_25
ADVANCE, FEE = 80_00, 2_50


def yi(fen):
    """Fen as typed in a yuan input."""
    return f"{fen // 100}.{fen % 100:02d}"


def balances(live_server):
    """Each user's settlement-token balance in fen, through GET /api/v1/balances."""
    out = {}
    for name in USERS:
        r = requests.get(f"{live_server.url}/api/v1/balances", timeout=15,
                         headers={"Authorization": f"Bearer {live_server.users[name]['api_token']}"})
        assert r.status_code == 200, (name, r.status_code, r.text[:300])
        out[name] = r.json()["balance"]
    return out


def issue(live_server):
    """merchant1 issues ¥141.25 (10 × ¥12.50 + 13 % tax) to the demo buyer; its number."""
    r = requests.post(f"{live_server.url}/api/v1/invoices", timeout=30,
                      headers={"Authorization": f"Bearer {live_server.users['merchant1']['api_token']}"},
                      json={"buyer_name": "昆明示例商贸有限公司", "buyer_tax_id": "91530100MA6K0002XU",
                            "items": [{"name": "办公用品 Office supplies", "quantity": 10, "unit_price": 12_50,
                                       "tax_rate": 13}]})
    assert r.status_code == 201, r.text[:300]
    return r.json()["number"]


def rid_of(page):
    m = re.search(r"/receivables/(\d+)$", page.url)
    assert m, page.url
    return m.group(1)


def status_is(page, status):
    expect(page.locator("#receivable-status")).to_have_attribute("data-status", status)


def create_receivable(page, amount, due):
    form = page.locator("#create-receivable-form")
    form.locator("#receivable-amount-input").fill(amount)
    form.locator("#receivable-due-input").fill(due)
    form.locator("#create-receivable-submit").click()


def test_receivables_journey(page, new_page, login, screenshot, live_server, reload_until_visible):
    start = balances(live_server)
    assert start["buyer"] >= GROSS and start["financier"] >= ADVANCE, start
    due = (date.today() + timedelta(days=45)).isoformat()

    # --- 1. merchant1: an invoice to the demo buyer, a receivable drawn on it from its page
    m1 = login(page, "merchant1")
    number = issue(live_server)
    m1.goto(f"/invoices/{number}")
    reload_until_visible(m1, m1.locator("#create-receivable-form"))
    expect(m1.locator("#receivables")).to_contain_text("应收账款")
    expect(m1.locator("#invoice-available")).to_have_text("¥141.25")
    expect(m1.locator("#receivable-amount-input")).to_have_value(yi(GROSS))  # the available amount

    # a refusal in words, not a 500: more than the invoice has available
    create_receivable(m1, yi(GROSS + 1), due)
    expect(m1).to_have_url(re.compile(rf"/invoices/{number}$"))
    refused = m1.locator(".flash.error")
    expect(refused).not_to_contain_text("ExceedsInvoiceAvailable")  # in words: no error code
    expect(refused).to_contain_text("超过发票可用于应收账款的金额")
    expect(refused).to_contain_text("¥141.26")
    expect(m1.locator("#invoice-receivables tbody")).to_contain_text("暂无以本发票开立的应收账款")

    # a small one, cancelled: the confirm() accepted; its amount is given back to the invoice
    create_receivable(m1, "1.00", due)
    expect(m1.locator(".flash.ok")).to_contain_text("已开立应收账款")
    status_is(m1, "created")
    cancel = m1.locator("form[data-action=cancel]")
    expect(cancel).to_have_attribute("data-confirm", re.compile("确定撤销"))
    dialogs = []
    m1.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    cancel.get_by_role("button").click()
    expect(m1.locator(".flash.ok")).to_contain_text("已撤销应收账款")
    status_is(m1, "cancelled")
    assert dialogs and "确定撤销这笔应收账款吗" in dialogs[0], dialogs
    m1.locator("#receivable-facts").get_by_role("link", name=number).click()
    expect(m1.locator("#invoice-available")).to_have_text("¥141.25")

    # the whole gross (the form's default amount), with a due date
    expect(m1.locator("#receivable-amount-input")).to_have_value(yi(GROSS))
    m1.locator("#receivable-due-input").fill(due)
    m1.locator("#create-receivable-submit").click()
    expect(m1.locator(".flash.ok")).to_contain_text("已开立应收账款")
    status_is(m1, "created")
    rid = rid_of(m1)
    expect(m1.locator("#receivable-amount")).to_have_attribute("data-fen", str(GROSS))
    expect(m1.locator("#receivable-due-date")).to_contain_text(due)
    expect(m1.locator("#receivable-debtor")).to_contain_text(live_server.users["buyer"]["address"])
    expect(m1.locator("#receivable-actions")).to_have_attribute("data-actions", "cancel")  # no accept for it

    # --- 2. the buyer: 待确认, a decline dismissed (nothing happens), then accepted
    buyer = login(new_page(), "buyer")
    buyer.locator("[data-test=nav-to-accept]").click()
    expect(buyer.locator("#page-title")).to_contain_text("待确认")
    row = buyer.locator(f"#to-accept-receivables tr[data-rid='{rid}']")
    expect(row).to_contain_text(MERCHANT1_NAME)
    expect(row).to_contain_text("¥141.25")
    dismissed = []
    buyer.once("dialog", lambda d: (dismissed.append(d.message), d.dismiss()))
    row.locator("[data-test=submit-decline]").click()
    expect(row.locator("[data-test=submit-accept]")).to_be_visible()
    assert dismissed and "确定拒绝这笔应收账款吗" in dismissed[0], dismissed
    row.locator("[data-test=submit-accept]").click()
    expect(buyer.locator(".flash.ok")).to_contain_text("已确认应收账款")
    expect(buyer).to_have_url(re.compile(r"/receivables/to-accept$"))
    expect(buyer.locator(f"#to-accept-receivables tr[data-rid='{rid}']")).to_have_count(0)
    # the debtor may pay it, not hand it on
    buyer.goto(f"/receivables/{rid}")
    status_is(buyer, "accepted")
    expect(buyer.locator("#form-settle")).to_be_visible()
    expect(buyer.locator("#form-transfer")).to_have_count(0)
    expect(buyer.locator("#form-split")).to_have_count(0)

    # --- 3. merchant1 splits it (the live sum check), then transfers part 2 to merchant2
    m1.reload()
    status_is(m1, "accepted")
    split = m1.locator("#form-split")
    amounts = split.locator(".split-amount")
    remaining, submit = m1.locator("#split-remaining"), m1.locator("#split-submit")
    expect(amounts).to_have_count(2)
    expect(submit).to_be_enabled()  # the proposal: two near-equal parts summing to the face value
    amounts.nth(0).fill("100.00")
    amounts.nth(1).fill("20.00")
    expect(submit).to_be_disabled()
    expect(remaining).to_have_attribute("data-remaining", str(GROSS - 120_00))
    expect(remaining).to_have_text("剩余差额：¥21.25")
    amounts.nth(1).fill("50.00")
    expect(submit).to_be_disabled()
    expect(remaining).to_have_text("超出面值：¥8.75")
    amounts.nth(0).fill(yi(PART1))
    amounts.nth(1).fill(yi(PART2))
    expect(remaining).to_have_attribute("data-remaining", "0")
    expect(remaining).to_contain_text("合计等于面值 ¥141.25")
    expect(submit).to_be_enabled()
    # the same live check in English, for a browser that asks for English
    m1en = login(new_page(locale="en-US"), "merchant1")
    m1en.goto(f"/receivables/{rid}")
    expect(m1en.locator("#form-split h3")).to_have_text("Split")
    m1en.locator("#form-split .split-amount").nth(0).fill("100.00")
    m1en.locator("#form-split .split-amount").nth(1).fill("20.00")
    expect(m1en.locator("#split-remaining")).to_have_text("Remaining: ¥21.25")
    m1en.locator("#form-split .split-amount").nth(1).fill("50.00")
    expect(m1en.locator("#split-remaining")).to_have_text("Over the face value by ¥8.75")
    expect(m1en.locator("#receivable-status")).to_have_text("Accepted")
    assert not CJK.search(m1en.locator("#form-split").inner_text())
    screenshot(m1, "receivables-split-form")
    submit.click()
    expect(m1.locator(".flash.ok")).to_contain_text("已拆分应收账款")
    status_is(m1, "split")
    children = m1.locator("#receivable-parties [data-test=child-link]")
    expect(children).to_have_count(2)
    part1, part2 = (children.nth(i).get_attribute("href").rsplit("/", 1)[1] for i in range(2))
    children.nth(1).click()
    expect(m1).to_have_url(re.compile(rf"/receivables/{part2}$"))
    expect(m1.locator("#receivable-amount")).to_have_attribute("data-fen", str(PART2))
    m1.locator("#transfer-to").fill("merchant2")
    m1.locator("#transfer-submit").click()
    expect(m1.locator(".flash.ok")).to_contain_text("已转让应收账款")
    expect(m1.locator("#receivable-holder")).to_contain_text(MERCHANT2_NAME)
    expect(m1.locator("#form-transfer")).to_have_count(0)  # no longer merchant1's to hand on

    # --- 4. merchant2 finds part 2 among its receivables and pledges it to the financier
    m2 = login(new_page(), "merchant2")
    m2.locator("[data-test=nav-receivables]").click()
    expect(m2.locator("h1")).to_contain_text("应收账款")
    m2.locator(f"tr[data-rid='{part2}'] [data-test=receivable-link]").first.click()
    expect(m2).to_have_url(re.compile(rf"/receivables/{part2}$"))
    status_is(m2, "accepted")
    m2.locator("#pledge-financier").select_option("financier")
    m2.locator("#pledge-submit").click()
    expect(m2.locator(".flash.ok")).to_contain_text("已申请质押融资")
    status_is(m2, "offered")
    expect(m2.locator("#receivable-actions")).to_have_attribute("data-actions", "withdraw-pledge")

    # --- 5. the financier: its offers, part 2's page, financed with an advance and a fee
    bank = login(new_page(), "financier")
    bank.locator("[data-test=nav-offers]").click()
    expect(bank.locator("#page-title")).to_contain_text("融资申请")
    offer = bank.locator(f"#offered-receivables tr[data-rid='{part2}']")
    expect(offer).to_contain_text(MERCHANT2_NAME)
    expect(offer).to_contain_text("¥91.25")
    offer.locator("[data-test=receivable-link]").click()
    expect(bank).to_have_url(re.compile(rf"/receivables/{part2}$"))
    status_is(bank, "offered")
    bank.locator("#finance-advance").fill(yi(ADVANCE))
    bank.locator("#finance-fee").fill(yi(FEE))
    expect(bank.locator("#finance-check")).to_have_text("✓ 融资款 ≤ 未付 ¥91.25；✓ 融资款 + 手续费 = ¥82.50 ≤ ¥91.25")
    bank.locator("#finance-fee").fill("12.00")
    expect(bank.locator("#finance-check")).to_have_text("✓ 融资款 ≤ 未付 ¥91.25；✗ 融资款 + 手续费 = ¥92.00 > ¥91.25")
    bank.locator("#finance-fee").fill(yi(FEE))
    bank.locator("#finance-submit").click()
    expect(bank.locator(".flash.ok")).to_contain_text("已融资放款")
    status_is(bank, "pledged")
    expect(bank.locator("#receivable-owed-to-financier")).to_have_attribute("data-fen", str(ADVANCE + FEE))
    after_finance = balances(live_server)
    assert after_finance["merchant2"] - start["merchant2"] == ADVANCE
    assert start["financier"] - after_finance["financier"] == ADVANCE
    bank.locator("[data-test=nav-portfolio]").click()
    expect(bank.locator("#page-title")).to_contain_text("融资组合")
    expect(bank.locator("#portfolio-exposure")).to_contain_text("¥82.50")
    screenshot(bank, "receivables-portfolio")

    # --- 6. the buyer: its payables and token balance; part 2 paid on its page, part 1 from the list
    buyer.locator("[data-test=nav-payables]").click()
    expect(buyer.locator("#page-title")).to_contain_text("应付账款")
    expect(buyer.locator("#token-balance")).to_have_attribute("data-fen", str(after_finance["buyer"]))
    table = buyer.locator("#payable-receivables")
    expect(table.locator(f"tr[data-rid='{part1}']")).to_contain_text("¥50.00")
    expect(table.locator(f"tr[data-rid='{part2}']")).to_contain_text("¥91.25")
    expect(table.locator(f"tr[data-rid='{rid}']")).to_have_count(0)  # the split one is owed through its parts
    screenshot(buyer, "receivables-payables")
    table.locator(f"tr[data-rid='{part2}'] [data-test=receivable-link]").click()
    expect(buyer).to_have_url(re.compile(rf"/receivables/{part2}$"))
    expect(buyer.locator("#settle-amount")).to_have_value(yi(PART2))  # the outstanding
    expect(buyer.locator("#form-settle")).to_contain_text("其中先偿还金融机构 ¥82.50")
    buyer.locator("#settle-submit").click()
    expect(buyer.locator(".flash.ok")).to_contain_text("已付款")
    status_is(buyer, "settled")
    buyer.locator("[data-test=nav-payables]").click()
    row = buyer.locator(f"#payable-receivables tr[data-rid='{part1}']")
    expect(row.locator("[data-test=settle-amount]")).to_have_value(yi(PART1))
    row.locator("[data-test=submit-settle]").click()
    expect(buyer.locator(".flash.ok")).to_contain_text("已付款")
    expect(buyer.locator("#payable-receivables")).to_contain_text("暂无应付账款")
    expect(buyer.locator("#token-balance")).to_have_attribute("data-fen", str(after_finance["buyer"] - GROSS))

    # --- 7. the end: both parts settled, the root split, its lineage, part 2's timeline, balances
    for part in (part1, part2):
        m1.goto(f"/receivables/{part}")
        status_is(m1, "settled")
    m1.goto(f"/receivables/{rid}")
    status_is(m1, "split")
    tree = m1.locator("#receivable-lineage")
    expect(tree.locator(f"li[data-rid='{rid}'] > ul > li")).to_have_count(2)
    for part, holder in ((part1, MERCHANT1_NAME), (part2, MERCHANT2_NAME)):
        node = tree.locator(f"li[data-rid='{part}']")
        expect(node).to_have_attribute("data-status", "settled")
        expect(node.locator(".holder")).to_have_text(holder)
    expect(m1.locator("h1")).to_contain_text("应收账款")

    m2.goto(f"/receivables/{part2}")
    status_is(m2, "settled")
    expect(m2.locator(f"#receivable-lineage li[data-rid='{part2}']")).to_have_class("current")
    events = m2.locator("#receivable-timeline li[data-event]")
    reload_until_visible(m2, m2.locator("#receivable-timeline li[data-event=ReceivableSettled]"))
    names = [e.get_attribute("data-event") for e in events.all()]
    assert [n for n in names if n in ("ReceivableFinanced", "FinancierRepaid", "ReceivableSettled")] == [
        "ReceivableFinanced", "FinancierRepaid", "ReceivableSettled"], names  # paid in full at once: financier first
    expect(m2.locator("#receivable-timeline li[data-event=FinancierRepaid]")).to_contain_text("偿还金融机构")
    expect(m2.locator("#receivable-timeline")).to_contain_text("北京时间")
    expect(m2.locator("#receivable-repaid")).to_have_attribute("data-fen", str(ADVANCE + FEE))
    assert CJK.search(m2.locator("#receivable-lineage").inner_text())
    screenshot(m2, "receivables-lineage")

    end = balances(live_server)
    assert end["financier"] - start["financier"] == FEE  # its advance back and its fee
    assert end["merchant2"] - start["merchant2"] == PART2 - FEE  # the advance, then the rest after the financier
    assert end["merchant1"] - start["merchant1"] == PART1
    assert start["buyer"] - end["buyer"] == GROSS
    assert sum(end.values()) == sum(start.values())  # token value conserved
