"""/api/v1 for merchants' registration and the authority's work: merchants and their
decisions, audit parameters, users and their on-chain roles."""
from flask import g, jsonify
from flask_babel import gettext as _

from ..core.db import get_db
from ..core.models import Merchant, User
from ..schemas import merchants as models
from ..schemas.common import ID_MAX
from ..services import merchants, onboarding
from ..services.errors import ValidationError
from ..services.validation import validated
from . import bp
from .errors import error
from .inputs import api_auth, body_json
from .openapi import operation

DECISION_ERRORS = (400, 401, 403, 404, 409, 422, 503)


@bp.get("/merchant/registration")
@operation("getRegistration", ok={200: models.Merchant}, errors=(401, 403, 404))
@api_auth("merchant")
def registration():
    """The merchant's own registration (role: merchant)"""
    if g.api_user.merchant is None:
        return error("not_found", _("You have not applied as a merchant yet."), 404)
    return jsonify(merchants.as_dict(g.api_user.merchant))


@bp.post("/merchant/registration")
@operation("register", json=models.Registration, ok={201: models.Merchant}, errors=(400, 401, 403, 409, 422, 503))
@api_auth("merchant")
def register():
    """Apply as a merchant: name, tax ID, licence number (role: merchant)"""
    m, result = merchants.register(g.api_user, body_json())
    return jsonify(merchants.as_dict(m) | {"tx_hash": result.tx_hash}), 201


@bp.get("/merchants")
@operation("listMerchants", ok={200: models.MerchantList}, errors=(401, 403))
@api_auth("authority", "auditor")
def list_merchants():
    """Merchants and their registrations (role: authority, auditor)"""
    rows = get_db().query(Merchant).order_by(Merchant.id).all()
    return jsonify({"merchants": [merchants.as_dict(m) for m in rows]})


def _decide(merchant_id, action):
    if merchant_id > ID_MAX:
        return error("not_found", _("There is no such merchant."), 404)
    body = body_json(required=False)
    if not isinstance(body, dict):  # approve, limits, numbers: optional fields; the others: a reason
        raise ValidationError({"body": _("The request body must be a JSON object.")},
                              _("The request body must be a JSON object."))
    m, result = merchants.decide(g.api_user, merchant_id, action, body)
    return jsonify(merchants.as_dict(m) | {"tx_hash": result.tx_hash})


def _decision(action, summary, body=None):
    """The route of one decision on a merchant: POST /merchants/<id>/<action>."""
    def view(id):
        return _decide(id, action)

    view.__name__ = f"{action}_merchant"
    view.__doc__ = f"{summary} (role: authority)"
    view = api_auth("authority")(view)
    view = operation(f"{action}Merchant", json=body, body_required=body is models.Reason, ok={200: models.Merchant},
                     errors=DECISION_ERRORS)(view)
    bp.post(f"/merchants/<int:id>/{action}")(view)


_decision("approve", "Approve: limits, seller tag, first number range", models.Limits)
_decision("reject", "Reject the application", models.Reason)
_decision("suspend", "Suspend", models.Reason)
_decision("reinstate", "Reinstate")
_decision("limits", "New limits", models.Limits)
_decision("numbers", "A new number range, replacing the current one", models.NumberRangeRequest)


@bp.get("/audit/parameters")
@operation("getAuditParameters", ok={200: models.AuditParameters}, errors=(401, 403, 503))
@api_auth("authority", "auditor")
def parameters():
    """Audit parameters of the registry (role: authority, auditor)"""
    return jsonify(merchants.audit_parameters())


@bp.post("/audit/parameters")
@operation("setAuditParameters", json=models.AuditParametersUpdate, ok={200: models.AuditParameters},
           errors=(400, 401, 403, 409, 422, 503))
@api_auth("authority")
def set_parameters():
    """Set audit parameters: only what is sent changes (role: authority)"""
    return jsonify(merchants.set_audit_parameters(g.api_user, body_json()))


def _chain_role(info):
    return {"contract": info[0], "role": info[1], "held": info[2]} if info else None


@bp.get("/users")
@operation("listUsers", ok={200: models.UserList}, errors=(401, 403))
@api_auth("authority")
def list_users():
    """Users with the on-chain role their web role needs (role: authority)"""
    return jsonify({"users": [{"id": u.id, "username": u.username, "role": u.role, "address": u.address,
                               "active": u.active, "chain_role": _chain_role(merchants.chain_role_of(u))}
                              for u in get_db().query(User).order_by(User.id)]})


@bp.post("/users/<int:id>/<any(\"grant-role\", \"revoke-role\"):action>")
@operation("setUserRole", ok={200: models.UserRole}, errors=(401, 403, 404, 409, 422, 503))
@api_auth("authority")
def user_role(id, action):
    """grant-role | revoke-role: AUDITOR_ROLE / FINANCIER_ROLE of the user (role: authority)

    grant-role of a buyer links its account to its tax ID on the receivable ledger.
    """
    user = get_db().get(User, id) if id <= ID_MAX else None
    if user is None:
        return error("not_found", _("There is no such user."), 404)
    info = merchants.set_chain_role(g.api_user, user, action == "grant-role")
    return jsonify({"id": user.id, "username": user.username, "chain_role": _chain_role(info)})


@bp.post("/users")
@operation("createUser", json=models.NewUser, ok={201: models.NewUserCreated}, errors=(400, 401, 403, 503))
@api_auth("authority")
def create_user():
    """Create a user of any role, with the signing account and on-chain role it needs; its
    first password is in the answer, once (role: authority)"""
    body = validated(models.NewUser, body_json()).model_dump(exclude_none=True)
    user, password, role_problem = onboarding.create_user(g.api_user, body)
    return jsonify({"id": user.id, "username": user.username, "role": user.role, "address": user.address,
                    "active": user.active, "chain_role": _chain_role(merchants.chain_role_of(user)),
                    "password": password, "role_problem": role_problem}), 201
