"""Tables of the buyer company's reimbursement: expense claims and payment lists (issue 12).
Imported by backend.core.models, so ``from backend.core.models import ExpenseClaim`` works."""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import db
from .models import Money, utcnow


class ExpenseClaim(db.Model):
    """An employee's expense claim (报销) of one invoice addressed to its company.

    status: submitted → approved (marked claimed on chain by the company's account) → paid (its
    payment list paid), or rejected. ``live_key`` is the invoice key while the claim is not
    rejected: unique, so one invoice has at most one live claim on this platform even under
    concurrent submissions (the chain's mark is the guarantee across platforms)."""
    __tablename__ = "expense_claims"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_tax_id: Mapped[str] = mapped_column(String(20), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    invoice_number: Mapped[str] = mapped_column(String(20), index=True)
    invoice_key: Mapped[str] = mapped_column(String(66))
    live_key: Mapped[str | None] = mapped_column(String(66), unique=True, nullable=True)
    issue_date: Mapped[str] = mapped_column(String(10))
    gross: Mapped[int] = mapped_column(Money)
    amount: Mapped[int] = mapped_column(Money)  # what is reimbursed: the invoice's open amount on chain
    seller_name: Mapped[str] = mapped_column(String(200), default="")
    seller_tax_id: Mapped[str] = mapped_column(String(20), default="")
    category: Mapped[str] = mapped_column(String(16), index=True)
    purpose: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(12))  # elements document pdf
    verification: Mapped[str] = mapped_column(Text)  # JSON: the checks made at submission
    buyer_salt: Mapped[str] = mapped_column(String(66))  # the buyer proof markClaimed needs
    buyer_tag: Mapped[str] = mapped_column(String(66))
    status: Mapped[str] = mapped_column(String(12), index=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reject_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    claim_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    payment_list_id: Mapped[int | None] = mapped_column(ForeignKey("payment_lists.id"), nullable=True, index=True)

    employee = relationship("User", foreign_keys=[employee_id])
    approver = relationship("User", foreign_keys=[decided_by])
    payment_list = relationship("PaymentList", back_populates="claims")


class PaymentList(db.Model):
    """Approved claims collected for payment (待支付清单): ``document`` is the list as JSON,
    ``list_hash`` its keccak-256, registered on chain with the total; then marked paid."""
    __tablename__ = "payment_lists"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_tax_id: Mapped[str] = mapped_column(String(20), index=True)
    list_hash: Mapped[str] = mapped_column(String(66), unique=True)
    document: Mapped[str] = mapped_column(Text)
    total: Mapped[int] = mapped_column(Money)
    claim_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), index=True)  # registered paid
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    register_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    payment_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    pay_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)

    claims = relationship("ExpenseClaim", back_populates="payment_list", order_by="ExpenseClaim.id")
    creator = relationship("User")
