"""Tables: users, merchant profiles, merchants' invoice-number ranges, invoice documents,
receivables, expense claims and payment lists, used form tokens, outbox, mail outbox,
alerts, settings, saved reports, signers' next nonces, indexed events, indexer cursors,
verification history; the dashboards' pre-aggregated figures and their change log are in
core.analytics_models (imported at the end)."""
import hashlib
import secrets
from datetime import datetime, timezone

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import (BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .db import db

ROLES = ("authority", "merchant", "auditor", "financier", "buyer", "employee", "approver")
ROLE_LABELS = {  # lazy: translated when shown (docs/i18n.md)
    "authority": _l("Authority"),
    "merchant": _l("Merchant"),
    "auditor": _l("Auditor"),
    "financier": _l("Financier"),
    "buyer": _l("Buyer"),
    "employee": _l("Employee"),
    "approver": _l("Approver"),
}
# a buyer company's roles (users.buyer_tax_id: its tax ID): its buyer account, employees, finance
COMPANY_ROLES = ("buyer", "employee", "approver")
# fen amounts can exceed 64 bits only in absurd cases (validated away); Numeric keeps
# them exact on every backend.
Money = Numeric(38, 0)


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), index=True)
    address: Mapped[str | None] = mapped_column(String(42), unique=True, nullable=True)
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    # buyers: whose invoices they see; employees and approvers: their company (the buyer's tax ID)
    buyer_tax_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)  # self-service sign-ups give one
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)  # 'zh'/'en' chosen; None: the browser's

    merchant = relationship("Merchant", back_populates="user", uselist=False)

    def set_password(self, password):
        from flask import current_app, has_app_context

        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    def new_api_token(self) -> str:
        """Create a bearer token; only its SHA-256 is stored. Returns the token once."""
        token = "einv_" + secrets.token_urlsafe(32)
        self.api_token_hash = token_digest(token)
        return token

    @property
    def is_active(self):
        return self.active

    @property
    def role_label(self):
        return ROLE_LABELS.get(self.role, self.role)


class Merchant(db.Model):
    """Off-chain merchant profile; `status` mirrors the MerchantRegistry."""
    __tablename__ = "merchants"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Not unique: like MerchantRegistry, a tax ID belongs to an account only once approved, so a
    # pending application never blocks the company's own (several may be pending at once).
    tax_id: Mapped[str] = mapped_column(String(18), index=True)
    licence_number: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending approved suspended rejected
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the application's contact (self-service onboarding; its licence file: MerchantLicence)
    contact_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    user = relationship("User", back_populates="merchant")


class NumberRange(db.Model):
    """A merchant's invoice-number range (号段) allocated on chain by the authority
    (InvoiceRegistry.allocateNumberRange), and the next number the platform hands out.

    A number is ``prefix`` (5 digits: YY + region + channel) followed by a 15-digit
    sequence; the range is ``prefix·10^15 + first_seq`` … ``prefix·10^15 + last_seq``.
    (20-digit numbers do not fit a 64-bit integer column, their parts do.)"""
    __tablename__ = "number_ranges"
    merchant: Mapped[str] = mapped_column(String(42), primary_key=True)  # checksummed address
    prefix: Mapped[int] = mapped_column(Integer)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    next_seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Invoice(db.Model):
    """The full invoice document (canonical JSON) and what the chain said about it."""
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        # the dashboards (services.analytics): a merchant's top buyers in a period read this
        # index only (no table rows); the review backlog's count, amount and ages likewise
        Index("ix_invoices_seller_day_buyer", "seller_address", "issue_date", "buyer_tax_id", "state",
              "chain_status", "is_red_letter", "gross"),
        Index("ix_invoices_status_created_at", "chain_status", "created_at", "gross"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    key: Mapped[str] = mapped_column(String(66), unique=True)
    # None for an invoice registered on chain by another client (found by the indexer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True, nullable=True)
    seller_address: Mapped[str] = mapped_column(String(42), index=True)
    seller_name: Mapped[str] = mapped_column(String(200))
    seller_tax_id: Mapped[str] = mapped_column(String(18))
    buyer_name: Mapped[str] = mapped_column(String(200), index=True)
    buyer_tax_id: Mapped[str] = mapped_column(String(20), index=True)
    issue_date: Mapped[str] = mapped_column(String(10), index=True)  # YYYY-MM-DD (China time)
    issued_at: Mapped[int] = mapped_column(BigInteger)  # unix seconds sent to the chain
    invoice_type: Mapped[int] = mapped_column(Integer, default=0)
    rate: Mapped[int] = mapped_column(Integer)  # the highest tax rate of the lines (% )
    # bit r set: the invoice has lines at rate r % (as the registry's rateMask); None on rows
    # written before contracts v2 (one rate: ``rate``)
    rate_mask: Mapped[int | None] = mapped_column(Integer, nullable=True)
    item_count: Mapped[int] = mapped_column(Integer)
    net: Mapped[int] = mapped_column(Money)
    tax: Mapped[int] = mapped_column(Money)
    gross: Mapped[int] = mapped_column(Money)
    document: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly the hashed bytes ("" if not held)
    document_hash: Mapped[str] = mapped_column(String(66), index=True)
    is_red_letter: Mapped[bool] = mapped_column(Boolean, default=False)
    original_number: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    # pending (journaled, not yet mined) / issued / failed (reverted: nothing on chain)
    state: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    chain_status: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    flags: Mapped[int] = mapped_column(Integer, default=0)
    check_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # where the invoice is e-mailed once issued (not in the document nor its hash); None: not e-mailed
    buyer_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    outbox = relationship("OutboxTx")
    user = relationship("User")


class Receivable(db.Model):
    """The chain's view of one receivable (ReceivableLedger.getReceivable), written by the
    indexer as of the block of its latest event and by the services right after an action
    (``synced_block``: an older view never overwrites a newer one). Ids are the ledger's
    uint256 in decimal: the parts of a split exceed 64 bits."""
    __tablename__ = "receivables"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    root_id: Mapped[str] = mapped_column(String(80), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(80), index=True, nullable=True)
    invoice_key: Mapped[str] = mapped_column(String(66), index=True)
    creditor: Mapped[str] = mapped_column(String(42), index=True)
    holder: Mapped[str] = mapped_column(String(42), index=True)
    debtor: Mapped[str] = mapped_column(String(42), index=True)
    financier: Mapped[str | None] = mapped_column(String(42), index=True, nullable=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # lower case: created accepted offered …
    amount: Mapped[int] = mapped_column(Money)
    paid: Mapped[int] = mapped_column(Money, default=0)
    advance: Mapped[int] = mapped_column(Money, default=0)
    fee: Mapped[int] = mapped_column(Money, default=0)
    repaid: Mapped[int] = mapped_column(Money, default=0)
    due_at: Mapped[int] = mapped_column(BigInteger, index=True)  # unix seconds
    created_at_chain: Mapped[int] = mapped_column(BigInteger)
    synced_block: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class FormSubmission(db.Model):
    """A portal form's one-time token, once used (services.form_tokens): a resubmission of
    the same rendered form finds it and is told what the first submission did."""
    __tablename__ = "form_submissions"
    __table_args__ = (UniqueConstraint("user_id", "token"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    # what the action made or acted on (a merchant's name, an invoice number …); None while it runs
    result_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class OutboxTx(db.Model):
    """A signed raw transaction, journaled before it is broadcast.

    status: signed (journaled, maybe not broadcast) → sent → mined | reverted;
    dropped when the sender's nonce was consumed by another transaction.
    """
    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("sender", "nonce", "chain_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(42), index=True)
    nonce: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66), unique=True)
    raw_tx: Mapped[str] = mapped_column(Text)
    contract: Mapped[str] = mapped_column(String(64))
    function: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(12), default="signed", index=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    gas_used: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    broadcasts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class MailMessage(db.Model):
    """An e-mail to send (services.mail): one per (invoice, kind), written in the database
    transaction that marks the invoice issued. status: pending → sending (claimed by one
    sender with a conditional UPDATE) → sent; back to pending with ``error`` and a later
    ``next_attempt_at`` when SMTP fails; failed after MAIL_MAX_ATTEMPTS."""
    __tablename__ = "mail_outbox"
    __table_args__ = (UniqueConstraint("invoice_id", "kind"), UniqueConstraint("alert_id", "kind", "recipient"))
    id: Mapped[int] = mapped_column(primary_key=True)
    # what the message is about: an invoice (kind "issued") or an alert (kind "alert")
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), nullable=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(16), default="issued")
    recipient: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    claim: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the claiming sender's random token
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    invoice = relationship("Invoice")
    alert = relationship("Alert")


class Alert(db.Model):
    """An anomaly the detector found (issue 13): kind (split_invoicing, volume_spike,
    circular_invoicing …), severity, the merchants' tax IDs and the invoice numbers that are
    its evidence, the figures, a plain-language explanation (Chinese, then English).
    ``fingerprint`` (kind + what it is about) is unique: a detector run that finds the same
    anomaly again updates it instead of raising a second alert. Workflow: open →
    acknowledged → resolved (with a note), assignable to an auditor."""
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(8), index=True)  # low medium high
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open acknowledged resolved
    fingerprint: Mapped[str] = mapped_column(String(160), unique=True)
    merchants: Mapped[str] = mapped_column(Text)  # JSON list of tax IDs
    invoices: Mapped[str] = mapped_column(Text)  # JSON list of invoice numbers
    evidence: Mapped[str] = mapped_column(Text)  # JSON: the figures
    explanation: Mapped[str] = mapped_column(Text)
    window_start: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    window_end: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_status: Mapped[str | None] = mapped_column(String(12), nullable=True)  # sent failed (after retries)

    assignee = relationship("User", foreign_keys=[assignee_id])


class Setting(db.Model):
    """A setting the authority changes in the app (the detector's thresholds …): a JSON value
    by key, who changed it and when. A key not stored has its default in code."""
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SavedReport(db.Model):
    """A report a user built (定制化报表): its columns, filters and grouping as JSON."""
    __tablename__ = "saved_reports"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    definition: Mapped[str] = mapped_column(Text)  # JSON: columns, filters, group_by, sort
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    user = relationship("User")


class SignerNonce(db.Model):
    """The next nonce of a sender, taken (``UPDATE … RETURNING``) in the database transaction
    that journals its outbox row: a rollback gives it back, a commit journals it, and the row
    lock (PostgreSQL) or the single writer (SQLite) orders several processes."""
    __tablename__ = "signer_nonces"
    chain_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(42), primary_key=True)
    next_nonce: Mapped[int] = mapped_column(BigInteger)


class ChainEvent(db.Model):
    """One decoded contract log. (tx_hash, log_index) makes indexing idempotent."""
    __tablename__ = "chain_events"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contract: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    # the block's hash when indexed: a rewound or reorganised chain is found by comparing it
    block_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    block_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    invoice_key: Mapped[str | None] = mapped_column(String(66), index=True, nullable=True)
    related_key: Mapped[str | None] = mapped_column(String(66), index=True, nullable=True)
    account: Mapped[str | None] = mapped_column(String(42), index=True, nullable=True)
    # ledger events: the receivable they are about (a split's event: the new part), decimal
    receivable_id: Mapped[str | None] = mapped_column(String(80), index=True, nullable=True)
    args: Mapped[str] = mapped_column(Text)  # JSON


class IndexerCursor(db.Model):
    """How far the indexer got: the last block read and its hash (checked against the
    chain at every run)."""
    __tablename__ = "indexer_cursors"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_block: Mapped[int] = mapped_column(BigInteger)
    chain_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    block_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)


class Verification(db.Model):
    """History of verifications (who, when, what, result)."""
    __tablename__ = "verifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(12))  # single batch document
    number: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    query: Mapped[str] = mapped_column(Text)  # JSON
    # a word of invoices.VERIFY_RESULTS ("partly_red_lettered": 19), "tampered", "mixed" …
    result: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    user = relationship("User")


# the buyer company's expense claims and payment lists (a module of their own: size)
from .claim_models import ExpenseClaim, PaymentList  # noqa: E402,F401

# the dashboards' tables (a module of their own: this one is long enough), importable from here
from .analytics_models import (  # noqa: E402,F401
    AnalyticsBuyerMonth,
    AnalyticsChange,
    AnalyticsPlatformDay,
    AnalyticsRateDay,
    AnalyticsSellerDay,
    AnalyticsSellerMonth,
)

# sign-in security: second factors, recovery codes, failed-login counters (issue 14)
from .auth_models import LoginThrottle, RecoveryCode, SecondFactor  # noqa: E402,F401
# the business licence files of merchant applications (self-service onboarding)
from .onboarding_models import MerchantLicence  # noqa: E402,F401
# auditors' reviews with their free-text reasons (a module of its own: size)
from .review_models import ReviewNote  # noqa: E402,F401
