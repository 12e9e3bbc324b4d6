"""The alerts' workflow, for the API and the pages alike: the list with its filters, one
alert, acknowledge (open → acknowledged), resolve with a note (open or acknowledged →
resolved), assign to an auditor; the detector's settings (auditors read, the authority
changes). Auditors and the authority only; a wrong state is a 409 with what it is now."""
import json

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..core.db import get_db
from ..core.models import Alert, User, utcnow
from ..schemas.alerts import SETTINGS, AlertQuery, AssignRequest, DetectorSettingsUpdate, ResolveRequest
from ..schemas.common import ID_MAX
from . import detector
from .errors import Refused, ValidationError
from .validation import validated

READERS = ("auditor", "authority")
# what a refused action would have done (the 409's message)
ACTION_WORDS = {"acknowledge": _l("acknowledged"), "resolve": _l("resolved again"), "assign": _l("assigned")}


def _reader(user):
    if user is None or user.role not in READERS:
        raise Refused("forbidden", _("Only auditors and the authority see and handle alerts."), 403)


def query(user, args):
    """The filtered alerts, newest first: ({"alerts", "total", "page", "per_page"})."""
    _reader(user)
    f = args if isinstance(args, AlertQuery) else validated(AlertQuery, args)
    session = get_db()
    q = select(Alert)
    if f.kind:
        q = q.where(Alert.kind == f.kind)
    if f.status:
        q = q.where(Alert.status == f.status)
    if f.severity:
        q = q.where(Alert.severity == f.severity)
    if f.merchant:  # a tax ID (upper case), or the address of a seller without one
        who = f.merchant.strip()
        who = who if who.lower().startswith("0x") else who.upper()
        q = q.where(Alert.merchants.like('%"' + who.replace("%", "").replace("_", "\\_") + '"%', escape="\\"))
    if f.assignee:
        q = q.join(User, Alert.assignee_id == User.id).where(User.username == f.assignee.strip())
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = session.execute(q.order_by(Alert.created_at.desc(), Alert.id.desc())
                           .offset((f.page - 1) * f.per_page).limit(f.per_page)).scalars().all()
    users = detector.users_of(session, rows)
    return {"alerts": [detector.alert_dict(a, users=users) for a in rows], "total": total, "page": f.page,
            "per_page": f.per_page}


def get(user, alert_id):
    _reader(user)
    alert = get_db().get(Alert, alert_id) if isinstance(alert_id, int) and 0 <= alert_id <= ID_MAX else None
    if alert is None:
        raise Refused("not_found", _("No such alert."), 404)
    return alert


def as_dict(alert):
    return detector.alert_dict(alert, users=detector.users_of(get_db(), [alert]))


def _conflict(alert, action):
    return Refused("alert_state", _("Alert #%(id)s is %(status)s: it cannot be %(action)s.", id=alert.id,
                                    status=detector.STATUS_LABELS.get(alert.status, alert.status).lower(),
                                    action=ACTION_WORDS[action]), 409, extra={"alert_status": alert.status})


def acknowledge(user, alert_id):
    """open → acknowledged."""
    alert = get(user, alert_id)
    if alert.status != "open":
        raise _conflict(alert, "acknowledge")
    alert.status, alert.acknowledged_by, alert.acknowledged_at = "acknowledged", user.id, utcnow()
    get_db().commit()
    return alert


def resolve(user, alert_id, body):
    """open or acknowledged → resolved, with a note (required)."""
    alert = get(user, alert_id)
    note = validated(ResolveRequest, body if isinstance(body, dict) else _not_object()).note
    if alert.status == "resolved":
        raise _conflict(alert, "resolve")
    now = utcnow()
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = user.id, now
    alert.status, alert.resolved_by, alert.resolved_at, alert.resolution_note = "resolved", user.id, now, note
    get_db().commit()
    return alert


def assign(user, alert_id, body):
    """Give the alert to an auditor (an active user of role auditor); not once resolved."""
    alert = get(user, alert_id)
    name = validated(AssignRequest, body if isinstance(body, dict) else _not_object()).auditor
    auditor = get_db().execute(select(User).where(User.username == name)).scalar_one_or_none()
    if auditor is None or auditor.role != "auditor" or not auditor.active:
        raise ValidationError({"auditor": _("not an active auditor's username")},
                              _("“%(name)s” is not an active auditor: alerts are assigned to auditors only.",
                                name=name))
    if alert.status == "resolved":
        raise _conflict(alert, "assign")
    alert.assignee_id = auditor.id
    get_db().commit()
    return alert


def _not_object():
    raise ValidationError({"body": _("must be a JSON object")}, _("The body must be a JSON object."))


def auditors():
    """Usernames an alert may be assigned to."""
    return get_db().execute(select(User.username).where(User.role == "auditor", User.active.is_(True))
                            .order_by(User.username)).scalars().all()


# ------------------------------------------------------------------ the detector's settings
def settings(user):
    _reader(user)
    return {"settings": detector.load_settings(get_db()), "defaults": dict(detector.DEFAULTS),
            "descriptions": {name: str(spec[4]) for name, spec in SETTINGS.items()}}


def change_settings(user, body):
    """The authority changes thresholds (only those sent); the pairs that go together are
    checked against the values in force."""
    if user is None or user.role != "authority":
        raise Refused("forbidden", _("Only the authority changes the detector's thresholds."), 403)
    if not isinstance(body, dict):
        _not_object()
    req = validated(DetectorSettingsUpdate, body)
    changes = {k: v for k, v in req.model_dump(exclude_unset=True).items() if v is not None}
    merged = {**detector.load_settings(get_db()), **changes}
    if merged["circular_min_length"] > merged["circular_max_length"]:
        raise ValidationError({"circular_min_length": _("must not be above the longest cycle (%(longest)s)",
                                                        longest=merged["circular_max_length"])})
    if merged["night_start_hour"] == merged["night_end_hour"] % 24:
        raise ValidationError({"night_end_hour": _("must differ from the start of the night hours (%(start)s)",
                                                   start=merged["night_start_hour"])})
    if "disabled_rules" in changes:
        changes["disabled_rules"] = sorted(set(changes["disabled_rules"]))
    detector.save_settings(get_db(), user, json.loads(json.dumps(changes)))
    return settings(user)
