"""Bulk issuance (POST /api/v1/invoices/batch): the request (rows of IssueRequest, each
with an optional idempotency key) and the per-row answer."""
from typing import Annotated, Literal

from pydantic import Field

from .common import Answer, InvoiceNumber, Model, limit_from
from .invoices import IssueRequest

KEY_PATTERN = "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$"  # as the Idempotency-Key header


class IssueBatchRow(IssueRequest):
    """An invoice of the batch: the fields of POST /invoices, and its own idempotency key."""
    idempotency_key: Annotated[str | None, Field(None, min_length=1, max_length=128, pattern=KEY_PATTERN,
                                                 description="a row sent again with the same key is replayed, "
                                                             "not issued again; with other fields: 409")]


class IssueBatchRequest(Model):
    """At least one row and at most INVOICE_BATCH_MAX_ROWS (more: 413)."""
    invoices: Annotated[list[IssueBatchRow], Field(min_length=1,
                                              json_schema_extra=limit_from("maxItems", "INVOICE_BATCH_MAX_ROWS"))]


class IssueBatchRowResult(Answer):
    index: int = Field(description="the row's position in the request (0-based)")
    number: InvoiceNumber | None = Field(None, description="none for a row the chain refused")
    status: Literal["issued", "pending", "replayed", "refused"] = Field(
        description="issued (mined), pending (journaled, not yet mined), replayed (its idempotency key was "
                    "used before: that invoice, not issued again), refused (nothing issued: see error)")
    state: str | None = Field(None, description="a replayed row: the invoice's state (pending, issued, failed)")
    tx_hash: str | None = None
    error: str | None = Field(None, description="refused: the custom error name, or idempotency_key_reused")
    message: str | None = None
    http_status: int | None = Field(None, description="refused: the status the row would answer alone (409, 422)")


class IssueBatchTotals(Answer):
    rows: int
    issued: int
    pending: int
    replayed: int
    refused: int


class IssueBatchResult(Answer):
    """201: every row issued or replayed; 207: some rows pending or refused."""
    totals: IssueBatchTotals
    results: list[IssueBatchRowResult]
