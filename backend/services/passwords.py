"""Password rules, applied wherever a person sets a password (the account page, the
``users create`` CLI): at least MIN_LENGTH characters, not the username, not of one kind of
character only, not a well-known password. ``set_password`` checks and sets; ``generate``
makes a random one that passes."""
import secrets
import string

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
    """What is wrong with ``password`` as (Chinese, English) pairs; empty when it is fine."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append((f"密码至少 {MIN_LENGTH} 个字符", f"a password has at least {MIN_LENGTH} characters"))
    if len(password) > MAX_LENGTH:
        found.append((f"密码最多 {MAX_LENGTH} 个字符", f"a password has at most {MAX_LENGTH} characters"))
    lowered = password.lower()
    if username and lowered == username.strip().lower():
        found.append(("密码不能与用户名相同", "the password cannot be the username"))
    if sum(any(c in kind for c in password) for kind in CLASSES) + any(_other(c) for c in password) < 2:
        found.append(("密码须包含至少两类字符（小写字母、大写字母、数字、符号）",
                      "use at least two kinds of characters (lower case, upper case, digits, symbols)"))
    if lowered in COMMON:
        found.append(("这是常见密码，很容易被猜中", "this is a well-known password, easy to guess"))
    return found


def _other(char):
    return not any(char in kind for kind in CLASSES)


def describe(password, username=""):
    """Every problem of ``password`` in one sentence, Chinese then English; None when it passes."""
    found = problems(password or "", username)
    if not found:
        return None
    return "；".join(zh for zh, _ in found) + "。" + "; ".join(en for _, en in found) + "."


def check(password, username="", field="password"):
    """Raises ValidationError (``field``: every problem, Chinese then English) unless it passes."""
    found = describe(password, username)
    if found:
        raise ValidationError({field: found}, message="密码不符合要求。The password does not meet the rules.")


def set_password(user, password):
    check(password, user.username)
    user.set_password(password)


def change_password(user, current, new):
    """The account page's change: the current password first, then the rules."""
    if not user.check_password(current or ""):
        raise ValidationError({"current_password": "当前密码不正确。The current password is wrong."},
                              message="当前密码不正确。The current password is wrong.")
    if new == current:
        raise ValidationError({"new_password": "新密码不能与当前密码相同。The new password must differ from the "
                                               "current one."}, message="密码不符合要求。The password does not "
                                                                        "meet the rules.")
    check(new, user.username, field="new_password")
    user.set_password(new)


def generate():
    """A random password that passes the rules (16 characters of letters and digits)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(16))
        if not problems(password):
            return password
