"""Two-factor sign-in: TOTP (RFC 6238, pyotp) and one-time recovery codes.

Enrolment makes a secret (kept sealed: core.sealed), shows it as a QR code and as text, and
is confirmed by a first code; then RECOVERY_CODES recovery codes are made, shown once and kept
only as keyed hashes. A code is accepted from the step before to the step after the current
one (clocks drift) and never twice (``last_step``). Accounts of REQUIRED_ROLES must enrol
before they reach any page of their role (web.two_factor); others may, from the account page.
API bearer tokens are not concerned: a token is made by a signed-in user and is its own secret."""
import hmac
import secrets
import time

import pyotp
import segno
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from ..core import sealed
from ..core.db import get_db
from ..core.models import RecoveryCode, SecondFactor, utcnow
from .errors import Refused, ValidationError

REQUIRED_ROLES = ("authority", "auditor", "financier")
ISSUER = "E-Invoice Chain"  # the name authenticator apps show beside the account
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
SECRET_PURPOSE, RECOVERY_PURPOSE = "totp-secret", "recovery-code"
WRONG_CODE = _l("The code is wrong or was used already.")  # lazy: str() it where it goes


def is_required(user):
    return user.role in REQUIRED_ROLES


def factor_of(user):
    return get_db().get(SecondFactor, user.id)


def is_enrolled(user):
    factor = factor_of(user)
    return factor is not None and factor.confirmed_at is not None


def secret_of(factor):
    """The factor's TOTP secret; None when it cannot be unsealed (SECRET_KEY changed)."""
    try:
        return sealed.unseal(factor.secret, SECRET_PURPOSE)
    except sealed.InvalidToken:
        return None


def start_enrolment(user):
    """The secret of the user's enrolment in progress (a new one unless one waits for its first
    code, so reloading the page keeps the QR code the phone may have scanned)."""
    factor = factor_of(user)
    if factor is not None and factor.confirmed_at is not None:
        raise Refused("already_enrolled", _("The second factor is already set up."), status=409)
    secret = secret_of(factor) if factor is not None else None
    if secret is None:
        secret = pyotp.random_base32()
        if factor is None:
            factor = SecondFactor(user_id=user.id)
            get_db().add(factor)
        factor.secret = sealed.seal(secret, SECRET_PURPOSE)
        try:
            get_db().commit()
        except IntegrityError:  # the same page opened twice at once: the other one's secret
            get_db().rollback()
            return start_enrolment(user)
    return secret


def provisioning_uri(user, secret):
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_data_uri(user, secret):
    """The otpauth:// link as an SVG QR code in a data: URI (the CSP allows data: images)."""
    return segno.make(provisioning_uri(user, secret), error="m").svg_data_uri(scale=5, border=4)


def confirm(user, code):
    """Confirms the enrolment with its first code; returns the new recovery codes (shown once)."""
    factor = factor_of(user)
    if factor is None or factor.confirmed_at is not None:
        raise Refused("no_enrolment", _("There is no set-up to confirm: start again."), status=409)
    if not _totp_matches(factor, code):
        raise ValidationError({"code": str(WRONG_CODE)}, message=str(WRONG_CODE))
    factor.confirmed_at = utcnow()
    return new_recovery_codes(user)


def verify(user, code):
    """The sign-in's second step: "totp" or "recovery" (that recovery code is spent) when
    ``code`` is right, None otherwise."""
    factor = factor_of(user)
    if factor is None or factor.confirmed_at is None:
        return None
    if _totp_matches(factor, code):
        get_db().commit()
        return "totp"
    row = get_db().query(RecoveryCode).filter_by(code_hash=_recovery_hash(user, code), used_at=None).first()
    if row is None:
        return None
    row.used_at = utcnow()
    get_db().commit()
    return "recovery"


def _totp_matches(factor, code):
    """The code of the previous, current or next 30-second step, newer than the last one used
    (which it then becomes)."""
    code = "".join((code or "").split())
    secret = secret_of(factor)
    if secret is None or len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    totp = pyotp.TOTP(secret)
    now = totp.timecode(time.time())
    for step in (now - 1, now, now + 1):
        if (factor.last_step is None or step > factor.last_step) and \
                hmac.compare_digest(totp.generate_otp(step), code):
            factor.last_step = step
            return True
    return False


def _normal_recovery(code):
    return "".join(c for c in (code or "").lower() if c.isalnum())


def _recovery_hash(user, code):
    return sealed.keyed_hash(f"{user.id}:{_normal_recovery(code)}", RECOVERY_PURPOSE)


def new_recovery_codes(user):
    """RECOVERY_CODES fresh codes ("xxxxx-xxxxx") replacing the old ones; commits."""
    db = get_db()
    db.query(RecoveryCode).filter_by(user_id=user.id).delete()
    codes = []
    for _n in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _c in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user, raw)))
    db.commit()
    return codes


def recovery_codes_left(user):
    return get_db().query(RecoveryCode).filter_by(user_id=user.id, used_at=None).count()


def reset(user):
    """The operator's reset (a lost phone, a changed SECRET_KEY): the factor and the recovery codes
    are gone; a role that requires one enrols again after its next password."""
    db = get_db()
    db.query(RecoveryCode).filter_by(user_id=user.id).delete()
    db.query(SecondFactor).filter_by(user_id=user.id).delete()
    db.commit()


def disable(user, code):
    """Turns the second factor off (not for REQUIRED_ROLES), with a current code as proof."""
    if is_required(user):
        raise Refused("second_factor_required", _("Your role requires a second factor."), status=403)
    if verify(user, code) is None:
        raise ValidationError({"code": str(WRONG_CODE)}, message=str(WRONG_CODE))
    reset(user)


def enrol_with_secret(user, secret):
    """Dev seeding: ``user`` enrolled with a known secret (kept when it is the same)."""
    factor = factor_of(user)
    if factor is None:
        factor = SecondFactor(user_id=user.id)
        get_db().add(factor)
    if factor.secret is None or secret_of(factor) != secret:
        factor.secret, factor.last_step = sealed.seal(secret, SECRET_PURPOSE), None
    factor.confirmed_at = factor.confirmed_at or utcnow()
