"""Buyers' taxpayer IDs (纳税人识别号), checked as merchants' are: an 18-character Unified
Social Credit Code with its check character (GB 32100-2015), or one of the legacy tax
registration numbers still printed on invoices — 15 characters (region code + organisation
code, GB 11714) or 20 (an individual's 18-digit resident ID number, GB 11643, + 2 digits).
A wrong check character is named as such, never the right one: that would hand a forger a
valid-looking ID (the tax bureau's portal says only "纳税人识别号校验位错误")."""
import re
from typing import Annotated

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from .merchants import USCC_RE, uscc_check_char

LEGACY_15_RE = re.compile(r"^[1-8][0-9]{5}[0-9A-Z]{8}[0-9X]$")
LEGACY_20_RE = re.compile(r"^[1-8][0-9]{16}[0-9X][0-9]{2}$")
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

# what is wrong, in words (lazy: translated when said; taxpayer_id_problem gives the text)
WRONG_LENGTH = _l("A taxpayer ID is an 18-character Unified Social Credit Code, or a legacy 15- or 20-character tax "
                  "registration number.")
BAD_USCC = _l("The Unified Social Credit Code is malformed: 18 digits or capital letters (no I, O, S, V, Z), "
              "positions 3 to 8 digits.")
BAD_LEGACY_15 = _l("A 15-character tax registration number is a 6-digit region code and a 9-character organisation "
                   "code (its last a digit or X).")
BAD_LEGACY_20 = _l("A 20-character tax registration number is an 18-digit resident ID number (its last a digit or X) "
                   "and 2 digits.")
WRONG_CHECK_USCC = _l("The tax ID's check character is wrong: the 18th character of a Unified Social Credit Code "
                      "follows from the first 17; check the ID for a typo.")
WRONG_CHECK_15 = _l("The tax ID's check character is wrong: the last character of a 15-character tax registration "
                    "number follows from its organisation code; check the ID for a typo.")
WRONG_CHECK_20 = _l("The tax ID's check character is wrong: the 18th character of a 20-character tax registration "
                    "number follows from the resident ID number's first 17 digits; check the ID for a typo.")


def org_code_check_char(first8):
    """The 9th character of an organisation code (组织机构代码, GB 11714): 0-9 or X."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(first8, ORG_CODE_WEIGHTS))
    return "0123456789X0"[11 - total % 11]


def resident_id_check_char(first17):
    """The 18th character of a resident ID number (GB 11643): 0-9 or X."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, RESIDENT_ID_WEIGHTS)) % 11]


def taxpayer_id_problem(code):
    """What is wrong with an upper-case taxpayer ID, in words (the request's language); None if nothing."""
    problem = _problem_of(code)
    return None if problem is None else str(problem)


def _problem_of(code):
    if len(code) == 18:
        if not (USCC_RE.match(code) and code[2:8].isdigit()):
            return BAD_USCC
        return None if uscc_check_char(code[:17]) == code[17] else WRONG_CHECK_USCC
    if len(code) == 15:
        if not LEGACY_15_RE.match(code):
            return BAD_LEGACY_15
        return None if org_code_check_char(code[6:14]) == code[14] else WRONG_CHECK_15
    if len(code) == 20:
        if not LEGACY_20_RE.match(code):
            return BAD_LEGACY_20
        return None if resident_id_check_char(code[:17]) == code[17] else WRONG_CHECK_20
    return WRONG_LENGTH


def looks_like_uscc(code):
    """A search text that can only be meant as a full USCC (18 characters of its alphabet,
    positions 3 to 8 digits), not as part of a name."""
    code = code.strip().upper()
    return bool(USCC_RE.match(code)) and code[2:8].isdigit()


def _taxpayer_id(value):
    """Stripped and upper-cased; checked before the field's pattern, so that the error says
    in words what is wrong rather than "invalid format"."""
    if not isinstance(value, str):
        return value  # the field answers "must be a string"
    code = value.strip().upper()
    problem = taxpayer_id_problem(code)
    if problem:
        raise PydanticCustomError("taxpayer_id", problem)
    return code


_USCC = "[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]"
TAXPAYER_ID_PATTERN = (f"^({_USCC}{{2}}[0-9]{{6}}{_USCC}{{10}}|[1-8][0-9]{{5}}[0-9A-Za-z]{{8}}[0-9Xx]|"
                       "[1-8][0-9]{16}[0-9Xx][0-9]{2})$")
TaxpayerId = Annotated[str, Field(min_length=15, max_length=20, pattern=TAXPAYER_ID_PATTERN,
                                  description="the buyer's taxpayer ID: an 18-character USCC, or a legacy 15- or "
                                              "20-character tax registration number; its check character must be "
                                              "right, else 400"),
                       BeforeValidator(_taxpayer_id)]


def _full_uscc_checked(value):
    """A filter text (a tax ID or part of a name): one that can only be a full USCC must have
    its check character right; it would find nothing else."""
    if isinstance(value, str) and looks_like_uscc(value):
        code = value.strip().upper()
        if uscc_check_char(code[:17]) != code[17]:
            raise PydanticCustomError("taxpayer_id", str(WRONG_CHECK_USCC))
    return value


FullIdChecked = AfterValidator(_full_uscc_checked)
