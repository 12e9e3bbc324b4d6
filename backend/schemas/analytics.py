"""The dashboards' queries (period, dates, export format, one table) and answers: a
merchant's sales, the authority's platform view, a financier's book. Money in fen; ratios
as fractions (0.0123 = 1.23 %); changes in percent (one decimal), null when the previous
figure is 0. docs/analytics.md says how each figure is computed."""
from typing import Annotated, Literal

from pydantic import Field

from .common import Answer, Query
from .invoices import QUERY_DATE

PERIODS = ("day", "week", "month")
MAX_DAYS = 1096  # a period spans at most three years
FORMATS = ("json", "csv", "xlsx")
# each dashboard's tables (services.analytics_export), in the order the page shows them
TABLE_NAMES = {
    "merchant": ("series", "comparison", "by_rate", "top_buyers", "status_mix", "ratios", "receivables",
                 "receivables_status"),
    "authority": ("series", "comparison", "by_region", "by_merchant", "status_mix", "review", "backlog", "ratios",
                  "alerts_by_kind", "alerts"),
    "financier": ("totals", "by_debtor", "maturities", "overdue"),
}
TAX_ID_QUERY = "^([0-9A-Za-z]{15,20})?$"


def _tables(role):
    return Literal[("",) + TABLE_NAMES[role]]


class ExportQuery(Query):
    format: Annotated[Literal[FORMATS], Field("json", description="json, or a file: csv (UTF-8 with BOM; amounts in "
                                                                  "yuan) or xlsx (a sheet per table)")]


class PeriodQuery(ExportQuery):
    period: Annotated[Literal[PERIODS], Field("day", description="the buckets of the trend: day, week (ISO, Monday "
                                                                 "first) or month")]
    date_from: Annotated[str, Field("", alias="from", max_length=10, pattern=QUERY_DATE,
                                    description="first issue date (China time); empty: 30 days, 12 weeks or 12 "
                                                "months before `to`")]
    date_to: Annotated[str, Field("", alias="to", max_length=10, pattern=QUERY_DATE,
                                  description=f"last issue date; empty: today. At most {MAX_DAYS} days from `from`")]


class MerchantQuery(PeriodQuery):
    merchant: Annotated[str, Field("", max_length=20, pattern=TAX_ID_QUERY,
                                   description="the authority: the merchant's tax ID (required); a merchant: empty "
                                               "or its own")]
    table: Annotated[_tables("merchant"), Field("", description="csv/xlsx: only this table; empty: all of them")]


class AuthorityQuery(PeriodQuery):
    table: Annotated[_tables("authority"), Field("", description="csv/xlsx: only this table; empty: all of them")]


class FinancierQuery(ExportQuery):
    table: Annotated[_tables("financier"), Field("", description="csv/xlsx: only this table; empty: all of them")]


# ---------------------------------------------------------------- answers
class Figures(Answer):
    """What stands: invoices registered on chain, not voided or rejected, minus their
    red-letter notes."""
    count: int = Field(description="invoices (not notes)")
    notes: int = Field(description="red-letter notes")
    net: int
    tax: int
    gross: int
    average: int = Field(description="gross per invoice, fen (rounded down)")


class Bucket(Figures):
    bucket: str = Field(description="the day (2026-01-05), ISO week (2026-W02) or month (2026-01)")
    from_: str = Field(alias="from")
    to: str


class Comparison(Answer):
    current: Figures
    previous: Figures
    change: dict[str, float | None] = Field(description="percent change of each figure; null when the previous is 0")


class StatusCount(Answer):
    status: str = Field(description="Issued, Flagged, Cleared, Rejected, Voided, RedLettered, RedLetterNote, "
                                    "pending, failed")
    label: str
    count: int
    gross: int = Field(description="face gross, fen (not netted)")


class Ratios(Answer):
    invoices: int = Field(description="invoices on chain (not notes)")
    invoices_gross: int
    voided: int
    void_ratio: float | None
    red_lettered: int = Field(description="invoices fully red-lettered")
    red_letter_notes: int
    red_letter_ratio: float | None = Field(description="notes per invoice on chain")
    red_letter_gross: int
    red_letter_amount_ratio: float | None = Field(description="notes' gross / invoices' gross")


class PeriodAnswer(Answer):
    period: str
    from_: str = Field(alias="from")
    to: str
    days: int
    previous: dict[str, str] = Field(description="from, to of the previous period (as many days just before)")
    comparison: Comparison
    series: list[Bucket]
    status_mix: list[StatusCount]
    ratios: Ratios


class RateFigures(Answer):
    rate: int = Field(description="tax rate, whole percent")
    count: int = Field(description="invoices with lines at this rate")
    net: int
    tax: int
    gross: int
    share: float | None


class Buyer(Answer):
    tax_id: str
    name: str
    count: int
    gross: int
    share: float | None


class MerchantReceivables(Answer):
    drawn: int = Field(description="receivables drawn in the period (by the ledger's date)")
    drawn_amount: int
    outstanding: int
    paid: int
    financed: int = Field(description="of them (and their parts), financed")
    financed_advance: int
    financed_fee: int
    by_status: list[dict]


class MerchantDashboard(PeriodAnswer):
    role: Literal["merchant"]
    merchant: dict = Field(description="name, tax_id, address")
    totals: Figures
    by_rate: list[RateFigures]
    top_buyers: list[Buyer]
    receivables: MerchantReceivables


class Review(Answer):
    registered: int
    flagged: int
    flagged_rate: float | None
    cleared: int
    cleared_rate: float | None
    rejected: int
    rejected_rate: float | None
    waiting: int
    waiting_rate: float | None


class Backlog(Answer):
    count: int = Field(description="invoices flagged and not reviewed yet (any date)")
    gross: int
    oldest: str | None = Field(description="when the oldest was recorded (China time)")
    oldest_days: float | None
    ages: list[dict] = Field(description="age, count, gross by time waiting")


class AlertsSummary(Answer):
    open: int = Field(description="alerts not resolved")
    by_kind: list[dict] = Field(description="severity, severity_label, kind, count")
    top: list[dict] = Field(description="id, kind, severity, status, merchants (tax IDs), invoices (how many), "
                                        "explanation, created_at")


class AuthorityDashboard(PeriodAnswer):
    role: Literal["authority"]
    totals: dict = Field(description="Figures and merchants (how many issued in the period)")
    by_region: list[dict] = Field(description="region (the number's digits 3-4), name, Figures, share of gross")
    by_merchant: list[dict] = Field(description="the top merchants by gross: address, name, tax_id, Figures, share")
    other_merchants: dict = Field(description="the rest summed: merchants (how many) and Figures")
    review: Review
    backlog: Backlog
    alerts: AlertsSummary


class FinancierDashboard(Answer):
    role: Literal["financier"]
    as_of: str = Field(description="the chain's date the book is counted at")
    as_of_time: int
    totals: dict = Field(description="financed, owed, advanced, fees, repaid, offers, overdue, overdue_owed")
    by_debtor: list[dict] = Field(description="debtor, name, count, owed, share")
    maturities: list[dict] = Field(description="bucket (days to the due date), count, owed, share")
    overdue: list[dict] = Field(description="id, invoice_number, debtor, debtor_name, status, due_date, "
                                            "days_overdue, owed")
