"""Expense claims through the JSON API (issue 12's acceptance): the demo buyer company's
employee submits invoices (four elements, JSON document, PDF), finance approves (the invoice
marked claimed on chain by the company's account), a second claim of the same invoice by
anyone is refused 409, an invoice of another buyer 422; payment lists registered on chain
and paid; the expense report as JSON, CSV and XLSX."""
import csv
import io

import openpyxl
import pytest

from backend.chain import get_chain
from backend.cli import create_user
from backend.core import canonical
from backend.services import claims

from backendutil import sample_invoice

COMPANY = "91530100MA6K0002XU"  # the demo buyer's
OTHER_COMPANY = "91110000802100433B"


def _ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _issue(api, **over):
    number = _ok(api("merchant1").post("/invoices", json=sample_invoice(**over)), 201)["number"]
    return _ok(api("merchant1").get(f"/invoices/{number}"))


def _elements(inv, **over):
    return {"number": inv["number"], "issue_date": inv["issue_date"], "gross": inv["gross"],
            "check_code": inv["check_code"][-6:], "category": "office", "purpose": "办公用品采购", **over}


def _claimed_on_chain(chain_app, number):
    with chain_app.app_context():
        key = bytes.fromhex(canonical.invoice_key(number)[2:])
        return get_chain().call(claims.CLAIMS, "claimOf", key)


@pytest.fixture
def staff(chain_app, api):
    """A second employee of the demo company and an employee and an approver of another
    company: ``staff(name)`` is their API client."""
    tokens = {}
    with chain_app.app_context():
        for name, role, company in (("employee2", "employee", COMPANY), ("outsider", "employee", OTHER_COMPANY),
                                    ("outsider-finance", "approver", OTHER_COMPANY)):
            tokens[name] = create_user(name, role, "pw-test-123", token=True, buyer_tax_id=company)[2]

    def client(name):
        c = api()
        c.headers = {"Authorization": f"Bearer {tokens[name]}"}
        return c

    return client


def test_submit_approve_and_never_twice(api, chain_app, seeded, staff):
    inv = _issue(api)
    claim = _ok(api("employee").post("/claims", json=_elements(inv)), 201)
    assert claim["status"] == "submitted" and claim["employee"] == "employee" and claim["source"] == "elements"
    assert claim["verification"]["result"] == "authentic"
    assert {c["check"]: c["ok"] for c in claim["verification"]["checks"]} == {
        "authentic": True, "status": True, "not_claimed": True, "buyer": True}
    assert claim["invoice"]["amount"] == inv["gross"] and claim["invoice"]["seller"]["tax_id"] == "91350100M000100Y43"
    assert claim["category_label"] == "办公用品" and claim["actions"] == []
    assert {c["detail"] for c in claim["verification"]["checks"]} >= {"购买方为本企业。", "链上无报销记录。"}
    english = _ok(api("employee").get(f"/claims/{claim['id']}", headers={"Accept-Language": "en"}))
    assert english["category_label"] == "Office supplies" and english["status_label"] == "Waiting for approval"
    assert "The invoice is addressed to this company." in {c["detail"] for c in english["verification"]["checks"]}
    assert "about" not in english["verification"]["checks"][0]  # the stored key is not part of the answer
    assert _ok(api("approver").get(f"/claims/{claim['id']}"))["actions"] == ["approve", "reject"]

    # a live claim on this platform: the same invoice again is refused before the chain is asked
    again = api("employee").post("/claims", json=_elements(inv))
    assert again.status_code == 409 and again.get_json()["error"] == "already_submitted"
    assert "employee" in again.get_json()["message"]

    approved = _ok(api("approver").post(f"/claims/{claim['id']}/approve"))
    assert approved["status"] == "approved" and approved["decided_by"] == "approver"
    assert approved["claim_tx"].startswith("0x")
    claimant, claimed_at, _ = _claimed_on_chain(chain_app, inv["number"])
    assert claimant == seeded["buyer"]["address"] and claimed_at > 0  # the company's account marked it

    for who in (api("employee"), staff("employee2"), staff("outsider")):
        r = who.post("/claims", json=_elements(inv))
        assert r.status_code == 409, r.get_json()
        body = r.get_json()
        assert body["error"] == "AlreadyClaimed" and "不能重复报销" in body["message"]
        assert seeded["buyer"]["address"] in body["message"]
    # approving it twice is refused too
    r = api("approver").post(f"/claims/{claim['id']}/approve")
    assert r.status_code == 409 and r.get_json()["error"] == "claim_decided"


def test_refusals_at_submission(api, chain_app, staff):
    mine = _issue(api)
    theirs = _issue(api, buyer_name="北京示例科技有限公司", buyer_tax_id=OTHER_COMPANY)

    r = api("employee").post("/claims", json=_elements(theirs))
    assert r.status_code == 422 and r.get_json()["error"] == "not_addressed_to_company"
    assert r.get_json()["verification"]["result"] == "authentic"
    assert {c["check"]: c["ok"] for c in r.get_json()["verification"]["checks"]}["buyer"] is False
    # ... which the other company's employee may claim
    assert _ok(staff("outsider").post("/claims", json=_elements(theirs)), 201)["company_tax_id"] == OTHER_COMPANY

    wrong = _elements(mine, check_code=f"{(int(mine['check_code'][-6:]) + 1) % 10**6:06d}")
    r = api("employee").post("/claims", json=wrong)
    assert r.status_code == 422 and r.get_json()["error"] == "verification_failed"
    assert r.get_json()["verification"]["result"] == "mismatch"
    r = api("employee").post("/claims", json=_elements(mine, number="26539999999999999999"))
    assert r.status_code == 422 and r.get_json()["verification"]["result"] == "not_found"

    _ok(api("merchant1").post(f"/invoices/{mine['number']}/void"))
    r = api("employee").post("/claims", json=_elements(mine))
    assert r.status_code == 422 and r.get_json()["error"] == "invoice_not_claimable"
    assert r.get_json()["verification"]["result"] == "voided"

    bad = api("employee").post("/claims", json={"number": mine["number"], "category": "office"})
    assert bad.status_code == 400 and "校验码" in bad.get_json()["fields"]["body"]
    bad = api("employee").post("/claims", json={"number": mine["number"]}, headers={"Accept-Language": "en"})
    assert "issue date, gross amount and check code" in bad.get_json()["fields"]["body"]
    assert api("employee").post("/claims", json={**_elements(mine), "category": "yacht"}).status_code == 400
    assert api("buyer").post("/claims", json=_elements(mine)).status_code == 403
    assert api("approver").post("/claims", json=_elements(mine)).status_code == 403
    assert api("merchant1").get("/claims").status_code == 403
    assert api().get("/claims").status_code == 401


def test_upload_document_and_pdf(api, chain_app):
    first, second = _issue(api), _issue(api)
    document = _ok(api("buyer").get(f"/invoices/{first['number']}"))["document"]
    by_doc = _ok(api("employee").post("/claims", json={"document": document, "category": "meals"}), 201)
    assert by_doc["source"] == "document" and by_doc["invoice"]["number"] == first["number"]
    assert by_doc["verification"]["result"] == "authentic"

    pdf = api("buyer").get(f"/invoices/{second['number']}/pdf").data
    r = api("employee").post("/claims/upload", data={"file": (io.BytesIO(pdf), "invoice.pdf"), "category": "travel",
                                                    "purpose": "出差"}, content_type="multipart/form-data")
    by_pdf = _ok(r, 201)
    assert by_pdf["source"] == "pdf" and by_pdf["invoice"]["number"] == second["number"]
    assert by_pdf["category"] == "travel" and by_pdf["purpose"] == "出差"

    tampered = dict(document, remarks="改过 altered")
    r = api("employee").post("/claims/upload", data={"file": (io.BytesIO(canonical.canonical_json(tampered)),
                                                              "doc.json")}, content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["error"] in ("tampered", "already_submitted")
    r = api("employee").post("/claims/upload", data={"file": (io.BytesIO(b"%PDF-1.4 not really"), "x.pdf")},
                             content_type="multipart/form-data")
    assert r.status_code == 400 and r.get_json()["fields"]["file"] == "无法读取该 PDF 文件。"  # in words, Chinese
    r = api("employee").post("/claims/upload", data={"file": (io.BytesIO(b"%PDF-1.4 not really"), "x.pdf")},
                             content_type="multipart/form-data", headers={"Accept-Language": "en"})
    assert r.get_json()["fields"]["file"] == "The PDF cannot be read."
    r = api("employee").post("/claims/upload", data={}, content_type="multipart/form-data")
    assert r.status_code == 400


def test_pdf_without_attachment_is_read_through_its_qr_code(api, chain_app):
    import pypdf

    inv = _issue(api)
    reader = pypdf.PdfReader(io.BytesIO(api("buyer").get(f"/invoices/{inv['number']}/pdf").data))
    assert list(reader.attachments) == [f"einvoice_{inv['number']}.json"]
    bare = pypdf.PdfWriter()
    for page in reader.pages:
        bare.add_page(page)
    out = io.BytesIO()
    bare.write(out)
    r = api("employee").post("/claims/upload", data={"file": (io.BytesIO(out.getvalue()), "scan.pdf")},
                             content_type="multipart/form-data")
    claim = _ok(r, 201)
    assert claim["source"] == "pdf" and claim["invoice"]["number"] == inv["number"]


def test_reject_frees_the_invoice(api):
    inv = _issue(api)
    claim = _ok(api("employee").post("/claims", json=_elements(inv)), 201)
    r = api("approver").post(f"/claims/{claim['id']}/reject", json={"reason": " "})
    assert r.status_code == 400
    rejected = _ok(api("approver").post(f"/claims/{claim['id']}/reject", json={"reason": "缺少行程单 No itinerary"}))
    assert rejected["status"] == "rejected" and rejected["reject_reason"] == "缺少行程单 No itinerary"
    assert _ok(api("employee").post("/claims", json=_elements(inv)), 201)["status"] == "submitted"


def test_claimed_elsewhere_before_approval(api, chain_app, seeded):
    """Another platform (here: the company's account directly) marks the invoice first: the
    approval is refused with the chain's reason and the claim rejected with it."""
    from backend.core import buyer_privacy
    from backend.core.models import Invoice
    from backend.core.db import get_db
    from backend.services.invoices import held_buyer
    from backend.chain import get_signer

    inv = _issue(api)
    claim = _ok(api("employee").post("/claims", json=_elements(inv)), 201)
    with chain_app.app_context():
        row = get_db().query(Invoice).filter_by(number=inv["number"]).one()
        salt, tag = held_buyer(row)
        get_signer().transact(seeded["buyer"]["address"], claims.CLAIMS, "markClaimed", bytes.fromhex(row.key[2:]),
                              buyer_privacy.buyer_digest(salt, COMPANY), tag, b"\x01" * 32)
    r = api("approver").post(f"/claims/{claim['id']}/approve")
    assert r.status_code == 409 and r.get_json()["error"] == "AlreadyClaimed"
    after = _ok(api("employee").get(f"/claims/{claim['id']}"))
    assert after["status"] == "rejected" and "不能重复报销" in after["reject_reason"]


def test_visibility(api, staff):
    inv = _issue(api)
    claim = _ok(api("employee").post("/claims", json=_elements(inv)), 201)
    assert staff("employee2").get(f"/claims/{claim['id']}").status_code == 404  # another employee's
    assert staff("outsider-finance").get(f"/claims/{claim['id']}").status_code == 404  # another company's
    assert staff("outsider-finance").post(f"/claims/{claim['id']}/approve").status_code == 404
    assert api("employee").post(f"/claims/{claim['id']}/approve").status_code == 403
    assert [c["id"] for c in _ok(api("approver").get("/claims"))["claims"]] == [claim["id"]]
    assert _ok(staff("employee2").get("/claims"))["claims"] == []
    assert _ok(api("approver").get("/claims?status=approved"))["claims"] == []


def test_payment_list_registered_and_paid_on_chain(api, chain_app, seeded):
    ids = []
    for i in range(3):
        inv = _issue(api)
        claim = _ok(api("employee").post("/claims", json=_elements(inv, category=("travel", "meals", "travel")[i])),
                    201)
        ids.append(_ok(api("approver").post(f"/claims/{claim['id']}/approve"))["id"])
    r = api("approver").post("/payment-lists", json={"claim_ids": [ids[0], 999999]})
    assert r.status_code == 409 and r.get_json()["error"] == "claims_not_payable"

    plist = _ok(api("approver").post("/payment-lists"), 201)
    amounts = [c["invoice"]["amount"] for c in _ok(api("approver").get("/claims"))["claims"]]
    assert plist["status"] == "registered" and plist["claim_count"] == 3 and plist["total"] == sum(amounts)
    assert plist["on_chain"]["payer"] == seeded["buyer"]["address"] and plist["on_chain"]["total"] == plist["total"]
    assert plist["on_chain"]["paidAt"] == 0
    # the list's hash is the keccak-256 of its document: anyone can check it
    from eth_utils import keccak
    import json
    text = json.dumps(plist["document"], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert "0x" + keccak(text.encode()).hex() == plist["list_hash"]
    assert [c["id"] for c in plist["document"]["claims"]] == sorted(ids)

    r = api("approver").post("/payment-lists")
    assert r.status_code == 409 and r.get_json()["error"] == "no_approved_claims"
    assert api("approver").post(f"/payment-lists/{plist['id']}/paid", json={}).status_code == 400
    paid = _ok(api("approver").post(f"/payment-lists/{plist['id']}/paid", json={"payment_ref": "ICBC-20261204-0001"}))
    assert paid["status"] == "paid" and paid["on_chain"]["paidAt"] > 0
    assert paid["on_chain"]["paymentRef"] == "0x" + keccak(text="ICBC-20261204-0001").hex()
    assert {c["status"] for c in _ok(api("employee").get("/claims"))["claims"]} == {"paid"}
    r = api("approver").post(f"/payment-lists/{plist['id']}/paid", json={"payment_ref": "again"})
    assert r.status_code == 409
    assert [p["id"] for p in _ok(api("approver").get("/payment-lists"))["payment_lists"]] == [plist["id"]]
    assert api("employee").get("/payment-lists").status_code == 403


def test_expense_report(api):
    amounts = {}
    for category in ("travel", "meals", "travel"):
        inv = _issue(api)
        _ok(api("employee").post("/claims", json=_elements(inv, category=category)), 201)
        amounts[category] = amounts.get(category, 0) + inv["gross"]
    report = _ok(api("approver").get("/claims/report?group=category"))
    assert {r["key"]: (r["claims"], r["amount"]) for r in report["rows"]} == {
        "meals": (1, amounts["meals"]), "travel": (2, amounts["travel"])}
    assert report["total_amount"] == sum(amounts.values()) and report["total_claims"] == 3
    by_employee = _ok(api("employee").get("/claims/report?group=employee"))
    assert [(r["key"], r["claims"]) for r in by_employee["rows"]] == [("employee", 3)]
    month = _ok(api("approver").get("/claims/report?group=month"))["rows"]
    assert len(month) == 1 and month[0]["amount"] == sum(amounts.values())
    assert _ok(api("approver").get("/claims/report?group=category&status=paid"))["rows"] == []

    r = api("approver").get("/claims/report?group=category&format=csv")
    assert r.status_code == 200 and r.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][0] == "类别" and rows[-1] == ["合计", "3", f"{sum(amounts.values()) / 100:.2f}"]
    r = api("approver").get("/claims/report?group=category&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert sheet.cell(2, 1).value in ("差旅", "餐饮")
    r = api("approver").get("/claims/report?group=category&format=csv", headers={"Accept-Language": "en"})
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0] == ["Category", "Claims", "Amount (yuan)"] and rows[-1][0] == "Total"
    assert {rows[1][0], rows[2][0]} == {"Travel", "Meals"}
    assert sheet.cell(sheet.max_row, 3).value == sum(amounts.values()) / 100
    assert api("approver").get("/claims/report?group=yacht").status_code == 400
