"""What the detector's rules share: the kinds, severities and statuses with their words, the
invoice row the rules read (``Row``, one SELECT of the invoice columns they need), what a rule
finds (``Finding``), and small helpers of time and text."""
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import NamedTuple

from sqlalchemy import select

from ...core.canonical import CHINA
from ...core.models import Invoice
from ...schemas.alerts import KINDS, SEVERITIES, STATUSES  # noqa: F401 - re-exported

KIND_LABELS = {
    "split_invoicing": "拆分开票 Split invoicing",
    "volume_spike": "开票量激增 Volume spike",
    "circular_invoicing": "循环开票 Circular invoicing",
    "high_void_ratio": "作废红冲比例过高 High void/red-letter ratio",
    "dormant_burst": "休眠后突增 Dormant, then a burst",
    "round_amounts": "整数金额集中 Round-amount clustering",
    "unusual_hours": "非常规时段开票 Issuance at unusual hours",
    "buyer_concentration": "购买方集中 Buyer concentration",
}
SEVERITY_LABELS = {"low": "低 Low", "medium": "中 Medium", "high": "高 High"}
STATUS_LABELS = {"open": "待处理 Open", "acknowledged": "已确认 Acknowledged", "resolved": "已解决 Resolved"}
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


