"""Bulk issuance (POST /api/v1/invoices/batch): every row is validated first (nothing is
issued when one is invalid); a row whose idempotency key was used before is replayed; the
rest go to the registry's ``issueBatch`` in chunks, each chunk one journaled outbox
transaction written together with its invoice rows. A row the chain refuses (a hard rule)
is reported with its custom error and its chunk is sent again without it, so one bad row
costs neither the others nor an invoice number."""
import re
from dataclasses import dataclass

from eth_utils import keccak
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError

from ..chain import calldata, get_chain, get_signer, indexer
from ..chain.client import REGISTRY
from ..chain.errors import ChainRefusal
from ..chain.indexer import issued_flags
from ..core import buyer_privacy, mail_queue
from ..core.db import get_db
from ..core.models import Invoice, OutboxTx
from . import numbering
from .errors import Refused, ValidationError, refusal_from_chain
from .invoices import active_merchant
from .issuance import _body_fingerprint, _new_invoice, request_fingerprint
from .validation import validate_issue

# refusals of the merchant or of the call, not of one row: every row not yet sent gets it
BATCH_REFUSALS = ("EnforcedPause", "MerchantNotActive", "NotMerchantOrOperator", "InvalidBatchSize",
                  "BatchSellerMismatch")
IN_FLIGHT = 3  # chunks sent before the first of them is waited for
KEY_RE = re.compile(r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$")
KEY_REUSED = _l("This idempotency key was used with a different invoice.")


@dataclass
class Row:
    index: int
    clean: dict
    key: str | None
    fingerprint: str  # of the validated request: equal meaning, equal fingerprint
    fields: dict | None = None  # the row as sent: rows stored before request fingerprints hold its bytes' hash


def issue_batch(user, body):
    """Validate every row, replay the known keys, issue the rest. Returns
    (results in row order, totals)."""
    merchant = active_merchant(user)
    rows = parse(body, current_app.config)
    results = [None] * len(rows)
    queue = _replays(user, rows, results)
    size = max(1, min(int(current_app.config["INVOICE_BATCH_CHUNK"]), 200))
    sent = []  # chunks broadcast, their receipts not yet read: the chain mines one while the next is built
    while queue:
        part, queue = queue[:size], queue[size:]
        try:
            rest, chunk = _issue_chunk(user, merchant, part, results)
            queue = rest + queue
            if chunk is not None:
                sent.append(chunk)
        except Refused as exc:  # the merchant or the call is refused: no row left can go
            for row in part + queue:
                results[row.index] = _refused(row.index, exc)
            queue = []
        while len(sent) >= IN_FLIGHT or (sent and not queue):
            _finish(sent.pop(0), results)
    totals = {"rows": len(results)} | {s: 0 for s in ("issued", "pending", "replayed", "refused")}
    for r in results:
        totals[r["status"]] += 1
    return results, totals


def parse(body, config):
    """{"invoices": [...]} → Rows; ValidationError (400) for the envelope, Refused 413 for
    too many rows, Refused 422 with every row's problems (``invoices[i].field``)."""
    items = body.get("invoices") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or set(body) != {"invoices"}:
        raise ValidationError({"invoices": _("Give a non-empty list of invoices.")},
                              _('The body must be {"invoices": [...]} with at least one invoice.'))
    limit = int(config["INVOICE_BATCH_MAX_ROWS"])
    if len(items) > limit:
        raise Refused("too_many_rows", _("At most %(limit)s invoices per batch (%(count)s sent): split the batch.",
                                         limit=limit, count=len(items)), 413)
    rows, errors, seen = [], {}, {}
    for i, raw in enumerate(items):
        try:
            rows.append(_parse_row(i, raw, config))
        except ValidationError as exc:
            errors.update({f"invoices[{i}]" + ("" if p == "body" else "." + p): m for p, m in exc.fields.items()})
            continue
        key = rows[-1].key
        if key is not None and key in seen:
            errors[f"invoices[{i}].idempotency_key"] = _("The same idempotency key as invoice %(row)s of this batch.",
                                                         row=seen[key] + 1)
        seen.setdefault(key, i)
    if errors:
        bad = len({k.split("]")[0] for k in errors})
        raise Refused("validation_error", ngettext("%(num)d invoice has invalid fields; nothing was issued.",
                                                   "%(num)d invoices have invalid fields; nothing was issued.", bad),
                      422, errors)
    return rows


def _parse_row(index, raw, config):
    if not isinstance(raw, dict):
        raise ValidationError({"body": _("Each invoice must be a JSON object.")})
    key = raw.get("idempotency_key")
    fields = {k: v for k, v in raw.items() if k != "idempotency_key"}
    if key is not None and not (isinstance(key, str) and len(key) <= 128 and KEY_RE.match(key)):
        raise ValidationError({"idempotency_key": _("The idempotency key must be 1 to 128 printable ASCII "
                                                    "characters, with no space at either end.")})
    clean = validate_issue(fields, config)
    return Row(index, clean, key, request_fingerprint(clean), fields)


def _replays(user, rows, results):
    """Rows whose key the merchant used before: the earlier invoice (or 409 when its
    request differed). Returns the rows left to issue."""
    keys = [r.key for r in rows if r.key is not None]
    known = {}
    for start in range(0, len(keys), 500):
        known.update({inv.idempotency_key: inv for inv in get_db().query(Invoice).filter(
            Invoice.user_id == user.id, Invoice.idempotency_key.in_(keys[start:start + 500]))})
    todo = []
    for row in rows:
        inv = known.get(row.key) if row.key is not None else None
        if inv is None:
            todo.append(row)
        elif inv.request_fingerprint and inv.request_fingerprint != row.fingerprint and \
                inv.request_fingerprint != _body_fingerprint(row.fields):  # (hashed only when needed)
            results[row.index] = _refused(row.index, Refused("idempotency_key_reused", str(KEY_REUSED), 409))
        else:
            results[row.index] = {"index": row.index, "number": inv.number, "status": "replayed", "state": inv.state,
                                  "tx_hash": inv.outbox.tx_hash if inv.outbox else None}
    return todo


def _issue_chunk(user, merchant, part, results):
    """Send ``part`` as one issueBatch (fewer when the number range has fewer left: those
    rows are returned to be sent next). The numbers are only looked at while the chunk is
    built and simulated; they are taken in the transaction that journals it (the documents
    rebuilt when another request took them meanwhile), together with the invoice rows, so
    no write lock is held across an RPC and a refusal burns no number. A refused row is
    reported and the rest re-sent. Returns (rows left for the next chunk, the chunk sent
    and not waited for: see ``_finish``)."""
    session = get_db()
    signer = get_signer()
    resyncs = 0
    while part:
        numbers = _peek_numbers(user.address, merchant.tax_id, len(part))
        sending, rest = part[:len(numbers)], part[len(numbers):]
        buyers = [buyer_privacy.new_buyer(r.clean["buyer_tax_id"]) for r in sending]
        built = {}

        def build(nums):
            rows = [_new_invoice(user, merchant, r.clean, n, b, idempotency_key=r.key, fingerprint=r.fingerprint,
                                 make=dict) for r, n, b in zip(sending, nums, buyers)]
            built["invoices"], built["requests"] = [b[0] for b in rows], [b[1] for b in rows]
            return calldata.issue_batch(get_chain().selector(REGISTRY, "issueBatch"), built["requests"])

        def prepare(tx_session):
            taken = numbering.take(tx_session, user.address, len(sending))
            if taken is None:
                raise numbering.NumberGone()
            return build(taken) if taken != numbers else None

        data = build(numbers)
        try:
            result = signer.transact(user.address, REGISTRY, "issueBatch", data=data, gas=gas_bound(data, sending),
                                     ref=f"batch:{numbers[0]}+{len(numbers)}", prepare=prepare,
                                     on_journal=lambda row: _journal(session, row, built["invoices"]), wait=False)
        except numbering.NumberGone:
            continue
        except ChainRefusal as exc:
            session.rollback()  # nothing taken (the numbers are taken only with the journal)
            if exc.name in BATCH_REFUSALS:
                raise refusal_from_chain(exc) from None
            if exc.name == "NumberNotInSellerRange" and resyncs < 2:  # the authority replaced the range
                resyncs += 1
                numbering.sync_from_chain(user.address)
                continue
            found = _first_refused(user.address, built["requests"])
            if found is not None:
                bad, refusal = found
                results[sending[bad].index] = _refused(sending[bad].index, refusal_from_chain(refusal))
                sending = sending[:bad] + sending[bad + 1:]
            part = sending + rest
            continue
        except IntegrityError:  # a concurrent request journaled one of the keys first
            session.rollback()
            part = _replays(user, part, results)
            continue
        return rest, (result, built["invoices"], sending, built["requests"])
    return [], None


def _finish(chunk, results):
    """The receipt of a chunk sent (waited for) into its invoice rows and results."""
    result, invoices, rows, requests = chunk
    session = get_db()
    if result.status == "sent":
        result = get_signer().wait(session.get(OutboxTx, result.outbox_id), session)
    _record(session, invoices, rows, result, results, requests)
    indexer.wake()


def _peek_numbers(address, tax_id, count):
    """The next ``count`` numbers of the merchant's range, not taken: fewer when the range
    has fewer left (the rest go in the next chunk), a new range when none is left
    (numbering.next_number)."""
    first = numbering.peek(address, count)
    if first is None:
        left = (numbering.range_of(address) or {}).get("left", 0)
        if 0 < left < count and numbering.peek(address, left) is not None:
            count = left
        first = numbering.next_number(address, tax_id, count)
    prefix, seq = int(first[:5]), int(first[5:])
    return [numbering.format_number(prefix, s) for s in range(seq, seq + count)]


# Gas of issueBatch: an upper bound from the rows instead of eth_estimateGas (which runs
# the whole batch a dozen times). Measured (tests/backend/test_backend_bulk.py checks the
# bound against gasUsed): ~78k of execution per row with one rate group, ~90k with all
# seven rates and flagged, besides the calldata (counted exactly); margins of ~20-30%.
GAS_BASE = 60_000
GAS_PER_ROW = 95_000
GAS_PER_GROUP = 4_000


def gas_bound(data, rows):
    """An upper bound of the gas of issueBatch(``data``) with ``rows``, at most the block gas limit."""
    groups = sum(len(r.clean["groups"]) for r in rows)
    bound = 21_000 + calldata.gas_of_calldata(data) + GAS_BASE + GAS_PER_ROW * len(rows) + GAS_PER_GROUP * groups
    return min(bound, _block_gas_limit())


_gas_limit = {}


def _block_gas_limit():
    chain = get_chain()
    if chain.chain_id not in _gas_limit:
        _gas_limit[chain.chain_id] = int(chain.w3.eth.get_block("latest")["gasLimit"])
    return _gas_limit[chain.chain_id]


def _journal(session, outbox_row, invoices):
    """Called by the signer with the flushed outbox row: the invoice rows join its DB
    transaction (one multi-row INSERT: ORM objects cost more than the chain's work)."""
    for inv in invoices:
        inv["outbox_id"] = outbox_row.id
    session.connection().execute(insert(Invoice.__table__), invoices)  # Core: no ORM bulk-insert machinery


def _first_refused(sender, requests):
    """(index, ChainRefusal) of the first request the registry refuses (the batch reverts
    with the first failing row's error): bisection on prefixes with eth_call; None when the
    whole batch goes through now."""
    chain = get_chain()
    if chain.refusal_of(sender, REGISTRY, "issueBatch", requests) is None:
        return None
    good, bad, refusal = 0, len(requests), None
    while bad - good > 1:
        mid = (good + bad) // 2
        found = chain.refusal_of(sender, REGISTRY, "issueBatch", requests[:mid])
        if found is None:
            good = mid
        else:
            bad, refusal = mid, found
    if refusal is None:  # only the whole batch was seen failing
        refusal = chain.refusal_of(sender, REGISTRY, "issueBatch", requests[:bad])
    return None if refusal is None else (bad - 1, refusal)


def check_code(key, seller, commitment, net, tax, issued_at):
    """The registry's check code (``checkCodeOf``) computed off chain: keccak of
    abi.encode(key, seller, buyerCommitment, net, tax, uint40 issuedAt) mod 10^20."""
    word = keccak(calldata.fixed_bytes(bytes.fromhex(key[2:]), 32) + calldata.address(seller) +
                  calldata.fixed_bytes(commitment, 20) + calldata.uint(net) + calldata.uint(tax) +
                  calldata.uint(issued_at, 40))
    return f"{int.from_bytes(word, 'big') % 10**20:020d}"


def _record(session, invoices, rows, result, results, requests):
    """The chunk's outcome into its invoice rows (one UPDATE per column set, by number) and results."""
    flags = issued_flags(result.logs) if result.status == "mined" else {}
    refusal = result.refusal or ChainRefusal("Reverted", {}, "The transaction reverted.", REGISTRY)
    changes = []
    for inv, row, req in zip(invoices, rows, requests):
        out = {"index": row.index, "number": inv["number"], "tx_hash": result.tx_hash, "status": "pending"}
        if result.status == "mined" and inv["key"] in flags:
            f = flags[inv["key"]]
            changes.append({"n": inv["number"], "state": "issued", "flags": f, "chain_status": "Flagged" if f else
                            "Issued", "check_code": check_code(inv["key"], req[1], req[2], req[4], req[5], req[8]),
                            "error": None})
            out["status"] = "issued"
        elif result.status == "reverted":
            changes.append({"n": inv["number"], "state": "failed", "flags": 0, "chain_status": None,
                            "check_code": None, "error": refusal.message})
            out = _refused(row.index, refusal_from_chain(refusal)) | {"number": inv["number"]}
        results[row.index] = out
    if changes:
        table = Invoice.__table__
        session.connection().execute(update(table).where(table.c.number == bindparam("n")), changes)
        mail_queue.enqueue_issued(session, Invoice.number, [c["n"] for c in changes if c["state"] == "issued"])
    session.commit()


def _refused(index, exc):
    return {"index": index, "number": None, "status": "refused", "error": exc.code, "message": exc.message,
            "http_status": exc.status}
