"""Merchant registration (on chain from the merchant's own address) and the
authority's decisions (approve with limits, seller tag and a first number range /
reject / suspend / reinstate / limits / a new number range), audit parameters."""
from eth_utils import keccak
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..chain import get_chain
from ..chain.client import MERCHANTS, REGISTRY
from ..chain.errors import MERCHANT_STATUS, ChainRefusal
from ..core import buyer_privacy
from ..core.db import get_db
from ..core.models import Merchant
from ..schemas.merchants import AuditParametersUpdate, Limits, NumberRangeRequest, Reason, Registration
from . import numbering
from .errors import Refused, refusal_from_chain
from .transactions import transact_as
from .validation import validated

ACTIONS = ("approve", "reject", "suspend", "reinstate", "limits", "numbers")
STATUS_WORDS = {"pending": _l("Pending approval"), "approved": _l("Approved"), "rejected": _l("Application rejected"),
                "suspended": _l("Suspended")}  # a merchant's status in words (lazy: the page's language)


def register(user, body):
    """A merchant's registration request: name, tax ID (USCC), licence number."""
    if user.role != "merchant":
        raise Refused("forbidden", _("Only merchant accounts register as merchants."), 403)
    if user.merchant is not None and user.merchant.status != "rejected":
        raise Refused("MerchantAlreadyRegistered", _("This account already has a registration."), 409)
    req = validated(Registration, body)
    name, tax_id, licence = req.name, req.tax_id, req.licence_number
    owner = get_db().query(Merchant).filter(Merchant.tax_id == tax_id, Merchant.user_id != user.id,
                                            Merchant.status.in_(("approved", "suspended"))).first()
    if owner is not None:  # pending applications reserve nothing (the chain's rule)
        raise Refused("TaxIdAlreadyRegistered", _("This tax ID belongs to another approved merchant."), 409)
    result = transact_as(user, MERCHANTS, "applyAsMerchant", name, tax_id, keccak(text=licence), ref=tax_id)
    m = user.merchant or Merchant(user_id=user.id)
    m.name, m.tax_id, m.licence_number, m.status, m.note = name, tax_id, licence, "pending", None
    get_db().add(m)
    get_db().commit()
    return m, result


def _limits(body):
    return validated(Limits, body).as_tuple()


def _count(body):
    return validated(NumberRangeRequest, body).count or current_app.config["NUMBER_RANGE_SIZE"]


def open_number_range(authority_address, m, count=None):
    """Allocate the merchant a fresh number range on chain (prefix YY + its USCC province +
    channel 1) and record it. Returns (the stored range, TxResult)."""
    try:
        return numbering.allocate_range(authority_address, m.user.address, m.tax_id, count)
    except ChainRefusal as exc:
        raise refusal_from_chain(exc) from None


def decide(user, merchant_id, action, body=None):
    """approve / reject / suspend / reinstate / limits / numbers, by the authority.

    approve = MerchantRegistry.approve(account, limits, sellerTag) then
    InvoiceRegistry.allocateNumberRange(account, prefix, NUMBER_RANGE_SIZE); numbers = a
    fresh range (``{"count"?}``), replacing the merchant's current one."""
    if user.role != "authority":
        raise Refused("forbidden", _("Only the authority decides on merchants."), 403)
    m = get_db().get(Merchant, merchant_id) if isinstance(merchant_id, int) and 0 <= merchant_id < 2**31 else None
    if m is None:
        raise Refused("not_found", _("No such merchant."), 404)
    account = m.user.address
    body = {} if body is None else body
    if action in ("reject", "suspend"):
        reason = validated(Reason, body).reason
    if action == "approve":
        limits = _limits(body)
        result = transact_as(user, MERCHANTS, "approve", account, limits,
                           buyer_privacy.seller_tag(m.tax_id, account), ref=m.tax_id)
        m.status = "approved"
        get_db().commit()
        try:
            open_number_range(user.address, m)
        except (Refused, ChainRefusal) as exc:  # approved all the same: the range comes at the first invoice
            current_app.logger.warning("number range for %s not allocated: %s", m.tax_id, exc)
    elif action == "numbers":
        if m.status != "approved":
            raise Refused("InvalidMerchantStatus",
                          _("Only approved merchants get number ranges (this one: %(status)s).",
                            status=STATUS_WORDS.get(m.status, m.status)), 409)
        count = _count(body)
        if not user.address:
            raise Refused("no_signing_key", _("This account has no chain address to sign with."), 403)
        _range, result = open_number_range(user.address, m, count)
    elif action == "limits":
        result = transact_as(user, MERCHANTS, "setLimits", account, _limits(body), ref=m.tax_id)
    elif action == "reject":
        result = transact_as(user, MERCHANTS, "reject", account, reason, ref=m.tax_id)
        m.status, m.note = "rejected", reason
    elif action == "suspend":
        result = transact_as(user, MERCHANTS, "suspend", account, reason, ref=m.tax_id)
        m.status, m.note = "suspended", reason
    elif action == "reinstate":
        result = transact_as(user, MERCHANTS, "reinstate", account, ref=m.tax_id)
        m.status, m.note = "approved", None
    else:
        raise Refused("not_found", _("Unknown action."), 404)
    get_db().commit()
    return m, result


def chain_profile(m):
    """The merchant as the chain sees it: status, limits, number range."""
    try:
        chain = get_chain()
        data = chain.call_named(MERCHANTS, "merchant", m.user.address)
        first, last = chain.call(REGISTRY, "numberRangeOf", m.user.address)
    except Exception:  # noqa: BLE001 - shown as unknown
        return None
    limits = data.get("limits")
    return {"status": MERCHANT_STATUS[data["status"]],
            "invoice_cap": limits[0] if limits else None, "monthly_quota": limits[1] if limits else None,
            "hourly_norm": limits[2] if limits else None,
            "number_range": {"first": f"{first:020d}", "last": f"{last:020d}"} if first else None}


def limits_of(address):
    """{"invoice_cap", "monthly_quota"} (fen) of ``address`` on the MerchantRegistry (zero
    while it is not approved); None when the chain cannot be read."""
    try:
        limits = get_chain().call_named(MERCHANTS, "merchant", address).get("limits")
    except Exception:  # noqa: BLE001 - unknown: the caller says so
        return None
    return {"invoice_cap": int(limits[0]), "monthly_quota": int(limits[1])} if limits else None


def as_dict(m):
    return {"id": m.id, "name": m.name, "tax_id": m.tax_id, "licence_number": m.licence_number,
            "status": m.status, "note": m.note, "address": m.user.address, "username": m.user.username,
            "number_range": numbering.range_of(m.user.address) if m.user.address else None}


# ---------------------------------------------------------------- audit parameters


def audit_parameters():
    data = get_chain().call_named(REGISTRY, "auditParameters")
    mask = int(data["allowedRates"])
    return {"allowed_rates": [r for r in range(24) if mask >> r & 1], "backdating_window": data["backdatingWindow"],
            "future_skew": data["futureSkew"], "per_item_tolerance": data["perItemTolerance"],
            "void_window": data["voidWindow"], "paused": data["paused"]}


def set_audit_parameters(user, body):
    if user.role != "authority":
        raise Refused("forbidden", _("Only the authority sets audit parameters."), 403)
    req = validated(AuditParametersUpdate, body)
    current = audit_parameters()
    calls = []
    if req.allowed_rates is not None and sorted(set(req.allowed_rates)) != current["allowed_rates"]:
        calls.append(("setAllowedRates", sum(1 << r for r in set(req.allowed_rates))))
    window = (req.backdating_window if req.backdating_window is not None else current["backdating_window"],
              req.future_skew if req.future_skew is not None else current["future_skew"])
    if window != (current["backdating_window"], current["future_skew"]):
        calls.append(("setIssueTimeWindow", *window))
    if req.per_item_tolerance is not None and req.per_item_tolerance != current["per_item_tolerance"]:
        calls.append(("setRoundingTolerance", req.per_item_tolerance))
    if req.void_window is not None and req.void_window != current["void_window"]:
        calls.append(("setVoidWindow", req.void_window))
    if req.paused is not None and req.paused != current["paused"]:
        calls.append(("pause",) if req.paused else ("unpause",))
    for fn, *args in calls:
        transact_as(user, REGISTRY, fn, *args, ref="audit-parameters")
    return audit_parameters()


# ---------------------------------------------------------------- on-chain roles of users
CHAIN_ROLES = {"auditor": ("InvoiceRegistry", "AUDITOR_ROLE"), "financier": ("ReceivableLedger", "FINANCIER_ROLE")}
# the contracts and roles in words (the API keeps their names)
CONTRACT_WORDS = {"InvoiceRegistry": _l("the invoice registry"), "ReceivableLedger": _l("the receivable ledger")}
ROLE_WORDS = {"AUDITOR_ROLE": _l("the auditor role"), "FINANCIER_ROLE": _l("the financier role")}


BUYER_LINK = "BUYER_ACCOUNT"  # what a buyer needs on the ledger: its account linked to its tax ID's tag


def buyer_linked(user):
    """Whether the ledger names ``user``'s account for the buyer tag of its tax ID (receivables
    on invoices to that tax ID then name it debtor)."""
    tag = buyer_privacy.buyer_tag(user.buyer_tax_id)
    return get_chain().call("ReceivableLedger", "buyerAccountOf", tag).lower() == user.address.lower()


def link_buyer(authority, user):
    """The authority confirms that a buyer account speaks for its tax ID: registerBuyer on the ledger."""
    if not (user.role == "buyer" and user.buyer_tax_id and user.address):
        raise Refused("not_a_buyer", _("This user is not a buyer with a tax ID and a chain address."), 409)
    if not buyer_linked(user):
        transact_as(authority, "ReceivableLedger", "registerBuyer", buyer_privacy.buyer_tag(user.buyer_tax_id),
                  user.address, ref=user.buyer_tax_id)


def chain_role_of(user):
    """(contract, role name, held?) for users whose web role needs an on-chain role (a
    buyer: its account linked to its tax ID on the ledger)."""
    if user.role == "buyer" and user.buyer_tax_id and user.address and \
            get_chain().has_function("ReceivableLedger", "buyerAccountOf"):
        return "ReceivableLedger", f"{BUYER_LINK} {user.buyer_tax_id}", buyer_linked(user)
    spec = CHAIN_ROLES.get(user.role)
    if spec is None or not user.address:
        return None
    contract, role_name = spec
    chain = get_chain()
    if not chain.has_function(contract, role_name):
        return None
    role = chain.call(contract, role_name)
    return contract, role_name, bool(chain.call(contract, "hasRole", role, user.address))


def chain_role_words(info):
    """``chain_role_of``'s (contract, role name, held?) in words: "the auditor role on the invoice registry"."""
    contract, role_name, _held = info
    if role_name.startswith(BUYER_LINK):
        role = _("the buyer account linked to tax ID %(tax_id)s", tax_id=role_name[len(BUYER_LINK):].strip())
    else:
        role = ROLE_WORDS.get(role_name, role_name)
    return _("%(role)s on %(contract)s", role=role, contract=CONTRACT_WORDS.get(contract, contract))


def set_chain_role(authority, user, grant):
    """The authority grants (or revokes) the on-chain role a user's web role needs."""
    if authority.role != "authority":
        raise Refused("forbidden", _("Only the authority grants roles."), 403)
    info = chain_role_of(user)
    if info is None:
        raise Refused("no_chain_role", _("This user's role needs no on-chain role (or the user has no chain "
                                         "address)."), 409)
    contract, role_name, held = info
    if role_name.startswith(BUYER_LINK):
        if not grant:
            raise Refused("buyer_link_permanent", _("A buyer's link cannot be revoked on the ledger (its receivables "
                                                    "can be held)."), 409)
        link_buyer(authority, user)
        return chain_role_of(user)
    if held != grant:
        role = get_chain().call(contract, role_name)
        transact_as(authority, contract, "grantRole" if grant else "revokeRole", role, user.address, ref=role_name)
    return chain_role_of(user)
