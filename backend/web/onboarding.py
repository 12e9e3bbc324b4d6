"""Self-service onboarding pages: the public merchant sign-up (rate limited), the merchant's
application with its licence file, the authority's view of an application, its new users and
its edits of a merchant's limits (services.onboarding, services.merchants)."""
import io

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_user
from limits import parse_many

from ..core import security
from ..core.db import get_db
from ..core.models import ROLE_LABELS, Merchant
from ..schemas.merchants import DEFAULT_LIMITS
from ..services import merchants, onboarding
from ..services.errors import ValidationError
from .auth import EmptyForm, roles_required
from .helpers import explained_refusals, form_int, parse_yuan

bp = Blueprint("onboarding", __name__)
SIGNUP_FIELDS = ("username", "password", "password_again", "email")
APPLICATION_FIELDS = ("name", "tax_id", "licence_number", "contact_name", "contact_phone")
NEW_USER_FIELDS = ("username", "role", "email", "company_tax_id")
LIMIT_WORDS = {"invoice_cap": _l("The per-invoice cap"), "monthly_quota": _l("The monthly quota"),
               "hourly_norm": _l("The invoices per hour")}


@bp.route("/signup", methods=("GET", "POST"))
def signup():
    """Anyone: a merchant user (then signed in, on to the application)."""
    form = EmptyForm()
    problems = {}
    if form.validate_on_submit():
        body = {k: request.form.get(k, "") for k in SIGNUP_FIELDS}
        try:
            user = onboarding.sign_up(body)
        except ValidationError as exc:
            problems = exc.fields
            flash(exc.message, "error")
        else:
            login_user(user)
            flash(_("Signed up: now send your merchant application."), "ok")
            return redirect(url_for("onboarding.apply"))
    return render_template("onboarding/signup.html", form=form, problems=problems), 400 if problems else 200


@bp.route("/onboarding/apply", methods=("GET", "POST"))
@roles_required("merchant")
def apply():
    """The merchant's application: its status (a rejection with the authority's reason) and,
    until it is pending or approved, the form with the licence upload."""
    form = EmptyForm()
    problems = {}
    if form.validate_on_submit():
        body = {k: request.form.get(k, "") for k in APPLICATION_FIELDS}
        upload = request.files.get("licence")
        data = upload.read(current_app.config["LICENCE_MAX_BYTES"] + 1) if upload else b""
        with explained_refusals(abort_statuses=()):  # refusals and chain trouble are flashed
            try:
                onboarding.apply(current_user, body, upload.filename if upload else "", data)
            except ValidationError as exc:  # marked at the form's fields
                problems = exc.fields
                flash(exc.message, "error")
            else:
                flash(_("The application was sent; the authority will review it."), "ok")
                return redirect(url_for("onboarding.apply"))
    m = current_user.merchant
    return render_template("onboarding/apply.html", form=form, merchant=m, problems=problems,
                           licence=onboarding.latest_licence(m) if m else None,
                           profile=merchants.chain_profile(m) if m and m.status != "pending" else None,
                           max_mb=current_app.config["LICENCE_MAX_BYTES"] / 1e6), 400 if problems else 200


def _merchant_or_404(merchant_id):
    m = get_db().get(Merchant, merchant_id) if merchant_id < 2**31 else None
    if m is None:
        abort(404)
    return m


@bp.route("/onboarding/licence/<int:merchant_id>")
@roles_required("authority", "merchant")
def licence(merchant_id):
    """The newest licence file of an application: to the authority and to the merchant itself.
    Served as what its bytes are; a PDF as a download."""
    m = _merchant_or_404(merchant_id)
    if current_user.role == "merchant" and m.user_id != current_user.id:
        abort(404)
    row = onboarding.latest_licence(m)
    if row is None:
        abort(404)
    response = send_file(io.BytesIO(row.data), mimetype=row.content_type, download_name=row.filename,
                         as_attachment=not row.content_type.startswith("image/"), max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/admin/applications/<int:merchant_id>")
@roles_required("authority")
def application(merchant_id):
    """An application as the authority reviews it: company, contact, the licence file."""
    m = _merchant_or_404(merchant_id)
    return render_template("onboarding/application.html", m=m, form=EmptyForm(),
                           licence=onboarding.latest_licence(m), defaults=DEFAULT_LIMITS)


@bp.post("/admin/merchants/<int:merchant_id>/limits")
@roles_required("authority")
def set_limits(merchant_id):
    """New limits of an approved merchant (yuan in the form), on chain (MerchantRegistry.setLimits)."""
    m = _merchant_or_404(merchant_id)
    if EmptyForm().validate_on_submit():
        body, problems = _limits_from_form(request.form)
        if problems:
            flash(_("%(merchant)s: %(problems)s", merchant=m.name, problems=" ".join(problems)), "error")
        else:
            with explained_refusals(abort_statuses=()):
                try:
                    merchants.decide(current_user, m.id, "limits", body)
                    flash(_("%(merchant)s: the limits were changed on chain.", merchant=m.name), "ok")
                except ValidationError as exc:
                    flash(_("%(merchant)s: %(problems)s", merchant=m.name,
                            problems=" ".join(_limit_problem(k) for k in exc.fields)), "error")
    return redirect(url_for("admin.merchants"))


def _limits_from_form(form):
    """({invoice_cap, monthly_quota (fen), hourly_norm}, [problems in words])."""
    body, problems = {}, []
    for field in ("invoice_cap", "monthly_quota"):
        fen = parse_yuan(form.get(field, ""))
        if fen is None or fen <= 0:
            problems.append(_("%(what)s must be an amount in yuan above 0.", what=LIMIT_WORDS[field]))
        body[field] = fen
    norm = form_int(form.get("hourly_norm", "").replace(",", ""))
    if norm is None or norm <= 0:
        problems.append(_("%(what)s must be a whole number above 0.", what=LIMIT_WORDS["hourly_norm"]))
    body["hourly_norm"] = norm
    if not problems and body["monthly_quota"] < body["invoice_cap"]:
        problems.append(_("The monthly quota cannot be below the per-invoice cap."))
    return body, problems


def _limit_problem(field):
    """A field the service refused (the form checked the rest): its value is out of range."""
    if field in LIMIT_WORDS:
        return _("%(what)s is out of range.", what=LIMIT_WORDS[field])
    return _("A limit is out of range.")


@bp.route("/admin/users/new", methods=("GET", "POST"))
@roles_required("authority")
def new_user():
    """The authority creates a user of any role; its first password is shown here once."""
    form = EmptyForm()
    problems, created = {}, None
    if form.validate_on_submit():
        body = {k: request.form.get(k, "") for k in NEW_USER_FIELDS}
        with explained_refusals(abort_statuses=()):  # refusals and chain trouble are flashed
            try:
                user, password, role_problem = onboarding.create_user(current_user, body)
            except ValidationError as exc:  # marked at the form's fields
                problems = exc.fields
                flash(exc.message, "error")
            else:
                created = {"user": user, "password": password, "role_problem": role_problem}
    return render_template("onboarding/new_user.html", form=form, problems=problems, created=created,
                           roles=ROLE_LABELS), 400 if problems else 200


def init_limits(app):
    """The sign-up's rate limit (SIGNUP_RATE_LIMIT per client address, every POST counted:
    a spammer's refused tries too), on the app's limiter; call after security.init_limits."""
    setting = app.config.get("SIGNUP_RATE_LIMIT")
    try:
        text = security.limit_string(setting)
        if text:
            parse_many(text)
    except ValueError as exc:
        raise RuntimeError(f"限流设置 SIGNUP_RATE_LIMIT 无效：{setting!r}。SIGNUP_RATE_LIMIT is not a rate limit "
                           f"(a number per minute, or e.g. \"10/hour\"; 0 = off): {exc}") from None
    security.LIMIT_TEXT.setdefault("signup", _l("Too many sign-ups from this address."))
    limit = security.get_limiter(app).shared_limit(lambda: security.limit_string(current_app.config.get(
        "SIGNUP_RATE_LIMIT")), scope="signup", methods=["POST"], error_message="signup")
    app.view_functions["onboarding.signup"] = limit(app.view_functions["onboarding.signup"])
