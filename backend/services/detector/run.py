"""Running the rules and storing what they find: anomaly detection over the indexed invoices (issue 13): rules that raise alerts with a
kind, a severity, the merchants (tax IDs), the invoices (numbers), the figures and a plain
explanation (Chinese, then English). docs/alerts.md describes every rule and threshold.

Two ways in, the same rules:

- ``detect_sellers(session, addresses)``: incremental, for the merchants whose invoices just
  changed (issuance, void, red-letter, and the indexer's run for the events it stored): their
  invoices of the last ``incremental_days`` only. ``after_change`` wraps it for the hot paths:
  a detector error is logged, never raised into issuance or indexing.
- ``full_scan(session, now=None)``: every invoice (``flask --app backend detect``, the scale
  benchmark); returns a summary.

Rules are pure functions of a merchant's rows (``Row``) and the thresholds (``settings``), so
the unit tests feed them synthetic rows; ``store`` writes what they found, deduplicated by
fingerprint: finding the same anomaly again updates the alert's evidence. A new alert is
e-mailed (the mail outbox) and POSTed to ALERT_WEBHOOK_URL when configured (backend.services.alert_notify).

Times: an invoice's moment is ``issued_at`` (the unix time registered on chain: the moment of
issuance for an invoice dated today, noon China time for a back-dated one); its day is
``issue_date`` (China time)."""
import json
import logging
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from sqlalchemy import desc, select
from sqlalchemy.exc import IntegrityError

from ...core.canonical import CHINA
from ...core.models import Alert, ChainEvent, Invoice, Merchant, User, utcnow
from .base import KIND_LABELS, SEVERITIES, _row, _select
from .cycles import circular_invoicing
from .rules import MERCHANT_RULES, split_invoicing
from .settings import load_settings

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ caps (split invoicing)
_caps = {}  # seller address -> (cap in fen or None, read at monotonic time)
_caps_lock = threading.Lock()
CAP_TTL = 300.0


def forget_caps(addresses=None):
    """Drop cached caps (the indexer saw a merchant's limits change)."""
    with _caps_lock:
        if addresses is None:
            _caps.clear()
        for a in addresses or ():
            _caps.pop(a, None)


def caps_of(session, addresses):
    """{address: per-invoice cap in fen} of merchants: from the indexed MerchantApproved /
    MerchantLimitsChanged events (the latest one of each account), else read once from the
    MerchantRegistry on chain and cached for CAP_TTL seconds. A cap not found is left out."""
    addresses = {a for a in addresses if a}
    out = {}
    if not addresses:
        return out
    rows = session.execute(
        select(ChainEvent.account, ChainEvent.args).where(
            ChainEvent.event.in_(("MerchantApproved", "MerchantLimitsChanged")),
            ChainEvent.account.in_(sorted(addresses)))
        .order_by(ChainEvent.block_number, ChainEvent.log_index)).all()
    for account, args in rows:
        try:
            out[account] = int(json.loads(args)["invoiceCap"])
        except (ValueError, KeyError, TypeError):
            continue
    now = time.monotonic()
    for a in addresses - set(out):
        with _caps_lock:
            cached = _caps.get(a)
        if cached is not None and now - cached[1] < CAP_TTL:
            if cached[0]:
                out[a] = cached[0]
            continue
        cap = _chain_cap(a)
        with _caps_lock:
            _caps[a] = (cap, now)
        if cap:
            out[a] = cap
    return out


def _chain_cap(address):
    try:
        from ...chain import get_chain
        from ...chain.client import MERCHANTS

        data = get_chain().call_named(MERCHANTS, "merchant", address)
        limits = data.get("limits")
        return int(limits[0]) if limits else None
    except Exception as exc:  # noqa: BLE001 - no chain: the rule waits for the indexed events
        log.info("cap of %s not read: %s", address, exc)
        return None


def merchant_tax_ids(session):
    """Tax IDs of the merchants registered here (approved or suspended): with the sellers of
    the invoices read, the nodes a cycle may go through."""
    return {t.upper() for t in session.execute(select(Merchant.tax_id).where(
        Merchant.status.in_(("approved", "suspended")))).scalars() if t}


# ------------------------------------------------------------------ running the rules
def run_rules(rows_by_seller, s, caps, merchants, *, touching=None, evaluate_from=None, circular_rows=None):
    """Every enabled rule over ``rows_by_seller`` ({seller key: [Row]}); ``caps`` {seller
    key: cap}; ``merchants``: merchant tax IDs (circular); ``circular_rows``: the rows the
    circular rule reads (all of them by default). Returns [Finding]."""
    off = set(s.get("disabled_rules") or ())
    out = []
    for seller, rows in rows_by_seller.items():
        if "split_invoicing" not in off:
            out += split_invoicing(rows, s, caps.get(seller))
        for kind, rule in MERCHANT_RULES.items():
            if kind not in off:
                out += rule(rows, s, evaluate_from)
    if "circular_invoicing" not in off:
        rows = circular_rows if circular_rows is not None else [r for g in rows_by_seller.values() for r in g]
        out += circular_invoicing(rows, s, merchants, touching)
    return out


def _group(rows):
    by = defaultdict(list)
    for r in rows:
        by[r.seller].append(r)
    return by


def _caps_by_seller(session, rows_by_seller, caps=None):
    """Caps keyed like the rows (tax ID): ``caps`` given (by tax ID or address) first, then
    the chain's for each seller's address."""
    caps = {str(k).upper() if not str(k).startswith("0x") else k: v for k, v in (caps or {}).items()}
    out, addresses = {}, {}
    for seller, rows in rows_by_seller.items():
        address = next((r.seller_address for r in rows if r.seller_address), "")
        if seller in caps or address in caps:
            out[seller] = caps.get(seller) or caps.get(address)
        elif address:
            addresses[seller] = address
    found = caps_of(session, set(addresses.values()))
    for seller, address in addresses.items():
        if address in found:
            out[seller] = found[address]
    return out


def scan(session, now=None, caps=None, settings=None):
    """Every rule over every invoice issued up to ``now``; returns ([Finding], rows read,
    sellers). Nothing is stored."""
    s = settings or load_settings(session)
    now_ts = int((now or datetime.now(timezone.utc)).timestamp())
    rows = [_row(r) for r in session.execute(_select(Invoice.issued_at <= now_ts))]
    by_seller = _group(rows)
    merchants = merchant_tax_ids(session) | set(by_seller)
    return run_rules(by_seller, s, _caps_by_seller(session, by_seller, caps), merchants), len(rows), len(by_seller)


def full_scan(session, now=None, caps=None):
    """The full scan (``flask --app backend detect``, the scale benchmark): every rule over
    every invoice issued up to ``now`` (default: now), the findings stored as alerts
    (deduplicated by fingerprint; new ones notified). ``caps``: {tax ID or address: per-invoice
    cap in fen} for sellers whose cap is neither indexed nor on a reachable chain.

    Returns {"invoices", "merchants", "findings", "created", "updated", "unchanged", "by_kind",
    "seconds"}."""
    started = time.monotonic()
    findings, read, sellers = scan(session, now, caps)
    counts = store(session, findings)
    by_kind = defaultdict(int)
    for f in findings:
        by_kind[f.kind] += 1
    return {"invoices": read, "merchants": sellers, "findings": len(findings), **counts,
            "by_kind": dict(sorted(by_kind.items())), "seconds": round(time.monotonic() - started, 3)}


def detect_sellers(session, addresses, now=None):
    """The incremental run: the rules for the merchants with these seller addresses, over
    their invoices of the last ``incremental_days`` (and the one before, for dormancy);
    cycles through them. Returns the counts of ``store``."""
    addresses = sorted({a for a in addresses if a})
    if not addresses:
        return {"created": 0, "updated": 0, "unchanged": 0}
    s = load_settings(session)
    now = now or datetime.now(timezone.utc)
    horizon = int(now.timestamp()) - int(s["incremental_days"]) * 86400
    evaluate_from = (datetime.fromtimestamp(horizon, CHINA).date()
                     + timedelta(days=max(int(s["volume_baseline_days"]), 31))).isoformat()
    rows = [_row(r) for r in session.execute(_select(Invoice.seller_address.in_(addresses),
                                                     Invoice.issued_at >= horizon))]
    for a in addresses:  # the last invoice before the horizon: a dormancy reaching back past it
        before = session.execute(_select(Invoice.seller_address == a, Invoice.issued_at < horizon)
                                 .order_by(desc(Invoice.issued_at)).limit(1)).first()
        if before is not None:
            rows.append(_row(before))
    by_seller = _group(rows)
    merchants = merchant_tax_ids(session) | set(by_seller)
    touching = set(by_seller)
    circular = []
    if "circular_invoicing" not in set(s.get("disabled_rules") or ()):
        edge_rows = session.execute(_select(Invoice.issued_at >= horizon, Invoice.is_red_letter.is_(False),
                                            Invoice.buyer_tax_id.in_(sorted(merchants)))).all() if merchants else []
        circular = [_row(r) for r in edge_rows]
    findings = run_rules(by_seller, s, _caps_by_seller(session, by_seller), merchants, touching=touching,
                         evaluate_from=evaluate_from, circular_rows=circular)
    return store(session, findings)


def after_change(addresses, *, source=""):
    """The hot paths' hook (issuance, void, red-letter, the indexer): the incremental run for
    these sellers (unless DETECTOR_ENABLED is off); any error is logged and rolled back,
    never raised."""
    from flask import current_app

    from ...core.db import get_db

    if not current_app.config.get("DETECTOR_ENABLED", True):
        return None
    session = get_db()
    try:
        return detect_sellers(session, addresses)
    except Exception:  # noqa: BLE001 - the detector never breaks issuance or indexing
        session.rollback()
        current_app.logger.exception("detector (%s) failed; issuance and indexing go on", source or "hook")
        return None


def on_indexed(sellers, limit_accounts):
    """The indexer's listener (registered by create_app: the chain layer does not import the
    services): caps of merchants whose limits changed are read again; the sellers whose
    invoices the run touched get the incremental run."""
    if limit_accounts:
        forget_caps(limit_accounts)
    if sellers:
        after_change(sellers, source="indexer")


# ------------------------------------------------------------------ storing alerts
def _as_json(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def store(session, findings):
    """Upsert ``findings`` by fingerprint: a new fingerprint is a new open alert (queued for
    e-mail and the webhook); a known one gets the new evidence, invoices and explanation
    when they changed (its status and workflow stay). Commits. Returns {"created", "updated",
    "unchanged"}."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    if not findings:
        return counts
    unique = {}
    for f in findings:
        unique[f.fingerprint] = f
    for attempt in range(2):
        try:
            created = _store(session, list(unique.values()), counts)
            session.commit()
            break
        except IntegrityError:  # another process stored the same fingerprint meanwhile: again, as updates
            session.rollback()
            counts = {"created": 0, "updated": 0, "unchanged": 0}
            if attempt:
                raise
    if created:
        from .. import alert_notify

        alert_notify.after_commit(created)
    return counts


def _store(session, findings, counts):
    existing = {}
    prints = [f.fingerprint for f in findings]
    for i in range(0, len(prints), 500):
        for a in session.execute(select(Alert).where(Alert.fingerprint.in_(prints[i:i + 500]))).scalars():
            existing[a.fingerprint] = a
    created = []
    now = utcnow()
    for f in findings:
        merchants, invoices, evidence = _as_json(f.merchants), _as_json(f.invoices), _as_json(f.evidence)
        a = existing.get(f.fingerprint)
        if a is None:
            a = Alert(kind=f.kind, severity=f.severity, status="open", fingerprint=f.fingerprint,
                      merchants=merchants, invoices=invoices, evidence=evidence, explanation=f.explanation,
                      window_start=f.window_start, window_end=f.window_end, created_at=now, updated_at=now)
            session.add(a)
            created.append(a)
            counts["created"] += 1
        elif (a.invoices, a.evidence, a.explanation, a.severity) != (invoices, evidence, f.explanation, f.severity):
            a.invoices, a.evidence, a.explanation, a.merchants = invoices, evidence, f.explanation, merchants
            if SEVERITIES.index(f.severity) > SEVERITIES.index(a.severity):
                a.severity = f.severity  # a growing anomaly may become more severe, never less
            a.window_start, a.window_end, a.updated_at = f.window_start, f.window_end, now
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    if created:
        session.flush()
        from .. import alert_notify

        alert_notify.enqueue_mail(session, created)
    return [a.id for a in created]


# ------------------------------------------------------------------ alerts as people and the API see them
def alert_dict(a, *, users=None):
    """The API's view of an alert."""
    users = users or {}

    def name(uid):
        if uid is None:
            return None
        u = users.get(uid)
        return u.username if u is not None else None

    return {"id": a.id, "kind": a.kind, "kind_label": KIND_LABELS.get(a.kind, a.kind), "severity": a.severity,
            "status": a.status, "merchants": json.loads(a.merchants), "invoices": json.loads(a.invoices),
            "evidence": json.loads(a.evidence), "explanation": a.explanation, "fingerprint": a.fingerprint,
            "window_start": _iso(a.window_start), "window_end": _iso(a.window_end),
            "created_at": _iso(a.created_at), "updated_at": _iso(a.updated_at),
            "assignee": a.assignee.username if a.assignee is not None else None,
            "acknowledged_by": name(a.acknowledged_by), "acknowledged_at": _iso(a.acknowledged_at),
            "resolved_by": name(a.resolved_by), "resolved_at": _iso(a.resolved_at),
            "resolution_note": a.resolution_note, "webhook_status": a.webhook_status}


def _iso(moment):
    return moment.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z") if moment else None


def users_of(session, alerts):
    ids = {i for a in alerts for i in (a.acknowledged_by, a.resolved_by) if i}
    return {u.id: u for u in session.execute(select(User).where(User.id.in_(ids))).scalars()} if ids else {}
