"""Login, logout, account page (API token), role checks."""
import functools

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..core.db import get_db
from ..core.models import User
from ..services import form_tokens
from .helpers import already_submitted, submitted_form_token

bp = Blueprint("auth", __name__, url_prefix="/auth")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in / 请先登录"
login_manager.session_protection = "strong"


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
    username = StringField("Username 用户名", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password 密码", validators=[DataRequired(), Length(max=200)])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for POST buttons."""


@bp.route("/login", methods=("GET", "POST"))
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = get_db().query(User).filter_by(username=form.username.data.strip()).first()
        if user is None or not user.active or not user.check_password(form.password.data):
            flash("Wrong username or password / 用户名或密码错误", "error")
        else:
            login_user(user)
            nxt = request.args.get("next", "")
            if not nxt.startswith("/") or nxt.startswith("//"):
                nxt = url_for("index")
            return redirect(nxt)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=("POST",))
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        logout_user()
    return redirect(url_for("index"))


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

        _, first = form_tokens.once(current_user, submitted_form_token(), "api_token", create)
        if first:
            token = made[0]
            flash("新令牌仅显示一次，请立即复制 New API token created; copy it now, it is shown once", "ok")
        else:  # a second token would revoke the one just shown
            already_submitted("令牌已生成（仅显示一次），未再生成；如需新令牌请刷新本页",
                              "the token was created then (shown once) and not again; reload the page for a new one")
    return render_template("auth/account.html", form=form, token=token)
