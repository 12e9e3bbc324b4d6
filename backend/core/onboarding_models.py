"""The business-licence file a merchant uploads with its application (self-service
onboarding, services.onboarding): kept in the database, not on disk, so every process and
a backup see it; only PDF, PNG and JPEG files recognised by their first bytes, at most
LICENCE_MAX_BYTES."""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .db import db
from .models import utcnow


class MerchantLicence(db.Model):
    """One uploaded licence file; an application made again after a rejection adds a new one
    (the newest is the application's)."""
    __tablename__ = "merchant_licences"
    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))  # as the applicant named it, for the download's name
    content_type: Mapped[str] = mapped_column(String(32))  # what the bytes are, not what the browser said
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
