"""Following a rewound chain back: a chain restored from an older state (Anvil killed
before its state dump), reverted or reorganised no longer has the blocks the index was read
from. The indexer compares the block hash of its cursor at every run (``follow_back``) and,
when it changed, deletes the events after the last block the chain still has and reads
them again; recovery (services/recovery.py) then reconciles the outbox and the invoices
whose events were deleted (``take_rewind``)."""
import logging
import threading

from web3 import Web3

from ..core.models import ChainEvent


def block_hash(chain, number):
    """The hash (0x-hex) of block ``number`` as the chain has it now."""
    return Web3.to_hex(chain.w3.eth.get_block(number)["hash"])


_rewind = {"keys": set(), "pending": threading.Event()}


def follow_back(chain, session, cursor, latest):
    """A chain restored from an older state, reverted or reorganised no longer has the
    cursor's block (hash). Walk back to the last indexed block whose hash still matches
    (or to the deployment block), delete the events indexed after it and rewind the
    cursor there: the next range re-reads them from the chain as it is now. Returns
    {"from", "to", "events_deleted"} or None (the chain still has the cursor's block)."""
    if cursor.last_block < chain.deploy_block:
        return None
    if cursor.last_block <= latest:
        now = block_hash(chain, cursor.last_block)
        if cursor.block_hash is None:  # indexed before block hashes were kept: trust it
            cursor.block_hash = now
            session.commit()
        if now == cursor.block_hash:
            return None
    fork = _last_matching_block(chain, session, min(latest, cursor.last_block))
    gone = session.query(ChainEvent).filter(ChainEvent.block_number > fork)
    keys = {k for ev in gone for k in (ev.invoice_key, ev.related_key) if k}
    deleted = gone.delete(synchronize_session=False)
    rewound = {"from": cursor.last_block, "to": fork, "events_deleted": deleted}
    cursor.last_block = fork
    cursor.block_hash = block_hash(chain, fork) if fork >= chain.deploy_block else None
    session.commit()
    _rewind["keys"] |= keys
    _rewind["pending"].set()
    logging.getLogger(__name__).warning(
        "链已回退：索引从区块 %s 回退到 %s，删除 %s 条事件。The chain was rewound: the index goes back from block "
        "%s to %s (%s events deleted) and is read again.", rewound["from"], fork, deleted, rewound["from"], fork,
        deleted)
    return rewound


def _last_matching_block(chain, session, top):
    """The highest indexed event block (<= top) whose hash is still the chain's, found by
    bisection: a block that matches vouches for all blocks before it (each hash covers its
    parent's). The deployment block - 1 when none matches."""
    known = (session.query(ChainEvent.block_number, ChainEvent.block_hash)
             .filter(ChainEvent.block_number <= top, ChainEvent.block_hash.isnot(None))
             .distinct().order_by(ChainEvent.block_number).all())
    lo, hi, best = 0, len(known) - 1, chain.deploy_block - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        number, indexed_hash = known[mid]
        if block_hash(chain, number) == indexed_hash:
            best, lo = number, mid + 1
        else:
            hi = mid - 1
    return best


def pending():
    """Whether a rewind happened that recovery has not taken yet."""
    return _rewind["pending"].is_set()


def take_rewind():
    """The invoice keys of the events a rewind deleted, once (None when there was no
    rewind since the last call): recovery reconciles the outbox and those invoices."""
    if not _rewind["pending"].is_set():
        return None
    _rewind["pending"].clear()
    keys, _rewind["keys"] = _rewind["keys"], set()
    return keys
