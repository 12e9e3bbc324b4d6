"""Receivables portal (应收账款): a supplier's receivables (drawn on its invoices, created
from the invoice page), one receivable's page for every party with only the actions its
state and the caller's part allow, a debtor's receivables to accept and payables, a
financier's offers and portfolio, the caller's settlement-token balance (and the dev faucet)."""
from datetime import datetime, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..chain.errors import ChainError
from ..core import canonical
from ..core.db import get_db
from ..core.models import User
from ..schemas.receivables import MAX_PARTS
from ..services import form_tokens, receivable_views, receivables
from ..services.errors import Refused, ValidationError
from .auth import EmptyForm, roles_required
from .helpers import already_submitted, flash_error, form_int, parse_yuan, submitted_form_token

bp = Blueprint("receivables", __name__, url_prefix="/receivables")

DEFAULT_TERM_DAYS = 30
NOT_YOURS = ("forbidden", "ReceivableNotFound")  # refusals that end the request (403 / 404), not a flash
PAYABLE = ("accepted", "offered", "pledged", "overdue", "defaulted")
FINANCED = ("pledged", "overdue", "defaulted")
# what each action did: (the flash after it, the words of a resubmission "… then, not again")
DONE = {
    "accept": (_l("Receivable accepted."), _l("the receivable was accepted then, not again")),
    "decline": (_l("Receivable declined."), _l("the receivable was declined then, not again")),
    "cancel": (_l("Receivable cancelled."), _l("the receivable was cancelled then, not again")),
    "transfer": (_l("Receivable transferred."), _l("the receivable was transferred then, not again")),
    "split": (_l("Receivable split."), _l("the receivable was split then, not again")),
    "pledge": (_l("Offered as a pledge."), _l("it was offered as a pledge then, not again")),
    "withdraw-pledge": (_l("Pledge offer withdrawn."), _l("the pledge offer was withdrawn then, not again")),
    "finance": (_l("Financed: the advance was paid."), _l("it was financed then, not again")),
    "decline-pledge": (_l("Pledge offer declined."), _l("the pledge offer was declined then, not again")),
    "release": (_l("Pledge released."), _l("the pledge was released then, not again")),
    "settle": (_l("Payment made."), _l("the payment was made then, not again")),
    "mark-overdue": (_l("Marked overdue."), _l("it was marked overdue then, not again")),
    "mark-defaulted": (_l("Declared in default."), _l("it was declared in default then, not again")),
}


# ------------------------------------------------------------------------ template helpers
@bp.app_template_filter("yuan_input")
def yuan_input(fen):
    """Fen as the text of a yuan input: 123456 → '1234.56' (no ¥, no commas)."""
    fen = max(int(fen or 0), 0)
    return f"{fen // 100}.{fen % 100:02d}"


@bp.app_template_filter("receivable_status")
def status_label(status):
    """A receivable status in words, in the page's language: 'accepted' → '已确认' / 'Accepted'."""
    return receivable_views.STATUS_LABELS.get(status, status)


@bp.app_template_global("receivable_default_due")
def default_due():
    """The due date a new receivable's form proposes: DEFAULT_TERM_DAYS from today, China time."""
    return (datetime.now(canonical.CHINA) + timedelta(days=DEFAULT_TERM_DAYS)).date().isoformat()


# ------------------------------------------------------------------------ form input
def _fen(name, words, optional=False):
    """A yuan field of the posted form in fen (ValidationError when it is not an amount);
    ``words``: the field's name in words (lazy)."""
    text = request.form.get(name, "").strip()
    if optional and not text:
        return 0
    fen = parse_yuan(text)
    if fen is None:
        raise ValidationError({name: _("an amount in yuan, e.g. 100.00")},
                              _("%(field)s: enter an amount in yuan, e.g. 100.00.", field=words))
    return fen


def _split_body():
    amounts = [a for a in request.form.getlist("amounts") if a.strip()]
    fen = [parse_yuan(a) for a in amounts]
    if any(f is None for f in fen):
        raise ValidationError({"amounts": _("amounts in yuan, e.g. 100.00")},
                              _("Enter each part as an amount in yuan, e.g. 100.00."))
    return {"amounts": fen}


def _pledge_body():
    other = request.form.get("financier_other", "").strip()
    return {"financier": other or request.form.get("financier", "").strip()}


BODIES = {
    "transfer": lambda: {"to": request.form.get("to", "").strip()},
    "split": _split_body,
    "pledge": _pledge_body,
    "finance": lambda: {"advance": _fen("advance", _l("Advance")),
                        "fee": _fen("fee", _l("Fee"), optional=True)},
    "settle": lambda: {"amount": _fen("amount", _l("Payment amount"))},
}
FUNCTIONS = {
    "accept": receivables.accept, "decline": receivables.decline, "cancel": receivables.cancel,
    "transfer": receivables.transfer, "split": receivables.split, "pledge": receivables.pledge,
    "withdraw-pledge": receivables.withdraw_pledge, "finance": receivables.finance,
    "decline-pledge": receivables.decline_pledge, "release": receivables.release, "settle": receivables.settle,
    "mark-overdue": receivables.mark_overdue, "mark-defaulted": receivables.mark_defaulted,
}


def _next(default):
    """Where to go after a form: its ``next`` field when it is a page of this portal."""
    nxt = request.form.get("next", "")
    if nxt.startswith(("/receivables", "/invoices/")) and not nxt.startswith("//") and "\\" not in nxt:
        return redirect(nxt)
    return redirect(default)


def _refused(exc):
    """A refusal of an action: 403/404 end the request (not one's receivable); the rest are flashed."""
    if isinstance(exc, Refused) and exc.code in NOT_YOURS:
        abort(exc.status)
    if not flash_error(exc):
        raise exc


# ------------------------------------------------------------------------ reads
def _balance():
    """The caller's settlement-token balance, or None (no address, or the chain unavailable)."""
    try:
        return receivables.balance(current_user)
    except (Refused, ChainError) as exc:
        current_app.logger.info("balance: %s", exc)
        return None


def _financiers():
    """The platform's financiers for the pledge form: [(username, address)]."""
    rows = (get_db().query(User).filter(User.role == "financier", User.active.is_(True), User.address.isnot(None))
            .order_by(User.username).all())
    return [(u.username, u.address) for u in rows]


def _visible(rid):
    try:
        return receivable_views.find_visible(current_user, rid)
    except Refused as exc:
        abort(exc.status)


# ------------------------------------------------------------------------ pages
@bp.route("/", endpoint="mine")
@login_required
def mine():
    """我的应收账款: the ones the caller holds, and the ones it created (drew on its invoices)."""
    status = request.args.get("status") or None
    if status not in receivable_views.STATUS_LABELS:
        status = None
    held = receivable_views.listing(current_user, "holder", status)
    created = [r for r in receivable_views.listing(current_user, "creditor", status)
               if r["holder"] != current_user.address]
    return render_template("receivables/mine.html", held=held, created=created, status=status,
                           labels=receivable_views.STATUS_LABELS, form=EmptyForm())


@bp.route("/to-accept", endpoint="to_accept")
@login_required
def to_accept():
    """待确认: receivables drawn on the caller (the debtor) waiting for its answer."""
    rows = receivable_views.listing(current_user, "debtor", "created")
    return render_template("receivables/debtor.html", view="to_accept", rows=rows, balance=_balance(),
                           faucet=receivables.faucet_allowed(current_user), form=EmptyForm())


@bp.route("/payables", endpoint="payables")
@login_required
def payables():
    """应付账款: what the caller owes (accepted and later, not settled), soonest due first."""
    rows = [r for r in receivable_views.listing(current_user, "debtor") if r["status"] in PAYABLE]
    waiting = len(receivable_views.listing(current_user, "debtor", "created"))
    return render_template("receivables/debtor.html", view="payables", rows=rows, balance=_balance(),
                           faucet=receivables.faucet_allowed(current_user), waiting=waiting, form=EmptyForm())


@bp.route("/offers", endpoint="offers")
@login_required
def offers():
    """融资申请: pledges offered to the caller (a financier), to finance or decline."""
    rows = receivable_views.listing(current_user, "financier", "offered")
    return render_template("receivables/offers.html", rows=rows, balance=_balance(), form=EmptyForm())


@bp.route("/portfolio", endpoint="portfolio")
@login_required
def portfolio():
    """融资组合: exposure by debtor, maturity ladder by month, the financed and the overdue ones."""
    book = receivable_views.portfolio(current_user)
    rows = [r for r in receivable_views.listing(current_user, "financier") if r["status"] in FINANCED]
    top = max([v for _, v in book["ladder"]] + [v for _, v in book["exposure"]] + [1])
    return render_template("receivables/portfolio.html", book=book, rows=rows, top=top,
                           overdue=[r for r in rows if r["status"] in ("overdue", "defaulted")],
                           total=sum(v for _, v in book["exposure"]), balance=_balance(), form=EmptyForm())


@bp.route("/<rid>", endpoint="detail")
@login_required
def detail(rid):
    """One receivable for any of its parties: state, lineage, timeline, the caller's actions."""
    row = _visible(rid)
    data = receivable_views.as_dict(row, current_user)
    actions = data["actions"]
    parts = form_int(request.args.get("parts"), 2) or 2
    parts = min(max(parts, 2), MAX_PARTS)
    return render_template("receivables/detail.html", r=data, tree=receivable_views.lineage(row),
                           actions=actions, balance=_balance() if "settle" in actions or "finance" in actions else None,
                           financiers=_financiers() if "pledge" in actions else [], parts=parts,
                           split_amounts=_even(data["amount"], parts), max_parts=MAX_PARTS,
                           invoice_link=current_user.address in (row.creditor, row.debtor)
                           or current_user.role in receivable_views.OVERSEERS, form=EmptyForm())


def _even(total, parts):
    """``total`` fen in ``parts`` near-equal parts (the split form's proposal), the last the rest."""
    each = total // parts
    return [each] * (parts - 1) + [total - each * (parts - 1)]


# ------------------------------------------------------------------------ actions
@bp.post("/create", endpoint="create")
@roles_required("merchant")
def create():
    """开立应收账款 from the invoice page: amount in yuan, due date; then the receivable's page."""
    number = request.form.get("invoice_number", "").strip()
    invoice_like = number.isascii() and number.isdigit() and len(number) <= 40
    back = url_for("merchant.detail", number=number) if invoice_like else url_for("receivables.mine")
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired: reload the page and try again."), "error")
        return redirect(back)

    def run():
        amount = _fen("amount", _l("Amount"))
        body = {"invoice_number": number, "amount": amount, "due_date": request.form.get("due_date", "").strip()}
        return receivables.create(current_user, body)["id"]

    try:
        rid, first = form_tokens.once(current_user, submitted_form_token(), "receivable:create", run)
    except (Refused, ValidationError, ChainError) as exc:
        _refused(exc)
        return redirect(back)
    if first:
        flash(_("Receivable %(id)s created; waiting for the debtor to accept it.", id=rid), "ok")
    else:
        already_submitted(_("receivable %(id)s was created then, not again", id=rid or ""))
    return redirect(url_for("receivables.detail", rid=rid) if rid else back)


@bp.post("/<rid>/<action>", endpoint="act")
@login_required
def act(rid, action):
    """One action of the receivable's page (or of a list's row): flashed, then back to it."""
    if action not in FUNCTIONS:
        abort(404)
    page = url_for("receivables.detail", rid=rid)
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired: reload the page and try again."), "error")
        return _next(page)
    function, body = FUNCTIONS[action], BODIES.get(action)

    def run():
        if body is None:
            function(current_user, rid)
        else:
            function(current_user, rid, body())
        return rid

    done, again = DONE[action]
    try:
        _done, first = form_tokens.once(current_user, submitted_form_token(), f"receivable:{action}", run)
    except (Refused, ValidationError, ChainError) as exc:
        _refused(exc)
        return _next(page)
    if first:
        flash(str(done), "ok")
    else:
        already_submitted(str(again))
    return _next(page)


@bp.post("/faucet", endpoint="faucet")
@login_required
def faucet():
    """Dev mode, demo accounts: mint settlement token to the caller (¥1,000,000)."""
    if EmptyForm().validate_on_submit():
        try:
            _balance_now, first = form_tokens.once(current_user, submitted_form_token(), "receivable:faucet",
                                        lambda: receivables.faucet(current_user, {})["balance"])
            if first:
                flash(_("Demo settlement token received."), "ok")
            else:
                already_submitted(_("the token was received then, not again"))
        except (Refused, ValidationError, ChainError) as exc:
            _refused(exc)
    return _next(url_for("receivables.payables"))
