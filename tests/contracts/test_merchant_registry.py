"""MerchantRegistry (v2): applications, USCC tax-ID checks, the authority's decisions,
audit limits, seller tags, operators, the views the audit rules read, and the two-step
transfer of the default admin role.

A tax ID belongs to an account only once the authority approves it: pending applications
reserve nothing (several applicants may be pending with one tax ID).

brownie 1.22 decodes a custom-error revert into `VirtualMachineError.revert_msg` as
"ErrorName: arg, arg" (addresses lower-case, bytesN as b'...', enums as ints), so each
refusal is asserted with `reverts(<error name>, <args>)` on that exact message.
"""
from enum import IntEnum

import brownie
import pytest

from tests.conftest import DEFAULT_LIMITS, MERCHANT_TAX_ID, OTHER_MERCHANT_TAX_ID, approve_with_tag, licence_hash
from tests.contracts.conftest import as_bytes, seller_tag

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAX_NAME_LENGTH = 300
ADMIN_TRANSFER_DELAY = 2 * 24 * 3600
MAX_LIMITS = (2**48 - 1, 2**64 - 1, 2**32 - 1)
NO_TAG = b"\x00" * 12
MERCHANT_NAME = "厦门示例贸易有限公司"
OTHER_MERCHANT_NAME = "北京示例科技有限公司"

# GB 32100-2015: character values are indexes in this alphabet, weights are 3^i mod 31.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]


class Status(IntEnum):
    NONE = 0
    PENDING = 1
    APPROVED = 2
    SUSPENDED = 3
    REJECTED = 4


def uscc_check(body: str) -> str:
    """Check character of the 17-character USCC `body`."""
    assert len(body) == 17
    total = sum(USCC_ALPHABET.index(char) * weight for char, weight in zip(body, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc(body: str) -> str:
    """The 18-character USCC made of `body` and its check character."""
    return body + uscc_check(body)


def uscc_with_check(prefix: str, check: str) -> str:
    """A valid USCC starting with the 16-character `prefix` whose check character is `check`.

    The 17th character's weight (28) is prime to 31, so exactly one of them gives `check`.
    """
    for last in USCC_ALPHABET:
        if uscc_check(prefix + last) == check:
            return prefix + last + check
    raise AssertionError(f"no 17th character gives check {check}")


def _revert_arg(value) -> str:
    if hasattr(value, "address"):
        return value.address.lower()
    if isinstance(value, (bytes, bytearray)):
        return repr(bytes(value))
    if isinstance(value, int):
        return str(int(value))
    return str(value)


def reverts(error: str, *args):
    """Expects a revert with custom error `error` and exactly these arguments."""
    return brownie.reverts(f"{error}: " + ", ".join(_revert_arg(arg) for arg in args))


def event_fields(event) -> dict:
    """An event's fields as a plain dict (brownie's own comparisons choke on int fields)."""
    return {key: event[key] for key in event.keys()}


def tax_id_bytes(tax_id: str) -> bytes:
    return tax_id.encode()


@pytest.fixture
def approved_merchants(merchant_registry, authority, merchant, other_merchant):
    """Both merchants applied and approved with DEFAULT_LIMITS.

    Shadows the module-scoped conftest fixture of the same name: a module-scoped
    fixture's transactions run before fn_isolation's snapshot, so its approvals would
    leak into every later test of this module that expects a fresh registry.
    """
    merchant_registry.applyAsMerchant(MERCHANT_NAME, MERCHANT_TAX_ID, licence_hash("L-001"), {"from": merchant})
    merchant_registry.applyAsMerchant(OTHER_MERCHANT_NAME, OTHER_MERCHANT_TAX_ID, licence_hash("L-002"), {"from": other_merchant})
    approve_with_tag(merchant_registry, authority, merchant, MERCHANT_TAX_ID)
    approve_with_tag(merchant_registry, authority, other_merchant, OTHER_MERCHANT_TAX_ID)
    return merchant_registry


@pytest.fixture
def authority_role(merchant_registry):
    return bytes(merchant_registry.AUTHORITY_ROLE())


@pytest.fixture
def bring_to(merchant_registry, authority):
    """Drives `account` (applying with `tax_id`) to `status`; returns the registry."""

    def _bring_to(account, status, tax_id=MERCHANT_TAX_ID):
        if status == Status.NONE:
            return merchant_registry
        merchant_registry.applyAsMerchant(MERCHANT_NAME, tax_id, licence_hash("L-001"), {"from": account})
        if status == Status.REJECTED:
            merchant_registry.reject(account, "incomplete documents", {"from": authority})
        if status in (Status.APPROVED, Status.SUSPENDED):
            approve_with_tag(merchant_registry, authority, account, tax_id)
        if status == Status.SUSPENDED:
            merchant_registry.suspend(account, "audit", {"from": authority})
        assert merchant_registry.merchant(account)["status"] == status
        return merchant_registry

    return _bring_to


# --- deployment ----------------------------------------------------------------------


def test_deployer_given_authority_holds_admin_and_authority_roles(merchant_registry, authority, stranger, authority_role):
    admin_role = bytes(merchant_registry.DEFAULT_ADMIN_ROLE())

    assert merchant_registry.hasRole(admin_role, authority)
    assert merchant_registry.defaultAdmin() == authority
    assert merchant_registry.defaultAdminDelay() == ADMIN_TRANSFER_DELAY
    assert merchant_registry.ADMIN_TRANSFER_DELAY() == ADMIN_TRANSFER_DELAY
    assert merchant_registry.hasRole(authority_role, authority)
    assert not merchant_registry.hasRole(authority_role, stranger)
    assert merchant_registry.MAX_NAME_LENGTH() == MAX_NAME_LENGTH


def test_granted_authority_can_approve(merchant_registry, authority, auditor, merchant, authority_role):
    merchant_registry.grantRole(authority_role, auditor, {"from": authority})
    merchant_registry.applyAsMerchant(MERCHANT_NAME, MERCHANT_TAX_ID, licence_hash("L-001"), {"from": merchant})

    merchant_registry.approve(merchant, DEFAULT_LIMITS, seller_tag(MERCHANT_TAX_ID, merchant), {"from": auditor})

    assert merchant_registry.isActiveMerchant(merchant)


# --- applyAsMerchant -------------------------------------------------------------------


def test_apply_records_pending_application(merchant_registry, merchant):
    tx = merchant_registry.applyAsMerchant(MERCHANT_NAME, MERCHANT_TAX_ID, licence_hash("L-001"), {"from": merchant})

    record = merchant_registry.merchant(merchant)
    assert record["status"] == Status.PENDING
    assert record["appliedAt"] == tx.timestamp
    assert bytes(record["taxId"]) == tax_id_bytes(MERCHANT_TAX_ID)
    assert bytes(record["licenceHash"]) == licence_hash("L-001")
    assert record["limits"].dict() == {"invoiceCap": 0, "monthlyQuota": 0, "hourlyNorm": 0}
    assert as_bytes(record["sellerTag"]) == NO_TAG
    assert record["name"] == MERCHANT_NAME
    assert merchant_registry.accountOfTaxId(tax_id_bytes(MERCHANT_TAX_ID)) == ZERO_ADDRESS  # reserved by nobody
    assert not merchant_registry.isActiveMerchant(merchant)


def test_apply_emits_merchant_applied(merchant_registry, merchant):
    tx = merchant_registry.applyAsMerchant(MERCHANT_NAME, MERCHANT_TAX_ID, licence_hash("L-001"), {"from": merchant})

    assert len(tx.events) == 1
    event = tx.events["MerchantApplied"]
    assert event["account"] == merchant
    assert bytes(event["taxId"]) == tax_id_bytes(MERCHANT_TAX_ID)
    assert event["name"] == MERCHANT_NAME
    assert bytes(event["licenceHash"]) == licence_hash("L-001")


def test_apply_refuses_empty_name(merchant_registry, merchant):
    with reverts("InvalidMerchantName", 0, MAX_NAME_LENGTH):
        merchant_registry.applyAsMerchant("", MERCHANT_TAX_ID, licence_hash("L-001"), {"from": merchant})


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "一" * 100,  # 100 three-byte characters: exactly 300 bytes
        "😀" * 75,  # 75 four-byte characters: exactly 300 bytes
        "一" * 99 + "ab" + "c",  # mixed widths: 297 + 3 bytes
    ],
    ids=["1-byte", "300-bytes-cjk", "300-bytes-emoji", "300-bytes-mixed"],
)
def test_apply_accepts_name_up_to_max_bytes(merchant_registry, merchant, name):
    assert 1 <= len(name.encode()) <= MAX_NAME_LENGTH

    merchant_registry.applyAsMerchant(name, MERCHANT_TAX_ID, licence_hash("L-001"), {"from": merchant})

    assert merchant_registry.merchant(merchant)["name"] == name


@pytest.mark.parametrize(
    "name",
    [
        "一" * 100 + "a",  # 301 bytes though only 101 characters
        "a" + "一" * 100,
        "😀" * 75 + "a",
        "a" * 301,
        "一" * 101,  # 303 bytes
    ],
    ids=["301-bytes-cjk-then-ascii", "301-bytes-ascii-then-cjk", "301-bytes-emoji", "301-bytes-ascii", "303-bytes-cjk"],
)
def test_apply_refuses_name_over_max_bytes(merchant_registry, merchant, name):
    length = len(name.encode())
    assert length > MAX_NAME_LENGTH

    with reverts("InvalidMerchantName", length, MAX_NAME_LENGTH):
        merchant_registry.applyAsMerchant(name, MERCHANT_TAX_ID, licence_hash("L-001"), {"from": merchant})


def test_apply_refuses_zero_licence_hash(merchant_registry, merchant):
    with reverts("MissingLicenceHash"):
        merchant_registry.applyAsMerchant(MERCHANT_NAME, MERCHANT_TAX_ID, b"\x00" * 32, {"from": merchant})


@pytest.mark.parametrize("status", [Status.PENDING, Status.APPROVED, Status.SUSPENDED])
def test_apply_refuses_account_already_registered(bring_to, merchant, status):
    registry = bring_to(merchant, status)

    with reverts("MerchantAlreadyRegistered", merchant):
        registry.applyAsMerchant("新名称", OTHER_MERCHANT_TAX_ID, licence_hash("L-009"), {"from": merchant})


@pytest.mark.parametrize("holder_status", [Status.APPROVED, Status.SUSPENDED])
def test_apply_refuses_tax_id_owned_by_another_merchant(bring_to, merchant, other_merchant, holder_status):
    registry = bring_to(merchant, holder_status)

    with reverts("TaxIdAlreadyRegistered", tax_id_bytes(MERCHANT_TAX_ID), merchant):
        registry.applyAsMerchant(OTHER_MERCHANT_NAME, MERCHANT_TAX_ID, licence_hash("L-002"), {"from": other_merchant})


@pytest.mark.parametrize("holder_status", [Status.PENDING, Status.REJECTED])
def test_apply_accepts_tax_id_of_an_unapproved_application(bring_to, merchant, other_merchant, holder_status):
    registry = bring_to(merchant, holder_status)

    registry.applyAsMerchant(OTHER_MERCHANT_NAME, MERCHANT_TAX_ID, licence_hash("L-002"), {"from": other_merchant})

    assert registry.merchant(other_merchant)["status"] == Status.PENDING
    assert registry.merchant(merchant)["status"] == holder_status
    assert registry.accountOfTaxId(tax_id_bytes(MERCHANT_TAX_ID)) == ZERO_ADDRESS


def test_reapply_after_rejection_with_same_tax_id(bring_to, merchant):
    registry = bring_to(merchant, Status.REJECTED)

    tx = registry.applyAsMerchant("厦门示例贸易股份有限公司", MERCHANT_TAX_ID, licence_hash("L-001b"), {"from": merchant})

    record = registry.merchant(merchant)
    assert record["status"] == Status.PENDING
    assert record["appliedAt"] == tx.timestamp
    assert record["name"] == "厦门示例贸易股份有限公司"
    assert bytes(record["licenceHash"]) == licence_hash("L-001b")
    assert registry.accountOfTaxId(tax_id_bytes(MERCHANT_TAX_ID)) == ZERO_ADDRESS  # pending: not bound yet
    assert tx.events["MerchantApplied"]["account"] == merchant


def test_reapply_after_rejection_with_other_tax_id(bring_to, authority, merchant):
    registry = bring_to(merchant, Status.REJECTED)

    registry.applyAsMerchant(MERCHANT_NAME, OTHER_MERCHANT_TAX_ID, licence_hash("L-001"), {"from": merchant})

    assert bytes(registry.merchant(merchant)["taxId"]) == tax_id_bytes(OTHER_MERCHANT_TAX_ID)
    approve_with_tag(registry, authority, merchant, OTHER_MERCHANT_TAX_ID)
    assert registry.accountOfTaxId(tax_id_bytes(OTHER_MERCHANT_TAX_ID)) == merchant
    assert registry.accountOfTaxId(tax_id_bytes(MERCHANT_TAX_ID)) == ZERO_ADDRESS


def test_rejected_tax_id_can_be_taken_by_another_account(bring_to, authority, merchant, other_merchant):
    registry = bring_to(merchant, Status.REJECTED)
    registry.applyAsMerchant(OTHER_MERCHANT_NAME, MERCHANT_TAX_ID, licence_hash("L-002"), {"from": other_merchant})

    approve_with_tag(registry, authority, other_merchant, MERCHANT_TAX_ID)

    assert registry.accountOfTaxId(tax_id_bytes(MERCHANT_TAX_ID)) == other_merchant
    with reverts("TaxIdAlreadyRegistered", tax_id_bytes(MERCHANT_TAX_ID), other_merchant):
        registry.applyAsMerchant(MERCHANT_NAME, MERCHANT_TAX_ID, licence_hash("L-001"), {"from": merchant})


# --- USCC tax IDs ----------------------------------------------------------------------

VALID_TAX_IDS = [
    MERCHANT_TAX_ID,
    OTHER_MERCHANT_TAX_ID,
    uscc("91310000MA1FL0000"),
    uscc("12100000400000000"),
    uscc("Y1440300000000001"),
    uscc("9A350100A00010034"),  # letters allowed outside positions 3-8
    uscc_with_check("9144030071526726", "0"),  # sum divisible by 31
    uscc_with_check("9144030071526726", "Y"),  # largest check value, 30
    uscc_with_check("5211000050000000", "A"),
    uscc_with_check("9311010100000000", "X"),
]

# A valid body with a letter where the division code needs a digit, check computed.
_DIVISION_LETTER = [uscc(MERCHANT_TAX_ID[:i] + "A" + MERCHANT_TAX_ID[i + 1 : 17]) for i in range(2, 8)]
_WRONG_CHECK = [
    MERCHANT_TAX_ID[:17] + USCC_ALPHABET[(USCC_ALPHABET.index(MERCHANT_TAX_ID[17]) + shift) % 31] for shift in (1, 15, 30)
]

INVALID_TAX_IDS = {
    "empty": "",
    "17-chars": MERCHANT_TAX_ID[:17],
    "19-chars": MERCHANT_TAX_ID + "0",
    "17-chars-plus-multibyte": MERCHANT_TAX_ID[:17] + "中",  # 20 bytes
    "multibyte-in-18-bytes": MERCHANT_TAX_ID[:15] + "中",  # 18 bytes, 16 characters
    **{f"letter-{letter}-in-org-code": MERCHANT_TAX_ID[:8] + letter + MERCHANT_TAX_ID[9:] for letter in "IOSVZ"},
    **{f"letter-{letter}-as-check": MERCHANT_TAX_ID[:17] + letter for letter in "IOSVZ"},
    "lowercase": MERCHANT_TAX_ID.lower(),
    "lowercase-check": OTHER_MERCHANT_TAX_ID[:17] + OTHER_MERCHANT_TAX_ID[17].lower(),  # ...B -> ...b
    "lowercase-org-code": MERCHANT_TAX_ID[:8] + "m" + MERCHANT_TAX_ID[9:],
    **{f"letter-at-position-{i + 1}": tax_id for i, tax_id in zip(range(2, 8), _DIVISION_LETTER)},
    **{f"wrong-check-{tax_id[17]}": tax_id for tax_id in _WRONG_CHECK},
    "space": MERCHANT_TAX_ID[:8] + " " + MERCHANT_TAX_ID[9:],
    "hyphen": MERCHANT_TAX_ID[:8] + "-" + MERCHANT_TAX_ID[9:],
    "char-before-0": MERCHANT_TAX_ID[:8] + "/" + MERCHANT_TAX_ID[9:],
    "char-after-9": MERCHANT_TAX_ID[:8] + ":" + MERCHANT_TAX_ID[9:],
    "char-before-A": MERCHANT_TAX_ID[:8] + "@" + MERCHANT_TAX_ID[9:],
    "char-after-Z": MERCHANT_TAX_ID[:8] + "[" + MERCHANT_TAX_ID[9:],
}


def test_conftest_tax_ids_pass_gb32100_check():
    assert uscc(MERCHANT_TAX_ID[:17]) == MERCHANT_TAX_ID
    assert uscc(OTHER_MERCHANT_TAX_ID[:17]) == OTHER_MERCHANT_TAX_ID


@pytest.mark.parametrize("tax_id", VALID_TAX_IDS)
def test_parse_tax_id_returns_its_bytes(merchant_registry, tax_id):
    assert bytes(merchant_registry.parseTaxId(tax_id)) == tax_id_bytes(tax_id)


@pytest.mark.parametrize("tax_id", VALID_TAX_IDS)
def test_apply_accepts_valid_tax_id(merchant_registry, authority, merchant, tax_id):
    merchant_registry.applyAsMerchant(MERCHANT_NAME, tax_id, licence_hash("L-001"), {"from": merchant})

    assert bytes(merchant_registry.merchant(merchant)["taxId"]) == tax_id_bytes(tax_id)
    approve_with_tag(merchant_registry, authority, merchant, tax_id)
    assert merchant_registry.accountOfTaxId(tax_id_bytes(tax_id)) == merchant


def test_invalid_division_code_ids_only_fail_the_digit_rule():
    # Guards the fixture: these carry a correct check character.
    for tax_id in _DIVISION_LETTER:
        assert len(tax_id) == 18 and uscc(tax_id[:17]) == tax_id


@pytest.mark.parametrize("tax_id", INVALID_TAX_IDS.values(), ids=INVALID_TAX_IDS.keys())
def test_parse_tax_id_refuses_invalid(merchant_registry, tax_id):
    with reverts("InvalidTaxId", tax_id):
        merchant_registry.parseTaxId(tax_id)


def ids_with_char_of_any_value(char: str, position: int) -> list:
    """18-character IDs with `char` at 0-based `position`, one for each value 0..30 an
    implementation could wrongly give it, each with the check character that makes it
    valid under that value, so only the alphabet rule can refuse all of them."""
    if position == 17:
        return [uscc_with_check(MERCHANT_TAX_ID[:16], check)[:17] + char for check in USCC_ALPHABET]
    body = MERCHANT_TAX_ID[:position] + char + MERCHANT_TAX_ID[position + 1 : 17]
    others = sum(USCC_ALPHABET.index(c) * w for i, (c, w) in enumerate(zip(body, USCC_WEIGHTS)) if i != position)
    return [body + USCC_ALPHABET[(31 - (others + value * USCC_WEIGHTS[position]) % 31) % 31] for value in range(31)]


@pytest.mark.parametrize("position", [0, 8, 16, 17], ids=["position-1", "position-9", "position-17", "check"])
@pytest.mark.parametrize("char", list("IOSVZ") + ["a", "m", "y"])
def test_parse_tax_id_refuses_char_outside_alphabet_whatever_the_check(merchant_registry, char, position):
    for tax_id in ids_with_char_of_any_value(char, position):
        with reverts("InvalidTaxId", tax_id):
            merchant_registry.parseTaxId(tax_id)


@pytest.mark.parametrize("tax_id", INVALID_TAX_IDS.values(), ids=INVALID_TAX_IDS.keys())
def test_apply_refuses_invalid_tax_id(merchant_registry, merchant, tax_id):
    with reverts("InvalidTaxId", tax_id):
        merchant_registry.applyAsMerchant(MERCHANT_NAME, tax_id, licence_hash("L-001"), {"from": merchant})

    assert merchant_registry.merchant(merchant)["status"] == Status.NONE


# --- approve ---------------------------------------------------------------------------


def test_approve_sets_status_limits_tag_and_binds_tax_id(bring_to, authority, merchant):
    registry = bring_to(merchant, Status.PENDING)
    tag = seller_tag(MERCHANT_TAX_ID, merchant)

    tx = registry.approve(merchant, (500, 2_000, 7), tag, {"from": authority})

    record = registry.merchant(merchant)
    assert record["status"] == Status.APPROVED
    assert record["limits"].dict() == {"invoiceCap": 500, "monthlyQuota": 2_000, "hourlyNorm": 7}
    assert as_bytes(record["sellerTag"]) == tag
    assert registry.isActiveMerchant(merchant)
    assert registry.accountOfTaxId(tax_id_bytes(MERCHANT_TAX_ID)) == merchant
    event = event_fields(tx.events["MerchantApproved"])
    assert as_bytes(event.pop("taxId")) == tax_id_bytes(MERCHANT_TAX_ID)
    assert as_bytes(event.pop("sellerTag")) == tag
    assert event == {
        "account": merchant.address,
        "invoiceCap": 500,
        "monthlyQuota": 2_000,
        "hourlyNorm": 7,
    }


def test_approve_refuses_zero_seller_tag(bring_to, authority, merchant):
    registry = bring_to(merchant, Status.PENDING)

    with reverts("MissingSellerTag"):
        registry.approve(merchant, DEFAULT_LIMITS, NO_TAG, {"from": authority})

    assert registry.merchant(merchant)["status"] == Status.PENDING
    assert registry.accountOfTaxId(tax_id_bytes(MERCHANT_TAX_ID)) == ZERO_ADDRESS


def test_approve_accepts_quota_equal_to_cap(bring_to, authority, merchant):
    registry = bring_to(merchant, Status.PENDING)

    registry.approve(merchant, (1_000, 1_000, 1), seller_tag(MERCHANT_TAX_ID, merchant), {"from": authority})

    assert registry.merchant(merchant)["limits"].dict() == {"invoiceCap": 1_000, "monthlyQuota": 1_000, "hourlyNorm": 1}


def test_approve_accepts_maximum_limits(bring_to, authority, merchant):
    registry = bring_to(merchant, Status.PENDING)
    limits = MAX_LIMITS

    registry.approve(merchant, limits, seller_tag(MERCHANT_TAX_ID, merchant), {"from": authority})

    assert tuple(registry.merchant(merchant)["limits"]) == limits


INVALID_LIMITS = {
    "zero-cap": (0, 1_000, 10),
    "zero-cap-zero-quota": (0, 0, 10),
    "zero-norm": (100, 1_000, 0),
    "quota-below-cap": (1_000, 999, 10),
    "zero-quota": (1_000, 0, 10),
    "all-zero": (0, 0, 0),
}


@pytest.mark.parametrize("limits", INVALID_LIMITS.values(), ids=INVALID_LIMITS.keys())
def test_approve_refuses_invalid_limits(bring_to, authority, merchant, limits):
    registry = bring_to(merchant, Status.PENDING)

    with reverts("InvalidMerchantLimits", *limits):
        registry.approve(merchant, limits, seller_tag(MERCHANT_TAX_ID, merchant), {"from": authority})

    assert registry.merchant(merchant)["status"] == Status.PENDING


@pytest.mark.parametrize("status", [Status.NONE, Status.APPROVED, Status.SUSPENDED, Status.REJECTED])
def test_approve_refuses_account_not_pending(bring_to, authority, merchant, status):
    registry = bring_to(merchant, status)

    with reverts("InvalidMerchantStatus", merchant, Status.PENDING, status):
        registry.approve(merchant, DEFAULT_LIMITS, seller_tag(MERCHANT_TAX_ID, merchant), {"from": authority})


def test_approve_refuses_stranger(bring_to, merchant, stranger, authority_role):
    registry = bring_to(merchant, Status.PENDING)

    with reverts("AccessControlUnauthorizedAccount", stranger, authority_role):
        registry.approve(merchant, DEFAULT_LIMITS, seller_tag(MERCHANT_TAX_ID, merchant), {"from": stranger})


def test_approve_refuses_applicant_approving_itself(bring_to, merchant, authority_role):
    registry = bring_to(merchant, Status.PENDING)

    with reverts("AccessControlUnauthorizedAccount", merchant, authority_role):
        registry.approve(merchant, DEFAULT_LIMITS, seller_tag(MERCHANT_TAX_ID, merchant), {"from": merchant})


def test_approve_refuses_merchant(bring_to, approved_merchants, merchant, stranger, authority_role):
    bring_to(stranger, Status.PENDING, tax_id=uscc("91310000MA1FL0000"))

    with reverts("AccessControlUnauthorizedAccount", merchant, authority_role):
        approved_merchants.approve(stranger, DEFAULT_LIMITS, seller_tag("91310000MA1FL0000", stranger), {"from": merchant})


# --- reject ----------------------------------------------------------------------------


def test_reject_sets_status_and_releases_tax_id(bring_to, authority, merchant):
    registry = bring_to(merchant, Status.PENDING)

    tx = registry.reject(merchant, "licence number does not match", {"from": authority})

    record = registry.merchant(merchant)
    assert record["status"] == Status.REJECTED
    assert bytes(record["taxId"]) == tax_id_bytes(MERCHANT_TAX_ID)  # kept on the record
    assert registry.accountOfTaxId(tax_id_bytes(MERCHANT_TAX_ID)) == ZERO_ADDRESS
    assert not registry.isActiveMerchant(merchant)
    assert event_fields(tx.events["MerchantRejected"]) == {
        "account": merchant.address,
        "reason": "licence number does not match",
    }


@pytest.mark.parametrize("status", [Status.NONE, Status.APPROVED, Status.SUSPENDED, Status.REJECTED])
def test_reject_refuses_account_not_pending(bring_to, authority, merchant, status):
    registry = bring_to(merchant, status)

    with reverts("InvalidMerchantStatus", merchant, Status.PENDING, status):
        registry.reject(merchant, "no", {"from": authority})


def test_reject_refuses_stranger(bring_to, merchant, stranger, authority_role):
    registry = bring_to(merchant, Status.PENDING)

    with reverts("AccessControlUnauthorizedAccount", stranger, authority_role):
        registry.reject(merchant, "no", {"from": stranger})


def test_reject_refuses_merchant(bring_to, approved_merchants, merchant, stranger, authority_role):
    bring_to(stranger, Status.PENDING, tax_id=uscc("91310000MA1FL0000"))

    with reverts("AccessControlUnauthorizedAccount", merchant, authority_role):
        approved_merchants.reject(stranger, "competitor", {"from": merchant})


# --- suspend ---------------------------------------------------------------------------


def test_suspend_sets_status_and_keeps_limits(approved_merchants, authority, merchant, other_merchant):
    tx = approved_merchants.suspend(merchant, "suspected fake invoicing", {"from": authority})

    status, limits, tag = approved_merchants.issuerProfile(merchant)
    assert status == Status.SUSPENDED
    assert tuple(limits) == DEFAULT_LIMITS
    assert as_bytes(tag) == seller_tag(MERCHANT_TAX_ID, merchant)
    assert not approved_merchants.isActiveMerchant(merchant)
    assert approved_merchants.isSuspended(merchant)
    assert not approved_merchants.isSuspended(other_merchant)
    assert approved_merchants.isActiveMerchant(other_merchant)
    assert approved_merchants.accountOfTaxId(tax_id_bytes(MERCHANT_TAX_ID)) == merchant
    assert event_fields(tx.events["MerchantSuspended"]) == {
        "account": merchant.address,
        "reason": "suspected fake invoicing",
    }


@pytest.mark.parametrize("status", [Status.NONE, Status.PENDING, Status.SUSPENDED, Status.REJECTED])
def test_suspend_refuses_account_not_approved(bring_to, authority, merchant, status):
    registry = bring_to(merchant, status)

    with reverts("InvalidMerchantStatus", merchant, Status.APPROVED, status):
        registry.suspend(merchant, "audit", {"from": authority})


def test_suspend_refuses_stranger(approved_merchants, merchant, stranger, authority_role):
    with reverts("AccessControlUnauthorizedAccount", stranger, authority_role):
        approved_merchants.suspend(merchant, "audit", {"from": stranger})


def test_suspend_refuses_merchant(approved_merchants, merchant, other_merchant, authority_role):
    with reverts("AccessControlUnauthorizedAccount", merchant, authority_role):
        approved_merchants.suspend(other_merchant, "competitor", {"from": merchant})


# --- reinstate -------------------------------------------------------------------------


def test_reinstate_restores_approved_status(approved_merchants, authority, merchant):
    approved_merchants.suspend(merchant, "audit", {"from": authority})

    tx = approved_merchants.reinstate(merchant, {"from": authority})

    status, limits, tag = approved_merchants.issuerProfile(merchant)
    assert status == Status.APPROVED
    assert tuple(limits) == DEFAULT_LIMITS
    assert as_bytes(tag) == seller_tag(MERCHANT_TAX_ID, merchant)
    assert approved_merchants.isActiveMerchant(merchant)
    assert not approved_merchants.isSuspended(merchant)
    assert event_fields(tx.events["MerchantReinstated"]) == {
        "account": merchant.address,
    }


@pytest.mark.parametrize("status", [Status.NONE, Status.PENDING, Status.APPROVED, Status.REJECTED])
def test_reinstate_refuses_account_not_suspended(bring_to, authority, merchant, status):
    registry = bring_to(merchant, status)

    with reverts("InvalidMerchantStatus", merchant, Status.SUSPENDED, status):
        registry.reinstate(merchant, {"from": authority})


def test_reinstate_refuses_stranger(approved_merchants, authority, merchant, stranger, authority_role):
    approved_merchants.suspend(merchant, "audit", {"from": authority})

    with reverts("AccessControlUnauthorizedAccount", stranger, authority_role):
        approved_merchants.reinstate(merchant, {"from": stranger})


def test_reinstate_refuses_suspended_merchant_itself(approved_merchants, authority, merchant, authority_role):
    approved_merchants.suspend(merchant, "audit", {"from": authority})

    with reverts("AccessControlUnauthorizedAccount", merchant, authority_role):
        approved_merchants.reinstate(merchant, {"from": merchant})


# --- setLimits -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.APPROVED, Status.SUSPENDED])
def test_set_limits_changes_limits_not_status(bring_to, authority, merchant, status):
    registry = bring_to(merchant, status)

    tx = registry.setLimits(merchant, (300, 300, 2), {"from": authority})

    status_after, limits, tag = registry.issuerProfile(merchant)
    assert as_bytes(tag) == seller_tag(MERCHANT_TAX_ID, merchant)  # limits only: the tag stays
    assert status_after == status
    assert limits.dict() == {"invoiceCap": 300, "monthlyQuota": 300, "hourlyNorm": 2}
    assert event_fields(tx.events["MerchantLimitsChanged"]) == {
        "account": merchant.address,
        "invoiceCap": 300,
        "monthlyQuota": 300,
        "hourlyNorm": 2,
    }


@pytest.mark.parametrize("limits", INVALID_LIMITS.values(), ids=INVALID_LIMITS.keys())
def test_set_limits_refuses_invalid_limits(approved_merchants, authority, merchant, limits):
    with reverts("InvalidMerchantLimits", *limits):
        approved_merchants.setLimits(merchant, limits, {"from": authority})

    assert tuple(approved_merchants.merchant(merchant)["limits"]) == DEFAULT_LIMITS


@pytest.mark.parametrize("status", [Status.NONE, Status.PENDING, Status.REJECTED])
def test_set_limits_refuses_account_not_approved_or_suspended(bring_to, authority, merchant, status):
    registry = bring_to(merchant, status)

    with reverts("InvalidMerchantStatus", merchant, Status.APPROVED, status):
        registry.setLimits(merchant, DEFAULT_LIMITS, {"from": authority})


def test_set_limits_refuses_stranger(approved_merchants, merchant, stranger, authority_role):
    with reverts("AccessControlUnauthorizedAccount", stranger, authority_role):
        approved_merchants.setLimits(merchant, DEFAULT_LIMITS, {"from": stranger})


def test_set_limits_refuses_merchant_raising_its_own(approved_merchants, merchant, authority_role):
    with reverts("AccessControlUnauthorizedAccount", merchant, authority_role):
        approved_merchants.setLimits(merchant, MAX_LIMITS, {"from": merchant})


# --- setOperator / canActFor -----------------------------------------------------------


def test_set_operator_allows_operator(approved_merchants, merchant, other_merchant, buyer):
    tx = approved_merchants.setOperator(buyer, True, {"from": merchant})

    assert approved_merchants.canActFor(buyer, merchant)
    assert not approved_merchants.canActFor(buyer, other_merchant)
    assert not approved_merchants.canActFor(merchant, buyer)
    assert event_fields(tx.events["OperatorChanged"]) == {
        "merchant": merchant.address,
        "operator": buyer.address,
        "allowed": True,
    }


def test_set_operator_revokes_operator(approved_merchants, merchant, buyer):
    approved_merchants.setOperator(buyer, True, {"from": merchant})

    tx = approved_merchants.setOperator(buyer, False, {"from": merchant})

    assert not approved_merchants.canActFor(buyer, merchant)
    assert event_fields(tx.events["OperatorChanged"]) == {
        "merchant": merchant.address,
        "operator": buyer.address,
        "allowed": False,
    }


def test_operators_are_per_merchant(approved_merchants, merchant, other_merchant, buyer, financier):
    approved_merchants.setOperator(buyer, True, {"from": merchant})
    approved_merchants.setOperator(financier, True, {"from": other_merchant})

    approved_merchants.setOperator(buyer, False, {"from": other_merchant})  # never allowed there: no-op

    assert approved_merchants.canActFor(buyer, merchant)
    assert not approved_merchants.canActFor(buyer, other_merchant)
    assert approved_merchants.canActFor(financier, other_merchant)
    assert not approved_merchants.canActFor(financier, merchant)


def test_merchant_can_act_for_itself(approved_merchants, merchant, other_merchant):
    assert approved_merchants.canActFor(merchant, merchant)
    assert not approved_merchants.canActFor(merchant, other_merchant)
    assert not approved_merchants.canActFor(other_merchant, merchant)


def test_suspended_merchant_can_set_operator(approved_merchants, authority, merchant, buyer):
    approved_merchants.suspend(merchant, "audit", {"from": authority})

    tx = approved_merchants.setOperator(buyer, True, {"from": merchant})

    assert approved_merchants.canActFor(buyer, merchant)
    assert tx.events["OperatorChanged"]["allowed"] is True


def test_set_operator_refuses_zero_address(approved_merchants, merchant):
    with reverts("InvalidOperator", ZERO_ADDRESS):
        approved_merchants.setOperator(ZERO_ADDRESS, True, {"from": merchant})


def test_set_operator_refuses_merchant_itself(approved_merchants, merchant):
    with reverts("InvalidOperator", merchant):
        approved_merchants.setOperator(merchant, True, {"from": merchant})


@pytest.mark.parametrize("status", [Status.NONE, Status.PENDING, Status.REJECTED])
def test_set_operator_refuses_caller_not_approved_or_suspended(bring_to, merchant, buyer, status):
    registry = bring_to(merchant, status)

    with reverts("InvalidMerchantStatus", merchant, Status.APPROVED, status):
        registry.setOperator(buyer, True, {"from": merchant})

    assert not registry.canActFor(buyer, merchant)


def test_set_operator_refuses_stranger(approved_merchants, merchant, stranger):
    with reverts("InvalidMerchantStatus", stranger, Status.APPROVED, Status.NONE):
        approved_merchants.setOperator(merchant, True, {"from": stranger})


# --- views -----------------------------------------------------------------------------


def test_merchant_of_unknown_account_is_empty(merchant_registry, stranger):
    record = merchant_registry.merchant(stranger)

    assert record.dict() == {
        "status": Status.NONE,
        "appliedAt": 0,
        "taxId": "0x" + "00" * 18,
        "licenceHash": "0x" + "00" * 32,
        "limits": {"invoiceCap": 0, "monthlyQuota": 0, "hourlyNorm": 0},
        "sellerTag": "0x" + "00" * 12,
        "name": "",
    }


def test_merchant_returns_registration_of_approved_merchant(approved_merchants, other_merchant):
    record = approved_merchants.merchant(other_merchant)

    assert record["status"] == Status.APPROVED
    assert record["appliedAt"] > 0
    assert bytes(record["taxId"]) == tax_id_bytes(OTHER_MERCHANT_TAX_ID)
    assert bytes(record["licenceHash"]) == licence_hash("L-002")
    assert tuple(record["limits"]) == DEFAULT_LIMITS
    assert as_bytes(record["sellerTag"]) == seller_tag(OTHER_MERCHANT_TAX_ID, other_merchant)
    assert record["name"] == OTHER_MERCHANT_NAME


@pytest.mark.parametrize("status", list(Status))
def test_issuer_profile_reports_status_limits_and_seller_tag(bring_to, merchant, status):
    registry = bring_to(merchant, status)

    profile_status, limits, tag = registry.issuerProfile(merchant)

    assert profile_status == status
    approved = status in (Status.APPROVED, Status.SUSPENDED)
    assert tuple(limits) == (DEFAULT_LIMITS if approved else (0, 0, 0))
    assert as_bytes(tag) == (seller_tag(MERCHANT_TAX_ID, merchant) if approved else NO_TAG)
    assert registry.isSuspended(merchant) is (status == Status.SUSPENDED)


@pytest.mark.parametrize(
    "status, active",
    [
        (Status.NONE, False),
        (Status.PENDING, False),
        (Status.APPROVED, True),
        (Status.SUSPENDED, False),
        (Status.REJECTED, False),
    ],
)
def test_is_active_merchant_only_when_approved(bring_to, merchant, status, active):
    registry = bring_to(merchant, status)

    assert registry.isActiveMerchant(merchant) is active


def test_account_of_unregistered_tax_id_is_zero(merchant_registry):
    assert merchant_registry.accountOfTaxId(tax_id_bytes(MERCHANT_TAX_ID)) == ZERO_ADDRESS


@pytest.mark.parametrize(
    "status, holds",
    [
        (Status.PENDING, False),  # an application reserves nothing
        (Status.APPROVED, True),
        (Status.SUSPENDED, True),
        (Status.REJECTED, False),
    ],
)
def test_account_of_tax_id_across_statuses(bring_to, merchant, status, holds):
    registry = bring_to(merchant, status)

    expected = merchant if holds else ZERO_ADDRESS
    assert registry.accountOfTaxId(tax_id_bytes(MERCHANT_TAX_ID)) == expected
