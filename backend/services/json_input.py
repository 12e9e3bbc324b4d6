"""JSON input: bytes to a JSON value, refusing what cannot be stored or hashed (not UTF-8,
NaN/Infinity, lone surrogates, nesting too deep); money never goes through a float."""
import json
from decimal import Decimal

from flask_babel import gettext as _

from .errors import ValidationError


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


MAX_JSON_DEPTH = 32  # arrays and objects within each other; an invoice document needs 4


def _json_problem(value):
    """What makes a parsed JSON value unusable, or None: nesting deeper than MAX_JSON_DEPTH,
    or a string holding a lone UTF-16 surrogate (JSON "\\ud800"), which cannot be stored nor
    hashed as UTF-8."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return _("holds an invalid Unicode character (a lone surrogate, \\ud800-\\udfff)")
        elif isinstance(v, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return _("is nested more than %(depth)s levels deep", depth=MAX_JSON_DEPTH)
            items = list(v.keys()) + list(v.values()) if isinstance(v, dict) else v
            stack.extend((x, depth + 1) for x in items)
    return None


def load_json(data, field="body", *, decimals=True):
    """Bytes → a JSON value; ValidationError({field: …}) for anything but well-formed UTF-8
    JSON: not UTF-8, malformed, NaN/Infinity, numbers with too many digits, lone surrogates,
    nesting deeper than MAX_JSON_DEPTH. ``decimals``: fractions as Decimal (money never goes
    through a float)."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    except UnicodeDecodeError:
        raise ValidationError({field: _("The request is not UTF-8 text.")}, _("The request is not UTF-8 text.")) from None
    try:
        value = json.loads(text, parse_float=Decimal if decimals else None, parse_constant=_reject_constant)
    except RecursionError:
        raise ValidationError({field: _("The JSON is nested too deeply.")}, _("The JSON is nested too deeply.")) from None
    except ValueError as exc:
        raise ValidationError({field: _("The JSON is malformed (%(detail)s).", detail=exc)}, _("The JSON is malformed.")) from None
    problem = _json_problem(value)
    if problem:
        raise ValidationError({field: _("The JSON %(problem)s.", problem=problem)},
                              _("The JSON is nested too deeply or holds an invalid Unicode character."))
    return value


