"""Auditors and the authority: the anomaly detector's alerts (异常预警) — the list with its
filters, one alert with its evidence and the workflow forms (acknowledge, resolve with a
note, assign to an auditor) — and the detector's thresholds (the authority changes them,
auditors read them)."""
import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..core.i18n import current_language

from ..schemas.alerts import KINDS, SETTINGS, AlertQuery
from ..services import alerts, detector
from ..core.i18n import Translated
from ..services.detector.base import explanation_in
from ..services.errors import ValidationError
from ..services.validation import validated
from .auth import EmptyForm, roles_required
from .helpers import explained_refusals, form_int, page_args

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
FILTERS = ("kind", "status", "severity", "merchant", "assignee")
FILTER_WORDS = {"kind": _l("kind"), "status": _l("status"), "severity": _l("severity"),
                "merchant": _l("merchant tax ID"), "assignee": _l("assignee")}
DONE = {"ack": _l("Alert acknowledged"), "resolve": _l("Alert resolved"), "assign": _l("Alert assigned")}
# the evidence's figures in words; money in fen is shown in yuan
EVIDENCE_WORDS = Translated({
    "buyer_tax_id": _l("Buyer tax ID"), "buyer_name": _l("Buyer"), "count": _l("Number of invoices"),
    "total_gross": _l("Total"), "invoice_cap": _l("Per-invoice cap"), "cap_percent": _l("Share of cap (%)"),
    "smallest_gross": _l("Smallest"), "largest_gross": _l("Largest"), "first_at": _l("First"),
    "last_at": _l("Last"), "span_minutes": _l("Span (minutes)"), "window_minutes": _l("Window (minutes)"),
    "day": _l("Day"), "gross": _l("Gross"), "baseline_days": _l("Baseline days"),
    "median_count": _l("Baseline median (invoices)"), "mad_count": _l("MAD (invoices)"),
    "median_gross": _l("Baseline median (amount)"), "mad_gross": _l("MAD (amount)"),
    "mean_count": _l("Baseline mean (invoices)"), "mean_gross": _l("Baseline mean (amount)"),
    "z_count": _l("Robust z, count"), "z_gross": _l("Robust z, gross"),
    "spike_in": _l("Spike in"), "invoices_listed": _l("Invoices listed"), "cycle": _l("Cycle"),
    "length": _l("Cycle length"), "legs": _l("Legs"), "window_days": _l("Window (days)"),
    "smallest_leg_gross": _l("Smallest leg"), "largest_leg_gross": _l("Largest leg"),
    "month": _l("Month"), "invoices": _l("Number of invoices"), "voided": _l("Voided"),
    "red_lettered": _l("Red-lettered invoices"),
    "red_letter_notes": _l("Red-letter notes"), "ratio": _l("Ratio"), "threshold_percent": _l("Threshold (%)"),
    "quiet_days": _l("Quiet days"), "last_before": _l("Last invoice date before"),
    "last_before_number": _l("Last invoice before"), "burst_from": _l("Burst from"), "burst_days": _l("Burst days"),
    "round": _l("Round amounts"), "share": _l("Share"), "unit_fen": _l("Round unit"), "at_night": _l("At night"),
    "hours": _l("Hours"), "times": _l("Times"), "buyers": _l("Number of buyers"), "top_buyer": _l("Top buyer"),
    "top_buyer_name": _l("Top buyer's name"), "top_buyer_invoices": _l("Top buyer's invoices"),
    "top_buyer_gross": _l("Top buyer's gross"),
})
# values of the evidence that are words ("spike_in": count / gross)
EVIDENCE_VALUES = Translated({"count": _l("invoice count"), "gross": _l("invoice gross")})
MONEY_KEYS = {"total_gross", "invoice_cap", "smallest_gross", "largest_gross", "gross", "median_gross", "mad_gross",
              "mean_gross", "smallest_leg_gross", "largest_leg_gross", "unit_fen", "top_buyer_gross"}
NUMBER_RE = re.compile(r"^[0-9]{1,6}(\.[0-9]{1,4})?$")


@bp.app_template_global("alert_words")
def alert_words():
    return {"kinds": detector.KIND_LABELS, "severities": detector.SEVERITY_LABELS, "statuses": detector.STATUS_LABELS,
            "evidence": EVIDENCE_WORDS, "values": EVIDENCE_VALUES, "money": MONEY_KEYS}


@bp.app_template_filter("explanation")
def explanation(text):
    """An alert's stored explanation (Chinese, then English) in the page's language."""
    return explanation_in(text, current_language())


@bp.route("")
@roles_required("auditor", "authority")
def index():
    page, per = page_args()
    args = {k: request.args.get(k, "").strip() for k in FILTERS}
    try:
        f = validated(AlertQuery, {**{k: v for k, v in args.items() if v}, "page": page, "per_page": per})
    except ValidationError as exc:
        flash(_("A filter was not valid and is left out: %(filters)s",
                filters=_list(str(FILTER_WORDS.get(k, k)) for k in exc.fields)), "error")
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
            flash(_("%(done)s (#%(id)s)", done=DONE[action], id=alert_id), "ok")
    else:
        flash(_("The form expired: please try again."), "error")
    return redirect(url_for("alerts.detail", alert_id=alert_id))


def _list(words):
    return ("、" if current_language() == "zh" else ", ").join(words)


def _problems(fields):
    """A settings form's problems, each threshold named by its words."""
    named = []
    for key, problem in fields.items():
        name = re.split(r"[.\[]", key, maxsplit=1)[0]
        words = SETTINGS[name][4] if name in SETTINGS else key
        named.append(_("%(field)s: %(problem)s", field=words, problem=problem))
    return "; ".join(named) if current_language() == "en" else "；".join(named)


def _settings_body(form):
    """The settings form as the API's body: numbers as numbers (what is not a number is sent
    as typed: the validation names the field), the rule checkboxes, the addresses one a line."""
    body = {}
    for name, spec in SETTINGS.items():
        kind = spec[3]
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
                try:
                    alerts.change_settings(current_user, _settings_body(request.form))
                except ValidationError as exc:  # each threshold named in words, not by its key
                    flash(_("Please check the thresholds: %(problems)s", problems=_problems(exc.fields)), "error")
                else:
                    flash(_("The detector's thresholds are saved."), "ok")
                    return redirect(url_for("alerts.settings"))
    current = alerts.settings(current_user)
    return render_template("alerts/settings.html", form=form, s=current["settings"], defaults=current["defaults"],
                           specs=SETTINGS, kinds=KINDS, editable=current_user.role == "authority")
