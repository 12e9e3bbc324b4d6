"""Canonical document, hash reproducibility, totals, numbers, buyer hash."""
import json
import re
from datetime import date, datetime, timezone

import pytest
from eth_utils import keccak

from backend import canonical
from backend.invoices import ValidationError, allocate_number, validate_issue

CONFIG = {"INVOICE_MAX_ITEMS": 200, "INVOICE_MAX_AMOUNT": 10**15}


def sample_doc():
    items = [{"name": "咖啡豆 Coffee", "spec": "1kg", "unit": "袋", "quantity": 3, "unit_price": 99_90,
              "amount": 299_70, "tax_rate": 13, "tax_code": "1030201"}]
    net, tax, gross = canonical.compute_totals(items)
    return canonical.build_document(number="26531000000000000001", invoice_type=0, issue_date="2026-11-21",
                                    seller={"name": "厦门示例贸易有限公司", "tax_id": "91350100M000100Y43",
                                            "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
                                    buyer={"name": "昆明示例商贸有限公司", "tax_id": "91530100MA6K0000XA"},
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


def test_buyer_id_hash_upper_cased():
    h = canonical.buyer_id_hash("91530100ma6k0000xa")
    assert h == keccak(text="91530100MA6K0000XA")[:20] and len(h) == 20


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
    body = {"buyer_name": "B", "buyer_tax_id": "91530100ma6k0000xa",
            "items": [{"name": "x", "quantity": "2.5", "unit_price": 1000, "tax_rate": 6}]}
    clean = validate_issue(body, CONFIG)
    assert clean["items"][0]["amount"] == 2500 and clean["items"][0]["quantity"] == "2.5"
    assert (clean["net"], clean["tax"], clean["gross"], clean["rate"]) == (2500, 150, 2650, 6)
    assert clean["buyer_tax_id"] == "91530100MA6K0000XA"
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
    (lambda b: b["items"].append({"name": "y", "unit_price": 1, "tax_rate": 6}), "items"),
])
def test_validation_errors_per_field(mutate, field):
    body = {"buyer_name": "B", "buyer_tax_id": "91530100MA6K0000XA",
            "items": [{"name": "x", "quantity": 2, "unit_price": 1000, "tax_rate": 13}]}
    mutate(body)
    with pytest.raises(ValidationError) as e:
        validate_issue(body, CONFIG)
    assert field in e.value.fields, e.value.fields


def test_numbers_are_20_digits_unique_and_increasing(app):
    with app.app_context():
        numbers = [allocate_number() for _ in range(50)]
    assert len(set(numbers)) == 50
    assert all(re.fullmatch(r"[0-9]{20}", n) for n in numbers)
    assert numbers == sorted(numbers)
    assert numbers[0][2:4] == app.config["INVOICE_REGION"]


def test_numbers_unique_under_threads(app):
    import threading

    out = []

    def work():
        with app.app_context():
            for _ in range(20):
                out.append(allocate_number())

    threads = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(out) == 80 and len(set(out)) == 80
