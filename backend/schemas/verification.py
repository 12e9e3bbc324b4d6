"""Verification requests and answers: one query (number, date, gross, check code), a
batch's rows and results, an uploaded document's result, the verification history."""
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..core.canonical import yuan
from .common import QUERY_TEXT, Answer, AnyDate, InvoiceNumber, Model, Query, limit_from, setting

RESULTS = ("authentic", "not_found", "mismatch", "voided", "flagged", "rejected", "red_lettered",
           "partly_red_lettered", "red_letter_note")  # InvoiceRegistry.VerifyResult, in order


def _gross(value):
    """Fen as a JSON integer, or a string of at most 19 ASCII digits (a CSV cell)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 19:
        return int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("int_type", _("must be a whole number of fen"))
    if not 0 <= value <= 10**18:
        raise PydanticCustomError("range", _("must be from 0 to %(limit)s", limit=yuan(10**18)))
    return value


def _check_code(value):
    """The last 6 digits of the check code (or all 20): its last 6 as an int."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not (value.strip().isascii() and value.strip().isdigit()
                                          and len(value.strip()) in (6, 20)):
        if isinstance(value, str):
            raise PydanticCustomError("check_code", _("must be the last 6 digits or all 20 digits of the check code "
                                                      "(%(count)s characters given)", count=len(value.strip())))
        raise PydanticCustomError("check_code", _("must be the last 6 digits or all 20 digits of the check code"))
    return int(value.strip()[-6:])


GROSS_SCHEMA = {"type": "integer", "minimum": 0, "maximum": 10**18, "description": "fen"}
Gross = Annotated[int, BeforeValidator(_gross), WithJsonSchema(GROSS_SCHEMA)]
CheckCode = Annotated[int, BeforeValidator(_check_code), WithJsonSchema({
    "type": "string", "minLength": 6, "maxLength": 20, "pattern": "^([0-9]{6}|[0-9]{20})$",
    "description": "the last 6 digits (or all 20)"})]


class VerifyQuery(Model):
    """What is printed on an invoice, as a verifier types it. ``amount`` is taken for
    ``gross``; other fields are ignored."""
    model_config = ConfigDict(extra="ignore")

    number: InvoiceNumber
    issue_date: AnyDate
    gross: Annotated[Gross, WithJsonSchema({**GROSS_SCHEMA, "description": "fen (`amount` is taken too)"})]
    check_code: CheckCode

    @model_validator(mode="before")
    @classmethod
    def _amount_is_gross(cls, data):
        if isinstance(data, dict) and "gross" not in data and "amount" in data:
            return {**data, "gross": data["amount"]}
        return data


class VerifyResult(Answer):
    result: Literal[RESULTS]
    label: str
    detail: str
    reversed: int | None = Field(None, description="red_lettered / partly_red_lettered: fen the red-letter notes "
                                                   "reversed")
    remaining: int | None = Field(None, description="red_lettered / partly_red_lettered: fen left (the open amount)")


class BatchRow(Answer):
    row: int
    number: str | None
    result: str = Field(description="a VerifyResult's result, or `invalid` (with `fields`)")
    label: str | None = None
    detail: str | None = None
    fields: dict[str, str] | None = Field(None, description="result invalid: what is wrong with the row")


class BatchResult(Answer):
    count: int
    summary: dict[str, int]
    results: list[BatchRow]


class DocumentResult(Answer):
    number: str
    result: Literal["authentic", "tampered", "not_found"]
    document_hash: str | None = None
    detail: str


class VerificationListQuery(Query):
    q: Annotated[str, Field("", max_length=200, pattern=QUERY_TEXT, description="part of the number")]
    result: Annotated[str, Field("", max_length=32, pattern=QUERY_TEXT)]
    limit: Annotated[int, Field(100, ge=1, le=1000, description="entries a page")]
    page: Annotated[int, Field(1, ge=1, le=1_000_000, description="the page (of `limit` entries), newest first")]


class VerificationEntry(Answer):
    id: int
    kind: str
    number: str | None
    result: str
    detail: str | None
    created_at: str


class VerificationList(Answer):
    total: int = Field(description="entries the search finds, over all pages")
    page: int
    verifications: list[VerificationEntry]



# A CSV batch the parser takes with at least one row: the header then a row that is not blank,
# or rows alone whose first is a 20-digit number and 3 more columns (no quotes, no NUL).
CSV_BATCH = ('^(number,issue_date,gross,check_code\\r?\\n[^"\\x00]*[^\\s,"\\x00][^"\\x00]*|'
             '[0-9]{20}(,[^,"\\r\\n\\x00]*){3}(\\r?\\n[^"\\x00]*)?)$')


def _rows_within_setting(rows, info: ValidationInfo):
    limit = setting("VERIFY_BATCH_MAX_ROWS", info.context)
    if len(rows) > limit:
        raise PydanticCustomError("too_long", _("can have at most %(count)s rows", count=limit))
    return rows


# A row is meant to be a VerifyQuery, but any value is taken: one that is not a valid query
# gets the result `invalid` (with `fields`), as a CSV row with the wrong columns.
Rows = Annotated[list[Annotated[Any, WithJsonSchema({
    "description": "a VerifyQuery (#/components/schemas/VerifyQuery); any other value is not refused: its result is "
                   "`invalid`, with `fields`"})]],
    Field(min_length=1, json_schema_extra=limit_from("maxItems", "VERIFY_BATCH_MAX_ROWS")),
    AfterValidator(_rows_within_setting)]


class BatchRows(Model):
    rows: Rows


class VerifyBatch(RootModel[Rows | BatchRows]):
    """A JSON batch: a list of rows, or {"rows": [...]}; at least one row, at most
    VERIFY_BATCH_MAX_ROWS."""

    @property
    def row_list(self):
        return self.root.rows if isinstance(self.root, BatchRows) else self.root


class DocumentToVerify(Model):
    """An invoice's JSON document as the platform issued it."""
    model_config = ConfigDict(extra="allow")
    number: InvoiceNumber
