"""The buyer's inbox (收票箱, issue 12): the invoices addressed to the buyer's tax ID on the
page /inbox and the API /api/v1/inbox — search (number, seller, line items), filters (dates,
status words incl. voided, red-lettered, flagged; seller; amounts), paging, the red-letter
notes listed with the invoice they reduce, the JSON document — and the export of a selection
or of a filter's matches as CSV (UTF-8 with BOM) and XLSX, one row per line item, amounts in
yuan. A buyer never sees or exports another tax ID's invoices.

The chain tests issue a small inbox through the API (merchant1 and merchant2, one invoice to
another buyer); the search tests without a chain put rows into SQLite and PostgreSQL."""
import csv
import io
import json
import re
from datetime import datetime, timedelta
from types import SimpleNamespace

import openpyxl
import pytest
from backendutil import login, make_app, sample_invoice

from backend.core import canonical
from backend.core.db import db
from backend.core.models import Invoice, User
from backend.schemas.inbox import InboxQuery
from backend.services import inbox, inbox_export

BUYER = "91530100MA6K0002XU"  # the demo buyer's tax ID
OTHER = "91440300MA5F00001A"  # another buyer's
SELLER2 = "91110000802100433B"  # merchant2
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EN = {"Accept-Language": "en"}
# the export's column headers: in the requester's language (Chinese by default)
ZH_HEADERS = ["发票号码", "行号", "开票日期", "发票类型", "销售方名称", "销售方税号", "购买方名称", "购买方税号", "项目名称",
              "规格型号", "单位", "数量", "单价", "金额", "税率", "税额", "价税合计", "发票价税合计", "状态", "校验码",
              "红字发票对应原发票"]
EN_HEADERS = ["Invoice number", "Line", "Issue date", "Invoice type", "Seller name", "Seller tax ID", "Buyer name",
              "Buyer tax ID", "Item name", "Specification", "Unit", "Quantity", "Unit price", "Amount", "Tax rate", "Tax",
              "Gross", "Invoice gross", "Status", "Check code", "Red-letter note of"]
COL = {h: i for i, h in enumerate(ZH_HEADERS)}


def day(ago):
    return (datetime.now(canonical.CHINA).date() - timedelta(days=ago)).isoformat()


def item(name, unit_price, quantity=1, rate=13, **extra):
    return {"name": name, "quantity": quantity, "unit_price": unit_price, "tax_rate": rate, **extra}


def issued(api, user, **body):
    r = api(user).post("/invoices", json=sample_invoice(**body))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


@pytest.fixture
def inbox_data(api):
    """The demo buyer's inbox: ``a`` (two lines, 13 % and 6 %, partly red-lettered by ``note``),
    ``b`` (a decimal quantity, a spec), ``e`` (voided) from merchant1; ``c`` and ``f``
    (flagged: merchant2's hourly norm is 1) from merchant2; ``d`` goes to another buyer."""
    authority = api("authority")
    mid = next(m["id"] for m in authority.get("/merchants").get_json()["merchants"] if m["username"] == "merchant2")
    r = authority.post(f"/merchants/{mid}/limits", json={"invoice_cap": 10_000_000_00,
                                                         "monthly_quota": 50_000_000_00, "hourly_norm": 1})
    assert r.status_code == 200, r.get_json()
    out = {}
    out["a"] = issued(api, "merchant1", issue_date=day(10), items=[
        item("办公用品 Office supplies", 12_50, 10), item("咨询服务 Consulting", 500_00, rate=6)])
    out["b"] = issued(api, "merchant1", issue_date=day(5), items=[
        item("打印纸 Paper", 25_00, "2.5", spec="A4 70g", unit="箱")])
    out["c"] = issued(api, "merchant2", items=[item("服务器 Server", 8_000_00)])
    out["f"] = issued(api, "merchant2", items=[item("显示器 Monitor", 1_200_00, 2)])
    assert out["f"]["status"] == "Flagged" and "RateSpike" in out["f"]["flag_names"], out["f"]
    out["d"] = issued(api, "merchant1", buyer_name="深圳另一买方有限公司", buyer_tax_id=OTHER,
                      items=[item("秘密项目 Secret", 99_00)])
    out["e"] = issued(api, "merchant1", items=[item("作废的 To be voided", 10_00)])
    assert api("merchant1").post(f"/invoices/{out['e']['number']}/void").status_code == 200
    r = api("merchant1").post(f"/invoices/{out['a']['number']}/red-letter",
                              json={"reason_code": 4, "items": [item("销售折让 Discount", 100_00)]})
    assert r.status_code == 201, r.get_json()
    out["note"] = r.get_json()
    return {k: v["number"] for k, v in out.items()}


def listed(api, user="buyer", **params):
    r = api(user).get("/inbox", query_string=params)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def numbers_of(answer):
    return [i["number"] for i in answer["invoices"]]


def test_api_search_and_filters(api, inbox_data):
    n = inbox_data
    everything = listed(api)
    assert everything["total"] == 6 and set(numbers_of(everything)) == {n[k] for k in "abcef"} | {n["note"]}
    dates = [i["issue_date"] for i in everything["invoices"]]
    assert dates == sorted(dates, reverse=True)  # newest first
    # search: number, seller name and tax ID, a line item's name or spec (not another buyer's)
    assert numbers_of(listed(api, q=n["c"])) == [n["c"]]
    assert numbers_of(listed(api, q="paper")) == [n["b"]]  # case does not matter
    assert numbers_of(listed(api, q="打印纸")) == [n["b"]]
    assert numbers_of(listed(api, q="A4 70")) == [n["b"]]  # the spec
    assert set(numbers_of(listed(api, q="北京示例"))) == {n["c"], n["f"]}
    assert set(numbers_of(listed(api, q=SELLER2[:10]))) == {n["c"], n["f"]}
    assert listed(api, q="秘密项目")["total"] == 0
    assert listed(api, q="%")["total"] == 0 and listed(api, q="_")["total"] == 0  # wildcards are text
    # status: in words, as a person tells them apart
    assert numbers_of(listed(api, status="Voided")) == [n["e"]]
    assert numbers_of(listed(api, status="Flagged")) == [n["f"]]
    assert numbers_of(listed(api, status="PartlyRedLettered")) == [n["a"]]
    assert numbers_of(listed(api, status="RedLetterNote")) == [n["note"]]
    assert set(numbers_of(listed(api, status="Issued"))) == {n["b"], n["c"]}
    assert listed(api, status="RedLettered")["total"] == 0
    # seller, dates, amounts (gross, fen)
    assert set(numbers_of(listed(api, seller="北京"))) == {n["c"], n["f"]}
    assert numbers_of(listed(api, seller="91350100M000100Y43", status="Issued")) == [n["b"]]
    assert numbers_of(listed(api, **{"from": day(7), "to": day(3)})) == [n["b"]]
    assert set(numbers_of(listed(api, to=day(5)))) == {n["a"], n["b"]}
    assert numbers_of(listed(api, amount_min=9_000_00)) == [n["c"]]  # 8,000 + 13 % = 9,040
    assert set(numbers_of(listed(api, amount_min=60_00, amount_max=200_00))) == {n["b"], n["note"]}  # 70.63, 113
    assert listed(api, amount_min="", amount_max="")["total"] == 6  # empty: not given
    # refusals
    assert api("buyer").get("/inbox", query_string={"status": "Nonsense"}).status_code == 400
    assert api("buyer").get("/inbox", query_string={"amount_min": "-1"}).status_code == 400
    for role in ("merchant1", "auditor", "authority", "financier"):
        r = api(role).get("/inbox")
        assert r.status_code == 403 and r.get_json()["error"] == "forbidden"
        assert api(role).get("/inbox/export").status_code == 403
    assert api().get("/inbox").status_code == 401


def test_api_paging(api, inbox_data):
    pages = [listed(api, per_page=4, page=p) for p in (1, 2, 3)]
    assert [len(p["invoices"]) for p in pages] == [4, 2, 0]
    assert all(p["total"] == 6 and p["per_page"] == 4 for p in pages)
    seen = numbers_of(pages[0]) + numbers_of(pages[1])
    assert len(set(seen)) == 6 and seen == numbers_of(listed(api))
    assert api("buyer").get("/inbox", query_string={"per_page": 201}).status_code == 400


def test_red_letter_notes_and_status_words(api, inbox_data):
    n = inbox_data
    entries = {i["number"]: i for i in listed(api)["invoices"]}
    a, note = entries[n["a"]], entries[n["note"]]
    assert a["status_key"] == "PartlyRedLettered" and a["status_label"] == "部分红冲"
    assert a["status_text"].startswith("部分红冲 — 红字发票冲减了部分金额")
    assert a["status_explained"].startswith("红字发票冲减了部分金额")
    assert [x["number"] for x in a["notes"]] == [n["note"]]
    assert a["notes"][0]["gross"] == 113_00 and a["red_lettered"] == 113_00
    assert note["status_key"] == "RedLetterNote" and note["is_red_letter"] and note["original_number"] == n["a"]
    assert note["status_label"] == "红字发票" and note["notes"] == []
    assert entries[n["e"]]["status_label"] == "已作废"
    assert entries[n["f"]]["status_label"] == "待审核" and entries[n["f"]]["flag_names"] == ["RateSpike"]
    assert entries[n["b"]]["status_label"] == "已开具" and entries[n["b"]]["notes"] == []
    # in English when the request asks for it
    english = {i["number"]: i for i in api("buyer").get("/inbox", headers=EN).get_json()["invoices"]}
    assert english[n["a"]]["status_label"] == "Partly red-lettered"
    assert english[n["a"]]["status_text"].startswith("Partly red-lettered — red-letter notes reduced part of it")
    assert english[n["note"]]["status_label"] == "Red-letter note" and english[n["e"]]["status_label"] == "Voided"


def csv_rows(data):
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese right
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_export_of_a_filter(api, inbox_data):
    n = inbox_data
    r = api("buyer").get("/inbox/export", query_string={"format": "csv"})
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.mimetype_params.get("charset") == "utf-8"
    assert re.fullmatch(r"attachment; filename=inbox-\d{8}-\d{6}\.csv", r.headers["Content-Disposition"])
    assert r.headers["X-Invoice-Count"] == "6" and b"\r\n" in r.data
    rows = csv_rows(r.data)
    header, body = rows[0], rows[1:]
    assert header == ZH_HEADERS
    col = COL
    assert len(body) == 7  # one row per line item: a 2, b 1, c 1, f 1, e 1, note 1
    assert {row[0] for row in body} == {n[k] for k in "abcef"} | {n["note"]}
    by = {(row[0], row[col["行号"]]): row for row in body}
    office = by[(n["a"], "1")]
    assert office[col["项目名称"]] == "办公用品 Office supplies" and office[col["数量"]] == "10"
    assert (office[col["单价"]], office[col["金额"]], office[col["税率"]], office[col["税额"]],
            office[col["价税合计"]]) == ("12.50", "125.00", "13%", "16.25", "141.25")
    consulting = by[(n["a"], "2")]
    assert (consulting[col["金额"]], consulting[col["税率"]], consulting[col["税额"]]) == ("500.00", "6%", "30.00")
    assert office[col["发票价税合计"]] == consulting[col["发票价税合计"]] == "671.25"
    assert office[col["状态"]] == "部分红冲" and len(office[col["校验码"]]) == 20
    assert office[col["发票类型"]] == "普通发票"
    assert office[col["销售方名称"]] == "厦门示例贸易有限公司" and office[col["购买方税号"]] == BUYER
    paper = by[(n["b"], "1")]
    assert (paper[col["数量"]], paper[col["规格型号"]], paper[col["单位"]], paper[col["金额"]]) == \
        ("2.5", "A4 70g", "箱", "62.50")
    note = by[(n["note"], "1")]  # a red-letter note: negative quantity and amounts, its original named
    assert (note[col["数量"]], note[col["单价"]], note[col["金额"]], note[col["税额"]], note[col["价税合计"]]) == \
        ("-1", "100.00", "-100.00", "-13.00", "-113.00")
    assert note[col["红字发票对应原发票"]] == n["a"] and note[col["状态"]] == "红字发票"
    assert by[(n["c"], "1")][col["价税合计"]] == "9040.00"  # no thousands separator, no ¥ (for import)
    # the filters apply to an export of everything they match
    r = api("buyer").get("/inbox/export", query_string={"format": "csv", "status": "Voided"})
    assert [row[0] for row in csv_rows(r.data)[1:]] == [n["e"]] and r.headers["X-Invoice-Count"] == "1"
    assert api("buyer").get("/inbox/export", query_string={"format": "pdf"}).status_code == 400
    # the headers and the words in the cells in English when the request asks for it
    rows = csv_rows(api("buyer").get("/inbox/export", query_string={"format": "csv"}, headers=EN).data)
    assert rows[0] == EN_HEADERS
    office = next(row for row in rows[1:] if row[0] == n["a"] and row[1] == "1")
    assert office[COL["状态"]] == "Partly red-lettered" and office[COL["发票类型"]] == "Ordinary invoice"


def test_xlsx_export_of_a_selection(api, inbox_data):
    n = inbox_data
    r = api("buyer").get("/inbox/export", query_string={"format": "xlsx", "numbers": f"{n['a']},{n['note']}"})
    assert r.status_code == 200 and r.mimetype == XLSX and r.headers["X-Invoice-Count"] == "2"
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert ws.title == "收票箱" and ws.freeze_panes == "A2"
    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]] == ZH_HEADERS
    body = rows[1:]
    assert len(body) == 3 and {row[0].value for row in body} == {n["a"], n["note"]}
    col = COL
    office = next(row for row in body if row[0].value == n["a"] and row[col["行号"]].value == 1)
    for name, value in (("单价", 12.5), ("金额", 125), ("税额", 16.25), ("价税合计", 141.25), ("发票价税合计", 671.25)):
        cell = office[col[name]]
        assert cell.data_type == "n" and cell.value == value and cell.number_format == "#,##0.00", name
    assert office[col["税率"]].value == pytest.approx(0.13) and office[col["税率"]].number_format == "0%"
    assert office[col["数量"]].data_type == "n" and office[col["数量"]].value == 10
    assert office[col["开票日期"]].is_date and office[col["开票日期"]].value.date().isoformat() == day(10)
    number = office[col["发票号码"]]
    assert number.data_type == "s" and number.number_format == "@"  # 20 digits stay text, not 1.2E+19
    assert office[col["校验码"]].data_type == "s"
    note = next(row for row in body if row[0].value == n["note"])
    assert note[col["金额"]].value == -100 and note[col["价税合计"]].value == -113
    assert note[col["红字发票对应原发票"]].value == n["a"]
    r = api("buyer").get("/inbox/export", query_string={"format": "xlsx", "numbers": n["a"]}, headers=EN)
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert ws.title == "Inbox" and [c.value for c in next(ws.iter_rows())] == EN_HEADERS
    # numbers may also be repeated; an unknown number and another buyer's are refused alike
    r = api("buyer").get("/inbox/export", query_string=[("format", "csv"), ("numbers", n["b"]), ("numbers", n["c"])])
    assert r.status_code == 200 and {row[0] for row in csv_rows(r.data)[1:]} == {n["b"], n["c"]}
    for foreign in (n["d"], "99999999999999999999"):
        r = api("buyer").get("/inbox/export", query_string={"format": "xlsx", "numbers": f"{n['a']},{foreign}"})
        assert r.status_code == 404 and r.get_json()["error"] == "not_found" and foreign in r.get_json()["message"]
    assert api("buyer").get("/inbox/export", query_string={"numbers": "123"}).status_code == 400


def test_another_buyer_never_gets_them(api, inbox_data, chain_app, seeded):
    """A second buyer (tax ID OTHER) sees only ``d``; the demo buyer's lists, searches and
    exports never hold ``d`` nor its line; a selection of ``d`` is 404 for the demo buyer."""
    n = inbox_data
    with chain_app.app_context():
        other = User(username="buyer2", role="buyer", buyer_tax_id=OTHER)
        other.set_password("pw-test-123")
        token = other.new_api_token()
        db.session.add(other)
        db.session.commit()
    c = chain_app.test_client()
    h = {"Authorization": f"Bearer {token}"}
    assert numbers_of(c.get("/api/v1/inbox", headers=h).get_json()) == [n["d"]]
    r = c.get("/api/v1/inbox/export", query_string={"format": "csv"}, headers=h)
    assert [row[0] for row in csv_rows(r.data)[1:]] == [n["d"]]
    assert c.get("/api/v1/inbox/export", query_string={"numbers": n["a"]}, headers=h).status_code == 404
    mine = api("buyer")
    assert n["d"] not in numbers_of(listed(api, per_page=200))
    for fmt in ("csv", "xlsx"):
        data = mine.get("/inbox/export", query_string={"format": fmt}).data
        text = data.decode("utf-8-sig") if fmt == "csv" else json.dumps(
            list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)), ensure_ascii=False,
            default=str)
        assert n["d"] not in text and "秘密项目" not in text and OTHER not in text
    # a buyer account without a tax ID has no inbox
    with chain_app.app_context():
        lost = User(username="buyer3", role="buyer")
        lost.set_password("pw-test-123")
        token3 = lost.new_api_token()
        db.session.add(lost)
        db.session.commit()
    r = c.get("/api/v1/inbox", headers={"Authorization": f"Bearer {token3}"})
    assert r.status_code == 403 and r.get_json()["error"] == "no_buyer_tax_id"


# ---------------------------------------------------------------- the page
@pytest.fixture
def buyer_page(chain_app, seeded):
    client = chain_app.test_client()
    assert login(client, "buyer").status_code == 302
    return client


def test_page_shows_the_inbox_in_chinese(buyer_page, inbox_data, chain_app, seeded):
    n = inbox_data
    page = buyer_page.get("/inbox").get_data(as_text=True)
    assert "<h1>收票箱 <small" in page and 'data-test="nav-inbox"' in page
    assert ">全部状态<" in page and ">筛选<" in page and "导出所选" in page and "Export" not in page
    assert 'id="inbox-select-all"' in page and 'aria-label="全选本页"' in page
    assert 'data-t-selected="（已选 {count} 张）"' in page
    for key in "abcef":
        assert f'name="numbers" value="{n[key]}" form="inbox-export"' in page
        assert f'href="/invoices/{n[key]}/document.json"' in page
    assert n["d"] not in page and "秘密项目" not in page
    row = re.search(rf'<tr data-number="{n["a"]}".*?</tr>', page, re.DOTALL).group(0)
    assert ">部分红冲</span>" in row and n["note"] in row and "冲减 ¥113.00" in row
    assert "已冲减 ¥113.00，未冲销 ¥558.25" in row and "¥671.25" in row
    note_row = re.search(rf'<tr data-number="{n["note"]}".*?</tr>', page, re.DOTALL).group(0)
    assert "冲减原发票" in note_row and n["a"] in note_row and "-¥113.00" in note_row
    assert ">已作废</span>" in page and ">待审核</span>" in page and "审核标记：开票频率异常" in page
    # filters as typed on the page: amounts in yuan; a bad one is said and left out
    page = buyer_page.get("/inbox", query_string={"amount_min": "9,000.00", "status": "Issued"}).get_data(as_text=True)
    assert f'data-number="{n["c"]}"' in page and f'data-number="{n["b"]}"' not in page and "(1)" in page
    page = buyer_page.get("/inbox", query_string={"amount_min": "abc", "q": "打印纸"}).get_data(as_text=True)
    assert "筛选条件有误" in page and f'data-number="{n["b"]}"' in page and f'data-number="{n["a"]}"' not in page
    # paging: 20 a page
    assert 'class="pager"' not in page
    # others have no inbox page
    other = chain_app.test_client()
    login(other, "merchant1")
    assert other.get("/inbox").status_code == 403 and other.get("/inbox/export").status_code == 403
    assert chain_app.test_client().get("/inbox").status_code == 302  # to the login


def test_page_in_english_and_its_messages_in_each_language(buyer_page, inbox_data):
    n = inbox_data
    page = buyer_page.get("/inbox", headers=EN).get_data(as_text=True)
    assert "<h1>Inbox <small" in page and ">Any status<" in page and "Export the selected invoices" in page
    assert 'data-t-selected="({count} selected)"' in page and 'aria-label="Select all on this page"' in page
    row = re.search(rf'<tr data-number="{n["a"]}".*?</tr>', page, re.DOTALL).group(0)
    assert ">Partly red-lettered</span>" in row and "Reduced by ¥113.00, ¥558.25 open" in row
    assert "reduces it by ¥113.00" in row
    assert "收票箱" not in page and "全部状态" not in page and "部分红冲" not in page and "冲减" not in page
    # a filter that is not valid: said in words (the field's name, not its key), in each language
    zh = buyer_page.get("/inbox", query_string={"amount_min": "abc"}).get_data(as_text=True)
    shown = re.search(r'<div class="flash error">(.*?)</div>', zh, re.S).group(1)
    assert shown == "筛选条件有误，已忽略：最低金额：以元为单位的金额，例如 1234.56"
    en = buyer_page.get("/inbox", query_string={"amount_min": "abc"}, headers=EN).get_data(as_text=True)
    assert "A filter was not valid and is left out: Minimum amount: an amount in yuan, e.g. 1234.56" in en
    assert "筛选条件有误" not in en
    # an export refused: back to the page, the reason in the page's language
    r = buyer_page.get("/inbox/export", query_string={"export": "selected-csv"}, headers=EN, follow_redirects=True)
    assert "Select the invoices to export first." in r.get_data(as_text=True)
    r = buyer_page.get("/inbox/export", query_string=[("export", "selected-csv"), ("numbers", n["d"])], headers=EN,
                       follow_redirects=True)
    assert f"These invoices are not in your inbox: {n['d']}." in r.get_data(as_text=True)


def test_page_paging_keeps_the_filters(buyer_page, api, inbox_data):
    """20 invoices a page; the pager keeps the filters; select-all is per page."""
    r = api("merchant1").post("/invoices/batch", json={"invoices": [
        sample_invoice(items=[item(f"批量商品 Bulk {i}", 1_00 + i)]) for i in range(18)]})
    assert r.status_code == 201, r.get_json()
    first = buyer_page.get("/inbox", query_string={"seller": "厦门"}).get_data(as_text=True)
    assert "(22)" in first and first.count('class="inbox-select"') == 20  # 18 + a, b, e, note
    assert 'class="pager"' in first and 'href="?seller=%E5%8E%A6%E9%97%A8&amp;page=2"' in first
    second = buyer_page.get("/inbox", query_string={"seller": "厦门", "page": 2}).get_data(as_text=True)
    assert second.count('class="inbox-select"') == 2 and "page=1" in second
    on_pages = set(re.findall(r'<tr data-number="(\d{20})"', first)) | set(re.findall(r'<tr data-number="(\d{20})"',
                                                                                      second))
    assert len(on_pages) == 22 and inbox_data["c"] not in on_pages


def test_page_exports_a_selection_or_the_filter(buyer_page, inbox_data):
    n = inbox_data
    r = buyer_page.get("/inbox/export", query_string=[("export", "selected-xlsx"), ("numbers", n["b"]),
                                                       ("numbers", n["c"]), ("q", "ignored when selected")])
    assert r.status_code == 200 and r.mimetype == XLSX and "attachment" in r.headers["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == [n["c"], n["b"]]  # newest first, as listed
    r = buyer_page.get("/inbox/export", query_string={"export": "all-csv", "status": "RedLetterNote"})
    assert r.status_code == 200 and [row[0] for row in csv_rows(r.data)[1:]] == [n["note"]]
    # nothing selected, another buyer's invoice, no format: back to the page with the reason
    r = buyer_page.get("/inbox/export", query_string={"export": "selected-csv", "status": "Voided"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox?status=Voided")
    assert "请先勾选要导出的发票" in buyer_page.get(r.headers["Location"]).get_data(as_text=True)
    r = buyer_page.get("/inbox/export", query_string=[("export", "selected-csv"), ("numbers", n["d"])],
                       follow_redirects=True)
    assert "不在您的收票箱中" in r.get_data(as_text=True) and n["d"] in r.get_data(as_text=True)
    r = buyer_page.get("/inbox/export", follow_redirects=True)
    assert "请选择导出格式" in r.get_data(as_text=True)


# ---------------------------------------------------------------- without a chain
def fake_invoice(**over):
    doc = {"items": [{"name": "=HYPERLINK(\"x\")", "spec": "", "unit": "", "quantity": "0.5", "unit_price": 1_99,
                      "amount": 1_00, "tax_rate": 0, "tax": 0},
                     {"name": "+1", "quantity": 3, "unit_price": 1_234_567_89, "amount": 3_703_703_67, "tax_rate": 9}]}
    base = {"number": "26350000000000000001", "is_red_letter": False, "document": json.dumps(doc, ensure_ascii=False),
            "issue_date": "2026-01-05", "invoice_type": 1, "seller_name": "卖方", "seller_tax_id": "S",
            "buyer_name": "买方", "buyer_tax_id": BUYER, "gross": 4_037_037_00, "net": 3_703_704_67,
            "tax": 333_333_33, "rate": 9, "check_code": "0" * 20, "original_number": None}
    return SimpleNamespace(**{**base, **over})


def test_rows_and_formats_without_a_chain(app):
    with app.test_request_context():  # Chinese: no Accept-Language
        rows_and_formats()


def rows_and_formats():
    rows = inbox_export.invoice_rows(fake_invoice(), "已开具")
    assert len(rows) == 2 and rows[1][COL["税额"]] == 333_333_33  # computed: 9 %
    text = csv_rows(inbox_export.to_csv(rows))
    assert text[1][8] == "'=HYPERLINK(\"x\")" and text[2][8] == "'+1"  # no formula when Excel opens the CSV
    assert text[2][13] == "3703703.67" and text[1][3] == "增值税专用发票" and text[0] == ZH_HEADERS
    ws = openpyxl.load_workbook(io.BytesIO(inbox_export.to_xlsx(rows))).active
    cells = list(ws.iter_rows())[1:]
    assert cells[0][8].value == "=HYPERLINK(\"x\")" and cells[0][8].data_type == "s"  # text, not a formula
    assert cells[1][13].value == pytest.approx(3703703.67) and cells[0][11].value == 0.5
    # an invoice whose document the platform does not hold: one row of its totals
    bare = inbox_export.invoice_rows(fake_invoice(document="", is_red_letter=True, original_number="1" * 20), "x")
    assert len(bare) == 1 and bare[0][8] == "（平台未保存明细）" and bare[0][13] == -3_703_704_67


def db_invoice(number, **over):
    items = over.pop("items", [{"name": "咖啡 Coffee", "spec": "", "quantity": 1, "unit_price": 100, "amount": 100,
                                "tax_rate": 13, "tax": 13}])
    doc = {"buyer": {"name": "买方", "tax_id": BUYER, "salt": "0x" + "ab" * 32}, "items": items, "number": number}
    row = {"number": number, "key": "0x" + number.rjust(64, "0"), "seller_address": "0x" + "1" * 40,
           "seller_name": "厦门卖方", "seller_tax_id": "91350100M000100Y43", "buyer_name": "买方", "buyer_tax_id": BUYER,
           "issue_date": "2026-01-05", "issued_at": 0, "invoice_type": 0, "rate": 13, "rate_mask": 1 << 13,
           "item_count": len(items), "net": 100, "tax": 13, "gross": 113,
           "document": json.dumps(doc, ensure_ascii=False), "document_hash": "0x", "is_red_letter": False,
           "state": "issued", "chain_status": "Issued", "flags": 0}
    return Invoice(**{**row, **over})


@pytest.fixture(params=["sqlite", "postgresql"])
def db_app(request, tmp_path):
    extra = {}
    if request.param == "postgresql":
        cluster = request.getfixturevalue("postgres")
        extra = {"SQLALCHEMY_DATABASE_URI": None, "DATABASE_URL": cluster.create_database("inbox_search")}
    app = make_app(tmp_path, **extra)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_search_on_sqlite_and_postgresql(db_app):
    """The item search reads the documents with the database's own JSON functions; LIKE's
    wildcards are text; a failed invoice, another buyer's and a document not held are handled."""
    with db_app.app_context():
        buyer = User(username="b", role="buyer", buyer_tax_id=BUYER.lower(), password_hash="x")
        db.session.add_all([
            buyer,
            db_invoice("26350000000000000001", items=[{"name": "100% 纯棉 Cotton_shirt", "spec": "XL", "quantity": 1,
                                                       "unit_price": 100, "amount": 100, "tax_rate": 13}]),
            db_invoice("26350000000000000002", document=""),  # registered by another client
            db_invoice("26350000000000000003", state="failed", chain_status=None),
            db_invoice("26350000000000000004", buyer_tax_id=OTHER),
            db_invoice("26350000000000000005", is_red_letter=True, original_number="26350000000000000001"),
            db_invoice("26350000000000000006", state="pending", chain_status=None, issue_date="2026-01-06"),
        ])
        db.session.commit()

        def found(**f):
            return [i.number[-1] for i in inbox.filtered(buyer, InboxQuery.model_validate(f)).all()]

        assert found() == ["6", "5", "2", "1"]
        assert found(q="cotton") == ["1"] and found(q="纯棉") == ["1"] and found(q="xl") == ["1"]
        assert found(q="100%") == ["1"] and found(q="n_s") == ["1"] and found(q="x%") == []
        assert found(q="%") == ["1"] and found(q="_") == ["1"]  # the one with a % and an _ in its line
        assert found(q="coffee") == ["6", "5"] and found(q="salt") == [] and found(q="ab") == []
        assert found(status="PartlyRedLettered") == ["1"] and found(status="Issued") == ["2"]
        assert found(status="RedLetterNote") == ["5"] and found(status="pending") == ["6"]
        assert found(amount_min=113, amount_max=113, **{"from": "2026-01-05", "to": "2026-01-05"}) == ["5", "2", "1"]
        assert inbox.sellers(buyer) == [("厦门卖方", "91350100M000100Y43")]
