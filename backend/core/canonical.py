"""The canonical invoice document and its hash.

Canonical JSON = ``json.dumps(doc, sort_keys=True, separators=(",", ":"),
ensure_ascii=False).encode("utf-8")``: keys sorted, no insignificant whitespace,
UTF-8, every amount an integer number of fen, no floats anywhere (a fractional
quantity is a decimal string). The document hash is keccak256 of those bytes; it is
what goes on chain as ``documentHash``. docs/backend.md shows how to recompute it.
"""
import json
from datetime import date, datetime, timedelta, timezone

from eth_utils import keccak

# 2 (contracts v2): the buyer block carries the buyer commitment's "salt" and "tag"
# (0x-hex, 32 bytes each) and line items may have different tax rates.
DOCUMENT_VERSION = 2
CHINA = timezone(timedelta(hours=8))


def canonical_json(doc) -> bytes:
    _reject_floats(doc)
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _reject_floats(value):
    if isinstance(value, float):
        raise TypeError("floats are not allowed in a canonical document")
    if isinstance(value, dict):
        for v in value.values():
            _reject_floats(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _reject_floats(v)


def document_hash(doc) -> str:
    """0x-prefixed keccak256 of the canonical JSON of ``doc`` (a dict, str or bytes)."""
    if isinstance(doc, str):
        data = doc.encode("utf-8")
    elif isinstance(doc, (bytes, bytearray)):
        data = bytes(doc)
    else:
        data = canonical_json(doc)
    return "0x" + keccak(data).hex()


def recanonicalize(raw: bytes) -> bytes:
    """Parse an uploaded document and return its canonical bytes (whitespace and key
    order of the upload do not matter; content does)."""
    return canonical_json(json.loads(raw.decode("utf-8")))


def item_tax(amount: int, rate: int) -> int:
    """Tax of one line: amount × rate / 100 rounded half up (amounts are >= 0)."""
    return (amount * rate + 50) // 100


def compute_totals(items):
    """Fill each item's ``tax`` and return (net, tax, gross). Items carry ``amount``
    (net, fen) and ``tax_rate`` (whole percent)."""
    net = tax = 0
    for item in items:
        item["tax"] = item_tax(item["amount"], item["tax_rate"])
        net += item["amount"]
        tax += item["tax"]
    return net, tax, net + tax


def rate_groups(items):
    """The on-chain RateGroup list of computed items: [(rate, item_count, net, tax)], one
    per rate, rates ascending; net and tax are the sums of the lines at that rate (each
    line's tax rounded half up, as ``compute_totals``)."""
    groups = {}
    for item in items:
        count, net, tax = groups.get(item["tax_rate"], (0, 0, 0))
        groups[item["tax_rate"]] = (count + 1, net + item["amount"], tax + item_tax(item["amount"], item["tax_rate"]))
    return [(rate, *groups[rate]) for rate in sorted(groups)]


def rate_mask(rates) -> int:
    """Bit r set for each rate r % (the registry's ``rateMask``)."""
    mask = 0
    for rate in rates:
        mask |= 1 << rate
    return mask


def rates_of_mask(mask: int):
    return [r for r in range(mask.bit_length()) if mask >> r & 1]


def yuan(fen) -> str:
    """Fen as yuan with two decimals, exact: 123456 → '¥1,234.56'; None → '—'."""
    if fen is None:
        return "—"
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"


def invoice_key(number: str) -> str:
    """The on-chain key: keccak256(bytes(number))."""
    return "0x" + keccak(text=number).hex()


def china_date(ts: int) -> str:
    return datetime.fromtimestamp(ts, CHINA).strftime("%Y-%m-%d")


def china_time(moment: datetime) -> str:
    """A stored (naive UTC) time as China time: "2026-12-04 22:05"."""
    return moment.replace(tzinfo=timezone.utc).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def issue_timestamp(issue_date: date, now: datetime | None = None) -> int:
    """Unix time sent as ``issuedAt`` for an invoice dated ``issue_date`` (China time):
    a few seconds ago when the date is today, noon of that day when it is past."""
    now = now or datetime.now(timezone.utc)
    today = now.astimezone(CHINA).date()
    if issue_date > today:
        raise ValueError("issue date is in the future")
    if issue_date == today:
        start = int(datetime(today.year, today.month, today.day, tzinfo=CHINA).timestamp())
        return max(start, int(now.timestamp()) - 5)
    return int(datetime(issue_date.year, issue_date.month, issue_date.day, 12, tzinfo=CHINA).timestamp())


def build_document(*, number, invoice_type, issue_date, seller, buyer, items, net, tax, gross,
                   remarks="", drawer="", original_number=None, reason_code=None):
    """The full document as a dict of str/int/list/dict/None only."""
    doc = {
        "version": DOCUMENT_VERSION,
        "currency": "CNY",
        "number": number,
        "type": invoice_type,
        "issue_date": issue_date,
        "seller": {"name": seller["name"], "tax_id": seller["tax_id"], "address": seller["address"]},
        # salt and tag open the buyer commitment on chain (InvoiceRegistry.verifyBuyer)
        "buyer": {"name": buyer["name"], "tax_id": buyer["tax_id"], "salt": buyer["salt"], "tag": buyer["tag"]},
        "items": [
            {
                "name": it["name"],
                "spec": it.get("spec", ""),
                "unit": it.get("unit", ""),
                "quantity": it["quantity"],
                "unit_price": it["unit_price"],
                "amount": it["amount"],
                "tax_rate": it["tax_rate"],
                "tax": it["tax"],
                "tax_code": it.get("tax_code", ""),
            }
            for it in items
        ],
        "net": net,
        "tax": tax,
        "gross": gross,
        "remarks": remarks,
        "drawer": drawer,
    }
    if original_number is not None:
        doc["red_letter"] = {"original_number": original_number, "reason_code": reason_code}
    return doc
