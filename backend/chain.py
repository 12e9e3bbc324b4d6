"""The one module that owns web3.

* contract handles from the build artifacts (build/contracts/<Name>.json) and the
  deployment record (var/deployment.json: chain_id, rpc_url, block, contracts, abi_dir);
* transactions built here, signed with eth-account (keys.KeyRing), sent raw;
* a nonce manager: one lock per sender + a local counter, resynchronised from the chain
  (and the outbox) on error;
* the outbox: each signed raw transaction is journaled in the DB *before* it is
  broadcast; ``reconcile()`` (run at start and on demand) re-broadcasts what the chain
  does not know, marks mined/reverted what it does, so nothing acknowledged is lost and
  nothing is sent twice (a re-broadcast is the same signed bytes: same hash, same nonce);
* custom errors decoded from the ABIs into a name, arguments and a human message.
"""
import json
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import requests
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_abi_to_4byte_selector, to_checksum_address
from flask import current_app
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware

from .keys import KeyRing

PENDING_STATUSES = ("signed", "sent")


class ChainError(Exception):
    """Base: the chain is unavailable or misconfigured."""


class ChainUnavailable(ChainError):
    pass


class ChainRefusal(ChainError):
    """A call or transaction reverted. ``name`` is the custom error's name."""

    def __init__(self, name, args=None, message=None, contract=None):
        self.name = name
        self.args_ = args or {}
        self.contract = contract
        self.message = message or name
        super().__init__(self.message)

    def to_dict(self):
        return {"error": self.name, "message": self.message, "args": _jsonable(self.args_)}


# Human messages for the custom errors of the platform contracts (others fall back to
# "Name(arg=value, ...)").
MESSAGES = {
    "InvalidTaxId": "The tax ID {taxId} is not an 18-character USCC with a valid check character.",
    "InvalidMerchantName": "The merchant name is empty or too long ({length} bytes, at most {maxLength}).",
    "MissingLicenceHash": "The business licence number is missing.",
    "MerchantAlreadyRegistered": "The account {account} already has a merchant application or registration.",
    "TaxIdAlreadyRegistered": "This tax ID is already registered by another merchant.",
    "InvalidMerchantStatus": "The merchant is {actual} where this needs {expected}.",
    "InvalidMerchantLimits": "Limits must be non-zero and the monthly quota at least the invoice cap.",
    "InvalidOperator": "This account cannot be made an operator.",
    "AccessControlUnauthorizedAccount": "The account {account} lacks the role this action needs.",
    "MerchantNotActive": "The seller is not an approved, active merchant.",
    "NotMerchantOrOperator": "The caller may not act for this merchant.",
    "InvalidInvoiceNumber": "The invoice number {number} is not a 20-digit decimal string.",
    "InvoiceAlreadyRegistered": "This invoice number is already registered.",
    "InvoiceNotFound": "No invoice with this number on chain.",
    "GrossMismatch": "Gross ({gross}) must equal net ({net}) + tax ({tax}).",
    "ZeroAmount": "The gross amount is zero.",
    "AmountTooLarge": "The amount {amount} is too large.",
    "TaxOutOfTolerance": "Tax {tax} differs from net {net} × {rate}% by more than the tolerance of {tolerance} fen.",
    "RateNotAllowed": "The tax rate {rate}% is not allowed.",
    "InvalidItemCount": "An invoice needs at least one line item.",
    "InvalidInvoiceType": "The invoice type must be 0 (ordinary) or 1 (special VAT).",
    "MissingDocumentHash": "The document hash is missing.",
    "IssueTimeInFuture": "The issue time is in the future.",
    "IssueTimeTooOld": "The issue date is older than the backdating window allows.",
    "InvoiceCapExceeded": "The gross amount {gross} is above the merchant's per-invoice cap of {cap} fen.",
    "InvalidInvoiceStatus": "The invoice's status ({status}) does not allow this action.",
    "IsRedLetterNote": "This is a red-letter note: it cannot be voided, red-lettered or financed.",
    "VoidWindowClosed": "The void window has closed: an invoice can be voided only within its issue month; issue a red-letter note instead.",
    "InvoiceHasReceivable": "A live receivable ({drawn} fen) is backed by this invoice.",
    "InvoiceHasRedLetterNotes": "Red-letter notes ({redLettered} fen) already reduce this invoice: it cannot be voided.",
    "RedLetterExceedsOpenAmount": "The note amount {amount} is over the open amount {openAmount} of the original.",
    "OpenAmountBelowDrawn": "The note would leave the open amount below the receivables drawn on it.",
    "SellerMismatch": "A red-letter note must have the original's seller.",
    "BuyerMismatch": "A red-letter note must have the original's buyer.",
    "RateMismatch": "A red-letter note must have the original's tax rate ({expected}%).",
    "DocumentAlreadyRegistered": "This document is already registered.",
    "EnforcedPause": "The contract is paused by the authority; try again when it resumes.",
    "ExpectedPause": "The registry is not paused.",
    "InvalidAllowedRates": "The allowed-rates mask is invalid.",
    "InvalidIssueTimeWindow": "The backdating window must be non-zero.",
}
INVOICE_STATUS = ["None", "Issued", "Flagged", "Cleared", "Rejected", "Voided", "RedLettered"]
MERCHANT_STATUS = ["None", "Pending", "Approved", "Suspended", "Rejected"]
# Refusals that mean "the state does not allow it" → HTTP 409; the rest → 422.
CONFLICT_ERRORS = {
    "InvoiceAlreadyRegistered", "MerchantAlreadyRegistered", "TaxIdAlreadyRegistered",
    "InvalidMerchantStatus", "InvalidInvoiceStatus", "InvoiceHasReceivable", "VoidWindowClosed",
    "InvoiceHasRedLetterNotes", "RedLetterExceedsOpenAmount", "OpenAmountBelowDrawn", "EnforcedPause",
    "IsRedLetterNote", "DocumentAlreadyRegistered", "ExpectedPause",
}


def _jsonable(value):
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value


def _post(abi_output, value):
    """Checksum addresses inside a decoded value (eth_abi gives lower case)."""
    t = abi_output["type"]
    if t == "address":
        return to_checksum_address(value)
    if t.startswith("tuple"):
        comps = abi_output["components"]
        if t.endswith("]"):
            inner = {**abi_output, "type": t[:t.rindex("[")]}
            return [_post(inner, v) for v in value]
        return tuple(_post(c, v) for c, v in zip(comps, value))
    if t.endswith("]") and t.startswith("address"):
        return [to_checksum_address(v) for v in value]
    return value


def _abi_type(inp):
    t = inp["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in inp["components"]) + ")" + t[5:]
    return t


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


class Chain:
    def __init__(self, *, rpc_url, deployment, artifacts_dir, keyring, session_factory, tx_timeout=30,
                 priority_fee=10**9):
        self.deployment = deployment
        session = requests.Session()
        session.trust_env = False  # no proxy lookup in the environment on every RPC
        self.w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 15}, session=session))
        # Calldata is encoded and checked here (eth_abi, from the ABI), so web3's default
        # middlewares (ENS, validation: an eth_chainId per call, gas strategies) are not
        # needed; the POA one lets get_block work on Clique/QBFT chains.
        self.w3.middleware_onion.clear()
        self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        self._fn_cache = {}
        self.keyring = keyring
        self.session_factory = session_factory  # () -> SQLAlchemy session
        self.tx_timeout = tx_timeout
        self.priority_fee = priority_fee
        self.chain_id = int(deployment["chain_id"])
        self.deploy_block = int(deployment.get("block", 0))
        self.contracts = {}
        self.errors = {}  # selector -> (name, [types], [names])
        abi_dir = deployment.get("abi_dir") or artifacts_dir
        for name, address in deployment["contracts"].items():
            abi = load_abi(name, abi_dir, artifacts_dir)
            if abi is None:
                continue
            self.contracts[name] = self.w3.eth.contract(address=to_checksum_address(address), abi=abi)
            for entry in abi:
                if entry.get("type") == "error":
                    types = [_abi_type(i) for i in entry.get("inputs", [])]
                    selector = function_abi_to_4byte_selector({"name": entry["name"], "type": "function",
                                                                "inputs": entry.get("inputs", [])})
                    self.errors[bytes(selector)] = (entry["name"], types, [i["name"] for i in entry.get("inputs", [])])
        self.nonces = NonceManager(self.w3, self._journal_next)
        self._fee_cache = (0.0, None)

    # ---- reading -------------------------------------------------------------------
    def contract(self, name):
        try:
            return self.contracts[name]
        except KeyError:
            raise ChainUnavailable(f"contract {name} is not deployed") from None

    def has(self, name):
        return name in self.contracts

    def _function(self, contract, function):
        """(address, selector, input types, output ABI) of ``contract.function``, cached."""
        key = (contract, function)
        hit = self._fn_cache.get(key)
        if hit is None:
            c = self.contract(contract)
            for entry in c.abi:
                if entry.get("type") == "function" and entry.get("name") == function:
                    break
            else:
                raise ChainError(f"{contract} has no function {function}")
            selector = bytes(function_abi_to_4byte_selector(entry))
            hit = (c.address, selector, [_abi_type(i) for i in entry["inputs"]], entry.get("outputs", []))
            self._fn_cache[key] = hit
        return hit

    def encode(self, contract, function, *args):
        """Calldata for ``contract.function(*args)`` (eth_abi; bad arguments raise ValueError/TypeError)."""
        address, selector, types, _ = self._function(contract, function)
        return address, "0x" + (selector + abi_encode(types, list(args))).hex()

    def call(self, contract, function, *args, block="latest"):
        """eth_call of a view; the decoded result (one value, or a tuple for several)."""
        address, data = self.encode(contract, function, *args)
        outputs = self._function(contract, function)[3]
        try:
            raw = self.w3.eth.call({"to": address, "data": data}, block)
        except ContractLogicError as exc:
            raise self.decode_error(exc, contract) from None
        except (OSError, Web3RPCError) as exc:
            raise ChainUnavailable(str(exc)) from exc
        except Exception as exc:
            if _is_connection_error(exc):
                raise ChainUnavailable(str(exc)) from exc
            raise
        values = abi_decode([_abi_type(o) for o in outputs], bytes(raw))
        values = [_post(o, v) for o, v in zip(outputs, values)]
        return values[0] if len(values) == 1 else tuple(values)

    def call_named(self, contract, function, *args):
        """Call a view returning one struct; the result as a dict by component name."""
        result = self.call(contract, function, *args)
        for entry in self.contract(contract).abi:
            if entry.get("type") == "function" and entry.get("name") == function:
                outputs = entry.get("outputs", [])
                if len(outputs) == 1 and outputs[0]["type"] == "tuple":
                    return dict(zip([c["name"] for c in outputs[0]["components"]], result))
                return dict(zip([o["name"] or f"out{i}" for i, o in enumerate(outputs)],
                                result if len(outputs) > 1 else [result]))
        raise ChainError(f"{contract} has no function {function}")

    def has_function(self, contract, function):
        return self.has(contract) and any(e.get("type") == "function" and e.get("name") == function
                                          for e in self.contract(contract).abi)

    def decode_error(self, exc, contract=None):
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        return self.decode_revert_data(data, contract, fallback=str(exc))

    def decode_revert_data(self, data, contract=None, fallback="execution reverted"):
        if isinstance(data, (bytes, bytearray)):
            raw = bytes(data)
        elif isinstance(data, str) and data.startswith("0x"):
            try:
                raw = bytes.fromhex(data[2:])
            except ValueError:
                raw = b""
        else:
            raw = b""
        if len(raw) >= 4 and raw[:4] in self.errors:
            name, types, names = self.errors[raw[:4]]
            try:
                values = abi_decode(types, raw[4:])
            except Exception:
                values = ()
            values = [to_checksum_address(v) if t == "address" else v for t, v in zip(types, values)]
            args = {n or f"arg{i}": v for i, (n, v) in enumerate(zip(names, values))}
            return ChainRefusal(name, args, human_message(name, args), contract)
        if raw[:4] == bytes.fromhex("08c379a0"):  # Error(string)
            try:
                (reason,) = abi_decode(["string"], raw[4:])
            except Exception:
                reason = fallback
            return ChainRefusal("Reverted", {"reason": reason}, reason, contract)
        if raw[:4] == bytes.fromhex("4e487b71"):  # Panic(uint256)
            return ChainRefusal("Panic", {"code": int.from_bytes(raw[4:36] or b"\0", "big")},
                                "The contract panicked (arithmetic or assertion error).", contract)
        return ChainRefusal("Reverted", {}, fallback, contract)

    # ---- writing -------------------------------------------------------------------
    def _journal_next(self, sender):
        from .models import OutboxTx

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
        from .models import OutboxTx

        sender = to_checksum_address(sender)
        c = self.contract(contract)
        account = self.keyring.account(sender)
        _, data = self.encode(contract, function, *args)
        try:
            gas = self.w3.eth.estimate_gas({"from": sender, "to": c.address, "data": data})
            fees = self._fees()
        except ContractLogicError as exc:
            raise self.decode_error(exc, contract) from None
        except Exception as exc:
            if _is_connection_error(exc):
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
                    if _is_connection_error(exc):
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
            elif _is_connection_error(exc):
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
            if _is_connection_error(exc):
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
            return self.decode_error(exc, row.contract)
        except Exception:
            pass
        return ChainRefusal("Reverted", {}, "The transaction reverted.", row.contract)

    def reconcile(self, deep=False):
        """Bring the outbox in line with the chain. Returns {tx_hash: new status, or
        "broadcast" for a (re-)broadcast}.

        signed/sent rows: receipt → mined/reverted; known but pending → left; unknown →
        re-broadcast (same bytes) unless the sender's nonce was consumed by another
        transaction (→ dropped). With ``deep`` also re-checks mined rows (a chain
        restarted from an older state) and re-broadcasts the lost ones.
        """
        from .models import OutboxTx

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
                before = row.status
                try:
                    receipt = self.w3.eth.get_transaction_receipt(row.tx_hash)
                except TransactionNotFound:
                    receipt = None
                if receipt is not None:
                    if before != "mined":
                        self._record_receipt(row, receipt, session)
                elif self._known_pending(row.tx_hash):
                    if row.status == "signed":
                        row.status = "sent"
                        session.commit()
                elif self.w3.eth.get_transaction_count(row.sender, "latest") > row.nonce:
                    row.status = "dropped"
                    row.error = "nonce consumed by another transaction"
                    session.commit()
                else:
                    if self._broadcast(row, session) == "ok":
                        changed[row.tx_hash] = "broadcast"
                        continue
                if row.status != before:
                    changed[row.tx_hash] = row.status
            for s in senders:
                self.nonces.resync(s)
        finally:
            for lock in locks:
                lock.release()
        return changed

    def _known_pending(self, tx_hash):
        try:
            self.w3.eth.get_transaction(tx_hash)
            return True
        except TransactionNotFound:
            return False

    def wait_pending(self, timeout=None):
        """Wait for receipts of every 'sent' row (after reconcile)."""
        from .models import OutboxTx

        session = self.session_factory()
        for row in session.query(OutboxTx).filter_by(chain_id=self.chain_id, status="sent").all():
            self.wait(row, session, timeout)


def human_message(name, args):
    template = MESSAGES.get(name)
    shown = dict(args)
    for k in ("expected", "actual"):
        if isinstance(shown.get(k), int) and name == "InvalidMerchantStatus":
            shown[k] = MERCHANT_STATUS[shown[k]] if shown[k] < len(MERCHANT_STATUS) else shown[k]
    if name == "InvalidInvoiceStatus" and isinstance(shown.get("status"), int) and shown["status"] < len(INVOICE_STATUS):
        shown["status"] = INVOICE_STATUS[shown["status"]]
    shown = {k: _jsonable(v) for k, v in shown.items()}
    if template:
        try:
            return template.format(**shown)
        except (KeyError, IndexError):
            return template
    return f"{name}(" + ", ".join(f"{k}={v}" for k, v in shown.items()) + ")"


def _is_connection_error(exc):
    import requests

    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError)):
        return True
    text = str(exc)
    return "Connection refused" in text or "Max retries exceeded" in text


def load_abi(name, abi_dir, artifacts_dir):
    for d in (abi_dir, artifacts_dir):
        if not d:
            continue
        for path in (os.path.join(d, f"{name}.json"), os.path.join(d, "contracts", f"{name}.json")):
            if os.path.exists(path):
                with open(path) as f:
                    data = json.load(f)
                return data["abi"] if isinstance(data, dict) else data
    return None


def read_deployment(path):
    if not os.path.exists(path):
        raise ChainUnavailable(f"no deployment record at {path}: deploy the contracts first")
    with open(path) as f:
        return json.load(f)


# ---- Flask integration -------------------------------------------------------------
_build_lock = threading.Lock()


def init_app(app):
    app.extensions["einvoice.keyring"] = KeyRing(
        dev_mode=app.config["DEV_MODE"], mnemonic=app.config["DEV_MNEMONIC"],
        keystore_dir=app.config["KEYSTORE_DIR"], password=app.config.get("KEYSTORE_PASSWORD"))
    app.extensions["einvoice.chain"] = None


def get_keyring():
    return current_app.extensions["einvoice.keyring"]


def get_chain() -> Chain:
    """The app's Chain, built on first use from the deployment record."""
    app = current_app._get_current_object()
    chain = app.extensions.get("einvoice.chain")
    if chain is not None:
        return chain
    if not app.config.get("CHAIN_ENABLED", True):
        raise ChainUnavailable("chain access is disabled")
    with _build_lock:
        chain = app.extensions.get("einvoice.chain")
        if chain is None:
            from .db import db

            deployment = read_deployment(app.config["DEPLOYMENT_FILE"])
            chain = Chain(rpc_url=app.config.get("RPC_URL") or deployment["rpc_url"], deployment=deployment,
                          artifacts_dir=app.config["ARTIFACTS_DIR"], keyring=get_keyring(),
                          session_factory=lambda: db.session, tx_timeout=app.config["TX_TIMEOUT"])
            app.extensions["einvoice.chain"] = chain
    return chain


def reset_chain(app):
    app.extensions["einvoice.chain"] = None
