"""Receivables (应收账款) in the product: the seller draws one on an invoice, the buyer
accepts or declines it, the holder transfers, splits or pledges it to a bank, the bank
finances or declines, the buyer settles (financier first, on chain), and overdue and
default are marked. Every action is a ReceivableLedger transaction signed with the caller's
key; a refusal carries the ledger's custom-error name and its message in words. Reads and
the answers' shape are in receivable_views."""
from datetime import date, datetime, timedelta

from eth_utils import is_hex_address, to_checksum_address
from flask import current_app
from flask_babel import gettext as _

from ..chain import get_chain, indexer, receivable_index
from ..chain.client import LEDGER
from ..core import buyer_privacy, canonical
from ..core.db import get_db
from ..core.models import User
from ..schemas import receivables as models
from .errors import Refused, ValidationError
from .invoices import held_buyer, owned
from .receivable_views import as_dict, find_visible, visible_row
from .seed import DEMO
from .transactions import signing_address, transact_as
from .validation import validated

TOKEN = "SettlementToken"


def due_timestamp(day: date) -> int:
    """The last second of ``day`` in China time: the debtor pays by the end of its due date."""
    start = datetime(day.year, day.month, day.day, tzinfo=canonical.CHINA) + timedelta(days=1)
    return int(start.timestamp()) - 1


def _after(ids):
    """Bring the rows of ``ids`` up to the chain: the indexer reads the ledger's view of every
    receivable the action's events touched, and the events themselves (the timeline). When it
    cannot run now (the background run holds it, or it failed), the rows are read directly;
    only the timeline lags then."""
    try:
        if not indexer.run_once(blocking=False).get("busy"):
            return
    except Exception as exc:  # noqa: BLE001 - the answer still comes from the rows read below
        current_app.logger.warning("indexer: %s", exc)
    chain, session = get_chain(), get_db()
    receivable_index.store_and_commit(session, receivable_index.read_views(chain, ids), chain.w3.eth.block_number)


def resolve_party(text, field):
    """A username of this platform or a 0x address → checksummed address (400 otherwise)."""
    if is_hex_address(text):
        return to_checksum_address(text)
    user = get_db().query(User).filter_by(username=text).first()
    if user is None or not user.address:
        raise ValidationError({field: _("no user %(name)s with a chain address", name=text)},
                              _("There is no user %(name)s with a chain address.", name=text))
    return user.address


# ------------------------------------------------------------------------ the seller
def create(user, body):
    """The invoice's seller draws a receivable on it; the debtor is the invoice's buyer
    (its ledger account, linked to its tax ID by the authority)."""
    req = validated(models.CreateReceivable, body, current_app.config)
    inv = owned(user, req.invoice_number)
    due_at = due_timestamp(req.due_date)
    if due_at <= int(get_chain().w3.eth.get_block("latest")["timestamp"]):
        raise ValidationError({"due_date": _("must be in the future")}, _("The due date must be in the future."))
    buyer = held_buyer(inv)
    if buyer is None:
        raise Refused("document_not_held", _("The platform does not hold the invoice's complete document with the "
                                             "buyer's salt, so it cannot prove who the buyer is."), 409)
    salt, tag = buyer
    digest = buyer_privacy.buyer_digest(salt, inv.buyer_tax_id)
    result = transact_as(user, LEDGER, "create", bytes.fromhex(inv.key[2:]), req.amount, due_at, digest, tag,
                       ref=inv.number)
    rid = _created_id(result)
    _after({rid})
    return visible_row(user, rid)


def _created_id(result):
    event = get_chain().contract(LEDGER).events.ReceivableCreated()
    for log in result.logs:
        try:
            return str(event.process_log(log)["args"]["id"])
        except Exception:  # noqa: BLE001 - another event of the receipt
            continue
    raise Refused("no_receivable", _("The transaction was recorded on chain but created no receivable."), 502)


# ------------------------------------------------------------------------ every action
def _act(user, rid, function, *args, also=(), before=None):
    """``function(rid, *args)`` on the ledger by ``user`` (after ``before()``, e.g. the token
    allowance); the row (and ``also``) refreshed."""
    row = find_visible(user, rid)
    if before is not None:
        before()
    transact_as(user, LEDGER, function, int(row.id), *args, ref=f"receivable:{row.id}")
    _after({row.id, *also})
    get_db().refresh(row)
    return as_dict(row, user)  # (a financier that declined is no party any more, yet sees what it did)


def accept(user, rid):
    return _act(user, rid, "accept")


def decline(user, rid):
    return _act(user, rid, "decline")


def cancel(user, rid):
    return _act(user, rid, "cancel")


def transfer(user, rid, body):
    req = validated(models.TransferRequest, body)
    return _act(user, rid, "transfer", resolve_party(req.to, "to"))


def split(user, rid, body):
    """The holder splits it; the answer is the parent with its parts' ids in ``children``."""
    req = validated(models.SplitRequest, body)
    row = find_visible(user, rid)
    if sum(req.amounts) != int(row.amount):
        words = _("The parts sum to %(sum)s, not the face value %(face)s.", sum=canonical.yuan(sum(req.amounts)),
                  face=canonical.yuan(int(row.amount)))
        raise ValidationError({"amounts": words}, words)
    chain = get_chain()
    children = {str(chain.call(LEDGER, "childIdOf", int(row.id), part)) for part in range(1, len(req.amounts) + 1)}
    return _act(user, rid, "split", req.amounts, also=children)


def pledge(user, rid, body):
    req = validated(models.PledgeRequest, body)
    return _act(user, rid, "pledge", resolve_party(req.financier, "financier"))


def withdraw_pledge(user, rid):
    return _act(user, rid, "withdrawPledge")


def decline_pledge(user, rid):
    return _act(user, rid, "declinePledge")


def finance(user, rid, body):
    """The offered financier pays ``advance`` to the holder (approving the ledger for it first)."""
    req = validated(models.FinanceRequest, body)
    return _act(user, rid, "finance", req.advance, req.fee, before=lambda: _ensure_allowance(user, req.advance))


def release(user, rid):
    return _act(user, rid, "release")


def settle(user, rid, body):
    """The debtor pays: the ledger sends the financier its due first, the rest to the holder."""
    req = validated(models.SettleRequest, body)
    return _act(user, rid, "settle", req.amount, before=lambda: _ensure_allowance(user, req.amount))


def mark_overdue(user, rid):
    return _act(user, rid, "markOverdue")


def mark_defaulted(user, rid):
    return _act(user, rid, "markDefaulted")


# ------------------------------------------------------------------------ the token
def _ensure_allowance(user, amount):
    """Enough settlement token, and the ledger allowed to move ``amount`` of it."""
    chain, address = get_chain(), signing_address(user)
    have = int(chain.call(TOKEN, "balanceOf", address))
    if have < amount:
        raise Refused("InsufficientBalance", _("The settlement-token balance %(balance)s is less than %(amount)s.",
                                               balance=canonical.yuan(have), amount=canonical.yuan(amount)), 409)
    ledger = chain.contract(LEDGER).address
    if int(chain.call(TOKEN, "allowance", address, ledger)) < amount:
        transact_as(user, TOKEN, "approve", ledger, amount, ref="allowance")


def balance(user):
    chain, address = get_chain(), signing_address(user)
    return {"address": address, "balance": int(chain.call(TOKEN, "balanceOf", address)),
            "token": chain.contract(TOKEN).address, "symbol": chain.call(TOKEN, "symbol")}


def faucet_allowed(user):
    """The faucet is for the demo accounts, in dev mode."""
    return bool(current_app.config.get("DEV_MODE")) and user.username in {d[0] for d in DEMO}


def faucet(user, body):
    """Dev mode: the authority's dev key mints settlement token to a demo account."""
    req = validated(models.FaucetRequest, body)
    if not faucet_allowed(user):
        raise Refused("faucet_dev_only", _("Only the demo accounts can get demo tokens, and only in dev mode."), 403)
    authority = get_db().query(User).filter_by(username="authority").first()
    transact_as(authority, TOKEN, "mint", user.address, req.amount, ref="faucet")
    return balance(user)
