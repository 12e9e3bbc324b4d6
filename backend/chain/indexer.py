"""Event indexer: follows every event of the deployed contracts from the deployment
block into ``chain_events``. Resumable (a cursor row holds the last processed block and
its hash, committed in the same transaction as the events of that range), idempotent
((tx_hash, log_index) is unique) and it follows a rewound chain back (rewind.py: block
hashes compared at every run). Lists and timelines read from it; it also mirrors merchant
and invoice statuses into their tables.

Contracts v2 events: ``InvoiceIssued`` carries the rate groups (one packed word each; net,
tax and item count are their sums) and the buyer commitment, never the buyer; the registry's receivable events are
``InvoiceAmountDrawn`` / ``InvoiceDrawReleased`` / ``InvoiceAmountSettled``;
``NumberRangeAllocated`` is kept (account = the merchant) for the merchant's history."""
import json
import threading
import time
from collections import Counter
from types import SimpleNamespace

from eth_utils import keccak
from flask import current_app, has_app_context
from sqlalchemy import bindparam, case, insert, select, update

from ..core.canonical import china_date, rate_mask
from ..core import mail_queue
from ..core.db import get_db
from ..core.models import ChainEvent, IndexerCursor, Invoice, Merchant, User
from . import get_chain, receivable_index, rewind
from .client import checksum
from .errors import INVOICE_STATUS, jsonable
from .logs import decoders_of, get_logs, read_blocks

CURSOR = "events"
_to_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(…, ensure_ascii=False) without a new encoder per event
_run_lock = threading.Lock()
MERCHANT_EVENTS = {"MerchantApproved": "approved", "MerchantSuspended": "suspended",
                   "MerchantReinstated": "approved", "MerchantRejected": "rejected", "MerchantApplied": "pending"}
INVOICE_EVENT_STATUS = {"InvoiceCleared": "Cleared", "InvoiceRejected": "Rejected", "InvoiceVoided": "Voided"}
DETECTOR_EVENTS = ("InvoiceIssued", "InvoiceVoided", "InvoiceRedLettered")  # their sellers: for the listeners
LIMIT_EVENTS = ("MerchantApproved", "MerchantLimitsChanged")
# called after a run that stored events as fn(seller addresses, accounts whose limits changed):
# the anomaly detector's incremental run (services.detector.on_indexed, added by create_app)
LISTENERS = []


def add_listener(fn):
    if fn not in LISTENERS:
        LISTENERS.append(fn)


def _tell_listeners(sellers, limit_accounts):
    """Each listener in turn; an error of one is logged, never raised: indexing goes on."""
    for fn in list(LISTENERS):
        try:
            fn(sellers, limit_accounts)
        except Exception:  # noqa: BLE001
            get_db().rollback()
            if has_app_context():
                current_app.logger.exception("indexer listener %s", getattr(fn, "__name__", fn))


def topics_of(chain):
    """{topic0: (contract name, event name)} of every event the indexer stores."""
    return {topic: (d.contract, d.name) for topic, d in decoders_of(chain).items()}


def run_once(max_blocks=2000, blocking=True):
    """Follow the chain back if it was rewound (see ``rewind.follow_back``), then index up to the
    latest block. Returns {"from", "to", "events"} and "rewound" after a rewind."""
    if not _run_lock.acquire(blocking=blocking):
        return {"busy": True}
    try:
        return _run(max_blocks)
    except Exception:
        get_db().rollback()  # the range is retried from the cursor next time
        raise
    finally:
        _run_lock.release()


def _cursor(chain, session):
    cursor = session.get(IndexerCursor, CURSOR)
    if cursor is None or cursor.chain_id != chain.chain_id or cursor.last_block < chain.deploy_block - 1:
        if cursor is None:
            cursor = IndexerCursor(name=CURSOR, last_block=chain.deploy_block - 1, chain_id=chain.chain_id)
            session.add(cursor)
        else:
            cursor.last_block, cursor.chain_id = chain.deploy_block - 1, chain.chain_id
        cursor.block_hash = None
        session.commit()
    return cursor


def _run(max_blocks):
    chain = get_chain()
    session = get_db()
    cursor = _cursor(chain, session)
    latest = chain.w3.eth.block_number
    rewound = rewind.follow_back(chain, session, cursor, latest)
    if rewound:
        receivable_index.resync_all(chain, session)
        session.commit()
    first = start = cursor.last_block + 1
    decoders = decoders_of(chain)
    by_address = {c.address: n for n, c in chain.contracts.items()}
    count = 0
    blocks = {}  # number -> (timestamp, hash)
    sellers, limit_accounts = set(), set()  # whose invoices / limits changed: for the listeners after the loop
    while start <= latest:
        end = min(start + max_blocks - 1, latest)
        # read everything from the node first, then write in one short DB transaction
        # (SQLite has one writer: no RPC while holding the write lock)
        decoded_logs = decode_logs(chain, decoders, get_logs(chain, start, end, list(by_address)))
        for _, ename, _, args in decoded_logs:
            if ename in DETECTOR_EVENTS and args.get("seller"):
                sellers.add(args["seller"])
            elif ename in LIMIT_EVENTS and args.get("account"):
                limit_accounts.add(args["account"])
        # the blocks of the range's logs and its last one, read after the logs (one batch request)
        read_blocks(chain, blocks, {log["blockNumber"] for _, _, log, _ in decoded_logs} | {end})
        end_hash = blocks[end][1]
        views = receivable_index.read_views(chain, receivable_index.touched(decoded_logs), end)
        if any("0x" + log["blockHash"].hex() != blocks[log["blockNumber"]][1] for _, _, log, _ in decoded_logs):
            break  # the chain changed while we read: the next run starts from the cursor again
        session.commit()  # a fresh snapshot: rows committed before these txs were sent are visible
        with session.no_autoflush:
            count += _store(session, decoded_logs, blocks)
            receivable_index.store(session, views, end)
        cursor.last_block, cursor.block_hash = end, end_hash
        session.commit()
        start = end + 1
    out = {"from": first, "to": latest, "events": count}
    if sellers or limit_accounts:
        _tell_listeners(sellers, limit_accounts)
    if rewound:
        out["rewound"] = rewound
    return out


def decode_logs(chain, decoders, logs):
    """[(contract, event, log, args)] of the logs of a known event (``logs.decoders_of``);
    InvoiceIssued through ``decode_issued``, the rest through their ``EventDecoder``. A
    log that does not decode is skipped, not fatal. The contract is the one at the log's
    address (the events several contracts share, RoleGranted…, have one topic)."""
    decoded = []
    at = {c.address: name for name, c in chain.contracts.items()}
    for log in logs:
        decoder = decoders.get(bytes(log["topics"][0])) if log["topics"] else None
        if decoder is None:
            continue
        try:
            args = decode_issued(log) if decoder.name == "InvoiceIssued" else \
                jsonable(_normalise(decoder.args(chain.w3.codec, log)))
        except Exception:  # noqa: BLE001
            continue
        decoded.append((at.get(log["address"], decoder.contract), decoder.name, log, args))
    return decoded


def _store(session, decoded_logs, blocks):
    """Store new events; one stored before (same tx hash and log index) is updated
    to the block it is in now (a transaction mined again after a rewind). Returns how many
    were new. The events go in with one multi-row INSERT; an InvoiceIssued whose invoice row
    exists and no other event of the range touches (a bulk issuance: thousands) updates
    that row with one executemany UPDATE, the rest through ``_apply``."""
    hashes = {"0x" + log["transactionHash"].hex() for _, _, log, _ in decoded_logs}
    stored = {}
    if hashes:
        stored = {(e.tx_hash, e.log_index): e
                  for e in session.query(ChainEvent).filter(ChainEvent.tx_hash.in_(hashes))}
    new = []
    for cname, ename, log, args in decoded_logs:
        tx_hash, bn = "0x" + log["transactionHash"].hex(), log["blockNumber"]
        time_, block_hash = blocks[bn]
        ev = stored.get((tx_hash, log["logIndex"]))
        if ev is not None:
            ev.block_number, ev.block_hash, ev.block_time = bn, block_hash, time_
            continue
        stored[(tx_hash, log["logIndex"])] = True
        new.append((dict(contract=cname, event=ename, block_number=bn, block_hash=block_hash, block_time=time_,
                         tx_hash=tx_hash, log_index=log["logIndex"], invoice_key=args.get("key") or
                         args.get("originalKey"), related_key=args.get("noteKey"),
                         account=args.get("account") or args.get("seller") or args.get("merchant"),
                         receivable_id=receivable_index.receivable_id_of(cname, args),
                         args=_to_json(args)), args))
    if not new:
        return 0
    session.connection().execute(insert(ChainEvent.__table__), [row for row, _ in new])
    touched = Counter(k for row, _ in new for k in (row["invoice_key"], row["related_key"]) if k)
    plain = {row["invoice_key"]: args for row, args in new
             if row["event"] == "InvoiceIssued" and touched[row["invoice_key"]] == 1 and "status" not in args}
    plain = _mark_issued(session, plain)
    rest = [(SimpleNamespace(**row), args) for row, args in new
            if not (row["event"] == "InvoiceIssued" and row["invoice_key"] in plain)]
    invoices = _invoices_by_key(session, {ev.invoice_key for ev, _ in rest})
    merchants = _merchants_by_address(session, {ev.account for ev, _ in rest if ev.event in MERCHANT_EVENTS})
    for ev, args in rest:
        _apply(session, ev, args, invoices, merchants)
    return len(new)


def _mark_issued(session, plain):
    """Mark the invoice rows of ``plain`` ({key: InvoiceIssued args}) issued, with one
    executemany UPDATE of the rows whose values change: a row that has them already is left
    alone, as the ORM leaves it (its updated_at stays, the analytics triggers log nothing; a
    re-index changes no row). Queues the e-mails of their buyers with an address. Returns
    ``plain`` without the keys that have no row."""
    t = Invoice.__table__
    keys = sorted(plain)
    rows = [r for i in range(0, len(keys), 500) for r in session.execute(
        select(t.c.key, t.c.id, t.c.chain_status, t.c.flags, t.c.state, t.c.buyer_email)
        .where(t.c.key.in_(keys[i:i + 500]))).all()]
    changes, mails = [], []
    for key, id_, chain_status, flags, state, email in rows:
        new_flags = int(plain[key].get("flags", 0))
        new_status = "Flagged" if new_flags else "Issued"
        if chain_status != new_status or flags != new_flags or state == "pending":
            changes.append({"k": key, "f": new_flags, "cs": new_status})
        if email is not None and state in ("pending", "issued"):  # its state after the UPDATE: issued
            mails.append((id_, email))
    if changes:
        session.connection().execute(
            update(t).where(t.c.key == bindparam("k")).values(
                chain_status=bindparam("cs"), flags=bindparam("f"),
                state=case((t.c.state == "pending", "issued"), else_=t.c.state)), changes)
    mail_queue.enqueue_found(session, mails)  # buyers with an e-mail address: their invoice
    return {key: plain[key] for key, *_ in rows}


def _by_key(session, entity, keys):
    """``entity`` (Invoice, or a column of it) of the invoices whose key is in ``keys``, 500 keys a query."""
    keys = sorted(k for k in keys if k)
    return [r for i in range(0, len(keys), 500)
            for r in session.execute(select(entity).where(Invoice.key.in_(keys[i:i + 500]))).scalars()]


MASK48 = (1 << 48) - 1
ISSUED_TOPIC = keccak(text="InvoiceIssued(bytes32,address,bytes20,bytes20,uint8,uint64,bytes32,uint8,uint256[])")


def decode_issued(log):
    """The args of an InvoiceIssued log read from its raw words, as web3's decoder and
    ``_normalise`` give them (several times faster; bulk issuance makes thousands)."""
    data, topics = bytes(log["data"]), log["topics"]
    words = [data[i:i + 32] for i in range(0, len(data), 32)]
    count = int.from_bytes(words[7], "big")
    return {"key": "0x" + bytes(topics[1]).hex(), "seller": checksum(bytes(topics[2])[12:]),
            "number": "0x" + words[0][:20].hex(), "buyerCommitment": "0x" + words[1][:20].hex(),
            "invoiceType": words[2][31], "issuedAt": int.from_bytes(words[3], "big"),
            "documentHash": "0x" + words[4].hex(), "flags": words[5][31],
            "groups": [unpack_group(int.from_bytes(w, "big")) for w in words[8:8 + count]]}


def issued_flags(logs):
    """{invoice key: flags} of the InvoiceIssued logs of a receipt."""
    out = {}
    for log in logs:
        topics = log["topics"]
        if topics and bytes(topics[0]) == ISSUED_TOPIC:
            out["0x" + bytes(topics[1]).hex()] = bytes(log["data"])[191]
    return out


def unpack_group(group):
    """One rate group of an InvoiceIssued event as {"rate", "itemCount", "net", "tax"}: the
    event packs each group in one word, ``rate << 112 | itemCount << 96 | net << 48 | tax``."""
    word = int(group)
    return {"rate": word >> 112, "itemCount": (word >> 96) & 0xFFFF, "net": (word >> 48) & MASK48,
            "tax": word & MASK48}


def _normalise(args):
    """Rate groups unpacked into a list of {"rate", "itemCount", "net", "tax"}."""
    if "groups" in args:
        args["groups"] = [unpack_group(g) for g in args["groups"]]
    return args


def group_totals(args):
    """(net, tax, item_count, rates) of an InvoiceIssued event's rate groups."""
    groups = args.get("groups") or []
    return (sum(int(g["net"]) for g in groups), sum(int(g["tax"]) for g in groups),
            sum(int(g["itemCount"]) for g in groups), [int(g["rate"]) for g in groups])


def _invoices_by_key(session, keys):
    """{key: Invoice} of the range's events, in a few queries instead of one per event."""
    return {inv.key: inv for inv in _by_key(session, Invoice, keys)}


def _merchants_by_address(session, addresses):
    """{user address: Merchant} of the range's merchant events, in one query."""
    addresses = sorted(a for a in addresses if a)
    if not addresses:
        return {}
    rows = session.query(User.address, Merchant).join(Merchant, Merchant.user_id == User.id) \
        .filter(User.address.in_(addresses)).all()
    merchants = {}
    for address, m in rows:
        merchants.setdefault(address, m)
    return merchants


def _apply(session, ev, args, invoices, merchants):
    """Mirror statuses (the chain is the source of truth); ``invoices``: the rows by key,
    ``merchants``: the merchants by their user's address."""
    if ev.event in MERCHANT_EVENTS and ev.account:
        m = merchants.get(ev.account)
        if m is not None and not (ev.event == "MerchantApplied" and m.status != "pending"):
            m.status = MERCHANT_EVENTS[ev.event]
        return
    if not ev.invoice_key:
        return
    inv = invoices.get(ev.invoice_key)
    if ev.event == "InvoiceIssued" and inv is None:
        inv = invoices[ev.invoice_key] = _external_invoice(session, ev, args)
    if ev.event == "InvoiceIssued" and inv is not None:
        flags = int(args.get("flags", 0))
        inv.chain_status = INVOICE_STATUS[int(args["status"])] if "status" in args else \
            ("Flagged" if flags else "Issued")
        inv.flags = flags
        if inv.state == "pending":
            inv.state = "issued"
            mail_queue.enqueue_invoice_mail(session, inv)
    elif ev.event in INVOICE_EVENT_STATUS and inv is not None:
        inv.chain_status = INVOICE_EVENT_STATUS[ev.event]
    elif ev.event == "InvoiceRedLettered" and inv is not None:
        inv.chain_status = INVOICE_STATUS[int(args["status"])]
        note = session.query(Invoice).filter_by(key=ev.related_key).first() if ev.related_key else None
        if note is not None and not note.is_red_letter:  # a note issued by another client
            note.is_red_letter, note.original_number = True, inv.number


def _external_invoice(session, ev, args):
    """An invoice registered on chain by another client (a merchant's own tool, brownie):
    listed from its event, without the document (only its hash is known)."""
    raw = args.get("number")
    try:
        number = bytes.fromhex(raw[2:]).decode("ascii") if isinstance(raw, str) and raw.startswith("0x") else str(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not (len(number) == 20 and number.isdigit()):
        return None
    seller = args.get("seller")
    user = session.query(User).filter_by(address=seller).first() if seller else None
    m = user.merchant if user is not None else None
    net, tax, item_count, rates = group_totals(args)
    inv = Invoice(number=number, key=ev.invoice_key, user_id=user.id if user is not None else None,
                  seller_address=seller or "", seller_name=m.name if m else "", seller_tax_id=m.tax_id if m else "",
                  buyer_name="", buyer_tax_id="", issue_date=china_date(int(args.get("issuedAt", 0))),
                  issued_at=int(args.get("issuedAt", 0)), invoice_type=int(args.get("invoiceType", 0)),
                  rate=max(rates, default=0), rate_mask=rate_mask(rates), item_count=item_count, net=net, tax=tax,
                  gross=net + tax, document="",
                  document_hash=args.get("documentHash") or "", state="issued",
                  is_red_letter=False, flags=int(args.get("flags", 0)))
    session.add(inv)
    return inv


_wake = threading.Event()


def wake():
    """The background indexer runs now, not at its next interval (a bulk chunk was mined)."""
    _wake.set()


def start_background(app, interval=1.0, on_rewind=None, after_run=None):
    """A daemon thread indexing every ``interval`` seconds (serve.py); after a rewind it
    calls ``on_rewind()`` (the services' recovery: outbox and invoice rows); after each run
    ``after_run()`` (the dashboards' figures brought up to date: services.analytics_store)."""
    stop = threading.Event()

    def loop():
        from ..core.db import checkpoint

        last_checkpoint = time.monotonic()
        while not stop.is_set():
            try:
                with app.app_context():
                    run_once(blocking=False)
                    if on_rewind is not None and rewind.pending():
                        on_rewind()
                    if time.monotonic() - last_checkpoint > 5:
                        checkpoint()
                        last_checkpoint = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - keep following; log and retry
                app.logger.warning("indexer: %s", exc)
            if after_run is not None:  # also when the chain is down: invoice rows change without it
                try:
                    with app.app_context():
                        after_run()
                except Exception as exc:  # noqa: BLE001 - the next run tries again
                    app.logger.warning("after indexing: %s", exc)
            _wake.wait(interval)  # (a stop is seen within ``interval``)
            _wake.clear()

    t = threading.Thread(target=loop, name="indexer", daemon=True)
    t.start()
    return stop
