"""Expense claims (报销) in the buyer company, after seed 002 (极简报销): an employee submits
an invoice (four elements, JSON document or PDF), verified on chain at once (authentic, this
company's, not voided, flagged, rejected or red-lettered, not claimed before); finance
approves and the company's buyer account marks it claimed on the ExpenseClaims contract (no
platform can reimburse it again); approved claims go into payment lists registered on chain.

The company is the buyer's tax ID (users.buyer_tax_id of employees and approvers); its chain
account is the buyer user the authority linked to that tax ID on the receivable ledger."""
import json

from eth_utils import keccak
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError

from ..chain import get_chain
from ..chain.client import REGISTRY
from ..chain.errors import INVOICE_STATUS, ChainRefusal, human_message
from ..core import buyer_privacy, canonical
from ..core.db import get_db
from ..core.models import ExpenseClaim, User, utcnow
from ..schemas import claims as models
from ..schemas.common import ID_MAX
from ..schemas.tax_ids import taxpayer_id_problem
from ..schemas.verification import RESULTS as VERIFY_RESULTS
from . import invoice_pdf
from .errors import Refused, ValidationError
from .invoices import find as find_invoice
from .invoices import held_buyer
from .json_input import load_json
from .transactions import transact_as
from .validation import validated
from .claim_checks import check_detail, shown_checks, shown_verification
from .verification import VERIFY_DETAIL, VERIFY_LABELS, _yyyymmdd

CLAIMS = "ExpenseClaims"
REIMBURSABLE = ("authentic", "partly_red_lettered")
STATUS_LABELS = {"submitted": _l("Waiting for approval"), "approved": _l("Approved"), "rejected": _l("Rejected"),
                 "paid": _l("Paid")}


# ------------------------------------------------------------------------ who
def company_of(user):
    """The tax ID of ``user``'s company (403 when the account belongs to none)."""
    if user.role not in ("employee", "approver") or not user.buyer_tax_id:
        raise Refused("no_company", _("This account belongs to no buyer company: it has no expense claims."), 403)
    return user.buyer_tax_id.upper()


def company_account(tax_id):
    """The company's buyer user: the account that signs its claims and payment lists on chain."""
    account = get_db().query(User).filter(User.role == "buyer", User.buyer_tax_id == tax_id,
                                          User.address.isnot(None), User.active.is_(True)).first()
    if account is None:
        raise Refused("no_company_account", _("The company %(tax_id)s has no buyer account on chain: the tax "
                                              "authority links one first.", tax_id=tax_id), 409)
    return account


def approver_company(user):
    if user.role != "approver":
        raise Refused("forbidden", _("Only the company's approver (finance) may do this."), 403)
    return company_of(user)


# ------------------------------------------------------------------------ verification on chain
def _claim_ref(company, claim_id):
    """The claim's reference on chain: whose claim it is, without saying who in the clear."""
    return keccak(text=f"einvoice-expense-claim:{company}:{claim_id}")


def _already_claimed(key):
    """409 when the chain says the invoice is claimed (by anyone, on any platform)."""
    claimant, claimed_at, _ = get_chain().call(CLAIMS, "claimOf", key)
    if int(claimant, 16):
        args = {"claimedBy": claimant, "claimedAt": claimed_at}
        raise Refused("AlreadyClaimed", human_message("AlreadyClaimed", args), 409)


def _result_of(invoice):
    """verify's word for the registry's record of an invoice (its elements already matched)."""
    status = INVOICE_STATUS[invoice["status"]]
    if invoice["isRedLetter"]:
        return "red_letter_note"
    if status in ("Voided", "Flagged", "Rejected"):
        return status.lower()
    if status == "RedLettered":
        return "red_lettered"
    return "partly_red_lettered" if invoice["redLettered"] else "authentic"


def _check(checks, name, ok, about):
    """A check made; ``about``: a key of CHECK_DETAILS, or ``result:<verify result>``."""
    checks.append({"check": name, "ok": ok, "about": about, "detail": check_detail(about)})
    return ok


def _verification(result, checks):
    return {"result": result, "label": str(VERIFY_LABELS[result]), "detail": str(VERIFY_DETAIL[result]),
            "checks": checks}


def _refuse_unverified(code, message, result, checks, status=422):
    raise Refused(code, message, status, extra={"verification": shown_verification(_verification(result, checks))})


def _verify(key, number, result, checks):
    """The common checks once the invoice is found on chain: reimbursable and not claimed.
    Returns the registry's record."""
    invoice = get_chain().call_named(REGISTRY, "getInvoice", key)
    result = result or _result_of(invoice)
    if not _check(checks, "status", result in REIMBURSABLE, "result:" + result):
        _refuse_unverified("invoice_not_claimable", _("Invoice %(number)s cannot be reimbursed: %(detail)s",
                                                      number=number, detail=VERIFY_DETAIL[result]), result, checks)
    _already_claimed(key)
    _check(checks, "not_claimed", True, "not_claimed")
    return invoice, result


def _from_elements(company, req):
    """Four elements: verify on chain; the buyer proven by the document this platform holds."""
    number, checks = req.number, []
    key = bytes.fromhex(canonical.invoice_key(number)[2:])
    code = get_chain().call(REGISTRY, "verify", number, _yyyymmdd(req.issue_date), req.gross, req.check_code)
    result = VERIFY_RESULTS[code]
    if not _check(checks, "authentic", result not in ("not_found", "mismatch"), "result:" + result):
        _refuse_unverified("verification_failed", _("Invoice %(number)s failed verification: %(detail)s",
                                                    number=number, detail=VERIFY_DETAIL[result]), result, checks)
    invoice, result = _verify(key, number, result, checks)
    inv = find_invoice(number)
    held = held_buyer(inv) if inv is not None else None
    ours = held is not None and inv.buyer_tax_id.upper() == company
    if not _check(checks, "buyer", ours, "buyer_ok" if ours else "buyer_not"):
        if held is None:
            _refuse_unverified("buyer_unproven", _("The platform does not hold this invoice's document with its "
                                                   "buyer: upload its JSON document or PDF to prove the buyer."),
                               result, checks)
        _refuse_unverified("not_addressed_to_company", _not_ours(number, company), result, checks)
    salt, tag = held
    return {"number": number, "key": key, "issue_date": inv.issue_date, "gross": int(inv.gross),
            "seller_name": inv.seller_name, "seller_tax_id": inv.seller_tax_id, "salt": salt, "tag": tag,
            "invoice": invoice, "result": result, "checks": checks}


def _not_ours(number, company):
    return _("Invoice %(number)s is addressed to another buyer, not to this company (%(tax_id)s): it cannot be "
             "reimbursed.", number=number, tax_id=company)


def _from_document(company, doc):
    """A JSON document: its hash registered on chain, its buyer block opening the invoice's
    buyer commitment (verifyBuyer) and naming this company."""
    checks = []
    number = doc.get("number") if isinstance(doc, dict) else None
    if not isinstance(number, str) or not canonical_number(number):
        problem = _("This is not an invoice document (it has no 20-digit number).")
        raise ValidationError({"document": problem}, problem)
    _check_buyer_tax_id(doc)
    key = bytes.fromhex(canonical.invoice_key(number)[2:])
    chain = get_chain()
    try:
        dhash = canonical.document_hash(doc)
        chain.call(REGISTRY, "getInvoice", key)
    except TypeError:
        dhash = None
    except ChainRefusal:
        _check(checks, "authentic", False, "result:not_found")
        _refuse_unverified("verification_failed", _("Invoice %(number)s failed verification: %(detail)s",
                                                    number=number, detail=VERIFY_DETAIL["not_found"]),
                           "not_found", checks)
    authentic = dhash is not None and chain.call(REGISTRY, "verifyDocument", key, bytes.fromhex(dhash[2:]))
    if not _check(checks, "authentic", authentic, "doc_matches" if authentic else "doc_differs"):
        raise Refused("tampered", _("The document of invoice %(number)s differs from the one registered on chain "
                                    "(tampered): it cannot be reimbursed.", number=number), 422,
                      extra={"verification": {"result": "tampered", "label": str(VERIFY_LABELS["tampered"]),
                                              "detail": _("The document was altered."),
                                              "checks": shown_checks(checks)}})
    invoice, result = _verify(key, number, None, checks)
    buyer = doc.get("buyer") or {}
    tax_id = str(buyer.get("tax_id") or "").upper()
    try:
        salt, tag = buyer_privacy.document_buyer(doc)
        proven = chain.call(REGISTRY, "verifyBuyer", key, salt, tax_id, tag)
    except (ValueError, ChainRefusal):
        proven = False
    ours = bool(proven) and tax_id == company
    if not _check(checks, "buyer", ours, "buyer_ok" if ours else "buyer_not"):
        _refuse_unverified("not_addressed_to_company", _not_ours(number, company), result, checks)
    seller = doc.get("seller") or {}
    return {"number": number, "key": key, "issue_date": str(doc.get("issue_date") or "")[:10],
            "gross": int(invoice["gross"]), "seller_name": str(seller.get("name") or "")[:200],
            "seller_tax_id": str(seller.get("tax_id") or "")[:20], "salt": salt, "tag": tag, "invoice": invoice,
            "result": result, "checks": checks}


def _check_buyer_tax_id(doc):
    """400 when the document's buyer tax ID is malformed or its check character wrong: no
    invoice of the platform has one, and no company's ID could match it."""
    buyer = doc.get("buyer")
    tax_id = buyer.get("tax_id") if isinstance(buyer, dict) else None
    problem = taxpayer_id_problem(tax_id.strip().upper()) if isinstance(tax_id, str) else None
    if problem:
        problem = str(problem)  # the tax ID rules' words (maybe lazy)
        raise ValidationError({"document.buyer.tax_id": problem},
                              _("The buyer's tax ID in the invoice document is not valid: %(problem)s", problem=problem))


def canonical_number(number):
    return len(number) == 20 and number.isascii() and number.isdigit()


# ------------------------------------------------------------------------ the employee
def submit(user, body):
    """A claim from JSON: the four elements or the document. 201 with the verification."""
    company = company_of(user)
    if user.role != "employee":
        raise Refused("forbidden", _("Only employees submit expense claims."), 403)
    req = validated(models.ClaimRequest, body)
    found = _from_document(company, req.document) if req.document is not None else _from_elements(company, req)
    return _record(user, company, found, "document" if req.document is not None else "elements", req.category,
                   req.purpose or "")


def submit_file(user, data, form):
    """A claim from an uploaded file: the invoice's JSON document, or its PDF (the JSON
    document attached inside, else the QR code's four elements)."""
    company = company_of(user)
    if user.role != "employee":
        raise Refused("forbidden", _("Only employees submit expense claims."), 403)
    fields = validated(models.UploadFields, {k: v for k, v in form.items() if k in ("category", "purpose")})
    if not data:
        raise ValidationError({"file": _("choose the invoice's JSON document or PDF")},
                              _("Choose the invoice's JSON document or PDF."))
    if data[:5] == b"%PDF-":
        doc, elements = invoice_pdf.read_pdf(data)
        if doc is not None:
            found, source = _from_document(company, doc), "pdf"
        else:
            found, source = _from_elements(company, validated(models.ClaimRequest, elements)), "pdf"
    else:
        doc = load_json(data, "file", decimals=False)
        if not isinstance(doc, dict):
            raise ValidationError({"file": _("not an invoice document")}, _("This is not an invoice document."))
        found, source = _from_document(company, doc), "document"
    return _record(user, company, found, source, fields.category, fields.purpose or "")


def _record(user, company, found, source, category, purpose):
    """The claim row; 409 when this invoice already has a live claim on this platform."""
    session = get_db()
    key_hex = "0x" + found["key"].hex()
    live = session.query(ExpenseClaim).filter_by(live_key=key_hex).first()
    if live is not None:
        raise _already_submitted(live)
    claim = ExpenseClaim(
        company_tax_id=company, employee_id=user.id, invoice_number=found["number"], invoice_key=key_hex,
        live_key=key_hex, issue_date=found["issue_date"], gross=found["gross"],
        amount=int(found["invoice"]["openAmount"]), seller_name=found["seller_name"],
        seller_tax_id=found["seller_tax_id"], category=category, purpose=purpose, source=source,
        verification=json.dumps(_verification(found["result"], found["checks"]), ensure_ascii=False),
        buyer_salt=buyer_privacy.to_hex(found["salt"]), buyer_tag=buyer_privacy.to_hex(found["tag"]),
        status="submitted")
    session.add(claim)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _already_submitted(session.query(ExpenseClaim).filter_by(live_key=key_hex).first()) from None
    return as_dict(claim, user)


def _already_submitted(live):
    who = live.employee.username if live is not None else "?"
    when = canonical.china_time(live.submitted_at) if live is not None else ""
    return Refused("already_submitted", _("%(who)s already claimed this invoice at %(when)s (claim %(claim)s, "
                                          "%(status)s): it cannot be reimbursed twice.", who=who, when=when,
                                          claim=live.id if live else "?",
                                          status=STATUS_LABELS.get(live.status, "") if live else ""), 409)


# ------------------------------------------------------------------------ finance
def find_visible(user, claim_id):
    """The claim if ``user`` may see it: its employee, or an approver of its company (404 otherwise)."""
    company = company_of(user)
    claim = get_db().get(ExpenseClaim, claim_id) if 0 < claim_id <= ID_MAX else None  # INTEGER ids
    if claim is None or claim.company_tax_id != company or (user.role == "employee" and claim.employee_id != user.id):
        raise Refused("not_found", _("There is no expense claim %(id)s.", id=claim_id), 404)
    return claim


def _submitted(user, claim_id):
    claim = find_visible(user, claim_id)
    approver_company(user)
    if claim.status != "submitted":
        raise Refused("claim_decided", _("Claim %(id)s is already decided (%(status)s): it cannot be decided again.",
                                         id=claim.id, status=STATUS_LABELS[claim.status]), 409)
    return claim


def approve(user, claim_id):
    """Finance approves: the company's account marks the invoice claimed on chain. A claim
    whose invoice the chain already shows claimed by someone else is rejected with that
    reason (409); one already marked by this claim (an approval interrupted after the
    transaction) is completed without a second transaction."""
    claim = _submitted(user, claim_id)
    account = company_account(claim.company_tax_id)
    key = bytes.fromhex(claim.invoice_key[2:])
    ref = _claim_ref(claim.company_tax_id, claim.id)
    claimant, _at, chain_ref = get_chain().call(CLAIMS, "claimOf", key)
    tx_hash = None
    if not (int(claimant, 16) and claimant.lower() == account.address.lower() and bytes(chain_ref) == ref):
        salt = buyer_privacy.from_hex(claim.buyer_salt, 32)
        digest = buyer_privacy.buyer_digest(salt, claim.company_tax_id)
        try:
            tx_hash = transact_as(account, CLAIMS, "markClaimed", key, digest, buyer_privacy.from_hex(claim.buyer_tag, 32),
                                  ref, ref=f"claim:{claim.id}").tx_hash
        except Refused as exc:
            if exc.code == "AlreadyClaimed":
                _decide(claim, user, "rejected", exc.message[:200])
            raise
    _decide(claim, user, "approved", claim_tx=tx_hash)
    return as_dict(claim, user)


def reject(user, claim_id, body):
    claim = _submitted(user, claim_id)
    req = validated(models.RejectRequest, body)
    _decide(claim, user, "rejected", req.reason)
    return as_dict(claim, user)


def _decide(claim, user, status, reason=None, claim_tx=None):
    claim.status, claim.decided_by, claim.decided_at = status, user.id, utcnow()
    if status == "rejected":
        claim.live_key, claim.reject_reason = None, reason
    if claim_tx:
        claim.claim_tx = claim_tx
    get_db().commit()


# ------------------------------------------------------------------------ answers
def as_dict(claim, user):
    actions = ["approve", "reject"] if user.role == "approver" and claim.status == "submitted" else []
    plist = claim.payment_list
    return {
        "id": claim.id, "status": claim.status, "status_label": str(STATUS_LABELS[claim.status]),
        "employee": claim.employee.username, "company_tax_id": claim.company_tax_id,
        "invoice": {"number": claim.invoice_number, "issue_date": claim.issue_date, "gross": int(claim.gross),
                    "amount": int(claim.amount), "seller": {"name": claim.seller_name, "tax_id": claim.seller_tax_id}},
        "category": claim.category, "category_label": str(models.CATEGORIES[claim.category]), "purpose": claim.purpose,
        "source": claim.source, "verification": shown_verification(json.loads(claim.verification)),
        "submitted_at": iso_time(claim.submitted_at), "decided_by": claim.approver.username if claim.approver else None,
        "decided_at": iso_time(claim.decided_at), "reject_reason": claim.reject_reason, "claim_tx": claim.claim_tx,
        "payment_list": {"id": plist.id, "list_hash": plist.list_hash, "status": plist.status} if plist else None,
        "actions": actions}


def iso_time(moment):
    return moment.isoformat() + "Z" if moment else None


def listing(user, status="", q=""):
    """The employee's own claims; an approver's: every claim of the company. Newest first."""
    company = company_of(user)
    found = get_db().query(ExpenseClaim).filter_by(company_tax_id=company)
    if user.role == "employee":
        found = found.filter_by(employee_id=user.id)
    if status:
        found = found.filter_by(status=status)
    if q:
        like = f"%{q}%"
        found = found.filter(or_(ExpenseClaim.invoice_number.like(like), ExpenseClaim.seller_name.like(like),
                                 ExpenseClaim.purpose.like(like)))
    return [as_dict(c, user) for c in found.order_by(ExpenseClaim.id.desc()).limit(500)]
