"""Authority: merchants (approve / reject / suspend / reinstate / limits / number
ranges), audit parameters."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..chain.errors import ChainError
from ..core.db import get_db
from ..core.models import Merchant, User
from ..schemas.merchants import DEFAULT_LIMITS
from ..services import form_tokens, merchants, numbering, onboarding
from .auth import EmptyForm, roles_required
from .helpers import already_submitted, explained_refusals, flash_error, form_int, parse_yuan, submitted_form_token

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _done(action, name):
    """What a decision on merchant ``name`` did, in words."""
    return {"approve": _("%(name)s: approved, and an invoice number range allocated.", name=name),
            "reject": _("%(name)s: rejected.", name=name), "suspend": _("%(name)s: suspended.", name=name),
            "reinstate": _("%(name)s: reinstated.", name=name), "limits": _("%(name)s: limits updated.", name=name),
            "numbers": _("%(name)s: a new invoice number range allocated.", name=name)}[action]


def _done_before(action, name):
    """What the earlier submission of the same form did (nothing is done again)."""
    return {"approve": _("%(name)s was approved then, not again", name=name),
            "reject": _("%(name)s was rejected then, not again", name=name),
            "suspend": _("%(name)s was suspended then, not again", name=name),
            "reinstate": _("%(name)s was reinstated then, not again", name=name),
            "limits": _("the limits of %(name)s were updated then, not again", name=name),
            "numbers": _("a new number range was allocated to %(name)s then, not again", name=name)}[action]


@bp.route("/merchants", endpoint="merchants")
@roles_required("authority")
def merchants_page():
    rows = get_db().query(Merchant).order_by(Merchant.status, Merchant.id).all()
    ranges = {m.id: numbering.range_of(m.user.address) for m in rows if m.user.address}
    return render_template("admin/merchants.html", rows=rows, form=EmptyForm(), defaults=DEFAULT_LIMITS,
                           status_words=merchants.STATUS_WORDS,
                           ranges=ranges, range_size=current_app.config["NUMBER_RANGE_SIZE"],
                           limits=onboarding.current_limits(rows))



@bp.post("/merchants/<int:merchant_id>/<action>")
@roles_required("authority")
def decide(merchant_id, action):
    if action not in merchants.ACTIONS:
        abort(404)
    if EmptyForm().validate_on_submit():
        body = {}
        if request.form.get("reason") is not None:
            body["reason"] = request.form["reason"]
        for field in ("invoice_cap", "monthly_quota"):
            if request.form.get(field):
                body[field] = parse_yuan(request.form[field]) if parse_yuan(request.form[field]) is not None \
                    else request.form[field]
        for field in ("hourly_norm", "count"):
            if request.form.get(field):
                value = request.form[field].strip().replace(",", "")
                body[field] = form_int(value) if form_int(value) is not None else value
        token = submitted_form_token()
        with explained_refusals():
            name, first = form_tokens.once(current_user, token, f"merchant:{action}",
                                           lambda: merchants.decide(current_user, merchant_id, action, body)[0].name)
            if first:
                flash(_done(action, name), "ok")
            else:
                already_submitted(_done_before(action, name or _("the merchant")))
    return redirect(url_for("admin.merchants"))


@bp.route("/parameters", methods=("GET", "POST"))
@roles_required("authority")
def parameters():
    form = EmptyForm()
    if form.validate_on_submit():
        f = request.form
        body = {}
        try:
            body["allowed_rates"] = [int(x) for x in f.getlist("allowed_rates")]
            for k in ("backdating_window", "future_skew", "per_item_tolerance", "void_window"):
                if f.get(k, "").strip():
                    body[k] = int(f[k])
            body["paused"] = f.get("paused") == "1"
            merchants.set_audit_parameters(current_user, body)
            flash(_("Audit parameters saved on chain."), "ok")
            return redirect(url_for("admin.parameters"))
        except ValueError:
            flash(_("Whole numbers only, please."), "error")
        except Exception as exc:  # noqa: BLE001
            if not flash_error(exc):
                raise
    try:
        params = merchants.audit_parameters()
    except ChainError:
        flash(_("The chain cannot be read now: the audit parameters are not shown."), "error")
        params = None
    return render_template("admin/parameters.html", form=form, params=params, all_rates=list(range(0, 24)))


@bp.route("/users", methods=("GET",))
@roles_required("authority")
def users():
    rows = get_db().query(User).order_by(User.role, User.username).all()
    roles = {}
    try:
        for u in rows:
            info = merchants.chain_role_of(u)
            roles[u.id] = (merchants.chain_role_words(info), info[2]) if info else None
    except ChainError:
        flash(_("The chain cannot be read now: the on-chain roles are not shown."), "error")
    return render_template("admin/users.html", rows=rows, roles=roles, form=EmptyForm())


@bp.post("/users/<int:user_id>/<action>")
@roles_required("authority")
def user_role(user_id, action):
    if action not in ("grant", "revoke"):
        abort(404)
    user = get_db().get(User, user_id) if user_id < 2**31 else None  # INTEGER ids (32-bit on PostgreSQL)
    if user is None:
        abort(404)
    if EmptyForm().validate_on_submit():
        try:
            merchants.set_chain_role(current_user, user, action == "grant")
            flash(_("%(user)s: the on-chain role was granted.", user=user.username) if action == "grant"
                  else _("%(user)s: the on-chain role was revoked.", user=user.username), "ok")
        except Exception as exc:  # noqa: BLE001
            if not flash_error(exc):
                raise
    return redirect(url_for("admin.users"))
