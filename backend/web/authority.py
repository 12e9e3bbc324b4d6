"""Authority: merchants (approve / reject / suspend / reinstate / limits / number
ranges), audit parameters."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..chain.errors import ChainError
from ..core.db import get_db
from ..core.models import Merchant, User
from ..schemas.merchants import DEFAULT_LIMITS
from ..services import form_tokens, merchants, numbering, onboarding
from .auth import EmptyForm, roles_required
from .helpers import already_submitted, explained_refusals, flash_error, form_int, parse_yuan, submitted_form_token

bp = Blueprint("admin", __name__, url_prefix="/admin")
ACTION_WORDS = {"approve": "已批准并分配号段", "reject": "已拒绝", "suspend": "已暂停", "reinstate": "已恢复",
                "limits": "限额已更新", "numbers": "已分配新号段"}


@bp.route("/merchants", endpoint="merchants")
@roles_required("authority")
def merchants_page():
    rows = get_db().query(Merchant).order_by(Merchant.status, Merchant.id).all()
    ranges = {m.id: numbering.range_of(m.user.address) for m in rows if m.user.address}
    return render_template("admin/merchants.html", rows=rows, form=EmptyForm(), defaults=DEFAULT_LIMITS,
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
                flash(f"{name}：{ACTION_WORDS.get(action, action)}。操作成功 {action} done.", "ok")
            else:
                already_submitted(f"{name or ''}{ACTION_WORDS.get(action, action)}，未重复操作",
                                  f"{action} was done then, not again")
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
            flash("Audit parameters saved on chain. 审计参数已更新", "ok")
            return redirect(url_for("admin.parameters"))
        except ValueError:
            flash("Numbers only. 请输入整数", "error")
        except Exception as exc:  # noqa: BLE001
            if not flash_error(exc):
                raise
    try:
        params = merchants.audit_parameters()
    except ChainError as exc:
        flash(f"Chain unavailable: {exc}", "error")
        params = None
    return render_template("admin/parameters.html", form=form, params=params, all_rates=list(range(0, 24)))


@bp.route("/users", methods=("GET",))
@roles_required("authority")
def users():
    rows = get_db().query(User).order_by(User.role, User.username).all()
    roles = {}
    try:
        for u in rows:
            roles[u.id] = merchants.chain_role_of(u)
    except ChainError as exc:
        flash(f"Chain unavailable: {exc}", "error")
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
            flash(f"{user.username}：链上角色已{'授予' if action == 'grant' else '撤销'}。The on-chain role was "
                  f"{'granted' if action == 'grant' else 'revoked'}.", "ok")
        except Exception as exc:  # noqa: BLE001
            if not flash_error(exc):
                raise
    return redirect(url_for("admin.users"))
