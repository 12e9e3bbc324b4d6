"""Dashboards (issue 13): the figures of /api/v1/analytics/… equal sums computed directly
from the invoices (issued through the API by the demo merchants on a chain of our own: lines
at several rates, a void, a full and a partial red-letter note, flagged invoices cleared,
rejected and waiting, days in this period and the previous one); the roles (a merchant sees
its own, the authority all, a financier its book; others 403); bad queries name the
parameter; the CSV and XLSX exports parse; /me has a merchant's limits as the chain has them;
the pre-aggregated tables follow every write (a raw SQL insert too) and equal a rebuild;
the pages show the numbers and load Chart.js from the app."""
import csv
import io
import json
import re
from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select, text

from backend.core import canonical
from backend.core.db import db, get_db
from backend.core.models import Alert, Invoice, User
from backend.services import analytics_store

from backendutil import login, sample_invoice

EFFECTIVE = ("Issued", "Flagged", "Cleared", "RedLettered")
TODAY = datetime.now(canonical.CHINA).date()
MULTI = [{"name": "办公用品 Office supplies", "quantity": 2, "unit_price": 10_000, "tax_rate": 13},
         {"name": "咨询服务 Consulting", "quantity": 1, "unit_price": 50_000, "tax_rate": 6},
         {"name": "运输 Freight", "quantity": 3, "unit_price": 3_333, "tax_rate": 9}]
OTHER_BUYER = {"buyer_name": "厦门另一家公司 Another Co", "buyer_tax_id": "91350200MA0000001W"}
SELF = "91350100M000100Y43"  # merchant1's own tax ID: an invoice to it is flagged (SelfDealing)


def day(n):
    """The China date ``n`` days ago, as the API takes it."""
    return (TODAY - timedelta(days=n)).isoformat()


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    return response.get_json()


def issue(api, user="merchant1", **over):
    return ok(api(user).post("/invoices", json=sample_invoice(**over)), 201)


@pytest.fixture
def scenario(api, chain_app):
    """merchant1: invoices today, 2, 3 and 10 days ago at rates 13/9/6, one voided, one fully
    and one partly red-lettered, three flagged (cleared, rejected, waiting); merchant2: one."""
    made = {
        "a": issue(api),
        "b": issue(api, items=MULTI, **OTHER_BUYER),
        "c": issue(api, issue_date=day(2), items=[{"name": "运输 Freight", "quantity": 1, "unit_price": 88_800,
                                                   "tax_rate": 9}]),
        "d": issue(api, issue_date=day(3), items=[{"name": "咨询 Advice", "quantity": 1, "unit_price": 20_000,
                                                   "tax_rate": 6}], **OTHER_BUYER),
        "e": issue(api, issue_date=day(10), items=MULTI),
        "v": issue(api, items=[{"name": "作废 To void", "quantity": 1, "unit_price": 7_000, "tax_rate": 13}]),
        "f1": issue(api, buyer_tax_id=SELF),
        "f2": issue(api, buyer_tax_id=SELF, issue_date=day(2)),
        "f3": issue(api, buyer_tax_id=SELF, issue_date=day(10)),
        "m2": issue(api, "merchant2"),
    }
    assert made["f1"]["status"] == made["f2"]["status"] == "Flagged"
    ok(api("merchant1").post(f"/invoices/{made['v']['number']}/void"))
    made["note_d"] = ok(api("merchant1").post(f"/invoices/{made['d']['number']}/red-letter",
                                              json={"reason_code": 1}), 201)
    made["note_e"] = ok(api("merchant1").post(f"/invoices/{made['e']['number']}/red-letter", json={
        "reason_code": 2, "items": [{"name": "办公用品 Office supplies", "quantity": 1, "unit_price": 10_000,
                                     "tax_rate": 13}]}), 201)
    ok(api("auditor").post(f"/invoices/{made['f1']['number']}/clear", json={"reason_code": 1}))
    ok(api("auditor").post(f"/invoices/{made['f3']['number']}/reject", json={"reason_code": 4}))
    return made


# ---------------------------------------------------------------- the direct computation
def rows_of(chain_app, seller=None):
    with chain_app.app_context():
        q = get_db().query(Invoice)
        if seller:
            q = q.filter(Invoice.seller_address == seller)
        return [{"number": i.number, "seller": i.seller_address, "day": i.issue_date, "state": i.state,
                 "status": i.chain_status, "note": i.is_red_letter, "flags": i.flags, "buyer": i.buyer_tax_id,
                 "buyer_name": i.buyer_name, "net": int(i.net), "tax": int(i.tax), "gross": int(i.gross),
                 "items": json.loads(i.document)["items"] if i.document else None} for i in q]


def stands(r):
    return r["state"] == "issued" and r["status"] in EFFECTIVE


def expected(rows, first, last):
    """Every figure of a dashboard, computed from the invoice rows of [first, last]."""
    rows = [r for r in rows if first <= r["day"] <= last]
    totals = dict(count=0, notes=0, net=0, tax=0, gross=0)
    by_day = defaultdict(lambda: dict(count=0, notes=0, net=0, tax=0, gross=0))
    by_rate = defaultdict(lambda: dict(count=0, net=0, tax=0, gross=0))
    buyers = defaultdict(lambda: [0, 0])
    mix = defaultdict(int)
    for r in rows:
        mix["RedLetterNote" if r["note"] and r["state"] == "issued" else
            (r["status"] if r["state"] == "issued" else r["state"])] += 1
        if not stands(r):
            continue
        sign = -1 if r["note"] else 1
        for target in (totals, by_day[r["day"]]):
            target["notes" if r["note"] else "count"] += 1
            for k in ("net", "tax", "gross"):
                target[k] += sign * r[k]
        rates = {}
        for item in r["items"]:
            amount, rate = int(item["amount"]), int(item["tax_rate"])
            net, tax = rates.get(rate, (0, 0))
            rates[rate] = (net + amount, tax + (amount * rate + 50) // 100)
        for rate, (net, tax) in rates.items():
            by_rate[rate]["count"] += 0 if r["note"] else 1
            by_rate[rate]["net"] += sign * net
            by_rate[rate]["tax"] += sign * tax
            by_rate[rate]["gross"] += sign * (net + tax)
        buyers[r["buyer"]][0] += 0 if r["note"] else 1
        buyers[r["buyer"]][1] += sign * r["gross"]
    on_chain = [r for r in rows if r["state"] == "issued" and not r["note"]]
    notes = [r for r in rows if r["state"] == "issued" and r["note"]]
    flagged = [r for r in on_chain if r["flags"]]
    return {"totals": totals, "by_day": by_day, "by_rate": dict(by_rate), "buyers": buyers, "mix": mix,
            "ratios": {"invoices": len(on_chain), "voided": sum(r["status"] == "Voided" for r in on_chain),
                       "red_letter_notes": len(notes), "red_lettered": sum(r["status"] == "RedLettered"
                                                                           for r in on_chain),
                       "invoices_gross": sum(r["gross"] for r in on_chain),
                       "red_letter_gross": sum(r["gross"] for r in notes)},
            "review": {"flagged": len(flagged), "cleared": sum(r["status"] == "Cleared" for r in on_chain),
                       "rejected": sum(r["status"] == "Rejected" for r in on_chain),
                       "waiting": sum(r["status"] == "Flagged" for r in on_chain)}}


def figures(d):
    return {k: d[k] for k in ("count", "notes", "net", "tax", "gross")}


def check_common(got, want, first, last):
    assert figures(got["totals"]) == want["totals"]
    assert figures(got["comparison"]["current"]) == want["totals"]
    zero = dict(count=0, notes=0, net=0, tax=0, gross=0)
    assert {b["bucket"]: figures(b) for b in got["series"]} == {b["bucket"]: want["by_day"].get(b["bucket"], zero)
                                                                 for b in got["series"]}
    assert got["series"][0]["bucket"] == first and got["series"][-1]["bucket"] == last
    mix = {m["status"]: m["count"] for m in got["status_mix"] if m["count"]}
    assert mix == dict(want["mix"])
    ratios = got["ratios"]
    for k, v in want["ratios"].items():
        assert ratios[k] == v, k
    assert ratios["void_ratio"] == round(want["ratios"]["voided"] / want["ratios"]["invoices"], 4)
    assert ratios["red_letter_ratio"] == round(want["ratios"]["red_letter_notes"] / want["ratios"]["invoices"], 4)


def test_dashboards_equal_sums_of_the_invoices(api, chain_app, seeded, scenario):
    first, last = day(6), day(0)
    prev_first, prev_last = day(13), day(7)
    m1 = seeded["merchant1"]["address"]
    rows = rows_of(chain_app)
    mine = [r for r in rows if r["seller"] == m1]

    got = ok(api("merchant1").get(f"/analytics/merchant?period=day&from={first}&to={last}"))
    want = expected(mine, first, last)
    assert want["totals"]["notes"] == 2 and want["ratios"]["voided"] == 1  # the scenario is what it says
    check_common(got, want, first, last)
    assert got["merchant"] == {"name": "厦门示例贸易有限公司", "tax_id": SELF, "address": m1}
    assert len(got["series"]) == 7 and [b["bucket"] for b in got["series"]] == [day(n) for n in range(6, -1, -1)]
    for b in got["series"]:
        assert figures(b) == want["by_day"].get(b["bucket"], dict(count=0, notes=0, net=0, tax=0, gross=0))
    assert {r["rate"]: {k: r[k] for k in ("count", "net", "tax", "gross")} for r in got["by_rate"]} == \
        want["by_rate"]
    assert {13, 9, 6} <= {r["rate"] for r in got["by_rate"]}
    assert sum(r["gross"] for r in got["by_rate"]) == want["totals"]["gross"]
    buyers = sorted(((t, n, g) for t, (n, g) in want["buyers"].items() if n), key=lambda x: (-x[2], x[0]))
    assert [(b["tax_id"], b["count"], b["gross"]) for b in got["top_buyers"]] == buyers
    names = {r["buyer"]: r["buyer_name"] for r in mine}
    assert all(b["name"] == names[b["tax_id"]] for b in got["top_buyers"])
    before = expected(mine, prev_first, prev_last)
    assert figures(got["comparison"]["previous"]) == before["totals"] and before["totals"]["count"] == 1
    change = got["comparison"]["change"]
    assert change["gross"] == round((want["totals"]["gross"] - before["totals"]["gross"]) * 100
                                    / before["totals"]["gross"], 1)
    assert got["previous"] == {"from": prev_first, "to": prev_last}

    # weeks and months: the same totals as the days of the same span
    for period in ("week", "month"):
        other = ok(api("merchant1").get(f"/analytics/merchant?period={period}&from={first}&to={last}"))
        assert figures(other["totals"]) == want["totals"]
        summed = {k: sum(b[k] for b in other["series"]) for k in ("count", "notes", "net", "tax", "gross")}
        assert summed == want["totals"]

    # the authority's own view of merchant1 is the same; merchant2's has only its invoice
    assert ok(api("authority").get(f"/analytics/merchant?merchant={SELF}&from={first}&to={last}")) == got
    m2 = ok(api("authority").get(f"/analytics/merchant?merchant={seeded['merchant2']['tax_id']}"))
    assert figures(m2["totals"]) == {"count": 1, "notes": 0, "net": scenario["m2"]["net"],
                                     "tax": scenario["m2"]["tax"], "gross": scenario["m2"]["gross"]}

    # the platform: every merchant
    platform = ok(api("authority").get(f"/analytics/authority?period=day&from={first}&to={last}"))
    everyone = expected(rows, first, last)
    check_common(platform, everyone, first, last)
    assert platform["totals"]["merchants"] == 2
    assert {m["tax_id"]: figures(m) for m in platform["by_merchant"]} == {
        seeded[u]["tax_id"]: expected([r for r in rows if r["seller"] == seeded[u]["address"]], first, last)["totals"]
        for u in ("merchant1", "merchant2")}
    regions = defaultdict(lambda: dict(count=0, notes=0, net=0, tax=0, gross=0))
    for r in rows:
        if first <= r["day"] <= last and stands(r):
            t = regions[r["number"][2:4]]
            t["notes" if r["note"] else "count"] += 1
            for k in ("net", "tax", "gross"):
                t[k] += (-1 if r["note"] else 1) * r[k]
    assert {x["region"]: figures(x) for x in platform["by_region"]} == dict(regions)
    assert {x["region"]: x["name"] for x in platform["by_region"]} == {"35": "福建", "11": "北京"}
    english = ok(api("authority").get("/analytics/authority", headers={"Accept-Language": "en"}))
    assert {x["region"]: x["name"] for x in english["by_region"]} == {"35": "Fujian", "11": "Beijing"}
    review = platform["review"]
    assert {k: review[k] for k in ("flagged", "cleared", "rejected", "waiting")} == everyone["review"]
    assert review["flagged_rate"] == round(everyone["review"]["flagged"] / everyone["ratios"]["invoices"], 4)
    # the backlog: flagged, not reviewed, any date (f2); the alerts table is empty
    assert platform["backlog"]["count"] == 1 and platform["backlog"]["gross"] == scenario["f2"]["gross"]
    assert sum(a["count"] for a in platform["backlog"]["ages"]) == 1
    assert platform["alerts"] == {"open": 0, "by_kind": [], "top": []}
    assert figures(platform["comparison"]["previous"]) == expected(rows, prev_first, prev_last)["totals"]


def test_top_alerts_most_severe_and_recent_first(api, chain_app):
    with chain_app.app_context():
        now = datetime.utcnow()
        for i, (severity, status, kind) in enumerate([("low", "open", "round_amounts"), ("high", "open", "a"),
                                                      ("high", "acknowledged", "b"), ("medium", "open", "c"),
                                                      ("high", "resolved", "d")]):
            db.session.add(Alert(kind=kind, severity=severity, status=status, fingerprint=f"t{i}",
                                 merchants=json.dumps([SELF]), invoices=json.dumps(["1" * 20, "2" * 20]),
                                 evidence="{}", explanation=f"说明 {i}", created_at=now + timedelta(seconds=i)))
        db.session.commit()
    alerts = ok(api("authority").get("/analytics/authority"))["alerts"]
    assert [a["kind"] for a in alerts["top"]] == ["b", "a", "c", "round_amounts"]
    assert alerts["open"] == 4 and alerts["top"][0]["merchants"] == [SELF] and alerts["top"][0]["invoices"] == 2
    assert [(x["severity"], x["kind"], x["count"]) for x in alerts["by_kind"]] == [
        ("high", "a", 1), ("high", "b", 1), ("medium", "c", 1), ("low", "round_amounts", 1)]


def test_receivables_drawn_financed_and_the_financiers_book(api, chain, chain_app, seeded):
    inv = issue(api)
    due = (TODAY + timedelta(days=45)).isoformat()
    rid = ok(api("merchant1").post("/receivables", json={"invoice_number": inv["number"], "amount": inv["gross"],
                                                          "due_date": due}), 201)["id"]
    ok(api("buyer").post(f"/receivables/{rid}/accept"))
    ok(api("merchant1").post(f"/receivables/{rid}/pledge", json={"financier": "financier"}))
    advance, fee = inv["gross"] * 8 // 10, inv["gross"] // 100
    ok(api("financier").post(f"/receivables/{rid}/finance", json={"advance": advance, "fee": fee}))

    r = ok(api("merchant1").get("/analytics/merchant"))["receivables"]
    assert (r["drawn"], r["drawn_amount"], r["financed"], r["financed_advance"], r["financed_fee"]) == \
        (1, inv["gross"], 1, advance, fee)
    assert r["outstanding"] == inv["gross"] and r["by_status"] == [
        {"status": "pledged", "label": "已质押", "count": 1, "amount": inv["gross"]}]

    book = ok(api("financier").get("/analytics/financier"))
    assert book["totals"]["financed"] == 1 and book["totals"]["owed"] == advance + fee
    assert book["by_debtor"] == [{"debtor": seeded["buyer"]["address"], "name": "buyer", "count": 1,
                                  "owed": advance + fee, "share": 1.0}]
    ladder = {m["bucket"]: m["owed"] for m in book["maturities"] if m["count"]}
    assert ladder == {"31–60天": advance + fee} and book["overdue"] == []
    english = ok(api("financier").get("/analytics/financier", headers={"Accept-Language": "en"}))
    assert {m["bucket"]: m["owed"] for m in english["maturities"] if m["count"]} == {"31–60 days": advance + fee}

    chain["w3"].provider.make_request("evm_increaseTime", [50 * 86400])
    chain["w3"].provider.make_request("evm_mine", [])
    book = ok(api("financier").get("/analytics/financier"))
    assert book["totals"]["overdue"] == 1 and book["totals"]["overdue_owed"] == advance + fee
    assert book["overdue"][0]["id"] == rid and book["overdue"][0]["invoice_number"] == inv["number"]
    assert book["overdue"][0]["days_overdue"] >= 4
    assert {m["bucket"]: m["count"] for m in book["maturities"] if m["count"]} == {"已到期未还": 1}
    assert ok(api("merchant2").get("/analytics/merchant"))["receivables"]["drawn"] == 0


# ---------------------------------------------------------------- who sees what; bad queries
@pytest.mark.parametrize("user,path,status", [
    (None, "/analytics/merchant", 401), (None, "/analytics/authority", 401), (None, "/analytics/financier", 401),
    ("merchant1", "/analytics/merchant", 200), ("merchant1", "/analytics/authority", 403),
    ("merchant1", "/analytics/financier", 403), ("merchant1", "/analytics/merchant?merchant=91110000802100433B", 403),
    ("merchant1", f"/analytics/merchant?merchant={SELF}", 200),
    ("authority", "/analytics/authority", 200), ("authority", "/analytics/financier", 403),
    ("authority", "/analytics/merchant?merchant=91110000802100433B", 200),
    ("authority", "/analytics/merchant?merchant=91110000000000000E", 404),
    ("financier", "/analytics/financier", 200), ("financier", "/analytics/merchant", 403),
    ("financier", "/analytics/authority", 403), ("auditor", "/analytics/authority", 403),
    ("buyer", "/analytics/merchant", 403), ("buyer", "/analytics/financier", 403),
    ("employee", "/analytics/authority", 403),
])
def test_roles(api, user, path, status):
    r = api(user).get(path)
    assert r.status_code == status, r.get_json()


@pytest.mark.parametrize("user,query,field", [
    ("merchant1", "period=year", "period"), ("merchant1", "from=2026-13-01", "from"),
    ("merchant1", "to=2026-02-30", "to"), ("merchant1", "from=2026-05-02&to=2026-05-01", "from"),
    ("merchant1", "from=2020-01-01&to=2026-01-01", "to"), ("merchant1", "from=1999-12-31", "from"),
    ("merchant1", "format=pdf", "format"), ("merchant1", "table=nope&format=csv", "table"),
    ("merchant1", "from=yesterday", "from"), ("merchant1", "merchant=x;drop", "merchant"),
    ("authority", "", "merchant"), ("authority", "period=day&to=2026-1-1", "to"),
])
def test_bad_query_names_the_parameter(api, user, query, field):
    path = "/analytics/merchant?" + query
    r = api(user).get(path)
    assert r.status_code == 400, r.get_json()
    body = r.get_json()
    assert field in body["fields"] and body["message"]  # the field's key for programs, the problem in words
    english = api(user).get(path, headers={"Accept-Language": "en"}).get_json()
    assert english["fields"].keys() == body["fields"].keys()
    if query in DATE_PROBLEMS:  # the dashboards' own words (the others: the API's query parsing)
        assert english["message"] == DATE_PROBLEMS[query] and english["message"] != body["message"]


DATE_PROBLEMS = {"from=2026-13-01": "The start date is not a valid date.",
                 "to=2026-02-30": "The end date is not a valid date.",
                 "from=2026-05-02&to=2026-05-01": "The start of the period is after its end.",
                 "from=2020-01-01&to=2026-01-01": "A period spans at most 1096 days.",
                 "from=1999-12-31": "The start date is out of range.", "": "Say which merchant: its tax ID."}


def test_authority_bad_period_and_financier_table(api):
    r = api("authority").get("/analytics/authority?period=quarter")
    assert r.status_code == 400 and "period" in r.get_json()["fields"]
    r = api("financier").get("/analytics/financier?table=series&format=csv")
    assert r.status_code == 400 and "table" in r.get_json()["fields"]


def test_default_periods():
    from backend.services.analytics import period_of

    today = TODAY
    d = period_of("day")
    assert (d.end, d.days) == (today, 30)
    w = period_of("week")
    assert w.start.weekday() == 0 and w.end == today and len(w.buckets()) == 12
    m = period_of("month")
    assert m.start.day == 1 and len(m.buckets()) == 12 and m.buckets()[-1][0] == today.isoformat()[:7]
    p = period_of("week", "2026-01-01", "2026-01-31")
    assert [b[0] for b in p.buckets()] == ["2026-W01", "2026-W02", "2026-W03", "2026-W04", "2026-W05"]
    assert p.buckets()[0][1:] == (p.start, p.start + timedelta(days=3))  # a partial first week (Thu-Sun)
    assert p.previous().end == p.start - timedelta(days=1) and p.previous().days == 31


# ---------------------------------------------------------------- exports
def test_csv_and_xlsx_exports_hold_the_numbers(api, chain_app, seeded):
    issue(api)
    issue(api, items=MULTI, **OTHER_BUYER)
    got = ok(api("merchant1").get("/analytics/merchant"))

    r = api("merchant1").get("/analytics/merchant?format=csv&table=by_rate")
    assert r.status_code == 200 and r.content_type.startswith("text/csv")
    assert re.search(r"attachment; filename=dashboard-merchant-91350100M000100Y43-day-.*-by_rate\.csv",
                     r.headers["Content-Disposition"])
    assert r.data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert table[0][:5] == ["税率", "含该税率的发票", "金额", "税额", "价税合计"]
    r = api("merchant1").get("/analytics/merchant?format=csv&table=by_rate", headers={"Accept-Language": "en"})
    english = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert english[0][:5] == ["Tax rate", "Invoices with lines at it", "Net amount", "Tax amount", "Gross amount"]
    assert [[row[0], int(row[1]), row[4]] for row in table[1:]] == [
        [f"{x['rate']}%", x["count"], f"{x['gross'] // 100}.{x['gross'] % 100:02d}"] for x in got["by_rate"]]

    whole = api("merchant1").get("/analytics/merchant?format=csv").data.decode("utf-8-sig")
    titles = [row[0] for row in csv.reader(io.StringIO(whole)) if len(row) == 1]
    assert titles[0] == "开票趋势（按日）" and "按税率" in titles and len(titles) == 8

    r = api("merchant1").get("/analytics/merchant?format=xlsx")
    assert r.status_code == 200 and r.content_type.startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames[:3] == ["趋势", "对比", "税率"]
    sheet = book["趋势"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "期间"
    last = rows[-1]
    assert last[0] == TODAY.isoformat() and last[3] == got["series"][-1]["count"] == 2
    assert float(last[7]) == got["series"][-1]["gross"] / 100
    sheet = book["购买方"]
    assert [(row[1], row[2]) for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        (b["tax_id"], b["count"]) for b in got["top_buyers"]]

    platform = api("authority").get("/analytics/authority?format=xlsx&table=by_region")
    sheets = load_workbook(io.BytesIO(platform.data)).sheetnames
    assert sheets == ["地区"]
    english = api("authority").get("/analytics/authority?format=xlsx&table=by_region", headers={"Accept-Language": "en"})
    assert load_workbook(io.BytesIO(english.data)).sheetnames == ["Regions"]
    fin = api("financier").get("/analytics/financier?format=csv")
    assert fin.status_code == 200 and "融资概况" in fin.data.decode("utf-8-sig")


# ---------------------------------------------------------------- /me
def test_me_has_a_merchants_limits_from_the_chain(api, chain_app, seeded):
    with chain_app.app_context():
        from backend.chain import get_chain

        cap, quota, _ = get_chain().call_named("MerchantRegistry", "merchant", seeded["merchant1"]["address"])["limits"]
    me = ok(api("merchant1").get("/me"))
    assert (me["invoice_cap"], me["monthly_quota"]) == (cap, quota) == (10_000_000_00, 50_000_000_00)
    assert me["tax_id"] == SELF
    for user in ("buyer", "financier", "authority"):
        assert "invoice_cap" not in ok(api(user).get("/me"))
    # the authority changes the limits on chain: /me follows
    with chain_app.app_context():
        from backend.core.models import Merchant

        mid = get_db().query(Merchant).filter_by(tax_id=SELF).one().id
    ok(api("authority").post(f"/merchants/{mid}/limits", json={"invoice_cap": 500_000, "monthly_quota": 900_000,
                                                                "hourly_norm": 10}))
    me = ok(api("merchant1").get("/me"))
    assert (me["invoice_cap"], me["monthly_quota"]) == (500_000, 900_000)


# ---------------------------------------------------------------- the pre-aggregated tables
SNAPSHOT = ("analytics_seller_day", "analytics_seller_month", "analytics_platform_day", "analytics_rate_day",
            "analytics_buyer_month")


def snapshot():
    return {t: sorted(tuple(r) for r in db.session.execute(text(f"SELECT * FROM {t}"))) for t in SNAPSHOT}


def test_triggers_log_every_write_and_a_refresh_equals_a_rebuild(app):
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            names = {r[0] for r in db.session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
            assert {"analytics_invoice_insert", "analytics_invoice_update", "analytics_invoice_delete"} <= names
        user = User(username="m", role="merchant", address="0x" + "12" * 20)
        user.set_password("x")
        db.session.add(user)
        db.session.commit()
        doc = json.dumps({"items": [{"amount": 1000, "tax_rate": 13}, {"amount": 500, "tax_rate": 6}]})
        base = dict(user_id=user.id, seller_address=user.address, seller_name="M", seller_tax_id=SELF,
                    buyer_name="B", issued_at=0, invoice_type=0, item_count=1, document_hash="0x",
                    is_red_letter=False, state="issued", chain_status="Issued", flags=0)
        rows = [dict(base, number=f"2635{1}{i:015d}", key=f"0x{i:064x}", buyer_tax_id=f"B{i % 2}",
                     issue_date=day(i % 3), rate=13, rate_mask=(1 << 13) | (1 << 6) if i == 0 else 1 << 13,
                     net=1500 if i == 0 else 1000, tax=160 if i == 0 else 130, gross=1660 if i == 0 else 1130,
                     document=doc if i == 0 else "") for i in range(6)]
        db.session.execute(insert(Invoice.__table__), rows)  # a raw insert, as a bulk filler would
        db.session.commit()
        assert db.session.execute(text("SELECT count(*) FROM analytics_changes")).scalar() == 6
        assert analytics_store.refresh() == 3
        assert db.session.execute(text("SELECT count(*) FROM analytics_changes")).scalar() == 0
        rates = dict(db.session.execute(text("SELECT rate, sum(net) FROM analytics_rate_day GROUP BY rate")).all())
        assert rates == {6: 500, 13: 6000}
        # changes of every kind: status, a move to another day, a delete, an ORM update
        db.session.execute(text("UPDATE invoices SET chain_status = 'Voided' WHERE id = 2"))
        db.session.execute(text("UPDATE invoices SET issue_date = :d WHERE id = 3"), {"d": day(20)})
        db.session.execute(text("DELETE FROM invoices WHERE id = 4"))
        inv = db.session.get(Invoice, 5)
        inv.chain_status, inv.flags = "Flagged", 4
        db.session.commit()
        assert analytics_store.refresh() > 0
        incremental = snapshot()
        assert analytics_store.refresh(rebuild=True) == -1
        assert snapshot() == incremental
        total = db.session.execute(text("SELECT sum(gross) FROM analytics_platform_day WHERE status IN "
                                        "('Issued', 'Flagged')")).scalar()
        assert total == sum(r["gross"] for r in rows) - 1130 * 2  # id 2 voided, id 4 deleted


# ---------------------------------------------------------------- the pages
def test_pages_show_the_numbers_and_load_chart_js_from_the_app(api, chain_app, seeded):
    inv = issue(api)
    client = chain_app.test_client()
    login(client, "merchant1")
    page = client.get("/dashboards/merchant")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert canonical.yuan(inv["gross"]) in html and 'id="table-series"' in html and 'data-chart="' in html
    script = re.search(r'<script src="(/vendor/chart\.js/[^"]+)"', html).group(1)
    js = client.get(script)
    assert js.status_code == 200 and js.content_type.startswith("text/javascript") and b"Chart.js v4" in js.data
    assert "<script>" not in html  # no inline script (the CSP forbids it)
    export = client.get(re.search(r'href="([^"]+)" data-test="export-by_rate-csv"', html).group(1).replace("&amp;",
                                                                                                       "&"))
    assert export.status_code == 200 and export.data.decode("utf-8-sig").startswith("税率,")
    assert "销售数据看板" in html and "Sales dashboard" not in html and 'data-empty="本期暂无数据"' in html
    assert 'data-yuan="元"' in html
    page = client.get("/dashboards/merchant?period=year", follow_redirects=True).get_data(as_text=True)
    assert "查询参数有误，已忽略：统计粒度" in page
    client.set_cookie("lang", "en")
    html = client.get("/dashboards/merchant").get_data(as_text=True)
    assert "Sales dashboard" in html and "Sales trend (by day)" in html and "销售数据看板" not in html
    assert 'data-empty="No data in this period"' in html and 'data-yuan="yuan"' in html and "开票趋势" not in html
    page = client.get("/dashboards/merchant?period=year").get_data(as_text=True)
    assert "An option was not valid and is left out: Buckets" in page
    page = client.get("/dashboards/merchant?from=2026-02-30").get_data(as_text=True)
    assert "The start date is not a valid date. The default period is shown instead." in page
    client.delete_cookie("lang")
    assert client.get("/dashboards").headers["Location"].endswith("/dashboards/merchant")
    assert client.get("/dashboards/authority").status_code == 403
    assert client.get("/dashboards/merchant?period=year").status_code == 200  # flashed, the default shown

    login(client, "authority")
    assert 'id="dash-pick"' in client.get("/dashboards/merchant").get_data(as_text=True)
    page = client.get(f"/dashboards/merchant?merchant={SELF}").get_data(as_text=True)
    assert canonical.yuan(inv["gross"]) in page
    page = client.get("/dashboards/authority").get_data(as_text=True)
    assert 'id="table-by_region"' in page and "福建" in page and "Fujian" not in page
    login(client, "buyer")
    assert client.get("/dashboards").status_code == 403
    assert client.get("/dashboards/merchant").status_code == 403
    assert client.get("/dashboards/financier/export?format=csv").status_code == 403


def test_nav_links(chain_app, seeded):
    client = chain_app.test_client()
    for user in ("merchant1", "authority", "financier"):
        login(client, user)
        assert 'data-test="nav-dashboard"' in client.get("/auth/account").get_data(as_text=True)
        assert client.get("/dashboards", follow_redirects=True).status_code == 200
    login(client, "buyer")
    assert 'data-test="nav-dashboard"' not in client.get("/auth/account").get_data(as_text=True)


def test_indexer_background_refreshes_the_figures(app):
    from backend.chain import indexer

    calls = []
    stop = indexer.start_background(app, 0.05, after_run=lambda: calls.append(1))
    try:
        import time

        deadline = time.monotonic() + 5
        while not calls and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        indexer.wake()
    assert calls  # also when the chain cannot be read (this app has none)


def test_statement_of_an_unknown_select_is_not_shared():
    first = analytics_store.statement(("test", 1), lambda: select(text("1")))
    assert analytics_store.statement(("test", 1), lambda: select(text("2"))) is first
