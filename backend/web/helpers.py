"""Helpers shared by the HTML blueprints."""
import re
import secrets
from contextlib import contextmanager

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from ..chain.errors import ChainError, ChainUnavailable
from ..core.canonical import yuan
from ..services.errors import Refused, ValidationError


def form_int(text, max_digits=30):
    """A form field's non-negative integer: ASCII digits only (str.isdigit also takes ² and
    ٣, which int() refuses), at most ``max_digits`` of them; None otherwise."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > max_digits:
        return None
    return int(text)


def parse_yuan(text):
    """'12.34' / '12' → 1234 fen; None on bad input. No floats."""
    text = (text or "").strip().replace(",", "").replace("¥", "")
    if not text:
        return None
    whole, _, frac = text.partition(".")
    if form_int(whole) is None or (frac and (form_int(frac) is None or len(frac) > 2)):
        return None
    return int(whole) * 100 + int((frac or "0").ljust(2, "0"))


FORM_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_form_token():
    return secrets.token_urlsafe(24)


def form_token_field(token=None):
    """The hidden one-time token of a state-changing form: ``token``, else a fresh one
    (each rendered form its own: see services.form_tokens)."""
    return Markup(f'<input type="hidden" name="form_token" value="{escape(token or new_form_token())}">')


def submitted_form_token():
    """The posted form's one-time token; None when it has none (a page rendered before
    tokens: acted on as before); 400 when it is not one of ours."""
    token = request.form.get("form_token", "")
    if not token:
        return None
    if not FORM_TOKEN_RE.match(token):
        abort(400, description=_("This form has expired or is not valid: reload the page and try again."))
    return token


def already_submitted(done=""):
    """Flash that the form was submitted before; ``done``: what that submission did, translated
    (``_("invoice %(number)s was issued then, not again", number=…)``)."""
    flash(_("This form was already submitted: %(done)s.", done=done) if done
          else _("This form was already submitted."), "ok")


def flash_error(exc):
    """Flash a service exception in words (the request's language; no field keys, no error
    codes: the fields' texts name them in words); returns True when it was one we explain."""
    if isinstance(exc, ValidationError):
        message = str(exc.message)
        details = [str(v) for v in (exc.fields or {}).values() if str(v) not in message]  # not twice
        if message == _("Some fields of the request are not valid.") and details:
            message = ""  # the general words add nothing to the fields' own sentences
        flash(_("Please check what you entered: %(problems)s", problems=" ".join(filter(None, [message, *details]))),
              "error")
    elif isinstance(exc, Refused):
        flash(_("This was refused: %(reason)s", reason=exc.message), "error")
    elif isinstance(exc, ChainUnavailable):
        flash(_("The blockchain cannot be reached at the moment; please try again later."), "error")
    elif isinstance(exc, ChainError):
        flash(_("The blockchain answered with an error; please try again later."), "error")
    else:
        return False
    return True


@contextmanager
def explained_refusals(abort_statuses=(404,)):
    """Runs a portal action: refusals and chain trouble are flashed for the user; a refusal
    whose status is in ``abort_statuses`` ends the request with that status instead."""
    try:
        yield
    except Refused as exc:
        if exc.status in abort_statuses:
            abort(exc.status)
        flash_error(exc)
    except Exception as exc:  # noqa: BLE001 - flash_error says which ones it explains
        if not flash_error(exc):
            raise


def back(default):
    ref = request.referrer or ""
    if ref.startswith(request.host_url):
        return redirect(ref)
    return redirect(url_for(default))


def page_args():
    page = min(max(1, request.args.get("page", 1, type=int) or 1), 1_000_000)  # huge pages: offsets stay in SQL's range
    return page, 20


def china_time(ts):
    """Unix seconds → 'YYYY-MM-DD HH:MM:SS' China time (UTC+8)."""
    from datetime import datetime, timedelta, timezone

    if ts is None:
        return "—"
    return datetime.fromtimestamp(int(ts), timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")


def args_with(args, page):
    from urllib.parse import urlencode

    return urlencode({**{k: v for k, v in args.items() if k != "page"}, "page": page})


def tag(name, text, cls=None, **attrs):
    """An element around ``text``, all escaped, for a translated sentence's placeholder:
    ``_('… %(tax_id)s …', tax_id=tag('span', tax_id, cls='mono'))``. (Jinja's ``~`` escapes
    the literal tags once any part is markup, so concatenating HTML there does not work.)"""
    attributes = ({"class": cls} if cls else {}) | attrs
    shown = Markup("").join(Markup(' {}="{}"').format(key, value) for key, value in attributes.items())
    return Markup("<{0}{1}>{2}</{0}>").format(Markup(name), shown, text)


def init_app(app):
    app.jinja_env.filters["yuan"] = yuan
    app.jinja_env.filters["china_time"] = china_time
    app.jinja_env.globals["args_with"] = args_with
    app.jinja_env.globals["form_token"] = form_token_field
    app.jinja_env.globals["tag"] = tag
