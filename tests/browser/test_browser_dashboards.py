"""Dashboards (数据看板) in Chromium: the authority opens the platform dashboard from the menu
and every chart renders (Chart.js made a chart per figure and drew pixels on its canvas, no
console error, no CSP violation), the numbers beside the charts are the invoices'; a
merchant's dashboard shows its own numbers and exports a table."""
import csv
import io

import requests
from playwright.sync_api import expect

from backend.core.canonical import yuan

BUYER = {"buyer_name": "昆明示例商贸有限公司", "buyer_tax_id": "91530100MA6K0002XU"}
LINES = [{"name": "办公用品 Office supplies", "quantity": 10, "unit_price": 12_50, "tax_rate": 13},
         {"name": "咨询服务 Consulting", "unit_price": 500_00, "tax_rate": 6}]
# JavaScript: {table id: (chart type, datasets, points, canvas pixels not transparent, the table is empty)}
CHARTS = """() => {
  const out = {};
  for (const [id, chart] of Object.entries(window.dashboardCharts || {})) {
    const c = chart.canvas, data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let drawn = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]) drawn++;
    out[id] = [chart.config.type, chart.data.datasets.length, chart.data.labels.length, drawn,
               c.closest('figure').classList.contains('no-data')];
  }
  return out;
}"""

# JavaScript: the money axis's title of the trend chart
AXIS_TITLE = "() => window.dashboardCharts['table-series'].options.scales.y.title.text"


def all_drawn(charts):
    """Every chart whose table has rows drew on its canvas."""
    return all(drawn > 0 for _, _, _, drawn, empty in charts.values() if not empty)


def issue(live_server, user, items):
    r = requests.post(f"{live_server.url}/api/v1/invoices", timeout=30, json={**BUYER, "items": items},
                      headers={"Authorization": f"Bearer {live_server.users[user]['api_token']}"})
    assert r.status_code == 201, r.text[:300]
    return r.json()


def watch(page):
    """Console errors and CSP violations of the page, as they happen."""
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def test_authority_dashboard_charts_render(page, login, live_server, screenshot):
    one = issue(live_server, "merchant1", LINES)
    two = issue(live_server, "merchant2", [{"name": "服务器 Server", "unit_price": 8_000_00, "tax_rate": 13}])
    problems = watch(page)
    login(page, "authority")
    page.locator("header nav").get_by_role("link", name="数据看板").click()
    expect(page.get_by_role("heading", name="平台数据看板")).to_be_visible()
    expect(page.locator('[data-test="kpi-gross"]')).to_have_text(yuan(one["gross"] + two["gross"]))
    expect(page.locator('[data-test="kpi-count"]')).to_have_text("2")
    regions = page.locator("#table-by_region tbody tr")
    expect(regions).to_have_count(2)
    expect(page.locator("#table-by_region")).to_contain_text("福建")
    expect(page.locator("#table-by_region")).to_contain_text("北京")
    expect(page.locator("#table-by_region")).not_to_contain_text("Fujian")
    expect(page.locator("#table-alerts")).to_contain_text("暂无数据")  # the alerts table is empty

    page.wait_for_function("() => window.Chart && Object.keys(window.dashboardCharts || {}).length >= 9")
    charts = page.evaluate(CHARTS)
    figures = page.locator("figure.chart")
    assert len(charts) == figures.count() >= 9
    for table, (kind, datasets, points, drawn, empty) in charts.items():
        assert datasets >= 1 and (drawn > 0 or empty), (table, kind, datasets, points, drawn)
    assert sum(not empty for *_, empty in charts.values()) >= 8
    assert charts["table-by_region"][2] == 2 and charts["table-by_merchant"][0] == "bar"
    assert charts["table-status_mix"][0] == "doughnut"
    # the trend chart's points are the table's: the last bucket (today) holds both invoices' gross in yuan
    last = page.evaluate("() => { const c = window.dashboardCharts['table-series'];"
                         " return c.data.datasets.map(d => d.data[d.data.length - 1]); }")
    assert round(sum(last) * 100) == one["gross"] + two["gross"]
    assert page.evaluate(AXIS_TITLE) == "元"  # the money axis says its unit in the page's language
    screenshot(page, "dashboard-authority")

    page.locator('[data-test="preset-month"]').click()
    expect(page.locator("#table-series tbody tr")).to_have_count(12)
    page.wait_for_function("() => Object.keys(window.dashboardCharts || {}).length >= 9")
    assert all_drawn(page.evaluate(CHARTS))
    page.get_by_label("统计粒度").first.select_option("week")  # the dates kept: the last 12 months by week
    page.get_by_role("button", name="查看").click()
    expect(page.locator("#table-series tbody tr").first.locator("td").first).to_contain_text("-W")
    assert not [p for p in problems if "Content Security Policy" in p or "Error" in p], problems


def test_merchant_dashboard_shows_its_numbers(new_page, login, live_server, screenshot):
    """The merchant reads English: the page, its tables, the charts' axis and empty text."""
    page = new_page(locale="en-US")
    mine = [issue(live_server, "merchant1", LINES),
            issue(live_server, "merchant1", [{"name": "打印纸 Paper", "quantity": 3, "unit_price": 25_00,
                                              "tax_rate": 13}])]
    issue(live_server, "merchant2", [{"name": "服务器 Server", "unit_price": 8_000_00, "tax_rate": 13}])
    problems = watch(page)
    login(page, "merchant1")
    page.locator("header nav").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Sales dashboard")).to_contain_text("厦门示例贸易有限公司")
    expect(page.locator("#block-series h2")).to_have_text("Sales trend (by day)")
    expect(page.locator("main")).not_to_contain_text("开票趋势")
    gross = sum(i["gross"] for i in mine)
    expect(page.locator('[data-test="kpi-gross"]')).to_have_text(yuan(gross))
    expect(page.locator('[data-test="kpi-count"]')).to_have_text("2")
    expect(page.locator('[data-test="kpi-tax"]')).to_have_text(yuan(sum(i["tax"] for i in mine)))
    rates = page.locator("#table-by_rate tbody tr")
    expect(rates).to_have_count(2)  # the lines at 6 % and 13 %
    expect(rates.first.locator("td").first).to_have_text("6%")
    expect(page.locator("#table-top_buyers")).to_contain_text("昆明示例商贸有限公司")
    page.wait_for_function("() => Object.keys(window.dashboardCharts || {}).length >= 7")
    charts = page.evaluate(CHARTS)
    assert all_drawn(charts) and charts["table-receivables_status"][4]  # no receivables: that table is empty
    assert page.evaluate(AXIS_TITLE) == "yuan"
    empty = page.evaluate("() => getComputedStyle(document.querySelector('figure.chart.no-data'), '::after').content")
    assert empty == '"No data in this period"', empty
    screenshot(page, "dashboard-merchant")

    with page.expect_download() as info:
        page.locator('[data-test="export-by_rate-csv"]').click()
    rows = list(csv.reader(io.StringIO(info.value.path().read_bytes().decode("utf-8-sig"))))
    assert rows[0][0] == "Tax rate" and [row[0] for row in rows[1:]] == ["6%", "13%"]
    total = sum(int(row[4].replace(".", "")) for row in rows[1:])
    assert total == gross
    assert not [p for p in problems if "Content Security Policy" in p or "Error" in p], problems
