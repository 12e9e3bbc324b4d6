"""Payment lists (待支付清单) of approved expense claims: the approver collects approved claims
into a list whose hash and total are registered on the ExpenseClaims contract by the
company's buyer account, then marks it paid (the payment reference's hash on chain); the
list's claims become paid. See services.claims for the claims themselves."""
import json

from eth_utils import keccak
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from ..chain import get_chain
from ..chain.errors import ChainRefusal
from ..core.db import get_db
from ..core.models import ExpenseClaim, PaymentList, utcnow
from ..schemas import claims as models
from ..schemas.common import ID_MAX
from .claims import CLAIMS, approver_company, company_account, iso_time
from .errors import Refused
from .transactions import transact_as
from .validation import validated

LIST_LABELS = {"registering": _l("Registering"), "registered": _l("Waiting for payment"), "paid": _l("Paid")}


def create(user, body):
    """Collect approved claims not yet in a list (all, or ``claim_ids``), register the list's
    hash and total on chain. The claims are reserved for the list first (a conditional
    update, committed), so two approvers cannot put one claim in two lists; a refusal by the
    chain gives them back."""
    company = approver_company(user)
    req = validated(models.PaymentListRequest, body)
    session = get_db()
    found = session.query(ExpenseClaim).filter_by(company_tax_id=company, status="approved", payment_list_id=None)
    if req.claim_ids is not None:
        found = found.filter(ExpenseClaim.id.in_(req.claim_ids))
    claims = found.order_by(ExpenseClaim.id).all()
    if req.claim_ids is not None and len(claims) != len(set(req.claim_ids)):
        missing = sorted(set(req.claim_ids) - {c.id for c in claims})
        raise Refused("claims_not_payable", _("Claims %(ids)s are not approved claims of this company outside a "
                                              "payment list.", ids=", ".join(str(m) for m in missing)), 409)
    if not claims:
        raise Refused("no_approved_claims", _("There are no approved claims to pay."), 409)
    account = company_account(company)
    document = {"type": "expense-payment-list", "company_tax_id": company, "created_at": utcnow().isoformat() + "Z",
                "created_by": user.username, "currency": "CNY", "unit": "fen",
                "claims": [{"id": c.id, "invoice_number": c.invoice_number, "employee": c.employee.username,
                            "category": c.category, "amount": int(c.amount)} for c in claims]}
    document["total"] = sum(c["amount"] for c in document["claims"])
    document["count"] = len(claims)
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    list_hash = keccak(text.encode())
    plist = PaymentList(company_tax_id=company, list_hash="0x" + list_hash.hex(), document=text,
                        total=document["total"], claim_count=len(claims), status="registering", created_by=user.id)
    session.add(plist)
    session.flush()
    taken = session.execute(update(ExpenseClaim).where(ExpenseClaim.id.in_([c.id for c in claims]),
                                                       ExpenseClaim.payment_list_id.is_(None))
                            .values(payment_list_id=plist.id)).rowcount
    if taken != len(claims):
        session.rollback()
        raise Refused("claims_taken", _("Some of the claims were just put in another payment list: try again."), 409)
    session.commit()
    try:
        result = transact_as(account, CLAIMS, "registerPaymentList", list_hash, int(plist.total), plist.claim_count,
                             ref=f"payment-list:{plist.id}")
    except Exception:
        session.execute(update(ExpenseClaim).where(ExpenseClaim.payment_list_id == plist.id)
                        .values(payment_list_id=None))
        session.delete(plist)
        session.commit()
        raise
    plist.status, plist.register_tx = "registered", result.tx_hash
    session.commit()
    return list_dict(plist)


def find(user, list_id):
    company = approver_company(user)
    plist = get_db().get(PaymentList, list_id) if 0 < list_id <= ID_MAX else None  # INTEGER ids
    if plist is None or plist.company_tax_id != company:
        raise Refused("not_found", _("There is no payment list %(id)s.", id=list_id), 404)
    return plist


def mark_paid(user, list_id, body):
    """Finance paid the list (e.g. by one bank transfer): the reference's hash on chain; its
    claims become paid."""
    plist = find(user, list_id)
    req = validated(models.PaidRequest, body)
    if plist.status != "registered":
        raise Refused("PaymentListAlreadyPaid" if plist.status == "paid" else "payment_list_registering",
                      _("Payment list %(id)s is %(status)s: it cannot be marked paid.", id=plist.id,
                        status=LIST_LABELS[plist.status]), 409)
    account = company_account(plist.company_tax_id)
    result = transact_as(account, CLAIMS, "markPaid", bytes.fromhex(plist.list_hash[2:]),
                         keccak(text=req.payment_ref), ref=f"payment-list:{plist.id}")
    session = get_db()
    plist.status, plist.payment_ref, plist.paid_at, plist.pay_tx = "paid", req.payment_ref, utcnow(), result.tx_hash
    session.execute(update(ExpenseClaim).where(ExpenseClaim.payment_list_id == plist.id).values(status="paid"))
    session.commit()
    return list_dict(plist)


def list_dict(plist, with_chain=True):
    """The list as the API gives it; ``on_chain``: the contract's record (None when not
    registered, or not read: ``with_chain=False``)."""
    on_chain = None
    try:
        record = get_chain().call_named(CLAIMS, "paymentListOf", bytes.fromhex(plist.list_hash[2:])) \
            if with_chain else None
        if record and int(record["payer"], 16):
            on_chain = {"payer": record["payer"], "total": int(record["total"]), "claimCount": record["claimCount"],
                        "registeredAt": record["registeredAt"], "paidAt": record["paidAt"],
                        "paymentRef": "0x" + bytes(record["paymentRef"]).hex()}
    except ChainRefusal:
        pass
    return {"id": plist.id, "list_hash": plist.list_hash, "total": int(plist.total), "claim_count": plist.claim_count,
            "status": plist.status, "status_label": str(LIST_LABELS[plist.status]), "created_by": plist.creator.username,
            "created_at": iso_time(plist.created_at), "register_tx": plist.register_tx, "payment_ref": plist.payment_ref,
            "paid_at": iso_time(plist.paid_at), "pay_tx": plist.pay_tx, "document": json.loads(plist.document),
            "on_chain": on_chain}


def listing(user, with_chain=True):
    company = approver_company(user)
    rows = get_db().query(PaymentList).filter_by(company_tax_id=company).order_by(PaymentList.id.desc()).limit(200)
    return [list_dict(p, with_chain) for p in rows]
