"""Invoice service: validation, totals and rate groups, numbers from the merchant's range,
buyer commitment, issuance through the outbox, void, red-letter, review, verification. The portals and the API both call
these functions, so an action refused in one is refused in the other with the same
reason and the same custom-error name."""
import csv
import hashlib
import io
import json
import re
from datetime import date, datetime, timezone
from decimal import Decimal

from flask import current_app
from sqlalchemy import insert, or_
from sqlalchemy.exc import IntegrityError

from . import buyer_privacy, canonical, numbers
from .chain import CONFLICT_ERRORS, FORBIDDEN_ERRORS, INVOICE_STATUS, ChainError, ChainRefusal, get_chain
from .db import get_db
from .models import Invoice, OutboxTx, Verification

VAT_RATES = (0, 1, 3, 5, 6, 9, 13)
REGISTRY = "InvoiceRegistry"
MERCHANTS = "MerchantRegistry"
# InvoiceRegistry.VerifyResult, in order
VERIFY_RESULTS = ["authentic", "not_found", "mismatch", "voided", "flagged", "rejected", "red_lettered",
                  "partly_red_lettered", "red_letter_note"]
VERIFY_LABELS = {
    "authentic": "真实有效 Authentic",
    "not_found": "查无此票 Not found",
    "mismatch": "信息不一致 Mismatch",
    "voided": "已作废 Voided",
    "flagged": "待审核 Flagged",
    "rejected": "审核未通过 Rejected",
    "red_lettered": "已全额红冲 Red-lettered",
    "partly_red_lettered": "部分红冲 Partly red-lettered",
    "red_letter_note": "红字发票 Red-letter note",
    "invalid": "查询有误 Invalid",
    "tampered": "文件已被篡改 Tampered",
}
STATUS_WORDS = {
    "Issued": "已开具 Issued — 已登记且有效 registered and valid",
    "Flagged": "待审核 Flagged — 已登记，等待审计员审核 recorded, waiting for an auditor's review",
    "Cleared": "审核通过 Cleared — 审计员已审核通过 an auditor reviewed and cleared it",
    "Rejected": "审核驳回 Rejected — 审计员已驳回，发票无效 an auditor rejected it; it is not valid",
    "Voided": "已作废 Voided — 销售方已作废 voided by the seller",
    "RedLettered": "已全额红冲 Red-lettered — 已被红字发票全额冲销，发票无效 fully reversed by red-letter notes; "
                   "not valid any more",
    "PartlyRedLettered": "部分红冲 Partly red-lettered — 红字发票冲减了部分金额，发票按未冲销金额有效 red-letter notes "
                         "reduced part of it; it is valid for its open amount",
    "RedLetterNote": "红字发票 Red-letter note — 负数发票，冲减另一张发票的金额，本身不是可抵扣或可融资的发票 a negative "
                     "invoice reducing another invoice; not an invoice to deduct or finance",
}
FLAGS = [
    (1, "MonthlyQuotaExceeded", "超出月度限额 The merchant's monthly quota was exceeded"),
    (2, "DuplicateDocument", "疑似重复开票 The same document was registered before (suspected duplicate)"),
    (4, "SelfDealing", "购销双方相同 Buyer and seller are the same taxpayer"),
    (8, "RateSpike", "开票频率异常 More invoices this hour than the merchant's norm"),
]
VERIFY_DETAIL = {
    "authentic": "发票真实有效。The invoice is registered on chain and the data matches.",
    "not_found": "查无此票。No invoice with this number is registered.",
    "mismatch": "信息不一致：发票存在，但开票日期、金额或校验码不符。The invoice exists but the date, amount or "
                "check code does not match.",
    "voided": "发票已作废。The invoice was voided by its seller.",
    "flagged": "发票待审核。The invoice is flagged and waiting for an auditor's review.",
    "rejected": "发票审核未通过。The invoice was rejected by an auditor.",
    "red_lettered": "发票已全额红冲（已被红字发票全部冲销），不再有效。The invoice was fully reversed by red-letter "
                    "notes.",
    "partly_red_lettered": "发票部分红冲：红字发票冲减了部分金额，发票按未冲销金额有效。The invoice was partly reversed "
                           "by red-letter notes: it is valid for its open amount.",
    "red_letter_note": "这是一张红字发票（负数发票），用于冲减另一张发票，本身不是可抵扣的发票。This number is a red-letter "
                       "note (a negative invoice reducing another invoice), not an invoice.",
}
NUMBER_RE = re.compile(r"^[0-9]{20}$")
TAX_ID_RE = re.compile(r"^[0-9A-Z]{15,20}$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
QTY_RE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,6})?$")
# refusals of a number (not of the invoice): the issuance is retried with a fresh number
NUMBER_REFUSALS = ("NumberNotInSellerRange", "InvoiceAlreadyRegistered")


class ValidationError(Exception):
    """Bad input: ``fields`` maps a field path to what is wrong with it."""

    def __init__(self, fields, message="请求中有字段不正确。The request has invalid fields."):
        self.fields = fields
        self.message = message
        super().__init__(message)


class Refused(Exception):
    """A refused action: ``code`` (a custom error name or our own), HTTP ``status``."""

    def __init__(self, code, message, status=422, fields=None):
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields
        super().__init__(message)


def refusal_from_chain(exc: ChainRefusal):
    status = 409 if exc.name in CONFLICT_ERRORS else (403 if exc.name in FORBIDDEN_ERRORS else 422)
    return Refused(exc.name, exc.message, status)


# ---------------------------------------------------------------- JSON input
def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


MAX_JSON_DEPTH = 32  # arrays and objects within each other; an invoice document needs 4


def _json_problem(value):
    """What makes a parsed JSON value unusable, or None: nesting deeper than MAX_JSON_DEPTH,
    or a string holding a lone UTF-16 surrogate (JSON "\\ud800"), which cannot be stored nor
    hashed as UTF-8."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return "invalid Unicode: a lone surrogate (\\ud800-\\udfff) in a string"
        elif isinstance(v, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return f"nested more than {MAX_JSON_DEPTH} levels deep"
            items = list(v.keys()) + list(v.values()) if isinstance(v, dict) else v
            stack.extend((x, depth + 1) for x in items)
    return None


def load_json(data, field="body", *, decimals=True):
    """Bytes → a JSON value; ValidationError({field: …}) for anything but well-formed UTF-8
    JSON: not UTF-8, malformed, NaN/Infinity, numbers with too many digits, lone surrogates,
    nesting deeper than MAX_JSON_DEPTH. ``decimals``: fractions as Decimal (money never goes
    through a float)."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    except UnicodeDecodeError:
        raise ValidationError({field: "the body is not UTF-8"}, "内容不是 UTF-8 编码。The body is not UTF-8.") from None
    try:
        value = json.loads(text, parse_float=Decimal if decimals else None, parse_constant=_reject_constant)
    except RecursionError:
        raise ValidationError({field: "malformed JSON: nested too deeply"}, "JSON 嵌套过深。The JSON is nested too "
                                                                           "deeply.") from None
    except ValueError as exc:
        raise ValidationError({field: f"malformed JSON: {exc}"}, "JSON 格式错误。Malformed JSON.") from None
    problem = _json_problem(value)
    if problem:
        raise ValidationError({field: problem}, "JSON 内容无法处理（嵌套过深或含无效的 Unicode 字符）。The JSON is nested "
                                                "too deeply or holds an invalid Unicode character.")
    return value


def ascii_digits(text):
    """True for a non-empty string of the digits 0-9 only (str.isdigit also takes ² and ٣)."""
    return isinstance(text, str) and text.isascii() and text.isdigit()


# ---------------------------------------------------------------- validation
def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _req_str(body, name, errors, *, max_len, min_len=1, path=None, required=True, pattern=None, upper=False):
    path = path or name
    v = body.get(name)
    if v is None:
        if required:
            errors[path] = "required"
        return "" if not required else None
    if not isinstance(v, str):
        errors[path] = "must be a string"
        return None
    v = v.strip()
    if upper:
        v = v.upper()
    if len(v) < min_len:
        errors[path] = "required" if min_len == 1 else f"at least {min_len} characters"
    elif len(v) > max_len:
        errors[path] = f"at most {max_len} characters"
    elif any(ord(c) < 32 for c in v):
        errors[path] = "control characters are not allowed"
    elif pattern and not pattern.match(v):
        errors[path] = "invalid format"
    return v


def _req_int(value, path, errors, *, minimum, maximum, required=True):
    if value is None:
        if required:
            errors[path] = "required"
        return None
    if not _is_int(value):
        errors[path] = "must be an integer (amounts in fen)"
        return None
    if value < minimum:
        errors[path] = f"must be at least {minimum}"
    elif value > maximum:
        errors[path] = f"must be at most {maximum}"
    return value


def parse_date(value, path, errors, *, allow_future=False):
    if not isinstance(value, str) or not DATE_RE.match(value):
        errors[path] = "must be a date YYYY-MM-DD"
        return None
    try:
        d = date.fromisoformat(value)
    except ValueError:
        errors[path] = "not a valid date"
        return None
    today = datetime.now(canonical.CHINA).date()
    if d.year < 2000:
        errors[path] = "too old"
    elif d > today and not allow_future:
        errors[path] = "is in the future (China time)"
    return d


def _quantity(value, path, errors):
    """A positive integer, or a decimal string / JSON decimal with at most 6 places."""
    if _is_int(value):
        if value <= 0 or value > 10**12:
            errors[path] = "must be between 1 and 10^12"
        return value
    if isinstance(value, (str, Decimal)) and not isinstance(value, bool):
        text = str(value).strip()
        if not QTY_RE.match(text):
            errors[path] = "must be a positive number with at most 6 decimals"
            return None
        d = Decimal(text)
        if d <= 0:
            errors[path] = "must be positive"
            return None
        return int(d) if d == d.to_integral_value() else format(d.normalize(), "f")
    errors[path] = "must be a number"
    return None


def _line_amount(quantity, unit_price):
    q = Decimal(str(quantity))
    return int((q * unit_price + Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR"))


ISSUE_FIELDS = {"buyer_name", "buyer_tax_id", "issue_date", "items", "invoice_type", "remarks", "drawer",
                "net", "tax", "gross", "rate"}
ITEM_FIELDS = {"name", "spec", "unit", "quantity", "unit_price", "amount", "tax_rate", "tax_code", "tax"}


def validate_items(items, errors, *, max_items, max_amount):
    if items is None:
        errors["items"] = "required"
        return []
    if not isinstance(items, list):
        errors["items"] = "must be a list"
        return []
    if not items:
        errors["items"] = "at least one line item"
        return []
    if len(items) > max_items:
        errors["items"] = f"at most {max_items} line items"
        return []
    clean = []
    for i, item in enumerate(items):
        p = f"items[{i}]"
        if not isinstance(item, dict):
            errors[p] = "must be an object"
            continue
        unknown = set(item) - ITEM_FIELDS
        if unknown:
            errors[p] = "unknown fields: " + ", ".join(sorted(map(str, unknown)))
        out = {
            "name": _req_str(item, "name", errors, max_len=100, path=p + ".name"),
            "spec": _req_str(item, "spec", errors, max_len=40, path=p + ".spec", required=False, min_len=0),
            "unit": _req_str(item, "unit", errors, max_len=20, path=p + ".unit", required=False, min_len=0),
            "tax_code": _req_str(item, "tax_code", errors, max_len=19, path=p + ".tax_code", required=False,
                                 min_len=0, pattern=re.compile(r"^[0-9]*$")),
        }
        out["quantity"] = _quantity(item.get("quantity", 1), p + ".quantity", errors)
        out["unit_price"] = _req_int(item.get("unit_price"), p + ".unit_price", errors, minimum=0, maximum=max_amount)
        out["tax_rate"] = _req_int(item.get("tax_rate"), p + ".tax_rate", errors, minimum=0, maximum=100)
        if _is_int(out["tax_rate"]) and out["tax_rate"] not in VAT_RATES:
            errors[p + ".tax_rate"] = "must be one of " + ", ".join(map(str, VAT_RATES)) + " (%)"
        amount = item.get("amount")
        if amount is not None:
            out["amount"] = _req_int(amount, p + ".amount", errors, minimum=1, maximum=max_amount)
        if out["quantity"] is not None and _is_int(out["unit_price"]) and not errors.get(p + ".unit_price"):
            expected = _line_amount(out["quantity"], out["unit_price"])
            if amount is None:
                out["amount"] = expected
                if expected <= 0:
                    errors[p + ".amount"] = "quantity × unit price must be positive"
                elif expected > max_amount:
                    errors[p + ".amount"] = "too large"
            elif _is_int(amount) and abs(amount - expected) > 1:
                errors[p + ".amount"] = f"must equal quantity × unit price ({expected} fen)"
        if "tax" in item and _is_int(out.get("amount")) and _is_int(out["tax_rate"]):
            if item["tax"] != canonical.item_tax(out["amount"], out["tax_rate"]):
                errors[p + ".tax"] = "does not match amount × rate (rounded half up); leave it out to have it computed"
        clean.append(out)
    return clean


def validate_issue(body, config):
    if not isinstance(body, dict):
        raise ValidationError({"body": "must be a JSON object"})
    errors = {}
    unknown = set(body) - ISSUE_FIELDS
    if unknown:
        errors["body"] = "unknown fields: " + ", ".join(sorted(map(str, unknown)))
    max_amount = config["INVOICE_MAX_AMOUNT"]
    clean = {
        "buyer_name": _req_str(body, "buyer_name", errors, max_len=200),
        "buyer_tax_id": _req_str(body, "buyer_tax_id", errors, max_len=20, min_len=15, pattern=TAX_ID_RE, upper=True),
        "remarks": _req_str(body, "remarks", errors, max_len=500, required=False, min_len=0),
        "drawer": _req_str(body, "drawer", errors, max_len=50, required=False, min_len=0),
    }
    clean["issue_date"] = parse_date(body.get("issue_date"), "issue_date", errors) if "issue_date" in body \
        else datetime.now(canonical.CHINA).date()
    t = body.get("invoice_type", 0)
    if t in ("ordinary", "special"):
        t = 0 if t == "ordinary" else 1
    if not _is_int(t) or t not in (0, 1):
        errors["invoice_type"] = "must be 0 (ordinary) or 1 (special VAT)"
    clean["invoice_type"] = t
    clean["items"] = validate_items(body.get("items"), errors, max_items=config["INVOICE_MAX_ITEMS"],
                                    max_amount=max_amount)
    _totals(clean, body, errors, max_amount)
    if errors:
        raise ValidationError(errors)
    return clean


def _totals(clean, body, errors, max_amount):
    """Totals and rate groups. Lines may have different rates: one on-chain rate group per
    rate (ascending), each with its line count, net and tax."""
    items = clean["items"]
    if any(k.startswith("items") for k in errors) or not items:
        return
    net, tax, gross = canonical.compute_totals(items)
    groups = canonical.rate_groups(items)
    rates = [g[0] for g in groups]
    clean.update(groups=groups, rates=rates, rate=max(rates), rate_mask=canonical.rate_mask(rates))
    if gross > max_amount:
        errors["items"] = f"the gross total {gross} fen is over the limit of {max_amount} fen"
    for name, value in (("net", net), ("tax", tax), ("gross", gross)):
        if name in body and body[name] != value:
            errors[name] = f"does not match the server-computed total ({value} fen)"
    if "rate" in body:
        if len(rates) > 1:
            errors["rate"] = ("本发票含多个税率，请勿填写 rate（税率在每一行的 tax_rate）。This invoice has several "
                              "rates: leave rate out (each line has its tax_rate).")
        elif body["rate"] != clean["rate"]:
            errors["rate"] = "does not match the items' rate"
    clean.update(net=net, tax=tax, gross=gross)


def groups_dict(groups):
    return [{"rate": r, "item_count": n, "net": net, "tax": tax} for r, n, net, tax in groups]


def preview(body, config):
    """Totals for the issue form (no number, no chain)."""
    clean = validate_issue(body, config)
    return {k: clean[k] for k in ("net", "tax", "gross", "rate", "rates")} | {
        "groups": groups_dict(clean["groups"]), "items": clean["items"]}


# ---------------------------------------------------------------- lookups / access
def find(number):
    if not isinstance(number, str) or not NUMBER_RE.match(number):
        return None
    return get_db().query(Invoice).filter_by(number=number).first()


def can_view(user, inv):
    if user.role in ("authority", "auditor", "financier"):
        return True
    if user.role == "merchant":
        return inv.user_id == user.id or (user.address and inv.seller_address == user.address)
    if user.role == "buyer":
        return bool(user.buyer_tax_id) and inv.buyer_tax_id == user.buyer_tax_id.upper()
    return False


def owned(user, number):
    """The invoice for a seller action by ``user``: 404 unknown, 403 not theirs."""
    if user.role != "merchant":
        raise Refused("forbidden", "Only the issuing merchant may do this. 仅开票商户可操作", 403)
    inv = find(number)
    if inv is None:
        raise Refused("not_found", "No such invoice. 查无此票", 404)
    if inv.user_id != user.id and inv.seller_address != user.address:
        raise Refused("forbidden", "This invoice belongs to another merchant. 非本商户发票", 403)
    return inv


def active_merchant(user):
    if user.role != "merchant":
        raise Refused("forbidden", "Only merchants issue invoices. 仅商户可开票", 403)
    m = user.merchant
    if m is None:
        raise Refused("MerchantNotActive", "Register as a merchant first. 请先进行商户登记", 403)
    if m.status != "approved":
        raise Refused("MerchantNotActive", f"The merchant registration is {m.status}; only approved merchants issue. "
                                           "商户未获批准", 403)
    if not user.address:
        raise Refused("no_signing_key", "This account has no chain address to sign with.", 403)
    return m


def _fingerprint(body):
    try:
        data = canonical.canonical_json(body)
    except TypeError:
        data = json.dumps(body, sort_keys=True, default=str).encode()
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- issuance
def _request_tuple(number, seller, clean, issued_at, dhash, salt, tag):
    """The registry's IssueRequest v2: (number, seller, buyerCommitment, buyerTagForSeller,
    net, tax, gross, invoiceType, issuedAt, documentHash, groups). The buyer's tax ID is not
    in it: only the salted commitment and the seller-scoped tag."""
    commitment, _ = buyer_privacy.commitment_of(salt, clean["buyer_tax_id"], tag)
    return (number, seller, commitment, buyer_privacy.buyer_tag_for_seller(clean["buyer_tax_id"], seller), clean["net"],
            clean["tax"], clean["gross"], clean["invoice_type"], issued_at, bytes.fromhex(dhash[2:]),
            [tuple(g) for g in clean["groups"]])


def _new_invoice(user, merchant, clean, *, idempotency_key, fingerprint, original=None, reason_code=None,
                 buyer=None):
    """Takes the merchant's next number, builds and hashes the canonical document; returns
    the unsaved Invoice row and the chain's IssueRequest tuple. With ``original``: a
    red-letter note, whose ``buyer`` (salt, tag) is the original's."""
    number = numbers.next_number(user.address, merchant.tax_id)
    original_number = original.number if original is not None else None
    salt, tag = buyer or (buyer_privacy.new_salt(), buyer_privacy.buyer_tag(clean["buyer_tax_id"]))
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
    row = Invoice(number=number, key=canonical.invoice_key(number), user_id=user.id, seller_address=user.address,
                  seller_name=merchant.name, seller_tax_id=merchant.tax_id, buyer_name=clean["buyer_name"],
                  buyer_tax_id=clean["buyer_tax_id"], issue_date=clean["issue_date"].isoformat(),
                  issued_at=issued_at, invoice_type=clean["invoice_type"], rate=clean["rate"],
                  rate_mask=clean["rate_mask"], item_count=len(clean["items"]), net=clean["net"], tax=clean["tax"],
                  gross=clean["gross"],
                  document=text, document_hash=dhash, is_red_letter=original is not None,
                  original_number=original_number, state="pending", idempotency_key=idempotency_key,
                  request_fingerprint=fingerprint)
    return row, _request_tuple(number, user.address, clean, issued_at, dhash, salt, tag)


def _send_new(user, merchant, clean, function, *, idempotency_key, fingerprint, original=None, reason_code=None,
              buyer=None):
    """Build (number, document) and journal + send ``issue`` or ``issueRedLetter``. A refusal
    of the number itself (not in the seller's range: the authority replaced the range; or
    already registered by another client) is retried with a fresh number, twice at most."""
    chain = get_chain()
    session = get_db()
    for attempt in range(3):
        inv, req = _new_invoice(user, merchant, clean, idempotency_key=idempotency_key, fingerprint=fingerprint,
                                original=original, reason_code=reason_code, buyer=buyer)
        args = (req,) if original is None else (bytes.fromhex(original.key[2:]), req, reason_code)
        try:
            result = chain.transact(user.address, REGISTRY, function, *args, ref=inv.number, journal=[inv],
                                    on_journal=lambda row: setattr(inv, "outbox_id", row.id))
        except ChainRefusal as exc:
            session.rollback()
            if exc.name in NUMBER_REFUSALS and attempt < 2:
                if exc.name == "NumberNotInSellerRange":
                    numbers.sync_from_chain(user.address)
                continue
            raise refusal_from_chain(exc) from None
        return inv, result


def issue(user, body, idempotency_key=None):
    """Validate, take a number, hash, journal + send. Returns (invoice, created: bool)."""
    m = active_merchant(user)
    session = get_db()
    fingerprint = _fingerprint(body) if isinstance(body, (dict, list)) else None
    if idempotency_key:
        existing = session.query(Invoice).filter_by(user_id=user.id, idempotency_key=idempotency_key).first()
        if existing is not None:
            return _replay(existing, fingerprint)
    clean = validate_issue(body, current_app.config)
    try:
        inv, result = _send_new(user, m, clean, "issue", idempotency_key=idempotency_key, fingerprint=fingerprint)
    except IntegrityError:
        session.rollback()
        existing = session.query(Invoice).filter_by(user_id=user.id, idempotency_key=idempotency_key).first()
        if existing is not None:
            return _replay(existing, fingerprint)
        raise
    apply_result(inv, result)
    return inv, True


def _replay(existing, fingerprint):
    if fingerprint and existing.request_fingerprint and fingerprint != existing.request_fingerprint:
        raise Refused("idempotency_key_reused", "This Idempotency-Key was used with a different request body.", 409)
    if existing.state == "pending":
        settle(existing)
    return existing, False


def apply_result(inv, result):
    session = get_db()
    if result.status == "mined":
        inv.state = "issued"
        if not _from_receipt(inv, result):
            refresh(inv)
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
            chain = get_chain()
            if row.status == "sent":
                chain.wait(row, get_db(), timeout=2)
        except (ChainError, OSError):
            return
    if row.status == "mined" and inv.state != "issued":
        inv.state = "issued"
        refresh(inv)
    elif row.status in ("reverted", "dropped", "rejected") and inv.state == "pending":
        inv.state = "failed"
        inv.error = row.error or row.status
    get_db().commit()


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


def reconcile(deep=False):
    """Outbox reconcile + settle every pending invoice. Returns what changed."""
    chain = get_chain()
    changed = chain.reconcile(deep=deep)
    chain.wait_pending(timeout=chain.tx_timeout)
    for inv in get_db().query(Invoice).filter_by(state="pending").all():
        settle(inv)
    return changed


# ---------------------------------------------------------------- seller actions
def void(user, number):
    inv = owned(user, number)
    if inv.state != "issued":
        raise Refused("not_issued", "The invoice is not (yet) registered on chain.", 409)
    chain = get_chain()
    try:
        result = chain.transact(user.address, REGISTRY, "voidInvoice", bytes.fromhex(inv.key[2:]), ref=number)
    except ChainRefusal as exc:
        raise refusal_from_chain(exc) from None
    if result.status == "reverted":
        raise Refused(result.refusal.name if result.refusal else "Reverted",
                      result.refusal.message if result.refusal else "reverted", 409)
    refresh(inv)
    get_db().commit()
    return inv, result


def red_letter(user, number, body, idempotency_key=None):
    """A red-letter note against ``number``. Body: {"reason_code", "items"? (default:
    the original's items: full reversal), "issue_date"?, "remarks"?}. Amounts are
    positive magnitudes, as on chain."""
    original = owned(user, number)
    m = active_merchant(user)
    if not isinstance(body, dict):
        raise ValidationError({"body": "must be a JSON object"})
    session = get_db()
    fingerprint = _fingerprint(body)
    if idempotency_key:
        existing = session.query(Invoice).filter_by(user_id=user.id, idempotency_key=idempotency_key).first()
        if existing is not None:
            return _replay(existing, fingerprint)
    if original.is_red_letter:
        raise Refused("IsRedLetterNote", "A red-letter note cannot itself be red-lettered.", 409)
    if original.state != "issued":
        raise Refused("not_issued", "The original is not registered on chain.", 409)
    if not original.document and "items" not in body:
        raise ValidationError({"items": "required: the platform does not hold the original's document"})
    try:
        buyer = buyer_privacy.document_buyer(json.loads(original.document)) if original.document else None
    except ValueError:
        buyer = None
    if buyer is None:
        raise Refused("document_not_held",
                      "平台没有原发票的完整文件（含购买方盐值），红字发票无法证明是同一购买方：请用开具原发票的系统开具红字发票。"
                      "The platform does not hold the original's document with its buyer salt, so a red-letter "
                      "note cannot carry the same buyer commitment: issue the note with the client that issued "
                      "the original.", 409)
    errors = {}
    unknown = set(body) - {"reason_code", "items", "issue_date", "remarks"}
    if unknown:
        errors["body"] = "unknown fields: " + ", ".join(sorted(map(str, unknown)))
    reason = _req_int(body.get("reason_code"), "reason_code", errors, minimum=1, maximum=255)
    doc_items = json.loads(original.document)["items"]
    raw_items = body.get("items", [{k: it[k] for k in ("name", "spec", "unit", "quantity", "unit_price", "amount",
                                                       "tax_rate", "tax_code")} for it in doc_items])
    clean = {"buyer_name": original.buyer_name, "buyer_tax_id": original.buyer_tax_id,
             "invoice_type": original.invoice_type,
             "remarks": _req_str(body, "remarks", errors, max_len=500, required=False, min_len=0)}
    clean["issue_date"] = parse_date(body["issue_date"], "issue_date", errors) if "issue_date" in body \
        else datetime.now(canonical.CHINA).date()
    clean["items"] = validate_items(raw_items, errors, max_items=current_app.config["INVOICE_MAX_ITEMS"],
                                    max_amount=current_app.config["INVOICE_MAX_AMOUNT"])
    _totals(clean, {}, errors, current_app.config["INVOICE_MAX_AMOUNT"])
    allowed = rates_of(original)
    if not errors and not set(clean["rates"]) <= set(allowed):
        errors["items"] = ("红字发票的税率必须是原发票已有的税率（" + "、".join(f"{r}%" for r in allowed) + "）。"
                           "A red-letter note may only have rates of the original (" +
                           ", ".join(f"{r}%" for r in allowed) + ").")
    if errors:
        raise ValidationError(errors)
    note, result = _send_new(user, m, clean, "issueRedLetter", idempotency_key=idempotency_key,
                             fingerprint=fingerprint, original=original, reason_code=reason, buyer=buyer)
    apply_result(note, result)
    refresh(original)
    session.commit()
    return note, True


def review(user, number, decision, reason_code):
    if user.role != "auditor":
        raise Refused("forbidden", "Only auditors clear or reject invoices. 仅审计员可审核", 403)
    if decision not in ("clear", "reject"):
        raise ValidationError({"decision": "must be clear or reject"})
    errors = {}
    reason = _req_int(reason_code, "reason_code", errors, minimum=1, maximum=65535)
    if errors:
        raise ValidationError(errors)
    inv = find(number)
    if inv is None:
        raise Refused("not_found", "No such invoice. 查无此票", 404)
    if not user.address:
        raise Refused("no_signing_key", "This account has no chain address to sign with.", 403)
    try:
        result = get_chain().transact(user.address, REGISTRY, decision, bytes.fromhex(inv.key[2:]), reason,
                                      ref=number)
    except ChainRefusal as exc:
        raise refusal_from_chain(exc) from None
    refresh(inv)
    get_db().commit()
    return inv, result


def rates_of(inv):
    """The invoice's tax rates, ascending (its rate mask; older rows: their one rate)."""
    if inv.rate_mask:
        return canonical.rates_of_mask(inv.rate_mask)
    if inv.document:
        return sorted({it["tax_rate"] for it in json.loads(inv.document).get("items", [])})
    return [inv.rate] if inv.rate is not None else []


def status_key(inv, chain_data=None):
    """The key of STATUS_WORDS that tells a person what the invoice is: a red-letter note, a
    partly red-lettered invoice (valid for its open amount), or its on-chain status."""
    if inv.is_red_letter:
        return "RedLetterNote"
    if chain_data and inv.chain_status in ("Issued", "Cleared", "Flagged") and chain_data.get("redLettered") \
            and chain_data.get("openAmount"):
        return "PartlyRedLettered"
    return inv.chain_status


def status_text(inv, chain_data=None):
    key = status_key(inv, chain_data)
    return STATUS_WORDS.get(key, key) if key else None


# ---------------------------------------------------------------- verification
def flag_words(flags):
    return [{"bit": bit, "name": name, "text": text} for bit, name, text in FLAGS if flags & bit]


def _yyyymmdd(d):
    return d.year * 10000 + d.month * 100 + d.day


def validate_query(row, errors, prefix=""):
    """One verification query → (number, date, amount, code6) or None (errors filled)."""
    if not isinstance(row, dict):
        errors[prefix or "body"] = "must be an object"
        return None
    number = row.get("number")
    if not isinstance(number, str) or not NUMBER_RE.match(number.strip()):
        errors[prefix + "number"] = "must be the 20-digit invoice number"
    d = parse_date(row.get("issue_date"), prefix + "issue_date", errors, allow_future=True)
    amount = row.get("gross", row.get("amount"))
    if isinstance(amount, str) and ascii_digits(amount.strip()) and len(amount.strip()) <= 19:
        amount = int(amount.strip())
    _req_int(amount, prefix + "gross", errors, minimum=0, maximum=10**18)
    code = row.get("check_code")
    if _is_int(code):
        code = str(code)
    if not isinstance(code, str) or not re.fullmatch(r"[0-9]{6}|[0-9]{20}", code.strip()):
        errors[prefix + "check_code"] = "must be the last 6 digits of the check code"
    if any(k.startswith(prefix) or k == (prefix or "body") for k in errors):
        return None
    return number.strip(), d, amount, int(code.strip()[-6:])


def verify_one(row):
    errors = {}
    q = validate_query(row, errors)
    if q is None:
        raise ValidationError(errors)
    number, d, amount, code6 = q
    code = get_chain().call(REGISTRY, "verify", number, _yyyymmdd(d), amount, code6)
    result = VERIFY_RESULTS[code]
    return {"number": number, "result": result, "detail": VERIFY_DETAIL[result], "label": VERIFY_LABELS[result]}


def verify_many(rows, chunk=500):
    """Rows → one result per row (invalid rows get result "invalid" + fields)."""
    out = [None] * len(rows)
    queries, where = [], []
    for i, row in enumerate(rows):
        errors = {}
        q = validate_query(row, errors)
        if q is None:
            number = row.get("number") if isinstance(row, dict) else None
            out[i] = {"row": i + 1, "number": number if isinstance(number, str) else None, "result": "invalid",
                      "detail": "; ".join(f"{k}: {v}" for k, v in errors.items()), "fields": errors}
            continue
        number, d, amount, code6 = q
        queries.append((bytes.fromhex(canonical.invoice_key(number)[2:]), _yyyymmdd(d), amount, code6))
        where.append((i, number))
    chain = get_chain()
    for start in range(0, len(queries), chunk):
        codes = chain.call(REGISTRY, "verifyBatch", queries[start:start + chunk])
        for (i, number), code in zip(where[start:start + chunk], codes):
            result = VERIFY_RESULTS[code]
            out[i] = {"row": i + 1, "number": number, "result": result, "label": VERIFY_LABELS[result],
                      "detail": VERIFY_DETAIL[result]}
    return out


CSV_COLUMNS = ("number", "issue_date", "gross", "check_code")


def parse_batch_csv(data: bytes, max_rows):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": "the file is not UTF-8 text"}) from None
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        lines = [r for r in reader if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise ValidationError({"file": f"malformed CSV: {exc}"}) from None
    if not lines:
        raise ValidationError({"file": "the CSV is empty"})
    header = [h.strip().lower() for h in lines[0]]
    if "amount" in header and "gross" not in header:
        header[header.index("amount")] = "gross"
    if all(c in header for c in CSV_COLUMNS):
        body = lines[1:]
    elif len(header) == 4 and NUMBER_RE.match(lines[0][0].strip()):
        header, body = list(CSV_COLUMNS), lines
    else:
        raise ValidationError({"file": "the CSV needs the columns number, issue_date, gross, check_code"})
    if len(body) > max_rows:
        raise ValidationError({"file": f"at most {max_rows} rows"})
    rows = []
    for r in body:
        if len(r) != len(header):
            rows.append({"_bad": f"expected {len(header)} columns, got {len(r)}"})
            continue
        rows.append({k: v.strip() for k, v in zip(header, r) if k in CSV_COLUMNS})
    return rows


def parse_batch(data: bytes, content_type: str, max_rows):
    """A batch upload as JSON (a list, or {"rows": [...]}) or CSV: at least one row, at most
    ``max_rows``. The content type decides (text/csv is CSV even when it looks like JSON);
    another one (an upload's application/octet-stream …) by the first character."""
    stripped = data.lstrip()
    ctype = (content_type or "").lower()
    if "json" in ctype or ("csv" not in ctype and stripped[:1] in (b"[", b"{")):
        payload = load_json(data, "file")
        if isinstance(payload, dict):
            payload = payload.get("rows")
        if not isinstance(payload, list):
            raise ValidationError({"file": "expected a JSON list of rows (or {\"rows\": [...]})"})
        rows = payload
    else:
        rows = parse_batch_csv(data, max_rows)
    if not rows:
        raise ValidationError({"file": "the batch has no rows"}, EMPTY_BATCH)
    if len(rows) > max_rows:
        raise ValidationError({"file": f"at most {max_rows} rows"},
                              f"批量查验最多 {max_rows} 行。A batch has at most {max_rows} rows.")
    return rows


EMPTY_BATCH = "批量查验至少需要一行。An empty batch is not allowed: send at least one row."


def results_csv(results):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["row", "number", "result", "detail"])
    for r in results:
        w.writerow([r["row"], r.get("number") or "", r["result"], r.get("detail", "")])
    return buf.getvalue()


def verify_document(data: bytes):
    """An uploaded invoice JSON → authentic | tampered | not_found (+ number)."""
    doc = load_json(data, "file", decimals=False)
    if not isinstance(doc, dict) or not isinstance(doc.get("number"), str) or not NUMBER_RE.match(doc["number"]):
        raise ValidationError({"file": "not an invoice document (no 20-digit number)"})
    try:
        dhash = canonical.document_hash(doc)
    except TypeError:
        return {"number": doc["number"], "result": "tampered", "detail": "The document contains non-integer amounts."}
    key = bytes.fromhex(canonical.invoice_key(doc["number"])[2:])
    chain = get_chain()
    try:
        chain.call(REGISTRY, "getInvoice", key)
    except ChainRefusal:
        return {"number": doc["number"], "result": "not_found", "document_hash": dhash,
                "detail": VERIFY_DETAIL["not_found"]}
    ok = chain.call(REGISTRY, "verifyDocument", key, bytes.fromhex(dhash[2:]))
    return {"number": doc["number"], "document_hash": dhash, "result": "authentic" if ok else "tampered",
            "detail": "The document's hash matches the one registered on chain. 文件与链上一致" if ok else
            "The document differs from the one registered on chain. 文件已被篡改"}


def record(user, kind, number, query, result, detail=None, client=None):
    get_db().add(Verification(user_id=user.id if user is not None and user.is_authenticated else None,
                              client=(client or "")[:64] or None, kind=kind, number=(number or "")[:40] or None,
                              query=json.dumps(query, ensure_ascii=False, default=str)[:4000],
                              result=result, detail=(detail or "")[:2000] or None))


def record_many(user, kind, rows, results, client=None):
    uid = user.id if user is not None and user.is_authenticated else None
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    get_db().execute(insert(Verification), [
        {"user_id": uid, "client": (client or "")[:64] or None, "kind": kind,
         "number": (r.get("number") or "")[:40] or None,
         "query": json.dumps(q, ensure_ascii=False, default=str)[:1000], "result": r["result"],
         "detail": (r.get("detail") or "")[:2000] or None, "created_at": now}
        for q, r in zip(rows, results)])


# ---------------------------------------------------------------- views for pages/API
def as_dict(inv, *, with_document=True):
    out = {
        "number": inv.number, "key": inv.key, "state": inv.state, "status": inv.chain_status,
        "flags": inv.flags, "flag_names": [f["name"] for f in flag_words(inv.flags or 0)],
        "check_code": inv.check_code, "net": int(inv.net), "tax": int(inv.tax), "gross": int(inv.gross),
        "rate": inv.rate, "rates": rates_of(inv), "issue_date": inv.issue_date, "invoice_type": inv.invoice_type,
        "seller": {"name": inv.seller_name, "tax_id": inv.seller_tax_id, "address": inv.seller_address},
        "buyer": {"name": inv.buyer_name, "tax_id": inv.buyer_tax_id},
        "document_hash": inv.document_hash, "is_red_letter": inv.is_red_letter,
        "original_number": inv.original_number,
        "tx_hash": inv.outbox.tx_hash if inv.outbox else None,
        "error": inv.error,
    }
    if with_document:
        out["document"] = json.loads(inv.document) if inv.document else None
    return out


def search(query, *, user=None, q=None, status=None, buyer=None, date_from=None, date_to=None):
    """Filtered invoice query for the lists."""
    if user is not None and user.role == "merchant":
        query = query.filter(or_(Invoice.user_id == user.id, Invoice.seller_address == (user.address or "-")))
    elif user is not None and user.role == "buyer":
        query = query.filter(Invoice.buyer_tax_id == (user.buyer_tax_id or "-").upper())
    if q:
        like = f"%{q.strip()}%"
        query = query.filter(or_(Invoice.number.like(like), Invoice.buyer_name.like(like),
                                 Invoice.seller_name.like(like)))
    if status:
        if status in ("pending", "failed"):
            query = query.filter(Invoice.state == status)
        else:
            query = query.filter(Invoice.chain_status == status)
    if buyer:
        like = f"%{buyer.strip()}%"
        query = query.filter(or_(Invoice.buyer_name.like(like), Invoice.buyer_tax_id.like(like.upper())))
    if date_from:
        query = query.filter(Invoice.issue_date >= date_from)
    if date_to:
        query = query.filter(Invoice.issue_date <= date_to)
    return query.order_by(Invoice.created_at.desc(), Invoice.id.desc())
