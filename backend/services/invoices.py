"""Invoices as people see them: lookup and who may see or act on one, status words, flags,
the dict the pages and the API show, and the filtered lists."""
import json
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import column, or_, select, table

from ..core import buyer_privacy, canonical
from ..core.db import SEARCH_TABLE, get_db
from ..core.i18n import Translated
from ..core.models import ChainEvent, Invoice
from .errors import Refused

# an invoice's status in a word or two (badges, filters, the inbox, reports, e-mails) and what it
# means; status_words puts them together, "<name> — <what it means>" (its page, the API's status_text)
STATUS_NAMES = Translated({
    "Issued": lambda: pgettext("invoice status", "Issued"),
    "Flagged": lambda: pgettext("invoice status", "Flagged"),
    "Cleared": lambda: pgettext("invoice status", "Cleared"),
    "Rejected": lambda: pgettext("invoice status", "Rejected"),
    "Voided": lambda: pgettext("invoice status", "Voided"),
    "RedLettered": lambda: pgettext("invoice status", "Red-lettered"),
    "PartlyRedLettered": lambda: pgettext("invoice status", "Partly red-lettered"),
    "RedLetterNote": lambda: pgettext("invoice status", "Red-letter note"),
    "pending": lambda: pgettext("invoice status", "Pending"),
    "failed": lambda: pgettext("invoice status", "Failed"),
})
STATUS_MEANINGS = Translated({
    "pending": _l("sent, waiting for the chain to register it"),
    "Issued": _l("registered and valid"),
    "Flagged": _l("recorded, waiting for an auditor's review"),
    "Cleared": _l("an auditor reviewed and cleared it"),
    "Rejected": _l("an auditor rejected it; it is not valid"),
    "Voided": _l("voided by the seller"),
    "RedLettered": _l("fully reversed by red-letter notes; not valid any more"),
    "PartlyRedLettered": _l("red-letter notes reduced part of it; it is valid for its open amount"),
    "RedLetterNote": _l("a negative invoice reducing another invoice; not an invoice to deduct or finance"),
})


def status_words(key):
    """The status and what it means: '已开具 — 已登记且有效' / 'Issued — registered and valid'
    (the key itself when it has no words; None for none)."""
    if key is None:
        return None
    meaning = STATUS_MEANINGS.get(key)
    return f"{STATUS_NAMES[key]} — {meaning}" if meaning else key


FLAGS = [
    (1, "MonthlyQuotaExceeded", _l("The merchant's monthly quota was exceeded")),
    (2, "DuplicateDocument", _l("The same document was registered before (suspected duplicate)")),
    (4, "SelfDealing", _l("Buyer and seller are the same taxpayer")),
    (8, "RateSpike", _l("More invoices this hour than the merchant's norm")),
]


# the chain events of an invoice's timeline, in words (the event's name stays in the API)
EVENT_WORDS = Translated({
    "InvoiceIssued": _l("Registered on chain"),
    "InvoiceFlagged": _l("Flagged for an auditor's review"),
    "InvoiceCleared": _l("Cleared by an auditor"),
    "InvoiceRejected": _l("Rejected by an auditor"),
    "InvoiceVoided": _l("Voided by the seller"),
    "InvoiceRedLettered": _l("Red-letter note issued against it"),
    "InvoiceAmountDrawn": _l("Receivable drawn on it"),
    "InvoiceDrawReleased": _l("Receivable's draw released"),
    "InvoiceAmountSettled": _l("Receivable settled"),
    "InvoiceClaimed": _l("Claimed in an expense claim"),
})

# a merchant registration's status, as the refusal to issue names it
REGISTRATION_WORDS = Translated({"pending": lambda: pgettext("merchant status", "pending review"),
                                 "rejected": lambda: pgettext("merchant status", "rejected"),
                                 "suspended": lambda: pgettext("merchant status", "suspended")})

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
        raise Refused("forbidden", _("Only the merchant who issued the invoice may do this."), 403)
    inv = find(number)
    if inv is None:
        raise Refused("not_found", _("No such invoice."), 404)
    if inv.user_id != user.id and inv.seller_address != user.address:
        raise Refused("forbidden", _("This invoice belongs to another merchant."), 403)
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
        raise Refused("forbidden", _("Only merchants issue invoices."), 403)
    m = user.merchant
    if m is None:
        raise Refused("MerchantNotActive", _("Register as a merchant first."), 403)
    if m.status != "approved":
        raise Refused("MerchantNotActive", _("The merchant registration is %(status)s: only approved merchants issue "
                                             "invoices.", status=REGISTRATION_WORDS.get(m.status, m.status)), 403)
    if not user.address:
        raise Refused("no_signing_key", _("This account has no chain address to sign with."), 403)
    return m


def rates_of(inv):
    """The invoice's tax rates, ascending (its rate mask; older rows: their one rate)."""
    if inv.rate_mask:
        return canonical.rates_of_mask(inv.rate_mask)
    if inv.document:
        return sorted({it["tax_rate"] for it in json.loads(inv.document).get("items", [])})
    return [inv.rate] if inv.rate is not None else []


def status_key(inv, chain_data=None):
    """The key of STATUS_NAMES that tells a person what the invoice is: a red-letter note, a
    partly red-lettered invoice (valid for its open amount), or its on-chain status."""
    if inv.is_red_letter:
        return "RedLetterNote"
    if chain_data and inv.chain_status in ("Issued", "Cleared", "Flagged") and chain_data.get("redLettered") \
            and chain_data.get("openAmount"):
        return "PartlyRedLettered"
    return inv.chain_status


def status_text(inv, chain_data=None):
    """The status explained, in the request's language (None: no status yet)."""
    return status_words(status_key(inv, chain_data))


def status_name(inv):
    """The status in a word or two (the badges): a pending or failed issuance, else the
    on-chain status; the code itself when it has no words."""
    key = inv.state if inv.state in ("pending", "failed") else inv.chain_status
    return STATUS_NAMES.get(key, key) if key else ""


def flag_words(flags):
    return [{"bit": bit, "name": name, "text": str(text)} for bit, name, text in FLAGS if flags & bit]


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
