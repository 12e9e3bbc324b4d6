"""The checks made when an expense claim is submitted, in the reader's language: each check
is stored with the key of its text (``about``), so a claim shows its verification in the
language of whoever reads it (claims stored before keep the text they were stored with)."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .verification import VERIFY_DETAIL, VERIFY_LABELS

# the text of each check made at submission, by its key (stored with the check: shown in the reader's language)
CHECK_DETAILS = {"doc_matches": _l("The document matches the one registered on chain."),
                 "doc_differs": _l("The document differs from the one registered on chain (tampered)."),
                 "not_claimed": _l("Not claimed for reimbursement before (on chain)."),
                 "buyer_ok": _l("The invoice is addressed to this company."),
                 "buyer_not": _l("The invoice is not addressed to this company.")}


def check_detail(about):
    if about.startswith("result:"):
        return str(VERIFY_DETAIL.get(about[7:], about[7:]))
    return str(CHECK_DETAILS.get(about, about))


def shown_verification(stored):
    """A stored verification in the reader's language (texts of checks recorded with their
    ``about`` key; older records keep the text they were stored with)."""
    out = dict(stored)
    result = stored.get("result")
    if result in VERIFY_LABELS:
        out["label"] = str(VERIFY_LABELS[result])
    if result in VERIFY_DETAIL:
        out["detail"] = str(VERIFY_DETAIL[result])
    elif result == "tampered":
        out["detail"] = _("The document was altered.")
    out["checks"] = shown_checks(stored.get("checks") or ())
    return out


def shown_checks(checks):
    return [{"check": c.get("check"), "ok": c.get("ok"),
             "detail": check_detail(c["about"]) if c.get("about") else c.get("detail")} for c in checks]
