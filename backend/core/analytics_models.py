"""The dashboards' tables (issue 13; services.analytics_store keeps them, docs/analytics.md).

Pre-aggregated figures of the invoices, recomputed per (seller, issue date) from the
invoices themselves whenever a database trigger on ``invoices`` (migration 0011) logged
that one of that day's invoices of that seller was inserted, changed or deleted
(``analytics_changes``). ``status`` is what the invoice is: pending, failed, or its chain
status (Issued, Flagged, Cleared, Rejected, Voided, RedLettered); ``red_letter``: a red-letter
note; ``flagged``: the registry flagged it at issuance (flags != 0). Amounts in fen, as the
invoices hold them (a note's positive) unless a table says it holds what stands.
``sqlite_with_rowid=False``: on SQLite the rows are stored in key order (a range of days is
read in one sweep)."""
from sqlalchemy import Boolean, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from .db import db

Money = Numeric(38, 0)  # as models.Money: fen, exact on every backend
WITHOUT_ROWID = {"sqlite_with_rowid": False}


class Figures:
    """How many invoices a row sums, and their amounts (fen)."""
    n: Mapped[int] = mapped_column(Integer)
    net: Mapped[int] = mapped_column(Money)
    tax: Mapped[int] = mapped_column(Money)
    gross: Mapped[int] = mapped_column(Money)


class AnalyticsChange(db.Model):
    """One invoice row inserted, changed or deleted (written by the trigger, never by
    code): its seller and issue date, whose figures are recomputed at the next refresh."""
    __tablename__ = "analytics_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    seller_address: Mapped[str] = mapped_column(String(42))
    issue_date: Mapped[str] = mapped_column(String(10))


class AnalyticsSellerDay(Figures, db.Model):
    """A seller's invoices of one issue date by region (the number's digits 3-4), status,
    note or not, flagged or not: how many and their amounts."""
    __tablename__ = "analytics_seller_day"
    __table_args__ = (Index("ix_analytics_seller_day_day", "day"), WITHOUT_ROWID)
    seller_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    region: Mapped[str] = mapped_column(String(2), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    red_letter: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    flagged: Mapped[bool] = mapped_column(Boolean, primary_key=True)


class AnalyticsSellerMonth(Figures, db.Model):
    """What stands of a seller's invoices of a month (YYYY-MM) and region, the month first:
    ``n`` invoices and ``notes`` red-letter notes that stand, their net, tax and gross (the
    notes' subtracted). The authority's figures by merchant and by region over whole months
    read one range of it."""
    __tablename__ = "analytics_seller_month"
    __table_args__ = (WITHOUT_ROWID,)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    seller_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    region: Mapped[str] = mapped_column(String(2), primary_key=True)
    notes: Mapped[int] = mapped_column(Integer)


class AnalyticsPlatformDay(Figures, db.Model):
    """analytics_seller_day summed over the sellers and regions: the platform's days."""
    __tablename__ = "analytics_platform_day"
    __table_args__ = (WITHOUT_ROWID,)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    red_letter: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    flagged: Mapped[bool] = mapped_column(Boolean, primary_key=True)


class AnalyticsBuyerMonth(db.Model):
    """A seller's sales to one buyer (tax ID) in a month: the invoices that stand and their
    gross minus their red-letter notes (a merchant's top buyers)."""
    __tablename__ = "analytics_buyer_month"
    __table_args__ = (WITHOUT_ROWID,)
    seller_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    buyer_tax_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    gross: Mapped[int] = mapped_column(Money)


class AnalyticsRateDay(Figures, db.Model):
    """A seller's sales of one issue date by tax rate, from the invoices' lines (each rate's
    net and tax as the line items sum them): the invoices that stand (registered, not voided
    or rejected) minus their red-letter notes. ``n``: invoices with a line at that rate."""
    __tablename__ = "analytics_rate_day"
    __table_args__ = (WITHOUT_ROWID,)
    seller_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    rate: Mapped[int] = mapped_column(Integer, primary_key=True)
