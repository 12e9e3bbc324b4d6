"""The reports page (issue 13) through the Flask test client: the builder runs a grouped
report whose sums match the invoices, exports CSV and XLSX, saves and reopens a report; the
monthly statement and platform report download as PDF and XLSX; roles without reports get
403; a bad filter is said in words."""
import html
import io
import re
from datetime import date

import openpyxl
from backendutil import csrf_token, login, sample_invoice

from backend.core.canonical import yuan


def _issue(api, n=2):
    numbers = []
    for _ in range(n):
        r = api("merchant1").post("/invoices", json=sample_invoice())
        assert r.status_code == 201, r.get_json()
        numbers.append(r.get_json())
    return numbers


def test_builder_runs_exports_and_saves(api, chain_app):
    made = _issue(api)
    client = chain_app.test_client()
    login(client, "merchant1")
    page = client.get("/reports").get_data(as_text=True)
    assert "定制报表" in page and "月度开票报表" in page and "平台月度报告" not in page and "Report builder" not in page

    query = "run=1&group_by=buyer&measures=count&measures=gross"
    raw = client.get(f"/reports?{query}").get_data(as_text=True)
    page = html.unescape(raw)
    total = sum(i["gross"] for i in made)
    assert "91530100MA6K0002XU" in page and yuan(total) in page
    assert re.search(r"共 2 张发票", page)

    r = client.get(f"/reports/export?{query}&format=xlsx")
    assert r.status_code == 200 and r.headers["Content-Disposition"].startswith("attachment")
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert sheet.cell(2, 1).value == "91530100MA6K0002XU" and sheet.cell(2, 3).value == 2
    r = client.get(f"/reports/export?{query}&format=csv")
    assert r.data.decode("utf-8-sig").splitlines()[0] == "购买方税号,购买方,张数,价税合计"

    token = csrf_token(client, "/reports")
    definition = html.unescape(re.search(r'name="definition" value="([^"]+)"', raw).group(1))
    r = client.post(f"/reports/saved?{query}", data={"csrf_token": token, "name": "按购买方", "definition": definition})
    assert r.status_code == 302
    page = client.get("/reports").get_data(as_text=True)
    assert "报表“按购买方”已保存。" in page
    saved_id = re.search(r'href="/reports/saved/(\d+)">按购买方</a>', page).group(1)
    opened = client.get(f"/reports/saved/{saved_id}")
    assert opened.status_code == 302 and "group_by=buyer" in opened.headers["Location"]
    r = client.post(f"/reports/saved/{saved_id}/delete", data={"csrf_token": token})
    assert r.status_code == 302 and f"/reports/saved/{saved_id}" not in client.get("/reports").get_data(as_text=True)


def test_bad_filter_is_said_in_words(api, chain_app):
    client = chain_app.test_client()
    login(client, "merchant1")
    page = html.unescape(client.get("/reports?run=1&min_gross=abc&follow=1", follow_redirects=True)
                         .get_data(as_text=True))
    assert "请检查输入" in page


def test_statements_download(api, chain_app):
    _issue(api, 1)
    month = date.today().isoformat()[:7]
    client = chain_app.test_client()
    login(client, "merchant1")
    r = client.get(f"/reports/statement?month={month}&format=pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF-")
    r = client.get(f"/reports/statement?month={month}&format=xlsx")
    assert r.data[:2] == b"PK"
    assert client.get(f"/reports/platform?month={month}").status_code == 403

    authority = chain_app.test_client()
    login(authority, "authority")
    page = authority.get("/reports").get_data(as_text=True)
    assert "平台月度报告" in page and "91350100M000100Y43" in page  # the merchant choice
    r = authority.get(f"/reports/platform?month={month}&format=pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF-")
    r = authority.get(f"/reports/statement?month={month}&merchant=91350100M000100Y43&format=xlsx")
    assert r.data[:2] == b"PK"
    r = authority.get("/reports/statement?month=2026-13", follow_redirects=True)
    assert "请检查输入" in html.unescape(r.get_data(as_text=True))

    financier = chain_app.test_client()
    login(financier, "financier")
    assert financier.get("/reports").status_code == 403


def test_reports_page_in_english(api, chain_app):
    """The page, its summary, its file's headers and its flashes in English, no Chinese of ours."""
    made = _issue(api)
    client = chain_app.test_client()
    login(client, "merchant1")
    client.set_cookie("lang", "en")
    query = "run=1&group_by=buyer&measures=count&measures=gross"
    page = html.unescape(client.get(f"/reports?{query}").get_data(as_text=True))
    assert "Report builder" in page and "Monthly statement" in page and ">By buyer</option>" in page
    assert "2 invoices: net" in page and "定制报表" not in page and "共 2 张发票" not in page
    assert yuan(sum(i["gross"] for i in made)) in page
    r = client.get(f"/reports/export?{query}&format=csv")
    assert r.data.decode("utf-8-sig").splitlines()[0] == "Buyer tax ID,Buyer,Invoice count,Gross total"
    page = client.get("/reports/export?format=doc", follow_redirects=True).get_data(as_text=True)
    assert "Choose CSV or XLSX." in page and "请选择导出格式" not in page
