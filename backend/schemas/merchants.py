"""Merchant and authority requests and answers: registration, the authority's decisions
(limits, a reason, a number range), audit parameters, users and their on-chain roles."""
import re
from typing import Annotated, Literal

from flask_babel import gettext as _
from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from .common import Answer, Model, Upper, integer, strip, text

USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_CHAR = "[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]"
DEFAULT_LIMITS = {"invoice_cap": 10_000_000_00, "monthly_quota": 50_000_000_00, "hourly_norm": 50}


def uscc_check_char(first17):
    """The 18th character of a Unified Social Credit Code (GB 32100-2015)."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARS[(31 - total % 31) % 31]


def valid_uscc(code):
    """The same check as MerchantRegistry.parseTaxId: alphabet, digits 3-8, check character."""
    return bool(USCC_RE.match(code)) and code[2:8].isdigit() and uscc_check_char(code[:17]) == code[17]


def _uscc(code):
    if not valid_uscc(code):
        raise PydanticCustomError("uscc", _("is not a valid Unified Social Credit Code (its check character is wrong)"))
    return code


class Registration(Model):
    """A merchant's application: name, tax ID (USCC, its check character right), licence."""
    name: text(100)
    tax_id: Annotated[str, Field(min_length=18, max_length=18, pattern=f"^{USCC_CHAR}{{2}}[0-9]{{6}}{USCC_CHAR}{{10}}$",
                                 description="Unified Social Credit Code; its check character (the 18th) must be "
                                             "right, else 400"), BeforeValidator(strip), Upper, AfterValidator(_uscc)]
    licence_number: text(64)


class Limits(Model):
    """MerchantLimits v2 (uint48 cap, uint64 quota, uint32 norm); defaults when left out;
    monthly_quota at least invoice_cap."""
    invoice_cap: integer(1, 2**48 - 1, "fen per invoice") = DEFAULT_LIMITS["invoice_cap"]
    monthly_quota: integer(1, 2**64 - 1, "fen per month") = DEFAULT_LIMITS["monthly_quota"]
    hourly_norm: integer(1, 2**32 - 1, "invoices per hour") = DEFAULT_LIMITS["hourly_norm"]

    @field_validator("monthly_quota")
    @classmethod
    def _quota_covers_cap(cls, quota, info: ValidationInfo):
        if quota < info.data.get("invoice_cap", 0):
            raise PydanticCustomError("limits", _("must be at least the invoice cap"))
        return quota

    def as_tuple(self):
        return (self.invoice_cap, self.monthly_quota, self.hourly_norm)


class Reason(Model):
    reason: text(200)


class NumberRangeRequest(Model):
    count: integer(1, 10**12, "numbers in the range (default NUMBER_RANGE_SIZE)") | None = None


class AuditParametersUpdate(Model):
    """Only what is sent changes."""
    allowed_rates: Annotated[list[integer(0, 23)] | None, Field(None, min_length=1, description="whole percents")]
    backdating_window: integer(1, 2**32 - 1, "seconds") | None = None
    future_skew: integer(0, 2**32 - 1, "seconds") | None = None
    per_item_tolerance: integer(0, 65535, "fen") | None = None
    void_window: integer(0, 2**32 - 1, "seconds") | None = None
    paused: StrictBool | None = None


class AuditParameters(Answer):
    allowed_rates: list[int]
    backdating_window: int
    future_skew: int
    per_item_tolerance: int
    void_window: int
    paused: bool


class Merchant(Answer):
    id: int
    name: str
    tax_id: str
    licence_number: str | None
    status: str
    note: str | None
    address: str | None
    username: str
    number_range: dict | None
    tx_hash: str | None = None


class MerchantList(Answer):
    merchants: list[Merchant]


class ChainRole(Answer):
    contract: str
    role: str
    held: bool


class User(Answer):
    id: int
    username: str
    role: str
    address: str | None = None
    active: bool | None = None
    chain_role: ChainRole | None


class UserRole(Answer):
    id: int
    username: str
    chain_role: ChainRole


class UserList(Answer):
    users: list[User]


class NewUser(Model):
    """A user the authority creates (self-service onboarding): company roles (buyer, employee,
    approver) need their company's tax ID."""
    username: Annotated[str, Field(min_length=3, max_length=32, pattern="^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$"),
                        BeforeValidator(strip)]
    role: Literal["authority", "merchant", "auditor", "financier", "buyer", "employee", "approver"]
    email: text(254, required=False) | None = None
    company_tax_id: text(18, required=False) | None = None


class NewUserCreated(User):
    password: str = Field(description="the first password, shown once")
    role_problem: str | None = Field(None, description="why the on-chain role could not be granted (grant it later)")
