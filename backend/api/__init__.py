"""API: the JSON blueprint /api/v1 and its OpenAPI document generated from the models; it calls services."""
from flask import Blueprint, current_app, jsonify
from werkzeug.routing import BaseConverter

from ..core.security import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens only, no cookies: not CSRF-able


class NumberConverter(BaseConverter):
    """``<number:…>``: an invoice number in a path is 20 digits. Anything else is no route
    (404), so /invoices/preview is not also "GET an invoice" (its Allow header is POST only)."""
    regex = "[0-9]{20}"


class ReceivableIdConverter(BaseConverter):
    """``<rid:…>``: a receivable id, the ledger's uint256 in decimal (up to 78 digits)."""
    regex = "[0-9]{1,78}"


def register_converters(app):
    app.url_map.converters.setdefault("number", NumberConverter)
    app.url_map.converters.setdefault("rid", ReceivableIdConverter)


def init_app(app):
    register_converters(app)  # before the blueprint's routes are
    app.register_blueprint(bp)


from . import (  # noqa: E402,F401 - the routes of bp
    administration, alerts, analytics, claims, errors, inbox, invoices, openapi, receivables, reports, verification)


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of this API, with this app's limits."""
    return jsonify(openapi.spec(current_app.config))
