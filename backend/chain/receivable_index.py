"""The receivables table kept from the ReceivableLedger: the indexer reads the chain's view
(``getReceivable``) of every receivable a range of events touched, at the range's last block
and before it writes (no RPC inside the write transaction), then writes them with the events.
The chain is the source of truth: the row is its view, never a sum of events recomputed here,
so the waterfall, holds and maturity cannot drift from what the contract did. The events
themselves (chain_events.receivable_id) are each receivable's timeline."""
from sqlalchemy.exc import IntegrityError

from ..core.models import Receivable, utcnow
from .client import LEDGER
from .errors import RECEIVABLE_STATUS, ChainError

# ledger events and the argument naming the receivable they are about
ID_ARGS = ("id", "childId")


def receivable_id_of(contract, args):
    """The receivable a ledger event is about (a split's: the new part), as text; else None."""
    if contract != LEDGER:
        return None
    for name in ID_ARGS:
        if args.get(name) is not None:
            return str(args[name])
    return None


def touched(decoded_logs):
    """The receivable ids of a range's ledger events (a split's parent too)."""
    ids = set()
    for contract, _event, _log, args in decoded_logs:
        if contract == LEDGER:
            ids.update(str(args[n]) for n in ("id", "parentId", "childId") if args.get(n) is not None)
    return ids


def read_views(chain, ids, block="latest"):
    """{id: view dict} of ``getReceivable`` at ``block`` (None for an id the chain does not know)."""
    views = {}
    for rid in sorted(ids, key=int):
        try:
            views[rid] = chain.call_named(LEDGER, "getReceivable", int(rid), block=block)
        except ChainError:  # ReceivableNotFound (an id of a rewound chain) decodes to a ChainRefusal
            views[rid] = None
    return views


def status_word(status):
    return RECEIVABLE_STATUS[int(status)].lower()


def store(session, views, block):
    """Upsert the rows of ``views`` read at ``block``; a row synced at a later block (by an
    action's own read) is left alone; an id the chain no longer knows is deleted."""
    rows = {r.id: r for r in session.query(Receivable).filter(Receivable.id.in_(list(views)))} if views else {}
    for rid, view in views.items():
        row = rows.get(rid)
        if row is not None and row.synced_block > block:
            continue
        if view is None:
            if row is not None:
                session.delete(row)
            continue
        if row is None:
            row = Receivable(id=rid)
            session.add(row)
        fill(row, view, block)


def store_and_commit(session, views, block):
    """``store`` and commit, outside the indexer's own transaction (an action's read of what
    it just did). The background indexer may insert the same new receivable in between: that
    commit then fails on the id; once rolled back, the row is there and is updated instead."""
    try:
        store(session, views, block)
        session.commit()
    except IntegrityError:
        session.rollback()
        store(session, views, block)
        session.commit()


def fill(row, view, block):
    """Copy a ``getReceivable`` view into ``row``."""
    zero = "0x" + "0" * 40
    row.root_id, row.parent_id = str(view["rootId"]), (str(view["parentId"]) if view["parentId"] else None)
    row.invoice_key = "0x" + bytes(view["invoiceKey"]).hex()
    row.creditor, row.holder, row.debtor = view["creditor"], view["holder"], view["debtor"]
    row.financier = view["financier"] if view["financier"].lower() != zero else None
    row.status = status_word(view["status"])
    row.amount, row.paid = int(view["amount"]), int(view["paid"])
    row.advance, row.fee, row.repaid = int(view["advance"]), int(view["fee"]), int(view["repaid"])
    row.due_at, row.created_at_chain = int(view["dueDate"]), int(view["createdAt"])
    row.synced_block = block
    row.updated_at = utcnow()


def resync_all(chain, session):
    """After a rewind: every row read again from the chain as it is now (rows of receivables
    the rewound chain no longer has are deleted)."""
    ids = [rid for (rid,) in session.query(Receivable.id)]
    block = chain.w3.eth.block_number
    store(session, read_views(chain, ids, block), block)
