"""What the detector's rules share: the kinds, severities and statuses with their words, the
invoice row the rules read (``Row``, one SELECT of the invoice columns they need), what a rule
finds (``Finding``), and small helpers of time and text."""
import hashlib
import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import NamedTuple

from babel.support import NullTranslations, Translations
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...core.canonical import CHINA
from ...core.i18n import TRANSLATIONS, Translated, compile_catalogs
from ...core.models import Invoice
from ...schemas.alerts import KINDS, SEVERITIES, STATUSES  # noqa: F401 - re-exported


KIND_LABELS = Translated({
    "split_invoicing": _l("Split invoicing"),
    "volume_spike": _l("Volume spike"),
    "circular_invoicing": _l("Circular invoicing"),
    "high_void_ratio": _l("High void/red-letter ratio"),
    "dormant_burst": _l("Dormant, then a burst"),
    "round_amounts": _l("Round-amount clustering"),
    "unusual_hours": _l("Issuance at unusual hours"),
    "buyer_concentration": _l("Buyer concentration"),
})
SEVERITY_LABELS = Translated({"low": _l("Low"), "medium": _l("Medium"), "high": _l("High")})
STATUS_LABELS = Translated({"open": _l("Open"), "acknowledged": _l("Acknowledged"), "resolved": _l("Resolved")})


class Phrase:
    """A message of an alert's explanation with its values, put into words per language (a value
    may be a Phrase too). Explanations are stored in both languages (``explained``): the
    detector runs without a request, often without an app."""

    def __init__(self, msgid, **values):
        self.msgid, self.values = msgid, values

    def say(self, translations):
        return translations.gettext(self.msgid) % {k: _say(v, translations) for k, v in self.values.items()}


def _say(value, translations):
    """A value in words: a Phrase translated, a list of them joined by arrows (a cycle's path)."""
    if isinstance(value, Phrase):
        return value.say(translations)
    if isinstance(value, list):
        return " → ".join(_say(v, translations) for v in value)
    return value


_catalog = {"mtime": None, "translations": None}


def _chinese():
    """The Chinese catalog (compiled from the .po when it is newer), reloaded when it changes."""
    compile_catalogs()
    path = os.path.join(TRANSLATIONS, "zh", "LC_MESSAGES", "messages.mo")
    mtime = os.path.getmtime(path) if os.path.exists(path) else None
    if _catalog["mtime"] != mtime or _catalog["translations"] is None:
        _catalog["translations"], _catalog["mtime"] = Translations.load(TRANSLATIONS, ["zh"]), mtime
    return _catalog["translations"]


def explained(phrase):
    """An alert's explanation (a Phrase): the Chinese line, then the English one (``explanation_in``
    picks one)."""
    return phrase.say(_chinese()) + "\n" + phrase.say(NullTranslations())


def explanation_in(text, language):
    """The line of a stored explanation (Chinese, then English) in ``language`` ('zh'/'en')."""
    zh, _, en = (text or "").partition("\n")
    return en if language == "en" and en else zh


VOIDED = ("Voided", "RedLettered", "PartlyRedLettered")
MAX_EVIDENCE_INVOICES = 500  # numbers kept on one alert (the evidence says how many there were)

class Row(NamedTuple):
    number: str
    seller: str  # the seller's tax ID (its address when the invoice names none)
    seller_name: str
    buyer: str  # the buyer's tax ID ("" when unknown: an invoice registered by another client)
    buyer_name: str
    gross: int  # fen
    issued_at: int  # unix seconds
    day: str  # issue_date, YYYY-MM-DD China time
    status: str  # the chain status (Issued, Voided …), "" when not known yet
    is_red_letter: bool
    seller_address: str = ""


COLUMNS = (Invoice.number, Invoice.seller_tax_id, Invoice.seller_address, Invoice.seller_name, Invoice.buyer_tax_id,
           Invoice.buyer_name, Invoice.gross, Invoice.issued_at, Invoice.issue_date, Invoice.chain_status,
           Invoice.is_red_letter)


def _row(r):
    number, tax_id, address, name, buyer, buyer_name, gross, issued_at, day, status, red = r
    return Row(number, tax_id.upper() if tax_id else (address or ""), name or "",
               (buyer or "").upper(), buyer_name or "", int(gross or 0), int(issued_at or 0), day or "",
               status or "", bool(red), address or "")


def _select(*where):
    return select(*COLUMNS).where(Invoice.state != "failed", *where)


@dataclass
class Finding:
    kind: str
    severity: str
    fingerprint: str
    merchants: list
    invoices: list
    evidence: dict
    explanation: str
    window_start: datetime | None = None
    window_end: datetime | None = None


def _fingerprint(kind, *parts):
    text = ":".join([kind, *[str(p) for p in parts]])
    if len(text) > 160:
        text = kind + ":" + hashlib.sha256(text.encode()).hexdigest()
    return text


def _utc(ts):
    return datetime.fromtimestamp(int(ts), timezone.utc).replace(tzinfo=None)


def _china(ts):
    return datetime.fromtimestamp(int(ts), CHINA)


def _hm(ts):
    return _china(ts).strftime("%Y-%m-%d %H:%M")


def _day_start(day):
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, tzinfo=CHINA).astimezone(timezone.utc).replace(tzinfo=None)


def _numbers(rows):
    out = [r.number for r in rows]
    return out[:MAX_EVIDENCE_INVOICES]


def _pct(x):
    return f"{x * 100:.0f}%"


def _originals(rows):
    return [r for r in rows if not r.is_red_letter]


