"""Reports through the JSON API (issue 13): the report builder (columns, filters, grouping,
exports, saved reports), the merchant's monthly statement and the platform report as JSON,
PDF and XLSX — every figure compared with a sum computed directly from the invoices."""
import csv
import io
from datetime import date

import openpyxl
import pypdf
import pytest

from backendutil import sample_invoice

OTHER_BUYER = ("上海示例有限公司", "91110000802100433B")


def _ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response


@pytest.fixture
def book(api):
    """merchant1: three invoices to the demo buyer, one to another buyer, a red-letter note
    of part of the first; merchant2: one invoice. Returns merchant1's invoices (dicts)."""
    m1 = api("merchant1")
    made = []
    for over in ({}, {}, {"buyer_name": OTHER_BUYER[0], "buyer_tax_id": OTHER_BUYER[1],
                          "items": [{"name": "服务", "unit_price": 100000, "tax_rate": 6}]}, {}):
        number = _ok(m1.post("/invoices", json=sample_invoice(**over)), 201).get_json()["number"]
        made.append(_ok(m1.get(f"/invoices/{number}")).get_json())
    _ok(m1.post(f"/invoices/{made[3]['number']}/void"))
    note = _ok(m1.post(f"/invoices/{made[0]['number']}/red-letter", json={
        "reason_code": 1, "items": [{"name": "办公用品 Office supplies", "quantity": 2, "unit_price": 12_50,
                                     "tax_rate": 13}]}), 201).get_json()
    made.append(_ok(m1.get(f"/invoices/{note['number']}")).get_json())
    _ok(api("merchant2").post("/invoices", json=sample_invoice()), 201)
    return made


def _signed(inv, field):
    return -inv[field] if inv["is_red_letter"] else inv[field]


def test_builder_rows_groups_and_totals(api, book):
    m1 = api("merchant1")
    result = _ok(m1.post("/reports/run", json={"definition": {"columns": ["number", "buyer_tax_id", "gross"],
                                                               "sort_by": "number", "descending": False}})).get_json()
    assert [c["key"] for c in result["columns"]] == ["number", "buyer_tax_id", "gross"]
    assert [r[0] for r in result["rows"]] == sorted(i["number"] for i in book)  # merchant2's is not there
    by_number = {r[0]: r[2] for r in result["rows"]}
    assert all(by_number[i["number"]] == _signed(i, "gross") for i in book)
    assert result["totals"]["gross"] == sum(_signed(i, "gross") for i in book)
    assert result["totals"]["count"] == len(book) and result["truncated"] is False

    grouped = _ok(m1.post("/reports/run", json={"definition": {"group_by": "buyer", "measures": ["count", "net", "gross"],
                                                                "sort_by": "gross"}})).get_json()
    rows = {r[0]: r for r in grouped["rows"]}
    demo = [i for i in book if i["buyer"]["tax_id"] == "91530100MA6K0002XU"]
    assert rows["91530100MA6K0002XU"][2:] == [len(demo), sum(_signed(i, "net") for i in demo),
                                              sum(_signed(i, "gross") for i in demo)]
    assert rows[OTHER_BUYER[1]][1] == OTHER_BUYER[0] and rows[OTHER_BUYER[1]][2] == 1
    assert [r[0] for r in grouped["rows"]][0] == max(rows, key=lambda k: rows[k][4])  # sorted by gross, descending

    filtered = _ok(m1.post("/reports/run", json={"definition": {
        "group_by": "status", "filters": {"statuses": ["Voided"]}}})).get_json()
    assert filtered["rows"] == [["Voided", 1, book[3]["gross"]]]
    notes = _ok(m1.post("/reports/run", json={"definition": {"filters": {"red_letter": "only"}}})).get_json()
    assert notes["totals"]["count"] == 1 and notes["totals"]["gross"] == -book[4]["gross"]
    limited = _ok(m1.post("/reports/run", json={"definition": {"limit": 2}})).get_json()
    assert len(limited["rows"]) == 2 and limited["truncated"] is True


def test_builder_scope_and_refusals(api, book):
    everything = _ok(api("authority").post("/reports/run", json={"definition": {"group_by": "seller"}})).get_json()
    assert {r[0] for r in everything["rows"]} == {"91350100M000100Y43", "91110000802100433B"}
    buyer = _ok(api("buyer").post("/reports/run", json={"definition": {"columns": ["number", "buyer_tax_id"]}}))
    rows = buyer.get_json()["rows"]
    demo = {i["number"] for i in book if i["buyer"]["tax_id"] == "91530100MA6K0002XU"}
    assert {r[1] for r in rows} == {"91530100MA6K0002XU"} and demo < {r[0] for r in rows}
    assert len(rows) == len(demo) + 1  # and merchant2's
    assert api("financier").post("/reports/run", json={"definition": {}}).status_code == 403
    assert api().post("/reports/run", json={"definition": {}}).status_code == 401
    for bad in ({"columns": ["password"]}, {"group_by": "planet"}, {"columns": []}, {"sort_by": "gross",
                                                                                     "columns": ["number"]},
                {"filters": {"date_from": "2026-12-02", "date_to": "2026-12-01"}}, {"limit": 0}):
        r = api("merchant1").post("/reports/run", json={"definition": bad})
        assert r.status_code == 400, bad


def test_builder_exports_and_saved_reports(api, book):
    m1 = api("merchant1")
    definition = {"group_by": "buyer", "measures": ["count", "gross"]}
    r = _ok(m1.post("/reports/run", json={"definition": definition, "format": "csv"}))
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0] == ["购买方税号", "购买方", "张数", "价税合计"]
    assert rows[-1][0] == "合计" and rows[-1][2] == str(len(book))
    r = _ok(m1.post("/reports/run", json={"definition": definition, "format": "csv"}, headers={"Accept-Language": "en"}))
    english = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert english[0] == ["Buyer tax ID", "Buyer", "Invoice count", "Gross total"] and english[-1][0] == "Total"
    total_yuan = sum(_signed(i, "gross") for i in book)
    assert rows[-1][3] == f"{total_yuan // 100}.{total_yuan % 100:02d}"
    r = _ok(m1.post("/reports/run", json={"definition": definition, "format": "xlsx"}))
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert sheet.cell(1, 1).value == "购买方税号" and sheet.cell(sheet.max_row, 3).value == len(book)

    saved = _ok(m1.post("/reports/saved", json={"name": "按购买方 By buyer", "definition": definition}), 201).get_json()
    again = _ok(m1.post("/reports/saved", json={"name": "按购买方 By buyer", "definition": {
        **definition, "measures": ["gross"]}}), 201).get_json()
    assert again["id"] == saved["id"] and again["definition"]["measures"] == ["gross"]
    listed = _ok(m1.get("/reports/saved")).get_json()["reports"]
    assert [s["name"] for s in listed] == ["按购买方 By buyer"]
    ran = _ok(m1.get(f"/reports/saved/{saved['id']}")).get_json()
    assert [c["key"] for c in ran["columns"]] == ["buyer_tax_id", "buyer_name", "gross"]
    assert _ok(m1.get(f"/reports/saved/{saved['id']}?format=xlsx")).data[:2] == b"PK"
    assert api("merchant2").get(f"/reports/saved/{saved['id']}").status_code == 404
    assert m1.post("/reports/saved", json={"name": " ", "definition": definition}).status_code == 400
    assert m1.delete(f"/reports/saved/{saved['id']}").status_code == 204
    assert m1.get(f"/reports/saved/{saved['id']}").status_code == 404


def test_monthly_statement(api, book):
    month = date.today().isoformat()[:7]
    data = _ok(api("merchant1").get(f"/reports/statement?month={month}&format=json")).get_json()
    assert data["merchant"]["tax_id"] == "91350100M000100Y43"
    t = data["totals"]
    assert (t["count"], t["net"], t["tax"], t["gross"]) == (
        len(book), sum(_signed(i, "net") for i in book), sum(_signed(i, "tax") for i in book),
        sum(_signed(i, "gross") for i in book))
    assert t["notes"] == 1 and t["voided"] == 1
    assert {r["rate"] for r in data["by_rate"]} == {6, 13}
    assert sum(r["net"] for r in data["by_rate"]) == t["net"] and sum(r["tax"] for r in data["by_rate"]) == t["tax"]
    assert sorted(i["number"] for i in data["invoices"]) == sorted(i["number"] for i in book)

    pdf = _ok(api("merchant1").get(f"/reports/statement?month={month}"))
    assert pdf.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert "月度开票报表" in text and book[0]["number"] in text
    xlsx = openpyxl.load_workbook(io.BytesIO(_ok(api("merchant1").get(f"/reports/statement?month={month}&format=xlsx"))
                                             .data))
    assert xlsx.sheetnames == ["汇总", "明细"] and xlsx["明细"].max_row == len(book) + 1
    assert xlsx["明细"].cell(1, 1).value == "发票号码" and "红字发票" in {c.value for c in xlsx["明细"]["H"]}
    english = openpyxl.load_workbook(io.BytesIO(_ok(api("merchant1").get(
        f"/reports/statement?month={month}&format=xlsx", headers={"Accept-Language": "en"})).data))
    assert english.sheetnames == ["Summary", "Detail"] and english["Summary"].cell(1, 1).value == "■ Monthly statement"
    assert "Red-letter note" in {c.value for c in english["Detail"]["H"]}  # a status in words, not RedLetterNote
    pdf = _ok(api("merchant1").get(f"/reports/statement?month={month}", headers={"Accept-Language": "en"}))
    text = pypdf.PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "Monthly statement" in text and "月度开票报表" not in text

    assert api("merchant1").get(f"/reports/statement?month={month}&merchant=91110000802100433B").status_code == 403
    assert _ok(api("authority").get(f"/reports/statement?month={month}&merchant=91110000802100433B&format=json")
               ).get_json()["totals"]["count"] == 1
    r = api("authority").get(f"/reports/statement?month={month}")
    assert r.status_code == 400 and r.get_json()["error"] == "merchant_required" and "请指定商户税号" in r.get_json()["message"]
    r = api("authority").get(f"/reports/statement?month={month}", headers={"Accept-Language": "en"})
    assert r.get_json()["message"] == "Say which merchant: its tax ID."
    assert api("authority").get(f"/reports/statement?month={month}&merchant=91440100M000300Y45&format=json"
                                ).get_json()["totals"]["count"] == 0
    assert api("merchant1").get("/reports/statement?month=2026-13").status_code == 400
    assert api("buyer").get(f"/reports/statement?month={month}").status_code == 403


def test_platform_report(api, book):
    month = date.today().isoformat()[:7]
    data = _ok(api("authority").get(f"/reports/platform?month={month}&format=json")).get_json()
    everyone = _ok(api("authority").post("/reports/run", json={"definition": {"group_by": "region"}})).get_json()
    assert data["totals"] == everyone["totals"]
    assert {r["region"]: r["count"] for r in data["by_region"]} == {r[0]: r[1] for r in everyone["rows"]}
    assert {m["tax_id"] for m in data["merchants"]} == {"91350100M000100Y43", "91110000802100433B"}
    pdf = _ok(api("auditor").get(f"/reports/platform?month={month}"))
    assert "平台月度报告" in pypdf.PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert _ok(api("authority").get(f"/reports/platform?month={month}&format=xlsx")).data[:2] == b"PK"
    assert api("merchant1").get(f"/reports/platform?month={month}").status_code == 403
