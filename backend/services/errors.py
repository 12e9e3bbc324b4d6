"""What a service refuses: bad input (ValidationError, per field) and refused actions
(Refused: a custom-error name or our own code, and the HTTP status it answers)."""
from ..chain.errors import CONFLICT_ERRORS, FORBIDDEN_ERRORS, ChainRefusal


class ValidationError(Exception):
    """Bad input: ``fields`` maps a field path to what is wrong with it."""

    def __init__(self, fields, message="请求中有字段不正确。The request has invalid fields."):
        self.fields = fields
        self.message = message
        super().__init__(message)


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
