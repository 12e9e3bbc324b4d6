"""The event indexer: from the deployment block, resumable, idempotent; statuses
mirrored; CLI entry points."""
import json

from backendutil import sample_invoice

from backend.chain import indexer
from backend.core.db import db
from backend.core.models import ChainEvent, IndexerCursor, Invoice, Merchant


def test_indexes_from_deployment_block(chain_app, seeded, chain):
    with chain_app.app_context():
        out = indexer.run_once()
        assert out["from"] == chain["record"]["block"]
        names = [e.event for e in db.session.query(ChainEvent).order_by(ChainEvent.id)]
        assert names.count("MerchantApplied") == 3 and names.count("MerchantApproved") == 3  # merchant1-3
        assert "RoleGranted" in names  # the auditor's AUDITOR_ROLE
        cursor = db.session.get(IndexerCursor, "events")
        assert cursor.last_block == chain["w3"].eth.block_number


def test_resume_and_idempotent(chain_app, seeded, api, chain):
    with chain_app.app_context():
        indexer.run_once()
        first = db.session.query(ChainEvent).count()
        assert indexer.run_once()["events"] == 0  # nothing new
    r = api("merchant1").post("/invoices", json=sample_invoice())
    assert r.status_code == 201
    number = r.get_json()["number"]
    with chain_app.app_context():
        # "restart": rewind the cursor as if the last range was not committed
        cursor = db.session.get(IndexerCursor, "events")
        cursor.last_block -= 3
        cursor.block_hash = chain["w3"].eth.get_block(cursor.last_block)["hash"].to_0x_hex()  # as committed then
        db.session.commit()
        out = indexer.run_once()
        assert out["events"] == 1  # only the new InvoiceIssued; re-read events are not duplicated
        assert db.session.query(ChainEvent).count() == first + 1
        ev = db.session.query(ChainEvent).filter_by(event="InvoiceIssued").one()
        inv = db.session.query(Invoice).filter_by(number=number).one()
        assert ev.invoice_key == inv.key and ev.block_time
        assert json.loads(ev.args)["flags"] == 0


def test_mirrors_merchant_status(chain_app, seeded, api):
    a = api("authority")
    mid = next(m["id"] for m in a.get("/merchants").get_json()["merchants"] if m["username"] == "merchant1")
    a.post(f"/merchants/{mid}/suspend", json={"reason": "check"})
    with chain_app.app_context():
        m = db.session.get(Merchant, mid)
        m.status = "approved"  # a stale local copy
        db.session.commit()
        indexer.run_once()
        assert db.session.get(Merchant, mid).status == "suspended"


def test_cli_index_and_reconcile(chain_app, seeded):
    runner = chain_app.test_cli_runner()
    r = runner.invoke(args=["index"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["events"] > 0
    r = runner.invoke(args=["outbox", "reconcile", "--deep"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {}


def test_seed_dev_writes_credentials(chain_app, tmp_path):
    out = tmp_path / "dev-credentials.json"
    r = chain_app.test_cli_runner().invoke(args=["seed-dev", "--out", str(out)])
    assert r.exit_code == 0, r.output
    creds = json.loads(out.read_text())["users"]
    assert {u["role"] for u in creds} == {"authority", "merchant", "auditor", "financier", "buyer",
                                          "employee", "approver"}
    assert len([u for u in creds if u["role"] == "merchant"]) == 3
    for u in creds:
        assert set(u) == {"username", "password", "role", "api_token", "address", "tax_id", "totp_secret"}
        assert (u["totp_secret"] is not None) == (u["role"] in ("authority", "auditor", "financier"))
    c = chain_app.test_client()
    tok = next(u["api_token"] for u in creds if u["username"] == "merchant1")
    r = c.post("/api/v1/invoices", json=sample_invoice(), headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 201, r.get_json()
    # seeding again keeps the logins (test_backend_seed), it does not fail on existing chain registrations
    assert chain_app.test_cli_runner().invoke(args=["seed-dev", "--out", str(out)]).exit_code == 0
    again = json.loads(out.read_text())["users"]  # the same TOTP secrets: an authenticator set up once keeps working
    assert [u["totp_secret"] for u in again] == [u["totp_secret"] for u in creds]


def test_seed_refused_outside_dev_mode(chain_app, tmp_path):
    chain_app.config["DEV_MODE"] = False
    r = chain_app.test_cli_runner().invoke(args=["seed-dev", "--out", str(tmp_path / "x.json")])
    assert r.exit_code != 0
    assert not (tmp_path / "x.json").exists()


def test_invoice_issued_by_another_client_is_listed(chain_app, seeded, api, chain):
    """merchant1 registers an invoice with its own web3 client: the indexer lists it
    (without a document: only its hash is known), and the seller can act on it."""
    import time as _time

    from chainutil import dev_account
    from eth_utils import keccak

    from backend.core import buyer_privacy
    from backend.chain import get_chain, get_signer

    with chain_app.app_context():
        c = get_chain()
        seller = seeded["merchant1"]["address"]
        _, last = c.call("InvoiceRegistry", "numberRangeOf", seller)
        number = f"{last:020d}"  # from the merchant's own range (its end: the platform counts from the start)
        tag = buyer_privacy.buyer_tag("91530100MA6K0002XU")
        commitment, _ = buyer_privacy.commitment_of(b"\x07" * 32, "91530100MA6K0002XU", tag)
        req = (number, seller, commitment, buyer_privacy.buyer_tag_for_seller("91530100MA6K0002XU", seller), 15000, 1600, 16600, 0,
               int(_time.time()) - 10, keccak(text="external document"), [(6, 1, 5000, 300), (13, 2, 10000, 1300)])
        r = get_signer().transact(dev_account(1).address, "InvoiceRegistry", "issue", req)
        assert r.status == "mined"
        indexer.run_once()
        inv = db.session.query(Invoice).filter_by(number=number).one()
        assert inv.state == "issued" and inv.chain_status == "Issued" and inv.document == ""
        assert inv.user_id is not None and int(inv.gross) == 16600 and (int(inv.net), int(inv.tax)) == (15000, 1600)
        assert (inv.rate, inv.rate_mask, inv.item_count) == (13, 1 << 6 | 1 << 13, 3)  # from the packed groups
        ev = db.session.query(ChainEvent).filter_by(event="InvoiceIssued", invoice_key=inv.key).one()
        assert json.loads(ev.args)["groups"] == [{"rate": 6, "itemCount": 1, "net": 5000, "tax": 300},
                                                 {"rate": 13, "itemCount": 2, "net": 10000, "tax": 1300}]
    listed = api("merchant1").get("/invoices").get_json()
    assert number in [i["number"] for i in listed["invoices"]]
    detail = api("merchant1").get(f"/invoices/{number}").get_json()
    assert detail["document"] is None and detail["timeline"][0]["event"] == "InvoiceIssued"
    assert detail["rates"] == [6, 13] and detail["chain"]["rates"] == [6, 13]
    assert api("merchant2").get(f"/invoices/{number}").status_code == 403
    r = api("merchant1").post(f"/invoices/{number}/red-letter", json={"reason_code": 1})
    assert r.status_code == 400 and "items" in r.get_json()["fields"]
    # with items the platform still cannot make the note: it does not know the buyer's salt
    r = api("merchant1").post(f"/invoices/{number}/red-letter", json={"reason_code": 1, "items": [
        {"name": "x", "quantity": 1, "unit_price": 100, "tax_rate": 13}]})
    assert r.status_code == 409 and r.get_json()["error"] == "document_not_held"
    assert r.get_json()["message"].startswith("平台")
    r = api("merchant1").post(f"/invoices/{number}/void")
    assert r.status_code == 200 and r.get_json()["status"] == "Voided"
