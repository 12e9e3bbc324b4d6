"""Two-factor sign-in pages: the sign-in's code step, enrolment (QR code + secret, confirmed by
a first code, recovery codes shown once), new recovery codes, turning it off (roles that may);
and the guard that keeps a signed-in authority, auditor or financier without a second factor
on the enrolment page until it has one."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..services import login_throttle, two_factor
from ..services.errors import Refused, ValidationError
from .auth import PENDING, client_address, finish_login, locked_response, pending_user, render_account

bp = Blueprint("two_factor", __name__, url_prefix="/auth/two-factor")
# what a signed-in user who must enrol may still reach (the API takes bearer tokens, not sessions)
OPEN_ENDPOINTS = {"two_factor.enrol", "two_factor.code", "auth.login", "auth.logout", "language.choose", "static"}


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])


@bp.before_app_request
def second_factor_required():
    """A signed-in user of a role that requires a second factor and has none sees only its enrolment."""
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None or request.path.startswith("/api/"):
        return None
    if current_user.is_authenticated and two_factor.is_required(current_user) and \
            not two_factor.is_enrolled(current_user):
        return redirect(url_for("two_factor.enrol"))
    return None


@bp.route("/code", methods=("GET", "POST"))
def code():
    """The sign-in's second step: a code of the authenticator app, or a recovery code."""
    user = pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash(_("Please sign in again with your username and password."), "error")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("auth/code.html", form=form), 400 if request.method == "POST" else 200
    until = login_throttle.locked_until(user.username, client_address())
    if until:
        session.pop(PENDING, None)
        return locked_response("auth/code.html", until, form=form)
    used = two_factor.verify(user, form.code.data)
    if used is None:
        until = login_throttle.record_failure(user.username, client_address())
        if until:
            session.pop(PENDING, None)
            return locked_response("auth/code.html", until, form=form)
        flash(str(two_factor.WRONG_CODE), "error")
        return render_template("auth/code.html", form=form), 400
    if used == "recovery":
        left = two_factor.recovery_codes_left(user)
        flash(_("A recovery code was used; %(left)s left. You can make new ones on the account page.", left=left),
              "ok")
    return finish_login(user, session[PENDING].get("next") or url_for("index"))


@bp.route("/enrol", methods=("GET", "POST"))
@login_required
def enrol():
    """Set-up: scan the QR code (or type the secret), then confirm with the first code."""
    if two_factor.is_enrolled(current_user):
        flash(_("The second factor is already set up."), "ok")
        return redirect(url_for("auth.account"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm(current_user, form.code.data)
        except (ValidationError, Refused) as exc:
            flash(exc.message, "error")
            status = 400
        else:
            flash(_("Two-factor sign-in is on."), "ok")
            return render_template("auth/recovery_codes.html", codes=codes)
    elif request.method == "POST":
        flash(_("Enter the 6-digit code your authenticator app shows."), "error")
        status = 400
    secret = two_factor.start_enrolment(current_user)
    return render_template("auth/enrol.html", form=form, secret=secret,
                           qr=two_factor.qr_data_uri(current_user, secret),
                           required=two_factor.is_required(current_user)), status


@bp.route("/recovery-codes", methods=("POST",))
@login_required
def recovery_codes():
    """Ten new recovery codes (the old ones stop working), with a current code as proof."""
    form = CodeForm()
    if not form.validate_on_submit() or two_factor.verify(current_user, form.code.data) is None:
        flash(_("The code is wrong or was used already: no new recovery codes were made."), "error")
        return render_account(status=400)
    return render_template("auth/recovery_codes.html", codes=two_factor.new_recovery_codes(current_user))


@bp.route("/disable", methods=("POST",))
@login_required
def disable():
    """Turns the second factor off: for roles that do not require one, with a current code."""
    form = CodeForm()
    try:
        two_factor.disable(current_user, form.code.data if form.validate_on_submit() else "")
    except (ValidationError, Refused) as exc:
        flash(exc.message, "error")
        return render_account(status=exc.status if isinstance(exc, Refused) else 400)
    flash(_("Two-factor sign-in is off."), "ok")
    return redirect(url_for("auth.account"))
