"""A new alert's notifications: an e-mail to each recipient through the mail outbox (queued
in the transaction that stores the alert; services.mail sends it, retried like an invoice's)
and, when ALERT_WEBHOOK_URL is set, a JSON POST to that webhook from a background thread
once the alert is committed: retried ALERT_WEBHOOK_ATTEMPTS times with a backoff doubling
from ALERT_WEBHOOK_BACKOFF seconds, never in the request's way; the outcome is the alert's
``webhook_status`` (sent / failed)."""
import json
import logging
import threading
import time
import urllib.error
import urllib.request

from flask import current_app, has_app_context
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
