"""The dashboards' pre-aggregated figures (issue 13; docs/analytics.md): how they are kept
equal to the invoices.

A database trigger (migration 0011) logs the seller and issue date of every invoice row
inserted, changed or deleted into ``analytics_changes``, whatever writes it (the ORM, the
bulk paths' Core statements, the indexer, a script filling the table). ``refresh`` takes
the log and recomputes each logged (seller, day) from the invoices themselves into
analytics_seller_day and analytics_rate_day, then the months (analytics_seller_month,
analytics_buyer_month) and the platform's days (analytics_platform_day) they are part of.
Recomputing, not adding deltas, means a figure can never drift from the invoices. The
background indexer refreshes after each run (serve.py); each dashboard refreshes before it
reads, so it is never behind."""
import json
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import (BigInteger, bindparam, case, delete, func, insert, literal_column, select, text, true,
                        type_coerce)

from ..core import canonical
from ..core.db import get_db
from ..core.models import (
    AnalyticsBuyerMonth,
    AnalyticsChange,
    AnalyticsPlatformDay,
    AnalyticsRateDay,
    AnalyticsSellerDay,
    AnalyticsSellerMonth,
    ChainEvent,
    Invoice,
)

# what stands: registered on chain, not voided or rejected (flagged ones awaiting review included)
EFFECTIVE = ("Issued", "Flagged", "Cleared", "RedLettered")
NOT_ON_CHAIN = ("pending", "failed")
FULL_REBUILD_AT = 3000  # more (seller, day) pairs to recompute than this: rebuild everything at once
CHUNK = 500
LOCK_KEY = 0x616E616C  # PostgreSQL advisory lock of the refresh
INV = Invoice.__table__.c
SD, SM, PD = AnalyticsSellerDay.__table__, AnalyticsSellerMonth.__table__, AnalyticsPlatformDay.__table__
RD, BM = AnalyticsRateDay.__table__, AnalyticsBuyerMonth.__table__
TABLES = (SD, RD, SM, PD, BM)

_statements = {}


def statement(key, build):
    """The statement ``build()`` makes, built once per process (its values are bind
    parameters): building SQLAlchemy expressions costs more than SQLite's work here."""
    found = _statements.get(key)
    if found is None:
        found = _statements[key] = build()
    return found


def total(expr):
    """sum(expr) read as a plain integer (no Decimal made for each value; PostgreSQL's
    numeric sums still come as Decimal: the readers int() them)."""
    return type_coerce(func.coalesce(func.sum(expr), 0), BigInteger)


def status_sql():
    """An invoice row's status key in SQL: pending / failed, else its chain status."""
    return case((INV.state.in_(NOT_ON_CHAIN), INV.state), else_=func.coalesce(INV.chain_status, "Issued"))


def status_of(state, chain_status):
    return state if state in NOT_ON_CHAIN else (chain_status or "Issued")


def standing_sql():
    """(1 for an invoice that stands, else 0; its gross signed: + an invoice that stands, − a
    note that stands, 0 otherwise) of an invoice row, in SQL."""
    status = status_sql()
    counted = case((status.in_(EFFECTIVE) & ~INV.is_red_letter, 1), else_=0)
    signed = case((status.in_(EFFECTIVE), case((INV.is_red_letter, -1), else_=1)), else_=0) * INV.gross
    return counted, signed


def standing_sums(c):
    """SQL sums over the columns ``c`` of a pre-aggregated table (status, red_letter, n,
    net, tax, gross) of what stands: invoices, notes, net, tax, gross (notes subtracted)."""
    stands = c.status.in_(EFFECTIVE)
    sign = case((stands, case((c.red_letter, -1), else_=1)), else_=0)
    return (total(case((stands & ~c.red_letter, c.n), else_=0)), total(case((stands & c.red_letter, c.n), else_=0)),
            total(sign * c.net), total(sign * c.tax), total(sign * c.gross))


def _month_of(column):
    return func.substr(column, literal_column("1"), literal_column("7"))


# ---------------------------------------------------------------- what to recompute: scopes
# "days": a seller's days (:seller, :days); "month": a seller's month (:seller, :first,
# :last); "platform": days of every seller (:days); "all": everything.
def _invoices_in(scope):
    if scope == "days":
        return (INV.seller_address == bindparam("seller")) & INV.issue_date.in_(bindparam("days", expanding=True))
    if scope == "month":
        return (INV.seller_address == bindparam("seller")) & (INV.issue_date >= bindparam("first")) & \
            (INV.issue_date <= bindparam("last"))
    return true()


def _seller_days_in(scope):
    c = SD.c
    if scope == "month":
        return (c.seller_address == bindparam("seller")) & (c.day >= bindparam("first")) & \
            (c.day <= bindparam("last"))
    if scope == "platform":
        return c.day.in_(bindparam("days", expanding=True))
    return true()


def _seller_day_insert(scope):
    """analytics_seller_day's rows of the scope's invoices (grouped by the labels of a
    subquery: PostgreSQL takes a GROUP BY expression only when it is the selected one)."""
    rows = select(INV.seller_address.label("seller"), INV.issue_date.label("day"),
                  func.substr(INV.number, literal_column("3"), literal_column("2")).label("region"),
                  status_sql().label("status"), INV.is_red_letter.label("red_letter"),
                  case((INV.flags != 0, True), else_=False).label("flagged"), INV.net, INV.tax, INV.gross) \
        .where(_invoices_in(scope)).subquery()
    keys = (rows.c.seller, rows.c.day, rows.c.region, rows.c.status, rows.c.red_letter, rows.c.flagged)
    return insert(SD).from_select(
        ["seller_address", "day", "region", "status", "red_letter", "flagged", "n", "net", "tax", "gross"],
        select(*keys, func.count(), func.sum(rows.c.net), func.sum(rows.c.tax), func.sum(rows.c.gross))
        .group_by(*keys))


def _seller_month_insert(scope):
    c = SD.c
    month = _month_of(c.day)
    return insert(SM).from_select(["month", "seller_address", "region", "n", "notes", "net", "tax", "gross"],
                                  select(month, c.seller_address, c.region, *standing_sums(c))
                                  .where(_seller_days_in(scope)).group_by(month, c.seller_address, c.region))


def _platform_day_insert(scope):
    c = SD.c
    return insert(PD).from_select(
        ["day", "status", "red_letter", "flagged", "n", "net", "tax", "gross"],
        select(c.day, c.status, c.red_letter, c.flagged, total(c.n), total(c.net), total(c.tax), total(c.gross))
        .where(_seller_days_in(scope)).group_by(c.day, c.status, c.red_letter, c.flagged))


def _buyer_month_insert(scope):
    counted, signed = standing_sql()
    rows = select(INV.seller_address.label("seller"), _month_of(INV.issue_date).label("month"),
                  INV.buyer_tax_id.label("buyer"), counted.label("n"), signed.label("gross")) \
        .where(_invoices_in(scope)).subquery()
    keys = (rows.c.seller, rows.c.month, rows.c.buyer)
    return insert(BM).from_select(["seller_address", "month", "buyer_tax_id", "n", "gross"],
                                  select(*keys, func.sum(rows.c.n), func.sum(rows.c.gross)).group_by(*keys))


def _deletes(scope):
    if scope == "days":
        return [delete(t).where(t.c.seller_address == bindparam("seller"),
                                t.c.day.in_(bindparam("days", expanding=True))) for t in (SD, RD)]
    if scope == "month":
        return [delete(t).where(t.c.month == bindparam("month"), t.c.seller_address == bindparam("seller"))
                for t in (SM, BM)]
    if scope == "platform":
        return [delete(PD).where(PD.c.day.in_(bindparam("days", expanding=True)))]
    return [delete(t) for t in TABLES]


def _run(session, scope, params, inserts):
    """Delete the scope's rows of the tables ``inserts`` fill, then fill them again."""
    for stmt in statement(("delete", scope), lambda: _deletes(scope)):
        session.execute(stmt, params)
    for make in inserts:
        session.execute(statement((make.__name__, scope), lambda: make(scope)), params)


# ---------------------------------------------------------------- by tax rate: the lines
def _groups_of(row, document, events):
    """[(rate, net, tax)] of an invoice row: its one rate; else its document's lines by rate;
    else (registered by another client) its InvoiceIssued event's rate groups."""
    mask = row.rate_mask
    if mask and not mask & (mask - 1):
        return [(mask.bit_length() - 1, int(row.net), int(row.tax))]
    if document:
        try:
            items = json.loads(document).get("items") or []
            return [(rate, net, tax) for rate, _, net, tax in canonical.rate_groups(items)]
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
    groups = events.get(row.key)
    if groups:
        return [(int(g["rate"]), int(g["net"]), int(g["tax"])) for g in groups]
    return [(row.rate or 0, int(row.net), int(row.tax))]


def _rate_statements(scope):
    return (select(INV.id, INV.key, INV.seller_address, INV.issue_date, INV.state, INV.chain_status,
                   INV.is_red_letter, INV.rate, INV.rate_mask, INV.net, INV.tax).where(_invoices_in(scope)),
            select(INV.id, INV.document).where(INV.id.in_(bindparam("ids", expanding=True))),
            select(ChainEvent.invoice_key, ChainEvent.args).where(
                ChainEvent.invoice_key.in_(bindparam("keys", expanding=True)), ChainEvent.event == "InvoiceIssued"))


def _insert_rates(session, scope, params):
    """analytics_rate_day's rows of the scope's invoices: what stands, by the lines' rates
    (documents read only for invoices of several rates)."""
    rows_q, documents_q, events_q = statement(("rates", scope), lambda: _rate_statements(scope))
    rows = session.execute(rows_q, params).all()
    standing = [r for r in rows if status_of(r.state, r.chain_status) in EFFECTIVE]
    several = [r for r in standing if not (r.rate_mask and not r.rate_mask & (r.rate_mask - 1))]
    documents, events = {}, {}
    for i in range(0, len(several), CHUNK):
        documents.update(session.execute(documents_q, {"ids": [r.id for r in several[i:i + CHUNK]]}).all())
    missing = [r.key for r in several if not documents.get(r.id)]
    for i in range(0, len(missing), CHUNK):
        for key, args in session.execute(events_q, {"keys": missing[i:i + CHUNK]}):
            events[key] = json.loads(args).get("groups")
    acc = defaultdict(lambda: [0, 0, 0, 0])
    for r in standing:
        sign = -1 if r.is_red_letter else 1
        for rate, net, tax in _groups_of(r, documents.get(r.id), events):
            a = acc[(r.seller_address, r.issue_date, rate)]
            a[0] += 0 if r.is_red_letter else 1
            a[1] += sign * net
            a[2] += sign * tax
            a[3] += sign * (net + tax)
    if acc:
        session.execute(insert(RD), [{"seller_address": s, "day": d, "rate": rate, "n": n, "net": net, "tax": tax,
                                      "gross": gross} for (s, d, rate), (n, net, tax, gross) in acc.items()])


# ---------------------------------------------------------------- refresh
def _month_bounds(month):
    first = date.fromisoformat(month + "-01")
    return first.isoformat(), ((first + timedelta(days=32)).replace(day=1) - timedelta(days=1)).isoformat()


def _recompute(session, pairs):
    """Recompute the figures of the (seller, issue date) ``pairs`` from the invoices, then
    the months and the platform's days they are part of."""
    by_seller = defaultdict(set)
    for seller, day in pairs:
        by_seller[seller].add(day)
    for seller, days in by_seller.items():
        days = sorted(days)
        for i in range(0, len(days), CHUNK):
            params = {"seller": seller, "days": days[i:i + CHUNK]}
            _run(session, "days", params, [_seller_day_insert])
            _insert_rates(session, "days", params)
    for seller, month in sorted({(s, d[:7]) for s, d in pairs}):
        first, last = _month_bounds(month)
        _run(session, "month", {"seller": seller, "month": month, "first": first, "last": last},
             [_seller_month_insert, _buyer_month_insert])
    days = sorted({d for _, d in pairs})
    for i in range(0, len(days), CHUNK):
        _run(session, "platform", {"days": days[i:i + CHUNK]}, [_platform_day_insert])


def _rebuild(session):
    _run(session, "all", {}, [_seller_day_insert, _seller_month_insert, _platform_day_insert, _buyer_month_insert])
    _insert_rates(session, "all", {})


def refresh(rebuild=False):
    """Recompute the figures of every (seller, issue date) the trigger logged since the last
    refresh (``rebuild``: of everything), in one transaction of the request's session (a
    GET's session has nothing else to commit; the indexer's loop commits before). Refreshes
    run one at a time (SQLite: the write lock; PostgreSQL: an advisory lock). Returns how
    many (seller, day) pairs were recomputed (-1: everything)."""
    session = get_db()
    log = AnalyticsChange.__table__
    if not rebuild and session.execute(statement("pending", lambda: select(log.c.id).limit(1))).first() is None:
        return 0
    try:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        taken = session.execute(statement("take", lambda: delete(log).returning(log.c.seller_address,
                                                                                 log.c.issue_date))).all()
        pairs = {(s, d) for s, d in taken}
        if rebuild or len(pairs) > FULL_REBUILD_AT:
            _rebuild(session)
            done = -1
        else:
            _recompute(session, pairs)
            done = len(pairs)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return done
