"""The issued invoice e-mailed to its buyer: the message (in the recipient's language: a
user's saved choice for that address, else Chinese; the PDF and the JSON document attached,
the verification and public links) and the sender of the mail
outbox (core.mail_queue writes its rows). A row with an ``alert_id`` is a new alert of the
anomaly detector, e-mailed to the authority's and auditors' addresses (compose_alert).

``send_pending()`` sends what is due: each row is claimed with a conditional UPDATE
(pending → sending, or a claim older than MAIL_CLAIM_TIMEOUT) before anything is sent, so
two senders (two processes, or a restart while one runs) never send the same row; sent
rows are never looked at again. An SMTP failure puts the row back to pending with the
error and the next attempt MAIL_RETRY_BASE·2^(attempts-1) seconds later (at most an hour);
after MAIL_MAX_ATTEMPTS it is failed. ``start_background`` runs it in a thread (serve.py).
"""
import secrets
import smtplib
import threading
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import unquote, urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select, update

from ..core.canonical import yuan
from ..core.db import get_db
from ..core.i18n import DEFAULT_LANGUAGE, LANGUAGES
from ..core.models import MailMessage, User, utcnow
from . import inbox, invoice_pdf, invoices, issuance, public_links

DEV_BASE_URL = "http://127.0.0.1:5000/"  # links in e-mails when PUBLIC_BASE_URL is unset (there is no request)


def base_url():
    """The site's public root for links in e-mails (a sender thread has no request)."""
    return (current_app.config.get("PUBLIC_BASE_URL") or DEV_BASE_URL).rstrip("/") + "/"


def recipient_language(address):
    """The language of the e-mails to ``address``: the saved choice of the user with that
    e-mail address (users.language), else Chinese."""
    address = (address or "").strip().lower()
    if address:
        users = (get_db().query(User).filter(func.lower(User.email) == address, User.language.isnot(None))
                 .order_by(User.id).all())
        for user in users:
            if user.language in LANGUAGES:
                return user.language
    return DEFAULT_LANGUAGE


def compose_alert(row):
    """The EmailMessage of an alert's row, in its recipient's language (services.alert_notify)."""
    from .alert_notify import compose

    return compose(row, base_url())


def compose(row):
    """The EmailMessage of a mail_outbox row in its recipient's language (recipient_language;
    the sender thread has no request: rendered inside force_locale): the invoice PDF and its
    canonical JSON document attached (an alert's row: compose_alert)."""
    with force_locale(recipient_language(row.recipient)):
        if row.alert_id is not None:
            return compose_alert(row)
        return compose_invoice(row)


def compose_invoice(row):
    """The e-mail of an issued invoice (or red-letter note) to its buyer, in the current language."""
    inv, cfg = row.invoice, current_app.config
    base = base_url()
    verify = invoice_pdf.verification_url(inv, base)
    public = public_links.url(inv, base)
    days = public_links.max_age_days()
    values = {"seller": inv.seller_name, "number": inv.number, "tax_id": inv.seller_tax_id}
    msg = EmailMessage()
    msg["Subject"] = (_("[Red-letter note] %(seller)s issued note %(number)s to you", **values) if inv.is_red_letter
                      else _("[E-invoice] %(seller)s issued invoice %(number)s to you", **values))
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = row.recipient
    msg["Date"] = formatdate(usegmt=True)
    domain = parseaddr(cfg["MAIL_FROM"])[1].rpartition("@")[2] or "einvoice.localhost"
    msg["Message-ID"] = f"<einvoice-{row.id}-{inv.number}@{domain}>"  # the same on a retry: clients may dedupe
    msg["X-Einvoice-Number"] = inv.number
    status = inbox.status_label(invoices.status_key(inv)) or ""
    issued = (_("%(seller)s (tax ID %(tax_id)s) has issued a red-letter note to you; it is registered on chain.",
                **values) if inv.is_red_letter else
              _("%(seller)s (tax ID %(tax_id)s) has issued an electronic invoice to you; it is registered on chain.",
                **values))
    lines = [
        _("Dear %(name)s,", name=inv.buyer_name), "", issued, "",
        "  " + _("Invoice number: %(number)s", number=inv.number),
        "  " + _("Issue date: %(date)s", date=inv.issue_date),
        "  " + _("Gross: %(amount)s", amount=yuan(int(inv.gross))),
        "  " + _("Status: %(status)s", status=status), "",
        _("Attached: the invoice as a PDF, and its JSON document (its hash is registered on chain: check it under "
          "“Verify a file” on the verification page)."), "",
        _("Verify the invoice (scan the code or open the link):"), verify, "",
        _("View it online and download the PDF (no account needed, valid for %(days)s days):", days=days), public, "",
        _("This message was sent automatically by the e-invoice platform; please do not reply."),
    ]
    msg.set_content("\n".join(lines) + "\n")
    with force_locale(DEFAULT_LANGUAGE):  # the PDF is the official Chinese layout, whoever reads the mail
        pdf = invoice_pdf.render(inv, base)
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=invoice_pdf.filename(inv))
    msg.add_attachment(inv.document.encode("utf-8"), maintype="application", subtype="json",
                       filename=f"{'红字发票' if inv.is_red_letter else '电子发票'}_{inv.number}.json")
    return msg


def smtp_send(msg, url=None):
    """Send ``msg`` to the SMTP server of MAIL_URL (smtp://[user:password@]host[:port],
    smtps:// for TLS, smtp://…?starttls=1 for STARTTLS)."""
    url = urlsplit(url or current_app.config["MAIL_URL"])
    timeout = float(current_app.config["MAIL_TIMEOUT"])
    if url.scheme == "smtps":
        client = smtplib.SMTP_SSL(url.hostname, url.port or 465, timeout=timeout)
    elif url.scheme == "smtp":
        client = smtplib.SMTP(url.hostname, url.port or 25, timeout=timeout)
    else:
        raise ValueError(f"MAIL_URL: smtp:// or smtps://, not {url.scheme}://")
    with client:
        if "starttls=1" in (url.query or ""):
            client.starttls()
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(msg)


def _claim(session, row_id, now):
    """Pending and due, or claimed long ago by a sender that died: ours now, if no other
    sender took it in between (the UPDATE's WHERE decides; one winner)."""
    token = secrets.token_hex(16)
    stale = now - timedelta(seconds=float(current_app.config["MAIL_CLAIM_TIMEOUT"]))
    t = MailMessage.__table__
    done = session.execute(update(t).where(t.c.id == row_id, or_(
        and_(t.c.status == "pending", t.c.next_attempt_at <= now),
        and_(t.c.status == "sending", t.c.claimed_at < stale))).values(
        status="sending", claim=token, claimed_at=now, attempts=t.c.attempts + 1))
    session.commit()
    return token if done.rowcount == 1 else None


def _finish(session, row_id, token, **values):
    t = MailMessage.__table__
    session.execute(update(t).where(t.c.id == row_id, t.c.claim == token).values(**values))
    session.commit()


def send_pending(limit=50, send=None):
    """Send the mail that is due (at most ``limit`` rows). Returns {"sent", "failed",
    "retry"} counts. Nothing happens without MAIL_URL (rows wait)."""
    cfg = current_app.config
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if not cfg.get("MAIL_URL") and send is None:
        return counts
    session = get_db()
    now = utcnow()
    stale = now - timedelta(seconds=float(cfg["MAIL_CLAIM_TIMEOUT"]))
    ids = session.execute(select(MailMessage.id).where(or_(
        and_(MailMessage.status == "pending", MailMessage.next_attempt_at <= now),
        and_(MailMessage.status == "sending", MailMessage.claimed_at < stale))).order_by(MailMessage.id)
        .limit(limit)).scalars().all()
    session.commit()
    for row_id in ids:
        token = _claim(session, row_id, now)
        if token is None:
            continue  # another sender has it
        row = session.get(MailMessage, row_id)
        session.refresh(row)
        try:
            if row.invoice is not None and not row.invoice.check_code:  # marked issued by the indexer: no check code yet
                issuance.refresh(row.invoice)
                session.commit()
            (send or smtp_send)(compose(row))
        except Exception as exc:  # noqa: BLE001 - SMTP down, refused, a PDF that cannot be drawn: retried later
            session.rollback()
            attempts = row.attempts
            final = attempts >= int(cfg["MAIL_MAX_ATTEMPTS"])
            delay = min(float(cfg["MAIL_RETRY_BASE"]) * 2 ** (attempts - 1), 3600.0)
            _finish(session, row_id, token, status="failed" if final else "pending", claim=None,
                    error=f"{type(exc).__name__}: {exc}"[:2000],
                    next_attempt_at=utcnow() + timedelta(seconds=delay))
            counts["failed" if final else "retry"] += 1
            current_app.logger.warning("mail %s to %s: %s", row_id, row.recipient, exc)
            continue
        _finish(session, row_id, token, status="sent", sent_at=utcnow(), error=None)
        counts["sent"] += 1
    return counts


def outbox(invoice):
    """The mail rows of an invoice (for its page)."""
    return get_db().query(MailMessage).filter_by(invoice_id=invoice.id).order_by(MailMessage.id).all()


def start_background(app, interval):
    """A daemon thread running ``send_pending`` every ``interval`` seconds (serve.py);
    returns an Event that stops it."""
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                with app.app_context():
                    send_pending()
            except Exception as exc:  # noqa: BLE001 - keep the loop alive; logged
                app.logger.warning("mail sender: %s", exc)
            stop.wait(interval)

    threading.Thread(target=loop, name="mail-sender", daemon=True).start()
    return stop
