"""The buyer's inbox (收票箱): the invoices addressed to the buyer's tax ID, searched and
filtered, each with its status in words and the red-letter notes against it; the export of a
selection, or of everything a filter matches, one row per line item (the files:
services.inbox_export).

Only a buyer with a linked tax ID (users.buyer_tax_id) has an inbox, and every query here
starts from ``own(user)``: invoices whose buyer tax ID is that one. Invoices that failed on
chain (nothing registered) are not in it."""
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, exists, not_, or_, text
from sqlalchemy.orm import aliased

from ..core import canonical
from ..core.db import get_db
from ..core.models import Invoice
from . import inbox_export, invoices
from .errors import Refused

VALID = ("Issued", "Cleared", "Flagged")  # statuses in which an invoice counts (for its open amount)
LIKE_ESCAPE = "\\"


def tax_id_of(user):
    """The buyer's tax ID; 403 for anyone else, or a buyer account not linked to one."""
    if user is None or user.role != "buyer":
        raise Refused("forbidden", _("Only buyers have an inbox."), 403)
    if not (user.buyer_tax_id or "").strip():
        raise Refused("no_buyer_tax_id", _("This account is not linked to a buyer tax ID; ask the platform's "
                                           "authority."), 403)
    return user.buyer_tax_id.strip().upper()


def own(user):
    """The query of every invoice in ``user``'s inbox (not ordered)."""
    return get_db().query(Invoice).filter(Invoice.buyer_tax_id == tax_id_of(user), Invoice.state != "failed")


# ---------------------------------------------------------------- status
def status_label(key):
    """The status in short words, in the current language: '已开具' / 'Issued'."""
    return None if key is None else invoices.STATUS_NAMES.get(key, key)


def status_key(inv, notes=()):
    """One of the status filter's keys: pending, a red-letter note, an invoice partly
    red-lettered (valid, with notes on chain against it), else its on-chain status."""
    if inv.state == "pending":
        return "pending"
    if inv.is_red_letter:
        return "RedLetterNote"
    if inv.chain_status in VALID and any(n.state == "issued" for n in notes):
        return "PartlyRedLettered"
    return inv.chain_status


def _has_note():
    note = aliased(Invoice)
    return exists().where(note.original_number == Invoice.number, note.is_red_letter.is_(True),
                          note.state == "issued")


def _status_filter(key):
    """The SQL condition of a status key, as ``status_key`` decides it for one invoice."""
    not_pending, invoice = Invoice.state != "pending", Invoice.is_red_letter.is_(False)
    if key == "pending":
        return Invoice.state == "pending"
    if key == "RedLetterNote":
        return and_(not_pending, Invoice.is_red_letter.is_(True))
    if key == "PartlyRedLettered":
        return and_(not_pending, invoice, Invoice.chain_status.in_(VALID), _has_note())
    if key in VALID:
        return and_(not_pending, invoice, Invoice.chain_status == key, not_(_has_note()))
    return and_(not_pending, invoice, Invoice.chain_status == key)


# ---------------------------------------------------------------- search
def like_pattern(term):
    """``%term%`` with LIKE's wildcards in ``term`` escaped (a % searches for a %)."""
    term = term.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{term}%"


def _item_text(pattern):
    """Some line item's name or spec is like ``pattern`` (case-insensitive): the lines are in
    the document (canonical JSON text), read with the database's JSON functions."""
    if get_db().get_bind().dialect.name == "postgresql":
        sql = ("EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN left(invoices.document, 1) = '{' "
               "AND jsonb_typeof(invoices.document::jsonb -> 'items') = 'array' "
               "THEN invoices.document::jsonb -> 'items' ELSE '[]'::jsonb END) AS it "
               "WHERE (it ->> 'name') ILIKE :item_like ESCAPE '\\' OR (it ->> 'spec') ILIKE :item_like ESCAPE '\\')")
        return text(sql).bindparams(item_like=pattern)
    sql = ("EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(invoices.document) THEN invoices.document "
           "ELSE '{}' END, '$.items') AS it "
           "WHERE lower(json_extract(it.value, '$.name')) LIKE :item_like ESCAPE '\\' "
           "OR lower(json_extract(it.value, '$.spec')) LIKE :item_like ESCAPE '\\')")
    return text(sql).bindparams(item_like=pattern.lower())


def filtered(user, f):
    """``user``'s inbox with the filters of ``f`` (an InboxQuery or alike: q, status, seller,
    date_from, date_to, amount_min, amount_max), newest issue date first."""
    query = own(user)
    if f.q and f.q.strip():
        like = like_pattern(f.q)
        query = query.filter(or_(Invoice.number.like(like, escape=LIKE_ESCAPE),
                                 Invoice.seller_name.ilike(like, escape=LIKE_ESCAPE),
                                 Invoice.seller_tax_id.ilike(like, escape=LIKE_ESCAPE), _item_text(like)))
    if f.status:
        query = query.filter(_status_filter(f.status))
    if f.seller and f.seller.strip():
        like = like_pattern(f.seller)
        query = query.filter(or_(Invoice.seller_name.ilike(like, escape=LIKE_ESCAPE),
                                 Invoice.seller_tax_id.ilike(like, escape=LIKE_ESCAPE)))
    if f.date_from:
        query = query.filter(Invoice.issue_date >= f.date_from)
    if f.date_to:
        query = query.filter(Invoice.issue_date <= f.date_to)
    if f.amount_min is not None:
        query = query.filter(Invoice.gross >= f.amount_min)
    if f.amount_max is not None:
        query = query.filter(Invoice.gross <= f.amount_max)
    return query.order_by(Invoice.issue_date.desc(), Invoice.number.desc())


def notes_against(user, numbers):
    """{original number: [its red-letter notes in ``user``'s inbox, oldest first]}."""
    found = {}
    if not numbers:
        return found
    rows = (own(user).filter(Invoice.is_red_letter.is_(True), Invoice.original_number.in_(list(numbers)))
            .order_by(Invoice.issue_date, Invoice.number).all())
    for note in rows:
        found.setdefault(note.original_number, []).append(note)
    return found


def note_ref(note):
    return {"number": note.number, "issue_date": note.issue_date, "net": int(note.net), "tax": int(note.tax),
            "gross": int(note.gross), "state": note.state, "status": note.chain_status}


def entries(user, rows):
    """What the page and the API show of each invoice: its dict (services.invoices.as_dict,
    without the document), the status key and words, the notes against it."""
    notes = notes_against(user, [r.number for r in rows if not r.is_red_letter])
    out = []
    for inv in rows:
        own_notes = notes.get(inv.number, [])
        key = status_key(inv, own_notes)
        out.append(invoices.as_dict(inv, with_document=False) | {
            "status_key": key, "status_label": status_label(key), "status_text": invoices.status_words(key),
            "status_explained": invoices.STATUS_MEANINGS.get(key),
            "item_count": inv.item_count, "flags_explained": invoices.flag_words(inv.flags or 0),
            "notes": [note_ref(n) for n in own_notes],
            "red_lettered": sum(int(n.gross) for n in own_notes if n.state == "issued"),
            "has_document": bool(inv.document)})
    return out


def page(user, f):
    """One page of the filtered inbox: {"total", "page", "per_page", "invoices": entries}."""
    query = filtered(user, f)
    total = query.order_by(None).count()  # a count needs no ORDER BY (it sorted every row: bench-scale)
    rows = query.offset((f.page - 1) * f.per_page).limit(f.per_page).all()
    return {"total": total, "page": f.page, "per_page": f.per_page, "invoices": entries(user, rows)}


def sellers(user, limit=200):
    """The sellers that sent ``user`` invoices: [(name, tax ID)], by name (the page's list)."""
    rows = (own(user).with_entities(Invoice.seller_name, Invoice.seller_tax_id).distinct()
            .order_by(Invoice.seller_name, Invoice.seller_tax_id).limit(limit).all())
    return [(name, tax_id) for name, tax_id in rows if name or tax_id]


# ---------------------------------------------------------------- export
def selected(user, numbers):
    """The invoices ``numbers`` names, in the inbox's order; 404 naming those that are not
    in ``user``'s inbox (unknown or someone else's: the same answer)."""
    numbers = list(dict.fromkeys(numbers))
    rows = (own(user).filter(Invoice.number.in_(numbers))
            .order_by(Invoice.issue_date.desc(), Invoice.number.desc()).all())
    missing = sorted(set(numbers) - {r.number for r in rows})
    if missing:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise Refused("not_found", _("These invoices are not in your inbox: %(numbers)s.", numbers=shown), 404,
                      fields={"numbers": _("not in your inbox: %(numbers)s", numbers=shown)})
    return rows


def export(user, f, numbers, fmt, *, max_invoices):
    """The export file of the invoices ``numbers`` names (when given: the filters do not
    apply) or of every invoice the filters of ``f`` match. Returns (bytes, content type,
    file name, number of invoices). More than ``max_invoices``: refused (400)."""
    if fmt not in inbox_export.FORMATS:
        raise Refused("bad_format", _("The export format is CSV or XLSX."), 400,
                      fields={"format": _("csv or xlsx")})
    if numbers:
        rows = selected(user, numbers)
    else:
        rows = filtered(user, f).limit(max_invoices + 1).all()
    if len(rows) > max_invoices:
        raise Refused("too_many_invoices", _("At most %(count)s invoices per export: narrow the filter or export in "
                                             "parts.", count=max_invoices),
                      400, fields={"numbers": _("at most %(count)s invoices", count=max_invoices)})
    notes = notes_against(user, [r.number for r in rows if not r.is_red_letter])
    lines = []
    for inv in rows:
        lines.extend(inbox_export.invoice_rows(inv, status_label(status_key(inv, notes.get(inv.number, ())))))
    data, content_type, ext = inbox_export.render(fmt, lines)
    stamp = datetime.now(canonical.CHINA).strftime("%Y%m%d-%H%M%S")
    return data, content_type, f"inbox-{stamp}.{ext}", len(rows)
