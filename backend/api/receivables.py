"""/api/v1/receivables: create one from an invoice, the parties' actions on it, one with its
lineage and timeline, lists by the caller's part; /balances (and the dev faucet); /me."""
from flask import g, jsonify

from ..schemas import receivables as models
from ..services import merchants, receivable_views, receivables
from . import bp
from .inputs import api_auth, body_json, query
from .openapi import operation

ACTION_ERRORS = (400, 401, 403, 404, 409, 422, 503)


@bp.get("/me")
@operation("me", ok={200: models.Me}, errors=(401,))
@api_auth()
def me():
    """Who the token is: username, role, chain address, tax ID (a merchant's or a buyer's); a merchant's limits

    For a merchant, `invoice_cap` (the most one invoice may be) and `monthly_quota` (the
    gross it may issue in a month before its invoices are flagged), in fen, as the chain's
    MerchantRegistry holds them now (0 while not approved; null when the chain cannot be
    read). Other roles: no such fields.
    """
    user = g.api_user
    tax_id = user.merchant.tax_id if user.merchant is not None else user.buyer_tax_id
    out = {"username": user.username, "role": user.role, "address": user.address, "tax_id": tax_id}
    if user.role == "merchant":
        limits = merchants.limits_of(user.address) if user.address else None
        out.update(limits or {"invoice_cap": None, "monthly_quota": None})
    return jsonify(out)


@bp.post("/receivables")
@operation("createReceivable", json=models.CreateReceivable, ok={201: models.ReceivableOut}, errors=ACTION_ERRORS,
           extra={"requestBody": {"content": {"application/json": {"example": {
               "invoice_number": "26351000000000000001", "amount": 1413000, "due_date": "2027-03-31"}}}}})
@api_auth("merchant")
def create_receivable():
    """Draw a receivable on an invoice, payable by its buyer (role: merchant, the invoice's seller)

    The amount is at most the invoice's available amount (gross minus red-letter notes and
    receivables already drawn); the debtor is the buyer's ledger account, which the authority
    linked to the buyer's tax ID. Status `created` until the debtor accepts.
    """
    return jsonify(receivables.create(g.api_user, body_json())), 201


@bp.get("/receivables")
@operation("listReceivables", query=models.ReceivableQuery, ok={200: models.ReceivableList}, errors=(400, 401))
@api_auth()
def list_receivables():
    """The caller's receivables (role=holder|debtor|financier|creditor; every one for authority and auditors)"""
    args = query(models.ReceivableQuery)
    return jsonify({"receivables": receivable_views.listing(g.api_user, args.role, args.status)})


@bp.get("/receivables/<rid:rid>")
@operation("getReceivable", ok={200: models.ReceivableOut}, errors=(401, 403, 404))
@api_auth()
def get_receivable(rid):
    """One receivable: state, parties, terms, parent and parts, timeline, the caller's possible actions"""
    return jsonify(receivable_views.visible_row(g.api_user, rid))


def _action(name, function, *, json=None, doc):
    """``POST /receivables/<rid>/<name>``: ``function(user, rid[, body])``."""
    def view(rid):
        if json is None:
            return jsonify(function(g.api_user, rid))
        return jsonify(function(g.api_user, rid, body_json()))

    view.__name__ = view.__qualname__ = "receivable_" + name.replace("-", "_")
    view.__doc__ = doc
    op_id = "".join(w.capitalize() for w in name.split("-"))
    view = api_auth()(view)
    view = operation(f"receivable{op_id}", json=json, ok={200: models.ReceivableOut}, errors=ACTION_ERRORS)(view)
    bp.post(f"/receivables/<rid:rid>/{name}")(view)


_action("accept", receivables.accept, doc="Accept the debt (the debtor)")
_action("decline", receivables.decline, doc="Refuse the receivable (the debtor)")
_action("cancel", receivables.cancel, doc="Withdraw it before the debtor accepts (the holder)")
_action("transfer", receivables.transfer, json=models.TransferRequest,
        doc="Transfer it whole to another party: a username or a 0x address (the holder)")
_action("split", receivables.split, json=models.SplitRequest,
        doc="Split it into 2-10 parts summing to its face value; the parts' ids are in `children` (the holder)")
_action("pledge", receivables.pledge, json=models.PledgeRequest,
        doc="Offer it as a pledge to a financier, who finances or declines (the holder)")
_action("withdraw-pledge", receivables.withdraw_pledge, doc="Withdraw a pledge offer not yet answered (the holder)")
_action("finance", receivables.finance, json=models.FinanceRequest,
        doc="Accept the pledge: pay `advance` to the holder, owed advance + fee first out of the debtor's "
            "payments (the offered financier)")
_action("decline-pledge", receivables.decline_pledge, doc="Decline the pledge offer (the offered financier)")
_action("release", receivables.release, doc="Lift the pledge (the financier)")
_action("settle", receivables.settle, json=models.SettleRequest,
        doc="Pay `amount`: the financier is repaid first, the rest goes to the holder (the debtor)")
_action("mark-overdue", receivables.mark_overdue,
        doc="Mark it overdue once past its due date and the grace period (the holder, or the financier)")
_action("mark-defaulted", receivables.mark_defaulted,
        doc="Declare an overdue receivable in default (the authority; holder or financier after the default period)")


@bp.get("/balances")
@operation("balances", ok={200: models.Balance}, errors=(401, 403, 503))
@api_auth()
def balances():
    """The caller's settlement-token balance in fen"""
    return jsonify(receivables.balance(g.api_user))


@bp.post("/balances/faucet")
@operation("faucet", json=models.FaucetRequest, body_required=False, ok={200: models.Balance},
           errors=(400, 401, 403, 503))
@api_auth()
def faucet():
    """Dev mode, demo accounts only: mint settlement token to the caller (default ¥1,000,000)"""
    return jsonify(receivables.faucet(g.api_user, body_json(required=False)))
