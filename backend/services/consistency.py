"""``verify_against_chain()``: does the database agree with the chain? Every outbox row
(a receipt exactly when the row says mined or reverted, in the recorded block), every
indexed event (the chain has the same log in the same block, number and hash, and no log
up to the indexer's cursor is missing), every invoice row ('issued' exactly when its
InvoiceIssued event is indexed once). ``flask verify-chain`` prints it; the reliability
benchmark reports it as ``index_matches_chain``."""
from web3 import Web3
from web3.exceptions import TransactionNotFound

from ..chain import get_chain, indexer, rewind
from ..core.db import get_db
from ..core.models import ChainEvent, IndexerCursor, Invoice, OutboxTx


def verify_against_chain(max_blocks=2000):
    """Returns {"ok", "checked": {"invoices", "outbox", "events", "to_block"}, "problems":
    [{"kind": outbox|event|invoice|cursor, "ref", "detail"}]}."""
    chain, session = get_chain(), get_db()
    problems = []
    cursor = session.get(IndexerCursor, indexer.CURSOR)
    to_block = cursor.last_block if cursor is not None else chain.deploy_block - 1
    outbox = _check_outbox(chain, session, problems)
    events, issued = _check_events(chain, session, to_block, max_blocks, problems)
    invoices = _check_invoices(session, issued, to_block, problems)
    if cursor is not None and cursor.block_hash and to_block >= chain.deploy_block:
        if to_block > chain.w3.eth.block_number or rewind.block_hash(chain, to_block) != cursor.block_hash:
            problems.append({"kind": "cursor", "ref": str(to_block), "detail": "the chain has another block there"})
    return {"ok": not problems, "problems": problems,
            "checked": {"invoices": invoices, "outbox": outbox, "events": events, "to_block": to_block}}


def _check_outbox(chain, session, problems):
    rows = session.query(OutboxTx).filter_by(chain_id=chain.chain_id).all()
    for row in rows:
        try:
            receipt = chain.w3.eth.get_transaction_receipt(row.tx_hash)
        except TransactionNotFound:
            receipt = None
        ref = f"{row.tx_hash} ({row.function} {row.ref or ''})".strip()
        recorded = row.status in ("mined", "reverted")
        if recorded and receipt is None:
            detail = f"recorded {row.status} in block {row.block_number}; the chain has no receipt"
        elif not recorded and receipt is not None:
            detail = f"recorded {row.status}; the chain mined it in block {receipt['blockNumber']}"
        elif recorded and receipt["blockNumber"] != row.block_number:
            detail = f"recorded in block {row.block_number}; the chain has it in block {receipt['blockNumber']}"
        elif recorded and (receipt["status"] == 1) != (row.status == "mined"):
            detail = f"recorded {row.status}; the receipt's status is {receipt['status']}"
        else:
            continue
        problems.append({"kind": "outbox", "ref": ref, "detail": detail})
    return len(rows)


def _check_events(chain, session, to_block, max_blocks, problems):
    """Indexed events vs. the chain's logs up to the cursor. Returns (how many, {invoice key:
    InvoiceIssued events indexed})."""
    on_chain = {}
    topics = indexer.topics_of(chain)
    addresses = [c.address for c in chain.contracts.values()]
    for start in range(chain.deploy_block, to_block + 1, max_blocks):
        end = min(start + max_blocks - 1, to_block)
        for log in indexer.get_logs(chain, start, end, addresses):
            if log["topics"] and bytes(log["topics"][0]) in topics:
                on_chain[(Web3.to_hex(log["transactionHash"]), log["logIndex"])] = (
                    log["blockNumber"], Web3.to_hex(log["blockHash"]))
    stored = session.query(ChainEvent).all()
    issued = {}
    for ev in stored:
        ref = f"{ev.event} {ev.tx_hash}#{ev.log_index}"
        if ev.event == "InvoiceIssued":
            issued[ev.invoice_key] = issued.get(ev.invoice_key, 0) + 1
        found = on_chain.pop((ev.tx_hash, ev.log_index), None)
        if found is None:
            if ev.block_number <= to_block:
                problems.append({"kind": "event", "ref": ref, "detail": f"indexed in block {ev.block_number}; "
                                                                        "the chain has no such log"})
        elif found[0] != ev.block_number or (ev.block_hash and found[1] != ev.block_hash):
            problems.append({"kind": "event", "ref": ref, "detail": f"indexed in block {ev.block_number} "
                             f"{ev.block_hash}; the chain has it in block {found[0]} {found[1]}"})
    for (tx_hash, log_index), (number, _) in on_chain.items():
        problems.append({"kind": "event", "ref": f"{tx_hash}#{log_index}",
                         "detail": f"in block {number} on chain; not indexed"})
    for key, count in issued.items():
        if count > 1:
            problems.append({"kind": "event", "ref": key, "detail": f"InvoiceIssued indexed {count} times"})
    return len(stored), issued


def _check_invoices(session, issued, to_block, problems):
    """'issued' exactly when the InvoiceIssued event is indexed (rows whose transaction
    is beyond the cursor are not judged yet)."""
    rows = session.query(Invoice).all()
    for inv in rows:
        indexed = issued.get(inv.key, 0)
        row = inv.outbox
        if row is not None and row.block_number is not None and row.block_number > to_block:
            continue
        if inv.state == "issued" and indexed != 1:
            detail = f"issued, but its InvoiceIssued event is indexed {indexed} times"
            if row is not None and row.status != "mined":
                detail += f" and its transaction is {row.status}"
            problems.append({"kind": "invoice", "ref": inv.number, "detail": detail})
        elif inv.state != "issued" and indexed:
            problems.append({"kind": "invoice", "ref": inv.number,
                             "detail": f"{inv.state}, but the chain registered it"})
    return len(rows)
