"""Login (password step; the second factor's step is web.two_factor), logout, account page
(API token, password change, second factor), role checks."""
import functools
import time
from datetime import timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..core.db import get_db
from ..core.models import User
from ..services import form_tokens, login_throttle, passwords, two_factor
from ..services.errors import ValidationError
from .helpers import already_submitted, china_time, submitted_form_token

bp = Blueprint("auth", __name__, url_prefix="/auth")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in first.")
login_manager.session_protection = "strong"
PENDING = "pending_login"  # session key: the user who passed the password step, awaiting the code
PENDING_SECONDS = 300  # how long the code step waits after the password step


def init_app(app):
    login_manager.init_app(app)


@login_manager.user_loader
def load_user(user_id):
    user = get_db().get(User, int(user_id))
    return user if user and user.active else None


def roles_required(*roles):
    """Logged-in user with one of ``roles`` (403 otherwise)."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    new_password_again = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=200)])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for POST buttons."""


def client_address():
    return request.remote_addr or "-"


def safe_next(target):
    """A local path to go on to after signing in (never another site)."""
    target = target or ""
    return target if target.startswith("/") and not target.startswith("//") else url_for("index")


def locked_response(template, until, **context):
    """The page (429) that says until when signing in is locked."""
    ends = until.replace(tzinfo=timezone.utc).timestamp()
    flash(_("Too many failed sign-ins: signing in is locked until %(time)s China time (UTC+8).",
            time=china_time(ends)), "error")
    seconds = max(1, int(ends - time.time()))
    return render_template(template, **context), 429, {"Retry-After": str(seconds)}


def finish_login(user, nxt):
    """Signs ``user`` in (every step passed) and goes on; a role that needs a second factor and
    has none goes to its enrolment first."""
    session.pop(PENDING, None)
    login_user(user)
    login_throttle.succeeded(user.username)
    if two_factor.is_required(user) and not two_factor.is_enrolled(user):
        return redirect(url_for("two_factor.enrol"))
    return redirect(nxt)


@bp.route("/login", methods=("GET", "POST"))
def login():
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip()
        until = login_throttle.locked_until(username, client_address())
        if until:
            return locked_response("auth/login.html", until, form=form)
        user = get_db().query(User).filter_by(username=username).first()
        if user is None or not user.active or not user.check_password(form.password.data):
            until = login_throttle.record_failure(username, client_address())
            if until:
                return locked_response("auth/login.html", until, form=form)
            flash(_("Wrong username or password."), "error")
        elif two_factor.is_enrolled(user):  # the count is forgiven only once the code is right too
            session[PENDING] = {"user": user.id, "at": int(time.time()), "next": safe_next(request.args.get("next"))}
            return redirect(url_for("two_factor.code"))
        else:
            return finish_login(user, safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


def pending_user():
    """The user who passed the password step in this session less than PENDING_SECONDS ago, or None."""
    pending = session.get(PENDING) or {}
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = get_db().get(User, pending.get("user") or 0)
    return user if user is not None and user.active else None


@bp.route("/logout", methods=("POST",))
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        logout_user()
        session.pop(PENDING, None)
    return redirect(url_for("index"))


def render_account(token=None, password_form=None, status=200):
    return render_template("auth/account.html", form=EmptyForm(), token=token,
                           password_form=password_form or PasswordForm(), code_form=EmptyForm(),
                           enrolled=two_factor.is_enrolled(current_user),
                           required=two_factor.is_required(current_user),
                           codes_left=two_factor.recovery_codes_left(current_user)), status


@bp.route("/account", methods=("GET", "POST"))
@login_required
def account():
    form = EmptyForm()
    token = None
    if form.validate_on_submit():
        made = []

        def create():
            made.append(current_user.new_api_token())
            get_db().commit()
            return "api_token"

        _ref, first = form_tokens.once(current_user, submitted_form_token(), "api_token", create)
        if first:
            token = made[0]
            flash(_("A new API token was made: copy it now, it is shown only once."), "ok")
        else:  # a second token would revoke the one just shown
            already_submitted(_("the token was made then (shown once) and not again; reload the page for a new one"))
    return render_account(token=token)


@bp.route("/password", methods=("POST",))
@login_required
def change_password():
    """The account page's password change: the current password, then the new one twice."""
    form = PasswordForm()
    if not form.validate_on_submit():
        flash(_("Fill in the current password and the new one twice."), "error")
        return render_account(password_form=form, status=400)
    try:
        if form.new_password.data != form.new_password_again.data:
            raise ValidationError({"new_password_again": _("The two new passwords differ.")})
        passwords.change_password(current_user, form.current_password.data, form.new_password.data)
    except ValidationError as exc:
        get_db().rollback()
        flash(" ".join(exc.fields.values()), "error")
        return render_account(password_form=form, status=400)
    get_db().commit()
    flash(_("Your password was changed."), "ok")
    return redirect(url_for("auth.account"))
