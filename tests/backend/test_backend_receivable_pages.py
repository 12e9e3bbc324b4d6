"""The receivables pages (issue 11) through the Flask test client, with CSRF and one-time
form tokens: the journey of test_backend_receivables.py done on the pages (merchant1 creates
a receivable from its invoice's page, the buyer accepts it, merchant1 splits it and
transfers a part to merchant2, merchant2 pledges it to the financier, the financier finances
it with a fee, the buyer settles both parts); each page shows Chinese first and only the
actions the state allows; refusals are shown in words; non-parties get 403."""
import re
from datetime import date, timedelta

import pytest
from backendutil import Browser, form_in, sample_invoice, token_of

from backend.core.canonical import yuan


def yi(fen):
    """Fen as typed in a yuan input."""
    return f"{fen // 100}.{fen % 100:02d}"


def due(days=30):
    return (date.today() + timedelta(days=days)).isoformat()


@pytest.fixture
def browser(chain_app, seeded):
    return lambda username: Browser(chain_app).login(username)


def issue(api):
    r = api("merchant1").post("/invoices", json=sample_invoice())
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def flashes(page):
    return " ".join(re.findall(r'<div class="flash (?:ok|error)">(.*?)</div>', page, re.S))


def form_in_tag(page, marker):
    """The opening tag of the first <form …> with ``marker``."""
    m = re.search(r"<form\b[^>]*" + re.escape(marker) + r"[^>]*>", page)
    assert m, marker
    return m.group(0)


def actions_on(page):
    """The data-action of every form on a receivable's page."""
    return set(re.findall(r'<form\b[^>]*data-action="([^"]+)"', page))


def create_on_invoice_page(b, number, amount=None, due_date=None):
    page = b.text(f"/invoices/{number}")
    data = {"due_date": due_date or due()}
    if amount is not None:
        data["amount"] = amount
    else:
        data["amount"] = re.search(r'id="receivable-amount-input" inputmode="decimal" value="([^"]+)"', page).group(1)
    return b.submit(page, 'id="create-receivable-form"', data)


def rid_of(response):
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def test_the_journey_through_the_pages(browser, api, seeded):
    inv = issue(api)
    gross = inv["gross"]
    m1, m2, buyer, bank = browser("merchant1"), browser("merchant2"), browser("buyer"), browser("financier")

    # merchant1: the invoice's page offers a receivable for the whole available amount
    page = m1.text(f"/invoices/{inv['number']}")
    assert '<h2 id="receivables">应收账款</h2>' in page and ">开立应收账款</button>" in page
    assert f'value="{yi(gross)}"' in page and "暂无以本发票开立的应收账款" in page
    r = create_on_invoice_page(m1, inv["number"])
    rid = rid_of(r)
    page = m1.follow(r)
    assert "已开立应收账款" in flashes(page) and 'data-status="created"' in page
    assert re.search(r'id="receivable-status">待确认</span>', page)
    assert actions_on(page) == {"cancel"}  # no accept button for the holder
    assert yuan(gross) in page and "厦门示例贸易有限公司" in page and seeded["buyer"]["address"] in page
    listed = m1.text(f"/invoices/{inv['number']}")
    assert f'href="/receivables/{rid}"' in listed and 'id="create-receivable-form"' not in listed  # nothing left
    assert "本发票已无可开立应收账款的金额" in listed
    mine = m1.text("/receivables/")
    assert "我的应收账款" in mine and f'data-rid="{rid}"' in mine and due() in mine

    # a non-party sees nothing of it, and may not act on it
    assert m2.get(f"/receivables/{rid}").status_code == 403
    assert bank.get(f"/receivables/{rid}").status_code == 403
    own_csrf = token_of(m2.text("/receivables/"))
    assert m2.c.post(f"/receivables/{rid}/cancel", data={"csrf_token": own_csrf}).status_code == 403
    assert m1.get("/receivables/999999").status_code == 404

    # the buyer: to accept, then accepted
    todo = buyer.text("/receivables/to-accept")
    assert "待确认" in todo and f'data-rid="{rid}"' in todo and "结算代币余额" in todo
    assert actions_on(buyer.text(f"/receivables/{rid}")) == {"accept", "decline"}
    assert "data-confirm=" in form_in_tag(todo, f'data-action="decline" data-rid="{rid}"')
    r = buyer.submit(todo, f'data-action="accept" data-rid="{rid}"')
    assert r.headers["Location"].endswith("/receivables/to-accept")
    assert "已确认应收账款" in flashes(buyer.follow(r))

    # merchant1 splits it: a split that does not sum is refused in words, then two parts
    page = m1.text(f"/receivables/{rid}")
    assert {"transfer", "split", "pledge"} <= actions_on(page) and "accept" not in actions_on(page)
    assert 'id="split-remaining"' in page and 'id="split-add"' in page
    r = m1.submit(page, 'id="form-split"', {"amounts": ["1.00", "2.00"]})
    text = m1.follow(r)
    assert "拆分金额合计 ¥3.00 不等于面值" in flashes(text)
    first = gross // 3
    r = m1.submit(text, 'id="form-split"', {"amounts": [yi(first), yi(gross - first)]})
    assert rid_of(r) == rid
    page = m1.follow(r)
    assert "已拆分应收账款" in flashes(page) and 'id="receivable-status">已拆分</span>' in page
    part1, part2 = re.findall(r'href="/receivables/(\d+)" data-test="child-link"', page)
    assert not actions_on(page)

    # merchant1 transfers the second part to merchant2
    r = m1.submit(m1.text(f"/receivables/{part2}"), 'id="form-transfer"', {"to": "merchant2"})
    assert "已转让应收账款" in flashes(m1.follow(r))

    # merchant2 pledges it to the financier (picked from the financiers' list)
    page = m2.text(f"/receivables/{part2}")
    assert '<option value="financier">' in page and actions_on(page) == {"transfer", "split", "pledge"}
    assert m2.get(f"/receivables/{part1}").status_code == 200  # a party of the lineage sees its parts
    r = m2.submit(page, 'id="form-pledge"', {"financier": "financier"})
    page = m2.follow(r)
    assert "已申请质押融资" in flashes(page) and actions_on(page) == {"withdraw-pledge"}
    assert not actions_on(bank.text(f"/receivables/{part1}"))  # a party of the lineage now: it sees, may not act

    # the financier finances it with a fee from its offers
    offers = bank.text("/receivables/offers")
    assert "融资申请" in offers and f'data-rid="{part2}"' in offers
    amount2 = gross - first
    advance, fee = amount2 * 9 // 10, amount2 // 50
    r = bank.submit(offers, f'data-action="finance" data-rid="{part2}"', {"advance": yi(advance), "fee": yi(fee)})
    assert r.headers["Location"].endswith("/receivables/offers")
    assert "已融资放款" in flashes(bank.follow(r))
    page = m2.text(f"/receivables/{part2}")
    assert 'id="receivable-status">已质押</span>' in page and not actions_on(page) and "当前没有您可执行的操作" in page
    assert 'id="form-transfer"' not in page  # no transfer of a pledged part
    assert f'id="receivable-owed-to-financier" data-fen="{advance + fee}"' in page

    # the portfolio: exposure to the buyer, the month it falls due, release on the pledged one
    book = bank.text("/receivables/portfolio")
    exposure = re.search(r'<table id="portfolio-exposure">(.*?)</table>', book, re.S).group(1)
    assert 'data-debtor="buyer"' in exposure and yuan(advance + fee) in exposure
    assert f'data-month="{due()[:7]}"' in book and f'data-action="release" data-rid="{part2}"' in book

    # the buyer settles both parts from its payables (the default amount: what is outstanding)
    payables = buyer.text("/receivables/payables")
    assert "应付账款" in payables and "结算代币余额" in payables and 'id="faucet-form"' in payables
    assert f'data-rid="{part1}"' in payables and f'data-rid="{part2}"' in payables
    assert f'data-rid="{rid}"' not in payables  # the split one is no payable any more
    for part, amount in ((part2, amount2), (part1, first)):
        assert f'value="{yi(amount)}" data-test="settle-amount"' in payables
        r = buyer.submit(payables, f'data-action="settle" data-rid="{part}"', {"amount": yi(amount)})
        payables = buyer.follow(r)
        assert "已付款" in flashes(payables)
    assert "暂无应付账款" in payables
    for part in (part1, part2):
        assert api("merchant1").get(f"/receivables/{part}").get_json()["status"] == "settled"

    # the lineage: the root, both parts with their holders, the current one highlighted
    page = m2.text(f"/receivables/{part2}")
    tree = re.search(r'<ul class="tree" id="receivable-lineage">(.*)</ul>\s*<h2>', page, re.S).group(1)
    assert tree.index(f'data-rid="{rid}"') < tree.index(f'data-rid="{part1}"') < tree.index(f'data-rid="{part2}"')
    assert "<ul>" in tree and "北京示例科技有限公司" in tree and "厦门示例贸易有限公司" in tree
    assert re.search(rf'data-rid="{part2}" data-status="settled" class="current"', tree)
    assert ">已结清</span>" in tree
    timeline = re.search(r'id="receivable-timeline">(.*?)</ol>', page, re.S).group(1)
    assert "<strong>转让</strong>" in timeline and "<strong>融资放款</strong>" in timeline
    assert "<strong>付款</strong>" in timeline and "<strong>Transferred</strong>" not in timeline
    assert "北京时间" in timeline and re.search(r"0x[0-9a-f]{64}", timeline)


def test_refusals_in_words_and_resubmission(browser, api):
    inv = issue(api)
    m1, buyer = browser("merchant1"), browser("buyer")
    r = create_on_invoice_page(m1, inv["number"], amount=yi(inv["gross"] + 1))
    assert r.headers["Location"].endswith(f"/invoices/{inv['number']}")
    text = flashes(m1.follow(r))
    assert "ExceedsInvoiceAvailable" not in text and "¥" in text and "超过发票可用于应收账款的金额" in text
    r = create_on_invoice_page(m1, inv["number"], amount="12.345")
    assert "请检查输入" in flashes(m1.follow(r))
    r = create_on_invoice_page(m1, inv["number"], amount="100.00", due_date="2020-01-01")
    assert "到期日必须在未来" in flashes(m1.follow(r))

    # the same rendered form twice (Back, then the button again): acted on once
    page = m1.text(f"/invoices/{inv['number']}")
    action, hidden = form_in(page, 'id="create-receivable-form"')
    data = {**hidden, "amount": "100.00", "due_date": due()}
    first = m1.c.post(action, data=data)
    again = m1.c.post(action, data=data)
    rid = rid_of(first)
    assert rid_of(again) == rid and "此表单已提交" in flashes(m1.follow(again))
    assert len(api("merchant1").get("/receivables?role=holder").get_json()["receivables"]) == 1

    # a bad amount in yuan; a refusal by the ledger; never a 500
    page = buyer.text(f"/receivables/{rid}")
    r = buyer.submit(page, 'data-action="accept"')
    page = buyer.follow(r)
    assert actions_on(page) == {"settle"} and 'value="100.00"' in page and "结算代币余额" in page
    r = buyer.submit(page, 'id="form-settle"', {"amount": "abc"})
    assert "请检查输入" in flashes(buyer.follow(r))
    r = buyer.submit(page, 'id="form-settle"', {"amount": "100.01"})
    assert r.status_code == 302 and "操作被拒绝" in flashes(buyer.follow(r))
    page = m1.text(f"/receivables/{rid}")
    r = m1.submit(page, 'id="form-transfer"', {"to": "nobody"})
    assert "没有用户 nobody" in flashes(m1.follow(r))
    r = m1.submit(page, 'id="form-pledge"', {"financier": "financier", "financier_other": "merchant2"})
    assert "操作被拒绝" in flashes(m1.follow(r))  # merchant2 is no financier: the ledger says so
    assert m1.c.post(f"/receivables/{rid}/frobnicate", data={"csrf_token": hidden["csrf_token"]}).status_code == 404


def test_destructive_actions_confirm_and_cancel(browser, api):
    inv = issue(api)
    m1 = browser("merchant1")
    rid = rid_of(create_on_invoice_page(m1, inv["number"], amount="50.00"))
    page = m1.text(f"/receivables/{rid}")
    assert "data-confirm=" in form_in_tag(page, 'data-action="cancel"')
    r = m1.submit(page, 'data-action="cancel"')
    page = m1.follow(r)
    assert "已撤销应收账款" in flashes(page) and 'id="receivable-status">已撤销</span>' in page and not actions_on(page)


def test_navigation_per_role_and_faucet(browser):
    assert 'data-test="nav-receivables">应收账款</a>' in browser("merchant1").text("/")
    page = browser("buyer").text("/")
    assert "应付账款" in page and "待确认" in page and "融资申请" not in page
    bank = browser("financier")
    page = bank.text("/")
    assert "融资申请" in page and "融资组合" in page and "应付账款" not in page
    book = bank.text("/receivables/portfolio")
    assert "融资组合" in book and "暂无敞口" in book and "到期分布" in book
    b = browser("buyer")
    page = b.text("/receivables/payables")
    before = int(re.search(r'id="token-balance" data-fen="(\d+)"', page).group(1))
    r = b.submit(page, 'id="faucet-form"')
    page = b.follow(r)
    assert "已领取演示结算代币" in flashes(page)
    assert int(re.search(r'id="token-balance" data-fen="(\d+)"', page).group(1)) == before + 1_000_000_00


EN = {"Accept-Language": "en"}


def test_the_pages_in_chinese_by_default_and_in_english(browser, api):
    inv = issue(api)
    m1, buyer, bank = browser("merchant1"), browser("buyer"), browser("financier")
    rid = rid_of(create_on_invoice_page(m1, inv["number"], amount="50.00"))
    pages = [(m1, "/receivables/", "My receivables", "我的应收账款"),
             (m1, f"/receivables/{rid}", "Timeline", "时间线"),
             (buyer, "/receivables/to-accept", "Receivables your suppliers drew on you", "供应商以发票开立"),
             (buyer, "/receivables/payables", "Soonest due first", "按到期日排列"),
             (bank, "/receivables/offers", "No offers.", "暂无融资申请"),
             (bank, "/receivables/portfolio", "Exposure by debtor", "按债务人风险敞口")]
    for b, path, english, chinese in pages:
        zh_page, en_page = b.text(path), b.get(path, headers=EN).get_data(as_text=True)
        assert chinese in zh_page and english not in zh_page, path
        assert english in en_page and chinese not in en_page, path
    # the receivable's status, timeline and actions in words of one language
    zh_page = buyer.text(f"/receivables/{rid}")
    en_page = buyer.get(f"/receivables/{rid}", headers=EN).get_data(as_text=True)
    assert 'id="receivable-status">待确认</span>' in zh_page and "面值 ¥50.00" in zh_page and ">确认</button>" in zh_page
    assert 'id="receivable-status">Awaiting acceptance</span>' in en_page and "Face value ¥50.00" in en_page
    assert ">Accept</button>" in en_page and "<strong>Receivable created</strong>" in en_page
    assert "待确认" not in en_page and "面值" not in en_page and "Awaiting acceptance" not in zh_page
    # the split form's live words (app.js reads them) follow the page's language too
    buyer.submit(zh_page, 'data-action="accept"')
    split_zh = m1.text(f"/receivables/{rid}")
    split_en = m1.get(f"/receivables/{rid}", headers=EN).get_data(as_text=True)
    assert 'data-t-remaining="剩余差额：{amount}"' in form_in_tag(split_zh, 'id="form-split"')
    assert 'data-t-remaining="Remaining: {amount}"' in form_in_tag(split_en, 'id="form-split"')


def test_flashes_and_refusals_in_each_language(browser, api):
    inv = issue(api)
    m1, buyer = browser("merchant1"), browser("buyer")
    rid = rid_of(create_on_invoice_page(m1, inv["number"], amount="50.00"))
    page = buyer.get(f"/receivables/{rid}", headers=EN).get_data(as_text=True)
    action, hidden = form_in(page, 'data-action="accept"')
    r = buyer.c.post(action, data=hidden, headers=EN)
    shown = flashes(buyer.c.get(r.headers["Location"], headers=EN).get_data(as_text=True))
    assert "Receivable accepted." in shown and "已确认应收账款" not in shown
    # a refusal of ours: Chinese by default, English when asked
    page = m1.text(f"/receivables/{rid}")
    r = m1.submit(page, 'id="form-transfer"', {"to": "nobody"})
    shown = flashes(m1.follow(r))
    assert "没有用户 nobody" in shown and "There is no user" not in shown
    action, hidden = form_in(page, 'id="form-transfer"')
    r = m1.c.post(action, data={**hidden, "form_token": "", "to": "nobody"}, headers=EN)
    shown = flashes(m1.c.get(r.headers["Location"], headers=EN).get_data(as_text=True))
    assert "There is no user nobody with a chain address." in shown and "没有用户" not in shown
    # an amount that is not in yuan: the field said in words, in each language
    page = buyer.text(f"/receivables/{rid}")
    r = buyer.submit(page, 'id="form-settle"', {"amount": "abc"})
    shown = flashes(buyer.follow(r))
    assert "付款金额：请输入以元为单位的金额，例如 100.00。" in shown and "Payment amount" not in shown
    action, hidden = form_in(page, 'id="form-settle"')
    r = buyer.c.post(action, data={**hidden, "form_token": "", "amount": "abc"}, headers=EN)
    shown = flashes(buyer.c.get(r.headers["Location"], headers=EN).get_data(as_text=True))
    assert "Payment amount: enter an amount in yuan, e.g. 100.00." in shown and "付款金额" not in shown
    # the API's message follows Accept-Language; its error code stays
    answer = api("merchant1").post(f"/receivables/{rid}/transfer", json={"to": "nobody"}, headers=EN).get_json()
    assert answer["message"] == "There is no user nobody with a chain address."
    answer = api("merchant1").post(f"/receivables/{rid}/transfer", json={"to": "nobody"}).get_json()
    assert "没有用户 nobody" in answer["message"]
