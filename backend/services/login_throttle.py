"""Temporary lockout after failed sign-ins, per account and per client address.

Each wrong password (or wrong second-factor code) counts against the username and against
the client's address. LOGIN_LOCKOUT_FAILURES failures of an account within
LOGIN_LOCKOUT_MINUTES lock it for LOGIN_LOCKOUT_MINUTES; an address is locked after
LOGIN_LOCKOUT_ADDRESS_FAILURES (more: an office signs in from one address). While locked,
even the right password is refused. A successful sign-in clears the account's count.
Counts live in the database (login_throttles), so they hold across processes and restarts;
Flask-Limiter's per-minute limit on the login form (core.security) stays in front of this."""
from datetime import timedelta

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..core.db import get_db
from ..core.models import LoginThrottle, utcnow


def account_key(username):
    return "user:" + (username or "").strip().lower()[:64]


def address_key(address):
    return "address:" + (address or "-")[:90]


def _limits():
    cfg = current_app.config
    return {"user:": int(cfg["LOGIN_LOCKOUT_FAILURES"]), "address:": int(cfg["LOGIN_LOCKOUT_ADDRESS_FAILURES"])}


def _window():
    return timedelta(minutes=float(current_app.config["LOGIN_LOCKOUT_MINUTES"]))


def _limit_of(key):
    return next(limit for prefix, limit in _limits().items() if key.startswith(prefix))


def locked_until(username, address):
    """When the lock of this account or address ends (the later one), or None when neither is locked."""
    now = utcnow()
    keys = [k for k in (account_key(username), address_key(address)) if _limit_of(k) > 0]
    rows = get_db().query(LoginThrottle).filter(LoginThrottle.key.in_(keys)).all() if keys else []
    ends = [r.locked_until for r in rows if r.locked_until and r.locked_until > now]
    return max(ends) if ends else None


def record_failure(username, address):
    """Counts a failed sign-in; returns when the lock ends if this failure set one, else None."""
    try:
        return _count_failure(username, address)
    except IntegrityError:  # a concurrent first failure made the row: count on it
        get_db().rollback()
        return _count_failure(username, address)


def _count_failure(username, address):
    db, now, window = get_db(), utcnow(), _window()
    locked = None
    for key in (account_key(username), address_key(address)):
        limit = _limit_of(key)
        if limit <= 0:
            continue
        row = db.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, first_failed_at=now)
            db.add(row)
        if now - row.first_failed_at > window or (row.locked_until and row.locked_until <= now):
            row.failures, row.first_failed_at, row.locked_until = 0, now, None  # a new count
        row.failures += 1
        if row.failures >= limit:
            row.locked_until = now + window
            locked = max(locked or row.locked_until, row.locked_until)
    _forget_old(now - window)
    db.commit()
    return locked


def succeeded(username):
    """A successful sign-in: the account's failures are forgiven (the address's are not)."""
    db = get_db()
    row = db.get(LoginThrottle, account_key(username))
    if row is not None:
        db.delete(row)
        db.commit()


def _forget_old(before):
    """Rows whose count and lock are both over (made-up usernames would pile up otherwise)."""
    get_db().query(LoginThrottle).filter(
        LoginThrottle.first_failed_at < before,
        (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < utcnow()),
    ).delete(synchronize_session=False)
