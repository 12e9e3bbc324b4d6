"""Bulk issuance, POST /api/v1/invoices/batch, against a real InvoiceRegistry: per-row
results, validation first (422, nothing issued), per-row idempotency, a refused row that
does not sink its chunk nor burn a number, chunking, limits; the raw-word decoding of
InvoiceIssued and the off-chain check code against the chain's."""
import pytest
from backendutil import sample_invoice
from test_backend_api import conforms

from backend.chain import get_chain, indexer
from backend.core.db import db
from backend.core.models import Invoice, OutboxTx
from backend.services import numbering

pytestmark = pytest.mark.usefixtures("seeded")
BIG = [{"name": "big", "quantity": 1, "unit_price": 20_000_000_00, "tax_rate": 13}]  # over the 10M yuan cap


def rows(n, **over):
    return [sample_invoice(buyer_name=f"买方 {i}", **over) for i in range(n)]


def post(api, invoices, who="merchant1", **kw):
    return api(who).post("/invoices/batch", json={"invoices": invoices}, **kw)


def counts(app):
    with app.app_context():
        return (db.session.query(Invoice).count(),
                db.session.query(OutboxTx).filter_by(function="issueBatch").count())


def test_batch_issues_every_row_in_order(api, chain_app):
    r = post(api, rows(3))
    assert r.status_code == 201, r.get_json()
    conforms("/invoices/batch", "post", r)
    body = r.get_json()
    assert body["totals"] == {"rows": 3, "issued": 3, "pending": 0, "replayed": 0, "refused": 0}
    assert [x["index"] for x in body["results"]] == [0, 1, 2]
    numbers = [int(x["number"]) for x in body["results"]]
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    with chain_app.app_context():
        chain = get_chain()
        for res in body["results"]:
            inv = db.session.query(Invoice).filter_by(number=res["number"]).one()
            assert inv.state == "issued" and inv.chain_status == "Issued" and inv.outbox.tx_hash == res["tx_hash"]
            key = bytes.fromhex(inv.key[2:])
            assert inv.check_code == f"{chain.call('InvoiceRegistry', 'checkCodeOf', key):020d}"
            assert chain.call("InvoiceRegistry", "verifyDocument", key, bytes.fromhex(inv.document_hash[2:]))
            assert inv.buyer_name == f"买方 {res['index']}"
    assert counts(chain_app) == (3, 1)  # one transaction for the chunk


def test_invalid_row_422_and_nothing_issued(api, chain_app):
    with chain_app.app_context():
        before = numbering.range_of(_merchant(chain_app))
    bad = rows(3)
    bad[1]["items"] = [{"name": "x", "unit_price": -1, "tax_rate": 13}]
    bad[2]["idempotency_key"] = " spaced "
    r = post(api, bad)
    assert r.status_code == 422, r.get_json()
    conforms("/invoices/batch", "post", r)
    body = r.get_json()
    assert body["error"] == "validation_error" and body["message"] == "2 张发票有字段不正确，整批未开具。"
    assert set(body["fields"]) == {"invoices[1].items[0].unit_price", "invoices[2].idempotency_key"}
    assert counts(chain_app) == (0, 0)
    with chain_app.app_context():
        assert numbering.range_of(_merchant(chain_app)) == before


def _merchant(app):
    from backend.core.models import User

    return db.session.query(User).filter_by(username="merchant1").one().address


def test_per_row_idempotency(api, chain_app):
    first = rows(2)
    first[0]["idempotency_key"], first[1]["idempotency_key"] = "order-1", "order-2"
    a = post(api, first).get_json()["results"]
    single = api("merchant1").post("/invoices", json=sample_invoice(buyer_name="单张"), headers={"Idempotency-Key": "one"})
    assert single.status_code == 201
    again = first + [sample_invoice(buyer_name="新"), {**sample_invoice(buyer_name="单张"), "idempotency_key": "one"}]
    r = post(api, again)
    assert r.status_code == 201, r.get_json()
    conforms("/invoices/batch", "post", r)
    res = r.get_json()["results"]
    assert [x["status"] for x in res] == ["replayed", "replayed", "issued", "replayed"]
    assert [res[0]["number"], res[1]["number"]] == [a[0]["number"], a[1]["number"]]
    assert res[3]["number"] == single.get_json()["number"]
    r = post(api, [sample_invoice(buyer_name="又一个"), {**sample_invoice(buyer_name="另一个"), "idempotency_key": "order-2"}])
    assert r.status_code == 207
    res = r.get_json()["results"]
    assert [x["status"] for x in res] == ["issued", "refused"]
    assert res[1]["error"] == "idempotency_key_reused" and res[1]["http_status"] == 409
    assert counts(chain_app) == (5, 3)
    dup = post(api, [{**sample_invoice(), "idempotency_key": "k"}, {**sample_invoice(), "idempotency_key": "k"}])
    assert dup.status_code == 422 and "invoices[1].idempotency_key" in dup.get_json()["fields"]


def test_refused_row_does_not_sink_its_chunk_nor_burn_a_number(api, chain_app):
    chain_app.config["INVOICE_BATCH_CHUNK"] = 3
    batch = rows(5)
    batch[1]["items"] = BIG
    batch[3]["items"] = BIG
    r = post(api, batch)
    assert r.status_code == 207, r.get_json()
    conforms("/invoices/batch", "post", r)
    body = r.get_json()
    assert [x["status"] for x in body["results"]] == ["issued", "refused", "issued", "refused", "issued"]
    for i in (1, 3):
        assert body["results"][i]["error"] == "InvoiceCapExceeded" and body["results"][i]["number"] is None
        assert "cap" in body["results"][i]["message"].lower() or "上限" in body["results"][i]["message"]
    numbers = [int(x["number"]) for x in body["results"] if x["number"]]
    assert numbers == list(range(numbers[0], numbers[0] + 3))  # no gap where the refused rows were
    with chain_app.app_context():
        assert int(numbering.range_of(_merchant(chain_app))["next"]) == numbers[-1] + 1
        assert db.session.query(Invoice).filter(Invoice.state != "issued").count() == 0
    assert counts(chain_app) == (3, 2)  # 3 rows per chunk: [0, 2] and [4]


def test_chunks_of_the_configured_size(api, chain_app):
    chain_app.config["INVOICE_BATCH_CHUNK"] = 2
    r = post(api, rows(5))
    assert r.status_code == 201 and r.get_json()["totals"]["issued"] == 5
    assert counts(chain_app) == (5, 3)


def test_limits(api, chain_app):
    chain_app.config["INVOICE_BATCH_MAX_ROWS"] = 3
    r = post(api, rows(4))
    assert r.status_code == 413 and r.get_json()["error"] == "too_many_rows"
    assert r.get_json()["message"] == "一次最多开具 3 张发票（本次 4 张），请分批提交。"
    r = post(api, rows(4), headers={"Accept-Language": "en"})
    assert r.get_json()["message"] == "At most 3 invoices per batch (4 sent): split the batch."
    conforms("/invoices/batch", "post", r)
    chain_app.config["INVOICE_BATCH_MAX_BYTES"] = 500
    r = post(api, rows(3))
    assert r.status_code == 413 and r.get_json()["error"] == "payload_too_large"
    chain_app.config["INVOICE_BATCH_MAX_BYTES"] = 10**6
    for body in ({"invoices": []}, {"rows": rows(1)}, rows(1), {"invoices": rows(1), "x": 1}):
        r = api("merchant1").post("/invoices/batch", json=body)
        assert r.status_code == 400 and r.get_json()["error"] == "validation_error", body
    assert api("buyer").post("/invoices/batch", json={"invoices": rows(1)}).status_code == 403
    assert counts(chain_app) == (0, 0)


def test_batch_above_the_global_body_limit(api, chain_app):
    """The batch route has its own body limit, above MAX_CONTENT_LENGTH."""
    chain_app.config["MAX_CONTENT_LENGTH"] = 2000
    r = post(api, rows(8))
    assert r.status_code == 201, r.get_json()


def test_decode_issued_equals_web3(api, chain_app):
    post(api, rows(2) + [sample_invoice(items=[{"name": "a", "unit_price": 100, "tax_rate": 6},
                                               {"name": "b", "unit_price": 300, "tax_rate": 13}])])
    with chain_app.app_context():
        chain = get_chain()
        event = chain.contract("InvoiceRegistry").events.InvoiceIssued()
        logs = chain.w3.eth.get_logs({"fromBlock": 0, "address": chain.contract("InvoiceRegistry").address,
                                      "topics": ["0x" + indexer.ISSUED_TOPIC.hex()]})
        assert len(logs) == 3
        for log in logs:
            slow = indexer.jsonable(indexer._normalise(dict(event.process_log(log)["args"])))
            assert indexer.decode_issued(log) == slow
            assert list(indexer.decode_issued(log)) == list(slow)  # same order in the stored JSON


ALL_RATES = [{"name": f"r{r}", "quantity": 1, "unit_price": 1000 + r, "tax_rate": r} for r in (0, 1, 3, 5, 6, 9, 13)]


def test_issue_batch_calldata_equals_web3(chain_app):
    """The hand-made issueBatch calldata is byte for byte eth_abi's."""
    import os

    from backend.chain import calldata

    with chain_app.app_context():
        chain = get_chain()
        seller = "0x" + os.urandom(20).hex()
        reqs = [(f"{26531000000000000000 + i}", seller, os.urandom(20), os.urandom(12), 10**i, 13 * i, 10**i + 13 * i,
                 i % 2, 1_700_000_000 + i, os.urandom(32), [(r, 1 + r, 10**r, r) for r in (0, 1, 3, 5, 6, 9, 13)[:i]])
                for i in range(8)]
        for part in (reqs[:1], reqs, [reqs[0]] * 3):
            assert "0x" + calldata.issue_batch(chain.selector("InvoiceRegistry", "issueBatch"), part).hex() == \
                chain.encode("InvoiceRegistry", "issueBatch", part)[1]
        bad = reqs[1][:4] + (-1,) + reqs[1][5:]
        with pytest.raises(ValueError):
            calldata.issue_batch(b"\0" * 4, [bad])


@pytest.mark.parametrize("shape", ["one_rate", "every_rate_self_dealing"])
def test_gas_bound_covers_gas_used(api, chain_app, seeded, shape):
    """The gas limit bulk issuance gives issueBatch (no estimate) covers what it uses, and
    is not far above it: rows with one rate, and the heaviest rows (every rate, flagged)."""
    from backend.services import bulk

    chain_app.config["INVOICE_BATCH_CHUNK"] = 40
    from backend.core.models import User

    with chain_app.app_context():
        tax_id = db.session.query(User).filter_by(username="merchant1").one().merchant.tax_id
    over = {} if shape == "one_rate" else {"items": ALL_RATES, "buyer_tax_id": tax_id}
    body = post(api, rows(40, **over)).get_json()
    assert body["totals"]["issued"] == 40, body
    with chain_app.app_context():
        row = db.session.query(OutboxTx).filter_by(function="issueBatch").one()
        invoices = db.session.query(Invoice).filter_by(outbox_id=row.id).all()
        tx = get_chain().w3.eth.get_transaction(row.tx_hash)
        if shape != "one_rate":
            assert all(inv.flags for inv in invoices)
        per_row = (row.gas_used - 21_000 - bulk.calldata.gas_of_calldata(bytes(tx["input"]))) / 40
        print(shape, "gasUsed", row.gas_used, "limit", tx["gas"], "execution per row", per_row)
        assert row.gas_used < tx["gas"] < 1.6 * row.gas_used, (row.gas_used, tx["gas"])


def test_numbers_taken_meanwhile_rebuild_the_chunk(api, chain_app, monkeypatch):
    """Another request takes the peeked number between the simulation and the journal: the
    chunk is rebuilt with the numbers taken (documents, hashes and calldata agree)."""
    from sqlalchemy import update

    from backend.core.models import NumberRange

    real_take, raced = numbering.take, []

    def take(session, address, count=1, when=None):
        if not raced:  # another process takes one number first
            with db.engine.begin() as conn:
                conn.execute(update(NumberRange).where(NumberRange.merchant == address)
                             .values(next_seq=NumberRange.next_seq + 1))
            raced.append(address)
        return real_take(session, address, count, when)

    monkeypatch.setattr(numbering, "take", take)
    with chain_app.app_context():
        before = int(numbering.range_of(_merchant(chain_app))["next"])
    r = post(api, rows(3))
    assert r.status_code == 201, r.get_json()
    numbers = [int(x["number"]) for x in r.get_json()["results"]]
    assert numbers == [before + 1, before + 2, before + 3]
    with chain_app.app_context():
        chain = get_chain()
        for n in numbers:
            inv = db.session.query(Invoice).filter_by(number=str(n)).one()
            assert inv.state == "issued" and str(n) in inv.document
            assert chain.call("InvoiceRegistry", "verifyDocument", bytes.fromhex(inv.key[2:]),
                              bytes.fromhex(inv.document_hash[2:]))
