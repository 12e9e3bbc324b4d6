"""Verification as people use it (issue 14): a partly red-lettered invoice says how much was
reversed and how much is left; the 20-digit check code is taken whole; a batch's errors and
size limits are sentences with their numbers, its rows land in the user's history; the
history pages through every row in China time."""
import csv
import io
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


def post_single(client, form):
    return client.post("/verify/", data={**form, "csrf_token": csrf_token(client, "/verify/")})


def test_partly_red_lettered_says_reversed_and_remaining_in_yuan(api, chain_app):
    inv = issued(api)  # gross ¥226.00
    red_letter(api, inv, 50_00)  # ¥50.00 + 13 % = ¥56.50 reversed, ¥169.50 left
    r = api().post("/verify", json=query(inv)).get_json()
    assert r["result"] == "partly_red_lettered" and r["label"] == "部分红冲 Partly red-lettered"
    assert (r["reversed"], r["remaining"]) == (56_50, 169_50)
    assert "部分红冲" in r["detail"] and "¥56.50" in r["detail"] and "¥169.50" in r["detail"]
    assert "fully" not in r["detail"] and "全额" not in r["detail"]
    page = post_single(chain_app.test_client(), page_form(inv)).get_data(as_text=True)
    assert "部分红冲 Partly red-lettered" in page and "partly reversed" in page
    assert "¥56.50 reversed, ¥169.50 remaining" in page and "fully reversed" not in page

    red_letter(api, inv, 150_00)  # the rest: ¥169.50
    r = api().post("/verify", json=query(inv)).get_json()
    assert r["result"] == "red_lettered" and (r["reversed"], r["remaining"]) == (226_00, 0)
    assert "fully reversed" in r["detail"] and "¥226.00" in r["detail"]
    page = post_single(chain_app.test_client(), page_form(inv)).get_data(as_text=True)
    assert "已全额红冲" in page and "fully reversed by red-letter notes (¥226.00)" in page


def test_an_authentic_answer_has_no_red_letter_amounts(api):
    r = api().post("/verify", json=query(issued(api))).get_json()
    assert r["result"] == "authentic" and "reversed" not in r and "remaining" not in r


def test_the_whole_20_digit_check_code_is_taken_and_other_lengths_are_explained(api, chain_app):
    inv = issued(api)
    assert api().post("/verify", json=query(inv, check_code=inv["check_code"])).get_json()["result"] == "authentic"
    r = api().post("/verify", json=query(inv, check_code=inv["check_code"][-7:]))
    assert r.status_code == 400 and "后6位" in r.get_json()["fields"]["check_code"]
    r = api().post("/verify", json=query(inv, check_code=inv["check_code"][-7:]), headers={"Accept-Language": "en"})
    assert "last 6 digits or all 20" in r.get_json()["fields"]["check_code"]
    client = chain_app.test_client()
    page = client.get("/verify/").get_data(as_text=True)
    assert re.search(r'name="check_code"[^>]*maxlength="30"', page)  # a pasted 20-digit code fits
    printed = " ".join(inv["check_code"][i:i + 5] for i in range(0, 20, 5))  # as printed: groups of 5
    page = post_single(client, page_form(inv, check_code=printed)).get_data(as_text=True)
    assert "真实有效 Authentic" in page
    page = post_single(client, page_form(inv, check_code="12345678")).get_data(as_text=True)
    assert "校验码 Check code: 校验码请填写后6位数字或完整的20位数字（收到 8 位" in page
    assert "check_code:" not in page and "真实有效" not in page
    page = post_single(client, page_form(inv, gross="abc")).get_data(as_text=True)
    assert "价税合计 Gross amount: 请以元填写" in page and "amounts in fen" not in page


def post_batch(client, data, filename="rows.csv", **form):
    token = csrf_token(client, "/verify/batch")
    return client.post("/verify/batch", data={"csrf_token": token, "file": (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data")


def test_batch_errors_are_sentences_with_the_limits(chain_app):
    client = chain_app.test_client()
    page = client.get("/verify/batch").get_data(as_text=True)
    assert "每批最多 20,000 行，文件不超过 2 MB" in page and 'data-max-bytes="2097152"' in page
    r = post_batch(client, b"a,b\n1,2\n")
    assert r.status_code == 400
    assert "The CSV needs the columns number, issue_date, gross, check_code." in r.get_data(as_text=True)
    chain_app.config["VERIFY_BATCH_MAX_ROWS"] = 2
    r = post_batch(client, b"number,issue_date,gross,check_code\n" + b"26351000000000000001,2026-01-01,1,123456\n" * 3)
    assert r.status_code == 400 and "A batch has at most 2 rows; this one has 3." in r.get_data(as_text=True)
    chain_app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    r = post_batch(client, b"x" * (1024 * 1024 + 10))
    text = r.get_data(as_text=True)
    assert r.status_code == 413 and "上限为 1 MB" in text and "larger than the limit of 1 MB" in text
    assert "capacity limit" not in text
    r = chain_app.test_client().post("/api/v1/verify/batch", data=b"x" * (1024 * 1024 + 10), content_type="text/csv")
    assert r.status_code == 413 and "the limit of 1 MB" in r.get_json()["message"]


def test_batch_rows_land_in_the_users_history_and_its_export(api, chain_app, seeded):
    inv = issued(api)
    client = chain_app.test_client()
    login(client, "buyer")
    rows = (f"number,issue_date,gross,check_code\n{inv['number']},{inv['issue_date']},{inv['gross']},"
            f"{inv['check_code'][-6:]}\n{inv['number']},{inv['issue_date']},1,{inv['check_code'][-6:]}\n")
    r = post_batch(client, rows.encode())
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="batch-table"' in text
    assert "真实有效 Authentic: 1" in text and "信息不一致 Mismatch: 1" in text
    page = client.get(f"/verify/history?q={inv['number']}").get_data(as_text=True)
    assert page.count("批量查验 Batch") == 2 and "信息不一致 Mismatch" in page
    export = list(csv.reader(io.StringIO(client.get("/verify/history?export=csv").get_data(as_text=True))))
    assert sorted(row[4] for row in export[1:] if row[2] == "batch") == ["authentic", "mismatch"]


def test_verify_many_reports_progress_by_chunk(api, chain_app):
    inv = issued(api)
    rows = [query(inv)] * 5 + [{"number": "bad"}]
    seen = []
    with chain_app.app_context():
        out = verification.verify_many(rows, chunk=2, progress=lambda done, total: seen.append((done, total)))
    assert [r["result"] for r in out] == ["authentic"] * 5 + ["invalid"]
    assert seen == [(3, 6), (5, 6), (6, 6)]  # the invalid row counts as done from the start
    assert chain_app.test_client().get("/verify/batch/progress/unknown-batch").status_code == 404


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
    assert "共 260 条" in first and first.count("<time ") == 50 and "Page 1 / 6" in first
    assert "2026-03-02 04:30:05" in first and "北京时间 UTC+8" in first and "(UTC)" not in first
    last = client.get("/verify/history?page=6").get_data(as_text=True)
    assert last.count("<time ") == 10 and "26351000000000000000" in last
    found = client.get("/verify/history?q=2635100000000000025").get_data(as_text=True)  # 0250 … 0259
    assert "共 10 条" in found and found.count("<time ") == 10
    export = list(csv.reader(io.StringIO(client.get("/verify/history?export=csv").get_data(as_text=True))))
    assert len(export) == 261 and export[0][1] == "time (Asia/Shanghai, UTC+8)"
    assert export[1][1] == "2026-03-02 04:30:05"
    login_other = chain_app.test_client()
    login(login_other, "merchant1")
    assert "共 0 条" in login_other.get("/verify/history").get_data(as_text=True)  # one's own only


def test_history_api_pages_with_the_total(api, chain_app, seeded):
    add_history(chain_app, "buyer", 7, datetime(2026, 3, 1, 20, 30, 5))
    first = api("buyer").get("/verifications?limit=5").get_json()
    last = api("buyer").get("/verifications?limit=5&page=2").get_json()
    assert (first["total"], first["page"], len(first["verifications"])) == (7, 1, 5)
    assert (last["total"], last["page"], len(last["verifications"])) == (7, 2, 2)
    assert {v["id"] for v in first["verifications"]}.isdisjoint(v["id"] for v in last["verifications"])
    assert api("buyer").get("/verifications?page=0").status_code == 400
