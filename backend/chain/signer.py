"""Signer: transactions built, signed with eth-account (keys.KeyRing) and sent raw;
nonces from the database (nonces.NonceManager: taken in the transaction that journals
them, so a rollback gives them back; gaps found at start-up or in flight are healed); the
outbox (each signed raw transaction is journaled in the database *before* it is broadcast;
``reconcile()`` re-broadcasts what the chain does not know and records receipts of what it
does, so nothing acknowledged is lost and nothing is sent twice: a re-broadcast is the same
signed bytes, same hash, same nonce)."""
import json
import time
from dataclasses import dataclass, field

from eth_utils import to_checksum_address
from sqlalchemy import select
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound

from ..core.models import OutboxTx
from .client import light_receipt, raw_request
from .errors import ChainError, ChainRefusal, ChainUnavailable, is_connection_error
from .nonces import LIVE_STATUSES, NonceManager

PENDING_STATUSES = ("signed", "sent")
FILL_FUNCTION = "fillNonceGap"  # outbox function of a 0-value self-transfer filling a nonce gap


@dataclass
class TxResult:
    tx_hash: str
    outbox_id: int
    status: str  # mined | reverted | sent (not mined within the timeout) | signed (broadcast failed)
    receipt: dict | None = None
    refusal: ChainRefusal | None = None
    logs: list = field(default_factory=list)


class Signer:
    """Writes through a ChainClient: sign, journal, broadcast, wait, reconcile."""

    def __init__(self, client, *, keyring, session_factory, tx_timeout=30, priority_fee=10**9, heal_after=1.0):
        self.client = client
        self.w3 = client.w3
        self.chain_id = client.chain_id
        self.keyring = keyring
        self.session_factory = session_factory  # () -> SQLAlchemy session
        self.tx_timeout = tx_timeout
        self.priority_fee = priority_fee
        self.heal_after = heal_after  # seconds unmined before a wait looks for a nonce gap below
        self.nonces = NonceManager(self.w3, self.chain_id)
        self._fee_cache = (0.0, None)

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

    def transact(self, sender, contract, function, *args, ref=None, journal=(), on_journal=None, wait=True,
                 prepare=None, gas=None, data=None):
        """Estimate (a revert raises ChainRefusal, nothing journaled), sign, journal
        (together with the ``journal`` objects and ``on_journal(row)``), broadcast, wait.

        ``gas``: the gas limit, known to the caller (an upper bound); no estimate then, the
        refusals are found by one ``eth_call`` with that gas instead. ``data``: the calldata
        already encoded (``args`` are not encoded then; ``prepare`` may return new calldata
        as bytes or hex instead of new args).

        ``prepare(session)`` runs first in the journaling transaction (before the nonce is
        taken) and may return new ``args`` (e.g. the document with the invoice number taken
        in that transaction); whatever it adds to the session is journaled with the row, or
        rolled back with it. Locks are held only from there to the commit, not while
        estimating or waiting.

        Returns TxResult. Raises ChainRefusal before journaling, ChainUnavailable when
        the node cannot be reached before journaling.
        """
        sender = to_checksum_address(sender)
        to = self.client.contract(contract).address
        account = self.keyring.account(sender)
        if data is None:
            _, data = self.client.encode(contract, function, *args)
        elif not isinstance(data, str):
            data = "0x" + bytes(data).hex()
        if gas is None:
            gas, fees = self._estimate({"from": sender, "to": to, "data": data}, contract)
            gas = int(gas * 1.25) + 20_000
        else:
            gas, fees = self._estimate({"from": sender, "to": to, "data": data, "gas": int(gas)}, contract, True)
        tx = {"to": to, "data": data, "value": 0, "gas": int(gas), "chainId": self.chain_id, **fees}

        def build(session):
            new_args = prepare(session) if prepare else None
            if new_args is None:
                return data
            if isinstance(new_args, (bytes, bytearray)):
                return "0x" + bytes(new_args).hex()
            if isinstance(new_args, str):
                return new_args
            return self.client.encode(contract, function, *new_args)[1]

        session = self.session_factory()
        with self.nonces.lock(sender):
            for attempt in range(3):
                row, tx["data"] = self._journal(session, account, tx, build if attempt == 0 else None, ref=ref,
                                                contract=contract, function=function, journal=journal,
                                                on_journal=on_journal)
                if self._broadcast(row, session, commit=False) != "retry":
                    break
        if row.status == "signed" or not wait:
            session.commit()
            return TxResult(row.tx_hash, row.id, row.status)
        return self.wait(row, session)

    def _estimate(self, tx, contract, simulate=False):
        """(gas of ``tx``, fee fields): estimated, or with ``simulate`` ``tx``'s own gas after
        one eth_call of it. An IssueTimeInFuture against the latest block is tried again
        against the pending block: on an idle chain (or one with slow blocks) the latest
        block's time is minutes old, while the transaction runs in the next block, timed
        now. Any other refusal, or the same one against the pending block, is raised."""
        run = self.w3.eth.call if simulate else self.w3.eth.estimate_gas
        try:
            try:
                gas = run(tx)
            except ContractLogicError as exc:
                refusal = self.client.decode_error(exc, contract)
                if refusal.name != "IssueTimeInFuture":
                    raise refusal from None
                try:
                    gas = run(tx, "pending")
                except ContractLogicError as exc:
                    raise self.client.decode_error(exc, contract) from None
            return (tx["gas"] if simulate else gas), self._fees()
        except ChainError:
            raise
        except Exception as exc:
            if is_connection_error(exc):
                raise ChainUnavailable(str(exc)) from exc
            raise

    def _journal(self, session, account, tx, build, *, contract, function, ref, journal=(), on_journal=None):
        """One transaction: ``build`` (the data), the nonce, the signed row and the journal
        objects, committed together; any failure rolls back all of it (nonce and number
        given back) and is raised."""
        try:
            data = build(session) if build else tx["data"]
            nonce = self.nonces.take(session, account.address)
            signed = account.sign_transaction({**tx, "data": data, "nonce": nonce})
            row = OutboxTx(chain_id=self.chain_id, sender=account.address, nonce=nonce,
                           tx_hash=Web3.to_hex(signed.hash), raw_tx=Web3.to_hex(signed.raw_transaction),
                           contract=contract, function=function, ref=ref, status="signed")
            session.add(row)
            for obj in journal:
                session.add(obj)
            if on_journal:
                session.flush()
                on_journal(row)
            session.commit()  # journaled: from here the tx is durable
        except Exception as exc:
            session.rollback()
            if is_connection_error(exc):
                raise ChainUnavailable(str(exc)) from exc
            raise
        return row, data

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
                self._resync(session, row.sender)
                return "retry"
            elif is_connection_error(exc):
                row.error = f"broadcast failed: {exc}"
                session.commit()
                return "offline"
            else:
                row.status = "rejected"
                row.error = str(exc)
                session.commit()
                self._resync(session, row.sender)  # its nonce is handed out again (or healed)
                raise ChainError(f"node rejected the transaction: {exc}") from exc
        row.status = "sent"
        row.broadcasts += 1
        if commit:  # else written with the receipt: 'signed' and 'sent' reconcile alike
            session.commit()
        return "ok"

    def _resync(self, session, sender):
        try:
            self.nonces.resync(session, sender)
            session.commit()
        except Exception:
            session.rollback()
            raise

    def wait(self, row, session, timeout=None):
        """Wait for the receipt (polling 2 ms, growing to 100 ms); record it. Still not
        mined after ``heal_after`` seconds while the chain's pending nonce is below the
        row's (an earlier nonce is missing): heal the gap, once."""
        start = time.monotonic()
        deadline, heal_at = start + (timeout or self.tx_timeout), start + self.heal_after
        delay = 0.002
        try:
            while True:
                try:
                    receipt = self._receipt(row.tx_hash)
                    break
                except TransactionNotFound:
                    now = time.monotonic()
                    if now >= deadline:
                        session.commit()
                        return TxResult(row.tx_hash, row.id, row.status)
                    if heal_at is not None and now >= heal_at:
                        heal_at = None
                        if self.w3.eth.get_transaction_count(row.sender, "pending") < row.nonce:
                            self.heal(row.sender)
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
        except Exception as exc:
            session.commit()
            if is_connection_error(exc):
                return TxResult(row.tx_hash, row.id, row.status)
            raise
        return self._record_receipt(row, receipt, session)

    def _receipt(self, tx_hash):
        """The receipt, read raw (web3 formats every log of it: hundreds for a bulk
        issuance); TransactionNotFound while not mined."""
        raw = raw_request(self.w3, "eth_getTransactionReceipt", [tx_hash])
        if raw is None or raw.get("blockNumber") is None:
            raise TransactionNotFound(tx_hash)
        return light_receipt(raw)

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
        finally:
            for lock in locks:
                lock.release()
        changed.update(self.heal())  # and every sender's counter resynchronised
        return changed

    def _reconcile_row(self, row, session, changed):
        before = row.status
        try:
            receipt = self._receipt(row.tx_hash)
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

    def heal(self, sender=None):
        """Heal the nonce gaps of ``sender`` (default: every sender of this chain): each
        nonce between the chain's pending nonce and the highest live journaled one that no
        live row holds is filled with a journaled 0-value self-transfer (``fillNonceGap``);
        live rows there the node does not know are broadcast again; the counter is set to
        max(pending nonce, highest live + 1). Returns {tx_hash: "broadcast"}."""
        session = self.session_factory()
        if sender is None:
            pending = session.execute(select(OutboxTx.sender).distinct().where(
                OutboxTx.chain_id == self.chain_id, OutboxTx.status.in_(PENDING_STATUSES))).scalars()
            senders = [s for s in sorted(set(self.nonces.senders(session)) | set(pending)) if self.keyring.has(s)]
        else:
            senders = [to_checksum_address(sender)]
        sent = {}
        for s in senders:
            with self.nonces.lock(s):
                for row in self._fill_gaps(session, s):
                    try:
                        if self._broadcast(row, session) == "ok":
                            sent[row.tx_hash] = "broadcast"
                    except ChainError:
                        pass  # left 'rejected' (its nonce a gap again): the next heal retries
        return sent

    def _fill_gaps(self, session, sender):
        """Under the sender's row lock (every nonce taken so far is journaled): journal the
        fills, resync the counter. Returns the rows to broadcast (fills and unknown live rows)."""
        try:
            self.nonces.lock_row(session, sender)
            pending = self.w3.eth.get_transaction_count(sender, "pending")
            live = {r.nonce: r for r in session.execute(select(OutboxTx).where(
                OutboxTx.chain_id == self.chain_id, OutboxTx.sender == sender,
                OutboxTx.status.in_(LIVE_STATUSES), OutboxTx.nonce >= pending)).scalars()}
            top = max(live, default=pending - 1)
            fills = [self._fill_row(sender, n) for n in range(pending, top) if n not in live]
            session.add_all(fills)
            self.nonces.set(session, sender, max(pending, top + 1))
            session.commit()
        except Exception as exc:
            session.rollback()
            if is_connection_error(exc):
                raise ChainUnavailable(str(exc)) from exc
            raise
        lost = [r for n, r in sorted(live.items()) if n < top and r.status != "mined"
                and not self._known_pending(r.tx_hash)]
        return fills + lost

    def _fill_row(self, sender, nonce):
        signed = self.keyring.account(sender).sign_transaction(
            {"to": sender, "value": 0, "data": b"", "gas": 21_000, "nonce": nonce, "chainId": self.chain_id,
             **self._fees()})
        return OutboxTx(chain_id=self.chain_id, sender=sender, nonce=nonce, tx_hash=Web3.to_hex(signed.hash),
                        raw_tx=Web3.to_hex(signed.raw_transaction), contract="", function=FILL_FUNCTION,
                        ref=f"nonce:{nonce}", status="signed")

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


