"""What needs a user's attention, by role (the home page, issue 14): counts of the things
waiting for them, each a COUNT over indexed columns (no rows loaded), so the home page stays
cheap however large the tables grow. The words and links are the web layer's (web.home)."""
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select

from ..core import canonical
from ..core.db import get_db
from ..core.models import Alert, ExpenseClaim, Invoice, Merchant, PaymentList, Receivable
from . import inbox, merchants
from .analytics_platform import backlog, chain_now
from .errors import Refused

WEEK = 7 * 86400  # seconds: "this week" is the next seven days on the chain's clock
NEW_DAYS = 7  # a buyer's "new" invoices: issued in the last seven days (China dates)
PAYABLE = ("accepted", "offered", "pledged", "overdue", "defaulted")  # owed by the debtor, as web.receivables


def item(key, count, **extra):
    """One thing to look at: ``key`` names it (web.home has its words and link), ``count`` how many."""
    return {"key": key, "count": int(count or 0), **extra}


def _count(model, *conditions):
    return get_db().execute(select(func.count()).select_from(model).where(*conditions)).scalar_one()


def _china_today(now=None):
    return datetime.fromtimestamp(now if now is not None else datetime.now().timestamp(), canonical.CHINA).date()


# ---------------------------------------------------------------- merchant
def _own_invoices(user):
    """The merchant's invoices, as its invoice list filters them (services.invoices.search)."""
    return or_(Invoice.user_id == user.id, Invoice.seller_address == (user.address or "-"))


def _this_month(user, today):
    """This China month's invoices of the merchant (issued on chain, red-letter notes left
    out: the quota counts what was issued): how many, their gross, and the monthly quota."""
    first = today.replace(day=1).isoformat()
    # by seller address alone (an issued invoice always has it): a range of the covering index
    # ix_invoices_seller_day_buyer, where the OR of _own_invoices would read every issued invoice
    count, gross = get_db().execute(
        select(func.count(), func.coalesce(func.sum(Invoice.gross), 0)).where(
            Invoice.seller_address == user.address, Invoice.issue_date.between(first, today.isoformat()),
            Invoice.state == "issued", Invoice.is_red_letter.is_(False))).one()
    limits = merchants.limits_of(user.address)  # None: the chain cannot be read
    quota = limits["monthly_quota"] if limits else None
    return item("month", count, gross=int(gross), quota=quota, month=first[:7],
                used_percent=round(100 * int(gross) / quota) if quota else None)


def for_merchant(user, now=None):
    profile = user.merchant
    if profile is None or profile.status != "approved" or not user.address:
        return [item("registration", 0, status=profile.status if profile else None)]
    by_state = dict(get_db().execute(select(Invoice.state, func.count()).where(
        _own_invoices(user), Invoice.state.in_(("pending", "failed"))).group_by(Invoice.state)).all())
    flagged = _count(Invoice, _own_invoices(user), Invoice.chain_status == "Flagged")
    address = user.address or "-"
    held = dict(get_db().execute(select(Receivable.status, func.count()).where(
        Receivable.holder == address, Receivable.status.in_(("created", "accepted", "offered")))
        .group_by(Receivable.status)).all())
    return [item("failed", by_state.get("failed")), item("pending", by_state.get("pending")),
            item("flagged_own", flagged), item("receivables_created", held.get("created")),
            item("receivables_accepted", held.get("accepted")), item("receivables_offered", held.get("offered")),
            _this_month(user, _china_today(now))]


# ---------------------------------------------------------------- authority and auditors
def _review_backlog():
    b = backlog()
    return item("review_backlog", b["count"], gross=b["gross"], oldest_days=b["oldest_days"])


def for_authority(user, now=None):
    return [item("applications", _count(Merchant, Merchant.status == "pending")), _review_backlog(),
            item("alerts_open", _count(Alert, Alert.status == "open")),
            item("alerts_high", _count(Alert, Alert.status == "open", Alert.severity == "high"))]


def for_auditor(user, now=None):
    mine = dict(get_db().execute(select(Alert.status, func.count()).where(
        Alert.assignee_id == user.id, Alert.status != "resolved").group_by(Alert.status)).all())
    return [_review_backlog(), item("alerts_mine_open", mine.get("open")),
            item("alerts_mine_acknowledged", mine.get("acknowledged")),
            item("alerts_open", _count(Alert, Alert.status == "open"))]


# ---------------------------------------------------------------- financier and buyer
def for_financier(user, now=None):
    """One pass over the financier's receivables (its index), counted by status and due date."""
    now = now if now is not None else chain_now()  # the ledger counts maturities by the chain's clock
    due = Receivable.due_at
    rows = get_db().execute(select(
        Receivable.status, func.count(), func.sum(case((and_(due >= now, due < now + WEEK), 1), else_=0)),
        func.sum(case((due < now, 1), else_=0)))
        .where(Receivable.financier == (user.address or "-"),
               Receivable.status.in_(("offered", "pledged", "overdue", "defaulted")))
        .group_by(Receivable.status)).all()
    by_status = {status: (n, week, past) for status, n, week, past in rows}
    pledged = by_status.get("pledged", (0, 0, 0))
    return [item("offers", by_status.get("offered", (0,))[0]), item("maturing_week", pledged[1]),
            item("past_due", pledged[2]),
            item("overdue", sum(by_status.get(s, (0,))[0] for s in ("overdue", "defaulted")))]


def for_buyer(user, now=None):
    since = (_china_today(now) - timedelta(days=NEW_DAYS - 1)).isoformat()
    try:
        new = inbox.own(user).filter(Invoice.issue_date >= since).order_by(None).count()
    except Refused:  # no buyer tax ID linked: the inbox page says so
        new = 0
    now = now if now is not None else chain_now()
    mine = Receivable.debtor == (user.address or "-")
    return [item("new_invoices", new, since=since),
            item("to_accept", _count(Receivable, mine, Receivable.status == "created")),
            item("payables_week", _count(Receivable, mine, Receivable.status.in_(PAYABLE),
                                         Receivable.due_at < now + WEEK))]


# ---------------------------------------------------------------- the buyer company's staff
def for_employee(user, now=None):
    mine = dict(get_db().execute(select(ExpenseClaim.status, func.count()).where(
        ExpenseClaim.employee_id == user.id, ExpenseClaim.status.in_(("submitted", "rejected", "approved")))
        .group_by(ExpenseClaim.status)).all())
    return [item("claims_submitted", mine.get("submitted")), item("claims_approved", mine.get("approved")),
            item("claims_rejected", mine.get("rejected"))]


def for_approver(user, now=None):
    company = (user.buyer_tax_id or "-").upper()
    claims = ExpenseClaim.company_tax_id == company
    return [item("claims_to_approve", _count(ExpenseClaim, claims, ExpenseClaim.status == "submitted")),
            item("claims_to_list", _count(ExpenseClaim, claims, ExpenseClaim.status == "approved",
                                          ExpenseClaim.payment_list_id.is_(None))),
            item("lists_to_pay", _count(PaymentList, PaymentList.company_tax_id == company,
                                        PaymentList.status == "registered"))]


BY_ROLE = {"merchant": for_merchant, "authority": for_authority, "auditor": for_auditor,
           "financier": for_financier, "buyer": for_buyer, "employee": for_employee, "approver": for_approver}


def for_user(user, now=None):
    """[item] of what waits for ``user`` (``now``: unix seconds, for tests); [] for a role without any."""
    found = BY_ROLE.get(user.role)
    return found(user, now) if found else []
