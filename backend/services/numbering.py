"""Invoice numbers from the merchants' own ranges (号段), contracts v2.

The authority allocates each merchant a range on chain
(``InvoiceRegistry.allocateNumberRange(merchant, prefix, count)``; the registry refuses an
invoice whose number lies outside its seller's range). The prefix is 5 digits: the year
(YY, China time), the region (the merchant's USCC positions 3-4, its province code; else
``INVOICE_REGION``) and the channel ``1`` (issued through the platform). A number is the
prefix and a 15-digit sequence.

The platform keeps each merchant's range and its next number in ``number_ranges`` and hands
numbers out sequentially with one atomic ``UPDATE … RETURNING`` (unique across threads and
processes) run in the caller's session (``take``): in the transaction that journals the
invoice, so a refused or rolled-back issuance gives its number back (no gaps). Before that,
``next_number`` only looks at the next number (``peek``), to estimate the transaction.
When the range is used up, or its year is over, the backend first reads the range on chain (the authority may have allocated one from elsewhere) and otherwise
allocates a new one itself, signing as the authority (a user with role ``authority`` whose
key it holds); without such a key the issuance is refused with ``NumberRangeExhausted``
and the authority allocates from the merchants page (or ``POST /api/v1/merchants/{id}/numbers``).
"""
import threading
from collections import defaultdict
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select, update

from ..chain import get_chain, get_keyring, get_signer
from ..chain.client import REGISTRY
from ..chain.errors import ChainRefusal
from ..core import canonical
from ..core.db import db, get_db
from ..core.models import Invoice, NumberRange, User
from .errors import Refused

CHANNEL = "1"  # 5th digit of the number: issued through the platform
SEQ = 10**15  # a number is prefix * SEQ + sequence
_locks = defaultdict(threading.Lock)
_guard = threading.Lock()


def _lock(address):
    with _guard:
        return _locks[address]


def _now():
    return datetime.now(canonical.CHINA)


def region_of(tax_id):
    """Region digits of a merchant's numbers: its USCC's province code (positions 3-4),
    else the configured ``INVOICE_REGION``."""
    if isinstance(tax_id, str) and len(tax_id) >= 4 and tax_id[2:4].isdigit():
        return tax_id[2:4]
    return str(current_app.config["INVOICE_REGION"])[:2].rjust(2, "0")


def prefix_for(tax_id, when=None) -> int:
    """YY + region + channel, as an integer below 100000."""
    when = when or _now()
    return int(f"{when.year % 100:02d}{region_of(tax_id)}{CHANNEL}")


def format_number(prefix, seq) -> str:
    return f"{prefix:05d}{seq:015d}"


def _this_year(when):
    yy = (when or _now()).year % 100
    return NumberRange.prefix >= yy * 1000, NumberRange.prefix < (yy + 1) * 1000


class NumberGone(Exception):
    """The numbers looked at (``peek``) were gone when they were to be taken (``take``):
    the range ran out meanwhile; the caller looks again."""


def _left(address, count, when):
    """Where ``address``'s stored range of this year has ``count`` numbers left."""
    return (NumberRange.merchant == address, NumberRange.next_seq + (count - 1) <= NumberRange.last_seq,
            *_this_year(when))


def take(session, address, count=1, when=None):
    """``count`` consecutive numbers of ``address``'s stored range, taken in ``session``'s
    transaction (a rollback gives them back; the row stays locked until it ends), or None
    when it has no range of this year with ``count`` numbers left."""
    row = session.execute(
        update(NumberRange)
        .where(*_left(address, count, when))
        .values(next_seq=NumberRange.next_seq + count)
        .returning(NumberRange.prefix, NumberRange.next_seq)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        return None
    return [format_number(row[0], seq) for seq in range(row[1] - count, row[1])]


def peek(address, count=1, when=None):
    """The number ``take`` would hand out next (nothing taken), or None like ``take``."""
    with db.engine.connect() as conn:
        row = conn.execute(select(NumberRange.prefix, NumberRange.next_seq).where(*_left(address, count, when))).first()
    return None if row is None else format_number(row[0], row[1])


def usable(address, when=None):
    """Whether ``address`` has a stored range of this year with numbers left."""
    return peek(address, when=when) is not None


def record_range(address, first, last):
    """Store the on-chain range ``first``..``last`` of ``address`` (0, 0: none). Returns True
    when the stored range changed. Numbers of the range the database already holds (an
    earlier deployment's invoices) are skipped."""
    with db.engine.begin() as conn:
        row = conn.execute(select(NumberRange.prefix, NumberRange.first_seq, NumberRange.last_seq)
                           .where(NumberRange.merchant == address)).first()
        if not first:
            if row is None:
                return False
            conn.execute(delete(NumberRange).where(NumberRange.merchant == address))
            return True
        prefix, first_seq = divmod(int(first), SEQ)
        last_prefix, last_seq = divmod(int(last), SEQ)
        if last_prefix != prefix:  # a range never crosses its prefix; refuse to guess
            raise ValueError(f"number range {first}..{last} spans two prefixes")
        if row is not None and tuple(row) == (prefix, first_seq, last_seq):
            return False
        used = conn.execute(select(func.max(Invoice.number)).where(
            Invoice.number >= format_number(prefix, first_seq),
            Invoice.number <= format_number(prefix, last_seq))).scalar()
        start = first_seq if used is None else max(first_seq, int(used) % SEQ + 1)
        values = {"prefix": prefix, "first_seq": first_seq, "last_seq": last_seq, "next_seq": start}
        if row is None:
            conn.execute(insert(NumberRange).values(merchant=address, **values))
        else:
            conn.execute(update(NumberRange).where(NumberRange.merchant == address).values(**values))
    return True


def sync_from_chain(address):
    """Copy ``numberRangeOf(address)`` into the database; True when it changed."""
    first, last = get_chain().call(REGISTRY, "numberRangeOf", address)
    return record_range(address, first, last)


def range_of(address):
    """{"first", "last", "next", "left"} of the stored range (numbers as strings), or None."""
    with db.engine.connect() as conn:  # not the session: the counters move outside it
        row = conn.execute(select(NumberRange.prefix, NumberRange.first_seq, NumberRange.last_seq,
                                  NumberRange.next_seq).where(NumberRange.merchant == address)).first()
    if row is None:
        return None
    return {"first": format_number(row.prefix, row.first_seq), "last": format_number(row.prefix, row.last_seq),
            "next": format_number(row.prefix, row.next_seq) if row.next_seq <= row.last_seq else None,
            "left": max(0, row.last_seq - row.next_seq + 1)}


def allocate_range(authority_address, merchant_address, tax_id, count=None):
    """The authority allocates a fresh range to the merchant on chain (replacing its previous
    one) and the platform records it. Returns (the stored range, TxResult). Raises ChainRefusal."""

    count = int(count or current_app.config["NUMBER_RANGE_SIZE"])
    result = get_signer().transact(authority_address, REGISTRY, "allocateNumberRange", merchant_address,
                                  prefix_for(tax_id), count, ref=f"numbers:{tax_id}"[:80])
    if result.status != "mined":
        r = result.refusal
        raise Refused(r.name if r else "Reverted", r.message if r else _("The allocation did not go through."), 409)
    sync_from_chain(merchant_address)
    return range_of(merchant_address), result


def authority_signer():
    """Address of an authority user whose key the platform holds and who has
    AUTHORITY_ROLE on the registry, or None."""
    keyring = get_keyring()
    chain = get_chain()
    role = None
    for user in get_db().query(User).filter(User.role == "authority", User.active.is_(True),
                                            User.address.isnot(None)).order_by(User.id):
        if not keyring.has(user.address):
            continue
        if role is None:
            role = chain.call(REGISTRY, "AUTHORITY_ROLE")
        if chain.call(REGISTRY, "hasRole", role, user.address):
            return user.address
    return None


def exhausted():
    return Refused("NumberRangeExhausted",
                   _("The merchant has no usable invoice-number range (none, used up, or last year's) and the "
                     "platform cannot allocate one as the authority: the authority allocates it on the merchants "
                     "page."), 409)


def next_number(address, tax_id, count=1):
    """The merchant's next number, not taken (``take`` takes it in the journaling
    transaction), allocating a new range when fewer than ``count`` numbers are left."""
    number = peek(address, count)
    if number is not None:
        return number
    with _lock(address):  # one allocation per merchant at a time in this process
        number = peek(address, count)
        if number is not None:
            return number
        if sync_from_chain(address):
            number = peek(address, count)
            if number is not None:
                return number
        signer = authority_signer()
        if signer is None:
            raise exhausted()
        try:
            allocate_range(signer, address, tax_id, max(count, int(current_app.config["NUMBER_RANGE_SIZE"])))
        except ChainRefusal as exc:
            from .errors import refusal_from_chain

            raise refusal_from_chain(exc) from None
        number = peek(address, count)
    if number is None:
        raise exhausted()
    return number
