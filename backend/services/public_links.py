"""The public link of an invoice: a signed, expiring URL (itsdangerous
URLSafeTimedSerializer with SECRET_KEY, salt "public-invoice") that shows one invoice and
its PDF to whoever holds it, without an account. The token carries the invoice number and
its document hash, so it names one document; it expires after PUBLIC_LINK_MAX_AGE_DAYS."""
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..core.db import get_db
from ..core.models import Invoice
from .errors import Refused

SALT = "public-invoice"
PATH = "p/"  # backend.web.public: /p/<token>


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def max_age_days():
    return float(current_app.config["PUBLIC_LINK_MAX_AGE_DAYS"])


def token(inv):
    """The signed token of ``inv`` (number and the first 16 hex digits of its document hash)."""
    return _serializer().dumps({"n": inv.number, "h": (inv.document_hash or "")[2:18]})


def url(inv, base_url):
    return f"{base_url.rstrip('/')}/{PATH}{token(inv)}"


def invoice_of(value):
    """The invoice a token names. Refused 403 ``link_invalid`` (tampered, or not ours), 410
    ``link_expired``, 404 when the invoice is gone or is not issued."""
    try:
        data = _serializer().loads(value, max_age=int(max_age_days() * 86400))
    except SignatureExpired:
        raise Refused("link_expired", _("This link has expired: ask the seller for a new one, or verify the invoice "
                                        "on the verification page."), 410) from None
    except BadSignature:
        raise Refused("link_invalid", _("This link is not valid (altered or incomplete)."), 403) from None
    inv = get_db().query(Invoice).filter_by(number=str(data.get("n", ""))).first() if isinstance(data, dict) else None
    if inv is None or (inv.document_hash or "")[2:18] != data.get("h") or inv.state != "issued":
        raise Refused("not_found", _("No such invoice, or it is not registered on chain yet."), 404)
    return inv
