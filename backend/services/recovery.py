"""Recovery after a restart, a chain restored from an older state, a reverted or a
reorganised chain: the index follows the chain back (``chain.rewind.follow_back``), the outbox
is reconciled deeply (lost transactions re-broadcast with the same bytes, or dropped when
their nonce went to another transaction), and no invoice stays 'issued' without a block:
it goes back to 'pending' (its transaction re-sent) or to 'failed'. serve.py, ``make run``
and ``flask index`` run it before they serve or index; the background indexer runs it
after a rewind it notices."""
from ..chain import get_chain, indexer, rewind
from ..chain.client import REGISTRY
from ..chain.signer import PENDING_STATUSES
from ..core.db import get_db
from ..core.models import Invoice, OutboxTx
from . import issuance


def recover():
    """Returns {"rewound", "outbox", "invoices", "index": {"from", "to", "events"}}: what
    changed and what was indexed."""
    first = indexer.run_once()
    changed = issuance.reconcile(deep=True)
    invoices = unissue_lost()
    for inv in get_db().query(Invoice).filter(Invoice.number.in_(list(invoices)), Invoice.state == "pending"):
        issuance.settle(inv)
    indexed = indexer.run_once()
    _refresh_rewound(rewind.take_rewind())
    return {"rewound": first.get("rewound"), "outbox": changed, "invoices": invoices,
            "index": {"from": first["from"], "to": indexed["to"], "events": first["events"] + indexed["events"]}}


def unissue_lost():
    """Invoice rows 'issued' whose transaction is in no block: 'pending' while it may still
    be mined (journaled, sent), else 'failed' (dropped, reverted, rejected) unless the
    registry has the invoice all the same. Returns {number: new state}."""
    session = get_db()
    rows = (session.query(Invoice).join(OutboxTx, Invoice.outbox_id == OutboxTx.id)
            .filter(Invoice.state == "issued", OutboxTx.status != "mined").all())
    changed = {}
    for inv in rows:
        if inv.outbox.status in PENDING_STATUSES:
            inv.state = "pending"
        elif get_chain().call(REGISTRY, "exists", bytes.fromhex(inv.key[2:])):
            continue
        else:
            inv.state, inv.chain_status = "failed", None
            inv.error = inv.outbox.error or inv.outbox.status
        changed[inv.number] = inv.state
    session.commit()
    return changed


def _refresh_rewound(keys):
    """The chain's status of invoices whose events a rewind deleted (a void or a review in a
    lost block is no longer true)."""
    if not keys:
        return
    session = get_db()
    for inv in session.query(Invoice).filter(Invoice.key.in_(list(keys)), Invoice.state == "issued"):
        issuance.refresh(inv)
    session.commit()
