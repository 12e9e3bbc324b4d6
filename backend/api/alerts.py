"""/api/v1/alerts: the anomaly detector's alerts (auditors and the authority) and their
workflow — acknowledge, resolve with a note, assign to an auditor; /detector/settings: its
thresholds (auditors read, the authority changes)."""
from flask import g, jsonify

from ..schemas import alerts as models
from ..services import alerts
from . import bp
from .inputs import api_auth, body_json, query
from .openapi import operation

ROLES = ("auditor", "authority")
ACTION_ERRORS = (400, 401, 403, 404, 409)


@bp.get("/alerts")
@operation("listAlerts", query=models.AlertQuery, ok={200: models.AlertList}, errors=(400, 401, 403))
@api_auth(*ROLES)
def list_alerts():
    """Alerts, newest first; filters kind, status, severity, merchant (tax ID), assignee (role: auditor, authority)"""
    return jsonify(alerts.query(g.api_user, query(models.AlertQuery)))


@bp.get("/alerts/<int:id>")
@operation("getAlert", ok={200: models.AlertOut}, errors=(401, 403, 404))
@api_auth(*ROLES)
def get_alert(id):
    """One alert: its evidence (figures, invoice numbers), explanation and workflow (role: auditor, authority)"""
    return jsonify(alerts.as_dict(alerts.get(g.api_user, id)))


@bp.post("/alerts/<int:id>/ack")
@operation("acknowledgeAlert", ok={200: models.AlertOut}, errors=(401, 403, 404, 409))
@api_auth(*ROLES)
def acknowledge_alert(id):
    """Acknowledge an open alert: open → acknowledged; 409 in another state (role: auditor, authority)"""
    return jsonify(alerts.as_dict(alerts.acknowledge(g.api_user, id)))


@bp.post("/alerts/<int:id>/resolve")
@operation("resolveAlert", json=models.ResolveRequest, ok={200: models.AlertOut}, errors=ACTION_ERRORS,
           extra={"requestBody": {"content": {"application/json": {"example": {
               "note": "已核实：与同一客户的正常分批交货 Verified: deliveries in parts to one customer"}}}}})
@api_auth(*ROLES)
def resolve_alert(id):
    """Resolve with a note (required): open or acknowledged → resolved; 409 once resolved (role: auditor, authority)"""
    return jsonify(alerts.as_dict(alerts.resolve(g.api_user, id, body_json())))


@bp.post("/alerts/<int:id>/assign")
@operation("assignAlert", json=models.AssignRequest, ok={200: models.AlertOut}, errors=ACTION_ERRORS,
           extra={"requestBody": {"content": {"application/json": {"example": {"auditor": "auditor"}}}}})
@api_auth(*ROLES)
def assign_alert(id):
    """Assign to an auditor (by username; 400 when not an active auditor); 409 once resolved (role: auditor, authority)"""
    return jsonify(alerts.as_dict(alerts.assign(g.api_user, id, body_json())))


@bp.get("/detector/settings")
@operation("getDetectorSettings", ok={200: models.DetectorSettings}, errors=(401, 403))
@api_auth(*ROLES)
def detector_settings():
    """The detector's thresholds in force, their defaults and what each is (role: auditor, authority)"""
    return jsonify(alerts.settings(g.api_user))


@bp.put("/detector/settings")
@operation("setDetectorSettings", json=models.DetectorSettingsUpdate, ok={200: models.DetectorSettings},
           errors=(400, 401, 403), extra={"requestBody": {"content": {"application/json": {"example": {
               "split_min_count": 4, "split_window_minutes": 30, "disabled_rules": ["round_amounts"]}}}}})
@api_auth("authority")
def set_detector_settings():
    """Change thresholds: only the names sent change (role: authority)"""
    return jsonify(alerts.change_settings(g.api_user, body_json()))
