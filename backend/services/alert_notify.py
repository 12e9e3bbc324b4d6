"""A new alert's notifications: an e-mail to each recipient through the mail outbox (queued
in the transaction that stores the alert; services.mail sends it, retried like an invoice's)
and, when ALERT_WEBHOOK_URL is set, a JSON POST to that webhook from a background thread
once the alert is committed: retried ALERT_WEBHOOK_ATTEMPTS times with a backoff doubling
from ALERT_WEBHOOK_BACKOFF seconds, never in the request's way; the outcome is the alert's
``webhook_status`` (sent / failed). The e-mail (``compose``) is in its recipient's language:
the saved language of the user with that address, else Chinese."""
import json
import logging
import threading
import time
import urllib.error
import urllib.request

from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..core import mail_queue
from ..core.models import Alert

log = logging.getLogger(__name__)
_threads = []  # webhook senders started (tests wait for them: join())
_threads_lock = threading.Lock()


def recipients(session):
    """Where alerts are e-mailed: the detector setting ``alert_mail_to`` when it lists any
    address, else ALERT_MAIL_TO (comma-separated)."""
    from .detector import load_settings

    listed = [a for a in (load_settings(session).get("alert_mail_to") or []) if a]
    if listed:
        return listed
    configured = current_app.config.get("ALERT_MAIL_TO") or ""
    if isinstance(configured, (list, tuple)):
        return [a.strip() for a in configured if a and a.strip()]
    return [a.strip() for a in str(configured).split(",") if a.strip()]


def enqueue_mail(session, alerts):
    """Queue the e-mail of each new alert (flushed, not committed) to every recipient."""
    if not has_app_context():
        return
    to = recipients(session)
    if to:
        mail_queue.enqueue_alert_mail(session, [a.id for a in alerts], to)


def compose(row, base_url):
    """The EmailMessage of an alert's outbox row (services.mail sends it): what was found, the
    merchants, the invoices and the link to the alert's page, in the recipient's language."""
    from .detector import KIND_LABELS, SEVERITY_LABELS
    from .detector.base import explanation_in

    alert, cfg = row.alert, current_app.config
    merchants, invoices = json.loads(alert.merchants), json.loads(alert.invoices)
    from .mail import recipient_language

    language = recipient_language(row.recipient)
    link = f"{base_url}alerts/{alert.id}"
    with force_locale(language):
        comma = "、" if language == "zh" else ", "
        label, severity = KIND_LABELS.get(alert.kind, alert.kind), SEVERITY_LABELS.get(alert.severity, alert.severity)
        subject = _("[Alert] %(kind)s · %(merchants)s · Alert #%(id)s (%(severity)s)", kind=label,
                    merchants=comma.join(merchants[:3]), id=alert.id, severity=severity)
        listed = "\n".join(f"  {n}  {base_url}invoices/{n}" for n in invoices[:50])
        more = "\n  " + _("…… %(count)s in all", count=len(invoices)) if len(invoices) > 50 else ""
        body = "\n\n".join([
            _("Alert #%(id)s: %(kind)s (severity %(severity)s)", id=alert.id, kind=label, severity=severity),
            explanation_in(alert.explanation, language),
            _("Merchants: %(merchants)s", merchants=comma.join(merchants)) + "\n"
            + _("Invoices:") + "\n" + listed + more,
            _("Open, acknowledge and resolve it:") + "\n" + link,
            _("This message was sent automatically by the platform's anomaly detector.")]) + "\n"
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = row.recipient
    msg["Date"] = formatdate(usegmt=True)
    domain = parseaddr(cfg["MAIL_FROM"])[1].rpartition("@")[2] or "einvoice.localhost"
    msg["Message-ID"] = f"<einvoice-alert-{row.id}-{alert.id}@{domain}>"
    msg["X-Einvoice-Alert"] = str(alert.id)
    msg["X-Einvoice-Alert-Kind"] = alert.kind
    msg["Content-Language"] = "zh-CN" if language == "zh" else "en"
    msg.set_content(body)
    return msg


def after_commit(alert_ids):
    """Committed new alerts: POST them to the webhook in a background thread (when one is configured)."""
    if not alert_ids or not has_app_context() or not current_app.config.get("ALERT_WEBHOOK_URL"):
        return None
    app = current_app._get_current_object()
    thread = threading.Thread(target=_deliver_all, args=(app, list(alert_ids)), name="alert-webhook", daemon=True)
    with _threads_lock:
        _threads[:] = [t for t in _threads if t.is_alive()]
        _threads.append(thread)
    thread.start()
    return thread


def join(timeout=30.0):
    """Wait for the webhook threads started so far (tests, a CLI run before it exits)."""
    deadline = time.monotonic() + timeout
    with _threads_lock:
        threads = list(_threads)
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))


def payload(alert, base_url):
    from .detector import alert_dict

    return {"event": "alert.created", "alert": alert_dict(alert), "url": f"{base_url}alerts/{alert.id}"}


def post(url, body, timeout):
    """One POST of ``body`` as JSON; True on a 2xx answer."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "einvoice-alerts/1"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - the operator's URL
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.warning("alert webhook %s: %s", url, exc)
        return False


def _deliver_all(app, alert_ids):
    from ..core.db import get_db
    from .mail import base_url

    with app.app_context():
        cfg = app.config
        url, attempts = cfg["ALERT_WEBHOOK_URL"], max(1, int(cfg["ALERT_WEBHOOK_ATTEMPTS"]))
        timeout, backoff = float(cfg["ALERT_WEBHOOK_TIMEOUT"]), float(cfg["ALERT_WEBHOOK_BACKOFF"])
        session = get_db()
        try:
            for alert_id in alert_ids:
                alert = session.execute(select(Alert).where(Alert.id == alert_id)).scalar_one_or_none()
                if alert is None:
                    continue
                body = payload(alert, base_url())
                session.commit()  # no transaction held while posting
                ok = False
                for attempt in range(attempts):
                    if attempt:
                        time.sleep(backoff * 2 ** (attempt - 1))
                    ok = post(url, body, timeout)
                    if ok:
                        break
                alert = session.get(Alert, alert_id)
                alert.webhook_status = "sent" if ok else "failed"
                session.commit()
        except Exception:  # noqa: BLE001 - a background thread: logged
            session.rollback()
            app.logger.exception("alert webhook")
