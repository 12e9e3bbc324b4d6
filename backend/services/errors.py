"""What a service refuses: bad input (ValidationError, per field) and refused actions
(Refused: a custom-error name or our own code, and the HTTP status it answers)."""
from flask_babel import gettext as _

from ..chain.errors import CONFLICT_ERRORS, FORBIDDEN_ERRORS, ChainRefusal


class ValidationError(Exception):
    """Bad input: ``fields`` maps a field path to what is wrong with it (a sentence in the
    request's language that names the field in words); ``message``: the whole answer's."""

    def __init__(self, fields, message=None):
        self.fields = fields
        self.message = message if message is not None else _("Some fields of the request are not valid.")
        super().__init__(self.message)


class Refused(Exception):
    """A refused action: ``code`` (a custom error name or our own), HTTP ``status``;
    ``extra``: more of the answer (e.g. the verification that refused an expense claim)."""

    def __init__(self, code, message, status=422, fields=None, extra=None):
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields
        self.extra = extra or {}
        super().__init__(message)


def refusal_from_chain(exc: ChainRefusal):
    status = 409 if exc.name in CONFLICT_ERRORS else (403 if exc.name in FORBIDDEN_ERRORS else 422)
    return Refused(exc.name, exc.message, status)
