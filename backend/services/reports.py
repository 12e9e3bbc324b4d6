"""Reports (报表): the report builder (定制化报表: the user picks columns, filters and a
grouping, runs it, exports it, saves it), the merchant's monthly statement (月度开票报表) and
the platform's monthly report (平台月度报告), each as PDF and XLSX.

Every report reads the invoices the user may see: a merchant its own, a buyer those
addressed to its tax ID, the authority and auditors all. Only invoices registered on chain
(state issued) count; a red-letter note counts negative in the sums, as it reduces its
original."""
import json
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, or_, select

from ..core import canonical
from ..core.db import get_db
from ..core.models import Alert, Invoice, Merchant, Receivable, SavedReport
from ..schemas import reports as models
from ..schemas.common import ID_MAX
from . import inbox_export as files
from . import invoices
from .errors import Refused
from .validation import validated

TEXT, INT, DATE, MONEY, RATE = files.TEXT, files.INT, files.DATE, files.MONEY, files.RATE
SIGN = case((Invoice.is_red_letter.is_(True), -1), else_=1)  # a note reduces the sums
MONTH = func.substr(Invoice.issue_date, 1, 7)
REGION = func.substr(Invoice.number, 3, 2)

# key → (header, translated when shown; the column; kind; XLSX width)
COLUMNS = {
    "number": (_l("Invoice number"), Invoice.number, TEXT, 22),
    "issue_date": (_l("Issue date"), Invoice.issue_date, DATE, 12),
    "month": (_l("Month"), MONTH, TEXT, 9),
    "seller_name": (_l("Seller"), Invoice.seller_name, TEXT, 28),
    "seller_tax_id": (_l("Seller tax ID"), Invoice.seller_tax_id, TEXT, 22),
    "buyer_name": (_l("Buyer"), Invoice.buyer_name, TEXT, 28),
    "buyer_tax_id": (_l("Buyer tax ID"), Invoice.buyer_tax_id, TEXT, 22),
    "region": (_l("Region code"), REGION, TEXT, 8),
    "status": (_l("Status"), Invoice.chain_status, TEXT, 14),
    "rate": (_l("Top rate"), Invoice.rate, RATE, 8),
    "is_red_letter": (_l("Red-letter note"), Invoice.is_red_letter, TEXT, 10),
    "item_count": (_l("Lines"), Invoice.item_count, INT, 8),
    "net": (_l("Net amount"), Invoice.net * SIGN, MONEY, 14),
    "tax": (_l("Tax amount"), Invoice.tax * SIGN, MONEY, 14),
    "gross": (_l("Gross amount"), Invoice.gross * SIGN, MONEY, 14),
}
def status_word(status):
    """An invoice's status in a word or two (the statement's rows)."""
    return invoices.STATUS_NAMES.get(status, status or "")


# what a grouped report sums
MEASURES = {
    "count": (_l("Invoice count"), func.count(Invoice.id), INT, 10),
    "net": (_l("Net total"), func.coalesce(func.sum(Invoice.net * SIGN), 0), MONEY, 16),
    "tax": (_l("Tax total"), func.coalesce(func.sum(Invoice.tax * SIGN), 0), MONEY, 16),
    "gross": (_l("Gross total"), func.coalesce(func.sum(Invoice.gross * SIGN), 0), MONEY, 16),
}
GROUPS = {"seller": ("seller_tax_id", "seller_name"), "buyer": ("buyer_tax_id", "buyer_name"), "month": ("month",),
          "issue_date": ("issue_date",), "region": ("region",), "status": ("status",), "rate": ("rate",)}


# ------------------------------------------------------------------------ what a user may see
def scoped(user, query):
    """``query`` limited to the invoices ``user`` may report on (403 for other roles)."""
    if user.role in ("authority", "auditor"):
        return query
    if user.role == "merchant":
        return query.where(or_(Invoice.user_id == user.id, Invoice.seller_address == (user.address or "-")))
    if user.role == "buyer" and user.buyer_tax_id:
        return query.where(Invoice.buyer_tax_id == user.buyer_tax_id.upper())
    raise Refused("forbidden", _("This role has no invoice reports."), 403)


def _filtered(query, f):
    query = query.where(Invoice.state == "issued")
    if f.date_from:
        query = query.where(Invoice.issue_date >= f.date_from.isoformat())
    if f.date_to:
        query = query.where(Invoice.issue_date <= f.date_to.isoformat())
    if f.seller:
        query = query.where(or_(Invoice.seller_tax_id == f.seller.upper(), Invoice.seller_name.contains(f.seller)))
    if f.buyer:
        query = query.where(or_(Invoice.buyer_tax_id == f.buyer.upper(), Invoice.buyer_name.contains(f.buyer)))
    if f.statuses:
        query = query.where(Invoice.chain_status.in_(f.statuses))
    if f.red_letter == "exclude":
        query = query.where(Invoice.is_red_letter.is_(False))
    elif f.red_letter == "only":
        query = query.where(Invoice.is_red_letter.is_(True))
    if f.min_gross is not None:
        query = query.where(Invoice.gross >= f.min_gross)
    if f.max_gross is not None:
        query = query.where(Invoice.gross <= f.max_gross)
    if f.region:
        query = query.where(REGION == f.region)
    return query


# ------------------------------------------------------------------------ the builder
def run(user, definition):
    """A report definition (ReportDefinition or its dict) → {columns: [{key, title, kind}],
    rows: [[…]], totals, truncated}. Ungrouped: one row per invoice with the chosen columns;
    grouped: one row per group with the chosen measures."""
    d = validated(models.ReportDefinition, definition) if isinstance(definition, dict) else definition
    if d.group_by:
        keys = list(GROUPS[d.group_by])
        spec = [(k, COLUMNS[k]) for k in keys] + [(m, MEASURES[m]) for m in d.measures]
        group_cols = [COLUMNS[k][1] for k in keys]
        query = select(*(s[1] for _, s in spec)).group_by(*group_cols)
        order = dict(spec).get(d.sort_by) if d.sort_by else None
        order = order[1] if order is not None else group_cols[0]
    else:
        spec = [(k, COLUMNS[k]) for k in d.columns]
        query = select(*(s[1] for _, s in spec))
        order = COLUMNS[d.sort_by][1] if d.sort_by in COLUMNS else Invoice.issue_date
    query = _filtered(scoped(user, query), d.filters)
    query = query.order_by(order.desc() if d.descending else order.asc(), *(
        [] if d.group_by else [Invoice.number.desc() if d.descending else Invoice.number.asc()]))
    limit = d.limit
    rows = [[_plain(v) for v in row] for row in get_db().execute(query.limit(limit + 1))]
    truncated = len(rows) > limit
    rows = rows[:limit]
    totals = _totals(user, d)
    return {"columns": [{"key": k, "title": str(s[0]), "kind": s[2]} for k, s in spec], "rows": rows,
            "totals": totals, "truncated": truncated, "definition": d.model_dump(mode="json")}


def _plain(value):
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if hasattr(value, "as_integer_ratio") and not isinstance(value, (int, float)):
        return int(value)  # Decimal (PostgreSQL's sums)
    return value


def _totals(user, d):
    query = _filtered(scoped(user, select(*(m[1] for m in MEASURES.values()))), d.filters)
    row = get_db().execute(query).one()
    return {k: int(v or 0) for k, v in zip(MEASURES, row)}


def export(result, fmt):
    """(bytes, content type, file name) of a run's result as CSV or XLSX."""
    columns = [(c["title"], c["kind"], 16 if c["kind"] != TEXT else 22) for c in result["columns"]]
    rows = list(result["rows"])
    if result["definition"].get("group_by"):
        first = [c["key"] for c in result["columns"]]
        rows.append([(_("Total") if i == 0 else (result["totals"].get(key) if key in MEASURES else None))
                     for i, key in enumerate(first)])
    data, content_type, ext = files.render(fmt, rows, columns, _("Report"))
    return data, content_type, f"report-{date.today().isoformat()}.{ext}"


# ------------------------------------------------------------------------ saved reports
def saved(user):
    return [saved_dict(r) for r in get_db().query(SavedReport).filter_by(user_id=user.id).order_by(SavedReport.name)]


def saved_dict(row):
    return {"id": row.id, "name": row.name, "definition": json.loads(row.definition),
            "created_at": row.created_at.isoformat() + "Z", "updated_at": row.updated_at.isoformat() + "Z"}


def save(user, body):
    """Save (or replace, by name) a report definition; it is checked by running it once."""
    req = validated(models.SaveReport, body)
    scoped(user, select(Invoice.id))  # the role may report at all
    session = get_db()
    row = session.query(SavedReport).filter_by(user_id=user.id, name=req.name).first()
    if row is None:
        if session.query(SavedReport).filter_by(user_id=user.id).count() >= models.MAX_SAVED:
            raise Refused("too_many_reports", _("At most %(count)s saved reports per user.", count=models.MAX_SAVED),
                          409)
        row = SavedReport(user_id=user.id, name=req.name)
        session.add(row)
    row.definition = json.dumps(req.definition.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)
    session.commit()
    return saved_dict(row)


def find_saved(user, report_id):
    row = get_db().get(SavedReport, report_id) if 0 < report_id <= ID_MAX else None  # INTEGER ids
    if row is None or row.user_id != user.id:
        raise Refused("not_found", _("There is no saved report %(id)s.", id=report_id), 404)
    return row


def delete_saved(user, report_id):
    session = get_db()
    session.delete(find_saved(user, report_id))
    session.commit()


# ------------------------------------------------------------------------ monthly statements
def _month_bounds(month):
    first = date.fromisoformat(month + "-01")
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first.isoformat(), nxt.isoformat()


def statement(user, month, merchant_tax_id=None):
    """A merchant's month: totals, per tax rate (from the documents' lines), per status, the
    red-letter notes and voids, receivables drawn, and every invoice."""
    merchant = _statement_merchant(user, merchant_tax_id)
    start, end = _month_bounds(month)
    session = get_db()
    invoices = session.query(Invoice).filter(
        Invoice.seller_address == merchant.user.address, Invoice.state == "issued",
        Invoice.issue_date >= start, Invoice.issue_date < end).order_by(Invoice.issue_date, Invoice.number).all()
    by_rate, by_status = {}, {}
    totals = {"count": 0, "net": 0, "tax": 0, "gross": 0, "notes": 0, "notes_gross": 0, "voided": 0}
    for inv in invoices:
        sign = -1 if inv.is_red_letter else 1
        totals["count"] += 1
        for k in ("net", "tax", "gross"):
            totals[k] += sign * int(getattr(inv, k))
        if inv.is_red_letter:
            totals["notes"] += 1
            totals["notes_gross"] += int(inv.gross)
        if inv.chain_status == "Voided":
            totals["voided"] += 1
        status = "RedLetterNote" if inv.is_red_letter else (inv.chain_status or "")
        row = by_status.setdefault(status, {"status": status, "label": status_word(status),
                                            "count": 0, "gross": 0})
        row["count"] += 1
        row["gross"] += sign * int(inv.gross)
        for rate, net, tax in _rate_groups(inv):
            group = by_rate.setdefault(rate, {"rate": rate, "net": 0, "tax": 0})
            group["net"] += sign * net
            group["tax"] += sign * tax
    drawn = session.query(func.count(Receivable.id), func.coalesce(func.sum(Receivable.amount), 0)).filter(
        Receivable.creditor == merchant.user.address, Receivable.parent_id.is_(None),
        Receivable.invoice_key.in_([i.key for i in invoices] or ["-"])).one()
    return {"merchant": {"name": merchant.name, "tax_id": merchant.tax_id}, "month": month, "totals": totals,
            "by_rate": [by_rate[r] for r in sorted(by_rate)], "by_status": sorted(by_status.values(),
                                                                                  key=lambda r: r["status"]),
            "receivables": {"count": int(drawn[0]), "amount": int(drawn[1])},
            "invoices": [{"number": i.number, "issue_date": i.issue_date, "buyer_name": i.buyer_name,
                          "buyer_tax_id": i.buyer_tax_id, "net": int(i.net), "tax": int(i.tax), "gross": int(i.gross),
                          "status": "RedLetterNote" if i.is_red_letter else i.chain_status,
                          "original_number": i.original_number} for i in invoices]}


def _rate_groups(inv):
    """(rate, net, tax) of the invoice's lines per rate; the invoice's own totals at its
    top rate when the platform does not hold its document."""
    if inv.document:
        try:
            items = json.loads(inv.document).get("items") or []
            return [(g["rate"], g["net"], g["tax"]) for g in _groups(items)]
        except (ValueError, KeyError, TypeError):
            pass
    return [(inv.rate, int(inv.net), int(inv.tax))]


def _groups(items):
    out = {}
    for it in items:
        g = out.setdefault(it["tax_rate"], {"rate": it["tax_rate"], "net": 0, "tax": 0})
        g["net"] += int(it["amount"])
        g["tax"] += int(it.get("tax", canonical.item_tax(int(it["amount"]), it["tax_rate"])))
    return out.values()


def _statement_merchant(user, tax_id):
    session = get_db()
    if user.role == "merchant":
        if user.merchant is None:
            raise Refused("not_a_merchant", _("This account has no merchant profile."), 403)
        if tax_id and tax_id.upper() != user.merchant.tax_id:
            raise Refused("forbidden", _("A merchant sees its own statement only."), 403)
        return user.merchant
    if user.role not in ("authority", "auditor"):
        raise Refused("forbidden", _("This role has no merchant statements."), 403)
    if not tax_id:
        raise Refused("merchant_required", _("Say which merchant: its tax ID."), 400)
    merchant = session.query(Merchant).filter_by(tax_id=tax_id.upper()).first()
    if merchant is None:
        raise Refused("not_found", _("There is no merchant with tax ID %(tax_id)s.", tax_id=tax_id), 404)
    return merchant


def platform(user, month):
    """The platform's month for the authority and auditors: totals, per region, per merchant,
    audit outcomes, alerts raised, receivables drawn and financed."""
    if user.role not in ("authority", "auditor"):
        raise Refused("forbidden", _("Only the tax authority and auditors see the platform report."), 403)
    start, end = _month_bounds(month)
    session = get_db()
    base = select().select_from(Invoice).where(Invoice.state == "issued", Invoice.issue_date >= start,
                                               Invoice.issue_date < end)
    sums = [m[1] for m in MEASURES.values()]

    def grouped(*cols):
        return [list(r) for r in session.execute(base.add_columns(*cols, *sums).group_by(*cols).order_by(*cols))]

    totals = dict(zip(MEASURES, session.execute(base.add_columns(*sums)).one()))
    merchants = session.execute(base.add_columns(Invoice.seller_tax_id, Invoice.seller_name, *sums).group_by(
        Invoice.seller_tax_id, Invoice.seller_name).order_by(MEASURES["gross"][1].desc()).limit(50)).all()
    alerts = session.query(Alert.kind, func.count(Alert.id)).filter(
        Alert.created_at >= start, Alert.created_at < end).group_by(Alert.kind).order_by(Alert.kind).all()
    financed = session.query(func.count(Receivable.id), func.coalesce(func.sum(Receivable.amount), 0),
                             func.coalesce(func.sum(Receivable.advance), 0)).filter(
        Receivable.parent_id.is_(None)).one()
    return {"month": month, "totals": {k: int(v or 0) for k, v in totals.items()},
            "by_region": [{"region": r[0], **_measures(r[1:])} for r in grouped(REGION)],
            "by_status": [{"status": r[0] or "", **_measures(r[1:])} for r in grouped(Invoice.chain_status)],
            "merchants": [{"tax_id": r[0], "name": r[1], **_measures(r[2:])} for r in merchants],
            "alerts": [{"kind": k, "count": int(n)} for k, n in alerts],
            "receivables": {"count": int(financed[0]), "amount": int(financed[1]), "advanced": int(financed[2])}}


def _measures(values):
    return {k: int(v or 0) for k, v in zip(MEASURES, values)}
