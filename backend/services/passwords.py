"""Password rules, applied wherever a person sets a password (the account page, the
``users create`` CLI): at least MIN_LENGTH characters, not the username, not of one kind of
character only, not a well-known password. ``set_password`` checks and sets; ``generate``
makes a random one that passes."""
import secrets
import string

from flask_babel import gettext as _

from ..core.i18n import current_language
from .errors import ValidationError

MIN_LENGTH = 10
MAX_LENGTH = 200
# the most common passwords in public leaks that are long enough to pass the other rules, and
# the obvious ones of this platform; the other rules catch the rest of the usual lists
COMMON = frozenset("""
1234567890 0123456789 1234567890a a1234567890 qwertyuiop qwertyuiop1 1qaz2wsx3edc 1q2w3e4r5t
1q2w3e4r5t6y zaq12wsxcde password123 password1234 password12 passw0rd123 p@ssw0rd123 p@ssword123
abc1234567 abcd123456 abcdef123456 iloveyou123 welcome123 welcome1234 letmein123 admin12345
administrator admin123456 qwerty123456 qwerty12345 woaini1314 woaini520 5201314520 aa123456789
a123456789 abc123456789 1234qwer! qwer1234!! changeme123 sunshine123 football123 princess123
einvoice123 einvoice2026 invoice123 fapiao123456 authority123 auditor12345 financier123
""".split())
CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)


def problems(password, username=""):
    """What is wrong with ``password``, a sentence each in the request's language; empty when it is fine."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append(_("A password has at least %(count)s characters.", count=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        found.append(_("A password has at most %(count)s characters.", count=MAX_LENGTH))
    lowered = password.lower()
    if username and lowered == username.strip().lower():
        found.append(_("The password cannot be the username."))
    if sum(any(c in kind for c in password) for kind in CLASSES) + any(_other(c) for c in password) < 2:
        found.append(_("Use at least two kinds of characters (lower case, upper case, digits, symbols)."))
    if lowered in COMMON:
        found.append(_("This is a well-known password, easy to guess."))
    return found


def _other(char):
    return not any(char in kind for kind in CLASSES)


def joined(sentences):
    """Sentences as one text: Chinese ones run on, English ones are spaced."""
    return ("" if current_language() == "zh" else " ").join(sentences)


def describe(password, username=""):
    """Every problem of ``password`` in one text; None when it passes."""
    found = problems(password or "", username)
    return joined(found) if found else None


def check(password, username="", field="password"):
    """Raises ValidationError (``field``: every problem) unless it passes."""
    found = describe(password, username)
    if found:
        raise ValidationError({field: found}, message=_("The password does not meet the rules."))


def set_password(user, password):
    check(password, user.username)
    user.set_password(password)


def change_password(user, current, new):
    """The account page's change: the current password first, then the rules."""
    if not user.check_password(current or ""):
        wrong = _("The current password is wrong.")
        raise ValidationError({"current_password": wrong}, message=wrong)
    if new == current:
        raise ValidationError({"new_password": _("The new password must differ from the current one.")},
                              message=_("The password does not meet the rules."))
    check(new, user.username, field="new_password")
    user.set_password(new)


def generate():
    """A random password that passes the rules (16 characters of letters and digits)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(16))
        if not problems(password):
            return password
