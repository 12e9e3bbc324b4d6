"""The authority's platform dashboard and a financier's book (issue 13; docs/analytics.md);
the shared building blocks (periods, tallies) are in services.analytics."""
import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, and_, bindparam, case, func, select, true, type_coerce

from ..core import canonical
from ..core.db import get_db
from ..core.models import (
    Alert,
    AnalyticsPlatformDay,
    AnalyticsSellerDay,
    AnalyticsSellerMonth,
    Invoice,
    Merchant,
    Receivable,
    User,
)
from .analytics import Tally, comparison, period_figures, ratio, whole_months
from . import detector
from .analytics_store import CHUNK, refresh, standing_sums, statement, total
from .errors import Refused
from .receivable_views import LIVE, STATUS_LABELS

# province-level codes (GB/T 2260): a USCC's digits 3-4, and so an invoice number's region
REGIONS = {
    "11": _l("Beijing"), "12": _l("Tianjin"), "13": _l("Hebei"), "14": _l("Shanxi"), "15": _l("Inner Mongolia"),
    "21": _l("Liaoning"), "22": _l("Jilin"), "23": _l("Heilongjiang"), "31": _l("Shanghai"), "32": _l("Jiangsu"),
    "33": _l("Zhejiang"), "34": _l("Anhui"), "35": _l("Fujian"), "36": _l("Jiangxi"), "37": _l("Shandong"),
    "41": _l("Henan"), "42": _l("Hubei"), "43": _l("Hunan"), "44": _l("Guangdong"), "45": _l("Guangxi"),
    "46": _l("Hainan"), "50": _l("Chongqing"), "51": _l("Sichuan"), "52": _l("Guizhou"), "53": _l("Yunnan"),
    "54": _l("Tibet"), "61": _l("Shaanxi"), "62": _l("Gansu"), "63": _l("Qinghai"), "64": _l("Ningxia"),
    "65": _l("Xinjiang"), "71": _l("Taiwan"), "81": _l("Hong Kong"), "82": _l("Macao"),
}
TOP_MERCHANTS = 20
TOP_ALERTS = 10
SEVERITIES = ("high", "medium", "low")
SEVERITY_LABELS = detector.SEVERITY_LABELS  # a lookup gives the label in the request's language (a str)
ALERT_STATUS_LABELS = detector.STATUS_LABELS
# review backlog ages (days since the flagged invoice was recorded): (upper bound, label)
BACKLOG_AGES = ((1, _l("Under 1 day")), (3, _l("1–3 days")), (7, _l("3–7 days")),
                (30, _l("7–30 days")), (None, _l("Over 30 days")))
# a financier's maturities: days until the due date (upper bound, label); past due first
MATURITIES = ((0, _l("Past due, not repaid")), (30, _l("Within 30 days")), (60, _l("31–60 days")),
              (90, _l("61–90 days")), (180, _l("91–180 days")), (None, _l("Over 180 days")))
FINANCED = ("pledged", "overdue", "defaulted")  # the financier has advanced money and is owed


def _merchant_names(addresses):
    """{address: (name, tax ID)}: the merchant profile, else what its latest invoice says."""
    addresses = list(addresses)
    out = {}
    for i in range(0, len(addresses), CHUNK):
        chunk = addresses[i:i + CHUNK]
        for address, name, tax_id in get_db().execute(
                select(User.address, Merchant.name, Merchant.tax_id).join(Merchant, Merchant.user_id == User.id)
                .where(User.address.in_(chunk))):
            out[address] = (name, tax_id)
    for address in addresses:
        if address not in out:
            row = get_db().execute(select(Invoice.seller_name, Invoice.seller_tax_id)
                                   .where(Invoice.seller_address == address).limit(1)).first()
            out[address] = (row[0] or address, row[1]) if row else (address, None)
    return out


def _region_statements():
    m, d = AnalyticsSellerMonth.__table__.c, AnalyticsSellerDay.__table__.c
    return (select(m.seller_address, m.region, total(m.n), total(m.notes), total(m.net), total(m.tax), total(m.gross))
            .where(m.month >= bindparam("start"), m.month <= bindparam("end")).group_by(m.seller_address, m.region),
            select(d.seller_address, d.region, *standing_sums(d))
            .where(d.day >= bindparam("start"), d.day <= bindparam("end")).group_by(d.seller_address, d.region))


def _by_seller_region(period):
    """{(seller, region): Tally} of the period: whole months from analytics_seller_month, the
    days around them from analytics_seller_day (what stands summed in SQL: one row a pair)."""
    by_month, by_day = statement("regions", _region_statements)
    months, edges = whole_months(period)
    queries = [(by_month, months)] if months else []
    queries += [(by_day, (first.isoformat(), last.isoformat())) for first, last in edges]
    out = defaultdict(Tally)
    for q, (start, end) in queries:
        for seller, region, *sums in get_db().execute(q, {"start": start, "end": end}):
            out[(seller, region)].add_sums(*sums)
    return out


def authority_dashboard(user, period):
    if user.role != "authority":
        raise Refused("forbidden", _("Only the tax authority sees the platform dashboard."), 403)
    refresh()
    series, cur, before, mix = period_figures(AnalyticsPlatformDay.__table__, period)
    regions, sellers = defaultdict(Tally), defaultdict(Tally)
    for (seller, region), t in _by_seller_region(period).items():
        regions[region].merge(t)
        sellers[seller].merge(t)
    by_region = sorted(({"region": code, "name": str(REGIONS[code]) if code in REGIONS else _("Region %(code)s", code=code), **t.as_dict(),
                         "share": ratio(t.gross, cur.gross)} for code, t in regions.items() if t.count or t.notes),
                       key=lambda r: (-r["gross"], r["region"]))
    ranked = sorted(((s, t) for s, t in sellers.items() if t.count or t.notes), key=lambda kv: (-kv[1].gross, kv[0]))
    names = _merchant_names(s for s, _ in ranked[:TOP_MERCHANTS])
    by_merchant = [{"address": s, "name": names[s][0], "tax_id": names[s][1], **t.as_dict(),
                    "share": ratio(t.gross, cur.gross)} for s, t in ranked[:TOP_MERCHANTS]]
    rest = Tally()
    for _seller, t in ranked[TOP_MERCHANTS:]:
        rest.merge(t)
    return {"role": "authority", **period.as_dict(), "totals": {**cur.as_dict(), "merchants": len(ranked)},
            "comparison": comparison(cur, before), "series": series, "by_region": by_region,
            "by_merchant": by_merchant,
            "other_merchants": {"merchants": max(len(ranked) - TOP_MERCHANTS, 0), **rest.as_dict()},
            "status_mix": mix.status_mix(), "ratios": mix.ratios(), "review": mix.review(),
            "backlog": backlog(), "alerts": top_alerts()}


def backlog(now=None):
    """Flagged invoices not reviewed yet (chain status Flagged), whenever issued: how many,
    their gross, the oldest, and how long they have waited since they were recorded."""
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    bounds = [(now - timedelta(days=days)) if days else None for days, _ in BACKLOG_AGES]
    columns = [func.count(), func.coalesce(func.sum(Invoice.gross), 0), func.min(Invoice.created_at)]
    lower = None
    for bound in bounds:
        cond = Invoice.created_at >= bound if bound is not None else true()
        if lower is not None:
            cond = and_(cond, Invoice.created_at < lower)
        columns += [func.sum(case((cond, 1), else_=0)), func.sum(case((cond, Invoice.gross), else_=0))]
        lower = bound
    row = get_db().execute(select(*columns).where(Invoice.chain_status == "Flagged")).one()
    count, gross, oldest = int(row[0]), int(row[1]), row[2]
    ages = [{"age": str(label), "count": int(row[3 + 2 * i] or 0), "gross": int(row[4 + 2 * i] or 0)}
            for i, (_, label) in enumerate(BACKLOG_AGES)]
    return {"count": count, "gross": gross,
            "oldest": canonical.china_time(oldest) if oldest else None,
            "oldest_days": round((now - oldest).total_seconds() / 86400, 1) if oldest else None, "ages": ages}


def top_alerts(limit=TOP_ALERTS):
    """Alerts not resolved, the most severe first and among them the most recent; and how
    many are open by severity and kind."""
    rank = case({s: i for i, s in enumerate(SEVERITIES)}, value=Alert.severity, else_=len(SEVERITIES))
    session = get_db()
    rows = (session.query(Alert).filter(Alert.status != "resolved")
            .order_by(rank, Alert.created_at.desc(), Alert.id.desc()).limit(limit).all())
    counts = session.execute(select(Alert.severity, Alert.kind, func.count()).where(Alert.status != "resolved")
                             .group_by(Alert.severity, Alert.kind)).all()

    def listed(text_):
        try:
            value = json.loads(text_ or "[]")
        except ValueError:
            return []
        return value if isinstance(value, list) else []

    top = [{"id": a.id, "kind": a.kind, "severity": a.severity,
            "severity_label": str(SEVERITY_LABELS.get(a.severity, a.severity)), "status": a.status,
            "status_label": str(ALERT_STATUS_LABELS.get(a.status, a.status)), "merchants": listed(a.merchants),
            "invoices": len(listed(a.invoices)), "explanation": a.explanation,
            "created_at": canonical.china_time(a.created_at)} for a in rows]
    by_kind = sorted(({"severity": s, "severity_label": str(SEVERITY_LABELS.get(s, s)), "kind": k, "count": int(n)}
                      for s, k, n in counts),
                     key=lambda r: (SEVERITIES.index(r["severity"]) if r["severity"] in SEVERITIES else 9,
                                    -r["count"], r["kind"]))
    return {"open": sum(r["count"] for r in by_kind), "by_kind": by_kind, "top": top}


def _china_day(ts):
    return canonical.china_date(int(ts))


def merchant_receivables(address, period):
    """The receivables the merchant drew (as creditor) in the period, by the day the ledger
    created them: how many and their face value, what became of them, what was financed."""
    rows = get_db().query(Receivable).filter(Receivable.creditor == address).all()
    start, end = period.start.isoformat(), period.end.isoformat()
    roots = {r.id for r in rows if r.parent_id is None and start <= _china_day(r.created_at_chain) <= end}
    family = [r for r in rows if r.root_id in roots]
    leaves = [r for r in family if r.status != "split"]
    financed = [r for r in family if int(r.advance) > 0]
    by_status = defaultdict(lambda: [0, 0])
    for r in leaves:
        by_status[r.status][0] += 1
        by_status[r.status][1] += int(r.amount)
    return {"drawn": len(roots), "drawn_amount": sum(int(r.amount) for r in family if r.id in roots),
            "outstanding": sum(int(r.amount) - int(r.paid) for r in leaves if r.status in LIVE),
            "paid": sum(int(r.paid) for r in leaves),
            "financed": len(financed), "financed_advance": sum(int(r.advance) for r in financed),
            "financed_fee": sum(int(r.fee) for r in financed),
            "by_status": [{"status": s, "label": str(STATUS_LABELS.get(s, s)), "count": v[0], "amount": v[1]}
                          for s, v in sorted(by_status.items())]}


# ---------------------------------------------------------------- financier
def chain_now():
    """The chain's time (the ledger counts maturities by it), else the wall clock."""
    try:
        from ..chain import get_chain

        return int(get_chain().w3.eth.get_block("latest")["timestamp"])
    except Exception:  # noqa: BLE001 - no chain: the wall clock
        return int(datetime.now(timezone.utc).timestamp())


def _account_names(addresses):
    """{address: the merchant's name, else the username} of the accounts known here (one query)."""
    addresses, out = sorted(a for a in addresses if a), {}
    for i in range(0, len(addresses), CHUNK):
        for address, username, name in get_db().execute(
                select(User.address, User.username, Merchant.name).outerjoin(Merchant, Merchant.user_id == User.id)
                .where(User.address.in_(addresses[i:i + CHUNK]))):
            out[address] = name or username
    return out


def financier_dashboard(user, now=None):
    """A financier's book now: what it is owed (advance + fee − repaid of what it financed
    and is not settled) by debtor and by days to the due date, and what is past due."""
    if user.role != "financier":
        raise Refused("forbidden", _("Only a financier sees its financing dashboard."), 403)
    now = now if now is not None else chain_now()
    c = Receivable.__table__.c
    money = [type_coerce(col, BigInteger) for col in (c.amount, c.advance, c.fee, c.repaid, c.due_at)]
    rows = get_db().execute(select(c.id, c.invoice_key, c.debtor, c.status, *money)
                            .where(c.financier == (user.address or "-"))).all()
    # (row, what the financier is owed on it: advance + fee − repaid) of what it financed
    book = [(r, max(int(r.advance) + int(r.fee) - int(r.repaid), 0)) for r in rows if r.status in FINANCED]
    names = _account_names({r.debtor for r, _ in book})
    keys = sorted({r.invoice_key for r, _ in book})
    invoice_numbers = {}
    for i in range(0, len(keys), CHUNK):
        invoice_numbers.update(get_db().execute(select(Invoice.key, Invoice.number).where(
            Invoice.key.in_(keys[i:i + CHUNK]))).all())
    whole = sum(o for _, o in book)
    exposure = defaultdict(lambda: [0, 0])
    ladder = [[0, 0] for _ in MATURITIES]
    for r, owed in book:
        exposure[r.debtor][0] += 1
        exposure[r.debtor][1] += owed
        days_left = (int(r.due_at) - now) / 86400
        for i, (bound, _label) in enumerate(MATURITIES):
            if bound is None or (days_left < 0 if bound == 0 else days_left <= bound):
                ladder[i][0] += 1
                ladder[i][1] += owed
                break
    by_debtor = sorted(({"debtor": d, "name": names.get(d) or d, "count": n, "owed": o, "share": ratio(o, whole)}
                        for d, (n, o) in exposure.items()), key=lambda x: (-x["owed"], x["debtor"]))
    overdue = sorted(((r, o) for r, o in book if int(r.due_at) < now or r.status in ("overdue", "defaulted")),
                     key=lambda x: (int(x[0].due_at), x[0].id))
    return {"role": "financier", "as_of": canonical.china_date(now), "as_of_time": now,
            "totals": {"financed": len(book), "owed": whole, "advanced": sum(int(r.advance) for r in rows),
                       "fees": sum(int(r.fee) for r in rows), "repaid": sum(int(r.repaid) for r in rows),
                       "offers": sum(1 for r in rows if r.status == "offered"),
                       "overdue": len(overdue), "overdue_owed": sum(o for _, o in overdue)},
            "by_debtor": by_debtor,
            "maturities": [{"bucket": str(label), "count": n, "owed": o, "share": ratio(o, whole)}
                           for (_, label), (n, o) in zip(MATURITIES, ladder)],
            "overdue": [{"id": r.id, "invoice_number": invoice_numbers.get(r.invoice_key), "debtor": r.debtor,
                         "debtor_name": names.get(r.debtor) or r.debtor, "status": r.status,
                         "status_label": str(STATUS_LABELS.get(r.status, r.status)),
                         "due_date": canonical.china_date(int(r.due_at)),
                         "days_overdue": max(int((now - int(r.due_at)) // 86400), 0), "owed": o}
                        for r, o in overdue]}
