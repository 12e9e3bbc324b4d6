"""Issuance under concurrency and across failures: 8 concurrent API clients; the
node unreachable at broadcast (202, then reconciled); a node restart between sign
and receipt; DB and chain agree afterwards."""
import threading

from backendutil import sample_invoice
from web3 import HTTPProvider, Web3

from backend.core import canonical
from backend.services import issuance
from backend.chain import get_chain, reset_chain
from backend.core.db import db
from backend.core.models import Invoice, OutboxTx


def test_eight_concurrent_clients(api, chain_app):
    out, errors = [], []

    def client():
        c = api("merchant1")
        for _ in range(3):
            r = c.post("/invoices", json=sample_invoice())
            (out if r.status_code == 201 else errors).append(r.get_json())

    threads = [threading.Thread(target=client) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors, errors[:3]
    numbers = [x["number"] for x in out]
    assert len(out) == 24 and len(set(numbers)) == 24
    with chain_app.app_context():
        chain = get_chain()
        for n in numbers:
            assert chain.call_named("InvoiceRegistry", "getInvoiceByNumber", n)["gross"] == 226_00
        rows = db.session.query(OutboxTx).filter_by(function="issue").all()
        first = min(r.nonce for r in rows)
        assert sorted(r.nonce for r in rows) == list(range(first, first + 24))  # no gap, no reuse


def test_node_unreachable_at_broadcast_then_reconciled(api, chain_app):
    with chain_app.app_context():
        c = get_chain()
        saved = c.w3.eth.send_raw_transaction

        def down(raw):
            raise ConnectionError("Connection refused")

        c.w3.eth.send_raw_transaction = down
    r = api("merchant1").post("/invoices", json=sample_invoice(), headers={"Idempotency-Key": "k1"})
    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert body["state"] == "pending" and body["tx_hash"]
    with chain_app.app_context():
        get_chain().w3.eth.send_raw_transaction = saved
        changed = issuance.reconcile()
        assert changed == {body["tx_hash"]: "broadcast"}
        inv = db.session.query(Invoice).filter_by(number=body["number"]).one()
        assert inv.state == "issued" and inv.chain_status == "Issued" and inv.check_code
    # retrying with the same key does not issue twice
    r = api("merchant1").post("/invoices", json=sample_invoice(), headers={"Idempotency-Key": "k1"})
    assert r.status_code == 200 and r.get_json()["number"] == body["number"]


def test_chain_restart_between_sign_and_receipt(tmp_path):
    """Anvil holds the issue tx in its mempool (no mining), is restarted from its state
    file without it; the backend restarts too; reconcile re-broadcasts, the invoice is
    issued once, the DB and the chain agree."""
    from chainutil import Anvil, deploy
    from backendutil import make_app

    from backend.services import seed

    anvil = Anvil(state=tmp_path / "state.json").start()
    try:
        deploy(anvil.url, tmp_path / "deployment.json")
        app = make_app(tmp_path, str(tmp_path / "deployment.json"), TX_TIMEOUT=1)
        with app.app_context():
            users = {u["username"]: u for u in seed.seed_users(password="pw")}
        w3 = Web3(HTTPProvider(anvil.url))
        w3.provider.make_request("evm_setAutomine", [False])
        c = app.test_client()
        r = c.post("/api/v1/invoices", json=sample_invoice(),
                   headers={"Authorization": f"Bearer {users['merchant1']['api_token']}"})
        assert r.status_code == 202, r.get_json()
        number = r.get_json()["number"]
        with app.app_context():
            db.engine.dispose()
        anvil.stop()
        anvil.start(new_port=True)
        app2 = make_app(tmp_path, str(tmp_path / "deployment.json"), fresh=False, RPC_URL=anvil.url)
        with app2.app_context():
            reset_chain(app2)
            chain = get_chain()
            assert not chain.call("InvoiceRegistry", "exists", bytes.fromhex(canonical.invoice_key(number)[2:]))
            issuance.reconcile(deep=True)
            inv = db.session.query(Invoice).filter_by(number=number).one()
            assert inv.state == "issued" and inv.chain_status == "Issued"
            onchain = chain.call_named("InvoiceRegistry", "getInvoiceByNumber", number)
            assert onchain["gross"] == inv.gross
            assert db.session.query(OutboxTx).filter_by(ref=number).one().broadcasts == 2
            assert issuance.reconcile(deep=True) == {}
            db.engine.dispose()
    finally:
        anvil.stop()
