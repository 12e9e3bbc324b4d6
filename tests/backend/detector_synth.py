"""Synthetic invoices for the detector's tests: a clean population (merchants of different
sizes issuing on working days in business hours, lognormal amounts, a few dozen buyers each
with a skew, a little business between merchants, now and then a void) and one planted
anomaly of each kind. ``rows`` are backend.services.detector.Row; ``as_columns`` turns them into
``invoices`` table rows for a database."""
import math
import random
from datetime import datetime, timedelta

from backend.core.canonical import CHINA, invoice_key
from backend.services.detector import Row

START = datetime(2026, 1, 5, tzinfo=CHINA)  # a Monday
CAP = 10_000_000_00


def tax_id(i, kind="M"):
    return f"9144{i:06d}{kind}{i:07d}"[:18].ljust(18, "0")


class Book:
    def __init__(self, seed=7):
        self.rnd = random.Random(seed)
        self.serial = 0
        self.rows = []

    def add(self, seller, buyer, gross, moment, *, status="Issued", red=False, seller_name=None, buyer_name=None):
        self.serial += 1
        ts = int(moment.timestamp())
        row = Row(f"26440{self.serial:015d}", seller, seller_name or f"商户{seller[-4:]}", buyer,
                  buyer_name or f"客户{buyer[-4:]}", int(gross), ts, moment.astimezone(CHINA).date().isoformat(),
                  status, red, "0x" + seller.encode().hex()[:40].ljust(40, "0"))
        self.rows.append(row)
        return row


def clean_population(merchants=200, days=120, invoices=None, seed=7, b2b_share=0.03):
    """A clean population: ``invoices`` in all (about) over ``days`` across ``merchants``."""
    book = Book(seed)
    rnd = book.rnd
    ids = [tax_id(i) for i in range(merchants)]
    weights = [rnd.lognormvariate(0, 1) for _ in ids]
    total_w = sum(weights)
    target = invoices or merchants * days * 2
    for m, w in zip(ids, weights):
        per_day = target * w / total_w / days * 7 / 5  # working days only
        median = rnd.choice((5_000_00, 20_000_00, 80_000_00, 300_000_00))
        buyers = [f"9153{rnd.randrange(10**6):06d}B{rnd.randrange(10**7):07d}" for _ in range(rnd.randint(8, 60))]
        buyer_w = [1 / (k + 1) for k in range(len(buyers))]
        for d in range(days):
            day = START + timedelta(days=d)
            if day.weekday() >= 5:
                continue
            for _ in range(_poisson(rnd, per_day)):
                moment = day.replace(hour=rnd.randint(9, 17), minute=rnd.randrange(60), second=rnd.randrange(60))
                b2b = rnd.random() < b2b_share
                buyer = rnd.choice(ids) if b2b else rnd.choices(buyers, buyer_w)[0]
                if buyer == m:
                    continue
                gross = min(int(rnd.lognormvariate(math.log(median), 0.9)), CAP // 2) + rnd.randrange(1, 99)
                status = "Voided" if rnd.random() < 0.01 else "Issued"
                book.add(m, buyer, gross, moment, status=status)
    return book


def _poisson(rnd, lam):
    if lam > 30:
        return max(0, int(rnd.gauss(lam, math.sqrt(lam))))
    n, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rnd.random()
        if p <= limit:
            return n
        n += 1


def plant_all(book, days=120):
    """One anomaly of each kind on merchants of its own (new tax IDs, so nothing else they do
    blurs it). Returns {kind: the merchant tax IDs it concerns}."""
    rnd = book.rnd
    base = START + timedelta(days=days - 20)
    planted = {}

    def steady(m, upto_days, per_day=3, gross=50_000_00):
        for d in range(upto_days):
            day = START + timedelta(days=d)
            if day.weekday() < 5:
                for k in range(per_day):
                    book.add(m, f"9153000000C{(d * per_day + k) % 10:07d}", gross + rnd.randrange(1, 9_999_00),
                             day.replace(hour=10 + k % 6, minute=rnd.randrange(60)))

    m = tax_id(9001)  # split: five near-cap invoices to one buyer within 40 minutes
    steady(m, days - 25)
    for k in range(5):
        book.add(m, "91530100MA6K0002XU", int(CAP * 0.96) + k * 777, base.replace(hour=14, minute=8 * k))
    planted["split_invoicing"] = [m]
    m = tax_id(9002)  # volume spike: 12× a day
    steady(m, days - 25)
    for k in range(40):
        book.add(m, f"9153000000D{k:07d}", 60_000_00 + k * 137, base.replace(hour=9 + k % 9, minute=k))
    planted["volume_spike"] = [m]
    cycle = [tax_id(9003), tax_id(9004), tax_id(9005)]  # circular: A→B→C→A within two days
    for i, a in enumerate(cycle):
        steady(a, days - 25, per_day=1)
        book.add(a, cycle[(i + 1) % 3], 3_000_000_00 + i * 1_234, base + timedelta(hours=10 + 12 * i))
    planted["circular_invoicing"] = sorted(cycle)
    m = tax_id(9006)  # high void ratio: half of a month voided
    for k in range(20):
        book.add(m, f"9153000000E{k:07d}", 10_000_00 + k, base.replace(day=1) + timedelta(days=k, hours=10),
                 status="Voided" if k % 2 else "Issued")
    planted["high_void_ratio"] = [m]
    m = tax_id(9007)  # dormant then a burst: 10 days of activity, 80 quiet days, then 15 in two days
    steady(m, 10)
    for k in range(15):
        book.add(m, f"9153000000F{k:07d}", 30_000_00 + k * 11, base + timedelta(hours=9 + k))
    planted["dormant_burst"] = [m]
    m = tax_id(9008)  # round amounts: 12 invoices of whole ¥10,000s in a month
    for k in range(12):
        book.add(m, f"9153000000G{k:07d}", (k + 1) * 1_000_000, base.replace(day=2) + timedelta(days=k, hours=11))
    planted["round_amounts"] = [m]
    m = tax_id(9009)  # unusual hours: 8 invoices at 02:00-04:00 China time
    for k in range(8):
        book.add(m, f"9153000000H{k:07d}", 20_000_00 + k * 31, base.replace(day=3, hour=2 + k % 2) + timedelta(days=k))
    planted["unusual_hours"] = [m]
    m = tax_id(9010)  # buyer concentration: 25 invoices, 24 to one buyer
    for k in range(25):
        book.add(m, "9153000000J0000001" if k else "9153000000J0000014", 40_000_00 + k * 17,
                 base.replace(day=4) + timedelta(days=k % 20, hours=10))
    planted["buyer_concentration"] = [m]
    return planted


def as_columns(rows):
    """``rows`` as dicts for an INSERT into ``invoices``."""
    from backend.core.models import utcnow

    now = utcnow()
    return [{"number": r.number, "key": invoice_key(r.number), "user_id": None, "seller_address": r.seller_address,
             "seller_name": r.seller_name, "seller_tax_id": r.seller, "buyer_name": r.buyer_name,
             "buyer_tax_id": r.buyer, "issue_date": r.day, "issued_at": r.issued_at, "invoice_type": 0, "rate": 13,
             "rate_mask": 1 << 13, "item_count": 1, "net": r.gross * 100 // 113, "tax": r.gross - r.gross * 100 // 113,
             "gross": r.gross, "document": "", "document_hash": "0x" + "00" * 32, "is_red_letter": r.is_red_letter,
             "original_number": None, "state": "issued", "chain_status": r.status, "flags": 0, "created_at": now,
             "updated_at": now} for r in rows]
