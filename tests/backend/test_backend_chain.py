"""The chain module: seeding through it, custom errors decoded, nonce manager under
concurrency, outbox journaling and reconciliation (also across a chain restart)."""
import threading

import pytest
from chainutil import Anvil, deploy, dev_account
from backendutil import make_app
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from backend.chain import get_chain, get_signer, reset_chain
from backend.chain.errors import ChainRefusal
from backend.core.db import db
from backend.core.models import OutboxTx

TAX_IDS = ["91350100M000100Y43", "91110000802100433B"]


def test_seed_registers_and_approves_merchants(chain_app, seeded):
    from backend.core import buyer_privacy
    from backend.services import numbering

    with chain_app.app_context():
        chain = get_chain()
        ranges = []
        for name, tax_id, province in (("merchant1", TAX_IDS[0], "35"), ("merchant2", TAX_IDS[1], "11")):
            address = seeded[name]["address"]
            assert chain.call("MerchantRegistry", "isActiveMerchant", address)
            # approved with the seller tag of its own tax ID (the self-dealing rule compares it)
            profile = chain.call_named("MerchantRegistry", "merchant", address)
            assert profile["sellerTag"] == buyer_privacy.seller_tag(tax_id, address)
            # and a number range of its own: YY + its USCC province + channel 1
            first, last = chain.call("InvoiceRegistry", "numberRangeOf", address)
            assert f"{first:020d}"[2:5] == province + "1" and last - first + 1 == chain_app.config["NUMBER_RANGE_SIZE"]
            assert numbering.range_of(address)["first"] == f"{first:020d}"
            ranges.append((first, last))
        assert ranges[0][1] < ranges[1][0] or ranges[1][1] < ranges[0][0]
        rows = db.session.query(OutboxTx).all()
        assert rows and all(r.status == "mined" for r in rows)
        assert len({(r.sender, r.nonce) for r in rows}) == len(rows)


def test_custom_error_decoded_with_human_message(chain_app, seeded):
    with chain_app.app_context():
        chain = get_signer()
        before = db.session.query(OutboxTx).count()
        with pytest.raises(ChainRefusal) as e:
            chain.transact(seeded["merchant1"]["address"], "MerchantRegistry", "applyAsMerchant", "X",
                           "91350100M000100Y43", keccak(text="L"))
        assert e.value.name == "MerchantAlreadyRegistered"
        assert "已有商户申请或登记" in e.value.message  # outside a request: Chinese
        assert e.value.args_["account"] == seeded["merchant1"]["address"]
        # a refused call is never journaled
        assert db.session.query(OutboxTx).count() == before
        with pytest.raises(ChainRefusal) as e:
            chain.transact(dev_account(9).address, "MerchantRegistry", "applyAsMerchant", "X", "BAD", keccak(text="L"))
        assert e.value.name == "InvalidTaxId"
        with pytest.raises(ChainRefusal) as e:
            chain.transact(dev_account(9).address, "MerchantRegistry", "approve", dev_account(8).address,
                           (1, 1, 1), b"\x01" * 12)
        assert e.value.name == "AccessControlUnauthorizedAccount"
        assert e.value.message.startswith("账户") and "税务机关角色" in e.value.message  # the role in words
        assert "AUTHORITY_ROLE" not in e.value.message


def _abi_errors(*names):
    """{name: [input names]} of every custom error in these build artifacts' ABIs."""
    import json

    from chainutil import ARTIFACTS

    out = {}
    for name in names:
        for entry in json.loads((ARTIFACTS / f"{name}.json").read_text())["abi"]:
            if entry["type"] == "error":
                out[entry["name"]] = [i["name"] for i in entry["inputs"]]
    return out


def test_every_platform_error_has_a_translated_message(app):
    """Every custom error of the v2 contracts (their own and the OpenZeppelin access and
    pause errors) has a message (an English msgid with its Chinese in the catalog) whose
    placeholders are the error's arguments; no message is left for an error that no longer
    exists; no message names a role constant."""
    import re

    from flask_babel import force_locale

    from backend.chain.errors import MESSAGES

    errors = _abi_errors("MerchantRegistry", "InvoiceRegistry", "ReceivableLedger", "SettlementToken", "ExpenseClaims")
    required = set(_abi_errors("IMerchantRegistry", "IInvoiceRegistry", "IReceivableLedger", "IExpenseClaims")) | {
        "AccessControlUnauthorizedAccount", "AccessControlBadConfirmation", "AccessControlEnforcedDefaultAdminRules",
        "AccessControlInvalidDefaultAdmin", "AccessControlEnforcedDefaultAdminDelay", "EnforcedPause",
        "ExpectedPause"}
    assert required <= set(errors), sorted(required - set(errors))
    missing = sorted(required - set(MESSAGES))
    assert not missing, missing
    stale = sorted(set(MESSAGES) - set(errors))
    assert not stale, stale  # e.g. v1's OpenAmountBelowDrawn is gone
    with app.test_request_context():
        for name, template in MESSAGES.items():
            with force_locale("zh"):
                zh = str(template)
            with force_locale("en"):
                en = str(template)
            assert re.search(r"[\u4e00-\u9fff]", zh) and not re.search(r"[A-Za-z]{4,}", re.sub(r"%\(\w+\)s", "", zh)), name
            assert not re.search(r"[\u4e00-\u9fff]", en), name
            fields = set(re.findall(r"%\((\w+)\)s", en))
            assert fields <= set(errors[name]), (name, fields - set(errors[name]))
            assert "_ROLE" not in en + zh, name


def _message_in(app, language, name, args):
    from backend.chain.errors import human_message

    with app.test_request_context(headers={"Accept-Language": language}):
        return human_message(name, args)


def test_human_messages_show_yuan_rates_and_names_in_chinese_and_english(app):
    from eth_utils import keccak

    m = _message_in(app, "zh", "TaxOutOfTolerance", {"rate": 13, "net": 123456, "tax": 17000, "tolerance": 2})
    assert m.startswith("13% 税率分组的税额 ¥170.00") and "¥1,234.56" in m and "¥0.02" in m
    m = _message_in(app, "en", "TaxOutOfTolerance", {"rate": 13, "net": 123456, "tax": 17000, "tolerance": 2})
    assert m.startswith("The tax ¥170.00 of the 13% group") and "¥1,234.56" in m and "税" not in m
    mask = {"key": b"k", "expectedMask": 1 << 13, "actualMask": 1 << 6 | 1 << 13}
    assert "原发票：13%；红字发票：6%、13%" in _message_in(app, "zh", "RateMismatch", mask)
    assert "original: 13%; note: 6%, 13%" in _message_in(app, "en", "RateMismatch", mask)
    assert "¥5,000.00" in _message_in(app, "zh", "InvoiceHasReceivable", {"key": b"k", "receivables": 5000_00})
    role = {"account": "0xA", "neededRole": keccak(text="AUDITOR_ROLE")}
    zh, en = (_message_in(app, lang, "AccessControlUnauthorizedAccount", role) for lang in ("zh", "en"))
    assert "审计员角色" in zh and "the auditor role" in en and "AUDITOR_ROLE" not in zh + en
    assert "the financier role" in _message_in(app, "en", "NotFinancier", {"account": "0xA"})
    status = {"account": "0xA", "expected": 2, "actual": 3}
    assert "“已暂停”" in _message_in(app, "zh", "InvalidMerchantStatus", status)
    assert "The merchant is suspended; this action needs it approved." == \
        _message_in(app, "en", "InvalidMerchantStatus", status)
    assert "已全额红冲" in _message_in(app, "zh", "InvalidInvoiceStatus", {"status": 6})
    assert "(fully red-lettered)" in _message_in(app, "en", "InvalidInvoiceStatus", {"status": 6})
    when = {"id": 7, "notBefore": 1_767_225_600}  # 2026-01-01 08:00 China time
    assert "2026-01-01 08:00（北京时间）" in _message_in(app, "zh", "MaturityNotReached", when)
    assert "2026-01-01 08:00 China time (UTC+8)" in _message_in(app, "en", "MaturityNotReached", when)
    # an error without a message: a sentence in words, not "NoSuchError(x=1)"
    assert _message_in(app, "zh", "NoSuchError", {"x": 1}) == "区块链拒绝了此操作。"
    assert _message_in(app, "en", "NoSuchError", {"x": 1}) == "The blockchain refused this action."


def test_nonce_manager_concurrent_sends(chain_app, seeded):
    """16 threads sending from one account: every nonce used once, every tx mined."""
    sender = dev_account(1)  # merchant1: approved, may set operators
    with chain_app.app_context():
        start = get_chain().w3.eth.get_transaction_count(sender.address)
    results, errors = [], []

    def work(i):
        try:
            with chain_app.app_context():
                r = get_signer().transact(sender.address, "MerchantRegistry", "setOperator",
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
        c = get_signer()
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
        c = get_signer()
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
        changed = get_signer().reconcile()
        assert changed == {r.tx_hash: "broadcast"}
        get_signer().wait_pending()
        row = db.session.get(OutboxTx, r.outbox_id)
        assert row.status == "mined" and row.broadcasts == 1
        assert get_chain().call("MerchantRegistry", "canActFor", dev_account(8).address, sender.address)
        # reconcile again: nothing to do, nothing sent twice
        assert get_signer().reconcile(deep=True) == {}
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
            r = get_signer().transact(sender.address, "MerchantRegistry", "applyAsMerchant", "厦门示例",
                                     "91350100M000100Y43", keccak(text="L-1"))
            assert r.status == "sent"  # in the mempool, not mined
        anvil.stop()  # state dumped without the pending tx
        anvil.start(new_port=True)  # automine again, state restored
        w3 = Web3(HTTPProvider(anvil.url))
        assert w3.eth.get_transaction_count(sender.address) == 0
        app.config["RPC_URL"] = anvil.url
        with app.app_context():
            reset_chain(app)
            changed = get_signer().reconcile(deep=True)
            assert changed == {r.tx_hash: "broadcast"}
            get_signer().wait_pending()
            row = db.session.get(OutboxTx, r.outbox_id)
            assert row.status == "mined" and row.broadcasts == 2
            assert get_signer().reconcile(deep=True) == {}
            assert get_chain().call_named("MerchantRegistry", "merchant", sender.address)["status"] == 1
        assert w3.eth.get_transaction_count(sender.address) == 1
        with app.app_context():
            db.engine.dispose()
    finally:
        anvil.stop()


def test_reconcile_marks_dropped_when_nonce_consumed(chain_app, seeded, chain):
    sender = dev_account(1)
    with chain_app.app_context():
        c = get_signer()
        c.w3.eth.send_raw_transaction, saved = (lambda raw: (_ for _ in ()).throw(ConnectionError("Connection refused"))), c.w3.eth.send_raw_transaction
        r = c.transact(sender.address, "MerchantRegistry", "setOperator", dev_account(8).address, True)
        c.w3.eth.send_raw_transaction = saved
        w3 = chain["w3"]
        tx = {"to": sender.address, "value": 1, "gas": 21000, "gasPrice": w3.eth.gas_price, "chainId": 31337,
              "nonce": db.session.get(OutboxTx, r.outbox_id).nonce}
        w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
        assert c.reconcile() == {r.tx_hash: "dropped"}
