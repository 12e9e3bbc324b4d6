"""Signer: transactions built, signed with eth-account (keys.KeyRing) and sent raw;
a nonce manager (one lock per sender and a local counter, resynchronised from the chain and
the outbox on error); the outbox (each signed raw transaction is journaled in the database
*before* it is broadcast; ``reconcile()`` re-broadcasts what the chain does not know and
records receipts of what it does, so nothing acknowledged is lost and nothing is sent
twice: a re-broadcast is the same signed bytes, same hash, same nonce)."""
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound

from ..core.models import OutboxTx
from .errors import ChainError, ChainRefusal, ChainUnavailable, is_connection_error

PENDING_STATUSES = ("signed", "sent")


@dataclass
class TxResult:
    tx_hash: str
    outbox_id: int
    status: str  # mined | reverted | sent (not mined within the timeout) | signed (broadcast failed)
    receipt: dict | None = None
    refusal: ChainRefusal | None = None
    logs: list = field(default_factory=list)


class NonceManager:
    """Per-sender lock + local counter. ``lock(sender)`` must be held around
    ``take`` → sign → journal → broadcast so nonces go out in order."""

    def __init__(self, w3, journal_next):
        self.w3 = w3
        self._journal_next = journal_next  # callable(sender) -> next nonce after journaled txs
        self._locks = defaultdict(threading.Lock)
        self._guard = threading.Lock()
        self._next = {}

    def lock(self, sender):
        with self._guard:
            return self._locks[sender]

    def take(self, sender):
        n = self._next.get(sender)
        if n is None:
            n = max(self.w3.eth.get_transaction_count(sender, "pending"), self._journal_next(sender))
        self._next[sender] = n + 1
        return n

    def give_back(self, sender, nonce):
        """The nonce was not used (nothing journaled/sent): hand it out again."""
        if self._next.get(sender) == nonce + 1:
            self._next[sender] = nonce

    def resync(self, sender=None):
        if sender is None:
            self._next.clear()
        else:
            self._next.pop(sender, None)


class Signer:
    """Writes through a ChainClient: sign, journal, broadcast, wait, reconcile."""

    def __init__(self, client, *, keyring, session_factory, tx_timeout=30, priority_fee=10**9):
        self.client = client
        self.w3 = client.w3
        self.chain_id = client.chain_id
        self.keyring = keyring
        self.session_factory = session_factory  # () -> SQLAlchemy session
        self.tx_timeout = tx_timeout
        self.priority_fee = priority_fee
        self.nonces = NonceManager(self.w3, self._journal_next)
        self._fee_cache = (0.0, None)

    def _journal_next(self, sender):
        session = self.session_factory()
        last = (session.query(OutboxTx.nonce)
                .filter(OutboxTx.sender == sender, OutboxTx.chain_id == self.chain_id,
                        OutboxTx.status.in_(PENDING_STATUSES))
                .order_by(OutboxTx.nonce.desc()).first())
        return last[0] + 1 if last else 0

    def _fees(self):
        ts, fees = self._fee_cache
        if fees is None or time.monotonic() - ts > 2.0:
            block = self.w3.eth.get_block("latest")
            base = block.get("baseFeePerGas")
            if base is None:
                fees = {"gasPrice": self.w3.eth.gas_price}
            else:
                fees = {"maxFeePerGas": 2 * base + self.priority_fee, "maxPriorityFeePerGas": self.priority_fee,
                        "type": 2}
            self._fee_cache = (time.monotonic(), fees)
        return fees

    def transact(self, sender, contract, function, *args, ref=None, journal=(), on_journal=None, wait=True):
        """Estimate (a revert raises ChainRefusal, nothing journaled), sign, journal
        (together with the ``journal`` objects and ``on_journal(row)``), broadcast, wait.

        Returns TxResult. Raises ChainRefusal before journaling, ChainUnavailable when
        the node cannot be reached before journaling.
        """
        sender = to_checksum_address(sender)
        c = self.client.contract(contract)
        account = self.keyring.account(sender)
        _, data = self.client.encode(contract, function, *args)
        try:
            gas = self.w3.eth.estimate_gas({"from": sender, "to": c.address, "data": data})
            fees = self._fees()
        except ContractLogicError as exc:
            raise self.client.decode_error(exc, contract) from None
        except Exception as exc:
            if is_connection_error(exc):
                raise ChainUnavailable(str(exc)) from exc
            raise
        tx = {"to": c.address, "data": data, "value": 0, "gas": int(gas * 1.25) + 20_000,
              "chainId": self.chain_id, **fees}
        session = self.session_factory()
        lock = self.nonces.lock(sender)
        with lock:
            for attempt in range(3):
                try:
                    nonce = self.nonces.take(sender)
                except Exception as exc:
                    if is_connection_error(exc):
                        raise ChainUnavailable(str(exc)) from exc
                    raise
                signed = account.sign_transaction({**tx, "nonce": nonce})
                tx_hash = Web3.to_hex(signed.hash)
                row = OutboxTx(chain_id=self.chain_id, sender=sender, nonce=nonce, tx_hash=tx_hash,
                               raw_tx=Web3.to_hex(signed.raw_transaction), contract=contract,
                               function=function, ref=ref, status="signed")
                session.add(row)
                for obj in journal:
                    session.add(obj)
                if on_journal:
                    session.flush()
                    on_journal(row)
                try:
                    session.commit()  # journaled: from here the tx is durable
                except Exception:
                    session.rollback()
                    self.nonces.resync(sender)
                    raise
                outcome = self._broadcast(row, session, commit=False)
                if outcome == "retry":
                    continue
                break
        if row.status == "signed" or not wait:
            session.commit()
            return TxResult(tx_hash, row.id, row.status)
        return self.wait(row, session)

    def _broadcast(self, row, session, commit=True):
        """Send the journaled raw tx. Returns 'ok', 'retry' (nonce was stale: row
        dropped, counter resynced) or 'offline' (left 'signed' for reconcile)."""
        try:
            self.w3.eth.send_raw_transaction(row.raw_tx)
        except Exception as exc:
            msg = str(exc).lower()
            if "already known" in msg or "already imported" in msg:
                pass
            elif "nonce too low" in msg or "nonce is too low" in msg:
                row.status = "dropped"
                row.error = "nonce too low at broadcast; re-signed with a fresh nonce"
                session.commit()
                self.nonces.resync(row.sender)
                return "retry"
            elif is_connection_error(exc):
                row.error = f"broadcast failed: {exc}"
                session.commit()
                return "offline"
            else:
                row.status = "rejected"
                row.error = str(exc)
                session.commit()
                self.nonces.resync(row.sender)
                raise ChainError(f"node rejected the transaction: {exc}") from exc
        row.status = "sent"
        row.broadcasts += 1
        if commit:  # else written with the receipt: 'signed' and 'sent' reconcile alike
            session.commit()
        return "ok"

    def wait(self, row, session, timeout=None):
        """Wait for the receipt (polling 2 ms, growing to 100 ms); record it."""
        deadline = time.monotonic() + (timeout or self.tx_timeout)
        delay = 0.002
        try:
            while True:
                try:
                    receipt = self.w3.eth.get_transaction_receipt(row.tx_hash)
                    break
                except TransactionNotFound:
                    if time.monotonic() >= deadline:
                        session.commit()
                        return TxResult(row.tx_hash, row.id, row.status)
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
        except Exception as exc:
            session.commit()
            if is_connection_error(exc):
                return TxResult(row.tx_hash, row.id, row.status)
            raise
        return self._record_receipt(row, receipt, session)

    def _record_receipt(self, row, receipt, session):
        row.block_number = receipt["blockNumber"]
        row.gas_used = receipt["gasUsed"]
        refusal = None
        if receipt["status"] == 1:
            row.status = "mined"
        else:
            row.status = "reverted"
            refusal = self._revert_reason(row, receipt)
            row.error = json.dumps(refusal.to_dict()) if refusal else "reverted"
        session.commit()
        return TxResult(row.tx_hash, row.id, row.status, dict(receipt), refusal, list(receipt["logs"]))

    def _revert_reason(self, row, receipt):
        try:
            tx = self.w3.eth.get_transaction(row.tx_hash)
            self.w3.eth.call({"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]},
                             receipt["blockNumber"] - 1)
        except ContractLogicError as exc:
            return self.client.decode_error(exc, row.contract)
        except Exception:
            pass
        return ChainRefusal("Reverted", {}, "The transaction reverted.", row.contract)

    def reconcile(self, deep=False):
        """Bring the outbox in line with the chain. Returns {tx_hash: new status, or
        "broadcast" for a (re-)broadcast}.

        signed/sent rows: receipt → mined/reverted; known but pending → left; unknown →
        re-broadcast (same bytes) unless the sender's nonce was consumed by another
        transaction (→ dropped). With ``deep`` also re-checks mined rows (a chain
        restarted from an older state, rewound or reorganised): a receipt gone → the
        same bytes re-broadcast, or dropped when the nonce went to another transaction;
        a receipt in another block → the row's block number updated ("moved").
        """
        session = self.session_factory()
        statuses = PENDING_STATUSES + (("mined",) if deep else ())
        rows = (session.query(OutboxTx)
                .filter(OutboxTx.chain_id == self.chain_id, OutboxTx.status.in_(statuses))
                .order_by(OutboxTx.sender, OutboxTx.nonce).all())
        changed = {}
        senders = {r.sender for r in rows}
        locks = [self.nonces.lock(s) for s in sorted(senders)]
        for lock in locks:
            lock.acquire()
        try:
            for row in rows:
                self._reconcile_row(row, session, changed)
            for s in senders:
                self.nonces.resync(s)
        finally:
            for lock in locks:
                lock.release()
        return changed

    def _reconcile_row(self, row, session, changed):
        before = row.status
        try:
            receipt = self.w3.eth.get_transaction_receipt(row.tx_hash)
        except TransactionNotFound:
            receipt = None
        if receipt is not None:
            # a mined row is recorded again when its tx is now in another block
            # (re-broadcast after a rewind, or a reorganised chain)
            if before != "mined" or row.block_number != receipt["blockNumber"]:
                self._record_receipt(row, receipt, session)
                if before == "mined":
                    changed[row.tx_hash] = "moved"
            return
        if before == "mined":  # in no block any more (a rewound chain)
            row.block_number = None
        if self._known_pending(row.tx_hash):
            row.status = "sent"
            session.commit()
        elif self.w3.eth.get_transaction_count(row.sender, "latest") > row.nonce:
            row.status = "dropped"
            row.error = "nonce consumed by another transaction"
            session.commit()
        elif self._broadcast(row, session) == "ok":
            changed[row.tx_hash] = "broadcast"
            return
        if row.status != before:
            changed[row.tx_hash] = row.status

    def _known_pending(self, tx_hash):
        try:
            self.w3.eth.get_transaction(tx_hash)
            return True
        except TransactionNotFound:
            return False

    def wait_pending(self, timeout=None):
        """Wait for receipts of every 'sent' row (after reconcile)."""
        session = self.session_factory()
        for row in session.query(OutboxTx).filter_by(chain_id=self.chain_id, status="sent").all():
            self.wait(row, session, timeout)


