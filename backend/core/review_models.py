"""An auditor's review of a flagged invoice as the platform keeps it: the decision and preset
reason code the chain records, and the reason in the auditor's own words, which the chain
does not hold. Imported by backend.core.models, so ``from backend.core.models import
ReviewNote`` works."""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import db
from .models import utcnow


class ReviewNote(db.Model):
    __tablename__ = "review_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(8))  # clear | reject
    reason_code: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user = relationship("User")
