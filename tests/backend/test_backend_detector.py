"""The detector's rules on synthetic rows (tests/backend/detector_synth.py): each planted
anomaly is found, on its own merchants only; a clean population of 200 merchants raises
nothing; the edges of each rule (just outside a window or a threshold: nothing); storing
deduplicates by fingerprint; the full scan of 100,000 invoices across 200 merchants in a
database takes well under 30 s and finds every planted anomaly."""
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import insert

from backend.core.db import db, get_db
from backend.core.models import Alert, Invoice
from backend.services import detector
from backend.services.detector import DEFAULTS, run_rules

from detector_synth import CAP, START, Book, as_columns, clean_population, plant_all, tax_id

S = dict(DEFAULTS)


def findings(book, settings=S):
    sellers = {}
    for r in book.rows:
        sellers.setdefault(r.seller, []).append(r)
    return run_rules(sellers, settings, {m: CAP for m in sellers}, set(sellers))


@pytest.fixture(scope="module")
def clean():
    return clean_population(merchants=200, days=120)


def test_clean_population_raises_nothing(clean):
    found = findings(clean)
    merchants = {m for f in found for m in f.merchants}
    assert len(clean.rows) > 40_000
    assert not found, [(f.kind, f.merchants, f.explanation[:120]) for f in found[:10]]
    assert len(merchants) < 2  # < 1 % of 200 merchants


def test_every_planted_anomaly_is_found_on_its_merchants_only(clean):
    book = Book(seed=3)
    book.rows = list(clean.rows)
    book.serial = 10**9
    planted = plant_all(book)
    found = findings(book)
    by_kind = {}
    for f in found:
        by_kind.setdefault(f.kind, set()).update(f.merchants)
    for kind, merchants in planted.items():
        assert set(merchants) <= by_kind.get(kind, set()), (kind, by_kind.get(kind))
    planted_merchants = {m for ms in planted.values() for m in ms}
    assert {m for f in found for m in f.merchants} <= planted_merchants


# ---------------------------------------------------------------- each rule's edges
A, B, C, D = tax_id(1), tax_id(2), tax_id(3), tax_id(4)
T0 = START + timedelta(days=40, hours=10)


def test_split_invoicing_edges():
    book = Book()
    near = [book.add(A, B, int(CAP * 0.95) + k, T0 + timedelta(minutes=20 * k)) for k in range(3)]
    assert [f.invoices for f in detector.split_invoicing(book.rows, S, CAP)] == [[r.number for r in near]]
    spread = Book()  # the same three over two hours: never three within 60 minutes
    for k in range(3):
        spread.add(A, B, int(CAP * 0.95), T0 + timedelta(minutes=61 * k))
    assert detector.split_invoicing(spread.rows, S, CAP) == []
    low = Book()  # 89 % of the cap: not "just under" it
    for k in range(5):
        low.add(A, B, int(CAP * 0.89), T0 + timedelta(minutes=k))
    assert detector.split_invoicing(low.rows, S, CAP) == []
    other = Book()  # to three buyers
    for k, buyer in enumerate((B, C, D)):
        other.add(A, buyer, int(CAP * 0.99), T0 + timedelta(minutes=k))
    assert detector.split_invoicing(other.rows, S, CAP) == [] and detector.split_invoicing(near, S, None) == []
    two = Book()  # two bursts a day apart: two alerts, each named after its first invoice
    for day in (0, 1):
        for k in range(3):
            two.add(A, B, int(CAP * 0.97), T0 + timedelta(days=day, minutes=k))
    assert len({f.fingerprint for f in detector.split_invoicing(two.rows, S, CAP)}) == 2


def test_volume_spike_needs_history_and_a_real_jump():
    def steady_then(last_day_count, days=30):
        book = Book()
        for d in range(days):
            for k in range(2 + d % 3):
                book.add(A, B, 10_000_00 + k * 100 + d, T0 + timedelta(days=d, minutes=k))
        for k in range(last_day_count):
            book.add(A, B, 10_000_00 + k, T0 + timedelta(days=days, minutes=k))
        return book

    found = detector.volume_spike(steady_then(30).rows, S)
    assert [f.evidence["day"] for f in found] == [(T0 + timedelta(days=30)).date().isoformat()]
    assert found[0].evidence["median_count"] == 3 and "count" in found[0].evidence["spike_in"]
    assert detector.volume_spike(steady_then(9).rows, S) == []  # three times the usual: not far above
    young = Book()  # a new merchant's busy first week: no baseline yet
    for d in range(7):
        for k in range(2 if d < 6 else 40):
            young.add(A, B, 10_000_00, T0 + timedelta(days=d, minutes=k))
    assert detector.volume_spike(young.rows, S) == []
    gross = steady_then(0)  # the usual count, a hundred times the gross
    for k in range(10):
        gross.add(A, B, 1_000_000_00, T0 + timedelta(days=31, minutes=k))
    spike = detector.volume_spike(gross.rows, S)
    assert len(spike) == 1 and "gross" in spike[0].evidence["spike_in"]


def test_circular_invoicing_edges():
    def cycle(hours, grosses=(100_000_00, 100_000_00, 100_000_00), nodes=(A, B, C)):
        book = Book()
        for i, a in enumerate(nodes):
            book.add(a, nodes[(i + 1) % len(nodes)], grosses[i], T0 + timedelta(hours=hours[i]))
        return book.rows

    found = detector.circular_invoicing(cycle((0, 30, 60)), S, {A, B, C})
    assert len(found) == 1 and set(found[0].merchants) == {A, B, C} and found[0].evidence["length"] == 3
    assert detector.circular_invoicing(cycle((0, 30, 24 * 8)), S, {A, B, C}) == []  # over 7 days
    assert detector.circular_invoicing(cycle((0, 1, 2)), S, {A, B}) == []  # C is no merchant
    assert detector.circular_invoicing(cycle((0, 1, 2), (100_000_00, 100_000_00, 10_000_00)), S, {A, B, C}) == []
    assert detector.circular_invoicing(cycle((0, 1), nodes=(A, B)), S, {A, B}) == []  # A⇄B: shorter than 3
    four = detector.circular_invoicing(cycle((0, 1, 2, 3), (1, 1, 1, 1), nodes=(A, B, C, D)), S, {A, B, C, D})
    assert [f.evidence["length"] for f in four] == [4]
    assert detector.circular_invoicing(cycle((0, 1, 2)), S, {A, B, C}, touching={D}) == []
    again = cycle((0, 30, 60)) + [r._replace(number=r.number[:-3] + "999", issued_at=r.issued_at + 30 * 86400)
                                  for r in cycle((0, 30, 60))]
    assert len(detector.circular_invoicing(again, S, {A, B, C})) == 2  # a month later: another instance


def test_monthly_rules_and_dormancy():
    book = Book()
    for k in range(12):
        book.add(A, B, 10_000_00 + k, T0 + timedelta(days=k % 20, hours=k % 3),
                 status=("Voided", "RedLettered", "Issued", "Issued")[k % 4])
    void = detector.high_void_ratio(book.rows, S)
    assert len(void) == 1 and void[0].evidence["voided"] == 3 and void[0].evidence["red_lettered"] == 3
    assert detector.high_void_ratio(book.rows, {**S, "void_ratio_percent": 60}) == []
    night = Book()
    for k in range(6):
        night.add(A, B, 10_000_00, T0.replace(hour=1) + timedelta(days=k))
    for k in range(10):
        night.add(A, B, 10_000_00, T0.replace(hour=15) + timedelta(days=k))
    assert [f.evidence["at_night"] for f in detector.unusual_hours(night.rows, S)] == [6]
    assert detector.unusual_hours(night.rows, {**S, "night_share_percent": 50}) == []
    round_ = Book()
    for k in range(10):
        round_.add(A, B, 100_000 * (k + 1) + (0 if k < 4 else 1), T0 + timedelta(days=k))
    assert detector.round_amounts(round_.rows, S) == []  # 4 of 10
    assert len(detector.round_amounts(round_.rows, {**S, "round_share_percent": 40})) == 1
    dormant = Book()
    dormant.add(A, B, 10_000_00, T0)
    for k in range(10):
        dormant.add(A, B, 10_000_00, T0 + timedelta(days=61, hours=k))
    assert [f.evidence["count"] for f in detector.dormant_burst(dormant.rows, S)] == [10]
    assert detector.dormant_burst(dormant.rows, {**S, "dormant_days": 62}) == []
    assert detector.dormant_burst(dormant.rows[1:], S) == []  # a new merchant's first days are no awakening


def test_disabled_rules():
    book = Book()
    for k in range(5):
        book.add(A, B, int(CAP * 0.97), T0 + timedelta(minutes=k))
    assert findings(book, {**S, "disabled_rules": ["split_invoicing"]}) == []
    assert [f.kind for f in findings(book)] == ["split_invoicing"]


# ---------------------------------------------------------------- the database: storing, the full scan
def test_store_dedupes_by_fingerprint(app):
    book = Book()
    for k in range(3):
        book.add(A, B, int(CAP * 0.97), T0 + timedelta(minutes=k))
    with app.app_context():
        session = get_db()
        assert detector.store(session, findings(book)) == {"created": 1, "updated": 0, "unchanged": 0}
        assert detector.store(session, findings(book)) == {"created": 0, "updated": 0, "unchanged": 1}
        book.add(A, B, int(CAP * 0.97), T0 + timedelta(minutes=9))
        assert detector.store(session, findings(book)) == {"created": 0, "updated": 1, "unchanged": 0}
        alert = session.query(Alert).one()
        assert alert.status == "open" and len(alert.invoices.split(",")) == 4


def test_full_scan_of_100000_invoices(app):
    book = clean_population(merchants=200, days=365, invoices=100_000, seed=11)
    planted = plant_all(book, days=365)
    with app.app_context():
        session = get_db()
        table = Invoice.__table__
        columns = as_columns(book.rows)
        for i in range(0, len(columns), 5000):
            session.execute(insert(table), columns[i:i + 5000])
        session.commit()
        started = time.monotonic()
        summary = detector.full_scan(session, now=START + timedelta(days=400), caps={m: CAP for m in {
            r.seller for r in book.rows}})
        took = time.monotonic() - started
        assert summary["invoices"] == len(book.rows) >= 100_000 and summary["merchants"] >= 200
        assert took < 30, summary
        found = {}
        for a in session.query(Alert):
            found.setdefault(a.kind, set()).update(json.loads(a.merchants))
        for kind, merchants in planted.items():
            assert set(merchants) <= found.get(kind, set()), (kind, summary)
        false = {m for ms in found.values() for m in ms} - {m for ms in planted.values() for m in ms}
        assert len(false) < 2, (false, summary)  # < 1 % of the merchants
        print(f"full scan: {summary}")
        again = detector.full_scan(session, now=START + timedelta(days=400), caps={r.seller: CAP for r in book.rows})
        assert again["created"] == 0 and again["unchanged"] == summary["findings"]
    with app.app_context():
        db.engine.dispose()


def test_explanations_are_stored_in_chinese_then_english_from_the_catalog():
    """Each finding's explanation: the Chinese line (the catalog's), then the English one, amounts
    in yuan and spans in words; a page shows the line of its language (issue 14)."""
    from backend.services.detector.base import explanation_in

    book = Book()
    for k in range(3):
        book.add(A, B, int(CAP * 0.95) + k, T0 + timedelta(seconds=20 * k))
    (found,) = detector.split_invoicing(book.rows, S, CAP)
    zh, en = found.explanation.split("\n")
    assert "约 1 分钟" in zh and "拆分开票以规避单张限额" in zh and "¥" in zh and "minute" not in zh
    assert "within about 1 minute (" in en and "one sale possibly split" in en and "拆分" not in en
    assert explanation_in(found.explanation, "zh") == zh and explanation_in(found.explanation, "en") == en
    assert explanation_in("只有中文", "en") == "只有中文"  # an explanation in one language: that one

    cycle = Book()
    for i, (a, b) in enumerate(((A, B), (B, C), (C, A))):
        cycle.add(a, b, 100_000_00, T0 + timedelta(hours=i))
    (circle,) = detector.circular_invoicing(cycle.rows, S, {A, B, C})
    zh, en = circle.explanation.split("\n")
    assert "3 家商户在 1 天内" in zh and "循环开票" in zh and f"（{A}） → " in zh
    assert "within 1 day (" in en and f" ({A}) → " in en and "家" not in en


def test_labels_follow_the_language_and_are_strings(app):
    from flask_babel import force_locale

    with app.test_request_context():
        with force_locale("zh"):
            assert detector.KIND_LABELS["split_invoicing"] == "拆分开票"
            assert detector.SEVERITY_LABELS.get("high") == "高" and detector.STATUS_LABELS.get("x", "?") == "?"
        with force_locale("en"):
            assert detector.KIND_LABELS.get("split_invoicing") == "Split invoicing"
            assert dict(detector.STATUS_LABELS.items())["open"] == "Open"
            assert json.dumps(detector.SEVERITY_LABELS.values()) == '["Low", "Medium", "High"]'
