"""The header's language switch: saved on the signed-in user and in a cookie (which also
serves visitors), then back to the page it was pressed on."""
from flask import Blueprint, abort, request
from flask_babel import gettext as _
from flask_login import current_user

from ..core.db import get_db
from ..core.i18n import COOKIE, LANGUAGES
from .helpers import back

bp = Blueprint("language", __name__)
COOKIE_SECONDS = 365 * 24 * 3600


@bp.route("/language", methods=("POST",))
def choose():
    language = request.form.get("lang", "")
    if language not in LANGUAGES:
        abort(400, description=_("Unknown language: choose zh (中文) or en (English)."))
    if current_user.is_authenticated:
        current_user.language = language
        get_db().commit()
    response = back("index")
    response.set_cookie(COOKIE, language, max_age=COOKIE_SECONDS, samesite="Lax", httponly=True,
                        secure=request.is_secure)
    return response
