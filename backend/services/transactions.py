"""A user's transaction through the signer, the chain's refusal (found before sending, or a
revert) turned into Refused with the custom error's name and message: how the merchant,
authority and receivable services act on chain."""
from flask_babel import gettext as _

from ..chain import get_signer
from ..chain.errors import ChainRefusal
from .errors import Refused, refusal_from_chain


def signing_address(user):
    """``user``'s chain address (403 ``no_signing_key`` when it has none)."""
    if not user.address:
        raise Refused("no_signing_key", _("This account has no chain address to sign with."), 403)
    return user.address


def transact_as(user, contract, function, *args, ref=None):
    """``contract.function(*args)`` signed with ``user``'s key; the signer's TxResult."""
    try:
        result = get_signer().transact(signing_address(user), contract, function, *args, ref=ref)
    except ChainRefusal as exc:
        raise refusal_from_chain(exc) from None
    if result.status == "reverted":
        r = result.refusal
        raise Refused(r.name if r else "Reverted", r.message if r else _("The transaction was reverted on chain."), 409)
    return result
