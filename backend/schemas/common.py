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
from pydantic_core import PydanticCustomError

from ..core import canonical
from ..core.config import DEFAULTS

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
    """Every refusal: a code (a custom-error name of the contracts, or ours), a message
    (Chinese, then English), and per-field problems for a 400."""
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
        raise PydanticCustomError("date", "must be a date YYYY-MM-DD")
    try:
        d = date.fromisoformat(value.strip())
    except ValueError:
        raise PydanticCustomError("date", "not a valid date") from None
    if d.year < 2000:
        raise PydanticCustomError("date", "too old")
    if not allow_future and d > datetime.now(canonical.CHINA).date():
        raise PydanticCustomError("date", "is in the future (China time)")
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


MESSAGES = {  # pydantic's words for the commonest problems, in ours
    "missing": "required", "int_type": "must be an integer (amounts in fen)", "model_type": "must be an object",
    "model_attributes_type": "must be an object", "dict_type": "must be an object", "list_type": "must be a list",
    "string_type": "must be a string", "bool_type": "must be true or false",
}


def _message(err) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in MESSAGES:
        return MESSAGES[kind]
    if kind == "string_too_short":
        return "required" if ctx.get("min_length") == 1 else f"at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return "invalid format (control characters are not allowed)"
    if kind in ("greater_than_equal", "less_than_equal"):
        return err["msg"].replace("Input should be", "must be")
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "at least one"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')}"
    return err["msg"].replace("Value error, ", "")


def errors_by_field(exc: ValidationError) -> dict[str, str]:
    """pydantic's errors as ``{field path: what is wrong}``; unknown fields of an object
    are one entry at the object's path: "unknown fields: a, b"."""
    fields, unknown = {}, {}
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        if err["type"] == "extra_forbidden":
            unknown.setdefault(field_path(loc[:-1]), []).append(str(loc[-1]))
        else:
            fields.setdefault(field_path(loc), _message(err))
    for path, names in unknown.items():
        fields.setdefault(path, "unknown fields: " + ", ".join(sorted(names)))
    return fields


def validate(model: type[BaseModel], data, *, config=None):
    """``data`` as ``model``; raises pydantic's ValidationError (see errors_by_field)."""
    return model.model_validate(data, context={"config": config})
