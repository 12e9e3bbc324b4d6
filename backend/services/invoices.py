"""Invoices as people see them: lookup and who may see or act on one, status words, flags,
the dict the pages and the API show, and the filtered lists."""
import json
import re

from sqlalchemy import column, or_, select, table

from ..core import buyer_privacy, canonical
from ..core.db import SEARCH_TABLE, get_db
from ..core.models import ChainEvent, Invoice
from .errors import Refused

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


NUMBER_RE = re.compile(r"^[0-9]{20}$")


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


def held_buyer(inv):
    """(salt, tag) of the buyer block of the document the platform holds for ``inv``; None when
    it holds none (an invoice registered by another client) or a version 1 document."""
    if not inv.document:
        return None
    try:
        return buyer_privacy.document_buyer(json.loads(inv.document))
    except ValueError:
        return None


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


def flag_words(flags):
    return [{"bit": bit, "name": name, "text": text} for bit, name, text in FLAGS if flags & bit]


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


# the trigram index of the lists' search (SQLite; migration 0012): rowid is the invoice's id
SEARCH_INDEX = table(SEARCH_TABLE, column("rowid"), column(SEARCH_TABLE))
TRIGRAM = 3  # the index finds terms of 3 characters or more
# a term in more invoices than this is common ("有限公司"): reading the table with LIKE, as
# without the index, is then cheaper than fetching each invoice the index names
MAX_CANDIDATES = 5000


def trigram_query(term, columns):
    """The FTS5 query for ``term`` in ``columns``: the trigrams that tile it (every third one,
    and the last), each quoted as an FTS5 string, so whatever a person types (AND, *,
    NEAR(…), quotes) is text, never query syntax. An invoice containing the term contains
    them all; fewer trigrams than the whole phrase's read fewer of the long lists of common
    ones (a tax ID's region prefix is in every invoice)."""
    starts = sorted(set(range(0, len(term) - 2, TRIGRAM)) | {len(term) - TRIGRAM})
    grams = " AND ".join('"' + term[i:i + TRIGRAM].replace('"', '""') + '"' for i in starts)
    return f"{{{' '.join(columns)}}} : ({grams})"


def candidates(term, columns):
    """The ids of the invoices the trigram index finds ``term`` in: a superset of LIKE's
    (the index also folds the case of non-ASCII letters), so LIKE still decides, on these
    rows only. None where there is no index to ask (PostgreSQL, whose LIKE uses its pg_trgm
    index itself; a term under 3 characters, or with a NUL, which ends an FTS5 query) or the
    term is common (MAX_CANDIDATES)."""
    if len(term) < TRIGRAM or "\x00" in term or get_db().get_bind().dialect.name != "sqlite":
        return None
    found = select(SEARCH_INDEX.c.rowid).where(SEARCH_INDEX.c[SEARCH_TABLE].match(trigram_query(term, columns)))
    ids = get_db().execute(found.limit(MAX_CANDIDATES + 1)).scalars().all()
    return ids if len(ids) <= MAX_CANDIDATES else None


def containing(term, columns):
    """The invoices with ``term`` (stripped; LIKE's wildcards are text) in one of ``columns``
    (names of Invoice's columns; a tax ID is compared upper-cased), among the index's
    candidates where it has them."""
    term = term.strip()
    like = or_(*(getattr(Invoice, c).contains(term.upper() if c.endswith("tax_id") else term, autoescape=True)
                 for c in columns))
    ids = candidates(term, columns)
    return like if ids is None else Invoice.id.in_(ids) & like


def search(query, *, user=None, q=None, status=None, buyer=None, date_from=None, date_to=None):
    """Filtered invoice query for the lists, newest first. ``q`` and ``buyer`` are
    substrings (of the number or either party's name; of the buyer's name or tax ID)."""
    if user is not None and user.role == "merchant":
        query = query.filter(or_(Invoice.user_id == user.id, Invoice.seller_address == (user.address or "-")))
    elif user is not None and user.role == "buyer":
        query = query.filter(Invoice.buyer_tax_id == (user.buyer_tax_id or "-").upper())
    if q and q.strip():
        query = query.filter(containing(q, ("number", "buyer_name", "seller_name")))
    if status:
        if status in ("pending", "failed"):
            query = query.filter(Invoice.state == status)
        else:
            query = query.filter(Invoice.chain_status == status)
    if buyer and buyer.strip():
        query = query.filter(containing(buyer, ("buyer_name", "buyer_tax_id")))
    if date_from:
        query = query.filter(Invoice.issue_date >= date_from)
    if date_to:
        query = query.filter(Invoice.issue_date <= date_to)
    return query.order_by(Invoice.created_at.desc(), Invoice.id.desc())


def timeline(inv):
    """The indexed chain events of an invoice (and of the notes against it), oldest first."""
    rows = (get_db().query(ChainEvent)
            .filter((ChainEvent.invoice_key == inv.key) | (ChainEvent.related_key == inv.key))
            .order_by(ChainEvent.block_number, ChainEvent.log_index).all())
    return [{"event": r.event, "block": r.block_number, "time": r.block_time, "tx_hash": r.tx_hash,
             "args": json.loads(r.args)} for r in rows]
