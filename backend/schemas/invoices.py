"""Invoice requests and answers: line items, an invoice to issue, a red-letter note, a
review decision, the list query; the issue result, the invoice and its detail."""
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import AfterValidator, BeforeValidator, Field, StrictInt, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from ..core.canonical import yuan
from .common import (
    PAGE_MAX,
    QUERY_TEXT,
    Answer,
    InvoiceNumber,
    Model,
    PastDate,
    Query,
    integer,
    limit_from,
    optional_text,
    setting,
    strip,
    text,
)
from .tax_ids import TaxpayerId

VAT_RATES = (0, 1, 3, 5, 6, 9, 13)
# an e-mail address as HTML's <input type=email> accepts it, with a dot in the domain (ASCII only)
EMAIL = (r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
         r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def _blank_none(value):
    """A stripped text; "" (a form's empty field) counts as not given."""
    value = strip(value)
    return None if value == "" else value


# "" is as if not given (a form's empty field), so the document allows it too
EMAIL_OR_EMPTY = "^$|" + EMAIL
Email = Annotated[Annotated[str, Field(max_length=254, pattern=EMAIL_OR_EMPTY)] | None, BeforeValidator(_blank_none),
                  Field(None, description="the buyer's e-mail address: once the invoice is issued on chain, its PDF and "
                                    "JSON document are e-mailed there (not part of the document or its hash)")]
QTY_RE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,6})?$")
# A positive decimal: at most 12 digits before the point and 6 after, not zero.
QUANTITY_TEXT = ("^([1-9][0-9]{0,11}(\\.[0-9]{1,6})?|0\\.([1-9][0-9]{0,5}|0[1-9][0-9]{0,4}|00[1-9][0-9]{0,3}|"
                 "000[1-9][0-9]{0,2}|0000[1-9][0-9]?|00000[1-9]))$")
QUERY_DATE = "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"  # a date filter: YYYY-MM-DD, or empty (= not given)


def _quantity(value):
    """A positive integer, or a decimal (string or JSON number) with at most 6 places →
    an int, or the normalised decimal string."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0 or value > 10**12:
            raise PydanticCustomError("quantity", _("must be from 1 to 1,000,000,000,000"))
        return value
    if isinstance(value, (str, Decimal)):
        text_ = str(value).strip()
        if not QTY_RE.match(text_):
            raise PydanticCustomError("quantity", _("must be a positive number with at most 6 decimal places"))
        d = Decimal(text_)
        if d <= 0:
            raise PydanticCustomError("quantity", _("must be more than zero"))
        return int(d) if d == d.to_integral_value() else format(d.normalize(), "f")
    raise PydanticCustomError("quantity", _("must be a number"))


Quantity = Annotated[Any, BeforeValidator(_quantity), WithJsonSchema({
    "anyOf": [{"type": "integer", "minimum": 1, "maximum": 10**12},
              {"type": "string", "maxLength": 19, "pattern": QUANTITY_TEXT}],
    "default": 1, "description": "a positive integer, or a decimal with at most 12 digits before the point and 6 "
                                 "after"})]


def _vat_rate(value):
    if value not in VAT_RATES:
        raise PydanticCustomError("tax_rate", _("must be one of %(rates)s", rates=", ".join(f"{r}%" for r in VAT_RATES)))
    return value


TaxRate = Annotated[StrictInt, AfterValidator(_vat_rate), WithJsonSchema({"type": "integer", "enum": list(VAT_RATES),
                                                                          "description": "whole percent"})]


def _at_most_setting(name):
    def check(value, info: ValidationInfo):
        limit = setting(name, info.context)
        if value is not None and value > limit:
            raise PydanticCustomError("setting", _("must be at most %(limit)s", limit=yuan(limit)))
        return value
    return AfterValidator(check)


Fen = Annotated[StrictInt, Field(ge=1, json_schema_extra=limit_from("maximum", "INVOICE_MAX_AMOUNT")),
                _at_most_setting("INVOICE_MAX_AMOUNT")]


class Item(Model):
    """A line: amount = quantity × unit price (rounded half up, ±1 fen; computed when left
    out), tax = amount × rate (rounded half up; computed when left out)."""
    name: text(100)
    spec: optional_text(40)
    unit: optional_text(20)
    tax_code: Annotated[str | None, Field(None, max_length=19, pattern="^[0-9]*$"), BeforeValidator(strip)]
    quantity: Quantity = 1
    unit_price: Annotated[Fen, Field(description="fen")]
    amount: Annotated[Fen | None, Field(None, description="fen; quantity × unit_price (±1), computed when left out")]
    tax_rate: TaxRate
    tax: StrictInt | None = Field(None, description="amount × rate rounded half up; computed when left out")


def _items_within_setting(items, info: ValidationInfo):
    limit = setting("INVOICE_MAX_ITEMS", info.context)
    if len(items) > limit:
        raise PydanticCustomError("too_long", _("can have at most %(count)s lines", count=limit))
    return items


Items = Annotated[list[Item], Field(min_length=1, json_schema_extra=limit_from("maxItems", "INVOICE_MAX_ITEMS")),
                  AfterValidator(_items_within_setting)]


class IssueRequest(Model):
    """An invoice to issue. net/tax/gross/rate, when sent, must equal what the server
    computes from the lines; the gross total may not exceed INVOICE_MAX_AMOUNT."""
    buyer_name: text(200)
    buyer_tax_id: TaxpayerId
    issue_date: PastDate | None = Field(None, description="default today (China time)")
    invoice_type: Annotated[Literal[0, 1, "ordinary", "special"], Field(0, description="0 ordinary, 1 special VAT")]
    items: Items
    remarks: optional_text(500)
    drawer: optional_text(50)
    buyer_email: Email
    net: StrictInt | None = None
    tax: StrictInt | None = None
    gross: StrictInt | None = None
    rate: StrictInt | None = Field(None, description="one-rate invoices only")

    @field_validator("invoice_type", mode="before")
    @classmethod
    def _no_booleans(cls, value):
        if isinstance(value, bool):
            raise PydanticCustomError("invoice_type", _("must be 0 (ordinary invoice) or 1 (special VAT invoice)"))
        return value

    @property
    def type_code(self) -> int:
        return {"ordinary": 0, "special": 1}.get(self.invoice_type, self.invoice_type)


class RedLetterRequest(Model):
    """A red-letter note: items left out = a full reversal; only rates the original has."""
    reason_code: integer(1, 255)
    issue_date: PastDate | None = None
    remarks: optional_text(500)
    items: Items | None = None


class ReviewRequest(Model):
    reason_code: integer(1, 65535)
    note: optional_text(500, "the reason in the auditor's own words (kept by the platform, not on chain); "
                             "required with reason_code 5 (other)")


class InvoiceListQuery(Query):
    """Filters of a list; an empty text is as if not given."""
    q: Annotated[str, Field("", max_length=200, pattern=QUERY_TEXT,
                                   description="part of the number, buyer or seller name")]
    status: Annotated[str, Field("", max_length=32, pattern=QUERY_TEXT,
                                        description="an on-chain status (Issued, Flagged, …) or pending / failed")]
    buyer: Annotated[str, Field("", max_length=200, pattern=QUERY_TEXT)]
    date_from: Annotated[str, Field("", alias="from", max_length=10, pattern=QUERY_DATE,
                                           description="issue date from (empty: not given)")]
    date_to: Annotated[str, Field("", alias="to", max_length=10, pattern=QUERY_DATE,
                                         description="issue date to (empty: not given)")]
    page: Annotated[int, Field(1, ge=1, le=PAGE_MAX, description="past the last page: an empty list")]
    per_page: Annotated[int, Field(50, ge=1, le=200)]


# ---------------------------------------------------------------- answers
class RateGroup(Answer):
    rate: int
    item_count: int
    net: int
    tax: int


class Preview(Answer):
    net: int
    tax: int
    gross: int
    rate: int
    rates: list[int]
    groups: list[RateGroup]
    items: list[dict]


class InvoiceSummary(Answer):
    """What every answer about one invoice has."""
    number: InvoiceNumber
    key: str
    state: str = Field(description="pending (journaled, not mined), issued, failed")
    flags: int | None
    flag_names: list[str]
    check_code: str | None
    net: int
    tax: int
    gross: int
    rates: list[int]
    tx_hash: str | None


class IssueResult(InvoiceSummary):
    status: str
    original: dict | None = Field(None, description="a red-letter note: the original's number and status")


class Party(Answer):
    name: str | None
    tax_id: str | None
    address: str | None = None


class Invoice(InvoiceSummary):
    status: str | None
    rate: int | None
    issue_date: date | str
    invoice_type: int
    seller: Party
    buyer: Party
    document_hash: str | None
    is_red_letter: bool
    original_number: str | None
    error: str | None


class InvoiceList(Answer):
    total: int
    page: int
    per_page: int
    invoices: list[Invoice]


class InvoiceDetail(Invoice):
    document: dict | None
    flags_explained: list[dict]
    timeline: list[dict]
    reviews: list[dict] = Field([], description="auditors' reviews: decision, reason_code, note (their own words), "
                                                "auditor, tx_hash, time (Unix seconds)")
    chain: dict | None = None
    status_text: str | None


class ReviewQueue(Answer):
    invoices: list[Invoice]


class StatusResult(Answer):
    number: str
    status: str | None
    tx_hash: str
