"""The key backend flows on Ganache (npm's ganache, pinned in package.json) instead of
Anvil: the platform is specified for "a Ganache/Anvil chain". This module's own Ganache
(127.0.0.1, a free port, started and stopped here) replaces the session's Anvil for its
tests; the contracts are the same build (EVM Shanghai, which both chains run).

Covered: issue → mined → verified authentic → void → verified voided; red-letter; chain
refusals answered with their custom-error names (from eth_estimateGas on Ganache); the
indexer indexing the events; evm_snapshot/evm_revert between tests (the `chain` fixture)."""
import pytest
from backendutil import sample_invoice
from web3 import HTTPProvider, Web3

from backend.chain import get_chain, indexer
from backend.core.db import db
from backend.core.models import ChainEvent, IndexerCursor, Invoice, OutboxTx
from chainutil import ARTIFACTS, Anvil, deploy

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture(scope="module")
def chain_session(tmp_path_factory):
    """Overrides conftest's Anvil session for this module: the same, on Ganache."""
    if not (ARTIFACTS / "MerchantRegistry.json").exists():
        pytest.skip("contracts not compiled (brownie compile)")
    ganache = Anvil(kind="ganache").start()
    try:
        path = tmp_path_factory.mktemp("ganache") / "deployment.json"
        record = deploy(ganache.url, path)
        record["path"] = str(path)
        yield {"anvil": ganache, "record": record, "w3": Web3(HTTPProvider(ganache.url))}
    finally:
        ganache.stop()


def issue(api, **over):
    r = api("merchant1").post("/invoices", json=sample_invoice(**over))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_the_chain_is_ganache(chain):
    assert "ganache" in chain["w3"].client_version.lower()


def test_issue_verify_void(api, chain_app, chain):
    inv = issue(api)
    assert inv["status"] == "Issued"
    with chain_app.app_context():
        row = db.session.query(OutboxTx).filter_by(function="issue").one()
        assert row.status == "mined" and chain["w3"].eth.get_transaction_receipt(row.tx_hash)["status"] == 1
        key = bytes.fromhex(db.session.query(Invoice).filter_by(number=inv["number"]).one().key[2:])
        assert get_chain().call_named("InvoiceRegistry", "getInvoice", key)["gross"] == inv["gross"]
    detail = api("merchant1").get(f"/invoices/{inv['number']}").get_json()
    ask = {"number": inv["number"], "issue_date": detail["issue_date"], "gross": inv["gross"],
           "check_code": inv["check_code"][-6:]}
    assert api().post("/verify", json=ask).get_json()["result"] == "authentic"
    r = api("merchant1").post(f"/invoices/{inv['number']}/void")
    assert r.status_code == 200 and r.get_json()["status"] == "Voided", r.get_json()
    assert api().post("/verify", json=ask).get_json()["result"] == "voided"


def test_red_letter_and_refusals_by_name(api, chain_app):
    inv = issue(api)
    m = api("merchant1")
    r = m.post(f"/invoices/{inv['number']}/red-letter", json={"reason_code": 1, "items": [
        {"name": "退货 return", "quantity": 1, "unit_price": 100_00, "tax_rate": 13}]})
    assert r.status_code == 201 and r.get_json()["original"]["status"] == "Issued", r.get_json()
    r = m.post(f"/invoices/{inv['number']}/red-letter", json={"reason_code": 1, "items": [
        {"name": "too much", "quantity": 1, "unit_price": 150_00, "tax_rate": 13}]})
    assert r.status_code == 409 and r.get_json()["error"] == "RedLetterExceedsOpenAmount", r.get_json()
    # over the merchant's per-invoice cap (10M yuan): refused by the chain, nothing written
    with chain_app.app_context():
        before = db.session.query(Invoice).count()
    r = m.post("/invoices", json=sample_invoice(items=[
        {"name": "big", "quantity": 1, "unit_price": 20_000_000_00, "tax_rate": 13}]))
    assert r.status_code == 422 and r.get_json()["error"] == "InvoiceCapExceeded", r.get_json()
    with chain_app.app_context():
        assert db.session.query(Invoice).count() == before


def test_indexer_indexes_the_events(api, chain_app, chain):
    inv = issue(api)
    api("merchant1").post(f"/invoices/{inv['number']}/void")
    with chain_app.app_context():
        assert indexer.run_once()["from"] == chain["record"]["block"]
        names = [e.event for e in db.session.query(ChainEvent)]
        assert names.count("MerchantApproved") == 3 and "InvoiceIssued" in names and "InvoiceVoided" in names
        assert db.session.get(IndexerCursor, "events").last_block == chain["w3"].eth.block_number
        assert indexer.run_once()["events"] == 0, "indexing again adds nothing"
