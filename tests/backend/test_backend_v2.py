"""Contracts v2 through the backend: multi-rate invoices, the buyer as a salted commitment
(never in the clear on chain), numbers from each merchant's own range (allocated at
approval, renewed when used up), red-letter notes and partly red-lettered invoices in the
verification words."""
import json

import pytest
from backendutil import sample_invoice
from eth_utils import keccak

from backend.core import buyer_privacy, canonical
from backend.services import numbering
from backend.chain import get_chain, get_signer
from backend.core.db import db
from backend.core.models import Invoice, OutboxTx

pytestmark = pytest.mark.usefixtures("seeded")
BUYER = "91530100MA6K0002XU"
MULTI = [{"name": "笔记本电脑 Laptop", "quantity": 2, "unit_price": 4999_00, "tax_rate": 13},
         {"name": "安装服务 Installation", "quantity": 1, "unit_price": 300_00, "tax_rate": 6},
         {"name": "鼠标 Mouse", "quantity": 3, "unit_price": 49_90, "tax_rate": 13}]


def issue(api, who="merchant1", **over):
    r = api(who).post("/invoices", json=sample_invoice(**over))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def onchain(app, number):
    with app.app_context():
        return get_chain().call_named("InvoiceRegistry", "getInvoiceByNumber", number)


def query(api, inv, **over):
    d = api("merchant1").get(f"/invoices/{inv['number']}").get_json()["issue_date"]
    return {"number": inv["number"], "issue_date": d, "gross": inv["gross"], "check_code": inv["check_code"][-6:],
            **over}


def test_multi_rate_invoice_goods_13_and_service_6(api, chain_app):
    inv = issue(api, items=MULTI)
    # 13 %: 9998.00 + 149.70 net, tax 1299.74 + 19.46; 6 %: 300.00 net, 18.00 tax
    assert (inv["net"], inv["tax"], inv["gross"]) == (10447_70, 1337_20, 11784_90)
    assert inv["rates"] == [6, 13] and inv["status"] == "Issued"
    record = onchain(chain_app, inv["number"])
    assert record["rateMask"] == 1 << 6 | 1 << 13 and record["itemCount"] == 3
    assert (record["net"], record["tax"], record["gross"]) == (10447_70, 1337_20, 11784_90)
    r = api().post("/verify", json=query(api, inv))
    assert r.get_json()["result"] == "authentic" and r.get_json()["label"].startswith("真实有效")
    detail = api("merchant1").get(f"/invoices/{inv['number']}").get_json()
    assert detail["rates"] == [6, 13] and detail["chain"]["rates"] == [6, 13]
    assert {it["tax_rate"] for it in detail["document"]["items"]} == {6, 13}
    with chain_app.app_context():
        row = db.session.query(Invoice).filter_by(number=inv["number"]).one()
        assert (row.rate, row.rate_mask) == (13, 1 << 6 | 1 << 13)
        # the request sent on chain: one group per rate, ascending, summing to the totals
        from backend.chain.indexer import run_once
        run_once()
        from backend.core.models import ChainEvent
        ev = db.session.query(ChainEvent).filter_by(event="InvoiceIssued", invoice_key=row.key).one()
        assert json.loads(ev.args)["groups"] == [{"rate": 6, "itemCount": 1, "net": 300_00, "tax": 18_00},
                                                 {"rate": 13, "itemCount": 2, "net": 10147_70, "tax": 1319_20}]
    r = api("merchant1").post("/invoices/preview", json=sample_invoice(items=MULTI))
    assert r.get_json()["groups"] == [{"rate": 6, "item_count": 1, "net": 300_00, "tax": 18_00},
                                      {"rate": 13, "item_count": 2, "net": 10147_70, "tax": 1319_20}]


def test_buyer_commitment_opens_with_the_document_and_tax_id_is_never_on_chain(api, chain_app, chain):
    inv = issue(api)
    doc = api("merchant1").get(f"/invoices/{inv['number']}").get_json()["document"]
    buyer = doc["buyer"]
    assert buyer["tax_id"] == BUYER and len(buyer["salt"]) == len(buyer["tag"]) == 66
    salt, tag = bytes.fromhex(buyer["salt"][2:]), bytes.fromhex(buyer["tag"][2:])
    key = bytes.fromhex(inv["key"][2:])
    with chain_app.app_context():
        c = get_chain()
        assert tag == buyer_privacy.buyer_tag(BUYER)  # the operator's keyed tag
        assert c.call("InvoiceRegistry", "verifyBuyer", key, salt, BUYER, tag) is True
        assert c.call("InvoiceRegistry", "verifyBuyer", key, salt, "91110000802100433B", tag) is False
        assert c.call("InvoiceRegistry", "verifyBuyer", key, b"\0" * 32, BUYER, tag) is False
        # Python's formulas are the contract's
        commitment, digest = c.call("InvoiceRegistry", "buyerCommitmentOf", salt, BUYER, tag)
        assert (commitment, digest) == buyer_privacy.commitment_of(salt, BUYER, tag)
        assert onchain(chain_app, inv["number"])["buyerCommitment"] == commitment
        # what was sent: neither the tax ID, nor its hash, nor the tag is in the transaction
        row = db.session.query(OutboxTx).filter_by(ref=inv["number"]).one()
        data = bytes(chain["w3"].eth.get_transaction(row.tx_hash)["input"])
        for secret in (BUYER.encode(), BUYER.lower().encode(), keccak(text=BUYER), keccak(text=BUYER)[:20], tag,
                       salt):
            assert secret not in data
        assert commitment in data  # (the check is able to find what is there)
    # a second invoice to the same buyer has another commitment (fresh salt): not linkable on chain
    other = issue(api)
    assert onchain(chain_app, other["number"])["buyerCommitment"] != commitment


def test_numbers_come_from_each_merchants_own_range(api, chain_app):
    a = [issue(api, "merchant1")["number"] for _ in range(3)]
    b = [issue(api, "merchant2")["number"] for _ in range(2)]
    with chain_app.app_context():
        c = get_chain()
        ra = c.call("InvoiceRegistry", "numberRangeOf", seeded_address(chain_app, "merchant1"))
        rb = c.call("InvoiceRegistry", "numberRangeOf", seeded_address(chain_app, "merchant2"))
    assert ra[1] < rb[0] or rb[1] < ra[0]  # disjoint ranges
    assert [int(n) for n in a] == [ra[0], ra[0] + 1, ra[0] + 2]  # sequential from its first number
    assert [int(n) for n in b] == [rb[0], rb[0] + 1]
    assert a[0][2:4] == "35" and b[0][2:4] == "11"  # the merchants' USCC provinces (Fujian, Beijing)
    assert a[0][4] == "1"  # channel: issued through the platform


def seeded_address(app, username):
    from backend.core.models import User

    with app.app_context():
        return db.session.query(User).filter_by(username=username).one().address


def test_red_letter_note_and_partly_red_lettered_verification_words(api, chain_app):
    inv = issue(api, items=MULTI)
    m = api("merchant1")
    # a note for part of the 6 % service line
    r = m.post(f"/invoices/{inv['number']}/red-letter", json={"reason_code": 4, "items": [
        {"name": "服务折让 discount", "quantity": 1, "unit_price": 100_00, "tax_rate": 6}]})
    assert r.status_code == 201, r.get_json()
    note = r.get_json()
    assert note["gross"] == 106_00 and note["rates"] == [6] and note["original"]["status"] == "Issued"
    # the note's buyer is the original's: same salt and tag, same commitment on chain
    doc_o = m.get(f"/invoices/{inv['number']}").get_json()["document"]
    doc_n = m.get(f"/invoices/{note['number']}").get_json()["document"]
    assert doc_n["buyer"] == doc_o["buyer"] and doc_n["red_letter"]["original_number"] == inv["number"]
    assert onchain(chain_app, note["number"])["buyerCommitment"] == onchain(chain_app, inv["number"])["buyerCommitment"]
    # the note verifies as a note, in words
    r = api().post("/verify", json=query(api, note)).get_json()
    assert r["result"] == "red_letter_note"
    assert r["detail"].startswith("这是一张红字发票")
    en = api().post("/verify", json=query(api, note), headers={"Accept-Language": "en"}).get_json()
    assert "red-letter note" in en["detail"]
    # the original is partly red-lettered: valid for its open amount
    r = api().post("/verify", json=query(api, inv)).get_json()
    assert r["result"] == "partly_red_lettered"
    assert r["detail"].startswith("发票部分红冲") and "按未冲销金额有效" in r["detail"]
    detail = m.get(f"/invoices/{inv['number']}").get_json()
    assert detail["chain"]["openAmount"] == inv["gross"] - 106_00
    assert detail["status_text"].startswith("部分红冲")
    assert m.get(f"/invoices/{note['number']}").get_json()["status_text"].startswith("红字发票")
    # a rate the original does not have is refused by the backend, before the chain
    r = m.post(f"/invoices/{inv['number']}/red-letter", json={"reason_code": 1, "items": [
        {"name": "x", "quantity": 1, "unit_price": 10_00, "tax_rate": 9}]})
    assert r.status_code == 400 and r.get_json()["fields"]["items"] == "红字发票的税率必须是原发票已有的税率（6%或13%）。"
    r = m.post(f"/invoices/{inv['number']}/red-letter", headers={"Accept-Language": "en"}, json={
        "reason_code": 1, "items": [{"name": "x", "quantity": 1, "unit_price": 10_00, "tax_rate": 9}]})
    assert r.get_json()["fields"]["items"] == "A red-letter note may only have rates of the original (6% or 13%)."
    # the rest: fully red-lettered now
    rest = [{"name": it["name"], "quantity": 1, "unit_price": it["amount"], "tax_rate": it["tax_rate"]}
            for it in doc_o["items"]]
    rest[1]["unit_price"] -= 100_00
    r = m.post(f"/invoices/{inv['number']}/red-letter", json={"reason_code": 1, "items": rest})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["original"]["status"] == "RedLettered"
    assert api().post("/verify", json=query(api, inv)).get_json()["result"] == "red_lettered"


def test_numbers_run_out_and_the_platform_allocates_a_new_range(api, chain_app, seeded):
    """A range of 2 numbers: the third invoice gets a fresh range, allocated on chain with
    the authority's key; the authority can also allocate one by hand (API)."""
    chain_app.config["NUMBER_RANGE_SIZE"] = 2
    a = api("authority")
    mid = next(x["id"] for x in a.get("/merchants").get_json()["merchants"] if x["username"] == "merchant1")
    r = a.post(f"/merchants/{mid}/numbers")
    assert r.status_code == 200, r.get_json()
    first = r.get_json()["number_range"]
    assert first["left"] == 2 and int(first["last"]) - int(first["first"]) == 1
    got = [issue(api)["number"] for _ in range(3)]
    assert got[:2] == [first["first"], first["last"]]
    assert int(got[2]) > int(first["last"])  # from a new range
    address = seeded["merchant1"]["address"]
    with chain_app.app_context():
        new = get_chain().call("InvoiceRegistry", "numberRangeOf", address)
        assert int(got[2]) == new[0] and new[1] - new[0] == 1
        assert db.session.query(OutboxTx).filter_by(function="allocateNumberRange",
                                                    sender=seeded["authority"]["address"]).count() >= 3
    # the authority allocates a range from another client: the platform notices the refusal
    # (NumberNotInSellerRange), reads the new range and issues from it
    chain_app.config["NUMBER_RANGE_SIZE"] = 100
    with chain_app.app_context():
        get_signer().transact(seeded["authority"]["address"], "InvoiceRegistry", "allocateNumberRange", address,
                             numbering.prefix_for("91350100M000100Y43"), 5)
        outside = get_chain().call("InvoiceRegistry", "numberRangeOf", address)
    n = issue(api)["number"]
    assert int(n) == outside[0]
    # count is validated; only approved merchants get ranges
    assert a.post(f"/merchants/{mid}/numbers", json={"count": 0}).status_code == 400
    assert api("merchant1").post(f"/merchants/{mid}/numbers").status_code == 403


def test_no_authority_key_means_a_clear_refusal(api, chain_app, seeded):
    from backend.core.models import NumberRange, User

    with chain_app.app_context():
        address = seeded["merchant1"]["address"]
        row = db.session.get(NumberRange, address)
        row.next_seq = row.last_seq + 1  # used up
        db.session.query(User).filter_by(username="authority").one().address = None  # no authority key
        db.session.commit()
    r = api("merchant1").post("/invoices", json=sample_invoice())
    assert r.status_code == 409 and r.get_json()["error"] == "NumberRangeExhausted"
    assert r.get_json()["message"].startswith("本商户没有可用的发票号段")
    with chain_app.app_context():
        assert db.session.query(Invoice).count() == 0


def test_approval_gives_seller_tag_and_a_range_in_the_province(api, chain_app):
    from backend.cli import create_user

    with chain_app.app_context():
        user, _, token = create_user("shop3", "merchant", "pw-test-123", dev_account=6, token=True)
        address = user.address
    h = {"Authorization": f"Bearer {token}"}
    c = chain_app.test_client()
    r = c.post("/api/v1/merchant/registration", json={"name": "昆明小店", "tax_id": "91530100MA6K0000XR",
                                                      "licence_number": "L-9"}, headers=h)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["number_range"] is None
    r = api("authority").post(f"/merchants/{r.get_json()['id']}/approve")
    assert r.status_code == 200, r.get_json()
    rng = r.get_json()["number_range"]
    assert rng["first"][2:5] == "531" and rng["left"] == chain_app.config["NUMBER_RANGE_SIZE"]  # 53 = Yunnan
    with chain_app.app_context():
        profile = get_chain().call_named("MerchantRegistry", "merchant", address)
        assert profile["sellerTag"] == buyer_privacy.seller_tag("91530100MA6K0000XR", address)
    # its own tax ID as the buyer: the self-dealing flag works through the tags
    r = c.post("/api/v1/invoices", json=sample_invoice(buyer_tax_id="91530100MA6K0000XR"), headers=h)
    assert r.status_code == 201 and r.get_json()["flag_names"] == ["SelfDealing"]
    assert r.get_json()["number"] == rng["first"]
    r = c.post("/api/v1/invoices", json=sample_invoice(), headers=h)
    assert r.status_code == 201 and r.get_json()["flags"] == 0


def test_limits_are_v2_sized(api):
    a = api("authority")
    mid = next(x["id"] for x in a.get("/merchants").get_json()["merchants"] if x["username"] == "merchant2")
    r = a.post(f"/merchants/{mid}/limits", json={"invoice_cap": 2**48, "monthly_quota": 2**48})
    assert r.status_code == 400 and "invoice_cap" in r.get_json()["fields"]  # uint48
    r = a.post(f"/merchants/{mid}/limits", json={"invoice_cap": 2**48 - 1, "monthly_quota": 2**64 - 1,
                                                 "hourly_norm": 10})
    assert r.status_code == 200, r.get_json()


def test_document_version_2_is_what_was_hashed(api, chain_app):
    inv = issue(api)
    doc = api("merchant1").get(f"/invoices/{inv['number']}").get_json()["document"]
    assert doc["version"] == 2 and set(doc["buyer"]) == {"name", "tax_id", "salt", "tag"}
    with chain_app.app_context():
        assert get_chain().call("InvoiceRegistry", "verifyDocument", bytes.fromhex(inv["key"][2:]),
                                bytes.fromhex(canonical.document_hash(doc)[2:]))


def test_invoice_of_a_replaced_deployment_still_shows(api, chain_app, seeded):
    """A v1 invoice left in the database (its contracts replaced): listed and shown from the
    database, not found on the current contracts, and no red-letter note can be made for it
    (its version 1 document has no buyer salt)."""
    number = "26351000000000000999"
    doc = {"version": 1, "number": number, "buyer": {"name": "B", "tax_id": BUYER},
           "items": [{"name": "x", "quantity": 1, "unit_price": 100, "amount": 100, "tax_rate": 13, "tax": 13}]}
    with chain_app.app_context():
        from backend.core.models import User

        user = db.session.query(User).filter_by(username="merchant1").one()
        db.session.add(Invoice(number=number, key=canonical.invoice_key(number), user_id=user.id,
                               seller_address=user.address, seller_name="厦门示例贸易有限公司",
                               seller_tax_id="91350100M000100Y43", buyer_name="B", buyer_tax_id=BUYER,
                               issue_date="2026-01-05", issued_at=0, rate=13, item_count=1, net=100, tax=13,
                               gross=113, document=canonical.canonical_json(doc).decode(), document_hash="0x00",
                               state="issued", chain_status="Issued"))
        db.session.commit()
    r = api("merchant1").get(f"/invoices/{number}")
    assert r.status_code == 200 and "chain" not in r.get_json() and r.get_json()["rates"] == [13]
    assert number in [i["number"] for i in api("merchant1").get("/invoices").get_json()["invoices"]]
    r = api("merchant1").post(f"/invoices/{number}/red-letter", json={"reason_code": 1})
    assert r.status_code == 409 and r.get_json()["error"] == "document_not_held"
    assert api().post("/verify", json={"number": number, "issue_date": "2026-01-05", "gross": 113,
                                       "check_code": "123456"}).get_json()["result"] == "not_found"


def test_a_pending_application_does_not_squat_a_tax_id(api, chain_app):
    """Two accounts may apply with one tax ID; the one the authority approves owns it, and
    only then are the other approval and new applications refused."""
    from backend.cli import create_user

    tax_id = "91530100MA6K0000XR"
    clients = []
    for i, dev_account in enumerate((6, 8, 9)):  # 7 is the demo merchant3
        with chain_app.app_context():
            _, _, token = create_user(f"applicant{i}", "merchant", "pw-test-123", dev_account=dev_account, token=True)
        clients.append({"Authorization": f"Bearer {token}"})
    c = chain_app.test_client()
    body = {"name": "昆明小店", "tax_id": tax_id, "licence_number": "L-9"}
    squatter = c.post("/api/v1/merchant/registration", json=body, headers=clients[0])
    owner = c.post("/api/v1/merchant/registration", json=body, headers=clients[1])
    assert squatter.status_code == owner.status_code == 201, (squatter.get_json(), owner.get_json())

    assert api("authority").post(f"/merchants/{owner.get_json()['id']}/approve").status_code == 200
    r = api("authority").post(f"/merchants/{squatter.get_json()['id']}/approve")
    assert r.status_code == 409 and r.get_json()["error"] == "TaxIdAlreadyRegistered"
    r = c.post("/api/v1/merchant/registration", json=body, headers=clients[2])
    assert r.status_code == 409 and r.get_json()["error"] == "TaxIdAlreadyRegistered"
