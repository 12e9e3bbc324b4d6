"""Dashboard timing at scale, by hand (not a unit test): a SQLite database filled with
synthetic invoices (100,000 across 200 merchants by default), then the dashboards' API
answered in process (Flask's test client: the server's whole work, no network) and timed.

    python bench/dashboards.py [--invoices 100000] [--merchants 200] [--requests 60]
                               [--db path.sqlite (kept; reused when it exists)] [--output file.json]

Realistic-ish shapes: merchants' volumes heavy-tailed (a few issue most), provinces weighted
like China's economy, fewer invoices at weekends and a growing trend over the last year,
log-normal amounts, rates 13/9/6/3/1 % with some invoices of two rates, ~2 % flagged, voids,
red-letter notes (full and partial), repeat buyers, documents of a realistic size, alerts and
a financier's receivables. Rows go in with Core inserts, as a bulk filler would: the triggers
of migration 0011 log them and the first refresh builds the figures (timed: ``build_s``).

Measured: each dashboard's p50/p95/max (ms) per period (default 30 days by day, 12 weeks,
12 months, a whole year by day); the same with one invoice changed before every request
(not timed; the request's refresh then recomputes that day: ``*_with_writes``); an incremental refresh after 100
changes; the HTML pages. The goal (issue 13): p95 < 150 ms per dashboard request."""
import argparse
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text, update  # noqa: E402

from backend import create_app  # noqa: E402
from backend.core import canonical  # noqa: E402
from backend.core.db import db  # noqa: E402
from backend.core.models import Alert, Invoice, Merchant, Receivable, User  # noqa: E402
from backend.services import two_factor  # noqa: E402

PASSWORD = "bench-dashboards"
TOTP_SECRET = "BENCHDASHBOARDSTOTPSECRET2345672"  # the authority's and financier's second factor (base32)
# provinces by rough share of invoicing (GB/T 2260 codes)
PROVINCES = {"44": 12, "32": 11, "33": 9, "31": 8, "37": 7, "11": 7, "41": 5, "51": 5, "42": 4, "35": 4,
             "43": 4, "34": 3, "50": 3, "53": 2, "61": 2, "21": 2, "13": 3, "36": 2, "45": 2, "52": 1,
             "12": 2, "22": 1, "23": 1, "14": 1, "15": 1, "46": 1, "62": 1, "65": 1, "64": 1, "63": 1}
RATES = [(13, 55), (6, 25), (9, 10), (3, 5), (1, 5)]


def app_for(path, tmp):
    return create_app({"DEV_MODE": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                       "DEPLOYMENT_FILE": "/nonexistent/deployment.json", "KEYSTORE_DIR": str(Path(tmp) / "keys"),
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "VERIFY_RATE_LIMIT": 0,
                       "LOGIN_RATE_LIMIT": 0, "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})


def tax_id_for(region, i):
    return f"91{region}0100M{i:07d}X"[:18]


def document(number, day, seller, buyer, lines):
    items = [{"name": "商品 Goods", "spec": "", "unit": "件", "quantity": 1, "unit_price": amount, "amount": amount,
              "tax_rate": rate, "tax": canonical.item_tax(amount, rate), "tax_code": "1090000000000000000"}
             for rate, amount in lines]
    return json.dumps({"version": 2, "number": number, "issue_date": day, "seller": seller,
                       "buyer": {**buyer, "salt": "0x" + "ab" * 16, "tag": "0x" + "cd" * 20}, "items": items,
                       "remarks": "", "drawer": "bench"}, ensure_ascii=False, separators=(",", ":"))


def fill(args):
    """Users (the authority, a financier, the merchants), invoices, alerts, receivables."""
    rnd = random.Random(args.seed)
    session = db.session
    authority = User(username="authority", role="authority", address="0x" + "a0" * 20)
    financier = User(username="financier", role="financier", address="0x" + "f0" * 20)
    for u in (authority, financier):
        u.set_password(PASSWORD)
        session.add(u)
        session.flush()
        two_factor.enrol_with_secret(u, TOTP_SECRET)  # their roles sign in with a second factor
    regions, weights = zip(*PROVINCES.items())
    merchants = []
    for i in range(args.merchants):
        region = rnd.choices(regions, weights)[0]
        user = User(username=f"m{i:03d}", role="merchant", address=f"0x{i + 1:040x}")
        user.set_password(PASSWORD)
        session.add(user)
        session.flush()
        m = Merchant(user_id=user.id, name=f"示例商户{i:03d}有限公司", tax_id=tax_id_for(region, i),
                     licence_number=f"L-{i}", status="approved")
        session.add(m)
        merchants.append((user, m, region, rnd.lognormvariate(0, 1.3)))
    session.commit()
    today = datetime.now(canonical.CHINA).date()
    days = [today - timedelta(days=k) for k in range(365)]
    day_weights = [(0.35 if d.weekday() >= 5 else 1.0) * (1 + 0.6 * (365 - k) / 365) for k, d in enumerate(days)]
    m_weights = [w for *_, w in merchants]
    buyers = [(f"购买方{j:04d}有限公司", f"91{rnd.choice(regions)}0000MA{j:06d}XA"[:18]) for j in range(4000)]
    rows, seq = [], {}
    notes = []
    cum_rates = [r for r, _ in RATES], [w for _, w in RATES]
    for k in range(args.invoices):
        user, m, region, _ = rnd.choices(merchants, m_weights)[0]
        day = rnd.choices(days, day_weights)[0]
        seq[user.id] = seq.get(user.id, 0) + 1
        number = f"{day.year % 100:02d}{region}1{seq[user.id] + user.id * 10**9:015d}"
        rate = rnd.choices(*cum_rates)[0]
        gross_target = int(rnd.lognormvariate(math.log(400_000), 1.1))
        if rnd.random() < 0.08:
            lines = [(13, gross_target * 6 // 10 // 113 * 100), (6, gross_target * 4 // 10 // 106 * 100)]
        else:
            lines = [(rate, max(gross_target * 100 // (100 + rate), 100))]
        net = sum(a for _, a in lines)
        tax = sum(canonical.item_tax(a, r) for r, a in lines)
        mask = canonical.rate_mask([r for r, _ in lines])
        pool = buyers[(user.id * 37) % 3000:(user.id * 37) % 3000 + 60]
        bname, btax = pool[min(int(rnd.paretovariate(1.1)) - 1, len(pool) - 1)]
        u = rnd.random()
        flags, status = 0, "Issued"
        if u < 0.008:
            flags, status = 1, "Flagged"
        elif u < 0.018:
            flags, status = 8, "Cleared"
        elif u < 0.021:
            flags, status = 2, "Rejected"
        elif u < 0.036:
            status = "Voided"
        elif u < 0.046:
            status = "RedLettered"
        created = datetime(day.year, day.month, day.day, tzinfo=canonical.CHINA) + timedelta(
            hours=rnd.uniform(8, 20))
        created = created.astimezone(timezone.utc).replace(tzinfo=None)
        if status == "Flagged":  # the backlog: flagged recently more often
            created = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=rnd.expovariate(1 / 5))
        seller = {"name": m.name, "tax_id": m.tax_id, "address": user.address}
        rows.append(dict(number=number, key=f"0x{k:064x}", user_id=user.id, seller_address=user.address,
                         seller_name=m.name, seller_tax_id=m.tax_id, buyer_name=bname, buyer_tax_id=btax,
                         issue_date=day.isoformat(), issued_at=int(created.replace(tzinfo=timezone.utc).timestamp()),
                         invoice_type=0, rate=max(r for r, _ in lines), rate_mask=mask, item_count=len(lines),
                         net=net, tax=tax, gross=net + tax,
                         document=document(number, day.isoformat(), seller, {"name": bname, "tax_id": btax}, lines),
                         document_hash="0x" + "00" * 32, is_red_letter=False, state="issued", chain_status=status,
                         flags=flags, check_code="0" * 20, created_at=created, updated_at=created))
        partial = status == "Issued" and rnd.random() < 0.005
        if status == "RedLettered" or partial:
            notes.append((rows[-1], user, region, lines if not partial else [(lines[0][0], lines[0][1] // 2)]))
    for orig, user, region, lines in notes:  # each note the next day (or the same) in its own sequence
        seq[user.id] += 1
        day = min(date.fromisoformat(orig["issue_date"]) + timedelta(days=1), today)
        number = f"{day.year % 100:02d}{region}1{seq[user.id] + user.id * 10**9:015d}"
        net = sum(a for _, a in lines)
        tax = sum(canonical.item_tax(a, r) for r, a in lines)
        rows.append({**orig, "number": number, "key": "0x" + number.rjust(64, "f"), "issue_date": day.isoformat(),
                     "net": net, "tax": tax, "gross": net + tax, "is_red_letter": True, "original_number": orig["number"],
                     "chain_status": "Issued", "flags": 0, "rate_mask": canonical.rate_mask([r for r, _ in lines]),
                     "rate": max(r for r, _ in lines)})
    for row in rows:
        row.setdefault("original_number", None)
    started = time.perf_counter()
    table = Invoice.__table__
    for i in range(0, len(rows), 5000):
        session.execute(insert(table), rows[i:i + 5000])
    session.commit()
    insert_s = time.perf_counter() - started
    kinds = ["split_invoicing", "volume_spike", "circular_invoicing", "high_void_ratio", "round_amounts",
             "unusual_hours", "buyer_concentration", "dormant_burst"]
    for i in range(60):
        m = merchants[rnd.randrange(len(merchants))][1]
        session.add(Alert(kind=rnd.choice(kinds), severity=rnd.choice(["high", "medium", "medium", "low"]),
                          status=rnd.choice(["open", "open", "acknowledged", "resolved"]), fingerprint=f"bench-{i}",
                          merchants=json.dumps([m.tax_id]), invoices=json.dumps([rows[i]["number"]]),
                          evidence="{}", explanation="合成的预警 A synthetic alert"))
    now = int(time.time())
    for i in range(1000):
        r = rows[rnd.randrange(len(rows))]
        advance = int(r["gross"]) * 8 // 10
        session.add(Receivable(id=str(10**20 + i), root_id=str(10**20 + i), invoice_key=r["key"],
                               creditor=r["seller_address"], holder=r["seller_address"],
                               debtor=f"0x{rnd.randrange(40):040x}", financier=financier.address,
                               status=rnd.choice(["pledged"] * 6 + ["overdue", "settled", "offered"]),
                               amount=int(r["gross"]), advance=advance, fee=advance // 50, repaid=0,
                               due_at=now + rnd.randint(-40, 200) * 86400, created_at_chain=now - 86400 * 30))
    session.commit()
    return {"rows": len(rows), "notes": len(notes), "insert_s": round(insert_s, 2)}


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(p / 100 * len(values)) - 1))]


def timed(fn, n, before=None):
    """Wall-clock and CPU (this thread's: the request runs in it, SQLite too) milliseconds of
    ``n`` calls (``before()`` run first each time, not timed): on a busy machine the CPU time
    is closer to what an idle one would take."""
    wall, cpu = [], []
    for _ in range(n):
        if before is not None:
            before()
        started, started_cpu = time.perf_counter(), time.thread_time()
        fn()
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(wall), 1), "p95_ms": round(pct(wall, 95), 1),
            "max_ms": round(max(wall), 1), "cpu_p50_ms": round(statistics.median(cpu), 1),
            "cpu_p95_ms": round(pct(cpu, 95), 1), "n": n}


def get(client, path, token):
    r = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, (path, r.status_code, r.get_data(as_text=True)[:300])
    return r


def login(client, username):
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post("/auth/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    if r.headers.get("Location", "").endswith("/auth/two-factor/code"):
        import pyotp

        client.post("/auth/two-factor/code", data={"code": pyotp.TOTP(TOTP_SECRET).now(), "csrf_token": token})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument("--requests", type=int, default=60, help="requests per scenario")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--db", help="SQLite file to fill (kept; reused when it exists)")
    parser.add_argument("--output", help="write the results as JSON here")
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bench-dashboards-")
    path = Path(args.db) if args.db else Path(tmp) / "bench.sqlite"
    reuse = path.exists()
    app = app_for(path, tmp)
    result = {"invoices_requested": args.invoices, "merchants": args.merchants, "cpu_count": os.cpu_count(),
              "database": "sqlite", "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    with app.app_context():
        from backend.services import analytics_store

        if not reuse:
            result["fill"] = fill(args)
        started = time.perf_counter()
        analytics_store.refresh(rebuild=not reuse)
        result["build_s"] = round(time.perf_counter() - started, 2)
        session = db.session
        result["invoices"] = session.execute(text("SELECT count(*) FROM invoices")).scalar()
        result["aggregate_rows"] = {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in (
            "analytics_seller_day", "analytics_seller_month", "analytics_platform_day", "analytics_rate_day")}
        tokens = {}
        for u in session.query(User).filter(User.role.in_(("authority", "financier", "merchant"))):
            tokens[u.username] = u.new_api_token()
        session.commit()
        volumes = dict(session.execute(select(Invoice.seller_address, text("count(*)")).group_by(
            Invoice.seller_address)).all())
        by_user = {u.username: volumes.get(u.address, 0) for u in session.query(User).filter_by(role="merchant")}
        ids = [i for (i,) in session.execute(select(Invoice.id).where(Invoice.chain_status == "Issued"))]
    biggest = max(by_user, key=by_user.get)
    result["biggest_merchant_invoices"] = by_user[biggest]
    rnd = random.Random(args.seed + 1)
    merchants = list(by_user)
    client = app.test_client()
    today = datetime.now(canonical.CHINA).date()
    year_ago = (today - timedelta(days=364)).isoformat()
    periods = {"day_30d": "period=day", "week_12w": "period=week", "month_12m": "period=month",
               "day_365d": f"period=day&from={year_ago}&to={today.isoformat()}"}
    n = args.requests
    scenarios = {}
    for name, q in periods.items():
        scenarios[f"authority_{name}"] = timed(lambda q=q: get(client, f"/api/v1/analytics/authority?{q}",
                                                               tokens["authority"]), n)
        scenarios[f"merchant_{name}"] = timed(lambda q=q: get(client, f"/api/v1/analytics/merchant?{q}",
                                                              tokens[rnd.choice(merchants)]), n)
        scenarios[f"biggest_merchant_{name}"] = timed(lambda q=q: get(client, f"/api/v1/analytics/merchant?{q}",
                                                                      tokens[biggest]), n)
    scenarios["financier"] = timed(lambda: get(client, "/api/v1/analytics/financier", tokens["financier"]), n)

    def change_one():
        with app.app_context():
            db.session.execute(update(Invoice).where(Invoice.id == rnd.choice(ids)).values(chain_status="Issued"))
            db.session.commit()

    for role, token in (("authority", "authority"), ("merchant", biggest)):
        scenarios[f"{role}_month_12m_with_writes"] = timed(
            lambda role=role, token=token: get(client, f"/api/v1/analytics/{role}?period=month", tokens[token]), n,
            before=change_one)
    with app.app_context():
        for _ in range(100):
            db.session.execute(update(Invoice).where(Invoice.id == rnd.choice(ids)).values(chain_status="Issued"))
        db.session.commit()
        started = time.perf_counter()
        pairs = analytics_store.refresh()
        result["refresh_after_100_changes_ms"] = round((time.perf_counter() - started) * 1000, 1)
        result["refresh_after_100_changes_pairs"] = pairs
    pages = {}
    for username, page in (("authority", "/dashboards/authority?period=month"),
                           (biggest, "/dashboards/merchant?period=month")):
        c = app.test_client()
        login(c, username)
        assert c.get(page).status_code == 200
        pages[page.split("?")[0]] = timed(lambda c=c, page=page: c.get(page), max(10, n // 3))
    result["pages"] = pages
    result["scenarios"] = scenarios
    def worst(role, key):
        return max(v[key] for k, v in scenarios.items()
                   if k.startswith(role) or (role == "merchant" and k.startswith("biggest_merchant")))

    result["worst_p95_ms_by_role"] = {role: worst(role, "p95_ms") for role in ("authority", "merchant")}
    result["worst_cpu_p95_ms_by_role"] = {role: worst(role, "cpu_p95_ms") for role in ("authority", "merchant")}
    result["dashboard_p95_ms"] = max(result["worst_p95_ms_by_role"].values())
    result["dashboard_cpu_p95_ms"] = max(result["worst_cpu_p95_ms_by_role"].values())
    result["load_average"] = os.getloadavg()
    result["goal_p95_ms"] = 150
    text_ = json.dumps(result, indent=2, ensure_ascii=False)
    print(text_)
    if args.output:
        Path(args.output).write_text(text_ + "\n")
    return result


if __name__ == "__main__":
    main()
