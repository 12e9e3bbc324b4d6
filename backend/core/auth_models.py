"""Tables of sign-in security (issue 14): each user's TOTP second factor, its one-time
recovery codes, and the failed-login counters behind the temporary lockout.
Imported by backend.core.models, so ``from backend.core.models import SecondFactor`` works."""
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .db import db
from .models import utcnow


class SecondFactor(db.Model):
    """A user's TOTP authenticator. ``secret`` is sealed with a key derived from SECRET_KEY
    (core.sealed): the database alone does not give it away. ``confirmed_at`` is None while
    the enrolment waits for its first code; ``last_step`` is the 30-second step of the last
    code accepted, so a code is never accepted twice."""
    __tablename__ = "second_factors"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RecoveryCode(db.Model):
    """A one-time recovery code, kept only as its keyed hash (services.two_factor)."""
    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class LoginThrottle(db.Model):
    """Failed sign-ins of one key ("user:<name>" or "address:<ip>") since ``first_failed_at``;
    ``locked_until`` is set once they reach the limit (services.login_throttle)."""
    __tablename__ = "login_throttles"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
