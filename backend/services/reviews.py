"""Auditors' reviews as the platform keeps them: the chain records a decision and a preset
reason code; the platform adds the reason in the auditor's own words (required with the
preset "other"), shown on the invoice's page and in its API detail."""
from datetime import timezone

from flask_babel import gettext as _

from ..core.db import get_db
from ..core.models import ReviewNote
from .errors import ValidationError

OTHER = 5  # the preset reason "Other": says nothing without the auditor's words


def require_note(req):
    """Refuses a review whose preset reason is "other" and that has no words of its own."""
    if req.reason_code == OTHER and not req.note:
        needed = _("With the reason “Other”, write the reason in your own words.")
        raise ValidationError({"note": needed}, needed)


def record(user, inv, decision, req, tx_hash):
    get_db().add(ReviewNote(invoice_id=inv.id, user_id=user.id, decision=decision, reason_code=req.reason_code,
                            note=req.note or None, tx_hash=tx_hash))


def of_invoice(inv):
    """The reviews of ``inv``, oldest first, as dicts (the API's and the page's)."""
    rows = get_db().query(ReviewNote).filter_by(invoice_id=inv.id).order_by(ReviewNote.id).all()
    return [{"decision": r.decision, "reason_code": r.reason_code, "note": r.note,
             "auditor": r.user.username if r.user else None, "tx_hash": r.tx_hash,
             "time": int(r.created_at.replace(tzinfo=timezone.utc).timestamp())} for r in rows]  # as the timeline
