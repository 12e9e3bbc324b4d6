"""One-time tokens of the portal's forms. A state-changing form is rendered with a fresh
random token; its action runs once per (user, token): a resubmission of the same rendered
form (Back, then the button again; a double click) is told what the first one did instead
of doing it twice. The issue and red-letter forms use the token as the invoice's
idempotency key instead (issuance.issue / red_letter), so a resubmission gets the invoice."""
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from ..core.db import get_db
from ..core.models import FormSubmission
from .errors import Refused


def idempotency_key(token):
    """The Invoice.idempotency_key of a form's token (apart from the API's own keys)."""
    return f"form:{token}" if token else None


def once(user, token, action, run):
    """``run()`` once per ``token`` of ``user``; it returns a short reference of what it
    did (a name, a number). Returns (reference, True) the first time; for a resubmission
    (the first time's reference, or None while that still runs; False). When ``run`` raises,
    the token is released, so the same form may be sent again. No token: ``run()`` as is."""
    if not token:
        return run(), True
    session = get_db()
    claim = FormSubmission(user_id=user.id, token=token, action=action)
    session.add(claim)
    try:
        session.commit()  # claimed before acting: a concurrent resubmission finds it
    except IntegrityError:
        session.rollback()
        first = session.query(FormSubmission).filter_by(user_id=user.id, token=token).one()
        if first.action != action:
            raise Refused("form_token_reused", _("This form's token was used for another action: reload the page "
                                                 "and try again."), 409)
        return first.result_ref, False
    claim_id = claim.id
    try:
        ref = run()
    except BaseException:
        session.rollback()
        session.query(FormSubmission).filter_by(id=claim_id).delete()
        session.commit()
        raise
    claim = session.get(FormSubmission, claim_id)
    claim.result_ref = None if ref is None else str(ref)[:200]
    session.commit()
    return ref, True
