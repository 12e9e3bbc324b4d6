"""What a request brings: the bearer token's user (and its role), the JSON body, the query
string and the Idempotency-Key header, each validated through its model."""
import functools
from typing import Annotated

from flask import g, request
from flask_babel import gettext as _
from pydantic import Field, WithJsonSchema

from ..core.security import user_from_bearer
from ..schemas.common import Model
from ..services import json_input
from ..services.errors import ValidationError
from ..services.validation import validated
from .errors import error


def api_auth(*roles, optional=False):
    """The view needs a bearer token (of one of ``roles`` when given); ``optional``: a
    token is used when sent. The user is ``g.api_user``."""
    def deco(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = user_from_bearer()
            if user is None and request.headers.get("Authorization"):
                return error("unauthorized", _("The API token is invalid or was revoked."), 401)
            if user is None and not optional:
                return error("unauthorized", _("Send an API token: Authorization: Bearer <token>."), 401)
            if user is not None and roles and user.role not in roles:
                return error("forbidden", _("This needs the role: %(roles)s.", roles=_roles_in_words(roles)), 403)
            g.api_user = user
            return view(*args, **kwargs)

        return wrapped

    return deco


def _roles_in_words(roles):
    from ..core.models import ROLE_LABELS

    return _(" or ").join(str(ROLE_LABELS.get(role, role)) for role in roles)


def body_json(required=True):
    """The JSON body (see services.json_input: UTF-8, no NaN, decimals as Decimal)."""
    data = request.get_data(cache=True)
    if not data:
        if required:
            raise ValidationError({"body": _("A JSON body is required.")}, _("A JSON body is required."))
        return {}
    return json_input.load_json(data, "body")


def query(model, args=None):
    """The query string (or ``args`` made of it) as ``model`` (400 with the parameter's name
    when it is not)."""
    try:
        return validated(model, request.args.to_dict() if args is None else args)
    except ValidationError as exc:
        names = _(", ").join(exc.fields)
        raise ValidationError(exc.fields, _("The query parameter %(names)s is malformed.", names=names)) from None


def _no_default(schema):
    schema.pop("default", None)  # an optional header has no value when left out


class IdempotencyHeaders(Model):
    """A retried request with the same key gets the same invoice (200); with a request of another
    meaning (compared after validation: key order, defaults, "2" for 2 do not count): 409."""
    idempotency_key: Annotated[str | None, Field(None, alias="Idempotency-Key", min_length=1, max_length=128,
                                                 pattern="^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$",
                                                 json_schema_extra=_no_default),
                               WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 128,
                                               "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$",
                                               "description": "the same key returns the same invoice (200); "
                                                              "with a request of another meaning (compared "
                                                              "after validation): 409"})]


def idempotency_key():
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    return validated(IdempotencyHeaders, {"Idempotency-Key": key}).idempotency_key


def client_address():
    return request.remote_addr or "-"
