"""Chain errors: the exception types, the contracts' custom errors decoded into a name, its
arguments and a human message in the current language (backend.chain.error_messages), and
which of them are conflicts or refusals of permission."""
from datetime import datetime

import requests
from eth_utils import keccak

from flask_babel import gettext, pgettext

from ..core.canonical import CHINA, yuan
from ..core.i18n import current_language
from .error_messages import ARG_FORMATS, MESSAGES  # noqa: F401 - MESSAGES: part of this module's interface


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
        self.message = message or human_message(name, self.args_)
        super().__init__(self.message)

    def to_dict(self):
        return {"error": self.name, "message": self.message, "args": jsonable(self.args_)}


# The statuses' names as the API and the contracts name them (in words: status_words)
INVOICE_STATUS = ["None", "Issued", "Flagged", "Cleared", "Rejected", "Voided", "RedLettered"]
MERCHANT_STATUS = ["None", "Pending", "Approved", "Suspended", "Rejected"]
RECEIVABLE_STATUS = ["None", "Created", "Accepted", "Pledged", "Split", "Settled", "Cancelled", "Declined", "Held",
                     "Offered", "Overdue", "Defaulted"]
ROLE_NAMES = ["AUTHORITY_ROLE", "AUDITOR_ROLE", "LEDGER_ROLE", "FINANCIER_ROLE"]
# Refusals that mean "the state does not allow it" → HTTP 409; "not yours to do" → 403; the rest → 422.
CONFLICT_ERRORS = {
    "InvoiceAlreadyRegistered", "MerchantAlreadyRegistered", "TaxIdAlreadyRegistered",
    "InvalidMerchantStatus", "InvalidInvoiceStatus", "InvoiceHasReceivable", "VoidWindowClosed",
    "InvoiceHasRedLetterNotes", "RedLetterExceedsOpenAmount", "OpenAmountBelowReceivables", "EnforcedPause",
    "IsRedLetterNote", "DocumentAlreadyRegistered", "ExpectedPause", "NumberNotInSellerRange",
    "AccessControlEnforcedDefaultAdminRules", "AccessControlEnforcedDefaultAdminDelay",
    "ReceivableLocked", "ReceivableClosed", "ReceivableOnHold", "ReceivableNotHeld", "ReceivableNotAccepted",
    "ReceivableAlreadyAccepted", "ReceivableNotPledged", "BuyerAlreadyRegistered", "HolderSuspended",
    "CreditorNotActive", "InvoiceNotEligible", "ExceedsInvoiceAvailable", "DrawExceedsAvailable",
    "NoPledgeOffer", "AlreadyFinanced", "PledgeOfferPending", "MaturityNotReached", "ReceivableNotOverdue",
    "ReceivableMatured", "AlreadyClaimed", "InvoiceNotClaimable", "RedLetterNoteNotClaimable",
    "PaymentListAlreadyRegistered", "PaymentListAlreadyPaid",
}
FORBIDDEN_ERRORS = {
    "NotMerchantOrOperator", "AccessControlUnauthorizedAccount", "AccessControlBadConfirmation",
    "AccessControlInvalidDefaultAdmin", "NotHolder", "NotDebtor", "NotPledgee", "NotFinancier", "NotInvoiceSeller",
    "NotInvoiceBuyer", "NotBuyerAccount", "NotPaymentListPayer",
}


def jsonable(value):
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value


def _role_name(value):
    """A role id → its constant's name (DEFAULT_ADMIN_ROLE …), else None."""
    raw = bytes(value) if isinstance(value, (bytes, bytearray)) else None
    if raw == bytes(32):
        return "DEFAULT_ADMIN_ROLE"
    for name in ROLE_NAMES:
        if raw == keccak(text=name):
            return name
    return None


def role_words(value):
    """A role in words ("the auditor role" / "审计员角色"), never its constant's name."""
    words = {
        "DEFAULT_ADMIN_ROLE": pgettext("role", "the default admin role"),
        "AUTHORITY_ROLE": pgettext("role", "the tax authority role"),
        "AUDITOR_ROLE": pgettext("role", "the auditor role"),
        "LEDGER_ROLE": pgettext("role", "the receivables ledger role"),
        "FINANCIER_ROLE": pgettext("role", "the financier role"),
    }
    name = _role_name(value)
    return words[name] if name else gettext("an unknown role (%(role)s)", role=jsonable(value))


def status_words(kind, value):
    """A merchant (``mstatus``), invoice (``istatus``) or receivable (``rstatus``) status
    number in words, in the current language; None for a number out of range."""
    if kind == "mstatus":
        words = [pgettext("merchant status", "not registered"), pgettext("merchant status", "pending approval"),
                 pgettext("merchant status", "approved"), pgettext("merchant status", "suspended"),
                 pgettext("merchant status", "rejected")]
    elif kind == "istatus":
        words = [pgettext("invoice status", "none"), pgettext("invoice status", "issued"),
                 pgettext("invoice status", "flagged for review"), pgettext("invoice status", "cleared"),
                 pgettext("invoice status", "rejected"), pgettext("invoice status", "voided"),
                 pgettext("invoice status", "fully red-lettered")]
    else:
        words = [pgettext("receivable status", "none"), pgettext("receivable status", "awaiting acceptance"),
                 pgettext("receivable status", "accepted"), pgettext("receivable status", "pledged"),
                 pgettext("receivable status", "split"), pgettext("receivable status", "settled"),
                 pgettext("receivable status", "cancelled"), pgettext("receivable status", "declined"),
                 pgettext("receivable status", "on hold"), pgettext("receivable status", "offered for financing"),
                 pgettext("receivable status", "overdue"), pgettext("receivable status", "defaulted")]
    return words[value] if 0 <= value < len(words) else None


def china_time_words(seconds):
    """Unix seconds → "2026-01-31 10:00 China time (UTC+8)" in the current language."""
    try:
        text = datetime.fromtimestamp(seconds, CHINA).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):
        return str(seconds)
    return gettext("%(time)s China time (UTC+8)", time=text)


def _shown(value, kind):
    """An error argument as a person reads it (``kind``: its ARG_FORMATS entry)."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "yuan" and is_int:
        return yuan(value)
    if kind in ("mstatus", "istatus", "rstatus") and is_int:
        words = status_words(kind, value)
        if words is not None:
            return words
    if kind == "mask" and is_int:
        joiner = "、" if current_language() == "zh" else ", "
        return joiner.join(f"{r}%" for r in range(value.bit_length()) if value >> r & 1) or "—"
    if kind == "role":
        return role_words(value)
    if kind == "time" and is_int:
        return china_time_words(value)
    return str(jsonable(value))


class _Values(dict):
    """A message's arguments; one the message names but the error lacks shows as "?"."""

    def __missing__(self, key):
        return "?"


def human_message(name, args):
    """The error's message in the current language (outside a request: Chinese) with its
    arguments shown in words; an error without a message gets a general sentence (its name
    is only in the API's ``error`` code)."""
    template = MESSAGES.get(name)
    if template is None:
        return gettext("The blockchain refused this action.")
    formats = ARG_FORMATS.get(name, {})
    values = _Values({k: _shown(v, formats.get(k)) for k, v in args.items()})
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        return gettext("The blockchain refused this action.")


def is_connection_error(exc):
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError)):
        return True
    text = str(exc)
    return "Connection refused" in text or "Max retries exceeded" in text


