"""Receivables through the JSON API with the demo users (issue 11's acceptance journey):
merchant1 invoices the demo buyer, draws a receivable for the gross, the buyer accepts,
merchant1 splits it, transfers a part to merchant2, merchant2 pledges it to the financier,
the financier finances it with a fee, the buyer settles both parts; then the refusals."""
from datetime import date, timedelta

import pytest

from backend.chain import indexer
from backend.core import canonical
from backend.services import seed

from backendutil import sample_invoice


def _due(days=30):
    return (date.today() + timedelta(days=days)).isoformat()


def _balances(api):
    return {name: api(name).get("/balances").get_json()["balance"]
            for name in ("merchant1", "merchant2", "financier", "buyer")}


def _issue(api, **over):
    r = api("merchant1").post("/invoices", json=sample_invoice(**over))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_me_names_role_address_tax_id_and_a_merchants_limits(api, seeded):
    me = _ok(api("merchant1").get("/me"))
    assert me == {"username": "merchant1", "role": "merchant", "address": seeded["merchant1"]["address"],
                  "tax_id": "91350100M000100Y43", "invoice_cap": seed.LIMITS[0], "monthly_quota": seed.LIMITS[1]}
    assert _ok(api("buyer").get("/me"))["tax_id"] == seeded["buyer"]["tax_id"] == "91530100MA6K0002XU"
    assert api().get("/me").status_code == 401


def test_dev_credentials_list_tax_ids(chain_app, tmp_path):
    import json

    with chain_app.app_context():
        path = seed.seed_dev(out=str(tmp_path / "creds.json"), password="pw-test-123")
    users = {u["username"]: u for u in json.load(open(path))["users"]}
    assert users["merchant2"]["tax_id"] == "91110000802100433B"
    assert users["buyer"]["tax_id"] == "91530100MA6K0002XU"
    assert users["authority"]["tax_id"] is None


def test_the_journey(api, chain_app, seeded):
    inv = _issue(api)
    gross = inv["gross"]
    start = _balances(api)

    created = _ok(api("merchant1").post("/receivables", json={"invoice_number": inv["number"], "amount": gross,
                                                               "due_date": _due()}), 201)
    rid = created["id"]
    assert created["status"] == "created" and created["amount"] == gross
    assert created["debtor"] == seeded["buyer"]["address"] and created["holder"] == seeded["merchant1"]["address"]
    assert created["invoice_number"] == inv["number"] and created["due_date"] == _due()
    assert created["actions"] == ["cancel"]
    assert "accept" in _ok(api("buyer").get(f"/receivables/{rid}"))["actions"]

    assert _ok(api("buyer").post(f"/receivables/{rid}/accept"))["status"] == "accepted"
    first = gross // 3
    parent = _ok(api("merchant1").post(f"/receivables/{rid}/split", json={"amounts": [first, gross - first]}))
    assert parent["status"] == "split" and len(parent["children"]) == 2
    part1, part2 = parent["children"]
    assert {c["event"] for c in parent["timeline"]} >= {"ReceivableCreated", "ReceivableAccepted", "ReceivableSplit"}

    moved = _ok(api("merchant1").post(f"/receivables/{part2}/transfer", json={"to": "merchant2"}))
    assert moved["holder"] == seeded["merchant2"]["address"] and moved["parent"] == rid
    offered = _ok(api("merchant2").post(f"/receivables/{part2}/pledge", json={"financier": "financier"}))
    assert offered["status"] == "offered" and offered["financier"] == seeded["financier"]["address"]
    assert set(_ok(api("financier").get(f"/receivables/{part2}"))["actions"]) == {"finance", "decline-pledge"}

    part2_amount = gross - first
    advance, fee = part2_amount * 9 // 10, part2_amount // 50
    financed = _ok(api("financier").post(f"/receivables/{part2}/finance", json={"advance": advance, "fee": fee}))
    assert financed["status"] == "pledged" and (financed["advance"], financed["fee"]) == (advance, fee)
    assert financed["owed_to_financier"] == advance + fee
    after_finance = _balances(api)
    assert after_finance["merchant2"] - start["merchant2"] == advance
    assert start["financier"] - after_finance["financier"] == advance

    # the buyer pays the financed part in two instalments: the financier first, then merchant2
    _ok(api("buyer").post(f"/receivables/{part2}/settle", json={"amount": advance}))
    mid = _balances(api)
    assert mid["financier"] - after_finance["financier"] == advance and mid["merchant2"] == after_finance["merchant2"]
    done2 = _ok(api("buyer").post(f"/receivables/{part2}/settle", json={"amount": part2_amount - advance}))
    done1 = _ok(api("buyer").post(f"/receivables/{part1}/settle", json={"amount": first}))
    assert done1["status"] == done2["status"] == "settled"
    assert done2["repaid"] == advance + fee and done2["owed_to_financier"] == 0

    end = _balances(api)
    assert end["financier"] - start["financier"] == fee  # its advance back plus its fee
    assert end["merchant2"] - start["merchant2"] == part2_amount - fee  # advance + the rest after the financier
    assert end["merchant1"] - start["merchant1"] == first
    assert start["buyer"] - end["buyer"] == gross
    assert sum(end.values()) == sum(start.values())  # token value conserved

    with chain_app.app_context():
        indexer.run_once()
    tree = _ok(api("merchant2").get(f"/receivables/{part2}"))
    paid = [e for e in tree["timeline"] if e["event"] == "ReceivableSettled"]
    assert [int(e["args"]["toFinancier"]) for e in paid] == [advance, fee]  # financier first, in full
    financed = next(e for e in tree["timeline"] if e["event"] == "ReceivableFinanced")
    assert financed["detail"] == f"融资款 {canonical.yuan(advance)} · 手续费 {canonical.yuan(fee)}"
    assert financed["label"] == "融资放款" and tree["status_label"] == "已结清"
    english = _ok(api("merchant2").get(f"/receivables/{part2}", headers={"Accept-Language": "en"}))
    financed = next(e for e in english["timeline"] if e["event"] == "ReceivableFinanced")
    assert financed["detail"] == f"Advance {canonical.yuan(advance)} · fee {canonical.yuan(fee)}"
    assert financed["label"] == "Financed" and english["status_label"] == "Settled"
    assert [e["event"] for e in tree["timeline"]][:2] == ["ReceivableSplit", "ReceivableTransferred"]
    lists = {role: [r["id"] for r in _ok(api("merchant2").get(f"/receivables?role={role}"))["receivables"]]
             for role in ("holder", "debtor")}
    assert lists == {"holder": [part2], "debtor": []}
    assert {r["id"] for r in _ok(api("financier").get("/receivables?role=financier&status=settled"))
            ["receivables"]} == {part2}


def test_refusals_are_named(api, seeded):
    inv = _issue(api)
    r = api("merchant2").post("/receivables", json={"invoice_number": inv["number"], "amount": 100,
                                                   "due_date": _due()})
    assert r.status_code == 403
    r = api("merchant1").post("/receivables", json={"invoice_number": inv["number"], "amount": inv["gross"] + 1,
                                                   "due_date": _due()})
    assert r.status_code == 409 and r.get_json()["error"] == "ExceedsInvoiceAvailable"
    assert "¥" in r.get_json()["message"]
    r = api("merchant1").post("/receivables", json={"invoice_number": inv["number"], "amount": 100,
                                                   "due_date": "2020-01-01"})
    assert r.status_code == 400 and "due_date" in r.get_json()["fields"]
    rid = _ok(api("merchant1").post("/receivables", json={"invoice_number": inv["number"], "amount": 1000,
                                                          "due_date": _due()}), 201)["id"]
    r = api("merchant1").post(f"/receivables/{rid}/accept")
    assert r.status_code == 403 and r.get_json()["error"] == "NotDebtor"
    r = api("merchant1").post(f"/receivables/{rid}/transfer", json={"to": "merchant2"})
    assert r.status_code == 409 and r.get_json()["error"] == "ReceivableNotAccepted"
    _ok(api("buyer").post(f"/receivables/{rid}/accept"))
    r = api("merchant1").post(f"/receivables/{rid}/split", json={"amounts": [100, 100]})
    assert r.status_code == 400 and "amounts" in r.get_json()["fields"]
    r = api("merchant1").post(f"/receivables/{rid}/transfer", json={"to": "nobody"})
    assert r.status_code == 400 and "to" in r.get_json()["fields"]
    r = api("financier").post(f"/receivables/{rid}/finance", json={"advance": 100, "fee": 0})
    assert r.status_code == 403  # not a party: it cannot even see it before the offer
    _ok(api("merchant1").post(f"/receivables/{rid}/pledge", json={"financier": "financier"}))
    r = api("financier").post(f"/receivables/{rid}/finance", json={"advance": 900, "fee": 200})
    assert r.status_code == 422 and r.get_json()["error"] == "FeeExceedsOutstanding"
    _ok(api("financier").post(f"/receivables/{rid}/decline-pledge"))
    assert _ok(api("merchant1").get(f"/receivables/{rid}"))["status"] == "accepted"
    r = api("merchant1").post(f"/receivables/{rid}/mark-overdue")
    assert r.status_code == 409 and r.get_json()["error"] == "MaturityNotReached"
    assert api("merchant1").get("/receivables/999999").status_code == 404
    assert api("merchant1").get("/receivables/12ab").status_code == 404


def test_overdue_then_default(api, chain, seeded):
    inv = _issue(api)
    rid = _ok(api("merchant1").post("/receivables", json={"invoice_number": inv["number"], "amount": 5000,
                                                          "due_date": _due(1)}), 201)["id"]
    _ok(api("buyer").post(f"/receivables/{rid}/accept"))
    chain["w3"].provider.make_request("evm_increaseTime", [3 * 86400])
    chain["w3"].provider.make_request("evm_mine", [])
    assert "mark-overdue" in _ok(api("merchant1").get(f"/receivables/{rid}"))["actions"]
    assert _ok(api("merchant1").post(f"/receivables/{rid}/mark-overdue"))["status"] == "overdue"
    r = api("merchant1").post(f"/receivables/{rid}/mark-defaulted")
    assert r.status_code == 409 and r.get_json()["error"] == "MaturityNotReached"
    assert _ok(api("buyer").post(f"/receivables/{rid}/settle", json={"amount": 5000}))["status"] == "settled"


def test_buyer_link_confirmed_by_the_authority(chain_app, seeded):
    from backend.core.db import get_db
    from backend.core.models import User
    from backend.services import merchants

    with chain_app.app_context():
        db = get_db()
        buyer = db.query(User).filter_by(username="buyer").one()
        assert merchants.chain_role_of(buyer)[2] is True  # dev seeding linked it
        other = User(username="buyer2", role="buyer", address="0x" + "ab" * 20, buyer_tax_id="91440300MA5F000007")
        other.set_password("pw-test-123")
        db.add(other)
        db.commit()
        assert merchants.chain_role_of(other)[2] is False
        authority = db.query(User).filter_by(username="authority").one()
        assert merchants.set_chain_role(authority, other, True)[2] is True


def test_faucet_is_for_demo_accounts_in_dev_mode(api):
    before = _ok(api("merchant1").get("/balances"))["balance"]
    after = _ok(api("merchant1").post("/balances/faucet", json={"amount": 12345}))["balance"]
    assert after - before == 12345
    r = api("merchant1").post("/balances/faucet", json={"amount": 0})
    assert r.status_code == 400


@pytest.mark.parametrize("body", [{}, {"amounts": [1]}, {"amounts": [1, "2"]}, {"amounts": [1, 2], "x": 1}])
def test_split_bodies_checked(api, body):
    inv = _issue(api)
    rid = _ok(api("merchant1").post("/receivables", json={"invoice_number": inv["number"], "amount": 3,
                                                          "due_date": _due()}), 201)["id"]
    assert api("merchant1").post(f"/receivables/{rid}/split", json=body).status_code == 400


def test_indexer_follows_ledger_actions_of_other_clients(api, chain_app, chain, seeded):
    """A receivable accepted by the buyer's own wallet (not through this platform) is found by
    the indexer: the row takes the chain's state and the timeline the event."""
    from eth_account import Account

    from backend.chain import get_chain
    from backend.core.db import get_db
    from backend.core.models import Receivable

    from chainutil import dev_account

    inv = _issue(api)
    rid = _ok(api("merchant1").post("/receivables", json={"invoice_number": inv["number"], "amount": 700,
                                                          "due_date": _due()}), 201)["id"]
    w3 = chain["w3"]
    buyer = dev_account(5)
    with chain_app.app_context():
        address, data = get_chain().encode("ReceivableLedger", "accept", int(rid))
        tx = {"to": address, "data": data, "gas": 200_000, "chainId": w3.eth.chain_id, "value": 0,
              "nonce": w3.eth.get_transaction_count(buyer.address), "gasPrice": w3.eth.gas_price or 1}
        signed = Account.sign_transaction(tx, buyer.key)
        w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
        indexer.run_once()
        assert get_db().get(Receivable, rid).status == "accepted"
    timeline = _ok(api("buyer").get(f"/receivables/{rid}"))["timeline"]
    assert [e["event"] for e in timeline] == ["ReceivableCreated", "ReceivableAccepted"]


def test_rewound_chain_drops_receivables_it_no_longer_has(api, chain_app, chain):
    from backend.core.db import get_db
    from backend.core.models import Receivable

    w3 = chain["w3"]
    inv = _issue(api)
    with chain_app.app_context():
        indexer.run_once()
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    rid = _ok(api("merchant1").post("/receivables", json={"invoice_number": inv["number"], "amount": 700,
                                                          "due_date": _due()}), 201)["id"]
    w3.provider.make_request("evm_revert", [snap])
    for _ in range(3):
        w3.provider.make_request("evm_mine", [])
    with chain_app.app_context():
        out = indexer.run_once()
        assert out.get("rewound")
        assert get_db().get(Receivable, rid) is None
    assert api("merchant1").get(f"/receivables/{rid}").status_code == 404


def test_an_actions_read_and_the_background_indexer_store_the_same_new_receivable(app, monkeypatch):
    """The action reads a new receivable while the background indexer inserts the same row
    (seen once in a fresh-clone run: a 500 on /receivables/create, UNIQUE receivables.id): the
    action's commit is retried as an update, and the row holds the view."""
    from sqlalchemy import text

    from backend.chain import receivable_index
    from backend.core.db import db
    from backend.core.models import Receivable

    acct = "0x" + "11" * 20
    view = {"rootId": 7, "parentId": 0, "invoiceKey": b"\x01" * 32, "creditor": acct, "holder": acct, "debtor": acct,
            "financier": "0x" + "00" * 20, "status": 1, "amount": 5_000, "paid": 0, "advance": 0, "fee": 0, "repaid": 0,
            "dueDate": 1_900_000_000, "createdAt": 1_800_000_000}
    real_fill, raced = receivable_index.fill, []

    def fill_while_the_indexer_inserts(row, v, block):
        if not raced:  # the other writer commits the same id between our read and our commit
            raced.append(1)
            with db.engine.begin() as other:
                other.execute(text("INSERT INTO receivables (id, root_id, invoice_key, creditor, holder, debtor, status, "
                                   "amount, paid, advance, fee, repaid, due_at, created_at_chain, synced_block, "
                                   "updated_at) VALUES ('7', '7', '0x', :a, :a, :a, 'created', 5000, 0, 0, 0, 0, "
                                   "1900000000, 1800000000, 3, '2026-12-04 00:00:00')"), {"a": acct})
        real_fill(row, v, block)

    monkeypatch.setattr(receivable_index, "fill", fill_while_the_indexer_inserts)
    with app.app_context():
        receivable_index.store_and_commit(db.session, {"7": view}, 5)
        row = db.session.get(Receivable, "7")
        assert raced and (row.status, row.invoice_key, row.synced_block) == ("created", "0x" + "01" * 32, 5)
