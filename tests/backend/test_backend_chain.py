"""The chain module: seeding through it, custom errors decoded, nonce manager under
concurrency, outbox journaling and reconciliation (also across a chain restart)."""
import threading

import pytest
from chainutil import Anvil, deploy, dev_account
from backendutil import make_app
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from backend.chain import ChainRefusal, get_chain, reset_chain
from backend.db import db
from backend.models import OutboxTx

TAX_IDS = ["91350100M000100Y43", "91110000802100433B"]


def test_seed_registers_and_approves_merchants(chain_app, seeded):
    with chain_app.app_context():
        chain = get_chain()
        for name in ("merchant1", "merchant2"):
            assert chain.call("MerchantRegistry", "isActiveMerchant", seeded[name]["address"])
        rows = db.session.query(OutboxTx).all()
        assert rows and all(r.status == "mined" for r in rows)
        assert len({(r.sender, r.nonce) for r in rows}) == len(rows)


def test_custom_error_decoded_with_human_message(chain_app, seeded):
    with chain_app.app_context():
        chain = get_chain()
        before = db.session.query(OutboxTx).count()
        with pytest.raises(ChainRefusal) as e:
            chain.transact(seeded["merchant1"]["address"], "MerchantRegistry", "applyAsMerchant", "X",
                           "91350100M000100Y43", keccak(text="L"))
        assert e.value.name == "MerchantAlreadyRegistered"
        assert "already" in e.value.message
        assert e.value.args_["account"] == seeded["merchant1"]["address"]
        # a refused call is never journaled
        assert db.session.query(OutboxTx).count() == before
        with pytest.raises(ChainRefusal) as e:
            chain.transact(dev_account(7).address, "MerchantRegistry", "applyAsMerchant", "X", "BAD", keccak(text="L"))
        assert e.value.name == "InvalidTaxId"
        with pytest.raises(ChainRefusal) as e:
            chain.transact(dev_account(7).address, "MerchantRegistry", "approve", dev_account(8).address,
                           (1, 1, 1))
        assert e.value.name == "AccessControlUnauthorizedAccount"


def test_nonce_manager_concurrent_sends(chain_app, seeded):
    """16 threads sending from one account: every nonce used once, every tx mined."""
    sender = dev_account(1)  # merchant1: approved, may set operators
    with chain_app.app_context():
        start = get_chain().w3.eth.get_transaction_count(sender.address)
    results, errors = [], []

    def work(i):
        try:
            with chain_app.app_context():
                r = get_chain().transact(sender.address, "MerchantRegistry", "setOperator",
                                         dev_account(8 + i % 2).address, i % 2 == 0)
                results.append(r)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors, errors
    assert len(results) == 16 and all(r.status == "mined" for r in results)
    with chain_app.app_context():
        rows = db.session.query(OutboxTx).filter(OutboxTx.sender == sender.address, OutboxTx.nonce >= start).all()
        assert sorted(r.nonce for r in rows) == list(range(start, start + 16))
        assert get_chain().w3.eth.get_transaction_count(sender.address) == start + 16


def test_nonce_resync_after_external_send(chain_app, seeded, chain):
    """Another client used the key: 'nonce too low' → the journaled row is dropped and the
    tx re-signed with a fresh nonce; nothing is sent twice."""
    sender = dev_account(1)
    with chain_app.app_context():
        c = get_chain()
        c.transact(sender.address, "MerchantRegistry", "setOperator", dev_account(8).address, True)
        # an external send with the next nonce
        w3 = chain["w3"]
        tx = {"to": sender.address, "value": 1, "gas": 21000, "gasPrice": w3.eth.gas_price, "chainId": 31337,
              "nonce": w3.eth.get_transaction_count(sender.address)}
        w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
        r = c.transact(sender.address, "MerchantRegistry", "setOperator", dev_account(9).address, True)
        assert r.status == "mined"
        statuses = sorted(row.status for row in db.session.query(OutboxTx).filter_by(sender=sender.address))
        assert statuses == ["dropped", "mined", "mined", "mined"]  # applyAsMerchant, 2 x setOperator


def test_outbox_journal_then_crash_then_reconcile(chain_app, seeded, chain):
    """Signed + journaled but never broadcast (backend died): reconcile sends it once."""
    sender = dev_account(1)
    with chain_app.app_context():
        c = get_chain()
        original = c.w3.eth.send_raw_transaction

        def dead(raw):
            raise ConnectionError("Connection refused")

        c.w3.eth.send_raw_transaction = dead
        r = c.transact(sender.address, "MerchantRegistry", "setOperator", dev_account(8).address, True)
        assert r.status == "signed"
        c.w3.eth.send_raw_transaction = original
        row = db.session.get(OutboxTx, r.outbox_id)
        assert row.status == "signed" and row.raw_tx.startswith("0x")
        assert chain["w3"].eth.get_transaction_count(sender.address) == row.nonce
    # "restart" the backend: a new app on the same DB
    with chain_app.app_context():
        reset_chain(chain_app)
        changed = get_chain().reconcile()
        assert changed == {r.tx_hash: "broadcast"}
        get_chain().wait_pending()
        row = db.session.get(OutboxTx, r.outbox_id)
        assert row.status == "mined" and row.broadcasts == 1
        assert get_chain().call("MerchantRegistry", "canActFor", dev_account(8).address, sender.address)
        # reconcile again: nothing to do, nothing sent twice
        assert get_chain().reconcile(deep=True) == {}
        assert chain["w3"].eth.get_transaction_count(sender.address) == row.nonce + 1


def test_outbox_survives_chain_restart_between_sign_and_receipt(tmp_path):
    """The tx reaches the node's mempool, the node restarts from its state file without
    it; after the restart reconcile re-broadcasts the same signed bytes and it is mined."""
    state = tmp_path / "anvil-state.json"
    anvil = Anvil(state=state).start()
    try:
        record_path = tmp_path / "deployment.json"
        deploy(anvil.url, record_path)
        app = make_app(tmp_path, str(record_path), TX_TIMEOUT=1)
        sender = dev_account(6)
        w3 = Web3(HTTPProvider(anvil.url))
        w3.provider.make_request("evm_setAutomine", [False])
        with app.app_context():
            r = get_chain().transact(sender.address, "MerchantRegistry", "applyAsMerchant", "厦门示例",
                                     "91350100M000100Y43", keccak(text="L-1"))
            assert r.status == "sent"  # in the mempool, not mined
        anvil.stop()  # state dumped without the pending tx
        anvil.start(new_port=True)  # automine again, state restored
        w3 = Web3(HTTPProvider(anvil.url))
        assert w3.eth.get_transaction_count(sender.address) == 0
        app.config["RPC_URL"] = anvil.url
        with app.app_context():
            reset_chain(app)
            changed = get_chain().reconcile(deep=True)
            assert changed == {r.tx_hash: "broadcast"}
            get_chain().wait_pending()
            row = db.session.get(OutboxTx, r.outbox_id)
            assert row.status == "mined" and row.broadcasts == 2
            assert get_chain().reconcile(deep=True) == {}
            assert get_chain().call_named("MerchantRegistry", "merchant", sender.address)["status"] == 1
        assert w3.eth.get_transaction_count(sender.address) == 1
        with app.app_context():
            db.engine.dispose()
    finally:
        anvil.stop()


def test_reconcile_marks_dropped_when_nonce_consumed(chain_app, seeded, chain):
    sender = dev_account(1)
    with chain_app.app_context():
        c = get_chain()
        c.w3.eth.send_raw_transaction, saved = (lambda raw: (_ for _ in ()).throw(ConnectionError("Connection refused"))), c.w3.eth.send_raw_transaction
        r = c.transact(sender.address, "MerchantRegistry", "setOperator", dev_account(8).address, True)
        c.w3.eth.send_raw_transaction = saved
        w3 = chain["w3"]
        tx = {"to": sender.address, "value": 1, "gas": 21000, "gasPrice": w3.eth.gas_price, "chainId": 31337,
              "nonce": db.session.get(OutboxTx, r.outbox_id).nonce}
        w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
        assert c.reconcile() == {r.tx_hash: "dropped"}
