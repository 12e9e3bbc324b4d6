"""Verification as people use it (issue 14): a partly red-lettered invoice says how much was
reversed and how much is left; the 20-digit check code is taken whole; a batch's errors and
size limits are sentences with their numbers, its rows land in the user's history; the
history pages through every row in China time. Each page and message in one language:
Chinese by default, English when the browser asks for it."""
import csv
import io
import json
import re
from datetime import datetime

from backendutil import csrf_token, login, sample_invoice

from backend.core.db import db
from backend.core.models import User, Verification
from backend.services import verification


def issued(api):
    inv = api("merchant1").post("/invoices", json=sample_invoice()).get_json()
    inv["issue_date"] = api("merchant1").get(f"/invoices/{inv['number']}").get_json()["issue_date"]
    return inv


def red_letter(api, inv, net_fen):
    r = api("merchant1").post(f"/invoices/{inv['number']}/red-letter", json={"reason_code": 1, "items": [
        {"name": "退货 return", "quantity": 1, "unit_price": net_fen, "tax_rate": 13}]})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def query(inv, **over):
    return {"number": inv["number"], "issue_date": inv["issue_date"], "gross": inv["gross"],
            "check_code": inv["check_code"][-6:], **over}


def page_form(inv, **over):
    return {"number": inv["number"], "issue_date": inv["issue_date"], "gross": "226.00",
            "check_code": inv["check_code"][-6:], **over}


EN = {"Accept-Language": "en"}


def post_single(client, form, headers=None):
    return client.post("/verify/", data={**form, "csrf_token": csrf_token(client, "/verify/")}, headers=headers)


def test_partly_red_lettered_says_reversed_and_remaining_in_yuan(api, chain_app):
    inv = issued(api)  # gross ¥226.00
    red_letter(api, inv, 50_00)  # ¥50.00 + 13 % = ¥56.50 reversed, ¥169.50 left
    r = api().post("/verify", json=query(inv)).get_json()
    assert r["result"] == "partly_red_lettered" and r["label"] == "部分红冲"
    assert (r["reversed"], r["remaining"]) == (56_50, 169_50)
    assert r["detail"] == "发票部分红冲：红字发票已冲减 ¥56.50，未冲销金额 ¥169.50，发票按未冲销金额有效。"
    r = api().post("/verify", json=query(inv), headers=EN).get_json()
    assert r["label"] == "Partly reversed" and (r["reversed"], r["remaining"]) == (56_50, 169_50)
    assert "¥56.50 reversed, ¥169.50 remaining" in r["detail"] and "fully" not in r["detail"]
    page = post_single(chain_app.test_client(), page_form(inv)).get_data(as_text=True)
    assert "部分红冲" in page and "已冲减 ¥56.50，未冲销金额 ¥169.50" in page
    assert "全额" not in page and "reversed" not in page and "Partly" not in page
    page = post_single(chain_app.test_client(), page_form(inv), EN).get_data(as_text=True)
    assert "Partly reversed" in page and "¥56.50 reversed, ¥169.50 remaining" in page
    assert "fully reversed" not in page and "部分红冲" not in page

    red_letter(api, inv, 150_00)  # the rest: ¥169.50
    r = api().post("/verify", json=query(inv)).get_json()
    assert r["result"] == "red_lettered" and (r["reversed"], r["remaining"]) == (226_00, 0)
    assert r["label"] == "已全额红冲" and "冲销了全部 ¥226.00" in r["detail"]
    r = api().post("/verify", json=query(inv), headers=EN).get_json()
    assert r["label"] == "Fully reversed" and "fully reversed by red-letter notes (¥226.00)" in r["detail"]
    page = post_single(chain_app.test_client(), page_form(inv)).get_data(as_text=True)
    assert "已全额红冲" in page and "红字发票冲销了全部 ¥226.00，发票不再有效" in page
    page = post_single(chain_app.test_client(), page_form(inv), EN).get_data(as_text=True)
    assert "Fully reversed" in page and "fully reversed by red-letter notes (¥226.00)" in page
    assert "已全额红冲" not in page


def test_an_authentic_answer_has_no_red_letter_amounts(api):
    r = api().post("/verify", json=query(issued(api))).get_json()
    assert r["result"] == "authentic" and "reversed" not in r and "remaining" not in r


def test_the_whole_20_digit_check_code_is_taken_and_other_lengths_are_explained(api, chain_app):
    inv = issued(api)
    assert api().post("/verify", json=query(inv, check_code=inv["check_code"])).get_json()["result"] == "authentic"
    r = api().post("/verify", json=query(inv, check_code=inv["check_code"][-7:]))
    assert r.status_code == 400 and r.get_json()["error"] == "validation_error"
    assert r.get_json()["fields"]["check_code"] == "校验码请填写后6位数字或完整的20位数字（收到 7 位）"
    assert r.get_json()["message"] == "请检查查验信息：校验码请填写后6位数字或完整的20位数字（收到 7 位）。"
    r = api().post("/verify", json=query(inv, check_code=inv["check_code"][-7:], issue_date="2026-02-30"), headers=EN)
    assert r.get_json()["fields"] == {
        "issue_date": "the issue date is not a valid date (YYYY-MM-DD, from the year 2000 on)",
        "check_code": "the check code must be its last 6 digits or all 20 digits (this one has 7)"}
    assert r.get_json()["message"].startswith("Check the query: the issue date is not a valid date")
    client = chain_app.test_client()
    page = client.get("/verify/").get_data(as_text=True)
    assert re.search(r'name="check_code"[^>]*maxlength="30"', page)  # a pasted 20-digit code fits
    printed = " ".join(inv["check_code"][i:i + 5] for i in range(0, 20, 5))  # as printed: groups of 5
    page = post_single(client, page_form(inv, check_code=printed)).get_data(as_text=True)
    assert "真实有效" in page and "Authentic" not in page
    page = post_single(client, page_form(inv, check_code="12345678")).get_data(as_text=True)
    assert "请检查输入项：校验码请填写后6位数字或完整的20位数字（收到 8 位）。" in page
    assert "check_code" not in page.split("<form")[0] and "真实有效" not in page
    page = post_single(client, page_form(inv, check_code="12345678"), EN).get_data(as_text=True)
    assert "Check the fields: the check code must be its last 6 digits or all 20 digits (this one has 8)." in page
    assert "校验码" not in page
    page = post_single(client, page_form(inv, gross="abc")).get_data(as_text=True)
    assert "价税合计请以元填写，如 1234.56" in page and "以分为单位" not in page
    page = post_single(client, page_form(inv, gross="abc", number="12"), EN).get_data(as_text=True)
    assert "Check the fields: the invoice number must be 20 digits; enter the gross amount in yuan" in page
    assert "fen" not in page and "number:" not in page


def test_the_verify_page_in_each_language(chain_app):
    client = chain_app.test_client()
    zh = client.get("/verify/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in zh and "发票查验" in zh and "价税合计（元）" in zh and "批量查验" in zh
    assert "Verify an invoice" not in zh and "Gross amount" not in zh
    en = client.get("/verify/", headers=EN).get_data(as_text=True)
    assert "Verify an invoice" in en and "Gross amount (yuan)" in en and "Batch verification" in en
    assert "发票查验" not in en and "价税合计" not in en


def post_batch(client, data, filename="rows.csv", headers=None, **form):
    token = csrf_token(client, "/verify/batch")
    return client.post("/verify/batch", data={"csrf_token": token, "file": (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data", headers=headers)


def test_batch_errors_are_sentences_with_the_limits(chain_app):
    client = chain_app.test_client()
    page = client.get("/verify/batch").get_data(as_text=True)
    assert "每批最多 20,000 行，文件不超过 2 MB" in page and 'data-max-bytes="2097152"' in page
    assert 'data-text-too-large="文件过大：上限为 2 MB，请拆分后分批查验。"' in page
    assert 'data-text-progress="查验中：{done} / {total} 行"' in page and "Verifying" not in page
    en = client.get("/verify/batch", headers=EN).get_data(as_text=True)
    assert "At most 20,000 rows and 2 MB a file." in en and 'data-text-done="Verification complete."' in en
    assert "<code>number,issue_date,gross,check_code</code>" in en and "查验" not in en
    r = post_batch(client, b"a,b\n1,2\n")
    assert r.status_code == 400
    assert "无法查验此文件：CSV 需要 number、issue_date、gross、check_code 四列" in r.get_data(as_text=True)
    r = post_batch(client, b"a,b\n1,2\n", headers=EN)
    assert "The file cannot be verified: The CSV needs the columns number, issue_date, gross, check_code" \
        in r.get_data(as_text=True)
    chain_app.config["VERIFY_BATCH_MAX_ROWS"] = 2
    r = post_batch(client, b"number,issue_date,gross,check_code\n" + b"26351000000000000001,2026-01-01,1,123456\n" * 3)
    assert r.status_code == 400 and "批量查验最多 2 行，此文件有 3 行。" in r.get_data(as_text=True)
    r = post_batch(client, b"number,issue_date,gross,check_code\n" + b"26351000000000000001,2026-01-01,1,123456\n" * 3,
                   headers=EN)
    assert r.status_code == 400 and "A batch has at most 2 rows; this one has 3." in r.get_data(as_text=True)
    chain_app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    r = post_batch(client, b"x" * (1024 * 1024 + 10))
    text = r.get_data(as_text=True)
    assert r.status_code == 413 and "文件或请求过大：上限为 1 MB。" in text
    assert "capacity limit" not in text and "larger" not in text
    r = post_batch(client, b"x" * (1024 * 1024 + 10), headers=EN)
    assert r.status_code == 413 and "The file or request is larger than the limit of 1 MB." in r.get_data(as_text=True)
    r = chain_app.test_client().post("/api/v1/verify/batch", data=b"x" * (1024 * 1024 + 10), content_type="text/csv")
    assert r.status_code == 413 and "上限为 1 MB" in r.get_json()["message"]
    r = chain_app.test_client().post("/api/v1/verify/batch", data=b"x" * (1024 * 1024 + 10), content_type="text/csv",
                                     headers=EN)
    assert r.status_code == 413 and "the limit of 1 MB" in r.get_json()["message"]


def test_a_batch_rows_problems_are_sentences_in_words(api, chain_app):
    inv = issued(api)
    good = f"{inv['number']},{inv['issue_date']},{inv['gross']},{inv['check_code'][-6:]}"
    rows = ("number,issue_date,gross,check_code\n" + good + "\n"
            f"{inv['number']},2026-13-45,12.5,{inv['check_code'][-6:]}\n" + "1,2,3\n" + f"{inv['number']},,1,\n")
    client = chain_app.test_client()
    r = post_batch(client, rows.encode())
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "共 4 行：" in text and "查询有误: 3" in text
    assert "第 2 行：开票日期不是有效日期（格式 YYYY-MM-DD，2000 年以后）；价税合计应为以分为单位的整数（¥1,234.56 写作 123456）" in text
    assert "第 3 行：此行有 3 列，应为 4 列" in text and "第 4 行：未填写开票日期；未填写校验码" in text
    assert "issue_date:" not in text and "Row" not in text
    text = post_batch(client, rows.encode(), headers=EN).get_data(as_text=True)
    assert "Row 2: the issue date is not a valid date (YYYY-MM-DD, from the year 2000 on); the gross amount must " \
           "be a whole number of fen (¥1,234.56 is written 123456)" in text
    assert "Row 3: this line has 3 columns instead of 4" in text
    assert "Row 4: the issue date is missing; the check code is missing" in text and "第" not in text
    r = api().post("/verify/batch", data=rows.encode(), content_type="text/csv", headers=EN).get_json()
    bad = r["results"][1]
    assert bad["result"] == "invalid" and bad["label"] == "Invalid query" and set(bad["fields"]) == {
        "issue_date", "gross"}
    assert r["results"][2]["fields"] == {"columns": "this line has 3 columns instead of 4"}


def test_batch_rows_land_in_the_users_history_and_its_export(api, chain_app, seeded):
    inv = issued(api)
    client = chain_app.test_client()
    login(client, "buyer")
    rows = (f"number,issue_date,gross,check_code\n{inv['number']},{inv['issue_date']},{inv['gross']},"
            f"{inv['check_code'][-6:]}\n{inv['number']},{inv['issue_date']},1,{inv['check_code'][-6:]}\n")
    r = post_batch(client, rows.encode())
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="batch-table"' in text
    assert "真实有效: 1" in text and "信息不一致: 1" in text and "Authentic" not in text
    page = client.get(f"/verify/history?q={inv['number']}").get_data(as_text=True)
    assert page.count("<td data-label=\"类型\">批量查验</td>") == 2 and "信息不一致" in page
    assert "发票存在，但开票日期、金额或校验码不符" in page and "Batch" not in page and "Mismatch" not in page
    page = client.get(f"/verify/history?q={inv['number']}", headers=EN).get_data(as_text=True)
    assert page.count("<td data-label=\"Kind\">Batch check</td>") == 2 and "Details do not match" in page
    assert "the date, amount or check code" not in page and "its issue date, amount or check code does not match" in page
    assert "批量" not in page and "信息不一致" not in page
    export = list(csv.reader(io.StringIO(client.get("/verify/history?export=csv").get_data(as_text=True))))
    assert export[0][:5] == ["ID", "时间（北京时间 UTC+8）", "类型", "发票号码", "结果"]
    assert sorted(row[4] for row in export[1:] if row[2] == "批量查验") == ["信息不一致", "真实有效"]
    export = list(csv.reader(io.StringIO(client.get("/verify/history?export=csv", headers=EN).get_data(
        as_text=True))))
    assert sorted(row[4] for row in export[1:] if row[2] == "Batch check") == ["Authentic", "Details do not match"]
    download = post_batch(client, rows.encode(), download="1").get_data(as_text=True)
    assert download.splitlines()[0] == "行,发票号码,结果,说明" and ",真实有效,发票真实有效" in download


def test_verify_many_reports_progress_by_chunk(api, chain_app):
    inv = issued(api)
    rows = [query(inv)] * 5 + [{"number": "bad"}]
    seen = []
    with chain_app.app_context():
        out = verification.verify_many(rows, chunk=2, progress=lambda done, total: seen.append((done, total)))
    assert [r["result"] for r in out] == ["authentic"] * 5 + ["invalid"]
    assert seen == [(3, 6), (5, 6), (6, 6)]  # the invalid row counts as done from the start
    assert chain_app.test_client().get("/verify/batch/progress/unknown-batch").status_code == 404


def post_document(client, data, headers=None):
    token = csrf_token(client, "/verify/document")
    return client.post("/verify/document", data={"csrf_token": token, "file": (io.BytesIO(data), "invoice.json")},
                       content_type="multipart/form-data", headers=headers)


def test_the_document_check_in_each_language(api, chain_app, seeded):
    inv = issued(api)
    doc = api("merchant1").get(f"/invoices/{inv['number']}").get_json()["document"]
    client = chain_app.test_client()
    login(client, "buyer")
    zh = post_document(client, json.dumps(doc).encode()).get_data(as_text=True)
    assert "文件核验" in zh and "真实有效" in zh and "文件与链上登记的一致：哈希相符。" in zh
    assert "Document check" not in zh and "Authentic" not in zh
    en = post_document(client, json.dumps(doc).encode(), EN).get_data(as_text=True)
    assert "Document check" in en and "<strong>Authentic</strong>" in en and "its hash matches" in en
    assert "文件" not in en
    doc["gross"] += 1
    zh = post_document(client, json.dumps(doc).encode()).get_data(as_text=True)
    assert "<strong>文件已被篡改</strong>" in zh and "文件与链上登记的不一致" in zh and "Tampered" not in zh
    en = post_document(client, json.dumps(doc).encode(), EN).get_data(as_text=True)
    assert "<strong>Document altered</strong>" in en and "differs from the one registered on chain" in en
    zh = post_document(client, b'{"number": "12"}').get_data(as_text=True)
    assert "该文件不是发票数据文件：没有 20 位发票号码。" in zh
    assert "The file is not an invoice document" in post_document(client, b'{"number": "12"}', EN).get_data(
        as_text=True)
    history = client.get("/verify/history").get_data(as_text=True)
    assert history.count("<td data-label=\"类型\">文件核验</td>") == 4 and "文件已被篡改" in history
    history = client.get("/verify/history", headers=EN).get_data(as_text=True)
    assert history.count("<td data-label=\"Kind\">Document check</td>") == 4
    assert "The document is the one registered on chain" in history and "文件" not in history


def add_history(app, username, count, when):
    with app.app_context():
        uid = db.session.query(User).filter_by(username=username).one().id
        db.session.add_all(Verification(user_id=uid, kind="single", number=f"2635100000000000{i:04d}", query="{}",
                                        result="authentic", created_at=when) for i in range(count))
        db.session.commit()


def test_history_pages_through_all_rows_in_china_time(chain_app, seeded):
    add_history(chain_app, "buyer", 260, datetime(2026, 3, 1, 20, 30, 5))  # 04:30:05 the next day in China
    client = chain_app.test_client()
    login(client, "buyer")
    first = client.get("/verify/history").get_data(as_text=True)
    assert "（共 260 条）" in first and first.count("<time ") == 50 and 'href="?page=2"' in first
    assert "2026-03-02 04:30:05" in first and "时间（北京时间 UTC+8）" in first and "(UTC)" not in first
    assert "单张查验" in first and "发票真实有效：已在链上登记，信息一致。" in first and "Single" not in first
    en = client.get("/verify/history", headers=EN).get_data(as_text=True)
    assert "(260 in all)" in en and "Time (China, UTC+8)" in en and "2026-03-02 04:30:05" in en
    assert "Single check" in en and "The invoice is authentic" in en and "北京时间" not in en and "单张" not in en
    last = client.get("/verify/history?page=6").get_data(as_text=True)
    assert last.count("<time ") == 10 and "26351000000000000000" in last
    found = client.get("/verify/history?q=2635100000000000025").get_data(as_text=True)  # 0250 … 0259
    assert "共 10 条" in found and found.count("<time ") == 10
    export = list(csv.reader(io.StringIO(client.get("/verify/history?export=csv").get_data(as_text=True))))
    assert len(export) == 261 and export[0][1] == "时间（北京时间 UTC+8）"
    assert export[1][1] == "2026-03-02 04:30:05"
    login_other = chain_app.test_client()
    login(login_other, "merchant1")
    assert "（共 0 条）" in login_other.get("/verify/history").get_data(as_text=True)  # one's own only


def test_history_api_pages_with_the_total(api, chain_app, seeded):
    add_history(chain_app, "buyer", 7, datetime(2026, 3, 1, 20, 30, 5))
    first = api("buyer").get("/verifications?limit=5").get_json()
    last = api("buyer").get("/verifications?limit=5&page=2").get_json()
    assert (first["total"], first["page"], len(first["verifications"])) == (7, 1, 5)
    assert (last["total"], last["page"], len(last["verifications"])) == (7, 2, 2)
    assert {v["id"] for v in first["verifications"]}.isdisjoint(v["id"] for v in last["verifications"])
    assert api("buyer").get("/verifications?page=0").status_code == 400
