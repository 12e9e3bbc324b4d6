"""Issuance and the seller's and auditor's actions: a number from the merchant's range,
the canonical document and its hash, the buyer commitment, journal and send through the
outbox; void, red-letter, review; pending invoices settled from the outbox. The portals and
the API both call these, so an action refused in one is refused in the other with the same
reason and the same custom-error name."""
import hashlib
import json

from babel.lists import format_list
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from ..chain import get_chain, get_signer, indexer
from ..chain.client import REGISTRY
from ..chain.errors import INVOICE_STATUS, ChainError, ChainRefusal
from ..core import buyer_privacy, canonical
from ..core.db import get_db
from ..core.mail_queue import enqueue_invoice_mail
from ..core.models import Invoice, OutboxTx
from ..schemas.invoices import RedLetterRequest, ReviewRequest
from . import detector, numbering, reviews
from .errors import Refused, ValidationError, refusal_from_chain
from .invoices import active_merchant, find, held_buyer, owned, rates_of
from .validation import line_items, today, totals, validate_issue, validated

# refusals of a number (not of the invoice): the issuance is retried with a fresh number
NUMBER_REFUSALS = ("NumberNotInSellerRange", "InvoiceAlreadyRegistered")


# what a validated request means (``clean`` of validate_issue or of a red-letter note)
FINGERPRINT_FIELDS = ("buyer_name", "buyer_tax_id", "invoice_type", "remarks", "drawer", "items")


def request_fingerprint(clean, scope=("issue",)):
    """SHA-256 of a validated request's meaning: the same for bodies that differ only in
    spelling (key order, "2" for 2, a default or a computed amount spelled out, "" for
    null). ``scope`` tells an invoice from a red-letter note of one original. An issue date
    left out (today) stays out, so a retry after midnight is still the same request."""
    meaning = {k: clean.get(k) or (0 if k == "invoice_type" else "") for k in FINGERPRINT_FIELDS}
    meaning["issue_date"] = str(clean["issue_date"]) if clean.get("issue_date_given", True) else None
    meaning["scope"] = [str(s) for s in scope]
    if clean.get("buyer_email"):  # only when given: fingerprints of requests without one are unchanged
        meaning["buyer_email"] = clean["buyer_email"].lower()
    data = json.dumps(meaning, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode()).hexdigest()


def _body_fingerprint(body):
    """The hash of the body's bytes, as rows written before request_fingerprint hold it."""
    try:
        data = canonical.canonical_json(body)
    except TypeError:
        data = json.dumps(body, sort_keys=True, default=str).encode()
    return hashlib.sha256(data).hexdigest()


def _request_tuple(number, seller, clean, issued_at, dhash, salt, tag):
    """The registry's IssueRequest v2: (number, seller, buyerCommitment, buyerTagForSeller,
    net, tax, gross, invoiceType, issuedAt, documentHash, groups). The buyer's tax ID is not
    in it: only the salted commitment and the seller-scoped tag."""
    commitment = buyer_privacy.commitment_of(salt, clean["buyer_tax_id"], tag)[0]
    return (number, seller, commitment, buyer_privacy.buyer_tag_for_seller(clean["buyer_tax_id"], seller), clean["net"],
            clean["tax"], clean["gross"], clean["invoice_type"], issued_at, bytes.fromhex(dhash[2:]),
            [tuple(g) for g in clean["groups"]])


def _new_invoice(user, merchant, clean, number, buyer, *, idempotency_key, fingerprint, original=None,
                 reason_code=None, make=Invoice):
    """Builds and hashes the canonical document of ``number``; returns the unsaved Invoice
    row (``make=dict``: its columns, for a bulk insert) and the chain's IssueRequest tuple.
    ``buyer``: (salt, tag); a red-letter note's are the ``original``'s."""
    original_number = original.number if original is not None else None
    salt, tag = buyer
    doc = canonical.build_document(
        number=number, invoice_type=clean["invoice_type"], issue_date=clean["issue_date"].isoformat(),
        seller={"name": merchant.name, "tax_id": merchant.tax_id, "address": user.address},
        buyer={"name": clean["buyer_name"], "tax_id": clean["buyer_tax_id"], "salt": buyer_privacy.to_hex(salt),
               "tag": buyer_privacy.to_hex(tag)}, items=clean["items"],
        net=clean["net"], tax=clean["tax"], gross=clean["gross"], remarks=clean["remarks"] or "",
        drawer=clean.get("drawer") or "", original_number=original_number, reason_code=reason_code)
    text = canonical.canonical_json(doc).decode("utf-8")
    dhash = canonical.document_hash(text)
    issued_at = canonical.issue_timestamp(clean["issue_date"])
    row = make(number=number, key=canonical.invoice_key(number), user_id=user.id, seller_address=user.address,
               seller_name=merchant.name, seller_tax_id=merchant.tax_id, buyer_name=clean["buyer_name"],
               buyer_tax_id=clean["buyer_tax_id"], issue_date=clean["issue_date"].isoformat(),
               issued_at=issued_at, invoice_type=clean["invoice_type"], rate=clean["rate"],
               rate_mask=clean["rate_mask"], item_count=len(clean["items"]), net=clean["net"], tax=clean["tax"],
               gross=clean["gross"], document=text, document_hash=dhash, is_red_letter=original is not None,
               original_number=original_number, state="pending", idempotency_key=idempotency_key,
               request_fingerprint=fingerprint, buyer_email=clean.get("buyer_email"))
    return row, _request_tuple(number, user.address, clean, issued_at, dhash, salt, tag)


def _send_new(user, merchant, clean, function, *, idempotency_key, fingerprint, original=None, reason_code=None,
              buyer=None):
    """Build (number, document) and journal + send ``issue`` or ``issueRedLetter``. The gas
    is estimated (refusals found) with the next number only looked at; the number is taken
    in the transaction that journals the invoice (the document rebuilt when another request
    took that one meanwhile), so a refusal or a rollback burns no number. A refusal of the
    number itself (not in the seller's range: the authority replaced the range; or already
    registered by another client) is retried with the next number."""
    signer = get_signer()
    session = get_db()
    buyer = buyer or buyer_privacy.new_buyer(clean["buyer_tax_id"])
    built = {}

    def build(number):
        built["inv"], req = _new_invoice(user, merchant, clean, number, buyer, idempotency_key=idempotency_key,
                                         fingerprint=fingerprint, original=original, reason_code=reason_code)
        return (req,) if original is None else (bytes.fromhex(original.key[2:]), req, reason_code)

    def prepare(tx_session):
        numbers = numbering.take(tx_session, user.address)
        if numbers is None:
            raise numbering.NumberGone()
        args = build(numbers[0]) if numbers[0] != built["inv"].number else None
        tx_session.add(built["inv"])
        return args

    def journaled(row):
        built["inv"].outbox_id = row.id
        row.ref = built["inv"].number

    for attempt in range(5):
        args = build(numbering.next_number(user.address, merchant.tax_id))
        try:
            result = signer.transact(user.address, REGISTRY, function, *args, ref=built["inv"].number,
                                     prepare=prepare, on_journal=journaled)
        except numbering.NumberGone:
            continue
        except ChainRefusal as exc:
            session.rollback()
            if exc.name in NUMBER_REFUSALS and attempt < 4:
                if exc.name == "NumberNotInSellerRange":
                    numbering.sync_from_chain(user.address)
                continue
            raise refusal_from_chain(exc) from None
        return built["inv"], result
    raise numbering.exhausted()


def issue(user, body, idempotency_key=None):
    """Validate, take a number, hash, journal + send. Returns (invoice, created: bool)."""
    m = active_merchant(user)
    session = get_db()
    clean = validate_issue(body, current_app.config)  # first: the key is compared by meaning
    fingerprint = request_fingerprint(clean)
    existing = keyed(user, idempotency_key)
    if existing is not None:
        return _replay(existing, fingerprint, body)
    try:
        inv, result = _send_new(user, m, clean, "issue", idempotency_key=idempotency_key, fingerprint=fingerprint)
    except IntegrityError:
        session.rollback()
        existing = keyed(user, idempotency_key)
        if existing is not None:
            return _replay(existing, fingerprint, body)
        raise
    apply_result(inv, result)
    _detect(inv)
    return inv, True


def _detect(inv):
    """The detector's incremental run for the seller of an invoice just issued, voided or
    red-lettered (its errors are logged, never raised: see detector.after_change)."""
    if inv.state == "issued" and current_app.config.get("DETECTOR_ENABLED", True):
        detector.after_change([inv.seller_address], source="issuance")


def keyed(user, idempotency_key):
    """The user's invoice or note made with ``idempotency_key`` (None: none, or no key)."""
    if not idempotency_key:
        return None
    return get_db().query(Invoice).filter_by(user_id=user.id, idempotency_key=idempotency_key).first()


def _replay(existing, fingerprint, body):
    """The invoice of a used key when the request means the same; 409 otherwise. (A row
    from before request_fingerprint holds the hash of the body's bytes.)"""
    stored = existing.request_fingerprint
    if stored and stored != fingerprint and stored != _body_fingerprint(body):
        raise Refused("idempotency_key_reused", _("This Idempotency-Key was used with a different request (invoice "
                                                  "%(number)s).", number=existing.number), 409)
    if existing.state == "pending":
        settle(existing)
    return existing, False


def apply_result(inv, result):
    session = get_db()
    if result.status == "mined":
        inv.state = "issued"
        if not _from_receipt(inv, result):
            refresh(inv)
        enqueue_invoice_mail(session, inv)  # committed with the result: e-mailed once (services.mail)
    elif result.status == "reverted":
        inv.state = "failed"
        inv.error = result.refusal.message if result.refusal else "reverted"
    session.commit()


def _from_receipt(inv, result):
    """Status and flags from the receipt's InvoiceIssued log, the check code from
    checkCodeOf (one cheap call instead of getInvoice)."""
    try:
        chain = get_chain()
        event = chain.contract(REGISTRY).events.InvoiceIssued()
        for log in result.logs:
            try:
                ev = event.process_log(log)
            except Exception:  # noqa: BLE001 - another event of the receipt
                continue
            if "0x" + bytes(ev["args"]["key"]).hex() == inv.key:
                inv.flags = int(ev["args"]["flags"])
                inv.chain_status = "Flagged" if inv.flags else "Issued"
                inv.check_code = f"{int(chain.call(REGISTRY, 'checkCodeOf', bytes.fromhex(inv.key[2:]))):020d}"
                return True
    except (ChainError, OSError):
        return False
    return False


def settle(inv):
    """Bring a pending invoice up to date with its outbox row."""
    if inv.outbox_id is None:
        return
    row = get_db().get(OutboxTx, inv.outbox_id)
    if row is None:
        return
    if row.status in ("signed", "sent"):
        try:
            if row.status == "sent":
                get_signer().wait(row, get_db(), timeout=2)
        except (ChainError, OSError):
            return
    became_issued = row.status == "mined" and inv.state != "issued"
    if became_issued:
        inv.state = "issued"
        refresh(inv)
        enqueue_invoice_mail(get_db(), inv)
    elif row.status in ("reverted", "dropped", "rejected") and inv.state == "pending":
        inv.state = "failed"
        inv.error = row.error or row.status
    get_db().commit()
    if became_issued:
        _detect(inv)


def refresh(inv):
    """Copy the chain's view of the invoice (status, flags, check code) into the row."""
    try:
        data = get_chain().call_named(REGISTRY, "getInvoice", bytes.fromhex(inv.key[2:]))
    except ChainRefusal:
        return None
    except (ChainError, OSError):
        return None
    inv.chain_status = INVOICE_STATUS[data["status"]]
    inv.flags = int(data["flags"])
    inv.check_code = f"{int(data['checkCode']):020d}"
    return data


def up_to_date(inv):
    """For a page about ``inv``: settle it if pending, index the newest events (a failure
    only lets the timeline lag), and read the chain's view. Returns (chain data, None), or
    (None, the ChainError) when the chain cannot be read: the row's copy is shown then."""
    try:
        if inv.state == "pending":
            settle(inv)
        try:
            indexer.run_once(blocking=False)
        except Exception as exc:  # noqa: BLE001 - the timeline may lag; the page still answers
            current_app.logger.warning("indexer: %s", exc)
        data = refresh(inv)
        get_db().commit()
        return data, None
    except ChainError as exc:
        return None, exc


def reconcile(deep=False):
    """Outbox reconcile + settle every pending invoice. Returns what changed."""
    signer = get_signer()
    changed = signer.reconcile(deep=deep)
    signer.wait_pending(timeout=signer.tx_timeout)
    for inv in get_db().query(Invoice).filter_by(state="pending").all():
        settle(inv)
    return changed


def void(user, number):
    inv = owned(user, number)
    if inv.state != "issued":
        raise Refused("not_issued", _("The invoice is not registered on chain yet."), 409)
    try:
        result = get_signer().transact(user.address, REGISTRY, "voidInvoice", bytes.fromhex(inv.key[2:]), ref=number)
    except ChainRefusal as exc:
        raise refusal_from_chain(exc) from None
    if result.status == "reverted":
        raise Refused(result.refusal.name if result.refusal else "Reverted",
                      result.refusal.message if result.refusal else _("The transaction reverted."), 409)
    refresh(inv)
    get_db().commit()
    _detect(inv)
    return inv, result


def red_letter(user, number, body, idempotency_key=None):
    """A red-letter note against ``number``. Body: {"reason_code", "items"? (default:
    the original's items: full reversal), "issue_date"?, "remarks"?}. Amounts are
    positive magnitudes, as on chain."""
    original = owned(user, number)
    m = active_merchant(user)
    req, clean = _red_letter_request(original, body)
    fingerprint = request_fingerprint(clean, scope=("red-letter", original.number, req.reason_code))
    existing = keyed(user, idempotency_key)
    if existing is not None:
        return _replay(existing, fingerprint, body)
    if original.is_red_letter:
        raise Refused("IsRedLetterNote", _("A red-letter note cannot itself be red-lettered."), 409)
    if original.state != "issued":
        raise Refused("not_issued", _("The original invoice is not registered on chain."), 409)
    buyer = held_buyer(original)
    if buyer is None:
        raise Refused("document_not_held",
                      _("The platform does not hold the original's document with its buyer salt, so a red-letter "
                        "note cannot carry the same buyer commitment: issue the note with the client that issued "
                        "the original."), 409)
    note, result = _send_new(user, m, clean, "issueRedLetter", idempotency_key=idempotency_key,
                             fingerprint=fingerprint, original=original, reason_code=req.reason_code, buyer=buyer)
    apply_result(note, result)
    refresh(original)
    get_db().commit()
    _detect(note)
    return note, True


def _red_letter_request(original, body):
    """The validated note request and its clean lines and totals (items left out: the
    original's lines); only rates of the original. ValidationError otherwise."""
    if not isinstance(body, dict):
        raise ValidationError({"body": _("The request must be a JSON object.")})
    if not original.document and body.get("items") is None:
        raise ValidationError({"items": _("Give the items of the note: the platform does not hold the original's "
                                          "document.")})
    if body.get("items") is None:  # a full reversal: the original's lines
        body = {**body, "items": [{k: it[k] for k in ("name", "spec", "unit", "quantity", "unit_price", "amount",
                                                      "tax_rate", "tax_code") if k in it}  # v1 documents: fewer
                                  for it in json.loads(original.document)["items"]]}
    config = current_app.config
    req = validated(RedLetterRequest, body, config)
    errors = {}
    clean = {"buyer_name": original.buyer_name, "buyer_tax_id": original.buyer_tax_id,
             "invoice_type": original.invoice_type, "remarks": req.remarks or "",
             "issue_date": req.issue_date or today(), "issue_date_given": req.issue_date is not None,
             "items": line_items(req.items, errors, max_amount=int(config["INVOICE_MAX_AMOUNT"]))}
    totals(clean, {}, errors, int(config["INVOICE_MAX_AMOUNT"]))
    allowed = rates_of(original)
    if not errors and not set(clean["rates"]) <= set(allowed):
        errors["items"] = _("A red-letter note may only have rates of the original (%(rates)s).",
                            rates=format_list([f"{r}%" for r in allowed], style="or", locale=get_locale()))
    if errors:
        raise ValidationError(errors)
    return req, clean


def review(user, number, decision, body):
    """``decision`` (clear | reject) of a flagged invoice; ``body``: {"reason_code"}."""
    if user.role != "auditor":
        raise Refused("forbidden", _("Only auditors clear or reject invoices."), 403)
    if decision not in ("clear", "reject"):
        raise ValidationError({"decision": _("The decision must be to clear or to reject.")})
    req = validated(ReviewRequest, body)
    reason = req.reason_code
    reviews.require_note(req)
    inv = find(number)
    if inv is None:
        raise Refused("not_found", _("No such invoice."), 404)
    if not user.address:
        raise Refused("no_signing_key", _("This account has no chain address to sign with."), 403)
    try:
        result = get_signer().transact(user.address, REGISTRY, decision, bytes.fromhex(inv.key[2:]), reason,
                                      ref=number)
    except ChainRefusal as exc:
        raise refusal_from_chain(exc) from None
    refresh(inv)
    reviews.record(user, inv, decision, req, result.tx_hash)
    get_db().commit()
    return inv, result
