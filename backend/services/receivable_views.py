"""Receivables as people see them: who may see one (its parties and the parties of its
lineage; authority and auditors), the answer's shape with names, lineage and timeline, the
actions the caller may take now (so no page offers a button the ledger would refuse for its
state or the caller's part), lists by the caller's part, and a financier's portfolio."""
import json
from collections import defaultdict

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_

from ..chain import get_chain
from ..chain.client import LEDGER
from ..core import canonical
from ..core.db import get_db
from ..core.i18n import Translated
from ..core.models import ChainEvent, Invoice, Receivable, User
from .errors import Refused

OVERSEERS = ("authority", "auditor")
LIVE = ("created", "accepted", "offered", "pledged", "overdue", "defaulted", "held")


# words of the statuses and of the timeline's events (translated when read)
STATUS_LABELS = Translated({
    "none": _l("Not on the ledger"), "created": _l("Awaiting acceptance"), "accepted": _l("Accepted"),
    "pledged": _l("Pledged"), "split": _l("Split into parts"), "settled": _l("Settled"),
    "cancelled": _l("Cancelled"), "declined": _l("Declined"), "held": _l("Frozen"),
    "offered": _l("Offered for financing"), "overdue": _l("Overdue"), "defaulted": _l("In default"),
})
EVENT_LABELS = Translated({
    "ReceivableCreated": _l("Receivable created"), "ReceivableAccepted": _l("Accepted by the debtor"),
    "ReceivableDeclined": _l("Declined by the debtor"), "ReceivableCancelled": _l("Cancelled by the holder"),
    "ReceivableTransferred": _l("Transferred"), "ReceivableSplit": _l("Split"),
    "PledgeOffered": _l("Offered as a pledge"), "PledgeDeclined": _l("The financier declined"),
    "PledgeWithdrawn": _l("Pledge offer withdrawn"), "ReceivableFinanced": _l("Financed"),
    "PledgeReleased": _l("Pledge released"), "ReceivableSettled": _l("Payment"),
    "FinancierRepaid": _l("Financier repaid"), "ReceivableOverdue": _l("Marked overdue"),
    "ReceivableDefaulted": _l("Declared in default"), "ReceivableHeld": _l("Frozen by the authority"),
    "ReceivableHoldLifted": _l("Hold lifted"),
})


def status_label(status):
    """A receivable status in words, in the current language ('accepted' → '已确认' / 'Accepted')."""
    return STATUS_LABELS.get(status, status)


def _participants(root_id):
    """Every address that is or was a party of a receivable of the lineage ``root_id``
    (a financier that declined or released one too: its timeline names it)."""
    rows = get_db().query(Receivable).filter_by(root_id=root_id).all()
    parties = {a for r in rows for a in (r.creditor, r.holder, r.debtor, r.financier) if a}
    offers = (get_db().query(ChainEvent.args).filter(ChainEvent.receivable_id.in_([r.id for r in rows]),
                                                     ChainEvent.event == "PledgeOffered").all())
    return parties | {json.loads(args).get("financier") for (args,) in offers}


def can_see(user, row):
    if user.role in OVERSEERS:
        return True
    return bool(user.address) and user.address in _participants(row.root_id)


def find_visible(user, rid):
    """The row of receivable ``rid`` for ``user``: 404 unknown (or not a decimal id), 403 not theirs."""
    row = get_db().get(Receivable, str(rid)) if str(rid).isdigit() and len(str(rid)) <= 78 else None
    if row is None:
        raise Refused("ReceivableNotFound", _("There is no receivable %(id)s.", id=rid), 404)
    if not can_see(user, row):
        raise Refused("forbidden", _("You are not a party of this receivable."), 403)
    return row


def visible_row(user, rid, timeline=True):
    return as_dict(find_visible(user, rid), user, timeline=timeline)


def names_of(addresses):
    """{address: the merchant's name, else the username} for the addresses known here."""
    addresses = [a for a in set(addresses) if a]
    if not addresses:
        return {}
    users = get_db().query(User).filter(User.address.in_(addresses)).all()
    return {u.address: (u.merchant.name if u.merchant is not None else u.username) for u in users}


class Clock:
    """The chain's time and the ledger's grace and default periods, read once per answer."""

    def __init__(self):
        chain = get_chain()
        self.now = int(chain.w3.eth.get_block("latest")["timestamp"])
        self.grace, self.default = chain.call(LEDGER, "maturityTimes")


def actions_for(user, row, clock=None):
    """What ``user`` may do to ``row`` now, by the ledger's rules (action names of the API)."""
    a, s = user.address, row.status
    if not a:
        return []
    holder, debtor, financier = a == row.holder, a == row.debtor, a == row.financier
    out = []
    if s == "created":
        out += (["accept", "decline"] if debtor else []) + (["cancel"] if holder else [])
    if s in ("accepted", "offered", "pledged", "overdue", "defaulted") and debtor:
        out.append("settle")
    if s == "accepted" and holder:
        out += ["transfer", "split", "pledge"]
    if s == "offered":
        out += (["withdraw-pledge"] if holder else []) + (["finance", "decline-pledge"] if financier else [])
    if s == "pledged" and financier:
        out.append("release")
    if s in ("accepted", "pledged") and (holder or (financier and s == "pledged")):
        clock = clock or Clock()
        if clock.now > row.due_at + clock.grace:
            out.append("mark-overdue")
    if s == "overdue" and (holder or financier or user.role == "authority"):
        clock = clock or Clock()
        if user.role == "authority" or clock.now > row.due_at + clock.grace + clock.default:
            out.append("mark-defaulted")
    return out


def children_of(rid):
    return [r.id for r in get_db().query(Receivable).filter_by(parent_id=rid).all()]


def invoice_numbers(keys):
    keys = [k for k in set(keys) if k]
    if not keys:
        return {}
    return dict(get_db().query(Invoice.key, Invoice.number).filter(Invoice.key.in_(keys)).all())


def as_dict(row, user, *, timeline=True, names=None, numbers=None, clock=None):
    names = names if names is not None else names_of([row.holder, row.debtor, row.creditor, row.financier])
    numbers = numbers if numbers is not None else invoice_numbers([row.invoice_key])
    owed = int(row.advance) + int(row.fee) - int(row.repaid) if row.financier else 0
    out = {"id": row.id, "invoice_number": numbers.get(row.invoice_key), "status": row.status,
           "status_label": status_label(row.status), "amount": int(row.amount),
           "paid": int(row.paid), "outstanding": int(row.amount) - int(row.paid) if row.status in LIVE else 0,
           "holder": row.holder, "holder_name": names.get(row.holder), "debtor": row.debtor,
           "debtor_name": names.get(row.debtor), "creditor": row.creditor, "creditor_name": names.get(row.creditor),
           "financier": row.financier, "financier_name": names.get(row.financier), "advance": int(row.advance),
           "fee": int(row.fee), "repaid": int(row.repaid), "owed_to_financier": max(owed, 0),
           "due_date": canonical.china_date(row.due_at), "due_at": row.due_at, "parent": row.parent_id,
           "root": row.root_id, "children": children_of(row.id), "actions": actions_for(user, row, clock)}
    if timeline:
        out["timeline"] = timeline_of(row)
    return out


def timeline_of(row):
    """The ledger's events about ``row`` (a split of it: one entry per part), oldest first,
    each with what it did in words (``detail``: amounts in yuan, parties by name)."""
    children = children_of(row.id)
    events = (get_db().query(ChainEvent)
              .filter(or_(ChainEvent.receivable_id == row.id,
                          (ChainEvent.receivable_id.in_(children)) & (ChainEvent.event == "ReceivableSplit")))
              .order_by(ChainEvent.block_number, ChainEvent.log_index).all())
    entries = [(ev, json.loads(ev.args)) for ev in events]
    names = names_of([a for _, args in entries for k in ("to", "holder", "financier") if (a := args.get(k))])
    return [{"event": ev.event, "label": EVENT_LABELS.get(ev.event, ev.event), "detail": _detail(ev.event, args, names),
             "block": ev.block_number, "time": ev.block_time, "tx_hash": ev.tx_hash, "args": args}
            for ev, args in entries]


def _detail(event, args, names):
    """One timeline entry in words (amounts in yuan, parties by name), in the current language."""
    def y(key):
        return canonical.yuan(int(args.get(key) or 0))

    def who(key):
        return names.get(args.get(key)) or args.get(key) or ""

    if event == "ReceivableCreated":
        return _("Face value %(amount)s", amount=y("amount"))
    if event == "ReceivableTransferred":
        return _("To %(party)s", party=who("to"))
    if event == "ReceivableSplit":
        return _("Part #%(part)s · %(amount)s · held by %(holder)s", part=args.get("childId"), amount=y("amount"),
                 holder=who("holder"))
    if event in ("PledgeOffered", "PledgeDeclined", "PledgeWithdrawn"):
        return _("Financier: %(financier)s", financier=who("financier"))
    if event == "ReceivableFinanced":
        return _("Advance %(advance)s · fee %(fee)s", advance=y("advance"), fee=y("fee"))
    if event == "ReceivableSettled":
        return _("Paid %(amount)s (%(financier)s of it to the financier) · outstanding %(outstanding)s",
                 amount=y("amount"), financier=y("toFinancier"), outstanding=y("outstanding"))
    if event == "FinancierRepaid":
        return _("%(amount)s · still owed %(owed)s", amount=y("amount"), owed=y("owed"))
    if event == "ReceivableDefaulted":
        return _("Outstanding %(outstanding)s", outstanding=y("outstanding"))
    return ""


def lineage(row):
    """The receivable's family as a tree from its root: {"row", "parts": [subtrees]}."""
    rows = get_db().query(Receivable).filter_by(root_id=row.root_id).all()
    by_parent = defaultdict(list)
    for r in rows:
        by_parent[r.parent_id].append(r)
    names = names_of([a for r in rows for a in (r.holder, r.financier)])

    def tree(r):
        return {"row": r, "holder_name": names.get(r.holder), "financier_name": names.get(r.financier),
                "parts": [tree(c) for c in sorted(by_parent[r.id], key=lambda c: int(c.id))]}

    roots = [r for r in rows if r.id == row.root_id]
    return tree(roots[0]) if roots else None


ROLE_COLUMNS = {"holder": Receivable.holder, "debtor": Receivable.debtor, "financier": Receivable.financier,
                "creditor": Receivable.creditor}


def listing(user, role=None, status=None, limit=500):
    """The caller's receivables (by its part in them), soonest due first; every one for overseers."""
    q = get_db().query(Receivable)
    if role:
        q = q.filter(ROLE_COLUMNS[role] == (user.address or "-"))
    elif user.role not in OVERSEERS:
        a = user.address or "-"
        q = q.filter(or_(*(c == a for c in ROLE_COLUMNS.values())))
    if status:
        q = q.filter(Receivable.status == status)
    rows = q.order_by(Receivable.due_at, Receivable.id).limit(limit).all()
    names = names_of([a for r in rows for a in (r.holder, r.debtor, r.creditor, r.financier)])
    numbers = invoice_numbers([r.invoice_key for r in rows])
    clock = Clock() if rows else None
    return [as_dict(r, user, timeline=False, names=names, numbers=numbers, clock=clock) for r in rows]


def drawn_on_invoice(invoice_key):
    """The receivables drawn on one invoice (its page lists them)."""
    return get_db().query(Receivable).filter_by(invoice_key=invoice_key).order_by(Receivable.id).all()


def portfolio(user):
    """A financier's book: exposure (owed to it) by debtor, a maturity ladder by month, the
    overdue list and the offers waiting for it."""
    rows = get_db().query(Receivable).filter(Receivable.financier == (user.address or "-")).all()
    financed = [r for r in rows if r.status in ("pledged", "overdue", "defaulted")]
    names = names_of([r.debtor for r in rows])
    exposure = defaultdict(int)
    ladder = defaultdict(int)
    for r in financed:
        owed = int(r.advance) + int(r.fee) - int(r.repaid)
        exposure[r.debtor] += owed
        ladder[canonical.china_date(r.due_at)[:7]] += owed
    return {"offers": [r for r in rows if r.status == "offered"], "financed": financed,
            "overdue": [r for r in financed if r.status in ("overdue", "defaulted")],
            "exposure": sorted(((names.get(d, d), v) for d, v in exposure.items()), key=lambda x: -x[1]),
            "ladder": sorted(ladder.items()), "names": names}


def on_invoice(invoice_key):
    """The receivables drawn on one invoice as the invoice's page lists them (no actions, so
    no chain read): id, status, amounts, holder's name, due date, parent."""
    rows = drawn_on_invoice(invoice_key)
    names = names_of([r.holder for r in rows])
    return [{"id": r.id, "status": r.status, "status_label": status_label(r.status),
             "amount": int(r.amount), "paid": int(r.paid), "holder": r.holder, "holder_name": names.get(r.holder),
             "due_date": canonical.china_date(r.due_at), "parent": r.parent_id} for r in rows]
