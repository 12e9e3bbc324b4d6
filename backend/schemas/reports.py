"""Report requests: a report definition (columns or a grouping with measures, filters,
sort, limit), a saved report, the monthly statement's and platform report's queries."""
from typing import Annotated, Literal

from flask_babel import gettext as _
from pydantic import Field, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from .common import AnyDate, Answer, Model, Query, integer, text
from .tax_ids import FullIdChecked

COLUMN_KEYS = ("number", "issue_date", "month", "seller_name", "seller_tax_id", "buyer_name", "buyer_tax_id", "region",
               "status", "rate", "is_red_letter", "item_count", "net", "tax", "gross")
MEASURE_KEYS = ("count", "net", "tax", "gross")
GROUP_KEYS = ("seller", "buyer", "month", "issue_date", "region", "status", "rate")
STATUS_KEYS = ("Issued", "Flagged", "Cleared", "Rejected", "Voided", "RedLettered")
MAX_ROWS = 10_000
MAX_SAVED = 50
MONTH = Annotated[str, Field(pattern="^[2-9][0-9]{3}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


class ReportFilters(Model):
    date_from: AnyDate | None = None
    date_to: AnyDate | None = None
    seller: Annotated[str | None, Field(None, min_length=1, max_length=100, pattern="^[^\\x00-\\x1f]*$",
                                        description="the seller's tax ID, or part of its name; a full USCC: its "
                                                    "check character right, else 400"), FullIdChecked]
    buyer: Annotated[str | None, Field(None, min_length=1, max_length=100, pattern="^[^\\x00-\\x1f]*$",
                                       description="the buyer's tax ID, or part of its name; a full USCC: its "
                                                   "check character right, else 400"), FullIdChecked]
    statuses: Annotated[list[Literal[STATUS_KEYS]], Field([], max_length=len(STATUS_KEYS),
                                                          description="on-chain statuses; all when empty")]
    red_letter: Annotated[Literal["include", "exclude", "only"], Field(
        "include", description="red-letter notes: counted (negative), left out, or only them")]
    min_gross: Annotated[integer(0, 10**18, "fen") | None, Field(None)]
    max_gross: Annotated[integer(0, 10**18, "fen") | None, Field(None)]
    region: Annotated[str | None, Field(None, pattern="^[0-9]{2}$", description="the number's region digits")]


class ReportDefinition(Model):
    """Ungrouped: ``columns`` of each invoice. Grouped (``group_by``): the group's columns and
    ``measures`` (count, net, tax, gross sums; a red-letter note counts negative)."""
    columns: Annotated[list[Literal[COLUMN_KEYS]], Field(
        ["number", "issue_date", "buyer_name", "gross", "status"], min_length=1, max_length=len(COLUMN_KEYS))]
    group_by: Annotated[Literal[GROUP_KEYS] | None, Field(None, description="one row per group")]
    measures: Annotated[list[Literal[MEASURE_KEYS]], Field(["count", "gross"], min_length=1,
                                                           max_length=len(MEASURE_KEYS))]
    filters: ReportFilters = ReportFilters()
    sort_by: Annotated[str | None, Field(None, max_length=20, description="a column, or a measure of a grouped report")]
    descending: StrictBool = True
    limit: Annotated[integer(1, MAX_ROWS), Field(1000)]

    @model_validator(mode="after")
    def _sort_known(self):
        allowed = set(MEASURE_KEYS) | set(COLUMN_KEYS) if self.group_by else set(self.columns)
        if self.sort_by is not None and self.sort_by not in allowed:
            raise PydanticCustomError("sort_by", _("sort by one of the report's columns or sums"))
        if self.filters.date_from and self.filters.date_to and self.filters.date_from > self.filters.date_to:
            raise PydanticCustomError("dates", _("the start date is after the end date"))
        return self


class RunReport(Model):
    definition: ReportDefinition
    format: Annotated[Literal["json", "csv", "xlsx"], Field("json")]


class SaveReport(Model):
    name: text(100, description="the report's name (saving a name again replaces it)")
    definition: ReportDefinition


class SavedQuery(Query):
    format: Annotated[Literal["json", "csv", "xlsx"], Field("json")]


class StatementQuery(Query):
    month: MONTH
    format: Annotated[Literal["json", "pdf", "xlsx"], Field("pdf")]
    merchant: Annotated[str | None, Field(None, pattern="^[0-9A-Za-z]{18}$",
                                          description="authority and auditors: the merchant's tax ID")]


class PlatformQuery(Query):
    month: MONTH
    format: Annotated[Literal["json", "pdf", "xlsx"], Field("pdf")]


class ReportResult(Answer):
    columns: list[dict]
    rows: list[list]
    totals: dict
    truncated: bool
    definition: dict


class SavedReportOut(Answer):
    id: int
    name: str
    definition: dict
    created_at: str
    updated_at: str


class SavedReportList(Answer):
    reports: list[SavedReportOut]
