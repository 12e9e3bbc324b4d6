"""Buyers' taxpayer IDs (纳税人识别号), checked as merchants' are: an 18-character Unified
Social Credit Code with its check character (GB 32100-2015), or one of the legacy tax
registration numbers still printed on invoices — 15 characters (region code + organisation
code, GB 11714) or 20 (an individual's 18-digit resident ID number, GB 11643, + 2 digits).
A wrong check character is named as such, never the right one: that would hand a forger a
valid-looking ID (the tax bureau's portal says only "纳税人识别号校验位错误")."""
import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from .merchants import USCC_RE, uscc_check_char

LEGACY_15_RE = re.compile(r"^[1-8][0-9]{5}[0-9A-Z]{8}[0-9X]$")
LEGACY_20_RE = re.compile(r"^[1-8][0-9]{16}[0-9X][0-9]{2}$")
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

WRONG_LENGTH = ("纳税人识别号应为18位统一社会信用代码，或15位、20位的旧税务登记号。A taxpayer ID is an 18-character Unified "
                "Social Credit Code, or a legacy 15- or 20-character tax registration number.")
BAD_USCC = ("统一社会信用代码格式错误：18位数字或大写字母（不含 I、O、S、V、Z），第3至8位为数字。The Unified Social Credit Code "
            "is malformed: 18 digits or capital letters (no I, O, S, V, Z), positions 3 to 8 digits.")
BAD_LEGACY_15 = ("15位税务登记号格式错误：6位行政区划代码加9位组织机构代码（末位为数字或 X）。A 15-character tax registration "
                 "number is a 6-digit region code and a 9-character organisation code (its last a digit or X).")
BAD_LEGACY_20 = ("20位税务登记号格式错误：18位居民身份证号码（末位为数字或 X）加2位数字。A 20-character tax registration number "
                 "is an 18-digit resident ID number (its last a digit or X) and 2 digits.")
WRONG_CHECK_USCC = ("纳税人识别号校验位错误：统一社会信用代码的第18位（校验码）与前17位不符，请核对后重新输入。The tax ID's "
                    "check character is wrong: the 18th character of a Unified Social Credit Code follows from the "
                    "first 17; check the ID for a typo.")
WRONG_CHECK_15 = ("纳税人识别号校验位错误：15位税务登记号的最后一位（组织机构代码校验码）与前面不符，请核对后重新输入。The tax "
                  "ID's check character is wrong: the last character of a 15-character tax registration number follows "
                  "from its organisation code; check the ID for a typo.")
WRONG_CHECK_20 = ("纳税人识别号校验位错误：20位税务登记号的第18位（身份证号码校验码）与前17位不符，请核对后重新输入。The tax "
                  "ID's check character is wrong: the 18th character of a 20-character tax registration number follows "
                  "from the resident ID number's first 17 digits; check the ID for a typo.")


def org_code_check_char(first8):
    """The 9th character of an organisation code (组织机构代码, GB 11714): 0-9 or X."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(first8, ORG_CODE_WEIGHTS))
    return "0123456789X0"[11 - total % 11]


def resident_id_check_char(first17):
    """The 18th character of a resident ID number (GB 11643): 0-9 or X."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, RESIDENT_ID_WEIGHTS)) % 11]


def taxpayer_id_problem(code):
    """What is wrong with an upper-case taxpayer ID, in words (Chinese first); None if nothing."""
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
            raise PydanticCustomError("taxpayer_id", WRONG_CHECK_USCC)
    return value


FullIdChecked = AfterValidator(_full_uscc_checked)
