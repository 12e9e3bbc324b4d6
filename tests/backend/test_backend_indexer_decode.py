"""The indexer's fast paths (backend/chain/logs.py): each event decoded without web3's
``process_log`` gives web3's args, for every event of every contract; the blocks read in
one batch request are the node's; a re-index stores the same rows and changes no invoice."""
import json

import pytest
from eth_abi import encode as abi_encode
from sqlalchemy import text

from backendutil import sample_invoice
from chainutil import ARTIFACTS

from backend.chain import get_chain, indexer, logs
from backend.chain.client import ChainClient
from backend.chain.errors import ChainError, jsonable
from backend.core.db import db
from backend.core.models import ChainEvent, IndexerCursor, Invoice

CONTRACTS = ("MerchantRegistry", "InvoiceRegistry", "SettlementToken", "ReceivableLedger", "ExpenseClaims")


def offline_client():
    """A ChainClient of the built ABIs at made-up addresses: decoding needs no node."""
    if not (ARTIFACTS / "MerchantRegistry.json").exists():
        pytest.skip("contracts not compiled (brownie compile)")
    contracts = {name: "0x" + f"{i + 1:040x}" for i, name in enumerate(CONTRACTS)}
    return ChainClient(rpc_url="http://127.0.0.1:9", deployment={"chain_id": 31337, "contracts": contracts},
                       artifacts_dir=str(ARTIFACTS))


def sample(abi_type, variant):
    """A value of ``abi_type``: small ones (variant 0) and large ones (variant 1: uints above
    2**53, which the indexer stores as text; non-ASCII strings)."""
    if abi_type.endswith("[]"):
        return [sample(abi_type[:-2], variant), sample(abi_type[:-2], 1 - variant)][:1 + variant]
    if abi_type == "address":
        return "0x" + ("00" * 19 + "2a" if variant == 0 else "ab" * 20)
    if abi_type == "bool":
        return bool(variant)
    if abi_type.startswith("uint"):
        bits = int(abi_type[4:] or 256)
        return 7 if variant == 0 else (1 << bits) - 3
    if abi_type == "string":
        return "ok" if variant == 0 else "暂停原因 reason"
    if abi_type == "bytes":
        return b"\x01\x02" if variant == 0 else bytes(range(40))
    if abi_type.startswith("bytes"):
        return bytes([variant + 1]) * int(abi_type[5:])
    raise AssertionError(f"no sample for {abi_type}")


def make_log(topic, decoder, variant):
    """A log of ``decoder``'s event with sample arguments, as ``client.light_log`` gives it."""
    topics = [topic] + [abi_encode([t], [sample(t, variant)]) for t in decoder.topic_types]
    data = abi_encode(decoder.data_types, [sample(t, variant) for t in decoder.data_types])
    return {"address": "0x" + "00" * 20, "topics": topics, "data": data, "blockNumber": 5,
            "blockHash": b"\x11" * 32, "transactionHash": b"\x22" * 32, "transactionIndex": 0, "logIndex": 3}


def web3_args(chain, contract, event, log):
    """What the indexer stored before the fast decoder: web3's ``process_log``."""
    return jsonable(indexer._normalise(dict(chain.contracts[contract].events[event]().process_log(log)["args"])))


def test_every_event_decodes_as_web3():
    chain = offline_client()
    decoders = logs.decoders_of(chain)
    names = {(d.contract, d.name) for d in decoders.values()}
    assert ("InvoiceRegistry", "InvoiceIssued") in names and ("ReceivableLedger", "ReceivableSplit") in names
    assert len(names) > 50  # every event of every contract (one topic for those they share: RoleGranted…)
    for topic, decoder in decoders.items():
        for variant in (0, 1):
            log = make_log(topic, decoder, variant)
            if decoder.name == "InvoiceIssued" and variant == 1:
                continue  # its rate groups are packed words: a real one is in the test below
            [(contract, event, _, args)] = indexer.decode_logs(chain, decoders, [log])
            expected = web3_args(chain, decoder.contract, decoder.name, log)
            assert (contract, event) == (decoder.contract, decoder.name)
            assert args == expected, (event, variant)
            assert list(args) == list(expected), event  # the same order in the stored JSON


def test_a_shared_event_is_named_after_the_contract_that_emitted_it():
    chain = offline_client()
    decoders = logs.decoders_of(chain)
    [(topic, decoder)] = [(t, d) for t, d in decoders.items() if d.name == "RoleGranted"]
    emitters = [name for name, c in chain.contracts.items() if any(e.get("name") == "RoleGranted" for e in c.abi)]
    assert len(emitters) >= 2
    for name in emitters:
        log = {**make_log(topic, decoder, 0), "address": chain.contracts[name].address}
        [(emitter, event, _, _)] = indexer.decode_logs(chain, decoders, [log])
        assert (emitter, event) == (name, "RoleGranted")


def test_a_log_that_does_not_fit_is_skipped():
    chain = offline_client()
    decoders = logs.decoders_of(chain)
    topic, decoder = next((t, d) for t, d in decoders.items() if d.name == "MerchantApproved")
    log = make_log(topic, decoder, 0)
    assert indexer.decode_logs(chain, decoders, [{**log, "topics": log["topics"][:1]}]) == []  # a topic missing
    assert indexer.decode_logs(chain, decoders, [{**log, "data": log["data"][:40]}]) == []  # data cut short
    assert indexer.decode_logs(chain, decoders, [{**log, "topics": [b"\x00" * 32]}]) == []  # an unknown event


def test_real_logs_decode_as_web3(chain_app, seeded, api):
    """The chain's own logs (merchants applied and approved, roles, number ranges, invoices
    issued and voided) decode as web3 decodes them."""
    issued = api("merchant1").post("/invoices", json=sample_invoice())
    assert issued.status_code == 201
    assert api("merchant1").post(f"/invoices/{issued.get_json()['number']}/void").status_code == 200
    with chain_app.app_context():
        chain = get_chain()
        decoders = logs.decoders_of(chain)
        raw = logs.get_logs(chain, chain.deploy_block, chain.w3.eth.block_number,
                            [c.address for c in chain.contracts.values()])
        decoded = indexer.decode_logs(chain, decoders, raw)
        assert len(decoded) == len(raw)
        assert {"MerchantApproved", "InvoiceIssued", "InvoiceVoided"} <= {event for _, event, _, _ in decoded}
        for contract, event, log, args in decoded:
            assert args == web3_args(chain, contract, event, log)


def test_read_blocks_in_batches(chain_app, seeded, monkeypatch):
    monkeypatch.setattr(logs, "BLOCKS_PER_BATCH", 2)  # several batches, the last one short
    with chain_app.app_context():
        chain = get_chain()
        latest = chain.w3.eth.block_number
        numbers = list(range(max(0, latest - 4), latest + 1))
        blocks = logs.read_blocks(chain, {}, numbers)
        assert sorted(blocks) == numbers
        for n in numbers:
            block = chain.w3.eth.get_block(n)
            assert blocks[n] == (block["timestamp"], block["hash"].to_0x_hex())
        with pytest.raises(ChainError):
            logs.read_blocks(chain, {}, [latest + 100])


def stored_events():
    return sorted((e.tx_hash, e.log_index, e.contract, e.event, e.block_number, e.block_hash, e.block_time,
                   e.invoice_key, e.related_key, e.account, e.receivable_id, e.args)
                  for e in db.session.query(ChainEvent))


def test_reindex_stores_the_same_and_changes_no_invoice(chain_app, seeded, api):
    for _ in range(2):
        assert api("merchant1").post("/invoices", json=sample_invoice()).status_code == 201
    with chain_app.app_context():
        indexer.run_once()
        before = stored_events()
        invoices = [(i.key, i.chain_status, i.flags, i.state, i.updated_at) for i in db.session.query(Invoice)]
        changes = db.session.execute(text("SELECT count(*) FROM analytics_changes")).scalar()
        db.session.query(ChainEvent).delete()
        db.session.query(IndexerCursor).delete()
        db.session.commit()
        out = indexer.run_once()
        assert out["events"] == len(before)
        assert stored_events() == before
        assert [(i.key, i.chain_status, i.flags, i.state, i.updated_at)
                for i in db.session.query(Invoice)] == invoices
        assert db.session.execute(text("SELECT count(*) FROM analytics_changes")).scalar() == changes
        issued = [json.loads(row[-1]) for row in before if row[3] == "InvoiceIssued"]
        assert len(issued) == 2 and all(a["flags"] == 0 for a in issued)
