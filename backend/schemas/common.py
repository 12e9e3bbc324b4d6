"""Building blocks of the models: text that is stripped and has no control characters,
strict integers, dates, limits that are settings, the error answer, and pydantic's errors
turned into ``{field path: what is wrong}``."""
import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
)
from flask_babel import gettext as _
from pydantic_core import PydanticCustomError

from ..core import canonical
from ..core.canonical import yuan
from ..core.config import DEFAULTS
from . import field_words

# Text the API takes: no control characters (leading and trailing white space is stripped);
# a required text also needs one character that is not white space.
TEXT = "^[^\\x00-\\x1f]*$"
NON_BLANK = "^[^\\x00-\\x1f]*[^\\s\\x00-\\x1f][^\\x00-\\x1f]*$"
QUERY_TEXT = "^[^\\x00-\\x1f\\x7f]*$"
NUMBER_PATTERN = "^[0-9]{20}$"
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
PAGE_MAX = 1_000_000  # beyond: 400, so offsets stay far inside SQL's 64-bit integers
ID_MAX = 2**31 - 1  # ids are INTEGER columns: 32-bit on PostgreSQL


class Model(BaseModel):
    """A request model: unknown fields refused, patterns with Python's re (as the fuzzers
    that read the document generate them)."""
    model_config = ConfigDict(extra="forbid", regex_engine="python-re", populate_by_name=True)


class Query(Model):
    """Query-string parameters: others are ignored (a cache buster breaks nothing)."""
    model_config = ConfigDict(extra="ignore")


class Answer(BaseModel):
    """A response model (documentation of what the API answers)."""
    model_config = ConfigDict(extra="allow")


class Error(Answer):
    """Every refusal: a code (a custom-error name of the contracts, or ours), a message in
    the request's language (Accept-Language; Chinese by default), and per-field problems for
    a 400 (the field's path → a sentence naming the field in words)."""
    error: str
    message: str
    fields: dict[str, str] | None = None
    retry_after: int | None = Field(None, description="429: seconds until a retry is let in")


def strip(value):
    return value.strip() if isinstance(value, str) else value


def text(max_len: int, *, required: bool = True, description: str | None = None):
    """A text field: stripped; at most ``max_len`` characters; no control characters;
    ``required``: at least one character that is not white space."""
    return Annotated[str, Field(min_length=1 if required else 0, max_length=max_len,
                                pattern=NON_BLANK if required else TEXT, description=description),
                     BeforeValidator(strip)]


def optional_text(max_len: int, description: str | None = None):
    return Annotated[text(max_len, required=False, description=description) | None, Field(None)]


def integer(minimum: int, maximum: int, description: str | None = None):
    """A JSON integer (not a boolean, not 1.0, not "1") in [minimum, maximum]."""
    return Annotated[StrictInt, Field(ge=minimum, le=maximum, description=description)]


def setting(name: str, context: Any):
    """A limit that is a setting (INVOICE_MAX_ITEMS …): the app's value, passed as the
    validation context, else the default."""
    config = (context or {}).get("config") or DEFAULTS
    return int(config.get(name, DEFAULTS[name]))


def limit_from(keyword: str, name: str) -> dict:
    """JSON Schema mark: ``keyword`` (maxItems, maximum …) is the setting ``name``; the
    served document has the app's value there (backend.api.openapi)."""
    return {keyword: int(DEFAULTS[name]), "x-setting": {keyword: name}}


def _date(value, info: ValidationInfo, *, allow_future: bool):
    if not isinstance(value, str) or not DATE_RE.match(value.strip()):
        raise PydanticCustomError("date", _("must be a date (YYYY-MM-DD)"))
    try:
        d = date.fromisoformat(value.strip())
    except ValueError:
        raise PydanticCustomError("date", _("is not a valid date")) from None
    if d.year < 2000:
        raise PydanticCustomError("date", _("is before the year 2000"))
    if not allow_future and d > datetime.now(canonical.CHINA).date():
        raise PydanticCustomError("date", _("is in the future (China time)"))
    return d


DATE_SCHEMA = {"type": "string", "format": "date", "pattern": "^[2-9]"}  # a calendar date from 2000 on
PastDate = Annotated[date, BeforeValidator(lambda v, info: _date(v, info, allow_future=False)),
                     WithJsonSchema({**DATE_SCHEMA, "description": "not in the future (China time)"})]
AnyDate = Annotated[date, BeforeValidator(lambda v, info: _date(v, info, allow_future=True)),
                    WithJsonSchema(DATE_SCHEMA)]
InvoiceNumber = Annotated[str, Field(pattern=NUMBER_PATTERN, min_length=20, max_length=20,
                                     description="20-digit invoice number"), BeforeValidator(strip)]
Upper = AfterValidator(str.upper)


def field_path(loc) -> str:
    """("items", 0, "quantity") → "items[0].quantity"; () → "body"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _predicates():
    """pydantic's words for the commonest problems, in ours (what is said of the field)."""
    return {
        "missing": _("is required"), "model_type": _("must be an object"), "model_attributes_type": _("must be an object"),
        "dict_type": _("must be an object"), "list_type": _("must be a list"), "string_type": _("must be text"),
        "bool_type": _("must be true or false"),
    }


def _limit(loc, value):
    return yuan(value) if field_words.is_amount(loc) and isinstance(value, int) else value


def _message(err) -> str:
    """What is wrong with the field, said of it ("must be at most ¥100.00"), in the
    request's language; amount limits in yuan."""
    kind, ctx, loc = err["type"], err.get("ctx") or {}, err["loc"]
    predicates = _predicates()
    if kind in predicates:
        return predicates[kind]
    if kind == "int_type":
        return _("must be a whole number of fen") if field_words.is_amount(loc) else _("must be a whole number")
    if kind == "string_too_short":
        return _("is required") if ctx.get("min_length") == 1 else \
            _("must have at least %(count)s characters", count=ctx.get("min_length"))
    if kind == "string_too_long":
        return _("must have at most %(count)s characters", count=ctx.get("max_length"))
    if kind == "string_pattern_mismatch":
        return _("is not in the right form (control characters are not allowed)")
    if kind == "greater_than_equal":
        return _("must be at least %(limit)s", limit=_limit(loc, ctx.get("ge")))
    if kind == "less_than_equal":
        return _("must be at most %(limit)s", limit=_limit(loc, ctx.get("le")))
    if kind == "greater_than":
        return _("must be more than %(limit)s", limit=_limit(loc, ctx.get("gt")))
    if kind == "less_than":
        return _("must be less than %(limit)s", limit=_limit(loc, ctx.get("lt")))
    if kind == "too_short":
        return _("needs at least one entry") if ctx.get("min_length") == 1 else \
            _("needs at least %(count)s entries", count=ctx.get("min_length"))
    if kind == "too_long":
        return _("can have at most %(count)s entries", count=ctx.get("max_length"))
    if kind in ("literal_error", "enum"):
        return _("must be one of %(values)s", values=ctx.get("expected", ""))
    if kind in ("int_parsing", "int_from_float", "float_parsing", "decimal_parsing"):
        return _("must be a number")
    if kind.startswith("string_") or kind.startswith("str_"):
        return _("must be text")
    return err["msg"].replace("Value error, ", "")  # our own validators' words (translated where they are raised)


def errors_by_field(exc: ValidationError) -> dict[str, str]:
    """pydantic's errors as ``{field path: a sentence naming the field in words}`` (in the
    request's language); unknown fields of an object are one entry at the object's path."""
    fields, unknown = {}, {}
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        if err["type"] == "extra_forbidden":
            unknown.setdefault(tuple(loc[:-1]), []).append(str(loc[-1]))
        else:
            fields.setdefault(field_path(loc), field_words.sentence(loc, _message(err)))
    for loc, names in unknown.items():
        fields.setdefault(field_path(loc), field_words.sentence(
            loc, _("has fields that are not known: %(names)s", names=", ".join(sorted(names)))))
    return fields


def validate(model: type[BaseModel], data, *, config=None):
    """``data`` as ``model``; raises pydantic's ValidationError (see errors_by_field)."""
    return model.model_validate(data, context={"config": config})
