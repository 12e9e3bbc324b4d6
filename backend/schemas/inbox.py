"""The buyer's inbox: its filters, the export query (format, selected numbers) and the
answers (an invoice as the inbox lists it, with its status in words and its red-letter
notes)."""
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from .common import PAGE_MAX, QUERY_TEXT, Answer, Query
from .invoices import QUERY_DATE, Invoice
from .tax_ids import FullIdChecked

# What the status filter takes: the keys of services.invoices.STATUS_WORDS that an invoice
# in an inbox can have, and "pending" (sent, not yet mined). "" = any.
STATUS_KEYS = ("Issued", "Flagged", "Cleared", "Rejected", "Voided", "RedLettered", "PartlyRedLettered",
               "RedLetterNote", "pending")
FORMATS = ("csv", "xlsx")
EXPORT_MAX_NUMBERS = 1000  # numbers of one selection (the query string stays under 21 kB)
NUMBERS_PATTERN = "^([0-9]{20}(,[0-9]{20})*)?$"
AMOUNT_MAX = 10**18  # fen; far above INVOICE_MAX_AMOUNT, inside a 64-bit integer


def _empty_is_none(value):
    return None if isinstance(value, str) and not value.strip() else value


def _no_default(schema):
    schema.pop("default", None)  # left out: not given


def _amount_schema(description):
    return {"anyOf": [{"type": "integer", "minimum": 0, "maximum": AMOUNT_MAX}, {"type": "string", "maxLength": 0}],
            "description": description + "; empty: not given"}


class InboxFilters(Query):
    """Filters of the inbox; an empty text is as if not given. Amounts are the gross total
    (价税合计) in fen; a red-letter note's is its own (positive) total."""
    q: Annotated[str, Field("", max_length=200, pattern=QUERY_TEXT,
                            description="part of the number, the seller's name or tax ID, or a line item's name or "
                                        "spec")]
    status: Annotated[Literal[("",) + STATUS_KEYS], Field(
        "", description="Issued, Flagged (waiting for review), Cleared, Rejected, Voided, RedLettered (fully), "
                        "PartlyRedLettered (valid for its open amount), RedLetterNote (the notes themselves), pending")]
    seller: Annotated[str, Field("", max_length=200, pattern=QUERY_TEXT, description="part of the seller's name or "
                                                                                      "tax ID (a full USCC: its check "
                                                                                      "character right, else 400)"),
                      FullIdChecked]
    date_from: Annotated[str, Field("", alias="from", max_length=10, pattern=QUERY_DATE,
                                    description="issue date from (empty: not given)")]
    date_to: Annotated[str, Field("", alias="to", max_length=10, pattern=QUERY_DATE,
                                  description="issue date to (empty: not given)")]
    amount_min: Annotated[int | None, Field(None, ge=0, le=AMOUNT_MAX, json_schema_extra=_no_default),
                          BeforeValidator(_empty_is_none), WithJsonSchema(_amount_schema("gross total at least (fen)"))]
    amount_max: Annotated[int | None, Field(None, ge=0, le=AMOUNT_MAX, json_schema_extra=_no_default),
                          BeforeValidator(_empty_is_none), WithJsonSchema(_amount_schema("gross total at most (fen)"))]


class InboxQuery(InboxFilters):
    """A page of the filtered inbox."""
    page: Annotated[int, Field(1, ge=1, le=PAGE_MAX, description="past the last page: an empty list")]
    per_page: Annotated[int, Field(50, ge=1, le=200)]


class InboxExportQuery(InboxFilters):
    """An export: the invoices ``numbers`` names (all in the caller's inbox, else 404; the
    filters do not apply then), or when it is empty every invoice the filters match."""
    format: Annotated[Literal[FORMATS], Field("csv", description="csv (UTF-8 with BOM) or xlsx")]
    numbers: Annotated[str, Field("", max_length=21 * EXPORT_MAX_NUMBERS - 1, pattern=NUMBERS_PATTERN,
                                  description=f"selected invoice numbers, comma-separated (at most "
                                              f"{EXPORT_MAX_NUMBERS}); empty: every invoice the filters match")]


# ---------------------------------------------------------------- answers
class NoteRef(Answer):
    """A red-letter note against an invoice."""
    number: str
    issue_date: str
    net: int
    tax: int
    gross: int = Field(description="fen, the note's own (positive) total; it reduces the original by this much")
    state: str
    status: str | None


class InboxEntry(Invoice):
    status_key: str | None = Field(description="one of the status filter's keys")
    status_label: str | None = Field(description="the status in words, short, in the request's language")
    status_text: str | None = Field(description="the status and what it means, in the request's language")
    status_explained: str | None = Field(None, description="what the status means, in the request's language")
    item_count: int
    flags_explained: list[dict] = Field(description="the audit flags in words: bit, name, text")
    notes: list[NoteRef] = Field(description="the red-letter notes against this invoice")
    red_lettered: int = Field(description="fen: the sum of the notes against it that are on chain")


class InboxList(Answer):
    total: int
    page: int
    per_page: int
    invoices: list[InboxEntry]
