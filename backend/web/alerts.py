"""Auditors and the authority: the anomaly detector's alerts (异常预警) — the list with its
filters, one alert with its evidence and the workflow forms (acknowledge, resolve with a
note, assign to an auditor) — and the detector's thresholds (the authority changes them,
auditors read them)."""
import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..schemas.alerts import KINDS, SETTINGS, AlertQuery
from ..services import alerts, detector
from ..services.errors import ValidationError
from ..services.validation import validated
from .auth import EmptyForm, roles_required
from .helpers import explained_refusals, form_int, page_args

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
FILTERS = ("kind", "status", "severity", "merchant", "assignee")
DONE = {"ack": "已确认预警 Alert acknowledged", "resolve": "已解决预警 Alert resolved",
        "assign": "已分配预警 Alert assigned"}
# the evidence's figures in words (Chinese, then English); money in fen is shown in yuan
EVIDENCE_WORDS = {
    "buyer_tax_id": "购买方税号 Buyer tax ID", "buyer_name": "购买方 Buyer", "count": "张数 Invoices",
    "total_gross": "合计 Total", "invoice_cap": "单张限额 Per-invoice cap", "cap_percent": "限额百分比 % of cap",
    "smallest_gross": "最小金额 Smallest", "largest_gross": "最大金额 Largest", "first_at": "最早 First",
    "last_at": "最晚 Last", "span_minutes": "跨度（分钟）Span (minutes)", "window_minutes": "窗口（分钟）Window (minutes)",
    "day": "日期 Day", "gross": "金额 Gross", "baseline_days": "基线天数 Baseline days",
    "median_count": "基线中位数（张）Median count", "mad_count": "MAD（张）MAD count",
    "median_gross": "基线中位数（金额）Median gross", "mad_gross": "MAD（金额）MAD gross",
    "mean_count": "基线均值（张）Mean count", "mean_gross": "基线均值（金额）Mean gross",
    "z_count": "稳健 z（张数）Robust z, count", "z_gross": "稳健 z（金额）Robust z, gross",
    "spike_in": "激增项 Spike in", "invoices_listed": "列出张数 Invoices listed", "cycle": "环 Cycle",
    "length": "环长 Length", "legs": "各环 Legs", "window_days": "窗口（天）Window (days)",
    "smallest_leg_gross": "最小一环 Smallest leg", "largest_leg_gross": "最大一环 Largest leg",
    "month": "月份 Month", "invoices": "张数 Invoices", "voided": "作废 Voided", "red_lettered": "红冲 Red-lettered",
    "red_letter_notes": "红字发票 Red-letter notes", "ratio": "比例 Ratio", "threshold_percent": "阈值 % Threshold %",
    "quiet_days": "休眠天数 Quiet days", "last_before": "此前最后开票 Last before", "last_before_number":
    "此前最后一张 Last invoice before", "burst_from": "突增开始 Burst from", "burst_days": "突增窗口（天）Burst days",
    "round": "整数金额张数 Round", "share": "占比 Share", "unit_fen": "整数单位 Round unit", "at_night": "夜间张数 At night",
    "hours": "时段 Hours", "times": "开票时间 Times", "buyers": "购买方数 Buyers", "top_buyer": "最大购买方 Top buyer",
    "top_buyer_name": "最大购买方名称 Top buyer's name", "top_buyer_invoices": "最大购买方张数 Top buyer's invoices",
    "top_buyer_gross": "最大购买方金额 Top buyer's gross",
}
MONEY_KEYS = {"total_gross", "invoice_cap", "smallest_gross", "largest_gross", "gross", "median_gross", "mad_gross",
              "mean_gross", "smallest_leg_gross", "largest_leg_gross", "unit_fen", "top_buyer_gross"}
NUMBER_RE = re.compile(r"^[0-9]{1,6}(\.[0-9]{1,4})?$")


@bp.app_template_global("alert_words")
def alert_words():
    return {"kinds": detector.KIND_LABELS, "severities": detector.SEVERITY_LABELS, "statuses": detector.STATUS_LABELS,
            "evidence": EVIDENCE_WORDS, "money": MONEY_KEYS}


@bp.route("")
@roles_required("auditor", "authority")
def index():
    page, per = page_args()
    args = {k: request.args.get(k, "").strip() for k in FILTERS}
    try:
        f = validated(AlertQuery, {**{k: v for k, v in args.items() if v}, "page": page, "per_page": per})
    except ValidationError as exc:
        flash("筛选条件有误，已忽略 A filter was not valid and is left out: " + "; ".join(exc.fields), "error")
        args = {k: v for k, v in args.items() if k not in exc.fields}
        f = validated(AlertQuery, {**{k: v for k, v in args.items() if v}, "page": page, "per_page": per})
    found = alerts.query(current_user, f)
    return render_template("alerts/list.html", rows=found["alerts"], total=found["total"], page=page,
                           pages=max(1, -(-found["total"] // per)), args=request.args, kept=args, kinds=KINDS)


@bp.route("/<int:alert_id>")
@roles_required("auditor", "authority")
def detail(alert_id):
    with explained_refusals():
        alert = alerts.as_dict(alerts.get(current_user, alert_id))
        return render_template("alerts/detail.html", a=alert, form=EmptyForm(), auditors=alerts.auditors())
    abort(404)


@bp.post("/<int:alert_id>/<action>")
@roles_required("auditor", "authority")
def act(alert_id, action):
    if action not in DONE:
        abort(404)
    if EmptyForm().validate_on_submit():
        with explained_refusals():
            if action == "ack":
                alerts.acknowledge(current_user, alert_id)
            elif action == "resolve":
                alerts.resolve(current_user, alert_id, {"note": request.form.get("note", "")})
            else:
                alerts.assign(current_user, alert_id, {"auditor": request.form.get("auditor", "")})
            flash(f"{DONE[action]}（#{alert_id}）", "ok")
    else:
        flash("表单已过期，请重试。The form expired: please try again.", "error")
    return redirect(url_for("alerts.detail", alert_id=alert_id))


def _settings_body(form):
    """The settings form as the API's body: numbers as numbers (what is not a number is sent
    as typed: the validation names the field), the rule checkboxes, the addresses one a line."""
    body = {}
    for name, (_, _, _, kind, _) in SETTINGS.items():
        if kind == "kinds":
            body[name] = [k for k in form.getlist(name) if k]
        elif kind == "emails":
            body[name] = [line.strip() for line in form.get(name, "").replace(",", "\n").splitlines() if line.strip()]
        elif form.get(name, "").strip():
            text = form[name].strip().replace(",", "")
            if kind is int:
                body[name] = form_int(text) if form_int(text) is not None else text
            else:
                body[name] = float(text) if NUMBER_RE.match(text) else text
    return body


@bp.route("/settings", methods=("GET", "POST"))
@roles_required("auditor", "authority")
def settings():
    form = EmptyForm()
    if request.method == "POST":
        if current_user.role != "authority":
            abort(403)
        if form.validate_on_submit():
            with explained_refusals():
                alerts.change_settings(current_user, _settings_body(request.form))
                flash("检测阈值已保存。The detector's thresholds are saved.", "ok")
                return redirect(url_for("alerts.settings"))
    current = alerts.settings(current_user)
    return render_template("alerts/settings.html", form=form, s=current["settings"], defaults=current["defaults"],
                           specs=SETTINGS, kinds=KINDS, editable=current_user.role == "authority")
