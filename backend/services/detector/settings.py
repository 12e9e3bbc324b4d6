"""The detector's thresholds: settings the authority changes (page and API), one row each in
the ``settings`` table under ``detector.<name>`` (a JSON value); a name not stored has its
default (backend.schemas.alerts.SETTINGS: each one's default, bounds, type and words)."""
import json
import logging

from sqlalchemy import select

from ...core.models import Setting, utcnow
from ...schemas.alerts import SETTINGS

log = logging.getLogger(__name__)
SETTING_PREFIX = "detector."

DEFAULTS = {name: spec[0] for name, spec in SETTINGS.items()}


def load_settings(session):
    """The thresholds in force: stored values over the defaults."""
    values = dict(DEFAULTS)
    for row in session.execute(select(Setting).where(Setting.key.like(SETTING_PREFIX + "%"))).scalars():
        name = row.key[len(SETTING_PREFIX):]
        if name in values:
            try:
                values[name] = json.loads(row.value)
            except ValueError:
                log.warning("setting %s: not JSON, default used", row.key)
    return values


def save_settings(session, user, changes):
    """Store ``changes`` (validated names and values); returns the settings in force."""
    for name, value in changes.items():
        key = SETTING_PREFIX + name
        row = session.get(Setting, key)
        if row is None:
            row = Setting(key=key)
            session.add(row)
        row.value = json.dumps(value, ensure_ascii=False)
        row.updated_by = user.id if user is not None else None
        row.updated_at = utcnow()
    session.commit()
    return load_settings(session)


