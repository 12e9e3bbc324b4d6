"""The expense claims pages (报销) through the Flask test client, with CSRF and one-time form
tokens: each page for its roles only (403 for the others, the login for nobody) and in the
menu of those roles; the employee submits invoices through the forms (the four elements, an
upload of the JSON document, of the PDF) and sees the verification's checks at once, or the
refusal with the checks that failed; the approver approves and rejects (a reason needed),
makes a payment list of the approved claims and marks it paid; the employee sees the claim
paid; the report as a table, a CSV and an XLSX; the buyer's inbox links each invoice's PDF."""
import csv
import io
import re

import openpyxl
import pytest
from backendutil import Browser, form_in, sample_invoice, token_of

from backend.chain.client import ChainClient
from backend.chain.errors import ChainUnavailable
from backend.cli import create_user
from backend.core import canonical
from backend.core.canonical import yuan

COMPANY = "91530100MA6K0002XU"  # the demo buyer's (seed.DEMO)
OTHER_COMPANY = "91110000802100433B"


def form_tag(page, marker):
    m = re.search(r"<form\b[^>]*" + re.escape(marker) + r"[^>]*>", page)
    assert m, marker
    return m.group(0)


def flashes(page):
    return " ".join(re.findall(r'<div class="flash (?:ok|error)">(.*?)</div>', page, re.S))


def checks_of(page):
    """{check: ok} of the verification checks shown on ``page``."""
    return {name: ok == "true" for name, ok in re.findall(r'data-check="(\w+)" data-ok="(true|false)"', page)}


def row_of(page, claim_id):
    m = re.search(rf'<tr data-claim="{claim_id}".*?</tr>', page, re.S)
    assert m, f"no row of claim {claim_id}"
    return m.group(0)


@pytest.fixture
def browser(chain_app, seeded):
    with chain_app.app_context():
        create_user("employee2", "employee", "pw-test-123", buyer_tax_id=COMPANY)
    return lambda username: Browser(chain_app).login(username)


def issue(api, **over):
    r = api("merchant1").post("/invoices", json=sample_invoice(**over))
    assert r.status_code == 201, r.get_json()
    return api("merchant1").get(f"/invoices/{r.get_json()['number']}").get_json()


def elements(inv, **over):
    """The elements form as typed from the invoice (the gross in yuan)."""
    gross = inv["gross"]
    return {"number": inv["number"], "issue_date": inv["issue_date"], "gross": f"{gross // 100}.{gross % 100:02d}",
            "check_code": inv["check_code"][-6:], "category": "office", "purpose": "办公用品采购", **over}


def submit_elements(b, inv, **over):
    return b.submit(b.text("/claims"), 'id="claim-elements-form"', elements(inv, **over))


def claim_id_of(response):
    m = re.search(r"[?&]submitted=(\d+)", response.headers["Location"])
    assert m, response.headers["Location"]
    return int(m.group(1))


def test_pages_for_their_roles_only(browser, api, chain_app):
    inv = issue(api)
    emp, emp2, fin, buyer, m1 = (browser(u) for u in ("employee", "employee2", "approver", "buyer", "merchant1"))
    claim_id = claim_id_of(submit_elements(emp, inv))

    for path, allowed in (("/claims", (emp, fin)), ("/claims/payment-lists", (fin,)), ("/claims/report", (emp, fin)),
                          ("/claims/report.csv", (emp, fin)), ("/claims/report.xlsx", (emp, fin)),
                          (f"/claims/{claim_id}", (emp, fin))):
        for who in (emp, fin, buyer, m1):
            assert who.get(path).status_code == (200 if who in allowed else 403), path
        r = chain_app.test_client().get(path)
        assert r.status_code == 302 and "/auth/login" in r.headers["Location"], path
    assert emp2.get(f"/claims/{claim_id}").status_code == 404  # another employee's claim
    assert emp.get("/claims/999999").status_code == 404

    # each role's menu
    menus = {name: b.text("/") for name, b in (("employee", emp), ("approver", fin), ("buyer", buyer))}
    assert 'data-test="nav-claims">报销</a>' in menus["employee"]
    assert 'data-test="nav-claims-report"' in menus["employee"] and "nav-payment-lists" not in menus["employee"]
    assert 'data-test="nav-claims">报销审批</a>' in menus["approver"]
    assert 'data-test="nav-payment-lists">付款清单' in menus["approver"] and "nav-claims-report" in menus["approver"]
    assert "nav-claims" not in menus["buyer"] and 'data-test="nav-inbox"' in menus["buyer"]

    # the employee's page: the two forms; the approver's: no submit form, filters
    page = emp.text("/claims")
    assert 'id="claim-elements-form"' in page and 'id="claim-upload-form"' in page
    assert 'enctype="multipart/form-data"' in form_tag(page, 'id="claim-upload-form"')
    assert ">差旅</option>" in page and ">办公用品</option>" in page and "Travel" not in page
    page = fin.text("/claims")
    assert "报销审批" in page and "Expense claims" not in page and 'id="claim-elements-form"' not in page and 'id="claims-filter"' in page
    # the forms are CSRF-protected, and only the employee submits, only the approver decides
    assert emp.c.post("/claims/submit", data=elements(inv)).status_code == 400
    csrf = token_of(fin.text("/claims"))
    assert fin.c.post("/claims/submit", data={**elements(inv), "csrf_token": csrf}).status_code == 403
    csrf = token_of(emp.text("/claims"))
    assert emp.c.post(f"/claims/{claim_id}/approve", data={"csrf_token": csrf}).status_code == 403
    assert emp.c.post("/claims/payment-lists", data={"csrf_token": csrf}).status_code == 403


def test_submit_by_elements_shows_the_verification(browser, api):
    inv, theirs = issue(api), issue(api, buyer_name="北京示例科技有限公司", buyer_tax_id=OTHER_COMPANY)
    emp = browser("employee")

    # a wrong check code: refused with the check that failed, the typed values kept
    wrong = f"{(int(inv['check_code'][-6:]) + 1) % 10**6:06d}"
    r = submit_elements(emp, inv, check_code=wrong)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'data-outcome="refused" data-code="verification_failed"' in page and "查验未通过" in page
    assert checks_of(page) == {"authentic": False} and "✗" in page
    assert f'value="{inv["number"]}"' in page and f'value="{wrong}"' in page
    # another company's invoice: authentic, but not ours
    r = submit_elements(emp, theirs)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "not_addressed_to_company" in page and "购买方不是本企业" in page
    assert checks_of(page) == {"authentic": True, "status": True, "not_claimed": True, "buyer": False}
    # a gross that is no amount in yuan
    r = submit_elements(emp, inv, gross="12,3.4.5")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "价税合计请以元填写" in page and "价税合计：以元为单位的金额" in page

    # the right elements: the verification at once, then the claim in the list
    page = emp.text("/claims")
    action, hidden = form_in(page, 'id="claim-elements-form"')
    first = emp.c.post(action, data={**hidden, **elements(inv)})
    claim_id = claim_id_of(first)
    page = emp.follow(first)
    assert "查验通过" in flashes(page) and f'data-outcome="submitted" data-claim="{claim_id}"' in page
    assert checks_of(page) == {"authentic": True, "status": True, "not_claimed": True, "buyer": True}
    assert page.count("✓") >= 4 and "✗" not in page
    row = row_of(page, claim_id)
    assert 'data-status="submitted"' in row and "待审批" in row and inv["number"] in row
    assert "厦门示例贸易有限公司" in row and yuan(inv["gross"]) in row and "办公用品" in row
    submitted = api("employee").get(f"/claims/{claim_id}").get_json()["submitted_at"]
    from datetime import datetime
    assert canonical.china_time(datetime.fromisoformat(submitted.rstrip("Z"))) in row  # China time
    # the same rendered form again (Back, then the button): not submitted twice
    again = emp.c.post(action, data={**hidden, **elements(inv)})
    assert claim_id_of(again) == claim_id and f"报销单 {claim_id} 已提交，未重复提交" in flashes(emp.follow(again))
    # a new form with the same invoice: refused, it is claimed already
    r = submit_elements(emp, inv)
    assert r.status_code == 409 and "already_submitted" in r.get_data(as_text=True)
    assert len(api("employee").get("/claims").get_json()["claims"]) == 1


def test_submit_by_upload_of_the_document_and_the_pdf(browser, api):
    by_doc, by_pdf = issue(api), issue(api)
    emp, buyer = browser("employee"), browser("buyer")
    document = buyer.get(f"/invoices/{by_doc['number']}/document.json").data
    r = emp.submit(emp.text("/claims"), 'id="claim-upload-form"',
                   {"file": (io.BytesIO(document), f"{by_doc['number']}.json"), "category": "meals", "purpose": "午餐"},
                   content_type="multipart/form-data")
    claim_id = claim_id_of(r)
    page = emp.follow(r)
    assert checks_of(page) == {"authentic": True, "status": True, "not_claimed": True, "buyer": True}
    claim = api("employee").get(f"/claims/{claim_id}").get_json()
    assert claim["source"] == "document" and claim["category"] == "meals" and claim["purpose"] == "午餐"

    pdf = buyer.get(f"/invoices/{by_pdf['number']}/invoice.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    r = emp.submit(emp.text("/claims"), 'id="claim-upload-form"',
                   {"file": (io.BytesIO(pdf.data), "invoice.pdf"), "category": "travel"},
                   content_type="multipart/form-data")
    claim = api("employee").get(f"/claims/{claim_id_of(r)}").get_json()
    assert claim["source"] == "pdf" and claim["invoice"]["number"] == by_pdf["number"]

    # a tampered document and no file at all: refused in words
    tampered = canonical.canonical_json({**buyer.get(f"/invoices/{by_pdf['number']}/document.json").get_json(),
                                         "remarks": "改过"})
    r = emp.submit(emp.text("/claims"), 'id="claim-upload-form"', {"file": (io.BytesIO(tampered), "doc.json")},
                   content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-code="tampered"' in page and checks_of(page) == {"authentic": False}
    r = emp.submit(emp.text("/claims"), 'id="claim-upload-form"', {}, content_type="multipart/form-data")
    assert r.status_code == 400 and "请选择发票的 JSON 文件或 PDF" in r.get_data(as_text=True)


def test_approve_reject_payment_list_and_paid(browser, api, seeded, monkeypatch):
    invs = [issue(api) for _ in range(3)]
    emp, fin = browser("employee"), browser("approver")
    ids = [claim_id_of(submit_elements(emp, inv, category=cat))
           for inv, cat in zip(invs, ("travel", "meals", "travel"))]

    page = fin.text("/claims?status=submitted")
    for claim_id in ids:
        row = row_of(page, claim_id)
        assert "employee" in row and 'data-action="approve"' in row and 'data-action="reject"' in row
    assert "data-confirm=" in form_tag(page, f'data-action="approve" data-claim="{ids[0]}"')
    assert "data-confirm=" in form_tag(page, f'data-action="reject" data-claim="{ids[0]}"')
    assert "<form" not in re.search(r'<tr data-claim=.*</tbody>', emp.text("/claims"), re.S).group(0)

    # reject: a reason is needed; then rejected, shown to the employee
    r = fin.submit(page, f'data-action="reject" data-claim="{ids[2]}"', {"reason": " "})
    assert "请检查输入" in flashes(fin.follow(r))
    r = fin.submit(fin.text("/claims"), f'data-action="reject" data-claim="{ids[2]}"', {"reason": "缺少行程单"})
    assert r.headers["Location"].startswith("/claims")
    assert "已驳回报销单" in flashes(fin.follow(r))
    detail = emp.text(f"/claims/{ids[2]}")
    assert "已驳回" in detail and "缺少行程单" in detail and 'id="claim-actions"' not in detail

    # approve two from the list page and from the claim's page
    r = fin.submit(fin.text("/claims"), f'data-action="approve" data-claim="{ids[0]}"')
    assert "已批准报销单" in flashes(fin.follow(r))
    detail = fin.text(f"/claims/{ids[1]}")
    assert 'id="claim-actions"' in detail and "等待财务审批" in detail
    r = fin.submit(detail, 'data-action="approve"')
    assert r.headers["Location"] == f"/claims/{ids[1]}"
    detail = fin.follow(r)
    assert "已批准" in detail and re.search(r'id="claim-tx">0x[0-9a-f]{64}<', detail)
    assert 'id="claim-actions"' not in detail and "approver" in detail

    # the payment list: the approved claims ticked, the rejected one absent
    lists = fin.text("/claims/payment-lists")
    assert "生成付款清单" in lists and "暂无付款清单" in lists and "Create payment list" not in lists
    for claim_id in ids[:2]:
        assert f'name="claim_ids" value="{claim_id}" checked' in lists
    assert f'value="{ids[2]}"' not in lists
    r = fin.submit(lists, 'id="payment-list-form"', {})  # nothing ticked
    assert "请勾选" in flashes(fin.follow(r))
    r = fin.submit(fin.text("/claims/payment-lists"), 'id="payment-list-form"',
                   {"claim_ids": [str(i) for i in ids[:2]]})
    lists = fin.follow(r)
    assert "已生成付款清单" in flashes(lists) and "暂无待列入付款清单的已批准报销单" in lists
    total = sum(inv["gross"] for inv in invs[:2])
    plist = api("approver").get("/payment-lists").get_json()["payment_lists"][0]
    row = re.search(rf'<tr id="list-{plist["id"]}".*?</tr>', lists, re.S).group(0)
    assert 'data-status="registered"' in row and "待支付" in row and plist["list_hash"] in row
    assert yuan(total) in row and seeded["buyer"]["address"] in row and "链上未支付" in row
    assert "标记已支付" in row and "data-confirm=" in form_tag(lists, 'data-action="paid"')
    assert f'href="/claims/payment-lists#list-{plist["id"]}"' in fin.text(f"/claims/{ids[0]}")

    # marked paid: a reference is needed; then paid on chain, and the claims paid
    r = fin.submit(lists, f'data-action="paid" data-list="{plist["id"]}"', {"payment_ref": ""})
    assert "请检查输入" in flashes(fin.follow(r))
    r = fin.submit(fin.text("/claims/payment-lists"), f'data-action="paid" data-list="{plist["id"]}"',
                   {"payment_ref": "ICBC-20261204-0001"})
    lists = fin.follow(r)
    assert "已标记为已支付" in flashes(lists)
    row = re.search(rf'<tr id="list-{plist["id"]}".*?</tr>', lists, re.S).group(0)
    assert 'data-status="paid"' in row and "ICBC-20261204-0001" in row and "凭证哈希" in row and "标记已支付" not in row
    mine = emp.text("/claims")
    for claim_id in ids[:2]:
        assert "已支付" in row_of(mine, claim_id)
    assert "已驳回" in row_of(mine, ids[2])
    detail = emp.text(f"/claims/{ids[0]}")
    assert f"#{plist['id']}" in detail and plist["list_hash"] in detail and "/claims/payment-lists" not in detail
    assert [c["id"] for c in api("employee").get("/claims?status=paid").get_json()["claims"]] == sorted(ids[:2],
                                                                                                     reverse=True)
    # the filters of the approver's page
    page = fin.text("/claims?status=rejected")
    assert f'data-claim="{ids[2]}"' in page and f'data-claim="{ids[0]}"' not in page
    page = fin.text(f"/claims?q={invs[1]['number'][-8:]}")
    assert f'data-claim="{ids[1]}"' in page and f'data-claim="{ids[0]}"' not in page
    # the chain unreachable: the lists are still shown, from the database, with a notice
    def unreachable(*args, **kwargs):
        raise ChainUnavailable("connection refused")

    monkeypatch.setattr(ChainClient, "call_named", unreachable)
    lists = fin.text("/claims/payment-lists")
    assert "链上记录暂不可用" in flashes(lists) and f'id="list-{plist["id"]}"' in lists and "ICBC-20261204-0001" in lists


def test_report_table_and_downloads(browser, api):
    invs = [issue(api) for _ in range(3)]
    emp, fin = browser("employee"), browser("approver")
    for inv, cat in zip(invs, ("travel", "meals", "travel")):
        claim_id_of(submit_elements(emp, inv, category=cat))
    total = sum(inv["gross"] for inv in invs)

    page = fin.text("/claims/report?group=category")
    table = re.search(r'<table id="report-table".*?</table>', page, re.S).group(0)
    assert 'data-key="travel"' in table and 'data-key="meals"' in table and "<td>差旅</td>" in table
    assert re.search(rf'id="report-total"><th>合计</th><th class="num">3</th><th class="num" data-fen="{total}">',
                     table)
    assert 'href="/claims/report.csv?group=category&amp;status=all"' in page
    page = emp.text("/claims/report?group=employee")
    assert 'data-key="employee"' in page and yuan(total) in page
    page = fin.text("/claims/report?group=yacht")
    assert "汇总条件有误，已忽略：汇总方式：" in flashes(page) and 'data-group="category"' in page  # the default, said
    assert 'data-key' not in fin.text("/claims/report?status=paid")
    assert 'data-key' not in fin.text("/claims/report?group=month&from=2000-01&to=2000-12")
    month = re.search(r'data-key="(\d{4}-\d{2})"', fin.text("/claims/report?group=month")).group(1)
    page = fin.text(f"/claims/report?group=month&from={month}&to={month}")
    assert f'data-key="{month}"' in page and f'value="{month}"' in page
    assert f'href="/claims/report.xlsx?group=month&amp;status=all&amp;from={month}&amp;to={month}"' in page
    page = fin.text("/claims/report?group=month&from=2026-13x")
    assert "汇总条件有误" in flashes(page) and f'data-key="{month}"' in page

    r = fin.get("/claims/report.csv?group=category")
    assert r.status_code == 200 and r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][0] == "类别" and rows[-1] == ["合计", "3", f"{total / 100:.2f}"]
    r = emp.get("/claims/report.xlsx?group=month")
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert sheet.cell(1, 1).value == "月份" and sheet.cell(sheet.max_row, 3).value == total / 100


def test_claim_pages_in_english(browser, api):
    """The same pages and messages in English, with no Chinese words of ours left in them."""
    inv, theirs = issue(api), issue(api, buyer_name="北京示例科技有限公司", buyer_tax_id=OTHER_COMPANY)
    emp, fin = browser("employee").english(), browser("approver").english()
    page = emp.text("/claims")
    assert "Submit a claim" in page and ">Travel</option>" in page and "提交报销" not in page and "差旅" not in page
    r = submit_elements(emp, theirs)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "is addressed to another buyer, not to this company" in page
    assert "The invoice is not addressed to this company." in page and "购买方不是本企业" not in page
    r = submit_elements(emp, inv, gross="12,3.4.5")
    page = r.get_data(as_text=True)
    assert "Enter the gross amount in yuan" in page and "Gross amount: an amount in yuan" in page
    claim_id = claim_id_of(submit_elements(emp, inv))
    page = emp.text(f"/claims/{claim_id}")
    assert "Verification at submission" in page and "Waiting for approval" in page and "查验" not in page
    assert "The invoice is addressed to this company." in page and "Not claimed for reimbursement before" in page
    # the verification stored at submission is shown in the reader's language
    assert "购买方为本企业。" in browser("employee").text(f"/claims/{claim_id}")
    r = fin.submit(fin.text("/claims"), f'data-action="approve" data-claim="{claim_id}"')
    page = fin.follow(r)
    assert f"Claim {claim_id} approved; the invoice is marked claimed on chain." in flashes(page)
    assert "Claim approval" in page and "已批准" not in page
    lists = fin.text("/claims/payment-lists")
    assert "Create payment list" in lists and "No payment lists yet." in lists and "生成付款清单" not in lists
    r = fin.submit(lists, 'id="payment-list-form"', {})
    assert "Tick the claims to put in the payment list." in flashes(fin.follow(r))
    r = fin.submit(fin.text("/claims/payment-lists"), 'id="payment-list-form"', {"claim_ids": [str(claim_id)]})
    lists = fin.follow(r)
    assert "Payment list" in flashes(lists) and "Waiting for payment" in lists and "Not paid on chain" in lists
    page = fin.text("/claims/report?group=yacht")
    assert "A report option was not valid" in flashes(page) and "<th>Total</th>" in page and "合计" not in page
    rows = list(csv.reader(io.StringIO(fin.get("/claims/report.csv?group=category").data.decode("utf-8-sig"))))
    assert rows[0] == ["Category", "Claims", "Amount (yuan)"] and rows[-1][0] == "Total"
    # the API's messages follow Accept-Language; the error code stays
    body = api("employee").get("/claims/999999", headers={"Accept-Language": "en"}).get_json()
    assert body["error"] == "not_found" and body["message"] == "There is no expense claim 999999."
    assert api("employee").get("/claims/999999").get_json()["message"] == "没有报销单 999999。"


def test_inbox_links_the_pdf(browser, api):
    inv = issue(api)
    buyer = browser("buyer")
    page = buyer.text("/inbox")
    row = re.search(rf'<tr data-number="{inv["number"]}".*?</tr>', page, re.S).group(0)
    link = re.search(r'<a href="([^"]+)" download data-test="inbox-pdf"', row)
    assert link and link.group(1) == f"/invoices/{inv['number']}/invoice.pdf"
    assert f'href="/invoices/{inv["number"]}/document.json"' in row
    r = buyer.get(link.group(1))
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    assert "attachment" in r.headers["Content-Disposition"]
    assert browser("employee").get(link.group(1)).status_code == 403  # the buyer's, not its staff's
