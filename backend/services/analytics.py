"""The dashboards' figures (issue 13; docs/analytics.md says what each means): the periods
and buckets, the tallies of what stands, and a merchant's dashboard; the authority's and a
financier's are in services.analytics_platform, the pre-aggregated tables they read in
services.analytics_store, the tables and files in services.analytics_export.

Sales are counted by issue date (China time). What stands (``EFFECTIVE``): an invoice
registered on chain that is not voided or rejected (flagged ones awaiting review included);
its red-letter notes count negative, so a fully red-lettered invoice and its note add up to
nothing and a partly red-lettered one to its open amount."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, select, true

from ..core import canonical
from ..core.db import get_db
from ..core.models import (
    AnalyticsBuyerMonth,
    AnalyticsRateDay,
    AnalyticsSellerDay,
    Invoice,
    Merchant,
    User,
)
from ..schemas.analytics import MAX_DAYS, PERIODS
from .analytics_store import EFFECTIVE, NOT_ON_CHAIN, refresh, standing_sql, standing_sums, statement, total
from .errors import Refused, ValidationError

# the status mix's keys, in the order shown; RedLetterNote: the notes themselves (any status on chain)
MIX_KEYS = ("Issued", "Flagged", "Cleared", "Rejected", "Voided", "RedLettered", "RedLetterNote", "pending", "failed")
MIX_LABELS = {
    "Issued": _l("Issued"), "Flagged": _l("Flagged for review"), "Cleared": _l("Cleared by audit"),
    "Rejected": _l("Rejected by audit"), "Voided": _l("Voided"), "RedLettered": _l("Red-lettered in full"),
    "RedLetterNote": _l("Red-letter note"), "pending": _l("Waiting to go on chain"), "failed": _l("Not on chain (failed)"),
}
PERIOD_LABELS = {"day": _l("by day"), "week": _l("by week"), "month": _l("by month")}
TOP_BUYERS = 10


# ---------------------------------------------------------------- periods
@dataclass(frozen=True)
class Period:
    """[start, end] (issue dates, China time) shown by ``kind`` (day, week, month)."""
    kind: str
    start: date
    end: date

    @property
    def days(self):
        return (self.end - self.start).days + 1

    def previous(self):
        """The period of as many days just before this one."""
        return Period(self.kind, self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def key(self, day):
        """The bucket of ``day`` (a date or "YYYY-MM-DD"): the day, the ISO week ("2026-W05")
        or the month ("2026-01")."""
        if self.kind == "day":
            return str(day)
        if self.kind == "month":
            return str(day)[:7]
        d = date.fromisoformat(day) if isinstance(day, str) else day
        year, week, _ = d.isocalendar()
        return f"{year}-W{week:02d}"

    def buckets(self):
        """[(key, first day, last day)] covering the period, in order (the first and the last
        may be partial weeks or months)."""
        out, day = [], self.start
        while day <= self.end:
            if self.kind == "day":
                last = day
            elif self.kind == "week":
                last = day + timedelta(days=6 - day.weekday())
            else:
                last = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            last = min(last, self.end)
            out.append((self.key(day), day, last))
            day = last + timedelta(days=1)
        return out

    def as_dict(self):
        prev = self.previous()
        return {"period": self.kind, "from": self.start.isoformat(), "to": self.end.isoformat(), "days": self.days,
                "previous": {"from": prev.start.isoformat(), "to": prev.end.isoformat()}}


def today():
    return datetime.now(canonical.CHINA).date()


def default_start(kind, end):
    """The first day of the default period ending ``end``: 30 days, 12 weeks (from a Monday)
    or 12 months (from the 1st)."""
    if kind == "day":
        return end - timedelta(days=29)
    if kind == "week":
        return end - timedelta(days=end.weekday() + 7 * 11)
    month = end.year * 12 + end.month - 1 - 11
    return date(month // 12, month % 12 + 1, 1)


def _date_arg(name, value):
    if not value:
        return None
    try:
        d = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError({name: _("must be a date YYYY-MM-DD")},
                              _("The %(name)s is not a valid date.", name=_date_name(name))) from None
    if d.year < 2000 or d.year > 9998:
        raise ValidationError({name: _("must be a date from 2000 on")},
                              _("The %(name)s is out of range.", name=_date_name(name)))
    return d


def _date_name(name):
    """The query parameter ``from``/``to`` in words."""
    return _("start date") if name == "from" else _("end date")


def period_of(kind="day", date_from=None, date_to=None, now=None):
    """The Period the query asks for: ``kind`` day|week|month; ``date_from``/``date_to``
    "YYYY-MM-DD" or empty (the default period, ending today). ValidationError naming the
    parameter otherwise."""
    if kind not in PERIODS:
        raise ValidationError({"period": _("must be day, week or month")},
                              _("The buckets must be days, weeks or months."))
    start, end = _date_arg("from", date_from), _date_arg("to", date_to)
    if end is None:
        end = now or today()
        if start is not None and start > end:
            end = start + timedelta(days=(end - default_start(kind, end)).days)
    if start is None:
        start = default_start(kind, end)
    if start > end:
        raise ValidationError({"from": _("must not be after to")},
                              _("The start of the period is after its end."))
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationError({"to": _("the period spans at most %(days)s days", days=MAX_DAYS)},
                              _("A period spans at most %(days)s days.", days=MAX_DAYS))
    return Period(kind, start, end)



# ---------------------------------------------------------------- tallies
class Tally:
    """What stands of some invoices: ``count`` invoices and ``notes`` red-letter notes, their
    net, tax and gross (the notes' subtracted)."""
    __slots__ = ("count", "notes", "net", "tax", "gross")

    def __init__(self):
        self.count = self.notes = self.net = self.tax = self.gross = 0

    def add(self, status, red_letter, n, net, tax, gross):
        if status not in EFFECTIVE:
            return
        sign = -1 if red_letter else 1
        if red_letter:
            self.notes += int(n)
        else:
            self.count += int(n)
        self.net += sign * int(net)
        self.tax += sign * int(tax)
        self.gross += sign * int(gross)

    def add_sums(self, count, notes, net, tax, gross):
        """Add what ``standing_sums`` summed."""
        self.count += int(count or 0)
        self.notes += int(notes or 0)
        self.net += int(net or 0)
        self.tax += int(tax or 0)
        self.gross += int(gross or 0)

    def merge(self, other):
        self.add_sums(other.count, other.notes, other.net, other.tax, other.gross)

    def as_dict(self):
        return {"count": self.count, "notes": self.notes, "net": self.net, "tax": self.tax, "gross": self.gross,
                "average": self.gross // self.count if self.count else 0}


def change(now, before):
    """Percent change (one decimal) from ``before`` to ``now``; None when before is 0."""
    if not before:
        return None
    return round((now - before) * 100 / abs(before), 1)


def comparison(cur, prev):
    names = ("count", "notes", "net", "tax", "gross", "average")
    c, p = cur.as_dict(), prev.as_dict()
    return {"current": c, "previous": p, "change": {k: change(c[k], p[k]) for k in names}}


def ratio(part, whole):
    return round(part / whole, 4) if whole else None


class Mix:
    """Counts of rows by status key (the notes apart), review outcomes, ratios."""

    def __init__(self):
        self.by_key = {k: [0, 0] for k in MIX_KEYS}  # key -> [count, gross]
        self.flagged = 0
        self.registered = [0, 0]  # invoices on chain (not notes): count, gross
        self.notes = [0, 0]  # notes on chain

    def add(self, status, red_letter, flagged, n, gross):
        n, gross = int(n), int(gross)
        key = status if status in NOT_ON_CHAIN else ("RedLetterNote" if red_letter else status)
        slot = self.by_key.setdefault(key, [0, 0])
        slot[0] += n
        slot[1] += gross
        if status in NOT_ON_CHAIN:
            return
        target = self.notes if red_letter else self.registered
        target[0] += n
        target[1] += gross
        if flagged and not red_letter:
            self.flagged += n

    def status_mix(self):
        return [{"status": k, "label": str(MIX_LABELS.get(k, k)), "count": v[0], "gross": v[1]}
                for k, v in self.by_key.items()]

    def ratios(self):
        invoices, notes = self.registered[0], self.notes[0]
        voided = self.by_key["Voided"][0]
        return {"invoices": invoices, "invoices_gross": self.registered[1], "voided": voided,
                "void_ratio": ratio(voided, invoices), "red_lettered": self.by_key["RedLettered"][0],
                "red_letter_notes": notes, "red_letter_ratio": ratio(notes, invoices),
                "red_letter_gross": self.notes[1], "red_letter_amount_ratio": ratio(self.notes[1], self.registered[1])}

    def review(self):
        """Invoices on chain (not notes) flagged at issuance, and what became of them by their
        status now: cleared, rejected, still waiting for review."""
        on_chain = self.registered[0]
        cleared, rejected, waiting = (self.by_key[k][0] for k in ("Cleared", "Rejected", "Flagged"))
        return {"registered": on_chain, "flagged": self.flagged, "flagged_rate": ratio(self.flagged, on_chain),
                "cleared": cleared, "cleared_rate": ratio(cleared, self.flagged), "rejected": rejected,
                "rejected_rate": ratio(rejected, self.flagged), "waiting": waiting,
                "waiting_rate": ratio(waiting, self.flagged)}


def bucket_series(period, days):
    """([{bucket, from, to, count, notes, net, tax, gross}], the period's Tally) of
    (day, what stands summed) rows, every bucket of the period present."""
    buckets = period.buckets()
    tallies = {key: Tally() for key, _, _ in buckets}
    total_ = Tally()
    for day, *sums in days:
        tallies[period.key(day)].add_sums(*sums)
        total_.add_sums(*sums)
    return [{"bucket": key, "from": first.isoformat(), "to": last.isoformat(), **tallies[key].as_dict()}
            for key, first, last in buckets], total_


def _figure_statements(t, by_seller):
    c = t.c
    where = c.seller_address == bindparam("seller") if by_seller else true()
    span = (c.day >= bindparam("start"), c.day <= bindparam("end"))
    return (select(c.day, *standing_sums(c)).where(where, *span).group_by(c.day),
            select(*standing_sums(c)).where(where, *span),
            select(c.status, c.red_letter, c.flagged, total(c.n), total(c.gross)).where(where, *span)
            .group_by(c.status, c.red_letter, c.flagged))


def period_figures(t, period, seller=None):
    """(series, this period's Tally, the previous period's, the Mix of this one) of the
    pre-aggregated table ``t`` (day, status, red_letter, flagged, n, net, tax, gross; a
    seller's rows when ``seller`` is given): what stands summed by day in SQL, a few hundred
    rows at most."""
    by_day, overall, by_kind = statement(("figures", t.name, seller is not None),
                                         lambda: _figure_statements(t, seller is not None))
    session, prev = get_db(), period.previous()
    span = {"seller": seller, "start": period.start.isoformat(), "end": period.end.isoformat()}
    series, cur = bucket_series(period, session.execute(by_day, span).all())
    before = Tally()
    before.add_sums(*session.execute(overall, {**span, "start": prev.start.isoformat(),
                                               "end": prev.end.isoformat()}).one())
    mix = Mix()
    for status, red, flagged, n, gross in session.execute(by_kind, span):
        mix.add(status, red, flagged, n, gross)
    return series, cur, before, mix


def whole_months(period):
    """(first, last) months ("YYYY-MM") wholly inside the period, or None; and the day
    ranges of the period outside them."""
    first = period.start if period.start.day == 1 else (period.start.replace(day=28) + timedelta(days=4)).replace(
        day=1)
    after_end = period.end + timedelta(days=1)
    last = period.end if after_end.day == 1 else period.end.replace(day=1) - timedelta(days=1)
    if first > last:
        return None, [(period.start, period.end)]
    edges = []
    if period.start < first:
        edges.append((period.start, first - timedelta(days=1)))
    if last < period.end:
        edges.append((last + timedelta(days=1), period.end))
    return (first.strftime("%Y-%m"), last.strftime("%Y-%m")), edges



# ---------------------------------------------------------------- merchant
def merchant_of(user, tax_id=None):
    """(name, tax ID, address) of the merchant whose dashboard ``user`` asks for: a merchant's
    own (``tax_id`` its own or empty); the authority's: the merchant of ``tax_id``."""
    if user.role == "merchant":
        m = user.merchant
        if tax_id and (m is None or tax_id.upper() != m.tax_id):
            raise Refused("forbidden", _("A merchant sees only its own figures."), 403)
        if not user.address:
            raise Refused("no_signing_key", _("This account has no chain address."), 403)
        return {"name": m.name if m else user.username, "tax_id": m.tax_id if m else None, "address": user.address}
    if user.role != "authority":
        raise Refused("forbidden", _("Only the merchant and the tax authority see a merchant's dashboard."), 403)
    if not tax_id:
        raise ValidationError({"merchant": _("the merchant's tax ID is required")},
                              _("Say which merchant: its tax ID."))
    found = (get_db().query(Merchant).join(User).filter(Merchant.tax_id == tax_id.upper(), User.address.isnot(None))
             .order_by(case((Merchant.status.in_(("approved", "suspended")), 0), else_=1), Merchant.id).first())
    if found is None:
        raise Refused("not_found", _("There is no merchant with tax ID %(tax_id)s.", tax_id=tax_id), 404)
    return {"name": found.name, "tax_id": found.tax_id, "address": found.user.address}


def merchant_dashboard(user, period, tax_id=None):
    """A merchant's figures over ``period`` (and the previous one for the comparison)."""
    from .analytics_platform import merchant_receivables
    who = merchant_of(user, tax_id)
    refresh()
    address = who["address"]
    series, cur, before, mix = period_figures(AnalyticsSellerDay.__table__, period, seller=address)
    return {"role": "merchant", "merchant": who, **period.as_dict(), "totals": cur.as_dict(),
            "comparison": comparison(cur, before), "series": series, "by_rate": _by_rate(address, period),
            "top_buyers": _top_buyers(address, period), "status_mix": mix.status_mix(), "ratios": mix.ratios(),
            "receivables": merchant_receivables(address, period)}


def _by_rate(address, period):
    def build():
        c = AnalyticsRateDay.__table__.c
        return (select(c.rate, total(c.n), total(c.net), total(c.tax), total(c.gross))
                .where(c.seller_address == bindparam("seller"), c.day >= bindparam("start"),
                       c.day <= bindparam("end")).group_by(c.rate).order_by(c.rate))

    rows = get_db().execute(statement("by_rate", build), {"seller": address, "start": period.start.isoformat(),
                                                          "end": period.end.isoformat()}).all()
    whole = sum(int(r[4]) for r in rows)
    return [{"rate": rate, "count": int(n), "net": int(net), "tax": int(tax), "gross": int(gross),
             "share": ratio(int(gross), whole)} for rate, n, net, tax, gross in rows]


def _buyer_statements():
    b = AnalyticsBuyerMonth.__table__.c
    months = (select(b.buyer_tax_id, total(b.n), total(b.gross))
              .where(b.seller_address == bindparam("seller"), b.month >= bindparam("start"),
                     b.month <= bindparam("end")).group_by(b.buyer_tax_id))
    counted, signed = standing_sql()
    i = Invoice.__table__.c
    days = (select(i.buyer_tax_id, total(counted), total(signed))
            .where(i.seller_address == bindparam("seller"), i.issue_date >= bindparam("start"),
                   i.issue_date <= bindparam("end")).group_by(i.buyer_tax_id))
    name = (select(i.buyer_name).where(i.seller_address == bindparam("seller"), i.buyer_tax_id == bindparam("buyer"))
            .order_by(i.issue_date.desc(), i.id.desc()).limit(1))
    return months, days, name


def _top_buyers(address, period):
    """The buyers with the most standing gross in the period: whole months from
    analytics_buyer_month, the days around them from the invoices (through the index
    ix_invoices_seller_day_buyer only); their names from their latest invoice."""
    by_month, by_day, name = statement("buyers", _buyer_statements)
    months, edges = whole_months(period)
    queries = [(by_month, months)] if months else []
    queries += [(by_day, (first.isoformat(), last.isoformat())) for first, last in edges]
    sums = defaultdict(lambda: [0, 0])
    for q, (start, end) in queries:
        for tax_id, n, gross in get_db().execute(q, {"seller": address, "start": start, "end": end}):
            sums[tax_id][0] += int(n)
            sums[tax_id][1] += int(gross)
    rows = sorted(((t, n, g) for t, (n, g) in sums.items() if n > 0), key=lambda r: (-r[2], r[0]))[:TOP_BUYERS]
    names = {t: get_db().execute(name, {"seller": address, "buyer": t}).scalar() for t, _, _ in rows}
    whole = sum(g for _, _, g in rows)
    return [{"tax_id": tax_id, "name": names.get(tax_id) or "", "count": n, "gross": g, "share": ratio(g, whole)}
            for tax_id, n, g in rows]
