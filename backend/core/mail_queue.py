"""The mail outbox's writing side: queue an issued invoice's e-mail in the caller's
database transaction (the one that marks the invoice issued), at most one per invoice; and
a new alert's e-mail to each recipient (at most one per alert and recipient).

Used by services.issuance (the receipt, settle), services.bulk and chain.indexer (an
invoice found issued by its event), services.alert_notify (a new alert); services.mail
sends the rows."""
from sqlalchemy import insert, select

from .models import Invoice, MailMessage, utcnow

KIND = "issued"
ALERT_KIND = "alert"


def _insert(session, rows):
    """INSERT … ON CONFLICT DO NOTHING where the database has it (SQLite, PostgreSQL): two
    writers queueing the same invoice at once (a request and the indexer) both succeed,
    one row results."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        module = __import__(f"sqlalchemy.dialects.{dialect}", fromlist=["insert"])
        session.execute(module.insert(MailMessage.__table__).on_conflict_do_nothing(), rows)
        return
    if rows[0].get("alert_id") is not None:
        ids = {r["alert_id"] for r in rows}
        have = set(session.execute(select(MailMessage.alert_id, MailMessage.recipient).where(
            MailMessage.alert_id.in_(ids), MailMessage.kind == ALERT_KIND)).all())
        rows = [r for r in rows if (r["alert_id"], r["recipient"]) not in have]
    else:
        ids = {r["invoice_id"] for r in rows}
        have = set(session.execute(select(MailMessage.invoice_id).where(
            MailMessage.invoice_id.in_(ids), MailMessage.kind == KIND)).scalars())
        rows = [r for r in rows if r["invoice_id"] not in have]
    if rows:
        session.execute(insert(MailMessage.__table__), rows)


def _row(invoice_id, recipient):
    now = utcnow()
    return {"invoice_id": invoice_id, "kind": KIND, "recipient": recipient, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": now}


def enqueue_invoice_mail(session, inv):
    """Queue the "issued" e-mail of ``inv`` when it has a buyer e-mail address (and none is
    queued yet). Not committed: it commits with the caller's issuance result."""
    if inv is None or not inv.buyer_email:
        return
    session.flush()
    _insert(session, [_row(inv.id, inv.buyer_email)])


def enqueue_issued(session, column, values):
    """Queue the e-mails of the invoices whose ``column`` (Invoice.key or Invoice.number)
    is in ``values`` and which have a buyer e-mail address (bulk issuance, the indexer)."""
    values = sorted(v for v in values if v)
    for i in range(0, len(values), 500):
        # the e-mail and state are tested here, not in SQL: with them in the WHERE SQLite's
        # planner walks the state index (every issued invoice) instead of the 500 keys
        found = session.execute(select(Invoice.id, Invoice.buyer_email, Invoice.state).where(
            column.in_(values[i:i + 500]))).all()
        enqueue_found(session, [(id_, email) for id_, email, state in found if email is not None and state == "issued"])


def enqueue_found(session, invoices):
    """Queue the e-mails of ``invoices``: (invoice id, buyer e-mail address) pairs the caller
    has read already (the indexer, with the rows it marks issued)."""
    _insert(session, [_row(id_, email) for id_, email in invoices])


def enqueue_alert_mail(session, alert_ids, recipients):
    """Queue the e-mail of each new alert to each recipient (the authority's and auditors'
    addresses). Not committed: it commits with the alerts."""
    now = utcnow()
    _insert(session, [{"alert_id": alert_id, "invoice_id": None, "kind": ALERT_KIND, "recipient": recipient,
                       "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
                      for alert_id in alert_ids for recipient in recipients])
