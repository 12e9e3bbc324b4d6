"""Canonical document, hash reproducibility, totals and rate groups, numbers from the
merchant's range (database part)."""
import json
import re
from datetime import date, datetime, timezone

import pytest
from eth_utils import keccak

from backend.core import canonical
from backend.services import numbering
from backend.core.db import db
from backend.services.errors import ValidationError
from backend.services.validation import validate_issue
from backend.core.models import Invoice, NumberRange

CONFIG = {"INVOICE_MAX_ITEMS": 200, "INVOICE_MAX_AMOUNT": 10**15}


def sample_doc():
    items = [{"name": "咖啡豆 Coffee", "spec": "1kg", "unit": "袋", "quantity": 3, "unit_price": 99_90,
              "amount": 299_70, "tax_rate": 13, "tax_code": "1030201"}]
    net, tax, gross = canonical.compute_totals(items)
    return canonical.build_document(number="26531000000000000001", invoice_type=0, issue_date="2026-11-21",
                                    seller={"name": "厦门示例贸易有限公司", "tax_id": "91350100M000100Y43",
                                            "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
                                    buyer={"name": "昆明示例商贸有限公司", "tax_id": "91530100MA6K0002XU",
                                           "salt": "0x" + "11" * 32, "tag": "0x" + "22" * 32},
                                    items=items, net=net, tax=tax, gross=gross)


def test_canonical_json_is_sorted_compact_utf8():
    data = canonical.canonical_json(sample_doc())
    text = data.decode("utf-8")
    assert "咖啡豆" in text  # UTF-8, not \u escapes
    assert ": " not in text and ", " not in text
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert text.startswith('{"buyer":')


def test_hash_reproducible_and_independent_of_key_order_and_whitespace():
    doc = sample_doc()
    h = canonical.document_hash(doc)
    assert h == canonical.document_hash(sample_doc())
    assert re.fullmatch(r"0x[0-9a-f]{64}", h)
    shuffled = json.dumps(dict(reversed(list(doc.items()))), indent=4, ensure_ascii=True).encode()
    assert canonical.document_hash(canonical.recanonicalize(shuffled)) == h
    # recomputable by anyone: keccak256 of the canonical bytes
    assert h == "0x" + keccak(json.dumps(doc, sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode()).hex()


def test_hash_changes_with_any_content():
    doc = sample_doc()
    h = canonical.document_hash(doc)
    doc["items"][0]["amount"] += 1
    assert canonical.document_hash(doc) != h


def test_floats_refused():
    with pytest.raises(TypeError):
        canonical.canonical_json({"net": 1.5})


def test_known_vector():
    # a fixed vector so other implementations can check themselves
    doc = {"b": 1, "a": "发票", "c": [2, {"y": None, "x": True}]}
    assert canonical.canonical_json(doc) == '{"a":"发票","b":1,"c":[2,{"x":true,"y":null}]}'.encode()
    assert canonical.document_hash(doc) == "0x" + keccak('{"a":"发票","b":1,"c":[2,{"x":true,"y":null}]}'.encode()).hex()


@pytest.mark.parametrize("amount,rate,tax", [(100, 13, 13), (150, 3, 5), (149, 3, 4), (50, 1, 1), (49, 1, 0),
                                             (1, 13, 0), (4, 13, 1), (0, 6, 0), (12345, 9, 1111)])
def test_item_tax_round_half_up(amount, rate, tax):
    assert canonical.item_tax(amount, rate) == tax


def test_totals_computed_per_item():
    items = [{"amount": 150, "tax_rate": 3}, {"amount": 150, "tax_rate": 3}]
    assert canonical.compute_totals(items) == (300, 10, 310)  # 5 + 5, not round(300*3%) = 9
    assert [i["tax"] for i in items] == [5, 5]


def test_document_v2_buyer_block_carries_salt_and_tag():
    doc = sample_doc()
    assert doc["version"] == canonical.DOCUMENT_VERSION == 2
    assert doc["buyer"] == {"name": "昆明示例商贸有限公司", "tax_id": "91530100MA6K0002XU",
                            "salt": "0x" + "11" * 32, "tag": "0x" + "22" * 32}
    other = sample_doc()
    other["buyer"]["salt"] = "0x" + "33" * 32
    assert canonical.document_hash(other) != canonical.document_hash(doc)  # the salt is part of the hash


def test_rate_groups_per_rate_ascending():
    items = [{"amount": 1000, "tax_rate": 13}, {"amount": 150, "tax_rate": 6}, {"amount": 150, "tax_rate": 6},
             {"amount": 2000, "tax_rate": 13}, {"amount": 500, "tax_rate": 0}]
    net, tax, gross = canonical.compute_totals(items)
    groups = canonical.rate_groups(items)
    assert groups == [(0, 1, 500, 0), (6, 2, 300, 18), (13, 2, 3000, 390)]  # 6 %: 9 + 9 per line, not 18 of 300
    assert (sum(g[2] for g in groups), sum(g[3] for g in groups)) == (net, tax)
    assert canonical.rate_mask([0, 6, 13]) == 1 | 1 << 6 | 1 << 13
    assert canonical.rates_of_mask(1 << 6 | 1 << 13) == [6, 13]


def test_invoice_key():
    assert canonical.invoice_key("26531000000000000001") == "0x" + keccak(b"26531000000000000001").hex()


def test_issue_timestamp_china_dates():
    now = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)  # 10:00 in China
    ts = canonical.issue_timestamp(date(2026, 11, 21), now)
    assert canonical.china_date(ts) == "2026-11-21" and ts <= now.timestamp()
    ts = canonical.issue_timestamp(date(2026, 11, 1), now)
    assert canonical.china_date(ts) == "2026-11-01"
    with pytest.raises(ValueError):
        canonical.issue_timestamp(date(2026, 11, 22), now)


def test_validate_computes_totals_and_checks_client_totals():
    body = {"buyer_name": "B", "buyer_tax_id": "91530100ma6k0002xu",
            "items": [{"name": "x", "quantity": "2.5", "unit_price": 1000, "tax_rate": 6}]}
    clean = validate_issue(body, CONFIG)
    assert clean["items"][0]["amount"] == 2500 and clean["items"][0]["quantity"] == "2.5"
    assert (clean["net"], clean["tax"], clean["gross"], clean["rate"]) == (2500, 150, 2650, 6)
    assert clean["groups"] == [(6, 1, 2500, 150)] and clean["rate_mask"] == 1 << 6
    assert clean["buyer_tax_id"] == "91530100MA6K0002XU"
    with pytest.raises(ValidationError) as e:
        validate_issue({**body, "gross": 2651}, CONFIG)
    assert "gross" in e.value.fields


@pytest.mark.parametrize("mutate,field", [
    (lambda b: b.pop("buyer_name"), "buyer_name"),
    (lambda b: b.update(buyer_name=123), "buyer_name"),
    (lambda b: b.update(buyer_tax_id="short"), "buyer_tax_id"),
    (lambda b: b.update(issue_date="2026-13-01"), "issue_date"),
    (lambda b: b.update(issue_date="2999-01-01"), "issue_date"),
    (lambda b: b.update(items=[]), "items"),
    (lambda b: b.update(items="x"), "items"),
    (lambda b: b.update(items=[{"name": "x", "unit_price": 1, "tax_rate": 13}] * 201), "items"),
    (lambda b: b["items"][0].update(unit_price=-5), "items[0].unit_price"),
    (lambda b: b["items"][0].update(unit_price=10**16), "items[0].unit_price"),
    (lambda b: b["items"][0].update(unit_price="100"), "items[0].unit_price"),
    (lambda b: b["items"][0].update(unit_price=True), "items[0].unit_price"),
    (lambda b: b["items"][0].update(tax_rate=7), "items[0].tax_rate"),
    (lambda b: b["items"][0].update(quantity=0), "items[0].quantity"),
    (lambda b: b["items"][0].update(quantity="1.1234567"), "items[0].quantity"),
    (lambda b: b["items"][0].update(amount=999), "items[0].amount"),
    (lambda b: b["items"][0].update(colour="red"), "items[0]"),
    (lambda b: b.update(invoice_type=5), "invoice_type"),
    (lambda b: b.update(extra=1), "body"),
    (lambda b: b.update(rate=6), "rate"),
    (lambda b: (b["items"].append({"name": "y", "unit_price": 1, "tax_rate": 6}), b.update(rate=13)), "rate"),
])
def test_validation_errors_per_field(mutate, field):
    body = {"buyer_name": "B", "buyer_tax_id": "91530100MA6K0002XU",
            "items": [{"name": "x", "quantity": 2, "unit_price": 1000, "tax_rate": 13}]}
    mutate(body)
    with pytest.raises(ValidationError) as e:
        validate_issue(body, CONFIG)
    assert field in e.value.fields, e.value.fields


def test_multi_rate_invoice_is_valid():
    body = {"buyer_name": "B", "buyer_tax_id": "91530100MA6K0002XU", "items": [
        {"name": "货物 goods", "quantity": 2, "unit_price": 10000, "tax_rate": 13},
        {"name": "服务 service", "quantity": 1, "unit_price": 5000, "tax_rate": 6},
        {"name": "货物 goods", "quantity": 1, "unit_price": 333, "tax_rate": 13}]}
    clean = validate_issue(body, CONFIG)
    assert clean["groups"] == [(6, 1, 5000, 300), (13, 2, 20333, 2643)]
    assert (clean["net"], clean["tax"], clean["gross"]) == (25333, 2943, 28276)
    assert clean["rates"] == [6, 13] and clean["rate"] == 13 and clean["rate_mask"] == 1 << 6 | 1 << 13


MERCHANT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
THIS_YEAR = datetime.now(canonical.CHINA).year % 100


def test_prefix_year_province_channel(app):
    with app.app_context():
        assert numbering.prefix_for("91350100M000100Y43", datetime(2026, 5, 1)) == 26351  # 35 = Fujian
        assert numbering.prefix_for("91110000802100433B", datetime(2027, 1, 1)) == 27111  # 11 = Beijing
        assert numbering.prefix_for("X", datetime(2026, 5, 1)) == int(f"26{app.config['INVOICE_REGION']}1")


def take_one(address):
    """One number taken (and committed) in the app's session, or None."""
    numbers = numbering.take(db.session, address)
    db.session.commit()
    return numbers[0] if numbers else None


def test_numbers_come_from_the_stored_range_in_order(app):
    prefix = THIS_YEAR * 1000 + 351
    with app.app_context():
        assert take_one(MERCHANT) is None  # no range yet
        assert numbering.record_range(MERCHANT, prefix * 10**15 + 1, prefix * 10**15 + 50)
        assert not numbering.record_range(MERCHANT, prefix * 10**15 + 1, prefix * 10**15 + 50)  # unchanged
        got = [take_one(MERCHANT) for _ in range(50)]
        assert got == [f"{prefix:05d}{i:015d}" for i in range(1, 51)]
        assert all(re.fullmatch(r"[0-9]{20}", n) for n in got)
        assert take_one(MERCHANT) is None and not numbering.usable(MERCHANT)  # used up
        assert numbering.range_of(MERCHANT)["left"] == 0
        # a range of last year is not used any more
        old = (THIS_YEAR - 1) % 100 * 1000 + 351
        numbering.record_range(MERCHANT, old * 10**15 + 1, old * 10**15 + 9)
        assert take_one(MERCHANT) is None
        # (0, 0) on chain: the stored range is dropped
        assert numbering.record_range(MERCHANT, 0, 0) and db.session.get(NumberRange, MERCHANT) is None


def test_new_range_skips_numbers_the_database_holds(app):
    """An older deployment's invoices keep their numbers in the database: a range over
    them starts after the highest one."""
    prefix = THIS_YEAR * 1000 + 351
    with app.app_context():
        db.session.add(Invoice(number=f"{prefix:05d}{7:015d}", key="0x" + "ab" * 32, seller_address=MERCHANT,
                               seller_name="", seller_tax_id="", buyer_name="", buyer_tax_id="",
                               issue_date="2026-01-01", issued_at=0, rate=13, item_count=1, net=1, tax=0, gross=1,
                               document="", document_hash="", state="issued"))
        db.session.commit()
        numbering.record_range(MERCHANT, prefix * 10**15 + 1, prefix * 10**15 + 100)
        assert take_one(MERCHANT) == f"{prefix:05d}{8:015d}"


def test_take_several_numbers_and_give_them_back(app):
    """``take(session, address, count)``: consecutive numbers in the caller's transaction;
    a rollback gives them back, too few left: None and nothing taken."""
    prefix = THIS_YEAR * 1000 + 351
    with app.app_context():
        numbering.record_range(MERCHANT, prefix * 10**15 + 1, prefix * 10**15 + 10)
        assert numbering.take(db.session, MERCHANT, 4) == [f"{prefix:05d}{i:015d}" for i in range(1, 5)]
        db.session.rollback()
        assert numbering.peek(MERCHANT) == f"{prefix:05d}{1:015d}"
        assert numbering.take(db.session, MERCHANT, 3) == [f"{prefix:05d}{i:015d}" for i in range(1, 4)]
        db.session.commit()
        assert numbering.take(db.session, MERCHANT, 8) is None  # 7 left
        assert numbering.take(db.session, MERCHANT, 7)[-1] == f"{prefix:05d}{10:015d}"
        db.session.commit()
        assert numbering.peek(MERCHANT) is None and numbering.range_of(MERCHANT)["left"] == 0


def test_numbers_unique_under_threads(app):
    import threading

    prefix = THIS_YEAR * 1000 + 351
    with app.app_context():
        numbering.record_range(MERCHANT, prefix * 10**15 + 1, prefix * 10**15 + 1000)
    out = []

    def work():
        with app.app_context():
            for _ in range(20):
                out.append(take_one(MERCHANT))

    threads = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(out) == 80 and len(set(out)) == 80 and None not in out
    assert sorted(out) == [f"{prefix:05d}{i:015d}" for i in range(1, 81)]
