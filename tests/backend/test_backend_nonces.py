"""Nonces and invoice numbers are taken in the transaction that journals them, so nothing
is burned (issue 10, items 1, 2, 5): 16 racing requests with one Idempotency-Key leave no
nonce gap; a gap made on purpose is healed in flight and at reconcile; refused issues and
red-letter notes take no number; an idle chain (its latest block 20 minutes old) accepts
an invoice dated today."""
import threading
import time

import pytest

from backendutil import make_app, sample_invoice
from sqlalchemy import update
from web3 import HTTPProvider, Web3

from backend.chain import get_chain, get_signer
from backend.chain.signer import FILL_FUNCTION
from backend.core.db import db
from backend.core.models import Invoice, NumberRange, OutboxTx, SignerNonce
from chainutil import Anvil, deploy, dev_account

OVER_CAP = [{"name": "big", "quantity": 1, "unit_price": 20_000_000_00, "tax_rate": 13}]  # merchant1's cap: 10M


def issue_rows(app, sender):
    with app.app_context():
        return sorted((r.nonce, r.function, r.status) for r in db.session.query(OutboxTx).filter_by(sender=sender))


def skip_a_nonce(app, sender):
    """The stored counter moves one ahead: the next transaction leaves a gap below it."""
    with app.app_context():
        db.session.execute(update(SignerNonce).where(SignerNonce.sender == sender)
                           .values(next_nonce=SignerNonce.next_nonce + 1))
        db.session.commit()


def test_same_idempotency_key_race_burns_no_nonce(api, chain_app, seeded):
    sender = seeded["merchant1"]["address"]
    out = []

    def client():
        r = api("merchant1").post("/invoices", json=sample_invoice(), headers={"Idempotency-Key": "race-1"})
        out.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=client) for _ in range(16)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    # one created; the others replay it (202 while it is not yet mined)
    statuses = [s for s, _ in out]
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 202}, [b for s, b in out if s > 202][:2]
    assert len({b["number"] for _, b in out}) == 1
    started = time.monotonic()
    r = api("merchant1").post("/invoices", json=sample_invoice())
    assert r.status_code == 201 and time.monotonic() - started < 2, r.get_json()
    with chain_app.app_context():
        assert db.session.query(Invoice).filter_by(idempotency_key="race-1").count() == 1
        w3 = get_chain().w3
        rows = [row for row in issue_rows(chain_app, sender) if row[1] == "issue"]
        nonces = [n for n, _, _ in rows]
        assert nonces == list(range(nonces[0], nonces[0] + 2))  # consecutive: nothing taken and lost
        assert all(status == "mined" for _, _, status in rows)
        assert w3.eth.get_transaction_count(sender) == nonces[-1] + 1
    assert not [row for row in issue_rows(chain_app, sender) if row[1] == FILL_FUNCTION]  # no gap to heal


def test_gap_is_healed_in_flight(api, chain_app, seeded):
    """Nonce n skipped: the transaction with n+1 waits in the pool until the wait notices
    the missing nonce and fills it with a journaled 0-value self-transfer."""
    sender = seeded["merchant1"]["address"]
    assert api("merchant1").post("/invoices", json=sample_invoice()).status_code == 201
    skip_a_nonce(chain_app, sender)
    started = time.monotonic()
    r = api("merchant1").post("/invoices", json=sample_invoice())
    assert r.status_code == 201 and time.monotonic() - started < 5, r.get_json()
    rows = issue_rows(chain_app, sender)
    fills = [row for row in rows if row[1] == FILL_FUNCTION]
    assert len(fills) == 1 and fills[0][2] in ("sent", "mined")
    assert [n for n, _, _ in rows] == list(range(rows[0][0], rows[0][0] + len(rows)))
    with chain_app.app_context():
        assert get_chain().w3.eth.get_transaction_count(sender) == rows[-1][0] + 1


def test_gap_is_healed_at_reconcile(chain_app, seeded):
    """A journaled and broadcast transaction with nonce n+1 while n is missing (not waited
    for, as after a crash): reconcile fills n and both are mined."""
    sender = dev_account(1).address
    with chain_app.app_context():
        signer = get_signer()
        signer.transact(sender, "MerchantRegistry", "setOperator", dev_account(8).address, True)
        skip_a_nonce(chain_app, sender)
        r = signer.transact(sender, "MerchantRegistry", "setOperator", dev_account(9).address, True, wait=False)
        w3 = get_chain().w3
        gap = db.session.get(OutboxTx, r.outbox_id).nonce - 1
        assert r.status == "sent" and w3.eth.get_transaction_count(sender, "pending") == gap  # stuck
        changed = signer.reconcile()
        fill = db.session.query(OutboxTx).filter_by(sender=sender, function=FILL_FUNCTION).one()
        assert fill.nonce == gap and changed == {fill.tx_hash: "broadcast"}
        signer.wait_pending()
        assert db.session.get(OutboxTx, r.outbox_id).status == "mined" and fill.status == "mined"
        assert get_chain().call("MerchantRegistry", "canActFor", dev_account(9).address, sender)
        assert signer.reconcile(deep=True) == {}  # healed: nothing more to do
        assert db.session.get(SignerNonce, (31337, sender)).next_nonce == gap + 2


def next_seq(app, address):
    with app.app_context():
        return db.session.get(NumberRange, address).next_seq


def test_refusals_burn_no_number(api, chain_app, seeded):
    """20 issues refused by the chain (over the merchant's cap) and 5 refused red-letter
    notes leave the sequence where it was; the next invoices get consecutive numbers."""
    m = api("merchant1")
    first = m.post("/invoices", json=sample_invoice())
    assert first.status_code == 201, first.get_json()
    address = seeded["merchant1"]["address"]
    before = next_seq(chain_app, address)
    for _ in range(20):
        r = m.post("/invoices", json=sample_invoice(items=OVER_CAP))
        assert r.status_code == 422 and r.get_json()["error"] == "InvoiceCapExceeded", r.get_json()
    number = first.get_json()["number"]
    for _ in range(5):
        r = m.post(f"/invoices/{number}/red-letter", json={"reason_code": 1, "items": [
            {"name": "too much", "quantity": 1, "unit_price": 500_00, "tax_rate": 13}]})
        assert r.status_code == 409 and r.get_json()["error"] == "RedLetterExceedsOpenAmount", r.get_json()
    assert next_seq(chain_app, address) == before
    second = m.post("/invoices", json=sample_invoice())
    assert second.status_code == 201
    assert int(second.get_json()["number"]) == int(number) + 1
    note = m.post(f"/invoices/{number}/red-letter", json={"reason_code": 1, "items": [
        {"name": "退货 return", "quantity": 1, "unit_price": 100_00, "tax_rate": 13}]})
    assert note.status_code == 201 and int(note.get_json()["number"]) == int(number) + 2


@pytest.mark.parametrize("endpoint", ["/api/v1/invoices", "/api/v1/invoices/batch"])
def test_idle_chain_accepts_todays_invoice(tmp_path, endpoint):
    """Idle time simulated without waiting: the chain is started with its clock 20 minutes
    back (``anvil --timestamp``), deployed and seeded, then ``evm_setTime`` puts its clock
    back to now: the latest block is 20 minutes old, the next block will be timed now (as
    after 20 idle minutes). Estimating against the latest block refuses IssueTimeInFuture
    (issuedAt = now > block time + 5 min skew); the invoice must still be issued. The batch
    endpoint simulates with eth_call (its gas bound known) instead: the same retry applies."""
    from backend.services import seed

    anvil = Anvil(extra_args=["--timestamp", str(int(time.time()) - 1200)]).start()
    try:
        deploy(anvil.url, tmp_path / "deployment.json")
        app = make_app(tmp_path, str(tmp_path / "deployment.json"))
        with app.app_context():
            token = {u["username"]: u for u in seed.seed_users(password="pw")}["merchant1"]["api_token"]
        w3 = Web3(HTTPProvider(anvil.url))
        w3.provider.make_request("evm_setTime", [int(time.time())])
        assert time.time() - w3.eth.get_block("latest")["timestamp"] > 1100  # idle for 20 minutes
        batch = endpoint.endswith("batch")
        r = app.test_client().post(endpoint, json={"invoices": [sample_invoice()] * 2} if batch else sample_invoice(),
                                   headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.get_json()
        answers = r.get_json()["results"] if batch else [r.get_json()]
        assert [a["state" if not batch else "status"] for a in answers] == ["issued"] * len(answers)
        with app.app_context():
            for a in answers:
                assert get_chain().call_named("InvoiceRegistry", "getInvoiceByNumber", a["number"])["gross"]
            db.engine.dispose()
    finally:
        anvil.stop()
