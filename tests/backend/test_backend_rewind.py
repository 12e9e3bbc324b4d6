"""The index follows the chain back (issue 10, item 3): a chain restored from an older state
or reverted and mined anew is detected by block hash; the events after the last block that
still matches are deleted and indexed again; the outbox and the invoice rows are reconciled
(lost transactions re-broadcast, or dropped when their nonce went to another transaction:
the invoice 'failed', never 'issued' without a block); ``verify_against_chain`` (and
``flask verify-chain``) compare every invoice row, outbox row and indexed event with the chain."""
import gzip
import json

from web3 import HTTPProvider, Web3

from backendutil import make_app, sample_invoice
from chainutil import Anvil, deploy, dev_account

from backend.chain import get_chain, indexer, reset_chain
from backend.core import canonical
from backend.core.db import db
from backend.core.models import ChainEvent, IndexerCursor, Invoice, OutboxTx
from backend.services import recovery, seed
from backend.services.consistency import verify_against_chain


def _issue(client, token, n):
    numbers = []
    for _ in range(n):
        r = client.post("/api/v1/invoices", json=sample_invoice(), headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.get_json()
        numbers.append(r.get_json()["number"])
    return numbers


def _on_chain_once(numbers):
    """Each number registered on chain, its InvoiceIssued event indexed exactly once, at the
    block (number and hash) of its transaction's receipt; the row 'issued'."""
    w3 = get_chain().w3
    for number in numbers:
        inv = db.session.query(Invoice).filter_by(number=number).one()
        assert inv.state == "issued", (number, inv.state)
        assert get_chain().call("InvoiceRegistry", "exists", bytes.fromhex(inv.key[2:]))
        events = db.session.query(ChainEvent).filter_by(event="InvoiceIssued", invoice_key=inv.key).all()
        assert len(events) == 1, (number, len(events))
        receipt = w3.eth.get_transaction_receipt(inv.outbox.tx_hash)
        assert inv.outbox.status == "mined" and inv.outbox.block_number == receipt["blockNumber"]
        assert events[0].tx_hash == inv.outbox.tx_hash
        assert (events[0].block_number, events[0].block_hash) == (receipt["blockNumber"],
                                                                 Web3.to_hex(receipt["blockHash"]))


def test_reverted_chain_mined_anew_is_followed_back(chain_app, seeded, api, chain):
    """evm_revert to a snapshot, then blocks with other hashes: the indexer notices at its
    next run, deletes what it indexed after the fork and rewinds its cursor; recovery
    re-broadcasts the lost transactions and indexes them at their new blocks."""
    w3 = chain["w3"]
    kept = _issue(chain_app.test_client(), seeded["merchant1"]["api_token"], 1)
    with chain_app.app_context():
        indexer.run_once()
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    fork = w3.eth.block_number
    lost = _issue(chain_app.test_client(), seeded["merchant1"]["api_token"], 2)
    with chain_app.app_context():
        indexer.run_once()
        old_cursor = db.session.get(IndexerCursor, "events").last_block
        assert verify_against_chain()["ok"]
    w3.provider.make_request("evm_revert", [snap])
    for _ in range(old_cursor - fork + 3):  # the same heights again, other blocks
        w3.provider.make_request("evm_mine", [])
    with chain_app.app_context():
        report = verify_against_chain()
        assert not report["ok"] and report["problems"]
        out = indexer.run_once()
        assert out["rewound"]["to"] == fork and out["rewound"]["events_deleted"] == 2
        keys = {canonical.invoice_key(n) for n in lost}
        assert not db.session.query(ChainEvent).filter(ChainEvent.invoice_key.in_(keys)).count()
        recovery.recover()
        _on_chain_once(kept + lost)
        report = verify_against_chain()
        assert report["ok"], report["problems"]
        assert db.session.get(IndexerCursor, "events").last_block == w3.eth.block_number
    runner = chain_app.test_cli_runner()
    r = runner.invoke(args=["verify-chain"])
    assert r.exit_code == 0, r.output
    assert "0 problems" in r.output


def test_verify_chain_reports_disagreement(chain_app, seeded, api, chain):
    """An invoice row 'issued' whose transaction is in no block, an event with a stale
    block number: both reported, and the command exits non-zero."""
    numbers = _issue(chain_app.test_client(), seeded["merchant1"]["api_token"], 2)
    with chain_app.app_context():
        indexer.run_once()
        assert verify_against_chain()["ok"]
        row = db.session.query(OutboxTx).filter_by(ref=numbers[0]).one()
        row.status, row.error = "dropped", "nonce consumed by another transaction"
        ev = db.session.query(ChainEvent).filter_by(invoice_key=canonical.invoice_key(numbers[1])).one()
        ev.block_number -= 1
        db.session.commit()
        report = verify_against_chain()
        kinds = {p["kind"] for p in report["problems"]}
        assert not report["ok"] and {"outbox", "event"} <= kinds, report["problems"]
        assert any(numbers[0] in p["ref"] for p in report["problems"])
    r = chain_app.test_cli_runner().invoke(args=["verify-chain"])
    assert r.exit_code == 1
    assert "problems" in r.output


def _consume_nonce(w3, address, nonce):
    """Another transaction of ``address`` with ``nonce`` (a transfer signed elsewhere)."""
    account = next(dev_account(i) for i in range(10) if dev_account(i).address == address)
    signed = account.sign_transaction({"to": dev_account(9).address, "value": 1, "gas": 21000, "gasPrice": 10**9,
                                       "nonce": nonce, "chainId": w3.eth.chain_id})
    assert w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))["status"] == 1


def test_chain_restored_from_an_older_dump(tmp_path):
    """Anvil killed and started again from a dump taken before the last invoices; one
    lost transaction's nonce goes to another transaction meanwhile. After recovery the
    database and the chain agree: the rest are on chain exactly once, that one 'failed'."""
    anvil = Anvil().start()
    restored = None
    try:
        deploy(anvil.url, tmp_path / "deployment.json")
        app = make_app(tmp_path, str(tmp_path / "deployment.json"))
        with app.app_context():
            users = {u["username"]: u for u in seed.seed_users(password="pw")}
        token = users["merchant1"]["api_token"]
        before = _issue(app.test_client(), token, 2)
        dump = Web3(HTTPProvider(anvil.url)).provider.make_request("anvil_dumpState", [])["result"]
        after = _issue(app.test_client(), token, 3)
        with app.app_context():
            indexer.run_once()
            db.engine.dispose()
        anvil.chain.process.kill()  # kill -9: nothing more is dumped
        anvil.chain.process.wait()
        state = tmp_path / "old-state.json"
        state.write_text(json.dumps(json.loads(gzip.decompress(bytes.fromhex(dump[2:])))))
        restored = Anvil(state=state).start()
        w3 = Web3(HTTPProvider(restored.url))
        app2 = make_app(tmp_path, str(tmp_path / "deployment.json"), fresh=False, RPC_URL=restored.url)
        with app2.app_context():
            reset_chain(app2)
            first_lost = db.session.query(OutboxTx).filter_by(ref=after[0]).one()
            _consume_nonce(w3, first_lost.sender, first_lost.nonce)
            assert not verify_against_chain()["ok"]
            recovery.recover()
            _on_chain_once(before + after[1:])
            inv = db.session.query(Invoice).filter_by(number=after[0]).one()
            assert inv.state == "failed" and inv.outbox.status == "dropped"
            assert not get_chain().call("InvoiceRegistry", "exists", bytes.fromhex(inv.key[2:]))
            assert not db.session.query(ChainEvent).filter_by(invoice_key=inv.key).count()
            pairs = db.session.query(ChainEvent.tx_hash, ChainEvent.log_index).all()
            assert len(pairs) == len(set(pairs))
            report = verify_against_chain()
            assert report["ok"], report["problems"]
            assert recovery.recover()["outbox"] == {}  # nothing left to do
            db.engine.dispose()
    finally:
        anvil.stop()
        if restored is not None:
            restored.stop()
